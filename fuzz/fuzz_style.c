/* fuzz_style — bytes as a style sheet (YAML): ts_style_load_string, then the
 * text dump of the resolved style.  `base:` may name the shipped styles. */
#include "fuzz_common.h"

#include "style/ts_style.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ts_ctx *ctx = fuzz_ctx();
  ts_diag d;
  ts_diag_init(&d, fuzz_diag_out());
  ts_style *s = NULL;
  ts_status st = ts_style_load_string(ctx, (const char *)data, size,
                                      TS_DATA_DIR "/styles/fuzz.yaml", &d, &s);
  if (st == TS_OK) {
    if (!s) abort();
    ts_buf b;
    ts_buf_init(&b);
    ts_style_dump(s, &b);
    ts_buf_free(&b);
  } else if (st == TS_ERR_INPUT && d.n_errors == 0) {
    abort(); /* refused without a message */
  }
  ts_style_destroy(s);
  return 0;
}
