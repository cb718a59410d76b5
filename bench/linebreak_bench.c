/* linebreak_bench.c — throughput of ts_linebreak on synthetic paragraphs.
 *
 *   ninja -C BUILD tests/linebreak/linebreak_bench
 *   BUILD/tests/linebreak/linebreak_bench [scale]
 *
 * Words are boxes of 5–30 pt (about 11 pt text), interword glue 3.33 plus
 * 1.67 minus 1.11 (Computer Modern's space at 10 pt), a quarter of the words
 * with a discretionary hyphen (penalty 50, 3.3 pt), plain TeX parameters with
 * emergencystretch 16.5 pt, a 345 pt measure.  Reading the clock is fine
 * here: this program is a measuring tool, not part of the pipeline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linebreak/ts_linebreak.h"

typedef struct para {
  ts_item *it;
  size_t n, cap;
} para;

static int push(para *p, uint8_t type, double w, double y, double z, double pen, int fl) {
  if (p->n == p->cap) {
    size_t nc = p->cap ? p->cap * 2 : 1024;
    ts_item *t = realloc(p->it, nc * sizeof *t);
    if (!t) return -1;
    p->it = t;
    p->cap = nc;
  }
  ts_item *x = &p->it[p->n++];
  memset(x, 0, sizeof *x);
  x->type = type;
  x->width = w;
  x->stretch = y;
  x->shrink = z;
  x->penalty = pen;
  x->flagged = (uint8_t)fl;
  return 0;
}

static uint32_t rnd(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(*s >> 33);
}

static int make(para *p, uint64_t seed, size_t words) {
  uint64_t s = seed;
  p->n = 0;
  int rc = 0;
  for (size_t i = 0; i < words && !rc; i++) {
    if (i) rc |= push(p, TS_ITEM_GLUE, 3.33, 1.67, 1.11, 0, 0);
    if (rnd(&s) % 4 == 0) {
      rc |= push(p, TS_ITEM_BOX, 8 + rnd(&s) % 15, 0, 0, 0, 0);
      rc |= push(p, TS_ITEM_PENALTY, 3.3, 0, 0, 50, 1);
    }
    rc |= push(p, TS_ITEM_BOX, 5 + rnd(&s) % 25, 0, 0, 0, 0);
  }
  rc |= push(p, TS_ITEM_PENALTY, 0, 0, 0, TS_INF_PENALTY, 0);
  rc |= push(p, TS_ITEM_GLUE, 0, 1.0 / 0.0, 0, 0, 0);
  rc |= push(p, TS_ITEM_PENALTY, 0, 0, 0, -TS_INF_PENALTY, 0);
  return rc;
}

static double measure_w;
static double width_cb(void *user, size_t line) {
  (void)user;
  (void)line;
  return measure_w;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int run(const char *name, size_t words, size_t paras, double measure, ts_lb_mode mode) {
  ts_break_params p;
  memset(&p, 0, sizeof p);
  p.pretolerance = 100;
  p.tolerance = 200;
  p.emergencystretch = 16.5;
  p.linepenalty = 10;
  p.hyphenpenalty = 50;
  p.exhyphenpenalty = 50;
  p.adjdemerits = 10000;
  p.doublehyphendemerits = 10000;
  p.finalhyphendemerits = 5000;
  p.max_hyphen_lines = 2;
  measure_w = measure;
  para P = {0};
  size_t items = 0, lines = 0;
  int passes[5] = {0};
  double t = 0;
  for (size_t k = 0; k < paras; k++) {
    if (make(&P, 1000 + k, words)) {
      fprintf(stderr, "out of memory\n");
      free(P.it);
      return 1;
    }
    ts_lb_result r;
    double t0 = now();
    ts_status st = ts_linebreak(&p, mode, P.it, P.n, width_cb, NULL, &r, NULL);
    t += now() - t0;
    if (st != TS_OK) {
      fprintf(stderr, "%s: %s\n", name, ts_status_str(st));
      free(P.it);
      return 1;
    }
    items += P.n;
    lines += r.n;
    if (r.pass >= 0 && r.pass <= 4) passes[r.pass]++;
    ts_lb_result_free(&r);
  }
  free(P.it);
  printf("%-28s %7zu para %9zu items %7zu lines %8.3f s %10.0f para/s %12.0f items/s"
         "  passes 1:%d 2:%d 3:%d 4:%d\n",
         name, paras, items, lines, t, (double)paras / t, (double)items / t, passes[1],
         passes[2], passes[3], passes[4]);
  return 0;
}

int main(int argc, char **argv) {
  double scale = argc > 1 ? atof(argv[1]) : 1;
  if (!(scale > 0)) scale = 1;
  int rc = 0;
  rc |= run("150-word paragraphs", 150, (size_t)(4000 * scale), 345, TS_LB_JUSTIFY);
  rc |= run("150-word ragged", 150, (size_t)(4000 * scale), 345, TS_LB_RAGGED);
  rc |= run("40-word narrow (150pt)", 40, (size_t)(4000 * scale), 150, TS_LB_JUSTIFY);
  rc |= run("100,000-word paragraph", 100000, (size_t)(3 * scale) + 1, 345, TS_LB_JUSTIFY);
  rc |= run("100,000 words, 2000pt wide", 100000, 1, 2000, TS_LB_JUSTIFY);
  return rc;
}
