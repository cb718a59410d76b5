/* hpdf_api.c — libharu's table (hpdf_api.h). */
#define TS_HPDF_API_IMPL
#include "pdf/hpdf_api.h"

#ifndef TS_HPDF_SONAME /* meson.build defines it from the library found */
#define TS_HPDF_SONAME "libhpdf-2.3.0.so"
#endif

TS_LAZY_DEFINE(ts_hpdf_api, ts_hpdf, TS_HPDF_FUNCS, TS_HPDF_SONAME, ts_hpdf_open,
               ts_lazy_nothing)
