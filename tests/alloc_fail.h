/* alloc_fail.h — allocation failure injection for the Check suites.
 *
 * A suite linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (its
 * meson.build) includes this header in exactly one of its files (the others
 * declare `extern long fail_countdown;`): while fail_countdown > 0, the
 * allocation that brings it to 0 fails.  Only typeset's own, statically
 * linked code goes through the wrappers; the shared libraries (HarfBuzz,
 * libharu, cmark-gfm, libyaml, ...) allocate as usual.
 *
 * ts_test_alloc_rounds runs an attempt with the n-th allocation failing for
 * n = 1, 2, ... until one makes all its allocations: every attempt must give
 * TS_ERR_NOMEM and nothing, or — where a failure only costs a cache — the
 * very bytes of the clean run (n = 0).  Leaks and double frees are the
 * sanitizer build's to find. */
#ifndef TS_TEST_ALLOC_FAIL_H
#define TS_TEST_ALLOC_FAIL_H

#include "alloc_fail_api.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
long fail_countdown; /* test-only state */
int fail_hit;        /* an allocation failed since ts_alloc_begin */
static int should_fail(void) {
  if (fail_countdown > 0 && --fail_countdown == 0) return fail_hit = 1;
  return 0;
}
void *__wrap_malloc(size_t n) { return should_fail() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return should_fail() ? NULL : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { return should_fail() ? NULL : __real_realloc(p, n); }

#endif
