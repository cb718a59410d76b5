/* hbsubset_api.c — harfbuzz-subset's table (hbsubset_api.h). */
#define TS_HBSUBSET_API_IMPL
#include "fonts/hbsubset_api.h"

#ifndef TS_HBSUBSET_SONAME /* meson.build defines it from the library found */
#define TS_HBSUBSET_SONAME "libharfbuzz-subset.so.0"
#endif

union ts_hbsubset_api ts_hbsubset;
_Static_assert(sizeof ts_hbsubset.slots == sizeof ts_hbsubset.f, "one slot a function");

static const char *const names[] = {TS_HBSUBSET_FUNCS(TS_LAZY_NAME)};
static ts_lazylib lib = TS_LAZYLIB_INIT(TS_HBSUBSET_SONAME, names, sizeof names / sizeof names[0],
                                        ts_hbsubset.slots);

int ts_hbsubset_open(const char **why) { return ts_lazylib_open(&lib, why); }
