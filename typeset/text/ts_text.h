/* ts_text.h — the text engine: a paragraph of styled spans is itemized (bidi
 * levels with ICU ubidi, script with common/inherited characters resolved to
 * their neighbours, font fallback per grapheme cluster), shaped once per run
 * with HarfBuzz, given break opportunities (UAX #14 via ICU's line break
 * iterator), hyphenated (libhyphen with Debian's hyphen-* patterns) and turned
 * into Knuth–Plass items; after line breaking, the chosen lines are built as
 * positioned glyph runs (reordered per line for right-to-left text, reshaped
 * only where a break changes shaping). */
#ifndef TS_TEXT_H
#define TS_TEXT_H

#include "../core/ts_core.h"
#include "../fonts/ts_fonts.h"
#include "../linebreak/ts_linebreak.h"
#include "../style/ts_style.h"

/* ---- Input -------------------------------------------------------------*/
typedef struct ts_span {
  const char *text;     /* UTF-8, borrowed until ts_text_para_destroy */
  size_t len;
  ts_role role;
  int bold, italic, smallcaps;
  double size;          /* pt */
  uint32_t color;
  int script_pos;       /* 0 normal, 1 superscript (footnote marks), -1 subscript */
  int strike;
  int no_hyphen;        /* code, URLs */
  int no_break;         /* keep the span's text on one line where possible */
  const char *link;     /* URL or "#id" for link annotations (borrowed) */
  int note;             /* footnote number when the span is a footnote mark */
  uint32_t line, col;   /* source position (for reports) */
  int model_text;       /* 1: text is the document model's own bytes (a text
                           node's, a code block line's), not a copy or the
                           builder's: its runs record where they begin (ts_run.src) */
  const char *lang;     /* BCP 47 of a passage that gives its own ([text]{lang=de}),
                           borrowed; NULL: the paragraph's.  Its words are
                           hyphenated with that language's patterns */
} ts_span;

/* A set of code points (arena), used to report each character that no font
 * covers once per document: create one per document and pass it to every
 * paragraph through ts_para_opts.reported.  (Chosen over a set keyed by the
 * ts_diag in the shared context, which would outlive the document and could
 * match a later diag at the same address.)  Not thread-safe: one document is
 * set by one thread. */
typedef struct ts_cp_set ts_cp_set;
ts_cp_set *ts_cp_set_create(ts_arena *arena); /* arena; NULL on OOM */
/* Adds cp; returns 1 if it was new, 0 if present (or on OOM). */
int ts_cp_set_add(ts_cp_set *s, uint32_t cp);

typedef struct ts_para_opts {
  const ts_style *style;  /* fonts, features, break params, hyphenation */
  const char *lang;       /* BCP 47, e.g. "en", "ru" */
  int lang_own;           /* 1: lang is the paragraph's own (a fenced div's): it wins over
                             style->hyphen_lang */
  int base_rtl;           /* -1 auto (first strong character), 0 LTR, 1 RTL */
  ts_lb_mode mode;
  double indent;          /* first-line indent, pt */
  int hyphenate;          /* 1: patterns of style->hyphen_lang (else lang) and
                             style->hyphen_exceptions; soft hyphens always */
  const char *file;       /* for diagnostics */
  double hang_last_line;  /* reserved */
  int free_hyphen_lines;  /* 1: no limit on consecutive hyphenated lines (the
                             style's hyphenation.max-lines): a narrow table
                             cell's compound must break on every line */
  int protrusion;         /* 1: margin kerning in justified lines (see
                             ts_line.protrude_l); off by default because the
                             material then leaves [0, width] by design */
  ts_cp_set *reported;    /* optional per-document "already reported" set of
                             uncovered code points (borrowed); NULL = report
                             once per paragraph */
  struct ts_fontsets *fontsets; /* optional per-document memo of the font sets
                             the paragraphs look up (borrowed; one thread at a
                             time); NULL = looked up for each paragraph */
} ts_para_opts;

/* The font sets a document's paragraphs look up (by style, role, weight
 * and slope), kept between paragraphs: owned by the caller, who creates it
 * for a document and frees it when done.  NULL on OOM. */
typedef struct ts_fontsets ts_fontsets;
ts_fontsets *ts_fontsets_create(void);
void ts_fontsets_destroy(ts_fontsets *f); /* accepts NULL */

/* ---- Output ------------------------------------------------------------*/
/* One glyph placed relative to its run's origin (pt, y up), in the run's
 * text space: on the page it is at run.x + hscale * x (font expansion). */
typedef struct ts_glyph {
  float x;           /* glyph origin relative to the run origin (its y offset,
                      * rare, is in the run's ys); the advance is the font's
                      * (ts_face_advance x size/upem): 12 bytes a glyph, the
                      * bulk of a long book's memory */
  uint32_t cluster;  /* byte offset into the run's text where its cluster starts */
  uint16_t gid;      /* OpenType glyph ids are 16-bit */
} ts_glyph;

/* A run: glyphs of one face, size and colour, in visual (left-to-right)
 * order.  text[cluster..] gives each glyph's source text; for ToUnicode a
 * glyph's text is the cluster's text, shared by the glyphs of the cluster. */
typedef struct ts_run {
  const ts_face *face;
  float size;
  uint32_t color;
  float x;           /* origin relative to the line's left edge, pt */
  float dy;          /* baseline shift (superscripts), pt */
  float width;       /* advance width of the run as placed, pt (page space) */
  float hscale;      /* horizontal scale of the run's glyphs and of their x (font
                      * expansion of a justified line, e.g. 1.012); 0 or 1: none */
  const ts_glyph *glyphs;
  const float *ys;   /* y offset of each glyph (pt, up), or NULL: all 0 */
  uint32_t n;
  const char *text;  /* UTF-8 of the run's clusters (arena) */
  uint32_t text_len;
  uint8_t rtl;       /* 1: clusters decrease left to right */
  uint8_t strike;
  const char *link;  /* borrowed from the span */
  int note;          /* footnote number if this run is a footnote mark */
  uint32_t line, col;/* source position of the run's start */
  const char *src;   /* borrowed: where the run's first character in logical
                      * order is in the model's text (a pointer finds node and
                      * offset: the EPUB's print page numbers); NULL unless
                      * the span's text is the model's (ts_span.model_text) */
} ts_run;

typedef struct ts_line {
  ts_run *runs;
  uint32_t n;
  float width;       /* the measure the line was set to */
  float natural;     /* natural width of its material */
  float ascent, descent; /* max over runs, pt (descent positive) */
  float ratio;       /* adjustment ratio */
  /* Margin kerning (pdfTeX's protrusion) of justified left-to-right lines:
   * punctuation and hyphens at a line's end hang this far past the measure,
   * opening quotes at its start this far before 0 (pt), so the edges look
   * straight.  The line's other material still fills exactly the measure. */
  float protrude_l, protrude_r;
  uint8_t hyphenated, overfull, last;
  uint32_t src_line;
  int *notes;        /* footnote numbers whose marks are on this line */
  uint32_t n_notes;
} ts_line;

typedef struct ts_para ts_para;

/* Shapes spans into a paragraph ready for breaking: returns owned (free
 * with ts_text_para_destroy once it is no longer broken).  The lines built
 * from it later come from `arena` (the document's) and outlive it; the
 * paragraph's own break data (text, shaped runs, items) goes with it.  On
 * failure *out is NULL and nothing is held.  Characters no font covers are
 * drawn as .notdef and reported to d once per document (code point +
 * source line). */
ts_status ts_text_para_create(ts_ctx *ctx, ts_arena *arena, const ts_span *spans,
                              size_t n, const ts_para_opts *o, ts_diag *d,
                              ts_para **out);

/* Frees the paragraph and its break data; the lines already built (arena)
 * stay valid.  Accepts NULL.  The spans (array and text) must stay valid
 * until the paragraph's last lines are built. */
void ts_text_para_destroy(ts_para *p);

/* Breaks the paragraph for the given line widths and builds the lines
 * (arena).  `width(user, i)` gives line i's measure.  trace: optional
 * --dump lines text. */
ts_status ts_text_para_lines(ts_para *p, ts_lb_width_fn width, void *user,
                             ts_line **lines, size_t *n_lines, ts_buf *trace);

/* Breaks the paragraph as ts_text_para_lines does and gives only the number
 * of lines: nothing is built or allocated in the arena and nothing is
 * reported (for trial measures, e.g. table columns). */
ts_status ts_text_para_count_lines(ts_para *p, ts_lb_width_fn width, void *user,
                                   size_t *n_lines);

/* A single unbroken line of spans (running heads, table cells that fit,
 * masthead): natural width, no breaking. */
ts_status ts_text_line(ts_ctx *ctx, ts_arena *arena, const ts_span *spans,
                       size_t n, const ts_para_opts *o, ts_diag *d,
                       ts_line *out);

/* Counters for benchmarks. */
typedef struct ts_text_stats {
  uint64_t glyphs_shaped, paragraphs, lines, reshapes;
} ts_text_stats;
void ts_text_stats_get(ts_ctx *ctx, ts_text_stats *out);
/* Empties the context's shaped-word cache and its memos of hyphenated
 * words and gives their memory back (benchmarks time the engine with a cold
 * cache; a single document frees them before writing its PDF); outputs
 * never depend on them.  Safe while other threads set text: each table is
 * emptied under its lock. */
void ts_text_cache_clear(ts_ctx *ctx);
/* Starts loading the hyphenation patterns for lang (NULL: "en") on a
 * thread of its own, once per context, so that they are ready when the
 * first paragraph is hyphenated (which otherwise loads them itself). */
void ts_text_prefetch(ts_ctx *ctx, const char *lang);

/* The language whose patterns hyphenate a word in a passage that gives its
 * own language (ts_span.lang: span_lang, NULL for none), in a paragraph of
 * language lang hyphenated with hyph_lang's patterns (the style's
 * hyphenation language, else lang): span_lang when its primary subtag
 * differs from both lang's and hyph_lang's (case aside), else hyph_lang —
 * `[x]{lang=en}` in an en-GB paper keeps the paper's patterns and
 * exceptions.  Returns one of its arguments. */
const char *ts_hy_span_lang(const char *lang, const char *hyph_lang, const char *span_lang);

/* Hyphenation: positions (byte offsets into word) where word[0..len) may be
 * broken, per the language's patterns and min fragment lengths.  Returns the
 * count written to pos (at most max).  lang "en" maps to en_US. */
size_t ts_hyphenate(ts_ctx *ctx, const char *lang, const char *word, size_t len,
                    int leftmin, int rightmin, size_t *pos, size_t max);

#endif
