/* ts_style.h — style sheets: page geometry, fonts by role, sizes, paragraph
 * and heading styles, line-breaking parameters, running heads, title block,
 * footnotes, colours.  Loaded from YAML (styles/NAME.yaml) with libyaml; a
 * default style is compiled into the binary.  All lengths are in PostScript
 * points (1/72 in); YAML values may carry units: pt, mm, cm, in, pc, em (em
 * relative to the body size).  Colours are 0xRRGGBB.
 *
 * YAML schema (styles/default.yaml sets every key and is the full reference;
 * it is also the compiled-in default, embedded at build time):
 *   base: NAME | path.yaml          start from another style (chain <= 8)
 *   page: {size: A4|A3|A5|A6|B5|Letter|Legal|Royal|Demy|Crown|6x9in|5.5x8.5in,
 *          width:, height:, orientation: portrait|landscape,
 *          margins: {inner:, outer:, top:, bottom:}, mirror:, columns: 1|2,
 *          column-gap:, baseline-grid:}
 *   fonts: {body|heading|mono: {families: [..] | "One", features: "onum"}}
 *   body: BLOCK + paragraph-skip:     quote: code: list: table: caption: BLOCK
 *   headings: {h1..h6: BLOCK + numbered:, keep-with-next:, page-break-before:}
 *   hyphenation: {enabled:, lang:, exceptions: [ta-ble], left-min:,
 *                 right-min:, max-lines:}
 *   linebreak: {pretolerance:, tolerance:, emergencystretch:, linepenalty:,
 *               hyphenpenalty:, exhyphenpenalty:, adjdemerits:,
 *               doublehyphendemerits:, finalhyphendemerits:, looseness:,
 *               clubpenalty:, widowpenalty:, brokenpenalty:, expansion:}
 *   widows:  orphans:  toc:
 *   running: {header-recto:, header-verso:, footer-recto:, footer-verso:,
 *             first-page:, rule:, header: BLOCK, footer: BLOCK}
 *   title-block: {enabled:, masthead:, accent:, masthead-style: BLOCK,
 *                 title: subtitle: author: affiliation: abstract: keywords: BLOCK}
 *   footnotes: BLOCK + rule-width:, rule-weight:, skip:, epub: footnotes|endnotes
 *   colors: {text:, link:, rule:}
 *   BLOCK = {size:, leading:, font: body|heading|mono, bold:, italic:,
 *            small-caps:, uppercase:, space-before:, space-after:, indent:,
 *            align: justify|left|right|center, color:}
 * `em` anywhere means the body size the style ends with (after its bases and
 * its own body.size), except in body.size itself, where it is relative to
 * the base's body size; lengths are resolved to pt at load time.
 * YAML aliases are refused; nesting, size and node count are bounded. */
#ifndef TS_STYLE_H
#define TS_STYLE_H

#include "../core/ts_core.h"

#define TS_STYLE_MAX_FAMILIES 8

typedef enum ts_role { TS_ROLE_BODY = 0, TS_ROLE_HEADING, TS_ROLE_MONO, TS_ROLE_COUNT } ts_role;
typedef enum ts_align { TS_JUSTIFY = 0, TS_RAGGED_RIGHT, TS_CENTER, TS_RAGGED_LEFT } ts_align;

/* A font role: families in fallback order plus OpenType features
 * ("onum,smcp=0,kern" — HarfBuzz feature-string syntax, comma-separated). */
typedef struct ts_font_role {
  const char *families[TS_STYLE_MAX_FAMILIES];
  int n_families;
  const char *features; /* NULL = none beyond the defaults kern, liga */
} ts_font_role;

/* TeX's line-breaking parameters, with TeX's names and plain TeX defaults
 * (The TeXbook ch. 14, TeX: The Program §§813–890). */
typedef struct ts_break_params {
  double pretolerance;        /* 100 */
  double tolerance;           /* 200 */
  double emergencystretch;    /* pt; 0 in plain TeX, default here 1.5em */
  double linepenalty;         /* 10 */
  double hyphenpenalty;       /* 50 */
  double exhyphenpenalty;     /* 50 */
  double adjdemerits;         /* 10000 */
  double doublehyphendemerits;/* 10000 */
  double finalhyphendemerits; /* 5000 */
  int looseness;              /* 0 */
  int max_hyphen_lines;       /* consecutive hyphenated lines allowed: 2 */
  int lefthyphenmin;          /* 2 */
  int righthyphenmin;         /* 3 */
  double clubpenalty, widowpenalty, brokenpenalty; /* 150 150 100; >= 10000 forbids */
  double expansion;           /* font expansion of justified lines, thousandths of a glyph's
                               * width each way (pdfTeX's \pdfadjustspacing with a font's
                               * stretch = shrink = this); 0 off, 20 = +-2 % */
} ts_break_params;

/* A block style (body paragraphs, headings, title block elements, notes). */
typedef struct ts_block_style {
  ts_role role;
  int bold, italic, smallcaps, uppercase;
  double size;          /* pt */
  double leading;       /* baseline-to-baseline, pt */
  double space_before;  /* pt */
  double space_after;   /* pt */
  double indent;        /* first-line indent, pt */
  ts_align align;
  uint32_t color;
} ts_block_style;

typedef struct ts_heading_style {
  ts_block_style b;
  int numbered;         /* "1.2 Title" numbering */
  int keep_with_next;   /* lines of the next block kept with the heading (default 2) */
  int page_break_before;/* books: chapters start on a new page */
} ts_heading_style;

typedef struct ts_style {
  const char *name;     /* "default", "paper", "book", or the file name */
  const char *path;     /* file it was loaded from, NULL for built-in */
  const char *dir;      /* folder of the style file (fonts/images may resolve there) */

  /* page */
  const char *page_name;/* "A4", ... or NULL when given as width x height */
  double page_w, page_h;
  double margin_inner, margin_outer, margin_top, margin_bottom;
  int mirror;           /* inner/outer alternate on verso/recto */
  int columns;          /* 1 or 2 */
  double column_gap;
  int baseline_grid;    /* snap body lines to the body leading */

  /* fonts */
  ts_font_role fonts[TS_ROLE_COUNT];

  /* text */
  ts_block_style body;      /* body paragraphs; indent applies from the 2nd paragraph */
  double par_skip;          /* extra space between paragraphs (0 with indent) */
  ts_block_style quote;     /* block quotes (indent = left/right inset) */
  ts_block_style code;      /* code blocks */
  ts_block_style list;      /* list items; indent = hanging indent per level */
  ts_block_style table;     /* table cells */
  ts_block_style caption;   /* figure captions */
  ts_heading_style h[6];
  int hyphenate;            /* 1 = hyphenate body text */
  const char *hyphen_lang;  /* NULL = document language */
  const char **hyphen_exceptions; /* words with '-' at allowed breaks ("ta-ble") */
  size_t n_hyphen_exceptions;
  ts_break_params brk;
  int widows, orphans;      /* minimum lines left at page top/bottom (2, 2) */

  /* running heads and folios (templates with {title} {short-title} {author}
   * {series} {number} {page} {pages}); verso = even pages */
  const char *header_recto, *header_verso;
  const char *footer_recto, *footer_verso;
  ts_block_style header, footer;
  int running_on_first;     /* 0 = omit running head/foot on page 1 */
  double header_rule;       /* rule under the header, line width (0 = none) */

  /* first page: title block with series masthead */
  int title_block;          /* 1 = set the title block on page 1 */
  const char *masthead;     /* masthead template, e.g. "{series} № {number}" */
  ts_block_style masthead_style, title, subtitle, author, affiliation, abstract, keywords;
  uint32_t accent;          /* masthead band / rules colour */
  int epub_cover;           /* EPUB: draw a cover image when the metadata names none */
  int toc;                  /* printed table of contents (books) */

  /* footnotes */
  ts_block_style footnote;
  double footnote_rule_width;  /* length of the separator rule, pt */
  double footnote_rule_weight; /* its line width, pt */
  double footnote_skip;        /* space above the rule */
  int epub_endnotes;           /* EPUB: 1 = endnotes per chapter, 0 = footnotes */

  /* EPUB: the print edition's page numbers (a page-list in the navigation,
   * page-break markers where the PDF's pages begin): the layout runs for the
   * EPUB too, and the EPUB waits for it */
  int epub_page_list;

  uint32_t text_color, link_color, rule_color;
} ts_style;

/* The compiled-in default style: returns owned (free with ts_style_destroy). */
ts_style *ts_style_default(void);

/* (The built-in default's YAML tree is parsed once per process and shared
 * by every load; thread-safe.) */

/* 1 when s names a style file rather than a style: it contains '/' or ends
 * in .yaml/.yml. */
int ts_style_is_path(const char *s);

/* Loads `name_or_path`: a path (contains '/' or ends in .yaml/.yml) or a
 * name looked up as DATA_DIR/styles/NAME.yaml.  Keys absent from the file
 * keep the default style's values (a style may say `base: paper` to start
 * from another named style).  Unknown keys: warning with their line; invalid
 * values: error with their line (then TS_ERR_INPUT).  On success *out is
 * owned (free with ts_style_destroy). */
ts_status ts_style_load(ts_ctx *ctx, const char *name_or_path, ts_diag *d,
                        ts_style **out);
/* Same from a YAML text already in memory (file is used for messages). */
ts_status ts_style_load_string(ts_ctx *ctx, const char *yaml, size_t len,
                               const char *file, ts_diag *d, ts_style **out);
void ts_style_destroy(ts_style *s); /* accepts NULL */

/* Parses a length ("12pt", "2cm", "1.5em", "10") relative to em; returns 0
 * on success. */
int ts_style_parse_length(const char *s, double em, double *out);

/* Stable text dump of every resolved field (tests). */
void ts_style_dump(const ts_style *s, ts_buf *out);

#endif
