/* ts_fonts.h — faces found by family and style through fontconfig (plus
 * typeset's fonts/ folder and a style's folder), loaded once per process
 * with FreeType (names, metrics, CID mapping) and HarfBuzz (shaping,
 * coverage), cached in the context and shared read-only between documents
 * and threads.  TrueType, CFF/OpenType and TTC collections. */
#ifndef TS_FONTS_H
#define TS_FONTS_H

#include "../core/ts_core.h"
#include "../style/ts_style.h"
#include "../fonts/hb_api.h"

/* One loaded face.  Immutable after loading: safe to share between threads
 * (hb_font is made immutable; FreeType data is read at load time only, so no
 * FT_Face is kept for later use). */
typedef struct ts_face {
  char *path;            /* file */
  unsigned index;        /* face index in a collection */
  char *family;          /* family name */
  char *style;           /* style name ("Bold Italic") */
  char *psname;          /* PostScript name (no spaces), "Unknown" if none */
  int weight;            /* 400 regular, 700 bold (OS/2 usWeightClass) */
  int italic;
  /* HarfBuzz's objects: read them through ts_face_font, ts_face_hbface
   * and ts_face_blob, which make them on first use (a face the face cache
   * described has opened neither its file nor HarfBuzz).  Owned. */
  hb_blob_t *lazy_blob;  /* the whole file */
  hb_face_t *lazy_face;
  hb_font_t *lazy_font;  /* scale = upem: advances come in font units; set
                            last (release store): non-NULL, all three are */
  unsigned upem;
  unsigned num_glyphs;
  /* metrics in font units */
  int ascender, descender, line_gap, cap_height, x_height;
  int bbox[4];           /* xMin yMin xMax yMax */
  int italic_angle;      /* degrees */
  int fixed_pitch, serif, symbolic;
  int is_cff;            /* outlines in a CFF table (OpenType/CFF) */
  int is_cid;            /* CID-keyed CFF (Noto CJK) */
  uint16_t *gid_to_cid;  /* is_cid: CFF CID per glyph id (num_glyphs entries) */
  ts_cpset unicodes;     /* code points the cmap covers */
  uint64_t latin1[4];    /* the same for U+0000..U+00FF as bits (bit cp of word cp/64):
                          * asked for nearly every character of a text */
  uint32_t id;           /* small number within the cache, in load order (0 for
                            faces loaded outside a cache).  Load order depends
                            on thread timing: never write it to an output —
                            use path + index or psname there. */
  /* GSUB features looked up once at load (for synthesis decisions) */
  int has_smcp, has_sups, has_subs;
  int no_embed;          /* OS/2 fsType forbids embedding (restricted license) */
  uint32_t hyphen_cp;    /* U+2010 when covered, else U+002D (0 if neither) */
} ts_face;

/* Loads a face from a file: returns owned (free with ts_face_destroy). NULL
 * when the file is not a font (*why says why). Independent of any cache. */
ts_face *ts_face_load(const char *path, unsigned index, const char **why);
void ts_face_destroy(ts_face *f);

/* 1 if the face's cmap covers cp (NULL face: 0). */
static inline int ts_face_has(const ts_face *f, uint32_t cp) {
  if (!f) return 0;
  if (cp < 256) return (int)((f->latin1[cp >> 6] >> (cp & 63)) & 1);
  return ts_cpset_has(&f->unicodes, cp);
}

/* HarfBuzz's font of f (scale = upem), made on first use: its file read
 * and checked against what the face cache told (thread-safe; without a
 * lock once made).  Call ts_hb_open first: NULL when HarfBuzz is not open.
 * When the file cannot be read again (gone, or changed since the face was
 * loaded) the objects are HarfBuzz's empty ones, which have no glyphs, and
 * ts_face_unreadable says so: a run checks it before writing anything. */
hb_font_t *ts_face_make_hb(const ts_face *f);
static inline hb_font_t *ts_face_font(const ts_face *f) {
  hb_font_t *font = __atomic_load_n(&f->lazy_font, __ATOMIC_ACQUIRE);
  return font ? font : ts_face_make_hb(f);
}
/* The same face's hb_face_t and the file's blob (the same conditions). */
static inline hb_face_t *ts_face_hbface(const ts_face *f) {
  return ts_face_font(f) ? f->lazy_face : NULL;
}
static inline hb_blob_t *ts_face_blob(const ts_face *f) {
  return ts_face_font(f) ? f->lazy_blob : NULL;
}
/* 1 when a face's file could not be read again for its HarfBuzz objects
 * in this process (its path into path[0..n)), else 0. */
int ts_face_unreadable(char *path, size_t n);
/* TS_OK; or, when HarfBuzz could not be opened to read a face (which was
 * then taken for missing), that error on d and TS_ERR_INTERNAL; or, when
 * ts_face_unreadable, an error at the file on d and TS_ERR_FONT.  For a
 * writer's last step. */
ts_status ts_face_check_readable(ts_diag *d);
/* 1 when the face's GSUB or GPOS lists the feature (any script). */
int ts_face_has_feature(const ts_face *f, hb_tag_t tag);
/* Advance of glyph gid in font units. */
int ts_face_advance(const ts_face *f, uint32_t gid);

/* Refuses a style's folder holding a file named like a font (.ttf, .otf,
 * .ttc, .otc; not a hidden one) that fontconfig cannot read: one error at
 * each such file in d, TS_ERR_INPUT.  dir NULL (the built-in style): TS_OK. */
ts_status ts_fonts_check_dir(ts_ctx *ctx, const char *dir, ts_diag *d);

/* The process-wide font cache lives in ctx (TS_SLOT_FONTS).
 * Finds the face of `family` closest to weight/italic (fontconfig match,
 * family name must match).  Borrowed from the cache (valid until
 * ts_ctx_destroy). NULL when no such family exists. */
const ts_face *ts_fonts_find(ts_ctx *ctx, const char *family, int weight,
                             int italic);
/* Sets up the context's font cache now: the answers kept from earlier runs
 * (fonts.c, "The answers' memo") and, when there are none, fontconfig's
 * configuration (the font folders' caches read) and the family index —
 * what the first look-up would otherwise do.  For a thread that starts it
 * early; the results never depend on who did it. */
void ts_fonts_prepare(ts_ctx *ctx);
/* 1 once the context's font cache has set fontconfig up (an answer was not
 * in the memo, or a style's folder of fonts was added), else 0.  For tests
 * and diagnostics: the answers are the same either way. */
int ts_fonts_fontconfig_used(ts_ctx *ctx);
/* The same, telling a missing family (TS_OK, *out NULL) from running out of
 * memory on the way (TS_ERR_NOMEM, *out NULL). */
ts_status ts_fonts_lookup(ts_ctx *ctx, const char *family, int weight, int italic,
                          const ts_face **out);

/* A role's face set for one style: the role's families in order, then the
 * script fallbacks of fonts/fallbacks.yaml (Arabic, Hebrew, Devanagari, CJK,
 * symbols) of the flavour of the role's first face (fixed pitch → mono, sans
 * → heading, else body).  The font files directly in `extra_dir` (a
 * style's folder; not its subfolders) are added to the process's fonts (so
 * their families are visible to later look-ups too).  Missing families are reported once per process as warnings to d.
 * Results are memoised by content (families, weight, slant, folder). */
/* Script classes of the fallbacks (the `script:` keys of fallbacks.yaml). */
typedef enum ts_fb_script {
  TS_FB_NONE = 0, /* the role's own families: used for every script */
  TS_FB_LATIN,    /* Latin, Cyrillic, Greek */
  TS_FB_ARABIC,
  TS_FB_HEBREW,
  TS_FB_DEVANAGARI,
  TS_FB_CJK,      /* Han, Hiragana, Katakana, Hangul, Bopomofo */
  TS_FB_SYMBOLS,
  TS_FB_COUNT
} ts_fb_script;

/* The class of a code point's script (TS_FB_NONE for common characters:
 * punctuation, digits, spaces). */
ts_fb_script ts_fb_script_of(uint32_t cp);

#define TS_FONTSET_MAX 32
struct ts_fontset_fb; /* the cache's lazily loaded fallbacks (opaque) */
typedef struct ts_fontset {
  /* Borrowed from the cache.  faces[0] (the role's first family found) is
   * always loaded; the role's later families and the script fallbacks are
   * NULL until first needed: read faces through ts_fontset_face, which
   * loads them then (so an English paper set in its first family never
   * loads the others, nor the CJK, Arabic... faces). */
  const ts_face *faces[TS_FONTSET_MAX];
  uint8_t script[TS_FONTSET_MAX]; /* ts_fb_script of each face (TS_FB_NONE: role family) */
  int n;                          /* entries, role faces and fallbacks */
  struct ts_fontset_fb *fb;       /* borrowed from the cache: the lazy fallbacks */
} ts_fontset;
ts_status ts_fonts_fontset(ts_ctx *ctx, const ts_font_role *role, int weight,
                           int italic, const char *extra_dir, ts_diag *d,
                           ts_fontset *out);

/* The fallbacks of fonts/fallbacks.yaml for a role, as loaded (for reports):
 * family i in *families[i], package in *packages[i]; returns the count.
 * Borrowed from the cache. */
size_t ts_fonts_fallbacks(ts_ctx *ctx, ts_role role, const char *const **families,
                          const char *const **packages);

/* Whose fallbacks (body, heading or mono) the set took: the flavour of
 * its role's first face. */
ts_role ts_fontset_flavour(const ts_fontset *fs);

/* The Debian package of a fallback, not installed, made for cp's script
 * (symbols for common characters; none for a script without fallbacks):
 * among the role's fallbacks for that script, or the other roles' when the
 * role has none.  Written to pkg (n
 * bytes, cut when longer); 1 when there is one, 0 when those fallbacks are
 * all installed. */
int ts_fonts_provider(ts_ctx *ctx, ts_role role, uint32_t cp, char *pkg, size_t n);

/* The face of the role's first family found at weight/italic, and that
 * family (borrowed from role) in *family; each of the role's families not
 * found is told missing on d (once a run: ts_diag.run).  *out NULL when none
 * is found (TS_OK) or memory ran out (TS_ERR_NOMEM). */
ts_status ts_fonts_role_face(ts_ctx *ctx, const ts_font_role *role, int weight, int italic,
                             ts_diag *d, const ts_face **out, const char **family);

/* The face for cp: the first of the role's families that covers it, else the
 * first fallback made for cp's script class that covers it (so Arabic goes
 * to the Arabic fallback even when the Latin fallback has Arabic glyphs),
 * else the first face that covers it, else the set's first face. */
const ts_face *ts_fontset_pick(const ts_fontset *fs, uint32_t cp);
/* 1 (once) when a face of the fontset could not be loaded for want of
 * memory since the last call: ts_fontset_pick then answered without it, and
 * the caller fails with TS_ERR_NOMEM rather than set text in another face. */
int ts_fontset_nomem(const ts_fontset *fs);

/* Entry i of the set (0 <= i < n), loading a fallback face on first use
 * (thread-safe; borrowed from the cache).  NULL when i is out of range or
 * the face cannot be loaded. */
const ts_face *ts_fontset_face(const ts_fontset *fs, int i);

/* Appends a cache key for face f's subset to b: the face's font file
 * (ts_dcache_key_file) then the sets given (NULL ones skipped), each as its
 * count of ranges and the ranges.  0 when the file cannot be stat'ed. */
int ts_face_subset_key(ts_buf *b, const ts_face *f, const ts_cpset *a, const ts_cpset *c);

#endif
