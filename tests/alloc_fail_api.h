/* alloc_fail_api.h — what a file of a suite that includes alloc_fail.h
 * elsewhere uses of it (see alloc_fail.h). */
#ifndef TS_TEST_ALLOC_FAIL_API_H
#define TS_TEST_ALLOC_FAIL_API_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ts_core.h"

extern long fail_countdown; /* defined by alloc_fail.h */
extern int fail_hit;

/* One attempt with allocation n failing (0: none): returns the output
 * (owned, free()) and its length, *st the status — or (ts_status)-1 when
 * the countdown never reached 0 (every allocation was made). */
typedef unsigned char *(*ts_alloc_attempt)(void *user, long n, size_t *len, ts_status *st);

/* Starts the countdown for an attempt; ts_alloc_end stops it and tells
 * whether an allocation failed. */
static inline void ts_alloc_begin(long n) {
  fail_countdown = n;
  fail_hit = 0;
}
static inline int ts_alloc_end(void) {
  fail_countdown = 0;
  return fail_hit;
}

static inline void ts_test_alloc_rounds(ts_alloc_attempt f, void *user, long max,
                                        int min_failures, const char *what) {
  size_t rlen = 0, len = 0;
  ts_status st;
  unsigned char *ref = f(user, 0, &rlen, &st);
  ck_assert_msg(ref != NULL && st == (ts_status)-1, "%s: the clean run failed", what);
  long n;
  int failed = 0, survived = 0;
  for (n = 1; n < max; n++) {
    unsigned char *out = f(user, n, &len, &st);
    if (st == (ts_status)-1) { /* every allocation made: done */
      ck_assert_msg(out && len == rlen && memcmp(out, ref, len) == 0, "%s: last run differs",
                    what);
      free(out);
      break;
    }
    if (st == TS_OK) {
      ck_assert_msg(out && len == rlen && memcmp(out, ref, len) == 0,
                    "%s: allocation %ld failed, and the output differs", what, n);
      survived++;
    } else {
      ck_assert_msg(st == TS_ERR_NOMEM, "%s: allocation %ld: %s", what, n, ts_status_str(st));
      ck_assert_msg(out == NULL, "%s: allocation %ld: output despite the error", what, n);
      failed++;
    }
    free(out);
  }
  if (getenv("TS_VERBOSE"))
    fprintf(stderr, "%s: %ld allocations, %d failures, %d survived\n", what, n, failed,
            survived);
  ck_assert_int_lt(n, max);
  ck_assert_int_gt(failed, min_failures);
  free(ref);
}

#endif
