/* fonts.c — embedded fonts for the EPUB: the first family of the style's
 * body, heading and mono roles, in the weights and slopes the book uses,
 * subset with harfbuzz-subset to the characters the book contains (all
 * OpenType layout features kept, so ligatures, kerning and old-style figures
 * still work for the text that is there).  A face whose OS/2 fsType forbids
 * embedding is left out with a warning; so is a family the machine lacks —
 * the book then falls back to the reader's fonts through the CSS list. */
#include "epub_int.h"

#include "fonts/ts_fonts.h"

#include "fonts/hbsubset_api.h"
#include <libdeflate.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- the series-wide subset cache ---------------------------------------
 * In a series the papers share a style and, once their code points are
 * restricted to what each face covers (book_cps), mostly their subsets: a subset is made and deflated
 * once and the next paper copies the deflated bytes.  Keyed by the face's
 * file and index, the code point set and the features; an entry
 * holds only the bytes as they go into the ZIP (deflated), its CRC and the
 * subset's size.  Output never depends on the cache's history: a hit
 * returns the bytes a miss would have made.  Thread-safe (one mutex; the
 * subsetting itself runs outside it, two threads missing on one key both
 * subset and the second insert is dropped).  Bounded: past the budget the
 * least recently used entries go. */
#define EPUB_CACHE_BUDGET ((size_t)32 << 20) /* deflated bytes held */
#define EPUB_CACHE_BUCKETS 256

typedef struct scent {
  char *path;            /* the face's file (owned) */
  unsigned index;        /* face index in the file */
  ts_cpset cps, feat;    /* owned */
  uint64_t hash;
  ts_blob *z;            /* a reference: deflated subset, or the subset when
                            !deflated */
  size_t len;
  uint32_t crc;
  int deflated;
  uint64_t used;         /* clock of the last use (LRU) */
  struct scent *next;    /* bucket chain */
} scent;

typedef struct ecache {
  pthread_mutex_t lock;
  scent *bucket[EPUB_CACHE_BUCKETS];
  size_t bytes, n;
  uint64_t clock, hits, misses;
  /* ts_epub_prefetch's thread opening libzip (under lock; joined by
   * ecache_free, before the context goes) */
  pthread_t zip_thread;
  int zip_tried, zip_started;
} ecache;

static void scent_free(scent *e) {
  if (!e) return;
  free(e->path);
  ts_cpset_free(&e->cps);
  ts_cpset_free(&e->feat);
  ts_blob_unref(e->z);
  free(e);
}

static void *ecache_create(ts_ctx *ctx) {
  (void)ctx;
  ecache *c = calloc(1, sizeof *c);
  if (c && pthread_mutex_init(&c->lock, NULL) != 0) {
    free(c);
    c = NULL;
  }
  return c;
}

static void ecache_free(void *p) {
  ecache *c = p;
  if (!c) return;
  if (c->zip_started) pthread_join(c->zip_thread, NULL);
  for (size_t i = 0; i < EPUB_CACHE_BUCKETS; i++) {
    scent *e = c->bucket[i];
    while (e) {
      scent *nx = e->next;
      scent_free(e);
      e = nx;
    }
  }
  pthread_mutex_destroy(&c->lock);
  free(c);
}

static ecache *ecache_get(ts_ctx *ctx) {
  return ts_ctx_slot(ctx, TS_SLOT_EPUB, ecache_create, ecache_free);
}

static uint64_t key_hash(const ts_face *f, const ts_cpset *cps, const ts_cpset *feat) {
  uint64_t h = ts_hash64(f->path, strlen(f->path), 0);
  h = ts_hash64(&f->index, sizeof f->index, h);
  return ts_cpset_hash(feat, ts_cpset_hash(cps, h));
}

static int key_eq(const scent *e, uint64_t h, const ts_face *f, const ts_cpset *cps,
                  const ts_cpset *feat) {
  return e->hash == h && e->index == f->index && strcmp(e->path, f->path) == 0 &&
         ts_cpset_equal(&e->cps, cps) && ts_cpset_equal(&e->feat, feat);
}

/* Copies a found entry's bytes into *ef; 1 when found (0 on a miss or OOM). */
static int ecache_find(ecache *c, uint64_t h, const ts_face *f, const ts_cpset *cps,
                       const ts_cpset *feat, efont *ef) {
  int found = 0;
  pthread_mutex_lock(&c->lock);
  for (scent *e = c->bucket[h % EPUB_CACHE_BUCKETS]; e; e = e->next) {
    if (!key_eq(e, h, f, cps, feat)) continue;
    ef->z = ts_blob_ref(e->z); /* shared, not copied */
    ef->len = e->len;
    ef->crc = e->crc;
    ef->deflated = e->deflated;
    e->used = ++c->clock;
    c->hits++;
    found = 1;
    break;
  }
  if (!found) c->misses++;
  pthread_mutex_unlock(&c->lock);
  return found;
}

/* Inserts e (taken: stored or freed), then evicts the least recently used
 * entries past the budget (never the one just added). */
static void ecache_put(ecache *c, scent *e) {
  pthread_mutex_lock(&c->lock);
  scent **b = &c->bucket[e->hash % EPUB_CACHE_BUCKETS];
  for (scent *o = *b; o; o = o->next)
    if (key_eq(o, e->hash, &(ts_face){.path = e->path, .index = e->index}, &e->cps, &e->feat)) {
      pthread_mutex_unlock(&c->lock); /* another thread made it meanwhile */
      scent_free(e);
      return;
    }
  e->used = ++c->clock;
  e->next = *b;
  *b = e;
  c->bytes += ts_blob_len(e->z);
  c->n++;
  while (c->bytes > EPUB_CACHE_BUDGET && c->n > 1) {
    scent **victim = NULL;
    for (size_t i = 0; i < EPUB_CACHE_BUCKETS; i++)
      for (scent **p = &c->bucket[i]; *p; p = &(*p)->next)
        if (*p != e && (!victim || (*p)->used < (*victim)->used)) victim = p;
    if (!victim) break;
    scent *v = *victim;
    *victim = v->next;
    c->bytes -= ts_blob_len(v->z);
    c->n--;
    scent_free(v);
  }
  pthread_mutex_unlock(&c->lock);
}

/* ts_ctx_quiesce: the thread opening libzip, if one was started, has ended. */
static void ecache_quiesce(void *p) {
  ecache *c = p;
  pthread_mutex_lock(&c->lock);
  if (c->zip_started) pthread_join(c->zip_thread, NULL);
  c->zip_started = 0;
  pthread_mutex_unlock(&c->lock);
}

static void *zip_open_main(void *arg) {
  (void)arg;
  (void)epub_zip_open();
  return NULL;
}

void ts_epub_prefetch(ts_ctx *ctx) {
  ecache *c = ctx ? ecache_get(ctx) : NULL;
  if (!c) return;
  pthread_mutex_lock(&c->lock);
  if (!c->zip_tried) {
    c->zip_tried = 1;
    c->zip_started = pthread_create(&c->zip_thread, NULL, zip_open_main, NULL) == 0;
    if (c->zip_started) ts_ctx_set_quiesce(ctx, TS_SLOT_EPUB, ecache_quiesce);
  }
  pthread_mutex_unlock(&c->lock);
}

void ts_epub_open_zip(ts_ctx *ctx) {
  ecache *c = ctx ? ecache_get(ctx) : NULL;
  if (c) {
    pthread_mutex_lock(&c->lock);
    c->zip_tried = 1; /* no thread of ts_epub_prefetch's for it any more */
    pthread_mutex_unlock(&c->lock);
  }
  (void)epub_zip_open(); /* once a process; a second caller waits for the first */
}

void epub_font_cache_stats(ts_ctx *ctx, uint64_t *hits, uint64_t *misses, size_t *bytes) {
  ecache *c = ecache_get(ctx);
  *hits = *misses = 0;
  *bytes = 0;
  if (!c) return;
  pthread_mutex_lock(&c->lock);
  *hits = c->hits;
  *misses = c->misses;
  *bytes = c->bytes;
  pthread_mutex_unlock(&c->lock);
}

/* ---- the subsets on disk ---------------------------------------------------
 * A subset also goes into typeset's cache folder (ts_dcache, kind
 * "epubfont"), so that the next process rendering a paper with the same
 * characters — an author's next run, a series run after one paper changed —
 * copies it instead of subsetting and deflating again (two thirds of a
 * paper's EPUB time).  The key: the recipe (typeset's, HarfBuzz's and
 * libdeflate's versions, the level), the font file and face index, the code
 * point and feature sets; the value: the entry's sizes and CRC, then its
 * bytes.  The output never depends on it: a hit gives the bytes a miss
 * makes. */
#define DISK_RECIPE 2 /* bump when make_subset changes what it makes */

/* The key of f's subset to cps with feat; 0 when the font file cannot be
 * stat'ed (or on OOM). */
static int disk_key(ts_buf *b, const ts_face *f, const ts_cpset *cps, const ts_cpset *feat) {
  char recipe[160];
  int rn = snprintf(recipe, sizeof recipe, "TSEPUBF1 typeset %s harfbuzz %s libdeflate %s level %d recipe %d",
                    TS_VERSION, HB_VERSION_STRING, LIBDEFLATE_VERSION_STRING, EPUB_ZIP_LEVEL,
                    DISK_RECIPE);
  if (rn <= 0 || (size_t)rn >= sizeof recipe) return 0;
  ts_buf_put_u32(b, (uint32_t)rn);
  ts_buf_append(b, recipe, (size_t)rn);
  return ts_face_subset_key(b, f, cps, feat);
}

enum { DISK_HEAD = 8 + 4 + 4 };

/* Fills r's entry (len, crc, deflated, z) from the disk; 1 on a hit.  The
 * bytes stay in the cache file's mapping (a window of the blob). */
static int disk_get(const ts_buf *key, scent *r) {
  ts_blob *v = ts_dcache_get_blob("epubfont", key);
  const unsigned char *p = ts_blob_data(v);
  size_t n = ts_blob_len(v);
  uint64_t len;
  uint32_t crc, deflated;
  if (!v || n <= DISK_HEAD) goto miss;
  memcpy(&len, p, 8);
  memcpy(&crc, p + 8, 4);
  memcpy(&deflated, p + 12, 4);
  if (deflated > 1 || len == 0 || len >= ((uint64_t)1 << 32) ||
      (!deflated && n - DISK_HEAD != len))
    goto miss;
  if (!(r->z = ts_blob_window(v, DISK_HEAD, n - DISK_HEAD))) goto miss;
  ts_blob_unref(v); /* the window holds it */
  r->len = len;
  r->crc = crc;
  r->deflated = (int)deflated;
  return 1;
miss:
  ts_blob_unref(v);
  return 0;
}

/* Writes r's entry under key (failure is no error: it is a cache). */
static void disk_put(const ts_buf *key, const scent *r) {
  ts_buf b;
  ts_buf_init(&b);
  ts_buf_put_u64(&b, r->len);
  ts_buf_put_u32(&b, r->crc);
  ts_buf_put_u32(&b, (uint32_t)(r->deflated != 0));
  ts_buf_append(&b, ts_blob_data(r->z), ts_blob_len(r->z));
  if (!b.oom) ts_dcache_put("epubfont", key, b.data, b.len);
  ts_buf_free(&b);
}


/* ---- the code point set a face is subset to ----------------------------
 * The book's characters that the face covers: a face then gets the same
 * subset in every paper whose text differs only in characters it lacks (the
 * CJK of a paper is no part of its Latin faces' keys).
 *
 * Rounding the set up to whole ranges, so that papers differing in one
 * accented letter would share subsets, was measured and left out: the
 * EPUBs of the four samples (Linux Libertine O, Biolinum, DejaVu Sans Mono;
 * bytes, exact sets 207,881 / 208,000 / 253,863 / 158,501) grew with
 * aligned 128-code-point ranges below U+0800 and in U+2000–U+2BFF to
 * 348,228 / 289,580 / 582,903 / 217,897 (+37 % to +130 %), with 8-code-point
 * ranges by 3 % to 20 %, and with a fixed set of 38 common typographic
 * characters (quotes, dashes, daggers, ×, −, …) by 7 % to 11 %: each character
 * brings its small-capital, case and figure variants and their kerning.  A
 * reader downloads every byte; a series pays a subset per distinct set. */
static int book_cps(const ts_cpset *cps, const ts_cpset *face_cps, ts_cpset *out) {
  return ts_cpset_and(out, cps, face_cps);
}

/* The layout features kept in a subset: HarfBuzz's default set (what
 * shapers apply by themselves: ligatures, kerning, marks, contextual and
 * script forms, fractions), the small capitals of `font-variant:
 * small-caps` where the book uses them, and the features the style's
 * font-feature-settings ask for — what the book's CSS can switch on.
 * Keeping every feature (stylistic sets, swashes, alternates) made the
 * subsets several times larger; keeping the figure styles, superiors and
 * case forms no CSS of the book asks for cost the arctic-shipping sample
 * 58 KB of its 208 KB and 34 M of its 125 M instructions. */
/* An OpenType tag of the first k (1..4) characters of p, padded with
 * spaces, as hb_tag_from_string makes it. */
static uint32_t tag_of(const char *p, size_t k) {
  uint32_t t = 0;
  for (size_t i = 0; i < 4; i++) t = t << 8 | (i < k ? (unsigned char)p[i] : ' ');
  return t;
}

static int add_features(const epub *E, int smallcaps, ts_cpset *feat) {
  if (smallcaps) {
    (void)ts_cpset_add(feat, HB_TAG('s', 'm', 'c', 'p'));
    (void)ts_cpset_add(feat, HB_TAG('c', '2', 's', 'c'));
  }
  for (int r = 0; r < TS_ROLE_COUNT; r++) {
    const char *p = E->style->fonts[r].features;
    while (p && *p) {
      while (*p == ',' || *p == ' ') p++;
      size_t k = strcspn(p, ",= ");
      if (k >= 1 && k <= 4) (void)ts_cpset_add(feat, tag_of(p, k));
      p += strcspn(p, ",");
    }
  }
  return !feat->oom;
}

/* Subsets face to cps keeping the features feat; the subset, its CRC and
 * (when smaller) its deflated bytes go to *r (r->z owned).  1 made, 0 when
 * HarfBuzz cannot subset it, -1 when memory ran out here. */
static int make_subset(const ts_face *f, const ts_cpset *cps, const ts_cpset *feat, scent *r) {
  hb_face_t *face = ts_face_hbface(f);
  hb_subset_input_t *in = face ? hb_subset_input_create_or_fail() : NULL;
  if (!in) return 0;
  hb_set_t *us = hb_subset_input_unicode_set(in);
  for (size_t i = 0; i < cps->n; i++) hb_set_add_range(us, cps->r[i].lo, cps->r[i].hi);
  hb_set_t *fs = hb_subset_input_set(in, HB_SUBSET_SETS_LAYOUT_FEATURE_TAG);
  for (size_t i = 0; i < feat->n; i++) /* added to HarfBuzz's default set */
    hb_set_add_range(fs, feat->r[i].lo, feat->r[i].hi);
  if (!hb_set_allocation_successful(us) || !hb_set_allocation_successful(fs)) {
    hb_subset_input_destroy(in);
    return -1;
  }
  hb_face_t *out = hb_subset_or_fail(face, in);
  hb_subset_input_destroy(in);
  if (!out) return 0;
  hb_blob_t *blob = hb_face_reference_blob(out);
  unsigned n = 0;
  const char *p = hb_blob_get_data(blob, &n);
  int ok = 0;
  if (p && n > 0) {
    unsigned char *comp = NULL;
    size_t clen = 0;
    uint32_t crc = 0;
    ts_status ds = epub_deflate(p, n, EPUB_ZIP_LEVEL, &comp, &clen, &crc);
    if (ds == TS_OK) {
      r->len = n;
      r->crc = crc;
      r->deflated = comp != NULL;
      r->z = comp ? ts_blob_take(comp, clen) : ts_blob_copy(p, n);
      ok = r->z != NULL ? 1 : -1;
    } else if (ds == TS_ERR_NOMEM) {
      ok = -1;
    }
  }
  hb_blob_destroy(blob);
  hb_face_destroy(out);
  return ok;
}

/* Fills ef's bytes (z, len, crc, deflated) with face f subset
 * to the book's characters, from the cache when it has them.
 * 1 done, 0 when the subset cannot be made, -1 when memory ran out; with
 * cached_only, 2 when the caches do not have it (nothing made). */
static int subset_font(epub *E, const ts_face *f, int smallcaps, int cached_only, efont *ef) {
  ecache *c = ecache_get(E->ctx); /* NULL (OOM): subset without a cache */
  ts_cpset cps, feat;
  ts_cpset_init(&cps);
  ts_cpset_init(&feat);
  scent *e = NULL;
  int ok = 0;
  if (!book_cps(&E->cps, &f->unicodes, &cps) || !add_features(E, smallcaps, &feat)) {
    ok = -1;
    goto done;
  }
  uint64_t h = key_hash(f, &cps, &feat);
  if (c && ecache_find(c, h, f, &cps, &feat, ef)) {
    ok = 1;
    goto done;
  }
  e = calloc(1, sizeof *e);
  if (!e) {
    ok = -1;
    goto done;
  }
  {
    ts_buf key;
    ts_buf_init(&key);
    int have_key = ts_dcache_enabled() && disk_key(&key, f, &cps, &feat);
    if (!have_key || !disk_get(&key, e)) {
      if (cached_only) {
        ts_buf_free(&key);
        ok = 2;
        goto done;
      }
      int made = make_subset(f, &cps, &feat, e);
      if (made <= 0) {
        ts_buf_free(&key);
        ok = made;
        goto done;
      }
      if (have_key) disk_put(&key, e);
    }
    ts_buf_free(&key);
  }
  ef->z = ts_blob_ref(e->z); /* shared with the cache, not copied */
  ef->len = e->len;
  ef->crc = e->crc;
  ef->deflated = e->deflated;
  ok = 1;
  if (c && (e->path = strdup(f->path))) {
    e->index = f->index;
    e->cps = cps; /* taken */
    e->feat = feat;
    e->hash = h;
    ts_cpset_init(&cps);
    ts_cpset_init(&feat);
    ecache_put(c, e);
    e = NULL;
  }
done:
  scent_free(e);
  ts_cpset_free(&cps);
  ts_cpset_free(&feat);
  return ok;
}

typedef struct want {
  ts_role role;
  int bold, italic;
} want;

static void want_add(want *w, int *n, ts_role role, int bold, int italic) {
  for (int i = 0; i < *n; i++)
    if (w[i].role == role && w[i].bold == bold && w[i].italic == italic) return;
  if (*n < 16) w[(*n)++] = (want){role, bold, italic};
}

/* One face to subset (epub_embed_fonts' step 2). */
typedef struct sjob {
  epub *E;
  const ts_face *f;
  int sc;
  want w;
  const char *family;
  efont ef; /* the bytes made (z a reference until handed to E) */
  int ok;
} sjob;

typedef struct sjobs {
  sjob *j;
  size_t n;
  atomic_size_t next; /* the next job to take */
} sjobs;

static void *subset_worker(void *arg) {
  sjobs *J = arg;
  for (size_t i; (i = atomic_fetch_add(&J->next, 1)) < J->n;)
    if (J->j[i].ok == 2) J->j[i].ok = subset_font(J->j[i].E, J->j[i].f, J->j[i].sc, 0, &J->j[i].ef);
  return NULL;
}

ts_status epub_embed_fonts(epub *E) {
  const ts_style *s = E->style;
  want w[16];
  int n = 0;
  /* what the book's text needs, role by role */
  want_add(w, &n, TS_ROLE_BODY, 0, 0);
  if (E->used_italic) want_add(w, &n, TS_ROLE_BODY, 0, 1);
  if (E->used_bold) want_add(w, &n, TS_ROLE_BODY, 1, 0);
  if (E->used_bold && E->used_italic) want_add(w, &n, TS_ROLE_BODY, 1, 1);
  int levels[7] = {0};
  for (size_t i = 0; i < E->n_heads; i++) levels[E->heads[i].level] = 1;
  for (int l = 1; l <= 6; l++) {
    const ts_block_style *b = &s->h[l - 1].b;
    if (levels[l]) want_add(w, &n, b->role, b->bold, b->italic);
  }
  const ts_block_style *tp[] = {&s->masthead_style, &s->title, &s->subtitle, &s->author,
                                &s->affiliation, &s->abstract, &s->keywords, &s->caption,
                                &s->footnote};
  for (size_t i = 0; i < sizeof tp / sizeof tp[0]; i++)
    want_add(w, &n, tp[i]->role, tp[i]->bold, tp[i]->italic);
  if (E->used_mono) want_add(w, &n, TS_ROLE_MONO, 0, 0);

  E->fonts = ts_arena_alloc(E->a, sizeof(efont) * 16);
  if (!E->fonts) return TS_ERR_NOMEM;
  /* 1. the faces (in the order of w: the order of the manifest) */
  const ts_face *done[16];
  sjob jobs[16];
  size_t nj = 0;
  for (int i = 0; i < n; i++) {
    /* the role's first family found, as in the PDF: the style sheet names
     * them all in order, so a reader without the first takes this one */
    const char *family = NULL;
    const ts_face *f = NULL;
    ts_status fst = ts_fonts_role_face(E->ctx, &s->fonts[w[i].role], w[i].bold ? 700 : 400,
                                       w[i].italic, E->d, &f, &family);
    if (fst != TS_OK) return fst;
    if (!f) continue; /* the reader's fonts will do (each family was told missing) */
    /* only a face that really has the asked weight and slope: a regular face
     * declared as italic would stop the reader from slanting it */
    if ((f->weight >= 600) != (w[i].bold != 0) || (f->italic != 0) != (w[i].italic != 0)) continue;
    int dup = 0;
    for (size_t k = 0; k < nj; k++) dup |= done[k] == f;
    if (dup) continue;
    if (f->no_embed) {
      ts_diag_report(E->d, TS_WARNING, f->path, 0, 0,
                     "the font's license (OS/2 fsType) forbids embedding; the EPUB "
                     "names '%s' without embedding it", family);
      continue;
    }
    /* small capitals (font-variant: small-caps) only in the faces of a
     * role that a small-caps block style of the book uses: their glyphs
     * were a sixth of a paper's subsets */
    int sc = 0;
    for (size_t k = 0; k < sizeof tp / sizeof tp[0]; k++)
      sc |= tp[k]->smallcaps && tp[k]->role == w[i].role;
    for (int l = 1; l <= 6; l++)
      sc |= levels[l] && s->h[l - 1].b.smallcaps && s->h[l - 1].b.role == w[i].role;
    const ts_block_style *flow[] = {&s->body, &s->quote, &s->code, &s->list, &s->table};
    for (size_t k = 0; k < sizeof flow / sizeof flow[0]; k++)
      sc |= flow[k]->smallcaps && flow[k]->role == w[i].role;
    done[nj] = f;
    jobs[nj++] = (sjob){E, f, sc, w[i], family, {0}, 0};
  }
  /* 2. the subsets: those the caches have, taken here; the others made on
   * two threads when the context allows and two or more are missing (each
   * is a few million instructions, a thread's start a fraction of one; the
   * result does not depend on which thread made which: the cache returns
   * what a miss makes) */
  size_t missing = 0;
  for (size_t i = 0; i < nj; i++) {
    jobs[i].ok = subset_font(E, jobs[i].f, jobs[i].sc, 1, &jobs[i].ef);
    missing += jobs[i].ok == 2;
  }
  const char *why = NULL;
  /* HarfBuzz and harfbuzz-subset are opened by the first subset made */
  if (missing && (!ts_hb_open(&why) || !ts_hbsubset_open(&why))) {
    for (size_t i = 0; i < nj; i++) ts_blob_unref(jobs[i].ef.z);
    ts_diag_report(E->d, TS_ERROR, NULL, 0, 0, "%s", why);
    return TS_ERR_INTERNAL;
  }
  sjobs J = {.j = jobs, .n = nj};
  atomic_init(&J.next, 0);
  pthread_t helper;
  int spawned = missing > 1 && ts_ctx_threads(E->ctx) > 1 &&
                pthread_create(&helper, NULL, subset_worker, &J) == 0;
  subset_worker(&J);
  if (spawned) pthread_join(helper, NULL);
  /* 3. in order: the fonts made, a warning for each that could not be */
  static const char *const role_name[TS_ROLE_COUNT] = {"body", "heading", "mono"};
  ts_status st = TS_OK;
  for (size_t i = 0; i < nj; i++) {
    sjob *j = &jobs[i];
    if (j->ok < 0) { /* out of memory: no warning, the book fails */
      ts_blob_unref(j->ef.z);
      j->ef.z = NULL;
      st = TS_ERR_NOMEM;
      continue;
    }
    if (!j->ok) {
      ts_blob_unref(j->ef.z);
      ts_diag_report(E->d, TS_WARNING, j->f->path, 0, 0,
                     "could not subset the font; the EPUB names '%s' without embedding it",
                     j->family);
      continue;
    }
    efont *ef = &E->fonts[E->n_fonts++];
    *ef = j->ef;
    j->ef.z = NULL; /* now E's */
    ef->family = j->family;
    ef->weight = j->w.bold ? 700 : 400;
    ef->italic = j->w.italic;
    ef->media = j->f->is_cff ? "font/otf" : "font/ttf";
    ef->name = ts_arena_printf(E->a, "fonts/%s-%s%s.%s", role_name[j->w.role],
                               j->w.bold ? "bold" : "regular", j->w.italic ? "-italic" : "",
                               j->f->is_cff ? "otf" : "ttf");
    if (!ef->name) st = TS_ERR_NOMEM;
  }
  if (st == TS_OK) st = ts_face_check_readable(E->d); /* a face file gone since it was read */
  return st;
}
