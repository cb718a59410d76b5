/* fuzz_markdown — bytes as a Markdown file with optional YAML front matter:
 * ts_markdown_parse → ts_doc_dump_json → ts_doc_destroy.  Must never crash,
 * hang or leak; every refusal is a located error. */
#include "fuzz_common.h"

#include "doc/ts_doc.h"
#include "markdown/ts_markdown.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ts_ctx *ctx = fuzz_ctx();
  ts_diag d;
  ts_diag_init(&d, fuzz_diag_out());
  ts_doc *doc = NULL;
  ts_status st = ts_markdown_parse(ctx, FUZZ_SAMPLES "/fuzz.md", (const char *)data, size,
                                   &d, &doc);
  if (st == TS_OK) {
    if (!doc) abort();
    ts_buf b;
    ts_buf_init(&b);
    ts_doc_dump_json(doc, &b);
    if (!b.oom && b.len == 0) abort(); /* a dump is never empty */
    ts_buf_free(&b);
  } else {
    if (doc) abort();                                         /* *out is NULL on failure */
    if (st == TS_ERR_INPUT && d.n_errors == 0) abort();       /* refused without a message */
  }
  ts_doc_destroy(doc);
  return 0;
}
