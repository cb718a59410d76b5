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

ts_status ts_pdf_write(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                       const ts_layout *layout, const char *path, ts_diag *d);

/* Same into memory (fuzzing, tests): *data is owned (free with free()). */
ts_status ts_pdf_write_mem(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                           const ts_layout *layout, unsigned char **data,
                           size_t *len, ts_diag *d);

#endif
