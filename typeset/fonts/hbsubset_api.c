/* hbsubset_api.c — harfbuzz-subset's table (hbsubset_api.h). */
#define TS_HBSUBSET_API_IMPL
#include "fonts/hbsubset_api.h"
#include "fonts/hb_api.h"

#ifndef TS_HBSUBSET_SONAME /* meson.build defines it from the library found */
#define TS_HBSUBSET_SONAME "libharfbuzz-subset.so.0"
#endif

/* HarfBuzz first: harfbuzz-subset needs it (TS_LAZY_DEFINE's before_fn) */
TS_LAZY_DEFINE(ts_hbsubset_api, ts_hbsubset, TS_HBSUBSET_FUNCS, TS_HBSUBSET_SONAME,
                     ts_hbsubset_open, ts_hb_open)
