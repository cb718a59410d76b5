/* page_prewarm.c — the paragraphs' words shaped ahead, on a core of their own.
 *
 * A paragraph's words are shaped through the shared word cache and
 * hyphenated through the shared hyphenation memo (text/para.c,
 * text/hyphen.c), both of which give exactly what a miss computes.  When a
 * document is laid out with a second core to spare, this thread walks the
 * document's title block (title, subtitle, authors, abstract), then its
 * paragraphs, headings, table cells and captions in order (not the
 * footnotes, which the builder sets first of all), and creates each
 * one in the block style the builder will give it (plain, italic and bold
 * as marked; no footnote marks, code or alt text) and throws it away: by the time the page builder reaches a paragraph, most
 * of its words are in the caches, and the builder's own shaping of them is
 * a copy.  Words the builder sets otherwise (another role's face, small
 * capitals) are simply misses there.  So the output never depends on this
 * thread — only how soon it is ready (a fresh paper: a fifth less work on
 * the main thread).  The thread stops at the next paragraph once the
 * layout is done; nothing it made outlives it. */
#include "page_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct pg_prewarm {
  ts_ctx *ctx;
  const ts_doc *doc;
  const ts_style *st;
  const char *lang;
  atomic_int stop;
  pthread_t thread;
};

/* Paragraphs prewarmed at most: a fresh paper's are worth it; deep in a
 * long book nearly every word is in the cache already and the thread would
 * only repeat the itemising the builder does anyway. */
#define PREWARM_MAX_PARAS 256

/* 1 when text holds a character from U+0590 on (Hebrew, Arabic, Indic, CJK
 * ...) other than punctuation, symbols and Latin ligatures: such runs are
 * shaped whole, not word by word through the cache (text/para.c), so
 * shaping them here would be work done twice. */
static int beyond_greek(const char *text, size_t len) {
  for (size_t i = 0; i < len;) {
    unsigned char c = (unsigned char)text[i];
    if (c < 0x80) { i++; continue; }
    uint32_t cp;
    size_t l = ts_utf8_decode(text + i, len - i, &cp);
    i += l ? l : 1;
    if (cp >= 0x590 && !(cp >= 0x2000 && cp < 0x2C00) && !(cp >= 0xFB00 && cp <= 0xFB06))
      return 1;
  }
  return 0;
}

/* Spans of paragraph par's text (arena a); returns the count, 0 on OOM or
 * when the paragraph is not worth it (see beyond_greek). */
static size_t par_spans(const ts_node *par, const ts_block_style *bs, ts_arena *a,
                        ts_span **out) {
  size_t n = 0, cap = 0;
  ts_span *v = NULL;
  ts_iter it;
  ts_iter_init(&it, (ts_node *)par);
  ts_node *nd;
  int entering, emph = 0, strong = 0;
  while ((nd = ts_iter_next(&it, &entering))) {
    if (nd == par) continue;
    if (nd->type == TS_NODE_EMPH) { emph += entering ? 1 : -1; continue; }
    if (nd->type == TS_NODE_STRONG) { strong += entering ? 1 : -1; continue; }
    if (!entering) continue;
    const char *text = NULL;
    size_t len = 0;
    if (nd->type == TS_NODE_TEXT) text = nd->text, len = nd->len;
    else if (nd->type == TS_NODE_SOFTBREAK) text = " ", len = 1;
    else if (ts_node_is_block(nd->type)) ts_iter_skip(&it);
    if (!text || len == 0) continue;
    if (beyond_greek(text, len)) return 0;
    if (n == cap) {
      size_t nc = cap ? 2 * cap : 16;
      ts_span *nv = ts_arena_alloc(a, nc * sizeof *nv);
      if (!nv) return 0;
      if (n) memcpy(nv, v, n * sizeof *nv);
      v = nv;
      cap = nc;
    }
    ts_span *sp = &v[n++];
    *sp = pg_span_style(bs, text, len);
    sp->bold = bs->bold || strong > 0;
    sp->italic = bs->italic ^ (emph & 1);
  }
  *out = v;
  return n;
}

/* The block style the builder sets node in (a paragraph by its nearest
 * container, a heading by its level, a table cell by its table, bold in a
 * header row, a figure's caption); NULL for other nodes. */
static const ts_block_style *style_of(const ts_style *st, const ts_node *n, ts_block_style *tmp) {
  if (n->type == TS_NODE_HEADING)
    return &st->h[n->level < 1 ? 0 : n->level > 6 ? 5 : n->level - 1].b;
  if (n->type == TS_NODE_TABLE_CELL) {
    *tmp = st->table;
    if (n->parent && n->parent->header) tmp->bold = 1;
    return tmp;
  }
  if (n->type == TS_NODE_FIGURE) return &st->caption;
  if (n->type != TS_NODE_PARAGRAPH) return NULL;
  for (const ts_node *a = n->parent; a; a = a->parent) {
    if (a->type == TS_NODE_ITEM) return &st->list;
    if (a->type == TS_NODE_BLOCKQUOTE) return &st->quote;
  }
  return &st->body;
}

/* One string of the first page in block style bs, as its own paragraph. */
static void warm_text(pg_prewarm *w, const ts_para_opts *o, ts_arena *a, ts_diag *quiet,
                      const ts_block_style *bs, const char *text) {
  if (!text || !*text || bs->uppercase || beyond_greek(text, strlen(text))) return;
  ts_span sp = pg_span_style(bs, text, strlen(text));
  ts_para *p = NULL;
  if (ts_text_para_create(w->ctx, a, &sp, 1, o, quiet, &p) == TS_OK) ts_text_para_destroy(p);
}

static void *prewarm_main(void *arg) {
  pg_prewarm *w = arg;
  ts_arena *a = ts_arena_create(0);
  ts_cp_set *seen = a ? ts_cp_set_create(a) : NULL;
  ts_fontsets *fsets = ts_fontsets_create();
  if (!seen || !fsets) goto done;
  ts_diag quiet; /* every message is the builder's to give */
  ts_diag_init(&quiet, NULL);
  ts_para_opts o;
  memset(&o, 0, sizeof o);
  o.style = w->st;
  o.lang = w->lang;
  o.base_rtl = -1;
  o.mode = TS_LB_JUSTIFY;
  o.hyphenate = w->st->hyphenate;
  o.file = w->doc->path;
  o.reported = seen;
  o.fontsets = fsets;
  /* the first page's title block first: the builder sets the footnotes
   * before it, this thread has that long */
  const ts_meta *m = &w->doc->meta;
  warm_text(w, &o, a, &quiet, &w->st->title, m->title);
  warm_text(w, &o, a, &quiet, &w->st->subtitle, m->subtitle);
  for (size_t i = 0; i < m->n_authors && !atomic_load(&w->stop); i++)
    warm_text(w, &o, a, &quiet, &w->st->author, m->authors[i].name);
  warm_text(w, &o, a, &quiet, &w->st->abstract, m->abstract_text);
  ts_iter it;
  ts_iter_init(&it, w->doc->root);
  ts_node *nd;
  int entering;
  size_t done = 0;
  while (done < PREWARM_MAX_PARAS && (nd = ts_iter_next(&it, &entering)) &&
         !atomic_load(&w->stop)) {
    /* footnotes are set before anything else (pg_build_notes): the builder
     * is there before this thread could be */
    if (entering && nd->type == TS_NODE_FOOTNOTE_DEF) {
      ts_iter_skip(&it);
      continue;
    }
    ts_block_style tmp;
    const ts_block_style *bs = entering ? style_of(w->st, nd, &tmp) : NULL;
    if (!bs) continue;
    done++;
    ts_span *sp = NULL;
    size_t n = bs->uppercase ? 0 : par_spans(nd, bs, a, &sp);
    ts_para *p = NULL;
    if (n && ts_text_para_create(w->ctx, a, sp, n, &o, &quiet, &p) == TS_OK)
      ts_text_para_destroy(p);
    ts_iter_skip(&it); /* its inlines were read above */
  }
done:
  ts_fontsets_destroy(fsets);
  ts_arena_destroy(a);
  return NULL;
}

pg_prewarm *pg_prewarm_start(ts_ctx *ctx, const ts_doc *doc, const ts_style *st,
                             const char *lang) {
  if (ts_ctx_threads(ctx) < 2) return NULL;
  pg_prewarm *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->ctx = ctx;
  w->doc = doc;
  w->st = st;
  w->lang = lang;
  atomic_init(&w->stop, 0);
  if (pthread_create(&w->thread, NULL, prewarm_main, w) != 0) {
    free(w);
    return NULL;
  }
  return w;
}

void pg_prewarm_stop(pg_prewarm *w) {
  if (!w) return;
  atomic_store(&w->stop, 1);
  pthread_join(w->thread, NULL);
  free(w);
}

void pg_prewarm_finish(pg_prewarm *w) {
  if (!w) return;
  pthread_join(w->thread, NULL);
  free(w);
}
