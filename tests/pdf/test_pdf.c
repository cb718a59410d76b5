/* test_pdf.c — the PDF writer, checked with the real tools (qpdf, pdffonts,
 * pdftotext, pdfinfo) on small layouts built by hand: Latin with ligatures in
 * Linux Libertine (name-keyed CFF), DejaVu Sans (TrueType), Noto Serif CJK
 * (CID-keyed CFF in a collection) and Arabic in Noto Naskh shaped right to
 * left.  Runs are shaped here with hb_shape, as the text engine would. */
#include "core/ts_core.h"
#include "doc/ts_doc.h"
#include "fonts/ts_fonts.h"
#include "page/ts_page.h"
#include "pdf/ts_pdf.h"

#include <check.h>

#include "../cache_files.h"
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <hb.h>
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gif_lib.h>
#include <zlib.h>

#define LIBERTINE "/usr/share/fonts/opentype/linux-libertine/LinLibertine_R.otf"
#define DEJAVU "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define CJK "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
#define NASKH "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf"

/* allocation failure injection (fail_countdown): ../alloc_fail.h */
#include "../alloc_fail.h"

static char tmpdir[256];
static size_t run_len; /* length of run()'s last output (it may hold NULs) */

/* strstr over binary data of run()'s last output */
static const char *find(const char *hay, const char *needle) {
  return memmem(hay, run_len, needle, strlen(needle));
}

static void setup(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/ts-pdf-test-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  /* each test its own cache folder (font subsets), so a test never reads
   * what another one or a user's run left */
  char cache[300];
  snprintf(cache, sizeof cache, "%s/cache", tmpdir);
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", cache, 1), 0);
}

static void teardown(void) {
  char cmd[400];
  if (!getenv("TS_KEEP")) {
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
  }
}

/* Output of a shell command (owned, free with free()); *rc its exit status. */
static char *run(const char *cmd, int *rc) {
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  ts_buf b;
  ts_buf_init(&b);
  char tmp[4096];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, p)) > 0) ts_buf_append(&b, tmp, n);
  int st = pclose(p);
  if (rc) *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  ts_buf_putc(&b, 0);
  ck_assert(!b.oom);
  run_len = b.len - 1;
  size_t len;
  return ts_buf_detach(&b, &len);
}

/* ---- Building layouts by hand ---------------------------------------------*/

typedef struct fixture {
  ts_ctx *ctx;
  ts_doc *doc;
  ts_arena *a;
  ts_face *faces[8];
  int n_faces;
  ts_layout l;
} fixture;

static const ts_face *face(fixture *fx, const char *path, unsigned index) {
  const char *why = NULL;
  ts_face *f = ts_face_load(path, index, &why);
  ck_assert_msg(f != NULL, "%s: %s", path, why ? why : "?");
  fx->faces[fx->n_faces++] = f;
  return f;
}

/* Shapes text as one run (visual order; RTL when the text is). */
static ts_run *shape(fixture *fx, const ts_face *f, const char *text, float size,
                     uint32_t color) {
  hb_buffer_t *buf = hb_buffer_create();
  hb_buffer_add_utf8(buf, text, -1, 0, -1);
  hb_buffer_guess_segment_properties(buf);
  hb_shape(ts_face_font(f), buf, NULL, 0);
  unsigned n;
  hb_glyph_info_t *gi = hb_buffer_get_glyph_infos(buf, &n);
  hb_glyph_position_t *gp = hb_buffer_get_glyph_positions(buf, &n);
  ts_glyph *g = ts_arena_alloc(fx->a, (n ? n : 1) * sizeof *g);
  ck_assert_ptr_nonnull(g);
  float *ys = ts_arena_alloc(fx->a, (n ? n : 1) * sizeof *ys);
  ck_assert_ptr_nonnull(ys);
  double k = size / f->upem, pen = 0;
  for (unsigned i = 0; i < n; i++) {
    g[i].gid = (uint16_t)gi[i].codepoint;
    g[i].cluster = gi[i].cluster;
    g[i].x = (float)((pen + gp[i].x_offset) * k);
    ys[i] = (float)(gp[i].y_offset * k);
    pen += gp[i].x_advance;
  }
  ts_run *r = ts_arena_alloc(fx->a, sizeof *r);
  ck_assert_ptr_nonnull(r);
  r->face = f;
  r->size = size;
  r->color = color;
  r->glyphs = g;
  r->ys = ys;
  r->n = n;
  r->text = ts_arena_strdup(fx->a, text);
  r->text_len = (uint32_t)strlen(text);
  r->rtl = hb_buffer_get_direction(buf) == HB_DIRECTION_RTL;
  r->width = (float)(pen * k);
  hb_buffer_destroy(buf);
  return r;
}

static void fx_init(fixture *fx, size_t n_pages) {
  memset(fx, 0, sizeof *fx);
  fx->ctx = ts_ctx_create();
  ck_assert_ptr_nonnull(fx->ctx);
  ts_ctx_set_epoch(fx->ctx, 1700000000); /* 2023-11-14 22:13:20 UTC */
  fx->doc = ts_doc_create("paper.md");
  ck_assert_ptr_nonnull(fx->doc);
  fx->a = fx->doc->arena;
  fx->l.pages = ts_arena_alloc(fx->a, n_pages * sizeof *fx->l.pages);
  fx->l.n_pages = n_pages;
  for (size_t i = 0; i < n_pages; i++) {
    fx->l.pages[i].w = 595.276;
    fx->l.pages[i].h = 841.89;
    fx->l.pages[i].number = (int)i + 1;
  }
}

static void fx_free(fixture *fx) {
  ts_doc_destroy(fx->doc);
  for (int i = 0; i < fx->n_faces; i++) ts_face_destroy(fx->faces[i]);
  ts_ctx_destroy(fx->ctx);
}

static ts_draw *add(fixture *fx, size_t page, ts_draw_kind kind, double x, double y) {
  ts_page *p = &fx->l.pages[page];
  if (p->n == p->cap) {
    size_t nc = p->cap ? p->cap * 2 : 16;
    ts_draw *ni = ts_arena_alloc(fx->a, nc * sizeof *ni);
    ck_assert_ptr_nonnull(ni);
    if (p->n) memcpy(ni, p->items, p->n * sizeof *ni);
    p->items = ni;
    p->cap = nc;
  }
  ts_draw *d = &p->items[p->n++];
  memset(d, 0, sizeof *d);
  d->kind = (uint8_t)kind;
  d->x = x;
  d->y = y;
  return d;
}

static void add_text(fixture *fx, size_t page, const ts_face *f, const char *text, float size,
                     double x, double y, uint32_t color) {
  ts_draw *d = add(fx, page, TS_DRAW_GLYPHS, x, y);
  d->run = shape(fx, f, text, size, color);
}

#define ARABIC "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 \xd8\xa8\xd8\xa7\xd9\x84\xd8\xb9\xd8\xa7\xd9\x84\xd9\x85"
#define ARABIC_W1 "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7"
#define ARABIC_W2 "\xd8\xa8\xd8\xa7\xd9\x84\xd8\xb9\xd8\xa7\xd9\x84\xd9\x85"
#define CJK_TEXT "\xe6\xbc\xa2\xe5\xad\x97\xe3\x81\xae\xe6\x96\x87\xe7\xab\xa0\xe3\x80\x82"

/* Two pages: every font kind, rules, a rectangle, links both ways, an
 * outline, metadata. */
static void build_sample(fixture *fx) {
  fx_init(fx, 2);
  const ts_face *lib = face(fx, LIBERTINE, 0);
  const ts_face *dv = face(fx, DEJAVU, 0);
  const ts_face *cjk = face(fx, CJK, 0);
  const ts_face *ar = face(fx, NASKH, 0);
  ck_assert(lib->is_cff && !lib->is_cid);
  ck_assert(!dv->is_cff);
  ck_assert(cjk->is_cff && cjk->is_cid);

  ts_meta *m = &fx->doc->meta;
  m->title = "Grain corridors \xe2\x80\x94 a test";
  m->authors = ts_arena_alloc(fx->a, 2 * sizeof *m->authors);
  m->authors[0].name = "Ada Lovelace";
  m->authors[1].name = "Ivan Petrov";
  m->n_authors = 2;
  m->abstract_text = "An abstract.";
  m->lang = "en";
  static const char *kw[] = {"grain", "R&D"};
  m->keywords = kw;
  m->n_keywords = 2;

  add(fx, 0, TS_DRAW_DEST, 72, 800)->dest = "top";
  add_text(fx, 0, lib, "office affine fluffy", 14, 72, 760, 0);
  add_text(fx, 0, dv, "Hello DejaVu", 12, 72, 730, 0x1F4E79);
  add_text(fx, 0, cjk, CJK_TEXT, 12, 72, 700, 0);
  add_text(fx, 0, ar, ARABIC, 16, 300, 670, 0);
  ts_draw *r = add(fx, 0, TS_DRAW_RULE, 72, 650);
  r->w = 450;
  r->lw = 0.5;
  ts_draw *rc = add(fx, 0, TS_DRAW_RECT, 72, 600);
  rc->w = 100;
  rc->h = 30;
  rc->color = 0xDDDDDD;
  add_text(fx, 0, dv, "Go to section two", 10, 72, 580, 0x0000CC);
  ts_draw *lk = add(fx, 0, TS_DRAW_LINK, 72, 577);
  lk->w = 90;
  lk->h = 12;
  lk->dest = "sec2";
  add_text(fx, 0, dv, "example.org", 10, 72, 560, 0x0000CC);
  ts_draw *lu = add(fx, 0, TS_DRAW_LINK, 72, 557);
  lu->w = 60;
  lu->h = 12;
  lu->uri = "https://example.org/";
  ts_draw *lu2 = add(fx, 1, TS_DRAW_LINK, 72, 700);
  lu2->w = lu2->h = 10;
  lu2->uri = "https://example.org/caf\xc3\xa9 menu";

  add(fx, 1, TS_DRAW_DEST, 72, 800)->dest = "sec2";
  add_text(fx, 1, lib, "Section two: office", 14, 72, 760, 0);

  fx->l.outline = ts_arena_alloc(fx->a, 3 * sizeof *fx->l.outline);
  fx->l.outline[0] = (ts_outline_entry){"Introduction", 1, "top"};
  fx->l.outline[1] = (ts_outline_entry){"\xd0\xa0\xd0\xb0\xd0\xb7\xd0\xb4\xd0\xb5\xd0\xbb", 2, "top"};
  fx->l.outline[2] = (ts_outline_entry){"Section two \xf0\x9d\x94\x84", 1, "sec2"}; /* U+1D504: a surrogate pair */
  fx->l.n_outline = 3;
}

static char *write_sample(fixture *fx, const char *name) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  ts_diag d;
  ts_diag_init(&d, stderr);
  ts_status st = ts_pdf_write(fx->ctx, fx->doc, NULL, &fx->l, path, &d);
  ck_assert_msg(st == TS_OK, "ts_pdf_write: %s (%s)", ts_status_str(st), d.first_error);
  return path;
}

/* ---- Tests ------------------------------------------------------------------*/

START_TEST(test_qpdf_check) {
  fixture fx;
  build_sample(&fx);
  const char *path = write_sample(&fx, "a.pdf");
  char cmd[700];
  int rc;
  snprintf(cmd, sizeof cmd, "qpdf --check '%s' 2>&1", path);
  char *out = run(cmd, &rc);
  ck_assert_msg(rc == 0, "qpdf --check failed:\n%s", out);
  ck_assert_ptr_nonnull(strstr(out, "No syntax or stream encoding errors"));
  free(out);
  /* the header says 1.7 */
  FILE *fp = fopen(path, "rb");
  char head[9] = {0};
  ck_assert_int_eq(fread(head, 1, 8, fp), 8);
  fclose(fp);
  ck_assert_str_eq(head, "%PDF-1.7");
  fx_free(&fx);
}
END_TEST

START_TEST(test_pdffonts) {
  fixture fx;
  build_sample(&fx);
  const char *path = write_sample(&fx, "a.pdf");
  char cmd[700];
  int rc;
  snprintf(cmd, sizeof cmd, "pdffonts '%s' 2>&1", path);
  char *out = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  /* header (2 lines) + one line per face: 4 faces */
  int lines = 0, good = 0;
  for (char *p = out; (p = strchr(p, '\n')); p++) lines++;
  char *save = NULL;
  for (char *ln = strtok_r(out, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
    if (strstr(ln, "CID ")) {
      ck_assert_msg(strstr(ln, "Identity-H") && strstr(ln, "yes yes yes"), "font line: %s", ln);
      /* subset tag: six capitals and '+' */
      for (int i = 0; i < 6; i++) ck_assert(ln[i] >= 'A' && ln[i] <= 'Z');
      ck_assert_int_eq(ln[6], '+');
      good++;
    }
  }
  ck_assert_int_eq(lines, 6);
  ck_assert_int_eq(good, 4);
  free(out);
  fx_free(&fx);
}
END_TEST

START_TEST(test_pdftotext) {
  fixture fx;
  build_sample(&fx);
  const char *path = write_sample(&fx, "a.pdf");
  char cmd[700];
  int rc;
  snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 -f 1 -l 1 '%s' - 2>&1", path);
  char *out = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  /* the ligatures come back as their letters */
  ck_assert_msg(strstr(out, "office affine fluffy"), "text: %s", out);
  ck_assert_ptr_nonnull(strstr(out, "Hello DejaVu"));
  ck_assert_msg(strstr(out, CJK_TEXT), "text: %s", out);
  /* right-to-left: poppler orders phrases visually; check per word */
  ck_assert_msg(strstr(out, ARABIC_W1) && strstr(out, ARABIC_W2), "text: %s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 -f 2 -l 2 '%s' - 2>&1", path);
  out = run(cmd, &rc);
  ck_assert_ptr_nonnull(strstr(out, "Section two: office"));
  free(out);
  fx_free(&fx);
}
END_TEST

START_TEST(test_pdfinfo) {
  fixture fx;
  build_sample(&fx);
  const char *path = write_sample(&fx, "a.pdf");
  char cmd[700];
  int rc;
  snprintf(cmd, sizeof cmd, "pdfinfo -isodates '%s' 2>&1", path);
  char *out = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  ck_assert_msg(strstr(out, "Title:           Grain corridors \xe2\x80\x94 a test\n"), "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "Author:          Ada Lovelace, Ivan Petrov\n"));
  ck_assert_ptr_nonnull(strstr(out, "Subject:         An abstract.\n"));
  ck_assert_ptr_nonnull(strstr(out, "Keywords:        grain, R&D\n"));
  ck_assert_ptr_nonnull(strstr(out, "Creator:         typeset " TS_VERSION "\n"));
  ck_assert_ptr_nonnull(strstr(out, "Pages:           2\n"));
  /* SOURCE_DATE_EPOCH 1700000000 is 2023-11-14T22:13:20Z */
  ck_assert_msg(strstr(out, "CreationDate:    2023-11-14T22:13:20Z"), "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "ModDate:         2023-11-14T22:13:20Z"));
  ck_assert_ptr_nonnull(strstr(out, "Page size:       595.276 x 841.89 pts (A4)"));
  free(out);
  /* XMP repeats the Info entries (XML-escaped) */
  snprintf(cmd, sizeof cmd, "pdfinfo -meta '%s' 2>&1", path);
  out = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  ck_assert_msg(strstr(out, "<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">Grain corridors \xe2\x80\x94 a test</rdf:li>"), "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "<rdf:li>Ada Lovelace</rdf:li><rdf:li>Ivan Petrov</rdf:li>"));
  ck_assert_ptr_nonnull(strstr(out, "<pdf:Keywords>grain, R&amp;D</pdf:Keywords>"));
  ck_assert_ptr_nonnull(strstr(out, "<xmp:CreateDate>2023-11-14T22:13:20Z</xmp:CreateDate>"));
  ck_assert_ptr_nonnull(strstr(out, "<xmpMM:DocumentID>uuid:"));
  free(out);
  fx_free(&fx);
}
END_TEST

/* A link set on many lines (a long URL as its own text) has one URI action,
 * shared by its annotations: each annotation had carried the whole URI, so
 * the file grew with the URL's length times its lines (a fuzzed 13 KB paper
 * made a 29 MB PDF).  60 annotations of a 20,000-byte URI (the same string
 * twice over, as two copies), then one of another: two actions, a file of
 * about one copy of the URI. */
START_TEST(long_link_shares_its_action) {
  fixture fx;
  fx_init(&fx, 1);
  size_t n = 20000;
  char *uri = ts_arena_alloc(fx.a, n + 1);
  char *copy = ts_arena_alloc(fx.a, n + 1);
  ck_assert_ptr_nonnull(uri);
  ck_assert_ptr_nonnull(copy);
  memcpy(uri, "https://example.org/", 20);
  for (size_t i = 20; i < n; i++) uri[i] = (char)('a' + (char)(i % 26));
  uri[n] = 0;
  memcpy(copy, uri, n + 1);
  for (int k = 0; k < 60; k++) {
    ts_draw *lk = add(&fx, 0, TS_DRAW_LINK, 72, 780 - 11 * k);
    lk->w = 400;
    lk->h = 10;
    lk->uri = k < 30 ? uri : copy; /* equal strings, not one pointer */
  }
  ts_draw *other = add(&fx, 0, TS_DRAW_LINK, 72, 80);
  other->w = other->h = 10;
  other->uri = "https://example.org/other";
  const char *path = write_sample(&fx, "links.pdf");
  struct stat sb;
  ck_assert_int_eq(stat(path, &sb), 0);
  ck_assert_msg(sb.st_size < 3 * (off_t)n, "a PDF of %lld bytes for one 20 KB URI",
                (long long)sb.st_size);
  char cmd[700];
  int rc;
  snprintf(cmd, sizeof cmd, "qpdf --qdf --object-streams=disable '%s' - 2>/dev/null", path);
  char *out = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  int links = 0, actions = 0;
  for (const char *p = out; (p = memmem(p, run_len - (size_t)(p - out), "/Subtype /Link", 14)); p++) links++;
  for (const char *p = out; (p = memmem(p, run_len - (size_t)(p - out), "/S /URI", 7)); p++) actions++;
  ck_assert_int_eq(links, 61);
  ck_assert_int_eq(actions, 2);
  ck_assert_ptr_nonnull(find(out, "/URI (https://example.org/other)"));
  free(out);
  snprintf(cmd, sizeof cmd, "pdfinfo -url '%s' | grep -c 'https://example.org/uvwxyzabc'", path);
  out = run(cmd, &rc);
  ck_assert_int_eq(atoi(out), 60); /* every annotation resolves to the long URI */
  free(out);
  fx_free(&fx);
}
END_TEST

START_TEST(test_structure) {
  fixture fx;
  build_sample(&fx);
  const char *path = write_sample(&fx, "a.pdf");
  char cmd[700];
  int rc;
  /* uncompressed view of the objects */
  snprintf(cmd, sizeof cmd, "qpdf --qdf --object-streams=disable '%s' - 2>/dev/null", path);
  char *out = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  int links = 0;
  for (const char *p = out; (p = memmem(p, run_len - (size_t)(p - out), "/Subtype /Link", 14)); p++) links++;
  ck_assert_int_eq(links, 3);
  ck_assert_ptr_nonnull(find(out, "/URI (https://example.org/)"));
  ck_assert_ptr_nonnull(find(out, "/URI (https://example.org/caf%C3%A9%20menu)"));
  ck_assert_ptr_nonnull(find(out, "/Lang (en)"));
  ck_assert_ptr_nonnull(find(out, "/PageLabels"));
  ck_assert_ptr_nonnull(find(out, "/Outlines"));
  ck_assert_ptr_nonnull(find(out, "/PageMode /UseOutlines"));
  ck_assert_ptr_nonnull(find(out, "/DisplayDocTitle true"));
  ck_assert_ptr_nonnull(find(out, "/ID ["));
  ck_assert_ptr_nonnull(find(out, "/FontFile2"));
  ck_assert_ptr_nonnull(find(out, "/Subtype /CIDFontType0C"));
  ck_assert_ptr_nonnull(find(out, "/Subtype /OpenType"));
  ck_assert_ptr_nonnull(find(out, "/CIDToGIDMap"));
  /* our text operators, never libharu's text API */
  ck_assert_ptr_nonnull(find(out, "] TJ"));
  ck_assert_ptr_null(find(out, "Helvetica"));
  free(out);
  /* the outline has both levels and the Cyrillic title */
  snprintf(cmd, sizeof cmd, "qpdf --json --json-key=outlines '%s' 2>/dev/null", path);
  out = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  ck_assert_ptr_nonnull(find(out, "\"title\": \"Introduction\""));
  ck_assert_msg(find(out, "\"title\": \"\xd0\xa0\xd0\xb0\xd0\xb7\xd0\xb4\xd0\xb5\xd0\xbb\""), "%s", out);
  ck_assert_msg(find(out, "\"title\": \"Section two \xf0\x9d\x94\x84\""), "%s", out);
  free(out);
  fx_free(&fx);
}
END_TEST

START_TEST(test_deterministic) {
  fixture fx;
  build_sample(&fx);
  unsigned char *a = NULL, *b = NULL;
  size_t la = 0, lb = 0;
  ts_diag d;
  ts_diag_init(&d, stderr);
  ck_assert_int_eq(ts_pdf_write_mem(fx.ctx, fx.doc, NULL, &fx.l, &a, &la, &d), TS_OK);
  ck_assert_int_eq(ts_pdf_write_mem(fx.ctx, fx.doc, NULL, &fx.l, &b, &lb, &d), TS_OK);
  ck_assert_uint_gt(la, 1000);
  ck_assert_uint_eq(la, lb);
  ck_assert(memcmp(a, b, la) == 0);
  free(b);
  /* a different text gives a different /ID */
  fx.doc->meta.title = "Another title";
  ck_assert_int_eq(ts_pdf_write_mem(fx.ctx, fx.doc, NULL, &fx.l, &b, &lb, &d), TS_OK);
  const char *ida = memmem(a, la, "/ID [", 5), *idb = memmem(b, lb, "/ID [", 5);
  ck_assert_ptr_nonnull(ida);
  ck_assert_ptr_nonnull(idb);
  ck_assert(memcmp(ida, idb, 40) != 0);
  free(a);
  free(b);
  fx_free(&fx);
}
END_TEST

/* A tiny valid PNG (w x h, grey), written with zlib. */
static void write_png(const char *path, uint32_t w, uint32_t h, int claim_only) {
  FILE *fp = fopen(path, "wb");
  ck_assert_ptr_nonnull(fp);
  fwrite("\x89PNG\r\n\x1a\n", 1, 8, fp);
  unsigned char ihdr[25] = {0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  for (int i = 0; i < 4; i++) {
    ihdr[8 + i] = (unsigned char)(w >> (24 - 8 * i));
    ihdr[12 + i] = (unsigned char)(h >> (24 - 8 * i));
  }
  ihdr[16] = 8; /* depth */
  ihdr[17] = 0; /* grey */
  uLong crc = crc32(0, ihdr + 4, 17);
  for (int i = 0; i < 4; i++) ihdr[21 + i] = (unsigned char)(crc >> (24 - 8 * i));
  fwrite(ihdr, 1, 25, fp);
  if (!claim_only) {
    size_t raw_len = (size_t)(w + 1) * h;
    unsigned char *raw = calloc(raw_len, 1);
    for (uint32_t y = 0; y < h; y++)
      for (uint32_t x = 0; x < w; x++) raw[y * (w + 1) + 1 + x] = (unsigned char)((x + y) * 40);
    uLongf zl = compressBound(raw_len);
    unsigned char *z = malloc(zl + 12);
    ck_assert_int_eq(compress(z + 8, &zl, raw, raw_len), Z_OK);
    z[0] = (unsigned char)(zl >> 24); z[1] = (unsigned char)(zl >> 16);
    z[2] = (unsigned char)(zl >> 8); z[3] = (unsigned char)zl;
    memcpy(z + 4, "IDAT", 4);
    crc = crc32(0, z + 4, (uInt)zl + 4);
    for (int i = 0; i < 4; i++) z[8 + zl + i] = (unsigned char)(crc >> (24 - 8 * i));
    fwrite(z, 1, zl + 12, fp);
    free(z);
    free(raw);
  }
  fwrite("\0\0\0\0IEND\xae\x42\x60\x82", 1, 12, fp);
  fclose(fp);
}

START_TEST(test_image_ok) {
  fixture fx;
  fx_init(&fx, 1);
  char png[400], out[400], cmd[900];
  snprintf(png, sizeof png, "%s/chart.png", tmpdir);
  write_png(png, 4, 3, 0);
  ts_draw *im = add(&fx, 0, TS_DRAW_IMAGE, 100, 500);
  im->w = 200;
  im->h = 150;
  im->image = png;
  snprintf(out, sizeof out, "%s/img.pdf", tmpdir);
  ts_diag d;
  ts_diag_init(&d, stderr);
  ck_assert_int_eq(ts_pdf_write(fx.ctx, fx.doc, NULL, &fx.l, out, &d), TS_OK);
  int rc;
  snprintf(cmd, sizeof cmd, "pdfimages -list '%s' 2>&1", out);
  char *o = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  ck_assert_msg(strstr(o, "image       4     3  gray"), "%s", o);
  free(o);
  fx_free(&fx);
}
END_TEST

static void expect_image_error(const char *img, const char *what);

/* PNG rows filtered by type f (PNG spec §9: None, Sub, Up, Average, Paeth)
 * from raw rows cur/prev of bpp bytes a pixel. */
static void png_filter_row(int f, const unsigned char *cur, const unsigned char *prev, size_t n,
                           int bpp, unsigned char *out) {
  for (size_t i = 0; i < n; i++) {
    int a = i >= (size_t)bpp ? cur[i - bpp] : 0, b = prev ? prev[i] : 0,
        c = (prev && i >= (size_t)bpp) ? prev[i - bpp] : 0, pred = 0;
    if (f == 1) pred = a;
    else if (f == 2) pred = b;
    else if (f == 3) pred = (a + b) / 2;
    else if (f == 4) {
      int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
      pred = (pa <= pb && pa <= pc) ? a : pb <= pc ? b : c;
    }
    out[i] = (unsigned char)(cur[i] - pred);
  }
}

static void put_chunk(FILE *fp, const char *type, const unsigned char *d, uint32_t n) {
  unsigned char h[8] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                        (unsigned char)n, (unsigned char)type[0], (unsigned char)type[1],
                        (unsigned char)type[2], (unsigned char)type[3]};
  fwrite(h, 1, 8, fp);
  if (n) fwrite(d, 1, n, fp);
  /* (zlib's crc32 of a NULL buffer is its initial value, not the CRC) */
  uLong crc = crc32(crc32(0, h + 4, 4), n ? d : (const unsigned char *)"", n);
  unsigned char c[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
                        (unsigned char)(crc >> 8), (unsigned char)crc};
  fwrite(c, 1, 4, fp);
}

/* Writes an 8-bit PNG of colour type ct from its filtered rows (raw),
 * interlaced (Adam7) or not, the data split over two IDAT chunks as
 * encoders do; returns the zlib stream (free()) and its length. */
static unsigned char *png_file(const char *path, uint32_t w, uint32_t h, int ct, int interlace,
                               const unsigned char *raw, size_t raw_len, size_t *z_len) {
  uLongf zl = compressBound(raw_len);
  unsigned char *z = malloc(zl);
  ck_assert_int_eq(compress(z, &zl, raw, raw_len), Z_OK);
  FILE *fp = fopen(path, "wb");
  ck_assert_ptr_nonnull(fp);
  fwrite("\x89PNG\r\n\x1a\n", 1, 8, fp);
  unsigned char ihdr[13] = {(unsigned char)(w >> 24), (unsigned char)(w >> 16),
                            (unsigned char)(w >> 8), (unsigned char)w, (unsigned char)(h >> 24),
                            (unsigned char)(h >> 16), (unsigned char)(h >> 8), (unsigned char)h,
                            8, (unsigned char)ct, 0, 0, (unsigned char)interlace};
  put_chunk(fp, "IHDR", ihdr, 13);
  put_chunk(fp, "IDAT", z, (uint32_t)(zl / 2));
  put_chunk(fp, "IDAT", z + zl / 2, (uint32_t)(zl - zl / 2));
  put_chunk(fp, "IEND", NULL, 0);
  fclose(fp);
  *z_len = zl;
  return z;
}

/* An 8-bit PNG of colour type ct (2 RGB, 6 RGBA) from raw pixels, row y
 * filtered with type y % 5; returns the IDAT bytes (free()). */
static unsigned char *write_png_rgb(const char *path, uint32_t w, uint32_t h, int ct,
                                    const unsigned char *px, size_t *idat_len) {
  int bpp = ct == 6 ? 4 : 3;
  size_t row = (size_t)w * bpp, raw_len = (row + 1) * h;
  unsigned char *raw = malloc(raw_len);
  for (uint32_t y = 0; y < h; y++) {
    raw[y * (row + 1)] = (unsigned char)(y % 5);
    png_filter_row((int)(y % 5), px + y * row, y ? px + (y - 1) * row : NULL, row, bpp,
                   raw + y * (row + 1) + 1);
  }
  unsigned char *z = png_file(path, w, h, ct, 0, raw, raw_len, idat_len);
  free(raw);
  return z;
}

static const char *render_image(fixture *fx, const char *png, const char *name) {
  ts_draw *im = add(fx, 0, TS_DRAW_IMAGE, 100, 500);
  im->w = 200;
  im->h = 150;
  im->image = png;
  static char out[400];
  snprintf(out, sizeof out, "%s/%s", tmpdir, name);
  ts_diag d;
  ts_diag_init(&d, stderr);
  ck_assert_int_eq(ts_pdf_write(fx->ctx, fx->doc, NULL, &fx->l, out, &d), TS_OK);
  return out;
}

/* What pdfimages -list says of a one-page PDF named `name` drawing the
 * image file img (owned: free()). */
static char *image_list(const char *img, const char *name) {
  fixture fx;
  fx_init(&fx, 1);
  const char *out = render_image(&fx, img, name);
  char cmd[900];
  int rc;
  snprintf(cmd, sizeof cmd, "pdfimages -list '%s' 2>&1", out);
  char *o = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  fx_free(&fx);
  return o;
}

/* An RGB PNG goes in as it is (its IDAT bytes are in the PDF, with the PNG
 * predictors), and what a reader decodes — poppler's pdfimages here — is
 * the PNG's pixels exactly, through every row filter type. */
START_TEST(test_png_passthrough_pixels) {
  enum { W = 23, H = 11 };
  unsigned char px[W * H * 3];
  for (int i = 0; i < W * H * 3; i++) px[i] = (unsigned char)((i * 97 + i / 7 * 13) & 0xFF);
  char png[400];
  snprintf(png, sizeof png, "%s/filters.png", tmpdir);
  size_t zl;
  unsigned char *z = write_png_rgb(png, W, H, 2, px, &zl);
  fixture fx;
  fx_init(&fx, 1);
  const char *out = render_image(&fx, png, "pass.pdf");
  size_t n;
  char *pdf = ts_file_read(out, &n, 0);
  ck_assert_msg(memmem(pdf, n, z, zl) != NULL, "the PNG's data is not in the PDF as it is");
  ck_assert_ptr_nonnull(memmem(pdf, n, "/Predictor 15", 13));
  free(pdf);
  char cmd[900];
  int rc;
  snprintf(cmd, sizeof cmd, "pdfimages -png '%s' '%s/x' 2>&1", out, tmpdir);
  char *o = run(cmd, &rc);
  ck_assert_msg(rc == 0, "%s", o);
  free(o);
  char got_path[420];
  snprintf(got_path, sizeof got_path, "%s/x-000.png", tmpdir);
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  ck_assert(png_image_begin_read_from_file(&img, got_path));
  img.format = PNG_FORMAT_RGB;
  ck_assert_int_eq(img.width, W);
  ck_assert_int_eq(img.height, H);
  unsigned char got[W * H * 3];
  ck_assert(png_image_finish_read(&img, NULL, got, 0, NULL));
  ck_assert_msg(memcmp(got, px, sizeof px) == 0, "decoded pixels differ from the PNG's");
  unlink(got_path);
  free(z);
  fx_free(&fx);
}
END_TEST

/* A PNG with alpha is not passed through: libharu decodes it and the
 * alpha becomes a soft mask. */
START_TEST(test_png_alpha_through_libharu) {
  enum { W = 6, H = 5 };
  unsigned char px[W * H * 4];
  for (int i = 0; i < W * H * 4; i++) px[i] = (unsigned char)(i * 31);
  char png[400];
  snprintf(png, sizeof png, "%s/alpha.png", tmpdir);
  size_t zl;
  free(write_png_rgb(png, W, H, 6, px, &zl));
  char *o = image_list(png, "alpha.pdf");
  ck_assert_msg(strstr(o, "smask"), "%s", o);
  free(o);
}
END_TEST

/* An interlaced (Adam7) 8-bit RGBA PNG of the raw pixels px, each pass's
 * rows filtered with type y % 5 (PNG spec §8.2: seven reduced images). */
static void write_png_adam7(const char *path, uint32_t w, uint32_t h, const unsigned char *px) {
  static const int pass[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                 {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
  size_t cap = (size_t)w * h * 4 + 7 * (size_t)h + 64, raw_len = 0;
  unsigned char *raw = malloc(cap), *sub = malloc((size_t)w * h * 4);
  for (int p = 0; p < 7; p++) {
    uint32_t x0 = (uint32_t)pass[p][0], y0 = (uint32_t)pass[p][1];
    uint32_t dx = (uint32_t)pass[p][2], dy = (uint32_t)pass[p][3];
    uint32_t pw = w > x0 ? (w - x0 + dx - 1) / dx : 0, ph = h > y0 ? (h - y0 + dy - 1) / dy : 0;
    if (!pw || !ph) continue;
    size_t row = (size_t)pw * 4;
    for (uint32_t y = 0; y < ph; y++)
      for (uint32_t x = 0; x < pw; x++)
        memcpy(sub + y * row + x * 4, px + ((size_t)(y0 + y * dy) * w + x0 + x * dx) * 4, 4);
    for (uint32_t y = 0; y < ph; y++) {
      raw[raw_len] = (unsigned char)(y % 5);
      png_filter_row((int)(y % 5), sub + y * row, y ? sub + (y - 1) * row : NULL, row, 4,
                     raw + raw_len + 1);
      raw_len += row + 1;
    }
  }
  size_t zl;
  free(png_file(path, w, h, 6, 1, raw, raw_len, &zl));
  free(raw);
  free(sub);
}

/* Reads the n-th image pdfimages extracts from pdf as format (RGB or GRAY)
 * into got, which holds w × h pixels; checks the size. */
static void extracted_pixels(const char *pdf, int nth, uint32_t fmt, int w, int h,
                             unsigned char *got) {
  char cmd[900], path[420];
  int rc;
  snprintf(cmd, sizeof cmd, "pdfimages -png '%s' '%s/y' 2>&1", pdf, tmpdir);
  char *o = run(cmd, &rc);
  ck_assert_msg(rc == 0, "%s", o);
  free(o);
  snprintf(path, sizeof path, "%s/y-%03d.png", tmpdir, nth);
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  ck_assert_msg(png_image_begin_read_from_file(&img, path), "%s: no image %d", pdf, nth);
  img.format = fmt;
  ck_assert_int_eq(img.width, w);
  ck_assert_int_eq(img.height, h);
  ck_assert(png_image_finish_read(&img, NULL, got, 0, NULL));
  unlink(path);
}

/* An interlaced PNG (which libharu's loader refuses) renders: its colours
 * and its alpha, as a soft mask, come out of the PDF exactly. */
START_TEST(test_png_interlaced_pixels) {
  enum { W = 13, H = 10 };
  unsigned char px[W * H * 4], rgb[W * H * 3], a[W * H], got_rgb[W * H * 3], got_a[W * H];
  for (int i = 0; i < W * H; i++) {
    for (int c = 0; c < 3; c++) rgb[i * 3 + c] = px[i * 4 + c] = (unsigned char)(i * 37 + c * 91);
    a[i] = px[i * 4 + 3] = (unsigned char)(255 - i * 5);
  }
  char png[400];
  snprintf(png, sizeof png, "%s/adam7.png", tmpdir);
  write_png_adam7(png, W, H, px);
  fixture fx;
  fx_init(&fx, 1);
  const char *out = render_image(&fx, png, "adam7.pdf");
  extracted_pixels(out, 0, PNG_FORMAT_RGB, W, H, got_rgb);
  ck_assert_msg(memcmp(got_rgb, rgb, sizeof rgb) == 0, "colours differ from the PNG's");
  extracted_pixels(out, 1, PNG_FORMAT_GRAY, W, H, got_a);
  ck_assert_msg(memcmp(got_a, a, sizeof a) == 0, "the soft mask differs from the PNG's alpha");
  fx_free(&fx);
}
END_TEST

/* ---- GIF: giflib's encoder writes the files ---- */

/* A 4-colour palette: red, green, blue, white. */
static const GifColorType gif_pal[4] = {{255, 0, 0}, {0, 160, 0}, {0, 0, 255}, {255, 255, 255}};

/* The colour index of pixel (x, y) of frame k. */
static int gif_index(int x, int y, int k) { return (x + 2 * y + k) % 4; }

/* Writes a GIF: a sw × sh screen and `frames` images of fw × fh at
 * (left, top), the first with transparent index `clear` (-1: none),
 * interlaced rows given in the passes' order when `interlace`. */
static void write_gif(const char *path, int sw, int sh, int left, int top, int fw, int fh,
                      int interlace, int clear, int frames) {
  int err = 0;
  GifFileType *g = EGifOpenFileName(path, false, &err);
  ck_assert_ptr_nonnull(g);
  ColorMapObject *cm = GifMakeMapObject(4, gif_pal);
  ck_assert_ptr_nonnull(cm);
  EGifSetGifVersion(g, true);
  ck_assert_int_eq(EGifPutScreenDesc(g, sw, sh, 2, 0, cm), GIF_OK);
  GifPixelType *line = malloc((size_t)fw);
  for (int k = 0; k < frames; k++) {
    GraphicsControlBlock gcb = {DISPOSAL_UNSPECIFIED, false, 10, k == 0 ? clear : -1};
    GifByteType ext[4];
    size_t n = EGifGCBToExtension(&gcb, ext);
    ck_assert_int_eq(EGifPutExtension(g, GRAPHICS_EXT_FUNC_CODE, (int)n, ext), GIF_OK);
    ck_assert_int_eq(EGifPutImageDesc(g, left, top, fw, fh, interlace != 0, NULL), GIF_OK);
    static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
    for (int p = 0; p < (interlace ? 4 : 1); p++)
      for (int y = interlace ? start[p] : 0; y < fh; y += interlace ? step[p] : 1) {
        for (int x = 0; x < fw; x++) line[x] = (GifPixelType)gif_index(x, y, k);
        ck_assert_int_eq(EGifPutLine(g, line, fw), GIF_OK);
      }
  }
  free(line);
  GifFreeMapObject(cm);
  ck_assert_int_eq(EGifCloseFile(g, &err), GIF_OK);
}

/* A GIF figure renders (libharu has no GIF loader): the first image's
 * colours on the screen, de-interlaced, its transparent index and the
 * screen outside it as the soft mask; the animation's second frame is not
 * drawn.  Without transparency the image has no mask. */
START_TEST(test_gif_pixels) {
  enum { W = 12, H = 10, L = 2, T = 1, FW = 8, FH = 7 };
  for (int interlace = 0; interlace <= 1; interlace++) {
    char gif[400], name[32];
    snprintf(gif, sizeof gif, "%s/fig%d.gif", tmpdir, interlace);
    write_gif(gif, W, H, L, T, FW, FH, interlace, 3, 2);
    fixture fx;
    fx_init(&fx, 1);
    snprintf(name, sizeof name, "gif%d.pdf", interlace);
    const char *out = render_image(&fx, gif, name);
    unsigned char rgb[W * H * 3], a[W * H];
    extracted_pixels(out, 0, PNG_FORMAT_RGB, W, H, rgb);
    extracted_pixels(out, 1, PNG_FORMAT_GRAY, W, H, a);
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        int in = x >= L && x < L + FW && y >= T && y < T + FH;
        int k = in ? gif_index(x - L, y - T, 0) : -1;
        int i = y * W + x;
        ck_assert_msg(a[i] == (in && k != 3 ? 255 : 0), "alpha at %d,%d (interlace %d): %d", x,
                      y, interlace, a[i]);
        if (in && k != 3)
          ck_assert_msg(rgb[i * 3] == gif_pal[k].Red && rgb[i * 3 + 1] == gif_pal[k].Green &&
                            rgb[i * 3 + 2] == gif_pal[k].Blue,
                        "colour at %d,%d (interlace %d)", x, y, interlace);
      }
    fx_free(&fx);
  }
  /* opaque and covering its screen: no soft mask */
  char gif[400];
  snprintf(gif, sizeof gif, "%s/opaque.gif", tmpdir);
  write_gif(gif, 6, 5, 0, 0, 6, 5, 0, -1, 1);
  char *o = image_list(gif, "opaque.pdf");
  ck_assert_msg(strstr(o, " image ") && !strstr(o, "smask"), "%s", o);
  free(o);
}
END_TEST

/* Damaged and oversized GIFs are refused with a located error. */
START_TEST(test_gif_refused) {
  char gif[400];
  snprintf(gif, sizeof gif, "%s/cut.gif", tmpdir);
  write_gif(gif, 40, 40, 0, 0, 40, 40, 0, -1, 1);
  struct stat sb;
  ck_assert_int_eq(stat(gif, &sb), 0);
  ck_assert_int_eq(truncate(gif, sb.st_size / 2), 0); /* the image data cut short */
  expect_image_error(gif, "cannot decode image");
  /* a screen over the limit */
  snprintf(gif, sizeof gif, "%s/wide.gif", tmpdir);
  write_gif(gif, 30000, 2, 0, 0, 2, 2, 0, -1, 1);
  expect_image_error(gif, "too large");
  /* a small screen, an image over the limit on it */
  snprintf(gif, sizeof gif, "%s/bigframe.gif", tmpdir);
  FILE *fp = fopen(gif, "wb");
  static const unsigned char hd[] = {'G', 'I', 'F', '8', '9', 'a', 4, 0, 4, 0, 0x80, 0, 0,
                                     0, 0, 0, 255, 255, 255, /* 2-colour table */
                                     ',', 0, 0, 0, 0, 0x30, 0x75, 0x30, 0x75, 0, /* 30000² */
                                     2, 2, 0x4C, 0x01, 0, ';'};
  ck_assert_uint_eq(fwrite(hd, 1, sizeof hd, fp), sizeof hd);
  fclose(fp);
  expect_image_error(gif, "too large");
  /* no image at all, only the trailer */
  snprintf(gif, sizeof gif, "%s/empty.gif", tmpdir);
  fp = fopen(gif, "wb");
  ck_assert_uint_eq(fwrite(hd, 1, 19, fp), 19);
  fputc(';', fp);
  fclose(fp);
  expect_image_error(gif, "without an image");
}
END_TEST

/* A damaged chunk (CRC) is refused with a located error, never embedded. */
START_TEST(test_png_bad_crc) {
  enum { W = 4, H = 4 };
  unsigned char px[W * H * 3] = {0};
  char png[400];
  snprintf(png, sizeof png, "%s/crc.png", tmpdir);
  size_t zl;
  free(write_png_rgb(png, W, H, 2, px, &zl));
  FILE *fp = fopen(png, "r+b");
  fseek(fp, 8 + 25 + 8 + 2, SEEK_SET); /* inside the first IDAT's data */
  int c = fgetc(fp);
  fseek(fp, 8 + 25 + 8 + 2, SEEK_SET);
  fputc(c ^ 0x10, fp);
  fclose(fp);
  expect_image_error(png, "cannot decode image");
}
END_TEST

static void expect_image_error(const char *img, const char *what) {
  fixture fx;
  fx_init(&fx, 1);
  /* a figure node so the error is located */
  ts_node *root = ts_node_new(fx.doc, TS_NODE_DOCUMENT, 1, 1);
  ts_node *fig = ts_node_new(fx.doc, TS_NODE_FIGURE, 7, 1);
  fig->url = strrchr(img, '/') + 1;
  ts_node_append(root, fig);
  fx.doc->root = root;
  ts_draw *im = add(&fx, 0, TS_DRAW_IMAGE, 100, 500);
  im->w = 100;
  im->h = 100;
  im->image = img;
  char out[400];
  snprintf(out, sizeof out, "%s/bad.pdf", tmpdir);
  ts_diag d;
  ts_diag_init(&d, NULL);
  ck_assert_int_eq(ts_pdf_write(fx.ctx, fx.doc, NULL, &fx.l, out, &d), TS_ERR_INPUT);
  ck_assert_int_eq(d.n_errors, 1);
  ck_assert_msg(strncmp(d.first_error, "paper.md:7:1: error: ", 21) == 0, "%s", d.first_error);
  ck_assert_msg(strstr(d.first_error, what), "%s", d.first_error);
  struct stat sb;
  ck_assert_int_ne(stat(out, &sb), 0); /* no output file */
  /* nor a leftover temporary */
  char cmd[500];
  snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -c pdf", tmpdir);
  char *o = run(cmd, NULL);
  ck_assert_str_eq(o, "0\n");
  free(o);
  fx_free(&fx);
}

START_TEST(test_image_missing) {
  char img[400];
  snprintf(img, sizeof img, "%s/missing.png", tmpdir);
  expect_image_error(img, "cannot be opened");
}
END_TEST

START_TEST(test_image_bomb) {
  char img[400];
  snprintf(img, sizeof img, "%s/bomb.png", tmpdir);
  write_png(img, 100000, 100000, 1);
  expect_image_error(img, "too large");
}
END_TEST

START_TEST(test_image_not_image) {
  char img[400];
  snprintf(img, sizeof img, "%s/fake.png", tmpdir);
  FILE *fp = fopen(img, "w");
  fputs("<svg/>", fp);
  fclose(fp);
  expect_image_error(img, "not a PNG, JPEG or GIF");
}
END_TEST


/* JPEG: the header walk finds the frame size past other segments; libharu
 * embeds the data as it is (DCTDecode).  A header claiming a huge frame is
 * refused before loading. */
static void write_jpeg_header(const char *path, unsigned w, unsigned h) {
  unsigned char j[] = {0xFF, 0xD8,                               /* SOI */
                       0xFF, 0xE0, 0x00, 0x07, 'J', 'F', 'I', 'F', 0, /* APP0 (short) */
                       0xFF, 0xC0, 0x00, 0x11, 8, (unsigned char)(h >> 8), (unsigned char)h,
                       (unsigned char)(w >> 8), (unsigned char)w, 3, 1, 0x11, 0, 2, 0x11, 1,
                       3, 0x11, 1,                                /* SOF0 */
                       0xFF, 0xD9};                               /* EOI */
  FILE *fp = fopen(path, "wb");
  ck_assert_ptr_nonnull(fp);
  fwrite(j, 1, sizeof j, fp);
  fclose(fp);
}

START_TEST(test_image_jpeg) {
  fixture fx;
  fx_init(&fx, 1);
  char jpg[400], out[400], cmd[900];
  snprintf(jpg, sizeof jpg, "%s/photo.jpg", tmpdir);
  write_jpeg_header(jpg, 8, 4);
  ts_draw *im = add(&fx, 0, TS_DRAW_IMAGE, 100, 500);
  im->w = 80;
  im->h = 40;
  im->image = jpg;
  /* the same file twice: one image object */
  ts_draw *im2 = add(&fx, 0, TS_DRAW_IMAGE, 100, 300);
  *im2 = *im;
  im2->y = 300;
  snprintf(out, sizeof out, "%s/jpg.pdf", tmpdir);
  ts_diag d;
  ts_diag_init(&d, stderr);
  ck_assert_int_eq(ts_pdf_write(fx.ctx, fx.doc, NULL, &fx.l, out, &d), TS_OK);
  int rc;
  snprintf(cmd, sizeof cmd, "pdfimages -list '%s' 2>&1", out);
  char *o = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  ck_assert_msg(strstr(o, "image       8     4  rgb     3   8  jpeg"), "%s", o);
  /* two placements of one object */
  char *first = strstr(o, "jpeg");
  ck_assert_ptr_nonnull(first);
  ck_assert_ptr_nonnull(strstr(first + 4, "jpeg"));
  free(o);
  snprintf(cmd, sizeof cmd, "qpdf --show-npages '%s' >/dev/null && qpdf --qdf '%s' - 2>/dev/null | grep -ac '/Subtype /Image'", out, out);
  o = run(cmd, &rc);
  ck_assert_str_eq(o, "1\n");
  free(o);
  fx_free(&fx);
}
END_TEST

START_TEST(test_image_jpeg_bomb) {
  char img[400];
  snprintf(img, sizeof img, "%s/huge.jpg", tmpdir);
  write_jpeg_header(img, 65000, 65000);
  expect_image_error(img, "too large");
}
END_TEST


/* A PNG whose header is fine but whose data is not: libharu's decoder
 * fails, reported as a located input error. */
START_TEST(test_image_corrupt) {
  char img[400];
  snprintf(img, sizeof img, "%s/broken.png", tmpdir);
  write_png(img, 4, 3, 1); /* header and IEND only: no image data */
  expect_image_error(img, "cannot decode image");
}
END_TEST

START_TEST(test_image_truncated) {
  char img[400];
  snprintf(img, sizeof img, "%s/trunc.png", tmpdir);
  write_png(img, 64, 64, 0);
  /* cut the file inside its data: the chunk cut short is refused before
   * any decoder sees it */
  ck_assert_int_eq(truncate(img, 60), 0);
  expect_image_error(img, "a PNG chunk runs past the end of the file");
}
END_TEST

/* Glyph positions: TJ adjustments place every glyph where the run says, in
 * whole 1/1000 em, without drift over a long line. */
START_TEST(test_positions) {
  fixture fx;
  fx_init(&fx, 1);
  const ts_face *dv = face(&fx, DEJAVU, 0);
  ts_draw *d = add(&fx, 0, TS_DRAW_GLYPHS, 50, 400);
  ts_run *r = shape(&fx, dv, "iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii W", 10, 0);
  /* spread the glyphs by 0.3337 pt each: a rounding drift would show */
  ts_glyph *g = (ts_glyph *)r->glyphs;
  for (uint32_t i = 0; i < r->n; i++) g[i].x += 0.3337f * i;
  d->run = r;
  const char *path = write_sample(&fx, "pos.pdf");
  char cmd[700];
  int rc;
  snprintf(cmd, sizeof cmd, "pdftotext -bbox '%s' - 2>/dev/null | grep '>W<'", path);
  char *out = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  double xmin = 0;
  char *p = strstr(out, "xMin=\"");
  ck_assert_ptr_nonnull(p);
  xmin = strtod(p + 6, NULL);
  double want = 50 + g[r->n - 1].x;
  ck_assert_msg(xmin > want - 0.02 && xmin < want + 0.02, "W at %g, want %g", xmin, want);
  /* its /W width: DejaVu Sans 'W' advances 2025/2048 em (9.888 pt at 10 pt) */
  p = strstr(out, "xMax=\"");
  ck_assert_ptr_nonnull(p);
  double xmax = strtod(p + 6, NULL);
  ck_assert_msg(fabs(xmax - xmin - 9.888) < 0.02, "W is %g wide", xmax - xmin);
  free(out);
  fx_free(&fx);
}
END_TEST

/* Font expansion: a run with hscale s is drawn with the text matrix
 * [s 0 0 1 x y], so a glyph at x in the run's text space lands at
 * run x + s * x on the page and is s times as wide; hscale 1 is written as
 * the plain matrix. */
START_TEST(test_expansion) {
  for (int k = 0; k < 2; k++) {
    fixture fx;
    fx_init(&fx, 1);
    const ts_face *dv = face(&fx, DEJAVU, 0);
    ts_draw *d = add(&fx, 0, TS_DRAW_GLYPHS, 50, 400);
    ts_run *r = shape(&fx, dv, "iiiiiiiiiiiiiiiiiiii W", 10, 0);
    double s = k ? 0.98 : 1.02;
    r->hscale = (float)s;
    d->run = r;
    const char *path = write_sample(&fx, "expand.pdf");
    char cmd[700];
    int rc;
    snprintf(cmd, sizeof cmd, "pdftotext -bbox '%s' - 2>/dev/null | grep '>W<'", path);
    char *out = run(cmd, &rc);
    ck_assert_int_eq(rc, 0);
    char *p = strstr(out, "xMin=\"");
    ck_assert_ptr_nonnull(p);
    double xmin = strtod(p + 6, NULL);
    double want = 50 + s * r->glyphs[r->n - 1].x;
    ck_assert_msg(fabs(xmin - want) < 0.02, "W at %g, want %g", xmin, want);
    p = strstr(out, "xMax=\"");
    ck_assert_ptr_nonnull(p);
    double xmax = strtod(p + 6, NULL);
    ck_assert_msg(fabs(xmax - xmin - 9.888 * s) < 0.02, "W is %g wide", xmax - xmin);
    free(out);
    snprintf(cmd, sizeof cmd, "qpdf --qdf --object-streams=disable '%s' - 2>/dev/null", path);
    out = run(cmd, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(find(out, k ? "0.98 0 0 1 50 400 Tm" : "1.02 0 0 1 50 400 Tm"));
    free(out);
    fx_free(&fx);
  }
}
END_TEST

/* TJ adjustments round positions half away from zero (as llround): at
 * 1000 pt a position in points is one in 1/1000 em, so halves are exact.
 * DejaVu Sans 'i' advances 1139/4096 em: 278 thousandths. */
START_TEST(test_tj_halves) {
  fixture fx;
  fx_init(&fx, 1);
  const ts_face *dv = face(&fx, DEJAVU, 0);
  ts_run *r = shape(&fx, dv, "iiii", 1000, 0);
  ck_assert_uint_eq(r->n, 4);
  ts_glyph *g = (ts_glyph *)r->glyphs;
  /* targets 1, 277, -1, -2; pens 0, 279, 555, 277 */
  g[0].x = 0.5f;
  g[1].x = 276.5f;
  g[2].x = -0.5f;
  g[3].x = -1.5f;
  add(&fx, 0, TS_DRAW_GLYPHS, 50, 400)->run = r;
  const char *path = write_sample(&fx, "halves.pdf");
  char cmd[700];
  int rc;
  /* content as written (QDF's normalisation would turn binary strings to hex) */
  snprintf(cmd, sizeof cmd,
           "qpdf --qdf --normalize-content=n --object-streams=disable '%s' - 2>/dev/null", path);
  char *out = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  /* codes are literal strings of two bytes (NULs and all): compare bytes */
  const char *tj = find(out, "[ -1 (");
  ck_assert_msg(tj != NULL, "no [ -1 (");
  const char *code = tj + 6, *c = code;
  for (int k = 0; k < 2; k++) c += *c == '\\' ? 2 : 1; /* one byte, escaped or not */
  ck_assert_int_eq(*c, ')');
  size_t cl = (size_t)(c - code);
  /* the code of 'i' four times, three adjustments between */
  char want[200];
  size_t wn = 0;
  static const char *gaps[] = {"[ -1 (", ") 2 (", ") 556 (", ") 279 ("};
  for (int k = 0; k < 4; k++) {
    memcpy(want + wn, gaps[k], strlen(gaps[k]));
    wn += strlen(gaps[k]);
    memcpy(want + wn, code, cl);
    wn += cl;
  }
  memcpy(want + wn, ")] TJ", 5);
  wn += 5;
  ck_assert_uint_le((size_t)(tj - out) + wn, run_len);
  ck_assert_msg(memcmp(tj, want, wn) == 0, "TJ array differs");
  free(out);
  fx_free(&fx);
}
END_TEST

/* A run whose clusters are neither increasing nor decreasing: each glyph
 * still reads as its own cluster's text (ends from the sorted starts). */
START_TEST(test_unordered_clusters) {
  fixture fx;
  fx_init(&fx, 1);
  const ts_face *dv = face(&fx, DEJAVU, 0);
  ts_run *r = shape(&fx, dv, "xyz", 12, 0);
  ck_assert_uint_eq(r->n, 3);
  ts_glyph *g = (ts_glyph *)r->glyphs;
  g[0].cluster = 1; /* 'x' drawn for "y" */
  g[1].cluster = 0; /* 'y' drawn for "x" */
  add(&fx, 0, TS_DRAW_GLYPHS, 72, 700)->run = r;
  const char *path = write_sample(&fx, "unordered.pdf");
  char cmd[700];
  int rc;
  snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 '%s' - 2>&1", path);
  char *out = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  ck_assert_msg(strstr(out, "yxz"), "%s", out);
  free(out);
  fx_free(&fx);
}
END_TEST

/* Clusters a per-glyph map cannot express: vocalized Arabic (marks share
 * their base's cluster, with y offsets), one glyph standing for different
 * texts, and a text outside the BMP (surrogate pairs in ToUnicode). */
#define BISMI "\xd8\xa8\xd9\x90\xd8\xb3\xd9\x92\xd9\x85\xd9\x90"
#define ALLAH "\xd8\xa7\xd9\x84\xd9\x84\xd9\x8e\xd9\x91\xd9\x87\xd9\x90"
START_TEST(test_actualtext) {
  fixture fx;
  fx_init(&fx, 2);
  const ts_face *ar = face(&fx, NASKH, 0);
  const ts_face *dv = face(&fx, DEJAVU, 0);
  add_text(&fx, 0, ar, BISMI " " ALLAH, 20, 300, 700, 0);
  /* "A" drawn twice: once as "A", once standing for U+0391 GREEK CAPITAL
   * ALPHA; then "A" standing for U+1D400 MATHEMATICAL BOLD CAPITAL A. */
  ts_run *a1 = shape(&fx, dv, "xA", 12, 0);
  ts_draw *d1 = add(&fx, 1, TS_DRAW_GLYPHS, 72, 650);
  d1->run = a1;
  ts_run *a2 = shape(&fx, dv, "yA", 12, 0);
  a2->text = "y\xce\x91";
  a2->text_len = 3;
  add(&fx, 1, TS_DRAW_GLYPHS, 72, 630)->run = a2;
  ts_run *a3 = shape(&fx, dv, "zA", 12, 0);
  a3->text = "z\xf0\x9d\x90\x80";
  a3->text_len = 5;
  add(&fx, 1, TS_DRAW_GLYPHS, 72, 610)->run = a3;
  const char *path = write_sample(&fx, "at.pdf");
  char cmd[700];
  int rc;
  snprintf(cmd, sizeof cmd, "qpdf --check '%s' >/dev/null 2>&1", path);
  ck_assert_int_eq(system(cmd), 0);
  /* Latin page (poppler treats a page with Arabic as right-to-left) */
  snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 -f 2 -l 2 '%s' - 2>&1", path);
  char *out = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  ck_assert_msg(strstr(out, "xA\n"), "%s", out);
  ck_assert_msg(strstr(out, "y\xce\x91\n"), "%s", out);
  ck_assert_msg(strstr(out, "z\xf0\x9d\x90\x80\n"), "%s", out);
  free(out);
  /* Arabic: each cluster's span keeps the word whole (no break at the
   * vowel signs).  poppler writes marks before their bases and reverses
   * multi-letter clusters (the lam-lam-heh ligature), so the check is on
   * the first word's letters with the marks (U+064B..U+065F) removed. */
  snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 -f 1 -l 1 '%s' - 2>&1", path);
  out = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  char letters[256];
  size_t k = 0;
  for (size_t i = 0; out[i] && k + 4 < sizeof letters;) {
    unsigned char c0 = (unsigned char)out[i], c1 = (unsigned char)out[i + 1];
    if (c0 == 0xD9 && c1 >= 0x8B && c1 <= 0x9F) { i += 2; continue; }
    letters[k++] = out[i++];
  }
  letters[k] = 0;
  ck_assert_msg(strstr(letters, "\xd8\xa8\xd8\xb3\xd9\x85 "), "%s", out); /* "bsm " */
  free(out);
  /* the Arabic clusters have their own spans, the shared glyph too */
  snprintf(cmd, sizeof cmd, "qpdf --qdf --object-streams=disable '%s' - 2>/dev/null", path);
  out = run(cmd, &rc);
  int spans = 0;
  for (const char *p = out; (p = memmem(p, run_len - (size_t)(p - out), "/ActualText", 11)); p++) spans++;
  /* BISMI: 2 multi-glyph clusters (per HarfBuzz 6 with Naskh: ba+kasra,
   * sin+sukun+mim+kasra may merge); ALLAH: at least 1; Alpha; U+1D400 */
  ck_assert_int_ge(spans, 4);
  ck_assert_ptr_nonnull(find(out, "/ActualText <feff0391>"));
  ck_assert_ptr_nonnull(find(out, "/ActualText <feffd835dc00>"));
  ck_assert_ptr_nonnull(find(out, " Ts\n")); /* mark offsets */
  free(out);
  fx_free(&fx);
}
END_TEST

/* Bad runs from a buggy upstream stage: no crash, a valid file. */
START_TEST(test_garbage_runs) {
  fixture fx;
  fx_init(&fx, 1);
  const ts_face *dv = face(&fx, DEJAVU, 0);
  ts_run *r = shape(&fx, dv, "abc", 12, 0);
  ts_glyph *g = (ts_glyph *)r->glyphs;
  g[0].gid = 65535;           /* beyond the face */
  g[1].cluster = 1000;        /* beyond the text */
  g[2].x = 0.0f / 0.0f;       /* NaN */
  add(&fx, 0, TS_DRAW_GLYPHS, 72, 700)->run = r;
  ts_run *z = shape(&fx, dv, "d", 0, 0); /* size 0: skipped */
  add(&fx, 0, TS_DRAW_GLYPHS, 72, 680)->run = z;
  add(&fx, 0, TS_DRAW_GLYPHS, 72, 660)->run = NULL;
  ts_draw *rule = add(&fx, 0, TS_DRAW_RULE, 72, 650);
  rule->w = 1.0 / 0.0;
  rule->lw = 1;
  ts_draw *lk = add(&fx, 0, TS_DRAW_LINK, 72, 640);
  lk->w = lk->h = 10;
  lk->dest = "nowhere";       /* unknown destination: a warning */
  add(&fx, 0, TS_DRAW_DEST, -5, 1e9)->dest = "odd";
  fx.l.outline = ts_arena_alloc(fx.a, 2 * sizeof *fx.l.outline);
  fx.l.outline[0] = (ts_outline_entry){"bad \xff utf8", 9, "odd"};
  fx.l.outline[1] = (ts_outline_entry){NULL, -3, NULL};
  fx.l.n_outline = 2;
  char path[400];
  snprintf(path, sizeof path, "%s/g.pdf", tmpdir);
  ts_diag d;
  ts_diag_init(&d, NULL);
  ts_status st = ts_pdf_write(fx.ctx, fx.doc, NULL, &fx.l, path, &d);
  ck_assert_msg(st == TS_OK, "%s", d.first_error);
  ck_assert_int_eq(d.n_warnings, 1);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "qpdf --check '%s' >/dev/null 2>&1", path);
  ck_assert_int_eq(system(cmd), 0);
  fx_free(&fx);
}
END_TEST

/* A page size outside PDF's limits is a reported input error. */
START_TEST(test_bad_page_size) {
  fixture fx;
  fx_init(&fx, 1);
  fx.l.pages[0].w = 0;
  unsigned char *data = NULL;
  size_t len = 0;
  ts_diag d;
  ts_diag_init(&d, NULL);
  ck_assert_int_eq(ts_pdf_write_mem(fx.ctx, fx.doc, NULL, &fx.l, &data, &len, &d), TS_ERR_INPUT);
  ck_assert_ptr_null(data);
  ck_assert_int_eq(d.n_errors, 1);
  /* no pages at all */
  fx.l.n_pages = 0;
  ck_assert_int_eq(ts_pdf_write_mem(fx.ctx, fx.doc, NULL, &fx.l, &data, &len, &d), TS_ERR_INPUT);
  ck_assert_ptr_null(data);
  ck_assert_int_eq(d.n_errors, 2);
  fx_free(&fx);
}
END_TEST

/* Dates come from the metadata when SOURCE_DATE_EPOCH is not set, and are
 * left out when neither gives one (never the clock). */
START_TEST(test_dates) {
  fixture fx;
  fx_init(&fx, 1);
  ts_ctx_destroy(fx.ctx);
  unsetenv("SOURCE_DATE_EPOCH");
  fx.ctx = ts_ctx_create();
  unsigned char *data = NULL;
  size_t len = 0;
  ts_diag d;
  ts_diag_init(&d, stderr);
  ck_assert_int_eq(ts_pdf_write_mem(fx.ctx, fx.doc, NULL, &fx.l, &data, &len, &d), TS_OK);
  ck_assert_ptr_null(memmem(data, len, "/CreationDate", 13));
  free(data);
  fx.doc->meta.date = "2024-02-29";
  ck_assert_int_eq(ts_pdf_write_mem(fx.ctx, fx.doc, NULL, &fx.l, &data, &len, &d), TS_OK);
  ck_assert_ptr_nonnull(memmem(data, len, "/CreationDate (D:20240229000000Z)", 33));
  free(data);
  fx_free(&fx);
}
END_TEST


/* Worker threads render documents at once, sharing the context and faces:
 * every thread's bytes equal a single-threaded render. */
typedef struct thr_job {
  fixture *fx;
  unsigned char *data;
  size_t len;
  ts_status st;
} thr_job;

static void *thr_main(void *p) {
  thr_job *j = p;
  ts_diag d;
  ts_diag_init(&d, NULL);
  for (int i = 0; i < 3; i++) {
    free(j->data);
    j->data = NULL;
    j->st = ts_pdf_write_mem(j->fx->ctx, j->fx->doc, NULL, &j->fx->l, &j->data, &j->len, &d);
    if (j->st != TS_OK) break;
  }
  return NULL;
}

START_TEST(test_threads) {
  fixture fx;
  build_sample(&fx);
  unsigned char *ref = NULL;
  size_t rlen = 0;
  ts_diag d;
  ts_diag_init(&d, stderr);
  ck_assert_int_eq(ts_pdf_write_mem(fx.ctx, fx.doc, NULL, &fx.l, &ref, &rlen, &d), TS_OK);
  thr_job jobs[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    jobs[i] = (thr_job){&fx, NULL, 0, TS_ERR_INTERNAL};
    ck_assert_int_eq(pthread_create(&th[i], NULL, thr_main, &jobs[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    ck_assert_int_eq(jobs[i].st, TS_OK);
    ck_assert_uint_eq(jobs[i].len, rlen);
    ck_assert(memcmp(jobs[i].data, ref, rlen) == 0);
    free(jobs[i].data);
  }
  free(ref);
  fx_free(&fx);
}
END_TEST

/* Pages deflated on a second thread while the next is drawn, and font
 * programs deflated on the subsetting threads, give the bytes of the
 * single-threaded writer. */
START_TEST(test_threads_same_bytes) {
  fixture fx;
  build_sample(&fx);
  ck_assert_uint_ge(fx.l.n_pages, 2);
  unsigned char *one = NULL, *two = NULL;
  size_t n1 = 0, n2 = 0;
  ts_diag d;
  ts_diag_init(&d, stderr);
  ts_ctx_set_threads(fx.ctx, 1);
  ck_assert_int_eq(ts_pdf_write_mem(fx.ctx, fx.doc, NULL, &fx.l, &one, &n1, &d), TS_OK);
  ts_ctx_set_threads(fx.ctx, 2);
  ck_assert_int_eq(ts_ctx_threads(fx.ctx), 2);
  ck_assert_int_eq(ts_pdf_write_mem(fx.ctx, fx.doc, NULL, &fx.l, &two, &n2, &d), TS_OK);
  ck_assert_uint_eq(n1, n2);
  ck_assert(memcmp(one, two, n1) == 0);
  free(one);
  free(two);
  fx_free(&fx);
}
END_TEST

/* A hyphen added at a line break reads as "-": whether its cluster points
 * at a soft hyphen in the run's text or past the text's end. */
START_TEST(test_hyphen) {
  fixture fx;
  fx_init(&fx, 2);
  const ts_face *lib = face(&fx, LIBERTINE, 0);
  ts_run *a = shape(&fx, lib, "exam-", 12, 0);
  a->text = "exam\xc2\xad";
  a->text_len = 6;
  add(&fx, 0, TS_DRAW_GLYPHS, 72, 700)->run = a;
  /* another face, so its hyphen glyph has no text from any cluster */
  const ts_face *dv = face(&fx, DEJAVU, 0);
  ts_run *b = shape(&fx, dv, "inte-", 12, 0);
  b->text_len = 4; /* the hyphen's cluster (4) is past the text */
  add(&fx, 1, TS_DRAW_GLYPHS, 72, 680)->run = b;
  const char *path = write_sample(&fx, "hy.pdf");
  char cmd[700];
  int rc;
  /* one page each: poppler joins a word hyphenated across lines */
  for (int pg = 1; pg <= 2; pg++) {
    snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 -f %d -l %d '%s' - 2>&1", pg, pg, path);
    char *out = run(cmd, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(strstr(out, pg == 1 ? "exam-\n" : "inte-\n"), "%s", out);
    free(out);
  }
  fx_free(&fx);
}
END_TEST


/* Every allocation of the writer failing in turn: TS_ERR_NOMEM, no output,
 * no crash, no leak (run under ASan).  With the cache folder off every
 * failure must fail the PDF; with it on (the subsets read from files after
 * the first round), a failure in the cache's own work may instead be a miss
 * or a file not written, so the result is TS_ERR_NOMEM or the very bytes of
 * a run without failures. */
static void oom_rounds(int cache) {
  fixture fx;
  build_sample(&fx);
  ts_diag d;
  ts_diag_init(&d, NULL);
  unsigned char *ref = NULL;
  size_t rlen = 0;
  if (!cache) ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", "off", 1), 0);
  ck_assert_int_eq(ts_pdf_write_mem(fx.ctx, fx.doc, NULL, &fx.l, &ref, &rlen, &d), TS_OK);
  long n;
  int failures = 0, survived = 0;
  for (n = 1; n < 20000; n++) {
    unsigned char *data = NULL;
    size_t len = 0;
    fail_countdown = n;
    ts_status st = ts_pdf_write_mem(fx.ctx, fx.doc, NULL, &fx.l, &data, &len, &d);
    long left = fail_countdown;
    fail_countdown = 0;
    if (left > 0) { /* no allocation failed: done */
      ck_assert_int_eq(st, TS_OK);
      free(data);
      break;
    }
    if (cache && st == TS_OK) {
      ck_assert_uint_eq(len, rlen);
      ck_assert_msg(memcmp(data, ref, len) == 0, "allocation %ld: other bytes", n);
      free(data);
      survived++;
      continue;
    }
    ck_assert_msg(st == TS_ERR_NOMEM, "allocation %ld: %s", n, ts_status_str(st));
    ck_assert_ptr_null(data);
    failures++;
  }
  ck_assert_int_lt(n, 20000);
  ck_assert_int_gt(failures, 10);
  if (cache) ck_assert_int_gt(survived, 0); /* the cache's allocations were reached */
  if (getenv("TS_VERBOSE"))
    fprintf(stderr, "oom (cache %d): %d failure points, %d survived\n", cache, failures, survived);
  free(ref);
  fx_free(&fx);
}

START_TEST(test_oom) { oom_rounds(0); }
END_TEST

START_TEST(test_oom_cached) { oom_rounds(1); }
END_TEST


/* Random display lists (glyph ids, clusters, offsets, colours, bytes of
 * text that need not be UTF-8, odd numbers): always a valid PDF. */
static uint32_t rnd(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(*s >> 33);
}

static double rnd_num(uint64_t *s) {
  switch (rnd(s) % 12) {
  case 0: return 0.0 / 0.0;
  case 1: return 1e300;
  case 2: return -1e300;
  case 3: return -(double)(rnd(s) % 100);
  default: return (double)(rnd(s) % 60000) / 100.0;
  }
}

START_TEST(test_random_layouts) {
  fixture fx;
  fx_init(&fx, 3);
  const ts_face *faces[2] = {face(&fx, DEJAVU, 0), face(&fx, LIBERTINE, 0)};
  uint64_t seed = 12345;
  for (int iter = 0; iter < 40; iter++) {
    for (size_t p = 0; p < 3; p++) fx.l.pages[p].n = 0;
    for (int k = 0, nk = (int)(rnd(&seed) % 40); k < nk; k++) {
      size_t pg = rnd(&seed) % 3;
      ts_draw_kind kind = (ts_draw_kind)(rnd(&seed) % 6);
      if (kind == TS_DRAW_IMAGE) kind = TS_DRAW_RECT;
      ts_draw *d = add(&fx, pg, kind, rnd_num(&seed), rnd_num(&seed));
      d->w = rnd_num(&seed);
      d->h = rnd_num(&seed);
      d->lw = rnd_num(&seed);
      d->color = rnd(&seed);
      static const char *names[] = {"a", "b", "#a", "", "c"};
      if (kind == TS_DRAW_DEST || (kind == TS_DRAW_LINK && rnd(&seed) % 2))
        d->dest = names[rnd(&seed) % 5];
      else if (kind == TS_DRAW_LINK)
        d->uri = "http://x.org/\x01\xff?a=b c";
      if (kind == TS_DRAW_GLYPHS) {
        uint32_t n = rnd(&seed) % 30, tl = rnd(&seed) % 40;
        ts_run *r = ts_arena_alloc(fx.a, sizeof *r);
        ts_glyph *g = ts_arena_alloc(fx.a, (n ? n : 1) * sizeof *g);
        char *text = ts_arena_alloc(fx.a, tl + 1);
        for (uint32_t i = 0; i < tl; i++) text[i] = (char)(rnd(&seed) % 255 + 1);
        r->face = faces[rnd(&seed) % 2];
        r->size = (float)(rnd(&seed) % 4 ? 1 + rnd(&seed) % 30 : rnd_num(&seed));
        float *ys = rnd(&seed) % 2 ? ts_arena_alloc(fx.a, (n ? n : 1) * sizeof *ys) : NULL;
        for (uint32_t i = 0; i < n; i++) {
          g[i].gid = (uint16_t)(rnd(&seed) % 8 ? rnd(&seed) % 2000 : rnd(&seed));
          g[i].cluster = rnd(&seed) % (tl + 3);
          g[i].x = (float)rnd_num(&seed);
          if (ys) ys[i] = (float)(rnd(&seed) % 3 ? 0 : rnd_num(&seed));
        }
        r->glyphs = g;
        r->ys = ys;
        r->n = n;
        r->text = text;
        r->text_len = tl;
        d->run = r;
      }
    }
    char path[400];
    snprintf(path, sizeof path, "%s/r%d.pdf", tmpdir, iter);
    ts_diag d;
    ts_diag_init(&d, NULL);
    ts_status st = ts_pdf_write(fx.ctx, fx.doc, NULL, &fx.l, path, &d);
    ck_assert_msg(st == TS_OK, "iteration %d: %s %s", iter, ts_status_str(st), d.first_error);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "qpdf --check '%s' >/dev/null 2>&1", path);
    ck_assert_msg(system(cmd) == 0, "iteration %d: qpdf --check failed", iter);
  }
  fx_free(&fx);
}
END_TEST


/* Page labels follow the folios: a new decimal range where they jump. */
START_TEST(test_page_labels) {
  fixture fx;
  fx_init(&fx, 4);
  fx.l.pages[0].number = 0; /* unnumbered title page: its index */
  fx.l.pages[1].number = 5;
  fx.l.pages[2].number = 6;
  fx.l.pages[3].number = 9;
  const char *path = write_sample(&fx, "labels.pdf");
  char cmd[700];
  int rc;
  snprintf(cmd, sizeof cmd, "qpdf --json --json-key=pagelabels '%s' | tr -d ' \\n'", path);
  char *out = run(cmd, &rc);
  ck_assert_int_eq(rc, 0);
  ck_assert_msg(strstr(out, "\"pagelabels\":[{\"index\":0,\"label\":{\"/S\":\"/D\",\"/St\":1}},"
                            "{\"index\":1,\"label\":{\"/S\":\"/D\",\"/St\":5}},"
                            "{\"index\":3,\"label\":{\"/S\":\"/D\",\"/St\":9}}]"), "%s", out);
  free(out);
  fx_free(&fx);
}
END_TEST


/* A face flagged CFF without a 'CFF ' table (as a CFF2 variable font would
 * be): a reported font error, not a broken PDF. */
START_TEST(test_cff2_refused) {
  fixture fx;
  fx_init(&fx, 1);
  face(&fx, DEJAVU, 0);
  ts_face *f = fx.faces[0];
  f->is_cff = 1; /* DejaVu has glyf outlines: no 'CFF ' table */
  add_text(&fx, 0, f, "abc", 12, 72, 700, 0);
  unsigned char *data = NULL;
  size_t len = 0;
  ts_diag d;
  ts_diag_init(&d, NULL);
  ck_assert_int_eq(ts_pdf_write_mem(fx.ctx, fx.doc, NULL, &fx.l, &data, &len, &d), TS_ERR_FONT);
  ck_assert_ptr_null(data);
  ck_assert_msg(strstr(d.first_error, "CFF2"), "%s", d.first_error);
  fx_free(&fx);
}
END_TEST

/* The subsets on disk (TYPESET_CACHE_DIR, kind "pdffont"): the first
 * writer makes a subset file per face; the next reads them (the same files,
 * touched, not rewritten) and gives the same bytes; damaged files (cut
 * short, a byte changed) and a file holding another face's subset under
 * this face's name are misses that give the same bytes and are rewritten;
 * with TYPESET_CACHE_DIR=off nothing is read or written. */
static void file_stat(const char *dir, const char *name, struct stat *st) {
  char p[600];
  snprintf(p, sizeof p, "%.500s/%.63s", dir, name);
  ck_assert_int_eq(stat(p, st), 0);
}

static unsigned char *pdf_fresh(fixture *fx, size_t *len) {
  /* a fresh context: nothing kept in memory from the last writer */
  ts_ctx *c = ts_ctx_create();
  ck_assert_ptr_nonnull(c);
  unsigned char *data = NULL;
  ts_diag d;
  ts_diag_init(&d, stderr);
  ck_assert_int_eq(ts_pdf_write_mem(c, fx->doc, NULL, &fx->l, &data, len, &d), TS_OK);
  ts_ctx_destroy(c);
  return data;
}

static void assert_same_bytes(const unsigned char *a, size_t la, const unsigned char *b, size_t lb) {
  ck_assert_uint_eq(la, lb);
  ck_assert_msg(memcmp(a, b, la) == 0, "the PDFs differ");
}

START_TEST(test_subset_disk_cache) {
  char dir[300];
  snprintf(dir, sizeof dir, "%s/cache", tmpdir);
  fixture fx;
  build_sample(&fx);
  size_t l0, l1, l2, l3, l4;
  unsigned char *a = pdf_fresh(&fx, &l0);
  char names[16][64];
  size_t n = ts_test_cache_files(dir, "pdffont-", names, 16, NULL);
  ck_assert_uint_eq(n, 4); /* Libertine, DejaVu, Noto CJK, Noto Naskh */
  /* warm: every file read, none rewritten */
  ts_test_cache_age(dir, "pdffont-");
  struct stat before[4], after;
  for (size_t i = 0; i < n; i++) file_stat(dir, names[i], &before[i]);
  unsigned char *b = pdf_fresh(&fx, &l1);
  assert_same_bytes(a, l0, b, l1);
  time_t oldest;
  ck_assert_uint_eq(ts_test_cache_files(dir, "pdffont-", NULL, 0, &oldest), n);
  ck_assert_msg(oldest > 978307200, "a subset file was not read");
  for (size_t i = 0; i < n; i++) {
    file_stat(dir, names[i], &after);
    ck_assert_msg(after.st_ino == before[i].st_ino, "%s was made again, not read", names[i]);
  }
  /* damaged: one cut short, one with a byte changed, one replaced by
   * another face's file — all misses, the same bytes, files rewritten */
  char p0[600], p1[600], p2[600], p3[600];
  snprintf(p0, sizeof p0, "%s/%s", dir, names[0]);
  snprintf(p1, sizeof p1, "%s/%s", dir, names[1]);
  snprintf(p2, sizeof p2, "%s/%s", dir, names[2]);
  snprintf(p3, sizeof p3, "%s/%s", dir, names[3]);
  ck_assert_int_eq(truncate(p0, before[0].st_size / 2), 0);
  ts_test_flip_byte(p1);
  char cmd[1300];
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", p3, p2);
  ck_assert_int_eq(system(cmd), 0);
  unsigned char *e = pdf_fresh(&fx, &l2);
  assert_same_bytes(a, l0, e, l2);
  for (size_t i = 0; i < 3; i++) {
    file_stat(dir, names[i], &after);
    ck_assert_int_eq(after.st_size, before[i].st_size);
    ck_assert_msg(after.st_ino != before[i].st_ino, "%s was not rewritten", names[i]);
  }
  /* off: the same bytes, nothing read or touched */
  ts_test_cache_age(dir, "pdffont-");
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", "off", 1), 0);
  unsigned char *g = pdf_fresh(&fx, &l3);
  assert_same_bytes(a, l0, g, l3);
  ck_assert_uint_eq(ts_test_cache_files(dir, "pdffont-", NULL, 0, &oldest), n);
  ck_assert_int_eq(oldest, 978307200);
  /* other glyphs of a face: another file, the old ones kept */
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", dir, 1), 0);
  add_text(&fx, 1, face(&fx, LIBERTINE, 0), "Zebra quiz", 14, 72, 700, 0);
  unsigned char *h = pdf_fresh(&fx, &l4);
  ck_assert_uint_eq(ts_test_cache_files(dir, "pdffont-", NULL, 0, NULL), n + 1);
  free(a);
  free(b);
  free(e);
  free(g);
  free(h);
  fx_free(&fx);
}
END_TEST

/* The page rendered to a picture for a human look (TS_KEEP=1 keeps it). */
START_TEST(test_render_png) {
  fixture fx;
  build_sample(&fx);
  const char *path = write_sample(&fx, "a.pdf");
  char cmd[900];
  int rc;
  snprintf(cmd, sizeof cmd, "pdftoppm -r 70 -f 1 -l 1 -png '%s' '%s/page' 2>&1", path, tmpdir);
  char *out = run(cmd, &rc);
  ck_assert_msg(rc == 0 && out[0] == 0, "pdftoppm: %s", out); /* no font warnings */
  free(out);
  fx_free(&fx);
}
END_TEST

int main(void) {
  /* the suite calls HarfBuzz itself, through typeset's table of it (fonts/hb_api.h) */
  if (!ts_hb_open(NULL)) return 1;
  Suite *s = suite_create("pdf");
  TCase *tc = tcase_create("pdf");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_qpdf_check);
  tcase_add_test(tc, test_pdffonts);
  tcase_add_test(tc, test_pdftotext);
  tcase_add_test(tc, test_pdfinfo);
  tcase_add_test(tc, test_structure);
  tcase_add_test(tc, long_link_shares_its_action);
  tcase_add_test(tc, test_deterministic);
  tcase_add_test(tc, test_subset_disk_cache);
  tcase_add_test(tc, test_image_ok);
  tcase_add_test(tc, test_image_missing);
  tcase_add_test(tc, test_image_bomb);
  tcase_add_test(tc, test_image_not_image);
  tcase_add_test(tc, test_positions);
  tcase_add_test(tc, test_expansion);
  tcase_add_test(tc, test_tj_halves);
  tcase_add_test(tc, test_unordered_clusters);
  tcase_add_test(tc, test_render_png);
  tcase_add_test(tc, test_png_passthrough_pixels);
  tcase_add_test(tc, test_png_alpha_through_libharu);
  tcase_add_test(tc, test_png_interlaced_pixels);
  tcase_add_test(tc, test_gif_pixels);
  tcase_add_test(tc, test_gif_refused);
  tcase_add_test(tc, test_png_bad_crc);
  tcase_add_test(tc, test_actualtext);
  tcase_add_test(tc, test_garbage_runs);
  tcase_add_test(tc, test_bad_page_size);
  tcase_add_test(tc, test_dates);
  tcase_add_test(tc, test_threads);
  tcase_add_test(tc, test_threads_same_bytes);
  tcase_add_test(tc, test_hyphen);
  tcase_add_test(tc, test_oom);
  tcase_add_test(tc, test_oom_cached);
  tcase_add_test(tc, test_cff2_refused);
  tcase_add_test(tc, test_page_labels);
  tcase_add_test(tc, test_random_layouts);
  tcase_add_test(tc, test_image_corrupt);
  tcase_add_test(tc, test_image_truncated);
  tcase_add_test(tc, test_image_jpeg);
  tcase_add_test(tc, test_image_jpeg_bomb);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
