/* hb_api.c — HarfBuzz's table (hb_api.h). */
#define TS_HB_API_IMPL
#include "fonts/hb_api.h"
#include "fonts/ft_api.h"

#ifndef TS_HB_SONAME /* meson.build defines it from the library found */
#define TS_HB_SONAME "libharfbuzz.so.0"
#endif

/* FreeType first: HarfBuzz needs it (TS_LAZY_DEFINE's before_fn) */
TS_LAZY_DEFINE(ts_hb_api, ts_hb, TS_HB_FUNCS, TS_HB_SONAME, ts_hb_open, ts_ft_open)
