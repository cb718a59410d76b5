/* fuzz_manifest — bytes as a series manifest: ts_series_check_manifest
 * (YAML, keys, formats, paper entries and globs in the samples folder). */
#include "fuzz_common.h"

#include "series/ts_series.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ts_ctx *ctx = fuzz_ctx();
  ts_diag d;
  ts_diag_init(&d, fuzz_diag_out());
  ts_status st = ts_series_check_manifest(ctx, (const char *)data, size,
                                          FUZZ_SAMPLES "/fuzz-series.yaml", &d);
  if (st == TS_ERR_INPUT && d.n_errors == 0) abort(); /* refused without a message */
  return 0;
}
