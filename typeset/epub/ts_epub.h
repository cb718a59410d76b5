/* ts_epub.h — the EPUB 3 writer: XHTML content documents, package.opf,
 * nav.xhtml, toc.ncx, CSS from the style and subset fonts, packaged with
 * libzip (mimetype first and stored; fixed order and timestamps).  Reads the
 * document model and the style directly; the page layout only for the print
 * edition's page numbers. */
#ifndef TS_EPUB_H
#define TS_EPUB_H

#include "../doc/ts_doc.h"
#include "../style/ts_style.h"

/* What the EPUB holds (OEBPS/):
 *   cover.xhtml, titlepage.xhtml, chapter-N.xhtml (the body split at top-level
 *   level-1 headings when there are two or more), nav.xhtml, toc.ncx,
 *   style.css, images/ (copied once, media type from the bytes), fonts/
 *   (the style's faces subset to the book's characters).
 * Heading ids come from the model; ids that are not plain ASCII, clash with
 * the writer's own (r3, r3-2, n3) or repeat become "sec-K", and "#id" links
 * follow them across files.  Links other than http, https, mailto and
 * existing headings are kept as text with a warning.  Missing, escaping or
 * corrupt images are located errors (TS_ERR_INPUT).  The container is
 * byte-identical for the same input: dates from SOURCE_DATE_EPOCH, else
 * meta.date, else 2000-01-01.  style may be NULL (the default style); d may
 * be NULL (messages are then only counted internally).  The print
 * edition's page numbers need the PDF's layout (ts_epub_write_out). */

/* Starts opening the ZIP library (7 M instructions) on a thread of its own,
 * once per context, so that it is open when the first EPUB is packaged;
 * the thread is joined when the context is destroyed. */
void ts_epub_prefetch(ts_ctx *ctx);
/* Opens the ZIP library now, on the calling thread (once a process), for a
 * thread that prepares a run ahead of need; a later ts_epub_prefetch of ctx
 * starts no thread. */
void ts_epub_open_zip(ts_ctx *ctx);

ts_status ts_epub_write(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                        const char *path, ts_diag *d);

/* Same into o's temporary file (ts_out_open; committed or aborted by the
 * caller).  Errors writing it are reported under o->path.  print, when not
 * NULL and the style asks for it (epub.page-list), is the PDF's layout of
 * the same doc and style: its pages become the EPUB's page list, with a
 * page-break marker where each page's body text begins (ts_page.src). */
struct ts_layout;
ts_status ts_epub_write_out(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                            const struct ts_layout *print, ts_out *o, ts_diag *d);

/* Same into memory: *data is owned (free with free()). */
ts_status ts_epub_write_mem(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                            const struct ts_layout *print, unsigned char **data, size_t *len,
                            ts_diag *d);

#endif
