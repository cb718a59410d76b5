/* fuzz_pipeline — bytes as Markdown through the whole pipeline in memory
 * (fuzz_render.h): parse → the style the document names or the built-in
 * default → ts_page_layout → ts_pdf_write_mem and ts_epub_write_mem. */
#include "fuzz_render.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_render(fuzz_ctx(), FUZZ_SAMPLES "/fuzz.md", (const char *)data, size, 1);
  return 0;
}
