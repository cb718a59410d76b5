/* fonts.c — the process-wide font cache (ctx slot TS_SLOT_FONTS): family
 * look-ups through fontconfig, faces loaded once per (file, index) and
 * shared read-only, role fontsets with the script fallbacks of
 * fonts/fallbacks.yaml.  Everything mutable is guarded by one mutex; the
 * faces themselves are immutable once published. */
#include "fonts/ts_fonts.h"

#include <fontconfig/fontconfig.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

typedef struct find_entry {
  char *family; /* owned, as asked */
  int weight, italic;
  const ts_face *face; /* NULL: not found (memoised too) */
} find_entry;

/* A fontset already built, keyed by its inputs' content (not by pointers:
 * a style freed and another loaded at the same address must not match). */
typedef struct set_entry {
  uint64_t hash;
  int weight, italic;
  char *key;       /* owned: "dir\x1ffamily\x1ffamily..." */
  ts_fontset fs;
} set_entry;

typedef struct fonts_cache {
  pthread_mutex_t lock;
  FcConfig *fc;          /* our own configuration: system fonts + app dirs */
  ts_face **faces;       /* owned, load order */
  size_t n_faces, cap_faces;
  find_entry *finds;
  size_t n_finds, cap_finds;
  char **dirs;           /* folders added to fc (owned strings) */
  size_t n_dirs;
  set_entry *sets;
  size_t n_sets, cap_sets;
  char **warned;         /* families already reported missing */
  size_t n_warned;
  int fb_loaded;
  char **fb_family[TS_ROLE_COUNT], **fb_package[TS_ROLE_COUNT];
  uint8_t *fb_script[TS_ROLE_COUNT];
  size_t n_fb[TS_ROLE_COUNT];
} fonts_cache;

static void cache_free(void *p)
{
  fonts_cache *c = p;
  if (!c) return;
  for (size_t i = 0; i < c->n_faces; i++) ts_face_destroy(c->faces[i]);
  free(c->faces);
  for (size_t i = 0; i < c->n_finds; i++) free(c->finds[i].family);
  free(c->finds);
  for (size_t i = 0; i < c->n_dirs; i++) free(c->dirs[i]);
  free(c->dirs);
  for (size_t i = 0; i < c->n_sets; i++) free(c->sets[i].key);
  free(c->sets);
  for (size_t i = 0; i < c->n_warned; i++) free(c->warned[i]);
  free(c->warned);
  for (int r = 0; r < TS_ROLE_COUNT; r++) {
    for (size_t i = 0; i < c->n_fb[r]; i++) {
      free(c->fb_family[r][i]);
      free(c->fb_package[r][i]);
    }
    free(c->fb_family[r]);
    free(c->fb_package[r]);
    free(c->fb_script[r]);
  }
  if (c->fc) FcConfigDestroy(c->fc);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

/* Adds a folder of font files to our fontconfig configuration (once). */
static void add_dir_locked(fonts_cache *c, const char *dir)
{
  if (!dir || !*dir) return;
  for (size_t i = 0; i < c->n_dirs; i++)
    if (!strcmp(c->dirs[i], dir)) return;
  char **nd = realloc(c->dirs, (c->n_dirs + 1) * sizeof *nd);
  if (!nd) return;
  c->dirs = nd;
  char *copy = strdup(dir);
  if (!copy) return;
  c->dirs[c->n_dirs++] = copy;
  if (FcConfigAppFontAddDir(c->fc, (const FcChar8 *)dir)) {
    /* families missing before may exist now: forget negative results */
    size_t k = 0;
    for (size_t i = 0; i < c->n_finds; i++) {
      if (c->finds[i].face) c->finds[k++] = c->finds[i];
      else free(c->finds[i].family);
    }
    c->n_finds = k;
    for (size_t i = 0; i < c->n_sets; i++) free(c->sets[i].key);
    c->n_sets = 0;
  }
}

static void *cache_create(ts_ctx *ctx)
{
  fonts_cache *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  if (pthread_mutex_init(&c->lock, NULL)) { free(c); return NULL; }
  c->fc = FcInitLoadConfigAndFonts();
  if (!c->fc) { cache_free(c); return NULL; }
  const char *dd = ts_ctx_data_dir(ctx);
  if (dd) {
    size_t n = strlen(dd) + 8;
    char *p = malloc(n);
    if (p) {
      snprintf(p, n, "%s/fonts", dd);
      add_dir_locked(c, p);
      free(p);
    }
  }
  return c;
}

static fonts_cache *get_cache(ts_ctx *ctx)
{
  return ts_ctx_slot(ctx, TS_SLOT_FONTS, cache_create, cache_free);
}

/* A face for (path, index), loaded at most once. */
static const ts_face *face_for_locked(fonts_cache *c, const char *path, unsigned index)
{
  for (size_t i = 0; i < c->n_faces; i++)
    if (c->faces[i]->index == index && !strcmp(c->faces[i]->path, path)) return c->faces[i];
  const char *why = NULL;
  ts_face *f = ts_face_load(path, index, &why);
  if (!f) return NULL;
  if (c->n_faces == c->cap_faces) {
    size_t nc = c->cap_faces ? c->cap_faces * 2 : 16;
    ts_face **nf = realloc(c->faces, nc * sizeof *nf);
    if (!nf) { ts_face_destroy(f); return NULL; }
    c->faces = nf;
    c->cap_faces = nc;
  }
  f->id = (uint32_t)c->n_faces + 1;
  c->faces[c->n_faces++] = f;
  return f;
}

/* Does one of the pattern's family names equal `family` (ASCII case-folded)? */
static int family_matches(FcPattern *p, const char *family)
{
  FcChar8 *s;
  for (int i = 0; FcPatternGetString(p, FC_FAMILY, i, &s) == FcResultMatch; i++)
    if (!strcasecmp((const char *)s, family)) return 1;
  return 0;
}

static const ts_face *find_locked(fonts_cache *c, const char *family, int weight, int italic)
{
  for (size_t i = 0; i < c->n_finds; i++) {
    find_entry *e = &c->finds[i];
    if (e->weight == weight && e->italic == italic && !strcasecmp(e->family, family))
      return e->face;
  }
  const ts_face *face = NULL;
  FcPattern *pat = FcPatternCreate();
  FcFontSet *set = NULL;
  if (!pat) goto memo;
  FcPatternAddString(pat, FC_FAMILY, (const FcChar8 *)family);
  FcPatternAddInteger(pat, FC_WEIGHT, FcWeightFromOpenType(weight));
  FcPatternAddInteger(pat, FC_SLANT, italic ? FC_SLANT_ITALIC : FC_SLANT_ROMAN);
  FcPatternAddBool(pat, FC_OUTLINE, FcTrue);
  FcConfigSubstitute(c->fc, pat, FcMatchPattern);
  FcDefaultSubstitute(pat);
  FcResult res;
  /* FcFontSort orders by closeness (family first, then style); the first
   * candidate whose family really is the one asked for wins, so an alias or
   * substitute (fontconfig's "DejaVu Sans" for anything) never passes. */
  set = FcFontSort(c->fc, pat, FcFalse, NULL, &res);
  for (int i = 0; set && i < set->nfont && !face; i++) {
    FcPattern *p = set->fonts[i];
    if (!family_matches(p, family)) continue;
    FcChar8 *file = NULL;
    int index = 0;
    if (FcPatternGetString(p, FC_FILE, 0, &file) != FcResultMatch) continue;
    FcPatternGetInteger(p, FC_INDEX, 0, &index);
    face = face_for_locked(c, (const char *)file, (unsigned)(index & 0xFFFF));
  }
memo:
  if (set) FcFontSetDestroy(set);
  if (pat) FcPatternDestroy(pat);
  if (c->n_finds == c->cap_finds) {
    size_t nc = c->cap_finds ? c->cap_finds * 2 : 32;
    find_entry *nf = realloc(c->finds, nc * sizeof *nf);
    if (!nf) return face;
    c->finds = nf;
    c->cap_finds = nc;
  }
  char *copy = strdup(family);
  if (!copy) return face;
  c->finds[c->n_finds++] = (find_entry){copy, weight, italic, face};
  return face;
}

const ts_face *ts_fonts_find(ts_ctx *ctx, const char *family, int weight, int italic)
{
  if (!ctx || !family || !*family) return NULL;
  fonts_cache *c = get_cache(ctx);
  if (!c) return NULL;
  pthread_mutex_lock(&c->lock);
  const ts_face *f = find_locked(c, family, weight, italic ? 1 : 0);
  pthread_mutex_unlock(&c->lock);
  return f;
}

/* ---- fonts/fallbacks.yaml ---------------------------------------------- */

static const char *const role_key[TS_ROLE_COUNT] = {"body", "heading", "mono"};
static const char *const script_key[TS_FB_COUNT] = {"", "latin", "arabic", "hebrew",
                                                    "devanagari", "cjk", "symbols"};

static const char *scalar(yaml_node_t *n)
{
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Loads the fallbacks once.  The file's shape is fixed (mapping of role →
 * sequence of mappings), so the walk is three flat loops, no recursion. */
static void load_fallbacks_locked(fonts_cache *c, ts_ctx *ctx, ts_diag *d)
{
  if (c->fb_loaded) return;
  c->fb_loaded = 1;
  const char *dd = ts_ctx_data_dir(ctx);
  size_t pn = strlen(dd ? dd : ".") + 32;
  char *path = malloc(pn);
  if (!path) return;
  snprintf(path, pn, "%s/fonts/fallbacks.yaml", dd ? dd : ".");
  size_t len = 0;
  char *text = ts_file_read(path, &len, 1 << 20);
  if (!text) {
    if (d) ts_diag_report(d, TS_WARNING, path, 0, 0, "cannot read the font fallbacks");
    free(path);
    return;
  }
  yaml_parser_t parser;
  yaml_document_t doc;
  int have_doc = 0;
  if (!yaml_parser_initialize(&parser)) goto out_text;
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load(&parser, &doc)) {
    if (d)
      ts_diag_report(d, TS_WARNING, path, (unsigned)parser.problem_mark.line + 1,
                     (unsigned)parser.problem_mark.column + 1, "%s",
                     parser.problem ? parser.problem : "YAML error");
    goto out_parser;
  }
  have_doc = 1;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root || root->type != YAML_MAPPING_NODE) goto out_parser;
  for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
    const char *key = scalar(yaml_document_get_node(&doc, pr->key));
    yaml_node_t *seq = yaml_document_get_node(&doc, pr->value);
    int role = -1;
    for (int r = 0; r < TS_ROLE_COUNT && key; r++)
      if (!strcmp(key, role_key[r])) role = r;
    if (role < 0 || !seq || seq->type != YAML_SEQUENCE_NODE) {
      if (d)
        ts_diag_report(d, TS_WARNING, path, (unsigned)yaml_document_get_node(&doc, pr->key)->start_mark.line + 1, 0,
                       "unknown role '%s' in font fallbacks", key ? key : "?");
      continue;
    }
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
      yaml_node_t *m = yaml_document_get_node(&doc, *it);
      if (!m || m->type != YAML_MAPPING_NODE) continue;
      const char *fam = NULL, *pkg = NULL, *scr = NULL;
      for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < m->data.mapping.pairs.top; q++) {
        const char *k = scalar(yaml_document_get_node(&doc, q->key));
        const char *v = scalar(yaml_document_get_node(&doc, q->value));
        if (!k || !v) continue;
        if (!strcmp(k, "family")) fam = v;
        else if (!strcmp(k, "package")) pkg = v;
        else if (!strcmp(k, "script")) scr = v;
      }
      if (!fam) continue;
      size_t n = c->n_fb[role];
      char **nf = realloc(c->fb_family[role], (n + 1) * sizeof *nf);
      if (!nf) goto out_parser;
      c->fb_family[role] = nf;
      char **np = realloc(c->fb_package[role], (n + 1) * sizeof *np);
      if (!np) goto out_parser;
      c->fb_package[role] = np;
      uint8_t *ns = realloc(c->fb_script[role], (n + 1) * sizeof *ns);
      if (!ns) goto out_parser;
      c->fb_script[role] = ns;
      ns[n] = TS_FB_SYMBOLS;
      for (int k = 1; k < TS_FB_COUNT && scr; k++)
        if (!strcmp(scr, script_key[k])) ns[n] = (uint8_t)k;
      char *f2 = strdup(fam), *p2 = strdup(pkg ? pkg : "?");
      if (!f2 || !p2) { free(f2); free(p2); goto out_parser; }
      nf[n] = f2;
      np[n] = p2;
      c->n_fb[role] = n + 1;
    }
  }
out_parser:
  if (have_doc) yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
out_text:
  free(text);
  free(path);
}

size_t ts_fonts_fallbacks(ts_ctx *ctx, ts_role role, const char *const **families,
                          const char *const **packages)
{
  fonts_cache *c = get_cache(ctx);
  if (!c || (unsigned)role >= TS_ROLE_COUNT) return 0;
  pthread_mutex_lock(&c->lock);
  load_fallbacks_locked(c, ctx, NULL);
  if (families) *families = (const char *const *)c->fb_family[role];
  if (packages) *packages = (const char *const *)c->fb_package[role];
  size_t n = c->n_fb[role];
  pthread_mutex_unlock(&c->lock);
  return n;
}

static void warn_missing_locked(fonts_cache *c, ts_diag *d, const char *family, const char *package)
{
  for (size_t i = 0; i < c->n_warned; i++)
    if (!strcasecmp(c->warned[i], family)) return;
  char **nw = realloc(c->warned, (c->n_warned + 1) * sizeof *nw);
  if (!nw) return;
  c->warned = nw;
  char *copy = strdup(family);
  if (!copy) return;
  c->warned[c->n_warned++] = copy;
  if (!d) return;
  if (package)
    ts_diag_report(d, TS_WARNING, NULL, 0, 0,
                   "font family \"%s\" not found (Debian package %s provides it)", family, package);
  else
    ts_diag_report(d, TS_WARNING, NULL, 0, 0, "font family \"%s\" not found", family);
}

static void set_add(ts_fontset *out, const ts_face *f, int script)
{
  if (!f) return;
  for (int i = 0; i < out->n; i++)
    if (out->faces[i] == f) return;
  if (out->n < (int)(sizeof out->faces / sizeof out->faces[0])) {
    out->script[out->n] = (uint8_t)script;
    out->faces[out->n++] = f;
  }
}

/* The memo key of a fontset request (malloc'd) or NULL on OOM. */
static char *set_key(const ts_font_role *role, const char *extra_dir, size_t *len)
{
  ts_buf b;
  ts_buf_init(&b);
  ts_buf_puts(&b, extra_dir ? extra_dir : "");
  for (int i = 0; role && i < role->n_families && i < TS_STYLE_MAX_FAMILIES; i++) {
    ts_buf_putc(&b, 0x1f);
    ts_buf_puts(&b, role->families[i] ? role->families[i] : "");
  }
  ts_buf_putc(&b, 0);
  if (b.oom) {
    ts_buf_free(&b);
    return NULL;
  }
  return ts_buf_detach(&b, len);
}

ts_status ts_fonts_fontset(ts_ctx *ctx, const ts_font_role *role, int weight, int italic,
                           const char *extra_dir, ts_diag *d, ts_fontset *out)
{
  memset(out, 0, sizeof *out);
  fonts_cache *c = get_cache(ctx);
  if (!c) return TS_ERR_NOMEM;
  if (weight <= 0) weight = 400;
  italic = italic ? 1 : 0;
  size_t klen = 0;
  char *key = set_key(role, extra_dir, &klen);
  if (!key) return TS_ERR_NOMEM;
  uint64_t h = ts_hash64(key, klen, (uint64_t)weight * 2 + (uint64_t)italic);
  pthread_mutex_lock(&c->lock);
  for (size_t i = 0; i < c->n_sets; i++) {
    set_entry *e = &c->sets[i];
    if (e->hash == h && e->weight == weight && e->italic == italic && !strcmp(e->key, key)) {
      *out = e->fs;
      pthread_mutex_unlock(&c->lock);
      free(key);
      return out->n > 0 ? TS_OK : TS_ERR_FONT;
    }
  }
  add_dir_locked(c, extra_dir);
  load_fallbacks_locked(c, ctx, d);
  int r = TS_ROLE_BODY;
  if (role) {
    for (int i = 0; i < role->n_families && i < TS_STYLE_MAX_FAMILIES; i++) {
      const char *fam = role->families[i];
      if (!fam || !*fam) continue;
      const ts_face *f = find_locked(c, fam, weight, italic);
      if (!f) warn_missing_locked(c, d, fam, NULL);
      set_add(out, f, TS_FB_NONE);
    }
    /* The flavour of the fallbacks follows the role's first face: fixed
     * pitch → mono, sans (PANOSE or name) → heading, else body. */
    if (out->n > 0 && out->faces[0]->fixed_pitch) r = TS_ROLE_MONO;
    else if (out->n > 0 && !out->faces[0]->serif) r = TS_ROLE_HEADING;
  }
  for (size_t i = 0; i < c->n_fb[r]; i++) {
    const ts_face *f = find_locked(c, c->fb_family[r][i], weight, italic);
    if (!f) warn_missing_locked(c, d, c->fb_family[r][i], c->fb_package[r][i]);
    set_add(out, f, c->fb_script[r][i]);
  }
  if (c->n_sets == c->cap_sets) {
    size_t nc = c->cap_sets ? c->cap_sets * 2 : 16;
    set_entry *ns = realloc(c->sets, nc * sizeof *ns);
    if (ns) {
      c->sets = ns;
      c->cap_sets = nc;
    }
  }
  if (c->n_sets < c->cap_sets) {
    c->sets[c->n_sets++] = (set_entry){h, weight, italic, key, *out};
    key = NULL;
  }
  pthread_mutex_unlock(&c->lock);
  free(key);
  return out->n > 0 ? TS_OK : TS_ERR_FONT;
}

ts_fb_script ts_fb_script_of(uint32_t cp)
{
  switch (hb_unicode_script(hb_unicode_funcs_get_default(), cp)) {
  case HB_SCRIPT_LATIN: case HB_SCRIPT_CYRILLIC: case HB_SCRIPT_GREEK:
    return TS_FB_LATIN;
  case HB_SCRIPT_ARABIC: return TS_FB_ARABIC;
  case HB_SCRIPT_HEBREW: return TS_FB_HEBREW;
  case HB_SCRIPT_DEVANAGARI: return TS_FB_DEVANAGARI;
  case HB_SCRIPT_HAN: case HB_SCRIPT_HIRAGANA: case HB_SCRIPT_KATAKANA:
  case HB_SCRIPT_HANGUL: case HB_SCRIPT_BOPOMOFO:
    return TS_FB_CJK;
  default: return TS_FB_NONE;
  }
}

const ts_face *ts_fontset_pick(const ts_fontset *fs, uint32_t cp)
{
  if (!fs || fs->n == 0) return NULL;
  int i = 0;
  for (; i < fs->n && fs->script[i] == TS_FB_NONE; i++)
    if (hb_set_has(fs->faces[i]->unicodes, cp)) return fs->faces[i];
  ts_fb_script sc = ts_fb_script_of(cp);
  if (sc != TS_FB_NONE)
    for (int j = i; j < fs->n; j++)
      if (fs->script[j] == sc && hb_set_has(fs->faces[j]->unicodes, cp)) return fs->faces[j];
  for (int j = i; j < fs->n; j++)
    if (hb_set_has(fs->faces[j]->unicodes, cp)) return fs->faces[j];
  return fs->faces[0];
}
