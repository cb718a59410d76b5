/* test_layout.c — whole layouts through the real pipeline: Markdown →
 * model → text engine (HarfBuzz, Linux Libertine O) → page builder.  Checks
 * what a publisher would check on proofs: notes on their marks' pages,
 * nothing outside the text block, widows/orphans, headings never last,
 * table headers repeated, figures scaled to fit, running heads, {pages},
 * the contents' page numbers, links and destinations, determinism. */
#include "core/ts_core.h"
#include "doc/ts_doc.h"
#include "markdown/ts_markdown.h"
#include "page/page_int.h"
#include "style/ts_style.h"
#include "text/text_internal.h"
#include "../alloc_fail_api.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ts_ctx *ctx;
static char tmpdir[128];

static void setup(void) {
  ctx = ts_ctx_create();
  ck_assert_ptr_nonnull(ctx);
  snprintf(tmpdir, sizeof tmpdir, "/tmp/ts-page-test-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
  ts_ctx_destroy(ctx);
}

typedef struct run_t {
  ts_doc *doc;
  ts_style *st;
  ts_layout l;
  pg_debug dbg;
  ts_diag d;
  ts_status status;
} run_t;

static ts_style *style_named(const char *name, ts_diag *d) {
  ts_style *s = NULL;
  ck_assert_int_eq(ts_style_load(ctx, name, d, &s), TS_OK);
  return s;
}

/* Lays out markdown text (written to tmpdir/doc.md so images resolve). */
static void layout(run_t *r, const char *md, ts_style *st) {
  memset(r, 0, sizeof *r);
  ts_diag_init(&r->d, NULL);
  char path[256];
  snprintf(path, sizeof path, "%s/doc.md", tmpdir);
  ck_assert_int_eq(ts_markdown_parse(ctx, path, md, strlen(md), &r->d, &r->doc), TS_OK);
  r->st = st;
  ts_layout_opts o = {st, NULL};
  r->status = pg_layout(ctx, r->doc, &o, &r->d, &r->l, &r->dbg);
}

static void done_run(run_t *r) {
  ts_arena_destroy(r->dbg.galley);
  ts_doc_destroy(r->doc);
  ts_style_destroy(r->st);
}

/* Page index of the destination `name` (-1 if absent); *count its number. */
static int dest_page(const ts_layout *l, const char *name, int *count) {
  int page = -1, n = 0;
  for (size_t p = 0; p < l->n_pages; p++)
    for (size_t i = 0; i < l->pages[p].n; i++) {
      const ts_draw *d = &l->pages[p].items[i];
      if (d->kind == TS_DRAW_DEST && d->dest && !strcmp(d->dest, name)) {
        if (page < 0) page = (int)p;
        n++;
      }
    }
  if (count) *count = n;
  return page;
}

/* Deterministic filler text: `n` words. */
static void words(ts_buf *b, unsigned *seed, int n) {
  static const char *const w[] = {
      "the", "policy", "of", "cooperation", "between", "neighbouring", "countries",
      "has", "changed", "considerably", "since", "trade", "and", "investment",
      "grew", "while", "sanctions", "restricted", "access", "to", "technology",
      "markets", "responded", "with", "new", "corridors", "for", "grain", "and",
      "energy", "supplies", "that", "avoid", "the", "old", "routes", "entirely"};
  for (int i = 0; i < n; i++) {
    *seed = *seed * 1103515245u + 12345u;
    ts_buf_puts(b, w[(*seed >> 16) % (sizeof w / sizeof w[0])]);
    ts_buf_putc(b, i + 1 < n ? ' ' : '.');
  }
}

static double block_top(const ts_style *s) { return s->page_h - s->margin_top; }
static double block_bottom(const ts_style *s) { return s->margin_bottom; }
static double block_left(const ts_style *s, size_t page) {
  return (s->mirror && (page + 1) % 2 == 0) ? s->margin_outer : s->margin_inner;
}

/* ---- footnotes ----------------------------------------------------------- */

START_TEST(notes_on_their_marks_pages) {
  ts_buf md;
  ts_buf_init(&md);
  unsigned seed = 7;
  ts_buf_puts(&md, "---\ntitle: Notes\n---\n\n");
  int nn = 0;
  for (int p = 0; p < 40; p++) {
    words(&md, &seed, 40 + (int)(seed >> 20) % 80);
    if (p % 2 == 0) {
      ts_buf_printf(&md, "[^n%d] ", ++nn);
      words(&md, &seed, 20);
    }
    ts_buf_puts(&md, "\n\n");
  }
  for (int k = 1; k <= nn; k++) {
    ts_buf_printf(&md, "[^n%d]: ", k);
    words(&md, &seed, 10 + (k * 37) % 90); /* notes of 1 to 8 lines */
    ts_buf_puts(&md, "\n\n");
  }
  run_t r;
  layout(&r, md.data, style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  ck_assert_uint_gt(r.l.n_pages, 4);
  double area = PG_NOTE_AREA * (r.st->page_h - r.st->margin_top - r.st->margin_bottom);
  for (int k = 1; k <= nn; k++) {
    char fn[32], ref[32];
    snprintf(fn, sizeof fn, "fn-%d", k);
    snprintf(ref, sizeof ref, "fnref-%d", k);
    int c1, c2;
    int pf = dest_page(&r.l, fn, &c1), pr = dest_page(&r.l, ref, &c2);
    ck_assert_int_eq(c1, 1); /* each note set exactly once */
    ck_assert_int_eq(c2, 1);
    ck_assert_int_ge(pf, pr); /* never before its mark */
    const pg_note *nt = r.dbg.b->notes[k - 1];
    if (nt->height <= area) ck_assert_int_eq(pf, pr); /* a note that fits starts there */
  }
  ts_buf_free(&md);
  done_run(&r);
}
END_TEST

START_TEST(long_note_splits_across_pages) {
  ts_buf md;
  ts_buf_init(&md);
  unsigned seed = 11;
  ts_buf_puts(&md, "---\ntitle: Long note\n---\n\n");
  for (int p = 0; p < 12; p++) {
    words(&md, &seed, 80);
    if (p == 3) ts_buf_puts(&md, "[^long]");
    ts_buf_puts(&md, "\n\n");
  }
  ts_buf_puts(&md, "[^long]: ");
  words(&md, &seed, 1500); /* ~90 lines of notes: taller than a page */
  ts_buf_puts(&md, "\n");
  run_t r;
  layout(&r, md.data, style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  ck_assert_uint_ge(r.l.n_notes_split, 2); /* three pieces at least */
  int pr = dest_page(&r.l, "fnref-1", NULL), pf = dest_page(&r.l, "fn-1", NULL);
  ck_assert_int_eq(pf, pr); /* it starts on its mark's page */
  /* its text continues on the following pages: note lines sit below the
   * body, so the pages after the mark carry small (8.5pt) glyph runs */
  int pages_with_note_text = 0;
  for (size_t p = (size_t)pr; p < r.l.n_pages; p++) {
    int has = 0;
    for (size_t i = 0; i < r.l.pages[p].n; i++) {
      const ts_draw *d = &r.l.pages[p].items[i];
      if (d->kind == TS_DRAW_GLYPHS && d->run->size < 9 && d->y > block_bottom(r.st) - 1 &&
          d->y < block_top(r.st))
        has = 1;
    }
    pages_with_note_text += has;
  }
  ck_assert_int_ge(pages_with_note_text, 3);
  ts_buf_free(&md);
  done_run(&r);
}
END_TEST

START_TEST(two_hundred_notes_in_one_paragraph) {
  ts_buf md;
  ts_buf_init(&md);
  ts_buf_puts(&md, "---\ntitle: Many notes\n---\n\n");
  for (int k = 1; k <= 200; k++) ts_buf_printf(&md, "w%d[^%d] ", k, k);
  ts_buf_puts(&md, "\n\n");
  for (int k = 1; k <= 200; k++) ts_buf_printf(&md, "[^%d]: Note number %d.\n\n", k, k);
  run_t r;
  layout(&r, md.data, style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  ck_assert_uint_lt(r.l.n_pages, 60);
  for (int k = 1; k <= 200; k++) {
    char fn[32], ref[32];
    snprintf(fn, sizeof fn, "fn-%d", k);
    snprintf(ref, sizeof ref, "fnref-%d", k);
    int c;
    int pf = dest_page(&r.l, fn, &c);
    ck_assert_int_eq(c, 1);
    ck_assert_int_ge(pf, dest_page(&r.l, ref, NULL));
  }
  ts_buf_free(&md);
  done_run(&r);
}
END_TEST

/* ---- geometry -------------------------------------------------------------- */

/* Every item inside its page's text block, except the running heads and
 * folios, which sit on at most one baseline above and one below it. */
static void check_inside(const run_t *r) {
  const ts_style *s = r->st;
  double bw = s->page_w - s->margin_inner - s->margin_outer;
  for (size_t p = 0; p < r->l.n_pages; p++) {
    double x0 = block_left(s, p), x1 = x0 + bw;
    double y0 = block_bottom(s), y1 = block_top(s);
    double head = -1, foot = -1;
    for (size_t i = 0; i < r->l.pages[p].n; i++) {
      const ts_draw *d = &r->l.pages[p].items[i];
      double w = d->kind == TS_DRAW_GLYPHS ? d->run->width : d->w;
      /* justified text may hang punctuation into the margin (protrusion):
       * at most 0.4 em, and so may a link's rectangle, which covers its
       * text; everything else stays strictly inside */
      double tol = d->kind == TS_DRAW_GLYPHS ? 0.4 * d->run->size
                   : d->kind == TS_DRAW_LINK ? 0.4 * s->body.size : 0.5;
      if (r->l.n_overfull == 0) /* overfull lines stick out, reported */
        ck_assert_msg(d->x >= x0 - tol && d->x + w <= x1 + tol,
                    "page %zu item %zu kind %d outside horizontally: %g..%g not in %g..%g",
                    p + 1, i, d->kind, d->x, d->x + w, x0, x1);
      if (d->kind == TS_DRAW_DEST) continue;
      double top = d->y + (d->kind == TS_DRAW_GLYPHS ? 0 : d->h);
      if (d->y >= y0 - 3 && top <= y1 + 0.5) continue; /* descenders may touch */
      ck_assert_int_ne(d->kind, TS_DRAW_IMAGE);
      ck_assert_int_ne(d->kind, TS_DRAW_RECT);
      if (d->y > y1) { /* header band: one baseline (and its rule) */
        if (d->kind == TS_DRAW_RULE) continue;
        if (head < 0) head = d->y;
        ck_assert_double_eq_tol(d->y, head, 2.0);
      } else {
        if (d->kind == TS_DRAW_RULE) continue;
        if (foot < 0) foot = d->y;
        ck_assert_double_eq_tol(d->y, foot, 2.0);
      }
    }
  }
}

static char *read_sample(const char *name) {
  char path[512];
  const char *dd = getenv("TYPESET_DATA_DIR");
  snprintf(path, sizeof path, "%s/samples/%s", dd ? dd : TS_DATA_DIR, name);
  size_t len;
  char *s = ts_file_read(path, &len, 0);
  ck_assert_ptr_nonnull(s);
  return s;
}

static const char *const samples[] = {"not-to-disappear-one-by-one.md", "grain-corridors.md",
                                      "arctic-shipping.md", "multilingual.md",
                                      "shared-rivers.md"};

START_TEST(samples_stay_inside_the_block) {
  char *md = read_sample(samples[_i]);
  /* images resolve beside the sample: run from its folder */
  char path[512];
  const char *dd = getenv("TYPESET_DATA_DIR");
  snprintf(path, sizeof path, "%s/samples/%s", dd ? dd : TS_DATA_DIR, samples[_i]);
  run_t r;
  memset(&r, 0, sizeof r);
  ts_diag_init(&r.d, NULL);
  ck_assert_int_eq(ts_markdown_parse(ctx, path, md, strlen(md), &r.d, &r.doc), TS_OK);
  r.st = style_named("paper", &r.d);
  ts_layout_opts o = {r.st, NULL};
  ck_assert_int_eq(pg_layout(ctx, r.doc, &o, &r.d, &r.l, &r.dbg), TS_OK);
  ck_assert_uint_eq(r.l.n_overfull, 0);
  check_inside(&r);
  /* widows, orphans, headings: in every frame that was not forced */
  const pg_break_result *res = &r.dbg.res;
  const pg_vlist *v = &r.dbg.b->main;
  for (size_t f = 0; f + 1 < res->n; f++) {
    const pg_frame *fr = &res->frames[f];
    if (fr->forced) continue;
    const pg_box *first = NULL, *last = NULL;
    pg_frame_it it;
    pg_frame_it_init(&it, fr);
    size_t i;
    while ((i = pg_frame_it_next(&it)) != PG_FRAME_END)
      if (v->items[i].kind == PG_V_BOX && it.phase == 1) { /* body, not a float */
        if (!first) first = v->items[i].box;
        last = v->items[i].box;
      }
    if (!last) continue;
    ck_assert_int_ne(last->kind, PG_BOX_HEADING);
    if (last->kind == PG_BOX_LINE && last->para_lines > 1) ck_assert_int_ne(last->para_line, 0);
    if (first->kind == PG_BOX_LINE && first->para_lines > 1)
      ck_assert_int_ne(first->para_line, first->para_lines - 1);
  }
  /* page 1 of the paper style has no running head: nothing above the block */
  for (size_t i = 0; i < r.l.pages[0].n; i++)
    ck_assert_double_le(r.l.pages[0].items[i].y, block_top(r.st) + 0.5);
  if (r.l.n_pages > 1) {
    int above = 0;
    for (size_t i = 0; i < r.l.pages[1].n; i++)
      above += r.l.pages[1].items[i].kind == TS_DRAW_GLYPHS &&
               r.l.pages[1].items[i].y > block_top(r.st);
    ck_assert_int_gt(above, 0);
  }
  free(md);
  done_run(&r);
}
END_TEST

/* The words shaped ahead on a second thread (page_prewarm.c): the layout
 * after it finds most of its words in the caches, and the pages are the
 * very pages of a layout on one thread without it — as they are when the
 * thread runs beside the layout (ts_page_layout with two threads). */
static char *dump_layout(ts_ctx *c, const char *path, const char *md, int threads,
                         int prewarm_first, uint64_t *layout_misses) {
  ts_diag d;
  ts_diag_init(&d, NULL);
  ts_doc *doc = NULL;
  ck_assert_int_eq(ts_markdown_parse(c, path, md, strlen(md), &d, &doc), TS_OK);
  ts_style *st = NULL;
  ck_assert_int_eq(ts_style_load(c, "paper", &d, &st), TS_OK);
  ts_ctx_set_threads(c, threads);
  uint64_t h0, m0, h1, m1;
  if (prewarm_first) {
    pg_prewarm *w = pg_prewarm_start(c, doc, st, doc->meta.lang ? doc->meta.lang : "en");
    ck_assert_ptr_nonnull(w);
    pg_prewarm_finish(w);
  }
  ts_text_wordcache_stats(c, &h0, &m0);
  ts_layout l;
  ts_layout_opts o = {st, NULL};
  ck_assert_int_eq(prewarm_first ? pg_layout(c, doc, &o, &d, &l, NULL)
                                 : ts_page_layout(c, doc, &o, &d, &l), TS_OK);
  ts_text_wordcache_stats(c, &h1, &m1);
  if (layout_misses) *layout_misses = m1 - m0;
  ts_buf b;
  ts_buf_init(&b);
  ts_page_dump(&l, &b);
  char *r = ts_buf_detach(&b, NULL);
  ck_assert_ptr_nonnull(r);
  ts_style_destroy(st);
  ts_doc_destroy(doc);
  return r;
}

START_TEST(prewarm_changes_nothing) {
  char *md = read_sample(samples[_i]);
  char path[512];
  const char *dd = getenv("TYPESET_DATA_DIR");
  snprintf(path, sizeof path, "%s/samples/%s", dd ? dd : TS_DATA_DIR, samples[_i]);
  ts_ctx *c1 = ts_ctx_create(), *c2 = ts_ctx_create(), *c3 = ts_ctx_create();
  ck_assert(c1 && c2 && c3);
  uint64_t cold = 0, warm = 0;
  char *one = dump_layout(c1, path, md, 1, 0, &cold);
  char *pre = dump_layout(c2, path, md, 2, 1, &warm);
  char *beside = dump_layout(c3, path, md, 2, 0, NULL);
  ck_assert_str_eq(one, pre);
  ck_assert_str_eq(one, beside);
  ck_assert_uint_gt(cold, 100);
  /* the Latin samples' words were mostly shaped ahead: what is left is the
   * footnotes and the first page's title block, which the builder sets
   * first (the multilingual sample's other scripts are not shaped word by
   * word at all) */
  if (strcmp(samples[_i], "multilingual.md") != 0)
    ck_assert_msg(warm * 2 < cold, "%s: %llu of %llu words still shaped by the layout",
                  samples[_i], (unsigned long long)warm, (unsigned long long)cold);
  free(one);
  free(pre);
  free(beside);
  ts_ctx_destroy(c1);
  ts_ctx_destroy(c2);
  ts_ctx_destroy(c3);
  free(md);
}
END_TEST

START_TEST(pages_placeholder_substituted) {
  ts_diag d;
  ts_diag_init(&d, NULL);
  const char *y = "base: paper\nrunning:\n  footer-recto: \"{page} of {pages}\"\n"
                  "  footer-verso: \"{page} of {pages}\"\n";
  ts_style *st = NULL;
  ck_assert_int_eq(ts_style_load_string(ctx, y, strlen(y), "t.yaml", &d, &st), TS_OK);
  ts_buf md;
  ts_buf_init(&md);
  unsigned seed = 3;
  ts_buf_puts(&md, "---\ntitle: Pages\n---\n\n");
  for (int p = 0; p < 30; p++) {
    words(&md, &seed, 90);
    ts_buf_puts(&md, "\n\n");
  }
  run_t r;
  layout(&r, md.data, st);
  ck_assert_int_eq(r.status, TS_OK);
  ck_assert_uint_ge(r.l.n_pages, 3);
  char want[32];
  snprintf(want, sizeof want, "of %zu", r.l.n_pages);
  for (size_t p = 1; p < r.l.n_pages; p++) {
    ts_buf foot;
    ts_buf_init(&foot);
    for (size_t i = 0; i < r.l.pages[p].n; i++) {
      const ts_draw *dr = &r.l.pages[p].items[i];
      if (dr->kind == TS_DRAW_GLYPHS && dr->y < block_bottom(st) - 3) {
        ts_buf_append(&foot, dr->run->text, dr->run->text_len);
        ts_buf_putc(&foot, ' ');
      }
    }
    ts_buf_putc(&foot, 0);
    ck_assert_msg(strstr(foot.data, want) != NULL, "page %zu footer '%s'", p + 1, foot.data);
    ck_assert_ptr_null(strstr(foot.data, "{"));
    ts_buf_free(&foot);
  }
  ts_buf_free(&md);
  done_run(&r);
}
END_TEST

START_TEST(table_header_repeats) {
  ts_buf md;
  ts_buf_init(&md);
  ts_buf_puts(&md, "---\ntitle: Table\n---\n\nIntro.\n\n| Year | Quantity | Comment |\n"
                   "|---:|---:|:---|\n");
  for (int k = 0; k < 150; k++)
    ts_buf_printf(&md, "| %d | %d | row number %d of the long table |\n", 1900 + k, k * 37, k);
  ts_buf_puts(&md, "\nAfter.\n");
  run_t r;
  layout(&r, md.data, style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  ck_assert_uint_ge(r.l.n_pages, 3);
  /* every page with table rows shows the header "Quantity" */
  int table_pages = 0;
  for (size_t p = 0; p < r.l.n_pages; p++) {
    int rows = 0, header = 0;
    for (size_t i = 0; i < r.l.pages[p].n; i++) {
      const ts_draw *d = &r.l.pages[p].items[i];
      if (d->kind != TS_DRAW_GLYPHS) continue;
      if (d->run->text_len >= 8 && !memcmp(d->run->text, "Quantity", 8)) header++;
      if (d->run->text_len >= 3 && !memcmp(d->run->text, "row", 3)) rows++;
    }
    if (rows) {
      table_pages++;
      ck_assert_int_eq(header, 1);
    }
  }
  ck_assert_int_ge(table_pages, 3);
  check_inside(&r);
  ts_buf_free(&md);
  done_run(&r);
}
END_TEST

static void write_png(const char *path, uint32_t w, uint32_t h) {
  unsigned char png[33] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13,
                           'I', 'H', 'D', 'R'};
  png[16] = (unsigned char)(w >> 24); png[17] = (unsigned char)(w >> 16);
  png[18] = (unsigned char)(w >> 8); png[19] = (unsigned char)w;
  png[20] = (unsigned char)(h >> 24); png[21] = (unsigned char)(h >> 16);
  png[22] = (unsigned char)(h >> 8); png[23] = (unsigned char)h;
  png[24] = 8; png[25] = 2;
  FILE *fp = fopen(path, "wb");
  ck_assert_ptr_nonnull(fp);
  fwrite(png, 1, sizeof png, fp);
  fclose(fp);
}

/* Text of the glyph runs on the baseline of the first run starting with
 * `word` (page p), in drawing order; "" when absent. */
static void baseline_text(const ts_layout *l, const char *word, char *out, size_t cap) {
  out[0] = 0;
  size_t wl = strlen(word), o = 0;
  for (size_t p = 0; p < l->n_pages; p++) {
    const ts_draw *hit = NULL;
    for (size_t i = 0; i < l->pages[p].n && !hit; i++) {
      const ts_draw *d = &l->pages[p].items[i];
      if (d->kind == TS_DRAW_GLYPHS && d->run->text_len >= wl && !memcmp(d->run->text, word, wl))
        hit = d;
    }
    if (!hit) continue;
    for (size_t i = 0; i < l->pages[p].n; i++) {
      const ts_draw *d = &l->pages[p].items[i];
      if (d->kind != TS_DRAW_GLYPHS || d->y != hit->y) continue;
      for (uint32_t k = 0; k < d->run->text_len && o + 2 < cap; k++) out[o++] = d->run->text[k];
      out[o++] = '|';
    }
    out[o] = 0;
    return;
  }
}

/* Column widths from min/max content (CSS 2.1 auto layout): the arctic
 * sample's table fits the measure without hyphenating a word, and the wide
 * "Main waters" column is not squeezed to its longest word (it once came
 * out one word a line: "Kara," / "Laptev," / "East" ...). */
START_TEST(table_columns_from_min_max_content) {
  const char *md =
      "---\ntitle: Table\n---\n\nIntro.\n\n"
      "| Route | Main waters | Season for non-icebreaking ships | Distance saving vs Suez, "
      "Rotterdam–Yokohama | Escort |\n"
      "|:------|:------------|:----:|----:|:------:|\n"
      "| Northern Sea Route | Kara, Laptev, East Siberian and Chukchi Seas | July–November | "
      "about 35–40% | Often required |\n"
      "| Northwest Passage | Canadian Arctic Archipelago | August–October | about 25–30% | Rare |\n"
      "| Transpolar Route | Central Arctic Ocean | Not yet available | about 40% | Icebreaker "
      "only |\n\nAfter.\n";
  run_t r;
  layout(&r, md, style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  char line[512];
  baseline_text(&r.l, "Kara", line, sizeof line);
  ck_assert_msg(strstr(line, "Laptev") != NULL, "Kara and Laptev share a line: %s", line);
  /* whole words: header words not hyphenated, body words not hyphenated */
  baseline_text(&r.l, "icebreaking", line, sizeof line);
  ck_assert_msg(line[0] != 0, "header word 'icebreaking' is set whole");
  baseline_text(&r.l, "Rotterdam", line, sizeof line);
  ck_assert_msg(strstr(line, "Rotterdam\xE2\x80\x93") != NULL, "Rotterdam– whole: %s", line);
  baseline_text(&r.l, "Archipelago", line, sizeof line);
  ck_assert_msg(line[0] != 0, "'Archipelago' is set whole");
  baseline_text(&r.l, "Icebreaker", line, sizeof line);
  ck_assert_msg(line[0] != 0, "'Icebreaker' is set whole");
  /* widths moved between columns make the table shorter than the CSS
   * proportions (4 + 4 + 2 + 2 lines): at most 11 baselines of 9 pt text */
  double ys[64];
  int ny = 0;
  for (size_t p = 0; p < r.l.n_pages; p++)
    for (size_t i = 0; i < r.l.pages[p].n; i++) {
      const ts_draw *d = &r.l.pages[p].items[i];
      if (d->kind != TS_DRAW_GLYPHS || fabs(d->run->size - 9) > 0.01) continue;
      int k = 0;
      while (k < ny && fabs(ys[k] - (d->y - 1000.0 * (double)p)) > 0.01) k++;
      if (k == ny && ny < 64) ys[ny++] = d->y - 1000.0 * (double)p;
    }
  ck_assert_int_ge(ny, 8);
  ck_assert_int_le(ny, 11);
  ck_assert_uint_eq(r.l.n_overfull, 0);
  check_inside(&r);
  done_run(&r);
}
END_TEST

/* Table pieces measured once are remembered by the document (page_blocks.c
 * pg_pw_entry): a word measured in regular in one table must not lend its
 * width to the same word in bold in the next.  Four one-word columns get
 * their words' widths (a fifth, long one takes the rest): the bold words
 * are set whole, on no overfull line. */
START_TEST(table_piece_widths_keep_their_style) {
  const char *md =
      "---\ntitle: Table\n---\n\nIntro.\n\n"
      "| A | B | C | D | E |\n|---|---|---|---|---|\n"
      "| Wordsmithery | Counterpoise | Misreadings | Institution | a long text that takes "
      "what room the other columns leave and more, over several lines of the cell |\n\n"
      "Middle.\n\n"
      "| A | B | C | D | E |\n|---|---|---|---|---|\n"
      "| **Wordsmithery** | **Counterpoise** | **Misreadings** | **Institution** | a long text "
      "that takes what room the other columns leave and more, over several lines of the cell "
      "|\n\nAfter.\n";
  run_t r;
  layout(&r, md, style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  static const char *const words[] = {"Wordsmithery", "Counterpoise", "Misreadings", "Institution"};
  for (size_t k = 0; k < sizeof words / sizeof *words; k++) {
    int bold_whole = 0;
    for (size_t p = 0; p < r.l.n_pages; p++)
      for (size_t i = 0; i < r.l.pages[p].n; i++) {
        const ts_draw *d = &r.l.pages[p].items[i];
        size_t wl = strlen(words[k]);
        if (d->kind == TS_DRAW_GLYPHS && d->run->face && d->run->face->weight >= 600 &&
            d->run->text_len >= wl && !memcmp(d->run->text, words[k], wl))
          bold_whole = 1;
      }
    ck_assert_msg(bold_whole, "bold '%s' set whole", words[k]);
  }
  ck_assert_uint_eq(r.l.n_overfull, 0);
  done_run(&r);
}
END_TEST

/* A table's hyphenated column minimums use each word's own language, as the
 * text engine does (page_blocks.c, ts_hy_span_lang): six German compounds,
 * marked de in an English paper, squeezed into a 360 pt measure.  The German
 * patterns' widest fragments fit the measure; the English ones (one
 * unbroken "Rechtsstaatlichkeit", "hörigkeit-", "Wirtschafts-") did not, so
 * the columns came out narrower than the German fragments the cells are then
 * set with: "rigkeitsrecht" ran into the next column ("table too wide"
 * warning and two overfull lines; seen failing with the paper's language
 * for the minimums). */
START_TEST(table_minimums_use_span_language) {
  const char *md =
      "---\ntitle: Table\nlang: en\n---\n\nIntro.\n\n"
      "| A | B | C | D | E | F |\n|---|---|---|---|---|---|\n"
      "| [Rechtsstaatlichkeit]{lang=de} | [Wirtschaftsministerium]{lang=de} | "
      "[Gewaltenteilung]{lang=de} | [Staatsangehörigkeitsrecht]{lang=de} | "
      "[Haushaltsausschuss]{lang=de} | [Wirtschaftsministerium]{lang=de} |\n\nAfter.\n";
  run_t r;
  layout(&r, md, style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  ck_assert_uint_eq(r.d.n_warnings, 0);
  ck_assert_uint_eq(r.l.n_overfull, 0);
  /* the columns are narrower than the words: the cells are hyphenated */
  size_t hyphenated = 0;
  for (size_t p = 0; p < r.l.n_pages; p++)
    for (size_t i = 0; i < r.l.pages[p].n; i++) {
      const ts_draw *d = &r.l.pages[p].items[i];
      if (d->kind != TS_DRAW_GLYPHS || !d->run->text_len) continue;
      if (d->run->text[d->run->text_len - 1] == '-') hyphenated++;
    }
  ck_assert_uint_ge(hyphenated, 4);
  check_inside(&r);
  done_run(&r);
}
END_TEST

/* Seven columns of long German compounds on the default style's 312 pt
 * measure, the longest (67 letters) in the last header: every cell fits
 * its column, hyphenated on as many lines in a row as it needs.  The
 * 67-letter word had been left whole (over the 64 characters hyphenated),
 * squeezing the other columns below their fragments ("table too wide"
 * and ~80 overfull lines); then the cells' lines were overfull still, the
 * style's limit of two hyphenated lines in a row refusing the breaks the
 * column widths counted on (seen failing on both). */
START_TEST(table_of_long_compounds_fits) {
  const char *md =
      "---\ntitle: Tabelle\nlang: de\n---\n\nEin Absatz.\n\n"
      "| Bezeichnung | Donaudampfschifffahrtsgesellschaft | Rechtsschutzversicherungsgesellschaften "
      "| Kraftfahrzeughaftpflichtversicherung | Grundst\xc3\xbc" "cksverkehrsgenehmigungszust"
      "\xc3\xa4ndigkeits\xc3\xbc" "bertragungsverordnung | Arbeitsunf\xc3\xa4higkeitsbescheinigung "
      "| Bundesausbildungsf\xc3\xb6rderungsgesetz |\n|---|---|---|---|---|---|---|\n"
      "| Eisenbahnverkehrsunternehmen | Verbraucherschutzorganisation | "
      "Lebensmittel\xc3\xbc" "berwachungsbeh\xc3\xb6rde | Wirtschaftspr\xc3\xbc" "fungsgesellschaft "
      "| Haftpflichtversicherungsbedingungen | Umweltvertr\xc3\xa4glichkeitspr\xc3\xbc" "fung | "
      "Nahrungsmittelunvertr\xc3\xa4glichkeit |\n\nDanach.\n";
  run_t r;
  layout(&r, md, style_named("default", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  ck_assert_uint_eq(r.d.n_warnings, 0);
  ck_assert_uint_eq(r.l.n_overfull, 0);
  check_inside(&r);
  done_run(&r);
}
END_TEST

/* A table whose cells' fragments cannot fit the measure even hyphenated
 * (40 columns of unbreakable "r0x10") is set again in smaller type, one
 * warning saying so: every cell fits its column.  Its columns had been
 * squeezed below their words, which were set over each other (overfull
 * lines 7.7 pt wide in 1 pt columns; seen failing so). */
START_TEST(table_too_wide_is_set_smaller) {
  ts_buf md;
  ts_buf_init(&md);
  ts_buf_puts(&md, "---\ntitle: Wide\n---\n\nText before.\n\n|");
  for (int c = 0; c < 40; c++) ts_buf_printf(&md, " c%d |", c);
  ts_buf_puts(&md, "\n|");
  for (int c = 0; c < 40; c++) ts_buf_puts(&md, "---|");
  for (int r = 0; r < 5; r++) {
    ts_buf_puts(&md, "\n|");
    for (int c = 0; c < 40; c++) ts_buf_printf(&md, " r%dx%d |", r, c);
  }
  ts_buf_puts(&md, "\n\nText after.\n");
  ck_assert(!md.oom);
  run_t r;
  layout(&r, md.data, style_named("default", &r.d));
  ts_buf_free(&md);
  ck_assert_int_eq(r.status, TS_OK);
  ck_assert_uint_eq(r.d.n_warnings, 1); /* set smaller, said once */
  ck_assert_uint_eq(r.l.n_overfull, 0);
  check_inside(&r);
  /* every cell's word whole on one line, in type smaller than the body's */
  size_t cells = 0;
  for (size_t p = 0; p < r.l.n_pages; p++)
    for (size_t i = 0; i < r.l.pages[p].n; i++) {
      const ts_draw *d = &r.l.pages[p].items[i];
      if (d->kind != TS_DRAW_GLYPHS || d->run->text_len < 2) continue;
      const char *t = d->run->text;
      if (!((t[0] == 'r' && t[1] >= '0' && t[1] <= '4') || (t[0] == 'c' && t[1] >= '0' && t[1] <= '9')))
        continue;
      /* the whole word: r<row>x<col> or c<col> */
      size_t want = t[0] == 'c' ? (size_t)snprintf(NULL, 0, "c%d", atoi(t + 1))
                                : (size_t)snprintf(NULL, 0, "r%cx%d", t[1], atoi(t + 3));
      ck_assert_msg(d->run->text_len == want, "a cell's word cut: '%.*s'", (int)d->run->text_len, t);
      cells++;
      ck_assert_msg(d->run->size < 5, "a cell in %.1f pt type", d->run->size);
    }
  ck_assert_uint_eq(cells, 6 * 40);
  done_run(&r);
}
END_TEST

/* A cell whose word no hyphenation can break (5,000 letters) would shrink
 * the table to nothing (0.1 pt type, "0 Tf" in the PDF): it is set at the
 * smallest size allowed, 2 pt, and the word overflows its column, reported. */
START_TEST(table_shrinks_no_further_than_2pt) {
  ts_buf md;
  ts_buf_init(&md);
  ts_buf_puts(&md, "---\ntitle: Long\n---\n\n| A | B |\n|---|---|\n| short | ");
  for (int k = 0; k < 5000; k++) ts_buf_putc(&md, (char)('a' + k % 26));
  ts_buf_puts(&md, " |\n");
  ck_assert(!md.oom);
  run_t r;
  layout(&r, md.data, style_named("default", &r.d));
  ts_buf_free(&md);
  ck_assert_int_eq(r.status, TS_OK);
  ck_assert_uint_ge(r.l.n_overfull, 1);
  double smallest = 1e9;
  for (size_t p = 0; p < r.l.n_pages; p++)
    for (size_t i = 0; i < r.l.pages[p].n; i++) {
      const ts_draw *d = &r.l.pages[p].items[i];
      if (d->kind == TS_DRAW_GLYPHS && d->run->size < smallest) smallest = d->run->size;
    }
  ck_assert_msg(smallest > 1.99 && smallest < 2.01, "the table's type: %.3f pt", smallest);
  done_run(&r);
}
END_TEST

/* The space after a code span is the text face's (it once took the
 * monospace face of the span before it: 0.6 em instead of 0.25 em). */
START_TEST(space_after_code_is_the_text_space) {
  run_t r;
  layout(&r, "---\ntitle: T\n---\n\nWord `Arc4` or `Arc7` under.\n", style_named("default", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  const ts_draw *code = NULL, *next = NULL;
  const ts_page *pg = &r.l.pages[0];
  for (size_t i = 0; i < pg->n; i++) {
    const ts_draw *d = &pg->items[i];
    if (d->kind != TS_DRAW_GLYPHS) continue;
    if (d->run->text_len == 4 && !memcmp(d->run->text, "Arc4", 4)) code = d;
    else if (code && !next) next = d;
  }
  ck_assert_ptr_nonnull(code);
  ck_assert_ptr_nonnull(next);
  /* "or" starts one text space (0.2-0.35 em of 10.5 pt) after the code */
  double gap = next->x - (code->x + code->run->width);
  for (uint32_t k = 0; k < next->run->n && next->run->text[next->run->glyphs[k].cluster] == ' '; k++)
    gap += ts_face_advance(next->run->face, next->run->glyphs[k].gid) * next->run->size /
           next->run->face->upem;
  ck_assert_msg(gap > 0.2 * 10.5 && gap < 0.35 * 10.5, "space after code: %.2f pt", gap);
  done_run(&r);
}
END_TEST

/* Hanging note numbers: numbers right-aligned in a hang (9. and 10. end
 * together), every note's text starting at one indent. */
START_TEST(note_numbers_hang) {
  ts_buf md;
  ts_buf_init(&md);
  ts_buf_puts(&md, "---\ntitle: Notes\n---\n\n");
  for (int k = 1; k <= 12; k++) ts_buf_printf(&md, "Sentence %d.[^n%d]\n\n", k, k);
  for (int k = 1; k <= 12; k++)
    ts_buf_printf(&md, "[^n%d]: Zeta note text number %d, long enough to be a note.\n\n", k, k);
  run_t r;
  layout(&r, md.data, style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  double num_right = -1, text_left = -1;
  int seen = 0;
  for (size_t p = 0; p < r.l.n_pages; p++)
    for (size_t i = 0; i < r.l.pages[p].n; i++) {
      const ts_draw *d = &r.l.pages[p].items[i];
      if (d->kind != TS_DRAW_GLYPHS || d->run->text_len < 4 || memcmp(d->run->text, "Zeta", 4))
        continue;
      /* the number is the run on this baseline left of the text */
      const ts_draw *num = NULL;
      for (size_t j = 0; j < r.l.pages[p].n; j++) {
        const ts_draw *e = &r.l.pages[p].items[j];
        if (e->kind == TS_DRAW_GLYPHS && e != d && e->y == d->y && e->x < d->x) num = e;
      }
      ck_assert_ptr_nonnull(num);
      ck_assert(num->run->text_len >= 2 && num->run->text[num->run->text_len - 1] == '.');
      double nr = num->x + num->run->width;
      if (seen == 0) {
        num_right = nr;
        text_left = d->x;
      }
      ck_assert_msg(fabs(nr - num_right) < 0.01, "numbers end together: %.2f vs %.2f", nr, num_right);
      ck_assert_msg(fabs(d->x - text_left) < 0.01, "texts start together");
      ck_assert(d->x - nr > 2);
      seen++;
    }
  ck_assert_int_eq(seen, 12);
  ts_buf_free(&md);
  done_run(&r);
}
END_TEST

/* A title of two lines is balanced: "Not to Disappear One by / One" once
 * left its last word alone. */
START_TEST(title_lines_balanced) {
  run_t r;
  layout(&r, "---\ntitle: Not to Disappear One by One\n---\n\nText.\n", style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  double y[4], x0[4], x1[4];
  int nl = 0;
  const ts_page *pg = &r.l.pages[0];
  for (size_t i = 0; i < pg->n; i++) {
    const ts_draw *d = &pg->items[i];
    if (d->kind != TS_DRAW_GLYPHS || d->run->size < 20) continue;
    int k = 0;
    while (k < nl && y[k] != d->y) k++;
    if (k == nl) {
      ck_assert_int_lt(nl, 4);
      y[nl] = d->y;
      x0[nl] = d->x;
      x1[nl] = d->x + d->run->width;
      nl++;
    } else {
      if (d->x < x0[k]) x0[k] = d->x;
      if (d->x + d->run->width > x1[k]) x1[k] = d->x + d->run->width;
    }
  }
  ck_assert_int_eq(nl, 2);
  double w0 = x1[0] - x0[0], w1 = x1[1] - x0[1];
  double lo = w0 < w1 ? w0 : w1, hi = w0 < w1 ? w1 : w0;
  ck_assert_msg(lo > 0.6 * hi, "title lines %.1f and %.1f pt", w0, w1);
  done_run(&r);
}
END_TEST

/* A short keyword is not broken across lines. */
START_TEST(keywords_not_split) {
  run_t r;
  layout(&r,
         "---\ntitle: K\nabstract: A short abstract.\nkeywords: [Russia, China, United States, "
         "sanctions, ZTE, 'One Belt, One Road', technological development]\n---\n\nText.\n",
         style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  /* the baseline of the run holding "Belt" also holds "Road" */
  int found = 0;
  const ts_page *pg = &r.l.pages[0];
  for (size_t i = 0; i < pg->n && !found; i++) {
    const ts_draw *d = &pg->items[i];
    if (d->kind != TS_DRAW_GLYPHS) continue;
    if (!memmem(d->run->text, d->run->text_len, "Belt", 4)) continue;
    found = 1;
    int road = 0;
    for (size_t j = 0; j < pg->n; j++) {
      const ts_draw *e = &pg->items[j];
      if (e->kind == TS_DRAW_GLYPHS && e->y == d->y &&
          memmem(e->run->text, e->run->text_len, "Road", 4))
        road = 1;
    }
    ck_assert_msg(road, "'One Belt, One Road' is split across lines");
  }
  ck_assert(found);
  done_run(&r);
}
END_TEST

/* One em space between an author's identifiers, after ORCID too (there
 * were two after it). */
START_TEST(identifiers_one_em_space_apart) {
  run_t r;
  layout(&r,
         "---\ntitle: I\nauthor:\n  - name: A. B. Author\n    orcid: 0000-0002-4817-3061\n"
         "    ids:\n      SPIN RSCI: \"7310-4452\"\n---\n\nText.\n",
         style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  char line[512];
  baseline_text(&r.l, "ORCID", line, sizeof line);
  ck_assert_msg(strstr(line, "SPIN") != NULL, "ids on one line: %s", line);
  int em = 0;
  for (const char *q = line; (q = strstr(q, "\xE2\x80\x83")) != NULL; q += 3) em++;
  ck_assert_int_eq(em, 1);
  done_run(&r);
}
END_TEST

/* A quotation's closing "— Source" line is set flush right. */
START_TEST(quote_source_flush_right) {
  run_t r;
  layout(&r,
         "---\ntitle: Q\n---\n\n> Zulu quotation long enough to wrap onto a second line, to show "
         "the inset on both sides of the measure of the page.\n>\n> \xE2\x80\x94 Someone\n\nAfter.\n",
         style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  const ts_page *pg = &r.l.pages[0];
  const ts_draw *src = NULL, *quote = NULL;
  for (size_t i = 0; i < pg->n; i++) {
    const ts_draw *d = &pg->items[i];
    if (d->kind != TS_DRAW_GLYPHS) continue;
    if (d->run->text_len >= 3 && !memcmp(d->run->text, "\xE2\x80\x94", 3)) src = d;
    if (d->run->text_len >= 4 && !memcmp(d->run->text, "Zulu", 4)) quote = d;
  }
  ck_assert_ptr_nonnull(src);
  ck_assert_ptr_nonnull(quote);
  /* the quote's first line is justified: its right edge is the inset's */
  double right = quote->x + quote->run->width;
  ck_assert_msg(fabs(src->x + src->run->width - right) < 1.0, "source ends at %.2f, quote at %.2f",
                src->x + src->run->width, right);
  done_run(&r);
}
END_TEST

START_TEST(figure_scaled_to_fit) {
  char path[256];
  snprintf(path, sizeof path, "%s/tall.png", tmpdir);
  write_png(path, 3000, 9000); /* 1440 x 4320 pt at 150 dpi */
  snprintf(path, sizeof path, "%s/wide.png", tmpdir);
  write_png(path, 6000, 1500);
  ts_buf md;
  ts_buf_init(&md);
  unsigned seed = 5;
  ts_buf_puts(&md, "---\ntitle: Figures\n---\n\n");
  words(&md, &seed, 300);
  ts_buf_puts(&md, "\n\n![A very tall chart](tall.png)\n\n");
  words(&md, &seed, 200);
  ts_buf_puts(&md, "\n\n![A wide chart with a caption that runs long enough to wrap onto a "
                   "second line](wide.png)\n\n");
  words(&md, &seed, 100);
  ts_buf_puts(&md, "\n");
  run_t r;
  layout(&r, md.data, style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  const ts_style *s = r.st;
  double bw = s->page_w - s->margin_inner - s->margin_outer;
  double bh = s->page_h - s->margin_top - s->margin_bottom;
  int images = 0;
  for (size_t p = 0; p < r.l.n_pages; p++)
    for (size_t i = 0; i < r.l.pages[p].n; i++) {
      const ts_draw *d = &r.l.pages[p].items[i];
      if (d->kind != TS_DRAW_IMAGE) continue;
      images++;
      ck_assert_double_le(d->w, bw + 0.01);
      ck_assert_double_le(d->h, 0.7 * bh + 0.01);
      /* aspect ratio kept */
      if (strstr(d->image, "tall")) ck_assert_double_eq_tol(d->h / d->w, 3.0, 0.01);
      else ck_assert_double_eq_tol(d->w / d->h, 4.0, 0.01);
      ck_assert_ptr_nonnull(d->alt);
    }
  ck_assert_int_eq(images, 2);
  check_inside(&r);
  ts_buf_free(&md);
  done_run(&r);
}
END_TEST

START_TEST(missing_image_is_a_located_error) {
  const char *md = "---\ntitle: X\n---\n\nText.\n\n![Gone](nowhere.png)\n\n"
                   "![Outside](../../etc/passwd)\n";
  run_t r;
  layout(&r, md, style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_ERR_INPUT);
  ck_assert_uint_ge(r.d.n_errors, 1);
  ck_assert_msg(strstr(r.d.first_error, "doc.md:7:1: error:") != NULL, "%s", r.d.first_error);
  done_run(&r);
}
END_TEST

START_TEST(inline_image_outside_is_an_error) {
  const char *md = "---\ntitle: X\n---\n\nText with ![tiny](../../outside.png) inline.\n";
  run_t r;
  layout(&r, md, style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_ERR_INPUT);
  ck_assert_msg(strstr(r.d.first_error, "doc.md:5:11: error:") != NULL, "%s", r.d.first_error);
  done_run(&r);
}
END_TEST

START_TEST(deep_nesting_keeps_a_measure) {
  ts_buf md;
  ts_buf_init(&md);
  for (int k = 0; k < 2000; k++) ts_buf_puts(&md, "> ");
  ts_buf_puts(&md, "deep text that still needs a readable measure to be set in\n\n");
  for (int k = 0; k < 300; k++) {
    for (int j = 0; j < k; j++) ts_buf_puts(&md, "  ");
    ts_buf_puts(&md, "- item\n");
  }
  run_t r;
  layout(&r, md.data, style_named("default", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  check_inside(&r);
  ts_buf_free(&md);
  done_run(&r);
}
END_TEST

START_TEST(links_and_destinations) {
  const char *md = "---\ntitle: Links\n---\n\n# First {#first}\n\nSee [the second](#second) "
                   "and [a site](https://example.org/).[^a]\n\n# Second {#second}\n\nText.\n\n"
                   "[^a]: The note.\n";
  run_t r;
  layout(&r, md, style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  ck_assert_int_ge(dest_page(&r.l, "second", NULL), 0);
  ck_assert_int_ge(dest_page(&r.l, "fn-1", NULL), 0);
  ck_assert_int_ge(dest_page(&r.l, "fnref-1", NULL), 0);
  int to_second = 0, to_site = 0, to_fn = 0, to_ref = 0;
  for (size_t p = 0; p < r.l.n_pages; p++)
    for (size_t i = 0; i < r.l.pages[p].n; i++) {
      const ts_draw *d = &r.l.pages[p].items[i];
      if (d->kind != TS_DRAW_LINK) continue;
      if (d->dest && !strcmp(d->dest, "second")) to_second++;
      if (d->dest && !strcmp(d->dest, "fn-1")) to_fn++;
      if (d->dest && !strcmp(d->dest, "fnref-1")) to_ref++;
      if (d->uri && !strcmp(d->uri, "https://example.org/")) to_site++;
      ck_assert_double_gt(d->w, 0);
    }
  ck_assert_int_eq(to_second, 1);
  ck_assert_int_eq(to_site, 1);
  ck_assert_int_eq(to_fn, 1);
  ck_assert_int_eq(to_ref, 1);
  ck_assert_uint_eq(r.l.n_outline, 2);
  ck_assert_str_eq(r.l.outline[1].dest, "second");
  ck_assert_str_eq(r.l.outline[1].title, "Second");
  done_run(&r);
}
END_TEST

START_TEST(book_contents_numbers) {
  ts_buf md;
  ts_buf_init(&md);
  unsigned seed = 9;
  ts_buf_puts(&md, "---\ntitle: A Book\nauthor: A. Writer\n---\n\n");
  for (int c = 1; c <= 4; c++) {
    ts_buf_printf(&md, "# Chapter %d {#ch%d}\n\n", c, c);
    for (int p = 0; p < 4 + c * 3; p++) {
      words(&md, &seed, 90);
      ts_buf_puts(&md, "\n\n");
    }
  }
  run_t r;
  layout(&r, md.data, style_named("book", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  /* each chapter starts a page: its destination is the page's first item */
  for (int c = 1; c <= 4; c++) {
    char id[16];
    snprintf(id, sizeof id, "ch%d", c);
    int p = dest_page(&r.l, id, NULL);
    ck_assert_int_ge(p, 1);
    char num[16];
    snprintf(num, sizeof num, "%d", p + 1);
    /* the contents page carries the number and a link to the chapter */
    int found_num = 0, found_link = 0;
    for (size_t q = 0; q < r.l.n_pages && q < 3; q++)
      for (size_t i = 0; i < r.l.pages[q].n; i++) {
        const ts_draw *d = &r.l.pages[q].items[i];
        if (d->kind == TS_DRAW_LINK && d->dest && !strcmp(d->dest, id)) found_link = 1;
        if (d->kind == TS_DRAW_GLYPHS && d->run->text_len == strlen(num) &&
            !memcmp(d->run->text, num, strlen(num)) && d->x > 200)
          found_num = 1;
      }
    ck_assert_msg(found_num && found_link, "chapter %d on page %s", c, num);
  }
  check_inside(&r);
  ts_buf_free(&md);
  done_run(&r);
}
END_TEST

START_TEST(layout_is_deterministic) {
  char *md = read_sample("grain-corridors.md");
  ts_buf a, b;
  ts_buf_init(&a);
  ts_buf_init(&b);
  for (int k = 0; k < 2; k++) {
    char path[512];
    const char *dd = getenv("TYPESET_DATA_DIR");
    snprintf(path, sizeof path, "%s/samples/grain-corridors.md", dd ? dd : TS_DATA_DIR);
    run_t r;
    memset(&r, 0, sizeof r);
    ts_diag_init(&r.d, NULL);
    ck_assert_int_eq(ts_markdown_parse(ctx, path, md, strlen(md), &r.d, &r.doc), TS_OK);
    r.st = style_named("paper", &r.d);
    ts_layout_opts o = {r.st, NULL};
    ck_assert_int_eq(ts_page_layout(ctx, r.doc, &o, &r.d, &r.l), TS_OK);
    ts_page_dump(&r.l, k ? &b : &a);
    done_run(&r);
  }
  ck_assert_uint_gt(a.len, 1000);
  ck_assert_uint_eq(a.len, b.len);
  ck_assert(memcmp(a.data, b.data, a.len) == 0);
  ck_assert_ptr_nonnull(strstr(a.data, "page 1 glyphs x="));
  ts_buf_free(&a);
  ts_buf_free(&b);
  free(md);
}
END_TEST

/* ---- running out of memory ----------------------------------------------
 * Every allocation of laying out a small paper with one of everything
 * (title block, heading, notes, list, table, code, quotation, hyphenated
 * justified text) fails in turn, each attempt in a fresh context (fonts,
 * patterns and caches made again): TS_ERR_NOMEM, or — where a failure only
 * costs a cache — the very pages of a clean run.  No leak, no double free
 * (the sanitizer build checks that). */

static const char oom_doc[] =
    "---\ntitle: Corridors of Grain\nsubtitle: A short paper\n"
    "authors:\n  - name: Anna Petrova\n    affiliation: Institute of Studies\n"
    "abstract: Trade routes changed.\nkeywords: [grain, trade]\n---\n\n"
    "# Introduction\n\nThe *incomprehensibilities* of **international** cooperation between "
    "neighbouring countries[^a] have changed considerably since trade and investment grew, "
    "while sanctions restricted access to technology.\n\n"
    "- first item with some words\n- second item\n\n"
    "| Route | Volume |\n|:------|-------:|\n| Black Sea | 12.5 |\n| Baltic corridor | 3.25 |\n\n"
    "```\ncode block line\n```\n\n> A quotation of some length about corridors.\n\n"
    "[^a]: A note that explains the circumstances in some detail.\n";

static unsigned char *oom_layout(void *user, long n, size_t *len, ts_status *out) {
  ts_style *st = user;
  ts_ctx *c = ts_ctx_create();
  ck_assert_ptr_nonnull(c);
  ts_diag d;
  ts_diag_init(&d, NULL);
  char path[256];
  snprintf(path, sizeof path, "%s/doc.md", tmpdir);
  ts_doc *doc = NULL;
  ck_assert_int_eq(ts_markdown_parse(c, path, oom_doc, strlen(oom_doc), &d, &doc), TS_OK);
  ts_layout l;
  pg_debug dbg;
  memset(&dbg, 0, sizeof dbg);
  ts_layout_opts o = {st, NULL};
  ts_alloc_begin(n);
  ts_status s = pg_layout(c, doc, &o, &d, &l, &dbg);
  int failed = ts_alloc_end();
  char *text = NULL;
  if (s == TS_OK) {
    ts_buf b;
    ts_buf_init(&b);
    ts_page_dump(&l, &b);
    ck_assert(!b.oom);
    text = ts_buf_detach(&b, len);
  }
  ts_arena_destroy(dbg.galley);
  ts_doc_destroy(doc);
  ts_ctx_destroy(c);
  *out = failed ? s : (ts_status)-1; /* -1: nothing failed */
  return (unsigned char *)text;
}

START_TEST(allocation_failures) {
  ts_diag d;
  ts_diag_init(&d, NULL);
  ts_style *st = style_named("paper", &d);
  ts_test_alloc_rounds(oom_layout, st, 40000, 100, "layout");
  ts_style_destroy(st);
}
END_TEST

/* Odd documents: every one lays out, terminates, stays inside the block. */
static const char *const odd_docs[] = {
  "",
  "---\ntitle: Only a title\n---\n",
  "# Lone heading\n",
  "Supercalifragilisticexpialidocious" "Supercalifragilisticexpialidocious"
  "Supercalifragilisticexpialidocious" "Supercalifragilisticexpialidocious"
  "Supercalifragilisticexpialidocious" "Supercalifragilisticexpialidocious\n",
  "| a | b |\n|---|---|\n| | |\n|x| |\n",
  "Text with an undefined mark[^nope].\n\n[^unused]: Never referenced.\n",
  "Mark[^a] and again[^a].\n\n[^a]: Shared note.\n",
  "```\n\n\n\n```\n",
  "- \n- \n-\n",
  "> \n>\n",
  "***\n***\n***\n",
  "Line one\\\n\\\n\\\nline four\n",
};

START_TEST(odd_documents) {
  run_t r;
  layout(&r, odd_docs[_i], style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  /* the unbreakable word is the only overfull line, and it is reported */
  ck_assert_uint_eq(r.l.n_overfull, _i == 3 ? 1 : 0);
  if (r.l.n_overfull) ck_assert_uint_ge(r.d.n_warnings, 1);
  ck_assert_uint_ge(r.l.n_pages, 1);
  check_inside(&r);
  done_run(&r);
}
END_TEST

/* 120 headings in a row: every break is forbidden by the keeps, yet the
 * pages come, and each heading is set once. */
START_TEST(heading_chain_terminates) {
  ts_buf md;
  ts_buf_init(&md);
  for (int k = 0; k < 120; k++) ts_buf_printf(&md, "### Heading %d\n\n", k);
  ts_buf_puts(&md, "Text.\n");
  run_t r;
  layout(&r, md.data, style_named("paper", &r.d));
  ck_assert_int_eq(r.status, TS_OK);
  ck_assert_uint_ge(r.l.n_pages, 2);
  ck_assert_uint_eq(r.l.n_outline, 120);
  for (int k = 0; k < 120; k++) {
    int c = 0;
    ck_assert_int_ge(dest_page(&r.l, r.l.outline[k].dest, &c), 0);
    ck_assert_int_eq(c, 1);
  }
  check_inside(&r);
  ts_buf_free(&md);
  done_run(&r);
}
END_TEST

Suite *layout_suite(void) {
  Suite *s = suite_create("page-layout");
  TCase *t = tcase_create("layout");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 120);
  tcase_add_test(t, notes_on_their_marks_pages);
  tcase_add_test(t, long_note_splits_across_pages);
  tcase_add_test(t, two_hundred_notes_in_one_paragraph);
  tcase_add_loop_test(t, samples_stay_inside_the_block, 0, (int)(sizeof samples / sizeof *samples));
  tcase_add_loop_test(t, prewarm_changes_nothing, 0, (int)(sizeof samples / sizeof *samples));
  tcase_add_test(t, pages_placeholder_substituted);
  tcase_add_test(t, table_header_repeats);
  tcase_add_test(t, table_columns_from_min_max_content);
  tcase_add_test(t, table_piece_widths_keep_their_style);
  tcase_add_test(t, table_minimums_use_span_language);
  tcase_add_test(t, table_of_long_compounds_fits);
  tcase_add_test(t, table_too_wide_is_set_smaller);
  tcase_add_test(t, table_shrinks_no_further_than_2pt);
  tcase_add_test(t, space_after_code_is_the_text_space);
  tcase_add_test(t, note_numbers_hang);
  tcase_add_test(t, title_lines_balanced);
  tcase_add_test(t, keywords_not_split);
  tcase_add_test(t, identifiers_one_em_space_apart);
  tcase_add_test(t, quote_source_flush_right);
  tcase_add_test(t, figure_scaled_to_fit);
  tcase_add_test(t, missing_image_is_a_located_error);
  tcase_add_test(t, inline_image_outside_is_an_error);
  tcase_add_test(t, deep_nesting_keeps_a_measure);
  tcase_add_test(t, links_and_destinations);
  tcase_add_test(t, book_contents_numbers);
  tcase_add_test(t, layout_is_deterministic);
  tcase_add_loop_test(t, odd_documents, 0, (int)(sizeof odd_docs / sizeof odd_docs[0]));
  tcase_add_test(t, heading_chain_terminates);
  tcase_add_test(t, allocation_failures);
  suite_add_tcase(s, t);
  return s;
}
