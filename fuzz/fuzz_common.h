/* fuzz_common.h — what every libFuzzer target of typeset shares: one ts_ctx
 * for the whole process (created on the first input and never destroyed: a
 * harness-only global; the library itself keeps none) and the folder inputs
 * pretend to live in.
 *
 * Each target defines LLVMFuzzerTestOneInput.  Built with -fsanitize=fuzzer
 * it is a libFuzzer binary; linked with regress_main.c (any compiler) it is a
 * regression runner over saved inputs. */
#ifndef TS_FUZZ_COMMON_H
#define TS_FUZZ_COMMON_H

#include "core/ts_core.h"

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline ts_ctx *fuzz_ctx(void) {
  static ts_ctx *ctx;
  if (!ctx) {
    ctx = ts_ctx_create();
    if (!ctx) abort();
    ts_ctx_set_epoch(ctx, 0); /* same outputs whatever the environment */
  }
  return ctx;
}

/* Diagnostics are collected silently unless FUZZ_DIAG is set (debugging a
 * saved input with the regression runner). */
static inline FILE *fuzz_diag_out(void) {
  return getenv("FUZZ_DIAG") ? stderr : NULL;
}

/* Inputs are named as if they were in the samples folder, so relative
 * images (samples/images/…) and paper globs resolve against real files. */
#define FUZZ_SAMPLES TS_DATA_DIR "/samples"

#endif
