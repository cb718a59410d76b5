/* ts_linebreak.h — Knuth–Plass total-fit line breaking over boxes, glue and
 * penalties (Knuth & Plass, "Breaking Paragraphs into Lines", 1981; TeX: The
 * Program §§813–890).  Knows nothing about fonts: items carry widths only. */
#ifndef TS_LINEBREAK_H
#define TS_LINEBREAK_H

#include "../core/ts_core.h"
#include "../style/ts_style.h"

typedef enum ts_item_type { TS_ITEM_BOX = 0, TS_ITEM_GLUE, TS_ITEM_PENALTY } ts_item_type;

#define TS_INF_PENALTY 10000.0 /* >= this: never break here; <= -this: must break */

typedef struct ts_item {
  uint8_t type;     /* ts_item_type */
  uint8_t flagged;  /* PENALTY: a hyphenation break (counts for double/final hyphen demerits) */
  double width;     /* BOX/GLUE: natural width; PENALTY: width added if broken here (hyphen) */
  double stretch;   /* GLUE */
  double shrink;    /* GLUE */
  double penalty;   /* PENALTY */
  uint32_t ref;     /* caller's data (e.g. index into its own arrays) */
} ts_item;

typedef enum ts_lb_mode { TS_LB_JUSTIFY = 0, TS_LB_RAGGED, TS_LB_CENTER } ts_lb_mode;

typedef struct ts_lb_line {
  size_t start;     /* first item of the line (after discarding glue/penalties at its start) */
  size_t end;       /* the break item (index of the glue/penalty broken at; n-1 for the last) */
  double ratio;     /* adjustment ratio r (>0 stretch, <0 shrink) */
  double badness;
  double demerits;  /* demerits of this line */
  int fitness;      /* 0 very loose, 1 loose, 2 decent, 3 tight */
  int hyphenated;   /* ends at a flagged penalty */
  int overfull;     /* could not shrink enough (reported by caller) */
  double natural;   /* natural width of the line's material */
} ts_lb_line;

typedef struct ts_lb_result {
  ts_lb_line *lines; /* owned by the result (free with ts_lb_result_free) */
  size_t n;
  int pass;          /* 1 pretolerance, 2 tolerance, 3 emergency stretch, 4 overfull fallback */
  double total_demerits;
} ts_lb_result;

/* Width of line number `line` (0-based), for indents and shaped paragraphs. */
typedef double (*ts_lb_width_fn)(void *user, size_t line);

/* Breaks items[0..n) into lines.  The caller ends the paragraph with
 * parfillskip glue and a forced break (penalty -inf), as TeX does (§816).
 * Never fails for want of a feasible solution: when no sequence fits the
 * tolerance it tries emergencystretch, then the least-bad overfull lines
 * (marked overfull).  Returns TS_ERR_NOMEM only.  `trace` (may be NULL)
 * receives a \tracingparagraphs-like log of feasible breaks. */
ts_status ts_linebreak(const ts_break_params *p, ts_lb_mode mode,
                       const ts_item *items, size_t n, ts_lb_width_fn width,
                       void *user, ts_lb_result *out, ts_buf *trace);
void ts_lb_result_free(ts_lb_result *r);

#endif
