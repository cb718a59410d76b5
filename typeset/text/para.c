/* para.c — from styled spans to a shaped paragraph and its Knuth–Plass
 * items.
 *
 *  1. the spans' texts are concatenated (span boundaries kept);
 *  2. bidi levels come from ICU's ubidi (UAX #9), the base direction from
 *     the options;
 *  3. scripts from uscript_getScript, with Common and Inherited characters
 *     resolved to their neighbours and paired brackets to the script of
 *     their opening bracket (UAX #24 style, as HarfBuzz's and Pango's
 *     itemizers do);
 *  4. a face per grapheme cluster (ICU character break iterator), never
 *     splitting a cluster between faces;
 *  5. runs = maximal text of one (span, level, script, face), each shaped
 *     once with HarfBuzz, with the whole paragraph as context;
 *  6. break opportunities from ICU's line break iterator (UAX #14, with the
 *     language's locale so CJK prohibition rules apply), hyphenation points
 *     from libhyphen, soft hyphens;
 *  7. items: boxes for unbreakable material, glue for spaces (TeX's
 *     fontdimens: stretch 1/2, shrink 1/3 of the space; the same after a
 *     sentence end — \frenchspacing), penalties for other opportunities,
 *     flagged penalties for hyphenation (TeX §§891–918 for where TeX may
 *     hyphenate; here patterns apply to each word of letters), parfillskip
 *     and a forced break at the end (TeX §816). */
#include "text/text_internal.h"
#include "fonts/hb_api.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ubidi.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utf8.h>
#include <unicode/ustring.h>

#define PARFIL INFINITY /* "0pt plus 1fil": the line breaker counts infinite stretch as fil (TeX §816) */
#define URL_PENALTY 1000.0 /* breaks inside URLs and code: only when nothing else fits */

/* ---- small helpers ------------------------------------------------------ */

static void *aalloc(ts_arena *a, size_t n, size_t sz)
{
  if (n == 0) n = 1;
  if (n > SIZE_MAX / sz) return NULL;
  return ts_arena_alloc(a, n * sz);
}

static void *hgrow(void *p, size_t *cap, size_t need, size_t sz)
{
  if (need <= *cap) return p;
  size_t nc = *cap ? *cap : 64;
  while (nc < need) nc *= 2;
  if (nc > SIZE_MAX / sz) return NULL;
  void *np = realloc(p, nc * sz);
  if (!np) return NULL;
  *cap = nc;
  return np;
}

/* (The predicates below and cp_at, cp_before are asked for every
 * character: each answers ASCII first.)
 * Characters that are not shaped: controls, line/paragraph separators and
 * soft hyphens (handled as items). */
static inline int is_hidden(uint32_t c)
{
  if (c < 0x7F) return c < 0x20;
  return c <= 0x9F || c == 0xAD || c == 0x2028 || c == 0x2029;
}

static inline int is_mandatory(uint32_t c)
{
  if (c < 0x80) return c == '\n' || c == 0x0B || c == 0x0C;
  return c == 0x85 || c == 0x2028 || c == 0x2029;
}

/* Interword spaces become glue; no-break spaces too (behind a penalty);
 * fixed spaces (U+2007 figure, U+202F narrow no-break) stay boxes. */
static inline int is_space(uint32_t c)
{
  if (c < 0x80) return c == ' ';
  if (c == 0xA0) return 1;
  if (c == 0x2007 || c == 0x202F) return 0;
  return c >= 0x2000 && c <= 0x200A ? 1 : c == 0x3000 ? 0 : c == 0x1680 || c == 0x205F;
}

static int is_dash(uint32_t c)
{
  return c == '-' || c == 0x2010 || c == 0x2012 || c == 0x2013 || c == 0x2014;
}

static int is_cjk(uint32_t c)
{
  return (c >= 0x2E80 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFF00 && c <= 0xFFEF) ||
         (c >= 0x20000 && c <= 0x3FFFF);
}

static inline uint32_t cp_at(const ts_para *p, uint32_t b)
{
  uint32_t c = 0;
  if (b >= p->len) return 0;
  if ((unsigned char)p->text[b] < 0x80) return (unsigned char)p->text[b];
  ts_utf8_decode(p->text + b, p->len - b, &c);
  return c;
}

/* The code point that ends just before byte b. */
static inline uint32_t cp_before(const ts_para *p, uint32_t b)
{
  if (b == 0) return 0;
  if ((unsigned char)p->text[b - 1] < 0x80) return (unsigned char)p->text[b - 1];
  uint32_t s = b - 1;
  while (s > 0 && ((unsigned char)p->text[s] & 0xC0) == 0x80 && b - s < 4) s--;
  uint32_t c = 0;
  ts_utf8_decode(p->text + s, b - s, &c);
  return c;
}

/* ---- code point sets ------------------------------------------------------*/

struct ts_cp_set {
  ts_arena *arena;
  uint32_t *slot; /* open addressing; 0 = empty, cp stored + 1 */
  size_t cap, n;
};

ts_cp_set *ts_cp_set_create(ts_arena *arena)
{
  ts_cp_set *s = ts_arena_alloc(arena, sizeof *s);
  if (!s) return NULL;
  s->arena = arena;
  s->cap = 64;
  s->slot = aalloc(arena, s->cap, sizeof *s->slot);
  return s->slot ? s : NULL;
}

int ts_cp_set_add(ts_cp_set *s, uint32_t cp)
{
  if (!s) return 0;
  if ((s->n + 1) * 2 > s->cap) {
    size_t nc = s->cap * 2;
    uint32_t *ns = aalloc(s->arena, nc, sizeof *ns);
    if (!ns) return 0;
    for (size_t i = 0; i < s->cap; i++) {
      if (!s->slot[i]) continue;
      size_t h = (s->slot[i] * 2654435761u) & (nc - 1);
      while (ns[h]) h = (h + 1) & (nc - 1);
      ns[h] = s->slot[i];
    }
    s->slot = ns;
    s->cap = nc;
  }
  uint32_t key = cp + 1;
  size_t h = (key * 2654435761u) & (s->cap - 1);
  while (s->slot[h]) {
    if (s->slot[h] == key) return 0;
    h = (h + 1) & (s->cap - 1);
  }
  s->slot[h] = key;
  s->n++;
  return 1;
}

/* ICU's character properties with the ASCII answers inline: the text of
 * most papers is mostly ASCII, and these are asked for every character
 * (a few percent of a book's instructions).  For U+0000..U+007F: letters
 * are Latin, everything else is Common; no character is a mark or default
 * ignorable. */
static inline int is_alpha(uint32_t c) {
  if (c < 0x80) return (c | 32) >= 'a' && (c | 32) <= 'z';
  return u_isalpha((UChar32)c) != 0;
}
static inline int is_upper(uint32_t c) {
  if (c < 0x80) return c >= 'A' && c <= 'Z';
  return u_isupper((UChar32)c) != 0;
}
static inline int is_digit(uint32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return u_isdigit((UChar32)c) != 0;
}
static inline UScriptCode script_of(uint32_t c) {
  if (c < 0x80) return (c | 32) >= 'a' && (c | 32) <= 'z' ? USCRIPT_LATIN : USCRIPT_COMMON;
  UErrorCode err = U_ZERO_ERROR;
  UScriptCode sc = uscript_getScript((UChar32)c, &err);
  return U_FAILURE(err) ? USCRIPT_COMMON : sc;
}
static inline int is_ignorable(uint32_t c) {
  return c >= 0x80 && u_hasBinaryProperty((UChar32)c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT);
}

/* ---- shared state (ctx slot TS_SLOT_TEXT): statistics and break iterator
 * templates.  Opening an ICU break iterator loads and unpacks its rules (the
 * largest cost of a short paragraph); a clone of a template shares them. */

/* Clones kept for reuse per template: cloning cost ~1,500 instructions and
 * closing ~750 for every paragraph; a returned clone is only given new text. */
#define BRK_SPARE 4
typedef struct brk_template {
  char locale[32];
  UBreakIterator *line;
  UBreakIterator *spare[BRK_SPARE]; /* clones of line, owned */
  int n_spare;
  int simple;  /* ts_uax14_simple answers as this locale's rules: 0 not
                * checked yet, 1 yes, 2 no (simple_rules_ok) */
} brk_template;

/* Shaped-word cache (as in Typst's and LuaTeX's word caches): the glyphs of
 * one word shaped alone, keyed by face, features, script, language and the
 * word's exact UTF-8 text.  Used only where shaping word by word is proven
 * to give what shaping the whole run gives (see word_safe_face and
 * shape_words); outputs never depend on the cache's state.  Sharded by hash,
 * one mutex per shard; bounded: a shard that passes its budget is emptied
 * (deterministic, and only the speed depends on it). */
#define WC_SHARDS 16
#define WC_SLOTS 8192              /* per shard at most, power of two */
#define WC_FIRST_SLOTS 256         /* a shard's first table; doubled at half full */
#define WC_MAX_ENTRIES (WC_SLOTS / 2)  /* 64k entries in all */
#define WC_MAX_BYTES (2u << 20)    /* per shard: 32 MiB in all */
#define WC_MAX_WORD 64             /* longer words are shaped, not cached */

typedef struct wc_glyph {
  uint32_t gid, cluster; /* cluster: byte offset into the word */
  int32_t adv, xoff, yoff;
} wc_glyph;

typedef struct wc_entry {
  uint64_t hash;
  const ts_face *face;
  hb_script_t script;
  hb_language_t lang;
  const hb_feature_t *feats_key; /* owned copy (in the entry's block) */
  unsigned nfeats;
  uint32_t len, ng;
  const char *text;              /* in the entry's block */
  wc_glyph *g;                   /* in the entry's block */
} wc_entry;

typedef struct wc_shard {
  pthread_mutex_t lock;
  wc_entry **slot;               /* owned: cap slots (NULL until first use) */
  size_t n, bytes, cap;
} wc_shard;

typedef struct wc_face {
  const ts_face *face;
  int safe;
} wc_face;

typedef struct text_shared {
  _Atomic uint64_t glyphs, paras, lines, reshapes;
  _Atomic uint64_t wc_hits, wc_misses;
  wc_shard wc[WC_SHARDS];
  pthread_mutex_t face_lock;
  wc_face *wfaces;               /* owned */
  size_t n_wfaces;
  pthread_mutex_t lock;
  UBreakIterator *chars;  /* grapheme clusters (locale-independent) */
  UBreakIterator *chars_spare[BRK_SPARE]; /* clones of chars, owned */
  int n_chars_spare;
  brk_template *lines_t;  /* line breaking per locale */
  size_t n_lines_t;
  para_ws *ws_spare;      /* paragraph workspaces given back (owned), under lock */
  int n_ws_spare;
} text_shared;

static void ws_destroy(para_ws *w);

static void shared_free(void *v)
{
  text_shared *s = v;
  if (!s) return;
  if (s->chars) ubrk_close(s->chars);
  for (int k = 0; k < s->n_chars_spare; k++) ubrk_close(s->chars_spare[k]);
  for (size_t i = 0; i < s->n_lines_t; i++) {
    ubrk_close(s->lines_t[i].line);
    for (int k = 0; k < s->lines_t[i].n_spare; k++) ubrk_close(s->lines_t[i].spare[k]);
  }
  free(s->lines_t);
  for (int k = 0; k < WC_SHARDS; k++) {
    wc_shard *h = &s->wc[k];
    for (size_t i = 0; h->slot && i < h->cap; i++) free(h->slot[i]);
    free(h->slot);
    pthread_mutex_destroy(&h->lock);
  }
  free(s->wfaces);
  while (s->ws_spare) {
    para_ws *n = s->ws_spare->next;
    ws_destroy(s->ws_spare);
    s->ws_spare = n;
  }
  pthread_mutex_destroy(&s->face_lock);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static void *shared_create(ts_ctx *ctx)
{
  (void)ctx;
  text_shared *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  if (pthread_mutex_init(&s->lock, NULL)) { free(s); return NULL; }
  if (pthread_mutex_init(&s->face_lock, NULL)) {
    pthread_mutex_destroy(&s->lock);
    free(s);
    return NULL;
  }
  for (int k = 0; k < WC_SHARDS; k++) {
    if (pthread_mutex_init(&s->wc[k].lock, NULL)) {
      while (k-- > 0) pthread_mutex_destroy(&s->wc[k].lock);
      pthread_mutex_destroy(&s->face_lock);
      pthread_mutex_destroy(&s->lock);
      free(s);
      return NULL;
    }
  }
  return s;
}

static text_shared *shared_of(ts_ctx *ctx)
{
  return ts_ctx_slot(ctx, TS_SLOT_TEXT, shared_create, shared_free);
}

/* A break iterator over text: a kept clone of the cached template (created
 * on first use), else a new clone.  locale NULL: grapheme clusters.  Returns
 * owned (give back with close_breaker and the same locale) or NULL. */
static UBreakIterator *open_breaker(ts_ctx *ctx, const char *locale, const UChar *text,
                                    int32_t len)
{
  text_shared *s = shared_of(ctx);
  UErrorCode err = U_ZERO_ERROR;
  UBreakIterator *bi = NULL;
  if (!s) return NULL;
  pthread_mutex_lock(&s->lock);
  UBreakIterator *tmpl = NULL, *own = NULL;
  size_t loc_len = locale ? strlen(locale) : 0;
  UBreakIterator **spare = NULL;
  int *n_spare = NULL;
  if (!locale) {
    if (!s->chars) s->chars = ubrk_open(UBRK_CHARACTER, "", NULL, 0, &err);
    tmpl = U_SUCCESS(err) ? s->chars : NULL;
    spare = s->chars_spare;
    n_spare = &s->n_chars_spare;
  } else if (loc_len >= sizeof s->lines_t[0].locale) {
    /* too long to be a cache key (a cut key would never match, and each
     * call would add a template): a template of its own, closed below */
    own = ubrk_open(UBRK_LINE, locale, NULL, 0, &err);
    tmpl = U_SUCCESS(err) ? own : NULL;
  } else {
    size_t at = s->n_lines_t;
    for (size_t i = 0; i < s->n_lines_t; i++)
      if (!strcmp(s->lines_t[i].locale, locale)) tmpl = s->lines_t[at = i].line;
    if (!tmpl) {
      brk_template *nt = realloc(s->lines_t, (s->n_lines_t + 1) * sizeof *nt);
      if (nt) {
        s->lines_t = nt;
        UBreakIterator *t = ubrk_open(UBRK_LINE, locale, NULL, 0, &err);
        if (U_SUCCESS(err) && t) {
          memset(&nt[s->n_lines_t], 0, sizeof nt[0]);
          memcpy(nt[s->n_lines_t].locale, locale, loc_len + 1); /* fits: tested above */
          nt[s->n_lines_t++].line = t;
          tmpl = t;
        }
      }
    }
    if (tmpl) {
      spare = s->lines_t[at].spare;
      n_spare = &s->lines_t[at].n_spare;
    }
  }
  err = U_ZERO_ERROR;
  if (tmpl && n_spare && *n_spare > 0) bi = spare[--*n_spare];
  else if (tmpl) bi = ubrk_clone(tmpl, &err);
  pthread_mutex_unlock(&s->lock);
  if (own) ubrk_close(own);
  if (!bi || U_FAILURE(err)) {
    if (bi) ubrk_close(bi);
    return NULL;
  }
  ubrk_setText(bi, text, len, &err);
  if (U_FAILURE(err)) {
    ubrk_close(bi);
    return NULL;
  }
  return bi;
}

/* Gives back a breaker open_breaker(ctx, locale, ...) returned: kept for
 * the next paragraph when its template has room, else closed. */
static void close_breaker(ts_ctx *ctx, const char *locale, UBreakIterator *bi)
{
  if (!bi) return;
  text_shared *s = shared_of(ctx);
  if (s) {
    pthread_mutex_lock(&s->lock);
    UBreakIterator **spare = NULL;
    int *n_spare = NULL;
    if (!locale) {
      spare = s->chars_spare;
      n_spare = &s->n_chars_spare;
    } else {
      for (size_t i = 0; i < s->n_lines_t && !n_spare; i++)
        if (!strcmp(s->lines_t[i].locale, locale)) {
          spare = s->lines_t[i].spare;
          n_spare = &s->lines_t[i].n_spare;
        }
    }
    if (n_spare && *n_spare < BRK_SPARE) {
      spare[(*n_spare)++] = bi;
      bi = NULL;
    }
    pthread_mutex_unlock(&s->lock);
  }
  if (bi) ubrk_close(bi);
}

/* ---- line break opportunities without ICU -----------------------------------
 * ts_uax14_simple (uax14.c) answers as ICU's root rules for text made of
 * common prose characters; a locale may tailor them (Chinese treats curly
 * quotes as wide), so each locale's rules are asked once, on a probe, and
 * the simple answer is used only where they agree. */

/* The probe: every ordered pair of characters standing for the classes
 * (and special cases) ts_uax14_simple knows — a de Bruijn sequence of
 * order 2, the Lyndon words x and xy (x < y) in order, then the first
 * again — followed by contexts of the rules that look beyond a pair. */
static const uint32_t probe_set[] = {
  'a', 'Z', 0xE9, 0x416, '1', ' ', '.', ',', ';', '!', '?', '"', '\'', 0x2019, 0x201C, 0xAB,
  '-', 0x2010, 0x2011, 0x2013, 0x2014, 0xAD, '|', '(', '[', ')', ']', '}', '/', 0x2026, 0xA0,
  '$', '%'};
static const uint32_t probe_tail[] = {
  ' ', '.', '5', ' ', '(', ' ', '-', 'a', ' ', '-', 'b', ' ', 'a', ' ', '-', '1', ' ', '1', '/',
  '2', ' ', 'a', '/', '2', ' ', '1', ',', '5', ' ', 'a', '.', '5', ' ', '(', '1', ')', ' ', '"',
  'a', '"', ' ', '1', '-', '2', ' ', 'a', '-', '-', 'b', ' ', 'x', 0x2014, 0x2014, 'y', ' ',
  '$', '(', '.', '5', ' ', '5', ')', '%', ' ', '5', '.', '%', ' ', '%', '(', 'a', ' ', '$', '5'};
#define PROBE_K (sizeof probe_set / sizeof probe_set[0])
#define PROBE_LEN (PROBE_K * PROBE_K + 1 + sizeof probe_tail / sizeof probe_tail[0])

static uint32_t probe_cp[PROBE_LEN], probe_cpb[PROBE_LEN]; /* set once by probe_init */
static UChar probe_u[PROBE_LEN];
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

static void probe_init(void)
{
  size_t n = 0;
  for (size_t x = 0; x < PROBE_K; x++) {
    probe_cp[n++] = probe_set[x];
    for (size_t y = x + 1; y < PROBE_K; y++) {
      probe_cp[n++] = probe_set[x];
      probe_cp[n++] = probe_set[y];
    }
  }
  probe_cp[n++] = probe_set[0];
  for (size_t i = 0; i < sizeof probe_tail / sizeof probe_tail[0]; i++)
    probe_cp[n++] = probe_tail[i];
  for (size_t i = 0; i < PROBE_LEN; i++) { /* all in the BMP: one unit each */
    probe_u[i] = (UChar)probe_cp[i];
    probe_cpb[i] = (uint32_t)i;
  }
}

/* 1 when ts_uax14_simple may stand for ICU's line breaking in `locale`
 * (checked on the probe once per locale and context). */
static int simple_rules_ok(ts_ctx *ctx, const char *locale)
{
  text_shared *s = shared_of(ctx);
  if (!s || strlen(locale) >= sizeof s->lines_t[0].locale) return 0;
  int known = 0;
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; i < s->n_lines_t; i++)
    if (!strcmp(s->lines_t[i].locale, locale)) known = s->lines_t[i].simple;
  pthread_mutex_unlock(&s->lock);
  if (known) return known == 1;
  pthread_once(&probe_once, probe_init);
  UBreakIterator *bi = open_breaker(ctx, locale, probe_u, (int32_t)PROBE_LEN);
  if (!bi) return 0; /* out of memory: ICU answers (and fails there) */
  uint8_t icu[PROBE_LEN], fast[PROBE_LEN];
  memset(icu, 0, sizeof icu);
  memset(fast, 0, sizeof fast);
  for (int32_t b = ubrk_first(bi); b != UBRK_DONE; b = ubrk_next(bi))
    if (b > 0 && b < (int32_t)PROBE_LEN) icu[b] = 1;
  close_breaker(ctx, locale, bi);
  int ok = ts_uax14_simple(probe_cp, PROBE_LEN, probe_cpb, fast) && !memcmp(icu, fast, sizeof icu);
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; i < s->n_lines_t; i++) /* open_breaker made the template */
    if (!strcmp(s->lines_t[i].locale, locale)) s->lines_t[i].simple = ok ? 1 : 2;
  pthread_mutex_unlock(&s->lock);
  return ok;
}

int ts_text_simple_rules_ok(ts_ctx *ctx, const char *locale)
{
  return ctx && locale && simple_rules_ok(ctx, locale);
}

/* ---- paragraph workspaces -------------------------------------------------
 * Kept: at most WS_SPARE, each only when its paragraph had at most
 * WS_KEEP_LEN bytes of text, so the pool holds a few hundred kilobytes at
 * most (a huge paragraph's buffers go with it). */
#define WS_SPARE 8
#define WS_KEEP_LEN 8192
#define WS_SCRATCH (16 * 1024) /* the scratch arena's block: most paragraphs are short */

static void ws_destroy(para_ws *w)
{
  if (!w) return;
  ts_arena_destroy(w->scratch);
  hb_buffer_destroy(w->buf);
  free(w->tmp);
  free(w->runs);
  free(w->g);
  free(w->it);
  free(w->pi);
  ts_lb_ws_free(&w->lb);
  free(w);
}

/* A workspace for a paragraph of ctx: a spare one, else a new one (owned
 * by the caller until ws_give); NULL on OOM. */
static para_ws *ws_take(text_shared *s)
{
  para_ws *w = NULL;
  if (s) {
    pthread_mutex_lock(&s->lock);
    w = s->ws_spare;
    if (w) {
      s->ws_spare = w->next;
      s->n_ws_spare--;
    }
    pthread_mutex_unlock(&s->lock);
    if (w) {
      w->next = NULL;
      return w;
    }
  }
  w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->scratch = ts_arena_create(WS_SCRATCH);
  w->buf = hb_buffer_create();
  if (!w->scratch || !hb_buffer_allocation_successful(w->buf)) {
    ws_destroy(w);
    return NULL;
  }
  return w;
}

/* Gives back w, which served a paragraph of len bytes: emptied and kept
 * when the pool has room and the paragraph was short, else freed. */
static void ws_give(text_shared *s, para_ws *w, size_t len)
{
  if (!w) return;
  if (s && len <= WS_KEEP_LEN) {
    ts_arena_clear(w->scratch);
    hb_buffer_clear_contents(w->buf);
    pthread_mutex_lock(&s->lock);
    if (s->n_ws_spare < WS_SPARE) {
      w->next = s->ws_spare;
      s->ws_spare = w;
      s->n_ws_spare++;
      w = NULL;
    }
    pthread_mutex_unlock(&s->lock);
  }
  ws_destroy(w);
}

void ts_text_stats_add(ts_ctx *ctx, uint64_t glyphs, uint64_t paras, uint64_t lines,
                       uint64_t reshapes)
{
  text_shared *s = shared_of(ctx);
  if (!s) return;
  atomic_fetch_add(&s->glyphs, glyphs);
  atomic_fetch_add(&s->paras, paras);
  atomic_fetch_add(&s->lines, lines);
  atomic_fetch_add(&s->reshapes, reshapes);
}

void ts_text_stats_get(ts_ctx *ctx, ts_text_stats *out)
{
  memset(out, 0, sizeof *out);
  text_shared *s = shared_of(ctx);
  if (!s) return;
  out->glyphs_shaped = atomic_load(&s->glyphs);
  out->paragraphs = atomic_load(&s->paras);
  out->lines = atomic_load(&s->lines);
  out->reshapes = atomic_load(&s->reshapes);
}

void ts_text_para_destroy(ts_para *p)
{
  if (!p) return;
  ws_give(shared_of(p->ctx), p->ws, p->len);
  free(p);
}

/* ---- fonts and features per span ----------------------------------------- */

/* Used when no style is given (tests, tools). */
static const ts_font_role default_roles[TS_ROLE_COUNT] = {
  {{"Linux Libertine O"}, 1, NULL},
  {{"Linux Biolinum O"}, 1, NULL},
  {{"DejaVu Sans Mono"}, 1, NULL},
};

typedef struct feat_list {
  hb_feature_t *f;
  unsigned n;
} feat_list;

typedef struct build {
  ts_para *p;
  ts_fontsets own;     /* the paragraph's own memo when opts bring none */
  ts_fontsets *fsets;  /* opts' or &own */
  feat_list role_feats[TS_ROLE_COUNT];
  int role_feats_done[TS_ROLE_COUNT];
  ts_cp_set *reported;
} build;

ts_fontsets *ts_fontsets_create(void) { return calloc(1, sizeof(ts_fontsets)); }

void ts_fontsets_destroy(ts_fontsets *f)
{
  if (!f) return;
  free(f->fsc);
  free(f);
}

/* The font set of span s (from the memo, else looked up and remembered);
 * valid until the next lookup adds one.  NULL with *st set on failure. */
static const ts_fontset *fontset_for(build *B, const ts_span *s, ts_status *st)
{
  ts_para *p = B->p;
  ts_fontsets *m = B->fsets;
  int role = (unsigned)s->role < TS_ROLE_COUNT ? (int)s->role : TS_ROLE_BODY;
  int bold = s->bold ? 1 : 0, italic = s->italic ? 1 : 0;
  for (size_t i = 0; i < m->n; i++)
    if (m->fsc[i].role == role && m->fsc[i].bold == bold && m->fsc[i].italic == italic &&
        m->fsc[i].style == p->o.style)
      return &m->fsc[i].fs;
  ts_fontset_cache *n = hgrow(m->fsc, &m->cap, m->n + 1, sizeof *n);
  if (!n) { *st = TS_ERR_NOMEM; return NULL; }
  m->fsc = n;
  ts_fontset_cache *e = &m->fsc[m->n];
  e->style = p->o.style;
  e->role = role;
  e->bold = bold;
  e->italic = italic;
  const ts_font_role *fr = p->o.style ? &p->o.style->fonts[role] : &default_roles[role];
  if (fr->n_families == 0) fr = &default_roles[role];
  ts_status s2 = ts_fonts_fontset(p->ctx, fr, bold ? 700 : 400, italic,
                                  p->o.style ? p->o.style->dir : NULL, p->d, &e->fs);
  if (s2 != TS_OK) { *st = s2; return NULL; }
  m->n++;
  return &e->fs;
}

/* "onum,smcp=0" → features (arena).  Unparseable entries are ignored (the
 * style loader validates them). */
static feat_list *role_features(build *B, int role)
{
  ts_para *p = B->p;
  feat_list *fl = &B->role_feats[role];
  if (B->role_feats_done[role]) return fl;
  B->role_feats_done[role] = 1;
  const char *s = p->o.style ? p->o.style->fonts[role].features : NULL;
  size_t cap = 2;
  for (const char *q = s; q && *q; q++) cap += *q == ',';
  if (s) cap++;
  fl->f = aalloc(p->scratch, cap + 4, sizeof *fl->f);
  if (!fl->f) return fl;
  /* as hb_feature_from_string("kern") and ("liga"), without parsing them
   * for every paragraph */
  fl->f[fl->n++] = (hb_feature_t){HB_TAG('k', 'e', 'r', 'n'), 1, HB_FEATURE_GLOBAL_START,
                                  HB_FEATURE_GLOBAL_END};
  fl->f[fl->n++] = (hb_feature_t){HB_TAG('l', 'i', 'g', 'a'), 1, HB_FEATURE_GLOBAL_START,
                                  HB_FEATURE_GLOBAL_END};
  while (s && *s) {
    while (*s == ' ' || *s == ',') s++;
    const char *e = s;
    while (*e && *e != ',') e++;
    const char *t = e;
    while (t > s && t[-1] == ' ') t--;
    if (t > s && fl->n < cap && hb_feature_from_string(s, (int)(t - s), &fl->f[fl->n])) fl->n++;
    s = e;
  }
  return fl;
}

/* ---- shaping --------------------------------------------------------------*/

typedef struct gvec {
  sglyph *g;
  size_t n, cap;
} gvec;

/* Shapes text[x..y) of the paragraph (with the paragraph as context) into
 * logical-order glyphs appended to v. */
static ts_status shape_range(ts_para *p, hb_buffer_t *buf, const prun *r, const char *text,
                             uint32_t tlen, uint32_t x, uint32_t y, uint32_t cluster_base,
                             int context, gvec *v)
{
  hb_buffer_clear_contents(buf);
  if (context) hb_buffer_add_utf8(buf, text, (int)tlen, x, (int)(y - x));
  else hb_buffer_add_utf8(buf, text + x, (int)(y - x), 0, (int)(y - x));
  hb_buffer_set_direction(buf, (r->level & 1) ? HB_DIRECTION_RTL : HB_DIRECTION_LTR);
  hb_buffer_set_script(buf, r->script);
  hb_buffer_set_language(buf, p->lang);
  unsigned flags = HB_BUFFER_FLAG_REMOVE_DEFAULT_IGNORABLES;
  if (context && x == 0) flags |= HB_BUFFER_FLAG_BOT;
  if (context && y == tlen) flags |= HB_BUFFER_FLAG_EOT;
  hb_buffer_set_flags(buf, (hb_buffer_flags_t)flags);
  hb_shape(ts_face_font(r->face), buf, r->feats, r->nfeats);
  if (!hb_buffer_allocation_successful(buf)) return TS_ERR_NOMEM;
  unsigned n = 0;
  hb_glyph_info_t *info = hb_buffer_get_glyph_infos(buf, &n);
  hb_glyph_position_t *pos = hb_buffer_get_glyph_positions(buf, &n);
  if (n == 0) return TS_OK; /* only default-ignorable characters */
  sglyph *g = hgrow(v->g, &v->cap, v->n + n, sizeof *g);
  if (!g) return TS_ERR_NOMEM;
  v->g = g;
  int rtl = r->level & 1;
  for (unsigned i = 0; i < n; i++) {
    unsigned k = rtl ? n - 1 - i : i; /* logical order */
    sglyph *o = &g[v->n + i];
    o->gid = info[k].codepoint;
    o->cluster = (context ? 0 : cluster_base) + info[k].cluster;
    o->adv = pos[k].x_advance;
    o->xoff = pos[k].x_offset;
    o->yoff = pos[k].y_offset;
  }
  v->n += n;
  p->glyphs_shaped += n;
  return TS_OK;
}

/* ---- shaped-word cache ------------------------------------------------------
 * A run is shaped word by word (words split at U+0020 only) when that is
 * provably what shaping the whole run gives:
 *  - left-to-right Latin, Cyrillic or Greek, or Common (digits,
 *    punctuation and symbols only: a list's label, a table's figures) (no
 *    joining, reordering or syllable logic; HarfBuzz's default shaper uses
 *    no text outside the buffer for these scripts);
 *  - no combining marks in the run (a mark after a space would otherwise
 *    start a word and get a dotted circle, and mark-only lookups could
 *    reach across a space by skipping base glyphs);
 *  - a face none of whose GSUB/GPOS lookups mentions the space glyph (as
 *    context, input or output) and with no AAT tables and no legacy 'kern'
 *    table that HarfBuzz would apply: then no substitution or positioning
 *    can join or move glyphs across a space, so each word's glyphs do not
 *    depend on its neighbours.
 * The test suite shapes sample paragraphs both ways and compares. */

static int face_word_safe_compute(const ts_face *f)
{
  hb_codepoint_t sp = 0;
  if (!hb_font_get_nominal_glyph(ts_face_font(f), ' ', &sp)) return 0;
  hb_face_t *hf = hb_font_get_face(ts_face_font(f));
  static const char *const aat[] = {"morx", "mort", "kerx"};
  for (size_t i = 0; i < sizeof aat / sizeof *aat; i++) {
    hb_blob_t *b = hb_face_reference_table(hf, hb_tag_from_string(aat[i], 4));
    unsigned n = hb_blob_get_length(b);
    hb_blob_destroy(b);
    if (n) return 0;
  }
  hb_blob_t *kb = hb_face_reference_table(hf, HB_TAG('k', 'e', 'r', 'n'));
  unsigned kern_len = hb_blob_get_length(kb);
  hb_blob_destroy(kb);
  if (kern_len) {
    /* the legacy table is used only when GPOS has no 'kern' feature */
    unsigned nf = hb_ot_layout_table_get_feature_tags(hf, HB_OT_TAG_GPOS, 0, NULL, NULL);
    int found = 0;
    for (unsigned k = 0; k < nf && !found; k++) {
      hb_tag_t t;
      unsigned one = 1;
      hb_ot_layout_table_get_feature_tags(hf, HB_OT_TAG_GPOS, k, &one, &t);
      if (one && t == HB_TAG('k', 'e', 'r', 'n')) found = 1;
    }
    if (!found) return 0;
  }
  hb_set_t *set = hb_set_create();
  if (!hb_set_allocation_successful(set)) { hb_set_destroy(set); return 0; }
  int safe = 1;
  const hb_tag_t tables[2] = {HB_OT_TAG_GSUB, HB_OT_TAG_GPOS};
  for (int t = 0; t < 2 && safe; t++) {
    unsigned nl = hb_ot_layout_table_get_lookup_count(hf, tables[t]);
    for (unsigned l = 0; l < nl && safe; l++) {
      hb_set_clear(set);
      hb_ot_layout_lookup_collect_glyphs(hf, tables[t], l, set, set, set, set);
      if (!hb_set_allocation_successful(set) || hb_set_has(set, sp)) safe = 0;
    }
  }
  hb_set_destroy(set);
  return safe;
}

static int face_word_safe(text_shared *s, const ts_face *f)
{
  int safe = -1;
  pthread_mutex_lock(&s->face_lock);
  for (size_t i = 0; i < s->n_wfaces; i++)
    if (s->wfaces[i].face == f) { safe = s->wfaces[i].safe; break; }
  pthread_mutex_unlock(&s->face_lock);
  if (safe >= 0) return safe;
  safe = face_word_safe_compute(f);
  pthread_mutex_lock(&s->face_lock);
  wc_face *n = realloc(s->wfaces, (s->n_wfaces + 1) * sizeof *n);
  if (n) {
    s->wfaces = n;
    s->wfaces[s->n_wfaces].face = f;
    s->wfaces[s->n_wfaces].safe = safe;
    s->n_wfaces++;
  }
  pthread_mutex_unlock(&s->face_lock);
  return safe;
}

/* FNV-1a of the run's features: the start of its words' hashes (computed
 * once a run, where it was once a word). */
static uint64_t wc_feats_hash(const prun *r)
{
  uint64_t h = 1469598103934665603ull;
  const unsigned char *fb = (const unsigned char *)r->feats;
  for (size_t i = 0; i < r->nfeats * sizeof *r->feats; i++) h = (h ^ fb[i]) * 1099511628211ull;
  return h;
}

static uint64_t wc_hash(const prun *r, uint64_t feats_hash, hb_language_t lang, const char *w,
                        uint32_t n)
{
  uint64_t h = feats_hash;
  for (uint32_t i = 0; i < n; i++) h = (h ^ (unsigned char)w[i]) * 1099511628211ull;
  h ^= (uint64_t)(uintptr_t)r->face * 0x9e3779b97f4a7c15ull;
  h ^= (uint64_t)(uintptr_t)lang * 0xc2b2ae3d27d4eb4full;
  h ^= (uint64_t)r->script * 0x165667b19e3779f9ull;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return h;
}

static int wc_match(const wc_entry *e, uint64_t h, const prun *r, hb_language_t lang,
                    const char *w, uint32_t n)
{
  return e->hash == h && e->face == r->face && e->script == r->script && e->lang == lang &&
         e->len == n && e->nfeats == r->nfeats && memcmp(e->text, w, n) == 0 &&
         memcmp(e->feats_key, r->feats, r->nfeats * sizeof *r->feats) == 0;
}

/* Appends the cached glyphs of word w (at byte x of the paragraph) to v;
 * returns 1 when found, 0 when not, -1 when out of memory. */
static int wc_get(text_shared *s, uint64_t h, const prun *r, hb_language_t lang,
                  const char *w, uint32_t n, uint32_t x, gvec *v)
{
  wc_shard *sh = &s->wc[h % WC_SHARDS];
  int found = 0;
  pthread_mutex_lock(&sh->lock);
  if (sh->slot) {
    size_t mask = sh->cap - 1;
    for (size_t i = (size_t)(h / WC_SHARDS) & mask;; i = (i + 1) & mask) {
      const wc_entry *e = sh->slot[i];
      if (!e) break;
      if (!wc_match(e, h, r, lang, w, n)) continue;
      sglyph *g = hgrow(v->g, &v->cap, v->n + e->ng, sizeof *g);
      if (!g) { found = -1; break; }
      v->g = g;
      for (uint32_t k = 0; k < e->ng; k++) {
        sglyph *o = &g[v->n + k];
        o->gid = e->g[k].gid;
        o->cluster = x + e->g[k].cluster;
        o->adv = e->g[k].adv;
        o->xoff = e->g[k].xoff;
        o->yoff = e->g[k].yoff;
      }
      v->n += e->ng;
      found = 1;
      break;
    }
  }
  pthread_mutex_unlock(&sh->lock);
  return found;
}

/* Doubles a shard's table (or makes its first); 0 on OOM.  Called with the
 * shard locked; at most WC_SLOTS slots (WC_MAX_ENTRIES keeps it half free). */
static int wc_grow(wc_shard *sh)
{
  size_t nc = sh->cap ? 2 * sh->cap : WC_FIRST_SLOTS;
  wc_entry **ns = calloc(nc, sizeof *ns);
  if (!ns) return 0;
  for (size_t k = 0; k < sh->cap; k++) {
    wc_entry *e = sh->slot[k];
    if (!e) continue;
    size_t i = (size_t)(e->hash / WC_SHARDS) & (nc - 1);
    while (ns[i]) i = (i + 1) & (nc - 1);
    ns[i] = e;
  }
  free(sh->slot);
  sh->slot = ns;
  sh->cap = nc;
  return 1;
}

/* Stores glyphs g[0..ng) (clusters relative to x) of word w.  Failure to
 * store only costs speed. */
static void wc_put(text_shared *s, uint64_t h, const prun *r, hb_language_t lang,
                   const char *w, uint32_t n, uint32_t x, const sglyph *g, size_t ng)
{
  if (!g && ng) return; /* (glyphs come with their array) */
  size_t sz = sizeof(wc_entry) + ng * sizeof(wc_glyph) + r->nfeats * sizeof *r->feats + n;
  wc_entry *e = malloc(sz);
  if (!e) return;
  e->hash = h;
  e->face = r->face;
  e->script = r->script;
  e->lang = lang;
  e->nfeats = r->nfeats;
  e->len = n;
  e->ng = (uint32_t)ng;
  e->g = (wc_glyph *)(e + 1);
  hb_feature_t *fk = (hb_feature_t *)(e->g + ng);
  if (r->nfeats) memcpy(fk, r->feats, r->nfeats * sizeof *r->feats);
  e->feats_key = fk;
  char *t = (char *)(fk + r->nfeats);
  memcpy(t, w, n);
  e->text = t;
  for (size_t k = 0; k < ng; k++) {
    e->g[k].gid = g[k].gid;
    e->g[k].cluster = g[k].cluster - x;
    e->g[k].adv = g[k].adv;
    e->g[k].xoff = g[k].xoff;
    e->g[k].yoff = g[k].yoff;
  }
  wc_shard *sh = &s->wc[h % WC_SHARDS];
  pthread_mutex_lock(&sh->lock);
  if (sh->n + 1 > WC_MAX_ENTRIES || sh->bytes + sz > WC_MAX_BYTES) {
    for (size_t i = 0; i < sh->cap; i++) { free(sh->slot[i]); sh->slot[i] = NULL; }
    sh->n = 0;
    sh->bytes = 0;
  }
  if (2 * (sh->n + 1) > sh->cap && !wc_grow(sh)) {
    pthread_mutex_unlock(&sh->lock);
    free(e);
    return;
  }
  size_t mask = sh->cap - 1, i = (size_t)(h / WC_SHARDS) & mask;
  for (; sh->slot[i]; i = (i + 1) & mask)
    if (wc_match(sh->slot[i], h, r, lang, w, n)) break; /* another thread stored it */
  if (sh->slot[i]) {
    free(e);
  } else {
    sh->slot[i] = e;
    sh->n++;
    sh->bytes += sz;
  }
  pthread_mutex_unlock(&sh->lock);
}

void ts_text_prefetch(ts_ctx *ctx, const char *lang) { ts_hy_prefetch(ctx, lang); }

void ts_text_cache_clear(ts_ctx *ctx)
{
  text_shared *s = ctx ? shared_of(ctx) : NULL;
  if (!s) return;
  for (int k = 0; k < WC_SHARDS; k++) {
    wc_shard *sh = &s->wc[k];
    pthread_mutex_lock(&sh->lock);
    for (size_t i = 0; sh->slot && i < sh->cap; i++) free(sh->slot[i]);
    free(sh->slot); /* its memory back too: the next use starts small */
    sh->slot = NULL;
    sh->cap = 0;
    sh->n = 0;
    sh->bytes = 0;
    pthread_mutex_unlock(&sh->lock);
  }
  ts_hy_memo_clear(ctx);
}

static int run_word_safe(text_shared *s, const prun *r)
{
  if (!s || (r->level & 1)) return 0;
  if (r->script != HB_SCRIPT_LATIN && r->script != HB_SCRIPT_CYRILLIC &&
      r->script != HB_SCRIPT_GREEK && r->script != HB_SCRIPT_COMMON)
    return 0;
  const char *t = r->src;
  for (uint32_t b = r->b0; b < r->b1;) {
    unsigned char c = (unsigned char)t[b];
    if (c < 0x80) { b++; continue; }
    UChar32 cp;
    int32_t bi = (int32_t)b;
    U8_NEXT(t, bi, (int32_t)r->b1, cp);
    b = (uint32_t)bi;
    if (cp < 0) return 0;
    int8_t ct = u_charType(cp);
    if (ct == U_NON_SPACING_MARK || ct == U_ENCLOSING_MARK || ct == U_COMBINING_SPACING_MARK)
      return 0;
  }
  return face_word_safe(s, r->face);
}

/* Shapes run r into v: word by word through the cache where that is the
 * same as shaping the whole run (see above), else the whole run in context. */
static ts_status shape_run(ts_para *p, hb_buffer_t *buf, const prun *r, gvec *v)
{
  text_shared *s = shared_of(p->ctx);
  if (!run_word_safe(s, r))
    return shape_range(p, buf, r, r->src, p->len, r->b0, r->b1, 0, 1, v);
  const char *t = r->src;
  uint64_t hf = wc_feats_hash(r);
  for (uint32_t x = r->b0; x < r->b1;) {
    uint32_t y = x + 1;
    if (t[x] != ' ')
      while (y < r->b1 && t[y] != ' ') y++;
    uint32_t n = y - x;
    if (n > WC_MAX_WORD) {
      ts_status st = shape_range(p, buf, r, t, p->len, x, y, x, 0, v);
      if (st != TS_OK) return st;
      x = y;
      continue;
    }
    uint64_t h = wc_hash(r, hf, p->lang, t + x, n);
    size_t before = v->n;
    int got = wc_get(s, h, r, p->lang, t + x, n, x, v);
    if (got < 0) return TS_ERR_NOMEM;
    if (got) {
      p->glyphs_shaped += v->n - before;
      atomic_fetch_add(&s->wc_hits, 1);
    } else {
      ts_status st = shape_range(p, buf, r, t + x, n, 0, n, x, 0, v);
      if (st != TS_OK) return st;
      /* (v->g is NULL while nothing was shaped: no arithmetic on it then) */
      wc_put(s, h, r, p->lang, t + x, n, x, v->g ? v->g + before : NULL, v->n - before);
      atomic_fetch_add(&s->wc_misses, 1);
    }
    x = y;
  }
  return TS_OK;
}

void ts_text_wordcache_stats(ts_ctx *ctx, uint64_t *hits, uint64_t *misses)
{
  text_shared *s = shared_of(ctx);
  *hits = s ? atomic_load(&s->wc_hits) : 0;
  *misses = s ? atomic_load(&s->wc_misses) : 0;
}

size_t ts_text_para_check_shaping(ts_para *p)
{
  size_t bad = 0;
  hb_buffer_t *buf = hb_buffer_create();
  for (size_t i = 0; i < p->n_runs; i++) {
    const prun *r = &p->runs[i];
    if (r->hidden || !r->face) continue;
    gvec v = {0};
    if (shape_range(p, buf, r, r->src, p->len, r->b0, r->b1, 0, 1, &v) != TS_OK) { bad++; continue; }
    int same = v.n == r->ng;
    for (size_t k = 0; same && k < v.n; k++) {
      const sglyph *a = &v.g[k], *b = &p->glyphs[r->g0 + k];
      same = a->gid == b->gid && a->cluster == b->cluster && a->adv == b->adv &&
             a->xoff == b->xoff && a->yoff == b->yoff;
    }
    if (!same) bad++;
    free(v.g);
  }
  hb_buffer_destroy(buf);
  return bad;
}

ts_status ts_text_shape_piece(ts_para *p, hb_buffer_t *buf, const prun *r, uint32_t x,
                              uint32_t y, int hyphen, sglyph **out, size_t *n_out)
{
  /* text[x..y) alone (no context: a line edge), plus the face's hyphen */
  char *tmp = malloc(y - x + 8);
  if (!tmp) return TS_ERR_NOMEM;
  memcpy(tmp, r->src + x, y - x);
  uint32_t n = y - x;
  if (hyphen) n += (uint32_t)ts_utf8_encode(r->face->hyphen_cp ? r->face->hyphen_cp : '-', tmp + n);
  gvec v = {0};
  ts_status st = shape_range(p, buf, r, tmp, n, 0, n, 0, 0, &v);
  free(tmp);
  if (st != TS_OK) { free(v.g); return st; }
  for (size_t i = 0; i < v.n; i++)
    v.g[i].cluster = v.g[i].cluster < y - x ? x + v.g[i].cluster : y;
  p->reshapes++;
  *out = v.g;
  *n_out = v.n;
  return TS_OK;
}

/* ---- items ----------------------------------------------------------------*/

typedef struct ivec {
  ts_item *it;
  pitem *pi;
  size_t n, cap, cap2;
} ivec;

static ts_status push(ivec *v, int type, int flagged, double w, double st, double sh,
                      double pen, int kind, uint32_t b0, uint32_t b1)
{
  ts_item *it = hgrow(v->it, &v->cap, v->n + 1, sizeof *it);
  if (!it) return TS_ERR_NOMEM;
  v->it = it;
  pitem *pi = hgrow(v->pi, &v->cap2, v->n + 1, sizeof *pi);
  if (!pi) return TS_ERR_NOMEM;
  v->pi = pi;
  it[v->n] = (ts_item){(uint8_t)type, (uint8_t)flagged, w, st, sh, pen, (uint32_t)v->n};
  pi[v->n] = (pitem){b0, b1, 0, 0, (uint8_t)kind};
  v->n++;
  return TS_OK;
}

static int last_kind(const ivec *v)
{
  return v->n ? v->pi[v->n - 1].kind : -1;
}

/* Width in pt of the face's hyphen at the run's size. */
static double hyphen_width(const prun *r)
{
  if (!r || !r->face) return 0;
  hb_codepoint_t g = 0;
  uint32_t cp = r->face->hyphen_cp ? r->face->hyphen_cp : '-';
  if (!hb_font_get_nominal_glyph(ts_face_font(r->face), cp, &g)) return 0;
  return ts_face_advance(r->face, g) * r->scale;
}

/* ---- hyphenation points -----------------------------------------------------*/

typedef struct exc {
  uint64_t hash;
  const char *word; /* lower-case, without hyphens (arena) */
  size_t len;
  uint32_t *pts;    /* character counts before each allowed break */
  size_t n;
} exc;

static int exc_cmp(const void *a, const void *b)
{
  uint64_t x = ((const exc *)a)->hash, y = ((const exc *)b)->hash;
  return x < y ? -1 : x > y;
}

/* Lower-cases s[0..n) into out (UTF-8, at most cap bytes); returns length or 0. */
static size_t lower_utf8(const char *s, size_t n, char *out, size_t cap, int skip_hyphens,
                         uint32_t *pts, size_t *npts)
{
  size_t o = 0, nch = 0;
  for (size_t i = 0; i < n;) {
    uint32_t c;
    size_t l = ts_utf8_decode(s + i, n - i, &c);
    if (!l) l = 1;
    i += l;
    if (skip_hyphens && c == '-') {
      if (pts && nch > 0) pts[(*npts)++] = (uint32_t)nch;
      continue;
    }
    if (o + 4 >= cap) return 0;
    o += ts_utf8_encode((uint32_t)u_tolower((UChar32)c), out + o);
    nch++;
  }
  return o;
}

static ts_status load_exceptions(ts_para *p, exc **out, size_t *n_out)
{
  *out = NULL;
  *n_out = 0;
  const ts_style *s = p->o.style;
  if (!s || !s->n_hyphen_exceptions) return TS_OK;
  exc *e = aalloc(p->scratch, s->n_hyphen_exceptions, sizeof *e);
  if (!e) return TS_ERR_NOMEM;
  size_t n = 0;
  char buf[256];
  for (size_t i = 0; i < s->n_hyphen_exceptions; i++) {
    const char *w = s->hyphen_exceptions[i];
    if (!w) continue;
    size_t wl = strlen(w);
    uint32_t *pts = aalloc(p->scratch, wl + 1, sizeof *pts);
    if (!pts) return TS_ERR_NOMEM;
    size_t np = 0;
    size_t l = lower_utf8(w, wl, buf, sizeof buf, 1, pts, &np);
    if (!l) continue;
    e[n].word = ts_arena_strndup(p->scratch, buf, l);
    if (!e[n].word) return TS_ERR_NOMEM;
    e[n].len = l;
    e[n].hash = ts_hash64(buf, l, 0);
    e[n].pts = pts;
    e[n].n = np;
    n++;
  }
  qsort(e, n, sizeof *e, exc_cmp);
  *out = e;
  *n_out = n;
  return TS_OK;
}

/* The alphabets whose words are hyphenated even inside text of another
 * language, each with the patterns it is usually hyphenated by. */
static const struct {
  UScriptCode script;
  const char *lang;
} alphabets[] = {
  {USCRIPT_LATIN, "en"},
  {USCRIPT_CYRILLIC, "ru"},
  {USCRIPT_GREEK, "el"},
};
enum { N_ALPHABETS = sizeof alphabets / sizeof *alphabets };

static int alphabet_index(UScriptCode sc)
{
  for (int a = 0; a < N_ALPHABETS; a++)
    if (alphabets[a].script == sc) return a;
  return -1;
}

/* The alphabet a language tag is written in (BCP 47 primary subtag). */
static UScriptCode lang_alphabet(const char *lang)
{
  static const char *const cyrillic[] = {"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "mn", "tg"};
  int two = lang[0] && lang[1] && (lang[2] == 0 || lang[2] == '-' || lang[2] == '_');
  if (two) {
    for (size_t k = 0; k < sizeof cyrillic / sizeof *cyrillic; k++)
      if (!strncmp(lang, cyrillic[k], 2)) return USCRIPT_CYRILLIC;
    if (!strncmp(lang, "el", 2)) return USCRIPT_GREEK;
  }
  return USCRIPT_LATIN;
}

/* Marks hyphenation points (break before byte b: hyph[b] = 1) in every
 * eligible word: letters only (a token with digits, '@', "://" or "www." is
 * a number, an address or a URL), not all capitals (acronyms), not in a
 * no_hyphen span, not carrying its own soft hyphens. */
static ts_status hyphen_points(ts_para *p, const uint32_t *cpv, const uint32_t *cpb,
                               const uint32_t *spn, size_t ncp, uint8_t *hyph)
{
  const char *lang = !p->o.lang_own && p->o.style && p->o.style->hyphen_lang
                         ? p->o.style->hyphen_lang
                         : p->o.lang;
  if (!lang || !*lang) lang = "en";
  const hy_dict *dict = NULL;
  ts_status dst = ts_hy_dict_get(p->ctx, lang, &dict);
  if (dst != TS_OK) return dst;
  /* Words of another alphabet than the language's get that alphabet's usual
   * patterns: Russian names and Greek quotations in an English paper,
   * English titles in a Russian one. */
  UScriptCode lang_script = lang_alphabet(lang);
  /* Words in a passage that gives its own language ([text]{lang=de}: ts_span.lang) take
   * that language's patterns (none when it has none) and not the style's exceptions
   * (ts_hy_span_lang: not when it is the paragraph's language); the dictionaries of
   * the first SPAN_LANGS of them are kept at hand, later ones asked of the cache. */
  enum { SPAN_LANGS = 4 };
  struct {
    const char *lang;
    const hy_dict *dict;
  } sl[SPAN_LANGS];
  int nsl = 0;
  const hy_dict *other[N_ALPHABETS] = {NULL};
  uint8_t other_loaded[N_ALPHABETS] = {0};
  exc *ex = NULL;
  size_t nex = 0;
  ts_status st = load_exceptions(p, &ex, &nex);
  if (st != TS_OK) return st;
  int lmin = p->brk.lefthyphenmin > 0 ? p->brk.lefthyphenmin : 2;
  int rmin = p->brk.righthyphenmin > 0 ? p->brk.righthyphenmin : 3;
  size_t i = 0;
  while (i < ncp) {
    uint32_t c = cpv[i];
    if (is_space(c) || (is_hidden(c) && c != 0xAD)) { i++; continue; }
    size_t j = i;
    int bad = 0;
    while (j < ncp && !is_space(cpv[j]) && !(is_hidden(cpv[j]) && cpv[j] != 0xAD)) {
      uint32_t d = cpv[j];
      if (is_digit(d) || d == '@' || d == 0xAD) bad = 1;
      if (d == ':' && j + 2 < ncp && cpv[j + 1] == '/' && cpv[j + 2] == '/') bad = 1;
      if ((d == 'w' || d == 'W') && j + 3 < ncp && (cpv[j + 1] | 32) == 'w' &&
          (cpv[j + 2] | 32) == 'w' && cpv[j + 3] == '.')
        bad = 1;
      j++;
    }
    if (bad) { i = j; continue; }
    /* words of letters (and marks) inside the token [i, j) */
    size_t k = i;
    while (k < j) {
      if (!is_alpha(cpv[k])) { k++; continue; }
      size_t w = k;
      int upper = 0, letters = 0, nohy = 0;
      while (w < j && (is_alpha(cpv[w]) || (cpv[w] >= 0x80 && (U_GET_GC_MASK(cpv[w]) & U_GC_M_MASK)))) {
        if (is_alpha(cpv[w])) {
          letters++;
          upper += is_upper(cpv[w]) ? 1 : 0;
        }
        if (p->spans[spn[w]].no_hyphen) nohy = 1;
        w++;
      }
      if (!nohy && !(letters >= 2 && upper == letters) && letters >= lmin + rmin) {
        const char *word = p->text + cpb[k];
        size_t wl = cpb[w] - cpb[k];
        size_t pos[64];
        size_t np = 0;
        int from_exc = 0;
        const hy_dict *word_dict = dict;
        UScriptCode word_script = lang_script;
        int own_lang = 0; /* the word is in a passage of another language */
        const char *span_lang = ts_hy_span_lang(p->o.lang, lang, p->spans[spn[k]].lang);
        if (span_lang != lang) {
          int e = 0;
          while (e < nsl && strcmp(sl[e].lang, span_lang) != 0) e++;
          own_lang = 1;
          if (e < nsl) {
            word_dict = sl[e].dict;
          } else {
            st = ts_hy_dict_get(p->ctx, span_lang, &word_dict); /* the cache keeps it */
            if (st != TS_OK) return st;
            if (nsl < SPAN_LANGS) {
              sl[nsl].lang = span_lang;
              sl[nsl++].dict = word_dict;
            }
          }
          word_script = lang_alphabet(span_lang);
        }
        if (nex && !own_lang) {
          char low[256];
          size_t ll = lower_utf8(word, wl, low, sizeof low, 0, NULL, NULL);
          if (ll) {
            exc key = {ts_hash64(low, ll, 0), NULL, 0, NULL, 0};
            exc *e = bsearch(&key, ex, nex, sizeof *ex, exc_cmp);
            while (e && e > ex && e[-1].hash == key.hash) e--;
            for (; e && e < ex + nex && e->hash == key.hash; e++) {
              if (e->len != ll || memcmp(e->word, low, ll)) continue;
              from_exc = 1;
              /* lefthyphenmin/righthyphenmin bind exceptions too, as in TeX */
              for (size_t q = 0; q < e->n && np < 64; q++)
                if (e->pts[q] >= (uint32_t)lmin && k + e->pts[q] + (size_t)rmin <= w)
                  pos[np++] = cpb[k + e->pts[q]] - cpb[k];
              break;
            }
          }
        }
        if (!from_exc) {
          UScriptCode sc = script_of(cpv[k]);
          const hy_dict *use = word_dict;
          int a = alphabet_index(sc);
          if (a >= 0 && sc != word_script) {
            if (!other_loaded[a]) {
              st = ts_hy_dict_get(p->ctx, alphabets[a].lang, &other[a]);
              if (st != TS_OK) return st;
              other_loaded[a] = 1;
            }
            use = other[a];
          }
          if (use) np = ts_hy_word(use, word, wl, lmin, rmin, pos, 64);
        }
        for (size_t q = 0; q < np; q++) hyph[cpb[k] + pos[q]] = 1;
      }
      k = w;
    }
    i = j;
  }
  return TS_OK;
}

/* ---- paragraph creation --------------------------------------------------- */

/* A paragraph's working arrays, per code point (L + 1 each; u16 and
 * u16_cp 2L + 1 and 2L + 2), carved from one block (the workspace's):
 * fourteen allocations a paragraph were a tenth of its itemising. */
typedef struct tmp_arrays {
  UChar *u16;
  uint32_t *u16_cp; /* u16 index → code point index */
  uint32_t *cpb, *cpv, *spn, *cpu;
  uint8_t *lvl, *hid, *brk, *hyph, *common, *small;
  int32_t *scr;
  const ts_face **face;
} tmp_arrays;

/* Carves t's arrays for L bytes of text from ws's block (grown when too
 * small); face and the byte arrays zeroed.  0 on OOM. */
static int tmp_alloc(tmp_arrays *t, para_ws *ws, size_t L)
{
  size_t n = L + 1, n2 = 2 * L + 2;
  if (L > (SIZE_MAX - 64) / 64) return 0;
  /* 8-byte pointers first, then the 4-, 2- and 1-byte arrays: each stays aligned */
  size_t sz_face = n * sizeof *t->face, sz32 = (4 * n + 1 * n + n2) * sizeof(uint32_t),
         sz16 = n2 * sizeof *t->u16, sz8 = 6 * n;
  size_t need = sz_face + sz32 + sz16 + sz8;
  if (ws->tmp_cap < need) {
    free(ws->tmp);
    ws->tmp_cap = 0;
    ws->tmp = malloc(need);
    if (!ws->tmp) return 0;
    ws->tmp_cap = need;
  }
  char *b = ws->tmp;
  t->face = (const ts_face **)(void *)b;
  uint32_t *w = (uint32_t *)(void *)(b + sz_face);
  t->cpb = w, w += n;
  t->cpv = w, w += n;
  t->spn = w, w += n;
  t->cpu = w, w += n;
  t->scr = (int32_t *)w, w += n;
  t->u16_cp = w, w += n2;
  t->u16 = (UChar *)w;
  uint8_t *c = (uint8_t *)(t->u16 + n2);
  t->lvl = c, c += n;
  t->hid = c, c += n;
  t->small = c, c += n;
  t->common = c, c += n;
  t->brk = c, c += n;
  t->hyph = c;
  memset(t->face, 0, sz_face);
  memset(t->lvl, 0, sz8);
  return 1;
}

/* Warns that no face of the set fs has cp (once a paragraph: the caller
 * remembers it), at its span, naming the package of a fallback for it
 * that is not installed among those the set takes. */
static void report_missing(ts_ctx *ctx, ts_diag *d, const char *file, const ts_span *sp,
                           const ts_fontset *fs, uint32_t cp)
{
  char u8[5] = {0}, pkg[64];
  ts_utf8_encode(cp, u8);
  if (ts_fonts_provider(ctx, ts_fontset_flavour(fs), cp, pkg, sizeof pkg))
    ts_diag_report(d, TS_WARNING, file, sp->line, sp->col,
                   "no font has U+%04X '%s'; it is drawn as the missing-glyph box "
                   "(the Debian package %s has a font for it)", cp, u8, pkg);
  else
    ts_diag_report(d, TS_WARNING, file, sp->line, sp->col,
                   "no font has U+%04X '%s'; it is drawn as the missing-glyph box", cp, u8);
}

static hb_script_t hb_script_of(int32_t sc)
{
  const char *n = uscript_getShortName((UScriptCode)sc);
  return n ? hb_script_from_string(n, -1) : HB_SCRIPT_COMMON;
}

ts_status ts_text_para_create(ts_ctx *ctx, ts_arena *arena, const ts_span *spans, size_t n,
                              const ts_para_opts *o, ts_diag *d, ts_para **out)
{
  ts_status st = TS_OK;
  tmp_arrays t = {0};
  build B = {0};
  gvec gv = {0};
  ivec iv = {0};
  prun *runs = NULL;
  size_t n_runs = 0, cap_runs = 0;
  hb_buffer_t *buf = NULL;
  UBiDi *bidi = NULL;
  UBreakIterator *bi = NULL;
  *out = NULL;
  const char *why = NULL;
  if (!ts_hb_open(&why)) { /* HarfBuzz is opened by the first text shaped */
    ts_diag_report(d, TS_ERROR, NULL, 0, 0, "%s", why);
    return TS_ERR_INTERNAL;
  }

  ts_para *p = calloc(1, sizeof *p);
  if (!p) return TS_ERR_NOMEM;
  B.p = p;
  B.fsets = o && o->fontsets ? o->fontsets : &B.own;
  p->ctx = ctx;
  p->arena = arena;
  p->ws = ws_take(shared_of(ctx));
  if (!p->ws) {
    free(p);
    return TS_ERR_NOMEM;
  }
  p->scratch = p->ws->scratch;
  /* the workspace's arrays, grown here as needed and put back at done */
  runs = p->ws->runs;
  cap_runs = p->ws->cap_runs;
  gv.g = p->ws->g;
  gv.cap = p->ws->cap_g;
  iv.it = p->ws->it;
  iv.cap = p->ws->cap_it;
  iv.pi = p->ws->pi;
  iv.cap2 = p->ws->cap_pi;
  p->d = d;
  if (o) p->o = *o;
  p->spans = spans;
  p->n_spans = n;
  if (p->o.style) p->brk = p->o.style->brk;
  else p->brk = (ts_break_params){100, 200, 0, 10, 50, 50, 10000, 10000, 5000, 0, 2, 2, 3, 150, 150, 100, 0};
  if (p->o.free_hyphen_lines) p->brk.max_hyphen_lines = 0;
  p->lang = hb_language_from_string(p->o.lang && *p->o.lang ? p->o.lang : "en", -1);
  if (p->o.hyphenate)
    ts_hy_prefetch(ctx, !p->o.lang_own && p->o.style && p->o.style->hyphen_lang
                            ? p->o.style->hyphen_lang
                            : p->o.lang);
  p->indent = p->o.indent > 0 ? p->o.indent : 0;
  B.reported = p->o.reported ? p->o.reported : ts_cp_set_create(p->scratch);

  /* 1. text */
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += spans[i].text ? spans[i].len : 0;
  if (total >= UINT32_MAX / 4) { st = TS_ERR_LIMIT; goto done; }
  p->len = (uint32_t)total;
  p->text = aalloc(p->scratch, total + 1, 1);
  p->span_b0 = aalloc(p->scratch, n + 1, sizeof *p->span_b0);
  if (!p->text || !p->span_b0) { st = TS_ERR_NOMEM; goto done; }
  for (size_t i = 0, b = 0; i < n; i++) {
    p->span_b0[i] = (uint32_t)b;
    size_t sl = spans[i].text ? spans[i].len : 0; /* a NULL text is an empty span */
    if (sl) memcpy(p->text + b, spans[i].text, sl);
    for (size_t k = b; k < b + sl; k++)
      if (p->text[k] == '\t') p->text[k] = ' ';
    b += sl;
  }
  p->span_b0[n] = p->len;

  /* code points, UTF-16 for ICU */
  size_t L = p->len;
  int carved = tmp_alloc(&t, p->ws, L);
  p->glue_at = aalloc(p->scratch, L + 1, sizeof *p->glue_at);
  if (!carved || !p->glue_at) {
    st = TS_ERR_NOMEM;
    goto done;
  }
  memset(p->glue_at, 0xFF, (L + 1) * sizeof *p->glue_at);
  size_t ncp = 0, nu = 0, si = 0;
  int need_bidi = p->o.base_rtl == 1;
  for (uint32_t b = 0; b < L;) {
    uint32_t c;
    size_t l;
    while (si + 1 < n && p->span_b0[si + 1] <= b) si++;
    if ((unsigned char)p->text[b] < 0x80) { /* ASCII: nothing right-to-left */
      c = (unsigned char)p->text[b];
      t.cpb[ncp] = b;
      t.cpv[ncp] = c;
      t.spn[ncp] = (uint32_t)si;
      t.cpu[ncp] = (uint32_t)nu;
      t.hid[ncp] = (uint8_t)(c < 0x20 || c == 0x7F);
      t.u16_cp[nu] = (uint32_t)ncp;
      t.u16[nu++] = (UChar)c;
      ncp++;
      b++;
      continue;
    }
    l = ts_utf8_decode(p->text + b, L - b, &c);
    if (l == 0) l = 1; /* invalid byte: U+FFFD, one byte */
    t.cpb[ncp] = b;
    t.cpv[ncp] = c;
    t.spn[ncp] = (uint32_t)si;
    t.cpu[ncp] = (uint32_t)nu;
    t.hid[ncp] = (uint8_t)is_hidden(c);
    if (c >= 0x590 && !(c >= 0x900 && c < 0x200E) && !(c >= 0x2070 && c < 0xD800 && c != 0x202A &&
        c != 0x202B && c != 0x202E && c != 0x2067 && c != 0x2068)) need_bidi = 1;
    if (c >= 0x200E && c <= 0x200F) need_bidi = 1;
    if (c >= 0x202A && c <= 0x202E) need_bidi = 1;
    if (c >= 0x2066 && c <= 0x2069) need_bidi = 1;
    if (c > 0xFFFF) {
      t.u16_cp[nu] = (uint32_t)ncp;
      t.u16[nu++] = (UChar)(0xD7C0 + (c >> 10));
      t.u16_cp[nu] = (uint32_t)ncp;
      t.u16[nu++] = (UChar)(0xDC00 | (c & 0x3FF));
    } else {
      t.u16_cp[nu] = (uint32_t)ncp;
      t.u16[nu++] = (UChar)c;
    }
    ncp++;
    b += (uint32_t)l;
  }
  t.cpb[ncp] = (uint32_t)L;
  t.cpu[ncp] = (uint32_t)nu;
  t.u16_cp[nu] = (uint32_t)ncp;

  /* 2. bidi levels (skipped when nothing right-to-left can occur) */
  if (need_bidi && nu > 0) {
    UErrorCode err = U_ZERO_ERROR;
    bidi = ubidi_openSized((int32_t)nu, 0, &err);
    UBiDiLevel base = p->o.base_rtl == 1 ? 1 : p->o.base_rtl == 0 ? 0 : UBIDI_DEFAULT_LTR;
    if (U_SUCCESS(err)) ubidi_setPara(bidi, t.u16, (int32_t)nu, base, NULL, &err);
    if (U_FAILURE(err)) { st = err == U_MEMORY_ALLOCATION_ERROR ? TS_ERR_NOMEM : TS_ERR_INTERNAL; goto done; }
    const UBiDiLevel *lv = ubidi_getLevels(bidi, &err);
    if (U_FAILURE(err) || !lv) { st = TS_ERR_NOMEM; goto done; }
    for (size_t i = 0; i < ncp; i++) t.lvl[i] = lv[t.cpu[i]];
    p->rtl = ubidi_getParaLevel(bidi) & 1;
  }

  /* 3. scripts */
  {
    struct { UChar32 close; int32_t sc; } stack[64];
    int sp = 0;
    int32_t last = USCRIPT_COMMON;
    for (size_t i = 0; i < ncp; i++) {
      UChar32 c = (UChar32)t.cpv[i];
      int32_t sc = script_of(t.cpv[i]);
      t.common[i] = sc == USCRIPT_COMMON || sc == USCRIPT_INHERITED;
      if (sc == USCRIPT_INHERITED) {
        sc = last;
      } else if (sc == USCRIPT_COMMON) {
        int bt = u_getIntPropertyValue(c, UCHAR_BIDI_PAIRED_BRACKET_TYPE);
        if (bt == U_BPT_OPEN) {
          if (sp < 64) {
            stack[sp].close = u_getBidiPairedBracket(c);
            stack[sp++].sc = last;
          }
          sc = last;
        } else if (bt == U_BPT_CLOSE) {
          int k = sp - 1;
          while (k >= 0 && stack[k].close != c) k--;
          if (k >= 0) {
            sc = stack[k].sc;
            sp = k;
          } else {
            sc = last;
          }
        } else {
          sc = last;
        }
      }
      t.scr[i] = sc;
      if (sc != USCRIPT_COMMON) last = sc;
    }
    int32_t next = USCRIPT_COMMON;
    for (size_t i = ncp; i-- > 0;) {
      if (t.scr[i] == USCRIPT_COMMON) t.scr[i] = next;
      else next = t.scr[i];
    }
  }

  /* 4. a face per grapheme cluster */
  {
    /* Text of precomposed Latin, Greek and Cyrillic letters, punctuation
     * and spaces has one cluster per character: ICU is asked only when
     * something else (marks, joiners, Hangul, emoji, Indic) occurs. */
    int simple = 1;
    for (size_t i = 0; i < ncp && simple; i++) {
      uint32_t c = t.cpv[i];
      simple = (c < 0x300 && c != '\r') || (c >= 0x370 && c < 0x483) || (c >= 0x48A && c < 0x590) ||
               (c >= 0x2010 && c < 0x2028) || (c >= 0x2030 && c < 0x2060);
    }
    if (nu > 0 && !simple) {
      bi = open_breaker(ctx, NULL, t.u16, (int32_t)nu);
      if (!bi) { st = TS_ERR_NOMEM; goto done; }
    }
    const ts_face *prev = NULL;
    int prev_fs = -1; /* font set prev was chosen from (as fontset_for keys it) */
    if (simple) {
      /* one cluster per code point: as the loop below, with the font set
       * looked up once per span and its first face tried inline */
      const ts_fontset *fs = NULL;
      uint32_t fs_span = UINT32_MAX;
      int fs_key = 0;
      for (size_t i = 0; i < ncp; i++) {
        if (t.spn[i] != fs_span) {
          fs_span = t.spn[i];
          const ts_span *sp = &spans[fs_span];
          fs = fontset_for(&B, sp, &st);
          if (!fs) goto done;
          fs_key = ((unsigned)sp->role < TS_ROLE_COUNT ? (int)sp->role : TS_ROLE_BODY) * 4 +
                   (sp->bold ? 2 : 0) + (sp->italic ? 1 : 0);
        }
        uint32_t c = t.cpv[i];
        const ts_face *f;
        if (t.hid[i] || is_ignorable(c)) {
          f = prev ? prev : fs->faces[0];
        } else {
          if (t.common[i] && prev && prev_fs == fs_key && ts_face_has(prev, c)) {
            f = prev;
          } else if (fs->n > 0 && ts_face_has(fs->faces[0], c)) {
            f = fs->faces[0];
          } else {
            f = ts_fontset_pick(fs, c);
            if (!ts_face_has(f, c) && d && ts_cp_set_add(B.reported, c))
              report_missing(p->ctx, d, p->o.file, &spans[fs_span], fs, c);
          }
          prev = f;
          prev_fs = fs_key;
        }
        t.face[i] = f;
      }
    } else {
      int32_t a = 0;
      for (int32_t bnd = ubrk_next(bi); bnd != UBRK_DONE; a = bnd, bnd = ubrk_next(bi)) {
        size_t c0 = t.u16_cp[a], c1 = t.u16_cp[bnd];
        if (c1 <= c0) continue;
        /* the whole cluster takes the first character's span */
        for (size_t k = c0 + 1; k < c1; k++) t.spn[k] = t.spn[c0];
        const ts_span *sp = &spans[t.spn[c0]];
        const ts_fontset *fs = fontset_for(&B, sp, &st);
        if (!fs) goto done;
        /* the base: first character that is neither hidden nor ignorable */
        size_t base = c0;
        /* t.cpv[0..ncp) is filled from the text before any cluster is read */
        while (base < c1 && (t.hid[base] || is_ignorable(t.cpv[base]))) // NOLINT(clang-analyzer-core.CallAndMessage)
          base++;
        const ts_face *f = NULL;
        if (base == c1) {
          f = prev ? prev : fs->faces[0];
        } else {
          uint32_t bc = t.cpv[base];
          /* a common character (space, punctuation) stays in its neighbour's
           * face only within one font set: the space after a code span is the
           * text face's, not the monospace one's */
          int fs_key = ((unsigned)sp->role < TS_ROLE_COUNT ? (int)sp->role : TS_ROLE_BODY) * 4 +
                       (sp->bold ? 2 : 0) + (sp->italic ? 1 : 0);
          if (t.common[base] && prev && prev_fs == fs_key && ts_face_has(prev, bc)) f = prev;
          else f = ts_fontset_pick(fs, bc);
          /* all of the cluster's characters in one face when one can */
          int all = 1;
          for (size_t k = base + 1; k < c1 && all; k++)
            if (!t.hid[k] && !is_ignorable(t.cpv[k]))
              all = ts_face_has(f, t.cpv[k]);
          for (int fi = 0; !all && fi < fs->n; fi++) {
            const ts_face *g = ts_fontset_face(fs, fi);
            all = 1;
            for (size_t k = base; k < c1 && all; k++)
              if (!t.hid[k] && !is_ignorable(t.cpv[k]))
                all = ts_face_has(g, t.cpv[k]);
            if (all) f = g;
          }
          if (!ts_face_has(f, bc) && d && ts_cp_set_add(B.reported, bc))
            report_missing(p->ctx, d, p->o.file, sp, fs, bc);
          prev = f;
          prev_fs = fs_key;
        }
        for (size_t k = c0; k < c1; k++) t.face[k] = f;
      }
    }
  }

  /* a face that could not be loaded for want of memory: no substitute */
  for (size_t i = 0; i < B.fsets->n; i++)
    if (ts_fontset_nomem(&B.fsets->fsc[i].fs)) {
      st = TS_ERR_NOMEM;
      goto done;
    }

  /* 4b. small capitals the face cannot set ('smcp' missing): lower-case
   * letters are shaped as capitals at 80 % from a copy of the text in which
   * they are upper-cased in place (same UTF-8 length, so clusters still
   * point into the original text, which ToUnicode keeps) */
  for (size_t i = 0; i < ncp; i++) {
    const ts_span *sp = &spans[t.spn[i]];
    if (!sp->smallcaps || !t.face[i] || t.face[i]->has_smcp || !u_islower((UChar32)t.cpv[i]))
      continue;
    uint32_t up = (uint32_t)u_toupper((UChar32)t.cpv[i]);
    char enc[4];
    if (up == t.cpv[i] || ts_utf8_encode(up, enc) != t.cpb[i + 1] - t.cpb[i]) continue;
    if (!p->stext) {
      p->stext = ts_arena_memdup(p->scratch, p->text, L + 1);
      if (!p->stext) { st = TS_ERR_NOMEM; goto done; }
    }
    memcpy(p->stext + t.cpb[i], enc, t.cpb[i + 1] - t.cpb[i]);
    t.small[i] = 1;
  }

  /* 5. runs, shaped once each */
  buf = p->ws->buf;
  for (size_t i = 0; i < ncp;) {
    size_t j = i + 1;
    while (j < ncp && t.spn[j] == t.spn[i] && t.lvl[j] == t.lvl[i] && t.scr[j] == t.scr[i] &&
           t.face[j] == t.face[i] && t.hid[j] == t.hid[i] && t.small[j] == t.small[i])
      j++;
    prun *nr = hgrow(runs, &cap_runs, n_runs + 1, sizeof *nr);
    if (!nr) { st = TS_ERR_NOMEM; goto done; }
    runs = nr;
    prun *r = &runs[n_runs++];
    memset(r, 0, sizeof *r);
    const ts_span *sp = &spans[t.spn[i]];
    r->b0 = t.cpb[i];
    r->b1 = t.cpb[j];
    r->span = t.spn[i];
    r->level = t.lvl[i];
    r->hidden = t.hid[i];
    r->script = hb_script_of(t.scr[i]);
    r->face = t.face[i];
    double size = sp->size > 0 ? sp->size : 10;
    r->size = (float)size;
    feat_list *fl = role_features(&B, (unsigned)sp->role < TS_ROLE_COUNT ? (int)sp->role : 0);
    hb_feature_t *feats = aalloc(p->scratch, fl->n + 3, sizeof *feats);
    if (!feats) { st = TS_ERR_NOMEM; goto done; }
    unsigned nf = 0;
    for (unsigned k = 0; k < fl->n; k++) feats[nf++] = fl->f[k];
    if (sp->smallcaps && r->face && r->face->has_smcp)
      hb_feature_from_string("smcp", -1, &feats[nf++]);
    if (sp->script_pos == 1) {
      if (r->face && r->face->has_sups) {
        hb_feature_from_string("sups", -1, &feats[nf++]);
      } else {
        r->size = (float)(size * 0.65);
        r->dy = (float)(size * 0.33);
      }
    } else if (sp->script_pos == -1) {
      if (r->face && r->face->has_subs) {
        hb_feature_from_string("subs", -1, &feats[nf++]);
      } else {
        r->size = (float)(size * 0.65);
        r->dy = (float)(-size * 0.15);
      }
    }
    r->feats = feats;
    r->nfeats = nf;
    r->src = p->text;
    if (t.small[i]) {
      r->src = p->stext;
      r->size = (float)(r->size * 0.8);
      size *= 0.8;
    }
    r->scale = r->face ? r->size / (float)r->face->upem : 0;
    r->g0 = (uint32_t)gv.n;
    if (!r->hidden && r->face) {
      st = shape_run(p, buf, r, &gv);
      if (st != TS_OK) goto done;
      /* 'sups'/'subs' may cover only some characters (often digits only):
       * when any glyph stayed the default one, the run is synthesized
       * instead (smaller and shifted) so a mark never mixes two sizes */
      if (sp->script_pos != 0 && r->size == (float)size) {
        int unchanged = 0;
        for (size_t k = r->g0; k < gv.n && !unchanged; k++) {
          hb_codepoint_t nom = 0;
          uint32_t c = cp_at(p, gv.g[k].cluster);
          if (hb_font_get_nominal_glyph(ts_face_font(r->face), c, &nom) && nom == gv.g[k].gid &&
              !u_isspace((UChar32)c))
            unchanged = 1;
        }
        if (unchanged) {
          gv.n = r->g0;
          r->nfeats--; /* the script feature was added last */
          r->size = (float)(size * 0.65);
          r->dy = (float)(sp->script_pos > 0 ? size * 0.33 : -size * 0.15);
          r->scale = r->size / (float)r->face->upem;
          st = shape_run(p, buf, r, &gv);
          if (st != TS_OK) goto done;
        }
      }
    }
    r->ng = (uint32_t)(gv.n - r->g0);
    i = j;
  }

  /* 6. break opportunities (UAX #14 with the language's tailoring) */
  if (nu > 0) {
    char loc[32];
    size_t k = 0;
    for (const char *q = p->o.lang ? p->o.lang : "en"; *q && k + 1 < sizeof loc; q++)
      loc[k++] = *q == '-' ? '_' : *q;
    loc[k] = 0;
    /* text of common prose characters: the simple rules, where this
     * locale's agree (writes nothing otherwise) */
    if (!(simple_rules_ok(ctx, loc) && ts_uax14_simple(t.cpv, ncp, t.cpb, t.brk))) {
      UBreakIterator *lb = open_breaker(ctx, loc, t.u16, (int32_t)nu);
      if (!lb) { st = TS_ERR_NOMEM; goto done; }
      for (int32_t bnd = ubrk_first(lb); bnd != UBRK_DONE; bnd = ubrk_next(lb)) {
        if (bnd <= 0 || (size_t)bnd >= nu) continue;
        int32_t status = ubrk_getRuleStatus(lb);
        t.brk[t.cpb[t.u16_cp[bnd]]] = status >= UBRK_LINE_HARD && status < UBRK_LINE_HARD_LIMIT ? 2 : 1;
      }
      close_breaker(ctx, loc, lb);
    }
  }
  if (p->o.hyphenate) {
    st = hyphen_points(p, t.cpv, t.cpb, t.spn, ncp, t.hyph);
    if (st != TS_OK) goto done;
  }

  /* 7. items */
  p->runs = runs;
  p->n_runs = n_runs;
  p->glyphs = gv.g;
  {
    const uint32_t NONE = UINT32_MAX;
    uint32_t word_start = NONE;
    int box_open = 0;
    uint32_t box_b0 = 0, box_b1 = 0;
    double box_w = 0;
    const prun *last_vis = NULL;
    uint32_t prev_c0 = 0;
    /* margin kerning (lines.c) makes a line ending in a hyphen or in
     * punctuation hang part of that glyph past the measure: the breaker
     * sees the line as it will be set (pdfTeX's \pdfprotrudechars=2):
     * hyphen penalties are narrower by the hang, and a break after
     * punctuation is a penalty of negative width (the hang) before the
     * space, which then is no breakpoint itself (it follows no box) */
    const int prot = p->o.mode == TS_LB_JUSTIFY && p->o.protrusion && !p->rtl;
    double prev_w = 0; /* advance of the last cluster put in a box */
    /* font expansion (pdfTeX's \pdfadjustspacing): in justified text every
     * box may widen or narrow by this fraction of its width, counted with
     * the glue's stretch and shrink when the breaker judges a line */
    const double ex = p->o.mode == TS_LB_JUSTIFY && p->brk.expansion > 0 ? p->brk.expansion / 1000.0 : 0;
#define HYPH_W(r_) (hyphen_width(r_) * (prot && !((r_)->level & 1) ? 1 - ts_text_protrusion('-', 1) : 1))
#define CLOSE_BOX()                                                                       \
  do {                                                                                    \
    if (box_open) {                                                                       \
      TS_CHECK(push(&iv, TS_ITEM_BOX, 0, box_w, box_w * ex, box_w * ex, 0, K_BOX, box_b0, \
                    box_b1));                                                             \
      box_open = 0;                                                                       \
    }                                                                                     \
  } while (0)
#define ADD_BOX(b0_, b1_, w_)                                                             \
  do {                                                                                    \
    if (!box_open) { box_open = 1; box_b0 = (b0_); box_w = 0; }                           \
    box_b1 = (b1_);                                                                       \
    box_w += (w_);                                                                        \
    if (word_start == NONE) word_start = (b0_);                                           \
  } while (0)
    if (p->indent > 0) TS_CHECK(push(&iv, TS_ITEM_BOX, 0, p->indent, 0, 0, 0, K_BOX, 0, 0));
    int had_content = 0;
    for (size_t ri = 0; ri < n_runs; ri++) {
      prun *r = &runs[ri];
      const ts_span *sp = &spans[r->span];
      if (r->hidden || !r->face) {
        for (uint32_t b = r->b0; b < r->b1;) {
          uint32_t c;
          size_t l = ts_utf8_decode(p->text + b, r->b1 - b, &c);
          if (!l) l = 1;
          if (c == 0xAD && box_open && last_vis) {
            CLOSE_BOX();
            TS_CHECK(push(&iv, TS_ITEM_PENALTY, 1, HYPH_W(last_vis), 0, 0,
                          p->brk.hyphenpenalty, K_HYPH, b, b + (uint32_t)l));
            iv.pi[iv.n - 1].wstart = word_start;
          } else if (is_mandatory(c) && had_content) {
            CLOSE_BOX();
            while (iv.n && (last_kind(&iv) == K_GLUE ||
                            (last_kind(&iv) == K_PEN && iv.it[iv.n - 1].penalty >= TS_INF_PENALTY)))
              iv.n--;
            TS_CHECK(push(&iv, TS_ITEM_PENALTY, 0, 0, 0, 0, TS_INF_PENALTY, K_PEN, b, b));
            TS_CHECK(push(&iv, TS_ITEM_GLUE, 0, 0, PARFIL, 0, 0, K_FIL, b, b));
            TS_CHECK(push(&iv, TS_ITEM_PENALTY, 0, 0, 0, 0, -TS_INF_PENALTY, K_PEN, b,
                          b + (uint32_t)l));
            word_start = NONE;
            had_content = 0;
          }
          b += (uint32_t)l;
        }
        continue;
      }
      last_vis = r;
      double sc = r->scale;
      const sglyph *g = gv.g ? gv.g + r->g0 : NULL; /* NULL: no glyph shaped yet (r->ng 0) */
      for (uint32_t gi = 0; gi < r->ng;) {
        uint32_t c0 = g[gi].cluster, gj = gi;
        double w = 0;
        while (gj < r->ng && g[gj].cluster == c0) w += g[gj++].adv * sc;
        uint32_t c1 = gj < r->ng ? g[gj].cluster : r->b1;
        if (c1 <= c0) c1 = r->b1; /* defensive: clusters ascend in logical order */
        uint32_t c = cp_at(p, c0);
        if (is_space(c)) {
          CLOSE_BOX();
          word_start = NONE;
          if (!had_content) { gi = gj; continue; } /* leading spaces */
          int lk = last_kind(&iv);
          if (lk == K_GLUE) {
            ts_item *gl = &iv.it[iv.n - 1];
            gl->width += w;
            gl->stretch = gl->width / 2;
            gl->shrink = gl->width / 3;
            iv.pi[iv.n - 1].b1 = c1;
            /* the set glue's extra width goes after the first space only */
          } else {
            /* no break before a spaced dash: a line never starts with one
             * (Russian and English house rules alike) */
            uint32_t nc = cp_at(p, c1);
            int nobreak = c == 0xA0 || t.brk[c1 < L ? c1 : L] == 0 || nc == 0x2014 || nc == 0x2013;
            if (c1 >= L) nobreak = 0;
            double hang = prot && lk == K_BOX && !(r->level & 1)
                              ? ts_text_protrusion(cp_before(p, c0), 1) * prev_w : 0;
            if (nobreak)
              TS_CHECK(push(&iv, TS_ITEM_PENALTY, 0, 0, 0, 0, TS_INF_PENALTY, K_PEN, c0, c0));
            else if (sp->no_break && c1 < L && p->spans[r->span].no_break &&
                     c1 < r->b1)
              TS_CHECK(push(&iv, TS_ITEM_PENALTY, 0, 0, 0, 0, 5000, K_PEN, c0, c0));
            else if (hang > 0)
              TS_CHECK(push(&iv, TS_ITEM_PENALTY, 0, -hang, 0, 0, 0, K_PEN, c0, c0));
            TS_CHECK(push(&iv, TS_ITEM_GLUE, 0, w, w / 2, w / 3, 0, K_GLUE, c0, c1));
            p->glue_at[c0] = (int32_t)(iv.n - 1);
          }
          gi = gj;
          continue;
        }
        /* a break opportunity before this cluster? */
        if (box_open) {
          uint32_t pc = cp_before(p, c0);
          if (t.brk[c0] == 1) {
            CLOSE_BOX(); // NOLINT(bugprone-redundant-branch-condition): the macro's own test, for its other uses
            word_start = NONE;
            if (is_dash(pc)) {
              double hang = prot && !(r->level & 1) ? ts_text_protrusion(pc, 1) * prev_w : 0;
              TS_CHECK(push(&iv, TS_ITEM_PENALTY, 1, -hang, 0, 0, p->brk.exhyphenpenalty, K_EXHYPH,
                            c0, c0));
            } else if (is_cjk(pc) || is_cjk(c)) {
              /* between ideographs: zero natural width, a little stretch so
               * justified CJK lines fill the measure; its width is added
               * after the previous cluster */
              TS_CHECK(push(&iv, TS_ITEM_GLUE, 0, 0, r->size * 0.1, 0, 0, K_CJK, c0, c0));
              p->glue_at[prev_c0] = (int32_t)(iv.n - 1);
            } else {
              double pen = sp->no_break && c0 > p->span_b0[r->span] ? 5000 : 0;
              TS_CHECK(push(&iv, TS_ITEM_PENALTY, 0, 0, 0, 0, pen, K_PEN, c0, c0));
            }
          } else if (t.hyph[c0]) {
            CLOSE_BOX();
            TS_CHECK(push(&iv, TS_ITEM_PENALTY, 1, HYPH_W(r), 0, 0, p->brk.hyphenpenalty,
                          K_HYPH, c0, c0));
            iv.pi[iv.n - 1].wstart = word_start;
          } else if (sp->no_hyphen && pc < 0x80 && strchr("/.?&=#_:", (int)pc) && pc &&
                     u_isalnum((UChar32)c)) {
            /* URLs and code: emergency breaks after separators */
            CLOSE_BOX();
            word_start = NONE;
            TS_CHECK(push(&iv, TS_ITEM_PENALTY, 0, 0, 0, 0, URL_PENALTY, K_PEN, c0, c0));
          }
        }
        /* hyphenation points inside a cluster (a ligature such as the ffi of
         * "of-fice"): the cluster's width is shared by character count; the
         * line builder reshapes such edges exactly */
        uint32_t seg0 = c0;
        if (c1 - c0 > 1) {
          size_t nch = 0, before = 0;
          for (uint32_t b = c0; b < c1;) {
            uint32_t cc;
            size_t l = ts_utf8_decode(p->text + b, c1 - b, &cc);
            b += l ? (uint32_t)l : 1;
            nch++;
          }
          for (uint32_t b = c0; b < c1;) {
            uint32_t cc;
            size_t l = ts_utf8_decode(p->text + b, c1 - b, &cc);
            b += l ? (uint32_t)l : 1;
            before++;
            if (b < c1 && t.hyph[b]) {
              double part = w * (double)before / (double)nch;
              ADD_BOX(seg0, b, part);
              w -= part;
              nch -= before;
              before = 0;
              CLOSE_BOX();
              TS_CHECK(push(&iv, TS_ITEM_PENALTY, 1, HYPH_W(r), 0, 0, p->brk.hyphenpenalty,
                            K_HYPH, b, b));
              iv.pi[iv.n - 1].wstart = word_start;
              seg0 = b;
            }
          }
        }
        ADD_BOX(seg0, c1, w);
        had_content = 1;
        prev_c0 = c0;
        prev_w = w;
        gi = gj;
      }
    }
    CLOSE_BOX();
    /* TeX §816: the final space goes, then \penalty10000 \hskip\parfillskip
     * \penalty-10000 */
    while (iv.n && (last_kind(&iv) == K_GLUE || last_kind(&iv) == K_CJK ||
                    (last_kind(&iv) == K_PEN && iv.it[iv.n - 1].penalty >= TS_INF_PENALTY)))
      iv.n--;
    int ends_forced = iv.n && iv.it[iv.n - 1].type == TS_ITEM_PENALTY &&
                      iv.it[iv.n - 1].penalty <= -TS_INF_PENALTY;
    if (!ends_forced || iv.n == 0) {
      uint32_t e = iv.n ? iv.pi[iv.n - 1].b1 : 0;
      if (iv.n && iv.pi[iv.n - 1].kind == K_HYPH) e = iv.pi[iv.n - 1].b0;
      TS_CHECK(push(&iv, TS_ITEM_PENALTY, 0, 0, 0, 0, TS_INF_PENALTY, K_PEN, e, e));
      TS_CHECK(push(&iv, TS_ITEM_GLUE, 0, 0, PARFIL, 0, 0, K_FIL, e, e));
      TS_CHECK(push(&iv, TS_ITEM_PENALTY, 0, 0, 0, 0, -TS_INF_PENALTY, K_PEN, e, e));
    }
    /* where each hyphenated word ends (for reshaping line edges) */
    uint32_t we = iv.pi[iv.n - 1].b0;
    for (size_t k = iv.n; k-- > 0;) {
      if (iv.pi[k].kind == K_HYPH) {
        iv.pi[k].wend = we;
        if (iv.pi[k].wstart == NONE) iv.pi[k].wstart = iv.pi[k].b0;
      } else if (iv.pi[k].kind != K_BOX) {
        we = iv.pi[k].b0;
      }
    }
#undef CLOSE_BOX
#undef ADD_BOX
#undef HYPH_W
  }
  p->n_items = iv.n;
  /* the paragraph uses the workspace's arrays until ts_text_para_destroy */
  p->items = iv.it;
  p->pi = iv.pi;
  p->runs = n_runs ? runs : NULL;
  p->glyphs = gv.n ? gv.g : NULL;
  p->n_glyphs = gv.n;
  if (!p->items || !p->pi) {
    st = TS_ERR_NOMEM;
    goto done;
  }
  ts_text_stats_add(ctx, p->glyphs_shaped, 1, 0, 0);
  *out = p;
done:
  close_breaker(ctx, NULL, bi);
  if (bidi) ubidi_close(bidi);
  free(B.own.fsc);
  /* the arrays (perhaps moved by growing) back to the workspace */
  p->ws->runs = runs;
  p->ws->cap_runs = cap_runs;
  p->ws->g = gv.g;
  p->ws->cap_g = gv.cap;
  p->ws->it = iv.it;
  p->ws->cap_it = iv.cap;
  p->ws->pi = iv.pi;
  p->ws->cap_pi = iv.cap2;
  if (st != TS_OK) ts_text_para_destroy(p);
  return st;
}
