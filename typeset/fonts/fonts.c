/* fonts.c — the process-wide font cache (ctx slot TS_SLOT_FONTS): family
 * look-ups through fontconfig, faces loaded once per (file, index) and
 * shared read-only, role fontsets with the script fallbacks of
 * fonts/fallbacks.yaml.  Everything mutable is guarded by one mutex; the
 * faces themselves are immutable once published. */
#include "fonts/ts_fonts.h"

#include <dirent.h>
#include <fontconfig/fontconfig.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unicode/uscript.h>
#include <unistd.h>
#include <yaml.h>

/* A face that answers a family look-up: its file and its index there. */
typedef struct cand {
  char *file; /* owned */
  unsigned index;
} cand;

/* A family look-up: the faces of the family, best first (fontconfig's
 * order), and the face loaded from them once asked for. */
typedef struct find_entry {
  char *family; /* owned, as asked */
  int weight, italic;
  cand *cands;         /* owned: the family's faces, best first */
  size_t n_cands;      /* 0: the family has none */
  int loaded;          /* face is the answer (NULL: none loads) */
  const ts_face *face;
} find_entry;

/* One of fontconfig's answers kept in the memo (see "The answers' memo"):
 * a look-up's faces (weight > 0), or whether the family exists at all
 * (weight 0: n is 1 or 0, cands NULL). */
typedef struct answer {
  char *family; /* owned, as asked */
  int weight, italic;
  cand *cands;  /* owned */
  size_t n;
} answer;

/* What the memo's answers hold for: a font folder, or a font file of
 * typeset's own folder, as stat saw it (present 0: it did not exist). */
typedef struct stamp {
  char *path; /* owned */
  int present;
  uint64_t ino, size, sec, nsec;
} stamp;

/* One family name of one font, for the family index. */
typedef struct fam_ref {
  const char *family; /* borrowed from the font's pattern */
  FcPattern *font;    /* borrowed from the configuration's font sets */
  uint32_t seq;       /* the font's position in fontconfig's set order */
} fam_ref;

/* A fontset already built, keyed by its inputs' content (not by pointers:
 * a style freed and another loaded at the same address must not match). */
typedef struct set_entry {
  uint64_t hash;
  int weight, italic;
  char *key;       /* owned: "dir\x1ffamily\x1ffamily..." */
  ts_fontset fs;
  char *missing;   /* owned: the role's families not found, each ended by \0,
                    * the list by an empty one (NULL: none): told again to
                    * each run that takes the set */
} set_entry;

/* A family told missing, and the runs (ts_diag.run) told: the last
 * WARNED_RUNS of them, so that the list stays small in a long series (a
 * run still rendering after that many others were told is told again). */
#define WARNED_RUNS 32
typedef struct warned_entry {
  char *family;    /* owned */
  uint64_t runs[WARNED_RUNS];
  unsigned n_runs; /* runs told, of which the last WARNED_RUNS are kept */
  int shown;       /* the message was printed once (not only counted) */
} warned_entry;

typedef struct fonts_cache {
  pthread_mutex_t lock;
  FcConfig *fc;          /* our own configuration: system fonts + app dirs;
                          * NULL until an answer is not in the memo */
  char *app_dir;         /* owned: typeset's own font folder (DATA/fonts) or NULL */
  /* the answers' memo */
  int memo_on;           /* answers are taken from and added to the memo */
  int memo_dirty;        /* answers were added: the memo is written again */
  int memo_racy;         /* a stamped folder changed just before fontconfig read
                          * it: its answers may be older than its stamp, so the
                          * memo is not written */
  ts_buf memo_key;       /* owned: the memo's dcache key */
  answer *answers;       /* owned */
  size_t n_answers, cap_answers;
  stamp *stamps;         /* owned */
  size_t n_stamps;
  ts_face **faces;       /* owned, load order */
  size_t n_faces, cap_faces;
  find_entry *finds;
  size_t n_finds, cap_finds;
  char **dirs;           /* folders added to fc (owned strings) */
  size_t n_dirs;
  char **bad;            /* owned: files of those folders named like fonts that
                          * fontconfig could not read, */
  size_t *bad_dir;       /* each with its folder's index in dirs */
  size_t n_bad;
  int bad_nomem;         /* one could not be noted: every check refuses */
  set_entry *sets;
  size_t n_sets, cap_sets;
  fam_ref *fams;         /* family index, sorted by (family, seq) */
  size_t n_fams;
  int fams_ok;           /* the index matches the configuration's fonts */
  struct ts_fontset_fb **fbs; /* owned: every lazy fallback list handed out */
  size_t n_fbs;
  warned_entry *warned;  /* owned: families reported missing, per run */
  size_t n_warned, cap_warned;
  int fb_loaded;
  int nomem;             /* an allocation failed since this was last cleared:
                          * what was being found is no answer ("missing") */
  char **fb_family[TS_ROLE_COUNT], **fb_package[TS_ROLE_COUNT];
  uint8_t *fb_script[TS_ROLE_COUNT];
  size_t n_fb[TS_ROLE_COUNT];
} fonts_cache;

/* The script fallbacks of a fontset, loaded on first use: located (and
 * deduplicated) when the set is made, each face loaded the first time
 * ts_fontset_face asks for it.  Owned by the cache; fontsets borrow it. */
struct ts_fontset_fb {
  struct fonts_cache *c;
  int weight, italic;
  const char *family[TS_FONTSET_MAX]; /* the cache's fallback list's, or own[i] */
  char *own[TS_FONTSET_MAX];           /* owned copies of the role's later families (the
                                        * style's strings do not outlive its document) */
  const ts_face *face[TS_FONTSET_MAX]; /* valid once state[i] is 1 */
  atomic_int state[TS_FONTSET_MAX];    /* 1: face[i] resolved */
  atomic_int nomem;                    /* a resolution ran out of memory */
  ts_role flavour;                     /* whose fallbacks the set took */
};

static void set_entry_free(set_entry *e)
{
  free(e->key);
  free(e->missing);
}

static void cands_free(cand *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++) free(v[i].file);
  free(v);
}

static void find_entry_free(find_entry *e)
{
  free(e->family);
  cands_free(e->cands, e->n_cands);
}

static void answers_clear(fonts_cache *c)
{
  for (size_t i = 0; i < c->n_answers; i++) {
    free(c->answers[i].family);
    cands_free(c->answers[i].cands, c->answers[i].n);
  }
  c->n_answers = 0;
}

static void stamps_free(stamp *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++) free(v[i].path);
  free(v);
}

/* Forgets the fallbacks read (when memory ran out while reading them; when
 * the cache is freed). */
static void fallbacks_clear_locked(fonts_cache *c)
{
  for (int r = 0; r < TS_ROLE_COUNT; r++) {
    for (size_t i = 0; i < c->n_fb[r]; i++) {
      free(c->fb_family[r][i]);
      free(c->fb_package[r][i]);
    }
    free(c->fb_family[r]);
    free(c->fb_package[r]);
    free(c->fb_script[r]);
    c->fb_family[r] = c->fb_package[r] = NULL;
    c->fb_script[r] = NULL;
    c->n_fb[r] = 0;
  }
}

static void memo_write_locked(fonts_cache *c);

static void cache_free(void *p)
{
  fonts_cache *c = p;
  if (!c) return;
  memo_write_locked(c); /* no other thread is left: the lock is not needed */
  answers_clear(c);
  free(c->answers);
  stamps_free(c->stamps, c->n_stamps);
  ts_buf_free(&c->memo_key);
  free(c->app_dir);
  for (size_t i = 0; i < c->n_faces; i++) ts_face_destroy(c->faces[i]);
  free(c->faces);
  for (size_t i = 0; i < c->n_finds; i++) find_entry_free(&c->finds[i]);
  free(c->finds);
  free(c->fams);
  for (size_t i = 0; i < c->n_fbs; i++) {
    for (int k = 0; k < TS_FONTSET_MAX; k++) free(c->fbs[i]->own[k]);
    free(c->fbs[i]);
  }
  free(c->fbs);
  for (size_t i = 0; i < c->n_dirs; i++) free(c->dirs[i]);
  free(c->dirs);
  for (size_t i = 0; i < c->n_bad; i++) free(c->bad[i]);
  free(c->bad);
  free(c->bad_dir);
  for (size_t i = 0; i < c->n_sets; i++) set_entry_free(&c->sets[i]);
  free(c->sets);
  for (size_t i = 0; i < c->n_warned; i++) free(c->warned[i].family);
  free(c->warned);
  fallbacks_clear_locked(c);
  if (c->fc) FcConfigDestroy(c->fc);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

/* Adds a folder of font files to our fontconfig configuration (once). */
static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 when name ends in a font file's extension (the ones add_dir_files reads)
 * and is not hidden. */
static int font_named(const char *name)
{
  if (name[0] == '.') return 0; /* hidden: macOS's ._Name.otf, as fontconfig skips them */
  const char *dot = strrchr(name, '.');
  return dot && (!strcasecmp(dot, ".ttf") || !strcasecmp(dot, ".otf") ||
                 !strcasecmp(dot, ".ttc") || !strcasecmp(dot, ".otc"));
}

/* Remembers `path`, a file of folder `dir` that is named like a font but
 * is none (takes it; frees it when memory runs out). */
static void note_bad_locked(fonts_cache *c, size_t dir, char *path)
{
  char **nb = realloc(c->bad, (c->n_bad + 1) * sizeof *nb);
  if (nb) c->bad = nb;
  size_t *nd = nb ? realloc(c->bad_dir, (c->n_bad + 1) * sizeof *nd) : NULL;
  if (nd) c->bad_dir = nd;
  if (!nb || !nd) {
    free(path);
    c->bad_nomem = 1;
    return;
  }
  c->bad[c->n_bad] = path;
  c->bad_dir[c->n_bad++] = dir;
}

/* Adds the font files directly in dir (regular files named *.ttf, *.otf,
 * *.ttc, *.otc, in name order) to fc; those fontconfig cannot read (not a
 * font, truncated, empty) are noted as folder `di`'s bad files.  Not
 * FcConfigAppFontAddDir: it walks every subfolder and opens every file — a
 * style kept in /tmp or a home folder meant scanning all of it, and a FIFO
 * there blocked the open forever.  Returns 1 when any font was added. */
static int add_dir_files(fonts_cache *c, size_t di, const char *dir)
{
  FcConfig *fc = c->fc;
  DIR *d = opendir(dir);
  if (!d) return 0;
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 4096) {
    if (!font_named(e->d_name)) continue;
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 16;
      char **nn = realloc(names, nc * sizeof *nn);
      if (!nn) break;
      names = nn;
      cap = nc;
    }
    if (!(names[n] = strdup(e->d_name))) break;
    n++;
  }
  closedir(d);
  if (n > 1) qsort(names, n, sizeof *names, cmp_str);
  int added = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(dir) + strlen(names[i]) + 2;
    char *path = malloc(len);
    struct stat sb;
    if (path) {
      (void)snprintf(path, len, "%s/%s", dir, names[i]); /* fits: len counts both and "/" */
      /* stat, not open: only regular files are handed to FreeType */
      if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
        if (FcConfigAppFontAddFile(fc, (const FcChar8 *)path)) added = 1;
        else {
          note_bad_locked(c, di, path);
          path = NULL;
        }
      }
    }
    free(path);
    free(names[i]);
  }
  free(names);
  return added;
}

/* Adds a folder's fonts to fontconfig's configuration (once); returns 1
 * when it had any. */
static int add_dir_fc_locked(fonts_cache *c, const char *dir)
{
  for (size_t i = 0; i < c->n_dirs; i++)
    if (!strcmp(c->dirs[i], dir)) return 0;
  char **nd = realloc(c->dirs, (c->n_dirs + 1) * sizeof *nd);
  if (!nd) return 0;
  c->dirs = nd;
  char *copy = strdup(dir);
  if (!copy) return 0;
  c->dirs[c->n_dirs++] = copy;
  int added = add_dir_files(c, c->n_dirs - 1, dir);
  if (added) {
    /* families missing before may exist now: forget negative results */
    size_t k = 0;
    for (size_t i = 0; i < c->n_finds; i++) {
      if (c->finds[i].face) c->finds[k++] = c->finds[i];
      else find_entry_free(&c->finds[i]);
    }
    c->n_finds = k;
    c->fams_ok = 0;
    for (size_t i = 0; i < c->n_sets; i++) set_entry_free(&c->sets[i]);
    c->n_sets = 0;
  }
  return added;
}

static int fc_ensure_locked(fonts_cache *c);

/* 1 when the folder holds a file named like a font (the look of
 * add_dir_files; most style folders hold none). */
static int dir_has_fonts(const char *dir)
{
  DIR *dp = opendir(dir);
  if (!dp) return 0;
  int any = 0;
  for (struct dirent *e; !any && (e = readdir(dp));) any = font_named(e->d_name);
  closedir(dp);
  return any;
}

/* Adds a folder (a style's) to the configuration, fontconfig set up first
 * when the folder has fonts.  Those are no part of the memo's answers: once
 * any is added, the memo is neither read nor added to. */
static void add_dir_locked(fonts_cache *c, const char *dir)
{
  if (!dir || !*dir) return;
  for (size_t i = 0; i < c->n_dirs; i++)
    if (!strcmp(c->dirs[i], dir)) return;
  if (!dir_has_fonts(dir) || !fc_ensure_locked(c)) return;
  if (add_dir_fc_locked(c, dir)) c->memo_on = 0;
}

/* fontconfig's standard font folders and caches (those of Debian's
 * /etc/fonts/fonts.conf, in its order) without the rest of the system's
 * configuration: parsing /etc/fonts and its ~40 conf.d files (aliases,
 * hinting and rendering rules) cost ~22 M instructions, most of a fresh
 * process's start-up, and typeset applies none of those rules — families
 * are asked for by name (no FcConfigSubstitute) and fallbacks come from
 * fonts/fallbacks.yaml.  The folders' cache files are the system's, so
 * fonts are not scanned again. */
static const char lean_conf[] =
    "<?xml version=\"1.0\"?><fontconfig>"
    "<dir>/usr/share/fonts</dir><dir>/usr/local/share/fonts</dir>"
    "<dir prefix=\"xdg\">fonts</dir><dir>~/.fonts</dir>"
    "<cachedir>/var/cache/fontconfig</cachedir>"
    "<cachedir prefix=\"xdg\">fontconfig</cachedir><cachedir>~/.fontconfig</cachedir>"
    "</fontconfig>";

/* 1 when the user points fontconfig at a configuration (FONTCONFIG_FILE or
 * FONTCONFIG_PATH) or asks for the system's (TYPESET_FONTCONFIG=system):
 * only then can it name other folders. */
static int want_system_config(void)
{
  const char *mode = getenv("TYPESET_FONTCONFIG");
  return (mode && !strcmp(mode, "system")) || getenv("FONTCONFIG_FILE") ||
         getenv("FONTCONFIG_PATH");
}

/* The configuration: the whole system one when want_system_config, else
 * the lean one (*lean set).  Returns owned (FcConfigDestroy) or NULL. */
static FcConfig *load_config(int *lean)
{
  *lean = 0;
  if (want_system_config()) return FcInitLoadConfigAndFonts();
  FcConfig *fc = FcConfigCreate();
  if (!fc) return NULL;
  if (!FcConfigParseAndLoadFromMemory(fc, (const FcChar8 *)lean_conf, FcFalse) ||
      !FcConfigBuildFonts(fc)) {
    FcConfigDestroy(fc);
    return FcInitLoadConfigAndFonts();
  }
  *lean = 1;
  return fc;
}

/* ---- The answers' memo --------------------------------------------------
 * Setting fontconfig up reads a cache file for each of ~25 font folders and
 * indexes every font of the machine: ~2 ms of a fresh process, spent to
 * answer the same few look-ups as the last run.  So fontconfig's answers
 * (a family's faces, whether a family exists) are kept in the cache folder
 * (dcache kind "fcanswers") with what they hold for: every font folder
 * fontconfig read, present or not, and typeset's own font files, as stat
 * saw them — fontconfig's own rule for its caches (a folder's fonts change
 * only with its time).  A process whose stamps all still hold takes the
 * answers and sets fontconfig up only when asked something new; the memo
 * then gains that answer.  Only the lean configuration is memoised (the
 * system's reads ~40 more files that could change anything), and no answer
 * made after a style's folder of fonts joined the configuration.  A folder
 * changed within a second of fontconfig reading it may have been read
 * before the change: such a run writes no memo (git's "racily clean"). */

#define MEMO_MAX_ANSWERS 2048
#define MEMO_MAX_STAMPS 4096
#define MEMO_MAX_CANDS 1024 /* a family's faces */

static void stamp_take(stamp *t)
{
  struct stat st;
  t->present = stat(t->path, &st) == 0;
  t->ino = t->present ? (uint64_t)st.st_ino : 0;
  t->size = t->present ? (uint64_t)st.st_size : 0;
  t->sec = t->present ? (uint64_t)st.st_mtim.tv_sec : 0;
  t->nsec = t->present ? (uint64_t)st.st_mtim.tv_nsec : 0;
}

static int stamp_holds(const stamp *t)
{
  stamp now = {t->path, 0, 0, 0, 0, 0};
  stamp_take(&now);
  return now.present == t->present && now.ino == t->ino && now.size == t->size &&
         now.sec == t->sec && now.nsec == t->nsec;
}

static int stamp_cmp(const void *a, const void *b)
{
  return strcmp(((const stamp *)a)->path, ((const stamp *)b)->path);
}

/* Appends path's stamp (path copied); 0 on OOM. */
static int stamp_push(stamp **v, size_t *n, size_t *cap, const char *path)
{
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 64;
    stamp *nv = realloc(*v, nc * sizeof *nv);
    if (!nv) return 0;
    *v = nv;
    *cap = nc;
  }
  stamp *t = &(*v)[*n];
  memset(t, 0, sizeof *t);
  if (!(t->path = strdup(path))) return 0;
  stamp_take(t);
  (*n)++;
  return 1;
}

/* The stamps of the configuration just set up (sorted by path), in
 * *out and *n_out; 0 on OOM.  *racy: a present one changed at or after
 * since - 1 s. */
static int stamps_make(fonts_cache *c, time_t since, stamp **out, size_t *n_out, int *racy)
{
  stamp *v = NULL;
  size_t n = 0, cap = 0;
  int ok = 1;
  FcStrList *l = FcConfigGetFontDirs(c->fc);
  if (!l) ok = 0;
  for (FcChar8 *d; ok && l && (d = FcStrListNext(l)) && n < MEMO_MAX_STAMPS;)
    ok = stamp_push(&v, &n, &cap, (const char *)d);
  if (l) FcStrListDone(l);
  if (ok && c->app_dir) {
    ok = stamp_push(&v, &n, &cap, c->app_dir);
    DIR *d = opendir(c->app_dir);
    for (struct dirent *e; ok && d && (e = readdir(d)) && n < MEMO_MAX_STAMPS;) {
      if (!font_named(e->d_name)) continue;
      size_t len = strlen(c->app_dir) + strlen(e->d_name) + 2;
      char *path = malloc(len);
      ok = path != NULL;
      if (ok) {
        (void)snprintf(path, len, "%s/%s", c->app_dir, e->d_name); /* fits: len counts both and "/" */
        ok = stamp_push(&v, &n, &cap, path);
      }
      free(path);
    }
    if (d) closedir(d);
  }
  if (!ok || n >= MEMO_MAX_STAMPS) {
    stamps_free(v, n);
    return 0;
  }
  if (n > 1) qsort(v, n, sizeof *v, stamp_cmp);
  *racy = 0;
  for (size_t i = 0; i < n; i++)
    if (v[i].present && (int64_t)v[i].sec >= (int64_t)since - 1) *racy = 1;
  *out = v;
  *n_out = n;
  return 1;
}

static int stamps_equal(const stamp *a, size_t na, const stamp *b, size_t nb)
{
  if (na != nb) return 0;
  for (size_t i = 0; i < na; i++)
    if (strcmp(a[i].path, b[i].path) || a[i].present != b[i].present || a[i].ino != b[i].ino ||
        a[i].size != b[i].size || a[i].sec != b[i].sec || a[i].nsec != b[i].nsec)
      return 0;
  return 1;
}

/* Copies n candidates into *out (NULL when n is 0); 0 on OOM. */
static int cands_dup(const cand *v, size_t n, cand **out)
{
  *out = NULL;
  if (!n) return 1;
  cand *w = calloc(n, sizeof *w);
  if (!w) return 0;
  for (size_t i = 0; i < n; i++) {
    w[i].index = v[i].index;
    if (!(w[i].file = strdup(v[i].file))) {
      cands_free(w, i);
      return 0;
    }
  }
  *out = w;
  return 1;
}

/* The memo's answer to (family, weight, italic) — weight 0: does the
 * family exist, which any answer about the family tells — or NULL. */
static const answer *memo_find(const fonts_cache *c, const char *family, int weight, int italic)
{
  if (!c->memo_on) return NULL;
  for (size_t i = 0; i < c->n_answers; i++) {
    const answer *a = &c->answers[i];
    if ((weight == 0 || (a->weight == weight && a->italic == italic)) &&
        !strcasecmp(a->family, family))
      return a;
  }
  return NULL;
}

/* Adds fontconfig's answer to the memo (weight 0: n is whether the family
 * exists, cands NULL).  Running out of memory, or room, only leaves it out. */
static void memo_add_locked(fonts_cache *c, const char *family, int weight, int italic,
                            const cand *cands, size_t n)
{
  if (!c->memo_on || c->n_answers >= MEMO_MAX_ANSWERS || weight > 1000 || n > MEMO_MAX_CANDS)
    return;
  if (c->n_answers == c->cap_answers) {
    size_t nc = c->cap_answers ? c->cap_answers * 2 : 32;
    answer *na = realloc(c->answers, nc * sizeof *na);
    if (!na) return;
    c->answers = na;
    c->cap_answers = nc;
  }
  answer a = {strdup(family), weight, italic, NULL, n};
  if (!a.family || (weight > 0 && !cands_dup(cands, n, &a.cands))) {
    free(a.family);
    return;
  }
  c->answers[c->n_answers++] = a;
  c->memo_dirty = 1;
}

/* The memo's key: what the lean configuration's folders depend on besides
 * the stamps (the home and XDG folders it names, typeset's own folder,
 * fontconfig's version).  0 on OOM. */
static int memo_key(fonts_cache *c)
{
  static const char *const env[] = {"HOME", "XDG_DATA_HOME"};
  ts_buf *k = &c->memo_key;
  ts_buf_put_str(k, lean_conf);
  ts_buf_put_u32(k, (uint32_t)FcGetVersion());
  for (size_t i = 0; i < sizeof env / sizeof env[0]; i++) {
    const char *v = getenv(env[i]);
    ts_buf_put_u32(k, v != NULL);
    ts_buf_put_str(k, v ? v : "");
  }
  ts_buf_put_str(k, c->app_dir ? c->app_dir : "");
  return !k->oom;
}

/* A count read from r, at most max, and room for that many items of size
 * bytes (owned, zeroed); NULL with r->bad set past max or on OOM. */
static void *rd_items(ts_rd *r, uint32_t max, size_t size, uint32_t *n)
{
  *n = ts_rd_u32(r);
  if (*n > max) r->bad = 1;
  void *v = r->bad ? NULL : calloc(*n ? *n : 1, size);
  if (!v) r->bad = 1;
  return v;
}

/* Reads the memo; keeps its answers when every stamp still holds. */
static void memo_load_locked(fonts_cache *c)
{
  size_t len = 0;
  char *v = ts_dcache_get("fcanswers", &c->memo_key, &len);
  if (!v) return;
  ts_rd r = {(const unsigned char *)v, (const unsigned char *)v + len, 0};
  uint32_t ns = 0, na = 0;
  stamp *st = rd_items(&r, MEMO_MAX_STAMPS, sizeof *st, &ns);
  size_t n_st = 0;
  for (; !r.bad && n_st < ns; n_st++) {
    stamp *t = &st[n_st];
    t->path = ts_rd_str(&r);
    t->present = ts_rd_u32(&r) == 1;
    t->ino = ts_rd_u64(&r);
    t->size = ts_rd_u64(&r);
    t->sec = ts_rd_u64(&r);
    t->nsec = ts_rd_u64(&r);
  }
  for (size_t i = 0; !r.bad && i < n_st; i++)
    if (!stamp_holds(&st[i])) r.bad = 1; /* the fonts changed: the answers are old */
  answer *an = r.bad ? NULL : rd_items(&r, MEMO_MAX_ANSWERS, sizeof *an, &na);
  size_t n_an = 0;
  for (; !r.bad && n_an < na; n_an++) {
    answer *a = &an[n_an];
    a->family = ts_rd_str(&r);
    uint32_t w = ts_rd_u32(&r), it = ts_rd_u32(&r), n = ts_rd_u32(&r);
    if (w > 1000 || it > 1 || (w == 0 && n > 1) || n > MEMO_MAX_CANDS) {
      r.bad = 1;
      break;
    }
    a->weight = (int)w;
    a->italic = (int)it;
    if (w > 0 && n > 0 && !(a->cands = calloc(n, sizeof *a->cands))) r.bad = 1;
    for (uint32_t i = 0; !r.bad && w > 0 && i < n; i++, a->n++) {
      a->cands[i].file = ts_rd_str(&r);
      a->cands[i].index = ts_rd_u32(&r);
    }
    if (w == 0) a->n = n;
  }
  if (r.p != r.end) r.bad = 1;
  free(v);
  if (r.bad) {
    for (size_t i = 0; an && i <= n_an && i < na; i++) {
      free(an[i].family);
      cands_free(an[i].cands, an[i].n);
    }
    free(an);
    stamps_free(st, n_st);
    return;
  }
  c->stamps = st;
  c->n_stamps = n_st;
  c->answers = an;
  c->n_answers = c->cap_answers = n_an;
}

/* Writes the memo when answers were added and it may be. */
static void memo_write_locked(fonts_cache *c)
{
  if (!c->memo_dirty || c->memo_racy || !c->n_stamps) return;
  c->memo_dirty = 0;
  ts_buf b;
  ts_buf_init(&b);
  ts_buf_put_u32(&b, (uint32_t)c->n_stamps);
  for (size_t i = 0; i < c->n_stamps; i++) {
    const stamp *t = &c->stamps[i];
    ts_buf_put_str(&b, t->path);
    ts_buf_put_u32(&b, (uint32_t)t->present);
    ts_buf_put_u64(&b, t->ino);
    ts_buf_put_u64(&b, t->size);
    ts_buf_put_u64(&b, t->sec);
    ts_buf_put_u64(&b, t->nsec);
  }
  ts_buf_put_u32(&b, (uint32_t)c->n_answers);
  for (size_t i = 0; i < c->n_answers; i++) {
    const answer *a = &c->answers[i];
    ts_buf_put_str(&b, a->family);
    ts_buf_put_u32(&b, (uint32_t)a->weight);
    ts_buf_put_u32(&b, (uint32_t)a->italic);
    ts_buf_put_u32(&b, (uint32_t)a->n);
    for (size_t k = 0; a->weight > 0 && k < a->n; k++) {
      ts_buf_put_str(&b, a->cands[k].file);
      ts_buf_put_u32(&b, a->cands[k].index);
    }
  }
  if (!b.oom) ts_dcache_put("fcanswers", &c->memo_key, b.data, b.len);
  ts_buf_free(&b);
}

static void fonts_quiesce(void *p)
{
  fonts_cache *c = p;
  pthread_mutex_lock(&c->lock);
  memo_write_locked(c);
  pthread_mutex_unlock(&c->lock);
}

/* fontconfig set up, once it is needed: the configuration, typeset's own
 * fonts, and the memo's stamps made again (the answers it holds are kept
 * only when those are the stamps they were read with).  0 on OOM (nomem
 * set; tried again next time). */
static int fc_ensure_locked(fonts_cache *c)
{
  if (c->fc) return 1;
  struct timespec t0;
  (void)clock_gettime(CLOCK_REALTIME, &t0);
  int lean = 0;
  c->fc = load_config(&lean);
  if (!c->fc) {
    c->nomem = 1;
    return 0;
  }
  if (c->app_dir) (void)add_dir_fc_locked(c, c->app_dir);
  if (!lean) c->memo_on = 0;
  stamp *st = NULL;
  size_t n = 0;
  int racy = 0;
  if (c->memo_on && !stamps_make(c, t0.tv_sec, &st, &n, &racy)) c->memo_on = 0;
  if (c->memo_on) {
    if (!stamps_equal(st, n, c->stamps, c->n_stamps)) answers_clear(c);
    stamps_free(c->stamps, c->n_stamps);
    c->stamps = st;
    c->n_stamps = n;
    c->memo_racy = racy;
  }
  return 1;
}

static void *cache_create(ts_ctx *ctx)
{
  fonts_cache *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  if (pthread_mutex_init(&c->lock, NULL)) { free(c); return NULL; }
  ts_buf_init(&c->memo_key);
  const char *dd = ts_ctx_data_dir(ctx);
  if (dd) {
    size_t n = strlen(dd) + 8;
    if (!(c->app_dir = malloc(n))) { cache_free(c); return NULL; }
    (void)snprintf(c->app_dir, n, "%s/fonts", dd); /* fits: n = strlen(dd) + 8 */
  }
  if (!want_system_config() && ts_dcache_enabled() && memo_key(c)) {
    c->memo_on = 1;
    memo_load_locked(c); /* the cache is not published yet: no lock needed */
    ts_ctx_set_quiesce(ctx, TS_SLOT_FONTS, fonts_quiesce);
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
  if (!f) {
    if (why && !strcmp(why, "out of memory")) c->nomem = 1;
    return NULL;
  }
  if (c->n_faces == c->cap_faces) {
    size_t nc = c->cap_faces ? c->cap_faces * 2 : 16;
    ts_face **nf = realloc(c->faces, nc * sizeof *nf);
    if (!nf) { ts_face_destroy(f); c->nomem = 1; return NULL; }
    c->faces = nf;
    c->cap_faces = nc;
  }
  f->id = (uint32_t)c->n_faces + 1;
  c->faces[c->n_faces++] = f;
  return f;
}

static int fam_cmp(const void *a, const void *b)
{
  const fam_ref *x = a, *y = b;
  int r = strcasecmp(x->family, y->family);
  if (r) return r;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Builds the family index: every family name of every font, so that a
 * look-up sorts only the family's own faces instead of every font on the
 * machine (FcFontSort over ~500 fonts cost ~4 M instructions a look-up). */
static int index_locked(fonts_cache *c)
{
  if (c->fams_ok) return 1;
  if (!fc_ensure_locked(c)) return 0;
  FcFontSet *sets[2] = {FcConfigGetFonts(c->fc, FcSetSystem), FcConfigGetFonts(c->fc, FcSetApplication)};
  size_t n = 0, cap = 0;
  fam_ref *v = NULL;
  uint32_t seq = 0;
  for (int s = 0; s < 2; s++) {
    for (int i = 0; sets[s] && i < sets[s]->nfont; i++, seq++) {
      FcPattern *p = sets[s]->fonts[i];
      FcChar8 *fam;
      for (int k = 0; FcPatternGetString(p, FC_FAMILY, k, &fam) == FcResultMatch; k++) {
        if (n == cap) {
          size_t nc = cap ? cap * 2 : 1024;
          fam_ref *nv = realloc(v, nc * sizeof *nv);
          if (!nv) { free(v); c->nomem = 1; return 0; }
          v = nv;
          cap = nc;
        }
        v[n++] = (fam_ref){(const char *)fam, p, seq};
      }
    }
  }
  if (n) qsort(v, n, sizeof *v, fam_cmp);
  free(c->fams);
  c->fams = v;
  c->n_fams = n;
  c->fams_ok = 1;
  return 1;
}

/* The first index entry of `family` (n_fams when none). */
static size_t index_first(const fonts_cache *c, const char *family)
{
  size_t lo = 0, hi = c->n_fams;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcasecmp(c->fams[mid].family, family) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < c->n_fams && !strcasecmp(c->fams[lo].family, family) ? lo : c->n_fams;
}

static int family_exists_locked(fonts_cache *c, const char *family)
{
  const answer *a = memo_find(c, family, 0, 0);
  if (a) return a->n > 0;
  if (!index_locked(c)) return 0;
  int yes = index_first(c, family) < c->n_fams;
  memo_add_locked(c, family, 0, 0, NULL, (size_t)yes);
  return yes;
}

/* The family's faces, best first: the look-up of `family` at weight/slant,
 * memoised.  fontconfig's FcFontSetSort orders the family's own faces (in
 * the configuration's order, so ties break as FcFontSort over every font
 * would: the family's faces sort ahead of all others there, and the sort
 * is stable).  Only a face whose family really is the one asked for
 * counts, so an alias or substitute (fontconfig's "DejaVu Sans" for
 * anything) never passes.  Returns the entry's position, or -1 on OOM. */
static long locate_locked(fonts_cache *c, const char *family, int weight, int italic)
{
  for (size_t i = 0; i < c->n_finds; i++) {
    find_entry *e = &c->finds[i];
    if (e->weight == weight && e->italic == italic && !strcasecmp(e->family, family))
      return (long)i;
  }
  if (c->n_finds == c->cap_finds) {
    size_t nc = c->cap_finds ? c->cap_finds * 2 : 32;
    find_entry *nf = realloc(c->finds, nc * sizeof *nf);
    if (!nf) { c->nomem = 1; return -1; }
    c->finds = nf;
    c->cap_finds = nc;
  }
  char *copy = strdup(family);
  if (!copy) { c->nomem = 1; return -1; }
  cand *cands = NULL;
  size_t n_cands = 0;
  /* (weight 0 is the memo's "does it exist": such a look-up is not kept) */
  const answer *memo = weight > 0 ? memo_find(c, family, weight, italic) : NULL;
  if (memo) {
    if (!cands_dup(memo->cands, memo->n, &cands)) { free(copy); c->nomem = 1; return -1; }
    c->finds[c->n_finds] = (find_entry){copy, weight, italic, cands, memo->n, 0, NULL};
    return (long)c->n_finds++;
  }
  if (!index_locked(c)) { free(copy); return -1; }
  size_t first = index_first(c, family);
  if (first < c->n_fams) {
    FcFontSet *sub = FcFontSetCreate();
    FcPattern *pat = FcPatternCreate();
    uint32_t last = UINT32_MAX;
    int ok = sub && pat;
    for (size_t i = first; ok && i < c->n_fams && !strcasecmp(c->fams[i].family, family); i++) {
      if (c->fams[i].seq == last) continue; /* two names of one font */
      last = c->fams[i].seq;
      FcPatternReference(c->fams[i].font);
      if (!FcFontSetAdd(sub, c->fams[i].font)) {
        FcPatternDestroy(c->fams[i].font);
        ok = 0;
      }
    }
    if (ok) {
      FcPatternAddString(pat, FC_FAMILY, (const FcChar8 *)family);
      FcPatternAddInteger(pat, FC_WEIGHT, FcWeightFromOpenType(weight));
      FcPatternAddInteger(pat, FC_SLANT, italic ? FC_SLANT_ITALIC : FC_SLANT_ROMAN);
      FcPatternAddBool(pat, FC_OUTLINE, FcTrue);
      /* No FcConfigSubstitute: its pattern rules add aliases and generic
       * families, which cannot reorder faces that all have the family
       * asked for, and it cost ~1 M instructions a look-up (checked: the
       * same face for every family of this machine).  FcDefaultSubstitute
       * adds what the scores use (language, width, defaults). */
      FcDefaultSubstitute(pat);
      FcResult res;
      FcFontSet *sorted = FcFontSetSort(c->fc, &sub, 1, pat, FcFalse, NULL, &res);
      ok = sorted != NULL && (cands = calloc((size_t)sorted->nfont + 1, sizeof *cands)) != NULL;
      for (int i = 0; ok && i < sorted->nfont; i++) {
        FcChar8 *file = NULL;
        int index = 0;
        if (FcPatternGetString(sorted->fonts[i], FC_FILE, 0, &file) != FcResultMatch) continue;
        FcPatternGetInteger(sorted->fonts[i], FC_INDEX, 0, &index);
        cands[n_cands].index = (unsigned)(index & 0xFFFF);
        if ((cands[n_cands].file = strdup((const char *)file))) n_cands++;
        else ok = 0;
      }
      if (sorted) FcFontSetDestroy(sorted);
    }
    if (sub) FcFontSetDestroy(sub);
    if (pat) FcPatternDestroy(pat);
    if (!ok) {
      cands_free(cands, n_cands);
      free(copy);
      c->nomem = 1;
      return -1;
    }
  }
  if (weight > 0) memo_add_locked(c, family, weight, italic, cands, n_cands);
  c->finds[c->n_finds] = (find_entry){copy, weight, italic, cands, n_cands, 0, NULL};
  return (long)c->n_finds++;
}

/* The file and index of the family's best face, without loading it (NULL
 * when the family has no face). */
static const char *locate_file_locked(fonts_cache *c, const char *family, int weight, int italic,
                                      unsigned *index)
{
  long k = locate_locked(c, family, weight, italic);
  if (k < 0 || !c->finds[k].n_cands) return NULL;
  *index = c->finds[k].cands[0].index;
  return c->finds[k].cands[0].file;
}

/* The family's best face that loads. */
static const ts_face *find_locked(fonts_cache *c, const char *family, int weight, int italic)
{
  long k = locate_locked(c, family, weight, italic);
  if (k < 0) return NULL;
  find_entry *e = &c->finds[k];
  if (e->loaded) return e->face;
  const ts_face *face = NULL;
  int nm = c->nomem;
  c->nomem = 0;
  for (size_t i = 0; i < e->n_cands && !face && !c->nomem; i++)
    face = face_for_locked(c, e->cands[i].file, e->cands[i].index);
  if (c->nomem) return NULL; /* not remembered: tried again next time */
  c->nomem = nm;
  e->loaded = 1;
  e->face = face;
  return face;
}

ts_status ts_fonts_lookup(ts_ctx *ctx, const char *family, int weight, int italic,
                          const ts_face **out)
{
  *out = NULL;
  if (!ctx || !family || !*family) return TS_OK;
  fonts_cache *c = get_cache(ctx);
  if (!c) return TS_ERR_NOMEM;
  pthread_mutex_lock(&c->lock);
  c->nomem = 0;
  *out = find_locked(c, family, weight, italic ? 1 : 0);
  int nomem = c->nomem;
  c->nomem = 0;
  pthread_mutex_unlock(&c->lock);
  return nomem ? TS_ERR_NOMEM : TS_OK;
}

void ts_fonts_prepare(ts_ctx *ctx)
{
  if (!ctx) return;
  fonts_cache *c = get_cache(ctx);
  if (!c) return;
  pthread_mutex_lock(&c->lock);
  /* with the memo's answers, fontconfig may never be needed; else it is
   * set up now (running out of memory here: the first look-up tries again) */
  if (!c->memo_on || !c->n_answers) (void)index_locked(c);
  c->nomem = 0;
  pthread_mutex_unlock(&c->lock);
}

int ts_fonts_fontconfig_used(ts_ctx *ctx)
{
  fonts_cache *c = ctx ? get_cache(ctx) : NULL;
  if (!c) return 0;
  pthread_mutex_lock(&c->lock);
  int used = c->fc != NULL;
  pthread_mutex_unlock(&c->lock);
  return used;
}

const ts_face *ts_fonts_find(ts_ctx *ctx, const char *family, int weight, int italic)
{
  const ts_face *f = NULL;
  (void)ts_fonts_lookup(ctx, family, weight, italic, &f);
  return f;
}

ts_status ts_fonts_check_dir(ts_ctx *ctx, const char *dir, ts_diag *d)
{
  if (!ctx || !dir || !*dir) return TS_OK;
  /* most style folders hold no font: said without waiting for fontconfig */
  if (!dir_has_fonts(dir)) return TS_OK;
  fonts_cache *c = get_cache(ctx);
  if (!c) return TS_ERR_NOMEM;
  pthread_mutex_lock(&c->lock);
  add_dir_locked(c, dir);
  int added = 0;
  for (size_t i = 0; i < c->n_dirs; i++) added |= !strcmp(c->dirs[i], dir);
  if (!added || c->bad_nomem) { /* the folder could not be read whole */
    pthread_mutex_unlock(&c->lock);
    return TS_ERR_NOMEM;
  }
  size_t n_bad = 0;
  for (size_t i = 0; i < c->n_bad; i++)
    if (!strcmp(c->dirs[c->bad_dir[i]], dir)) {
      ts_diag_report(d, TS_ERROR, c->bad[i], 0, 0,
                     "not a font that can be read: a file named like a font in the style's "
                     "folder (fix or remove it)");
      n_bad++;
    }
  pthread_mutex_unlock(&c->lock);
  return n_bad ? TS_ERR_INPUT : TS_OK;
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
 * sequence of mappings), so the walk is three flat loops, no recursion.
 * Running out of memory leaves nothing read and sets c->nomem (the next
 * fontset tries again). */
static void load_fallbacks_locked(fonts_cache *c, ts_ctx *ctx, ts_diag *d)
{
  if (c->fb_loaded) return;
  c->fb_loaded = 1;
  int oom = 0;
  const char *dd = ts_ctx_data_dir(ctx);
  size_t pn = strlen(dd ? dd : ".") + 32;
  char *path = malloc(pn);
  if (!path) {
    c->fb_loaded = 0;
    c->nomem = 1;
    return;
  }
  /* fits: 21 bytes after the folder, pn leaves 32 */
  (void)snprintf(path, pn, "%s/fonts/fallbacks.yaml", dd ? dd : ".");
  size_t len = 0;
  char *text = ts_file_read(path, &len, 1 << 20);
  if (!text) {
    if (errno == ENOMEM) { /* fopen's own allocation included */
      c->fb_loaded = 0;
      c->nomem = 1;
    } else if (d) {
      ts_diag_report(d, TS_WARNING, path, 0, 0, "cannot read the font fallbacks");
    }
    free(path);
    return;
  }
  yaml_parser_t parser;
  yaml_document_t doc;
  int have_doc = 0;
  if (!yaml_parser_initialize(&parser)) {
    oom = 1;
    goto out_text;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load(&parser, &doc)) {
    if (parser.error == YAML_MEMORY_ERROR) {
      oom = 1;
      goto out_parser;
    }
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
      if (!nf) { oom = 1; goto out_parser; }
      c->fb_family[role] = nf;
      char **np = realloc(c->fb_package[role], (n + 1) * sizeof *np);
      if (!np) { oom = 1; goto out_parser; }
      c->fb_package[role] = np;
      uint8_t *ns = realloc(c->fb_script[role], (n + 1) * sizeof *ns);
      if (!ns) { oom = 1; goto out_parser; }
      c->fb_script[role] = ns;
      ns[n] = TS_FB_SYMBOLS;
      for (int k = 1; k < TS_FB_COUNT && scr; k++)
        if (!strcmp(scr, script_key[k])) ns[n] = (uint8_t)k;
      char *f2 = strdup(fam), *p2 = strdup(pkg ? pkg : "?");
      if (!f2 || !p2) { free(f2); free(p2); oom = 1; goto out_parser; }
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
  if (oom) {
    fallbacks_clear_locked(c);
    c->fb_loaded = 0;
    c->nomem = 1;
  }
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

static void warn_missing_locked(fonts_cache *c, ts_diag *d, const char *family);

ts_role ts_fontset_flavour(const ts_fontset *fs)
{
  return fs && fs->fb ? fs->fb->flavour : TS_ROLE_BODY;
}

int ts_fonts_provider(ts_ctx *ctx, ts_role role, uint32_t cp, char *pkg, size_t n)
{
  if (n) *pkg = 0;
  fonts_cache *c = get_cache(ctx);
  if (!c || !n) return 0;
  int sc = ts_fb_script_of(cp);
  if (sc == TS_FB_NONE) {
    /* common characters (punctuation, arrows, mathematics) have the symbols
     * fallback; a script with no fallback of its own (Thai, Georgian...) has
     * no package to name */
    UErrorCode e = U_ZERO_ERROR;
    UScriptCode us = uscript_getScript((UChar32)cp, &e);
    if (U_SUCCESS(e) && us != USCRIPT_COMMON && us != USCRIPT_INHERITED && us != USCRIPT_UNKNOWN)
      return 0;
    sc = TS_FB_SYMBOLS;
  }
  int found = 0, listed = 0;
  pthread_mutex_lock(&c->lock);
  load_fallbacks_locked(c, ctx, NULL);
  /* the role's own fallbacks for the script; the other roles' only when it
   * has none */
  for (int k = 0; k <= TS_ROLE_COUNT && !found && !listed; k++) {
    int r = k == 0 ? (int)role : k - 1;
    if ((unsigned)r >= TS_ROLE_COUNT || (k > 0 && r == (int)role)) continue;
    for (size_t i = 0; i < c->n_fb[r] && !found; i++) {
      if (c->fb_script[r][i] != sc) continue;
      listed = 1;
      if (family_exists_locked(c, c->fb_family[r][i])) continue;
      (void)snprintf(pkg, n, "%s", c->fb_package[r][i]); /* a long name is cut */
      found = 1;
    }
  }
  c->nomem = 0;
  pthread_mutex_unlock(&c->lock);
  return found;
}

ts_status ts_fonts_role_face(ts_ctx *ctx, const ts_font_role *role, int weight, int italic,
                             ts_diag *d, const ts_face **out, const char **family)
{
  *out = NULL;
  if (family) *family = NULL;
  if (!ctx || !role) return TS_OK;
  fonts_cache *c = get_cache(ctx);
  if (!c) return TS_ERR_NOMEM;
  pthread_mutex_lock(&c->lock);
  c->nomem = 0;
  for (int i = 0; i < role->n_families && i < TS_STYLE_MAX_FAMILIES && !c->nomem; i++) {
    const char *fam = role->families[i];
    if (!fam || !*fam) continue;
    const ts_face *f = NULL;
    if (*out) {
      if (family_exists_locked(c, fam)) continue;
    } else if ((f = find_locked(c, fam, weight <= 0 ? 400 : weight, italic ? 1 : 0))) {
      *out = f;
      if (family) *family = fam;
      continue;
    }
    if (!c->nomem) warn_missing_locked(c, d, fam);
  }
  int nomem = c->nomem;
  c->nomem = 0;
  pthread_mutex_unlock(&c->lock);
  if (nomem) {
    *out = NULL;
    if (family) *family = NULL;
    return TS_ERR_NOMEM;
  }
  return TS_OK;
}


/* warn_missing_locked, and family noted in *missing (\0-ended). */
static void note_missing_locked(fonts_cache *c, ts_diag *d, const char *family, ts_buf *missing)
{
  warn_missing_locked(c, d, family);
  ts_buf_append(missing, family, strlen(family) + 1);
}

/* Tells d's run that `family` was not found, once a run (a diag of run 0,
 * not made by ts_diag_init, is told each time).  The message is printed once
 * a process — a series' papers share their style: fifty equal lines would
 * say nothing more, and all go to the same stderr — and counted in every
 * run it concerns. */
static void warn_missing_locked(fonts_cache *c, ts_diag *d, const char *family)
{
  if (!d) return;
  warned_entry *e = NULL;
  for (size_t i = 0; i < c->n_warned && !e; i++)
    if (!strcasecmp(c->warned[i].family, family)) e = &c->warned[i];
  if (e && d->run) {
    unsigned kept = e->n_runs < WARNED_RUNS ? e->n_runs : WARNED_RUNS;
    for (unsigned k = 0; k < kept; k++)
      if (e->runs[k] == d->run) return;
  }
  if (!e) {
    if (c->n_warned == c->cap_warned) {
      size_t nc = c->cap_warned ? c->cap_warned * 2 : 8;
      warned_entry *nw = realloc(c->warned, nc * sizeof *nw);
      if (nw) {
        c->warned = nw;
        c->cap_warned = nc;
      }
    }
    /* out of memory: told, but maybe again */
    char *copy = c->n_warned < c->cap_warned ? strdup(family) : NULL;
    if (copy) {
      e = &c->warned[c->n_warned++];
      memset(e, 0, sizeof *e);
      e->family = copy;
    }
  }
  if (e) e->runs[e->n_runs++ % WARNED_RUNS] = d->run;
  if (e && e->shown) {
    ts_diag_count_warning(d);
    return;
  }
  ts_diag_report(d, TS_WARNING, NULL, 0, 0, "font family \"%s\" not found", family);
  if (e) e->shown = d->out && !d->quiet;
}

static void set_add(ts_fontset *out, const ts_face *f, int script)
{
  if (!f) return;
  for (int i = 0; i < out->n; i++)
    if (out->faces[i] == f) return;
  if (out->n < TS_FONTSET_MAX) {
    out->script[out->n] = (uint8_t)script;
    out->faces[out->n++] = f;
  }
}

/* A fallback whose family exists: neither located nor loaded until a
 * character needs it (ts_fontset_face). */
static void set_add_lazy(ts_fontset *out, const char *family, int script)
{
  if (out->n < TS_FONTSET_MAX) {
    out->script[out->n] = (uint8_t)script;
    out->fb->family[out->n] = family;
    out->faces[out->n++] = NULL;
  }
}

static const ts_face *resolve_locked(struct ts_fontset_fb *fb, int i);

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
      for (const char *m = e->missing; m && *m; m += strlen(m) + 1)
        warn_missing_locked(c, d, m);
      pthread_mutex_unlock(&c->lock);
      free(key);
      return out->n > 0 ? TS_OK : TS_ERR_FONT;
    }
  }
  c->nomem = 0;
  add_dir_locked(c, extra_dir);
  load_fallbacks_locked(c, ctx, d);
  ts_status st = TS_OK;
  ts_buf missing; /* the role's families not found, for set_entry.missing */
  ts_buf_init(&missing);
  struct ts_fontset_fb *fb = calloc(1, sizeof *fb);
  struct ts_fontset_fb **nfbs = fb ? realloc(c->fbs, (c->n_fbs + 1) * sizeof *nfbs) : NULL;
  if (!nfbs) {
    free(fb);
    st = TS_ERR_NOMEM;
    goto out;
  }
  c->fbs = nfbs;
  c->fbs[c->n_fbs++] = fb;
  fb->c = c;
  fb->weight = weight;
  fb->italic = italic;
  out->fb = fb;
  int r = TS_ROLE_BODY;
  if (role) {
    /* the first family found is loaded now; the role's later families, like
     * the script fallbacks, only when a character needs them (a paper set
     * in its first family never opens the others) */
    for (int i = 0; i < role->n_families && i < TS_STYLE_MAX_FAMILIES; i++) {
      const char *fam = role->families[i];
      if (!fam || !*fam) continue;
      if (out->n > 0) {
        if (!family_exists_locked(c, fam)) {
          if (!c->nomem) note_missing_locked(c, d, fam, &missing);
        } else if (out->n < TS_FONTSET_MAX) {
          char *own = strdup(fam);
          if (!own) {
            st = TS_ERR_NOMEM;
            goto out;
          }
          fb->own[out->n] = own;
          set_add_lazy(out, own, TS_FB_NONE);
        }
        continue;
      }
      const ts_face *f = find_locked(c, fam, weight, italic);
      if (!f && !c->nomem) note_missing_locked(c, d, fam, &missing);
      set_add(out, f, TS_FB_NONE);
    }
    /* The flavour of the fallbacks follows the role's first face: fixed
     * pitch → mono, sans (PANOSE or name) → heading, else body. */
    if (out->n > 0 && out->faces[0]->fixed_pitch) r = TS_ROLE_MONO;
    else if (out->n > 0 && !out->faces[0]->serif) r = TS_ROLE_HEADING;
  }
  fb->flavour = (ts_role)r;
  for (int i = 0; i < out->n; i++) {
    fb->face[i] = out->faces[i];
    atomic_init(&fb->state[i], out->faces[i] != NULL); /* lazy entries: 0 */
  }
  /* a fallback not installed is told where a character needs it
   * (ts_fonts_provider), not for every paper that might */
  for (size_t i = 0; i < c->n_fb[r]; i++) {
    const char *fam = c->fb_family[r][i];
    if (family_exists_locked(c, fam)) set_add_lazy(out, fam, c->fb_script[r][i]);
  }
  /* no role face: the first fallback stands in for it (faces[0] is read
   * directly), so it is loaded now */
  if (out->n > 0 && !out->faces[0]) {
    fb->face[0] = resolve_locked(fb, 0);
    atomic_store_explicit(&fb->state[0], 1, memory_order_relaxed);
    out->faces[0] = fb->face[0];
  }
  if (c->nomem) { /* what failed for want of memory is no answer to keep */
    c->nomem = 0;
    st = TS_ERR_NOMEM;
    goto out;
  }
  if (c->n_sets == c->cap_sets) {
    size_t nc = c->cap_sets ? c->cap_sets * 2 : 16;
    set_entry *ns = realloc(c->sets, nc * sizeof *ns);
    if (ns) {
      c->sets = ns;
      c->cap_sets = nc;
    }
  }
  char *miss = NULL;
  if (missing.len) {
    ts_buf_putc(&missing, 0);
    size_t ml;
    if (!missing.oom) miss = ts_buf_detach(&missing, &ml);
    if (!miss) { /* the set would not tell its missing families again */
      st = TS_ERR_NOMEM;
      goto out;
    }
  }
  if (c->n_sets < c->cap_sets) {
    c->sets[c->n_sets++] = (set_entry){h, weight, italic, key, *out, miss};
    key = NULL;
    miss = NULL;
  }
  free(miss);
out:
  pthread_mutex_unlock(&c->lock);
  ts_buf_free(&missing);
  free(key);
  if (st != TS_OK) return st;
  return out->n > 0 ? TS_OK : TS_ERR_FONT;
}

/* ICU's Script property (ICU is linked into every run; HarfBuzz is opened
 * only to shape: hb_api.h) */
ts_fb_script ts_fb_script_of(uint32_t cp)
{
  UErrorCode e = U_ZERO_ERROR;
  UScriptCode us = uscript_getScript((UChar32)cp, &e);
  if (U_FAILURE(e)) return TS_FB_NONE;
  switch (us) {
  case USCRIPT_LATIN: case USCRIPT_CYRILLIC: case USCRIPT_GREEK:
    return TS_FB_LATIN;
  case USCRIPT_ARABIC: return TS_FB_ARABIC;
  case USCRIPT_HEBREW: return TS_FB_HEBREW;
  case USCRIPT_DEVANAGARI: return TS_FB_DEVANAGARI;
  case USCRIPT_HAN: case USCRIPT_HIRAGANA: case USCRIPT_KATAKANA:
  case USCRIPT_HANGUL: case USCRIPT_BOPOMOFO:
    return TS_FB_CJK;
  default: return TS_FB_NONE;
  }
}

/* Fallback i's face, or NULL when an earlier entry has the same face (file
 * and index: the set holds each face once, at its first place, so that the
 * script pass of ts_fontset_pick sees it under its first script only) or
 * when it cannot be loaded. */
static const ts_face *resolve_locked(struct ts_fontset_fb *fb, int i)
{
  fonts_cache *c = fb->c;
  unsigned index = 0, j_index = 0;
  const char *file = locate_file_locked(c, fb->family[i], fb->weight, fb->italic, &index);
  if (!file) return NULL;
  for (int j = 0; j < i; j++) {
    const char *jf;
    if (fb->family[j]) {
      jf = locate_file_locked(c, fb->family[j], fb->weight, fb->italic, &j_index);
    } else {
      jf = fb->face[j] ? fb->face[j]->path : NULL; /* a role face */
      j_index = fb->face[j] ? fb->face[j]->index : 0;
    }
    if (jf && j_index == index && !strcmp(jf, file)) return NULL;
  }
  return find_locked(c, fb->family[i], fb->weight, fb->italic);
}

const ts_face *ts_fontset_face(const ts_fontset *fs, int i)
{
  if (!fs || i < 0 || i >= fs->n) return NULL;
  if (fs->faces[i] || !fs->fb) return fs->faces[i];
  struct ts_fontset_fb *fb = fs->fb;
  if (atomic_load_explicit(&fb->state[i], memory_order_acquire)) return fb->face[i];
  pthread_mutex_lock(&fb->c->lock);
  const ts_face *f = fb->face[i];
  if (!atomic_load_explicit(&fb->state[i], memory_order_relaxed)) {
    fb->c->nomem = 0;
    f = resolve_locked(fb, i);
    if (fb->c->nomem) { /* not remembered: tried again next time */
      fb->c->nomem = 0;
      atomic_store(&fb->nomem, 1);
      f = NULL;
    } else {
      fb->face[i] = f;
      atomic_store_explicit(&fb->state[i], 1, memory_order_release);
    }
  }
  pthread_mutex_unlock(&fb->c->lock);
  return f;
}

int ts_fontset_nomem(const ts_fontset *fs)
{
  /* a plain load first: asked for every character cluster */
  return fs && fs->fb && atomic_load_explicit(&fs->fb->nomem, memory_order_relaxed) &&
         atomic_exchange(&fs->fb->nomem, 0);
}

static int covers(const ts_fontset *fs, int i, uint32_t cp)
{
  return ts_face_has(ts_fontset_face(fs, i), cp);
}

const ts_face *ts_fontset_pick(const ts_fontset *fs, uint32_t cp)
{
  if (!fs || fs->n == 0) return NULL;
  if (ts_face_has(fs->faces[0], cp)) return fs->faces[0]; /* the common case */
  int i = 0;
  for (; i < fs->n && fs->script[i] == TS_FB_NONE; i++)
    if (covers(fs, i, cp)) return ts_fontset_face(fs, i);
  ts_fb_script sc = ts_fb_script_of(cp);
  if (sc != TS_FB_NONE)
    for (int j = i; j < fs->n; j++)
      if (fs->script[j] == sc && covers(fs, j, cp)) return ts_fontset_face(fs, j);
  for (int j = i; j < fs->n; j++)
    if (covers(fs, j, cp)) return ts_fontset_face(fs, j);
  return ts_fontset_face(fs, 0);
}
