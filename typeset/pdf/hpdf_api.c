/* hpdf_api.c — libharu's table (hpdf_api.h). */
#define TS_HPDF_API_IMPL
#include "pdf/hpdf_api.h"

#ifndef TS_HPDF_SONAME /* meson.build defines it from the library found */
#define TS_HPDF_SONAME "libhpdf-2.3.0.so"
#endif

union ts_hpdf_api ts_hpdf;
_Static_assert(sizeof ts_hpdf.slots == sizeof ts_hpdf.f, "one slot a function");

static const char *const names[] = {TS_HPDF_FUNCS(TS_LAZY_NAME)};
static ts_lazylib lib =
    TS_LAZYLIB_INIT(TS_HPDF_SONAME, names, sizeof names / sizeof names[0], ts_hpdf.slots);

int ts_hpdf_open(const char **why) { return ts_lazylib_open(&lib, why); }
