/* ts_pdf.h — the PDF writer: draws a ts_layout with libharu.  Text is drawn
 * glyph-exact from shaped runs through Type 0 / Identity-H fonts built with
 * libharu's object API, subset with harfbuzz-subset, with /W widths and a
 * ToUnicode CMap (see shared notes/pdf-glyphs.md).  Deterministic: subset tags
 * and the trailer /ID come from content hashes, dates from SOURCE_DATE_EPOCH
 * or the metadata.  Written to a temporary file, renamed on success. */
#ifndef TS_PDF_H
#define TS_PDF_H

#include "../doc/ts_doc.h"
#include "../page/ts_page.h"

/* Draws every page of layout (borrowed; its runs' faces must outlive the
 * call) and writes path atomically: nothing is written unless the whole
 * document succeeded.  doc (borrowed, may be NULL) gives the metadata
 * (Info, XMP, /Lang) and source positions for image errors; style is not
 * needed (the layout carries every decision).  Errors, reported to d:
 * TS_ERR_INPUT for an image that is missing, not PNG/JPEG, undecodable or
 * larger than 20000 x 20000 pixels (FILE:LINE:COL of its figure), a page
 * size outside 3..14400 pt or a layout without pages; TS_ERR_FONT when a
 * face cannot be subset; TS_ERR_NOMEM; TS_ERR_IO when the file cannot be
 * written; TS_ERR_INTERNAL for a libharu failure (its error code is in the
 * message).  A link to an unknown destination is a warning.  Thread-safe:
 * documents may be written concurrently with one ctx and shared faces. */
/* Opens libharu now (once a process; it is otherwise opened by the first
 * PDF written), for a thread that prepares a run ahead of need. */
void ts_pdf_prefetch(void);

ts_status ts_pdf_write(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                       const ts_layout *layout, const char *path, ts_diag *d);

/* Same into memory (fuzzing, tests): *data is owned (free with free()). */
ts_status ts_pdf_write_mem(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                           const ts_layout *layout, unsigned char **data,
                           size_t *len, ts_diag *d);

#endif
