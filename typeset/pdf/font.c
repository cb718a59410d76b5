/* font.c — glyph runs as PDF text: one Type 0 / Identity-H font per face,
 * text operators with TJ adjustments, and the subset font programs
 * (harfbuzz-subset), /W widths, FontDescriptor and ToUnicode CMap.
 *
 * Every run is collected before anything is drawn, so each face is subset
 * once, before drawing, from the document's whole glyph set.  Codes:
 *   TrueType        — original glyph ids, with a CIDToGIDMap to the subset's
 *                     (CIDFontType2, FontFile2);
 *   CID-keyed CFF   — the glyph's CFF CID, which the subsetter keeps, so the
 *                     bare CFF table goes in as FontFile3 /CIDFontType0C;
 *   name-keyed CFF  — the subset's glyph ids: an OpenType program
 *                     (FontFile3 /OpenType) whose CIDs are glyph ids
 *                     (ISO 32000-1 §9.7.4.2).
 * These were checked with poppler, qpdf and pdffonts: see shared
 * notes/pdf-glyphs.md. */
#include "pdf_int.h"

#include "fonts/hbsubset_api.h"
#include <libdeflate.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Longest ToUnicode destination (code units): the CMap format allows 512
 * bytes; ActualText is a PDF string (65,535 bytes in libharu). */
#define TOUNI_MAX_UNITS 120
#define ACTUAL_MAX_UNITS 4000

int pdf_glyph_w1000(const ts_face *f, uint32_t gid) {
  hb_font_t *font = ts_face_font(f);
  if (!font || f->upem == 0) return 0;
  hb_position_t adv = hb_font_get_glyph_h_advance(font, gid);
  return (int)lround((double)adv * 1000.0 / (double)f->upem);
}

void pdf_utf16be(ts_buf *b, const char *s, size_t n, size_t max_units) {
  size_t units = 0, i = 0;
  while (i < n) {
    uint32_t cp;
    size_t l = ts_utf8_decode(s + i, n - i, &cp);
    i += l ? l : 1;
    unsigned char u[4];
    if (cp >= 0x10000) {
      if (units + 2 > max_units) break;
      uint32_t v = cp - 0x10000, hi = 0xD800 + (v >> 10), lo = 0xDC00 + (v & 0x3FF);
      u[0] = (unsigned char)(hi >> 8); u[1] = (unsigned char)hi;
      u[2] = (unsigned char)(lo >> 8); u[3] = (unsigned char)lo;
      ts_buf_append(b, u, 4);
      units += 2;
    } else {
      if (units + 1 > max_units) break;
      u[0] = (unsigned char)(cp >> 8); u[1] = (unsigned char)cp;
      ts_buf_append(b, u, 2);
      units += 1;
    }
  }
}

/* Appends the first n (<= PUT_MAX) bytes of tmp, a PUT_MAX-byte array, to
 * b.  While b has room this is a fixed-size copy, which the compiler inlines:
 * the per-glyph output is one such append instead of a call per piece (the
 * bytes copied past n are overwritten by the next append or lie past the
 * NUL). */
#define PUT_MAX 48
static inline void put_small(ts_buf *b, const char *tmp, size_t n) {
  if (!b->oom && b->cap - b->len > PUT_MAX) {
    memcpy(b->data + b->len, tmp, PUT_MAX);
    b->len += n;
    b->data[b->len] = 0;
  } else {
    ts_buf_append(b, tmp, n);
  }
}

static const char hex_digits[] = "0123456789ABCDEF";

static void put_hex(ts_buf *b, const unsigned char *p, size_t n) {
  char tmp[PUT_MAX];
  while (n > 0) {
    size_t k = n < PUT_MAX / 2 ? n : PUT_MAX / 2;
    for (size_t i = 0; i < k; i++) {
      tmp[2 * i] = hex_digits[p[i] >> 4];
      tmp[2 * i + 1] = hex_digits[p[i] & 15];
    }
    put_small(b, tmp, 2 * k);
    p += k;
    n -= k;
  }
}

/* Writes " -123 ", an integer TJ adjustment, at o (at most 23 bytes; printf
 * was the hot spot); returns the end. */
static char *fmt_adj(char *o, int64_t v) {
  char d[20];
  int k = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do { d[k++] = (char)('0' + u % 10); u /= 10; } while (u);
  *o++ = ' ';
  if (v < 0) *o++ = '-';
  while (k > 0) *o++ = d[--k];
  *o++ = ' ';
  return o;
}

/* Writes a code's 4 hex digits at o; returns the end. */
static char *fmt_code(char *o, uint32_t code) {
  o[0] = hex_digits[(code >> 12) & 15];
  o[1] = hex_digits[(code >> 8) & 15];
  o[2] = hex_digits[(code >> 4) & 15];
  o[3] = hex_digits[code & 15];
  return o + 4;
}

static void put_code(ts_buf *b, uint32_t code) {
  char c[4];
  fmt_code(c, code);
  ts_buf_append(b, c, 4);
}

/* llround (half away from zero) without the libm call, for TJ positions;
 * exact where |x| < 2^52, since x - trunc(x) is then representable, and
 * llround itself elsewhere (huge, infinite or NaN), so results are the same. */
#define TWO_POW_52 4503599627370496.0 /* decimal: cppcheck 2.10 misreads 0x1p52 */
static inline int64_t round_half_away(double x) {
  if (!(x > -TWO_POW_52 && x < TWO_POW_52)) return llround(x);
  int64_t r = (int64_t)x;
  double f = x - (double)r;
  return f >= 0.5 ? r + 1 : f <= -0.5 ? r - 1 : r;
}

/* The code written for a glyph (see the file comment). */
static uint32_t glyph_code(const pdf_face *pf, uint32_t gid) {
  const ts_face *f = pf->face;
  if (f->is_cid && f->gid_to_cid && gid < f->num_glyphs) return f->gid_to_cid[gid];
  if (pf->remap) {
    hb_codepoint_t ng = hb_map_get(pf->old2new, gid);
    return ng == HB_MAP_VALUE_INVALID ? 0 : ng;
  }
  return gid;
}

static uint32_t valid_gid(const ts_face *f, uint32_t gid) {
  /* A glyph id beyond the face is a bug upstream: draw .notdef. */
  if (TS_NEVER(gid >= f->num_glyphs || gid > 0xFFFF)) return 0;
  return gid;
}

ts_status pdf_face_get(pdf_w *w, const ts_face *face, pdf_face **out) {
  for (size_t i = 0; i < w->n_faces; i++)
    if (w->faces[i].face == face) { *out = &w->faces[i]; return TS_OK; }
  if (w->n_faces == w->cap_faces) {
    size_t nc = w->cap_faces ? w->cap_faces * 2 : 8;
    pdf_face *nf = realloc(w->faces, nc * sizeof *nf);
    if (!nf) return TS_ERR_NOMEM;
    w->faces = nf;
    w->cap_faces = nc;
  }
  pdf_face *pf = &w->faces[w->n_faces];
  memset(pf, 0, sizeof *pf);
  pf->face = face;
  pf->used = hb_set_create();
  w->n_faces++; /* counted now so pdf_fonts_free releases the set */
  if (!hb_set_allocation_successful(pf->used)) return TS_ERR_NOMEM;
  /* Per glyph id: text, width and code, each found once (through hb_map
   * and hb_font's callbacks these were most of the per-glyph time).  Glyph
   * ids reaching it pass valid_gid: below num_glyphs, or 0. */
  pf->g = calloc(face->num_glyphs ? face->num_glyphs : 1, sizeof *pf->g);
  if (!pf->g) return TS_ERR_NOMEM;
  hb_set_add(pf->used, 0); /* .notdef is always kept */
  pf->g[0].flags = PDF_G_USED;
  pf->type0 = HPDF_Dict_New(w->pdf->mmgr);
  if (!pf->type0 || HPDF_Xref_Add(w->pdf->xref, pf->type0) != HPDF_OK)
    return TS_ERR_INTERNAL;
  *out = pf;
  return TS_OK;
}

void pdf_fonts_free(pdf_w *w) {
  for (size_t i = 0; i < w->n_faces; i++) {
    hb_set_destroy(w->faces[i].used);
    hb_face_destroy(w->faces[i].sub);
    hb_blob_destroy(w->faces[i].prog);
    ts_blob_unref(w->faces[i].prog_zb);
    if (w->faces[i].plan) /* made here, so harfbuzz-subset is open */
      hb_subset_plan_destroy(w->faces[i].plan);
    hb_map_destroy(w->faces[i].own_map);
    free(w->faces[i].g);
  }
  free(w->faces);
  w->faces = NULL;
  w->n_faces = w->cap_faces = 0;
  free(w->texts);
  w->texts = NULL;
  w->n_texts = w->cap_texts = 0;
  free(w->tmp);
  w->tmp = NULL;
  w->cap_tmp = 0;
  free(w->ri);
  w->ri = NULL;
  w->ri_cap = w->ri_n = 0;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static uint32_t clamp_cluster(const ts_run *r, uint32_t c) {
  return c > r->text_len ? r->text_len : c;
}

/* How the end of each cluster of a run is found.  Runs are monotonic
 * (left-to-right non-decreasing, right-to-left non-increasing), and there
 * the next larger cluster start is that of the neighbouring group of glyphs;
 * other runs look it up among their sorted distinct starts in w->tmp. */
typedef struct clusters {
  int order; /* 1 non-decreasing, -1 non-increasing, 0 by table */
  size_t nb; /* order 0: distinct starts in w->tmp */
} clusters;

static ts_status clusters_prepare(pdf_w *w, const ts_run *r, clusters *cl) {
  int up = 1, down = 1;
  for (uint32_t i = 1; i < r->n && (up || down); i++) {
    uint32_t a = clamp_cluster(r, r->glyphs[i - 1].cluster);
    uint32_t b = clamp_cluster(r, r->glyphs[i].cluster);
    if (b < a) up = 0;
    if (b > a) down = 0;
  }
  cl->order = up ? 1 : down ? -1 : 0;
  cl->nb = 0;
  if (cl->order != 0) return TS_OK;
  if (r->n > w->cap_tmp) {
    uint32_t *nt = realloc(w->tmp, (size_t)r->n * sizeof *nt);
    if (!nt) return TS_ERR_NOMEM;
    w->tmp = nt;
    w->cap_tmp = r->n;
  }
  for (uint32_t i = 0; i < r->n; i++) w->tmp[i] = clamp_cluster(r, r->glyphs[i].cluster);
  qsort(w->tmp, r->n, sizeof *w->tmp, cmp_u32);
  size_t k = 0;
  for (uint32_t i = 0; i < r->n; i++)
    if (k == 0 || w->tmp[k - 1] != w->tmp[i]) w->tmp[k++] = w->tmp[i];
  cl->nb = k;
  return TS_OK;
}

/* End of the cluster starting at c, made of glyphs [i, j): the next larger
 * start, else the text's end. */
static uint32_t cluster_end(const pdf_w *w, const clusters *cl, const ts_run *r, uint32_t i,
                            uint32_t j, uint32_t c) {
  if (cl->order > 0) return j < r->n ? clamp_cluster(r, r->glyphs[j].cluster) : r->text_len;
  if (cl->order < 0) return i > 0 ? clamp_cluster(r, r->glyphs[i - 1].cluster) : r->text_len;
  size_t lo = 0, hi = cl->nb;
  while (lo < hi) { /* first start > c */
    size_t mid = (lo + hi) / 2;
    if (w->tmp[mid] <= c) lo = mid + 1; else hi = mid;
  }
  return lo < cl->nb ? w->tmp[lo] : r->text_len;
}

/* The cluster starting at glyph i (start c): *j its end glyph, the return
 * value its end in the text (cluster_end); in a left-to-right run the next
 * start is read once. */
static inline uint32_t next_cluster(const pdf_w *w, const clusters *cl, const ts_run *r,
                                    uint32_t i, uint32_t c, uint32_t *j) {
  uint32_t k = i + 1;
  if (cl->order > 0) {
    for (; k < r->n; k++) {
      uint32_t ck = clamp_cluster(r, r->glyphs[k].cluster);
      if (ck != c) {
        *j = k;
        return ck;
      }
    }
    *j = k;
    return r->text_len;
  }
  while (k < r->n && clamp_cluster(r, r->glyphs[k].cluster) == c) k++;
  *j = k;
  return cluster_end(w, cl, r, i, k, c);
}

/* A cluster's text for extraction: a soft hyphen (U+00AD, where the text
 * engine may point a hyphen inserted at a line break) reads as "-". */
static void cluster_text(const ts_run *r, uint32_t c, uint32_t end, const char **s,
                         uint32_t *len) {
  *s = r->text + c;
  *len = end - c;
  if (*len == 2 && memcmp(*s, "\xC2\xAD", 2) == 0) {
    *s = "-";
    *len = 1;
  }
}

static ts_status add_text(pdf_w *w, const char *s, uint32_t len, uint32_t *idx) {
  if (w->n_texts >= UINT32_MAX - 1) return TS_ERR_LIMIT; /* indices are stored + 1 */
  if (w->n_texts == w->cap_texts) {
    size_t nc = w->cap_texts ? w->cap_texts * 2 : 256;
    pdf_text *nt = realloc(w->texts, nc * sizeof *nt);
    if (!nt) return TS_ERR_NOMEM;
    w->texts = nt;
    w->cap_texts = nc;
  }
  w->texts[w->n_texts].s = s;
  w->texts[w->n_texts].len = len;
  *idx = (uint32_t)w->n_texts++;
  return TS_OK;
}

/* memcmp(a, b, n) == 0, without the call for a glyph's few bytes. */
static inline int same_bytes(const char *a, const char *b, uint32_t n) {
  if (n > 8) return memcmp(a, b, n) == 0;
  for (uint32_t k = 0; k < n; k++)
    if (a[k] != b[k]) return 0;
  return 1;
}

/* ---- What collect learns of a run for show ------------------------------
 * Its cluster order, and whether it is plain: no cluster with text needs an
 * ActualText span (each is one glyph whose first text, text1, is the
 * cluster's: text1 is set once, by the first run that shows the glyph, so
 * what collect sees here is what show would find).  A plain run is shown
 * glyph by glyph without looking at its clusters again. */
typedef struct pdf_runinfo {
  const ts_run *run; /* NULL: free slot */
  int order;         /* as clusters.order */
  uint8_t plain;
} pdf_runinfo;

static size_t ri_slot(const pdf_runinfo *t, size_t cap, const ts_run *r) {
  size_t h = (size_t)(((uintptr_t)r >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
  while (t[h].run && t[h].run != r) h = (h + 1) & (cap - 1);
  return h;
}

/* Records what collect learnt of r (a run collected twice keeps its first
 * answer: the same run gives the same one). */
static ts_status ri_put(pdf_w *w, const ts_run *r, int order, int plain) {
  if (2 * (w->ri_n + 1) > w->ri_cap) {
    size_t nc = w->ri_cap ? w->ri_cap * 2 : 1024;
    pdf_runinfo *nt = calloc(nc, sizeof *nt);
    if (!nt) return TS_ERR_NOMEM;
    for (size_t i = 0; i < w->ri_cap; i++)
      if (w->ri[i].run) nt[ri_slot(nt, nc, w->ri[i].run)] = w->ri[i];
    free(w->ri);
    w->ri = nt;
    w->ri_cap = nc;
  }
  size_t h = ri_slot(w->ri, w->ri_cap, r);
  if (w->ri[h].run) return TS_OK;
  w->ri[h] = (pdf_runinfo){r, order, (uint8_t)plain};
  w->ri_n++;
  return TS_OK;
}

static const pdf_runinfo *ri_get(const pdf_w *w, const ts_run *r) {
  if (!w->ri_cap) return NULL;
  const pdf_runinfo *e = &w->ri[ri_slot(w->ri, w->ri_cap, r)];
  return e->run ? e : NULL;
}

ts_status pdf_fonts_collect(pdf_w *w, const ts_run *r) {
  ts_status st = TS_OK;
  pdf_face *pf;
  clusters cl;
  TS_CHECK(pdf_face_get(w, r->face, &pf));
  TS_CHECK(clusters_prepare(w, r, &cl));
  int plain = 1;
  for (uint32_t i = 0, j; i < r->n; i = j) {
    uint32_t c = clamp_cluster(r, r->glyphs[i].cluster);
    uint32_t end = next_cluster(w, &cl, r, i, c, &j);
    int single = j - i == 1;
    uint32_t tl = 0;
    const char *ts = NULL;
    if (end > c) cluster_text(r, c, end, &ts, &tl);
    for (uint32_t k = i; k < j; k++) {
      uint32_t gid = valid_gid(r->face, r->glyphs[k].gid);
      pdf_glyph *pg = &pf->g[gid];
      if (!(pg->flags & PDF_G_USED)) {
        hb_set_add(pf->used, gid);
        pg->flags |= PDF_G_USED;
      }
      uint32_t *slot = single ? &pg->text1 : &pg->fallback1;
      if (end > c && *slot == 0) {
        uint32_t idx;
        TS_CHECK(add_text(w, ts, tl, &idx));
        *slot = idx + 1;
      }
    }
    if (tl > 0 && plain) { /* as pdf_fonts_show decides on ActualText */
      if (!single) {
        plain = 0;
      } else {
        uint32_t t1 = pf->g[valid_gid(r->face, r->glyphs[i].gid)].text1;
        const pdf_text *tx = t1 ? &w->texts[t1 - 1] : NULL;
        plain = tx && tx->len == tl && same_bytes(tx->s, ts, tl);
      }
    }
  }
  if (!hb_set_allocation_successful(pf->used)) st = TS_ERR_NOMEM;
  else st = ri_put(w, r, cl.order, plain);
done:
  return st;
}

/* ---- Text operators -------------------------------------------------------*/

/* A glyph's two-byte code in a literal string: the bytes themselves, half
 * the size of hex digits (the content streams of a long book were a sixth
 * smaller, and deflating them a third faster), with ( ) \ escaped and CR
 * and LF written as \r and \n (a reader turns a bare end-of-line in a
 * string into LF).  At most 4 bytes. */
static char *str_code(char *o, uint32_t code) {
  unsigned char by[2] = {(unsigned char)(code >> 8), (unsigned char)code};
  for (int i = 0; i < 2; i++) {
    unsigned char c = by[i];
    if (c == '(' || c == ')' || c == '\\') {
      *o++ = '\\';
      *o++ = (char)c;
    } else if (c == '\r' || c == '\n') {
      *o++ = '\\';
      *o++ = c == '\r' ? 'r' : 'n';
    } else {
      *o++ = (char)c;
    }
  }
  return o;
}

typedef struct tj_state {
  int in_array, in_str;
  int64_t pen;   /* text-space position in 1/1000 em of the current size */
  double rise;
} tj_state;

static void tj_close(ts_buf *b, tj_state *t) {
  if (t->in_str) ts_buf_putc(b, ')');
  if (t->in_array) ts_buf_puts(b, "] TJ\n");
  t->in_str = t->in_array = 0;
}

/* A glyph's offsets, kept finite and within a page's reach (1e5 pt). */
static double sane(float v) {
  if (v >= -1e5f && v <= 1e5f) return (double)v; /* NaN fails both */
  return !isfinite(v) ? 0.0 : v > 0 ? 1e5 : -1e5;
}
static double gx_of(const ts_glyph *g) { return sane(g->x); }
/* the y offset of glyph k of an array whose offsets are ys (NULL: none) */
static double gy_at(const float *ys, uint32_t k) { return ys ? sane(ys[k]) : 0.0; }

/* One glyph at its absolute position in the run: a TJ adjustment from the
 * pen (whole 1/1000 em, computed from absolute positions so rounding never
 * accumulates), Ts for a y offset. */
static inline void emit_glyph(ts_buf *b, tj_state *t, pdf_face *pf, const ts_glyph *g,
                       double gy, double size) {
  const ts_face *f = pf->face;
  uint32_t gid = valid_gid(f, g->gid);
  if (fabs(gy - t->rise) > 0.0005) {
    tj_close(b, t);
    ts_buf_num(b, gy, 3);
    ts_buf_puts(b, " Ts\n");
    t->rise = gy;
  }
  char tmp[PUT_MAX], *o = tmp; /* at most 1 + 1 + 23 + 1 + 4 bytes */
  if (!t->in_array) { *o++ = '['; t->in_array = 1; }
  int64_t target = round_half_away(gx_of(g) * 1000.0 / size);
  int64_t adj = t->pen - target;
  if (adj != 0) {
    if (t->in_str) { *o++ = ')'; t->in_str = 0; }
    o = fmt_adj(o, adj);
  }
  if (!t->in_str) { *o++ = '('; t->in_str = 1; }
  pdf_glyph *pg = &pf->g[gid];
  if (!(pg->flags & PDF_G_CODE)) { /* escaped once per glyph, copied after */
    pg->esc_n = (uint8_t)(str_code(pg->esc, glyph_code(pf, gid)) - pg->esc);
    pg->flags |= PDF_G_CODE;
  }
  memcpy(o, pg->esc, sizeof pg->esc); /* tmp has room for the 4 (PUT_MAX) */
  o += pg->esc_n;
  put_small(b, tmp, (size_t)(o - tmp));
  if (!(pg->flags & PDF_G_WIDTH)) {
    pg->w1000 = pdf_glyph_w1000(f, gid);
    pg->flags |= PDF_G_WIDTH;
  }
  t->pen = target + pg->w1000;
}

static double glyph_end(const ts_face *f, const ts_glyph *g, double size) {
  return gx_of(g) + pdf_glyph_w1000(f, valid_gid(f, g->gid)) * size / 1000.0;
}

/* Glyphs of a multi-glyph cluster inside an ActualText span.  poppler gives
 * the span the box from the first glyph's origin (and baseline) to the last
 * glyph's end, and breaks words at gaps over 0.1 em or baseline shifts over
 * 0.5 pt (TextOutputDev's minWordBreakSpace): in HarfBuzz's visual order an
 * Arabic mark (offset right and down) comes before its base, which would
 * split words at every vowel sign.  So the leftmost glyph on the baseline is
 * drawn first, and when another glyph ends further right than the last one
 * drawn, it is repeated at the end in invisible mode (3 Tr) so the span
 * covers the whole cluster.  Drawing order inside a cluster does not change
 * the picture (one colour). */
static void emit_cluster(ts_buf *b, tj_state *t, pdf_face *pf, const ts_glyph *gs,
                         const float *ys, uint32_t n, double size) {
  const ts_face *f = pf->face;
  uint32_t first = 0, maxend = 0;
  for (uint32_t k = 1; k < n; k++) {
    double xk = gx_of(&gs[k]), xf = gx_of(&gs[first]);
    int on_base_k = fabs(gy_at(ys, k)) < 0.0005, on_base_f = fabs(gy_at(ys, first)) < 0.0005;
    if (xk < xf - 0.0005 || (fabs(xk - xf) <= 0.0005 && on_base_k && !on_base_f)) first = k;
    if (glyph_end(f, &gs[k], size) > glyph_end(f, &gs[maxend], size) + 0.0005) maxend = k;
  }
  emit_glyph(b, t, pf, &gs[first], gy_at(ys, first), size);
  uint32_t last = first;
  for (uint32_t k = 0; k < n; k++) {
    if (k == first) continue;
    emit_glyph(b, t, pf, &gs[k], gy_at(ys, k), size);
    last = k;
  }
  if (glyph_end(f, &gs[maxend], size) > glyph_end(f, &gs[last], size) + 0.01) {
    tj_close(b, t);
    ts_buf_puts(b, "3 Tr\n");
    emit_glyph(b, t, pf, &gs[maxend], gy_at(ys, maxend), size);
    tj_close(b, t);
    ts_buf_puts(b, "0 Tr\n");
  }
}

ts_status pdf_fonts_show(pdf_w *w, pdf_face *pf, const ts_run *r) {
  ts_status st = TS_OK;
  ts_buf *b = &w->cs;
  ts_buf u16;
  ts_buf_init(&u16);
  clusters cls;
  double size = r->size;
  tj_state t = {0, 0, 0, 0.0};
  const pdf_runinfo *ri = ri_get(w, r);
  if (ri && ri->plain) { /* every glyph as it is (what the loop below does for it) */
    for (uint32_t k = 0; k < r->n; k++) emit_glyph(b, &t, pf, &r->glyphs[k], gy_at(r->ys, k), size);
    goto end;
  }
  if (ri && ri->order != 0) {
    cls.order = ri->order;
    cls.nb = 0;
  } else {
    TS_CHECK(clusters_prepare(w, r, &cls));
  }
  for (uint32_t i = 0, j; i < r->n; i = j) {
    uint32_t c = clamp_cluster(r, r->glyphs[i].cluster);
    uint32_t end = next_cluster(w, &cls, r, i, c, &j);
    /* A cluster the per-glyph ToUnicode map cannot express gets its own
     * ActualText span (never a whole right-to-left run: poppler would
     * reverse it). */
    int actual = 0;
    const char *ct;
    uint32_t cl;
    cluster_text(r, c, end, &ct, &cl);
    if (cl > 0) {
      if (j - i > 1) {
        actual = 1;
      } else {
        uint32_t gid = valid_gid(r->face, r->glyphs[i].gid);
        uint32_t t1 = pf->g[gid].text1;
        const pdf_text *tx = t1 ? &w->texts[t1 - 1] : NULL;
        actual = !tx || tx->len != cl || !same_bytes(tx->s, ct, cl);
      }
    }
    if (!actual) {
      for (uint32_t k = i; k < j; k++) emit_glyph(b, &t, pf, &r->glyphs[k], gy_at(r->ys, k), size);
      continue;
    }
    tj_close(b, &t);
    ts_buf_clear(&u16);
    pdf_utf16be(&u16, ct, cl, ACTUAL_MAX_UNITS);
    ts_buf_puts(b, "/Span <</ActualText <FEFF");
    put_hex(b, (const unsigned char *)u16.data, u16.len);
    ts_buf_puts(b, ">>> BDC\n");
    emit_cluster(b, &t, pf, r->glyphs + i, r->ys ? r->ys + i : NULL, j - i, size);
    tj_close(b, &t);
    ts_buf_puts(b, "EMC\n");
  }
end:
  tj_close(b, &t);
  if (t.rise != 0.0) ts_buf_puts(b, "0 Ts\n");
  if (b->oom || u16.oom) st = TS_ERR_NOMEM;
done:
  ts_buf_free(&u16);
  return st;
}

/* ---- Embedding --------------------------------------------------------------*/

typedef struct code_entry {
  uint32_t code, gid;
} code_entry;

static int cmp_code(const void *a, const void *b) {
  const code_entry *x = a, *y = b;
  if (x->code != y->code) return x->code < y->code ? -1 : 1;
  return x->gid < y->gid ? -1 : x->gid > y->gid;
}

static HPDF_Dict new_stream(pdf_w *w) {
  HPDF_Dict s = HPDF_DictStream_New(w->pdf->mmgr, w->pdf->xref);
  if (s && w->compress) s->filter = HPDF_STREAM_FILTER_FLATE_DECODE;
  return s;
}

/* PostScript name usable in a PDF name: printable ASCII without delimiters. */
static void clean_psname(const char *in, char *out, size_t cap) {
  size_t k = 0;
  for (const char *p = in ? in : ""; *p && k + 1 < cap && k < 100; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch <= 32 || ch >= 127 || strchr("()<>[]{}/%#", ch)) continue;
    out[k++] = (char)ch;
  }
  if (k == 0) {
    const char *u = "Unknown";
    while (*u && k + 1 < cap) out[k++] = *u++;
  }
  out[k] = 0;
}

static int scale1000(const ts_face *f, int v) {
  return f->upem ? (int)lround((double)v * 1000.0 / (double)f->upem) : v;
}

static ts_status write_tounicode(pdf_w *w, pdf_face *pf, const code_entry *ce,
                                 size_t n, HPDF_Dict *out) {
  ts_status st = TS_OK;
  ts_buf b, u16;
  ts_buf_init(&b);
  ts_buf_init(&u16);
  ts_buf_puts(&b,
              "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
              "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
              "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
              "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n");
  /* Glyphs drawn with no text of their own (a hyphen whose cluster lies past
   * its run's text, say) read as the code point the cmap maps to them. */
  hb_map_t *rev = NULL;
  for (size_t k = 0; k < n && !rev; k++) {
    uint32_t gid = ce[k].gid;
    if (gid != 0 && !pf->g[gid].text1 && !pf->g[gid].fallback1) {
      rev = hb_map_create();
      if (!hb_map_allocation_successful(rev)) { st = TS_ERR_NOMEM; goto done; }
      const ts_cpset *u = &pf->face->unicodes;
      hb_font_t *font = ts_face_font(pf->face);
      for (size_t r = 0; r < u->n; r++)
        for (uint64_t cp = u->r[r].lo; cp <= u->r[r].hi; cp++) {
          hb_codepoint_t g;
          /* the lowest code point wins ('-' before U+2010) */
          if (hb_font_get_nominal_glyph(font, (hb_codepoint_t)cp, &g) && hb_set_has(pf->used, g) &&
              !hb_map_has(rev, g))
            hb_map_set(rev, g, (hb_codepoint_t)cp);
        }
      if (!hb_map_allocation_successful(rev)) { st = TS_ERR_NOMEM; goto done; }
    }
  }
  /* Entries with text, in code order, at most 100 per block. */
  size_t i = 0;
  while (i < n) {
    size_t cnt = 0, k = i;
    ts_buf blk;
    ts_buf_init(&blk);
    for (; k < n && cnt < 100; k++) {
      if (k > 0 && ce[k].code == ce[k - 1].code) continue; /* one mapping per code */
      uint32_t gid = ce[k].gid;
      const pdf_text *tx = NULL;
      if (pf->g[gid].text1) tx = &w->texts[pf->g[gid].text1 - 1];
      else if (pf->g[gid].fallback1) tx = &w->texts[pf->g[gid].fallback1 - 1];
      char one[4];
      pdf_text cmap_tx;
      if (!tx && rev && hb_map_has(rev, gid)) {
        cmap_tx.s = one;
        cmap_tx.len = (uint32_t)ts_utf8_encode(hb_map_get(rev, gid), one);
        tx = &cmap_tx;
      }
      if (!tx || tx->len == 0) continue;
      ts_buf_clear(&u16);
      pdf_utf16be(&u16, tx->s, tx->len, TOUNI_MAX_UNITS);
      if (u16.len == 0) continue;
      ts_buf_putc(&blk, '<');
      put_code(&blk, ce[k].code);
      ts_buf_puts(&blk, "> <");
      put_hex(&blk, (const unsigned char *)u16.data, u16.len);
      ts_buf_puts(&blk, ">\n");
      cnt++;
    }
    if (cnt) {
      ts_buf_printf(&b, "%zu beginbfchar\n", cnt);
      ts_buf_append(&b, blk.data, blk.len);
      ts_buf_puts(&b, "endbfchar\n");
    }
    int oom = blk.oom;
    ts_buf_free(&blk);
    if (oom) { st = TS_ERR_NOMEM; goto done; }
    i = k;
  }
  ts_buf_puts(&b, "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
  if (b.oom || u16.oom) { st = TS_ERR_NOMEM; goto done; }
  HPDF_Dict s = new_stream(w);
  if (!s) { st = TS_ERR_INTERNAL; goto done; }
  TS_CHECK(pdf_stream_write(w, s->stream, b.data, b.len));
  *out = s;
done:
  hb_map_destroy(rev);
  ts_buf_free(&b);
  ts_buf_free(&u16);
  return st;
}

/* /DW is the most common width and /W lists the others as runs of
 * consecutive codes `c [w1 w2 …]` (libharu arrays hold at most 32,767
 * items; CJK faces, mostly 1000 wide, stay far below). */
static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return x < y ? -1 : x > y;
}

static ts_status write_widths(pdf_w *w, const ts_face *f, const code_entry *ce,
                              size_t n, HPDF_Dict cid) {
  HPDF_MMgr mm = w->pdf->mmgr;
  ts_status st = TS_OK;
  int *wv = malloc((n ? n : 1) * sizeof *wv), *sorted = malloc((n ? n : 1) * sizeof *sorted);
  if (!wv || !sorted) { st = TS_ERR_NOMEM; goto done; }
  for (size_t k = 0; k < n; k++) sorted[k] = wv[k] = pdf_glyph_w1000(f, ce[k].gid);
  qsort(sorted, n, sizeof *sorted, cmp_int);
  int dw = 1000;
  size_t best = 0;
  for (size_t k = 0, j; k < n; k = j) {
    for (j = k + 1; j < n && sorted[j] == sorted[k]; j++) {}
    if (j - k > best) { best = j - k; dw = sorted[k]; }
  }
  HPDF_Array W = HPDF_Array_New(mm);
  if (!W || HPDF_Dict_AddNumber(cid, "DW", dw) != HPDF_OK || HPDF_Dict_Add(cid, "W", W) != HPDF_OK) {
    st = TS_ERR_INTERNAL;
    goto done;
  }
  HPDF_Array grp = NULL;
  uint32_t next = 0;
  for (size_t k = 0; k < n; k++) {
    if (k > 0 && ce[k].code == ce[k - 1].code) continue; /* one width per code */
    if (wv[k] == dw) { grp = NULL; continue; }
    if (!grp || ce[k].code != next || HPDF_Array_Items(grp) >= 8000) {
      if (HPDF_Array_Items(W) >= 32000) {
        ts_diag_report(w->d, TS_ERROR, f->path, 0, 0,
                       "font '%s': too many glyph widths for one PDF font",
                       f->psname ? f->psname : "?");
        st = TS_ERR_LIMIT;
        goto done;
      }
      grp = HPDF_Array_New(mm);
      if (!grp || HPDF_Array_AddNumber(W, (HPDF_INT32)ce[k].code) != HPDF_OK ||
          HPDF_Array_Add(W, grp) != HPDF_OK) {
        st = TS_ERR_INTERNAL;
        goto done;
      }
    }
    if (HPDF_Array_AddNumber(grp, wv[k]) != HPDF_OK) { st = TS_ERR_INTERNAL; goto done; }
    next = ce[k].code + 1;
  }
done:
  free(wv);
  free(sorted);
  return st;
}

static void subset_tag(const pdf_face *pf, const code_entry *ce, size_t n, char tag[8]) {
  ts_sha256 h;
  uint8_t dg[32];
  ts_sha256_init(&h);
  if (pf->face->psname) ts_sha256_update(&h, pf->face->psname, strlen(pf->face->psname));
  for (size_t i = 0; i < n; i++) {
    uint8_t v[4] = {(uint8_t)ce[i].gid, (uint8_t)(ce[i].gid >> 8),
                    (uint8_t)(ce[i].gid >> 16), (uint8_t)(ce[i].gid >> 24)};
    ts_sha256_update(&h, v, 4);
  }
  ts_sha256_final(&h, dg);
  for (int i = 0; i < 6; i++) tag[i] = (char)('A' + dg[i] % 26);
  tag[6] = '+';
  tag[7] = 0;
}

/* A face PDF can embed: CFF2 (variable) outlines have no place in PDF. */
static ts_status subset_check(pdf_w *w, const pdf_face *pf) {
  const ts_face *f = pf->face;
  if (!f->is_cff) return TS_OK;
  hb_blob_t *cff = hb_face_reference_table(ts_face_hbface(f), HB_TAG('C','F','F',' '));
  unsigned len = hb_blob_get_length(cff);
  hb_blob_destroy(cff);
  if (len != 0) return TS_OK;
  ts_diag_report(w->d, TS_ERROR, f->path, 0, 0,
                 "font '%s' has CFF2 outlines, which PDF cannot embed; use a static "
                 "OpenType/CFF or TrueType font", f->psname ? f->psname : "?");
  return TS_ERR_FONT;
}

/* Subsets one face: the glyph set only, layout tables and hinting dropped,
 * no code points (a CID font does not use the cmap).  Touches only pf and
 * reads the shared face, so faces can be subset on several threads; sets
 * pf->state (a failure is reported by pdf_fonts_subset). */
static void subset_make(pdf_face *pf, int deflate) {
  const ts_face *f = pf->face;
  hb_face_t *face = ts_face_hbface(f);
  hb_subset_input_t *in = hb_subset_input_create_or_fail();
  if (!in) return;
  hb_set_union(hb_subset_input_glyph_set(in), pf->used);
  /* CFF charstrings desubroutinized: subsetting the subroutines cost more
   * than it saved — on the samples ~20 % less time for a CJK face and 10 %
   * for Libertine, and the deflated PDFs 2-5 % smaller (a page's few
   * glyphs share few subroutines). */
  hb_subset_input_set_flags(in, HB_SUBSET_FLAGS_NO_HINTING |
                                    (f->is_cff ? HB_SUBSET_FLAGS_DESUBROUTINIZE : 0));
  static const hb_tag_t drop[] = {
      HB_TAG('G','S','U','B'), HB_TAG('G','P','O','S'), HB_TAG('G','D','E','F'),
      HB_TAG('B','A','S','E'), HB_TAG('J','S','T','F'), HB_TAG('M','A','T','H'),
      HB_TAG('k','e','r','n'), HB_TAG('D','S','I','G'), HB_TAG('h','d','m','x'),
      HB_TAG('L','T','S','H'), HB_TAG('V','D','M','X'), HB_TAG('E','B','D','T'),
      HB_TAG('E','B','L','C'), HB_TAG('E','B','S','C'), HB_TAG('C','B','D','T'),
      HB_TAG('C','B','L','C'), HB_TAG('s','b','i','x'), HB_TAG('S','V','G',' '),
      HB_TAG('m','o','r','x'), HB_TAG('k','e','r','x'), HB_TAG('f','e','a','t')};
  hb_set_t *ds = hb_subset_input_set(in, HB_SUBSET_SETS_DROP_TABLE_TAG);
  for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) hb_set_add(ds, drop[i]);
  hb_set_clear(hb_subset_input_unicode_set(in));
  /* The subsetter is given the face without its cmap: with one, HarfBuzz
   * (6.0) maps the whole cmap back to glyphs to keep the entries of the
   * glyphs asked for — 40 of the 55 M instructions of a 200-glyph subset
   * of Noto Serif CJK, 2 of 5 M for Libertine — and a CID font's program
   * needs no cmap (codes are CIDs or glyph ids, text comes from ToUnicode).
   * The other tables are the face's own blobs, not copies. */
  hb_face_t *src = hb_face_builder_create();
  hb_tag_t tags[64];
  unsigned start = 0, nt;
  do {
    nt = sizeof tags / sizeof tags[0];
    hb_face_get_table_tags(face, start, &nt, tags);
    for (unsigned i = 0; i < nt; i++) {
      if (tags[i] == HB_TAG('c','m','a','p') || hb_set_has(ds, tags[i])) continue;
      hb_blob_t *t = hb_face_reference_table(face, tags[i]);
      hb_face_builder_add_table(src, tags[i], t);
      hb_blob_destroy(t);
    }
    start += nt;
  } while (nt == sizeof tags / sizeof tags[0]);
  hb_face_set_upem(src, hb_face_get_upem(face));
  hb_face_set_glyph_count(src, hb_face_get_glyph_count(face));
  pf->plan = hb_subset_plan_create_or_fail(src, in);
  if (pf->plan) {
    pf->old2new = hb_subset_plan_old_to_new_glyph_mapping(pf->plan);
    pf->sub = hb_subset_plan_execute_or_fail(pf->plan);
  }
  hb_face_destroy(src);
  /* Name-keyed CFF goes in as an OpenType program whose CIDs are glyph
   * ids: the subset's, which keeps the font small (retaining the original
   * ids would carry every glyph name and width of the face). */
  pf->remap = f->is_cff && !f->is_cid;
  hb_subset_input_destroy(in);
  if (!pf->plan) return; /* PF_OOM */
  if (!pf->sub) {
    pf->state = PF_FAILED;
    return;
  }
  /* the program (a CID-keyed CFF goes in bare), and it deflated here on
   * the subsetting thread rather than with the other streams at the end */
  pf->prog = f->is_cid ? hb_face_reference_table(pf->sub, HB_TAG('C','F','F',' '))
                       : hb_face_reference_blob(pf->sub);
  unsigned plen = 0;
  const char *pdata = hb_blob_get_data(pf->prog, &plen);
  pf->plen = plen;
  if (!deflate || !pdata || plen == 0) {
    pf->state = PF_READY;
    return;
  }
  struct libdeflate_compressor *c = libdeflate_alloc_compressor(PDF_DEFLATE_LEVEL);
  size_t bound = c ? libdeflate_zlib_compress_bound(c, plen) : 0;
  unsigned char *z = bound ? malloc(bound) : NULL;
  size_t zn = z ? libdeflate_zlib_compress(c, pdata, plen, z, bound) : 0;
  libdeflate_free_compressor(c);
  if (zn == 0) { /* only an allocation can fail (the bound always fits) */
    free(z);
    return; /* PF_OOM */
  }
  if (!(pf->prog_zb = ts_blob_take(z, zn))) return; /* PF_OOM */
  pf->prog_z = ts_blob_data(pf->prog_zb);
  pf->prog_zn = zn;
  pf->state = PF_READY;
}


/* ---- the subsets on disk ---------------------------------------------------
 * A face's subset also goes into typeset's cache folder (ts_dcache, kind
 * "pdffont"), so that the next process drawing the same glyphs of the face
 * — an author's next run, a series run, a paper of a series whose glyphs
 * another paper already drew — reads it instead of subsetting (most of a
 * short paper's PDF time, 60 M instructions for a page of Chinese).  The
 * key: the recipe (typeset's, HarfBuzz's and libdeflate's versions, the
 * level, whether deflated), the font file and face index, the glyph set;
 * the value: the program's length, whether deflated, the subset glyph id of
 * each glyph of the set (in order), then the program.  The output never
 * depends on it: a hit gives the bytes a miss makes. */
#define DISK_RECIPE 1 /* bump when subset_make changes what it makes */

static int disk_key(ts_buf *b, const pdf_face *pf, int deflate) {
  char recipe[160];
  int rn = snprintf(recipe, sizeof recipe,
                    "TSPDFF1 typeset %s harfbuzz %s libdeflate %s level %d deflate %d recipe %d",
                    TS_VERSION, hb_version_string(), LIBDEFLATE_VERSION_STRING,
                    PDF_DEFLATE_LEVEL, deflate != 0, DISK_RECIPE);
  if (rn <= 0 || (size_t)rn >= sizeof recipe) return 0;
  ts_buf_put_u32(b, (uint32_t)rn);
  ts_buf_append(b, recipe, (size_t)rn);
  ts_cpset used; /* the glyph set's ranges */
  ts_cpset_init(&used);
  hb_codepoint_t a = HB_SET_VALUE_INVALID, z = HB_SET_VALUE_INVALID;
  while (hb_set_next_range(pf->used, &a, &z)) (void)ts_cpset_add_range(&used, a, z);
  int ok = !used.oom && ts_face_subset_key(b, pf->face, &used, NULL);
  ts_cpset_free(&used);
  return ok;
}

static void blob_release(void *b) { ts_blob_unref(b); }

/* Sets pf from the disk (PF_READY); 0 on a miss (pf untouched).  The
 * program stays in the cache file's mapping (a window of it). */
static int disk_get(pdf_face *pf, const ts_buf *key) {
  ts_blob *vb = ts_dcache_get_blob("pdffont", key), *prog = NULL;
  const char *v = (const char *)ts_blob_data(vb);
  size_t n = ts_blob_len(vb);
  uint64_t plen;
  uint32_t deflated, ng;
  hb_map_t *m = NULL;
  if (!v || n < 16) goto miss;
  memcpy(&plen, v, 8);
  memcpy(&deflated, v + 8, 4);
  memcpy(&ng, v + 12, 4);
  if (ng != hb_set_get_population(pf->used) || n - 16 < (size_t)ng * 4) goto miss;
  size_t at = 16 + (size_t)ng * 4, zn = n - at;
  if (deflated > 1 || plen == 0 || plen > UINT_MAX || zn == 0 || (!deflated && zn != plen))
    goto miss;
  m = hb_map_create();
  const char *gv = v + 16;
  for (hb_codepoint_t g = HB_SET_VALUE_INVALID; hb_set_next(pf->used, &g); gv += 4) {
    uint32_t ng1;
    memcpy(&ng1, gv, 4);
    hb_map_set(m, g, ng1);
  }
  if (!hb_map_allocation_successful(m) || !(prog = ts_blob_window(vb, at, zn))) goto miss;
  if (deflated) {
    pf->prog_zb = prog;
    pf->prog_z = ts_blob_data(prog);
    pf->prog_zn = zn;
  } else {
    /* HarfBuzz's blob holds the window (released by it on failure too) */
    pf->prog = hb_blob_create_or_fail((const char *)ts_blob_data(prog), (unsigned)zn,
                                      HB_MEMORY_MODE_READONLY, prog, blob_release);
    if (!pf->prog) {
      prog = NULL;
      goto miss;
    }
  }
  ts_blob_unref(vb); /* the window holds it */
  pf->plen = (unsigned)plen;
  pf->own_map = m;
  pf->old2new = m;
  pf->remap = pf->face->is_cff && !pf->face->is_cid;
  pf->state = PF_READY;
  return 1;
miss:
  hb_map_destroy(m);
  ts_blob_unref(prog);
  ts_blob_unref(vb);
  return 0;
}

static void disk_put(const pdf_face *pf, const ts_buf *key) {
  const char *raw = NULL;
  unsigned rn = 0;
  if (!pf->prog_z) raw = hb_blob_get_data(pf->prog, &rn);
  if (!pf->prog_z && (!raw || rn == 0)) return;
  ts_buf b;
  ts_buf_init(&b);
  ts_buf_put_u64(&b, pf->plen);
  ts_buf_put_u32(&b, pf->prog_z != NULL);
  ts_buf_put_u32(&b, (uint32_t)hb_set_get_population(pf->used));
  for (hb_codepoint_t g = HB_SET_VALUE_INVALID; hb_set_next(pf->used, &g);)
    ts_buf_put_u32(&b, hb_map_get(pf->old2new, g));
  if (pf->prog_z) ts_buf_append(&b, pf->prog_z, pf->prog_zn);
  else ts_buf_append(&b, raw, rn);
  if (!b.oom) ts_dcache_put("pdffont", key, b.data, b.len);
  ts_buf_free(&b);
}

/* One face's subset: from the disk (1), else, unless cached_only, made
 * and then kept there (0). */
static int subset_run(pdf_face *pf, int deflate, int cached_only) {
  ts_buf key;
  ts_buf_init(&key);
  int have_key = ts_dcache_enabled() && disk_key(&key, pf, deflate);
  int hit = have_key && disk_get(pf, &key);
  if (!hit && !cached_only) {
    subset_make(pf, deflate);
    if (have_key && pf->state == PF_READY) disk_put(pf, &key);
  }
  ts_buf_free(&key);
  return hit;
}

typedef struct subset_job {
  pdf_w *w;
  const unsigned char *make; /* 1: face i is to be made */
  atomic_size_t next;        /* the next face to take */
} subset_job;

static void *subset_worker(void *arg) {
  subset_job *j = arg;
  for (size_t i; (i = atomic_fetch_add(&j->next, 1)) < j->w->n_faces;)
    if (j->make[i]) (void)subset_run(&j->w->faces[i], j->w->compress, 0);
  return NULL;
}

/* Subsetting is most of the PDF writer's time on a short paper (~4 M
 * instructions a face).  The subsets the cache folder holds are taken
 * here; the others are made on two threads when the document is allowed
 * more than one and two or more are missing (a thread's start costs a
 * fraction of a subset, but ~0.5 ms on the way of a paper whose subsets
 * are all cached), each taking the next face left.  The result does not
 * depend on which thread took which face. */
ts_status pdf_fonts_subset(pdf_w *w) {
  ts_status st = TS_OK;
  for (size_t i = 0; i < w->n_faces; i++) TS_CHECK(subset_check(w, &w->faces[i]));
  unsigned char *make = calloc(w->n_faces + 1, 1);
  if (!make) return TS_ERR_NOMEM;
  size_t missing = 0;
  for (size_t i = 0; i < w->n_faces; i++)
  {
    make[i] = !subset_run(&w->faces[i], w->compress, 1);
    missing += make[i];
  }
  const char *why = NULL;
  if (missing && !ts_hbsubset_open(&why)) { /* opened by the first subset made */
    free(make);
    ts_diag_report(w->d, TS_ERROR, w->file, 0, 0, "%s", why);
    return TS_ERR_INTERNAL;
  }
  subset_job job = {.w = w, .make = make};
  atomic_init(&job.next, 0);
  pthread_t helper;
  int spawned = missing > 1 && ts_ctx_threads(w->ctx) > 1 &&
                pthread_create(&helper, NULL, subset_worker, &job) == 0;
  subset_worker(&job);
  if (spawned) pthread_join(helper, NULL);
  free(make);
  for (size_t i = 0; i < w->n_faces; i++) {
    pdf_face *pf = &w->faces[i];
    if (pf->state == PF_OOM) { st = TS_ERR_NOMEM; goto done; }
    if (pf->state == PF_FAILED) {
      ts_diag_report(w->d, TS_ERROR, pf->face->path, 0, 0, "could not subset font '%s'",
                     pf->face->psname ? pf->face->psname : "?");
      st = TS_ERR_FONT;
      goto done;
    }
  }
done:
  return st;
}

static ts_status embed_face(pdf_w *w, pdf_face *pf) {
  ts_status st = TS_OK;
  const ts_face *f = pf->face;
  HPDF_MMgr mm = w->pdf->mmgr;
  const hb_map_t *old2new = pf->old2new;
  code_entry *ce = NULL;
  size_t n = 0;
  if (TS_NEVER(pf->state != PF_READY || !old2new)) return TS_ERR_INTERNAL;

  /* Codes of the glyphs used, sorted. */
  ce = malloc((hb_set_get_population(pf->used) + 1) * sizeof *ce);
  if (!ce) { st = TS_ERR_NOMEM; goto done; }
  for (hb_codepoint_t g = HB_SET_VALUE_INVALID; hb_set_next(pf->used, &g);) {
    ce[n].gid = g;
    ce[n].code = glyph_code(pf, g);
    n++;
  }
  qsort(ce, n, sizeof *ce, cmp_code);

  unsigned plen = pf->plen;
  if (plen == 0) {
    ts_diag_report(w->d, TS_ERROR, f->path, 0, 0, "empty subset of font '%s'",
                   f->psname ? f->psname : "?");
    st = TS_ERR_FONT;
    goto done;
  }

  char ps[112], tag[8], base[128];
  clean_psname(f->psname, ps, sizeof ps);
  subset_tag(pf, ce, n, tag);
  (void)snprintf(base, sizeof base, "%s%s", tag, ps); /* fits: 7 + at most 100 bytes in 128 */

  /* Font program. */
  HPDF_Dict ff = new_stream(w);
  if (!ff) { st = TS_ERR_INTERNAL; goto done; }
  if (!f->is_cff) {
    if (HPDF_Dict_AddNumber(ff, "Length1", (HPDF_INT32)plen) != HPDF_OK) {
      st = TS_ERR_INTERNAL; goto done;
    }
  } else if (HPDF_Dict_AddName(ff, "Subtype", f->is_cid ? "CIDFontType0C" : "OpenType") !=
             HPDF_OK) {
    st = TS_ERR_INTERNAL; goto done;
  }
  if (pf->prog_z) {
    TS_CHECK(pdf_stream_put_deflated(w, ff, pf->prog_z, pf->prog_zn, 1)); /* pf outlives the save */
  } else {
    unsigned rn = 0;
    const char *raw = hb_blob_get_data(pf->prog, &rn);
    if (TS_NEVER(!raw || rn != plen)) { st = TS_ERR_INTERNAL; goto done; }
    TS_CHECK(pdf_stream_set(w, ff, raw, plen, 0, 1)); /* pf->prog outlives the save */
  }

  /* Descriptor. */
  HPDF_Dict fd = HPDF_Dict_New(mm);
  if (!fd || HPDF_Xref_Add(w->pdf->xref, fd) != HPDF_OK) { st = TS_ERR_INTERNAL; goto done; }
  int flags = (f->fixed_pitch ? 1 : 0) | (f->serif ? 2 : 0) |
              (f->symbolic ? 4 : 32) | (f->italic ? 64 : 0);
  int asc = scale1000(f, f->ascender), desc = scale1000(f, f->descender);
  int cap = f->cap_height ? scale1000(f, f->cap_height) : asc;
  /* No stem widths are read from the font: a common estimate by weight. */
  int stemv = 50 + (f->weight > 0 ? f->weight : 400) / 8;
  HPDF_Array bbox = HPDF_Array_New(mm);
  if (!bbox) { st = TS_ERR_INTERNAL; goto done; }
  for (int i = 0; i < 4; i++)
    if (HPDF_Array_AddNumber(bbox, scale1000(f, f->bbox[i])) != HPDF_OK) {
      st = TS_ERR_INTERNAL; goto done;
    }
  if (HPDF_Dict_AddName(fd, "Type", "FontDescriptor") != HPDF_OK ||
      HPDF_Dict_AddName(fd, "FontName", base) != HPDF_OK ||
      HPDF_Dict_AddNumber(fd, "Flags", flags) != HPDF_OK ||
      HPDF_Dict_Add(fd, "FontBBox", bbox) != HPDF_OK ||
      HPDF_Dict_AddNumber(fd, "ItalicAngle", f->italic_angle) != HPDF_OK ||
      HPDF_Dict_AddNumber(fd, "Ascent", asc) != HPDF_OK ||
      HPDF_Dict_AddNumber(fd, "Descent", desc) != HPDF_OK ||
      HPDF_Dict_AddNumber(fd, "CapHeight", cap) != HPDF_OK ||
      HPDF_Dict_AddNumber(fd, "StemV", stemv) != HPDF_OK ||
      HPDF_Dict_Add(fd, f->is_cff ? "FontFile3" : "FontFile2", ff) != HPDF_OK) {
    st = TS_ERR_INTERNAL; goto done;
  }

  /* Descendant CIDFont. */
  HPDF_Dict cid = HPDF_Dict_New(mm);
  HPDF_Dict si = HPDF_Dict_New(mm);
  if (!cid || !si || HPDF_Xref_Add(w->pdf->xref, cid) != HPDF_OK ||
      HPDF_Dict_AddName(cid, "Type", "Font") != HPDF_OK ||
      HPDF_Dict_AddName(cid, "Subtype", f->is_cff ? "CIDFontType0" : "CIDFontType2") != HPDF_OK ||
      HPDF_Dict_AddName(cid, "BaseFont", base) != HPDF_OK ||
      HPDF_Dict_Add(si, "Registry", HPDF_String_New(mm, "Adobe", NULL)) != HPDF_OK ||
      HPDF_Dict_Add(si, "Ordering", HPDF_String_New(mm, "Identity", NULL)) != HPDF_OK ||
      HPDF_Dict_AddNumber(si, "Supplement", 0) != HPDF_OK ||
      HPDF_Dict_Add(cid, "CIDSystemInfo", si) != HPDF_OK ||
      HPDF_Dict_Add(cid, "FontDescriptor", fd) != HPDF_OK) {
    st = TS_ERR_INTERNAL; goto done;
  }
  TS_CHECK(write_widths(w, f, ce, n, cid));
  if (!f->is_cff) {
    /* CIDToGIDMap: original glyph id (= code) → subset glyph id. */
    uint32_t maxg = ce[n - 1].gid; /* codes are gids here, sorted */
    size_t mlen = ((size_t)maxg + 1) * 2;
    unsigned char *m = calloc(mlen, 1);
    if (!m) { st = TS_ERR_NOMEM; goto done; }
    for (size_t i = 0; i < n; i++) {
      hb_codepoint_t ng = hb_map_get(old2new, ce[i].gid);
      if (ng == HB_MAP_VALUE_INVALID) ng = 0;
      m[ce[i].gid * 2] = (unsigned char)(ng >> 8);
      m[ce[i].gid * 2 + 1] = (unsigned char)ng;
    }
    HPDF_Dict map = new_stream(w);
    st = map ? pdf_stream_write(w, map->stream, m, mlen) : TS_ERR_INTERNAL;
    free(m);
    if (st != TS_OK) goto done;
    if (HPDF_Dict_Add(cid, "CIDToGIDMap", map) != HPDF_OK) { st = TS_ERR_INTERNAL; goto done; }
  }

  HPDF_Dict tu = NULL;
  TS_CHECK(write_tounicode(w, pf, ce, n, &tu));
  HPDF_Array desc_arr = HPDF_Array_New(mm);
  if (!desc_arr || HPDF_Array_Add(desc_arr, cid) != HPDF_OK ||
      HPDF_Dict_AddName(pf->type0, "Type", "Font") != HPDF_OK ||
      HPDF_Dict_AddName(pf->type0, "Subtype", "Type0") != HPDF_OK ||
      HPDF_Dict_AddName(pf->type0, "BaseFont", base) != HPDF_OK ||
      HPDF_Dict_AddName(pf->type0, "Encoding", "Identity-H") != HPDF_OK ||
      HPDF_Dict_Add(pf->type0, "DescendantFonts", desc_arr) != HPDF_OK ||
      HPDF_Dict_Add(pf->type0, "ToUnicode", tu) != HPDF_OK) {
    st = TS_ERR_INTERNAL; goto done;
  }
done:
  free(ce);
  return st;
}

ts_status pdf_fonts_finish(pdf_w *w) {
  ts_status st = TS_OK;
  for (size_t i = 0; i < w->n_faces; i++) TS_CHECK(embed_face(w, &w->faces[i]));
done:
  return st;
}
