/* face.c — loading one face: HarfBuzz for shaping and coverage, FreeType
 * once for names, metrics and the CID mapping of CID-keyed CFF fonts.  No
 * FT_Face outlives ts_face_load, so a loaded face is immutable and can be
 * shared by threads without locks (hb_font_make_immutable). */
#include "fonts/ts_fonts.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_CID_H
#include FT_TRUETYPE_TABLES_H
#include <hb-ot.h>
#include <stdlib.h>
#include <string.h>

static char *xstrdup(const char *s)
{
  if (!s) s = "";
  size_t n = strlen(s);
  char *r = malloc(n + 1);
  if (r) memcpy(r, s, n + 1);
  return r;
}

static int table_has_feature(hb_face_t *face, hb_tag_t table, hb_tag_t tag)
{
  hb_tag_t tags[64];
  unsigned start = 0;
  for (;;) {
    unsigned count = 64;
    unsigned total = hb_ot_layout_table_get_feature_tags(face, table, start, &count, tags);
    for (unsigned i = 0; i < count; i++)
      if (tags[i] == tag) return 1;
    start += count;
    if (count == 0 || start >= total) return 0;
  }
}

int ts_face_has_feature(const ts_face *f, hb_tag_t tag)
{
  if (!f) return 0;
  return table_has_feature(f->hb_face, HB_OT_TAG_GSUB, tag) ||
         table_has_feature(f->hb_face, HB_OT_TAG_GPOS, tag);
}

int ts_face_advance(const ts_face *f, uint32_t gid)
{
  if (!f) return 0;
  return (int)hb_font_get_glyph_h_advance(f->hb_font, gid);
}

void ts_face_destroy(ts_face *f)
{
  if (!f) return;
  free(f->path);
  free(f->family);
  free(f->style);
  free(f->psname);
  free(f->gid_to_cid);
  if (f->unicodes) hb_set_destroy(f->unicodes);
  if (f->hb_font) hb_font_destroy(f->hb_font);
  if (f->hb_face) hb_face_destroy(f->hb_face);
  if (f->blob) hb_blob_destroy(f->blob);
  free(f);
}

/* Reads what we need from FreeType into f; returns NULL or a reason. */
static const char *read_freetype(ts_face *f)
{
  FT_Library lib = NULL;
  FT_Face ft = NULL;
  const char *why = NULL;
  unsigned len = 0;
  const char *data = hb_blob_get_data(f->blob, &len);

  /* One FT_Library per load: FreeType libraries are not thread-safe, and
   * loads happen rarely (once per face per process). */
  if (FT_Init_FreeType(&lib)) { why = "FreeType could not be initialised"; goto done; }
  if (FT_New_Memory_Face(lib, (const FT_Byte *)data, (FT_Long)len, (FT_Long)f->index, &ft)) {
    why = "FreeType cannot read it as a font";
    goto done;
  }
  if (!FT_IS_SCALABLE(ft)) { why = "not a scalable (outline) font"; goto done; }

  f->family = xstrdup(ft->family_name ? ft->family_name : "Unknown");
  f->style = xstrdup(ft->style_name ? ft->style_name : "Regular");
  const char *ps = FT_Get_Postscript_Name(ft);
  f->psname = xstrdup(ps && *ps ? ps : "Unknown");
  if (!f->family || !f->style || !f->psname) { why = "out of memory"; goto done; }

  f->ascender = ft->ascender;
  f->descender = ft->descender;
  f->line_gap = ft->height - (ft->ascender - ft->descender);
  if (f->line_gap < 0) f->line_gap = 0;
  f->bbox[0] = (int)ft->bbox.xMin;
  f->bbox[1] = (int)ft->bbox.yMin;
  f->bbox[2] = (int)ft->bbox.xMax;
  f->bbox[3] = (int)ft->bbox.yMax;
  f->fixed_pitch = FT_IS_FIXED_WIDTH(ft) ? 1 : 0;
  f->italic = (ft->style_flags & FT_STYLE_FLAG_ITALIC) ? 1 : 0;
  f->weight = (ft->style_flags & FT_STYLE_FLAG_BOLD) ? 700 : 400;
  f->serif = 1;

  TT_OS2 *os2 = FT_Get_Sfnt_Table(ft, FT_SFNT_OS2);
  if (os2 && os2->version != 0xFFFF) {
    if (os2->usWeightClass >= 1 && os2->usWeightClass <= 1000) f->weight = os2->usWeightClass;
    if (os2->version >= 2) {
      f->cap_height = os2->sCapHeight;
      f->x_height = os2->sxHeight;
    }
    /* PANOSE: family kind 2 = Latin text; serif style 11..13 are sans. */
    if (os2->panose[0] == 2) f->serif = !(os2->panose[1] >= 11 && os2->panose[1] <= 13);
  }
  /* Many fonts leave PANOSE at "any" (Biolinum): the family name decides. */
  static const char *const sans_words[] = {"Sans", "Grotesk", "Gothic", "Biolinum", "Helvetica", "Arial"};
  for (size_t i = 0; i < sizeof sans_words / sizeof *sans_words; i++)
    if (strstr(f->family, sans_words[i])) f->serif = 0;
  if (f->cap_height == 0) {
    FT_UInt g = FT_Get_Char_Index(ft, 'H');
    if (g && !FT_Load_Glyph(ft, g, FT_LOAD_NO_SCALE)) f->cap_height = (int)ft->glyph->metrics.height;
    else f->cap_height = f->ascender * 7 / 10;
  }
  if (f->x_height == 0) {
    FT_UInt g = FT_Get_Char_Index(ft, 'x');
    if (g && !FT_Load_Glyph(ft, g, FT_LOAD_NO_SCALE)) f->x_height = (int)ft->glyph->metrics.height;
    else f->x_height = f->ascender / 2;
  }
  TT_Postscript *post = FT_Get_Sfnt_Table(ft, FT_SFNT_POST);
  if (post) f->italic_angle = (int)(post->italicAngle / 65536);

  FT_Bool is_cid = 0;
  if (!FT_Get_CID_Is_Internally_CID_Keyed(ft, &is_cid) && is_cid) {
    f->is_cid = 1;
    f->gid_to_cid = calloc(f->num_glyphs ? f->num_glyphs : 1, sizeof *f->gid_to_cid);
    if (!f->gid_to_cid) { why = "out of memory"; goto done; }
    for (unsigned g = 0; g < f->num_glyphs; g++) {
      FT_UInt cid = 0;
      if (FT_Get_CID_From_Glyph_Index(ft, g, &cid)) cid = g;
      f->gid_to_cid[g] = (uint16_t)cid;
    }
  }
done:
  if (ft) FT_Done_Face(ft);
  if (lib) FT_Done_FreeType(lib);
  return why;
}

/* What HarfBuzz tells of a face once: whether its outlines are CFF, its
 * characters, and the features the writers ask about.  Returns NULL or a
 * reason. */
static const char *read_harfbuzz(ts_face *f)
{
  hb_blob_t *cff = hb_face_reference_table(f->hb_face, HB_TAG('C', 'F', 'F', ' '));
  hb_blob_t *cff2 = hb_face_reference_table(f->hb_face, HB_TAG('C', 'F', 'F', '2'));
  f->is_cff = hb_blob_get_length(cff) > 0 || hb_blob_get_length(cff2) > 0;
  hb_blob_destroy(cff);
  hb_blob_destroy(cff2);
  hb_face_collect_unicodes(f->hb_face, f->unicodes);
  if (!hb_set_allocation_successful(f->unicodes)) return "out of memory";
  f->has_smcp = ts_face_has_feature(f, HB_TAG('s', 'm', 'c', 'p'));
  f->has_sups = ts_face_has_feature(f, HB_TAG('s', 'u', 'p', 's'));
  f->has_subs = ts_face_has_feature(f, HB_TAG('s', 'u', 'b', 's'));
  return NULL;
}

/* ---- What FreeType and HarfBuzz told, kept in the cache folder -----------
 * FreeType opens a face only for names, metrics and a CID-keyed font's CID
 * map (read_freetype), yet parsing the font for it cost ~0.35 M
 * instructions a face, five faces in every fresh process, on the way to
 * the first line; HarfBuzz's character set and feature lists
 * (read_harfbuzz) sanitize the cmap, GSUB and GPOS tables, 0.1-0.3 ms a
 * face here, which an EPUB needs no other way.  So the result is kept
 * (dcache kind "face"), keyed by the font file's identity and the
 * versions; a damaged or foreign file is a miss, and then FreeType and
 * HarfBuzz read the font again. */
#define FACE_RECIPE 2
#define FACE_NINTS 18
#define FACE_MAX_RANGES (1u << 20)

static int face_key(ts_buf *k, const ts_face *f) {
  char recipe[160];
  int rn = snprintf(recipe, sizeof recipe,
                    "TSFACE typeset %s freetype %d.%d.%d harfbuzz %s recipe %d", TS_VERSION,
                    FREETYPE_MAJOR, FREETYPE_MINOR, FREETYPE_PATCH, hb_version_string(),
                    FACE_RECIPE);
  if (rn <= 0 || (size_t)rn >= sizeof recipe) return 0;
  ts_buf_put_u32(k, (uint32_t)rn);
  ts_buf_append(k, recipe, (size_t)rn);
  ts_buf_put_u32(k, f->num_glyphs);
  return ts_dcache_key_file(k, f->path, f->index) && !k->oom;
}

static void face_ints(ts_face *f, int **v) {
  int *p[FACE_NINTS] = {&f->weight, &f->italic, &f->ascender, &f->descender, &f->line_gap,
                        &f->cap_height, &f->x_height, &f->bbox[0], &f->bbox[1], &f->bbox[2],
                        &f->bbox[3], &f->italic_angle, &f->fixed_pitch, &f->serif,
                        &f->is_cff, &f->has_smcp, &f->has_sups, &f->has_subs};
  memcpy(v, p, sizeof p);
}


static void face_put(ts_face *f, const ts_buf *key) {
  ts_buf b;
  ts_buf_init(&b);
  int *v[FACE_NINTS];
  face_ints(f, v);
  for (int i = 0; i < FACE_NINTS; i++) ts_buf_put_u32(&b, (uint32_t)*v[i]);
  ts_buf_put_str(&b, f->family);
  ts_buf_put_str(&b, f->style);
  ts_buf_put_str(&b, f->psname);
  uint32_t n_ranges = 0;
  size_t at = b.len;
  ts_buf_put_u32(&b, 0);
  hb_codepoint_t a = HB_SET_VALUE_INVALID, z = HB_SET_VALUE_INVALID;
  while (hb_set_next_range(f->unicodes, &a, &z)) {
    ts_buf_put_u32(&b, a);
    ts_buf_put_u32(&b, z);
    n_ranges++;
  }
  if (!b.oom) memcpy(b.data + at, &n_ranges, sizeof n_ranges);
  ts_buf_put_u32(&b, (uint32_t)f->is_cid);
  if (f->is_cid) ts_buf_append(&b, f->gid_to_cid, (size_t)f->num_glyphs * sizeof *f->gid_to_cid);
  if (!b.oom) ts_dcache_put("face", key, b.data, b.len);
  ts_buf_free(&b);
}

/* Fills f's FreeType and HarfBuzz parts from the cache; 0 on a miss (f as
 * before, its character set empty). */
static int face_get(ts_face *f, const ts_buf *key) {
  size_t n = 0;
  char *v = ts_dcache_get("face", key, &n);
  if (!v) return 0;
  ts_rd r = {(const unsigned char *)v, (const unsigned char *)v + n, 0};
  ts_face t = *f;
  int *iv[FACE_NINTS];
  face_ints(&t, iv);
  for (int i = 0; i < FACE_NINTS; i++) *iv[i] = (int)ts_rd_u32(&r);
  t.family = ts_rd_str(&r);
  t.style = ts_rd_str(&r);
  t.psname = ts_rd_str(&r);
  uint32_t n_ranges = ts_rd_u32(&r);
  if (n_ranges > FACE_MAX_RANGES) r.bad = 1;
  for (uint32_t i = 0; i < n_ranges && !r.bad; i++) {
    uint32_t a = ts_rd_u32(&r), z = ts_rd_u32(&r);
    if (a > z || z > 0x10FFFF) r.bad = 1;
    else hb_set_add_range(t.unicodes, a, z);
  }
  if (!hb_set_allocation_successful(t.unicodes)) r.bad = 1;
  for (int i = 0; i < 4; i++) /* is_cff and the three features: flags */
    if ((unsigned)*iv[FACE_NINTS - 4 + i] > 1) r.bad = 1;
  uint32_t cid = ts_rd_u32(&r);
  size_t mlen = (size_t)f->num_glyphs * sizeof *t.gid_to_cid;
  t.is_cid = cid == 1;
  t.gid_to_cid = NULL;
  if (r.bad || cid > 1 || (size_t)(r.end - r.p) != (t.is_cid ? mlen : 0)) r.bad = 1;
  if (!r.bad && t.is_cid) {
    t.gid_to_cid = malloc(mlen ? mlen : 1);
    if (t.gid_to_cid) memcpy(t.gid_to_cid, r.p, mlen);
    else r.bad = 1;
  }
  free(v);
  if (r.bad) {
    free(t.family);
    free(t.style);
    free(t.psname);
    free(t.gid_to_cid);
    hb_set_clear(f->unicodes);
    return 0;
  }
  *f = t;
  return 1;
}

/* f's names, metrics, CID map, character set and features: from the cache
 * folder, else FreeType and HarfBuzz (and then kept there). */
static const char *read_face_info(ts_face *f) {
  ts_buf key;
  ts_buf_init(&key);
  const char *why = NULL;
  int have_key = ts_dcache_enabled() && face_key(&key, f);
  if (!have_key || !face_get(f, &key)) {
    why = read_freetype(f);
    if (!why) why = read_harfbuzz(f);
    if (!why && have_key) face_put(f, &key);
  }
  ts_buf_free(&key);
  return why;
}

ts_face *ts_face_load(const char *path, unsigned index, const char **why)
{
  const char *dummy;
  if (!why) why = &dummy;
  *why = NULL;
  ts_face *f = calloc(1, sizeof *f);
  if (!f) { *why = "out of memory"; return NULL; }
  f->index = index;
  f->path = xstrdup(path);
  if (!f->path) { *why = "out of memory"; goto fail; }

  f->blob = hb_blob_create_from_file_or_fail(path);
  if (!f->blob) { *why = "cannot read the file"; goto fail; }
  /* hb_face_count recognises sfnt headers (TrueType, OpenType, TTC) and
   * returns 0 for anything else. */
  unsigned count = hb_face_count(f->blob);
  if (count == 0) { *why = "not a font file (no TrueType/OpenType header)"; goto fail; }
  if (index >= count) { *why = "face index beyond the collection"; goto fail; }
  f->hb_face = hb_face_create(f->blob, index);
  f->upem = hb_face_get_upem(f->hb_face);
  f->num_glyphs = hb_face_get_glyph_count(f->hb_face);
  if (f->num_glyphs == 0) { *why = "the font has no glyphs"; goto fail; }

  f->unicodes = hb_set_create();
  if (!hb_set_allocation_successful(f->unicodes)) { *why = "out of memory"; goto fail; }
  const char *fw = read_face_info(f);
  if (fw) { *why = fw; goto fail; }
  for (hb_codepoint_t c = 0; c < 256; c++)
    if (hb_set_has(f->unicodes, c)) f->latin1[c >> 6] |= (uint64_t)1 << (c & 63);
  /* symbolic (PDF FontDescriptor flag 3): glyphs outside the standard Latin
   * set, which is true of every face covering more than Latin-1. */
  f->symbolic = hb_set_get_max(f->unicodes) > 0xFF || hb_set_is_empty(f->unicodes);

  f->hb_font = hb_font_create(f->hb_face);
  hb_ot_font_set_funcs(f->hb_font);
  hb_font_set_scale(f->hb_font, (int)f->upem, (int)f->upem);
  hb_font_make_immutable(f->hb_font);
  hb_face_make_immutable(f->hb_face);
  f->hyphen_cp = hb_set_has(f->unicodes, 0x2010) ? 0x2010
               : hb_set_has(f->unicodes, 0x2D) ? 0x2D : 0;
  return f;
fail:
  ts_face_destroy(f);
  return NULL;
}

static void key_set(ts_buf *b, const hb_set_t *s) {
  size_t at = b->len;
  uint32_t n = 0;
  ts_buf_put_u32(b, 0);
  hb_codepoint_t a = HB_SET_VALUE_INVALID, z = HB_SET_VALUE_INVALID;
  while (hb_set_next_range(s, &a, &z)) {
    ts_buf_put_u32(b, a);
    ts_buf_put_u32(b, z);
    n++;
  }
  if (!b->oom) memcpy(b->data + at, &n, sizeof n);
}

int ts_face_subset_key(ts_buf *b, const ts_face *f, const hb_set_t *a, const hb_set_t *c) {
  if (!ts_dcache_key_file(b, f->path, f->index)) return 0;
  if (a) key_set(b, a);
  if (c) key_set(b, c);
  return !b->oom;
}
