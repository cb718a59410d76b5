/* style.c — style sheets from YAML (libyaml event API), the compiled-in
 * default (styles/default.yaml embedded at build time), and the text dump.
 *
 * Loading works in three steps:
 *   1. each file of the `base:` chain is parsed into a small tree of nodes
 *      (scalars, sequences, maps, each with its line and column), built
 *      iteratively from libyaml events; aliases are refused (no "billion
 *      laughs"), nesting and node counts are bounded;
 *   2. starting from the built-in default, the files are applied from the
 *      deepest base to the file asked for.  Keys are looked up in the schema
 *      tables below, in table order (not document order), so `body.size` is
 *      known before any length given in `em`, and `page.size` is applied
 *      before an explicit `width`/`height`;
 *   3. the result is checked as a whole (the text block must fit the page).
 * Every string of a style lives in the style's own arena. */
#include "style/ts_style.h"
#include "style/style_internal.h"

#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_NODES 200000      /* per file */
#define MAX_FILE (1u << 20)   /* style files are small: refuse > 1 MiB */
#define MAX_BASE_CHAIN 8      /* base: a → b → … */
#define MAX_STR 4096          /* bytes in one template or family name */
#define MAX_EXCEPTIONS 20000
#define MAX_UNKNOWN_WARN 20   /* unknown-key warnings per file */

/* ---- the object ---------------------------------------------------------- */

typedef struct style_impl {
  ts_style s;      /* first: a ts_style* is a style_impl* */
  ts_arena *arena; /* owned: every string of s */
} style_impl;

static style_impl *impl_create(void) {
  style_impl *im = calloc(1, sizeof *im);
  if (!im) return NULL;
  im->arena = ts_arena_create(0);
  if (!im->arena) {
    free(im);
    return NULL;
  }
  return im;
}

void ts_style_destroy(ts_style *s) {
  if (!s) return;
  style_impl *im = (style_impl *)s;
  ts_arena_destroy(im->arena);
  free(im);
}

/* ---- YAML tree -------------------------------------------------------------
 * A map holds its keys and values alternately in kids[]. */
typedef enum ykind { Y_SCALAR, Y_SEQ, Y_MAP } ykind;

typedef struct ynode {
  ykind kind;
  int plain;           /* scalar written without quotes (null/true may apply) */
  const char *val;     /* scalar text (arena), NUL-terminated */
  size_t len;
  unsigned line, col;  /* 1-based */
  ts_vec kids;         /* struct ynode * */
} ynode;

/* One file being applied: where messages go and how many were reported. */
typedef struct lctx {
  ts_ctx *ctx;
  ts_diag *d;
  const char *file;    /* for messages */
  ts_arena *tmp;       /* tree and scratch (owned by the loader) */
  unsigned errors;
  unsigned unknown;    /* unknown-key warnings reported so far */
  unsigned page_line, page_col; /* where geometry was last set (checks) */
  int nomem;
  double em;           /* the final body size: what `em` means (0: current) */
  int hold;            /* hold messages for sorting (see report) */
  ts_vec held;         /* held_msg */
} lctx;

/* While a tree is applied (in schema order), messages are held and then
 * reported sorted by position, so they read in file order. */
typedef struct held_msg {
  ts_diag_level lvl;
  unsigned line, col;
  size_t seq;
  char *text; /* tmp arena */
} held_msg;

static void report(lctx *L, ts_diag_level lvl, unsigned line, unsigned col, const char *fmt,
                   va_list ap) {
  if (lvl == TS_ERROR) L->errors++;
  if (L->hold) {
    char buf[1024];
    va_list cp;
    va_copy(cp, ap);
    (void)vsnprintf(buf, sizeof buf, fmt, cp); /* a long message is cut */
    va_end(cp);
    held_msg *m = ts_vec_push(L->tmp, &L->held);
    char *t = ts_arena_strdup(L->tmp, buf);
    if (m && t) {
      m->lvl = lvl;
      m->line = line;
      m->col = col;
      m->seq = L->held.len;
      m->text = t;
      return;
    }
    if (m) L->held.len--; /* report it now rather than lose it */
  }
  ts_diag_vreport(L->d, lvl, L->file, line, col, fmt, ap);
}

static void err_at(lctx *L, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void err_at(lctx *L, unsigned line, unsigned col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(L, TS_ERROR, line, col, fmt, ap);
  va_end(ap);
}

static void warn_at(lctx *L, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void warn_at(lctx *L, unsigned line, unsigned col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  report(L, TS_WARNING, line, col, fmt, ap);
  va_end(ap);
}

static int held_cmp(const void *a, const void *b) {
  const held_msg *x = a, *y = b;
  if (x->line != y->line) return x->line < y->line ? -1 : 1;
  if (x->col != y->col) return x->col < y->col ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void flush_held(lctx *L) {
  held_msg *m = L->held.data;
  if (L->held.len) qsort(m, L->held.len, sizeof *m, held_cmp);
  for (size_t i = 0; i < L->held.len; i++)
    ts_diag_report(L->d, m[i].lvl, L->file, m[i].line, m[i].col, "%s", m[i].text);
  ts_vec_init(&L->held, sizeof(held_msg));
  L->hold = 0;
}

static ynode *node_new(lctx *L, ykind k, const yaml_mark_t *m) {
  ynode *n = ts_arena_alloc(L->tmp, sizeof *n);
  if (!n) return NULL;
  n->kind = k;
  n->line = (unsigned)m->line + 1;
  n->col = (unsigned)m->column + 1;
  ts_vec_init(&n->kids, sizeof(ynode *));
  return n;
}

static int node_add(lctx *L, ynode *parent, ynode *kid) {
  ynode **slot = ts_vec_push(L->tmp, &parent->kids);
  if (!slot) return -1;
  *slot = kid;
  return 0;
}

static size_t nkids(const ynode *n) { return n->kids.len; }
static ynode *kid(const ynode *n, size_t i) { return ((ynode **)n->kids.data)[i]; }

/* Parses text into a tree.  *root is NULL for an empty document.  Returns
 * TS_ERR_INPUT after a located error, TS_ERR_NOMEM. */
static ts_status parse_tree(lctx *L, const char *text, size_t len, ynode **root) {
  ts_status st = TS_OK;
  yaml_parser_t p;
  yaml_event_t ev;
  int have_ev = 0, done_stream = 0, docs = 0;
  size_t nodes = 0;
  ynode **stack = NULL; /* open collections */
  size_t depth = 0;
  *root = NULL;

  if (!yaml_parser_initialize(&p)) return TS_ERR_NOMEM;
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  stack = malloc(sizeof *stack * (TS_YAML_MAX_DEPTH + 1));
  if (!stack) {
    st = TS_ERR_NOMEM;
    goto done;
  }
  while (!done_stream) {
    if (!yaml_parser_parse(&p, &ev)) {
      if (p.error == YAML_MEMORY_ERROR) {
        st = TS_ERR_NOMEM;
        goto done;
      }
      unsigned line = (unsigned)p.problem_mark.line + 1, col = (unsigned)p.problem_mark.column + 1;
      if (p.error == YAML_READER_ERROR) { /* marks are not set: count lines */
        line = 1;
        col = 1;
        for (size_t i = 0; i < p.problem_offset && i < len; i++) {
          if (text[i] == '\n') {
            line++;
            col = 1;
          } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            col++;
          }
        }
      }
      err_at(L, line, col,
             "malformed YAML: %s%s%s", p.problem ? p.problem : "syntax error",
             p.context ? " " : "", p.context ? p.context : "");
      st = TS_ERR_INPUT;
      goto done;
    }
    have_ev = 1;
    ynode *n = NULL;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT:
      done_stream = 1;
      break;
    case YAML_DOCUMENT_START_EVENT:
      if (++docs > 1) {
        err_at(L, (unsigned)ev.start_mark.line + 1, (unsigned)ev.start_mark.column + 1,
               "a style file holds one YAML document");
        st = TS_ERR_INPUT;
        goto done;
      }
      break;
    case YAML_ALIAS_EVENT:
      err_at(L, (unsigned)ev.start_mark.line + 1, (unsigned)ev.start_mark.column + 1,
             "YAML aliases (*%s) are not supported in style files",
             ev.data.alias.anchor ? (const char *)ev.data.alias.anchor : "");
      st = TS_ERR_INPUT;
      goto done;
    case YAML_SCALAR_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
      if (++nodes > MAX_NODES) {
        err_at(L, (unsigned)ev.start_mark.line + 1, (unsigned)ev.start_mark.column + 1,
               "style file too large (more than %d YAML nodes)", MAX_NODES);
        st = TS_ERR_INPUT;
        goto done;
      }
      n = node_new(L, ev.type == YAML_SCALAR_EVENT ? Y_SCALAR
                       : ev.type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP,
                   &ev.start_mark);
      if (!n) {
        st = TS_ERR_NOMEM;
        goto done;
      }
      if (ev.type == YAML_SCALAR_EVENT) {
        n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->len = ev.data.scalar.length;
        n->val = ts_arena_strndup(L->tmp, (const char *)ev.data.scalar.value, n->len);
        if (!n->val) {
          st = TS_ERR_NOMEM;
          goto done;
        }
      }
      if (depth == 0) {
        if (*root) { /* cannot happen: one document, one root */
          st = TS_ERR_INTERNAL;
          goto done;
        }
        *root = n;
      } else if (node_add(L, stack[depth - 1], n)) {
        st = TS_ERR_NOMEM;
        goto done;
      }
      if (n->kind != Y_SCALAR) {
        if (depth >= TS_YAML_MAX_DEPTH) {
          err_at(L, n->line, n->col, "YAML nested too deeply (limit %d)", TS_YAML_MAX_DEPTH);
          st = TS_ERR_INPUT;
          goto done;
        }
        stack[depth++] = n;
      }
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      if (TS_NEVER(depth == 0)) {
        st = TS_ERR_INTERNAL;
        goto done;
      }
      depth--;
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
    have_ev = 0;
  }
done:
  if (have_ev) yaml_event_delete(&ev);
  yaml_parser_delete(&p);
  free(stack);
  return st;
}

/* ---- scalar parsing --------------------------------------------------------- */

static int is_null(const ynode *n) {
  if (n->kind != Y_SCALAR) return 0;
  if (!n->plain) return 0;
  return n->len == 0 || !strcmp(n->val, "~") || !strcmp(n->val, "null") ||
         !strcmp(n->val, "Null") || !strcmp(n->val, "NULL");
}

static int ci_eq(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    char x = *a, y = *b;
    if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
    if (x != y) return 0;
  }
  return *a == *b;
}

/* Decimal number without exponent, locale-free: [+-]digits[.digits].  Sets
 * *end after it.  Returns 0 on success. */
static int parse_decimal(const char *s, double *out, const char **end) {
  const char *p = s;
  int neg = 0, digits = 0;
  double v = 0, scale = 1;
  if (*p == '+' || *p == '-') neg = *p++ == '-';
  while (*p >= '0' && *p <= '9') {
    if (digits < 15) v = v * 10 + (*p - '0');
    else scale /= 10; /* keep magnitude; digits past 15 are noise */
    digits++;
    p++;
  }
  if (*p == '.') {
    p++;
    while (*p >= '0' && *p <= '9') {
      if (digits < 15) {
        v = v * 10 + (*p - '0');
        scale *= 10;
      }
      digits++;
      p++;
    }
  }
  if (!digits) return -1;
  if (digits > 40) return -1; /* absurd */
  v /= scale;
  *out = neg ? -v : v;
  *end = p;
  return 0;
}

int ts_style_parse_length(const char *s, double em, double *out) {
  static const struct { const char *u; double f; } units[] = {
      {"pt", 1.0}, {"mm", 72.0 / 25.4}, {"cm", 72.0 / 2.54}, {"in", 72.0},
      {"pc", 12.0}, {"em", -1.0}};
  double v;
  const char *p;
  if (!s || !out) return -1;
  while (*s == ' ') s++;
  if (parse_decimal(s, &v, &p)) return -1;
  while (*p == ' ') p++;
  double f = 1.0;
  if (*p) {
    size_t i;
    for (i = 0; i < sizeof units / sizeof units[0]; i++)
      if (p[0] == units[i].u[0] && p[1] == units[i].u[1]) break;
    if (i == sizeof units / sizeof units[0]) return -1;
    f = units[i].f < 0 ? em : units[i].f;
    p += 2;
    while (*p == ' ') p++;
    if (*p) return -1;
  }
  if (fabs(v) > 1e7) return -1;
  v *= f;
  if (!isfinite(v)) return -1;
  *out = v;
  return 0;
}

/* ---- the schema ------------------------------------------------------------- */

typedef enum ftype {
  F_LEN,       /* length, min..max pt */
  F_NUM,       /* plain number, min..max */
  F_INT,       /* integer, min..max */
  F_BOOL,
  F_STR,       /* template / text; null or empty -> NULL */
  F_COLOR,     /* "#rrggbb" */
  F_ALIGN,
  F_ROLE,
  F_FAMILIES,  /* [names] or one name */
  F_FEATURES,  /* HarfBuzz feature string or null */
  F_LANG,      /* language tag or null */
  F_EXCEPTIONS,/* [words] */
  F_PAGESIZE,  /* name */
  F_NOTES,     /* footnotes | endnotes */
  F_ORIENT,    /* portrait | landscape: orders page_w, page_h */
  F_MAP        /* nested table */
} ftype;

typedef struct field {
  const char *key;
  ftype t;
  size_t off;           /* offset in ts_style */
  double min, max;
  const struct field *sub; /* F_MAP */
} field;

#define OFF(m) offsetof(ts_style, m)
#define BOFF(B, m) ((B) + offsetof(ts_block_style, m))
#define LEN_POS(k, o) {k, F_LEN, o, 0, 5000, NULL}
/* The fields every block style has.  `size` comes first: nothing in a block
 * is relative to its own size, but body.size must precede every em. */
#define BLOCK_FIELDS(B)                                                  \
  {"size", F_LEN, BOFF(B, size), 1, 1000, NULL},                         \
  {"leading", F_LEN, BOFF(B, leading), 1, 2000, NULL},                   \
  {"font", F_ROLE, BOFF(B, role), 0, 0, NULL},                           \
  {"bold", F_BOOL, BOFF(B, bold), 0, 0, NULL},                           \
  {"italic", F_BOOL, BOFF(B, italic), 0, 0, NULL},                       \
  {"small-caps", F_BOOL, BOFF(B, smallcaps), 0, 0, NULL},                \
  {"uppercase", F_BOOL, BOFF(B, uppercase), 0, 0, NULL},                 \
  LEN_POS("space-before", BOFF(B, space_before)),                       \
  LEN_POS("space-after", BOFF(B, space_after)),                         \
  {"indent", F_LEN, BOFF(B, indent), -1000, 1000, NULL},                 \
  {"align", F_ALIGN, BOFF(B, align), 0, 0, NULL},                        \
  {"color", F_COLOR, BOFF(B, color), 0, 0, NULL}
#define END {NULL, F_LEN, 0, 0, 0, NULL}

#define BLOCK_TABLE(name, member) \
  static const field name[] = {BLOCK_FIELDS(OFF(member)), END};

BLOCK_TABLE(quote_f, quote)
BLOCK_TABLE(code_f, code)
BLOCK_TABLE(list_f, list)
BLOCK_TABLE(table_f, table)
BLOCK_TABLE(caption_f, caption)
BLOCK_TABLE(header_f, header)
BLOCK_TABLE(footer_f, footer)
BLOCK_TABLE(masthead_f, masthead_style)
BLOCK_TABLE(title_f, title)
BLOCK_TABLE(subtitle_f, subtitle)
BLOCK_TABLE(author_f, author)
BLOCK_TABLE(affiliation_f, affiliation)
BLOCK_TABLE(abstract_f, abstract)
BLOCK_TABLE(keywords_f, keywords)

static const field body_f[] = {
    BLOCK_FIELDS(OFF(body)),
    LEN_POS("paragraph-skip", OFF(par_skip)),
    END};

#define HEADING_TABLE(name, i)                                           \
  static const field name[] = {                                          \
      BLOCK_FIELDS(OFF(h[i])),                                           \
      {"numbered", F_BOOL, OFF(h[i].numbered), 0, 0, NULL},              \
      {"keep-with-next", F_INT, OFF(h[i].keep_with_next), 0, 20, NULL},  \
      {"page-break-before", F_BOOL, OFF(h[i].page_break_before), 0, 0, NULL}, \
      END};
HEADING_TABLE(h1_f, 0)
HEADING_TABLE(h2_f, 1)
HEADING_TABLE(h3_f, 2)
HEADING_TABLE(h4_f, 3)
HEADING_TABLE(h5_f, 4)
HEADING_TABLE(h6_f, 5)

static const field headings_f[] = {
    {"h1", F_MAP, 0, 0, 0, h1_f}, {"h2", F_MAP, 0, 0, 0, h2_f},
    {"h3", F_MAP, 0, 0, 0, h3_f}, {"h4", F_MAP, 0, 0, 0, h4_f},
    {"h5", F_MAP, 0, 0, 0, h5_f}, {"h6", F_MAP, 0, 0, 0, h6_f}, END};

static const field margins_f[] = {
    LEN_POS("inner", OFF(margin_inner)), LEN_POS("outer", OFF(margin_outer)),
    LEN_POS("top", OFF(margin_top)), LEN_POS("bottom", OFF(margin_bottom)), END};

/* width/height after size: an explicit size overrides the named one. */
static const field page_f[] = {
    {"size", F_PAGESIZE, 0, 0, 0, NULL},
    {"width", F_LEN, OFF(page_w), 72, 14400, NULL},
    {"height", F_LEN, OFF(page_h), 72, 14400, NULL},
    {"orientation", F_ORIENT, 0, 0, 0, NULL},
    {"margins", F_MAP, 0, 0, 0, margins_f},
    {"mirror", F_BOOL, OFF(mirror), 0, 0, NULL},
    {"columns", F_INT, OFF(columns), 1, 2, NULL},
    LEN_POS("column-gap", OFF(column_gap)),
    {"baseline-grid", F_BOOL, OFF(baseline_grid), 0, 0, NULL},
    END};

#define ROLE_TABLE(name, r)                                                 \
  static const field name[] = {                                             \
      {"families", F_FAMILIES, OFF(fonts[r]), 0, 0, NULL},                  \
      {"features", F_FEATURES, OFF(fonts[r].features), 0, 0, NULL}, END};
ROLE_TABLE(font_body_f, TS_ROLE_BODY)
ROLE_TABLE(font_heading_f, TS_ROLE_HEADING)
ROLE_TABLE(font_mono_f, TS_ROLE_MONO)

static const field fonts_f[] = {
    {"body", F_MAP, 0, 0, 0, font_body_f},
    {"heading", F_MAP, 0, 0, 0, font_heading_f},
    {"mono", F_MAP, 0, 0, 0, font_mono_f}, END};

static const field hyph_f[] = {
    {"enabled", F_BOOL, OFF(hyphenate), 0, 0, NULL},
    {"lang", F_LANG, OFF(hyphen_lang), 0, 0, NULL},
    {"exceptions", F_EXCEPTIONS, 0, 0, 0, NULL},
    {"left-min", F_INT, OFF(brk.lefthyphenmin), 1, 20, NULL},
    {"right-min", F_INT, OFF(brk.righthyphenmin), 1, 20, NULL},
    {"max-lines", F_INT, OFF(brk.max_hyphen_lines), 0, 100, NULL}, END};

/* TeX's names and ranges (TeX: The Program §§828–859: badness is capped at
 * 10000, penalties >= 10000 forbid a break; pretolerance -1 skips pass 1). */
static const field brk_f[] = {
    {"pretolerance", F_NUM, OFF(brk.pretolerance), -1, 10000, NULL},
    {"tolerance", F_NUM, OFF(brk.tolerance), 0, 10000, NULL},
    {"emergencystretch", F_LEN, OFF(brk.emergencystretch), 0, 1000, NULL},
    {"linepenalty", F_NUM, OFF(brk.linepenalty), -10000, 10000, NULL},
    {"hyphenpenalty", F_NUM, OFF(brk.hyphenpenalty), -10000, 10000, NULL},
    {"exhyphenpenalty", F_NUM, OFF(brk.exhyphenpenalty), -10000, 10000, NULL},
    {"adjdemerits", F_NUM, OFF(brk.adjdemerits), 0, 1e7, NULL},
    {"doublehyphendemerits", F_NUM, OFF(brk.doublehyphendemerits), 0, 1e7, NULL},
    {"finalhyphendemerits", F_NUM, OFF(brk.finalhyphendemerits), 0, 1e7, NULL},
    {"looseness", F_INT, OFF(brk.looseness), -100, 100, NULL},
    {"clubpenalty", F_NUM, OFF(brk.clubpenalty), -10000, 10000, NULL},
    {"widowpenalty", F_NUM, OFF(brk.widowpenalty), -10000, 10000, NULL},
    {"brokenpenalty", F_NUM, OFF(brk.brokenpenalty), -10000, 10000, NULL},
    {"expansion", F_NUM, OFF(brk.expansion), 0, 50, NULL},
    END};

static const field running_f[] = {
    {"header-recto", F_STR, OFF(header_recto), 0, 0, NULL},
    {"header-verso", F_STR, OFF(header_verso), 0, 0, NULL},
    {"footer-recto", F_STR, OFF(footer_recto), 0, 0, NULL},
    {"footer-verso", F_STR, OFF(footer_verso), 0, 0, NULL},
    {"first-page", F_BOOL, OFF(running_on_first), 0, 0, NULL},
    {"rule", F_LEN, OFF(header_rule), 0, 20, NULL},
    {"header", F_MAP, 0, 0, 0, header_f},
    {"footer", F_MAP, 0, 0, 0, footer_f}, END};

static const field title_block_f[] = {
    {"enabled", F_BOOL, OFF(title_block), 0, 0, NULL},
    {"masthead", F_STR, OFF(masthead), 0, 0, NULL},
    {"accent", F_COLOR, OFF(accent), 0, 0, NULL},
    {"epub-cover", F_BOOL, OFF(epub_cover), 0, 0, NULL},
    {"masthead-style", F_MAP, 0, 0, 0, masthead_f},
    {"title", F_MAP, 0, 0, 0, title_f},
    {"subtitle", F_MAP, 0, 0, 0, subtitle_f},
    {"author", F_MAP, 0, 0, 0, author_f},
    {"affiliation", F_MAP, 0, 0, 0, affiliation_f},
    {"abstract", F_MAP, 0, 0, 0, abstract_f},
    {"keywords", F_MAP, 0, 0, 0, keywords_f}, END};

static const field footnotes_f[] = {
    BLOCK_FIELDS(OFF(footnote)),
    LEN_POS("rule-width", OFF(footnote_rule_width)),
    {"rule-weight", F_LEN, OFF(footnote_rule_weight), 0, 20, NULL},
    LEN_POS("skip", OFF(footnote_skip)),
    {"epub", F_NOTES, OFF(epub_endnotes), 0, 0, NULL}, END};

static const field epub_f[] = {
    {"page-list", F_BOOL, OFF(epub_page_list), 0, 0, NULL}, END};

static const field colors_f[] = {
    {"text", F_COLOR, OFF(text_color), 0, 0, NULL},
    {"link", F_COLOR, OFF(link_color), 0, 0, NULL},
    {"rule", F_COLOR, OFF(rule_color), 0, 0, NULL}, END};

/* Top level.  `body` first (its size is the em of every other length). `base`
 * is handled by the loader before this table is applied. */
static const field top_f[] = {
    {"body", F_MAP, 0, 0, 0, body_f},
    {"page", F_MAP, 0, 0, 0, page_f},
    {"fonts", F_MAP, 0, 0, 0, fonts_f},
    {"quote", F_MAP, 0, 0, 0, quote_f},
    {"code", F_MAP, 0, 0, 0, code_f},
    {"list", F_MAP, 0, 0, 0, list_f},
    {"table", F_MAP, 0, 0, 0, table_f},
    {"caption", F_MAP, 0, 0, 0, caption_f},
    {"headings", F_MAP, 0, 0, 0, headings_f},
    {"hyphenation", F_MAP, 0, 0, 0, hyph_f},
    {"linebreak", F_MAP, 0, 0, 0, brk_f},
    {"widows", F_INT, OFF(widows), 1, 20, NULL},
    {"orphans", F_INT, OFF(orphans), 1, 20, NULL},
    {"running", F_MAP, 0, 0, 0, running_f},
    {"title-block", F_MAP, 0, 0, 0, title_block_f},
    {"toc", F_BOOL, OFF(toc), 0, 0, NULL},
    {"footnotes", F_MAP, 0, 0, 0, footnotes_f},
    {"colors", F_MAP, 0, 0, 0, colors_f},
    {"epub", F_MAP, 0, 0, 0, epub_f},
    END};

/* Named page sizes, portrait, in pt (ISO 216; US; British book octavos:
 * Royal 156 x 234 mm, Demy 138 x 216 mm, Crown 123 x 186 mm; US trade 6x9in). */
#define MM(x) ((x) * 72.0 / 25.4)
static const struct { const char *name; double w, h; } page_sizes[] = {
    {"A3", MM(297), MM(420)}, {"A4", MM(210), MM(297)}, {"A5", MM(148), MM(210)},
    {"A6", MM(105), MM(148)}, {"B5", MM(176), MM(250)}, {"Letter", 612, 792},
    {"Legal", 612, 1008},     {"Royal", MM(156), MM(234)},
    {"Demy", MM(138), MM(216)}, {"Crown", MM(123), MM(186)},
    {"6x9in", 432, 648},      {"5.5x8.5in", 396, 612}};

/* ---- applying a tree ---------------------------------------------------------- */

static const char *kind_name(const ynode *n) {
  return n->kind == Y_MAP ? "a map" : n->kind == Y_SEQ ? "a list" : "a scalar";
}

static void *at(ts_style *s, size_t off) { return (char *)s + off; }

/* Copies a scalar into the style's arena after checking it. */
static const char *keep_str(lctx *L, ts_arena *a, const ynode *v, const char *what) {
  if (v->len > MAX_STR) {
    err_at(L, v->line, v->col, "%s is too long (%zu bytes, limit %d)", what, v->len, MAX_STR);
    return NULL;
  }
  if (memchr(v->val, '\0', v->len)) {
    err_at(L, v->line, v->col, "%s contains a NUL character", what);
    return NULL;
  }
  char *c = ts_arena_strndup(a, v->val, v->len);
  if (!c) L->nomem = 1;
  return c;
}

static int want_scalar(lctx *L, const ynode *v, const char *key, const char *what) {
  if (v->kind == Y_SCALAR) return 1;
  err_at(L, v->line, v->col, "'%s' must be %s, not %s", key, what, kind_name(v));
  return 0;
}

static int parse_bool(const ynode *v, int *out) {
  static const char *const t[] = {"true", "yes", "on"}, *const f[] = {"false", "no", "off"};
  if (v->kind != Y_SCALAR) return -1;
  for (size_t i = 0; i < 3; i++) {
    if (ci_eq(v->val, t[i])) { *out = 1; return 0; }
    if (ci_eq(v->val, f[i])) { *out = 0; return 0; }
  }
  return -1;
}

static int parse_color(const char *s, uint32_t *out) {
  if (s[0] != '#' || strlen(s) != 7) return -1;
  uint32_t v = 0;
  for (int i = 1; i < 7; i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + (uint32_t)d;
  }
  *out = v;
  return 0;
}

static int lang_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 35) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '-' || *s == '_'))
      return 0;
  return 1;
}

static void apply_map(lctx *L, ts_style *s, const field *tab, const ynode *map,
                      const char *ctx_key, unsigned depth);

/* Templates may name {title} {short-title} {author} {series} {number} {page}
 * {pages}; anything else in braces is most likely a typo: warn (the page
 * stage prints unknown placeholders as they are). */
static void check_template(lctx *L, const ynode *v, const char *k) {
  static const char *const names[] = {"title", "short-title", "author", "series",
                                      "number", "page", "pages"};
  for (const char *p = v->val; (p = strchr(p, '{'));) {
    const char *e = strchr(p + 1, '}');
    if (!e) {
      warn_at(L, v->line, v->col, "'%s': '{' without '}'", k);
      return;
    }
    size_t n = (size_t)(e - p - 1), i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
      if (strlen(names[i]) == n && !memcmp(names[i], p + 1, n)) break;
    if (i == sizeof names / sizeof names[0])
      warn_at(L, v->line, v->col,
              "'%s': unknown placeholder {%.*s} (title, short-title, author, series, number, "
              "page, pages)", k, (int)(n > 40 ? 40 : n), p + 1);
    p = e + 1;
  }
}

/* apply_field <-> apply_map recurse once per level of the static schema
 * tables (4 levels; apply_map stops at 8), never per level of the input. */
// NOLINTNEXTLINE(misc-no-recursion) bounded by the schema, see above
static void apply_field(lctx *L, ts_style *s, const field *f, const ynode *v,
                        unsigned depth) {
  style_impl *im = (style_impl *)s;
  const char *k = f->key;
  double x;
  switch (f->t) {
  case F_LEN:
    if (!want_scalar(L, v, k, "a length")) return;
    /* em: the style's final body size (L->em), except for body.size itself,
     * which is relative to the body size before it */
    if (ts_style_parse_length(v->val, f->off == OFF(body.size) || L->em <= 0 ? s->body.size : L->em,
                              &x)) {
      err_at(L, v->line, v->col, "'%s': '%s' is not a length (a number with pt, mm, cm, in, pc or em)",
             k, v->val);
      return;
    }
    if (x < f->min || x > f->max) {
      err_at(L, v->line, v->col, "'%s': %s is out of range (%g to %g pt)", k, v->val, f->min, f->max);
      return;
    }
    *(double *)at(s, f->off) = x;
    return;
  case F_NUM:
  case F_INT: {
    const char *end;
    if (!want_scalar(L, v, k, "a number")) return;
    if (parse_decimal(v->val, &x, &end) || *end ||
        (f->t == F_INT && strchr(v->val, '.'))) {
      err_at(L, v->line, v->col, "'%s': '%s' is not %s", k, v->val,
             f->t == F_INT ? "an integer" : "a number");
      return;
    }
    if (x < f->min || x > f->max) {
      err_at(L, v->line, v->col, "'%s': %s is out of range (%g to %g)", k, v->val, f->min, f->max);
      return;
    }
    if (f->t == F_INT) *(int *)at(s, f->off) = (int)x;
    else *(double *)at(s, f->off) = x;
    return;
  }
  case F_BOOL: {
    int b;
    if (parse_bool(v, &b)) {
      err_at(L, v->line, v->col, "'%s' must be true or false", k);
      return;
    }
    *(int *)at(s, f->off) = b;
    return;
  }
  case F_STR:
    if (!want_scalar(L, v, k, "a text")) return;
    if (is_null(v) || v->len == 0) {
      *(const char **)at(s, f->off) = NULL;
      return;
    }
    check_template(L, v, k);
    {
      const char *c = keep_str(L, im->arena, v, k);
      if (c) *(const char **)at(s, f->off) = c;
    }
    return;
  case F_COLOR: {
    uint32_t c;
    if (!want_scalar(L, v, k, "a colour")) return;
    if (is_null(v)) {
      err_at(L, v->line, v->col,
             "'%s': missing colour (quote it: \"#rrggbb\"; an unquoted # starts a YAML comment)", k);
      return;
    }
    if (parse_color(v->val, &c)) {
      err_at(L, v->line, v->col, "'%s': '%s' is not a colour \"#rrggbb\"", k, v->val);
      return;
    }
    *(uint32_t *)at(s, f->off) = c;
    return;
  }
  case F_ALIGN: {
    static const struct { const char *n; ts_align a; } al[] = {
        {"justify", TS_JUSTIFY}, {"left", TS_RAGGED_RIGHT}, {"ragged-right", TS_RAGGED_RIGHT},
        {"center", TS_CENTER},   {"right", TS_RAGGED_LEFT}, {"ragged-left", TS_RAGGED_LEFT}};
    if (!want_scalar(L, v, k, "an alignment")) return;
    for (size_t i = 0; i < sizeof al / sizeof al[0]; i++)
      if (!strcmp(v->val, al[i].n)) {
        *(ts_align *)at(s, f->off) = al[i].a;
        return;
      }
    err_at(L, v->line, v->col,
           "'%s': '%s' is not justify, left, right, center, ragged-right or ragged-left", k, v->val);
    return;
  }
  case F_ROLE: {
    static const char *const rn[] = {"body", "heading", "mono"};
    if (!want_scalar(L, v, k, "a font role")) return;
    for (int i = 0; i < TS_ROLE_COUNT; i++)
      if (!strcmp(v->val, rn[i])) {
        *(ts_role *)at(s, f->off) = (ts_role)i;
        return;
      }
    err_at(L, v->line, v->col, "'%s': '%s' is not a font role (body, heading, mono)", k, v->val);
    return;
  }
  case F_FAMILIES: {
    ts_font_role *r = at(s, f->off);
    const char *names[TS_STYLE_MAX_FAMILIES];
    size_t n = 0;
    if (v->kind == Y_MAP || (v->kind == Y_SCALAR && (is_null(v) || v->len == 0)) ||
        (v->kind == Y_SEQ && nkids(v) == 0)) {
      err_at(L, v->line, v->col, "'%s' must be a font family name or a list of them", k);
      return;
    }
    size_t cnt = v->kind == Y_SEQ ? nkids(v) : 1;
    if (cnt > TS_STYLE_MAX_FAMILIES) {
      err_at(L, v->line, v->col, "'%s': %zu families, at most %d", k, cnt, TS_STYLE_MAX_FAMILIES);
      return;
    }
    for (size_t i = 0; i < cnt; i++) {
      const ynode *e = v->kind == Y_SEQ ? kid(v, i) : v;
      if (e->kind != Y_SCALAR || e->len == 0 || is_null(e)) {
        err_at(L, e->line, e->col, "'%s': each entry must be a font family name", k);
        return;
      }
      names[n] = keep_str(L, im->arena, e, "font family");
      if (!names[n]) return;
      n++;
    }
    for (size_t i = 0; i < n; i++) r->families[i] = names[i];
    for (size_t i = n; i < TS_STYLE_MAX_FAMILIES; i++) r->families[i] = NULL;
    r->n_families = (int)n;
    return;
  }
  case F_FEATURES:
    if (!want_scalar(L, v, k, "a feature string")) return;
    if (is_null(v) || v->len == 0) {
      *(const char **)at(s, f->off) = NULL;
      return;
    }
    for (size_t i = 0; i < v->len; i++) {
      unsigned char c = (unsigned char)v->val[i];
      if (c < 0x20 || c > 0x7e) {
        err_at(L, v->line, v->col, "'%s': feature strings are ASCII (\"onum,smcp=0\")", k);
        return;
      }
    }
    {
      const char *c = keep_str(L, im->arena, v, k);
      if (c) *(const char **)at(s, f->off) = c;
    }
    return;
  case F_LANG:
    if (!want_scalar(L, v, k, "a language tag")) return;
    if (is_null(v)) {
      *(const char **)at(s, f->off) = NULL;
      return;
    }
    if (!lang_ok(v->val)) {
      err_at(L, v->line, v->col, "'%s': '%s' is not a language tag (like en-GB)", k, v->val);
      return;
    }
    {
      const char *c = keep_str(L, im->arena, v, k);
      if (c) *(const char **)at(s, f->off) = c;
    }
    return;
  case F_EXCEPTIONS: {
    size_t n;
    const char **arr = NULL;
    if (v->kind == Y_SCALAR && is_null(v)) n = 0;
    else if (v->kind != Y_SEQ) {
      err_at(L, v->line, v->col, "'%s' must be a list of words like ta-ble", k);
      return;
    } else n = nkids(v);
    if (n > MAX_EXCEPTIONS) {
      err_at(L, v->line, v->col, "'%s': %zu words, at most %d", k, n, MAX_EXCEPTIONS);
      return;
    }
    if (n) {
      arr = ts_arena_alloc(im->arena, n * sizeof *arr);
      if (!arr) {
        L->nomem = 1;
        return;
      }
    }
    for (size_t i = 0; i < n; i++) {
      const ynode *e = kid(v, i);
      int bad = e->kind != Y_SCALAR || e->len == 0 || e->len > 100;
      for (size_t j = 0; !bad && j < e->len; j++) {
        unsigned char c = (unsigned char)e->val[j];
        if (c <= 0x20 || c == 0x7f || (j == 0 && c == '-') || (j + 1 == e->len && c == '-')) bad = 1;
      }
      if (bad) {
        err_at(L, e->line, e->col, "'%s': each entry must be one word with hyphens at the breaks (ta-ble)", k);
        return;
      }
      arr[i] = keep_str(L, im->arena, e, "word");
      if (!arr[i]) return;
    }
    s->hyphen_exceptions = arr;
    s->n_hyphen_exceptions = n;
    return;
  }
  case F_PAGESIZE:
    if (!want_scalar(L, v, k, "a page size name")) return;
    for (size_t i = 0; i < sizeof page_sizes / sizeof page_sizes[0]; i++)
      if (ci_eq(v->val, page_sizes[i].name)) {
        s->page_name = page_sizes[i].name; /* constant table */
        s->page_w = page_sizes[i].w;
        s->page_h = page_sizes[i].h;
        return;
      }
    err_at(L, v->line, v->col,
           "unknown page size '%s' (A3, A4, A5, A6, B5, Letter, Legal, Royal, Demy, Crown, "
           "6x9in, 5.5x8.5in, or give width and height)", v->val);
    return;
  case F_NOTES:
    if (!want_scalar(L, v, k, "footnotes or endnotes")) return;
    if (!strcmp(v->val, "footnotes")) *(int *)at(s, f->off) = 0;
    else if (!strcmp(v->val, "endnotes")) *(int *)at(s, f->off) = 1;
    else err_at(L, v->line, v->col, "'%s': '%s' is not footnotes or endnotes", k, v->val);
    return;
  case F_ORIENT: {
    int land;
    if (!want_scalar(L, v, k, "portrait or landscape")) return;
    if (!strcmp(v->val, "portrait")) land = 0;
    else if (!strcmp(v->val, "landscape")) land = 1;
    else {
      err_at(L, v->line, v->col, "'%s': '%s' is not portrait or landscape", k, v->val);
      return;
    }
    if ((s->page_w > s->page_h) != land) {
      double t = s->page_w;
      s->page_w = s->page_h;
      s->page_h = t;
    }
    return;
  }
  case F_MAP:
    if (v->kind == Y_SCALAR && is_null(v)) return; /* "quote:" with nothing under it */
    if (v->kind != Y_MAP) {
      err_at(L, v->line, v->col, "'%s' must be a map of settings, not %s", k, kind_name(v));
      return;
    }
    apply_map(L, s, f->sub, v, k, depth + 1);
    return;
  }
}

/* Applies the settings of `map` found in `tab`, in table order; warns about
 * keys the table lacks.  Recursion is bounded by the schema (4 levels). */
// NOLINTNEXTLINE(misc-no-recursion) bounded by the schema (4 levels), see apply_field
static void apply_map(lctx *L, ts_style *s, const field *tab, const ynode *map,
                      const char *ctx_key, unsigned depth) {
  size_t n = nkids(map);
  if (TS_NEVER(depth > 8)) return;
  /* keys must be scalars */
  for (size_t i = 0; i + 1 < n; i += 2) {
    const ynode *key = kid(map, i);
    if (key->kind != Y_SCALAR) {
      err_at(L, key->line, key->col, "keys must be plain names, not %s", kind_name(key));
      continue;
    }
    const field *f = tab; /* the first letters before the names: most differ there */
    while (f->key && (f->key[0] != key->val[0] || strcmp(f->key, key->val))) f++;
    if (!f->key && !(depth == 0 && !strcmp(key->val, "base"))) {
      if (L->unknown < MAX_UNKNOWN_WARN) {
        if (ctx_key)
          warn_at(L, key->line, key->col, "unknown key '%s' in '%s' (ignored)", key->val, ctx_key);
        else
          warn_at(L, key->line, key->col, "unknown key '%s' (ignored)", key->val);
      } else if (L->unknown == MAX_UNKNOWN_WARN) {
        warn_at(L, key->line, key->col, "more unknown keys: not reported");
      }
      L->unknown++;
    }
  }
  for (const field *f = tab; f->key; f++) {
    const ynode *val = NULL;
    for (size_t i = 0; i + 1 < n; i += 2) {
      const ynode *key = kid(map, i);
      if (key->kind != Y_SCALAR || strcmp(key->val, f->key)) continue;
      if (val) {
        err_at(L, key->line, key->col, "duplicate key '%s'", f->key);
        break;
      }
      val = kid(map, i + 1);
    }
    if (!val) continue;
    if (f->t == F_PAGESIZE || f->t == F_ORIENT || f->off == OFF(page_w) || f->off == OFF(page_h) ||
        f->sub == margins_f) {
      L->page_line = val->line;
      L->page_col = val->col;
    }
    if ((f->off == OFF(page_w) || f->off == OFF(page_h)) && f->t == F_LEN) {
      unsigned before = L->errors;
      apply_field(L, s, f, val, depth);
      if (L->errors == before) s->page_name = NULL;
      continue;
    }
    apply_field(L, s, f, val, depth);
  }
}

/* Checks of the style as a whole, after each file.  Line: where the file last
 * set geometry (or 0). */
static void check_style(lctx *L, const ts_style *s) {
  double tw = s->page_w - s->margin_inner - s->margin_outer;
  double th = s->page_h - s->margin_top - s->margin_bottom;
  if (tw < 72 || th < 72) {
    err_at(L, L->page_line, L->page_col,
           "the margins leave no room for text (text block %.0f x %.0f pt, need at least 72 x 72)",
           tw, th);
    return;
  }
  if (s->columns > 1 && (tw - s->column_gap * (s->columns - 1)) / s->columns < 36)
    err_at(L, L->page_line, L->page_col, "columns narrower than 36pt");
}

/* ---- loading ------------------------------------------------------------------- */

/* One file of a base chain. */
typedef struct chain_item {
  char *text;       /* owned (NULL when borrowed) */
  const char *src;  /* the YAML text */
  size_t len;
  char *file;       /* owned: name for messages */
  char *real;       /* owned: realpath for cycle checks (NULL for strings) */
  char *dir;        /* owned: folder for relative bases */
} chain_item;

static void chain_free(chain_item *c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(c[i].text);
    free(c[i].file);
    free(c[i].real);
    free(c[i].dir);
  }
}

int ts_style_is_path(const char *s) {
  size_t n = strlen(s);
  return strchr(s, '/') != NULL || (n > 5 && !strcmp(s + n - 5, ".yaml")) ||
         (n > 4 && !strcmp(s + n - 4, ".yml"));
}

static int name_ok(const char *s) {
  if (!*s || strlen(s) > 64) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '-' || *s == '_' || *s == '.'))
      return 0;
  return 1;
}

static char *str_printf2(const char *a, const char *b, const char *c) {
  size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
  char *r = malloc(n);
  if (r) (void)snprintf(r, n, "%s%s%s", a, b, c); /* n counts every byte */
  return r;
}

/* Style name from a file name: "styles/paper.yaml" -> "paper". */
static const char *name_from_path(ts_arena *a, const char *path) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  size_t n = strlen(b);
  if (n > 5 && !strcmp(b + n - 5, ".yaml")) n -= 5;
  else if (n > 4 && !strcmp(b + n - 4, ".yml")) n -= 4;
  return ts_arena_strndup(a, b, n);
}

/* Reads file `path` into item c.  Reports on failure (at the referring
 * location `line`,`col` of `from` when given). */
static ts_status read_item(ts_diag *d, const char *path, const char *from, unsigned line,
                           unsigned col, chain_item *c) {
  size_t len = 0;
  memset(c, 0, sizeof *c);
  c->text = ts_file_read(path, &len, MAX_FILE);
  if (!c->text) {
    int e = errno;
    if (from)
      ts_diag_report(d, TS_ERROR, from, line, col, "cannot read style '%s': %s", path,
                     e == EFBIG ? "file too large" : strerror(e));
    else
      ts_diag_report(d, TS_ERROR, path, 0, 0, "cannot read style: %s",
                     e == EFBIG ? "file too large" : strerror(e));
    return e == ENOMEM ? TS_ERR_NOMEM : TS_ERR_IO;
  }
  c->src = c->text;
  c->len = len;
  c->file = strdup(path);
  c->real = realpath(path, NULL);
  c->dir = ts_path_dirname(path);
  if (!c->file || !c->dir) return TS_ERR_NOMEM;
  return TS_OK;
}

/* Finds the scalar value of the top-level key `base` (NULL if none). */
static const ynode *find_base(lctx *L, const ynode *root) {
  const ynode *r = NULL;
  if (!root || root->kind != Y_MAP) return NULL;
  for (size_t i = 0; i + 1 < nkids(root); i += 2) {
    const ynode *k = kid(root, i);
    if (k->kind == Y_SCALAR && !strcmp(k->val, "base")) {
      if (r) {
        err_at(L, k->line, k->col, "duplicate key 'base'");
        return NULL;
      }
      r = kid(root, i + 1);
    }
  }
  if (r && (r->kind != Y_SCALAR || r->len == 0 || is_null(r))) {
    err_at(L, r->line, r->col, "'base' must be the name of a style");
    return NULL;
  }
  return r;
}

/* Applies the YAML text of `c` onto s.  `root` is its parsed tree. */
static void apply_root(lctx *L, ts_style *s, const ynode *root) {
  if (!root) return; /* empty file: nothing to change */
  if (root->kind != Y_MAP) {
    if (root->kind == Y_SCALAR && is_null(root)) return;
    err_at(L, root->line, root->col, "a style file must be a map of settings");
    return;
  }
  ts_vec_init(&L->held, sizeof(held_msg));
  L->hold = 1;
  apply_map(L, s, top_f, root, NULL, 0);
  check_style(L, s);
  flush_held(L);
}

/* The body size after applying `root` to a style whose body size is `em`
 * (invalid values are left for apply_root to report). */
static double body_size_of(const ynode *root, double em) {
  if (!root || root->kind != Y_MAP) return em;
  for (size_t i = 0; i + 1 < nkids(root); i += 2) {
    const ynode *k = kid(root, i), *body = kid(root, i + 1);
    if (k->kind != Y_SCALAR || strcmp(k->val, "body") || body->kind != Y_MAP) continue;
    for (size_t j = 0; j + 1 < nkids(body); j += 2) {
      const ynode *k2 = kid(body, j), *v = kid(body, j + 1);
      double x;
      if (k2->kind == Y_SCALAR && !strcmp(k2->val, "size") && v->kind == Y_SCALAR &&
          !ts_style_parse_length(v->val, em, &x) && x >= 1 && x <= 1000)
        return x; /* the first one: a duplicate is an error anyway */
    }
    return em;
  }
  return em;
}

/* The built-in default style's tree, parsed once per process and then only
 * read (every style is applied over it; a series of 50 papers parsed it 50
 * times, 2.3 M instructions each).  A failed parse (no memory) is not
 * remembered: the next load tries again. */
static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static ts_arena *default_arena; /* owned here, freed at exit */
static ynode *default_root;     /* in default_arena; read-only once set */

/* At exit (every thread that read the tree is done by then), so that
 * memory checkers see nothing left. */
__attribute__((destructor)) static void default_tree_free(void) {
  ts_arena_destroy(default_arena);
  default_arena = NULL;
  default_root = NULL;
}

/* The built-in default tree kept between runs.  libyaml parses the 9 KB of
 * the built-in style at ~225 instructions a byte: 2 M, an eighth of a fresh
 * 2-page EPUB's work, in every process.  The tree is kept in the cache
 * folder (ts_dcache "styletree": the key holds the build, which fixes the
 * text, and the text's hash) in preorder — per node its kind and quoting,
 * line and column, then the scalar's bytes or the number of kids — and read
 * back into the arena with every count checked against what is left. */
/* recursion: one call a level of a tree parse_tree built (TS_YAML_MAX_DEPTH at most) */
// NOLINTNEXTLINE(misc-no-recursion) bounded by TS_YAML_MAX_DEPTH, see above
static void tree_write(ts_buf *b, const ynode *n) {
  ts_buf_put_u32(b, (uint32_t)n->kind | (n->plain ? 0x100u : 0));
  ts_buf_put_u32(b, n->line);
  ts_buf_put_u32(b, n->col);
  if (n->kind == Y_SCALAR) {
    ts_buf_put_u64(b, n->len);
    ts_buf_append(b, n->val, n->len);
  } else {
    ts_buf_put_u32(b, (uint32_t)nkids(n));
    for (size_t i = 0; i < nkids(n); i++) tree_write(b, kid(n, i));
  }
}

typedef struct tree_in {
  const char *p;
  size_t left;
  size_t nodes;
} tree_in;

static int tree_take(tree_in *r, void *out, size_t n) {
  if (r->left < n) return 0;
  memcpy(out, r->p, n);
  r->p += n;
  r->left -= n;
  return 1;
}

/* NULL on a damaged value (or no memory: then *nomem).  Recursion: one
 * call a level, refused past TS_YAML_MAX_DEPTH. */
// NOLINTNEXTLINE(misc-no-recursion) bounded by TS_YAML_MAX_DEPTH, checked first
static ynode *tree_read(lctx *L, tree_in *r, unsigned depth, int *nomem) {
  uint32_t kp, line, col;
  if (depth > TS_YAML_MAX_DEPTH || ++r->nodes > MAX_NODES || !tree_take(r, &kp, 4) ||
      !tree_take(r, &line, 4) || !tree_take(r, &col, 4) || (kp & ~0x1FFu) ||
      (kp & 0xFFu) > Y_MAP)
    return NULL;
  ynode *n = ts_arena_alloc(L->tmp, sizeof *n);
  if (!n) {
    *nomem = 1;
    return NULL;
  }
  memset(n, 0, sizeof *n);
  n->kind = (ykind)(kp & 0xFFu);
  n->plain = (kp & 0x100u) != 0;
  n->line = line;
  n->col = col;
  ts_vec_init(&n->kids, sizeof(ynode *));
  if (n->kind == Y_SCALAR) {
    uint64_t len;
    if (!tree_take(r, &len, 8) || len > r->left) return NULL;
    n->len = (size_t)len;
    n->val = ts_arena_strndup(L->tmp, r->p, n->len);
    if (!n->val) {
      *nomem = 1;
      return NULL;
    }
    r->p += n->len;
    r->left -= n->len;
    return n;
  }
  uint32_t nk;
  if (!tree_take(r, &nk, 4) || nk > r->left / 12) return NULL; /* a node is 12 bytes at least */
  for (uint32_t i = 0; i < nk; i++) {
    ynode *k = tree_read(L, r, depth + 1, nomem);
    if (!k) return NULL;
    if (node_add(L, n, k)) {
      *nomem = 1;
      return NULL;
    }
  }
  return n;
}

static void default_tree_key(ts_buf *k) {
  ts_buf_printf(k, "styletree 1 %zu %016llx", (size_t)ts_style_default_yaml_len,
                (unsigned long long)ts_hash64(ts_style_default_yaml, ts_style_default_yaml_len, 1));
}

static ts_status default_tree(ts_diag *d, ynode **root) {
  ts_status st = TS_OK;
  pthread_mutex_lock(&default_lock);
  if (!default_root) {
    lctx L;
    memset(&L, 0, sizeof L);
    L.d = d;
    L.file = "<built-in default style>";
    L.tmp = ts_arena_create(0);
    ynode *r = NULL;
    ts_buf key;
    ts_buf_init(&key);
    int cache = L.tmp && ts_dcache_enabled();
    if (cache) {
      default_tree_key(&key);
      size_t n = 0;
      char *v = key.oom ? NULL : ts_dcache_get("styletree", &key, &n);
      if (v) {
        tree_in in = {v, n, 0};
        int nomem = 0;
        r = tree_read(&L, &in, 0, &nomem);
        if (in.left) r = NULL; /* the whole value is the tree */
        free(v);
        if (nomem) st = TS_ERR_NOMEM;
      }
    }
    if (!r && st == TS_OK) {
      st = L.tmp ? parse_tree(&L, ts_style_default_yaml, ts_style_default_yaml_len, &r)
                 : TS_ERR_NOMEM;
      if (st == TS_OK && r && cache && !key.oom) {
        ts_buf b;
        ts_buf_init(&b);
        tree_write(&b, r);
        if (!b.oom) ts_dcache_put("styletree", &key, b.data, b.len);
        ts_buf_free(&b);
      }
    }
    ts_buf_free(&key);
    if (st == TS_OK && TS_NEVER(!r)) st = TS_ERR_INTERNAL; /* the file is not empty */
    if (st == TS_OK) {
      default_arena = L.tmp;
      default_root = r;
    } else {
      ts_arena_destroy(L.tmp);
    }
  }
  *root = default_root;
  pthread_mutex_unlock(&default_lock);
  return st;
}

/* The loader.  `first` is the file asked for (already read).  Follows base:
 * iteratively, then applies built-in default + chain, deepest base first.
 * `onto` (tests): the starting style instead of the built-in default. */
static ts_status load_chain(ts_ctx *ctx, chain_item *first, ts_diag *d, int builtin,
                            const ts_style *onto, ts_style **out) {
  ts_status st = TS_OK;
  chain_item chain[MAX_BASE_CHAIN + 1];
  ynode *roots[MAX_BASE_CHAIN + 1];
  size_t n = 1;
  style_impl *im = NULL;
  lctx L;
  memset(&L, 0, sizeof L);
  L.ctx = ctx;
  L.d = d;
  *out = NULL;
  chain[0] = *first;
  memset(first, 0, sizeof *first); /* taken */
  L.tmp = ts_arena_create(0);
  if (!L.tmp) {
    st = TS_ERR_NOMEM;
    goto done;
  }

  for (size_t i = 0;; i++) {
    L.file = chain[i].file;
    if (chain[i].src == ts_style_default_yaml) TS_CHECK(default_tree(d, &roots[i]));
    else TS_CHECK(parse_tree(&L, chain[i].src, chain[i].len, &roots[i]));
    unsigned e0 = L.errors;
    const ynode *b = find_base(&L, roots[i]);
    if (L.errors != e0) {
      st = TS_ERR_INPUT;
      goto done;
    }
    if (!b || !strcmp(b->val, "default")) break;
    if (n > MAX_BASE_CHAIN) {
      err_at(&L, b->line, b->col, "'base' chain longer than %d styles", MAX_BASE_CHAIN);
      st = TS_ERR_INPUT;
      goto done;
    }
    char *path = NULL;
    if (ts_style_is_path(b->val)) {
      const char *why = NULL;
      path = ts_path_resolve_inside(chain[i].dir, b->val, NULL, 0, &why);
      if (!path && why == ts_why_nomem) {
        st = TS_ERR_NOMEM;
        goto done;
      }
      if (!path) {
        err_at(&L, b->line, b->col, "base style '%s': %s", b->val, why ? why : "refused");
        st = TS_ERR_INPUT;
        goto done;
      }
    } else {
      if (!name_ok(b->val)) {
        err_at(&L, b->line, b->col, "'%s' is not a style name", b->val);
        st = TS_ERR_INPUT;
        goto done;
      }
      if (!ctx) {
        err_at(&L, b->line, b->col, "base style '%s': no data folder to look in", b->val);
        st = TS_ERR_INPUT;
        goto done;
      }
      char *tail = str_printf2("/styles/", b->val, ".yaml");
      path = tail ? str_printf2(ts_ctx_data_dir(ctx), tail, "") : NULL;
      free(tail);
      if (!path) {
        st = TS_ERR_NOMEM;
        goto done;
      }
    }
    st = read_item(d, path, chain[i].file, b->line, b->col, &chain[n]);
    free(path);
    n++; /* chain[n-1] is owned now, even if partly filled */
    if (st == TS_ERR_IO) {
      L.errors++;
      st = TS_ERR_INPUT;
    }
    if (st != TS_OK) goto done;
    for (size_t j = 0; j + 1 < n; j++)
      if (chain[n - 1].real && chain[j].real && !strcmp(chain[n - 1].real, chain[j].real)) {
        err_at(&L, b->line, b->col, "'base: %s' makes a cycle (%s is already in the chain)",
               b->val, chain[j].file);
        st = TS_ERR_INPUT;
        goto done;
      }
  }

  im = impl_create();
  if (!im) {
    st = TS_ERR_NOMEM;
    goto done;
  }
  if (onto) {
    /* tests: start from a given style (its strings are borrowed: copy them) */
    im->s = *onto;
    ts_style *s = &im->s;
    s->name = ts_arena_strdup(im->arena, onto->name);
    s->path = ts_arena_strdup(im->arena, onto->path);
    s->dir = ts_arena_strdup(im->arena, onto->dir);
    s->page_name = ts_arena_strdup(im->arena, onto->page_name);
    for (int r = 0; r < TS_ROLE_COUNT; r++) {
      for (int j = 0; j < TS_STYLE_MAX_FAMILIES; j++)
        s->fonts[r].families[j] = ts_arena_strdup(im->arena, onto->fonts[r].families[j]);
      s->fonts[r].features = ts_arena_strdup(im->arena, onto->fonts[r].features);
    }
    s->hyphen_lang = ts_arena_strdup(im->arena, onto->hyphen_lang);
    s->hyphen_exceptions = NULL;
    s->n_hyphen_exceptions = 0;
    if (onto->n_hyphen_exceptions) {
      const char **arr = ts_arena_alloc(im->arena, onto->n_hyphen_exceptions * sizeof *arr);
      if (!arr) {
        st = TS_ERR_NOMEM;
        goto done;
      }
      for (size_t j = 0; j < onto->n_hyphen_exceptions; j++)
        arr[j] = ts_arena_strdup(im->arena, onto->hyphen_exceptions[j]);
      s->hyphen_exceptions = arr;
      s->n_hyphen_exceptions = onto->n_hyphen_exceptions;
    }
    s->header_recto = ts_arena_strdup(im->arena, onto->header_recto);
    s->header_verso = ts_arena_strdup(im->arena, onto->header_verso);
    s->footer_recto = ts_arena_strdup(im->arena, onto->footer_recto);
    s->footer_verso = ts_arena_strdup(im->arena, onto->footer_verso);
    s->masthead = ts_arena_strdup(im->arena, onto->masthead);
  } else {
    /* The skeleton under the built-in default: it sets every field itself
     * (a test checks this by starting from a poisoned style). */
    im->s.body.size = 10;
    im->s.page_w = 595.276;
    im->s.page_h = 841.89;
    im->s.columns = 1;
  }
  ynode *droot = NULL;
  if (builtin) {
    L.file = "<built-in default style>";
    TS_CHECK(default_tree(d, &droot));
  }
  /* `em` everywhere means the body size the style ends with, so a style that
   * only changes body.size moves every em-length of its bases along. */
  L.em = im->s.body.size;
  if (droot) L.em = body_size_of(droot, L.em);
  for (size_t i = n; i-- > 0;) L.em = body_size_of(roots[i], L.em);
  if (droot) {
    L.file = "<built-in default style>";
    apply_root(&L, &im->s, droot);
  }
  for (size_t i = n; i-- > 0;) {
    L.file = chain[i].file;
    L.unknown = 0;
    L.page_line = L.page_col = 0;
    apply_root(&L, &im->s, roots[i]);
  }
  if (L.nomem) {
    st = TS_ERR_NOMEM;
    goto done;
  }
  if (L.errors) {
    st = TS_ERR_INPUT;
    goto done;
  }
  if (chain[0].real || strcmp(chain[0].file, "<built-in default style>")) {
    im->s.name = name_from_path(im->arena, chain[0].file);
    im->s.path = chain[0].real ? ts_arena_strdup(im->arena, chain[0].file) : NULL;
    im->s.dir = chain[0].real ? ts_arena_strdup(im->arena, chain[0].dir) : NULL;
  } else {
    im->s.name = "default";
    im->s.path = NULL;
    im->s.dir = NULL;
  }
  if (!im->s.name) {
    st = TS_ERR_NOMEM;
    goto done;
  }
  *out = &im->s;
  im = NULL;
done:
  if (st == TS_ERR_INPUT && L.errors == 0)
    ts_diag_report(d, TS_ERROR, L.file ? L.file : "<style>", 0, 0, "invalid style");
  if (im) ts_style_destroy(&im->s);
  chain_free(chain, n);
  ts_arena_destroy(L.tmp);
  return st;
}

static ts_status load_from_string(ts_ctx *ctx, const char *yaml, size_t len, const char *file,
                                  ts_diag *d, int builtin, const ts_style *onto, ts_style **out) {
  chain_item c;
  memset(&c, 0, sizeof c);
  if (!out) return TS_ERR_USAGE;
  *out = NULL;
  if (!yaml) return TS_ERR_USAGE;
  c.src = yaml;
  c.len = len;
  c.file = strdup(file ? file : "<string>");
  c.dir = ts_path_dirname(file ? file : ".");
  if (!c.file || !c.dir) {
    chain_free(&c, 1);
    return TS_ERR_NOMEM;
  }
  ts_status st = load_chain(ctx, &c, d, builtin, onto, out);
  chain_free(&c, 1);
  return st;
}

ts_style *ts_style_default(void) {
  ts_style *s = NULL;
  ts_diag d;
  ts_diag_init(&d, stderr);
  if (load_from_string(NULL, ts_style_default_yaml, ts_style_default_yaml_len,
                       "<built-in default style>", &d, 0, NULL, &s) != TS_OK)
    return NULL;
  return s;
}

ts_status ts_style_load_string(ts_ctx *ctx, const char *yaml, size_t len, const char *file,
                               ts_diag *d, ts_style **out) {
  return load_from_string(ctx, yaml, len, file, d, 1, NULL, out);
}

ts_status ts_style_load_string_onto(ts_ctx *ctx, const ts_style *onto, const char *yaml,
                                 size_t len, const char *file, ts_diag *d, ts_style **out) {
  return load_from_string(ctx, yaml, len, file, d, 0, onto, out);
}

ts_status ts_style_load(ts_ctx *ctx, const char *name_or_path, ts_diag *d, ts_style **out) {
  chain_item c;
  char *path = NULL;
  ts_status st;
  if (!out || !name_or_path) return TS_ERR_USAGE;
  *out = NULL;
  if (ts_style_is_path(name_or_path)) {
    path = strdup(name_or_path);
  } else {
    if (!name_ok(name_or_path)) {
      ts_diag_report(d, TS_ERROR, name_or_path, 0, 0,
                     "not a style name (letters, digits, '-', '_') nor a path");
      return TS_ERR_INPUT;
    }
    if (!strcmp(name_or_path, "default")) {
      /* the built-in default is styles/default.yaml (embedded at build time),
       * so it needs no data folder */
      *out = ts_style_default();
      return *out ? TS_OK : TS_ERR_NOMEM;
    }
    char *tail = str_printf2("/styles/", name_or_path, ".yaml");
    path = tail && ctx ? str_printf2(ts_ctx_data_dir(ctx), tail, "") : NULL;
    free(tail);
    if (!ctx) return TS_ERR_USAGE;
  }
  if (!path) return TS_ERR_NOMEM;
  st = read_item(d, path, NULL, 0, 0, &c);
  free(path);
  if (st != TS_OK) {
    chain_free(&c, 1);
    return st == TS_ERR_IO ? TS_ERR_IO : st;
  }
  st = load_chain(ctx, &c, d, 1, NULL, out);
  chain_free(&c, 1);
  return st;
}

/* ---- dump -------------------------------------------------------------------- */

static void put_str(ts_buf *b, const char *k, const char *v) {
  ts_buf_puts(b, k);
  ts_buf_puts(b, " = ");
  if (v) ts_buf_json_str(b, v, strlen(v));
  else ts_buf_puts(b, "null");
  ts_buf_putc(b, '\n');
}

static void put_num(ts_buf *b, const char *k, double v) {
  ts_buf_puts(b, k);
  ts_buf_puts(b, " = ");
  ts_buf_num(b, v, 3);
  ts_buf_putc(b, '\n');
}

static void put_int(ts_buf *b, const char *k, long v) { ts_buf_printf(b, "%s = %ld\n", k, v); }

static void put_bool(ts_buf *b, const char *k, int v) {
  ts_buf_printf(b, "%s = %s\n", k, v ? "true" : "false");
}

static void put_color(ts_buf *b, const char *k, uint32_t c) {
  ts_buf_printf(b, "%s = #%06x\n", k, (unsigned)(c & 0xffffff));
}

static void put_block(ts_buf *b, const char *p, const ts_block_style *x) {
  static const char *const roles[] = {"body", "heading", "mono"};
  static const char *const aligns[] = {"justify", "ragged-right", "center", "ragged-left"};
  ts_buf_printf(b, "%s.font = %s\n", p, (unsigned)x->role < TS_ROLE_COUNT ? roles[x->role] : "?");
  ts_buf_printf(b, "%s.bold = %s\n", p, x->bold ? "true" : "false");
  ts_buf_printf(b, "%s.italic = %s\n", p, x->italic ? "true" : "false");
  ts_buf_printf(b, "%s.small-caps = %s\n", p, x->smallcaps ? "true" : "false");
  ts_buf_printf(b, "%s.uppercase = %s\n", p, x->uppercase ? "true" : "false");
  ts_buf_printf(b, "%s.size = ", p);
  ts_buf_num(b, x->size, 3);
  ts_buf_printf(b, "\n%s.leading = ", p);
  ts_buf_num(b, x->leading, 3);
  ts_buf_printf(b, "\n%s.space-before = ", p);
  ts_buf_num(b, x->space_before, 3);
  ts_buf_printf(b, "\n%s.space-after = ", p);
  ts_buf_num(b, x->space_after, 3);
  ts_buf_printf(b, "\n%s.indent = ", p);
  ts_buf_num(b, x->indent, 3);
  ts_buf_printf(b, "\n%s.align = %s\n", p, (unsigned)x->align < 4 ? aligns[x->align] : "?");
  ts_buf_printf(b, "%s.color = #%06x\n", p, (unsigned)(x->color & 0xffffff));
}

void ts_style_dump(const ts_style *s, ts_buf *b) {
  static const char *const rn[] = {"body", "heading", "mono"};
  char k[64];
  if (!s || !b) return;
  put_str(b, "name", s->name);
  put_str(b, "path", s->path);
  put_str(b, "dir", s->dir);
  put_str(b, "page.size", s->page_name);
  put_num(b, "page.width", s->page_w);
  put_num(b, "page.height", s->page_h);
  put_num(b, "page.margins.inner", s->margin_inner);
  put_num(b, "page.margins.outer", s->margin_outer);
  put_num(b, "page.margins.top", s->margin_top);
  put_num(b, "page.margins.bottom", s->margin_bottom);
  put_bool(b, "page.mirror", s->mirror);
  put_int(b, "page.columns", s->columns);
  put_num(b, "page.column-gap", s->column_gap);
  put_bool(b, "page.baseline-grid", s->baseline_grid);
  for (int r = 0; r < TS_ROLE_COUNT; r++) {
    (void)snprintf(k, sizeof k, "fonts.%s.families", rn[r]); /* role names are short */
    ts_buf_printf(b, "%s = [", k);
    for (int i = 0; i < s->fonts[r].n_families && i < TS_STYLE_MAX_FAMILIES; i++) {
      if (i) ts_buf_puts(b, ", ");
      const char *f = s->fonts[r].families[i] ? s->fonts[r].families[i] : "";
      ts_buf_json_str(b, f, strlen(f));
    }
    ts_buf_puts(b, "]\n");
    (void)snprintf(k, sizeof k, "fonts.%s.features", rn[r]);
    put_str(b, k, s->fonts[r].features);
  }
  put_block(b, "body", &s->body);
  put_num(b, "body.paragraph-skip", s->par_skip);
  put_block(b, "quote", &s->quote);
  put_block(b, "code", &s->code);
  put_block(b, "list", &s->list);
  put_block(b, "table", &s->table);
  put_block(b, "caption", &s->caption);
  for (int i = 0; i < 6; i++) {
    (void)snprintf(k, sizeof k, "headings.h%d", i + 1);
    put_block(b, k, &s->h[i].b);
    ts_buf_printf(b, "%s.numbered = %s\n", k, s->h[i].numbered ? "true" : "false");
    ts_buf_printf(b, "%s.keep-with-next = %d\n", k, s->h[i].keep_with_next);
    ts_buf_printf(b, "%s.page-break-before = %s\n", k, s->h[i].page_break_before ? "true" : "false");
  }
  put_bool(b, "hyphenation.enabled", s->hyphenate);
  put_str(b, "hyphenation.lang", s->hyphen_lang);
  ts_buf_puts(b, "hyphenation.exceptions = [");
  for (size_t i = 0; i < s->n_hyphen_exceptions; i++) {
    if (i) ts_buf_puts(b, ", ");
    const char *w = s->hyphen_exceptions[i] ? s->hyphen_exceptions[i] : "";
    ts_buf_json_str(b, w, strlen(w));
  }
  ts_buf_puts(b, "]\n");
  put_int(b, "hyphenation.left-min", s->brk.lefthyphenmin);
  put_int(b, "hyphenation.right-min", s->brk.righthyphenmin);
  put_int(b, "hyphenation.max-lines", s->brk.max_hyphen_lines);
  put_num(b, "linebreak.pretolerance", s->brk.pretolerance);
  put_num(b, "linebreak.tolerance", s->brk.tolerance);
  put_num(b, "linebreak.emergencystretch", s->brk.emergencystretch);
  put_num(b, "linebreak.linepenalty", s->brk.linepenalty);
  put_num(b, "linebreak.hyphenpenalty", s->brk.hyphenpenalty);
  put_num(b, "linebreak.exhyphenpenalty", s->brk.exhyphenpenalty);
  put_num(b, "linebreak.adjdemerits", s->brk.adjdemerits);
  put_num(b, "linebreak.doublehyphendemerits", s->brk.doublehyphendemerits);
  put_num(b, "linebreak.finalhyphendemerits", s->brk.finalhyphendemerits);
  put_int(b, "linebreak.looseness", s->brk.looseness);
  put_num(b, "linebreak.clubpenalty", s->brk.clubpenalty);
  put_num(b, "linebreak.widowpenalty", s->brk.widowpenalty);
  put_num(b, "linebreak.brokenpenalty", s->brk.brokenpenalty);
  put_num(b, "linebreak.expansion", s->brk.expansion);
  put_int(b, "widows", s->widows);
  put_int(b, "orphans", s->orphans);
  put_str(b, "running.header-recto", s->header_recto);
  put_str(b, "running.header-verso", s->header_verso);
  put_str(b, "running.footer-recto", s->footer_recto);
  put_str(b, "running.footer-verso", s->footer_verso);
  put_bool(b, "running.first-page", s->running_on_first);
  put_num(b, "running.rule", s->header_rule);
  put_block(b, "running.header", &s->header);
  put_block(b, "running.footer", &s->footer);
  put_bool(b, "title-block.enabled", s->title_block);
  put_str(b, "title-block.masthead", s->masthead);
  put_color(b, "title-block.accent", s->accent);
  put_bool(b, "title-block.epub-cover", s->epub_cover);
  put_block(b, "title-block.masthead-style", &s->masthead_style);
  put_block(b, "title-block.title", &s->title);
  put_block(b, "title-block.subtitle", &s->subtitle);
  put_block(b, "title-block.author", &s->author);
  put_block(b, "title-block.affiliation", &s->affiliation);
  put_block(b, "title-block.abstract", &s->abstract);
  put_block(b, "title-block.keywords", &s->keywords);
  put_bool(b, "toc", s->toc);
  put_block(b, "footnotes", &s->footnote);
  put_num(b, "footnotes.rule-width", s->footnote_rule_width);
  put_num(b, "footnotes.rule-weight", s->footnote_rule_weight);
  put_num(b, "footnotes.skip", s->footnote_skip);
  ts_buf_printf(b, "footnotes.epub = %s\n", s->epub_endnotes ? "endnotes" : "footnotes");
  put_color(b, "colors.text", s->text_color);
  put_color(b, "colors.link", s->link_color);
  put_color(b, "colors.rule", s->rule_color);
  put_bool(b, "epub.page-list", s->epub_page_list);
}
