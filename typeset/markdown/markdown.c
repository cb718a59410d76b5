/* markdown.c — Markdown (cmark-gfm) into the document model.
 *
 * The input is cleaned first (BOM, invalid UTF-8 and NUL bytes, CR/CRLF line
 * ends), the YAML front matter is cut off and interpreted by meta.c, and the
 * rest goes to cmark-gfm with the table, strikethrough and autolink
 * extensions and footnotes (never CMARK_OPT_UNSAFE: raw HTML is dropped here
 * with a warning anyway).  cmark's tree is converted with cmark_iter — no
 * recursion — and cmark line numbers are shifted by the front matter's
 * length so every node points into the original file.
 *
 * cmark-gfm 0.29.0.gfm.6 specifics relied upon (Debian 12):
 *   - after parsing, footnote definitions are the last children of the
 *     document, in order of first reference; unreferenced ones are freed;
 *   - a resolved footnote reference points at its definition through
 *     node->parent_footnote_def (internal field, <cmark-gfm/node.h>) and its
 *     literal is the note number; the definition's literal is its label;
 *   - inline nodes carry start_line/start_column (0 when synthesised).
 */
#include "md_internal.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>
#include <cmark-gfm/node.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>

/* ---- Identifier set (open addressing; heap, freed after each conversion) */
typedef struct idset {
  const char **slot;
  unsigned *next; /* per slot: the next "-k" suffix to try for this base */
  size_t cap, n;
} idset;

static void idset_free(idset *s) {
  free(s->slot);
  free(s->next);
  s->slot = NULL;
  s->next = NULL;
  s->cap = s->n = 0;
}

static size_t idset_find(const idset *s, const char *id) {
  size_t mask = s->cap - 1;
  size_t i = (size_t)ts_hash64(id, strlen(id), 0) & mask;
  while (s->slot[i] && strcmp(s->slot[i], id) != 0) i = (i + 1) & mask;
  return i;
}

static int idset_has(const idset *s, const char *id) {
  return s->cap && s->slot[idset_find(s, id)] != NULL;
}

/* id is borrowed (must outlive the set: arena strings do). */
static ts_status idset_add(idset *s, const char *id) {
  if ((s->n + 1) * 2 > s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 64;
    idset t = {calloc(ncap, sizeof *t.slot), calloc(ncap, sizeof *t.next), ncap, 0};
    if (!t.slot || !t.next) {
      idset_free(&t);
      return TS_ERR_NOMEM;
    }
    for (size_t i = 0; i < s->cap; i++)
      if (s->slot[i]) {
        size_t j = idset_find(&t, s->slot[i]);
        t.slot[j] = s->slot[i];
        t.next[j] = s->next[i];
        t.n++;
      }
    idset_free(s);
    *s = t;
  }
  size_t i = idset_find(s, id);
  if (!s->slot[i]) {
    s->slot[i] = id;
    s->n++;
  }
  return TS_OK;
}

/* ---- Identifiers -------------------------------------------------------------
 * Pandoc's auto_identifiers (Text.Pandoc.Shared.inlineListToIdentifier):
 * lowercase; keep letters, digits, '_', '-', '.', whitespace; words joined
 * by '-'; drop everything before the first letter; "section" if empty. */
char *ts_markdown_identifier(ts_arena *a, const char *text, size_t len) {
  ts_buf b;
  ts_buf_init(&b);
  int pending_dash = 0;
  size_t i = 0;
  while (i < len) {
    uint32_t cp;
    size_t l = ts_utf8_decode(text + i, len - i, &cp);
    i += l ? l : 1;
    if (u_isUWhiteSpace((UChar32)cp)) {
      if (b.len) pending_dash = 1;
      continue;
    }
    if (!(u_isalnum((UChar32)cp) || cp == '_' || cp == '-' || cp == '.'))
      continue;
    if (b.len == 0 && !u_isalpha((UChar32)cp)) continue; /* before 1st letter */
    if (pending_dash) ts_buf_putc(&b, '-');
    pending_dash = 0;
    char enc[4];
    size_t el = ts_utf8_encode((uint32_t)u_tolower((UChar32)cp), enc);
    ts_buf_append(&b, enc, el);
  }
  char *r = NULL;
  if (!b.oom) r = b.len ? ts_arena_strndup(a, b.data, b.len) : ts_arena_strdup(a, "section");
  ts_buf_free(&b);
  return r;
}

/* ---- Converter state ----------------------------------------------------*/
typedef struct heading_rec {
  ts_node *node;
  const char *explicit_id; /* from a trailing {#id}, or NULL */
  uint32_t line, col;
} heading_rec;

typedef struct conv {
  ts_doc *doc;
  ts_diag *d;
  const char *file;
  uint32_t line_off; /* added to cmark's line numbers */
  ts_vec headings;   /* heading_rec */
  unsigned char *covered; /* per body line: inside a leaf block (heap) */
  size_t n_lines;
  const char *body;  /* the Markdown cmark saw (NULL for an abstract) */
  size_t *line_start; /* [1..n_lines+1]: offset of each body line (heap) */
  uint32_t block_col; /* column of the leaf block being converted */
  ts_node *block;     /* that block (PARAGRAPH, HEADING, TABLE_CELL, FIGURE) */
  size_t block_line;  /* its body line */
  ts_node **chain;    /* its BLOCKQUOTE/ITEM ancestors, outermost first (heap) */
  size_t chain_n, chain_cap;
  int chain_built;
  size_t wrap_from, wrap_l, wrap_k; /* fix_inline_pos's last walk (0 = none) */
  size_t pfx_line, pfx;               /* line_prefix's last answer (0 = none) */
  int synth;          /* the block has no position from cmark (see convert) */
  cmark_node *table_fix, *in_hdr; /* a table after such a block; its header row */
  size_t table_line, hdr_delta;
  size_t synth_line;  /* then: its first body line */
  cmark_node *autolink; /* the last autolink whose position was found */
  /* backslash hard breaks of the current leaf block (see fix_inline_pos):
   * cmark's current raw line, the raw line of the latest breaks,
   * how many breaks sit on earlier raw lines and how many on that one */
  uint32_t raw_cur, bs_line;
  uint32_t end_line; /* file line where the last inline ended */
  unsigned bs_before, bs_on;
  size_t autolink_end;  /* body offset just after it */
} conv;

/* Length of body line l (1-based, cmark numbering) without its newline. */
static size_t line_len(const conv *c, size_t l) {
  return c->line_start[l + 1] - c->line_start[l] - 1;
}

/* Where cmark's content of body line l begins: on the block's first line its
 * column; on later lines after the container prefixes cmark matched there
 * (block quote markers, list item indentation; replayed on the line from
 * the outermost container in, a lazy continuation line stops early) and,
 * unless lazy, the blanks that follow. */
static size_t line_prefix(conv *c, size_t l) {
  if (l == c->block_line || !c->block) return c->block_col ? c->block_col - 1 : 0;
  if (l == c->pfx_line) return c->pfx; /* inlines of one line come together */
  if (!c->chain_built) {
    c->chain_n = 0;
    for (ts_node *a = c->block->parent; a && a->type != TS_NODE_DOCUMENT; a = a->parent)
      if (a->type == TS_NODE_BLOCKQUOTE || a->type == TS_NODE_ITEM) c->chain_n++;
    if (c->chain_n > c->chain_cap) {
      ts_node **nc = realloc(c->chain, c->chain_n * sizeof *nc);
      if (!nc) return c->block_col ? c->block_col - 1 : 0; /* positions only */
      c->chain = nc;
      c->chain_cap = c->chain_n;
    }
    size_t i = c->chain_n;
    for (ts_node *a = c->block->parent; a && a->type != TS_NODE_DOCUMENT; a = a->parent)
      if (a->type == TS_NODE_BLOCKQUOTE || a->type == TS_NODE_ITEM) c->chain[--i] = a;
    c->chain_built = 1;
  }
  const char *ls = c->body + c->line_start[l];
  size_t n = line_len(c, l), p = 0, i;
  for (i = 0; i < c->chain_n; i++) {
    const ts_node *a = c->chain[i];
    if (a->type == TS_NODE_BLOCKQUOTE) {
      size_t q = p, k = 0;
      while (k < 3 && q < n && ls[q] == ' ') q++, k++;
      if (q >= n || ls[q] != '>') break;
      q++;
      if (q < n && (ls[q] == ' ' || ls[q] == '\t')) q++;
      p = q;
    } else if (a->first) {
      size_t need = a->first->col ? a->first->col - 1 : 0, q = p;
      while (q < need && q < n && (ls[q] == ' ' || ls[q] == '\t')) q++;
      if (q < need) break;
      p = q;
    }
  }
  /* cmark adds a continuation line from its first non-blank character, but
   * a lazy one from where the container match stopped */
  if (i == c->chain_n)
    while (p < n && (ls[p] == ' ' || ls[p] == '\t')) p++;
  c->pfx_line = l;
  c->pfx = p;
  return p;
}

/* cmark-gfm 0.29.0.gfm.6 reports an inline's column as its offset in the
 * block's content line plus the block's column, whatever the container
 * prefix of that line really is (lazy continuation lines), and it does not
 * advance its line counter after a backslash hard break: what follows is
 * reported on the previous line with a column past its end, and every later
 * line of the block one line too early per break.  The caller adds the lag
 * of the earlier lines; here the offset is carried over line ends and placed
 * after each line's real prefix.  *line is body numbering. */
static void fix_inline_pos(conv *c, uint32_t *line, uint32_t *col) {
  if (!c->line_start || !c->block || *col < c->block_col || *line < 1 ||
      *line > c->n_lines)
    return;
  size_t l = *line, k = *col - c->block_col; /* 0-based offset in content */
  size_t from = l, k0 = k;
  if (c->wrap_from == from && k >= c->wrap_k) { /* resume the previous walk */
    l = c->wrap_l;
    k -= c->wrap_k;
  }
  size_t pre = line_prefix(c, l);
  while (l < c->n_lines && pre + k > line_len(c, l) && pre <= line_len(c, l)) {
    k -= line_len(c, l) - pre + 1;
    l++;
    pre = line_prefix(c, l);
  }
  c->wrap_from = from; /* inlines come in order: n breaks stay O(n) */
  c->wrap_l = l;
  c->wrap_k = k0 - k;
  *line = (uint32_t)l;
  *col = (uint32_t)(pre + k + 1);
}

static void warn(conv *c, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void warn(conv *c, uint32_t line, uint32_t col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ts_diag_vreport(c->d, TS_WARNING, c->file, line, col, fmt, ap);
  va_end(ap);
}

static int url_allowed(const char *u) {
  if (!u) return 0;
  if (u[0] == '#') return u[1] != 0;
  return strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0 ||
         strncasecmp(u, "mailto:", 7) == 0;
}

static const char *dup_opt(ts_arena *a, const char *s) {
  return (s && *s) ? ts_arena_strdup(a, s) : NULL;
}

/* Arena copy of b's text ("" when empty); NULL after an allocation failure
 * (b's or the arena's).  b is freed. */
static char *buf_to_arena(ts_arena *a, ts_buf *b) {
  char *r = b->oom ? NULL : ts_arena_strndup(a, b->len ? b->data : "", b->len);
  ts_buf_free(b);
  return r;
}

static char *plain_to_arena(ts_arena *a, const ts_node *n) {
  ts_buf b;
  ts_buf_init(&b);
  ts_node_plain_text(n, &b);
  return buf_to_arena(a, &b);
}

/* Plain text of a cmark subtree (image alt text). */
static char *cmark_plain(ts_arena *a, cmark_node *root) {
  ts_buf b;
  ts_buf_init(&b);
  cmark_iter *it = cmark_iter_new(root);
  if (!it) return NULL;
  cmark_event_type ev;
  while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
    cmark_node *n = cmark_iter_get_node(it);
    if (ev != CMARK_EVENT_ENTER) continue;
    switch (cmark_node_get_type(n)) {
    case CMARK_NODE_TEXT:
    case CMARK_NODE_CODE: {
      const char *s = cmark_node_get_literal(n);
      if (s) ts_buf_puts(&b, s);
      break;
    }
    case CMARK_NODE_SOFTBREAK:
    case CMARK_NODE_LINEBREAK:
      ts_buf_putc(&b, ' ');
      break;
    default:
      break;
    }
  }
  cmark_iter_free(it);
  return buf_to_arena(a, &b);
}

/* Merges runs of adjacent TEXT children into one node (cmark splits text at
 * every special character). One allocation per run. */
static ts_status merge_text(ts_doc *doc, ts_node *parent) {
  ts_node *n = parent->first;
  while (n) {
    if (n->type != TS_NODE_TEXT || !n->next || n->next->type != TS_NODE_TEXT) {
      n = n->next;
      continue;
    }
    size_t total = 0;
    ts_node *m;
    for (m = n; m && m->type == TS_NODE_TEXT; m = m->next) total += m->len;
    char *s = ts_arena_alloc(doc->arena, total + 1);
    if (!s) return TS_ERR_NOMEM;
    size_t o = 0;
    for (m = n; m && m->type == TS_NODE_TEXT; m = m->next) {
      if (m->len) memcpy(s + o, m->text, m->len);
      o += m->len;
    }
    n->text = s;
    n->len = total;
    for (ts_node *x = n->next; x && x->type == TS_NODE_TEXT; x = n->next) ts_node_unlink(x);
    n = n->next;
  }
  return TS_OK;
}

static int attr_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == ':' ||
         ch == '.';
}

/* Pandoc heading attributes at the end of the heading text: `{#id}`, also
 * `{#id .class}`, `{-}`, `{.unnumbered}`.  Strips them and returns the id
 * (arena) or NULL; *found tells whether an attribute block was removed. */
static const char *strip_heading_attr(ts_doc *doc, ts_node *h, int *found) {
  *found = 0;
  ts_node *t = h->last;
  if (!t || t->type != TS_NODE_TEXT || t->len < 2) return NULL;
  const char *s = t->text;
  size_t end = t->len;
  while (end && (s[end - 1] == ' ' || s[end - 1] == '\t')) end--;
  if (!end || s[end - 1] != '}') return NULL;
  size_t open = end - 1;
  while (open && s[open - 1] != '{') open--;
  if (!open) return NULL;
  open--; /* s[open] == '{' */
  /* tokens: #id, .class, key=value, '-' */
  const char *id = NULL;
  size_t id_len = 0;
  size_t i = open + 1;
  while (i < end - 1) {
    if (s[i] == ' ' || s[i] == '\t') { i++; continue; }
    size_t j = i;
    if (s[i] == '#' || s[i] == '.') j++;
    size_t k = j;
    while (k < end - 1 && s[k] != ' ' && s[k] != '\t') {
      if (!attr_char(s[k]) && s[k] != '=' && s[k] != '"') return NULL;
      k++;
    }
    if (s[i] == '#') {
      if (k == j) return NULL;
      id = s + j;
      id_len = k - j;
    } else if (s[i] != '.' && !(k == i + 1 && s[i] == '-') &&
               !memchr(s + i, '=', k - i)) {
      return NULL;
    }
    i = k;
  }
  *found = 1;
  const char *r = id ? ts_arena_strndup(doc->arena, id, id_len) : NULL;
  size_t keep = open;
  while (keep && (s[keep - 1] == ' ' || s[keep - 1] == '\t')) keep--;
  t->len = keep;
  if (!keep) ts_node_unlink(t);
  return r;
}

/* Gives every heading of the tree just converted a unique identifier:
 * explicit ones first (a duplicate is warned and suffixed), then Pandoc's
 * automatic ones in document order, "-1", "-2"... on clashes. */
static ts_status assign_ids(conv *c) {
  ts_status st = TS_OK;
  idset set = {0};
  ts_buf b;
  ts_buf_init(&b);
  ts_node *roots[2] = {c->doc->root, c->doc->meta.abstract};
  for (int r = 0; r < 2; r++) {
    ts_iter it;
    ts_iter_init(&it, roots[r]);
    ts_node *n;
    int ent;
    while (roots[r] && (n = ts_iter_next(&it, &ent)))
      if (ent && n->type == TS_NODE_HEADING && n->id) TS_CHECK(idset_add(&set, n->id));
  }
  heading_rec *recs = c->headings.data;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < c->headings.len; i++) {
      heading_rec *hr = &recs[i];
      if ((pass == 0) != (hr->explicit_id != NULL)) continue;
      const char *base = hr->explicit_id;
      if (!base) {
        ts_buf_clear(&b);
        ts_node_plain_text(hr->node, &b);
        if (b.oom) { st = TS_ERR_NOMEM; goto done; }
        base = ts_markdown_identifier(c->doc->arena, b.len ? b.data : "", b.len);
        if (!base) { st = TS_ERR_NOMEM; goto done; }
      }
      const char *id = base;
      if (idset_has(&set, base)) {
        /* the base remembers the next suffix to try: n equal headings cost
         * O(n), not O(n^2) */
        size_t bslot = idset_find(&set, base);
        unsigned k = set.next[bslot] ? set.next[bslot] : 1;
        for (;; k++) {
          ts_buf_clear(&b);
          ts_buf_printf(&b, "%s-%u", base, k);
          if (b.oom) { st = TS_ERR_NOMEM; goto done; }
          if (!idset_has(&set, b.data)) break;
        }
        set.next[bslot] = k + 1;
        id = ts_arena_strndup(c->doc->arena, b.data, b.len);
        if (!id) { st = TS_ERR_NOMEM; goto done; }
      }
      if (hr->explicit_id && id != base)
        warn(c, hr->line, hr->col, "duplicate heading identifier '%s'; using '%s'",
             base, id);
      hr->node->id = id;
      TS_CHECK(idset_add(&set, id));
    }
  }
done:
  idset_free(&set);
  ts_buf_free(&b);
  return st;
}

/* Work done when a container's exit event arrives. */
static ts_status finish_node(conv *c, ts_node *t) {
  ts_status st = TS_OK;
  switch (t->type) {
  case TS_NODE_HEADING: case TS_NODE_PARAGRAPH: case TS_NODE_TABLE_CELL:
  case TS_NODE_FIGURE: case TS_NODE_EMPH: case TS_NODE_STRONG:
  case TS_NODE_STRIKE: case TS_NODE_LINK: case TS_NODE_SPAN:
    TS_CHECK(merge_text(c->doc, t));
    break;
  default:
    break;
  }
  if (t->type == TS_NODE_HEADING) {
    heading_rec *hr = ts_vec_push(c->doc->arena, &c->headings);
    if (!hr) return TS_ERR_NOMEM;
    int found;
    hr->node = t;
    hr->line = t->line;
    hr->col = t->col;
    hr->explicit_id = strip_heading_attr(c->doc, t, &found);
  } else if (t->type == TS_NODE_FIGURE) {
    t->alt = plain_to_arena(c->doc->arena, t);
    if (!t->alt) return TS_ERR_NOMEM;
  }
done:
  return st;
}

static void cover(conv *c, cmark_node *cn) {
  if (!c->covered) return;
  int a = cmark_node_get_start_line(cn), z = cmark_node_get_end_line(cn);
  if (z < a) z = a;
  for (int l = a; l <= z; l++)
    if (l >= 1 && (size_t)l <= c->n_lines) c->covered[l] = 1;
}

/* Body line/column (1-based, cmark numbering) of byte offset off. */
static void pos_of_offset(const conv *c, size_t off, uint32_t *line, uint32_t *col) {
  /* every caller has tested line_start first: find_autolink (which also
   * guards the c->autolink caller) and the find_text branch of convert */
  if (TS_NEVER(!c->line_start)) {
    *line = *col = 1;
    return;
  }
  size_t lo = 1, hi = c->n_lines;
  while (lo < hi) { /* last line whose start is <= off */
    size_t mid = (lo + hi + 1) / 2;
    if (c->line_start[mid] <= off) lo = mid; else hi = mid - 1;
  }
  *line = (uint32_t)lo;
  *col = (uint32_t)(off - c->line_start[lo]) + 1;
}

/* cmark's line counter did not see `m` line ends (inside a code span or raw
 * HTML, or after a backslash break) on its current line. */
static void add_lag(conv *c, uint32_t m) {
  if (c->bs_on && c->raw_cur > c->bs_line) {
    c->bs_before += c->bs_on;
    c->bs_on = 0;
  }
  if (!c->bs_on) c->bs_line = c->raw_cur;
  c->bs_on += m;
}

/* Line ends inside the code span whose opening backticks start at body
 * offset `at` (the closing run has the same length). */
static uint32_t code_span_newlines(const conv *c, size_t at) {
  size_t len = c->line_start[c->n_lines + 1] - 1, r = 0, i;
  const char *b = c->body;
  while (at + r < len && b[at + r] == '`') r++;
  if (!r) return 0;
  uint32_t nl = 0;
  size_t stop = len - at > 65536 ? at + 65536 : len; /* a bound, never reached in practice */
  for (i = at + r; i < stop;) {
    if (b[i] == '`') {
      size_t k = 0;
      while (i + k < stop && b[i + k] == '`') k++;
      if (k == r) return nl;
      i += k;
    } else {
      nl += b[i] == '\n';
      i++;
    }
  }
  return 0;
}

/* Body offset of the first occurrence of lit[0..n) at or after file
 * position from_line:from_col, looking at most 64 KiB ahead; SIZE_MAX if
 * none. */
static size_t find_text(const conv *c, const char *lit, size_t n, uint32_t from_line,
                        uint32_t from_col) {
  size_t len = c->line_start[c->n_lines + 1] - 1;
  size_t start = 0;
  if (!n) return SIZE_MAX;
  if (from_line > c->line_off && from_line - c->line_off <= c->n_lines)
    start = c->line_start[from_line - c->line_off] + (from_col ? from_col - 1 : 0);
  /* cmark's columns are not to be trusted here (see find_autolink): one
   * past the body's end once made len - start wrap and memchr read beyond
   * the buffer (found by fuzz_markdown under ASan) */
  if (start >= len) return SIZE_MAX;
  size_t stop = len - start > 65536 + n ? start + 65536 + n : len;
  for (size_t i = start; i + n <= stop; i++) {
    const char *m = memchr(c->body + i, lit[0], stop - i);
    if (!m) break;
    i = (size_t)(m - c->body);
    if (i + n <= stop && memcmp(m, lit, n) == 0) return i;
  }
  return SIZE_MAX;
}

/* Autolinks carry unreliable positions in cmark-gfm 0.29.0.gfm.6: a `<URL>`
 * gets its offset within the paragraph as column, the extension's www./URL/
 * e-mail links are off by one or have none, and the text after an e-mail or
 * bare URL has none.  An autolink's text is its source text, so look for it
 * after the previous inline.  `from_*` are file numbering, the results body
 * numbering; *end_off is the byte offset just after the link. */
static int find_autolink(const conv *c, cmark_node *cn, uint32_t from_line,
                         uint32_t from_col, uint32_t *line, uint32_t *col,
                         size_t *end_off) {
  cmark_node *k = cmark_node_first_child(cn);
  if (!c->line_start || !k || k != cmark_node_last_child(cn) ||
      cmark_node_get_type(k) != CMARK_NODE_TEXT)
    return 0;
  const char *url = cmark_node_get_url(cn), *lit = cmark_node_get_literal(k);
  if (!url || !lit || !*lit) return 0;
  size_t ul = strlen(url), n = strlen(lit);
  if (ul < n || strcmp(url + ul - n, lit) != 0) return 0;
  if (ul != n && !(ul == n + 7 && (strncmp(url, "mailto:", 7) == 0 ||
                                   strncmp(url, "http://", 7) == 0)))
    return 0;
  size_t at = find_text(c, lit, n, from_line, from_col);
  if (at == SIZE_MAX) return 0;
  size_t end = at + n, len = c->line_start[c->n_lines + 1] - 1;
  if (at > 0 && c->body[at - 1] == '<' && end < len && c->body[end] == '>') at--, end++;
  pos_of_offset(c, at, line, col);
  *end_off = end;
  return 1;
}

static int is_paragraph_image_only(cmark_node *p) {
  cmark_node *f = cmark_node_first_child(p);
  return f && f == cmark_node_last_child(p) &&
         cmark_node_get_type(f) == CMARK_NODE_IMAGE;
}

/* Converts the children of croot into children of troot. */
static ts_status convert(conv *c, cmark_node *croot, ts_node *troot) {
  ts_status st = TS_OK;
  ts_doc *doc = c->doc;
  ts_arena *A = doc->arena;
  cmark_iter *it = NULL;

  /* Footnote definitions: cmark put the referenced ones last, numbered. */
  size_t n_defs = 0;
  for (cmark_node *k = cmark_node_first_child(croot); k; k = cmark_node_next(k))
    if (cmark_node_get_type(k) == CMARK_NODE_FOOTNOTE_DEFINITION) n_defs++;
  if (n_defs) {
    doc->notes = ts_arena_alloc(A, n_defs * sizeof *doc->notes);
    if (!doc->notes) return TS_ERR_NOMEM;
    for (cmark_node *k = cmark_node_first_child(croot); k; k = cmark_node_next(k)) {
      if (cmark_node_get_type(k) != CMARK_NODE_FOOTNOTE_DEFINITION) continue;
      /* cmark's column is that of the content; point at the `[^` */
      uint32_t dcol = (uint32_t)k->start_column;
      size_t dl = (size_t)k->start_line;
      if (c->line_start && c->body && dl >= 1 && dl <= c->n_lines) {
        const char *ls = c->body + c->line_start[dl];
        const char *mk = NULL;
        for (size_t i = 0; i + 1 < line_len(c, dl) && i + 1 < dcol; i++)
          if (ls[i] == '[' && ls[i + 1] == '^') { mk = ls + i; break; }
        if (mk) dcol = (uint32_t)(mk - ls) + 1;
      }
      ts_node *def = ts_node_new(doc, TS_NODE_FOOTNOTE_DEF,
                                 (uint32_t)k->start_line + c->line_off, dcol);
      if (!def) return TS_ERR_NOMEM;
      def->number = (int)doc->n_notes + 1;
      def->label = ts_arena_strndup(A, (const char *)k->as.literal.data,
                                    (size_t)k->as.literal.len);
      if (!def->label) return TS_ERR_NOMEM;
      cmark_node_set_user_data(k, def);
      doc->notes[doc->n_notes++] = def;
    }
  }

  it = cmark_iter_new(croot);
  if (!it) return TS_ERR_NOMEM;
  ts_node *cur = troot;
  cmark_event_type ev;
  while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
    cmark_node *cn = cmark_iter_get_node(it);
    if (cn == croot) continue;
    if (ev == CMARK_EVENT_EXIT) {
      if (cn == c->in_hdr) c->table_fix = c->in_hdr = NULL;
      ts_node *t = cmark_node_get_user_data(cn);
      if (!t) continue; /* transparent node */
      TS_CHECK(finish_node(c, t));
      cur = t->type == TS_NODE_FOOTNOTE_DEF ? troot : t->parent;
      continue;
    }
    size_t end_off = 0;
    uint32_t extra = 0; /* line ends inside this inline (code span, HTML) */
    uint32_t line = (uint32_t)cmark_node_get_start_line(cn);
    uint32_t col = (uint32_t)cmark_node_get_start_column(cn);
    cmark_node_type ct = cmark_node_get_type(cn);
    int is_inline = (ct & CMARK_NODE_TYPE_MASK) == CMARK_NODE_TYPE_INLINE;
    if (ct == CMARK_NODE_PARAGRAPH && line == 0 && c->line_start) {
      /* the table extension leaves the lines above a table's header row in
       * a new paragraph without a position: count back from the table */
      size_t lines = 1;
      cmark_iter *pi = cmark_iter_new(cn);
      if (!pi) { st = TS_ERR_NOMEM; goto done; }
      cmark_event_type pe;
      while ((pe = cmark_iter_next(pi)) != CMARK_EVENT_DONE) {
        cmark_node_type pt = cmark_node_get_type(cmark_iter_get_node(pi));
        lines += pe == CMARK_EVENT_ENTER &&
                 (pt == CMARK_NODE_SOFTBREAK || pt == CMARK_NODE_LINEBREAK);
      }
      cmark_iter_free(pi);
      /* the table was given this paragraph's first line */
      cmark_node *nx = cmark_node_next(cn);
      int nl = nx ? cmark_node_get_start_line(nx) : 0;
      c->synth_line = nl > 0 ? (size_t)nl : 1;
      if (c->synth_line > c->n_lines) c->synth_line = c->n_lines;
      line = (uint32_t)c->synth_line + c->line_off;
      col = nx ? (uint32_t)cmark_node_get_start_column(nx) : 1;
      c->synth = 2; /* becomes 1 once this paragraph is the current block */
      /* the header row's columns count from this paragraph's content */
      c->table_fix = nx;
      c->table_line = c->synth_line + lines;
      c->hdr_delta = 0;
      for (size_t l = c->synth_line; l < c->table_line && l <= c->n_lines; l++) {
        const char *ls = c->body + c->line_start[l];
        size_t k = 0;
        while (k < line_len(c, l) && (ls[k] == ' ' || ls[k] == '\t' || ls[k] == '>')) k++;
        c->hdr_delta += line_len(c, l) - k + 1;
      }
      if (c->table_line > c->n_lines) c->table_line = c->n_lines;
    } else if (c->table_fix && (cn == c->table_fix || c->in_hdr ||
                                (cmark_node_parent(cn) == c->table_fix &&
                                 !cmark_node_previous(cn)))) {
      /* that table, its header row and what the row holds */
      if (cn != c->table_fix && !c->in_hdr) c->in_hdr = cn;
      if (cn != c->table_fix && cn != c->in_hdr)
        col = col > c->hdr_delta ? col - (uint32_t)c->hdr_delta : 1;
      line = (uint32_t)c->table_line + c->line_off;
    } else if (ct == CMARK_NODE_LINK &&
        find_autolink(c, cn, cur->last ? cur->last->line : cur->line,
                      cur->last ? cur->last->col : cur->col, &line, &col, &end_off)) {
      c->autolink = cn;
      c->autolink_end = end_off;
      line += c->line_off;
    } else if (ct == CMARK_NODE_TEXT && c->autolink &&
               cmark_node_parent(cn) == c->autolink && cur->type == TS_NODE_LINK) {
      /* the text of an autolink: after the '<' if there is one */
      line = cur->line;
      col = cur->col;
      size_t bl = line - c->line_off;
      if (c->body[c->line_start[bl] + col - 1] == '<') col++;
    } else if (line == 0 && (ct == CMARK_NODE_SOFTBREAK || ct == CMARK_NODE_LINEBREAK)) {
      /* breaks carry no position: they end the line of the previous inline
       * (the next line when that is a break too) */
      const ts_node *prev = cur->last;
      line = c->end_line ? c->end_line : cur->line;
      col = prev ? prev->col : cur->col;
      int backslash = 0;
      if (c->line_start && line > c->line_off && line - c->line_off <= c->n_lines) {
        /* the break starts at the trailing blanks or backslash */
        size_t bl = line - c->line_off, e = line_len(c, bl);
        const char *ls = c->body + c->line_start[bl];
        while (e && ls[e - 1] == ' ') e--;
        if (ct == CMARK_NODE_LINEBREAK && e && ls[e - 1] == '\\' &&
            e == line_len(c, bl)) {
          e--;
          backslash = 1;
        }
        col = (uint32_t)e + 1;
      }
      if (backslash) /* cmark's line counter stays behind (fix_inline_pos) */
        add_lag(c, 1);
      else
        c->raw_cur++;
      extra = 1; /* what follows is on the next line */
    } else if (line == 0 && c->autolink && cur->last &&
               cur->last->type == TS_NODE_LINK &&
               cmark_node_previous(cn) == c->autolink) {
      /* text the autolink extension split off after a link */
      pos_of_offset(c, c->autolink_end, &line, &col);
      line += c->line_off;
    } else if (is_inline && c->synth == 1 && c->line_start) {
      /* inlines of such a paragraph: cmark numbers its lines from 0 and its
       * columns from 0 at the line's first non-blank (breaks are above) */
      size_t sl = c->synth_line + line;
      if (sl > c->n_lines) sl = c->n_lines;
      const char *ls = c->body + c->line_start[sl];
      size_t k = 0;
      while (k < line_len(c, sl) && (ls[k] == ' ' || ls[k] == '\t' || ls[k] == '>')) k++;
      col += (uint32_t)k + 1;
      line = (uint32_t)sl + c->line_off;
    } else if (line == 0 && ct == CMARK_NODE_TEXT && c->line_start &&
               cmark_node_get_literal(cn) &&
               (end_off = find_text(c, cmark_node_get_literal(cn),
                                    strlen(cmark_node_get_literal(cn)),
                                    cur->last ? cur->last->line : cur->line,
                                    cur->last ? cur->last->col : cur->col)) != SIZE_MAX) {
      /* text cmark made up from source text ("[^x]" of an unknown note) */
      pos_of_offset(c, end_off, &line, &col);
      line += c->line_off;
    } else if (line == 0) {
      line = cur->line;
      col = cur->col;
    } else {
      if (is_inline) {
        uint32_t raw = line;
        if (c->bs_on) line += raw > c->bs_line ? c->bs_before + c->bs_on : c->bs_before;
        c->raw_cur = raw;
        fix_inline_pos(c, &line, &col);
      }
      if (ct == CMARK_NODE_CODE && c->line_start && line >= 1 && line <= c->n_lines) {
        /* cmark points at the code's content: step back over the backticks */
        const char *ls = c->body + c->line_start[line];
        while (col > 1 && col - 1 <= line_len(c, line) && ls[col - 2] == '`') col--;
        extra = code_span_newlines(c, c->line_start[line] + col - 1);
      } else if (ct == CMARK_NODE_HTML_INLINE) {
        for (const char *h = cmark_node_get_literal(cn); h && *h; h++) extra += *h == '\n';
      }
      if (extra) add_lag(c, extra);
      line += c->line_off;
    }
    if (col == 0) col = 1;
    if (c->line_start && line > c->line_off + c->n_lines) { /* never past the end */
      line = c->line_off + (uint32_t)c->n_lines;
      col = (uint32_t)line_len(c, c->n_lines) + 1;
    }
    if (is_inline) c->end_line = line + extra;
    ts_node *t = NULL;
    switch (ct) {
    case CMARK_NODE_BLOCK_QUOTE:
      t = ts_node_new(doc, TS_NODE_BLOCKQUOTE, line, col);
      break;
    case CMARK_NODE_LIST:
      t = ts_node_new(doc, TS_NODE_LIST, line, col);
      if (!t) break;
      t->ordered = cmark_node_get_list_type(cn) == CMARK_ORDERED_LIST;
      t->tight = cmark_node_get_list_tight(cn);
      if (t->ordered) {
        t->start = cmark_node_get_list_start(cn);
        t->delim = cmark_node_get_list_delim(cn) == CMARK_PAREN_DELIM ? ')' : '.';
      }
      break;
    case CMARK_NODE_ITEM:
      t = ts_node_new(doc, TS_NODE_ITEM, line, col);
      break;
    case CMARK_NODE_CODE_BLOCK: {
      cover(c, cn);
      t = ts_node_new(doc, TS_NODE_CODEBLOCK, line, col);
      if (!t) break;
      const char *lit = cmark_node_get_literal(cn);
      t->len = lit ? strlen(lit) : 0;
      t->text = ts_arena_strndup(A, lit ? lit : "", t->len);
      if (!t->text) { st = TS_ERR_NOMEM; goto done; }
      const char *info = cmark_node_get_fence_info(cn);
      if (info && *info) {
        /* the language is the info string's first word */
        size_t w = strcspn(info, " \t");
        t->info = ts_arena_strndup(A, info, w);
        if (!t->info) { st = TS_ERR_NOMEM; goto done; }
      }
      break;
    }
    case CMARK_NODE_HTML_BLOCK:
      cover(c, cn);
      warn(c, line, col, "raw HTML block dropped");
      continue;
    case CMARK_NODE_HTML_INLINE:
      warn(c, line, col, "raw HTML dropped");
      continue;
    case CMARK_NODE_PARAGRAPH:
      cover(c, cn);
      if (is_paragraph_image_only(cn)) {
        t = ts_node_new(doc, TS_NODE_FIGURE, line, col);
      } else {
        t = ts_node_new(doc, TS_NODE_PARAGRAPH, line, col);
      }
      break;
    case CMARK_NODE_HEADING:
      cover(c, cn);
      t = ts_node_new(doc, TS_NODE_HEADING, line, col);
      if (t) t->level = cmark_node_get_heading_level(cn);
      break;
    case CMARK_NODE_THEMATIC_BREAK:
      t = ts_node_new(doc, TS_NODE_THEMATIC_BREAK, line, col);
      break;
    case CMARK_NODE_FOOTNOTE_DEFINITION:
      cover(c, cn);
      t = cmark_node_get_user_data(cn);
      if (TS_NEVER(!t)) { st = TS_ERR_INTERNAL; goto done; }
      cur = t;
      continue;
    case CMARK_NODE_TEXT:
    case CMARK_NODE_CODE: {
      const char *lit = cmark_node_get_literal(cn);
      if (!lit) lit = "";
      if (ct == CMARK_NODE_TEXT && !*lit) continue; /* the autolink extension leaves empty ones */
      t = ts_node_new(doc, ct == CMARK_NODE_TEXT ? TS_NODE_TEXT : TS_NODE_CODE, line, col);
      if (!t) break;
      t->len = strlen(lit);
      t->text = ts_arena_strndup(A, lit, t->len);
      if (!t->text) { st = TS_ERR_NOMEM; goto done; }
      break;
    }
    case CMARK_NODE_SOFTBREAK:
      t = ts_node_new(doc, TS_NODE_SOFTBREAK, line, col);
      break;
    case CMARK_NODE_LINEBREAK:
      t = ts_node_new(doc, TS_NODE_LINEBREAK, line, col);
      break;
    case CMARK_NODE_EMPH:
      t = ts_node_new(doc, TS_NODE_EMPH, line, col);
      break;
    case CMARK_NODE_STRONG:
      t = ts_node_new(doc, TS_NODE_STRONG, line, col);
      break;
    case CMARK_NODE_LINK: {
      const char *url = cmark_node_get_url(cn);
      if (!url_allowed(url)) {
        warn(c, line, col,
             "link target '%.200s' is not http, https, mailto or #id; kept as text",
             url ? url : "");
        continue; /* transparent: the link's inlines join the parent */
      }
      t = ts_node_new(doc, TS_NODE_LINK, line, col);
      if (!t) break;
      t->url = ts_arena_strdup(A, url);
      t->title = dup_opt(A, cmark_node_get_title(cn));
      if (!t->url) { st = TS_ERR_NOMEM; goto done; }
      break;
    }
    case CMARK_NODE_IMAGE: {
      if (cur->type == TS_NODE_FIGURE && !cur->url &&
          cmark_node_get_user_data(cmark_node_parent(cn)) == cur) {
        /* the image of a figure: its alt inlines become the caption */
        cur->url = ts_arena_strdup(A, cmark_node_get_url(cn));
        cur->title = dup_opt(A, cmark_node_get_title(cn));
        if (!cur->url) { st = TS_ERR_NOMEM; goto done; }
        continue;
      }
      t = ts_node_new(doc, TS_NODE_IMAGE, line, col);
      if (!t) break;
      t->url = ts_arena_strdup(A, cmark_node_get_url(cn));
      t->title = dup_opt(A, cmark_node_get_title(cn));
      t->alt = cmark_plain(A, cn);
      if (!t->url || !t->alt) { st = TS_ERR_NOMEM; goto done; }
      cmark_iter_reset(it, cn, CMARK_EVENT_EXIT); /* alt text consumed */
      break;
    }
    case CMARK_NODE_FOOTNOTE_REFERENCE: {
      cmark_node *def = cn->parent_footnote_def;
      ts_node *tdef = def ? cmark_node_get_user_data(def) : NULL;
      if (!tdef) {
        /* cmark leaves references inside footnote definitions unresolved */
        warn(c, line, col, "footnote reference [^%.*s] not resolved; kept as text",
             (int)cn->as.literal.len, (const char *)cn->as.literal.data);
        t = ts_node_new(doc, TS_NODE_TEXT, line, col);
        if (!t) break;
        t->text = ts_arena_printf(A, "[^%.*s]", (int)cn->as.literal.len,
                                  (const char *)cn->as.literal.data);
        if (!t->text) { st = TS_ERR_NOMEM; goto done; }
        t->len = strlen(t->text);
        break;
      }
      t = ts_node_new(doc, TS_NODE_FOOTNOTE_REF, line, col);
      if (!t) break;
      t->number = tdef->number;
      t->label = tdef->label;
      t->note = tdef;
      break;
    }
    default: {
      const char *ts = cmark_node_get_type_string(cn);
      if (strcmp(ts, "table") == 0) {
        cover(c, cn);
        t = ts_node_new(doc, TS_NODE_TABLE, line, col);
        if (!t) break;
        t->ncols = cmark_gfm_extensions_get_table_columns(cn);
        uint8_t *al = cmark_gfm_extensions_get_table_alignments(cn);
        if (t->ncols > 0) {
          t->align = ts_arena_alloc(A, (size_t)t->ncols);
          if (!t->align) { st = TS_ERR_NOMEM; goto done; }
          for (int i = 0; al && i < t->ncols; i++)
            t->align[i] = al[i] == 'l' ? TS_ALIGN_LEFT
                        : al[i] == 'c' ? TS_ALIGN_CENTER
                        : al[i] == 'r' ? TS_ALIGN_RIGHT : TS_ALIGN_NONE;
        }
      } else if (strcmp(ts, "table_header") == 0 || strcmp(ts, "table_row") == 0) {
        t = ts_node_new(doc, TS_NODE_TABLE_ROW, line, col);
        if (t) t->header = cmark_gfm_extensions_get_table_row_is_header(cn) ||
                           strcmp(ts, "table_header") == 0;
      } else if (strcmp(ts, "table_cell") == 0) {
        t = ts_node_new(doc, TS_NODE_TABLE_CELL, line, col);
      } else if (strcmp(ts, "strikethrough") == 0) {
        t = ts_node_new(doc, TS_NODE_STRIKE, line, col);
      } else {
        continue; /* unknown extension node: keep its children */
      }
      break;
    }
    }
    if (!t) { st = TS_ERR_NOMEM; goto done; }
    ts_node_append(cur, t);
    if (t->type == TS_NODE_PARAGRAPH || t->type == TS_NODE_HEADING ||
        t->type == TS_NODE_TABLE_CELL || t->type == TS_NODE_FIGURE) {
      c->block_col = t->col;
      c->block = t;
      c->block_line = t->line - c->line_off;
      c->chain_built = 0;
      c->wrap_from = 0;
      c->pfx_line = 0;
      c->raw_cur = (uint32_t)c->block_line;
      c->end_line = t->line;
      c->bs_line = 0;
      c->bs_before = c->bs_on = 0;
      c->synth = c->synth == 2 && t->type == TS_NODE_PARAGRAPH;
    }
    if (ts_node_is_container(t->type)) {
      cmark_node_set_user_data(cn, t);
      cur = t;
    }
  }
  TS_CHECK(assign_ids(c));
done:
  cmark_iter_free(it);
  return st;
}

/* ---- fenced divs of a language ----------------------------------------------
 * Pandoc's fenced div with a language, `::: {lang=ru}` … `:::`, marks the
 * blocks between as written in that language (for the EPUB's lang, the
 * accessibility claim and the PDF's hyphenation).  CommonMark reads the
 * markers as paragraphs: a marker on its own (between blank lines), an
 * opener as a paragraph's first line or a closer as its last.  Only
 * `{lang=TAG}` (TAG optionally quoted) opens one; anything else stays text.
 * Divs nest; an inner one wins; one left open runs to the end of the block
 * that holds it (warned). */
#define MD_DIV_DEPTH 32

/* The tag of an opener line `:::… {lang=TAG}` (written into tag, at most
 * n bytes), 1; or 0 when s[0..len) is no opener. */
static int div_opener(const char *s, size_t len, char *tag, size_t n) {
  size_t i = 0, colons = 0;
  while (i < len && s[i] == ':') i++, colons++;
  if (colons < 3) return 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
  if (i >= len || s[i++] != '{') return 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
  if (len - i < 5 || memcmp(s + i, "lang", 4) != 0) return 0;
  i += 4;
  while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
  if (i >= len || s[i++] != '=') return 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
  char q = i < len && (s[i] == '"' || s[i] == '\'') ? s[i++] : 0;
  size_t t0 = i;
  while (i < len && s[i] != '}' && s[i] != ' ' && s[i] != '\t' && s[i] != q) i++;
  size_t tl = i - t0;
  if (q && (i >= len || s[i++] != q)) return 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
  if (i >= len || s[i++] != '}') return 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
  if (i != len || tl == 0 || tl >= n) return 0;
  memcpy(tag, s + t0, tl);
  tag[tl] = 0;
  return 1;
}

static int div_closer(const char *s, size_t len) {
  size_t i = 0;
  while (i < len && s[i] == ':') i++;
  if (i < 3) return 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
  return i == len;
}

/* Sets lang on block and every block inside it (an inner div, handled
 * later, overrides). */
static void set_lang_tree(ts_node *block, const char *lang) {
  ts_iter it;
  ts_iter_init(&it, block);
  ts_node *n;
  int entering;
  while ((n = ts_iter_next(&it, &entering)))
    if (entering && ts_node_is_block(n->type)) n->lang = lang;
}

typedef struct div_open {
  const char *lang; /* arena; NULL: the tag was refused (the div still closes) */
  uint32_t line, col;
} div_open;

static const char *div_lang(const div_open *st, int depth) {
  for (int i = depth - 1; i >= 0; i--)
    if (st[i].lang) return st[i].lang;
  return NULL;
}

/* Opens a div from the tag of a marker at line:col (warned when refused);
 * past MD_DIV_DEPTH it is only counted (*over), so its closer pairs with it. */
static void div_push(conv *c, div_open *st, int *depth, int *over, const char *tag,
                     uint32_t line, uint32_t col, int *nomem) {
  if (*depth == MD_DIV_DEPTH) {
    if (!*over) warn(c, line, col, "fenced divs nested more than %d deep; the deeper ones are "
                     "ignored", MD_DIV_DEPTH);
    ++*over;
    return;
  }
  const char *lang = NULL;
  if (!md_lang_ok(tag))
    warn(c, line, col, "fenced div language '%s' is not a BCP 47 language tag; ignored", tag);
  else if (!(lang = ts_arena_strdup(c->doc->arena, tag)))
    *nomem = 1;
  st[(*depth)++] = (div_open){lang, line, col};
}

/* Closes the innermost div. */
static void div_pop(int *depth, int *over) {
  if (*over) --*over;
  else --*depth;
}

/* The markers among container's children: unlinked, the blocks between
 * marked. */
static ts_status divs_in(conv *c, ts_node *container) {
  div_open st[MD_DIV_DEPTH];
  int depth = 0, over = 0, nomem = 0;
  char tag[64];
  ts_node *next;
  for (ts_node *b = container->first; b; b = next) {
    next = b->next;
    if (b->type == TS_NODE_PARAGRAPH && b->first) {
      ts_node *f = b->first, *l = b->last;
      /* a whole paragraph that is one marker */
      if (f == l && f->type == TS_NODE_TEXT) {
        if (div_opener(f->text, f->len, tag, sizeof tag)) {
          div_push(c, st, &depth, &over, tag, b->line, b->col, &nomem);
          ts_node_unlink(b);
          continue;
        }
        if (depth && div_closer(f->text, f->len)) {
          div_pop(&depth, &over);
          ts_node_unlink(b);
          continue;
        }
      }
      /* an opener as the first line, a closer as the last */
      if (f->type == TS_NODE_TEXT && f->next && f->next->type == TS_NODE_SOFTBREAK &&
          div_opener(f->text, f->len, tag, sizeof tag)) {
        div_push(c, st, &depth, &over, tag, b->line, b->col, &nomem);
        ts_node *sb = f->next;
        ts_node_unlink(f);
        ts_node_unlink(sb);
        if (b->first) b->line = b->first->line, b->col = b->first->col;
      }
      l = b->last;
      int closes = depth && l && l->type == TS_NODE_TEXT && l->prev &&
                   l->prev->type == TS_NODE_SOFTBREAK && div_closer(l->text, l->len);
      if (closes) {
        ts_node *sb = l->prev;
        ts_node_unlink(l);
        ts_node_unlink(sb);
      }
      const char *lang = div_lang(st, depth);
      if (lang) set_lang_tree(b, lang);
      if (closes) div_pop(&depth, &over);
      continue;
    }
    const char *lang = div_lang(st, depth);
    if (lang) set_lang_tree(b, lang);
  }
  while (depth > 0) {
    depth--;
    warn(c, st[depth].line, st[depth].col,
         "fenced div opened here is not closed (':::'); it runs to the end of its block");
  }
  return nomem ? TS_ERR_NOMEM : TS_OK;
}

/* ---- inline spans of a language ------------------------------------------------
 * Pandoc's bracketed span `[text]{lang=ru}`: CommonMark leaves it as text
 * (no link follows the brackets), so the brackets are paired here among a
 * container's text (the innermost `[` before each `]{lang=TAG}`) and what
 * lies between becomes a SPAN carrying the language; emphasis and links
 * inside it move along.  A malformed tag is warned and left as text, like
 * every bracket that pairs with nothing. */
#define MD_SPAN_BRACKETS 64

/* `]{lang=TAG}` at the start of s[0..len): its length, the tag written
 * (at most n bytes); 0 when there is none. */
static size_t span_closer(const char *s, size_t len, char *tag, size_t n) {
  if (len < 9 || s[0] != ']' || s[1] != '{' || memcmp(s + 2, "lang=", 5) != 0) return 0;
  size_t i = 7;
  char q = s[i] == '"' || s[i] == '\'' ? s[i++] : 0;
  size_t t0 = i;
  while (i < len && s[i] != '}' && s[i] != ' ' && s[i] != '"' && s[i] != '\'') i++;
  size_t tl = i - t0;
  if (q && (i >= len || s[i++] != q)) return 0;
  if (i >= len || s[i] != '}' || tl == 0 || tl >= n) return 0;
  memcpy(tag, s + t0, tl);
  tag[tl] = 0;
  return i + 1;
}

static void insert_after(ts_node *at, ts_node *n) {
  n->parent = at->parent;
  n->prev = at;
  n->next = at->next;
  if (at->next) at->next->prev = n;
  else if (at->parent) at->parent->last = n;
  at->next = n;
}

/* A TEXT node of s[0..len) at pos's position, copied unless suffix (s is
 * the tail of a text, which ends where it does: no copy, so a paragraph of
 * many spans costs no copy of the rest at each); NULL when len is 0
 * (*nomem set when out of memory). */
static ts_node *text_piece(conv *c, const ts_node *pos, const char *s, size_t len, int suffix,
                           int *nomem) {
  if (len == 0) return NULL;
  ts_node *t = ts_node_new(c->doc, TS_NODE_TEXT, pos->line, pos->col);
  const char *text = !t ? NULL : suffix ? s : ts_arena_strndup(c->doc->arena, s, len);
  if (!text) {
    *nomem = 1;
    return NULL;
  }
  t->text = text;
  t->len = len;
  return t;
}

typedef struct bracket {
  ts_node *node;
  size_t off;
} bracket;

/* Wraps what lies between the `[` at (A, i) and the `]{lang=tag}` (cl bytes)
 * at (B, k) in a SPAN; returns the node scanning resumes at (NULL: the end). */
static ts_node *wrap_span(conv *c, ts_node *A, size_t i, ts_node *B, size_t k, size_t cl,
                          const char *lang, int *nomem) {
  ts_node *span = ts_node_new(c->doc, TS_NODE_SPAN, A->line, A->col);
  if (!span) {
    *nomem = 1;
    return NULL;
  }
  span->lang = lang;
  const char *at = A->text, *bt = B->text;
  size_t al = A->len, bl = B->len;
  ts_node *first_in, *last_in = NULL;
  if (A == B) {
    first_in = text_piece(c, A, at + i + 1, k - i - 1, 0, nomem);
  } else {
    first_in = text_piece(c, A, at + i + 1, al - i - 1, 1, nomem);
    last_in = text_piece(c, B, bt, k, 0, nomem);
  }
  ts_node *rest = text_piece(c, B, bt + k + cl, bl - k - cl, 1, nomem);
  if (*nomem) return NULL;
  insert_after(A, span);
  if (first_in) ts_node_append(span, first_in);
  if (A != B) {
    for (ts_node *m = span->next; m && m != B;) { /* the inlines between move in */
      ts_node *nx = m->next;
      ts_node_unlink(m);
      ts_node_append(span, m);
      m = nx;
    }
    if (last_in) ts_node_append(span, last_in);
    if (rest) insert_after(B, rest);
    ts_node_unlink(B);
  } else if (rest) {
    insert_after(span, rest);
  }
  if (i == 0) {
    ts_node_unlink(A);
  } else {
    char *keep = ts_arena_strndup(c->doc->arena, at, i);
    if (!keep) {
      *nomem = 1;
      return NULL;
    }
    A->text = keep;
    A->len = i;
  }
  return rest ? rest : span->next;
}

static ts_status spans_in(conv *c, ts_node *parent) {
  bracket st[MD_SPAN_BRACKETS];
  int depth = 0, nomem = 0;
  char tag[64];
  for (ts_node *n = parent->first; n && !nomem;) {
    if (n->type != TS_NODE_TEXT || !n->text) {
      n = n->next;
      continue;
    }
    ts_node *resume = n->next;
    for (size_t k = 0; k < n->len; k++) {
      if (n->text[k] == '[') {
        if (depth < MD_SPAN_BRACKETS) st[depth++] = (bracket){n, k};
        continue;
      }
      size_t cl;
      if (n->text[k] != ']' || !depth ||
          !(cl = span_closer(n->text + k, n->len - k, tag, sizeof tag)))
        continue;
      bracket o = st[--depth];
      if (!md_lang_ok(tag)) {
        warn(c, n->line, n->col, "span language '%s' is not a BCP 47 language tag; kept as text",
             tag);
        continue;
      }
      const char *lang = ts_arena_strdup(c->doc->arena, tag);
      if (!lang) {
        nomem = 1;
        break;
      }
      resume = wrap_span(c, o.node, o.off, n, k, cl, lang, &nomem);
      break; /* n is split or gone: go on from what follows the span */
    }
    n = resume;
  }
  return nomem ? TS_ERR_NOMEM : TS_OK;
}

static ts_status apply_spans(conv *c, ts_node *root) {
  ts_iter it;
  ts_iter_init(&it, root);
  ts_node *n;
  int entering;
  while ((n = ts_iter_next(&it, &entering))) {
    if (!entering) continue;
    switch (n->type) {
    case TS_NODE_PARAGRAPH: case TS_NODE_HEADING: case TS_NODE_TABLE_CELL:
    case TS_NODE_FIGURE: case TS_NODE_EMPH: case TS_NODE_STRONG: case TS_NODE_STRIKE:
    case TS_NODE_LINK: {
      ts_status st = spans_in(c, n);
      if (st != TS_OK) return st;
      break;
    }
    default:
      break;
    }
  }
  return TS_OK;
}

static ts_status apply_divs(conv *c, ts_node *root) {
  ts_iter it;
  ts_iter_init(&it, root);
  ts_node *n;
  int entering;
  while ((n = ts_iter_next(&it, &entering)))
    if (entering && (n->type == TS_NODE_DOCUMENT || n->type == TS_NODE_BLOCKQUOTE ||
                     n->type == TS_NODE_ITEM || n->type == TS_NODE_FOOTNOTE_DEF)) {
      ts_status st = divs_in(c, n);
      if (st != TS_OK) return st;
    }
  return TS_OK;
}

/* Warns about footnote definitions cmark dropped because nothing refers to
 * them: lines outside every leaf block that read `[^label]:` (after block
 * quote markers).  cmark frees such definitions, so the source is the only
 * place left to find them. */
static void warn_unreferenced_notes(conv *c, const char *body, size_t len) {
  size_t line = 1;
  const char *p = body, *end = body + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    if (line <= c->n_lines && !c->covered[line]) {
      const char *q = p;
      while (q < le && (*q == ' ' || *q == '\t' || *q == '>')) q++;
      if (le - q > 4 && q[0] == '[' && q[1] == '^') {
        const char *r = q + 2;
        while (r < le && *r != ']' && *r != '[') r++;
        if (r + 1 < le && r > q + 2 && r[0] == ']' && r[1] == ':')
          warn(c, (uint32_t)line + c->line_off, (uint32_t)(q - p) + 1,
               "footnote [^%.*s] is never referenced; dropped", (int)(r - q - 2),
               q + 2);
      }
    }
    p = nl ? nl + 1 : end;
    line++;
  }
}

/* Warns about "#id" links (in the body, the abstract or a note) that name no
 * heading: one pass collects the identifiers, the second checks. */
static ts_status check_anchors(ts_doc *doc, ts_diag *d, const char *file) {
  ts_status st = TS_OK;
  idset ids = {0};
  size_t n_roots = 2 + doc->n_notes;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t r = 0; r < n_roots; r++) {
      ts_node *root = r == 0 ? doc->root : r == 1 ? doc->meta.abstract : doc->notes[r - 2];
      ts_iter it;
      ts_iter_init(&it, root);
      ts_node *n;
      int ent;
      while (root && (n = ts_iter_next(&it, &ent))) {
        if (!ent) continue;
        if (pass == 0 && n->type == TS_NODE_HEADING && n->id)
          TS_CHECK(idset_add(&ids, n->id));
        else if (pass == 1 && n->type == TS_NODE_LINK && n->url && n->url[0] == '#' &&
                 !idset_has(&ids, n->url + 1))
          ts_diag_report(d, TS_WARNING, file, n->line, n->col,
                         "link to '%.200s': no heading has that identifier", n->url);
      }
    }
  }
done:
  idset_free(&ids);
  return st;
}

static cmark_node *cmark_run(const char *src, size_t len, int options,
                             cmark_syntax_extension **ext, int n_ext) {
  cmark_parser *p = cmark_parser_new(options);
  if (!p) return NULL;
  for (int i = 0; i < n_ext; i++)
    if (ext[i]) cmark_parser_attach_syntax_extension(p, ext[i]);
  cmark_parser_feed(p, src, len);
  cmark_node *root = cmark_parser_finish(p);
  cmark_parser_free(p);
  return root;
}

ts_status md_convert_abstract(ts_doc *doc, ts_diag *d, const char *file,
                              const md_abstract *abs) {
  ts_status st = TS_OK;
  conv c = {.doc = doc, .d = d, .file = file};
  ts_vec_init(&c.headings, sizeof(heading_rec));
  c.line_off = abs->line ? abs->line - 1 : 0;
  cmark_node *root = cmark_run(abs->src, abs->len, CMARK_OPT_DEFAULT, NULL, 0);
  if (!root) return TS_ERR_NOMEM;
  ts_node *troot = ts_node_new(doc, TS_NODE_DOCUMENT, abs->line, 1);
  if (!troot) { st = TS_ERR_NOMEM; goto done; }
  /* the abstract joins the id space after the body */
  doc->meta.abstract = troot;
  TS_CHECK(convert(&c, root, troot));
  doc->meta.abstract_text = plain_to_arena(doc->arena, troot);
  if (!doc->meta.abstract_text) st = TS_ERR_NOMEM;
done:
  cmark_node_free(root);
  return st;
}

/* Replaces CRLF and lone CR by LF in place; returns the new length. */
static size_t normalize_newlines(char *s, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\r') {
      s[o++] = '\n';
      if (i + 1 < n && s[i + 1] == '\n') i++;
    } else {
      s[o++] = s[i];
    }
  }
  s[o] = 0;
  return o;
}

/* Does line [p, e) consist of `mark` followed by optional blanks? */
static int is_fence(const char *p, const char *e, const char *mark) {
  size_t m = strlen(mark);
  if ((size_t)(e - p) < m || memcmp(p, mark, m) != 0) return 0;
  for (p += m; p < e; p++)
    if (*p != ' ' && *p != '\t') return 0;
  return 1;
}

/* meta_only: the front matter (and the abstract in it) without the body. */
static ts_status parse(ts_ctx *ctx, const char *path, const char *data, size_t len,
                       ts_diag *d, int meta_only, ts_doc **out) {
  ts_status st = TS_OK;
  char *text = NULL;
  ts_doc *doc = NULL;
  cmark_node *root = NULL;
  conv c = {0};
  md_abstract abs = {0};
  *out = NULL;
  if (!path) path = "<input>";

  /* 1. hygiene */
  if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) data += 3, len -= 3;
  unsigned bad_line = 0;
  text = ts_utf8_sanitize(data, len, &len, &bad_line);
  if (!text) { st = TS_ERR_NOMEM; goto done; }
  if (bad_line)
    ts_diag_report(d, TS_WARNING, path, bad_line, 0,
                   "invalid UTF-8 or NUL bytes replaced by U+FFFD");
  len = normalize_newlines(text, len);

  doc = ts_doc_create(path);
  if (!doc) { st = TS_ERR_NOMEM; goto done; }

  /* 2. YAML front matter: `---` on line 1, not followed by a blank line,
   * closed by a `---` or `...` line (Pandoc's yaml_metadata_block). */
  const char *body = text;
  size_t body_len = len;
  uint32_t line_off = 0;
  const char *e1 = memchr(text, '\n', len);
  if (e1 && is_fence(text, e1, "---") && e1 + 1 < text + len && e1[1] != '\n') {
    const char *p = e1 + 1, *end = text + len;
    uint32_t line = 2;
    const char *close = NULL, *after = NULL;
    while (p < end) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      const char *le = nl ? nl : end;
      if (is_fence(p, le, "---") || is_fence(p, le, "...")) {
        close = p;
        after = nl ? nl + 1 : end;
        break;
      }
      p = nl ? nl + 1 : end;
      line++;
    }
    if (close) {
      doc->meta.line = 1;
      TS_CHECK(md_meta_parse(doc, e1 + 1, (size_t)(close - (e1 + 1)), path, 2, 0,
                             d, &abs));
      body = after;
      body_len = (size_t)(end - after);
      line_off = line; /* the closing fence is on line `line` */
    } else {
      ts_diag_report(d, TS_WARNING, path, 1, 1,
                     "'---' on the first line opens no metadata block (no closing "
                     "'---' or '...'); read as Markdown");
    }
  }

  if (meta_only) {
    if (abs.present) TS_CHECK(md_convert_abstract(doc, d, path, &abs));
    *out = doc;
    doc = NULL;
    goto done;
  }

  /* 3. Markdown */
  if (ctx) ts_ctx_lock(ctx);
  cmark_gfm_core_extensions_ensure_registered(); /* not thread-safe in cmark */
  cmark_syntax_extension *ext[3] = {cmark_find_syntax_extension("table"),
                                    cmark_find_syntax_extension("strikethrough"),
                                    cmark_find_syntax_extension("autolink")};
  if (ctx) ts_ctx_unlock(ctx);
  root = cmark_run(body, body_len, CMARK_OPT_FOOTNOTES, ext, 3);
  if (!root) { st = TS_ERR_NOMEM; goto done; }

  c.doc = doc;
  c.d = d;
  c.file = path;
  c.line_off = line_off;
  ts_vec_init(&c.headings, sizeof(heading_rec));
  c.n_lines = 1;
  for (size_t i = 0; i < body_len; i++) c.n_lines += body[i] == '\n';
  c.covered = calloc(c.n_lines + 2, 1);
  c.line_start = malloc((c.n_lines + 2) * sizeof *c.line_start);
  if (!c.covered || !c.line_start) { st = TS_ERR_NOMEM; goto done; }
  c.body = body;
  {
    size_t l = 1;
    c.line_start[1] = 0;
    for (size_t i = 0; i < body_len; i++)
      if (body[i] == '\n') c.line_start[++l] = i + 1;
    c.line_start[c.n_lines + 1] = body_len + 1; /* as if a final newline */
  }
  TS_CHECK(convert(&c, root, doc->root));
  TS_CHECK(apply_divs(&c, doc->root));
  TS_CHECK(apply_spans(&c, doc->root));
  for (size_t i = 0; i < doc->n_notes; i++)
    if (doc->notes[i] && !doc->notes[i]->parent) {
      TS_CHECK(apply_divs(&c, doc->notes[i]));
      TS_CHECK(apply_spans(&c, doc->notes[i]));
    }
  warn_unreferenced_notes(&c, body, body_len);

  /* 4. the abstract, after the body so body identifiers come first */
  if (abs.present) TS_CHECK(md_convert_abstract(doc, d, path, &abs));
  TS_CHECK(check_anchors(doc, d, path));

  *out = doc;
  doc = NULL;
done:
  if (st == TS_ERR_NOMEM) ts_diag_report(d, TS_ERROR, path, 0, 0, "out of memory");
  free(c.covered);
  free(c.line_start);
  free(c.chain);
  if (root) cmark_node_free(root);
  ts_doc_destroy(doc);
  free(text);
  return st;
}

ts_status ts_markdown_parse(ts_ctx *ctx, const char *path, const char *data,
                            size_t len, ts_diag *d, ts_doc **out) {
  return parse(ctx, path, data, len, d, 0, out);
}

static ts_status parse_file(ts_ctx *ctx, const char *path, ts_diag *d, int meta_only,
                            ts_doc **out) {
  *out = NULL;
  size_t len = 0;
  char *data = ts_file_read(path, &len, 0);
  if (!data) {
    ts_diag_report(d, TS_ERROR, path, 0, 0, "cannot read: %s", strerror(errno));
    return errno == ENOMEM ? TS_ERR_NOMEM : TS_ERR_IO;
  }
  ts_status st = parse(ctx, path, data, len, d, meta_only, out);
  free(data);
  return st;
}

ts_status ts_markdown_parse_file(ts_ctx *ctx, const char *path, ts_diag *d,
                                 ts_doc **out) {
  return parse_file(ctx, path, d, 0, out);
}

ts_status ts_markdown_parse_meta_file(ts_ctx *ctx, const char *path, ts_diag *d,
                                      ts_doc **out) {
  return parse_file(ctx, path, d, 1, out);
}
