/* page_render.c — ts_page_layout: builds the galleys, breaks them into
 * frames, places boxes and notes on pages, then (with the page count known)
 * draws the running heads, folios and the contents' page numbers.
 *
 * Vertical justification: a frame that ends inside a section (not at a
 * forced break nor at the end) has its inter-block glue stretched so its
 * last line sits on the text block's foot — but only within twice the
 * glue's stretch (PG_MAX_RATIO) and PG_MAX_FILL body lines in all.  A
 * frame that would need more (it ended early because a heading, a widow or
 * a footnote's line moved on) keeps its natural spacing,
 * top-aligned: one page with a short foot reads better than a page whose
 * paragraphs drift apart.  Footnotes always sit at the foot of the frame,
 * so facing pages keep their note areas and baselines aligned.  On a
 * baseline grid nothing stretches. */
#include "page_int.h"

#include <math.h>
#include <string.h>

/* Vertical glue stretches at most twice its stretch (badness 800): the
 * extra space hides in paragraph gaps, heading spaces and above the notes. */
#define PG_MAX_RATIO 2.0
/* ... and the frame grows by at most this many body lines: a page four
 * lines short before a heading, its gaps all opened by half, showed white
 * bands between list items; it now ends short, its spacing even. */
#define PG_MAX_FILL 3.5

typedef struct rctx {
  pg_builder *b;
  const ts_style *st;
  ts_layout *out;
  double page_w, page_h, block_w, block_h, col_w, gap;
  int cols;
  ts_status err;
} rctx;

static ts_draw *page_push(rctx *r, ts_page *pg) {
  if (pg->n == pg->cap) {
    size_t nc = pg->cap ? pg->cap * 2 : 64;
    ts_draw *nd = ts_arena_alloc(r->b->a, nc * sizeof *nd);
    if (!nd) {
      r->err = TS_ERR_NOMEM;
      return NULL;
    }
    if (pg->n) memcpy(nd, pg->items, pg->n * sizeof *nd);
    pg->items = nd;
    pg->cap = nc;
  }
  ts_draw *d = &pg->items[pg->n++];
  memset(d, 0, sizeof *d);
  return d;
}

/* Left edge of the text block: inner margin on rectos (odd folios), outer on
 * versos when the style mirrors. */
static double block_left(const rctx *r, int page_index) {
  int folio = page_index + 1;
  if (r->st->mirror && folio % 2 == 0) return r->st->margin_outer;
  return r->st->margin_inner;
}

/* Copies a box's draws onto the page: x from the frame's left edge fx,
 * baseline at `base` below the page top. */
static void put_box(rctx *r, ts_page *pg, const pg_box *bx, double fx, double base,
                    double fig_scale) {
  double y0 = r->page_h - base;
  for (size_t i = 0; i < bx->n_draws; i++) {
    ts_draw *d = page_push(r, pg);
    if (!d) return;
    *d = bx->draws[i];
    d->x += fx;
    d->y += y0;
    if (d->kind == TS_DRAW_IMAGE && fig_scale < 1) {
      double nw = d->w * fig_scale, nh = d->h * fig_scale;
      d->x += (d->w - nw) / 2;
      d->w = nw;
      d->h = nh;
    }
  }
}

static void rule(rctx *r, ts_page *pg, double x, double y, double w, double lw, uint32_t color) {
  ts_draw *d = page_push(r, pg);
  if (!d) return;
  d->kind = TS_DRAW_RULE;
  d->x = x;
  d->y = y;
  d->w = w;
  d->lw = lw;
  d->color = color;
}

/* Placement state of one frame. */
typedef struct placer {
  rctx *r;
  ts_page *pg;
  double fx, ftop;
  double ratio, fr;     /* glue set ratio, figure shrink ratio */
  double y, pending;
  int boxes;
  const pg_box *last;
  double last_base;
  const pg_box *header; /* the frame's repeated table header (not the page's text) */
  int body;             /* 1: the main flow (the page's src is taken from it) */
} placer;

/* Where the box's first run in logical order begins in the model (NULL if
 * none): the leftmost run that has a source, or the rightmost in a line
 * whose leftmost run is right-to-left. */
static const char *box_src(const pg_box *bx) {
  const ts_draw *lo = NULL, *hi = NULL;
  for (size_t i = 0; i < bx->n_draws; i++) {
    const ts_draw *dr = &bx->draws[i];
    if (dr->kind != TS_DRAW_GLYPHS || !dr->run || !dr->run->src || dr->run->note) continue;
    if (!lo || dr->x < lo->x) lo = dr;
    if (!hi || dr->x > hi->x) hi = dr;
  }
  if (!lo) return NULL;
  return lo->run->rtl ? hi->run->src : lo->run->src;
}

static void place_box(placer *p, const pg_box *bx) {
  double top = p->y + (p->boxes ? p->pending : 0);
  double h = bx->h - p->fr * bx->shrink;
  double base = top + h;
  if (bx->grid > 0) {
    double k = ceil(base / bx->grid - 1e-6);
    if (k < 1) k = 1;
    base = k * bx->grid;
  }
  double scale = bx->h > 0 && bx->shrink > 0 ? h / bx->h : 1;
  put_box(p->r, p->pg, bx, p->fx, p->ftop + base, scale);
  if (p->body && !p->pg->src && bx != p->header) p->pg->src = box_src(bx);
  p->y = base + bx->d;
  p->pending = 0;
  p->boxes++;
  p->last = bx;
  p->last_base = base;
}

static void place_glue(placer *p, const pg_vitem *it) {
  if (p->boxes)
    p->pending += it->w + (p->ratio > 0 ? p->ratio * it->stretch : p->ratio * it->shrink);
}

/* Calls box/glue for the frame's material in order: the deferred float, the
 * repeated table header, the body without its hole. */
static void frame_walk(const pg_frame *f, const pg_vlist *v, void *u,
                       void (*box)(void *, const pg_box *), void (*glue)(void *, const pg_vitem *)) {
  pg_frame_it it;
  pg_frame_it_init(&it, f);
  int header_done = f->header == NULL;
  int float_done = 0;
  size_t k;
  while ((k = pg_frame_it_next(&it)) != PG_FRAME_END) {
    if (it.phase == 1 && !float_done) {
      float_done = 1;
      if (f->fl_end > f->fl_start) {
        pg_vitem sep;
        memset(&sep, 0, sizeof sep);
        sep.kind = PG_V_GLUE;
        sep.w = f->float_sep;
        glue(u, &sep);
      }
    }
    if (!header_done && it.phase == 1) {
      box(u, f->header);
      header_done = 1;
    }
    if (k >= v->n) break;
    const pg_vitem *x = &v->items[k];
    if (x->kind == PG_V_BOX) box(u, x->box);
    else if (x->kind == PG_V_GLUE) glue(u, x);
  }
  if (!header_done) box(u, f->header);
}

static void m_box(void *u, const pg_box *b) { pg_stack_box(u, b); }
static void c_box(void *u, const pg_box *b) { *(size_t *)u += b->n_draws; }
static void c_glue(void *u, const pg_vitem *g) { (void)u; (void)g; }

/* Draws a frame puts on its page: its boxes', its notes' lines', and the
 * two rules it may add (a continued table's, the note separator). */
static size_t frame_draws(const pg_frame *f, const pg_vlist *v, pg_note *const *notes,
                          size_t n_notes) {
  size_t n = 2;
  frame_walk(f, v, &n, c_box, c_glue);
  for (size_t q = 0; q < f->n_notes; q++) {
    const pg_note_piece *pc = &f->notes[q];
    if (pc->number < 1 || (size_t)pc->number > n_notes || !notes[pc->number - 1]) continue;
    const pg_note *nt = notes[pc->number - 1];
    for (size_t k = pc->from; k < pc->to && k < nt->n; k++) n += nt->lines[k]->n_draws;
  }
  return n;
}
static void m_glue(void *u, const pg_vitem *g) { pg_stack_glue(u, g); }
static void p_box(void *u, const pg_box *b) { place_box(u, b); }
static void p_glue(void *u, const pg_vitem *g) { place_glue(u, g); }

static void render_frame(rctx *r, const pg_frame *f, const pg_vlist *v, pg_note *const *notes,
                         size_t n_notes, double fx, double ftop, double H, ts_page *pg,
                         const pg_geom *g) {
  /* natural size of the material */
  pg_stack s;
  pg_stack_init(&s);
  frame_walk(f, v, &s, m_box, m_glue);
  double avail = H - f->notes_h;
  double nat = s.top, ratio = 0, fr = 0;
  if (nat > avail + 1e-6) {
    double deficit = nat - avail;
    if (s.fig_shrink > 0) {
      fr = deficit / s.fig_shrink;
      if (fr > 1) fr = 1;
      deficit -= fr * s.fig_shrink;
    }
    if (deficit > 1e-6 && s.shrink > 0) ratio = -(deficit / s.shrink > 1 ? 1 : deficit / s.shrink);
  } else if (f->flush && !r->st->baseline_grid) {
    /* the note separator stretches too (plain TeX's \skip\footins is 12pt
     * plus 4pt): its share stays above the rule, the notes keep the foot */
    double st = s.stretch + (f->n_notes ? r->st->footnote_skip / 3 : 0);
    if (s.stretch > 0 && avail - nat <= PG_MAX_RATIO * st &&
        avail - nat <= PG_MAX_FILL * pg_leading(&r->st->body))
      ratio = (avail - nat) / st;
  }
  /* place */
  placer pl;
  memset(&pl, 0, sizeof pl);
  pl.r = r;
  pl.pg = pg;
  pl.fx = fx;
  pl.ftop = ftop;
  pl.ratio = ratio;
  pl.fr = fr;
  pl.header = f->header;
  pl.body = v == &r->b->main;
  frame_walk(f, v, &pl, p_box, p_glue);
  const pg_box *last = pl.last;
  double last_base = pl.last_base;
  /* a table continuing on the next frame closes with a light rule */
  if (last && last->table && !last->table_last && last->table_row > 0) {
    rule(r, pg, fx + last->table_x, r->page_h - (ftop + last_base + last->d), last->table_w,
         0.4, r->st->rule_color);
  }
  /* notes at the foot */
  if (f->n_notes) {
    const ts_style *st = r->st;
    double area_top = ftop + H - f->notes_h;
    double rule_y = area_top + st->footnote_skip + st->footnote_rule_weight / 2;
    double rw = st->footnote_rule_width > 0 ? st->footnote_rule_width : 0.25 * r->col_w;
    if (rw > r->col_w) rw = r->col_w;
    if (st->footnote_rule_weight > 0)
      rule(r, pg, fx, r->page_h - rule_y, rw, st->footnote_rule_weight, st->rule_color);
    double ny = H - f->notes_h + g->note_sep; /* from the frame top */
    for (size_t q = 0; q < f->n_notes; q++) {
      const pg_note_piece *pc = &f->notes[q];
      if (pc->number < 1 || (size_t)pc->number > n_notes) continue;
      const pg_note *nt = notes[pc->number - 1];
      if (!nt) continue;
      for (size_t k = pc->from; k < pc->to && k < nt->n; k++) {
        const pg_box *lb = nt->lines[k];
        if (k > pc->from) ny += nt->gap[k];
        double base = ny + lb->h;
        put_box(r, pg, lb, fx, ftop + base, 1);
        ny = base + lb->d;
      }
    }
  }
}

/* Shaped text of a template, placed by alignment on the page. */
static void running(rctx *r, ts_page *pg, const char *tmpl, const ts_block_style *bs,
                    double baseline, int page_index, int pages, int is_header) {
  pg_builder *b = r->b;
  const char *text = pg_template(b, tmpl, page_index + 1, pages);
  if (!text || !*text) return;
  double bl = block_left(r, page_index);
  int verso = (page_index + 1) % 2 == 0;
  /* fields separated by tabs: left, centre, right */
  const char *parts[3] = {NULL, NULL, NULL};
  size_t lens[3] = {0, 0, 0};
  int np = 0;
  const char *p = text;
  while (np < 3) {
    const char *t = strchr(p, '\t');
    parts[np] = p;
    lens[np] = t ? (size_t)(t - p) : strlen(p);
    np++;
    if (!t) break;
    p = t + 1;
  }
  for (int i = 0; i < np; i++) {
    if (!lens[i]) continue;
    ts_span sp = pg_span_plain(b, bs, ts_arena_strndup(b->a, parts[i], lens[i]));
    if (!sp.text) {
      r->err = TS_ERR_NOMEM;
      return;
    }
    ts_line ln;
    if (!pg_line(b, &sp, 1, &ln)) return;
    double x0, w;
    pg_line_extent(&ln, &x0, &w);
    double x;
    int where; /* 0 left, 1 centre, 2 right */
    if (np == 1) {
      switch (bs->align) {
      case TS_RAGGED_RIGHT: where = 0; break;
      case TS_RAGGED_LEFT: where = 2; break;
      case TS_JUSTIFY: where = verso ? 0 : 2; break; /* the outer corner */
      default: where = 1; break;
      }
    } else if (np == 2) {
      where = i == 0 ? 0 : 2;
    } else {
      where = i;
    }
    if (where == 0) x = bl;
    else if (where == 2) x = bl + r->block_w - w;
    else x = bl + (r->block_w - w) / 2;
    /* drawn through a box so heads get what body lines get (strike, links) */
    pg_box hb;
    memset(&hb, 0, sizeof hb);
    pg_draw_line(b, &hb, &ln, x, baseline);
    for (size_t k = 0; k < hb.n_draws; k++) {
      ts_draw *d = page_push(r, pg);
      if (!d) return;
      *d = hb.draws[k];
    }
  }
  if (is_header && r->st->header_rule > 0) {
    double L = bs->leading > 0 ? bs->leading : bs->size * 1.2;
    rule(r, pg, bl, baseline - 0.45 * L, r->block_w, r->st->header_rule, r->st->rule_color);
  }
}

static const pg_anchor *find_anchor(const pg_builder *b, const char *id) {
  const pg_anchor *an = b->anchors.data;
  for (size_t i = 0; i < b->anchors.len; i++)
    if (an[i].id && !strcmp(an[i].id, id)) return &an[i];
  return NULL;
}

/* Page numbers and dot leaders of the contents, now that pages are known.
 * Leader dots sit on multiples of a fixed step from the frame's left edge so
 * they line up from entry to entry (as TeX's \leaders do). */
static void toc_numbers(rctx *r) {
  pg_builder *b = r->b;
  pg_toc_entry *te = b->toc.data;
  for (size_t i = 0; i < b->toc.len && !b->err; i++) {
    const pg_anchor *an = find_anchor(b, te[i].id);
    if (!an || an->page < 0) continue;
    char num[24];
    (void)snprintf(num, sizeof num, "%d", an->page + 1); /* fits: an int in 24 */
    ts_span sp = pg_span_plain(b, te[i].bs, ts_arena_strdup(b->a, num));
    ts_line ln, dot;
    if (!sp.text || !pg_line(b, &sp, 1, &ln)) return;
    ts_span ds = pg_span_plain(b, te[i].bs, ".");
    if (!pg_line(b, &ds, 1, &dot)) return;
    double x0, w;
    pg_line_extent(&ln, &x0, &w);
    double nx = te[i].right - w;
    pg_draw_line(b, te[i].box, &ln, nx, 0);
    double step = 0.5 * te[i].bs->size;
    double end = nx - 0.5 * te[i].bs->size;
    /* step is half the font size and sizes are >= 1 pt: x grows by >= 0.5 a turn */
    // NOLINTNEXTLINE(cert-flp30-c): positions are doubles; the step is never tiny (above)
    for (double x = ceil(te[i].leader_from / step) * step; x + step <= end; x += step)
      pg_draw_line(b, te[i].box, &dot, x, 0);
  }
}

static int page_of_frame(const pg_frame *f, int page0) { return f->page + page0; }

ts_status ts_page_layout(ts_ctx *ctx, const ts_doc *doc, const ts_layout_opts *o, ts_diag *d,
                         ts_layout *out) {
  const char *why = NULL;
  if (!ts_hb_open(&why)) { /* HarfBuzz is opened by the first layout */
    ts_diag_report(d, TS_ERROR, doc && doc->path ? doc->path : NULL, 0, 0, "%s", why);
    return TS_ERR_INTERNAL;
  }
  pg_prewarm *w = doc && o && o->style
                      ? pg_prewarm_start(ctx, doc, o->style, doc->meta.lang ? doc->meta.lang : "en")
                      : NULL;
  ts_status st = pg_layout(ctx, doc, o, d, out, NULL);
  pg_prewarm_stop(w);
  if (st == TS_OK) st = ts_face_check_readable(d); /* a face file gone since it was read */
  return st;
}

ts_status pg_layout(ts_ctx *ctx, const ts_doc *doc, const ts_layout_opts *o, ts_diag *d,
                    ts_layout *out, pg_debug *dbg) {
  ts_status st = TS_OK;
  if (dbg) dbg->galley = NULL;
  if (!doc || !o || !o->style || !out) return TS_ERR_USAGE;
  memset(out, 0, sizeof *out);
  const ts_style *sty = o->style;
  ts_arena *a = doc->arena; /* the document's arena holds the layout too */
  rctx r;
  memset(&r, 0, sizeof r);
  r.st = sty;
  r.out = out;
  r.page_w = sty->page_w;
  r.page_h = sty->page_h;
  r.block_w = sty->page_w - sty->margin_inner - sty->margin_outer;
  r.block_h = sty->page_h - sty->margin_top - sty->margin_bottom;
  r.cols = sty->columns >= 2 ? 2 : 1;
  r.gap = sty->column_gap > 0 ? sty->column_gap : 0;
  if (r.cols == 2 && r.block_w - r.gap < 144) r.cols = 1;
  r.col_w = r.cols == 2 ? (r.block_w - r.gap) / 2 : r.block_w;
  if (r.block_w < 72 || r.block_h < 72) {
    ts_diag_report(d, TS_ERROR, sty->path ? sty->path : "<style>", 0, 0,
                   "the text block (%dpt x %dpt) is too small for its page and margins",
                   (int)r.block_w, (int)r.block_h);
    return TS_ERR_INPUT;
  }

  pg_builder *b = ts_arena_alloc(a, sizeof *b);
  if (!b) return TS_ERR_NOMEM;
  r.b = b;
  b->ctx = ctx;
  b->a = a;
  b->doc = doc;
  b->st = sty;
  b->d = d;
  b->trace = o->trace_lines;
  b->lang = doc->meta.lang ? doc->meta.lang : "en";
  b->col_w = r.col_w;
  b->frame_h = r.block_h;
  b->v = &b->main;
  b->para_id = 1;
  b->reported = ts_cp_set_create(a);
  if (!b->reported) return TS_ERR_NOMEM;
  b->tmp = ts_arena_create(0);
  b->para_spans = ts_arena_create(16 * 1024);
  b->galley = ts_arena_create(256 * 1024);
  b->fontsets = ts_fontsets_create();
  if (!b->tmp || !b->galley || !b->para_spans || !b->fontsets) {
    ts_arena_destroy(b->tmp);
    ts_arena_destroy(b->para_spans);
    ts_arena_destroy(b->galley);
    ts_fontsets_destroy(b->fontsets);
    b->fontsets = NULL;
    return TS_ERR_NOMEM;
  }
  ts_vec_init(&b->anchors, sizeof(pg_anchor));
  ts_vec_init(&b->outline, sizeof(ts_outline_entry));
  ts_vec_init(&b->toc, sizeof(pg_toc_entry));

  double title_after = 0;
  /* 1. galleys: notes first (marks look them up), then the front matter and
   *    the body */
  pg_build_notes(b);
  if (sty->title_block && !b->err) {
    if (r.cols == 1) {
      pg_build_title(b);
    } else { /* spans both columns above the body on page 1 */
      b->v = &b->title;
      b->col_w = r.block_w;
      pg_build_title(b);
      title_after = b->pend_space; /* the space below the title block */
      b->v = &b->main;
      b->col_w = r.col_w;
      b->have_block = 0;
      b->pend_space = 0;
    }
  }
  if (sty->toc && !b->err) pg_build_toc(b);
  if (!b->err) pg_build_blocks(b, doc->root, &sty->body, 0, 0, NULL, 0);
  if (b->err) {
    st = b->err;
    goto done;
  }

  /* 2. breaking */
  pg_geom g;
  memset(&g, 0, sizeof g);
  g.style = sty;
  g.columns = r.cols;
  g.block_h = r.block_h;
  g.note_sep = sty->footnote_skip + sty->footnote_rule_weight;
  pg_break_params bp = {PG_NOTE_AREA, 2, PG_NOTE_MAX};
  int page0 = 0;
  pg_break_result tres = {0};
  if (b->title.n) {
    pg_geom tg = g;
    tg.columns = 1;
    TS_CHECK(pg_break(b->galley, &tg, &bp, &b->title, b->notes, b->n_notes, &tres));
    if (tres.n) {
      const pg_frame *lf = &tres.frames[tres.n - 1];
      pg_stack s;
      pg_stack_init(&s);
      frame_walk(lf, &b->title, &s, m_box, m_glue);
      page0 = lf->page;
      g.first_top = s.top + title_after;
      g.first_bottom = lf->n_notes ? lf->notes_h : 0; /* title notes: full width, at the foot */
      if (sty->baseline_grid && sty->body.leading > 0)
        g.first_top = ceil(g.first_top / sty->body.leading) * sty->body.leading;
      if (g.first_top + g.first_bottom > 0.85 * r.block_h) { /* no room: body on the next page */
        page0++;
        g.first_top = g.first_bottom = 0;
      }
    }
  }
  pg_break_result res = {0};
  TS_CHECK(pg_break(b->galley, &g, &bp, &b->main, b->notes, b->n_notes, &res));

  /* 3. pages */
  int n_pages = page0 + 1;
  for (size_t i = 0; i < res.n; i++)
    if (page_of_frame(&res.frames[i], page0) + 1 > n_pages)
      n_pages = page_of_frame(&res.frames[i], page0) + 1;
  for (size_t i = 0; i < tres.n; i++)
    if (tres.frames[i].page + 1 > n_pages) n_pages = tres.frames[i].page + 1;
  out->pages = ts_arena_alloc(a, (size_t)n_pages * sizeof(ts_page));
  if (!out->pages) { st = TS_ERR_NOMEM; goto done; }
  out->n_pages = (size_t)n_pages;
  for (int i = 0; i < n_pages; i++) {
    out->pages[i].w = r.page_w;
    out->pages[i].h = r.page_h;
    out->pages[i].number = i + 1;
  }
  /* anchors' pages first: the contents need them before their boxes are placed */
  for (size_t i = 0; i < res.n; i++) {
    const pg_frame *f = &res.frames[i];
    pg_frame_it fit;
    pg_frame_it_init(&fit, f);
    for (size_t k; (k = pg_frame_it_next(&fit)) != PG_FRAME_END;) {
      const pg_vitem *it = &b->main.items[k];
      if (it->kind == PG_V_BOX && it->box->anchor > 0) {
        pg_anchor *an = (pg_anchor *)b->anchors.data + (it->box->anchor - 1);
        an->page = page_of_frame(f, page0);
      }
    }
  }
  toc_numbers(&r);
  if (b->err) { st = b->err; goto done; }
  /* each page's draws in one block of the size they need (growing page
   * arrays left the arena two copies of every page): its frames' draws and
   * room for the running head and folio (a few runs each) */
  {
    size_t *need = ts_arena_alloc(a, (size_t)n_pages * sizeof *need);
    if (!need) { st = TS_ERR_NOMEM; goto done; }
    for (size_t i = 0; i < tres.n; i++)
      need[tres.frames[i].page] += frame_draws(&tres.frames[i], &b->title, b->notes, b->n_notes);
    for (size_t i = 0; i < res.n; i++)
      need[page_of_frame(&res.frames[i], page0)] +=
          frame_draws(&res.frames[i], &b->main, b->notes, b->n_notes);
    for (int i = 0; i < n_pages; i++) {
      ts_page *pg = &out->pages[i];
      size_t nc = need[i] + 8;
      pg->items = ts_arena_alloc(a, nc * sizeof *pg->items);
      if (!pg->items) { st = TS_ERR_NOMEM; goto done; }
      pg->cap = nc;
    }
  }
  for (size_t i = 0; i < tres.n; i++) {
    const pg_frame *f = &tres.frames[i];
    ts_page *pg = &out->pages[f->page];
    render_frame(&r, f, &b->title, b->notes, b->n_notes, block_left(&r, f->page),
                 sty->margin_top, r.block_h, pg, &g);
  }
  for (size_t i = 0; i < res.n && !r.err; i++) {
    const pg_frame *f = &res.frames[i];
    int p = page_of_frame(f, page0);
    ts_page *pg = &out->pages[p];
    double fx = block_left(&r, p) + f->col * (r.col_w + r.gap);
    double top = sty->margin_top + (f->page == 0 ? g.first_top : 0);
    render_frame(&r, f, &b->main, b->notes, b->n_notes, fx, top,
                 pg_frame_height(&g, (size_t)f->page * (size_t)r.cols), pg, &g);
  }
  if (r.err) { st = r.err; goto done; }

  /* 4. running heads and folios, now that {pages} is known; a page that
   *    opens a chapter (after a forced break) has its folio but no head */
  uint8_t *opening = ts_arena_alloc(a, (size_t)n_pages);
  if (!opening) { st = TS_ERR_NOMEM; goto done; }
  for (size_t i = 0; i < res.n; i++)
    if (res.frames[i].opens && res.frames[i].col == 0)
      opening[page_of_frame(&res.frames[i], page0)] = 1;
  for (int i = 0; i < n_pages && !b->err && !r.err; i++) {
    if (i == 0 && !sty->running_on_first) continue;
    int verso = (i + 1) % 2 == 0;
    const char *ht = verso ? (sty->header_verso ? sty->header_verso : sty->header_recto)
                           : (sty->header_recto ? sty->header_recto : sty->header_verso);
    const char *ft = verso ? (sty->footer_verso ? sty->footer_verso : sty->footer_recto)
                           : (sty->footer_recto ? sty->footer_recto : sty->footer_verso);
    double hl = sty->header.leading > 0 ? sty->header.leading : 1.2 * sty->header.size;
    double fl = sty->footer.leading > 0 ? sty->footer.leading : 1.2 * sty->footer.size;
    double hgap = sty->header.space_after > 0 ? sty->header.space_after + PG_STRUT_D * hl
                                              : 2 * hl;
    double fgap = sty->footer.space_before > 0 ? sty->footer.space_before + PG_STRUT_H * fl
                                               : 2.5 * fl;
    if (hgap > sty->margin_top - hl * PG_STRUT_H) hgap = sty->margin_top - hl * PG_STRUT_H;
    if (fgap > sty->margin_bottom - fl * PG_STRUT_D) fgap = sty->margin_bottom - fl * PG_STRUT_D;
    if (!opening[i])
      running(&r, &out->pages[i], ht, &sty->header, r.page_h - sty->margin_top + hgap, i,
              n_pages, 1);
    running(&r, &out->pages[i], ft, &sty->footer, r.page_h - sty->margin_top - r.block_h - fgap,
            i, n_pages, 0);
  }
  if (b->err) { st = b->err; goto done; }
  if (r.err) { st = r.err; goto done; }

  out->outline = b->outline.data;
  out->n_outline = b->outline.len;
  out->n_lines = b->n_lines;
  out->n_overfull = b->n_overfull;
  out->n_notes_split = res.n_notes_split + tres.n_notes_split;
  if (dbg) {
    dbg->b = b;
    dbg->res = res;
    dbg->page0 = page0;
  }
done:
  ts_arena_destroy(b->tmp);
  b->tmp = NULL;
  ts_arena_destroy(b->para_spans);
  b->para_spans = NULL;
  ts_fontsets_destroy(b->fontsets);
  b->fontsets = NULL;
  /* the galley is not needed once the pages are drawn (but by tests) */
  if (dbg) dbg->galley = b->galley;
  else ts_arena_destroy(b->galley);
  b->galley = NULL;
  return st;
}
