/* text_internal.h — shared between the files of typeset/text only. */
#ifndef TS_TEXT_INTERNAL_H
#define TS_TEXT_INTERNAL_H

#include "text/ts_text.h"

#include "fonts/hb_api.h"

/* A shaped glyph in font units, in logical order within its run. */
typedef struct sglyph {
  uint32_t gid, cluster; /* cluster: byte offset into the paragraph text */
  int32_t adv, xoff, yoff;
} sglyph;

/* A shaped run: maximal text of one span, bidi level, script and face. */
typedef struct prun {
  uint32_t b0, b1;       /* bytes of the paragraph text */
  uint32_t span;
  uint8_t level;
  uint8_t hidden;        /* control characters and soft hyphens: not shaped */
  hb_script_t script;
  const ts_face *face;
  float size, dy, scale; /* scale: pt per font unit */
  uint32_t g0, ng;       /* glyphs[g0 .. g0+ng) */
  const hb_feature_t *feats;
  unsigned nfeats;
  const char *src;       /* text shaped: the paragraph's, or stext for
                            synthesized small capitals (same byte offsets) */
} prun;

enum item_kind {
  K_BOX = 0, K_GLUE, K_FIL, K_PEN, K_HYPH, K_EXHYPH, K_CJK
};

/* Per-item data parallel to the ts_item array. */
typedef struct pitem {
  uint32_t b0;     /* where the item starts; a line broken here ends at b0 */
  uint32_t b1;     /* where the item ends; the next line starts at the next item's b0 */
  uint32_t wstart; /* K_HYPH: start of the word the break falls in */
  uint32_t wend;   /* K_HYPH: end of that word */
  uint8_t kind;    /* enum item_kind */
} pitem;

typedef struct ts_fontset_cache {
  const ts_style *style;
  int role, bold, italic;
  ts_fontset fs;
} ts_fontset_cache;

/* ts_fontsets (ts_text.h): a growing array of looked-up font sets (heap). */
struct ts_fontsets {
  ts_fontset_cache *fsc;
  size_t n, cap;
};

/* A paragraph's working memory: its scratch arena, a HarfBuzz buffer and
 * the block of per-code-point arrays (para.c).  Kept by the shared text
 * state between paragraphs and lent to one paragraph at a time, from
 * ts_text_para_create to ts_text_para_destroy, so that a short paragraph (a
 * list's label, a table's cell) allocates none of them. */
typedef struct para_ws {
  ts_arena *scratch;     /* owned; emptied when given back */
  hb_buffer_t *buf;      /* owned: for shaping the paragraph and its lines */
  void *tmp;             /* owned: the per-code-point arrays, tmp_cap bytes */
  size_t tmp_cap;
  /* owned, with their capacities: the paragraph's runs, glyphs and items
   * (ts_para's runs, glyphs, items and pi point into them) */
  prun *runs;
  size_t cap_runs;
  sglyph *g;
  size_t cap_g;
  ts_item *it;
  pitem *pi;
  size_t cap_it, cap_pi;
  ts_lb_ws lb;           /* the line breaker's arrays (owned) */
  struct para_ws *next;  /* in the pool of spare ones */
} para_ws;

/* A paragraph (heap, freed with all it owns by ts_text_para_destroy). */
struct ts_para {
  ts_ctx *ctx;
  ts_arena *arena;       /* borrowed: the document's; the built lines go here */
  para_ws *ws;           /* lent by the pool until ts_text_para_destroy */
  ts_arena *scratch;     /* ws's: the paragraph's own data (text, glue_at,
                            features), emptied by ts_text_para_destroy */
  ts_diag *d;            /* borrowed */
  ts_para_opts o;
  ts_break_params brk;
  const ts_span *spans;  /* borrowed */
  size_t n_spans;
  char *text;            /* arena: the spans' text concatenated */
  char *stext;           /* arena: text with small-capital letters upper-cased
                            in place (NULL when none) */
  uint32_t len;
  uint32_t *span_b0;     /* first byte of each span */
  prun *runs;            /* ws's, as are glyphs, items and pi: */
  size_t n_runs;         /* a paragraph's break data lives only until */
  sglyph *glyphs;        /* ts_text_para_destroy, not as long as the */
  size_t n_glyphs;       /* document, whose arena keeps only the lines */
  ts_item *items;
  pitem *pi;
  size_t n_items;
  int32_t *glue_at;      /* per byte: glue item whose width follows the cluster starting here */
  int rtl;               /* paragraph level is right-to-left */
  double indent;
  hb_language_t lang;
  uint64_t reshapes, glyphs_shaped;
  /* ts_text_para_count_lines' one-line test: 0 not made yet, 1 the
   * paragraph may be one line (natural width one_w), 2 it may not */
  int one_state;
  double one_w;
};

/* para.c */
/* Margin-kerning factor of code point c at a line's right (right = 1) or
 * left edge: the fraction of its glyph's advance that hangs out (lines.c). */
double ts_text_protrusion(uint32_t c, int right);
void ts_text_stats_add(ts_ctx *ctx, uint64_t glyphs, uint64_t paras, uint64_t lines,
                       uint64_t reshapes);
/* Shapes text[x..y) of run r without context (a line's edge), with the
 * face's hyphen appended when `hyphen` (its cluster is y).  Returns owned
 * logical-order glyphs (free with free()). */
ts_status ts_text_shape_piece(ts_para *p, hb_buffer_t *buf, const prun *r, uint32_t x,
                              uint32_t y, int hyphen, sglyph **out, size_t *n_out);

/* Shaped-word cache counters of the shared context (lookups that hit and
 * that missed). */
void ts_text_wordcache_stats(ts_ctx *ctx, uint64_t *hits, uint64_t *misses);
/* Debug check: reshapes every run of p whole (in context, no cache) and
 * returns how many runs differ from p's glyphs (ids, advances, offsets or
 * clusters).  0 means word-by-word shaping changed nothing. */
size_t ts_text_para_check_shaping(ts_para *p);

/* uax14.c: line break opportunities of text made only of common prose
 * characters (letters of Latin and Cyrillic scripts, digits, spaces, ASCII
 * punctuation, quotes, dashes, no-break spaces), as ICU's root rules give
 * them.  Returns 0, writing nothing, when a code point of cp[0..n) is not
 * one of them; else 1, with brk[cpb[k]] = 1 for every k (1 <= k < n) before
 * which a line may break (other entries untouched). */
int ts_uax14_simple(const uint32_t *cp, size_t n, const uint32_t *cpb, uint8_t *brk);
/* 1 when c is one of those characters. */
int ts_uax14_class_known(uint32_t c);
/* The ICU Line_Break value (ULineBreak) ts_uax14_simple takes c to have,
 * -1 when c is not one of those characters (tests compare it with ICU). */
int ts_uax14_icu_class(uint32_t c);
/* para.c: 1 when ts_uax14_simple stands for ICU's line breaking in
 * `locale` (checked once per locale on a probe; tests). */
int ts_text_simple_rules_ok(ts_ctx *ctx, const char *locale);

/* hyphen.c: a language's dictionary (loaded once, shared), and hyphenation
 * of one word with it (thread-safe). */
typedef struct hy_dict hy_dict;
const hy_dict *ts_hy_dict(ts_ctx *ctx, const char *lang);
/* The same with a status: TS_ERR_NOMEM when the dictionary could not be
 * loaded or kept for want of memory (*out NULL), else TS_OK (*out NULL when
 * the language has none). */
ts_status ts_hy_dict_get(ts_ctx *ctx, const char *lang, const hy_dict **out);
/* Starts loading lang's dictionary in a thread (once per context) so that
 * it overlaps the font look-ups of the first paragraph; ts_hy_dict then
 * finds it loaded (or waits for it). */
void ts_hy_prefetch(ts_ctx *ctx, const char *lang);
size_t ts_hy_word(const hy_dict *h, const char *word, size_t len, int leftmin, int rightmin,
                  size_t *pos, size_t max);
/* Empties every dictionary's memo of hyphenated words, giving its memory
 * back (ts_text_cache_clear); the dictionaries stay loaded. */
void ts_hy_memo_clear(ts_ctx *ctx);

#endif
