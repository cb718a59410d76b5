/* ts_epub.h — the EPUB 3 writer: XHTML content documents, package.opf,
 * nav.xhtml, toc.ncx, CSS from the style and subset fonts, packaged with
 * libzip (mimetype first and stored; fixed order and timestamps).  Reads the
 * document model and the style directly (no page layout). */
#ifndef TS_EPUB_H
#define TS_EPUB_H

#include "../doc/ts_doc.h"
#include "../style/ts_style.h"

ts_status ts_epub_write(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                        const char *path, ts_diag *d);

/* Same into memory: *data is owned (free with free()). */
ts_status ts_epub_write_mem(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                            unsigned char **data, size_t *len, ts_diag *d);

#endif
