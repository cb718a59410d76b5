/* hb_api.h — HarfBuzz, opened when a run first shapes or reads a font
 * (hb_api.c).
 *
 * Linking HarfBuzz made every process load it with GLib's stand-in and
 * graphite2 at start-up (~0.6 ms of a fresh process here), yet an EPUB
 * whose faces, subsets and cover the caches hold shapes nothing: what it
 * needs of a face is kept by the face cache (face.c) and its sets of code
 * points are typeset's own (core: ts_cpset).  HarfBuzz is now opened with
 * dlopen by ts_hb_open (TS_HB_SONAME, meson.build) and called through the
 * table below (core: ts_lazylib).  Include this instead of <hb.h> and
 * <hb-ot.h> (it includes them, and harfbuzz-subset's header, before
 * redefining the names), and call ts_hb_open before any hb_ function:
 * ts_face_load does for a face it reads, the layout (text: ts_para_* and
 * the page builder's prewarm), the cover and the subsets before they shape
 * or subset.  Not through an argument: in hb_shape(ts_face_font(f), ...)
 * the table's pointer may be read before the argument that would open the
 * library is evaluated (C leaves the order open), so the first call through
 * the table is a NULL call unless HarfBuzz was opened before the statement.
 * The names below are every HarfBuzz function typeset calls: a new one is
 * added here, or the build fails (the object would name it and the
 * executable does not link HarfBuzz). */
#ifndef TS_HB_API_H
#define TS_HB_API_H

#include <hb.h>
#include <hb-ot.h>
#include <hb-subset.h>

#include "core/ts_core.h"

#define TS_HB_FUNCS(X) \
  X(hb_blob_create_from_file_or_fail) \
  X(hb_blob_create_or_fail) \
  X(hb_blob_destroy) \
  X(hb_blob_get_data) \
  X(hb_blob_get_empty) \
  X(hb_blob_get_length) \
  X(hb_buffer_add_utf8) \
  X(hb_buffer_allocation_successful) \
  X(hb_buffer_clear_contents) \
  X(hb_buffer_create) \
  X(hb_buffer_destroy) \
  X(hb_buffer_get_glyph_infos) \
  X(hb_buffer_get_glyph_positions) \
  X(hb_buffer_guess_segment_properties) \
  X(hb_buffer_set_direction) \
  X(hb_buffer_set_flags) \
  X(hb_buffer_set_language) \
  X(hb_buffer_set_script) \
  X(hb_face_builder_add_table) \
  X(hb_face_builder_create) \
  X(hb_face_collect_unicodes) \
  X(hb_face_count) \
  X(hb_face_create) \
  X(hb_face_destroy) \
  X(hb_face_get_empty) \
  X(hb_face_get_glyph_count) \
  X(hb_face_get_table_tags) \
  X(hb_face_get_upem) \
  X(hb_face_make_immutable) \
  X(hb_face_reference_blob) \
  X(hb_face_reference_table) \
  X(hb_face_set_glyph_count) \
  X(hb_face_set_upem) \
  X(hb_feature_from_string) \
  X(hb_font_create) \
  X(hb_font_destroy) \
  X(hb_font_get_empty) \
  X(hb_font_get_face) \
  X(hb_font_get_glyph_h_advance) \
  X(hb_font_get_nominal_glyph) \
  X(hb_font_make_immutable) \
  X(hb_font_set_scale) \
  X(hb_language_from_string) \
  X(hb_map_allocation_successful) \
  X(hb_map_create) \
  X(hb_map_destroy) \
  X(hb_map_get) \
  X(hb_map_has) \
  X(hb_map_set) \
  X(hb_ot_font_set_funcs) \
  X(hb_ot_layout_lookup_collect_glyphs) \
  X(hb_ot_layout_table_get_feature_tags) \
  X(hb_ot_layout_table_get_lookup_count) \
  X(hb_script_from_string) \
  X(hb_set_add) \
  X(hb_set_add_range) \
  X(hb_set_allocation_successful) \
  X(hb_set_clear) \
  X(hb_set_create) \
  X(hb_set_destroy) \
  X(hb_set_get_max) \
  X(hb_set_get_population) \
  X(hb_set_has) \
  X(hb_set_intersect) \
  X(hb_set_is_empty) \
  X(hb_set_is_equal) \
  X(hb_set_next) \
  X(hb_set_next_range) \
  X(hb_set_set) \
  X(hb_set_union) \
  X(hb_shape) \
  X(hb_tag_from_string) \
  X(hb_unicode_funcs_get_default) \
  X(hb_unicode_script) \
  X(hb_version_string)

typedef TS_LAZY_TABLE(TS_HB_FUNCS) ts_hb_api;
extern ts_hb_api ts_hb;

/* 1 when HarfBuzz is open (on the first call; thread-safe, and without a
 * lock once open), else 0 and *why (when given) says why. */
int ts_hb_open(const char **why);

#ifndef TS_HB_API_IMPL
#define hb_blob_create_from_file_or_fail (ts_hb.f.hb_blob_create_from_file_or_fail)
#define hb_blob_create_or_fail (ts_hb.f.hb_blob_create_or_fail)
#define hb_blob_destroy (ts_hb.f.hb_blob_destroy)
#define hb_blob_get_data (ts_hb.f.hb_blob_get_data)
#define hb_blob_get_empty (ts_hb.f.hb_blob_get_empty)
#define hb_blob_get_length (ts_hb.f.hb_blob_get_length)
#define hb_buffer_add_utf8 (ts_hb.f.hb_buffer_add_utf8)
#define hb_buffer_allocation_successful (ts_hb.f.hb_buffer_allocation_successful)
#define hb_buffer_clear_contents (ts_hb.f.hb_buffer_clear_contents)
#define hb_buffer_create (ts_hb.f.hb_buffer_create)
#define hb_buffer_destroy (ts_hb.f.hb_buffer_destroy)
#define hb_buffer_get_glyph_infos (ts_hb.f.hb_buffer_get_glyph_infos)
#define hb_buffer_get_glyph_positions (ts_hb.f.hb_buffer_get_glyph_positions)
#define hb_buffer_guess_segment_properties (ts_hb.f.hb_buffer_guess_segment_properties)
#define hb_buffer_set_direction (ts_hb.f.hb_buffer_set_direction)
#define hb_buffer_set_flags (ts_hb.f.hb_buffer_set_flags)
#define hb_buffer_set_language (ts_hb.f.hb_buffer_set_language)
#define hb_buffer_set_script (ts_hb.f.hb_buffer_set_script)
#define hb_face_builder_add_table (ts_hb.f.hb_face_builder_add_table)
#define hb_face_builder_create (ts_hb.f.hb_face_builder_create)
#define hb_face_collect_unicodes (ts_hb.f.hb_face_collect_unicodes)
#define hb_face_count (ts_hb.f.hb_face_count)
#define hb_face_create (ts_hb.f.hb_face_create)
#define hb_face_destroy (ts_hb.f.hb_face_destroy)
#define hb_face_get_empty (ts_hb.f.hb_face_get_empty)
#define hb_face_get_glyph_count (ts_hb.f.hb_face_get_glyph_count)
#define hb_face_get_table_tags (ts_hb.f.hb_face_get_table_tags)
#define hb_face_get_upem (ts_hb.f.hb_face_get_upem)
#define hb_face_make_immutable (ts_hb.f.hb_face_make_immutable)
#define hb_face_reference_blob (ts_hb.f.hb_face_reference_blob)
#define hb_face_reference_table (ts_hb.f.hb_face_reference_table)
#define hb_face_set_glyph_count (ts_hb.f.hb_face_set_glyph_count)
#define hb_face_set_upem (ts_hb.f.hb_face_set_upem)
#define hb_feature_from_string (ts_hb.f.hb_feature_from_string)
#define hb_font_create (ts_hb.f.hb_font_create)
#define hb_font_destroy (ts_hb.f.hb_font_destroy)
#define hb_font_get_empty (ts_hb.f.hb_font_get_empty)
#define hb_font_get_face (ts_hb.f.hb_font_get_face)
#define hb_font_get_glyph_h_advance (ts_hb.f.hb_font_get_glyph_h_advance)
#define hb_font_get_nominal_glyph (ts_hb.f.hb_font_get_nominal_glyph)
#define hb_font_make_immutable (ts_hb.f.hb_font_make_immutable)
#define hb_font_set_scale (ts_hb.f.hb_font_set_scale)
#define hb_language_from_string (ts_hb.f.hb_language_from_string)
#define hb_map_allocation_successful (ts_hb.f.hb_map_allocation_successful)
#define hb_map_create (ts_hb.f.hb_map_create)
#define hb_map_destroy (ts_hb.f.hb_map_destroy)
#define hb_map_get (ts_hb.f.hb_map_get)
#define hb_map_has (ts_hb.f.hb_map_has)
#define hb_map_set (ts_hb.f.hb_map_set)
#define hb_ot_font_set_funcs (ts_hb.f.hb_ot_font_set_funcs)
#define hb_ot_layout_lookup_collect_glyphs (ts_hb.f.hb_ot_layout_lookup_collect_glyphs)
#define hb_ot_layout_table_get_feature_tags (ts_hb.f.hb_ot_layout_table_get_feature_tags)
#define hb_ot_layout_table_get_lookup_count (ts_hb.f.hb_ot_layout_table_get_lookup_count)
#define hb_script_from_string (ts_hb.f.hb_script_from_string)
#define hb_set_add (ts_hb.f.hb_set_add)
#define hb_set_add_range (ts_hb.f.hb_set_add_range)
#define hb_set_allocation_successful (ts_hb.f.hb_set_allocation_successful)
#define hb_set_clear (ts_hb.f.hb_set_clear)
#define hb_set_create (ts_hb.f.hb_set_create)
#define hb_set_destroy (ts_hb.f.hb_set_destroy)
#define hb_set_get_max (ts_hb.f.hb_set_get_max)
#define hb_set_get_population (ts_hb.f.hb_set_get_population)
#define hb_set_has (ts_hb.f.hb_set_has)
#define hb_set_intersect (ts_hb.f.hb_set_intersect)
#define hb_set_is_empty (ts_hb.f.hb_set_is_empty)
#define hb_set_is_equal (ts_hb.f.hb_set_is_equal)
#define hb_set_next (ts_hb.f.hb_set_next)
#define hb_set_next_range (ts_hb.f.hb_set_next_range)
#define hb_set_set (ts_hb.f.hb_set_set)
#define hb_set_union (ts_hb.f.hb_set_union)
#define hb_shape (ts_hb.f.hb_shape)
#define hb_tag_from_string (ts_hb.f.hb_tag_from_string)
#define hb_unicode_funcs_get_default (ts_hb.f.hb_unicode_funcs_get_default)
#define hb_unicode_script (ts_hb.f.hb_unicode_script)
#define hb_version_string (ts_hb.f.hb_version_string)
#endif

#endif
