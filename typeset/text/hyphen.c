/* hyphen.c — hyphenation with libhyphen (Liang's patterns, as TeX §§919–
 * 965) and Debian's hyphen-* dictionaries.  Dictionaries are loaded once per
 * process into ctx slot TS_SLOT_HYPHEN and only read afterwards, so threads
 * share them.  Debian's dictionaries are not all UTF-8 (hyph_ru_RU is KOI8-R,
 * hyph_de_DE ISO-8859-1): each dictionary's charset line decides, and words
 * are converted with a byte table built from ICU's converter at load time
 * (ICU converters are not thread-safe; the table is). */
#include "text/text_internal.h"
#include "text/hyphen_cache.h"

#include <hyphen.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/ucnv.h>

#define HYPHEN_DIR "/usr/share/hyphen"
/* characters; longer "words" (hashes, chemistry) are not hyphenated.  The
 * longest German compounds in real use have 63 to 67 letters
 * (Grundstücksverkehrsgenehmigungszuständigkeitsübertragungsverordnung);
 * at 64 such a word stayed whole and widened its table column past the
 * measure. */
#define MAX_WORD 96
/* hyphenation points kept for a word: enough for MAX_WORD letters with a
 * point every two */
#define WORD_POINTS 48

/* Words already hyphenated (a paper repeats its vocabulary): results are
 * memoised per dictionary, up to WORDS_MAX words, in an open-addressing
 * table that starts at WORDS_FIRST slots and doubles at half full (a fixed
 * table of 2 * WORDS_MAX slots was 2 MiB, touched page by page, for a
 * paper's few thousand words). */
#define WORDS_MAX 32768
#define WORDS_FIRST 1024

typedef struct hy_word {
  uint64_t hash;  /* 0 = empty slot */
  uint32_t off;   /* word bytes in the pool */
  uint8_t len, lmin, rmin, n;
  uint8_t pos[WORD_POINTS]; /* byte offsets: memoised words are < 256 bytes */
} hy_word;

struct hy_dict {
  char *lang;          /* as asked, e.g. "en", "en-GB" */
  HyphenDict *dict;    /* NULL: no dictionary for this language (memoised) */
  int in_block;        /* dict came from the cache file (ts_hy_release) */
  int utf8;
  uint32_t high[128];  /* 8-bit charsets: code point of bytes 0x80..0xFF (0 = none) */
  pthread_mutex_t lock;/* guards the memo below */
  hy_word *words;      /* open addressing, cap_words slots (a power of 2) */
  size_t n_words, cap_words;
  char *pool;
  size_t pool_len, pool_cap;
};

typedef struct hy_cache {
  pthread_mutex_t lock;
  hy_dict **dicts;     /* each allocated once: pointers handed out stay valid */
  size_t n;
  /* ts_hy_prefetch's loader thread (at most one per context), joined when
   * the context is destroyed */
  pthread_mutex_t pf_lock;
  int pf_tried, pf_started;
  pthread_t pf_thread;
  char pf_lang[36];
} hy_cache;

static void hy_cache_free(void *p)
{
  hy_cache *c = p;
  if (!c) return;
  if (c->pf_started) pthread_join(c->pf_thread, NULL);
  pthread_mutex_destroy(&c->pf_lock);
  for (size_t i = 0; i < c->n; i++) {
    hy_dict *h = c->dicts[i];
    free(h->lang);
    ts_hy_release(h->dict, h->in_block);
    free(h->words);
    free(h->pool);
    pthread_mutex_destroy(&h->lock);
    free(h);
  }
  free(c->dicts);
  pthread_mutex_destroy(&c->lock);
  free(c);
}

static void *hy_cache_create(ts_ctx *ctx)
{
  (void)ctx;
  hy_cache *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  if (pthread_mutex_init(&c->lock, NULL)) { free(c); return NULL; }
  if (pthread_mutex_init(&c->pf_lock, NULL)) {
    pthread_mutex_destroy(&c->lock);
    free(c);
    return NULL;
  }
  return c;
}

/* Default regions for bare language tags (Debian ships region files). */
static const char *const default_region[][2] = {
  {"en", "US"}, {"ru", "RU"}, {"de", "DE"}, {"fr", "FR"}, {"uk", "UA"}, {"it", "IT"},
  {"es", "ES"}, {"pt", "PT"}, {"nl", "NL"}, {"pl", "PL"}, {"cs", "CZ"}, {"sv", "SE"},
  {"el", "GR"},
};

static HyphenDict *try_load(const char *ll, const char *rr, int *in_block)
{
  char path[128];
  int n = rr ? snprintf(path, sizeof path, HYPHEN_DIR "/hyph_%s_%s.dic", ll, rr)
             : snprintf(path, sizeof path, HYPHEN_DIR "/hyph_%s.dic", ll);
  if (n < 0 || (size_t)n >= sizeof path) return NULL; /* a cut path would name another file */
  FILE *fp = fopen(path, "r");
  if (!fp) return NULL;
  (void)fclose(fp); /* only opened to test that it exists */
  return ts_hy_load_cached(path, in_block);
}

static void fill_table(hy_dict *h)
{
  h->utf8 = h->dict->utf8;
  if (h->utf8) return;
  UErrorCode err = U_ZERO_ERROR;
  UConverter *cv = ucnv_open(h->dict->cset, &err);
  if (U_FAILURE(err) || !cv) return; /* unknown charset: only ASCII words */
  for (int b = 0x80; b <= 0xFF; b++) {
    char in = (char)b;
    UChar out[4];
    err = U_ZERO_ERROR;
    ucnv_reset(cv);
    int32_t n = ucnv_toUChars(cv, out, 4, &in, 1, &err);
    if (U_SUCCESS(err) && n == 1 && out[0] != 0xFFFD && out[0] != 0x1A) h->high[b - 0x80] = out[0];
  }
  ucnv_close(cv);
}

static const hy_dict *dict_get(hy_cache *c, const char *lang, int *nomem);

/* Returns the dictionary for lang (loading it once), NULL if none. */
const hy_dict *ts_hy_dict(ts_ctx *ctx, const char *lang)
{
  const hy_dict *h = NULL;
  (void)ts_hy_dict_get(ctx, lang, &h);
  return h;
}

ts_status ts_hy_dict_get(ts_ctx *ctx, const char *lang, const hy_dict **out)
{
  *out = NULL;
  if (!lang || !*lang) return TS_OK;
  hy_cache *c = ts_ctx_slot(ctx, TS_SLOT_HYPHEN, hy_cache_create, hy_cache_free);
  if (!c) return TS_ERR_NOMEM;
  int nomem = 0;
  *out = dict_get(c, lang, &nomem);
  return nomem ? TS_ERR_NOMEM : TS_OK;
}

void ts_hy_memo_clear(ts_ctx *ctx)
{
  hy_cache *c = ctx ? ts_ctx_slot(ctx, TS_SLOT_HYPHEN, hy_cache_create, hy_cache_free) : NULL;
  if (!c) return;
  pthread_mutex_lock(&c->lock);
  for (size_t i = 0; i < c->n; i++) {
    hy_dict *h = c->dicts[i];
    pthread_mutex_lock(&h->lock);
    free(h->words);
    free(h->pool);
    h->words = NULL;
    h->pool = NULL;
    h->n_words = h->cap_words = h->pool_len = h->pool_cap = 0;
    pthread_mutex_unlock(&h->lock);
  }
  pthread_mutex_unlock(&c->lock);
}

/* ts_ctx_quiesce: the prefetch thread, if one was started, has ended. */
static void hy_cache_quiesce(void *p)
{
  hy_cache *c = p;
  pthread_mutex_lock(&c->pf_lock);
  if (c->pf_started) pthread_join(c->pf_thread, NULL);
  c->pf_started = 0;
  pthread_mutex_unlock(&c->pf_lock);
}

static void *prefetch_main(void *arg)
{
  hy_cache *c = arg;
  int nomem = 0;
  dict_get(c, c->pf_lang, &nomem); /* a failure is not remembered: the layout tries again */
  return NULL;
}

void ts_hy_prefetch(ts_ctx *ctx, const char *lang)
{
  if (!ctx) return;
  if (!lang || !*lang) lang = "en";
  if (strlen(lang) >= sizeof ((hy_cache *)0)->pf_lang) return;
  hy_cache *c = ts_ctx_slot(ctx, TS_SLOT_HYPHEN, hy_cache_create, hy_cache_free);
  if (!c) return;
  pthread_mutex_lock(&c->pf_lock);
  if (!c->pf_tried) {
    c->pf_tried = 1;
    int loaded = 0;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n; i++) loaded |= !strcmp(c->dicts[i]->lang, lang);
    pthread_mutex_unlock(&c->lock);
    if (!loaded) {
      memcpy(c->pf_lang, lang, strlen(lang) + 1);
      c->pf_started = !pthread_create(&c->pf_thread, NULL, prefetch_main, c);
      if (c->pf_started) ts_ctx_set_quiesce(ctx, TS_SLOT_HYPHEN, hy_cache_quiesce);
    }
  }
  pthread_mutex_unlock(&c->pf_lock);
}

/* nomem: set when the dictionary could not be kept for want of memory (not
 * remembered: the next call tries again). */
static const hy_dict *dict_get(hy_cache *c, const char *lang, int *nomem)
{
  const hy_dict *res = NULL;
  pthread_mutex_lock(&c->lock);
  for (size_t i = 0; i < c->n; i++)
    if (!strcmp(c->dicts[i]->lang, lang)) {
      res = c->dicts[i]->dict ? c->dicts[i] : NULL;
      goto done;
    }
  /* "en-GB" / "en_GB" / "EN" → ll = "en", rr = "GB" */
  HyphenDict *dict = NULL;
  int in_block = 0;
  char ll[9] = {0}, rr[9] = {0};
  size_t i = 0, k = 0;
  for (; lang[i] && lang[i] != '-' && lang[i] != '_' && k < 8; i++)
    ll[k++] = (char)((lang[i] >= 'A' && lang[i] <= 'Z') ? lang[i] + 32 : lang[i]);
  if (lang[i] == '-' || lang[i] == '_') {
    i++;
    k = 0;
    for (; lang[i] && lang[i] != '-' && lang[i] != '_' && k < 8; i++)
      rr[k++] = (char)((lang[i] >= 'a' && lang[i] <= 'z') ? lang[i] - 32 : lang[i]);
    if (k != 2) rr[0] = 0; /* a script subtag ("sr-Latn"): ignore */
  }
  for (size_t j = 0; ll[j]; j++)
    if (!((ll[j] >= 'a' && ll[j] <= 'z'))) goto remember_none; /* never build odd paths */
  for (size_t j = 0; rr[j]; j++)
    if (!((rr[j] >= 'A' && rr[j] <= 'Z'))) rr[0] = 0;
  if (rr[0]) dict = try_load(ll, rr, &in_block);
  for (size_t j = 0; !dict && j < sizeof default_region / sizeof *default_region; j++)
    if (!strcmp(ll, default_region[j][0])) dict = try_load(ll, default_region[j][1], &in_block);
  if (!dict) dict = try_load(ll, NULL, &in_block);
remember_none:;
  hy_dict **nd = realloc(c->dicts, (c->n + 1) * sizeof *nd);
  hy_dict *h = calloc(1, sizeof *h);
  if (nd) c->dicts = nd;
  if (!nd || !h || !(h->lang = strdup(lang)) || pthread_mutex_init(&h->lock, NULL)) {
    if (h) free(h->lang);
    free(h);
    ts_hy_release(dict, in_block);
    *nomem = 1;
    goto done;
  }
  c->dicts[c->n] = h;
  h->dict = dict;
  h->in_block = in_block;
  if (dict) fill_table(h);
  c->n++;
  res = dict ? h : NULL;
done:
  pthread_mutex_unlock(&c->lock);
  return res;
}

/* 1 when BCP 47 tags a and b have the same primary subtag, case aside. */
static int same_primary(const char *a, const char *b)
{
  if (!a || !b) return 0;
  size_t i = 0;
  for (;; i++) {
    int ea = a[i] == 0 || a[i] == '-' || a[i] == '_';
    int eb = b[i] == 0 || b[i] == '-' || b[i] == '_';
    if (ea || eb) return ea && eb;
    char ca = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] - 'A' + 'a') : a[i];
    char cb = b[i] >= 'A' && b[i] <= 'Z' ? (char)(b[i] - 'A' + 'a') : b[i];
    if (ca != cb) return 0;
  }
}

const char *ts_hy_span_lang(const char *lang, const char *hyph_lang, const char *span_lang)
{
  if (!span_lang || !*span_lang || same_primary(span_lang, lang) ||
      same_primary(span_lang, hyph_lang))
    return hyph_lang;
  return span_lang;
}

size_t ts_hyphenate(ts_ctx *ctx, const char *lang, const char *word, size_t len,
                    int leftmin, int rightmin, size_t *pos, size_t max)
{
  if (!ctx || !word || len == 0 || max == 0) return 0;
  return ts_hy_word(ts_hy_dict(ctx, lang), word, len, leftmin, rightmin, pos, max);
}

static size_t hy_word_uncached(const hy_dict *h, const char *word, size_t len, int leftmin,
                               int rightmin, size_t *pos, size_t max);

/* Memo look-up; returns 1 and fills pos/n when found. */
static int memo_get(hy_dict *h, uint64_t hash, const char *word, size_t len, int lmin, int rmin,
                    size_t *pos, size_t max, size_t *n)
{
  int found = 0;
  pthread_mutex_lock(&h->lock);
  if (h->words) {
    size_t mask = h->cap_words - 1;
    for (size_t i = hash & mask; h->words[i].hash; i = (i + 1) & mask) {
      hy_word *w = &h->words[i];
      if (w->hash == hash && w->len == len && w->lmin == lmin && w->rmin == rmin &&
          !memcmp(h->pool + w->off, word, len)) {
        size_t k = 0;
        for (; k < w->n && k < max; k++) pos[k] = w->pos[k];
        *n = k;
        found = 1;
        break;
      }
    }
  }
  pthread_mutex_unlock(&h->lock);
  return found;
}

/* Doubles the memo table (or makes its first one); 0 on OOM. */
static int memo_grow(hy_dict *h)
{
  size_t nc = h->cap_words ? 2 * h->cap_words : WORDS_FIRST;
  hy_word *nw = calloc(nc, sizeof *nw);
  if (!nw) return 0;
  for (size_t k = 0; k < h->cap_words; k++) {
    if (!h->words[k].hash) continue;
    size_t i = h->words[k].hash & (nc - 1);
    while (nw[i].hash) i = (i + 1) & (nc - 1);
    nw[i] = h->words[k];
  }
  free(h->words);
  h->words = nw;
  h->cap_words = nc;
  return 1;
}

static void memo_put(hy_dict *h, uint64_t hash, const char *word, size_t len, int lmin, int rmin,
                     const size_t *pos, size_t n)
{
  pthread_mutex_lock(&h->lock);
  if (h->n_words >= WORDS_MAX) goto out;
  if (2 * (h->n_words + 1) > h->cap_words && !memo_grow(h)) goto out;
  if (h->pool_len + len > h->pool_cap) {
    size_t nc = h->pool_cap ? h->pool_cap * 2 : 16384;
    while (nc < h->pool_len + len) nc *= 2;
    char *np = realloc(h->pool, nc);
    if (!np) goto out;
    h->pool = np;
    h->pool_cap = nc;
  }
  size_t mask = h->cap_words - 1, i = hash & mask;
  while (h->words[i].hash) {
    hy_word *w = &h->words[i];
    if (w->hash == hash && w->len == len && w->lmin == lmin && w->rmin == rmin &&
        !memcmp(h->pool + w->off, word, len))
      goto out; /* another thread was first */
    i = (i + 1) & mask;
  }
  hy_word *w = &h->words[i];
  memcpy(h->pool + h->pool_len, word, len);
  w->off = (uint32_t)h->pool_len;
  h->pool_len += len;
  w->len = (uint8_t)len;
  w->lmin = (uint8_t)lmin;
  w->rmin = (uint8_t)rmin;
  w->n = (uint8_t)n;
  for (size_t k = 0; k < n; k++) w->pos[k] = (uint8_t)pos[k];
  w->hash = hash;
  h->n_words++;
out:
  pthread_mutex_unlock(&h->lock);
}

size_t ts_hy_word(const hy_dict *hc, const char *word, size_t len, int leftmin, int rightmin,
                  size_t *pos, size_t max)
{
  if (!hc || !word || len == 0 || max == 0) return 0;
  hy_dict *h = (hy_dict *)hc; /* only the memo (under its lock) changes */
  int cacheable = len < 256 && leftmin >= 0 && leftmin < 256 && rightmin >= 0 && rightmin < 256;
  uint64_t hash = ts_hash64(word, len, 0x9e3779b97f4a7c15ull) | 1;
  size_t n = 0;
  if (cacheable && memo_get(h, hash, word, len, leftmin, rightmin, pos, max, &n)) return n;
  size_t tmp[WORD_POINTS];
  n = hy_word_uncached(hc, word, len, leftmin, rightmin, tmp, WORD_POINTS);
  if (cacheable) memo_put(h, hash, word, len, leftmin, rightmin, tmp, n);
  if (n > max) n = max;
  memcpy(pos, tmp, n * sizeof *pos);
  return n;
}

static size_t hy_word_uncached(const hy_dict *h, const char *word, size_t len, int leftmin,
                               int rightmin, size_t *pos, size_t max)
{
  if (!h || !word || len == 0 || max == 0) return 0;
  if (leftmin < 1) leftmin = 1;
  if (rightmin < 1) rightmin = 1;

  uint32_t boff[MAX_WORD + 1]; /* byte offset of each character in word */
  char conv[MAX_WORD * 4 + 1];
  size_t nch = 0, nconv = 0;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    size_t l = ts_utf8_decode(word + i, len - i, &cp);
    if (l == 0) return 0;
    if (nch == MAX_WORD) return 0;
    boff[nch++] = (uint32_t)i;
    i += l;
    cp = (uint32_t)u_tolower((UChar32)cp); /* simple case mapping: 1 to 1 */
    if (h->utf8) {
      nconv += ts_utf8_encode(cp, conv + nconv);
    } else if (cp < 0x80) {
      conv[nconv++] = (char)cp;
    } else {
      int b = -1;
      for (int k = 0; k < 128; k++)
        if (h->high[k] == cp) { b = 0x80 + k; break; }
      if (b < 0) return 0; /* not representable in the dictionary's charset */
      conv[nconv++] = (char)b;
    }
  }
  boff[nch] = (uint32_t)len;
  if ((int)nch < leftmin + rightmin) return 0;
  conv[nconv] = 0;

  char hyph[MAX_WORD * 4 + 5];
  char **rep = NULL;
  int *rpos = NULL, *cut = NULL;
  memset(hyph, 0, sizeof hyph);
  if (hnj_hyphen_hyphenate3(h->dict, conv, (int)nconv, hyph, NULL, &rep, &rpos, &cut,
                            leftmin, rightmin, 2, 2)) {
    nch = 0; /* failure: no points */
  }
  /* After hyphenation libhyphen indexes UTF-8 words by character (its
   * hnj_hyphen_norm), 8-bit words by byte = character: hyph[i] odd means a
   * break after character i. */
  size_t n = 0;
  for (size_t i = 0; i + 1 < nch && n < max; i++) {
    if (!(hyph[i] & 1)) continue;
    if ((int)(i + 1) < leftmin || (int)(nch - i - 1) < rightmin) continue;
    if (rep && rep[i]) continue; /* non-standard (rep/cut) hyphenation: skipped */
    pos[n++] = boff[i + 1];
  }
  if (rep) {
    for (size_t i = 0; i < nconv; i++) free(rep[i]);
    free(rep);
  }
  free(rpos);
  free(cut);
  return n;
}
