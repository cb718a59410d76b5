/* ts_page.h — the page builder: the document model and style laid out into
 * pages (title block with series masthead, headings, paragraphs from the text
 * engine, lists, quotes, code, tables, figures, footnotes at the foot of the
 * page their mark is on, running heads and folios), producing a display list
 * that the PDF writer draws without further decisions. */
#ifndef TS_PAGE_H
#define TS_PAGE_H

#include "../core/ts_core.h"
#include "../doc/ts_doc.h"
#include "../style/ts_style.h"
#include "../text/ts_text.h"

typedef enum ts_draw_kind {
  TS_DRAW_GLYPHS = 0, /* run drawn with its origin (baseline start) at x,y */
  TS_DRAW_RULE,       /* line from (x,y) to (x+w,y+h), width lw, colour */
  TS_DRAW_RECT,       /* filled rectangle x,y,w,h */
  TS_DRAW_IMAGE,      /* image file scaled into x,y,w,h */
  TS_DRAW_LINK,       /* clickable rect x,y,w,h → uri or dest */
  TS_DRAW_DEST        /* named destination at (x, y) (top of the target) */
} ts_draw_kind;

/* Conventions of the display list (the PDF writer draws it as is):
 *  - GLYPHS: x, y is the run's origin with the run's own offsets already
 *    applied (x includes run->x, y includes run->dy for superscripts); the
 *    writer must not add them again.  Strike-through is not a property the
 *    writer draws: the page builder emits it as a RULE.
 *  - RULE: a stroked line, LINK/RECT/IMAGE: x,y is the lower-left corner.
 *  - DEST names: heading ids (as in the model), "fn-N" at note N's first
 *    line, "fnref-N" at its mark; LINK dest names carry no '#'.
 *  - Items come in drawing order (rectangles before the text over them).
 * Everything (pages, items, runs) lives in the document's arena. */
typedef struct ts_draw {
  uint8_t kind;
  uint32_t color;
  double x, y, w, h;   /* pt; PDF coordinates (origin bottom-left) */
  double lw;           /* RULE line width */
  /* by kind (64 bytes a draw instead of 96: a book has ~100,000): read only
   * the members of the draw's kind */
  union {
    const ts_run *run;   /* GLYPHS (arena) */
    struct {
      const char *image; /* IMAGE: resolved absolute path */
      const char *alt;   /* IMAGE: alt text */
    };
    struct {
      const char *uri;   /* LINK: external URI (or NULL) */
      const char *dest;  /* LINK: internal destination name; DEST: its name */
    };
  };
} ts_draw;

typedef struct ts_page {
  double w, h;
  int number;          /* folio (1-based) */
  const char *src;     /* borrowed: where the page's first line of body text
                        * begins in the model's text (ts_run.src of the first
                        * body line's first run; not a repeated table header),
                        * NULL when the page has none: the EPUB's print page
                        * numbers are placed there */
  ts_draw *items;      /* arena */
  size_t n, cap;
} ts_page;

typedef struct ts_outline_entry {
  const char *title;   /* UTF-8 */
  int level;           /* 1..6 */
  const char *dest;    /* destination name */
} ts_outline_entry;

typedef struct ts_layout {
  ts_page *pages;      /* arena */
  size_t n_pages;
  ts_outline_entry *outline;
  size_t n_outline;
  /* statistics for tests and benches */
  size_t n_lines, n_overfull, n_notes_split;
} ts_layout;

typedef struct ts_layout_opts {
  const ts_style *style;
  ts_buf *trace_lines;  /* optional --dump lines */
} ts_layout_opts;

/* Lays out doc; everything in doc->arena (the model is not modified, but
 * its arena is used for the layout: the doc pointer is const for the tree
 * only).  Images are resolved inside the
 * document's folder (ts_path_resolve_inside); a missing or unreadable image
 * is a located error (TS_ERR_INPUT). */
ts_status ts_page_layout(ts_ctx *ctx, const ts_doc *doc, const ts_layout_opts *o,
                         ts_diag *d, ts_layout *out);

/* --dump pages: one line per box with page, kind, position and text. */
void ts_page_dump(const ts_layout *l, ts_buf *out);

#endif
