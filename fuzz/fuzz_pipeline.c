/* fuzz_pipeline — bytes as Markdown through the whole pipeline in memory:
 * parse → the style the document names (as the CLI takes it) or the
 * built-in default → ts_page_layout → ts_pdf_write_mem and
 * ts_epub_write_mem.  The outputs must at least look like a PDF and a ZIP. */
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
static const ts_style *fuzz_style(ts_ctx *ctx, const ts_doc *doc, ts_style **own) {
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ts_ctx *ctx = fuzz_ctx();
  ts_diag d;
  ts_diag_init(&d, fuzz_diag_out());
  ts_doc *doc = NULL;
  ts_style *style = NULL;
  unsigned char *out = NULL;
  size_t n = 0;
  if (ts_markdown_parse(ctx, FUZZ_SAMPLES "/fuzz.md", (const char *)data, size, &d, &doc))
    goto done;
  const ts_style *use = fuzz_style(ctx, doc, &style);
  ts_layout layout;
  memset(&layout, 0, sizeof layout);
  ts_layout_opts lo = {use, NULL};
  if (ts_page_layout(ctx, doc, &lo, &d, &layout) == TS_OK) {
    if (ts_pdf_write_mem(ctx, doc, use, &layout, &out, &n, &d) == TS_OK &&
        (n < 8 || memcmp(out, "%PDF-", 5) != 0))
      abort();
    free(out);
    out = NULL;
  }
  if (ts_epub_write_mem(ctx, doc, use, &out, &n, &d) == TS_OK &&
      (n < 4 || memcmp(out, "PK\3\4", 4) != 0))
    abort();
  free(out);
done:
  ts_style_destroy(style);
  ts_doc_destroy(doc);
  return 0;
}
