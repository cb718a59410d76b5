/* epub.c — the EPUB writer: analysis of the document (chapter split at
 * level-1 headings, heading ids, images), the XHTML content documents
 * (cover, title page, chapters with their footnotes) and the ZIP container.
 * package.c writes package.opf, nav.xhtml, toc.ncx and style.css; fonts.c
 * subsets the style's faces.
 *
 * Every walk over the model is iterative (ts_iter), so 2,000 nested block
 * quotes cannot overflow the stack.  Every string from the input goes
 * through ts_buf_xml; hrefs are limited to http, https, mailto and
 * fragments that exist (epubcheck RSC-012 is the most common real error). */
#include "epub_int.h"
#include "../page/ts_page.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <unicode/uchar.h>
#include <libdeflate.h>

/* ---- small map --------------------------------------------------------- */

static uint64_t key_hash(const emap *m, const void *k) {
  if (m->strkeys) return ts_hash64(k, strlen(k), 0);
  return ts_hash64(&k, sizeof k, 0);
}

static int key_eq(const emap *m, const void *a, const void *b) {
  return m->strkeys ? strcmp(a, b) == 0 : a == b;
}

int emap_get(const emap *m, const void *key, int *val) {
  if (!m->cap) return 0;
  size_t i = (size_t)key_hash(m, key) & (m->cap - 1);
  while (m->keys[i]) {
    if (key_eq(m, m->keys[i], key)) {
      if (val) *val = m->vals[i];
      return 1;
    }
    i = (i + 1) & (m->cap - 1);
  }
  return 0;
}

/* Puts a key known to be absent into a map with room for it (no growth). */
static void emap_insert_new(emap *m, const void *key, int val) {
  size_t i = (size_t)key_hash(m, key) & (m->cap - 1);
  while (m->keys[i]) i = (i + 1) & (m->cap - 1);
  m->keys[i] = key;
  m->vals[i] = val;
  m->n++;
}

ts_status emap_put(ts_arena *a, emap *m, const void *key, int val) {
  if ((m->n + 1) * 2 > m->cap) { /* grow; the old arrays stay in the arena */
    size_t ncap = m->cap ? m->cap * 2 : 64;
    const void **nk = ts_arena_alloc(a, ncap * sizeof *nk);
    int *nv = ts_arena_alloc(a, ncap * sizeof *nv);
    if (!nk || !nv) return TS_ERR_NOMEM;
    emap old = *m;
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    m->n = 0;
    /* the old keys are distinct and ncap leaves room: re-insert directly */
    for (size_t i = 0; i < old.cap; i++)
      if (old.keys[i]) emap_insert_new(m, old.keys[i], old.vals[i]);
  }
  size_t i = (size_t)key_hash(m, key) & (m->cap - 1);
  while (m->keys[i]) {
    if (key_eq(m, m->keys[i], key)) {
      m->vals[i] = val;
      return TS_OK;
    }
    i = (i + 1) & (m->cap - 1);
  }
  m->keys[i] = key;
  m->vals[i] = val;
  m->n++;
  return TS_OK;
}

/* ---- text ---------------------------------------------------------------- */

void epub_text(epub *E, ts_buf *b, const char *s, size_t n) {
  if (!s) return;
  ts_buf_xml(b, s, n);
  size_t i = 0;
  while (i < n) {
    if ((unsigned char)s[i] < 0x7F) { /* U+0020–U+007E are in E->cps from the start */
      i++;
      continue;
    }
    uint32_t cp;
    size_t k = ts_utf8_decode(s + i, n - i, &cp);
    if (k == 0) k = 1;
    if (cp >= 0x20) (void)ts_cpset_add(&E->cps, cp); /* a loss: E->cps.oom */
    i += k;
  }
}

/* An address shown as text ("https://example.org/a/b"): one long word that
 * would leave a justified line before it gaping.  Break opportunities
 * (<wbr/>) go where the PDF allows them (text/para.c): after / . ? & = # _ :
 * when a letter or digit follows. */
static void epub_text_url(epub *E, ts_buf *b, const char *s, size_t n) {
  size_t from = 0;
  for (size_t i = 1; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum && s[i - 1] && strchr("/.?&=#_:", s[i - 1])) {
      epub_text(E, b, s + from, i - from);
      ts_buf_puts(b, "<wbr/>");
      from = i;
    }
  }
  epub_text(E, b, s + from, n - from);
}

/* 1 when a link's whole text is an address (an autolink, or text written
 * as one): it is set without hyphens and may break after separators. */
static int url_text(const ts_node *link) {
  const ts_node *t = link->first;
  if (!t || t != link->last || t->type != TS_NODE_TEXT || !t->len) return 0;
  if (memchr(t->text, ' ', t->len)) return 0;
  static const char *const starts[] = {"http://", "https://", "ftp://", "www.", "mailto:"};
  for (size_t i = 0; i < sizeof starts / sizeof *starts; i++) {
    size_t k = strlen(starts[i]);
    if (t->len > k && !strncasecmp(t->text, starts[i], k)) return 1;
  }
  return 0;
}

static void text_z(epub *E, ts_buf *b, const char *s) {
  if (s) epub_text(E, b, s, strlen(s));
}

/* Labels the EPUB writes itself, by language (the first subtag). */
static const struct {
  const char *lang, *key, *text;
} labels[] = {
    {"en", "contents", "Contents"},   {"en", "notes", "Notes"},
    {"en", "abstract", "Abstract"},   {"en", "keywords", "Keywords"},
    {"en", "cover", "Cover"},         {"en", "titlepage", "Title page"},
    {"en", "landmarks", "Guide"},     {"en", "start", "Start"},
    {"en", "pages", "Pages"},         {"ru", "pages", "Страницы"},
    {"de", "pages", "Seiten"},        {"fr", "pages", "Pages"},
    {"ru", "contents", "Содержание"}, {"ru", "notes", "Примечания"},
    {"ru", "abstract", "Аннотация"},  {"ru", "keywords", "Ключевые слова"},
    {"ru", "cover", "Обложка"},       {"ru", "titlepage", "Титульная страница"},
    {"ru", "landmarks", "Ориентиры"}, {"ru", "start", "Начало"},
    {"de", "contents", "Inhalt"},     {"de", "notes", "Anmerkungen"},
    {"de", "abstract", "Zusammenfassung"}, {"de", "keywords", "Schlüsselwörter"},
    {"de", "cover", "Umschlag"},      {"de", "titlepage", "Titelseite"},
    {"de", "landmarks", "Orientierung"}, {"de", "start", "Anfang"},
    {"fr", "contents", "Table des matières"}, {"fr", "notes", "Notes"},
    {"fr", "abstract", "Résumé"},     {"fr", "keywords", "Mots-clés"},
    {"fr", "cover", "Couverture"},    {"fr", "titlepage", "Page de titre"},
    {"fr", "landmarks", "Repères"},   {"fr", "start", "Début"},
};

const char *epub_label(const epub *E, const char *key) {
  const char *fallback = key;
  size_t ll = strcspn(E->lang, "-_");
  for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
    if (strcmp(labels[i].key, key) != 0) continue;
    if (strcmp(labels[i].lang, "en") == 0 && fallback == key)
      fallback = labels[i].text;
    if (strlen(labels[i].lang) == ll && strncmp(labels[i].lang, E->lang, ll) == 0)
      return labels[i].text;
  }
  return fallback;
}

/* ---- ids ------------------------------------------------------------------ */

/* Ids the writer emits itself in chapter files: r3, r3-2, n3, p3 (print
 * pages), notes. */
static int reserved_id(const char *s) {
  if (strcmp(s, "notes") == 0) return 1;
  if ((s[0] == 'r' || s[0] == 'n' || s[0] == 'p') && s[1] >= '0' && s[1] <= '9') {
    const char *p = s + 1;
    while (*p >= '0' && *p <= '9') p++;
    if (*p == 0) return 1;
    if (*p == '-' && p[1] >= '0' && p[1] <= '9') {
      p++;
      while (*p >= '0' && *p <= '9') p++;
      return *p == 0;
    }
  }
  return 0;
}

/* An id usable as an XML NCName and as a URL fragment without escaping. */
static int plain_id(const char *s) {
  if (!s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
    return 0;
  for (const char *p = s; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return 0;
  }
  return 1;
}

/* ---- analysis -------------------------------------------------------------- */

static const char *plain_text(epub *E, const ts_node *n) {
  ts_buf b;
  ts_buf_init(&b);
  ts_node_plain_text(n, &b);
  /* collapse whitespace runs (soft breaks, newlines) into single spaces */
  size_t o = 0;
  int sp = 1;
  for (size_t i = 0; i < b.len; i++) {
    char c = b.data[i];
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      if (!sp) b.data[o++] = ' ';
      sp = 1;
    } else {
      b.data[o++] = c;
      sp = 0;
    }
  }
  while (o > 0 && b.data[o - 1] == ' ') o--;
  char *r = b.oom ? NULL : ts_arena_strndup(E->a, b.data ? b.data : "", o);
  ts_buf_free(&b);
  return r;
}

/* Bytes of text a file of the EPUB may hold before it is split further at
 * its level-2 (then level-3) headings: stores and older readers reject or
 * choke on very large content documents (Kindle's limit was 300 KB). */
#define EPUB_FILE_TEXT_LIMIT 200000

/* Approximate bytes of the top-level blocks [first, end). */
static size_t text_bytes(ts_node *first, ts_node *end) {
  size_t n = 0;
  for (ts_node *top = first; top && top != end; top = top->next) {
    ts_iter it;
    ts_iter_init(&it, top);
    ts_node *c;
    int entering;
    while ((c = ts_iter_next(&it, &entering)))
      if (entering) n += c->len + 8; /* text plus some markup */
  }
  return n;
}

/* Splits the body into chapter files at top-level level-1 headings when
 * there are at least two of them (a short paper stays one file), then
 * splits any file still too large at its level-2, then level-3 headings. */
static ts_status split_chapters(epub *E) {
  ts_node *root = E->doc->root;
  size_t n_h1 = 0, n_heads = 0;
  for (ts_node *c = root->first; c; c = c->next)
    if (c->type == TS_NODE_HEADING) {
      n_heads++;
      if (c->level == 1) n_h1++;
    }
  /* starts of the files, in order; each file ends where the next starts */
  ts_node **starts = ts_arena_alloc(E->a, (n_heads + 2) * sizeof *starts);
  ts_node **next = ts_arena_alloc(E->a, (n_heads + 2) * sizeof *next);
  if (!starts || !next) return TS_ERR_NOMEM;
  size_t n = 0;
  starts[n++] = root->first;
  if (n_h1 >= 2)
    for (ts_node *c = root->first; c; c = c->next)
      if (c->type == TS_NODE_HEADING && c->level == 1 && c != root->first) starts[n++] = c;
  for (int level = 2; level <= 3; level++) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
      ts_node *end = i + 1 < n ? starts[i + 1] : NULL;
      next[m++] = starts[i];
      if (text_bytes(starts[i], end) <= EPUB_FILE_TEXT_LIMIT) continue;
      /* greedy: a candidate heading starts a new file only when its
       * section would not fit in the current one */
      size_t acc = 0;
      ts_node *seg = starts[i];
      for (ts_node *c = starts[i]->next;; c = c->next) {
        int cand = c && c != end && c->type == TS_NODE_HEADING && c->level <= level;
        if (c && c != end && !cand) continue;
        size_t sec = text_bytes(seg, c == end ? end : c); /* the section seg..c */
        if (acc > 0 && acc + sec > EPUB_FILE_TEXT_LIMIT) {
          next[m++] = seg;
          acc = 0;
        }
        acc += sec;
        if (!c || c == end) break;
        seg = c;
      }
    }
    ts_node **t = starts;
    starts = next;
    next = t;
    n = m;
  }
  E->files = ts_arena_alloc(E->a, (n + 2) * sizeof *E->files);
  if (!E->files) return TS_ERR_NOMEM;
  E->files[0].name = "cover.xhtml";
  E->files[0].id = "cover";
  E->files[1].name = "titlepage.xhtml";
  E->files[1].id = "titlepage";
  E->n_files = 2;
  E->first_chapter = 2;
  for (size_t i = 0; i < n; i++) {
    efile *f = &E->files[E->n_files++];
    f->first = starts[i];
    f->end = i + 1 < n ? starts[i + 1] : NULL;
  }
  for (size_t i = E->first_chapter; i < E->n_files; i++) {
    size_t k = i - E->first_chapter + 1;
    E->files[i].name = ts_arena_printf(E->a, "chapter-%zu.xhtml", k);
    E->files[i].id = ts_arena_printf(E->a, "chapter-%zu", k);
    const ts_node *f = E->files[i].first;
    E->files[i].title = (f && f->type == TS_NODE_HEADING) ? plain_text(E, f) : NULL;
    if (!E->files[i].name || !E->files[i].id) return TS_ERR_NOMEM;
    if (f && f->type == TS_NODE_HEADING && !E->files[i].title) return TS_ERR_NOMEM;
    if (!E->files[i].title || !E->files[i].title[0]) E->files[i].title = E->title;
  }
  E->files[0].title = epub_label(E, "cover");
  E->files[1].title = E->title;
  return TS_OK;
}

/* Gives every heading of the body an id that is unique, plain ASCII and
 * distinct from the writer's own ids, and remembers its chapter file. */
static ts_status collect_headings(epub *E) {
  ts_status st = TS_OK;
  ts_vec v;
  ts_vec_init(&v, sizeof(ehead));
  int counters[6] = {0};
  for (size_t f = E->first_chapter; f < E->n_files; f++) {
    for (ts_node *top = E->files[f].first; top && top != E->files[f].end;
         top = top->next) {
      ts_iter it;
      ts_iter_init(&it, top);
      ts_node *n;
      int entering;
      while ((n = ts_iter_next(&it, &entering))) {
        if (!entering || n->type != TS_NODE_HEADING) continue;
        ts_iter_skip(&it);
        ehead *h = ts_vec_push(E->a, &v);
        if (!h) return TS_ERR_NOMEM;
        h->node = n;
        h->level = n->level < 1 ? 1 : n->level > 6 ? 6 : n->level;
        h->file = (int)f;
        h->top = n->parent == E->doc->root;
        h->text = plain_text(E, n);
        if (!h->text) return TS_ERR_NOMEM;
        if (h->top && E->style->h[h->level - 1].numbered) {
          counters[h->level - 1]++;
          for (int l = h->level; l < 6; l++) counters[l] = 0;
          ts_buf nb;
          ts_buf_init(&nb);
          int lead = 1;
          for (int l = 0; l < h->level; l++) {
            if (lead && counters[l] == 0) continue;
            if (!lead) ts_buf_putc(&nb, '.');
            lead = 0;
            ts_buf_printf(&nb, "%d", counters[l]);
          }
          h->num = nb.oom ? NULL : ts_arena_strdup(E->a, nb.data ? nb.data : "");
          ts_buf_free(&nb);
          if (!h->num) return TS_ERR_NOMEM;
        }
      }
    }
  }
  E->heads = v.data;
  E->n_heads = v.len;
  for (size_t i = 0; i < E->n_heads; i++) {
    ehead *h = &E->heads[i];
    const char *orig = h->node->id;
    const char *id = orig;
    if (!id || !plain_id(id) || reserved_id(id) || emap_get(&E->used_ids, id, NULL)) {
      for (size_t k = i + 1;; k++) {
        id = ts_arena_printf(E->a, "sec-%zu", k);
        if (!id) return TS_ERR_NOMEM;
        if (!emap_get(&E->used_ids, id, NULL)) break;
      }
    }
    h->id = id;
    TS_CHECK(emap_put(E->a, &E->used_ids, id, (int)i));
    TS_CHECK(emap_put(E->a, &E->head_by_node, h->node, (int)i));
    if (orig && !emap_get(&E->head_by_id, orig, NULL))
      TS_CHECK(emap_put(E->a, &E->head_by_id, orig, (int)i));
  }
done:
  return st;
}

/* ---- images ---------------------------------------------------------------- */

static const char *sniff_image(const unsigned char *p, size_t n, const char **ext) {
  if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) {
    *ext = "png";
    return "image/png";
  }
  if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
    *ext = "jpg";
    return "image/jpeg";
  }
  if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0)) {
    *ext = "gif";
    return "image/gif";
  }
  /* SVG: XML text whose first element is <svg (after a BOM, whitespace, the
   * XML declaration, comments and a doctype) */
  size_t i = 0;
  if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) i = 3;
  for (int guard = 0; guard < 64 && i < n; guard++) {
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) i++;
    if (i >= n || p[i] != '<') break;
    if (n - i >= 4 && memcmp(p + i, "<svg", 4) == 0) {
      *ext = "svg";
      return "image/svg+xml";
    }
    if (n - i >= 2 && (p[i + 1] == '?' || p[i + 1] == '!')) {
      const unsigned char *e = memchr(p + i, '>', n - i);
      if (!e) break;
      i = (size_t)(e - p) + 1;
      continue;
    }
    break;
  }
  return NULL;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Structural check of an image file so a truncated or corrupt one is
 * refused here instead of reaching readers (epubcheck PKG-021): PNG chunks
 * with their CRCs up to IEND (PNG spec §5.3); JPEG marker segments up to the
 * start of scan, with a frame header (ITU T.81 §B.1); GIF's trailer byte.
 * NULL when fine, else why not. */
static const char *image_problem(const unsigned char *p, size_t n, const char *media) {
  if (strcmp(media, "image/png") == 0) {
    size_t i = 8;
    int seen_ihdr = 0, seen_idat = 0;
    while (i + 12 <= n) {
      uint32_t len = be32(p + i);
      if (len > n - i - 12) return "a PNG chunk runs past the end of the file";
      const unsigned char *type = p + i + 4;
      uint32_t crc = libdeflate_crc32(0, type, (size_t)len + 4);
      if (crc != be32(p + i + 8 + len)) return "a PNG chunk has a wrong CRC";
      if (memcmp(type, "IHDR", 4) == 0) {
        if (len < 8 || !TS_IMAGE_FITS(be32(p + i + 8), be32(p + i + 12)))
          return len < 8 ? "the PNG has a broken header" : TS_IMAGE_TOO_LARGE;
        seen_ihdr = 1;
      } else if (memcmp(type, "IDAT", 4) == 0) {
        seen_idat = 1;
      } else if (memcmp(type, "IEND", 4) == 0) {
        return seen_ihdr && seen_idat ? NULL : "the PNG has no image data";
      }
      i += 12 + (size_t)len;
    }
    return "the PNG is truncated (no IEND chunk)";
  }
  if (strcmp(media, "image/jpeg") == 0) {
    size_t i = 2;
    int frame = 0;
    while (i + 4 <= n) {
      if (p[i] != 0xFF) return "the JPEG has a broken marker";
      unsigned m = p[i + 1];
      if (m == 0xFF) { i++; continue; } /* fill byte */
      if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) { i += 2; continue; }
      size_t len = (size_t)p[i + 2] << 8 | p[i + 3];
      if (len < 2 || len > n - i - 2) return "a JPEG segment runs past the end of the file";
      if ((m >= 0xC0 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC) {
        /* frame header: length, precision, height, width (T.81 §B.2.2) */
        if (len < 7) return "the JPEG has a broken frame header";
        if (!TS_IMAGE_FITS((unsigned)p[i + 7] << 8 | p[i + 8], (unsigned)p[i + 5] << 8 | p[i + 6]))
          return TS_IMAGE_TOO_LARGE;
        frame = 1;
      }
      /* start of scan: the headers are whole.  A scan cut short (no EOI)
       * still decodes partially; readers, epubcheck and the PDF writer
       * accept it, so it is not refused here either. */
      if (m == 0xDA) return frame ? NULL : "the JPEG has no frame header";
      i += 2 + len;
    }
    return "the JPEG is truncated";
  }
  if (strcmp(media, "image/gif") == 0) {
    /* logical screen width and height, little-endian (GIF89a §18) */
    if (n < 13) return "the GIF is truncated";
    if (!TS_IMAGE_FITS((unsigned)p[7] << 8 | p[6], (unsigned)p[9] << 8 | p[8]))
      return TS_IMAGE_TOO_LARGE;
    /* the blocks (§19–§27): every image within the size limit too, since
     * a reader decodes every frame of an animation */
    size_t i = 13 + (p[10] & 0x80 ? 3u << ((p[10] & 7) + 1) : 0);
    while (i < n) {
      if (p[i] == 0x3B) return NULL; /* trailer */
      if (p[i] == 0x2C) {          /* image descriptor, its colour table, LZW size */
        if (n - i < 11) break;
        if (!TS_IMAGE_FITS((unsigned)p[i + 6] << 8 | p[i + 5], (unsigned)p[i + 8] << 8 | p[i + 7]))
          return TS_IMAGE_TOO_LARGE;
        i += 10 + (p[i + 9] & 0x80 ? 3u << ((p[i + 9] & 7) + 1) : 0) + 1;
      } else if (p[i] == 0x21) { /* extension: label */
        i += 2;
      } else {
        return "the GIF has a broken block";
      }
      /* data sub-blocks up to the empty one */
      while (i < n && p[i] != 0) i += 1 + (size_t)p[i];
      i++;
    }
    return "the GIF is truncated (no trailer)";
  }
  return NULL;
}

static int is_remote(const char *url) {
  const char *c = strchr(url, ':');
  const char *s = strchr(url, '/');
  return c && (!s || c < s) && c > url + 1; /* a scheme (not "C:") */
}

static void percent_decode(char *s) {
  char *o = s;
  for (char *p = s; *p; p++) {
    if (p[0] == '%' && p[1] && p[2] && strchr("0123456789abcdefABCDEF", p[1]) &&
        strchr("0123456789abcdefABCDEF", p[2])) {
      char hx[3] = {p[1], p[2], 0};
      *o++ = (char)strtol(hx, NULL, 16);
      p += 2;
    } else {
      *o++ = *p;
    }
  }
  *o = 0;
}

/* A new, zeroed entry at the end of E->images (not yet counted in
 * n_images); NULL when memory ran out. */
static eimage *push_image(epub *E) {
  eimage *im = ts_arena_alloc(E->a, (E->n_images + 1) * sizeof *im);
  if (!im) return NULL;
  if (E->n_images) memcpy(im, E->images, E->n_images * sizeof *im);
  E->images = im;
  memset(&im[E->n_images], 0, sizeof *im);
  return &im[E->n_images];
}

/* Resolves url inside the document folder, reads and sniffs it and adds it
 * once; *idx = its index or -1 when it cannot be embedded (reported at
 * file:line:col, file NULL: the document). */
static ts_status add_image(epub *E, const char *url, const char *at_file, uint32_t line,
                           uint32_t col, int *idx) {
  ts_status st = TS_OK;
  char *real = NULL, *dec = NULL;
  unsigned char *data = NULL;
  *idx = -1;
  if (emap_get(&E->image_by_url, url, idx)) return TS_OK;
  const char *file = at_file ? at_file : E->doc->path;
  if (is_remote(url)) {
    ts_diag_report(E->d, TS_WARNING, file, line, col,
                   "remote image '%s' is not embedded in the EPUB; its text "
                   "alternative is used",
                   url);
    goto remember;
  }
  const char *why = "not found";
  const char *dir = E->doc->dir ? E->doc->dir : ".";
  real = ts_path_resolve_inside(dir, url, NULL, 0, &why);
  if (!real && strchr(url, '%')) {
    dec = strdup(url);
    if (!dec) TS_CHECK(TS_ERR_NOMEM);
    percent_decode(dec);
    real = ts_path_resolve_inside(dir, dec, NULL, 0, &why);
  }
  if (!real && why == ts_why_nomem) TS_CHECK(TS_ERR_NOMEM);
  if (!real) {
    ts_diag_report(E->d, TS_ERROR, file, line, col, "image '%s': %s", url,
                   why ? why : "cannot be resolved");
    st = TS_ERR_INPUT;
    goto remember;
  }
  int known;
  if (emap_get(&E->image_by_real, real, &known)) {
    *idx = known;
    goto remember;
  }
  size_t len = 0;
  data = (unsigned char *)ts_file_read(real, &len, 0);
  if (!data && errno == ENOMEM) TS_CHECK(TS_ERR_NOMEM);
  if (!data) {
    ts_diag_report(E->d, TS_ERROR, file, line, col, "image '%s': %s", url,
                   strerror(errno));
    st = TS_ERR_INPUT;
    goto remember;
  }
  const char *ext = NULL;
  const char *media = sniff_image(data, len, &ext);
  if (!media) {
    ts_diag_report(E->d, TS_ERROR, file, line, col,
                   "image '%s' is not PNG, JPEG, GIF or SVG", url);
    st = TS_ERR_INPUT;
    goto remember;
  }
  const char *problem = image_problem(data, len, media);
  if (problem) {
    ts_diag_report(E->d, TS_ERROR, file, line, col, "image '%s': %s", url, problem);
    st = TS_ERR_INPUT;
    goto remember;
  }
  /* name: images/<basename with safe characters>.<ext from the bytes> */
  const char *base = strrchr(real, '/');
  base = base ? base + 1 : real;
  ts_buf nb;
  ts_buf_init(&nb);
  ts_buf_puts(&nb, "images/");
  size_t stem = strlen(base);
  const char *dot = strrchr(base, '.');
  if (dot && dot != base) stem = (size_t)(dot - base);
  if (stem > 60) stem = 60;
  for (size_t i = 0; i < stem; i++) {
    unsigned char c = (unsigned char)base[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '-' || c == '_';
    ts_buf_putc(&nb, ok ? (char)c : '_');
  }
  if (stem == 0) ts_buf_puts(&nb, "image");
  size_t stem_end = nb.len;
  ts_buf_printf(&nb, ".%s", ext);
  /* unique names, compared case-insensitively (names are ASCII here) */
  for (size_t i = 0; i < nb.len; i++)
    if (nb.data[i] >= 'A' && nb.data[i] <= 'Z') nb.data[i] = (char)(nb.data[i] + 32);
  for (int k = 2; !nb.oom && emap_get(&E->image_names, nb.data, NULL); k++) {
    nb.len = stem_end;
    ts_buf_printf(&nb, "-%d.%s", k, ext);
  }
  const char *name = nb.oom ? NULL : ts_arena_strdup(E->a, nb.data);
  ts_buf_free(&nb);
  if (!name) TS_CHECK(TS_ERR_NOMEM);
  TS_CHECK(emap_put(E->a, &E->image_names, name, 1));
  eimage *im = push_image(E);
  if (!im) TS_CHECK(TS_ERR_NOMEM);
  im->real = ts_arena_strdup(E->a, real);
  im->name = name;
  im->media = media;
  im->bytes = ts_blob_take(data, len);
  data = NULL; /* taken, even when that failed */
  if (!im->bytes) TS_CHECK(TS_ERR_NOMEM);
  im->data = ts_blob_data(im->bytes);
  im->len = len;
  if (!im->real) TS_CHECK(TS_ERR_NOMEM);
  *idx = (int)E->n_images++;
  TS_CHECK(emap_put(E->a, &E->image_by_real, im->real, *idx));
remember:
  if (st == TS_OK || st == TS_ERR_INPUT) {
    const char *key = ts_arena_strdup(E->a, url);
    if (!key) st = TS_ERR_NOMEM;
    else {
      ts_status s2 = emap_put(E->a, &E->image_by_url, key, *idx);
      if (s2 != TS_OK) st = s2;
    }
  }
done:
  free(real);
  free(dec);
  free(data);
  return st;
}

/* The generated cover image (cover.c) as images/cover.png (or cover-2.png...
 * when the document has an image of that name); nothing when no face could
 * draw it. */
static ts_status add_generated_cover(epub *E) {
  ts_status st = TS_OK;
  ts_blob *png = NULL;
  TS_CHECK(epub_cover_png(E, &png));
  if (!png) goto done;
  const char *name = "images/cover.png";
  for (int k = 2; emap_get(&E->image_names, name, NULL); k++) {
    name = ts_arena_printf(E->a, "images/cover-%d.png", k);
    if (!name) TS_CHECK(TS_ERR_NOMEM);
  }
  TS_CHECK(emap_put(E->a, &E->image_names, name, 1));
  eimage *im = push_image(E);
  if (!im) TS_CHECK(TS_ERR_NOMEM);
  im->real = "";
  im->name = name;
  im->media = "image/png";
  im->bytes = png;
  im->data = ts_blob_data(png);
  im->len = ts_blob_len(png);
  im->cover = 1;
  im->generated = 1;
  png = NULL;
  E->cover_image = (int)E->n_images++;
done:
  ts_blob_unref(png);
  return st;
}

/* Finds every image of the body, the notes and the abstract; reports all
 * unusable ones before failing. */
static ts_status collect_images(epub *E) {
  ts_status result = TS_OK;
  const ts_doc *doc = E->doc;
  size_t n_roots = 2 + doc->n_notes;
  for (size_t r = 0; r < n_roots; r++) {
    ts_node *root = r == 0 ? doc->root : r == 1 ? doc->meta.abstract : doc->notes[r - 2];
    if (!root) continue;
    ts_iter it;
    ts_iter_init(&it, root);
    ts_node *n;
    int entering;
    while ((n = ts_iter_next(&it, &entering))) {
      if (!entering || (n->type != TS_NODE_FIGURE && n->type != TS_NODE_IMAGE))
        continue;
      E->n_img_refs++;
      if (n->alt && n->alt[strspn(n->alt, " \t\n")]) E->n_img_alt++;
      int idx;
      if (!n->url || !n->url[0]) {
        ts_diag_report(E->d, TS_ERROR, doc->path, n->line, n->col,
                       "image without a path");
        result = TS_ERR_INPUT;
        continue;
      }
      ts_status st = add_image(E, n->url, NULL, n->line, n->col, &idx);
      if (st == TS_ERR_INPUT) result = st;
      else if (st != TS_OK) return st;
    }
  }
  E->cover_image = -1;
  if (doc->meta.cover_image && doc->meta.cover_image[0]) {
    int idx;
    const ts_meta *m = &doc->meta;
    ts_status st = m->cover_image_line
                       ? add_image(E, m->cover_image, m->cover_image_file, m->cover_image_line,
                                   m->cover_image_col, &idx)
                       : add_image(E, m->cover_image, NULL, m->line, 0, &idx);
    if (st == TS_ERR_INPUT) result = st;
    else if (st != TS_OK) return st;
    if (idx < 0 && st == TS_OK) { /* remote cover: warned, not usable */
    } else if (idx >= 0) {
      E->images[idx].cover = 1;
      E->cover_image = idx;
    }
  }
  if (result == TS_OK && E->cover_image < 0 && E->style->epub_cover) {
    ts_status st = add_generated_cover(E);
    if (st != TS_OK) return st;
  }
  return result;
}

/* ---- print page numbers ---------------------------------------------------
 * With the PDF's layout (and the style's epub.page-list) each page of the
 * print edition gets a marker, <span epub:type="pagebreak"
 * role="doc-pagebreak" id="pN" aria-label="FOLIO"/>, where its body text
 * begins: a page's first body line knows the model bytes it starts at
 * (ts_page.src), and the writer, passing those bytes, puts the marker there
 * (after the word when the page begins inside a hyphenated one).  Markers
 * come out in page order whatever the text order: a page whose place comes
 * before an earlier page's (a figure's caption floated to the next page)
 * waits for it; a page without body text of its own (a full-page figure)
 * goes with the next page that has some; page 1 opens the title page, and
 * whatever was not placed closes the body. */

static int cmp_pg_at(const void *a, const void *b) {
  const epage_at *x = a, *y = b;
  if (x->at != y->at) return x->at < y->at ? -1 : 1;
  return (x->page > y->page) - (x->page < y->page);
}

/* The first anchor at or after address lo (n_pg_at when none). */
static size_t anchor_from(const epub *E, uintptr_t lo) {
  size_t k = 0, top = E->n_pg_at;
  while (k < top) {
    size_t mid = k + (top - k) / 2;
    if (E->pg_at[mid].at < lo) k = mid + 1;
    else top = mid;
  }
  return k;
}

static ts_status pages_init(epub *E, const ts_layout *L) {
  if (!L || !E->style->epub_page_list || L->n_pages == 0) return TS_OK;
  E->pages = ts_arena_alloc(E->a, L->n_pages * sizeof *E->pages);
  E->pg_at = ts_arena_alloc(E->a, L->n_pages * sizeof *E->pg_at);
  if (!E->pages || !E->pg_at) return TS_ERR_NOMEM;
  for (size_t i = 0; i < L->n_pages; i++) {
    E->pages[i].number = L->pages[i].number;
    E->pages[i].file = -1;
    if (i > 0 && L->pages[i].src) {
      E->pages[i].anchored = 1;
      E->pg_at[E->n_pg_at++] = (epage_at){(uintptr_t)L->pages[i].src, i};
    }
  }
  qsort(E->pg_at, E->n_pg_at, sizeof *E->pg_at, cmp_pg_at);
  E->n_pages = L->n_pages;
  /* only places the body's text will pass count: a page whose place is
   * elsewhere goes with the next page (instead of holding back every later
   * page until the end) */
  uint8_t *found = E->n_pg_at ? ts_arena_alloc(E->a, E->n_pg_at) : NULL;
  if (E->n_pg_at && !found) return TS_ERR_NOMEM;
  ts_iter it;
  ts_iter_init(&it, E->doc->root);
  ts_node *n;
  int entering;
  while ((n = ts_iter_next(&it, &entering))) {
    if (!entering || !n->text || !n->len ||
        (n->type != TS_NODE_TEXT && n->type != TS_NODE_CODE && n->type != TS_NODE_CODEBLOCK))
      continue;
    uintptr_t lo = (uintptr_t)n->text, hi = lo + n->len;
    for (size_t k = anchor_from(E, lo); k < E->n_pg_at && E->pg_at[k].at < hi; k++) found[k] = 1;
  }
  size_t m = 0;
  for (size_t k = 0; k < E->n_pg_at; k++) {
    if (found[k]) E->pg_at[m++] = E->pg_at[k];
    else E->pages[E->pg_at[k].page].anchored = 0;
  }
  E->n_pg_at = m;
  return TS_OK;
}

/* Writes the markers of the pages up to and including `last`. */
static void pages_upto(epub *E, ts_buf *b, size_t last) {
  for (; E->pg_next <= last && E->pg_next < E->n_pages; E->pg_next++) {
    epage *pg = &E->pages[E->pg_next];
    ts_buf_printf(b, "<span epub:type=\"pagebreak\" role=\"doc-pagebreak\" id=\"p%zu\" "
                     "aria-label=\"%d\"></span>",
                  E->pg_next + 1, pg->number);
    pg->file = (int)E->cur_file;
    pg->seq = ++E->seq;
  }
}

/* The writer is at page i's place: its marker, and those it held back. */
static void page_reached(epub *E, ts_buf *b, size_t i) {
  if (i < E->pg_next) return; /* written already, with a later page's */
  E->pages[i].reached = 1;
  for (;;) {
    size_t q = E->pg_next;
    while (q < E->n_pages && !E->pages[q].anchored) q++;
    if (q >= E->n_pages || !E->pages[q].reached) return;
    pages_upto(E, b, q);
  }
}

/* A heading whose text opens a page: the marker goes before the heading,
 * not into it (where it would become part of the heading's name). */
static void pages_before_heading(epub *E, ts_buf *b, ts_node *h) {
  if (!E->n_pg_at) return;
  ts_iter it;
  ts_iter_init(&it, h);
  ts_node *t;
  int entering;
  while ((t = ts_iter_next(&it, &entering)) && t->type != TS_NODE_TEXT) {}
  if (!t || !t->text || !t->len) return;
  for (size_t k = anchor_from(E, (uintptr_t)t->text);
       k < E->n_pg_at && E->pg_at[k].at == (uintptr_t)t->text; k++)
    page_reached(E, b, E->pg_at[k].page);
}

static int pg_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

/* epub_text (or, url set, epub_text_url) with the markers of the pages
 * that begin inside s. */
static void text_paged(epub *E, ts_buf *b, const char *s, size_t n, int url) {
  size_t done = 0;
  if (!s) return;
  if (E->n_pg_at && n) {
    uintptr_t lo = (uintptr_t)s, hi = lo + n;
    for (size_t k = anchor_from(E, lo); k < E->n_pg_at && E->pg_at[k].at < hi; k++) {
      size_t off = (size_t)(E->pg_at[k].at - lo);
      if (off > 0 && !pg_space(s[off - 1]))
        while (off < n && !pg_space(s[off])) off++; /* after a word split by the page */
      if (off < done) off = done;
      if (url) epub_text_url(E, b, s + done, off - done);
      else epub_text(E, b, s + done, off - done);
      done = off;
      page_reached(E, b, E->pg_at[k].page);
    }
  }
  if (url) epub_text_url(E, b, s + done, n - done);
  else epub_text(E, b, s + done, n - done);
}

/* ---- XHTML ------------------------------------------------------------------- */

typedef struct rstate {
  size_t file;         /* index of the file being rendered */
  ts_vec notes;        /* int: note numbers in order of first reference */
  uint32_t *refs;      /* owned: refs per note number in this file */
  const char *pending; /* back-link markup for the next <p> */
  ts_vec links;        /* char per open LINK: LINK_A when it emitted <a>, | LINK_URL */
  int in_link;
  int in_url;          /* inside a link whose text is its address (breaks allowed) */
  const ts_node *caption; /* the caption paragraph that opened the next table */
} rstate;

enum { LINK_A = 1, LINK_URL = 2 };

void epub_xhtml_head(const epub *E, ts_buf *b, const char *title, const char *body_class) {
  ts_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n"
                 "<html xmlns=\"http://www.w3.org/1999/xhtml\" "
                 "xmlns:epub=\"http://www.idpf.org/2007/ops\" lang=\"");
  ts_buf_xml(b, E->lang, strlen(E->lang));
  ts_buf_puts(b, "\" xml:lang=\"");
  ts_buf_xml(b, E->lang, strlen(E->lang));
  ts_buf_puts(b, E->rtl ? "\" dir=\"rtl\">\n" : "\">\n");
  ts_buf_puts(b, "<head>\n<meta charset=\"UTF-8\"/>\n<title>");
  ts_buf_xml(b, title, strlen(title));
  ts_buf_puts(b, "</title>\n<link rel=\"stylesheet\" type=\"text/css\" href=\"style.css\"/>\n"
                 "</head>\n<body");
  if (body_class) ts_buf_printf(b, " class=\"%s\"", body_class);
  ts_buf_puts(b, ">\n");
}

/* Appends url with the characters a URL may not hold percent-encoded. */
static void put_url(ts_buf *b, const char *u) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)u; *p; p++) {
    unsigned char c = *p;
    int pct_ok = c == '%' && isxdigit(p[1]) && isxdigit(p[2]);
    if (c <= 0x20 || c >= 0x7F || strchr("\"<>\\^`{|}", c) || (c == '%' && !pct_ok)) {
      ts_buf_putc(b, '%');
      ts_buf_putc(b, hex[c >> 4]);
      ts_buf_putc(b, hex[c & 15]);
    } else if (c == '&') {
      ts_buf_puts(b, "&amp;");
    } else if (c == '\'') {
      ts_buf_puts(b, "&#39;");
    } else {
      ts_buf_putc(b, (char)c);
    }
  }
}

/* Where a LINK goes: 1 and the href in *out (not escaped yet), or 0 when it
 * must not become a link. *why says why (for the warning). */
static int link_target(epub *E, const rstate *R, const ts_node *n, ts_buf *out,
                       const char **why) {
  const char *u = n->url;
  *why = NULL;
  if (!u || !u[0]) {
    *why = "empty link target";
    return 0;
  }
  if (u[0] == '#') {
    int hi;
    if (!emap_get(&E->head_by_id, u + 1, &hi)) {
      *why = "no heading has this identifier";
      return 0;
    }
    const ehead *h = &E->heads[hi];
    if ((size_t)h->file != R->file) ts_buf_puts(out, E->files[h->file].name);
    ts_buf_putc(out, '#');
    ts_buf_puts(out, h->id);
    return 1;
  }
  if (strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0 ||
      strncasecmp(u, "mailto:", 7) == 0) {
    ts_buf_puts(out, u);
    return 1;
  }
  *why = "only http, https, mailto and #heading links are kept";
  return 0;
}

static void put_img(epub *E, ts_buf *b, const ts_node *n, const char *cls) {
  int idx = -1;
  emap_get(&E->image_by_url, n->url ? n->url : "", &idx);
  if (idx < 0) { /* not embeddable (remote): its alt text stands in */
    if (n->alt) text_z(E, b, n->alt);
    return;
  }
  ts_buf_puts(b, "<img");
  if (cls) ts_buf_printf(b, " class=\"%s\"", cls);
  ts_buf_puts(b, " src=\"");
  put_url(b, E->images[idx].name);
  ts_buf_puts(b, "\" alt=\"");
  if (n->alt) ts_buf_xml(b, n->alt, strlen(n->alt));
  ts_buf_puts(b, "\"");
  if (n->title) {
    ts_buf_puts(b, " title=\"");
    ts_buf_xml(b, n->title, strlen(n->title));
    ts_buf_puts(b, "\"");
  }
  ts_buf_puts(b, "/>");
}

static int tight_paragraph(const ts_node *n) {
  const ts_node *item = n->parent;
  return item && item->type == TS_NODE_ITEM && item->parent &&
         item->parent->type == TS_NODE_LIST && item->parent->tight;
}

static void note_ref(epub *E, rstate *R, ts_buf *b, const ts_node *n) {
  const ts_doc *doc = E->doc;
  int num = n->number;
  if (!n->note || num < 1 || (size_t)num > doc->n_notes || doc->notes[num - 1] != n->note) {
    /* a reference to a note that does not exist: show the mark, no link */
    ts_buf_puts(b, "<span class=\"noteref\">");
    if (n->label) text_z(E, b, n->label);
    else ts_buf_printf(b, "%d", num);
    ts_buf_puts(b, "</span>");
    return;
  }
  uint32_t k = ++R->refs[num];
  if (k == 1) {
    int *slot = ts_vec_push(E->a, &R->notes);
    if (slot) *slot = num;
    else b->oom = 1;
  }
  char id[48];
  /* fits: "r", an int, "-" and an unsigned are at most 23 bytes */
  if (k == 1) (void)snprintf(id, sizeof id, "r%d", num);
  else (void)snprintf(id, sizeof id, "r%d-%u", num, (unsigned)k);
  if (R->in_link) /* no <a> inside <a>: the id still anchors the back-link */
    ts_buf_printf(b, "<span class=\"noteref\" id=\"%s\">%d</span>", id, num);
  else
    ts_buf_printf(b, "<a epub:type=\"noteref\" role=\"doc-noteref\" id=\"%s\" "
                     "href=\"#n%d\" class=\"noteref\">%d</a>", id, num, num);
}

static int cell_column(const ts_node *cell) {
  int c = 0;
  for (const ts_node *p = cell->prev; p; p = p->prev) c++;
  return c;
}

/* Direction of the first strong character of a block's text (Unicode
 * bidi rules P2-P3): 0 none, 1 left-to-right, 2 right-to-left. Code spans
 * do not count. */
static int first_strong(const ts_node *block) {
  ts_iter it;
  ts_iter_init(&it, (ts_node *)block);
  ts_node *n;
  int entering;
  while ((n = ts_iter_next(&it, &entering))) {
    if (!entering || n->type != TS_NODE_TEXT || !n->text) continue;
    for (size_t i = 0; i < n->len;) {
      uint32_t cp;
      size_t k = ts_utf8_decode(n->text + i, n->len - i, &cp);
      i += k ? k : 1;
      UCharDirection dir = u_charDirection((UChar32)cp);
      if (dir == U_LEFT_TO_RIGHT) return 1;
      if (dir == U_RIGHT_TO_LEFT || dir == U_RIGHT_TO_LEFT_ARABIC) return 2;
    }
  }
  return 0;
}

/* ` dir="rtl"` / ` dir="ltr"` when a block's direction differs from the
 * document's, so right-to-left paragraphs are laid out as such; and the
 * block's language when a fenced div gave it one (the tag's shape was
 * checked by the front end: it needs no escaping). */
static void put_dir(const epub *E, ts_buf *b, const ts_node *block) {
  if (block->lang) ts_buf_printf(b, " lang=\"%s\" xml:lang=\"%s\"", block->lang, block->lang);
  int d = first_strong(block);
  if (d == 2 && !E->rtl) ts_buf_puts(b, " dir=\"rtl\"");
  else if (d == 1 && E->rtl) ts_buf_puts(b, " dir=\"ltr\"");
}

/* Renders one subtree (a block and everything in it). */
/* Opens a block element: "<tag", its class when cls, the block's direction. */
static void open_block(const epub *E, ts_buf *b, const char *tag, const char *cls,
                       const ts_node *n) {
  ts_buf_printf(b, "<%s", tag);
  if (cls) ts_buf_printf(b, " class=\"%s\"", cls);
  put_dir(E, b, n);
  ts_buf_putc(b, '>');
}

static ts_status render_node(epub *E, rstate *R, ts_buf *b, ts_node *root) {
  ts_iter it;
  ts_iter_init(&it, root);
  ts_node *n;
  int entering;
  while ((n = ts_iter_next(&it, &entering))) {
    switch (n->type) {
    case TS_NODE_DOCUMENT:
    case TS_NODE_FOOTNOTE_DEF:
      break;
    case TS_NODE_HEADING: {
      int lv = n->level < 1 ? 1 : n->level > 6 ? 6 : n->level;
      int hi = -1;
      int have = emap_get(&E->head_by_node, n, &hi) && (size_t)E->heads[hi].file == R->file;
      if (entering) {
        pages_before_heading(E, b, n);
        if (have) E->heads[hi].seq = ++E->seq;
        ts_buf_printf(b, "<h%d", lv);
        if (have) ts_buf_printf(b, " id=\"%s\"", E->heads[hi].id);
        put_dir(E, b, n);
        ts_buf_puts(b, ">");
        if (have && E->heads[hi].num)
          ts_buf_printf(b, "<span class=\"secnum\">%s</span> ", E->heads[hi].num);
      } else {
        ts_buf_printf(b, "</h%d>\n", lv);
      }
      break;
    }
    case TS_NODE_PARAGRAPH:
      if (n == R->caption || (entering && !R->pending && ts_node_is_table_caption(n))) {
        /* the caption opens the table that follows it (files split only
         * at headings, so the table is in the same file) */
        if (entering) {
          R->caption = n;
          ts_buf_puts(b, "<table>\n");
          open_block(E, b, "caption", NULL, n);
        } else {
          ts_buf_puts(b, "</caption>\n");
        }
        break;
      }
      if (tight_paragraph(n) && !R->pending) {
        if (!entering && n->next) ts_buf_putc(b, '\n');
        break;
      }
      if (entering) {
        open_block(E, b, "p", ts_node_is_quote_source(n) ? "source" : NULL, n);
        if (R->pending) {
          ts_buf_puts(b, R->pending);
          ts_buf_putc(b, ' ');
          R->pending = NULL;
        }
      } else {
        ts_buf_puts(b, "</p>\n");
      }
      break;
    case TS_NODE_LIST:
      if (entering) {
        if (n->ordered) {
          ts_buf_puts(b, "<ol");
          if (n->start != 1) ts_buf_printf(b, " start=\"%d\"", n->start);
          ts_buf_puts(b, ">\n");
        } else {
          ts_buf_puts(b, "<ul>\n");
        }
      } else {
        ts_buf_puts(b, n->ordered ? "</ol>\n" : "</ul>\n");
      }
      break;
    case TS_NODE_ITEM:
      if (entering) {
        open_block(E, b, "li", NULL, n);
      } else {
        ts_buf_puts(b, "</li>\n");
      }
      break;
    case TS_NODE_BLOCKQUOTE:
      ts_buf_puts(b, entering ? "<blockquote>\n" : "</blockquote>\n");
      break;
    case TS_NODE_CODEBLOCK: {
      ts_buf_puts(b, "<pre><code");
      if (n->info && n->info[0]) {
        size_t k = 0;
        ts_buf_puts(b, " class=\"language-");
        for (const char *p = n->info; *p && *p != ' ' && k < 32; p++, k++) {
          unsigned char c = (unsigned char)*p;
          int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '+';
          ts_buf_putc(b, ok ? (char)c : '_');
        }
        ts_buf_puts(b, "\"");
      }
      ts_buf_puts(b, ">");
      size_t len = n->len;
      if (len && n->text[len - 1] == '\n') len--;
      text_paged(E, b, n->text, len, 0);
      ts_buf_puts(b, "</code></pre>\n");
      E->used_mono = 1;
      break;
    }
    case TS_NODE_THEMATIC_BREAK:
      ts_buf_puts(b, "<hr/>\n");
      break;
    case TS_NODE_TABLE:
      if (!entering) {
        ts_buf_puts(b, "</table>\n");
        break;
      }
      if (R->caption && R->caption == n->prev) R->caption = NULL; /* opened by it */
      else ts_buf_puts(b, "<table>\n");
      break;
    case TS_NODE_TABLE_ROW: {
      int hdr = n->header != 0;
      if (entering) {
        int prev_hdr = n->prev ? n->prev->header != 0 : -1;
        if (hdr && prev_hdr != 1) ts_buf_puts(b, "<thead>\n");
        if (!hdr && prev_hdr != 0) ts_buf_puts(b, "<tbody>\n");
        ts_buf_puts(b, "<tr>");
      } else {
        int next_hdr = n->next ? n->next->header != 0 : -1;
        ts_buf_puts(b, "</tr>\n");
        if (hdr && next_hdr != 1) ts_buf_puts(b, "</thead>\n");
        if (!hdr && next_hdr != 0) ts_buf_puts(b, "</tbody>\n");
      }
      break;
    }
    case TS_NODE_TABLE_CELL: {
      int th = n->parent && n->parent->header;
      if (entering) {
        const ts_node *t = n->parent ? n->parent->parent : NULL;
        int col = cell_column(n);
        int al = (t && t->align && col < t->ncols) ? t->align[col] : TS_ALIGN_NONE;
        open_block(E, b, th ? "th" : "td",
                   al == TS_ALIGN_LEFT     ? "al"
                   : al == TS_ALIGN_CENTER ? "ac"
                   : al == TS_ALIGN_RIGHT  ? "ar"
                                           : NULL,
                   n);
      } else {
        ts_buf_puts(b, th ? "</th>" : "</td>");
      }
      break;
    }
    case TS_NODE_FIGURE:
      if (entering) {
        ts_buf_puts(b, "<figure>\n");
        put_img(E, b, n, NULL);
        ts_buf_putc(b, '\n');
        if (n->first) ts_buf_puts(b, "<figcaption>");
      } else {
        if (n->first) ts_buf_puts(b, "</figcaption>\n");
        ts_buf_puts(b, "</figure>\n");
      }
      break;
    case TS_NODE_TEXT:
      text_paged(E, b, n->text, n->len, R->in_url);
      break;
    case TS_NODE_EMPH:
      ts_buf_puts(b, entering ? "<em>" : "</em>");
      E->used_italic = 1;
      break;
    case TS_NODE_STRONG:
      ts_buf_puts(b, entering ? "<strong>" : "</strong>");
      E->used_bold = 1;
      break;
    case TS_NODE_STRIKE:
      ts_buf_puts(b, entering ? "<s>" : "</s>");
      break;
    case TS_NODE_SPAN: /* a passage in another language (its tag's shape was checked) */
      if (entering && n->lang)
        ts_buf_printf(b, "<span lang=\"%s\" xml:lang=\"%s\">", n->lang, n->lang);
      else if (entering)
        ts_buf_puts(b, "<span>");
      else
        ts_buf_puts(b, "</span>");
      break;
    case TS_NODE_CODE:
      ts_buf_puts(b, "<code>");
      text_paged(E, b, n->text, n->len, 0);
      ts_buf_puts(b, "</code>");
      E->used_mono = 1;
      break;
    case TS_NODE_LINK:
      if (entering) {
        ts_buf href;
        ts_buf_init(&href);
        const char *why = NULL;
        int ok = !R->in_link && link_target(E, R, n, &href, &why);
        char *flag = ts_vec_push(E->a, &R->links);
        if (!flag || href.oom) {
          ts_buf_free(&href);
          return TS_ERR_NOMEM;
        }
        int url = url_text(n);
        *flag = (char)((ok ? LINK_A : 0) | (url ? LINK_URL : 0));
        R->in_url += url;
        if (ok) {
          ts_buf_puts(b, url ? "<a class=\"url\" href=\"" : "<a href=\"");
          put_url(b, href.data);
          ts_buf_puts(b, "\"");
          if (n->title) {
            ts_buf_puts(b, " title=\"");
            ts_buf_xml(b, n->title, strlen(n->title));
            ts_buf_puts(b, "\"");
          }
          ts_buf_puts(b, ">");
          R->in_link++;
        } else if (why && R->file != 0) {
          ts_diag_report(E->d, TS_WARNING, E->doc->path, n->line, n->col,
                         "link to '%s' kept as text in the EPUB: %s",
                         n->url ? n->url : "", why);
        }
        ts_buf_free(&href);
      } else {
        if (R->links.len == 0) return TS_ERR_INTERNAL;
        char flag = ((char *)R->links.data)[--R->links.len];
        if (flag & LINK_URL) R->in_url--;
        if (flag & LINK_A) {
          ts_buf_puts(b, "</a>");
          R->in_link--;
        }
      }
      break;
    case TS_NODE_IMAGE:
      put_img(E, b, n, "inline");
      break;
    case TS_NODE_FOOTNOTE_REF:
      note_ref(E, R, b, n);
      break;
    case TS_NODE_SOFTBREAK:
      ts_buf_putc(b, '\n');
      break;
    case TS_NODE_LINEBREAK:
      ts_buf_puts(b, "<br/>\n");
      break;
    default:
      break;
    }
  }
  return b->oom ? TS_ERR_NOMEM : TS_OK;
}

/* The notes referenced in this file, in order of first reference (notes
 * referenced from notes join the queue), as footnotes (aside) or as an
 * endnotes section. */
static ts_status render_notes(epub *E, rstate *R, ts_buf *b) {
  ts_status st = TS_OK;
  if (R->notes.len == 0) return TS_OK;
  int endnotes = E->style->epub_endnotes;
  if (endnotes) {
    ts_buf_puts(b, "<section epub:type=\"endnotes\" role=\"doc-endnotes\" "
                   "class=\"endnotes\">\n<h2 class=\"notes-title\">");
    text_z(E, b, epub_label(E, "notes"));
    ts_buf_puts(b, "</h2>\n<ol class=\"notes\">\n");
  }
  char link[96];
  for (size_t i = 0; i < R->notes.len; i++) { /* the queue may grow */
    int num = ((int *)R->notes.data)[i];
    ts_node *def = E->doc->notes[num - 1];
    if (endnotes) /* no role="doc-endnote": DPUB-ARIA 1.1 deprecates it on
                   * a list item (the list is the doc-endnotes section's) */
      ts_buf_printf(b, "<li id=\"n%d\" epub:type=\"endnote\" class=\"note\">\n", num);
    else
      ts_buf_printf(b, "<aside epub:type=\"footnote\" role=\"doc-footnote\" "
                       "id=\"n%d\" class=\"footnote\">\n", num);
    /* fits: 38 bytes of markup and two ints (at most 22) in 96 */
    (void)snprintf(link, sizeof link, "<a role=\"doc-backlink\" href=\"#r%d\">%d.</a>", num, num);
    R->pending = link;
    if (!def->first || def->first->type != TS_NODE_PARAGRAPH) {
      ts_buf_printf(b, "<p>%s</p>\n", link);
      R->pending = NULL;
    }
    for (ts_node *c = def->first; c; c = c->next) TS_CHECK(render_node(E, R, b, c));
    R->pending = NULL;
    ts_buf_puts(b, endnotes ? "</li>\n" : "</aside>\n");
  }
  if (endnotes) ts_buf_puts(b, "</ol>\n</section>\n");
done:
  return st;
}

static void rstate_clear(rstate *R) { free(R->refs); }

static ts_status rstate_init(epub *E, rstate *R, size_t file) {
  memset(R, 0, sizeof *R);
  R->file = file;
  ts_vec_init(&R->notes, sizeof(int));
  ts_vec_init(&R->links, sizeof(char));
  R->refs = calloc(E->doc->n_notes + 1, sizeof *R->refs);
  return R->refs ? TS_OK : TS_ERR_NOMEM;
}

static ts_status render_chapter(epub *E, size_t fi, ts_buf *b) {
  ts_status st = TS_OK;
  rstate R;
  efile *F = &E->files[fi];
  TS_CHECK(rstate_init(E, &R, fi));
  epub_xhtml_head(E, b, F->title, "chapter");
  if (E->pg_next == 0) pages_upto(E, b, 0);
  int stack[8];
  int depth = 0;
  int chapters = 0; /* several level-1 headings: each opens a chapter */
  for (ts_node *c = E->doc->root->first; c && chapters < 2; c = c->next)
    chapters += c->type == TS_NODE_HEADING && c->level == 1;
  chapters = chapters >= 2;
  for (ts_node *top = F->first; top && top != F->end; top = top->next) {
    if (top->type == TS_NODE_HEADING) {
      int lv = top->level < 1 ? 1 : top->level > 6 ? 6 : top->level;
      while (depth > 0 && stack[depth - 1] >= lv) {
        ts_buf_puts(b, "</section>\n");
        depth--;
      }
      if (lv == 1 && chapters)
        ts_buf_puts(b, "<section epub:type=\"chapter\" role=\"doc-chapter\">\n");
      else
        ts_buf_puts(b, "<section>\n");
      stack[depth++] = lv;
    }
    TS_CHECK(render_node(E, &R, b, top));
  }
  if (fi + 1 == E->n_files && E->n_pages) pages_upto(E, b, E->n_pages - 1);
  while (depth > 0) {
    ts_buf_puts(b, "</section>\n");
    depth--;
  }
  TS_CHECK(render_notes(E, &R, b));
  ts_buf_puts(b, "</body>\n</html>\n");
done:
  rstate_clear(&R);
  return st;
}

/* Expands the masthead template ({series}, {number}, {issn}, {title}). */
void epub_masthead_text(const epub *E, ts_buf *b) {
  const ts_series *s = &E->doc->meta.series;
  const char *tpl = E->style->masthead;
  if (!s->name || !s->name[0]) return;
  if (!tpl || !tpl[0]) tpl = "{series} № {number}";
  if (!s->number || !s->number[0]) tpl = "{series}";
  for (const char *p = tpl; *p;) {
    const char *val = NULL;
    size_t skip = 0;
    if (strncmp(p, "{series}", 8) == 0) val = s->name, skip = 8;
    else if (strncmp(p, "{number}", 8) == 0) val = s->number, skip = 8;
    else if (strncmp(p, "{issn}", 6) == 0) val = s->issn, skip = 6;
    else if (strncmp(p, "{title}", 7) == 0) val = E->title, skip = 7;
    if (skip) {
      if (val) ts_buf_puts(b, val);
      p += skip;
    } else {
      size_t k = strcspn(p + 1, "{") + 1;
      ts_buf_append(b, p, k);
      p += k;
    }
  }
}

static void put_masthead(epub *E, ts_buf *b) {
  const ts_series *s = &E->doc->meta.series;
  ts_buf t;
  ts_buf_init(&t);
  epub_masthead_text(E, &t);
  if (t.oom) b->oom = 1;
  if (!t.len) {
    ts_buf_free(&t);
    return;
  }
  ts_buf_puts(b, "<p class=\"masthead\">");
  if (s->issn && s->issn[0]) { /* right-aligned, as on the PDF's band */
    ts_buf_puts(b, "<span class=\"issn\">ISSN ");
    text_z(E, b, s->issn);
    ts_buf_puts(b, "</span>");
  }
  epub_text(E, b, t.data, t.len);
  ts_buf_puts(b, "</p>\n");
  ts_buf_free(&t);
}

static void put_p(epub *E, ts_buf *b, const char *cls, const char *text) {
  if (!text || !text[0]) return;
  ts_buf_printf(b, "<p class=\"%s\">", cls);
  text_z(E, b, text);
  ts_buf_puts(b, "</p>\n");
}

/* "0000-0002-1825-0097" from any of the accepted spellings. */
static const char *orcid_bare(const char *o) {
  static const char *const pre[] = {"https://orcid.org/", "http://orcid.org/", "orcid.org/"};
  for (size_t i = 0; i < 3; i++)
    if (strncasecmp(o, pre[i], strlen(pre[i])) == 0) return o + strlen(pre[i]);
  return o;
}

static ts_status render_cover(epub *E, ts_buf *b) {
  const ts_meta *m = &E->doc->meta;
  epub_xhtml_head(E, b, epub_label(E, "cover"), "cover");
  ts_buf_puts(b, "<section epub:type=\"cover\" class=\"cover\">\n");
  if (E->cover_image >= 0) {
    ts_buf_puts(b, "<div class=\"cover-image\"><img src=\"");
    put_url(b, E->images[E->cover_image].name);
    ts_buf_puts(b, "\" alt=\"");
    ts_buf_xml(b, E->title, strlen(E->title));
    ts_buf_puts(b, "\"/></div>\n");
  } else {
    put_masthead(E, b);
    ts_buf_puts(b, "<h1 class=\"cover-title\">");
    text_z(E, b, E->title);
    ts_buf_puts(b, "</h1>\n");
    put_p(E, b, "cover-subtitle", m->subtitle);
    for (size_t i = 0; i < m->n_authors; i++) put_p(E, b, "cover-author", m->authors[i].name);
  }
  ts_buf_puts(b, "</section>\n</body>\n</html>\n");
  return b->oom ? TS_ERR_NOMEM : TS_OK;
}

static ts_status render_titlepage(epub *E, ts_buf *b) {
  ts_status st = TS_OK;
  const ts_meta *m = &E->doc->meta;
  rstate R;
  TS_CHECK(rstate_init(E, &R, 1));
  epub_xhtml_head(E, b, E->title, "titlepage");
  if (E->pg_next == 0) pages_upto(E, b, 0); /* the print edition's page 1 */
  ts_buf_puts(b, "<section epub:type=\"titlepage\" class=\"titlepage\">\n");
  put_masthead(E, b);
  ts_buf_puts(b, "<h1 class=\"title\">");
  text_z(E, b, E->title);
  ts_buf_puts(b, "</h1>\n");
  put_p(E, b, "subtitle", m->subtitle);
  for (size_t i = 0; i < m->n_authors; i++) {
    const ts_author *a = &m->authors[i];
    ts_buf_puts(b, "<div class=\"author\">\n");
    /* as in the PDF's title block: name; "degree, role"; affiliation;
     * address; the identifiers on one line; e-mail */
    put_p(E, b, "author-name", a->name);
    int hd = a->degree && a->degree[0], hr = a->role && a->role[0];
    if (hd || hr) {
      ts_buf_puts(b, "<p class=\"degree\">");
      if (hd) text_z(E, b, a->degree);
      if (hd && hr) ts_buf_puts(b, ", ");
      if (hr) text_z(E, b, a->role);
      ts_buf_puts(b, "</p>\n");
    }
    put_p(E, b, "affiliation", a->affiliation);
    put_p(E, b, "address", a->address);
    int n_ids = 0;
    if (a->orcid && a->orcid[0]) {
      const char *o = orcid_bare(a->orcid);
      ts_buf_puts(b, "<p class=\"author-ids\"><span class=\"author-id\">ORCID: ");
      if (a->orcid_valid) {
        ts_buf_puts(b, "<a href=\"https://orcid.org/");
        put_url(b, o);
        ts_buf_puts(b, "\">https://orcid.org/");
        text_z(E, b, o);
        ts_buf_puts(b, "</a>");
      } else {
        text_z(E, b, o);
      }
      ts_buf_puts(b, "</span>");
      n_ids++;
    }
    for (size_t k = 0; k < a->n_ids; k++) {
      if (!a->ids[k].key || !a->ids[k].value) continue;
      ts_buf_puts(b, n_ids ? " <span class=\"author-id\">" : "<p class=\"author-ids\"><span class=\"author-id\">");
      text_z(E, b, a->ids[k].key);
      ts_buf_puts(b, ": ");
      text_z(E, b, a->ids[k].value);
      ts_buf_puts(b, "</span>");
      n_ids++;
    }
    if (n_ids) ts_buf_puts(b, "</p>\n");
    if (a->email && a->email[0]) {
      ts_buf_puts(b, "<p class=\"email\">E-mail: <a href=\"mailto:");
      put_url(b, a->email);
      ts_buf_puts(b, "\">");
      text_z(E, b, a->email);
      ts_buf_puts(b, "</a></p>\n");
    }
    ts_buf_puts(b, "</div>\n");
  }
  int blocks = m->abstract && m->abstract->first;
  if (blocks || (m->abstract_text && m->abstract_text[0])) {
    ts_buf_puts(b, "<section class=\"abstract\" role=\"doc-abstract\">\n<h2 class=\"abstract-title\">");
    text_z(E, b, epub_label(E, "abstract"));
    ts_buf_puts(b, "</h2>\n");
    if (blocks)
      for (ts_node *c = m->abstract->first; c; c = c->next) TS_CHECK(render_node(E, &R, b, c));
    else
      put_p(E, b, "abstract-text", m->abstract_text);
    ts_buf_puts(b, "</section>\n");
  }
  if (m->n_keywords) {
    ts_buf_puts(b, "<p class=\"keywords\"><span class=\"keywords-label\">");
    text_z(E, b, epub_label(E, "keywords"));
    ts_buf_puts(b, ":</span> ");
    for (size_t i = 0; i < m->n_keywords; i++) {
      if (i) ts_buf_puts(b, ", ");
      text_z(E, b, m->keywords[i]);
    }
    ts_buf_puts(b, "</p>\n");
  }
  ts_buf_puts(b, "</section>\n");
  TS_CHECK(render_notes(E, &R, b));
  ts_buf_puts(b, "</body>\n</html>\n");
  if (b->oom) st = TS_ERR_NOMEM;
done:
  rstate_clear(&R);
  return st;
}

static ts_status render_files(epub *E) {
  ts_status st = TS_OK;
  ts_buf b;
  ts_buf_init(&b);
  for (size_t i = 0; i < E->n_files; i++) {
    ts_buf_clear(&b);
    E->cur_file = i;
    if (i == 0) TS_CHECK(render_cover(E, &b));
    else if (i == 1) TS_CHECK(render_titlepage(E, &b));
    else TS_CHECK(render_chapter(E, i, &b));
    if (b.oom) TS_CHECK(TS_ERR_NOMEM);
    E->files[i].data = ts_buf_detach(&b, &E->files[i].len);
    if (!E->files[i].data) TS_CHECK(TS_ERR_NOMEM);
  }
done:
  ts_buf_free(&b);
  return st;
}

/* ---- dates and identifiers ---------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

/* Parses "YYYY", "YYYY-MM" or "YYYY-MM-DD" (anything after a 'T' ignored);
 * returns the number of parts (0 when not a date). */
static int parse_date(const char *s, int *y, int *m, int *d) {
  *y = 0, *m = 1, *d = 1;
  if (!s) return 0;
  for (int i = 0; i < 4; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  *y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  if (s[4] == 0) return 1;
  if (s[4] != '-' || !isdigit((unsigned char)s[5]) || !isdigit((unsigned char)s[6])) return 0;
  *m = (s[5] - '0') * 10 + (s[6] - '0');
  if (*m < 1 || *m > 12) return 0;
  if (s[7] == 0) return 2;
  if (s[7] != '-' || !isdigit((unsigned char)s[8]) || !isdigit((unsigned char)s[9])) return 0;
  *d = (s[8] - '0') * 10 + (s[9] - '0');
  if (*d < 1 || *d > 31) return 0;
  if (s[10] != 0 && s[10] != 'T' && s[10] != ' ') return 0;
  return 3;
}

static void epoch_to_parts(int64_t t, int64_t *y, int *mo, int *d, int *h, int *mi, int *s) {
  int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  int64_t rem = t - days * 86400;
  civil_from_days(days, y, mo, d);
  *h = (int)(rem / 3600);
  *mi = (int)(rem / 60 % 60);
  *s = (int)(rem % 60);
}

/* ---- ZIP ----------------------------------------------------------------------- */

static const char container_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<container version=\"1.0\" xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\">\n"
    "<rootfiles>\n"
    "<rootfile full-path=\"OEBPS/package.opf\" media-type=\"application/oebps-package+xml\"/>\n"
    "</rootfiles>\n"
    "</container>\n";

/* Image formats whose bytes are compressed already: deflated only when
 * their start compresses well (zip.c, EPUB_ZIP_PROBE), at the text's level
 * (EPUB_ZIP_PROBE_LEVEL).  The sample chart, a PNG written at zlib 9
 * without filters, still loses 27 %; photographs and JPEGs gain nothing and
 * are stored. */
static int precompressed(const char *media) {
  return strcmp(media, "image/png") == 0 || strcmp(media, "image/jpeg") == 0 ||
         strcmp(media, "image/gif") == 0 || strcmp(media, "image/webp") == 0;
}

/* The container: every entry in the fixed order, mimetype first, stored,
 * without any extra field (so "application/epub+zip" sits at byte 38,
 * w3c/epubcheck#497); all with one fixed DOS time from the build's date.
 *
 * Levels, measured on the samples (callgrind instructions, sizes summed over
 * arctic-shipping's entries; the fonts' ~337 kB of subsets, the text
 * files' ~28 kB; a compressor allocated per file):
 *                     fonts                 XHTML/CSS/OPF/NCX
 *   zlib 6 (before)   197,441 B   62.0 M    9,452 B   3.3 M
 *   zlib 9            197,130 B   75.3 M    9,449 B   3.4 M
 *   libdeflate 1      204,308 B   14.1 M    9,750 B   1.4 M
 *   libdeflate 6      196,322 B   30.4 M    9,420 B   2.3 M
 *   libdeflate 9      195,463 B   37.4 M    9,374 B   2.6 M
 *   libdeflate 12     191,801 B  202.0 M    9,243 B  23.1 M
 * Fonts at libdeflate 6 (EPUB_ZIP_LEVEL): smaller than zlib 9 was at under
 * half its cost; 9 saves 0.4 % for 20 % more work, 12 is ten times slower,
 * and 1 would add 4 % to what a reader downloads.  In a series the fonts
 * come deflated from the subset cache, so their level is paid once per
 * distinct subset.  Text at level 1 (TEXT_LEVEL). */
/* Text entries (XHTML, CSS, OPF, NCX): level 1.  Once the fonts come from
 * the subset cache, deflating the text is the largest per-paper cost of a
 * series; over the 50-paper benchmark series (bench/gen_series.py, EPUB
 * only) the container's instructions and the EPUBs' total bytes were:
 *   level 1   83.6 M   10,328,720 B
 *   level 4  116.4 M   10,316,543 B
 *   level 6  129.9 M   10,311,152 B
 *   level 9  143.7 M   10,309,298 B
 * level 1 saves 0.9 M instructions a paper for 350 bytes (0.17 %); a
 * 200-page book of text (bench/gen_book.py) grows more, 473,904 -> 486,938
 * bytes (2.7 %). */
#define TEXT_LEVEL 1
/* images share the text's compressor (zip.c keeps one per level) */
_Static_assert(TEXT_LEVEL == EPUB_ZIP_PROBE_LEVEL, "one compressor for text and images");
/* The container into the file fd (path: its name, for messages), or
 * (fd < 0) into *out (owned). */
static ts_status zip_fill(epub *E, int fd, const char *path, unsigned char **out,
                          size_t *out_len) {
  ts_status st = TS_OK;
  ts_vec v;
  ts_vec_init(&v, sizeof(ezent));
#define ZADD(n, p, l, lv)                                               \
  do {                                                                  \
    ezent *ze_ = ts_vec_push(E->a, &v);                                 \
    if (!ze_) TS_CHECK(TS_ERR_NOMEM);                                   \
    ze_->name = (n), ze_->data = (p), ze_->len = (l), ze_->level = (lv); \
    if (!ze_->name) TS_CHECK(TS_ERR_NOMEM);                             \
  } while (0)
  ZADD("mimetype", "application/epub+zip", 20, 0);
  ZADD("META-INF/container.xml", container_xml, sizeof container_xml - 1, TEXT_LEVEL);
  ZADD("OEBPS/package.opf", E->opf, E->opf_len, TEXT_LEVEL);
  ZADD("OEBPS/nav.xhtml", E->nav, E->nav_len, TEXT_LEVEL);
  ZADD("OEBPS/toc.ncx", E->ncx, E->ncx_len, TEXT_LEVEL);
  ZADD("OEBPS/style.css", E->css, E->css_len, TEXT_LEVEL);
  for (size_t i = 0; i < E->n_files; i++) {
    ZADD(ts_arena_printf(E->a, "OEBPS/%s", E->files[i].name), E->files[i].data, E->files[i].len,
         TEXT_LEVEL);
  }
  for (size_t i = 0; i < E->n_images; i++) {
    ZADD(ts_arena_printf(E->a, "OEBPS/%s", E->images[i].name), E->images[i].data, E->images[i].len,
         E->images[i].generated                ? 0
         : precompressed(E->images[i].media) ? EPUB_ZIP_PROBE
                                             : EPUB_ZIP_LEVEL);
  }
  for (size_t i = 0; i < E->n_fonts; i++) {
    const efont *f = &E->fonts[i];
    ZADD(ts_arena_printf(E->a, "OEBPS/%s", f->name), ts_blob_data(f->z), f->len, 0);
    ezent *ze = &((ezent *)v.data)[v.len - 1];
    if (f->deflated) {
      ze->comp = ts_blob_data(f->z);
      ze->comp_len = ts_blob_len(f->z);
      ze->crc = f->crc;
    }
  }
#undef ZADD
  /* DOS time of the build date, clamped to the format's range */
  int64_t t = E->modified;
  if (t < 315532800) t = 315532800;         /* 1980-01-01 */
  if (t > 4354819199LL) t = 4354819199LL;   /* 2107-12-31 */
  int64_t y;
  int mo, dd, hh, mi, ss;
  epoch_to_parts(t, &y, &mo, &dd, &hh, &mi, &ss);
  uint16_t dtime = (uint16_t)((hh << 11) | (mi << 5) | (ss / 2));
  uint16_t ddate = (uint16_t)(((y - 1980) << 9) | (mo << 5) | dd);
  if (!epub_zip_open()) {
    ts_diag_report(E->d, TS_ERROR, E->doc->path, 0, 0,
                   "EPUB: cannot open the ZIP library (%s): %s", epub_zip_library(),
                   epub_zip_error());
    TS_CHECK(TS_ERR_IO);
  }
  st = epub_zip_build(v.data, v.len, dtime, ddate, fd, out, out_len);
  if (st == TS_ERR_IO)
    ts_diag_report(E->d, TS_ERROR, path, 0, 0, "cannot write the EPUB: %s", strerror(errno));
  if (st == TS_ERR_LIMIT)
    ts_diag_report(E->d, TS_ERROR, E->doc->path, 0, 0,
                   "EPUB: the book is too large for a ZIP without ZIP64 (4 GiB)");
done:
  return st;
}

/* ---- the build ------------------------------------------------------------ */

static const char *valid_lang(const char *l) {
  if (!l || !l[0] || strlen(l) > 35) return "en";
  for (const char *p = l; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-'))
      return "en";
  }
  if (!((l[0] >= 'a' && l[0] <= 'z') || (l[0] >= 'A' && l[0] <= 'Z'))) return "en";
  return l;
}

/* dc:identifier from meta.identifier, or urn:uuid from a SHA-256 of the
 * content (version-5-like: version nibble 5, RFC 4122 variant). */
static ts_status make_identifier(epub *E) {
  const char *id = E->doc->meta.identifier;
  if (id) {
    while (*id == ' ' || *id == '\t') id++;
  }
  if (id && id[0]) {
    const char *rest = NULL;
    if (strncasecmp(id, "https://doi.org/", 16) == 0) rest = id + 16;
    else if (strncasecmp(id, "http://dx.doi.org/", 18) == 0) rest = id + 18;
    else if (strncasecmp(id, "doi:", 4) == 0) rest = id + 4;
    else if (strncmp(id, "10.", 3) == 0 && strchr(id, '/')) rest = id;
    if (rest) {
      E->identifier = ts_arena_printf(E->a, "doi:%s", rest);
      return E->identifier ? TS_OK : TS_ERR_NOMEM;
    }
    const char *isbn = id;
    if (strncasecmp(isbn, "urn:isbn:", 9) == 0) isbn += 9;
    else if (strncasecmp(isbn, "isbn:", 5) == 0 || strncasecmp(isbn, "isbn ", 5) == 0) isbn += 5;
    char digits[16];
    size_t nd = 0;
    int ok = 1;
    for (const char *p = isbn; *p && ok; p++) {
      if (*p >= '0' && *p <= '9') {
        if (nd < 13) digits[nd] = *p;
        nd++;
      } else if ((*p == 'X' || *p == 'x') && nd == 9) {
        digits[nd++] = 'X';
      } else if (*p != '-' && *p != ' ') {
        ok = 0;
      }
    }
    if (ok && (nd == 10 || nd == 13)) {
      digits[nd] = 0;
      E->identifier = ts_arena_printf(E->a, "urn:isbn:%s", digits);
    } else {
      E->identifier = ts_arena_strdup(E->a, id);
    }
    return E->identifier ? TS_OK : TS_ERR_NOMEM;
  }
  ts_sha256 s;
  ts_sha256_init(&s);
  ts_sha256_update(&s, "typeset-epub\n", 13);
  ts_sha256_update(&s, E->title, strlen(E->title) + 1);
  /* each file's bytes through the fast hash, its digest into SHA-256 (the
   * fonts and images made SHA-256 a tenth of an EPUB's time) */
  uint8_t fd[32];
  for (size_t i = 0; i < E->n_files; i++) {
    ts_sha256_update(&s, E->files[i].name, strlen(E->files[i].name) + 1);
    ts_hash_fast256(E->files[i].data, E->files[i].len, fd);
    ts_sha256_update(&s, fd, sizeof fd);
  }
  for (size_t i = 0; i < E->n_images; i++) {
    ts_hash_fast256(E->images[i].data, E->images[i].len, fd);
    ts_sha256_update(&s, fd, sizeof fd);
  }
  uint8_t h[32];
  ts_sha256_final(&s, h);
  h[6] = (uint8_t)((h[6] & 0x0F) | 0x50);
  h[8] = (uint8_t)((h[8] & 0x3F) | 0x80);
  E->identifier = ts_arena_printf(
      E->a, "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
      h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13],
      h[14], h[15]);
  return E->identifier ? TS_OK : TS_ERR_NOMEM;
}

static void epub_free(epub *E) {
  for (size_t i = 0; i < E->n_files; i++) free(E->files[i].data);
  for (size_t i = 0; i < E->n_images; i++) ts_blob_unref(E->images[i].bytes);
  for (size_t i = 0; i < E->n_fonts; i++) ts_blob_unref(E->fonts[i].z);
  free(E->css);
  free(E->opf);
  free(E->nav);
  free(E->ncx);
  ts_cpset_free(&E->cps);
  ts_arena_destroy(E->a);
}

/* Everything but the container: the files to put in the ZIP. */
static ts_status epub_build(epub *E, const ts_layout *print) {
  ts_status st = TS_OK;
  const ts_meta *m = &E->doc->meta;
  E->a = ts_arena_create(0);
  ts_cpset_init(&E->cps);
  if (!E->a) return TS_ERR_NOMEM;
  E->head_by_id.strkeys = 1;
  E->used_ids.strkeys = 1;
  E->image_by_url.strkeys = 1;
  E->image_by_real.strkeys = 1;
  E->image_names.strkeys = 1;
  E->lang = valid_lang(m->lang);
  {
    static const char *const rtl_langs[] = {"ar", "he", "iw", "fa", "ur", "yi", "ps",
                                            "sd", "ug", "dv", "ckb", "syr"};
    size_t ll = strcspn(E->lang, "-");
    for (size_t i = 0; i < sizeof rtl_langs / sizeof rtl_langs[0]; i++)
      if (strlen(rtl_langs[i]) == ll && strncasecmp(E->lang, rtl_langs[i], ll) == 0) E->rtl = 1;
  }
  /* a title is required: metadata, else the first heading, else the file */
  E->title = (m->title && m->title[0]) ? m->title : NULL;
  if (!E->title) {
    for (ts_node *c = E->doc->root->first; c && !E->title; c = c->next)
      if (c->type == TS_NODE_HEADING) {
        const char *t = plain_text(E, c);
        if (!t) return TS_ERR_NOMEM;
        if (t[0]) E->title = t;
      }
  }
  if (!E->title) {
    const char *p = E->doc->path ? strrchr(E->doc->path, '/') : NULL;
    p = p ? p + 1 : E->doc->path;
    E->title = (p && p[0]) ? p : "Untitled";
  }
  /* numbers and marks the writer adds */
  if (!ts_cpset_add_range(&E->cps, 0x20, 0x7E)) return TS_ERR_NOMEM;

  int y, mo, d;
  int set = 0;
  E->modified = ts_ctx_epoch(E->ctx, &set);
  if (!set) {
    if (parse_date(m->date, &y, &mo, &d)) E->modified = days_from_civil(y, mo, d) * 86400;
    else E->modified = 946684800; /* 2000-01-01T00:00:00Z: never the clock */
  }

  TS_CHECK(split_chapters(E));
  TS_CHECK(collect_headings(E));
  TS_CHECK(collect_images(E));
  TS_CHECK(pages_init(E, print));
  TS_CHECK(render_files(E));
  TS_CHECK(make_identifier(E));
  TS_CHECK(epub_embed_fonts(E));
  TS_CHECK(epub_write_css(E));
  TS_CHECK(epub_write_nav(E));
  TS_CHECK(epub_write_ncx(E));
  TS_CHECK(epub_write_opf(E));
done:
  return st;
}

void epub_format_modified(const epub *E, char *out, size_t n) {
  int64_t t = E->modified;
  if (t < 0) t = 0;
  if (t > 253402300799LL) t = 253402300799LL; /* 9999-12-31T23:59:59Z */
  int64_t y;
  int mo, d, h, mi, s;
  epoch_to_parts(t, &y, &mo, &d, &h, &mi, &s);
  /* fits the caller's 40 bytes: the year is clamped to 4 digits, 20 bytes in all */
  (void)snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, mo, d, h, mi, s);
}

const char *epub_dc_date(const epub *E) {
  int y, m, d;
  int parts = parse_date(E->doc->meta.date, &y, &m, &d);
  if (!parts) return NULL;
  if (parts == 1) return ts_arena_printf(E->a, "%04d", y);
  if (parts == 2) return ts_arena_printf(E->a, "%04d-%02d", y, m);
  return ts_arena_printf(E->a, "%04d-%02d-%02d", y, m, d);
}

static ts_status prepare(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                         const ts_layout *print, ts_diag *d, epub *E, ts_style **own_style) {
  memset(E, 0, sizeof *E);
  *own_style = NULL;
  if (!ctx || !doc || !doc->root) return TS_ERR_USAGE;
  if (!style) {
    *own_style = ts_style_default();
    if (!*own_style) return TS_ERR_NOMEM;
    style = *own_style;
  }
  E->ctx = ctx;
  E->doc = doc;
  E->style = style;
  ts_diag_init(&E->own_diag, NULL);
  E->d = d ? d : &E->own_diag;
  return epub_build(E, print);
}

ts_status ts_epub_write_mem(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                            const ts_layout *print, unsigned char **data, size_t *len,
                            ts_diag *d) {
  ts_status st = TS_OK;
  epub E;
  ts_style *own = NULL;
  if (!data || !len) return TS_ERR_USAGE;
  *data = NULL;
  *len = 0;
  TS_CHECK(prepare(ctx, doc, style, print, d, &E, &own));
  TS_CHECK(zip_fill(&E, -1, NULL, data, len));
done:
  if (E.a || E.cps.r) epub_free(&E);
  ts_style_destroy(own);
  return st;
}

ts_status ts_epub_write_out(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                            const ts_layout *print, ts_out *o, ts_diag *d) {
  ts_status st = TS_OK;
  epub E;
  ts_style *own = NULL;
  if (!o || !o->fp) return TS_ERR_USAGE;
  TS_CHECK(prepare(ctx, doc, style, print, d, &E, &own));
  /* libzip writes the file at its positions (pwrite); nothing goes
   * through o->fp's buffer, which stays empty */
  TS_CHECK(zip_fill(&E, fileno(o->fp), o->path, NULL, NULL));
done:
  if (E.a || E.cps.r) epub_free(&E);
  ts_style_destroy(own);
  return st;
}

ts_status ts_epub_write(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                        const char *path, ts_diag *d) {
  ts_out o;
  if (!path) return TS_ERR_USAGE;
  ts_status st = ts_out_open(&o, path);
  if (st != TS_OK) {
    ts_diag_report(d, TS_ERROR, path, 0, 0, "cannot write the EPUB: %s", strerror(errno));
    return st;
  }
  st = ts_epub_write_out(ctx, doc, style, NULL, &o, d);
  if (st != TS_OK) {
    ts_out_abort(&o);
    return st;
  }
  if ((st = ts_out_commit(&o)) != TS_OK)
    ts_diag_report(d, TS_ERROR, path, 0, 0, "cannot write the EPUB: %s", strerror(errno));
  return st;
}
