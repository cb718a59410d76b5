/* test_page.c — the page builder's Check suites: the frame breaker on
 * synthetic galleys (test_break.c) and whole layouts through the real text
 * engine and fonts (test_layout.c). */
#include <check.h>
#include <stdlib.h>

/* allocation failure injection (fail_countdown) for test_layout.c: ../alloc_fail.h */
#include "../alloc_fail.h"

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
