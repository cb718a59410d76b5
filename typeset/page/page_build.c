/* page_build.c — the document's blocks as a vertical list: paragraphs set by
 * the text engine become line boxes separated by interline penalties
 * (widows, orphans, broken lines: The TeXbook ch. 14, TeX: The Program
 * §890); blocks are separated by glue that may stretch a little, and a
 * heading keeps the next lines with it by making the breaks between them
 * illegal.  Containers (lists, quotes) are walked with ts_iter and an
 * explicit stack, never by recursion. */
#include "page_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ustring.h>

/* ---- small helpers ----------------------------------------------------- */

void pg_fail(pg_builder *b, ts_status st) {
  if (st != TS_OK && b->err == TS_OK) b->err = st;
}

pg_box *pg_box_new(ts_arena *a) { return ts_arena_alloc(a, sizeof(pg_box)); }

/* Appends a zeroed element to an arena-grown array (*data, *n, *cap), first
 * sized for `first` elements; NULL on OOM.  The old block stays in the
 * arena (no realloc). */
static void *arena_push(ts_arena *a, void **data, size_t *n, size_t *cap, size_t elem,
                        size_t first) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : first;
    void *nd = nc <= SIZE_MAX / elem ? ts_arena_alloc(a, nc * elem) : NULL;
    if (!nd) return NULL;
    if (*n) memcpy(nd, *data, *n * elem);
    *data = nd;
    *cap = nc;
  }
  void *e = (char *)*data + (*n)++ * elem;
  memset(e, 0, elem);
  return e;
}

/* Makes room for `need` more elements of an arena-grown array: exactly that
 * many when it has none yet (a line box knows its draws), else doubling.
 * 0 on OOM. */
static int arena_reserve(ts_arena *a, void **data, size_t n, size_t *cap, size_t elem,
                         size_t need) {
  if (*cap - n >= need) return 1;
  size_t nc = *cap ? *cap * 2 : need;
  if (nc < n + need) nc = n + need;
  void *nd = nc <= SIZE_MAX / elem ? ts_arena_alloc(a, nc * elem) : NULL;
  if (!nd) return 0;
  if (n) memcpy(nd, *data, n * elem);
  *data = nd;
  *cap = nc;
  return 1;
}

ts_draw *pg_box_draw(ts_arena *a, pg_box *bx) {
  return arena_push(a, (void **)&bx->draws, &bx->n_draws, &bx->cap_draws,
                    sizeof *bx->draws, 8);
}

pg_vitem *pg_vlist_push(ts_arena *a, pg_vlist *v) {
  return arena_push(a, (void **)&v->items, &v->n, &v->cap, sizeof *v->items, 256);
}

static ts_draw *draw(pg_builder *b, pg_box *bx, int kind) {
  ts_draw *dr = pg_box_draw(b->galley, bx);
  if (!dr) {
    pg_fail(b, TS_ERR_NOMEM);
    return NULL;
  }
  dr->kind = (uint8_t)kind;
  return dr;
}

void pg_emit_box(pg_builder *b, pg_box *bx) {
  pg_vitem *it = pg_vlist_push(b->galley, b->v);
  if (!it) {
    pg_fail(b, TS_ERR_NOMEM);
    return;
  }
  it->kind = PG_V_BOX;
  it->box = bx;
  if (b->keep > 0) b->keep--;
  b->have_block = 1;
}

void pg_emit_penalty(pg_builder *b, double p, int eject_page) {
  if (b->keep > 0 && p > PG_EJECT_PENALTY) p = PG_INF_PENALTY;
  pg_vitem *it = pg_vlist_push(b->galley, b->v);
  if (!it) {
    pg_fail(b, TS_ERR_NOMEM);
    return;
  }
  it->kind = PG_V_PENALTY;
  it->penalty = p;
  it->eject_page = (uint8_t)eject_page;
}

static void emit_glue(pg_builder *b, double w, double stretch, double shrink) {
  if (b->keep > 0) pg_emit_penalty(b, PG_INF_PENALTY, 0); /* glue after a penalty cannot break */
  pg_vitem *it = pg_vlist_push(b->galley, b->v);
  if (!it) {
    pg_fail(b, TS_ERR_NOMEM);
    return;
  }
  it->kind = PG_V_GLUE;
  it->w = w;
  it->stretch = stretch;
  it->shrink = shrink;
}

/* Space between blocks: the larger of the previous block's space after and
 * this block's space before (collapsed, as adjacent CSS margins), as glue
 * that may stretch by a quarter plus 1pt (plain TeX's \parskip is 0pt plus
 * 1pt) and shrink by a tenth.  No stretch on a baseline grid. */
void pg_space(pg_builder *b, double before) {
  double w = b->pend_space > before ? b->pend_space : before;
  b->pend_space = 0;
  if (!b->have_block) return;
  int grid = b->st->baseline_grid && !b->no_grid;
  emit_glue(b, w, grid ? 0 : 0.25 * w + 1.0, grid ? 0 : 0.1 * w);
}

void pg_space_after(pg_builder *b, double after) {
  if (after > b->pend_space) b->pend_space = after;
}

/* An empty box holding space that must survive a page break (a chapter's
 * sink, space above a title). */
static void strut_space(pg_builder *b, double h) {
  if (h <= 0) return;
  pg_box *bx = pg_box_new(b->galley);
  if (!bx) {
    pg_fail(b, TS_ERR_NOMEM);
    return;
  }
  bx->h = h;
  bx->kind = PG_BOX_OTHER;
  pg_emit_box(b, bx);
}

const char *pg_upper(pg_builder *b, const char *s, size_t *len) {
  UErrorCode e = U_ZERO_ERROR;
  int32_t n16 = 0;
  size_t n = *len;
  if (n > 1 << 20) return s;
  u_strFromUTF8(NULL, 0, &n16, s, (int32_t)n, &e);
  if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e)) return s;
  e = U_ZERO_ERROR;
  UChar *u = ts_arena_alloc(b->a, (size_t)(n16 + 1) * sizeof(UChar));
  UChar *up = ts_arena_alloc(b->a, (size_t)(n16 * 3 + 1) * sizeof(UChar));
  if (!u || !up) {
    pg_fail(b, TS_ERR_NOMEM);
    return s;
  }
  u_strFromUTF8(u, n16 + 1, NULL, s, (int32_t)n, &e);
  if (U_FAILURE(e)) return s;
  int32_t nu = u_strToUpper(up, n16 * 3 + 1, u, n16, b->lang, &e);
  if (U_FAILURE(e)) return s;
  int32_t n8 = 0;
  u_strToUTF8(NULL, 0, &n8, up, nu, &e);
  if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e)) return s;
  e = U_ZERO_ERROR;
  char *out = ts_arena_alloc(b->a, (size_t)n8 + 1);
  if (!out) {
    pg_fail(b, TS_ERR_NOMEM);
    return s;
  }
  u_strToUTF8(out, n8 + 1, NULL, up, nu, &e);
  if (U_FAILURE(e)) return s;
  *len = (size_t)n8;
  return out;
}

ts_span pg_span_style(const ts_block_style *bs, const char *text, size_t len) {
  ts_span sp;
  memset(&sp, 0, sizeof sp);
  sp.text = text ? text : "";
  sp.len = text ? len : 0;
  sp.role = bs->role;
  sp.bold = bs->bold;
  sp.italic = bs->italic;
  sp.smallcaps = bs->smallcaps;
  sp.size = bs->size;
  sp.color = bs->color;
  return sp;
}

ts_span pg_span_plain(const pg_builder *b, const ts_block_style *bs, const char *text) {
  ts_span sp = pg_span_style(bs, text, text ? strlen(text) : 0);
  if (bs->uppercase && sp.len) sp.text = pg_upper((pg_builder *)b, sp.text, &sp.len);
  return sp;
}

ts_para_opts pg_para_opts(const pg_builder *b, ts_lb_mode mode, double indent, int hyph) {
  ts_para_opts o;
  memset(&o, 0, sizeof o);
  o.style = b->st;
  o.lang = b->lang;
  o.base_rtl = -1;
  o.mode = mode;
  o.indent = indent;
  o.hyphenate = hyph;
  o.file = b->doc->path;
  o.reported = b->reported;
  o.fontsets = b->fontsets;
  /* margin kerning (pdfTeX's protrusion) in justified text: punctuation
   * and hyphens hang slightly into the margin so the edges look straight */
  o.protrusion = mode == TS_LB_JUSTIFY;
  return o;
}

int pg_line(pg_builder *b, const ts_span *spans, size_t n, ts_line *out) {
  memset(out, 0, sizeof *out);
  if (b->err) return 0;
  ts_para_opts o = pg_para_opts(b, TS_LB_RAGGED, 0, 0);
  ts_status st = ts_text_line(b->ctx, b->a, spans, n, &o, b->d, out);
  if (st != TS_OK) {
    pg_fail(b, st);
    return 0;
  }
  return 1;
}

void pg_line_extent(const ts_line *ln, double *x0, double *x1) {
  double lo = 1e30, hi = -1e30;
  for (uint32_t i = 0; i < ln->n; i++) {
    const ts_run *r = &ln->runs[i];
    if (r->n == 0 && r->width == 0) continue;
    if (r->x < lo) lo = r->x;
    if (r->x + r->width > hi) hi = r->x + r->width;
  }
  if (lo > hi) lo = hi = 0;
  *x0 = lo;
  *x1 = hi;
}

static double line_width(const ts_line *ln) {
  double x0, x1;
  pg_line_extent(ln, &x0, &x1);
  return x1 > 0 ? x1 : 0;
}

/* Draws pg_draw_line adds for ln (at most: adjacent links merge). */
static size_t line_draws(const ts_line *ln) {
  size_t k = 0;
  for (uint32_t i = 0; i < ln->n; i++) {
    const ts_run *r = &ln->runs[i];
    k += (r->n > 0) + (r->strike && r->width > 0) + (r->link && r->link[0] && r->width > 0);
  }
  return k;
}

static int reserve_draws(pg_builder *b, pg_box *bx, size_t need) {
  if (arena_reserve(b->galley, (void **)&bx->draws, bx->n_draws, &bx->cap_draws, sizeof *bx->draws,
                    need))
    return 1;
  pg_fail(b, TS_ERR_NOMEM);
  return 0;
}

void pg_draw_line(pg_builder *b, pg_box *bx, const ts_line *ln, double x, double y) {
  ts_draw *link = NULL;
  if (!reserve_draws(b, bx, line_draws(ln))) return;
  const char *link_of = NULL;
  for (uint32_t i = 0; i < ln->n; i++) {
    const ts_run *r = &ln->runs[i];
    if (r->n > 0) {
      ts_draw *g = draw(b, bx, TS_DRAW_GLYPHS);
      if (!g) return;
      g->x = x + r->x;
      g->y = y + r->dy;
      g->color = r->color;
      g->run = r;
    }
    if (r->strike && r->width > 0) {
      ts_draw *s = draw(b, bx, TS_DRAW_RULE);
      if (!s) return;
      s->x = x + r->x;
      s->y = y + r->dy + 0.26 * r->size;
      s->w = r->width;
      s->lw = 0.05 * r->size;
      s->color = r->color;
    }
    if (r->link && r->link[0] && r->width > 0) {
      double lx = x + r->x;
      if (link && link_of && !strcmp(link_of, r->link) &&
          fabs(link->x + link->w - lx) < 0.5 * r->size) {
        link->w = lx + r->width - link->x;
      } else {
        ts_draw *l = draw(b, bx, TS_DRAW_LINK);
        if (!l) return;
        l->x = lx;
        l->y = y - 0.25 * r->size;
        l->w = r->width;
        l->h = 1.15 * r->size;
        if (r->link[0] == '#') l->dest = r->link + 1;
        else l->uri = r->link;
        link = l;
        link_of = r->link;
      }
    }
  }
}

/* ---- spans from inlines ------------------------------------------------- */

typedef struct spanv {
  ts_span *s;
  size_t n, cap;
  ts_arena *a; /* where the array grows; NULL: the galley */
} spanv;

/* arena_push that marks the builder failed on OOM */
static void *apush(pg_builder *b, void **data, size_t *n, size_t *cap, size_t elem) {
  void *e = arena_push(b->galley, data, n, cap, elem, 16);
  if (!e) pg_fail(b, TS_ERR_NOMEM);
  return e;
}

static ts_span *spush(pg_builder *b, spanv *v) {
  /* most paragraphs have a few spans: start small (the arena keeps the
   * blocks a growing array leaves) */
  ts_span *e = arena_push(v->a ? v->a : b->galley, (void **)&v->s, &v->n, &v->cap,
                          sizeof *v->s, 4);
  if (!e) pg_fail(b, TS_ERR_NOMEM);
  return e;
}

/* Spans of node's inlines in style bs.  EMPH toggles italic (emphasis inside
 * italic text is set upright), STRONG is bold, CODE is the mono role and
 * never hyphenated, LINK carries its url ("#id" for internal targets),
 * FOOTNOTE_REF becomes a superscript mark linked to "#fn-N", SOFTBREAK a
 * space, LINEBREAK a span with text == NULL (a forced break), IMAGE its alt
 * text. */
static void inline_spans(pg_builder *b, const ts_node *parent, const ts_block_style *bs,
                         int bold, spanv *out) {
  ts_iter it;
  ts_iter_init(&it, (ts_node *)parent);
  ts_node *n;
  int entering;
  int emph = 0, strong = 0, strike = 0;
  const char **links = NULL;
  size_t n_links = 0, cap_links = 0;
  while ((n = ts_iter_next(&it, &entering))) {
    if (n == parent) continue;
    if (!entering) {
      switch (n->type) {
      case TS_NODE_EMPH: emph--; break;
      case TS_NODE_STRONG: strong--; break;
      case TS_NODE_STRIKE: strike--; break;
      case TS_NODE_LINK: if (n_links) n_links--; break;
      default: break;
      }
      continue;
    }
    ts_span *sp = NULL;
    switch (n->type) {
    case TS_NODE_EMPH: emph++; continue;
    case TS_NODE_STRONG: strong++; continue;
    case TS_NODE_STRIKE: strike++; continue;
    case TS_NODE_LINK:
      if (n_links == cap_links) {
        size_t nc = cap_links ? cap_links * 2 : 8;
        const char **nl = ts_arena_alloc(b->a, nc * sizeof *nl);
        if (!nl) { pg_fail(b, TS_ERR_NOMEM); return; }
        if (n_links) memcpy(nl, links, n_links * sizeof *nl);
        links = nl;
        cap_links = nc;
      }
      links[n_links++] = n->url;
      if (!n->first) ts_iter_skip(&it);
      continue;
    case TS_NODE_TEXT:
    case TS_NODE_CODE:
      if (!n->text || n->len == 0) continue;
      sp = spush(b, out);
      if (!sp) return;
      sp->text = n->text;
      sp->len = n->len;
      sp->model_text = 1;
      /* the language of the nearest span that gives one ([text]{lang=de}) */
      for (const ts_node *a = n->parent; a && a != parent && !sp->lang; a = a->parent)
        if (a->type == TS_NODE_SPAN && a->lang && a->lang[0]) sp->lang = a->lang;
      break;
    case TS_NODE_IMAGE: {
      /* an image in running text is set as its alt text, but its file must
       * still be a safe one (the EPUB embeds it): same rule as figures */
      const char *why = NULL;
      char *rp = ts_path_resolve_inside(b->doc->dir ? b->doc->dir : ".", n->url ? n->url : "",
                                        NULL, 0, &why);
      if (!rp && why == ts_why_nomem) {
        pg_fail(b, TS_ERR_NOMEM);
        return;
      }
      if (!rp) {
        ts_diag_report(b->d, TS_ERROR, b->doc->path, n->line, n->col, "image '%s': %s",
                       n->url ? n->url : "", why ? why : "cannot be resolved");
        pg_fail(b, TS_ERR_INPUT);
        return;
      }
      free(rp);
      if (!n->alt || !n->alt[0]) continue;
      sp = spush(b, out);
      if (!sp) return;
      sp->text = n->alt;
      sp->len = strlen(n->alt);
      break;
    }
    case TS_NODE_SOFTBREAK:
      sp = spush(b, out);
      if (!sp) return;
      sp->text = " ";
      sp->len = 1;
      break;
    case TS_NODE_LINEBREAK:
      sp = spush(b, out);
      if (!sp) return;
      sp->text = NULL; /* forced break */
      continue;
    case TS_NODE_FOOTNOTE_REF: {
      sp = spush(b, out);
      if (!sp) return;
      sp->text = ts_arena_printf(b->a, "%d", n->number);
      sp->link = ts_arena_printf(b->a, "#fn-%d", n->number);
      if (!sp->text || !sp->link) { pg_fail(b, TS_ERR_NOMEM); return; }
      sp->len = strlen(sp->text);
      sp->note = n->number;
      sp->script_pos = 1;
      sp->no_break = 1;
      break;
    }
    default:
      if (ts_node_is_block(n->type)) ts_iter_skip(&it);
      continue;
    }
    sp->role = n->type == TS_NODE_CODE ? TS_ROLE_MONO : bs->role;
    sp->bold = bs->bold || bold || strong > 0;
    sp->italic = bs->italic ^ (emph & 1);
    sp->smallcaps = bs->smallcaps;
    /* DejaVu-like monospace faces look a size larger than a book face */
    sp->size = n->type == TS_NODE_CODE ? bs->size * 0.88 : bs->size;
    sp->color = bs->color;
    sp->strike = strike > 0;
    sp->line = n->line;
    sp->col = n->col;
    if (n->type == TS_NODE_CODE) sp->no_hyphen = 1;
    if (!sp->note && n_links) {
      sp->link = links[n_links - 1];
      if (sp->link && sp->link[0] != '#') {
        sp->no_hyphen = sp->no_hyphen || sp->role == TS_ROLE_MONO;
        if (b->st->link_color != b->st->text_color) sp->color = b->st->link_color;
      }
    }
    if (bs->uppercase && sp->text && sp->len && !sp->note) {
      sp->text = pg_upper(b, sp->text, &sp->len);
      sp->model_text = 0; /* a copy */
    }
  }
}

void pg_inline_spans(pg_builder *b, const ts_node *n, const ts_block_style *bs,
                     ts_span **spans, size_t *n_spans) {
  spanv v = {0};
  inline_spans(b, n, bs, 0, &v);
  *spans = v.s;
  *n_spans = v.n;
}

/* ---- paragraphs --------------------------------------------------------- */

static ts_lb_mode mode_of(ts_align a) {
  switch (a) {
  case TS_JUSTIFY: return TS_LB_JUSTIFY;
  case TS_CENTER: return TS_LB_CENTER;
  default: return TS_LB_RAGGED;
  }
}

/* Offset that aligns a line's material in the measure: the engine places
 * runs from the left edge; centred and right-aligned lines move here. */
static double align_offset(const ts_line *ln, ts_align al, double measure) {
  if (al != TS_CENTER && al != TS_RAGGED_LEFT) return 0;
  double x0, x1;
  pg_line_extent(ln, &x0, &x1);
  if (al == TS_CENTER) return (measure - (x1 - x0)) / 2 - x0;
  return measure - x1;
}

static double min_measure(const pg_builder *b) {
  double m = 0.35 * b->col_w;
  return m < 24 ? 24 : m;
}

/* Interline penalty after line k (1-based) of n: TeX's \clubpenalty and
 * \widowpenalty become prohibitions when the style asks for at least
 * `orphans` lines at a page foot and `widows` at a page top (§890 adds
 * them; a prohibition lets the page builder fall back only when no legal
 * break fits a frame); \brokenpenalty after a hyphenated line. */
static double interline(const pg_builder *b, size_t k, size_t n, int hyph, int wo) {
  double p = 0;
  if (wo) {
    int orphans = b->st->orphans > 0 ? b->st->orphans : 1;
    int widows = b->st->widows > 0 ? b->st->widows : 1;
    if (k < (size_t)orphans) p = PG_INF_PENALTY;
    if (n - k < (size_t)widows) p = PG_INF_PENALTY;
  }
  if (hyph && p < PG_INF_PENALTY) p += b->st->brk.brokenpenalty;
  return p;
}

void pg_note_ref(pg_builder *b, pg_box *bx, int number, double x) {
  if (b->in_notes || number < 1 || (size_t)number > b->n_notes) return;
  if (b->note_seen[number - 1]) return;
  b->note_seen[number - 1] = 1;
  int *nn = ts_arena_alloc(b->galley, (bx->n_notes + 1) * sizeof(int));
  ts_draw *dd = draw(b, bx, TS_DRAW_DEST);
  if (!nn || !dd) {
    pg_fail(b, TS_ERR_NOMEM);
    return;
  }
  if (bx->n_notes) memcpy(nn, bx->notes, bx->n_notes * sizeof(int));
  nn[bx->n_notes++] = number;
  bx->notes = nn;
  dd->x = x;
  dd->y = bx->h;
  dd->dest = ts_arena_printf(b->a, "fnref-%d", number);
  if (!dd->dest) pg_fail(b, TS_ERR_NOMEM);
}

typedef struct linev {
  const ts_line **l;
  size_t n, cap;
} linev;

/* a paragraph's lines while its boxes are made: owned (free(v->l)) */
static int lpush(pg_builder *b, linev *v, const ts_line *ln) {
  if (v->n == v->cap) {
    size_t nc = v->cap ? v->cap * 2 : 16;
    const ts_line **nl = realloc((void *)v->l, nc * sizeof *nl);
    if (!nl) {
      pg_fail(b, TS_ERR_NOMEM);
      return 0;
    }
    v->l = nl;
    v->cap = nc;
  }
  v->l[v->n++] = ln;
  return 1;
}

static const ts_line *empty_line(pg_builder *b) {
  ts_line *ln = ts_arena_alloc(b->a, sizeof *ln);
  if (!ln) pg_fail(b, TS_ERR_NOMEM);
  return ln;
}

/* The narrowest measure that sets a ragged paragraph in as many lines as
 * the full measure does (bisection on a probe paragraph that reports
 * nothing, so narrow trials raise no overfull warnings): a two-line title
 * then breaks near its middle instead of leaving one word on its last line.
 * Returns the measure, or -1 on failure (b->err set). */
static double balanced_measure(pg_builder *b, const ts_span *spans, size_t n,
                               const ts_para_opts *o, double measure, size_t nl) {
  ts_para *probe = NULL;
  ts_status st = ts_text_para_create(b->ctx, b->a, spans, n, o, NULL, &probe);
  if (st != TS_OK) {
    pg_fail(b, st);
    return -1;
  }
  double lo = measure / (double)nl, hi = measure;
  for (int it = 0; it < 14 && hi - lo > 0.5; it++) {
    double mid = (lo + hi) / 2;
    pg_widths w = {mid, mid};
    ts_line *ls = NULL;
    size_t k = 0;
    st = ts_text_para_lines(probe, pg_width_fn, &w, &ls, &k, NULL);
    if (st != TS_OK) {
      ts_text_para_destroy(probe);
      pg_fail(b, st);
      return -1;
    }
    int ok = k == nl;
    for (size_t i = 0; i < k && ok; i++) ok = !ls[i].overfull;
    if (ok) hi = mid;
    else lo = mid;
  }
  ts_text_para_destroy(probe);
  return hi + 0.5 < measure ? hi + 0.5 : measure;
}

static void para_body(pg_builder *b, const ts_span *spans, size_t n, const pg_para_fmt *f,
                      linev *lv) {
  if (b->err) return;
  const ts_block_style *bs = f->bs;
  double L = bs->leading > 0 ? bs->leading : bs->size * 1.2;
  double measure = b->col_w - f->left - f->right;
  if (measure < min_measure(b)) measure = min_measure(b);
  size_t seg = 0, i = 0;
  int first_seg = 1;
  /* segments between forced breaks */
  while (i <= n) {
    if (i < n && spans[i].text) {
      i++;
      continue;
    }
    size_t m = i - seg;
    if (m == 0) {
      if (i < n || first_seg) { /* an empty segment: a blank line */
        const ts_line *e = empty_line(b);
        if (!e || !lpush(b, lv, e)) return;
      }
    } else {
      ts_para_opts o = pg_para_opts(b, mode_of(f->align), first_seg ? f->indent : 0, f->hyphenate);
      if (f->lang) {
        o.lang = f->lang;
        o.lang_own = 1;
      }
      ts_para *p = NULL;
      ts_status st = ts_text_para_create(b->ctx, b->a, spans + seg, m, &o, b->d, &p);
      if (st != TS_OK) {
        pg_fail(b, st);
        return;
      }
      pg_widths w = {measure, measure};
      ts_line *ls = NULL;
      size_t nl = 0;
      st = ts_text_para_lines(p, pg_width_fn, &w, &ls, &nl, b->trace);
      if (st == TS_OK && f->balance && nl > 1 && f->align != TS_JUSTIFY && !f->last_width_cut) {
        double bw = balanced_measure(b, spans + seg, m, &o, measure, nl);
        if (bw >= 0 && bw < measure) {
          w.first = w.rest = bw;
          st = ts_text_para_lines(p, pg_width_fn, &w, &ls, &nl, NULL);
        }
      }
      ts_text_para_destroy(p); /* its lines are all it leaves */
      if (st != TS_OK) {
        pg_fail(b, st);
        return;
      }
      if (b->err) return;
      for (size_t k = 0; k < nl; k++)
        if (!lpush(b, lv, &ls[k])) return;
    }
    first_seg = 0;
    i++;
    seg = i;
  }
  /* boxes */
  for (size_t k = 0; k < lv->n; k++) {
    const ts_line *ln = lv->l[k];
    pg_box *bx = pg_box_new(b->galley);
    if (!bx) {
      pg_fail(b, TS_ERR_NOMEM);
      return;
    }
    bx->h = PG_STRUT_H * L;
    bx->d = PG_STRUT_D * L;
    if (ln->ascent > bx->h + 0.3 * L) bx->h = ln->ascent;
    bx->kind = f->kind;
    bx->grid = f->grid;
    bx->para = b->para_id;
    bx->para_line = (int)k;
    bx->para_lines = (int)lv->n;
    double x = f->left + align_offset(ln, f->align, measure);
    size_t need = line_draws(ln);
    for (uint32_t r = 0; r < ln->n; r++) need += ln->runs[r].note > 0;
    if (k == 0) need += (f->label ? line_draws(f->label) : 0) + (f->dest != NULL);
    if (!reserve_draws(b, bx, need)) return;
    pg_draw_line(b, bx, ln, x, 0);
    for (uint32_t r = 0; r < ln->n; r++)
      if (ln->runs[r].note > 0) pg_note_ref(b, bx, ln->runs[r].note, x + ln->runs[r].x);
    if (k == 0 && f->label) {
      double lw = line_width(f->label);
      pg_draw_line(b, bx, f->label, f->label_x - lw, 0);
    }
    if (k == 0 && f->dest) {
      ts_draw *dd = draw(b, bx, TS_DRAW_DEST);
      if (!dd) return;
      dd->x = f->left;
      dd->y = bx->h;
      dd->dest = f->dest;
    }
    if (ln->overfull) b->n_overfull++; /* the text engine reports it */
    b->n_lines++;
    if (k > 0) pg_emit_penalty(b, interline(b, k, lv->n, lv->l[k - 1]->hyphenated, f->widows), 0);
    pg_emit_box(b, bx);
    if (k == 0 && f->first_box) *f->first_box = bx;
    if (f->last_box) *f->last_box = bx;
  }
  b->para_id++;
}

void pg_para(pg_builder *b, const ts_span *spans, size_t n, const pg_para_fmt *f) {
  linev lines = {0};
  para_body(b, spans, n, f, &lines);
  free((void *)lines.l);
}

/* ---- blocks ------------------------------------------------------------- */

typedef struct cframe {
  const ts_node *node;
  double left, right;
  const ts_block_style *bs; /* paragraph style inside */
  int list_level;
  int ordered, number, tight;
  char delim;
  int label_pending;
  const ts_line *label;
  double label_x;
  double hang;              /* LIST: hanging indent of its items */
} cframe;

typedef struct cstack {
  cframe *f;
  size_t n, cap;
} cstack;

static cframe *cpush(pg_builder *b, cstack *s) {
  return apush(b, (void **)&s->f, &s->n, &s->cap, sizeof *s->f);
}

/* Insets that nest no further once the measure would fall below the minimum
 * (2,000 nested quotes keep a readable measure). */
static void inset(const pg_builder *b, const cframe *parent, double dl, double dr,
                  double *l, double *r) {
  *l = parent->left;
  *r = parent->right;
  if (b->col_w - parent->left - parent->right - dl - dr >= min_measure(b) + 0.5) {
    *l += dl;
    *r += dr;
  }
}

static int is_body_style(const pg_builder *b, const ts_block_style *bs) {
  return bs == &b->st->body || bs == &b->st->list;
}

/* The label of the current item, drawn alone on a line when its first block
 * is not a paragraph. */
static void label_line(pg_builder *b, cframe *top) {
  if (!top->label_pending) return;
  top->label_pending = 0;
  if (!top->label) return;
  const ts_block_style *bs = top->bs;
  double L = bs->leading > 0 ? bs->leading : bs->size * 1.2;
  pg_box *bx = pg_box_new(b->galley);
  if (!bx) {
    pg_fail(b, TS_ERR_NOMEM);
    return;
  }
  bx->h = PG_STRUT_H * L;
  bx->d = PG_STRUT_D * L;
  bx->kind = PG_BOX_LINE;
  pg_draw_line(b, bx, top->label, top->label_x - line_width(top->label), 0);
  pg_emit_box(b, bx);
  pg_emit_penalty(b, PG_INF_PENALTY, 0);
}

static void heading_block(pg_builder *b, const ts_node *n) {
  int level = n->level < 1 ? 1 : n->level > 6 ? 6 : n->level;
  const ts_heading_style *hs = &b->st->h[level - 1];
  const ts_block_style *bs = &hs->b;
  /* numbering */
  b->heading_num[level - 1]++;
  for (int k = level; k < 6; k++) b->heading_num[k] = 0;
  spanv sp = {0};
  if (hs->numbered) {
    ts_buf nb;
    ts_buf_init(&nb);
    int started = 0;
    for (int k = 0; k < level; k++) {
      if (!started && b->heading_num[k] == 0) continue;
      if (started) ts_buf_putc(&nb, '.');
      ts_buf_printf(&nb, "%d", b->heading_num[k]);
      started = 1;
    }
    ts_buf_puts(&nb, "\xE2\x80\x82"); /* en space */
    ts_span *s = spush(b, &sp);
    if (s && !nb.oom && nb.len) {
      *s = pg_span_plain(b, bs, ts_arena_strndup(b->a, nb.data, nb.len));
      if (!s->text) pg_fail(b, TS_ERR_NOMEM);
    } else {
      pg_fail(b, TS_ERR_NOMEM);
    }
    ts_buf_free(&nb);
  }
  inline_spans(b, n, bs, 0, &sp);
  if (b->err) return;
  const char *id = n->id;
  if (!id || !id[0]) id = ts_arena_printf(b->a, "h-%u-%u", n->line, n->col);
  if (!id) { pg_fail(b, TS_ERR_NOMEM); return; }

  if (hs->page_break_before && b->v == &b->main) {
    pg_emit_penalty(b, PG_EJECT_PENALTY, 1);
    b->pend_space = 0;
    strut_space(b, bs->space_before); /* a chapter's sink survives the break */
  } else {
    /* a good place for a break: before a heading (plain TeX's \beginsection
     * uses \penalty-250 the same way) */
    if (b->have_block) pg_emit_penalty(b, -100, 0);
    pg_space(b, bs->space_before);
  }
  pg_box *first = NULL;
  int keep_before = b->keep;
  b->keep = 1 << 20; /* the heading's own lines never split */
  pg_para_fmt f;
  memset(&f, 0, sizeof f);
  f.bs = bs;
  f.align = bs->align;
  f.kind = PG_BOX_HEADING;
  f.dest = id;
  f.lang = n->lang;
  f.first_box = &first;
  f.balance = 1;
  pg_para(b, sp.s, sp.n, &f);
  (void)keep_before;
  b->keep = hs->keep_with_next > 0 ? hs->keep_with_next : 1;
  pg_space_after(b, bs->space_after);
  b->prev_para = 0;

  /* outline and anchors */
  ts_buf t;
  ts_buf_init(&t);
  ts_node_plain_text(n, &t);
  ts_outline_entry *oe = ts_vec_push(b->a, &b->outline);
  pg_anchor *an = ts_vec_push(b->a, &b->anchors);
  if (!oe || !an || t.oom) {
    ts_buf_free(&t);
    pg_fail(b, TS_ERR_NOMEM);
    return;
  }
  oe->title = ts_arena_strndup(b->a, t.data ? t.data : "", t.len);
  oe->level = level;
  oe->dest = id;
  an->id = id;
  an->box = first;
  an->page = -1;
  if (first) first->anchor = (int)b->anchors.len;
  ts_buf_free(&t);
}


static void paragraph_block(pg_builder *b, const ts_node *n, cframe *top,
                            const ts_span *lead, size_t n_lead) {
  const ts_block_style *bs = top->bs;
  int body = is_body_style(b, bs) || bs == &b->st->quote;
  int in_tight = n->parent && n->parent->type == TS_NODE_ITEM && n->parent->parent &&
                 n->parent->parent->tight;
  double before = in_tight ? 0 : bs->space_before;

  if (b->prev_para && body) before += b->st->par_skip;
  if (in_tight && top->label_pending) before = 0;
  /* a paragraph that introduces the next block stays with it: a table's
   * caption set above it ("Table 1. …", unindented), or text ending in a
   * colon before a list, quote, code block or table */
  const ts_node *nx = n->next;
  int caption = ts_node_is_table_caption(n);
  int intro = 0;
  if (nx && (nx->type == TS_NODE_LIST || nx->type == TS_NODE_BLOCKQUOTE ||
             nx->type == TS_NODE_CODEBLOCK || nx->type == TS_NODE_TABLE)) {
    const ts_node *last = n->last;
    while (last && last->type != TS_NODE_TEXT && last->last) last = last->last;
    if (last && last->type == TS_NODE_TEXT && last->len && last->text[last->len - 1] == ':')
      intro = 1;
  }
  if (caption) {
    before += b->st->table.space_before;
    b->caption_start = b->v->n + 1;
  }
  pg_space(b, before);
  spanv sp = {0};
  sp.a = b->para_spans; /* cleared below, once pg_para has set the lines */
  for (size_t k = 0; k < n_lead; k++) {
    ts_span *s = spush(b, &sp);
    if (!s) return;
    *s = lead[k];
  }
  inline_spans(b, n, bs, 0, &sp);
  if (b->err) return;
  pg_para_fmt f;
  memset(&f, 0, sizeof f);
  f.bs = bs;
  f.left = top->left;
  f.right = top->right;
  f.align = bs->align;
  f.indent = (b->prev_para && body && !top->label_pending) ? bs->indent : 0;
  if (bs == &b->st->quote || bs == &b->st->list) /* indent of these = inset */
    f.indent = b->prev_para && !top->label_pending ? b->st->body.indent : 0;
  if (bs == &b->st->footnote) f.indent = top->label_pending ? 0 : bs->indent;
  f.hyphenate = b->st->hyphenate;
  f.widows = 1;
  f.kind = PG_BOX_LINE;
  if (b->st->baseline_grid && !b->no_grid && bs == &b->st->body)
    f.grid = b->st->body.leading;
  if (top->label_pending) {
    f.label = top->label;
    f.label_x = top->label_x;
    top->label_pending = 0;
  }
  if (caption) f.indent = 0;
  f.lang = n->lang;
  /* a quotation's source, its last paragraph opening with a dash
   * ("— UNCLOS, Article 234"), is set flush right */
  if (ts_node_is_quote_source(n)) {
    f.align = TS_RAGGED_LEFT;
    f.indent = 0;
  }
  pg_para(b, sp.s, sp.n, &f);
  ts_arena_clear(b->para_spans);
  pg_space_after(b, in_tight ? 0 : bs->space_after);
  b->prev_para = 1;
  if (caption || intro) b->keep = 1;
}

static const ts_line *item_label(pg_builder *b, const cframe *list, const ts_block_style *bs) {
  char buf[32];
  const char *text;
  if (list->ordered) {
    /* fits: an int and one character in 32 */
    (void)snprintf(buf, sizeof buf, "%d%c", list->number, list->delim ? list->delim : '.');
    text = buf;
  } else {
    text = (list->list_level % 2 == 1) ? "\xE2\x80\xA2" : "\xE2\x80\x93"; /* • – */
  }
  ts_span s = pg_span_plain(b, bs, ts_arena_strdup(b->a, text));
  ts_line *ln = ts_arena_alloc(b->a, sizeof *ln);
  if (!ln || !s.text) {
    pg_fail(b, TS_ERR_NOMEM);
    return NULL;
  }
  if (!pg_line(b, &s, 1, ln)) return NULL;
  return ln;
}

void pg_build_blocks(pg_builder *b, const ts_node *container, const ts_block_style *base,
                     double left, double right, const ts_span *lead, size_t n_lead) {
  pg_build_blocks_label(b, container, base, left, right, lead, n_lead, NULL, 0);
}

void pg_build_blocks_label(pg_builder *b, const ts_node *container, const ts_block_style *base,
                           double left, double right, const ts_span *lead, size_t n_lead,
                           const ts_line *label, double label_x) {
  if (!container || b->err) return;
  cstack stack = {0};
  cframe *root = cpush(b, &stack);
  if (!root) return;
  root->node = container;
  root->left = left;
  root->right = right;
  root->bs = base;
  root->label = label;
  root->label_x = label_x;
  root->label_pending = label != NULL;
  int lead_used = n_lead == 0;
  int in_note = base == &b->st->footnote;
  ts_iter it;
  ts_iter_init(&it, (ts_node *)container);
  ts_node *n;
  int entering;
  while (!b->err && (n = ts_iter_next(&it, &entering))) {
    if (n == container) continue;
    cframe *top = &stack.f[stack.n - 1];
    if (!entering) {
      switch (n->type) {
      case TS_NODE_LIST:
        if (stack.n > 1) stack.n--;
        if (stack.f[stack.n - 1].list_level == 0) pg_space_after(b, b->st->list.space_after);
        b->prev_para = 0;
        break;
      case TS_NODE_ITEM:
        label_line(b, top);
        if (stack.n > 1) stack.n--;
        stack.f[stack.n - 1].number++;
        break;
      case TS_NODE_BLOCKQUOTE:
        if (stack.n > 1) stack.n--;
        pg_space_after(b, b->st->quote.space_after);
        b->prev_para = 0;
        break;
      default:
        break;
      }
      continue;
    }
    switch (n->type) {
    case TS_NODE_HEADING:
      ts_iter_skip(&it);
      label_line(b, top);
      heading_block(b, n);
      break;
    case TS_NODE_PARAGRAPH:
      ts_iter_skip(&it);
      paragraph_block(b, n, top, lead_used ? NULL : lead, lead_used ? 0 : n_lead);
      lead_used = 1;
      break;
    case TS_NODE_LIST: {
      label_line(b, top);
      if (top->list_level == 0) pg_space(b, b->st->list.space_before);
      cframe *f = cpush(b, &stack);
      if (!f) return;
      top = &stack.f[stack.n - 2];
      *f = *top;
      f->node = n;
      f->label_pending = 0;
      f->list_level = top->list_level + 1;
      f->ordered = n->ordered;
      f->number = n->ordered ? n->start : 1;
      f->tight = n->tight;
      f->delim = n->delim;
      if (f->bs == &b->st->body) f->bs = &b->st->list;
      /* the hang fits the widest label (item 10 of an ordered list) */
      f->hang = b->st->list.indent > 0 ? b->st->list.indent : 1.5 * f->bs->size;
      if (in_note) f->hang = 1.5 * f->bs->size;
      if (n->ordered) {
        int items = 0;
        for (const ts_node *c = n->first; c; c = c->next) items++;
        cframe tmp = *f;
        tmp.number = f->number + (items > 0 ? items - 1 : 0);
        if (tmp.number < f->number) tmp.number = f->number;
        const ts_line *wl = item_label(b, &tmp, f->bs);
        double need = (wl ? line_width(wl) : 0) + 0.45 * f->bs->size;
        if (need > f->hang) f->hang = need;
      }
      b->prev_para = 0;
      break;
    }
    case TS_NODE_ITEM: {
      if (!top->tight && n->prev) pg_space(b, top->bs->space_before);
      cframe *f = cpush(b, &stack);
      if (!f) return;
      top = &stack.f[stack.n - 2];
      *f = *top;
      f->node = n;
      inset(b, top, top->hang, 0, &f->left, &f->right);
      f->label = item_label(b, top, f->bs);
      f->label_x = f->left - 0.45 * f->bs->size;
      if (f->label && f->label_x - line_width(f->label) < top->left)
        f->label_x = top->left + line_width(f->label); /* clamped nesting */
      f->label_pending = 1;
      b->prev_para = 0;
      break;
    }
    case TS_NODE_BLOCKQUOTE: {
      label_line(b, top);
      const ts_block_style *qs = &b->st->quote;
      pg_space(b, qs->space_before);
      cframe *f = cpush(b, &stack);
      if (!f) return;
      top = &stack.f[stack.n - 2];
      *f = *top;
      f->node = n;
      f->label_pending = 0;
      double ind = qs->indent > 0 ? qs->indent : 1.5 * qs->size;
      inset(b, top, ind, ind, &f->left, &f->right);
      if (!in_note) f->bs = qs;
      b->prev_para = 0;
      break;
    }
    case TS_NODE_CODEBLOCK:
      label_line(b, top);
      pg_build_code(b, n, top->left, top->right);
      b->prev_para = 0;
      break;
    case TS_NODE_THEMATIC_BREAK:
      label_line(b, top);
      pg_build_rule(b, top->left, top->right);
      b->prev_para = 0;
      break;
    case TS_NODE_TABLE:
      ts_iter_skip(&it);
      label_line(b, top);
      pg_build_table(b, n, top->left, top->right);
      b->prev_para = 0;
      break;
    case TS_NODE_FIGURE:
      ts_iter_skip(&it);
      label_line(b, top);
      pg_build_figure(b, n, top->left, top->right);
      b->prev_para = 0;
      break;
    default:
      if (ts_node_is_block(n->type) || n->first) ts_iter_skip(&it);
      break;
    }
  }
  if (stack.n && stack.f[0].label_pending) label_line(b, &stack.f[0]); /* an empty note */
  if (!lead_used && n_lead) { /* a note without paragraphs still shows its number */
    cframe *top = &stack.f[0];
    pg_para_fmt f;
    memset(&f, 0, sizeof f);
    f.bs = top->bs;
    f.left = left;
    f.right = right;
    f.align = TS_RAGGED_RIGHT;
    f.kind = PG_BOX_LINE;
    pg_para(b, lead, n_lead, &f);
  }
}
