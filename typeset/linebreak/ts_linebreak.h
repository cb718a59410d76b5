/* ts_linebreak.h — Knuth–Plass total-fit line breaking over boxes, glue and
 * penalties (Knuth & Plass, "Breaking Paragraphs into Lines", 1981; TeX: The
 * Program §§813–890).  Knows nothing about fonts: items carry widths only. */
#ifndef TS_LINEBREAK_H
#define TS_LINEBREAK_H

#include "../core/ts_core.h"
#include "../style/ts_style.h"

typedef enum ts_item_type { TS_ITEM_BOX = 0, TS_ITEM_GLUE, TS_ITEM_PENALTY } ts_item_type;

#define TS_INF_PENALTY 10000.0 /* >= this: never break here; <= -this: must break */

/* A glue's stretch may be INFINITY: first-order infinite stretch (TeX's
 * "plus 1fil", e.g. \parfillskip); a line holding such glue is never
 * underfull (badness 0, §852).  Infinite or NaN shrink counts as 0, a NaN or
 * infinite width as 0, a NaN penalty as +inf (no break).  Items of an unknown
 * type count as boxes.  A penalty with p >= TS_INF_PENALTY is no breakpoint;
 * glue is a breakpoint only right after a box (Knuth–Plass; TeX §866). */
typedef struct ts_item {
  uint8_t type;     /* ts_item_type */
  uint8_t flagged;  /* PENALTY: a hyphenation break (counts for double/final hyphen demerits).
                     * A flagged penalty of width > 0 (a discretionary hyphen to be inserted)
                     * is not tried in the first pass (TeX's first pass runs before
                     * hyphenation); width 0 (after an explicit hyphen) is. */
  double width;     /* BOX/GLUE: natural width; PENALTY: width added if broken here (hyphen) */
  double stretch;   /* GLUE (INFINITY = fil); BOX: finite stretch of font expansion
                     * (pdfTeX's \pdfadjustspacing), counted with the glue's; 0 none */
  double shrink;    /* GLUE; BOX: finite shrink of font expansion */
  double penalty;   /* PENALTY */
  uint32_t ref;     /* caller's data (e.g. index into its own arrays) */
} ts_item;

/* TS_LB_JUSTIFY: glue stretches and shrinks as given.
 * TS_LB_RAGGED / TS_LB_CENTER: glue keeps its natural width (finite stretch
 * and shrink of the items are ignored; fil stretch still counts) and each
 * line's badness is computed against a fixed virtual stretch V — TeX's
 * \rightskip=0pt plus V (for CENTER the same total split between both sides)
 * — so the breaker minimizes raggedness: demerits grow with the cube of each
 * line's shortfall.  V = TS_LB_RAG_EMS em, the em estimated as 3 × the mean
 * natural width of the paragraph's finite glue (an interword space is about
 * 1/3 em); without such glue V = width(line) / 12.  Plain TeX's \raggedright
 * uses 2 em; 3 em lets the first pass (no hyphens) succeed more often.  The
 * reported ratio is 0 (the caller places the line by width - natural). */
typedef enum ts_lb_mode { TS_LB_JUSTIFY = 0, TS_LB_RAGGED, TS_LB_CENTER } ts_lb_mode;
#define TS_LB_RAG_EMS 3.0

typedef struct ts_lb_line {
  size_t start;     /* first item of the line (after discarding glue/penalties at its start) */
  size_t end;       /* the break item (index of the glue/penalty broken at; n-1 for the last;
                     * n when items did not end with a forced break).  The line's material is
                     * items[start..end) plus, when end is a penalty, its width.  start == end
                     * for an empty line (e.g. two forced breaks in a row). */
  double ratio;     /* adjustment ratio r of the items' real glue and boxes' expansion
                     * (>0 stretch, <0 shrink),
                     * 0 when the line has fil stretch or in ragged modes; clamped to -1
                     * when overfull (0 if it has no shrink).  May exceed the tolerance's
                     * ratio in passes 3 and 4. */
  double badness;   /* as used to choose the break (incl. emergency/virtual stretch);
                     * 10001 when overfull */
  double demerits;  /* demerits of this line (§859; 0 for an overfull fallback break) */
  int fitness;      /* 0 very loose, 1 loose, 2 decent, 3 tight */
  int hyphenated;   /* ends at a flagged penalty */
  int overfull;     /* could not shrink enough: natural - shrink > width */
  double natural;   /* natural width of the line's material */
} ts_lb_line;

typedef struct ts_lb_result {
  ts_lb_line *lines; /* owned by the result (free with ts_lb_result_free) */
  size_t n;
  int pass;          /* 1 pretolerance, 2 tolerance, 3 emergency stretch, 4 fallback (0: n==0) */
  double total_demerits;
} ts_lb_result;

/* Width of line number `line` (0-based), for indents and shaped paragraphs.
 * Like TeX's \parshape, whose last entry repeats: it is called once for each
 * line 0..TS_LB_SHAPE_LINES at the start of ts_linebreak, and every later
 * line takes the width of line TS_LB_SHAPE_LINES.  Negative or non-finite
 * widths count as 0. */
typedef double (*ts_lb_width_fn)(void *user, size_t line);
#define TS_LB_SHAPE_LINES 64

/* The common shape: the first line one width, every other line another
 * (an indented or hanging first line).  Pass ts_lb_width2 with a
 * ts_lb_widths2 as user: ts_linebreak then reads the two widths directly
 * instead of calling for every line (the same result). */
typedef struct ts_lb_widths2 {
  double first, rest;
} ts_lb_widths2;
double ts_lb_width2(void *user, size_t line);

/* Breaks items[0..n) into lines.  The caller ends the paragraph with
 * parfillskip glue and a forced break (penalty -inf), as TeX does (§816); a
 * forced break inside the paragraph should follow fil glue (else its line is
 * set as stretched as the glue allows).  Without the final forced break the
 * paragraph is ended as if one followed the last item.
 * Passes (TeX §863): 1 pretolerance without discretionary hyphens (skipped
 * when pretolerance < 0), 2 tolerance, 3 tolerance with emergencystretch added
 * to every line's stretch (skipped when emergencystretch <= 0).  Looseness
 * (§875) moves on to the next pass when not met, and is accepted as reached
 * by the last of passes 2/3.  Never fails for want of a feasible solution:
 * pass 4 accepts every line up to badness 10000 (underfull rather than
 * overfull — a deliberate deviation from TeX's final pass, which keeps
 * \tolerance) and, where even that fails (material wider than the measure),
 * breaks from the dying active node whose line is least overfull (TeX §854's
 * artificial_demerits) and marks the line overfull.
 * p->max_hyphen_lines > 0 is a hard limit on consecutive hyphenated lines
 * (values >= 64 mean no limit; a forced break or an overfull fallback break
 * may exceed it).
 * The result is optimal for the pass's cost model (TeX's, badness by §108
 * on scaled points, so identical to TeX's), except if more than 1024 breakpoints are active at once
 * (degenerate input: thousands of breaks with no box between them, lines
 * hundreds of words long, or looseness on a paragraph of thousands of lines);
 * then the costliest half is dropped to keep the time linear.
 * Trace lines: "@firstpass" (…"@secondpass", "@emergencypass", "@finalpass");
 * "@\glue 12 via @@3 b=0 p=0 d=100" for each feasible break (kind \glue,
 * \penalty, \discretionary or \par, the item index, the origin node; b=* when
 * overfull, d=* for a fallback break); "@@4: line 2.2- t=1234 -> @@3" for
 * each new active node (line number, fitness, "-" if hyphenated, total
 * demerits); then "@chosen pass=P lines=N t=T" and one
 * "@line i: start..end r= b= d= fit= w=" (+ hyphenated/overfull) per line.
 * Returns TS_OK, TS_ERR_NOMEM (out is then empty) or TS_ERR_USAGE (NULL p,
 * out, width, or items with n > 0).  `out` is owned by the caller and must be
 * freed with ts_lb_result_free.  `trace` (may be NULL; borrowed) receives a
 * \tracingparagraphs-like log of feasible breaks and the chosen lines; its
 * own out-of-memory flag tells whether it is complete. */
ts_status ts_linebreak(const ts_break_params *p, ts_lb_mode mode,
                       const ts_item *items, size_t n, ts_lb_width_fn width,
                       void *user, ts_lb_result *out, ts_buf *trace);
void ts_lb_result_free(ts_lb_result *r);

/* The breaker's working arrays kept between calls (one thread at a time):
 * zero-initialise, pass to ts_linebreak_ws, free with ts_lb_ws_free.  The
 * result is the same as ts_linebreak's; only allocations are saved. */
typedef struct ts_lb_ws {
  void *sum, *nextbox, *cand, *act, *nxt, *pas, *rank; /* owned */
  size_t cap_sum, cap_nextbox, cap_cand, cap_act, cap_nxt, cap_pas, cap_rank;
} ts_lb_ws;
ts_status ts_linebreak_ws(ts_lb_ws *ws, const ts_break_params *p, ts_lb_mode mode,
                          const ts_item *items, size_t n, ts_lb_width_fn width, void *user,
                          ts_lb_result *out, ts_buf *trace);
void ts_lb_ws_free(ts_lb_ws *ws); /* accepts NULL; leaves it zeroed */

#endif
