#include <check.h>
Suite *layout_suite(void) { return suite_create("page-layout"); }
