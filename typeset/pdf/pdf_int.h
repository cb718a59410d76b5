/* pdf_int.h — shared between the PDF writer's files (not an interface).
 *
 * libharu is used through its object API (HPDF_SHARED left undefined, so
 * hpdf.h exposes the internal structures): text is never drawn by libharu's
 * text API; each face becomes one Type 0 / Identity-H font dictionary that
 * this module fills in at the end (see shared notes/pdf-glyphs.md). */
#ifndef TS_PDF_INT_H
#define TS_PDF_INT_H

#include "core/ts_core.h"
#include "fonts/ts_fonts.h"
#include "page/ts_page.h"
#include "text/ts_text.h"

#include "pdf/hpdf_api.h"
#include "fonts/hb_api.h"
#include "fonts/hbsubset_api.h"

/* A glyph's Unicode text for ToUnicode: a slice of some run's text (the
 * layout's arena outlives the writer). */
typedef struct pdf_text {
  const char *s;
  uint32_t len;
} pdf_text;

/* What the writer knows of one glyph id of a face, filled as it is asked
 * (dense, so the per-glyph loops index an array instead of hashing). */
typedef struct pdf_glyph {
  uint32_t text1;     /* 1 + index into w->texts from a single-glyph cluster, 0 = none */
  uint32_t fallback1; /* 1 + index from a multi-glyph cluster, 0 = none */
  int32_t w1000;      /* advance in 1/1000 em, when PDF_G_WIDTH */
  char esc[4];        /* the code drawn, as its bytes go into a literal string
                       * (escaped), when PDF_G_CODE */
  uint8_t esc_n;      /* bytes of esc used */
  uint8_t flags;      /* PDF_G_* */
} pdf_glyph;

enum { PDF_G_USED = 1, PDF_G_WIDTH = 2, PDF_G_CODE = 4 };

/* One face used by the document. */
typedef struct pdf_face {
  const ts_face *face;
  HPDF_Dict type0;   /* indirect Type 0 dictionary, filled by pdf_fonts_finish */
  hb_set_t *used;    /* original glyph ids drawn (owned) */
  pdf_glyph *g;      /* per glyph id, max(num_glyphs, 1) entries, zeroed (owned) */
  /* Set by pdf_fonts_subset, before drawing: */
  enum { PF_OOM, PF_FAILED, PF_READY } state; /* of the subset */
  hb_subset_plan_t *plan; /* (owned; NULL when the subset came from disk) */
  hb_face_t *sub;    /* the subset font (owned; NULL likewise) */
  hb_map_t *own_map; /* old2new read from disk (owned) */
  const hb_map_t *old2new; /* original → subset glyph id (plan's or own_map) */
  int remap;         /* codes are subset glyph ids (name-keyed CFF) */
  hb_blob_t *prog;   /* the font program of the subset (owned), made once;
                      * NULL when it came from disk deflated */
  unsigned plen;     /* its length in bytes */
  const unsigned char *prog_z; /* prog deflated (zlib, PDF_DEFLATE_LEVEL) on
                          * the subsetting thread or read from disk, or NULL */
  size_t prog_zn;
  ts_blob *prog_zb;  /* holds prog_z (a reference) */
} pdf_face;

typedef struct pdf_w {
  ts_ctx *ctx;
  const ts_doc *doc;
  const ts_layout *layout;
  ts_diag *d;
  const char *file;      /* for diagnostics */
  HPDF_Doc pdf;
  HPDF_STATUS err, err_detail; /* first error libharu reported */
  int compress;
  pdf_face *faces;       /* heap (free with pdf_fonts_free) */
  size_t n_faces, cap_faces;
  pdf_text *texts;       /* heap */
  size_t n_texts, cap_texts;
  uint32_t *tmp;         /* scratch for cluster boundaries (heap) */
  size_t cap_tmp;
  /* What pdf_fonts_collect learnt of each run for pdf_fonts_show (font.c),
   * keyed by the run's address: open addressing, heap (pdf_fonts_free). */
  struct pdf_runinfo *ri;
  size_t ri_cap, ri_n;
  ts_buf cs;             /* content being built for the current item */
  /* The page's state as its content has set it so far (pdf.c, draw_item):
   * consecutive glyph runs share one text object (BT … ET) and set the fill
   * colour and the font only when they change.  Reset for each page. */
  int in_text;           /* a text object is open */
  int have_fill;         /* fill is the colour set (else none set yet) */
  uint32_t fill;
  const pdf_face *tf;    /* font and size set by Tf (NULL: none yet) */
  double tf_size;
  struct pdf_blob **blobs; /* stream data kept by typeset (heap; pdf_blobs_free) */
  size_t n_blobs, cap_blobs;
  ts_buf out;            /* the finished file, written by libharu (pdf.c) */
  /* The URI action of the last link drawn, shared by that link's
   * annotations (one a line it is set on): the link's uri (borrowed from
   * the layout) and the action, an indirect object of the document. */
  const char *act_uri;
  HPDF_Dict act;
} pdf_w;

/* True when libharu has reported an error (w->err set). */
int pdf_failed(const pdf_w *w);

/* Writes n bytes into a libharu stream. */
ts_status pdf_stream_write(pdf_w *w, HPDF_Stream s, const void *p, size_t n);

/* Font programs are compressed with libdeflate at this level (the figures
 * are in pdf.c; they are made once and kept in the cache folder); page
 * contents and the other streams (ToUnicode maps, metadata) at
 * PDF_CONTENT_LEVEL: over the 50-paper benchmark series level 1 for those
 * took 11 M instructions off (0.7 %) for 181 bytes more in 12 MB. */
#define PDF_DEFLATE_LEVEL 4
/* Page contents are deflated at this level: libdeflate's level 1 has a
 * matchfinder of its own, much faster than 2 to 4.  Measured on the
 * 224-page book (bench/gen_book.py, callgrind, whole run): contents at 4
 * 1.469 G instructions, 1,164,982 B; at 3 1.465 G, 1,169,910 B; at 2 1.460 G,
 * 1,179,840 B; at 1 1.400 G, 1,197,964 B (everything at 1).  Level 1 takes
 * 5 % off the book for 3 % more bytes of text streams; the font programs,
 * made once and kept in the cache folder, stay at PDF_DEFLATE_LEVEL. */
#define PDF_CONTENT_LEVEL 1

/* Writes z[0..n), data already deflated (zlib) at PDF_DEFLATE_LEVEL, as the
 * data of stream dictionary d, marked /FlateDecode and left alone by
 * pdf_deflate_streams: the same bytes that would have made of it.  Copied,
 * unless borrow: then z must stay valid until the document is saved. */
ts_status pdf_stream_put_deflated(pdf_w *w, HPDF_Dict d, const void *z, size_t n, int borrow);
/* Gives stream dictionary d the n bytes at p as its data, kept by typeset
 * and read by libharu with memcpy when it saves (its own streams copy a
 * byte at a time).  own: p is a malloc'd block the writer now owns (freed
 * with it, even on failure); else p is copied, unless borrow is set: then
 * p must stay valid until the document is saved. */
ts_status pdf_stream_set(pdf_w *w, HPDF_Dict d, const void *p, size_t n, int own, int borrow);
/* Frees the blocks pdf_stream_set kept (after HPDF_Free). */
void pdf_blobs_free(pdf_w *w);

/* Compresses every stream libharu would deflate (filter FlateDecode, no
 * write hook, no parameters) with libdeflate at PDF_DEFLATE_LEVEL, replacing
 * its data and writing /Filter /FlateDecode itself; libharu then copies the
 * bytes as they are.  Call once, after the last content is written. */
ts_status pdf_deflate_streams(pdf_w *w);

/* Finds or creates the document's font for face: borrowed (w owns it). */
ts_status pdf_face_get(pdf_w *w, const ts_face *face, pdf_face **out);

/* Pass over every run before drawing: records each glyph's text. */
ts_status pdf_fonts_collect(pdf_w *w, const ts_run *run);

/* After collecting, before drawing: subsets every used face (the codes of
 * name-keyed CFF faces are their subset glyph ids). */
ts_status pdf_fonts_subset(pdf_w *w);

/* Appends a run's text operators (between BT and ET, font already set) to
 * w->cs: TJ arrays with adjustments, Ts for y offsets, ActualText spans. */
ts_status pdf_fonts_show(pdf_w *w, pdf_face *pf, const ts_run *run);

/* Embeds every used face, filling the Type 0 dictionaries. */
ts_status pdf_fonts_finish(pdf_w *w);

void pdf_fonts_free(pdf_w *w);

/* Glyph width in 1/1000 em, as written in /W (and used for TJ). */
int pdf_glyph_w1000(const ts_face *f, uint32_t gid);

/* Appends UTF-16BE of UTF-8 s[0..n) to b as raw bytes (at most max_units
 * code units, never splitting a surrogate pair). */
void pdf_utf16be(ts_buf *b, const char *s, size_t n, size_t max_units);

#endif
