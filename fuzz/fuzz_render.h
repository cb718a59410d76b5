/* fuzz_render.h — the whole pipeline in memory, as the pipeline and image
 * targets run it: parse → the style the document names (as the CLI takes
 * it) or the built-in default → ts_page_layout → ts_pdf_write_mem, then
 * ts_epub_write_mem.  A refusal must come with a located error message,
 * an output must look like a PDF or a ZIP; anything else aborts. */
#ifndef TS_FUZZ_RENDER_H
#define TS_FUZZ_RENDER_H

#include "fuzz_common.h"

#include "doc/ts_doc.h"
#include "epub/ts_epub.h"
#include "markdown/ts_markdown.h"
#include "page/ts_page.h"
#include "pdf/ts_pdf.h"
#include "style/ts_style.h"

#include <string.h>

/* The style of the document's `style:` key when it names one of styles/
 * (paper, book, …: their mastheads, running heads and grids are reached
 * only so), else the built-in default (owned by the caller: NULL in
 * *own when kept).  Paths are left out — the fuzzer would read whatever
 * file it named.  Named styles are loaded once per process and kept (a
 * harness-only cache; layout and writers only read a style). */
static inline const ts_style *fuzz_style(ts_ctx *ctx, const ts_doc *doc, ts_style **own) {
  static struct {
    char name[32];
    ts_style *st;
  } kept[4];
  const char *name = doc->meta.style;
  *own = NULL;
  size_t n = name ? strlen(name) : 0;
  if (n > 0 && n < sizeof kept[0].name &&
      strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") == n) {
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
      if (kept[i].st && !strcmp(kept[i].name, name)) return kept[i].st;
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
      if (kept[i].st) continue;
      ts_diag quiet;
      ts_diag_init(&quiet, fuzz_diag_out());
      if (ts_style_load(ctx, name, &quiet, &kept[i].st) != TS_OK) break; /* unknown name */
      memcpy(kept[i].name, name, n + 1);
      return kept[i].st;
    }
  }
  *own = ts_style_default();
  if (!*own) abort();
  return *own;
}

/* A refusal (TS_ERR_INPUT) must come with a located error. */
static inline void fuzz_check(ts_status st, const ts_diag *d) {
  if (st == TS_ERR_INPUT && d->n_errors == 0) abort();
}

/* ... and an output must start as its format does. */
static inline void fuzz_check_out(ts_status st, const ts_diag *d, const unsigned char *out,
                                  size_t n, const char *magic) {
  size_t m = strlen(magic);
  if (st == TS_OK && (n < m || memcmp(out, magic, m) != 0)) abort();
  fuzz_check(st, d);
}

/* text (len bytes) as the Markdown file at path; the PDF only when pdf. */
static inline void fuzz_render(ts_ctx *ctx, const char *path, const char *text, size_t len,
                               int pdf) {
  ts_diag d;
  ts_diag_init(&d, fuzz_diag_out());
  ts_doc *doc = NULL;
  ts_style *style = NULL; /* owned when not kept by fuzz_style */
  unsigned char *out = NULL;
  size_t n = 0;
  ts_status st = ts_markdown_parse(ctx, path, text, len, &d, &doc);
  if (st != TS_OK) {
    if (doc) abort(); /* *out is NULL on failure */
    fuzz_check(st, &d);
    return;
  }
  const ts_style *use = fuzz_style(ctx, doc, &style);
  if (style) {
    /* the drawn EPUB cover (epub/cover.c) costs ~10 ms an input, mostly
     * compressing the same 3.8 M pixels, where its code's paths are all
     * reached by a few inputs: it is drawn for one input in eight (by a hash
     * of the bytes, so an input always does the same), and for every input
     * that names a style */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)text[i]) * 16777619u;
    style->epub_cover = (h & 7) == 0;
    /* the print edition's page numbers in the EPUB for one input in two */
    style->epub_page_list = (h & 16) != 0;
  }
  ts_layout layout;
  memset(&layout, 0, sizeof layout);
  int laid = 0;
  if (pdf) {
    ts_layout_opts lo = {use, NULL};
    st = ts_page_layout(ctx, doc, &lo, &d, &layout);
    fuzz_check(st, &d);
    if (st == TS_OK) {
      laid = 1;
      st = ts_pdf_write_mem(ctx, doc, use, &layout, &out, &n, &d);
      fuzz_check_out(st, &d, out, n, "%PDF-");
      free(out);
      out = NULL;
    }
  }
  st = ts_epub_write_mem(ctx, doc, use, laid ? &layout : NULL, &out, &n, &d);
  fuzz_check_out(st, &d, out, n, "PK\3\4");
  free(out);
  ts_style_destroy(style);
  ts_doc_destroy(doc);
}

#endif
