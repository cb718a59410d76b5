/* epub_int.h — private to typeset/epub: the build state shared by the
 * content renderer (epub.c), the package writer (package.c) and the font
 * subsetter (fonts.c).  Not part of the stage's interface (ts_epub.h). */
#ifndef TS_EPUB_INT_H
#define TS_EPUB_INT_H

#include "ts_epub.h"

#include "fonts/hb_api.h"
#include <unicode/uscript.h>

/* Open-addressing map from a key (a NUL-terminated string, or a pointer
 * compared by identity) to an int.  Arrays live in the build's arena. */
typedef struct emap {
  const void **keys;
  int *vals;
  size_t cap, n;
  int strkeys;
} emap;

/* One generated file of the EPUB (path inside OEBPS/). */
typedef struct efile {
  const char *name;      /* "chapter-2.xhtml" (arena) */
  const char *id;        /* manifest id (arena) */
  const char *title;     /* <title> text (arena, UTF-8) */
  ts_node *first, *end;  /* chapters: top-level blocks [first, end) */
  char *data;            /* rendered bytes: owned (free()) */
  size_t len;
} efile;

/* One heading of the body (in document order). */
typedef struct ehead {
  const ts_node *node;
  const char *id;        /* emitted id (ASCII, unique in the book; arena) */
  const char *num;       /* "1.2" when the style numbers this level, else NULL */
  const char *text;      /* plain text for nav/ncx (arena) */
  int level, file, top;  /* top: child of the document root */
  uint32_t seq;          /* when written, counted with the page markers (epub.seq) */
} ehead;

/* One image copied into the EPUB. */
typedef struct eimage {
  const char *real;      /* resolved path (arena) */
  const char *name;      /* "images/fig.png" (arena) */
  const char *media;     /* media type */
  const unsigned char *data; /* bytes's */
  size_t len;
  ts_blob *bytes;        /* a reference: holds data */
  int cover;             /* properties="cover-image" */
  int generated;         /* the generated cover (cover.c): stored in the ZIP as it is */
} eimage;

/* One embedded font (subset). */
typedef struct efont {
  const char *name;      /* "fonts/body-regular.otf" (arena) */
  const char *media;     /* font/otf or font/ttf */
  const char *family;    /* CSS family name (arena) */
  int weight, italic;
  ts_blob *z;            /* a reference (ts_blob_unref): the entry's bytes as
                            they go into the ZIP, deflated when `deflated` */
  size_t len;            /* the subset's size */
  uint32_t crc;          /* CRC-32 of the subset */
  int deflated;
} efont;

/* One entry of the ZIP container (zip.c); everything borrowed. */
typedef struct ezent {
  const char *name;      /* path in the archive */
  const void *data;      /* the bytes (stored, or deflated at `level`) */
  size_t len;
  int level;             /* libdeflate level 1..12; 0 stores; EPUB_ZIP_PROBE:
                            deflated only when its start compresses well */
  const void *comp;      /* when not NULL: data already deflated (raw
                            DEFLATE of len bytes with CRC-32 crc); data is
                            then not read */
  size_t comp_len;
  uint32_t crc;
} ezent;

/* A page of the print edition. */
typedef struct epage {
  int number;            /* its folio */
  int anchored;          /* its body text begins in the model's text (epage_at) */
  int reached;           /* the writer has passed that place */
  int file;              /* the file its marker went into (-1: none yet) */
  uint32_t seq;          /* when written, counted with the headings (epub.seq) */
} epage;
typedef struct epage_at {
  uintptr_t at;          /* address in the model's text (compared, never read) */
  size_t page;           /* index into epub.pages */
} epage_at;

typedef struct epub {
  ts_ctx *ctx;
  const ts_doc *doc;
  const ts_style *style;
  ts_diag *d;            /* the caller's, or own_diag when it passed NULL */
  ts_diag own_diag;
  ts_arena *a;           /* owned: everything of this build */
  const char *lang;      /* validated BCP 47 tag */
  int rtl;               /* the language is written right to left */
  const char *title;     /* the book's title (never NULL) */

  efile *files;          /* [0] cover, [1] title page, [2..] chapters */
  size_t n_files, first_chapter;
  ehead *heads;
  size_t n_heads;
  emap head_by_id;       /* original id -> heads index */
  emap head_by_node;     /* node -> heads index */
  emap used_ids;         /* emitted ids */

  eimage *images;
  size_t n_images;
  emap image_by_url;     /* url as written -> images index (-1: not embeddable) */
  emap image_by_real;
  emap image_names;      /* names given so far (lowercase) */
  int n_img_refs, n_img_alt; /* image references / those with alt text */
  int cover_image;       /* index into images or -1 */

  efont *fonts;
  size_t n_fonts;
  int used_italic, used_bold, used_mono; /* styles that occur in the text */

  ts_cpset cps;          /* owned: code points of all text emitted */
  char *css; size_t css_len;       /* owned */
  char *opf; size_t opf_len;       /* owned */
  char *nav; size_t nav_len;       /* owned */
  char *ncx; size_t ncx_len;       /* owned */
  const char *identifier;          /* dc:identifier (arena) */
  int64_t modified;                /* seconds since the epoch */

  /* the print edition's pages (style epub.page-list, the layout given):
   * a page-break marker where each begins, in page order */
  epage *pages;          /* arena: one per page of the PDF (n_pages) */
  size_t n_pages;
  epage_at *pg_at;       /* arena: the pages' anchors, by address */
  size_t n_pg_at;
  size_t pg_next;        /* the next page whose marker is due */
  size_t cur_file;       /* the file being rendered */
  uint32_t seq;          /* headings and page markers written so far: their
                          * reading order, for the NCX's playOrder */
} epub;

/* ---- helpers shared between files (epub.c) ---- */
int emap_get(const emap *m, const void *key, int *val);
ts_status emap_put(ts_arena *a, emap *m, const void *key, int val);
/* Escapes text into b and records its code points for font subsetting. */
void epub_text(epub *E, ts_buf *b, const char *s, size_t n);
/* Localized label: "contents", "notes", "abstract", "keywords", "cover",
 * "titlepage", "landmarks", "start". */
const char *epub_label(const epub *E, const char *key);

/* The XML declaration, doctype, <html> with lang (and dir), <head> with
 * title and style sheet, and <body> (with class when not NULL). */
void epub_xhtml_head(const epub *E, ts_buf *b, const char *title, const char *body_class);
/* Formats E->modified as CCYY-MM-DDThh:mm:ssZ (out: at least 32 bytes). */
void epub_format_modified(const epub *E, char *out, size_t n);
/* dc:date when meta.date is a valid ISO 8601 date (arena), else NULL. */
const char *epub_dc_date(const epub *E);

/* ---- package.c ---- */
ts_status epub_write_css(epub *E);
ts_status epub_write_nav(epub *E);
ts_status epub_write_ncx(epub *E);
ts_status epub_write_opf(epub *E);

/* ---- zip.c ---- */
/* The level every deflated entry gets (see the figures in epub.c). */
#define EPUB_ZIP_LEVEL 6
#define EPUB_ZIP_PROBE (-1)
/* The level of an EPUB_ZIP_PROBE entry deflated: 1, the text's level, so
 * that one compressor serves both — a second one's tables cost ~50 page
 * faults, more than the sample chart's 41 bytes that level 6 saves. */
#define EPUB_ZIP_PROBE_LEVEL 1
/* Writes the container: entries in the given order, then the central
 * directory, into the file fd (from its start; the caller owns it) or, when
 * fd < 0, into *out (owned, free()).  TS_ERR_LIMIT past ZIP's 32-bit sizes
 * or 65,535 entries; TS_ERR_IO with errno when a write to fd failed. */
ts_status epub_zip_build(const ezent *ents, size_t n, uint16_t dos_time, uint16_t dos_date,
                         int fd, unsigned char **out, size_t *out_len);
/* Opens libzip (once per process; later calls only answer): 1 when it is
 * usable, else 0 and these name the library and say why. */
int epub_zip_open(void);
/* The scripts lang is written in (package.c): at most cap codes in out, the
 * count returned (0: unknown).  use_table 0 asks ICU alone (tests). */
int epub_lang_scripts(const char *lang, UScriptCode *out, int cap, int use_table);
const char *epub_zip_library(void);
const char *epub_zip_error(void);
/* CRC-32 of data and, when level > 0 and it is smaller, its raw DEFLATE:
 * *comp returns owned (free()) or NULL (store the bytes). */
ts_status epub_deflate(const void *data, size_t len, int level, unsigned char **comp,
                       size_t *comp_len, uint32_t *crc);

/* ---- cover.c ---- */
/* The generated cover image's size: 2:3, as large as the stores ask for. */
#define EPUB_COVER_W 1600
#define EPUB_COVER_H 2400
/* Draws the generated cover (masthead, title, subtitle, authors, publisher
 * and year) in the style's faces and colours as a PNG of EPUB_COVER_W x
 * EPUB_COVER_H pixels: *png returns a reference (ts_blob_unref), or NULL
 * when the style's roles have no face at all (the XHTML cover then stays
 * text).  Kept in the cache folder (ts_dcache "coverin", keyed by the
 * layout's inputs, or "cover", keyed by every glyph drawn) and read back as
 * a mapping of its file. */
ts_status epub_cover_png(epub *E, ts_blob **png);

/* ---- epub.c ---- */
/* The style's masthead template filled in with the series (plain text
 * appended to b; nothing when the document names no series). */
void epub_masthead_text(const epub *E, ts_buf *b);

/* ---- fonts.c ---- */
/* Finds the style's faces and subsets them to E->cps; fills E->fonts.  A
 * face that cannot be found or subset is skipped with a warning (the book
 * then falls back to the reader's fonts). */
ts_status epub_embed_fonts(epub *E);

/* The series-wide subset cache (context slot TS_SLOT_EPUB), for tests:
 * counts of lookups answered from the cache and of subsets made, and the
 * compressed bytes held. */
void epub_font_cache_stats(ts_ctx *ctx, uint64_t *hits, uint64_t *misses, size_t *bytes);

#endif
