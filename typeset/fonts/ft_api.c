/* ft_api.c — FreeType's table (ft_api.h). */
#define TS_FT_API_IMPL
#include "fonts/ft_api.h"

#ifndef TS_FT_SONAME /* meson.build defines it from the library found */
#define TS_FT_SONAME "libfreetype.so.6"
#endif

TS_LAZY_DEFINE(ts_ft_api, ts_ft, TS_FT_FUNCS, TS_FT_SONAME, ts_ft_open, ts_lazy_nothing)
