/* hb_api.c — HarfBuzz's table (hb_api.h). */
#define TS_HB_API_IMPL
#include "fonts/hb_api.h"
#include "fonts/ft_api.h"

#include <pthread.h>
#include <stdlib.h>

#ifndef TS_HB_SONAME /* meson.build defines it from the library found */
#define TS_HB_SONAME "libharfbuzz.so.0"
#endif

/* The GLib stand-in (noglib.c; built by meson.build only for a HarfBuzz
 * whose GLib imports it covers): opened before HarfBuzz, so that
 * HarfBuzz's DT_NEEDED libglib-2.0.so.0 is the module already loaded with
 * that soname, and GLib and PCRE2 are never loaded.  Found relative to the
 * running executable — beside it (the build tree) or where it is installed
 * — never by a path of the build's; not when TYPESET_SYSTEM_GLIB is set
 * (HarfBuzz then loads the system's).  Once loaded it is the process's
 * libglib-2.0.so.0: a library loaded later that needs GLib would be given
 * its failing functions (typeset loads none).  Nothing when it cannot be
 * found: HarfBuzz loads the system's GLib. */
static pthread_once_t noglib_once = PTHREAD_ONCE_INIT;

static void noglib_open_once(void) {
#if defined(TS_NOGLIB_NAME) && defined(TS_NOGLIB_REL_INSTALLED)
  const char *sys = getenv("TYPESET_SYSTEM_GLIB");
  if (sys && *sys) return;
  static const char *const rel[] = {TS_NOGLIB_NAME, TS_NOGLIB_REL_INSTALLED};
  (void)ts_dlopen_beside_exe(rel, sizeof rel / sizeof rel[0]); /* never closed */
#endif
}

/* What HarfBuzz needs first: FreeType (opened on first use too) and the
 * GLib stand-in (TS_LAZY_DEFINE's before_fn). */
static int hb_before(const char **why) {
  if (!ts_ft_open(why)) return 0;
  pthread_once(&noglib_once, noglib_open_once);
  return 1;
}

TS_LAZY_DEFINE(ts_hb_api, ts_hb, TS_HB_FUNCS, TS_HB_SONAME, ts_hb_open, hb_before)
