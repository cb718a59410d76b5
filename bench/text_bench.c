/* text_bench — shaping and line-breaking throughput of typeset/text.
 * Usage: text_bench FILE [measure-pt] [repeat]
 * Paragraphs are separated by blank lines.  Reports glyphs shaped per second
 * and paragraphs broken per second of CPU time (one thread).  A warm-up pass
 * over all paragraphs loads what any text needs once per process (fallback
 * faces, hyphenation patterns, break iterators); the shaped-word cache is
 * then emptied before every timed pass, so each pass shapes every word
 * anew, as a document's first occurrences are. */
#include "text/ts_text.h"
#include "fonts/ts_fonts.h"

#include <hb.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double measure_fn(void *user, size_t line)
{
  (void)line;
  return *(double *)user;
}

/* CPU time of this thread: robust when other processes share the cores
 * (benchmarks may read clocks; the library never does). */
static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE [measure-pt] [repeat]\n", argv[0]);
    return 2;
  }
  if (!ts_hb_open(NULL)) return 1; /* HarfBuzz is called below (fonts/hb_api.h) */
  double W = argc > 2 ? atof(argv[2]) : 345;
  int repeat = argc > 3 ? atoi(argv[3]) : 5;
  size_t len = 0;
  char *text = ts_file_read(argv[1], &len, 0);
  if (!text) {
    perror(argv[1]);
    return 1;
  }
  /* paragraphs: split at blank lines, newlines inside become spaces */
  size_t cap = 64, np = 0;
  char **paras = malloc(cap * sizeof *paras);
  size_t *plen = malloc(cap * sizeof *plen);
  if (!paras || !plen) return 1;
  for (size_t i = 0; i < len;) {
    while (i < len && (text[i] == '\n' || text[i] == '\r')) i++;
    size_t s = i;
    while (i < len && !(text[i] == '\n' && i + 1 < len && text[i + 1] == '\n')) {
      if (text[i] == '\n') text[i] = ' ';
      i++;
    }
    if (i > s) {
      if (np == cap) {
        cap *= 2;
        char **a = realloc(paras, cap * sizeof *a);
        size_t *b = realloc(plen, cap * sizeof *b);
        if (!a || !b) return 1;
        paras = a;
        plen = b;
      }
      paras[np] = text + s;
      plen[np++] = i - s;
    }
  }
  ts_ctx *ctx = ts_ctx_create();
  ts_diag d;
  ts_diag_init(&d, stderr);
  d.quiet = 1;
  ts_para_opts o;
  memset(&o, 0, sizeof o);
  o.lang = "en";
  o.base_rtl = -1;
  o.mode = TS_LB_JUSTIFY;
  o.hyphenate = 1;
  o.indent = 15;
  ts_arena *a = ts_arena_create(0);
  /* warm-up: font and pattern loading are not part of the measurement */
  for (size_t i = 0; i < np; i++) {
    ts_span sp = {.text = paras[i], .len = plen[i], .size = 10};
    ts_para *p = NULL;
    if (ts_text_para_create(ctx, a, &sp, 1, &o, &d, &p) != TS_OK) return 1;
    ts_line *ln;
    size_t n;
    if (ts_text_para_lines(p, measure_fn, &W, &ln, &n, NULL) != TS_OK) return 1;
    ts_text_para_destroy(p);
    ts_arena_clear(a);
  }
  ts_text_stats before;
  ts_text_stats_get(ctx, &before);
  double t_shape = 0, t_break = 0;
  size_t lines = 0;
  for (int r = 0; r < repeat; r++) {
    ts_text_cache_clear(ctx);
    for (size_t i = 0; i < np; i++) {
      ts_span sp = {.text = paras[i], .len = plen[i], .size = 10};
      ts_para *p = NULL;
      double t0 = now();
      if (ts_text_para_create(ctx, a, &sp, 1, &o, &d, &p) != TS_OK) return 1;
      double t1 = now();
      ts_line *ln;
      size_t n;
      if (ts_text_para_lines(p, measure_fn, &W, &ln, &n, NULL) != TS_OK) return 1;
      double t2 = now();
      t_shape += t1 - t0;
      t_break += t2 - t1;
      lines += n;
      ts_text_para_destroy(p);
      ts_arena_clear(a);
    }
  }
  ts_text_stats after;
  ts_text_stats_get(ctx, &after);
  uint64_t glyphs = after.glyphs_shaped - before.glyphs_shaped;
  uint64_t paras_n = (uint64_t)np * (uint64_t)repeat;
  printf("paragraphs %llu, lines %zu, glyphs %llu, reshapes %llu\n",
         (unsigned long long)paras_n, lines, (unsigned long long)glyphs,
         (unsigned long long)(after.reshapes - before.reshapes));
  printf("itemize+shape+items: %.3f s, %.2f M glyphs/s\n", t_shape, glyphs / t_shape / 1e6);
  printf("break+build lines:   %.3f s, %.0f paragraphs/s\n", t_break, paras_n / t_break);
  printf("total:               %.0f paragraphs/s\n", paras_n / (t_shape + t_break));
  /* The yardstick: HarfBuzz alone shaping each paragraph whole, once, with
   * the body face (what "the shaping itself" costs without typeset's
   * itemisation, fallback, word cache, hyphenation, breaking and lines). */
  const ts_face *f = ts_fonts_find(ctx, "Linux Libertine O", 400, 0);
  if (f && ts_face_font(f)) {
    hb_buffer_t *buf = hb_buffer_create();
    uint64_t hb_glyphs = 0;
    double t0 = now();
    for (int r = 0; r < repeat; r++)
      for (size_t i = 0; i < np; i++) {
        hb_buffer_clear_contents(buf);
        hb_buffer_add_utf8(buf, paras[i], (int)plen[i], 0, (int)plen[i]);
        hb_buffer_guess_segment_properties(buf);
        hb_shape(ts_face_font(f), buf, NULL, 0);
        hb_glyphs += hb_buffer_get_length(buf);
      }
    double t_hb = now() - t0;
    hb_buffer_destroy(buf);
    printf("HarfBuzz alone:      %.3f s, %.2f M glyphs/s (%llu glyphs)\n", t_hb,
           hb_glyphs / t_hb / 1e6, (unsigned long long)hb_glyphs);
    printf("engine / HarfBuzz:   %.2f (whole engine time over shaping the text once)\n",
           (t_shape + t_break) / t_hb);
  }
  ts_arena_destroy(a);
  ts_ctx_destroy(ctx);
  free(paras);
  free(plen);
  free(text);
  return 0;
}
