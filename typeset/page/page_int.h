/* page_int.h — internals of the page builder, shared by its files and its
 * tests (not part of the public interface).
 *
 * The builder works in three steps:
 *   1. page_build.c turns the document into a vertical list (a "galley" of
 *      boxes, glue and penalties, TeX's vertical mode, The TeXbook ch. 15)
 *      plus one small vertical list per footnote;
 *   2. page_break.c cuts the galley into frames (a column of a page) with
 *      footnotes at the foot of the frame their mark's line is on (TeX: The
 *      Program §§980–1028, with Word's rule for notes, see pg_break);
 *   3. page_render.c places boxes and notes, draws running heads and folios
 *      (after the page count is known) and emits the display list.
 *
 * Boxes carry their drawing items in box coordinates: x from the frame's
 * left edge, y from the box's baseline, PDF orientation (up is positive).
 */
#ifndef TS_PAGE_INT_H
#define TS_PAGE_INT_H

#include "ts_page.h"

/* Strut proportions of a line: height above the baseline and depth below,
 * as fractions of the leading (plain TeX's \strut is 8.5pt + 3.5pt for a
 * 12pt \baselineskip: 0.708 / 0.292).  Stacking line boxes of leading L
 * therefore puts their baselines exactly L apart. */
#define PG_STRUT_H 0.7
#define PG_STRUT_D 0.3

/* TeX's "infinitely bad" and forcing penalties (§§108, 996). */
#define PG_INF_BAD 10000.0
#define PG_INF_PENALTY 10000.0
#define PG_EJECT_PENALTY (-10000.0)

/* The note area: a single note taller than this fraction of the frame height
 * may be split across frames; shorter notes are never split: their mark's
 * line moves instead.  A third of the frame keeps the page a moved line can
 * leave short to at most that, where a larger area left half-empty pages.
 * PG_NOTE_MAX bounds the notes of a frame that holds pieces of split notes
 * (plain TeX's \dimen\footins), so some text stays on every page. */
#define PG_NOTE_AREA 0.35
#define PG_NOTE_MAX 0.7

typedef struct pg_box {
  double h, d;          /* height above / depth below the baseline, pt */
  double shrink;        /* figures: height the image may give up, pt */
  double img_w, img_h;  /* figures: natural image size in the box (pt) */
  ts_draw *draws;       /* box coordinates (see above); arena */
  size_t n_draws, cap_draws;
  int *notes;           /* footnote numbers whose marks are in this box */
  uint32_t n_notes;
  double grid;          /* > 0: snap the baseline to multiples of this */
  int table;            /* table id (0 = not a table row) */
  int table_row;        /* 0 = header row, n >= 1 body rows */
  int table_last;       /* last row of its table */
  const struct pg_box *table_header; /* body rows: the header to repeat */
  double table_x, table_w; /* table extent (for continuation rules) */
  int kind;             /* PG_BOX_* (for tests and the dump) */
  int para;             /* paragraph id (0 none), line index in it */
  int para_line, para_lines;
  int anchor;           /* heading: index + 1 into the builder's anchors */
} pg_box;

enum { PG_BOX_LINE = 0, PG_BOX_HEADING, PG_BOX_FIGURE, PG_BOX_TABLE, PG_BOX_RULE,
       PG_BOX_OTHER };

typedef enum pg_vkind { PG_V_BOX = 0, PG_V_GLUE, PG_V_PENALTY } pg_vkind;

typedef struct pg_vitem {
  uint8_t kind;         /* pg_vkind */
  uint8_t eject_page;   /* PENALTY <= eject: start a new page, not just a column */
  uint32_t float_end;   /* > index: first item of a float group [index, float_end)
                         * (a figure, a short table with its caption) that may
                         * move to the top of the next frame */
  double w, stretch, shrink; /* GLUE */
  double penalty;       /* PENALTY */
  pg_box *box;          /* BOX */
} pg_vitem;

typedef struct pg_vlist {
  pg_vitem *items;
  size_t n, cap;
} pg_vlist;

/* A footnote set as a column of boxes with fixed gaps. */
typedef struct pg_note {
  int number;
  pg_box **lines;       /* arena */
  double *gap;          /* gap[i]: fixed space above line i (gap[0] unused) */
  size_t n;
  double height;        /* all lines stacked */
} pg_note;

/* A piece of a note placed in a frame: lines [from, to). */
typedef struct pg_note_piece {
  int number;
  size_t from, to;
} pg_note_piece;

typedef struct pg_frame {
  int page;             /* 0-based page index */
  int col;              /* column */
  size_t start, end;    /* galley items [start, end) (discardables at top skipped) */
  const pg_box *header; /* table header repeated at the top, or NULL */
  pg_note_piece *notes; /* arena */
  size_t n_notes;
  double notes_h;       /* height of the note area including the separator */
  int flush;            /* 1: stretch glue so the frame is full (not the end of a section) */
  int forced;           /* 1: the break was forced for progress (overfull or split) */
  int opens;            /* 1: starts after a forced page break (a chapter opening) */
  size_t fl_start, fl_end;     /* a float deferred from before, set first */
  double float_sep;            /* space between that float and the text */
  size_t hole_start, hole_end; /* a float within [start, end) moved on */
} pg_frame;

/* Items of a frame in the order they are set: the deferred float, then
 * [start, end) without the hole.  next returns an item index or
 * PG_FRAME_END. */
#define PG_FRAME_END ((size_t)-1)
typedef struct pg_frame_it {
  const pg_frame *f;
  int phase;            /* 0 float, 1 body */
  size_t k;
} pg_frame_it;
void pg_frame_it_init(pg_frame_it *it, const pg_frame *f);
size_t pg_frame_it_next(pg_frame_it *it);

/* Frame geometry per frame: the builder asks for the height of frame k;
 * the renderer asks for its position. */
typedef struct pg_geom {
  const ts_style *style;
  int columns;
  double block_h;       /* text block height */
  double first_top;     /* space used on page 1 by a spanning title block */
  double first_bottom;  /* and by its notes, at the foot below the columns' */
  double note_sep;      /* height of the note separator (skip + rule + gap) */
} pg_geom;

double pg_frame_height(const pg_geom *g, size_t frame);

/* Tunables of the break search that tests may vary. */
typedef struct pg_break_params {
  double note_area;     /* PG_NOTE_AREA: notes taller than this split */
  int note_min_lines;   /* lines of a split note kept together on each side (2) */
  double note_max;      /* PG_NOTE_MAX: note area of a frame with split notes */
} pg_break_params;

typedef struct pg_break_result {
  pg_frame *frames;     /* arena */
  size_t n;
  size_t n_notes_split; /* notes that continue on a later frame */
  size_t n_forced;      /* frames broken for progress only */
} pg_break_result;

/* Breaks the galley into frames.  notes[k] is the note numbered k + 1 (or
 * NULL when missing).  Terminates for every input: each frame takes at
 * least one box or one note line. */
ts_status pg_break(ts_arena *a, const pg_geom *g, const pg_break_params *bp,
                   const pg_vlist *v, pg_note *const *notes, size_t n_notes,
                   pg_break_result *out);

/* Baseline positions of the frame's boxes, from the frame top, as the
 * renderer places them: r is the glue set ratio (> 0 stretch, < 0 shrink),
 * fig_shrink the total height taken from figures.  Shared by the builder
 * and the renderer so that what was measured is what gets drawn. */
typedef struct pg_stack {
  double top;           /* current bottom (of the last box), from frame top */
  double pending;       /* glue waiting for the next box */
  double stretch, shrink, fig_shrink;
  int boxes;            /* boxes stacked so far */
} pg_stack;
void pg_stack_init(pg_stack *s);
/* Adds a box; returns its baseline (from the frame top). */
double pg_stack_box(pg_stack *s, const pg_box *b);
void pg_stack_glue(pg_stack *s, const pg_vitem *g);

/* Galley construction helpers (arena). */
pg_box *pg_box_new(ts_arena *a);
ts_draw *pg_box_draw(ts_arena *a, pg_box *b);     /* new zeroed draw item */
pg_vitem *pg_vlist_push(ts_arena *a, pg_vlist *v);


/* ---- galley construction (page_build.c, page_title.c) ------------------- */

/* A heading as the renderer needs it after breaking (TOC page numbers). */
typedef struct pg_anchor {
  const char *id;       /* destination name */
  const pg_box *box;    /* the heading's first line */
  int page;             /* 0-based page, filled after breaking (-1 unknown) */
} pg_anchor;

/* A TOC entry whose page number is drawn after breaking. */
typedef struct pg_toc_entry {
  pg_box *box;          /* the entry's last line: the number goes there */
  const char *id;       /* the heading's destination */
  double right;         /* x of the number's right edge (box coordinates) */
  double leader_from;   /* x where the dot leaders start */
  const ts_block_style *bs;
} pg_toc_entry;

typedef struct pg_builder {
  ts_ctx *ctx;
  ts_arena *a;
  ts_arena *galley;     /* owned: what is needed until the pages are drawn,
                           not by the PDF writer: boxes, their draws, the
                           vertical lists, notes, frames, span arrays
                           (strings stay in `a`: draws point at them) */
  ts_arena *tmp;        /* owned: scratch for what is measured and dropped
                           (table pieces); whoever uses it clears it before
                           returning, so nothing lives there across calls */
  ts_arena *para_spans; /* owned: a body paragraph's span array, cleared once
                           its lines are built (they copy what they keep) */
  struct pg_pw_entry *pw_memo; /* galley: widths of table pieces measured so far */
  size_t pw_n, pw_cap;   /* its entries and slots (a power of two) */
  const ts_doc *doc;
  const ts_style *st;
  ts_diag *d;
  ts_buf *trace;
  const char *lang;
  ts_status err;        /* sticky: the first failure */
  ts_cp_set *reported;  /* code points without a font, reported once */
  ts_fontsets *fontsets; /* owned: the font sets the paragraphs looked up */

  pg_vlist main;        /* the body galley */
  pg_vlist title;       /* the title block when it spans two columns */
  pg_vlist *v;          /* where blocks go now */
  double col_w;         /* frame width */
  double frame_h;       /* a full frame's height (figure clamps) */

  /* vertical spacing and keeps */
  double pend_space;    /* collapsed space before the next block */
  int have_block;       /* something was emitted on v */
  int keep;             /* boxes still kept with the preceding heading */
  int prev_para;        /* previous block was a body paragraph: indent */
  int para_id;
  int heading_num[6];
  size_t caption_start;  /* a table caption's first item + 1 (0 = none) */
  int no_grid;          /* inside notes, title block: no grid snapping */
  int in_notes;         /* building notes: marks inside notes are not refs */

  /* footnotes */
  uint8_t *note_seen;   /* first reference already emitted */
  pg_note **notes;      /* notes[k] = note k+1 */
  size_t n_notes;

  /* headings */
  ts_vec anchors;       /* pg_anchor */
  ts_vec outline;       /* ts_outline_entry */
  ts_vec toc;           /* pg_toc_entry */

  size_t n_lines, n_overfull;
} pg_builder;

/* Blocks of a container (the document body, an abstract, a note) onto b->v,
 * iteratively. `base` is the paragraph style (body, footnote, abstract). */
void pg_build_blocks(pg_builder *b, const ts_node *container,
                     const ts_block_style *base, double left, double right,
                     const ts_span *lead, size_t n_lead);
/* The same with a hanging label (a note's number) drawn with its right
 * edge at label_x, left of the first line of the first block. */
void pg_build_blocks_label(pg_builder *b, const ts_node *container,
                           const ts_block_style *base, double left, double right,
                           const ts_span *lead, size_t n_lead, const ts_line *label,
                           double label_x);
/* The title block (masthead, title, authors, abstract, keywords). */
void pg_build_title(pg_builder *b);
/* A printed table of contents (page numbers drawn after breaking). */
void pg_build_toc(pg_builder *b);
/* Footnotes: b->notes from doc->notes. */
void pg_build_notes(pg_builder *b);

/* Small helpers shared by the galley files. */
static inline double pg_leading(const ts_block_style *bs) {
  return bs->leading > 0 ? bs->leading : bs->size * 1.2;
}
/* Line widths for the text engine: the first line, then the others. */
/* a paragraph's measures: its first line, then the others (the line
 * breaker reads them directly) */
typedef ts_lb_widths2 pg_widths;
#define pg_width_fn ts_lb_width2
/* Left and right ends of a line's material as the engine placed it. */
void pg_line_extent(const ts_line *ln, double *x0, double *x1);
/* Options for the text engine: style, language, mode; protrusion in
 * justified text; the document's set of reported code points. */
ts_para_opts pg_para_opts(const pg_builder *b, ts_lb_mode mode, double indent, int hyph);
/* Records the first reference to note `number` in box bx (mark at x):
 * the box carries it to the breaker and gets the DEST "fnref-N". */
void pg_note_ref(pg_builder *b, pg_box *bx, int number, double x);

/* Paragraph setting shared by the block and title code. */
typedef struct pg_para_fmt {
  const ts_block_style *bs;
  double left, right;   /* insets within the frame */
  double indent;        /* first-line indent */
  ts_align align;
  int hyphenate;
  int widows;           /* apply widows/orphans between lines */
  int kind;             /* PG_BOX_* */
  double grid;          /* snap baselines (0 = no) */
  const char *dest;     /* DEST at the first line */
  const char *lang;     /* the block's own language (a fenced div's), NULL: the document's */
  const ts_line *label; /* hanging label drawn left of the first line */
  double label_x;       /* right edge of the label (box coordinates) */
  pg_box **first_box;   /* out: the first line's box (optional) */
  pg_box **last_box;    /* out: the last line's box (optional) */
  double last_width_cut;/* narrower last line (TOC numbers) */
  int balance;          /* ragged display text (titles, headings): lines of
                           even length, as CSS text-wrap: balance */
} pg_para_fmt;

/* Sets spans as a paragraph and appends its lines (boxes and interline
 * penalties) to b->v.  Spans with text == NULL are forced line breaks. */
void pg_para(pg_builder *b, const ts_span *spans, size_t n, const pg_para_fmt *f);
/* Vertical space before a block (collapsed with the previous block's space
 * after: the larger wins). */
void pg_space(pg_builder *b, double before);
void pg_space_after(pg_builder *b, double after);
/* Spans of a node's inlines in style bs (arena). */
void pg_inline_spans(pg_builder *b, const ts_node *n, const ts_block_style *bs,
                     ts_span **spans, size_t *n_spans);
void pg_build_code(pg_builder *b, const ts_node *n, double left, double right);
void pg_build_table(pg_builder *b, const ts_node *n, double left, double right);
void pg_build_figure(pg_builder *b, const ts_node *n, double left, double right);
void pg_build_rule(pg_builder *b, double left, double right);
/* A box onto v (counts down keeps). */
void pg_emit_box(pg_builder *b, pg_box *bx);
void pg_emit_penalty(pg_builder *b, double p, int eject_page);
/* A span with a block style's attributes. */
/* A span of text[0..len) in block style bs (role, weight, slope, small
 * capitals, size, colour), without the style's upper-casing (no builder). */
ts_span pg_span_style(const ts_block_style *bs, const char *text, size_t len);
ts_span pg_span_plain(const pg_builder *b, const ts_block_style *bs, const char *text);
/* Shaped single line (running heads, labels). 0 on failure (err set). */
int pg_line(pg_builder *b, const ts_span *spans, size_t n, ts_line *out);
/* Draws a line's runs into box coordinates at x (left edge) and y (baseline). */
void pg_draw_line(pg_builder *b, pg_box *bx, const ts_line *ln, double x, double y);
/* Running-head template: {title} {short-title} {author} {series} {number}
 * {page} {pages}; "" when every placeholder in it is empty. Arena. */
const char *pg_template(pg_builder *b, const char *tmpl, int page, int pages);
/* Upper-cased copy (ICU, full case mapping), arena. */
const char *pg_upper(pg_builder *b, const char *s, size_t *len);
void pg_fail(pg_builder *b, ts_status st);

/* ts_page_layout with its internals kept for tests: the builder (galley,
 * notes) and the frames of the body galley (frame pages count from page0). */
typedef struct pg_debug {
  pg_builder *b;
  pg_break_result res;
  int page0;
  ts_arena *galley;     /* returns owned (free with ts_arena_destroy, after
                           the last look at b's boxes, lists and res) */
} pg_debug;
ts_status pg_layout(ts_ctx *ctx, const ts_doc *doc, const ts_layout_opts *o, ts_diag *d,
                    ts_layout *out, pg_debug *dbg);

/* Image size from the file header (PNG IHDR + pHYs, JPEG SOFn + JFIF
 * density).  Returns 0 and the natural size in pt, or -1 (*why says why). */
int pg_image_size(const char *path, double *w_pt, double *h_pt, const char **why);

/* The words of doc's paragraphs shaped and hyphenated ahead on a thread of
 * their own (page_prewarm.c), while the document is laid out; NULL when the
 * context allows one thread (or on failure: then nothing runs).  Only the
 * caches change, never an output.  Stop (and free) with pg_prewarm_stop
 * before the document, style or context goes. */
typedef struct pg_prewarm pg_prewarm;
pg_prewarm *pg_prewarm_start(ts_ctx *ctx, const ts_doc *doc, const ts_style *st,
                             const char *lang);
void pg_prewarm_stop(pg_prewarm *w); /* NULL: nothing */
/* For tests: waits until the thread has gone through the document (or its
 * paragraph budget), then frees w. */
void pg_prewarm_finish(pg_prewarm *w);

#endif
