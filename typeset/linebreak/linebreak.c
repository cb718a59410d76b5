/* linebreak.c — Knuth–Plass total-fit line breaking (Knuth & Plass,
 * "Breaking Paragraphs into Lines", Software—Practice and Experience 11,
 * 1981; TeX: The Program §§813–890, cited as §n beside the code).
 *
 * Differences from TeX, each for a reason:
 * - Widths are absolute prefix sums over the items (sum[i] = totals of
 *   items[0..i)) instead of TeX's background/active_width/delta nodes
 *   (§§823–843): a line's totals are sum[b] - sum[start], which is the same
 *   arithmetic with less bookkeeping; the background (§827) is empty because
 *   left/right skips are the caller's items, and emergency stretch (§863) is
 *   added to every line's stretch directly.
 * - The active list is an array rebuilt at every breakpoint (double
 *   buffering) instead of a linked list with delta nodes; the order is TeX's
 *   (by line number, new nodes inserted before the first node of a later line
 *   class, §835).
 * - Active nodes are also distinguished by the length of the run of
 *   hyphenated lines they end, so that max_hyphen_lines is an exact hard
 *   constraint; a node is dropped when another at the same place with the
 *   same fitness and a shorter run costs no more (it can do all the first can).
 * - Lengths are doubles (pt); a line's badness is computed as TeX computes it
 *   (§108 on scaled points), so the two agree to the scaled point.
 * - The last resort (pass 4) accepts underfull lines up to badness 10000
 *   before it makes a line overfull, and when it must, it breaks from the
 *   dying node whose line is least overfull (TeX §854 takes the last one in
 *   the list).  A pipeline that runs unattended should rather print a loose
 *   line than one sticking into the margin.  TeX's final pass also gives
 *   d = 0 to a feasible forced break from the only node left (§854); we
 *   count the line's real demerits (same choice, honest totals).
 * - The first pass skips flagged penalties that insert a hyphen (width > 0):
 *   TeX's first pass runs before hyphenation, and our items carry the
 *   pattern hyphens already; explicit hyphens (width 0) are tried.
 * Checked against TeX itself by tests/linebreak/tex_compare.py.
 */
#include "ts_linebreak.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define INF_BAD 10000.0           /* §108 */
#define AWFUL_BAD 1e300           /* §833: larger than any real total */
#define NO_POS ((size_t)-1)       /* the position of the paragraph's start */
#define MAX_HYPH_LIMIT 64         /* max_hyphen_lines at or above: no limit */
/* Safety bound on the active list.  Real paragraphs keep a few dozen nodes
 * (the feasible breaks within one line's reach times the fitness classes);
 * degenerate input (thousands of breakpoints with no box between them, or a
 * measure thousands of words wide, in the fallback pass that accepts any
 * underfull line) would otherwise make the work quadratic.  Past the bound,
 * the nodes with the highest totals are dropped down to half of it — the only
 * place where the result may be less than optimal. */
#define MAX_ACTIVE 1024

enum { VERY_LOOSE = 0, LOOSE = 1, DECENT = 2, TIGHT = 3 }; /* §817 */

/* Totals of items[0..i) in scaled points (each item rounded to sp, then
 * summed exactly, as TeX does): natural width, finite stretch, shrink, and
 * the count of fil glues (first-order infinite stretch). */
typedef struct lb_sum {
  int64_t w, y, z, f;
} lb_sum;

/* An active breakpoint (§819): a place the paragraph may be broken at, with
 * the best way found so far to get there for its (line class, fitness,
 * hyphen run). */
typedef struct lb_node {
  size_t pos;    /* break item, NO_POS for the paragraph's start */
  size_t start;  /* first item of the line after this break (before clipping) */
  size_t line;   /* lines ended here = 0-based number of the next line */
  size_t pas;    /* passive record + 1 (0: the start) */
  double total;  /* total demerits (§819) */
  uint8_t fit;   /* fitness of the line ending here */
  uint8_t hyph;  /* ends a hyphenated line (§819's type) */
  uint8_t run;   /* hyphenated lines in a row ending here */
} lb_node;

/* A chosen break (§821's passive node) for reading the answer back. */
typedef struct lb_passive {
  size_t pos;
  size_t prev;   /* passive record + 1 of the previous break, 0 = start */
  double badness, demerits;
  uint8_t fit, artificial;
} lb_passive;

/* Best way found at the current breakpoint for one (fitness, run) slot
 * (§833's minimal_demerits, best_place, best_pl_line). */
typedef struct lb_cand {
  double total, badness, demerits;
  size_t from;   /* index of the origin in the old active array */
  int used;
} lb_cand;

typedef struct lb_state {
  const ts_break_params *p;
  ts_lb_mode mode;
  const ts_item *items;
  size_t n;
  size_t last;          /* the paragraph's final break: n-1 or n (virtual) */
  lb_sum *sum;          /* n+1 */
  size_t *nextbox;      /* n+1: first box at or after i, else n */
  double widths[TS_LB_SHAPE_LINES + 1];
  int64_t wsp[TS_LB_SHAPE_LINES + 1];   /* the same in sp */
  int64_t ragsp[TS_LB_SHAPE_LINES + 1]; /* ragged modes: virtual stretch, sp */
  size_t shape_last;    /* lines >= this have widths[shape_last] */
  size_t class_last;    /* line classes merge from here on (§848 easy_line) */
  int hyph_limit;       /* 0 = none */
  int nslots_run;       /* run slots per fitness */
  /* per pass */
  double threshold;
  int64_t es;           /* emergency stretch, sp */
  int allow_disc, artificial_ok;
  lb_node *act, *nxt;   /* active array and the one being built */
  size_t nact, nnxt, capact, capnxt;
  lb_passive *pas;
  size_t npas, cappas;
  lb_cand *cand;        /* 4 * nslots_run */
  struct lb_rank *rank; /* scratch for prune() */
  size_t caprank;
  size_t pruned;        /* nodes dropped by prune() in this call */
  ts_buf *trace;
} lb_state;

/* ---- small helpers --------------------------------------------------- */

static double finite_or(double v, double dflt) { return isfinite(v) ? v : dflt; }

/* Lengths in TeX's scaled points (1/65536 pt), where badness is computed, so
 * that lines are judged exactly as TeX judges them. */
static int64_t to_sp(double x) {
  if (!(x == x)) return 0;
  if (x > 1e9) x = 1e9; /* TeX's limit is 16384 pt; 1e9 pt ≈ 6.6e13 sp */
  if (x < -1e9) x = -1e9;
  /* llround (halves away from zero) without the libm call, hot here: v is
   * below 2^53 in magnitude, so v - trunc(v) is exact */
  double v = x * 65536.0;
  int64_t i = (int64_t)v;
  double f = v - (double)i;
  if (f >= 0.5) i++;
  else if (f <= -0.5) i--;
  return i;
}

/* Prefix sums saturate at ±2^61 so that differences of two sums plus a few
 * clamped items never overflow int64, whatever the input. */
#define SUM_LIMIT ((int64_t)1 << 61)
static int64_t sat_add(int64_t a, int64_t v) {
  int64_t r = a + v; /* |a| <= 2^61 and |v| < 2^47: cannot overflow */
  return r > SUM_LIMIT ? SUM_LIMIT : r < -SUM_LIMIT ? -SUM_LIMIT : r;
}

/* §108: badness of stretching/shrinking by t when s is available, TeX's
 * integer approximation of 100·(t/s)³ (297³ ≈ 100·2¹⁸), capped at inf_bad.
 * Kept bit-identical to TeX rather than exact, so that results can be
 * checked against TeX itself (it differs from the exact value by at most 1). */
static double badness(int64_t t, int64_t s) {
  int64_t r;
  if (t <= 0) return 0;
  if (s <= 0) return INF_BAD;
  if (t <= 7230584) r = (t * 297) / s;
  else if (s >= 1663497) r = t / (s / 297);
  else r = t;
  if (r > 1290) return INF_BAD; /* 1290³ < 2³¹ < 1291³ */
  // NOLINTNEXTLINE(bugprone-integer-division): TeX §108 rounds in integers, on purpose
  return (double)((r * r * r + 0x20000) / 0x40000);
}

static double item_penalty(const ts_item *it) {
  double v = it->penalty;
  return isnan(v) ? TS_INF_PENALTY : v;
}

static int is_forced(const lb_state *S, size_t b) {
  return b >= S->n || (S->items[b].type == TS_ITEM_PENALTY &&
                       item_penalty(&S->items[b]) <= -TS_INF_PENALTY);
}

/* Is items[b] a legal breakpoint (§866)?  b == n is the virtual end. */
static int legal_break(const lb_state *S, size_t b) {
  if (b >= S->n) return 1;
  const ts_item *it = &S->items[b];
  if (it->type == TS_ITEM_GLUE) return b > 0 && S->items[b - 1].type != TS_ITEM_GLUE &&
                                       S->items[b - 1].type != TS_ITEM_PENALTY;
  if (it->type == TS_ITEM_PENALTY) return item_penalty(it) < TS_INF_PENALTY;
  return 0;
}

static double line_width_pt(const lb_state *S, size_t line) {
  return S->widths[line < S->shape_last ? line : S->shape_last];
}

static size_t line_class(const lb_state *S, size_t line) {
  return line < S->class_last ? line : S->class_last;
}

static ts_status grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return TS_OK;
  size_t ncap = *cap ? *cap : 64;
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2 / elem) return TS_ERR_NOMEM;
    ncap *= 2;
  }
  void *t = realloc(*arr, ncap * elem);
  if (!t) return TS_ERR_NOMEM;
  *arr = t;
  *cap = ncap;
  return TS_OK;
}

/* The line from active node r to break b as the badness sees it (§851):
 * natural width, stretch (virtual in ragged modes, plus emergency stretch),
 * shrink, fil count and measure, all in sp. */
typedef struct lb_geom {
  int64_t w, y, z, f, L;
} lb_geom;

static void geometry(const lb_state *S, const lb_node *r, size_t b, int64_t es, lb_geom *g) {
  size_t s = r->start < b ? r->start : b;
  const lb_sum *A = &S->sum[s], *B = &S->sum[b];
  size_t l = r->line < S->shape_last ? r->line : S->shape_last;
  g->L = S->wsp[l];
  g->w = B->w - A->w;
  if (b < S->n && S->items[b].type == TS_ITEM_PENALTY)
    g->w += to_sp(finite_or(S->items[b].width, 0));
  g->f = B->f - A->f;
  if (S->mode == TS_LB_JUSTIFY) {
    g->y = B->y - A->y + es;
    g->z = B->z - A->z;
  } else {
    g->y = S->ragsp[l] + es;
    g->z = 0;
  }
}

/* §§851–853: badness and fitness class of a line. */
static double line_badness(const lb_geom *g, int *fit) {
  int64_t shortfall = g->L - g->w;
  double b;
  if (shortfall > 0) {
    if (g->f > 0) { /* §852: infinite stretch */
      *fit = DECENT;
      return 0;
    }
    /* (§852's test for shortfall > 7230584 with stretch < 1663497 gives
     * inf_bad, as badness() does for those values) */
    b = badness(shortfall, g->y);
    *fit = b > 12 ? (b > 99 ? VERY_LOOSE : LOOSE) : DECENT;
  } else {
    if (-shortfall > g->z) { /* §851: overfull */
      *fit = TIGHT;
      return INF_BAD + 1;
    }
    b = badness(-shortfall, g->z);
    *fit = b > 12 ? TIGHT : DECENT;
  }
  return b;
}

/* ---- trace ----------------------------------------------------------- */

static void trace_kind(const lb_state *S, size_t b) {
  ts_buf *t = S->trace;
  if (b == S->last) ts_buf_puts(t, "@\\par ");
  else if (S->items[b].type == TS_ITEM_GLUE) ts_buf_puts(t, "@\\glue ");
  else if (S->items[b].flagged) ts_buf_puts(t, "@\\discretionary ");
  else ts_buf_puts(t, "@\\penalty ");
  ts_buf_printf(t, "%zu", b);
}

/* §856: "@ via @@n b=… p=… d=…" */
static void trace_feasible(const lb_state *S, size_t b, const lb_node *r, double bad,
                           double pi, double d, int artificial) {
  ts_buf *t = S->trace;
  trace_kind(S, b);
  ts_buf_printf(t, " via @@%zu b=", r->pas);
  if (bad > INF_BAD) ts_buf_putc(t, '*');
  else ts_buf_num(t, bad, 0);
  ts_buf_puts(t, " p=");
  if (b == S->last || pi < -TS_INF_PENALTY) pi = -TS_INF_PENALTY;
  ts_buf_num(t, pi, 2);
  ts_buf_puts(t, " d=");
  if (artificial) ts_buf_putc(t, '*');
  else ts_buf_num(t, d, 0);
  ts_buf_putc(t, '\n');
}

/* §846: "@@n: line l.f- t=… -> @@m" */
static void trace_node(const lb_state *S, const lb_node *q, size_t prev) {
  ts_buf *t = S->trace;
  ts_buf_printf(t, "@@%zu: line %zu.%d%s t=", q->pas, q->line, q->fit, q->hyph ? "-" : "");
  ts_buf_num(t, q->total, 0);
  ts_buf_printf(t, " -> @@%zu\n", prev);
}

/* ---- one breakpoint (§829 try_break) ---------------------------------- */

/* §§835–836, 845: create active nodes for the slots recorded since the last
 * flush.  A slot is dropped when it costs more than the best slot (of the
 * same or a shorter hyphen run) plus |adjdemerits| (§836), or when a slot of
 * the same fitness and a shorter run costs no more. */
static ts_status flush(lb_state *S, size_t b, int hyph_break) {
  ts_status st = TS_OK;
  int R = S->nslots_run;
  double adj = fabs(finite_or(S->p->adjdemerits, 0));
  double runmin = AWFUL_BAD;
  double minupto[MAX_HYPH_LIMIT + 1];
  for (int h = 0; h < R; h++) {
    for (int f = 0; f < 4; f++) {
      const lb_cand *c = &S->cand[f * R + h];
      if (c->used && c->total < runmin) runmin = c->total;
    }
    minupto[h] = runmin;
  }
  for (int f = 0; f < 4; f++) {
    double best_shorter = AWFUL_BAD;
    for (int h = 0; h < R; h++) {
      lb_cand *c = &S->cand[f * R + h];
      if (!c->used) continue;
      int keep = c->total <= minupto[h] + adj && c->total < best_shorter;
      if (c->total < best_shorter) best_shorter = c->total;
      c->used = 0;
      if (!keep) continue;
      const lb_node *r = &S->act[c->from];
      TS_CHECK(grow((void **)&S->pas, &S->cappas, S->npas + 1, sizeof *S->pas));
      TS_CHECK(grow((void **)&S->nxt, &S->capnxt, S->nnxt + 1, sizeof *S->nxt));
      lb_passive *ps = &S->pas[S->npas++];
      ps->pos = b;
      ps->prev = r->pas;
      ps->badness = c->badness;
      ps->demerits = c->demerits;
      ps->fit = (uint8_t)f;
      ps->artificial = 0;
      lb_node *q = &S->nxt[S->nnxt++];
      q->pos = b;
      q->start = b < S->n ? S->nextbox[b + 1] : S->n;
      q->line = r->line + 1;
      q->pas = S->npas;
      q->total = c->total;
      q->fit = (uint8_t)f;
      q->hyph = (uint8_t)hyph_break;
      q->run = (uint8_t)h; /* slot = run length (1 for any run when unlimited) */
      if (S->trace) trace_node(S, q, r->pas);
    }
  }
done:
  for (int i = 0; i < 4 * R; i++) S->cand[i].used = 0;
  return st;
}

static ts_status try_break(lb_state *S, size_t b) {
  ts_status st = TS_OK;
  const ts_break_params *p = S->p;
  int forced = is_forced(S, b);
  int final_break = b == S->last;
  double pi = b < S->n && S->items[b].type == TS_ITEM_PENALTY ? item_penalty(&S->items[b]) : 0;
  /* a hyphenated break (§829 break_type); the paragraph's end counts as one
   * so that finalhyphendemerits applies (§859) */
  int hyph_break = !final_break && b < S->n && S->items[b].type == TS_ITEM_PENALTY &&
                   S->items[b].flagged;
  int R = S->nslots_run;
  double lp = finite_or(p->linepenalty, 0);
  size_t group = (size_t)-1; /* line class of the nodes the slots will create */
  int have = 0;
  /* pass 4: the dying node whose line is least overfull (§854) */
  size_t art = (size_t)-1;
  int64_t art_excess = 0;
  double art_bad = 0;
  int art_fit = DECENT;

  S->nnxt = 0;
  for (size_t k = 0; k < S->nact; k++) {
    const lb_node *r = &S->act[k];
    size_t g = line_class(S, r->line + 1);
    if (have && g != group) { /* §835: new nodes go before the next class */
      TS_CHECK(flush(S, b, hyph_break));
      have = 0;
    }
    group = g;
    lb_geom geo;
    geometry(S, r, b, S->es, &geo);
    int fit;
    double bad = line_badness(&geo, &fit);
    int dies = bad > INF_BAD || forced; /* §851: deactivate r */
    if (!dies) {
      TS_CHECK(grow((void **)&S->nxt, &S->capnxt, S->nnxt + 1, sizeof *S->nxt));
      S->nxt[S->nnxt++] = *r;
    }
    /* §854/§855: feasible unless too bad, or past the hyphen limit (a
     * forced break is never refused) */
    int feasible = bad <= S->threshold;
    unsigned run = 0;
    if (feasible && hyph_break) {
      run = r->run + 1u;
      if (S->hyph_limit > 0 && run > (unsigned)S->hyph_limit) {
        if (forced) run = (unsigned)S->hyph_limit;
        else feasible = 0;
      }
    }
    if (!feasible) {
      if (dies && S->artificial_ok) {
        int64_t excess = geo.w - geo.L - geo.z;
        if (excess < 0) excess = 0;
        if (art == (size_t)-1 || excess < art_excess ||
            (excess == art_excess && r->total <= S->act[art].total)) {
          art = k;
          art_excess = excess;
          art_bad = bad;
          art_fit = fit;
        }
      }
      continue;
    }
    /* §859: demerits */
    double d = lp + bad;
    d = fabs(d) >= 10000 ? 100000000.0 : d * d;
    if (pi > 0) d += pi * pi;
    else if (pi < 0 && pi > -TS_INF_PENALTY) d -= pi * pi;
    if ((hyph_break || final_break) && r->hyph)
      d += final_break ? finite_or(p->finalhyphendemerits, 0)
                       : finite_or(p->doublehyphendemerits, 0);
    if (abs(fit - (int)r->fit) > 1) d += finite_or(p->adjdemerits, 0);
    if (S->trace) trace_feasible(S, b, r, bad, pi, d, 0);
    int slot = hyph_break ? (S->hyph_limit > 0 ? (int)run : 1) : 0;
    lb_cand *c = &S->cand[fit * R + slot];
    double total = r->total + d;
    if (!c->used || total <= c->total) { /* §855: later nodes win ties */
      c->used = 1;
      c->total = total;
      c->badness = bad;
      c->demerits = d;
      c->from = k;
    }
    have = 1;
  }
  if (have) TS_CHECK(flush(S, b, hyph_break));
  if (S->nnxt == 0 && art != (size_t)-1) {
    /* §854 artificial_demerits: every node died without a feasible break;
     * keep the paragraph going from the least overfull one, d = 0. */
    const lb_node *r = &S->act[art];
    if (S->trace) trace_feasible(S, b, r, art_bad, pi, 0, 1);
    TS_CHECK(grow((void **)&S->pas, &S->cappas, S->npas + 1, sizeof *S->pas));
    TS_CHECK(grow((void **)&S->nxt, &S->capnxt, 1, sizeof *S->nxt));
    lb_passive *ps = &S->pas[S->npas++];
    ps->pos = b;
    ps->prev = r->pas;
    ps->badness = art_bad;
    ps->demerits = 0;
    ps->fit = (uint8_t)art_fit;
    ps->artificial = 1;
    lb_node *q = &S->nxt[S->nnxt++];
    q->pos = b;
    q->start = b < S->n ? S->nextbox[b + 1] : S->n;
    q->line = r->line + 1;
    q->pas = S->npas;
    q->total = r->total;
    q->fit = (uint8_t)art_fit;
    q->hyph = (uint8_t)hyph_break;
    q->run = (uint8_t)(hyph_break ? (r->run < 255 ? r->run + 1 : 255) : 0);
    if (S->trace) trace_node(S, q, r->pas);
  }
  /* swap */
  lb_node *t = S->act;
  size_t tc = S->capact;
  S->act = S->nxt;
  S->capact = S->capnxt;
  S->nact = S->nnxt;
  S->nxt = t;
  S->capnxt = tc;
  S->nnxt = 0;
done:
  return st;
}

/* ---- the safety bound ------------------------------------------------ */

typedef struct lb_rank {
  double total;
  size_t idx;
} lb_rank;

static int rank_cmp(const void *a, const void *b) {
  const lb_rank *x = a, *y = b;
  if (x->total != y->total) return x->total < y->total ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Keeps the MAX_ACTIVE/2 nodes with the fewest demerits, in list order. */
static ts_status prune(lb_state *S) {
  ts_status st = TS_OK;
  TS_CHECK(grow((void **)&S->rank, &S->caprank, S->nact, sizeof *S->rank));
  for (size_t k = 0; k < S->nact; k++) {
    S->rank[k].total = S->act[k].total;
    S->rank[k].idx = k;
  }
  qsort(S->rank, S->nact, sizeof *S->rank, rank_cmp);
  size_t keep = MAX_ACTIVE / 2;
  double cut = S->rank[keep - 1].total;
  size_t cut_idx = S->rank[keep - 1].idx;
  size_t m = 0;
  for (size_t k = 0; k < S->nact; k++) {
    const lb_node *r = &S->act[k];
    if (r->total < cut || (r->total == cut && k <= cut_idx)) S->act[m++] = *r;
  }
  S->pruned += S->nact - m;
  if (S->trace) ts_buf_printf(S->trace, "@pruned %zu\n", S->nact - m);
  S->nact = m;
done:
  return st;
}

/* ---- one pass (§863) ------------------------------------------------- */

/* Runs one pass.  *best gets the index of the chosen final node (in S->act)
 * or -1 when the active list ran empty; *actual the looseness reached. */
static ts_status run_pass(lb_state *S, int pass, long *best, int *actual) {
  ts_status st = TS_OK;
  static const char *const names[] = {"", "@firstpass\n", "@secondpass\n",
                                      "@emergencypass\n", "@finalpass\n"};
  if (S->trace) ts_buf_puts(S->trace, names[pass]);
  *best = -1;
  *actual = 0;
  S->npas = 0;
  S->nact = 0;
  TS_CHECK(grow((void **)&S->act, &S->capact, 1, sizeof *S->act));
  lb_node *s0 = &S->act[S->nact++]; /* §864: the start, decent fit */
  memset(s0, 0, sizeof *s0);
  s0->pos = NO_POS;
  s0->start = 0;
  s0->fit = DECENT;
  for (size_t b = 0; b <= S->last; b++) {
    if (!legal_break(S, b)) continue;
    if (!S->allow_disc && b < S->n && S->items[b].type == TS_ITEM_PENALTY &&
        S->items[b].flagged && finite_or(S->items[b].width, 0) > 0 && !is_forced(S, b))
      continue; /* first pass: no discretionary hyphens */
    TS_CHECK(try_break(S, b));
    if (S->nact == 0) goto done; /* §873: this pass failed */
    if (S->nact > MAX_ACTIVE) TS_CHECK(prune(S));
  }
  /* §874: every survivor ends at the last break, which is forced */
  {
    double fewest = AWFUL_BAD;
    for (size_t k = 0; k < S->nact; k++)
      if (S->act[k].total < fewest) {
        fewest = S->act[k].total;
        *best = (long)k;
      }
    int loose = S->p->looseness;
    if (loose != 0 && *best >= 0) { /* §875 */
      size_t best_line = S->act[*best].line;
      long actual_l = 0;
      for (size_t k = 0; k < S->nact; k++) {
        long diff = (long)S->act[k].line - (long)best_line;
        if ((diff < actual_l && loose <= diff) || (diff > actual_l && loose >= diff)) {
          *best = (long)k;
          actual_l = diff;
          fewest = S->act[k].total;
        } else if (diff == actual_l && S->act[k].total < fewest) {
          *best = (long)k;
          fewest = S->act[k].total;
        }
      }
      *actual = (int)actual_l;
    }
  }
done:
  return st;
}

/* ---- §§877–880: the chosen lines ------------------------------------- */

static ts_status collect(lb_state *S, const lb_node *fin, int pass, ts_lb_result *out) {
  size_t nl = fin->line;
  ts_lb_line *lines = calloc(nl ? nl : 1, sizeof *lines);
  if (!lines) return TS_ERR_NOMEM;
  size_t pi = fin->pas;
  for (size_t i = nl; i-- > 0;) {
    const lb_passive *ps = &S->pas[pi - 1];
    size_t prev = ps->prev;
    size_t a = prev ? S->pas[prev - 1].pos : NO_POS;
    size_t b = ps->pos;
    size_t s = a == NO_POS ? 0 : S->nextbox[a + 1];
    if (s > b) s = b;
    ts_lb_line *ln = &lines[i];
    ln->start = s;
    ln->end = b;
    ln->badness = ps->badness;
    ln->demerits = ps->demerits;
    ln->fitness = ps->fit;
    ln->hyphenated = b < S->n && b != S->last && S->items[b].type == TS_ITEM_PENALTY &&
                     S->items[b].flagged;
    /* overfull as the breaker judged it (sp sums, no emergency stretch) */
    lb_node tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.start = s;
    tmp.line = i;
    lb_geom g;
    geometry(S, &tmp, b, 0, &g);
    int64_t sh = g.L - g.w;
    /* the report: the items' own values, summed directly */
    double w = 0, y = 0, z = 0;
    int fil = 0;
    for (size_t j = s; j < b; j++) {
      const ts_item *it = &S->items[j];
      if (it->type == TS_ITEM_PENALTY) continue;
      w += finite_or(it->width, 0);
      if (it->type != TS_ITEM_GLUE) {
        if (isfinite(it->stretch) && it->stretch > 0) y += it->stretch;
        if (isfinite(it->shrink) && it->shrink > 0) z += it->shrink;
        continue;
      }
      if (isinf(it->stretch) && it->stretch > 0) fil = 1;
      else y += finite_or(it->stretch, 0);
      z += finite_or(it->shrink, 0);
    }
    if (b < S->n && S->items[b].type == TS_ITEM_PENALTY) w += finite_or(S->items[b].width, 0);
    ln->natural = w;
    double shortfall = line_width_pt(S, i) - w;
    if (S->mode != TS_LB_JUSTIFY) {
      ln->ratio = 0;
      ln->overfull = sh < 0;
    } else if (sh > 0) {
      ln->ratio = fil || y <= 0 ? 0 : shortfall / y;
    } else if (-sh > g.z) {
      ln->overfull = 1;
      ln->ratio = z > 0 ? -1 : 0;
    } else {
      ln->ratio = z > 0 && shortfall < 0 ? shortfall / z : 0;
    }
    if (!isfinite(ln->ratio)) ln->ratio = 0; /* absurd input only */
    pi = prev;
  }
  out->lines = lines;
  out->n = nl;
  out->pass = pass;
  out->total_demerits = fin->total;
  if (S->trace) {
    ts_buf *t = S->trace;
    ts_buf_printf(t, "@chosen pass=%d lines=%zu t=", pass, nl);
    ts_buf_num(t, fin->total, 0);
    ts_buf_putc(t, '\n');
    for (size_t i = 0; i < nl; i++) {
      const ts_lb_line *ln = &lines[i];
      ts_buf_printf(t, "@line %zu: %zu..%zu r=", i + 1, ln->start, ln->end);
      ts_buf_num(t, ln->ratio, 3);
      ts_buf_puts(t, " b=");
      if (ln->badness > INF_BAD) ts_buf_putc(t, '*');
      else ts_buf_num(t, ln->badness, 0);
      ts_buf_puts(t, " d=");
      ts_buf_num(t, ln->demerits, 0);
      ts_buf_printf(t, " fit=%d w=", ln->fitness);
      ts_buf_num(t, ln->natural, 3);
      ts_buf_printf(t, "%s%s\n", ln->hyphenated ? " hyphenated" : "",
                    ln->overfull ? " overfull" : "");
    }
  }
  return TS_OK;
}

/* ---- entry ----------------------------------------------------------- */

double ts_lb_width2(void *user, size_t line) {
  const ts_lb_widths2 *w = user;
  return line == 0 ? w->first : w->rest;
}

void ts_lb_ws_free(ts_lb_ws *ws) {
  if (!ws) return;
  free(ws->sum);
  free(ws->nextbox);
  free(ws->cand);
  free(ws->act);
  free(ws->nxt);
  free(ws->pas);
  free(ws->rank);
  memset(ws, 0, sizeof *ws);
}

ts_status ts_linebreak(const ts_break_params *p, ts_lb_mode mode, const ts_item *items,
                       size_t n, ts_lb_width_fn width, void *user, ts_lb_result *out,
                       ts_buf *trace) {
  ts_lb_ws ws;
  memset(&ws, 0, sizeof ws);
  ts_status st = ts_linebreak_ws(&ws, p, mode, items, n, width, user, out, trace);
  ts_lb_ws_free(&ws);
  return st;
}

ts_status ts_linebreak_ws(ts_lb_ws *ws, const ts_break_params *p, ts_lb_mode mode,
                          const ts_item *items, size_t n, ts_lb_width_fn width, void *user,
                          ts_lb_result *out, ts_buf *trace) {
  ts_status st = TS_OK;
  lb_state S;
  memset(&S, 0, sizeof S);
  if (out) memset(out, 0, sizeof *out);
  if (!ws) return TS_ERR_USAGE;
  /* the arrays (with their capacities) from ws; put back at done */
  size_t cap_sum = ws->cap_sum, cap_nextbox = ws->cap_nextbox, cap_cand = ws->cap_cand;
  S.sum = ws->sum;
  S.nextbox = ws->nextbox;
  S.cand = ws->cand;
  S.act = ws->act;
  S.capact = ws->cap_act;
  S.nxt = ws->nxt;
  S.capnxt = ws->cap_nxt;
  S.pas = ws->pas;
  S.cappas = ws->cap_pas;
  S.rank = ws->rank;
  S.caprank = ws->cap_rank;
  if (!p || !out || !width || (n > 0 && !items)) return TS_ERR_USAGE;
  if (n == 0) return TS_OK;
  if (n >= SIZE_MAX / 2 / sizeof(lb_sum)) return TS_ERR_NOMEM;

  S.p = p;
  S.mode = mode == TS_LB_RAGGED || mode == TS_LB_CENTER ? mode : TS_LB_JUSTIFY;
  S.items = items;
  S.n = n;
  S.trace = trace;
  S.last = is_forced(&S, n - 1) ? n - 1 : n;

  /* line widths: TeX's \parshape with its last entry repeated (§848) */
  if (width == ts_lb_width2) { /* two widths: what the loop below would find */
    const ts_lb_widths2 *w2 = user;
    double w0 = isfinite(w2->first) && w2->first > 0 ? w2->first : 0;
    double w1 = isfinite(w2->rest) && w2->rest > 0 ? w2->rest : 0;
    S.widths[0] = w0;
    for (size_t l = 1; l <= TS_LB_SHAPE_LINES; l++) S.widths[l] = w1;
    S.shape_last = w0 == w1 ? 0 : 1;
  } else {
    for (size_t l = 0; l <= TS_LB_SHAPE_LINES; l++) {
      double w = width(user, l);
      S.widths[l] = isfinite(w) && w > 0 ? w : 0;
    }
    S.shape_last = TS_LB_SHAPE_LINES;
    while (S.shape_last > 0 && S.widths[S.shape_last - 1] == S.widths[TS_LB_SHAPE_LINES])
      S.shape_last--;
  }
  /* lines past shape_last read entry shape_last (line_width_pt, geometry) */
  for (size_t l = 0; l <= S.shape_last; l++) S.wsp[l] = to_sp(S.widths[l]);
  /* §848: with looseness every line number is its own class */
  S.class_last = p->looseness == 0 ? S.shape_last : (size_t)-1;
  S.hyph_limit = p->max_hyphen_lines > 0 && p->max_hyphen_lines < MAX_HYPH_LIMIT
                     ? p->max_hyphen_lines : 0;
  S.nslots_run = S.hyph_limit > 0 ? S.hyph_limit + 1 : 2;

  /* prefix sums (§§823–827 active widths, as absolute totals) */
  TS_CHECK(grow((void **)&S.sum, &cap_sum, n + 1, sizeof *S.sum));
  TS_CHECK(grow((void **)&S.nextbox, &cap_nextbox, n + 1, sizeof *S.nextbox));
  TS_CHECK(grow((void **)&S.cand, &cap_cand, 4 * (size_t)S.nslots_run, sizeof *S.cand));
  memset(S.cand, 0, 4 * (size_t)S.nslots_run * sizeof *S.cand);
  {
    lb_sum acc = {0, 0, 0, 0};
    double gw = 0;
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
      S.sum[i] = acc;
      const ts_item *it = &items[i];
      if (it->type == TS_ITEM_PENALTY) continue;
      acc.w = sat_add(acc.w, to_sp(finite_or(it->width, 0)));
      if (it->type != TS_ITEM_GLUE) {
        /* a box's finite stretch and shrink: font expansion */
        if (isfinite(it->stretch) && it->stretch > 0) acc.y = sat_add(acc.y, to_sp(it->stretch));
        if (isfinite(it->shrink) && it->shrink > 0) acc.z = sat_add(acc.z, to_sp(it->shrink));
      } else {
        if (isinf(it->stretch) && it->stretch > 0) acc.f += 1;
        else acc.y = sat_add(acc.y, to_sp(finite_or(it->stretch, 0)));
        acc.z = sat_add(acc.z, to_sp(finite_or(it->shrink, 0)));
        if (isfinite(it->width) && it->width > 0 && isfinite(it->stretch)) {
          gw += it->width;
          ng++;
        }
      }
    }
    S.sum[n] = acc;
    /* ragged: V = TS_LB_RAG_EMS em, em = 3 × the mean interword glue */
    double rag = ng ? TS_LB_RAG_EMS * 3.0 * gw / (double)ng : 0;
    if (S.mode != TS_LB_JUSTIFY) { /* (read in ragged modes only) */
      int64_t rs = rag > 0 ? to_sp(rag) : 0;
      for (size_t l = 0; l <= S.shape_last; l++)
        S.ragsp[l] = rag > 0 ? rs : to_sp(S.widths[l] / 12.0);
    }
    S.nextbox[n] = n;
    for (size_t i = n; i-- > 0;)
      S.nextbox[i] = items[i].type != TS_ITEM_GLUE && items[i].type != TS_ITEM_PENALTY
                         ? i : S.nextbox[i + 1];
  }

  {
    double pretol = finite_or(p->pretolerance, -1);
    double tol = finite_or(p->tolerance, INF_BAD);
    double es = finite_or(p->emergencystretch, 0);
    long best = -1;
    int actual = 0;
    /* passes 1..3 (§863); a pass that ends with the wrong looseness goes on
     * unless it is the last of them (§873) */
    for (int pass = 1; pass <= 3; pass++) {
      if (pass == 1 && pretol < 0) continue;
      if (pass == 3 && es <= 0) continue;
      S.threshold = pass == 1 ? pretol : tol;
      S.es = pass == 3 ? to_sp(es) : 0;
      S.allow_disc = pass != 1;
      S.artificial_ok = 0;
      TS_CHECK(run_pass(&S, pass, &best, &actual));
      int last_of_three = pass == 3 || (pass == 2 && es <= 0);
      if (best >= 0 && (actual == p->looseness || last_of_three)) {
        TS_CHECK(collect(&S, &S.act[best], pass, out));
        goto done;
      }
    }
    /* pass 4: the fallback never fails */
    S.threshold = tol > INF_BAD ? tol : INF_BAD;
    S.es = es > 0 ? to_sp(es) : 0;
    S.allow_disc = 1;
    S.artificial_ok = 1;
    TS_CHECK(run_pass(&S, 4, &best, &actual));
    if (TS_NEVER(best < 0)) {
      st = TS_ERR_INTERNAL;
      goto done;
    }
    TS_CHECK(collect(&S, &S.act[best], 4, out));
  }

done:
  ws->sum = S.sum;
  ws->cap_sum = cap_sum;
  ws->nextbox = S.nextbox;
  ws->cap_nextbox = cap_nextbox;
  ws->cand = S.cand;
  ws->cap_cand = cap_cand;
  ws->act = S.act;
  ws->cap_act = S.capact;
  ws->nxt = S.nxt;
  ws->cap_nxt = S.capnxt;
  ws->pas = S.pas;
  ws->cap_pas = S.cappas;
  ws->rank = S.rank;
  ws->cap_rank = S.caprank;
  if (st != TS_OK && out) ts_lb_result_free(out);
  return st;
}

void ts_lb_result_free(ts_lb_result *r) {
  if (!r) return;
  free(r->lines);
  memset(r, 0, sizeof *r);
}
