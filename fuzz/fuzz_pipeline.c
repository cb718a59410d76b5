/* fuzz_pipeline — bytes as Markdown through the whole pipeline in memory:
 * parse → built-in default style → ts_page_layout → ts_pdf_write_mem and
 * ts_epub_write_mem.  The outputs must at least look like a PDF and a ZIP. */
#include "fuzz_common.h"

#include "doc/ts_doc.h"
#include "epub/ts_epub.h"
#include "markdown/ts_markdown.h"
#include "page/ts_page.h"
#include "pdf/ts_pdf.h"
#include "style/ts_style.h"

#include <string.h>

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
  style = ts_style_default();
  if (!style) abort();
  ts_layout layout;
  memset(&layout, 0, sizeof layout);
  ts_layout_opts lo = {style, NULL};
  if (ts_page_layout(ctx, doc, &lo, &d, &layout) == TS_OK) {
    if (ts_pdf_write_mem(ctx, doc, style, &layout, &out, &n, &d) == TS_OK &&
        (n < 8 || memcmp(out, "%PDF-", 5) != 0))
      abort();
    free(out);
    out = NULL;
  }
  if (ts_epub_write_mem(ctx, doc, style, &out, &n, &d) == TS_OK &&
      (n < 4 || memcmp(out, "PK\3\4", 4) != 0))
    abort();
  free(out);
done:
  ts_style_destroy(style);
  ts_doc_destroy(doc);
  return 0;
}
