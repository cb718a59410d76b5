/* test_page.c — the page builder's Check suites: the frame breaker on
 * synthetic galleys (test_break.c) and whole layouts through the real text
 * engine and fonts (test_layout.c). */
#include <check.h>
#include <stdlib.h>

/* ---- allocation failure injection (test_layout.c's allocation test) -------
 * Linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc: while
 * ts_test_fail_countdown > 0, the allocation that brings it to 0 fails.
 * Only typeset's own (statically linked) code goes through the wrappers. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
long ts_test_fail_countdown; /* test-only state */
static int should_fail(void) {
  return ts_test_fail_countdown > 0 && --ts_test_fail_countdown == 0;
}
void *__wrap_malloc(size_t n) { return should_fail() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return should_fail() ? NULL : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { return should_fail() ? NULL : __real_realloc(p, n); }

Suite *break_suite(void);
Suite *layout_suite(void);

int main(void) {
  SRunner *sr = srunner_create(break_suite());
  srunner_add_suite(sr, layout_suite());
  srunner_run_all(sr, CK_ENV); /* CK_VERBOSITY, default normal */
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
