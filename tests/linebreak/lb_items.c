/* lb_items.c — runs ts_linebreak on items read from stdin, for cross-checks
 * against TeX (tests/linebreak/tex_compare.py).  Not a test by itself.
 *
 * stdin, one item per line:  B width | G width stretch|fil shrink |
 *                             P width penalty flagged
 * argv: mode(j|r|c) pretolerance tolerance emergencystretch looseness
 *       first_width n_first rest_width
 * stdout: "pass P lines N total T" then "W natural D demerits" for each line; with
 * LB_TRACE set in the environment, the trace goes to stderr. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linebreak/ts_linebreak.h"

typedef struct shape {
  double first, rest;
  size_t nfirst;
} shape;

static double width_cb(void *user, size_t line) {
  const shape *s = user;
  return line < s->nfirst ? s->first : s->rest;
}

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: lb_items j|r|c pretol tol es looseness first nfirst rest\n");
    return 2;
  }
  ts_break_params p;
  memset(&p, 0, sizeof p);
  p.pretolerance = atof(argv[2]);
  p.tolerance = atof(argv[3]);
  p.emergencystretch = atof(argv[4]);
  p.looseness = atoi(argv[5]);
  p.linepenalty = 10;
  p.hyphenpenalty = p.exhyphenpenalty = 50;
  p.adjdemerits = 10000;
  p.doublehyphendemerits = 10000;
  p.finalhyphendemerits = 5000;
  shape sh = {atof(argv[6]), atof(argv[8]), (size_t)atol(argv[7])};
  ts_lb_mode mode = argv[1][0] == 'r' ? TS_LB_RAGGED : argv[1][0] == 'c' ? TS_LB_CENTER
                                                                         : TS_LB_JUSTIFY;
  size_t n = 0, cap = 0;
  ts_item *it = NULL;
  char line[256];
  int rc = 1;
  while (fgets(line, sizeof line, stdin)) {
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 256;
      ts_item *t = realloc(it, nc * sizeof *t);
      if (!t) goto done;
      it = t;
      cap = nc;
    }
    ts_item *x = &it[n];
    memset(x, 0, sizeof *x);
    char y[64] = "";
    int fl = 0;
    if (line[0] == 'B' && sscanf(line + 1, "%lf", &x->width) == 1) {
      x->type = TS_ITEM_BOX;
    } else if (line[0] == 'G' && sscanf(line + 1, "%lf %63s %lf", &x->width, y, &x->shrink) == 3) {
      x->type = TS_ITEM_GLUE;
      x->stretch = strcmp(y, "fil") == 0 ? INFINITY : atof(y);
    } else if (line[0] == 'P' && sscanf(line + 1, "%lf %lf %d", &x->width, &x->penalty, &fl) == 3) {
      x->type = TS_ITEM_PENALTY;
      x->flagged = (uint8_t)fl;
    } else {
      continue;
    }
    n++;
  }
  ts_lb_result r;
  ts_buf tr;
  ts_buf_init(&tr);
  if (ts_linebreak(&p, mode, it, n, width_cb, &sh, &r, getenv("LB_TRACE") ? &tr : NULL) != TS_OK) {
    ts_buf_free(&tr);
    goto done;
  }
  if (tr.len) fputs(tr.data, stderr);
  ts_buf_free(&tr);
  printf("pass %d lines %zu total %.0f\n", r.pass, r.n, r.total_demerits);
  for (size_t i = 0; i < r.n; i++)
    printf("W %.5f D %.0f\n", r.lines[i].natural, r.lines[i].demerits);
  ts_lb_result_free(&r);
  rc = 0;
done:
  free(it);
  return rc;
}
