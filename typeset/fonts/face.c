/* face.c — loading one face: names, metrics, characters and features from
 * the face cache when it has them (no file opened, nor FreeType or
 * HarfBuzz), else from the font with FreeType (names, metrics, the CID
 * mapping of CID-keyed CFF fonts) and HarfBuzz; HarfBuzz's objects for
 * shaping and subsetting are made on first use (ts_face_font).  No FT_Face
 * outlives ts_face_load, and the HarfBuzz objects are immutable once made,
 * so a loaded face can be shared by threads. */
#include "fonts/ts_fonts.h"

#include "fonts/ft_api.h"
#include "fonts/hb_api.h"
#include <pthread.h>
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

/* What could not be read again (ts_face_unreadable): the first face file,
 * or HarfBuzz itself for a face no cache described.  One lock for every
 * face's HarfBuzz objects too: each is made once a process. */
static pthread_mutex_t hb_make_lock = PTHREAD_MUTEX_INITIALIZER;
static char *unreadable;      /* owned; under the lock */
static const char *lib_error; /* ts_hb_open's reason (static); under the lock */

/* Notes a face file that failed (path) or HarfBuzz's failure (why). */
static void note_failure(const char *path, const char *why) {
  pthread_mutex_lock(&hb_make_lock);
  if (path && !unreadable) unreadable = strdup(path);
  if (why && !lib_error) lib_error = why;
  pthread_mutex_unlock(&hb_make_lock);
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
  hb_face_t *face = ts_face_hbface(f);
  return face && (table_has_feature(face, HB_OT_TAG_GSUB, tag) ||
                  table_has_feature(face, HB_OT_TAG_GPOS, tag));
}

int ts_face_advance(const ts_face *f, uint32_t gid)
{
  hb_font_t *font = f ? ts_face_font(f) : NULL;
  return font ? (int)hb_font_get_glyph_h_advance(font, gid) : 0;
}

void ts_face_destroy(ts_face *f)
{
  if (!f) return;
  free(f->path);
  free(f->family);
  free(f->style);
  free(f->psname);
  free(f->gid_to_cid);
  ts_cpset_free(&f->unicodes);
  /* made only with HarfBuzz open */
  if (f->lazy_font) hb_font_destroy(f->lazy_font);
  if (f->lazy_face) hb_face_destroy(f->lazy_face);
  if (f->lazy_blob) hb_blob_destroy(f->lazy_blob);
  free(f);
}

/* Reads what we need from FreeType into f; returns NULL or a reason. */
static const char *read_freetype(ts_face *f)
{
  FT_Library lib = NULL;
  FT_Face ft = NULL;
  const char *why = NULL;
  unsigned len = 0;
  const char *data = hb_blob_get_data(f->lazy_blob, &len);

  /* One FT_Library per load: FreeType libraries are not thread-safe, and
   * loads happen rarely (once per face per process). */
  if (!ts_ft_open(&why)) { /* opened by the first face no cache described */
    note_failure(NULL, why);
    return why;
  }
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
  hb_face_t *face = f->lazy_face;
  hb_blob_t *cff = hb_face_reference_table(face, HB_TAG('C', 'F', 'F', ' '));
  hb_blob_t *cff2 = hb_face_reference_table(face, HB_TAG('C', 'F', 'F', '2'));
  f->is_cff = hb_blob_get_length(cff) > 0 || hb_blob_get_length(cff2) > 0;
  hb_blob_destroy(cff);
  hb_blob_destroy(cff2);
  /* OS/2 fsType: "restricted license embedding" forbids embedding (the
   * EPUB then names the font without it) */
  hb_blob_t *os2 = hb_face_reference_table(face, HB_TAG('O', 'S', '/', '2'));
  unsigned olen = 0;
  const unsigned char *o = (const unsigned char *)hb_blob_get_data(os2, &olen);
  f->no_embed = o && olen >= 10 && (((unsigned)o[8] << 8 | o[9]) & 0x000F) == 0x0002;
  hb_blob_destroy(os2);
  hb_set_t *u = hb_set_create();
  hb_face_collect_unicodes(face, u);
  int ok = hb_set_allocation_successful(u);
  for (hb_codepoint_t a = HB_SET_VALUE_INVALID, z = HB_SET_VALUE_INVALID;
       ok && hb_set_next_range(u, &a, &z);)
    ok = ts_cpset_add_range(&f->unicodes, a, z);
  hb_set_destroy(u);
  if (!ok) return "out of memory";
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
 * face here.  So the result is kept (dcache kind "face"), keyed by the font
 * file's identity (path, index, size, times, inode: ts_dcache_key_file) and
 * the versions; a damaged or foreign entry is a miss, and then FreeType and
 * HarfBuzz read the font again.  A hit opens neither the file nor HarfBuzz:
 * an EPUB needs nothing else of a face whose subset the caches hold.
 * HarfBuzz's version is its headers' (HB_VERSION_STRING; asking the library
 * would load it): Debian rebuilds typeset with a new HarfBuzz, and a stable
 * release keeps its upstream version. */
#define FACE_RECIPE 3
#define FACE_NINTS 21
#define FACE_NFLAGS 5 /* the last ints: is_cff, the three features, no_embed */
#define FACE_MAX_RANGES (1u << 20)

static int face_key(ts_buf *k, const ts_face *f) {
  char recipe[160];
  int rn = snprintf(recipe, sizeof recipe,
                    "TSFACE typeset %s freetype %d.%d.%d harfbuzz %s recipe %d", TS_VERSION,
                    FREETYPE_MAJOR, FREETYPE_MINOR, FREETYPE_PATCH, HB_VERSION_STRING,
                    FACE_RECIPE);
  if (rn <= 0 || (size_t)rn >= sizeof recipe) return 0;
  ts_buf_put_u32(k, (uint32_t)rn);
  ts_buf_append(k, recipe, (size_t)rn);
  return ts_dcache_key_file(k, f->path, f->index) && !k->oom;
}

static void face_ints(ts_face *f, int **v) {
  int *p[FACE_NINTS] = {&f->weight, &f->italic, &f->ascender, &f->descender, &f->line_gap,
                        &f->cap_height, &f->x_height, &f->bbox[0], &f->bbox[1], &f->bbox[2],
                        &f->bbox[3], &f->italic_angle, &f->fixed_pitch, &f->serif,
                        (int *)&f->upem, (int *)&f->num_glyphs,
                        &f->is_cff, &f->has_smcp, &f->has_sups, &f->has_subs, &f->no_embed};
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
  ts_buf_put_u32(&b, (uint32_t)f->unicodes.n);
  for (size_t i = 0; i < f->unicodes.n; i++) {
    ts_buf_put_u32(&b, f->unicodes.r[i].lo);
    ts_buf_put_u32(&b, f->unicodes.r[i].hi);
  }
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
  uint32_t n_ranges = ts_rd_u32(&r), prev = 0;
  if (n_ranges > FACE_MAX_RANGES) r.bad = 1;
  /* the ranges as ts_cpset keeps them: sorted, apart */
  for (uint32_t i = 0; i < n_ranges && !r.bad; i++) {
    uint32_t a = ts_rd_u32(&r), z = ts_rd_u32(&r);
    int ok = a <= z && z <= 0x10FFFF && (i == 0 || a > prev + 1);
    if (!ok || !ts_cpset_add_range(&t.unicodes, a, z)) r.bad = 1;
    prev = z;
  }
  for (int i = 0; i < FACE_NFLAGS; i++)
    if ((unsigned)*iv[FACE_NINTS - FACE_NFLAGS + i] > 1) r.bad = 1;
  if (t.upem < 16 || t.upem > 16384 || t.num_glyphs == 0 || t.num_glyphs > 65536) r.bad = 1;
  uint32_t cid = ts_rd_u32(&r);
  size_t mlen = (size_t)t.num_glyphs * sizeof *t.gid_to_cid;
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
    ts_cpset_free(&t.unicodes);
    return 0;
  }
  *f = t;
  return 1;
}

/* Opens f's file with HarfBuzz (open): its blob, face and font (scale =
 * upem), each owned by the caller.  NULL or a reason (nothing made). */
static const char *open_hb(const ts_face *f, hb_blob_t **bp, hb_face_t **fp, hb_font_t **np) {
  hb_blob_t *blob = hb_blob_create_from_file_or_fail(f->path);
  if (!blob) return "cannot read the file";
  /* hb_face_count recognises sfnt headers (TrueType, OpenType, TTC) and
   * returns 0 for anything else. */
  unsigned count = hb_face_count(blob);
  const char *why = count == 0         ? "not a font file (no TrueType/OpenType header)"
                    : f->index >= count ? "face index beyond the collection"
                                        : NULL;
  if (why) {
    hb_blob_destroy(blob);
    return why;
  }
  hb_face_t *face = hb_face_create(blob, f->index);
  unsigned upem = hb_face_get_upem(face);
  hb_font_t *font = hb_font_create(face);
  hb_ot_font_set_funcs(font);
  hb_font_set_scale(font, (int)upem, (int)upem);
  hb_font_make_immutable(font);
  hb_face_make_immutable(face);
  *bp = blob;
  *fp = face;
  *np = font;
  return NULL;
}

/* f's names, metrics, CID map, character set and features: from the cache
 * folder, else (HarfBuzz opened, and f's HarfBuzz objects made) from
 * FreeType and HarfBuzz, and then kept there. */
static const char *read_face_info(ts_face *f) {
  ts_buf key;
  ts_buf_init(&key);
  const char *why = NULL;
  int have_key = ts_dcache_enabled() && face_key(&key, f);
  if (!have_key || !face_get(f, &key)) {
    hb_font_t *font = NULL;
    if (ts_hb_open(&why)) why = open_hb(f, &f->lazy_blob, &f->lazy_face, &font);
    else note_failure(NULL, why);
    if (!why) {
      f->lazy_font = font; /* not shared yet: a plain store */
      f->upem = hb_face_get_upem(f->lazy_face);
      f->num_glyphs = hb_face_get_glyph_count(f->lazy_face);
      if (f->num_glyphs == 0) why = "the font has no glyphs";
    }
    if (!why) why = read_freetype(f);
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
  ts_cpset_init(&f->unicodes);
  f->path = xstrdup(path);
  if (!f->path) { *why = "out of memory"; goto fail; }
  const char *fw = read_face_info(f);
  if (fw) { *why = fw; goto fail; }
  for (size_t i = 0; i < f->unicodes.n && f->unicodes.r[i].lo < 256; i++)
    for (uint32_t c = f->unicodes.r[i].lo; c <= f->unicodes.r[i].hi && c < 256; c++)
      f->latin1[c >> 6] |= (uint64_t)1 << (c & 63);
  /* symbolic (PDF FontDescriptor flag 3): glyphs outside the standard Latin
   * set, which is true of every face covering more than Latin-1. */
  f->symbolic = ts_cpset_max(&f->unicodes) > 0xFF || f->unicodes.n == 0;
  f->hyphen_cp = ts_cpset_has(&f->unicodes, 0x2010) ? 0x2010
               : ts_cpset_has(&f->unicodes, 0x2D) ? 0x2D : 0;
  return f;
fail:
  ts_face_destroy(f);
  return NULL;
}

/* ---- HarfBuzz's objects, made on first use ------------------------------ */

hb_font_t *ts_face_make_hb(const ts_face *cf) {
  /* the objects are written once, under the lock, and published by the
   * release store of lazy_font (ts_face_font's acquire load) */
  ts_face *f = (ts_face *)cf;
  pthread_mutex_lock(&hb_make_lock);
  hb_font_t *font = f->lazy_font;
  if (!font && ts_hb_open(NULL)) {
    hb_blob_t *blob = NULL;
    hb_face_t *face = NULL;
    const char *why = open_hb(f, &blob, &face, &font);
    if (!why && (hb_face_get_upem(face) != f->upem ||
                 hb_face_get_glyph_count(face) != f->num_glyphs)) {
      hb_font_destroy(font);
      hb_face_destroy(face);
      hb_blob_destroy(blob);
      why = "the file changed";
    }
    if (why) { /* HarfBuzz's empty objects: no glyphs; ts_face_unreadable tells */
      blob = hb_blob_get_empty();
      face = hb_face_get_empty();
      font = hb_font_get_empty();
      if (!unreadable) unreadable = strdup(f->path); /* the lock is held */
    }
    f->lazy_blob = blob;
    f->lazy_face = face;
    __atomic_store_n(&f->lazy_font, font, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&hb_make_lock);
  return font;
}

int ts_face_unreadable(char *path, size_t n) {
  pthread_mutex_lock(&hb_make_lock);
  int r = unreadable != NULL;
  if (r && n) (void)snprintf(path, n, "%s", unreadable);
  pthread_mutex_unlock(&hb_make_lock);
  return r;
}

ts_status ts_face_check_readable(ts_diag *d) {
  pthread_mutex_lock(&hb_make_lock);
  const char *lib = lib_error;
  pthread_mutex_unlock(&hb_make_lock);
  if (lib) { /* faces were taken for missing: the run fails instead */
    ts_diag_report(d, TS_ERROR, NULL, 0, 0, "%s", lib);
    return TS_ERR_INTERNAL;
  }
  char path[1024];
  if (!ts_face_unreadable(path, sizeof path)) return TS_OK;
  ts_diag_report(d, TS_ERROR, path, 0, 0,
                 "cannot read the font again: the file changed or went during the run");
  return TS_ERR_FONT;
}

static void key_set(ts_buf *b, const ts_cpset *s) {
  ts_buf_put_u32(b, (uint32_t)s->n);
  for (size_t i = 0; i < s->n; i++) {
    ts_buf_put_u32(b, s->r[i].lo);
    ts_buf_put_u32(b, s->r[i].hi);
  }
}

int ts_face_subset_key(ts_buf *b, const ts_face *f, const ts_cpset *a, const ts_cpset *c) {
  if (!ts_dcache_key_file(b, f->path, f->index)) return 0;
  if (a) key_set(b, a);
  if (c) key_set(b, c);
  return !b->oom;
}
