/* hbsubset_api.h — harfbuzz-subset, opened when a font is first subset
 * (hbsubset_api.c).
 *
 * A run whose subsets all come from the caches (the EPUB's and the PDF's,
 * memory and cache folder) subsets nothing, yet every process loaded
 * harfbuzz-subset at start-up (~0.2 ms of a fresh process here).  It is now
 * opened with dlopen by ts_hbsubset_open (TS_HBSUBSET_SONAME, meson.build)
 * and called through the table below (core: ts_lazylib); include this after
 * <hb-subset.h>, and call ts_hbsubset_open before any hb_subset_ function.
 * The names below are every harfbuzz-subset function typeset calls. */
#ifndef TS_HBSUBSET_API_H
#define TS_HBSUBSET_API_H

#include <hb-subset.h>

#include "core/ts_core.h"

#define TS_HBSUBSET_FUNCS(X) \
  X(hb_subset_input_create_or_fail) \
  X(hb_subset_input_destroy) \
  X(hb_subset_input_glyph_set) \
  X(hb_subset_input_set) \
  X(hb_subset_input_set_flags) \
  X(hb_subset_input_unicode_set) \
  X(hb_subset_or_fail) \
  X(hb_subset_plan_create_or_fail) \
  X(hb_subset_plan_destroy) \
  X(hb_subset_plan_execute_or_fail) \
  X(hb_subset_plan_old_to_new_glyph_mapping)

typedef TS_LAZY_TABLE(TS_HBSUBSET_FUNCS) ts_hbsubset_api;
extern ts_hbsubset_api ts_hbsubset;

/* 1 when harfbuzz-subset is open (on the first call; thread-safe), else 0
 * and *why (when given) says why. */
int ts_hbsubset_open(const char **why);

#ifndef TS_HBSUBSET_API_IMPL
#define hb_subset_input_create_or_fail (ts_hbsubset.f.hb_subset_input_create_or_fail)
#define hb_subset_input_destroy (ts_hbsubset.f.hb_subset_input_destroy)
#define hb_subset_input_glyph_set (ts_hbsubset.f.hb_subset_input_glyph_set)
#define hb_subset_input_set (ts_hbsubset.f.hb_subset_input_set)
#define hb_subset_input_set_flags (ts_hbsubset.f.hb_subset_input_set_flags)
#define hb_subset_input_unicode_set (ts_hbsubset.f.hb_subset_input_unicode_set)
#define hb_subset_or_fail (ts_hbsubset.f.hb_subset_or_fail)
#define hb_subset_plan_create_or_fail (ts_hbsubset.f.hb_subset_plan_create_or_fail)
#define hb_subset_plan_destroy (ts_hbsubset.f.hb_subset_plan_destroy)
#define hb_subset_plan_execute_or_fail (ts_hbsubset.f.hb_subset_plan_execute_or_fail)
#define hb_subset_plan_old_to_new_glyph_mapping (ts_hbsubset.f.hb_subset_plan_old_to_new_glyph_mapping)
#endif

#endif
