/* noglib.c — a stand-in for the GLib that HarfBuzz links.
 *
 * Debian's HarfBuzz links GLib for hb-glib.h alone: GLib's Unicode
 * functions as an alternative to HarfBuzz's own (hb_glib_get_unicode_funcs)
 * and blobs made from a GBytes (hb_glib_blob_create).  typeset calls
 * neither, and HarfBuzz's default Unicode functions are its own (UCD), yet
 * every process loaded GLib and the PCRE2 it links, and ran GLib's
 * constructor: 25 page faults and ~0.6 ms of every fresh process here.
 *
 * This library is built only when the HarfBuzz found imports exactly the
 * functions below from GLib (meson.build checks its symbol table).  Its
 * soname is libglib-2.0.so.0 and the typeset executable names it first
 * among the libraries it needs, found beside itself (build tree) or in
 * typeset's library folder (installed) through its run path, so that
 * HarfBuzz's own need of libglib-2.0.so.0 is met by it.  Each function
 * ends the process with a message: reaching one means a HarfBuzz function
 * typeset does not use was called, a bug to fix, never a result to make up.
 * The prototypes are left out (no GLib headers needed): only the names
 * bind.
 *
 * Ownership: none; nothing here allocates. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NG_EXPORT __attribute__((visibility("default")))

static void ng_fail(const char *name)
{
  static const char a[] = "typeset: internal error: GLib's ";
  static const char b[] = " was called through HarfBuzz; typeset's GLib stand-in "
                          "(typeset/fonts/noglib.c) has no GLib to give\n";
  /* write(2), not stdio: nothing of the process's state is trusted here */
  (void)!write(2, a, sizeof a - 1);
  (void)!write(2, name, strlen(name));
  (void)!write(2, b, sizeof b - 1);
  abort();
}

#define NG_STUB(f)                                                                                 \
  NG_EXPORT void f(void);                                                                          \
  void f(void) { ng_fail(#f); }

NG_STUB(g_bytes_get_data)
NG_STUB(g_bytes_ref)
NG_STUB(g_bytes_unref)
NG_STUB(g_unichar_combining_class)
NG_STUB(g_unichar_compose)
NG_STUB(g_unichar_decompose)
NG_STUB(g_unichar_get_mirror_char)
NG_STUB(g_unichar_get_script)
NG_STUB(g_unichar_type)
NG_STUB(g_unicode_script_from_iso15924)
NG_STUB(g_unicode_script_to_iso15924)
