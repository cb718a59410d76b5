/* test_linebreak.c — Check suite for typeset/linebreak.
 *
 * The strongest test is an oracle: an independent, deliberately plain
 * dynamic program over (breakpoint, line, fitness, hyphen run) states that
 * measures every line by summing its items directly and applies the same
 * cost model (TeX §§851–859, deactivation §851/§854, looseness §875, the
 * pass order of §863).  Random small paragraphs are broken by both and the
 * total demerits, pass and line counts must agree; the breaks returned are
 * re-measured and re-priced independently. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "linebreak/ts_linebreak.h"

/* allocation failure injection (fail_countdown): ../alloc_fail.h */
#include "../alloc_fail.h"

/* ---- helpers ------------------------------------------------------------ */

typedef struct para {
  ts_item *it;
  size_t n, cap;
} para;

static void push(para *p, ts_item x) {
  if (p->n == p->cap) {
    size_t nc = p->cap ? p->cap * 2 : 64;
    ts_item *t = realloc(p->it, nc * sizeof *t);
    ck_assert_ptr_nonnull(t);
    p->it = t;
    p->cap = nc;
  }
  p->it[p->n++] = x;
}

static void box(para *p, double w) {
  ts_item x = {0};
  x.type = TS_ITEM_BOX;
  x.width = w;
  push(p, x);
}

static void glue(para *p, double w, double y, double z) {
  ts_item x = {0};
  x.type = TS_ITEM_GLUE;
  x.width = w;
  x.stretch = y;
  x.shrink = z;
  push(p, x);
}

static void pen(para *p, double w, double pi, int flagged) {
  ts_item x = {0};
  x.type = TS_ITEM_PENALTY;
  x.width = w;
  x.penalty = pi;
  x.flagged = (uint8_t)flagged;
  push(p, x);
}

/* \penalty10000 \parfillskip \penalty-10000 (§816) */
static void finish(para *p) {
  pen(p, 0, TS_INF_PENALTY, 0);
  glue(p, 0, INFINITY, 0);
  pen(p, 0, -TS_INF_PENALTY, 0);
}

static void para_free(para *p) {
  free(p->it);
  memset(p, 0, sizeof *p);
}

typedef struct widths {
  double first, rest;
  size_t nfirst; /* lines [0, nfirst) get `first` */
} widths;

static double width_cb(void *user, size_t line) {
  const widths *w = user;
  return line < w->nfirst ? w->first : w->rest;
}

static ts_break_params plain_params(void) {
  ts_break_params p;
  memset(&p, 0, sizeof p);
  p.pretolerance = 100;
  p.tolerance = 200;
  p.emergencystretch = 0;
  p.linepenalty = 10;
  p.hyphenpenalty = 50;
  p.exhyphenpenalty = 50;
  p.adjdemerits = 10000;
  p.doublehyphendemerits = 10000;
  p.finalhyphendemerits = 5000;
  p.looseness = 0;
  p.max_hyphen_lines = 0;
  p.lefthyphenmin = 2;
  p.righthyphenmin = 3;
  return p;
}

static uint32_t rnd(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)(*s >> 33);
}

/* ---- the oracle --------------------------------------------------------- */

#define O_INF 1e300

typedef struct ocfg {
  const ts_item *it;
  size_t n;
  const ts_break_params *p;
  ts_lb_mode mode;
  const widths *w;
  double threshold, es;
  int allow_disc;
} ocfg;

typedef struct oline {
  double bad;
  int fit;
  int overfull;
} oline;

static int o_forced(const ocfg *c, size_t b) {
  return b >= c->n ||
         (c->it[b].type == TS_ITEM_PENALTY && c->it[b].penalty <= -TS_INF_PENALTY);
}

static size_t o_last(const ocfg *c) { return o_forced(c, c->n - 1) ? c->n - 1 : c->n; }

/* breakpoints tried in this pass, in order; b == n is the virtual end */
static size_t o_breaks(const ocfg *c, size_t *out) {
  size_t k = 0, last = o_last(c);
  for (size_t b = 0; b <= last; b++) {
    int ok;
    if (b == c->n) ok = 1;
    else if (c->it[b].type == TS_ITEM_GLUE) ok = b > 0 && c->it[b - 1].type == TS_ITEM_BOX;
    else if (c->it[b].type == TS_ITEM_PENALTY) {
      ok = c->it[b].penalty < TS_INF_PENALTY;
      if (ok && !c->allow_disc && c->it[b].flagged && c->it[b].width > 0 &&
          c->it[b].penalty > -TS_INF_PENALTY)
        ok = 0;
    } else ok = 0;
    if (ok) out[k++] = b;
  }
  return k;
}

static size_t o_start(const ocfg *c, long a, size_t b) {
  if (a < 0) return 0;
  size_t s = (size_t)a + 1;
  while (s < b && c->it[s].type != TS_ITEM_BOX) s++;
  return s;
}

static int o_hyph(const ocfg *c, size_t b) {
  return b < c->n && b != o_last(c) && c->it[b].type == TS_ITEM_PENALTY && c->it[b].flagged;
}

/* ragged modes: the virtual stretch, 3 em where 1 em = 3 × the mean
 * interword glue (ts_linebreak.h) */
static double o_rag(const ocfg *c, double L) {
  double sum = 0;
  size_t k = 0;
  for (size_t i = 0; i < c->n; i++)
    if (c->it[i].type == TS_ITEM_GLUE && c->it[i].width > 0 && !isinf(c->it[i].stretch)) {
      sum += c->it[i].width;
      k++;
    }
  return k ? TS_LB_RAG_EMS * 3.0 * sum / (double)k : L / 12.0;
}

/* TeX §108: t, s >= 0 in sp */
static double tex_badness(long long t, long long s) {
  if (t == 0) return 0;
  if (s <= 0) return 10000;
  long long r;
  if (t <= 7230584) r = t * 297 / s;
  else if (s >= 1663497) r = t / (s / 297);
  else r = t;
  if (r > 1290) return 10000;
  return (double)((r * r * r + 131072) / 262144);
}

/* measures the line from break a (-1 = start) to b, TeX §§851–853 */
static long long sp(double x) { return llround(x * 65536); }

static oline o_measure(const ocfg *c, long a, size_t b, size_t lineno, double *nat) {
  size_t s = o_start(c, a, b);
  /* in scaled points like TeX: each item rounded, then summed */
  long long w = 0, ys = 0, zs = 0;
  double natural = 0;
  int fil = 0;
  for (size_t j = s; j < b; j++) {
    const ts_item *x = &c->it[j];
    if (x->type == TS_ITEM_PENALTY) continue;
    w += sp(x->width);
    natural += x->width;
    if (x->type == TS_ITEM_GLUE) {
      if (isinf(x->stretch)) fil++;
      else ys += sp(x->stretch);
      zs += sp(x->shrink);
    } else {
      /* a box's own stretch and shrink (font expansion) */
      ys += sp(x->stretch);
      zs += sp(x->shrink);
    }
  }
  if (b < c->n && c->it[b].type == TS_ITEM_PENALTY) {
    w += sp(c->it[b].width);
    natural += c->it[b].width;
  }
  if (nat) *nat = natural;
  double L = width_cb((void *)c->w, lineno);
  if (c->mode != TS_LB_JUSTIFY) {
    ys = sp(o_rag(c, L)) + sp(c->es);
    zs = 0;
  } else {
    ys += sp(c->es);
  }
  /* TeX's badness (§108), written out again here */
  oline o = {0, 2, 0};
  long long sh = sp(L) - w;
  if (sh > 0) {
    if (fil) return o;
    o.bad = tex_badness(sh, ys);
    o.fit = o.bad > 99 ? 0 : o.bad > 12 ? 1 : 2;
  } else if (-sh > zs) {
    o.bad = 10001;
    o.fit = 3;
    o.overfull = 1;
  } else {
    o.bad = tex_badness(-sh, zs);
    o.fit = o.bad > 12 ? 3 : 2;
  }
  return o;
}

/* §859 */
static double o_demerits(const ocfg *c, size_t b, double bad, int fit, int prev_fit,
                         int prev_hyph) {
  const ts_break_params *p = c->p;
  double d = p->linepenalty + bad;
  d = fabs(d) >= 10000 ? 1e8 : d * d;
  double pi = 0;
  if (b < c->n && c->it[b].type == TS_ITEM_PENALTY) pi = c->it[b].penalty;
  if (pi > 0) d += pi * pi;
  else if (pi < 0 && pi > -TS_INF_PENALTY) d -= pi * pi;
  if (prev_hyph) {
    if (b == o_last(c)) d += p->finalhyphendemerits;
    else if (o_hyph(c, b)) d += p->doublehyphendemerits;
  }
  if (abs(fit - prev_fit) > 1) d += p->adjdemerits;
  return d;
}

/* best[k] = least total demerits of a feasible paragraph of k lines (O_INF if
 * none), k < maxk. */
static void oracle(const ocfg *c, double *best, size_t maxk) {
  size_t *bp = malloc((c->n + 2) * sizeof *bp);
  ck_assert_ptr_nonnull(bp);
  size_t nb = o_breaks(c, bp);
  int lim = c->p->max_hyphen_lines > 0 && c->p->max_hyphen_lines < 64
                ? c->p->max_hyphen_lines : 0;
  int R = lim ? lim + 1 : 2;
  /* state: node index (0 = start, i+1 = bp[i]), line, fit, run */
  size_t NL = nb + 2;
  size_t nstate = (nb + 1) * NL * 4 * (size_t)R;
  double *dist = malloc(nstate * sizeof *dist);
  ck_assert_ptr_nonnull(dist);
  for (size_t i = 0; i < nstate; i++) dist[i] = O_INF;
#define IDX(node, line, fit, run) ((((node) * NL + (line)) * 4 + (fit)) * (size_t)R + (run))
  dist[IDX(0, 0, 2, 0)] = 0;
  for (size_t a = 0; a <= nb; a++) {
    long apos = a == 0 ? -1 : (long)bp[a - 1];
    int ahyph = a == 0 ? 0 : o_hyph(c, bp[a - 1]);
    for (size_t l = 0; l < NL; l++)
      for (int f = 0; f < 4; f++)
        for (int h = 0; h < R; h++) {
          double d0 = dist[IDX(a, l, f, h)];
          if (d0 >= O_INF) continue;
          if (a > 0 && bp[a - 1] == o_last(c)) continue;
          for (size_t j = a; j < nb; j++) { /* next break bp[j], node j+1 */
            size_t b = bp[j];
            oline o = o_measure(c, apos, b, l, NULL);
            if (o.overfull) break; /* §851: deactivated */
            int forced = o_forced(c, b);
            if (o.bad <= c->threshold && l + 1 < NL) {
              int run = 0, ok = 1;
              if (o_hyph(c, b)) {
                run = h + 1;
                if (lim && run > lim) {
                  if (forced) run = lim; /* forced breaks are never refused */
                  else ok = 0;
                }
                if (!lim) run = 1;
              }
              if (ok) {
                double d = d0 + o_demerits(c, b, o.bad, o.fit, f, ahyph);
                size_t k = IDX(j + 1, l + 1, o.fit, run);
                if (d < dist[k]) dist[k] = d;
              }
            }
            if (forced) break; /* §851: a forced break deactivates */
          }
        }
  }
  for (size_t k = 0; k < maxk; k++) best[k] = O_INF;
  if (nb > 0 && bp[nb - 1] == o_last(c))
    for (size_t l = 0; l < NL && l < maxk; l++)
      for (int f = 0; f < 4; f++)
        for (int h = 0; h < R; h++)
          if (dist[IDX(nb, l, f, h)] < best[l]) best[l] = dist[IDX(nb, l, f, h)];
#undef IDX
  free(dist);
  free(bp);
}

/* TeX §§873–875 on the oracle's table: chosen line count or 0 when the pass
 * fails; *ok = looseness reached. */
static size_t o_choose(const double *best, size_t maxk, int looseness, int *ok) {
  size_t bl = 0;
  for (size_t k = 0; k < maxk; k++)
    if (best[k] < O_INF && (bl == 0 || best[k] < best[bl])) bl = k;
  *ok = 0;
  if (bl == 0) return 0;
  size_t ch = bl;
  long actual = 0;
  if (looseness != 0)
    for (size_t k = 0; k < maxk; k++) {
      if (best[k] >= O_INF) continue;
      long diff = (long)k - (long)bl;
      if ((diff < actual && looseness <= diff) || (diff > actual && looseness >= diff)) {
        ch = k;
        actual = diff;
      } else if (diff == actual && best[k] < best[ch]) {
        ch = k;
      }
    }
  *ok = actual == looseness;
  return ch;
}

/* Expected (pass, lines, total) by running the oracle pass by pass (§863);
 * pass 4 means "the fallback" (no total expected). */
typedef struct expect {
  int pass;
  size_t lines;
  double total;
  uint64_t tie_lines; /* bit k: k lines reach the same least total (k < 64) */
} expect;

static expect o_expect(const ts_item *it, size_t n, const ts_break_params *p, ts_lb_mode mode,
                       const widths *w) {
  expect e = {4, 0, 0, 0};
  size_t maxk = n + 3;
  double *best = malloc(maxk * sizeof *best);
  ck_assert_ptr_nonnull(best);
  for (int pass = 1; pass <= 3; pass++) {
    if (pass == 1 && p->pretolerance < 0) continue;
    if (pass == 3 && p->emergencystretch <= 0) continue;
    ocfg c = {it, n, p, mode, w, pass == 1 ? p->pretolerance : p->tolerance,
              pass == 3 ? p->emergencystretch : 0, pass != 1};
    oracle(&c, best, maxk);
    int ok;
    size_t k = o_choose(best, maxk, p->looseness, &ok);
    int last = pass == 3 || (pass == 2 && p->emergencystretch <= 0);
    if (k && (ok || last)) {
      e.pass = pass;
      e.lines = k;
      e.total = best[k];
      /* with looseness 0, TeX breaks ties between line counts by list order
       * (§855: the later node wins), not by fewest lines: any is right */
      if (p->looseness == 0)
        for (size_t j = 0; j < maxk && j < 64; j++)
          if (best[j] == best[k]) e.tie_lines |= (uint64_t)1 << j;
      break;
    }
  }
  free(best);
  return e;
}

/* Re-measures and re-prices the returned lines independently: starts follow
 * the previous break, every line is feasible for its pass (except overfull
 * fallback lines), the hyphen-run limit holds, and the line demerits add up
 * to the total. */
static void check_result(const ts_item *it, size_t n, const ts_break_params *p,
                         ts_lb_mode mode, const widths *w, const ts_lb_result *r) {
  int pass = r->pass;
  ocfg c = {it, n, p, mode, w,
            pass == 1 ? p->pretolerance : pass == 4 ? fmax(p->tolerance, 10000) : p->tolerance,
            pass >= 3 ? fmax(p->emergencystretch, 0) : 0, pass != 1};
  ck_assert_uint_gt(r->n, 0);
  ck_assert_uint_eq(r->lines[r->n - 1].end, o_last(&c));
  long prev = -1;
  int prev_fit = 2, prev_hyph = 0, run = 0;
  double sum = 0;
  for (size_t i = 0; i < r->n; i++) {
    const ts_lb_line *ln = &r->lines[i];
    size_t b = ln->end;
    ck_assert_uint_eq(ln->start, o_start(&c, prev, b));
    ck_assert(prev < (long)b);
    double nat;
    oline o = o_measure(&c, prev, b, i, &nat);
    ck_assert_double_eq_tol(ln->natural, nat, 1e-9);
    ck_assert_int_eq(ln->hyphenated, o_hyph(&c, b));
    if (ln->hyphenated) {
      run++;
      if (p->max_hyphen_lines > 0 && p->max_hyphen_lines < 64 && pass < 4) {
        if (o_forced(&c, b) && run > p->max_hyphen_lines) run = p->max_hyphen_lines;
        ck_assert_int_le(run, p->max_hyphen_lines);
      }
    } else run = 0;
    if (o.overfull) {
      ck_assert_int_eq(pass, 4);
      ck_assert_int_eq(ln->overfull, 1);
      ck_assert_double_eq(ln->demerits, 0);
    } else {
      ck_assert_int_eq(ln->overfull, 0);
      ck_assert_double_le(o.bad, c.threshold);
      ck_assert_double_eq(ln->badness, o.bad);
      ck_assert_int_eq(ln->fitness, o.fit);
      double d = o_demerits(&c, b, o.bad, o.fit, prev_fit, prev_hyph);
      ck_assert_double_eq(ln->demerits, d);
    }
    sum += ln->demerits;
    prev = (long)b;
    prev_fit = ln->fitness;
    prev_hyph = ln->hyphenated;
  }
  ck_assert_double_eq_tol(sum, r->total_demerits, 1e-6 * fmax(1, sum));
}

/* ---- random paragraphs ------------------------------------------------------ */

typedef struct gen_opts {
  int hyphen_w0; /* discretionary hyphens of width 0 only */
  int forced;    /* allow forced breaks inside */
  double expand; /* boxes stretch and shrink by this fraction of their width */
} gen_opts;

static void gen_para(uint64_t *s, para *P, const gen_opts *g) {
  unsigned nwords = 3 + rnd(s) % 13;
  for (unsigned wi = 0; wi < nwords; wi++) {
    if (wi > 0) {
      unsigned k = rnd(s) % 16;
      if (k == 0) pen(P, 0, (double)((int)(rnd(s) % 5) * 100 - 100), 0);
      else if (k == 1) pen(P, 0, TS_INF_PENALTY, 0); /* a tie */
      double gw = 8 + rnd(s) % 5, gy = 3 + rnd(s) % 6, gz = 1 + rnd(s) % 3;
      glue(P, gw, gy, gz); /* (one draw per statement: argument order is unspecified) */
    }
    unsigned parts = rnd(s) % 3 == 0 ? 2 + rnd(s) % 2 : 1;
    for (unsigned pi = 0; pi < parts; pi++) {
      if (pi > 0) {
        int w0 = g->hyphen_w0 || rnd(s) % 4 == 0;
        double pv = rnd(s) % 40 ? 50 : -TS_INF_PENALTY; /* sometimes forced */
        double hw = w0 ? 0 : 3 + rnd(s) % 3;
        pen(P, hw, pv, 1);
      }
      box(P, 8 + rnd(s) % 40);
      P->it[P->n - 1].stretch = P->it[P->n - 1].shrink = P->it[P->n - 1].width * g->expand;
    }
    if (g->forced && wi + 1 < nwords && rnd(s) % 12 == 0) {
      glue(P, 0, INFINITY, 0);
      pen(P, 0, -TS_INF_PENALTY, 0);
    }
  }
  finish(P);
}

static void gen_params(uint64_t *s, ts_break_params *p, widths *w, ts_lb_mode *mode) {
  *p = plain_params();
  p->pretolerance = rnd(s) % 3 == 0 ? -1 : 100;
  static const double tols[] = {200, 400, 1000, 3000};
  p->tolerance = tols[rnd(s) % 4];
  p->emergencystretch = rnd(s) % 3 == 0 ? 15 : 0;
  unsigned lz = rnd(s) % 6;
  p->looseness = lz == 0 ? 1 : lz == 1 ? -1 : 0;
  p->max_hyphen_lines = (int)(rnd(s) % 3);
  if (rnd(s) % 4 == 0) p->doublehyphendemerits = 0;
  w->rest = 100 + rnd(s) % 120;
  w->first = rnd(s) % 3 == 0 ? w->rest - 10 - rnd(s) % 30 : w->rest;
  w->nfirst = 1 + rnd(s) % 2;
  unsigned m = rnd(s) % 5;
  *mode = m == 0 ? TS_LB_RAGGED : m == 1 ? TS_LB_CENTER : TS_LB_JUSTIFY;
}

/* one random case against the oracle; returns the expected pass */
static int run_oracle_case(uint64_t seed, int *looser) {
  uint64_t s = seed * 2654435761u + 12345;
  para P = {0};
  /* every third paragraph with font expansion (boxes stretch and shrink
   * by 2 % of their width) */
  gen_opts g = {0, 1, seed % 3 == 1 ? 0.02 : 0};
  gen_para(&s, &P, &g);
  ts_break_params p;
  widths w;
  ts_lb_mode mode;
  gen_params(&s, &p, &w, &mode);
  expect e = o_expect(P.it, P.n, &p, mode, &w);
  ts_lb_result r;
  ts_buf tr;
  ts_buf_init(&tr);
  ck_assert_int_eq(ts_linebreak(&p, mode, P.it, P.n, width_cb, &w, &r, seed % 4 ? NULL : &tr),
                   TS_OK);
  ck_assert_msg(r.pass == e.pass, "seed %llu: pass %d, oracle %d", (unsigned long long)seed,
                r.pass, e.pass);
  if (e.pass < 4) {
    int same = r.n == e.lines || (r.n < 64 && (e.tie_lines >> r.n & 1));
    ck_assert_msg(same, "seed %llu: %zu lines, oracle %zu", (unsigned long long)seed, r.n,
                  e.lines);
    ck_assert_msg(r.total_demerits == e.total, "seed %llu: total %.17g, oracle %.17g",
                  (unsigned long long)seed, r.total_demerits, e.total);
  }
  check_result(P.it, P.n, &p, mode, &w, &r);
  if (looser) *looser = p.looseness;
  ck_assert(!tr.oom);
  ts_buf_free(&tr);
  ts_lb_result_free(&r);
  para_free(&P);
  return e.pass;
}

/* A random paragraph with random parameters (seed), as the oracle cases
 * make them. */
static void random_case(uint64_t seed, para *P, ts_break_params *p, widths *w, ts_lb_mode *mode) {
  uint64_t s = seed * 2654435761u + 777;
  gen_opts g = {0, 1, seed % 3 == 1 ? 0.02 : 0};
  memset(P, 0, sizeof *P);
  gen_para(&s, P, &g);
  gen_params(&s, p, w, mode);
}

/* Two breaks of the same paragraph are the same: lines, ratios, demerits
 * and traces; frees all four. */
static void assert_same_breaks(ts_lb_result *a, ts_lb_result *b, ts_buf *ta, ts_buf *tb) {
  ck_assert_int_eq(a->pass, b->pass);
  ck_assert_uint_eq(a->n, b->n);
  ck_assert(a->total_demerits == b->total_demerits);
  for (size_t i = 0; i < a->n; i++) {
    ck_assert_uint_eq(a->lines[i].start, b->lines[i].start);
    ck_assert_uint_eq(a->lines[i].end, b->lines[i].end);
    ck_assert(a->lines[i].ratio == b->lines[i].ratio);
    ck_assert(a->lines[i].demerits == b->lines[i].demerits);
  }
  ck_assert_uint_eq(ta->len, tb->len);
  ck_assert(ta->len == 0 || memcmp(ta->data, tb->data, ta->len) == 0);
  ts_buf_free(ta);
  ts_buf_free(tb);
  ts_lb_result_free(a);
  ts_lb_result_free(b);
}

/* ts_lb_width2 (two widths read directly) breaks exactly as the same
 * widths given by a function called for every line: same lines, ratios,
 * demerits and trace, also for widths that count as 0 (negative, NaN). */
START_TEST(test_width2_same_as_callback) {
  for (uint64_t seed = 0; seed < 120; seed++) {
    para P;
    ts_break_params p;
    widths w;
    ts_lb_mode mode;
    random_case(seed, &P, &p, &w, &mode);
    w.nfirst = 1;
    if (seed % 10 == 7) w.first = -5;
    if (seed % 10 == 8) w.first = NAN;
    if (seed % 10 == 9) w.first = w.rest;
    ts_lb_widths2 w2 = {w.first, w.rest};
    ts_lb_result a, b;
    ts_buf ta, tb;
    ts_buf_init(&ta);
    ts_buf_init(&tb);
    ck_assert_int_eq(ts_linebreak(&p, mode, P.it, P.n, width_cb, &w, &a, &ta), TS_OK);
    ck_assert_int_eq(ts_linebreak(&p, mode, P.it, P.n, ts_lb_width2, &w2, &b, &tb), TS_OK);
    assert_same_breaks(&a, &b, &ta, &tb);
    double f0 = ts_lb_width2(&w2, 0), f5 = ts_lb_width2(&w2, 5);
    ck_assert(memcmp(&f0, &w2.first, sizeof f0) == 0); /* NaN too */
    ck_assert_double_eq(f5, w2.rest);
    para_free(&P);
  }
}
END_TEST

/* One ts_lb_ws reused over many paragraphs of every kind (sizes up and
 * down, hyphen limits, looseness, modes) breaks each exactly as a fresh
 * ts_linebreak does. */
START_TEST(test_ws_reuse_same) {
  ts_lb_ws ws;
  memset(&ws, 0, sizeof ws);
  for (uint64_t seed = 1000; seed < 1150; seed++) {
    para P;
    ts_break_params p;
    widths w;
    ts_lb_mode mode;
    random_case(seed, &P, &p, &w, &mode);
    ts_lb_result a, b;
    ts_buf ta, tb;
    ts_buf_init(&ta);
    ts_buf_init(&tb);
    ck_assert_int_eq(ts_linebreak(&p, mode, P.it, P.n, width_cb, &w, &a, &ta), TS_OK);
    ck_assert_int_eq(ts_linebreak_ws(&ws, &p, mode, P.it, P.n, width_cb, &w, &b, &tb), TS_OK);
    assert_same_breaks(&a, &b, &ta, &tb);
    para_free(&P);
  }
  ck_assert_ptr_nonnull(ws.act); /* it did keep its arrays */
  ts_lb_ws_free(&ws);
  ck_assert_ptr_null(ws.act);
  ts_lb_ws_free(NULL);
}
END_TEST

START_TEST(test_oracle_random) {
  /* 16 loop iterations × 40 seeds: 640 paragraphs */
  int passes[5] = {0};
  for (int k = 0; k < 40; k++) {
    uint64_t seed = (uint64_t)_i * 40 + (uint64_t)k;
    passes[run_oracle_case(seed, NULL)]++;
  }
  (void)passes;
}
END_TEST

/* every pass is exercised by the random cases (so the comparison above is
 * not vacuous) */
START_TEST(test_oracle_coverage) {
  int passes[5] = {0};
  int loose_cases = 0;
  for (uint64_t seed = 0; seed < 640; seed++) {
    int lz = 0;
    int ps = run_oracle_case(seed, &lz);
    passes[ps]++;
    if (lz && ps < 4) loose_cases++;
  }
  ck_assert_int_gt(passes[1], 20);
  ck_assert_int_gt(passes[2], 20);
  ck_assert_int_gt(passes[3], 5);
  ck_assert_int_gt(passes[4], 5);
  ck_assert_int_gt(loose_cases, 20);
}
END_TEST

/* ---- hand-computed cases --------------------------------------------------- */

/* six 20pt words, glue 10 plus y minus 5 */
static void six_words(para *P, double y) {
  for (int i = 0; i < 6; i++) {
    if (i) glue(P, 10, y, 5);
    box(P, 20);
  }
  finish(P);
}

START_TEST(test_hand_two_lines) {
  para P = {0};
  six_words(&P, 30);
  ts_break_params p = plain_params();
  widths w = {80, 80, 0};
  ts_lb_result r;
  ts_buf tr;
  ts_buf_init(&tr);
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, &tr), TS_OK);
  ck_assert_int_eq(r.pass, 1);
  ck_assert_uint_eq(r.n, 2);
  ck_assert_uint_eq(r.lines[0].start, 0);
  ck_assert_uint_eq(r.lines[0].end, 5);
  ck_assert_uint_eq(r.lines[1].start, 6);
  ck_assert_uint_eq(r.lines[1].end, 13);
  ck_assert_double_eq(r.total_demerits, 200); /* (10 + 0)² twice */
  ck_assert_double_eq(r.lines[0].ratio, 0);
  ck_assert_double_eq(r.lines[0].natural, 80);
  /* the whole \tracingparagraphs log, derived by hand (see the comments in
   * linebreak.c for the format): */
  const char *want =
      "@firstpass\n"
      "@\\glue 3 via @@0 b=100 p=0 d=22100\n"
      "@@1: line 1.0 t=22100 -> @@0\n"
      "@\\glue 5 via @@0 b=0 p=0 d=100\n"
      "@@2: line 1.2 t=100 -> @@0\n"
      "@\\glue 7 via @@1 b=100 p=0 d=12100\n"
      "@@3: line 2.0 t=34200 -> @@1\n"
      "@\\glue 9 via @@1 b=0 p=0 d=10100\n"
      "@\\glue 9 via @@2 b=100 p=0 d=22100\n"
      "@@4: line 2.0 t=22200 -> @@2\n"
      "@@5: line 2.2 t=32200 -> @@1\n"
      "@\\par 13 via @@2 b=0 p=-10000 d=100\n"
      "@\\par 13 via @@3 b=0 p=-10000 d=10100\n"
      "@\\par 13 via @@4 b=0 p=-10000 d=10100\n"
      "@\\par 13 via @@5 b=0 p=-10000 d=100\n"
      "@@6: line 2.2 t=200 -> @@2\n"
      "@chosen pass=1 lines=2 t=200\n"
      "@line 1: 0..5 r=0 b=0 d=100 fit=2 w=80\n"
      "@line 2: 6..13 r=0 b=0 d=100 fit=2 w=80\n";
  ck_assert_str_eq(tr.data, want);
  ts_buf_free(&tr);
  ts_lb_result_free(&r);
  para_free(&P);
}
END_TEST

/* Font expansion: a box's finite stretch and shrink count with the glue's
 * (pdfTeX's \pdfadjustspacing).  One 100pt box on a 103pt line: with no
 * stretch anywhere the line is infinitely bad (pass 4, badness 10000); with
 * 5pt of box stretch r = 3/5 and badness 100 r^3 = 21.6 -> TeX's 22; on a
 * 97pt line 5pt of box shrink gives r = -0.6, not overfull. */
START_TEST(test_box_expansion) {
  ts_break_params p = plain_params();
  for (int k = 0; k < 3; k++) {
    para P = {0};
    box(&P, 100);
    if (k) P.it[0].stretch = P.it[0].shrink = 5;
    pen(&P, 0, -TS_INF_PENALTY, 0); /* no parfillskip: the line must be filled */
    widths w = {k == 2 ? 97 : 103, k == 2 ? 97 : 103, 0};
    ts_lb_result r;
    ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
    ck_assert_uint_eq(r.n, 1);
    if (k == 0) {
      ck_assert_int_eq(r.pass, 4);
      ck_assert_double_eq(r.lines[0].badness, 10000);
    } else {
      ck_assert_int_eq(r.pass, 1);
      ck_assert_double_eq(r.lines[0].badness, 22);
      ck_assert_double_eq_tol(r.lines[0].ratio, k == 2 ? -0.6 : 0.6, 1e-9);
      ck_assert_int_eq(r.lines[0].overfull, 0);
      ck_assert_double_eq(r.lines[0].natural, 100);
    }
    ts_lb_result_free(&r);
    para_free(&P);
  }
  /* in ragged modes a box's stretch is ignored like the glue's */
  para P = {0};
  box(&P, 100);
  P.it[0].stretch = P.it[0].shrink = 5;
  finish(&P);
  widths w = {103, 103, 0};
  ts_lb_result r;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_RAGGED, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_double_eq(r.lines[0].ratio, 0);
  ts_lb_result_free(&r);
  para_free(&P);
}
END_TEST

/* looseness +1: 3 lines; by hand the best three-line settings are 3/2/1 and
 * 2/3/1 words, each 100 + 22100 + 10100 = 32300 demerits */
START_TEST(test_looseness) {
  para P = {0};
  six_words(&P, 30);
  ts_break_params p = plain_params();
  widths w = {80, 80, 0};
  ts_lb_result r;
  p.looseness = 1;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_uint_eq(r.n, 3);
  ck_assert_double_eq(r.total_demerits, 32300);
  ck_assert_int_eq(r.pass, 1);
  ts_lb_result_free(&r);
  /* looseness -1: one line is impossible (overfull) — keeps 2 lines */
  p.looseness = -1;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_uint_eq(r.n, 2);
  ck_assert_double_eq(r.total_demerits, 200);
  ck_assert_int_eq(r.pass, 2);
  ts_lb_result_free(&r);
  /* +3: only 3 lines are feasible (one word per line cannot stretch) */
  p.looseness = 3;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_uint_eq(r.n, 3);
  ts_lb_result_free(&r);
  para_free(&P);
}
END_TEST

/* too little stretch: only emergencystretch (pass 3) makes lines feasible */
START_TEST(test_emergency) {
  para P = {0};
  for (int i = 0; i < 9; i++) {
    if (i) glue(&P, 10, 2, 2);
    box(&P, 20);
  }
  finish(&P);
  ts_break_params p = plain_params();
  widths w = {100, 100, 0};
  ts_lb_result r;
  p.emergencystretch = 20;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_int_eq(r.pass, 3);
  ck_assert_uint_eq(r.n, 3);
  for (size_t i = 0; i + 1 < r.n; i++) {
    /* 3 words = 80pt on 100pt: shortfall 20 over real stretch 4 */
    ck_assert_double_eq(r.lines[i].natural, 80);
    ck_assert_double_eq(r.lines[i].ratio, 5);
    ck_assert_int_eq(r.lines[i].overfull, 0);
    /* badness with the emergency stretch, §108: r = 20·2¹⁶·297 div 24·2¹⁶
     * = 247; (247³ + 2¹⁷) div 2¹⁸ = 57 (the exact 100·(20/24)³ is 57.87) */
    ck_assert_double_eq(r.lines[i].badness, 57);
  }
  ts_lb_result_free(&r);
  /* without it: pass 4, loose lines rather than overfull ones */
  p.emergencystretch = 0;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_int_eq(r.pass, 4);
  for (size_t i = 0; i < r.n; i++) ck_assert_int_eq(r.lines[i].overfull, 0);
  ts_lb_result_free(&r);
  para_free(&P);
}
END_TEST

START_TEST(test_overfull_fallback) {
  /* a word wider than the measure between two short ones */
  para P = {0};
  box(&P, 30);
  glue(&P, 10, 5, 3);
  box(&P, 500);
  glue(&P, 10, 5, 3);
  box(&P, 30);
  finish(&P);
  ts_break_params p = plain_params();
  widths w = {100, 100, 0};
  ts_lb_result r;
  ts_buf tr;
  ts_buf_init(&tr);
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, &tr), TS_OK);
  ck_assert_int_eq(r.pass, 4);
  ck_assert_uint_eq(r.n, 3);
  ck_assert_uint_eq(r.lines[1].start, 2);
  ck_assert_uint_eq(r.lines[1].end, 3);
  ck_assert_int_eq(r.lines[1].overfull, 1);
  ck_assert_double_eq(r.lines[1].ratio, 0); /* no glue on it to shrink */
  ck_assert_double_eq(r.lines[1].natural, 500);
  ck_assert_int_eq(r.lines[0].overfull, 0);
  ck_assert_int_eq(r.lines[2].overfull, 0);
  ck_assert_ptr_nonnull(strstr(tr.data, "@finalpass\n"));
  ck_assert_ptr_nonnull(strstr(tr.data, " b=* p=0 d=*\n")); /* the artificial break */
  ts_buf_free(&tr);
  ts_lb_result_free(&r);
  para_free(&P);

  /* 5,000 letters with no break: one overfull line */
  for (int i = 0; i < 5000; i++) box(&P, 5);
  finish(&P);
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_int_eq(r.pass, 4);
  ck_assert_uint_eq(r.n, 1);
  ck_assert_int_eq(r.lines[0].overfull, 1);
  ck_assert_double_eq(r.lines[0].natural, 25000);
  ts_lb_result_free(&r);
  para_free(&P);

  /* a zero measure: every word overfull, still terminates */
  widths z = {0, 0, 0};
  six_words(&P, 5);
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &z, &r, NULL), TS_OK);
  ck_assert_int_eq(r.pass, 4);
  ck_assert_uint_eq(r.n, 6);
  ts_lb_result_free(&r);
  para_free(&P);
}
END_TEST

START_TEST(test_forced_and_infinite) {
  para P = {0};
  /* w ~ w w \break w w w w, ties (penalty 10000 before glue) */
  box(&P, 20);
  pen(&P, 0, TS_INF_PENALTY, 0);
  glue(&P, 10, 10, 3);       /* 2: not a breakpoint (after a penalty) */
  box(&P, 20);
  glue(&P, 10, 10, 3);
  box(&P, 20);
  glue(&P, 0, INFINITY, 0);
  pen(&P, 0, -TS_INF_PENALTY, 0); /* 7: forced */
  glue(&P, 10, 10, 3);       /* discarded after the break */
  for (int i = 0; i < 4; i++) {
    if (i) glue(&P, 10, 10, 3);
    box(&P, 20);
    pen(&P, 0, INFINITY, 0);    /* never a break */
    pen(&P, 0, NAN, 0);         /* counts as +inf */
  }
  finish(&P);
  ts_break_params p = plain_params();
  widths w = {200, 200, 0};
  ts_lb_result r;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_uint_eq(r.n, 2);
  ck_assert_uint_eq(r.lines[0].end, 7);
  ck_assert_uint_eq(r.lines[1].start, 9);
  for (size_t i = 0; i < r.n; i++) {
    const ts_item *e = &P.it[r.lines[i].end];
    if (e->type == TS_ITEM_PENALTY) ck_assert(e->penalty < TS_INF_PENALTY);
  }
  ts_lb_result_free(&r);

  /* narrow: many lines, still never at an infinite penalty or glue after one */
  w.first = w.rest = 45;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  for (size_t i = 0; i < r.n; i++) {
    size_t b = r.lines[i].end;
    const ts_item *e = &P.it[b];
    ck_assert_int_ne(b, 2);
    if (e->type == TS_ITEM_PENALTY) ck_assert(e->penalty < TS_INF_PENALTY);
    if (e->type == TS_ITEM_GLUE) ck_assert_int_eq(P.it[b - 1].type, TS_ITEM_BOX);
  }
  int saw7 = 0;
  for (size_t i = 0; i < r.n; i++) saw7 |= r.lines[i].end == 7;
  ck_assert(saw7);
  ts_lb_result_free(&r);
  para_free(&P);
}
END_TEST

/* the Knuth–Plass paper's point: total fit never loses to first fit, and
 * often wins */
static double greedy_total(const ts_item *it, size_t n, const ts_break_params *p,
                           const widths *w, int *has_overfull) {
  ocfg c = {it, n, p, TS_LB_JUSTIFY, w, 1e9, 0, 1};
  size_t *bp = malloc((n + 2) * sizeof *bp);
  ck_assert_ptr_nonnull(bp);
  size_t nb = o_breaks(&c, bp);
  long a = -1;
  size_t line = 0, j = 0;
  int prev_fit = 2, prev_hyph = 0;
  double total = 0;
  *has_overfull = 0;
  while (j < nb) {
    /* the last break that still fits, stopping at a forced one */
    size_t take = j;
    for (size_t k = j; k < nb; k++) {
      oline o = o_measure(&c, a, bp[k], line, NULL);
      if (o.overfull) break;
      take = k;
      if (o_forced(&c, bp[k])) break;
    }
    oline o = o_measure(&c, a, bp[take], line, NULL);
    if (o.overfull) *has_overfull = 1;
    total += o_demerits(&c, bp[take], o.bad, o.fit, prev_fit, prev_hyph);
    prev_fit = o.fit;
    prev_hyph = o_hyph(&c, bp[take]);
    a = (long)bp[take];
    line++;
    j = take + 1;
    if (bp[take] == o_last(&c)) break;
  }
  free(bp);
  return total;
}

START_TEST(test_total_fit_beats_first_fit) {
  int wins = 0, cases = 0;
  for (uint64_t seed = 0; seed < 300; seed++) {
    uint64_t s = seed * 7919 + 1;
    para P = {0};
    gen_opts g = {1, 0, 0};
    gen_para(&s, &P, &g);
    ts_break_params p = plain_params();
    p.pretolerance = -1;
    p.tolerance = 10000; /* every line first fit can make is allowed */
    widths w = {0, 0, 0};
    w.first = w.rest = 100 + rnd(&s) % 120;
    int over;
    double gt = greedy_total(P.it, P.n, &p, &w, &over);
    if (!over) {
      ts_lb_result r;
      ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL),
                       TS_OK);
      ck_assert_int_eq(r.pass, 2);
      ck_assert_msg(r.total_demerits <= gt, "seed %llu: %.17g > greedy %.17g",
                    (unsigned long long)seed, r.total_demerits, gt);
      cases++;
      if (r.total_demerits < gt) wins++;
      ts_lb_result_free(&r);
    }
    para_free(&P);
  }
  ck_assert_int_gt(cases, 100);
  ck_assert_int_gt(wins, 30);
}
END_TEST

/* consecutive hyphens: with doublehyphendemerits high they disappear when
 * the oracle says a paragraph without them is feasible; max_hyphen_lines is
 * a hard limit */
static int max_run(const ts_lb_result *r) {
  int run = 0, mx = 0;
  for (size_t i = 0; i < r->n; i++) {
    run = r->lines[i].hyphenated ? run + 1 : 0;
    if (run > mx) mx = run;
  }
  return mx;
}

START_TEST(test_hyphen_constraints) {
  int doubled = 0, avoided = 0, limited = 0;
  for (uint64_t seed = 0; seed < 1200; seed++) {
    uint64_t s = seed * 104729 + 7;
    para P = {0};
    /* hyphen-rich: each word in 2–3 parts */
    unsigned nwords = 6 + rnd(&s) % 10;
    for (unsigned i = 0; i < nwords; i++) {
      if (i) glue(&P, 10, 6, 3);
      unsigned parts = 2 + rnd(&s) % 2;
      for (unsigned k = 0; k < parts; k++) {
        if (k) pen(&P, 4, 50, 1);
        box(&P, 6 + rnd(&s) % 15);
      }
    }
    finish(&P);
    widths w = {0, 0, 0};
    w.first = w.rest = 120 + rnd(&s) % 100;
    ts_break_params p = plain_params();
    p.pretolerance = -1;
    p.tolerance = 1000;
    p.doublehyphendemerits = 0;
    p.finalhyphendemerits = 0;
    ts_lb_result r;
    ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL),
                     TS_OK);
    int run0 = max_run(&r);
    int pass0 = r.pass;
    ts_lb_result_free(&r);
    if (run0 < 2 || pass0 != 2) {
      para_free(&P);
      continue;
    }
    doubled++;
    /* heavy double-hyphen demerits */
    p.doublehyphendemerits = 1e7;
    ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL),
                     TS_OK);
    expect e1 = o_expect(P.it, P.n, &p, TS_LB_JUSTIFY, &w);
    ck_assert_int_eq(r.pass, e1.pass);
    ck_assert_double_eq(r.total_demerits, e1.total);
    if (r.pass == 2 && r.total_demerits < 1e7) { /* a setting without them exists */
      ck_assert_int_le(max_run(&r), 1);
      avoided++;
    }
    check_result(P.it, P.n, &p, TS_LB_JUSTIFY, &w, &r);
    ts_lb_result_free(&r);
    /* hard limit of one hyphenated line in a row */
    p.doublehyphendemerits = 0;
    p.max_hyphen_lines = 1;
    expect e = o_expect(P.it, P.n, &p, TS_LB_JUSTIFY, &w);
    ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL),
                     TS_OK);
    ck_assert_int_eq(r.pass, e.pass);
    if (r.pass < 4) {
      ck_assert_int_le(max_run(&r), 1);
      ck_assert_double_eq(r.total_demerits, e.total);
      limited++;
    }
    check_result(P.it, P.n, &p, TS_LB_JUSTIFY, &w, &r);
    ts_lb_result_free(&r);
    para_free(&P);
  }
  ck_assert_int_gt(doubled, 100);
  ck_assert_int_gt(avoided, 100);
  ck_assert_int_gt(limited, 100);
}
END_TEST

/* finalhyphendemerits: the penultimate line avoids a hyphen when it can */
START_TEST(test_final_hyphen) {
  /* aaa bbb-ccc: the only two-line settings end line 1 at the glue (after
   * "aaa") or at the hyphen. */
  para P = {0};
  box(&P, 40);
  glue(&P, 10, 10, 3);
  box(&P, 30);
  pen(&P, 5, 50, 1);
  box(&P, 30);
  finish(&P);
  ts_break_params p = plain_params();
  p.pretolerance = -1;
  p.tolerance = 10000;
  p.adjdemerits = 0;
  widths w = {85, 85, 0};
  ts_lb_result r;
  /* line 1 "aaa bbb-" = 85: b=0; d = 10² + 50² = 2600; line 2 b=0: 100 */
  p.finalhyphendemerits = 0;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_uint_eq(r.lines[0].end, 3);
  ck_assert_double_eq(r.total_demerits, 2700);
  ts_lb_result_free(&r);
  /* line 1 "aaa" = 40: r=45/10 → b=10000 → d = 1e8 (+ 100): hyphen still wins
   * at 2700 + 5000 */
  p.finalhyphendemerits = 5000;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_uint_eq(r.lines[0].end, 3);
  ck_assert_double_eq(r.total_demerits, 7700);
  ts_lb_result_free(&r);
  p.finalhyphendemerits = 2e8;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_uint_eq(r.lines[0].end, 1);
  ck_assert_double_eq(r.total_demerits, 1e8 + 100);
  ts_lb_result_free(&r);
  para_free(&P);
}
END_TEST

/* first pass skips discretionary hyphens (width > 0) but not explicit ones */
START_TEST(test_first_pass_no_hyphens) {
  para P = {0};
  box(&P, 40);
  glue(&P, 10, 10, 3);
  box(&P, 30);
  pen(&P, 5, 50, 1); /* 3: discretionary */
  box(&P, 30);
  glue(&P, 10, 10, 3);
  box(&P, 40);
  finish(&P);
  ts_break_params p = plain_params();
  widths w = {85, 85, 0};
  ts_lb_result r;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_int_eq(r.pass, 2); /* pass 1 cannot do it without the hyphen */
  ck_assert_uint_eq(r.lines[0].end, 3);
  ck_assert_int_eq(r.lines[0].hyphenated, 1);
  ts_lb_result_free(&r);
  P.it[3].width = 0; /* an explicit hyphen, already in the box: */
  P.it[2].width = 35;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_int_eq(r.pass, 1);
  ck_assert_uint_eq(r.lines[0].end, 3);
  ts_lb_result_free(&r);
  para_free(&P);
}
END_TEST

START_TEST(test_shape_and_ragged) {
  uint64_t s = 99;
  para P = {0};
  for (int i = 0; i < 60; i++) {
    if (i) glue(&P, 4, 3, 1.5);
    box(&P, 8 + rnd(&s) % 15);
  }
  finish(&P);
  ts_break_params p = plain_params();
  widths w = {120, 200, 3}; /* three short lines, then the full measure */
  ts_lb_result r;
  for (int m = 0; m < 3; m++) {
    ts_lb_mode mode = m == 0 ? TS_LB_JUSTIFY : m == 1 ? TS_LB_RAGGED : TS_LB_CENTER;
    ck_assert_int_eq(ts_linebreak(&p, mode, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
    expect e = o_expect(P.it, P.n, &p, mode, &w);
    ck_assert_int_eq(r.pass, e.pass);
    ck_assert_uint_gt(r.n, 4);
    ck_assert_int_lt(r.pass, 4);
    for (size_t i = 0; i < r.n; i++) {
      const ts_lb_line *ln = &r.lines[i];
      double L = i < 3 ? 120 : 200;
      ck_assert_int_eq(ln->overfull, 0);
      if (mode != TS_LB_JUSTIFY) {
        ck_assert_double_eq(ln->ratio, 0);
        ck_assert_double_le(ln->natural, L); /* spaces never shrink */
        if (i + 1 < r.n) /* rag within the tolerance: r ≤ 2^(1/3) */
          ck_assert_double_le(L - ln->natural, 1.26 * 3 * 3 * 4); /* 3 em of 3 × 4pt */
      } else if (i + 1 < r.n) {
        ck_assert_double_ge(ln->ratio, -1);
        ck_assert_double_le(ln->ratio, 1.26);
      }
    }
    ck_assert_double_eq(r.total_demerits, e.total);
    check_result(P.it, P.n, &p, mode, &w, &r);
    ts_lb_result_free(&r);
  }
  para_free(&P);
}
END_TEST

START_TEST(test_edge_inputs) {
  ts_break_params p = plain_params();
  widths w = {100, 100, 0};
  ts_lb_result r;
  /* empty paragraph */
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, NULL, 0, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_uint_eq(r.n, 0);
  ts_lb_result_free(&r);
  ts_lb_result_free(NULL);
  /* usage errors */
  ck_assert_int_eq(ts_linebreak(NULL, TS_LB_JUSTIFY, NULL, 0, width_cb, &w, &r, NULL),
                   TS_ERR_USAGE);
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, NULL, 3, width_cb, &w, &r, NULL),
                   TS_ERR_USAGE);
  para P = {0};
  box(&P, 30);
  glue(&P, 10, 5, 3);
  box(&P, 30);
  /* no final forced break: the end is virtual, end == n */
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_uint_eq(r.n, 1);
  ck_assert_uint_eq(r.lines[0].end, P.n);
  ck_assert_double_eq(r.lines[0].natural, 70);
  ts_lb_result_free(&r);
  /* two forced breaks in a row: an empty line */
  pen(&P, 0, -TS_INF_PENALTY, 0);
  pen(&P, 0, -TS_INF_PENALTY, 0);
  box(&P, 30);
  finish(&P);
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_uint_eq(r.n, 3);
  ck_assert_uint_eq(r.lines[1].start, 4);
  ck_assert_uint_eq(r.lines[1].end, 4);
  ck_assert_double_eq(r.lines[1].natural, 0);
  ts_lb_result_free(&r);
  /* non-finite junk in items and widths */
  P.it[0].width = NAN;
  P.it[1].shrink = INFINITY;
  P.it[1].stretch = NAN;
  widths bad = {NAN, -5, 1};
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &bad, &r, NULL), TS_OK);
  ck_assert_uint_gt(r.n, 0);
  ts_lb_result_free(&r);
  /* absurd magnitudes: no integer overflow (UBSan build), still lines */
  para_free(&P);
  for (int i = 0; i < 2000; i++) {
    if (i) glue(&P, i % 2 ? 1e300 : -1e300, 1e300, 1e300);
    box(&P, i % 3 ? 1e300 : -1e300);
  }
  finish(&P);
  widths huge = {1e300, 1e300, 0};
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &huge, &r, NULL), TS_OK);
  ck_assert_uint_gt(r.n, 0);
  ck_assert_uint_eq(r.lines[r.n - 1].end, P.n - 1);
  ts_lb_result_free(&r);
  para_free(&P);
}
END_TEST

/* random garbage: any types and values; always TS_OK with sane lines */
START_TEST(test_garbage) {
  uint64_t s = (uint64_t)_i * 7777 + 3;
  static const double vals[] = {0, 1, -1, 5, 37.5, -20, 1e6, -1e6, 10000, -10000, 1e300};
  ts_break_params p = plain_params();
  for (int k = 0; k < 50; k++) {
    para P = {0};
    size_t n = 1 + rnd(&s) % 60;
    for (size_t i = 0; i < n; i++) {
      ts_item x;
      memset(&x, 0, sizeof x);
      x.type = (uint8_t)(rnd(&s) % 5);
      x.flagged = (uint8_t)(rnd(&s) % 2);
      x.width = vals[rnd(&s) % 11];
      x.stretch = rnd(&s) % 7 == 0 ? INFINITY : vals[rnd(&s) % 11];
      x.shrink = rnd(&s) % 9 == 0 ? NAN : vals[rnd(&s) % 11];
      unsigned q = rnd(&s) % 8;
      x.penalty = q == 0 ? INFINITY : q == 1 ? -INFINITY : q == 2 ? NAN : vals[rnd(&s) % 11];
      push(&P, x);
    }
    p.pretolerance = rnd(&s) % 2 ? -1 : 100;
    p.tolerance = rnd(&s) % 4 ? 200 : 20000; /* > 10000: overfull lines feasible */
    p.emergencystretch = rnd(&s) % 2 ? 0 : 20;
    p.looseness = (int)(rnd(&s) % 3) - 1;
    p.max_hyphen_lines = (int)(rnd(&s) % 3);
    widths w;
    w.first = vals[rnd(&s) % 11];
    w.rest = vals[rnd(&s) % 11];
    w.nfirst = rnd(&s) % 3;
    ts_lb_mode mode = (ts_lb_mode)(rnd(&s) % 3);
    ts_lb_result r;
    ts_buf tr;
    ts_buf_init(&tr);
    ck_assert_int_eq(ts_linebreak(&p, mode, P.it, n, width_cb, &w, &r, k % 5 ? NULL : &tr), TS_OK);
    ck_assert_uint_ge(r.n, 1);
    ck_assert_int_ge(r.pass, 1);
    ck_assert_int_le(r.pass, 4);
    size_t prev_end = 0;
    for (size_t i = 0; i < r.n; i++) {
      ck_assert_uint_le(r.lines[i].start, r.lines[i].end);
      ck_assert_uint_le(r.lines[i].end, n);
      if (i) ck_assert_uint_gt(r.lines[i].end, prev_end);
      prev_end = r.lines[i].end;
      ck_assert(isfinite(r.lines[i].ratio));
    }
    int forced_end = P.it[n - 1].type == TS_ITEM_PENALTY && P.it[n - 1].penalty <= -10000;
    ck_assert_uint_eq(r.lines[r.n - 1].end, forced_end ? n - 1 : n);
    ts_buf_free(&tr);
    ts_lb_result_free(&r);
    para_free(&P);
  }
}
END_TEST

/* thousands of box-less breakpoints in the fallback pass: the active list
 * bound keeps this linear */
START_TEST(test_degenerate_no_hang) {
  para P = {0};
  box(&P, 30);
  for (int i = 0; i < 50000; i++) pen(&P, 0, 0, 0);
  box(&P, 30);
  pen(&P, 0, -TS_INF_PENALTY, 0); /* no fil: only the fallback pass succeeds */
  ts_break_params p = plain_params();
  widths w = {100, 100, 0};
  ts_lb_result r;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_uint_gt(r.n, 0);
  ck_assert_uint_eq(r.lines[r.n - 1].end, P.n - 1);
  ts_lb_result_free(&r);
  para_free(&P);
}
END_TEST

/* 100,000 words with hyphenation points (≈ 200,000+ items) */
START_TEST(test_huge_paragraph) {
  uint64_t s = 2026;
  para P = {0};
  for (int i = 0; i < 100000; i++) {
    if (i) glue(&P, 3.33, 1.67, 1.11);
    if (rnd(&s) % 4 == 0) {
      box(&P, 8 + rnd(&s) % 15);
      pen(&P, 3.3, 50, 1);
    }
    box(&P, 5 + rnd(&s) % 25);
  }
  finish(&P);
  ck_assert_uint_gt(P.n, 200000);
  ts_break_params p = plain_params();
  widths w = {345, 345, 0};
  ts_lb_result r;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL), TS_OK);
  ck_assert_int_le(r.pass, 2);
  ck_assert_uint_gt(r.n, 5000);
  size_t prev_end = 0;
  for (size_t i = 0; i < r.n; i++) {
    ck_assert_int_eq(r.lines[i].overfull, 0);
    ck_assert_double_le(r.lines[i].badness, p.tolerance);
    if (i) ck_assert_uint_gt(r.lines[i].end, prev_end);
    prev_end = r.lines[i].end;
  }
  ts_lb_result_free(&r);
  para_free(&P);
}
END_TEST

START_TEST(test_deterministic_trace) {
  uint64_t s = 5;
  para P = {0};
  gen_opts g = {0, 1, 0};
  gen_para(&s, &P, &g);
  ts_break_params p = plain_params();
  widths w = {120, 120, 0};
  ts_buf a, b;
  ts_buf_init(&a);
  ts_buf_init(&b);
  ts_lb_result r;
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, &a), TS_OK);
  ts_lb_result_free(&r);
  ck_assert_int_eq(ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, &b), TS_OK);
  ts_lb_result_free(&r);
  ck_assert_uint_gt(a.len, 0);
  ck_assert_str_eq(a.data, b.data);
  ck_assert_ptr_null(strstr(a.data, "e+")); /* no %g exponents or non-numbers */
  ck_assert_ptr_null(strstr(a.data, "e-"));
  ck_assert_ptr_null(strstr(a.data, "nan"));
  ck_assert_ptr_null(strstr(a.data, "inf"));
  ts_buf_free(&a);
  ts_buf_free(&b);
  para_free(&P);
}
END_TEST

/* every allocation failure gives TS_ERR_NOMEM and an empty result (leaks
 * are caught by the ASan build), and the run after that succeeds */
START_TEST(test_out_of_memory) {
  para P = {0};
  uint64_t s = 77;
  for (int i = 0; i < 3000; i++) { /* enough nodes to grow the arrays */
    if (i) glue(&P, 4, 2, 1);
    box(&P, 8 + rnd(&s) % 15);
    if (i % 7 == 3) {
      pen(&P, 3, 50, 1);
      box(&P, 9);
    }
  }
  box(&P, 400); /* an overfull word: all four passes run */
  finish(&P);
  ts_break_params p = plain_params();
  p.emergencystretch = 10;
  widths w = {150, 150, 0};
  int failures = 0;
  for (long k = 1;; k++) {
    ts_lb_result r;
    memset(&r, 0xAB, sizeof r);
    fail_countdown = k;
    ts_status st = ts_linebreak(&p, TS_LB_JUSTIFY, P.it, P.n, width_cb, &w, &r, NULL);
    int hit = fail_countdown == 0;
    fail_countdown = 0;
    if (!hit) {
      ck_assert_int_eq(st, TS_OK);
      ck_assert_int_eq(r.pass, 4);
      ts_lb_result_free(&r);
      break;
    }
    ck_assert_int_eq(st, TS_ERR_NOMEM);
    ck_assert_ptr_null(r.lines);
    ck_assert_uint_eq(r.n, 0);
    failures++;
  }
  ck_assert_int_gt(failures, 8);
  para_free(&P);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("linebreak");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_hand_two_lines);
  tcase_add_test(tc, test_looseness);
  tcase_add_test(tc, test_emergency);
  tcase_add_test(tc, test_overfull_fallback);
  tcase_add_test(tc, test_forced_and_infinite);
  tcase_add_test(tc, test_final_hyphen);
  tcase_add_test(tc, test_first_pass_no_hyphens);
  tcase_add_test(tc, test_shape_and_ragged);
  tcase_add_test(tc, test_width2_same_as_callback);
  tcase_add_test(tc, test_ws_reuse_same);
  tcase_add_test(tc, test_edge_inputs);
  tcase_add_test(tc, test_deterministic_trace);
  tcase_add_loop_test(tc, test_oracle_random, 0, 16);
  tcase_add_test(tc, test_oracle_coverage);
  tcase_add_test(tc, test_total_fit_beats_first_fit);
  tcase_add_test(tc, test_hyphen_constraints);
  tcase_add_test(tc, test_degenerate_no_hang);
  tcase_add_loop_test(tc, test_garbage, 0, 20);
  tcase_add_test(tc, test_huge_paragraph);
  tcase_add_test(tc, test_box_expansion);
  tcase_add_test(tc, test_out_of_memory);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
