/* lines.c — from a broken paragraph to positioned glyph runs.
 *
 * Each line takes the shaped runs' glyphs whose clusters fall in its byte
 * range; only a word split by a hyphenation break is reshaped (its two
 * pieces, the first with the face's hyphen appended), so the common case
 * shapes a paragraph once.  The glue is set as TeX does (§§658–667 hpack):
 * each glue gets natural + r·stretch (or shrink), with r computed from the
 * line's actual material so justified lines meet the measure exactly even
 * after reshaping.  Runs are reordered visually per line with ICU's
 * ubidi_reorderVisual (UAX #9 L2). */
#include "text/text_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ubidi.h>

/* Protrusion factors (fraction of the glyph's advance), after the defaults
 * of microtype for Latin text (Schlicht, "The microtype package", §5).
 * Also used by para.c, so that the line breaker measures lines as they
 * will be set (pdfTeX's \pdfprotrudechars=2). */
double ts_text_protrusion(uint32_t c, int right)
{
  if (right) {
    switch (c) {
    case '.': case ',': return c == '.' ? 0.7 : 0.5;
    case ':': case ';': return c == ':' ? 0.5 : 0.3;
    case '!': return 0.1;
    case '?': return 0.2;
    case '-': case 0x2010: case 0x2011: return 0.5;
    case 0x2013: return 0.2;
    case 0x2014: return 0.15;
    case '\'': case '"': case 0x2019: case 0x201D: return 0.5;
    case 0x203A: case 0xBB: return 0.3;
    case ')': return 0.05;
    default: return 0;
    }
  }
  switch (c) {
  case '\'': case '"': case 0x2018: case 0x201C: case 0x201E: case 0x201A: return 0.5;
  case 0x2039: case 0xAB: return 0.3;
  case '(': return 0.05;
  default: return 0;
  }
}

typedef struct piece {
  const prun *r;
  uint32_t a, b;  /* bytes of the paragraph text */
  sglyph *g;      /* logical order (heap) */
  size_t n, cap;
  int hyphen;     /* "-" appended to the run text, glyph cluster b */
} piece;

static uint32_t cp_at_text(const ts_para *p, uint32_t b)
{
  uint32_t c = 0;
  if (b < p->len) ts_utf8_decode(p->text + b, p->len - b, &c);
  return c;
}

static uint32_t cp_before_text(const ts_para *p, uint32_t b)
{
  if (b == 0 || b > p->len) return 0;
  uint32_t s = b - 1;
  while (s > 0 && ((unsigned char)p->text[s] & 0xC0) == 0x80 && b - s < 4) s--;
  uint32_t c = 0;
  ts_utf8_decode(p->text + s, b - s, &c);
  return c;
}

static ts_status piece_add(piece *pc, const sglyph *g, size_t n)
{
  if (pc->n + n > pc->cap) {
    size_t nc = pc->cap ? pc->cap : 16;
    while (nc < pc->n + n) nc *= 2;
    sglyph *ng = realloc(pc->g, nc * sizeof *ng);
    if (!ng) return TS_ERR_NOMEM;
    pc->g = ng;
    pc->cap = nc;
  }
  if (n) memcpy(pc->g + pc->n, g, n * sizeof *g);
  pc->n += n;
  return TS_OK;
}

/* First glyph of run r (logical order) whose cluster is >= b. */
static uint32_t first_at(const ts_para *p, const prun *r, uint32_t b)
{
  const sglyph *g = p->glyphs + r->g0;
  uint32_t lo = 0, hi = r->ng;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (g[mid].cluster < b) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static ts_status reshape_into(ts_para *p, hb_buffer_t *buf, piece *pc, uint32_t x, uint32_t y,
                              int hyphen)
{
  sglyph *g = NULL;
  size_t n = 0;
  ts_status st = ts_text_shape_piece(p, buf, pc->r, x, y, hyphen, &g, &n);
  if (st == TS_OK) st = piece_add(pc, g, n);
  free(g);
  if (hyphen) pc->hyphen = 1;
  return st;
}

typedef struct line_ctx {
  ts_para *p;
  hb_buffer_t *buf;
  piece *pcs;
  size_t n_pcs, cap_pcs;
} line_ctx;

static void free_pieces(line_ctx *lc)
{
  for (size_t i = 0; i < lc->n_pcs; i++) free(lc->pcs[i].g);
  lc->n_pcs = 0;
}

static void append_text(ts_buf *b, const char *s, size_t n)
{
  /* the trace shows control characters and soft hyphens as nothing */
  for (size_t i = 0; i < n;) {
    uint32_t c;
    size_t l = ts_utf8_decode(s + i, n - i, &c);
    if (!l) l = 1;
    if (!(c < 0x20 || c == 0xAD || c == 0x2028 || c == 0x2029)) ts_buf_append(b, s + i, l);
    i += l;
  }
}

/* Builds line `li` from items [L->start, L->end].  W < 0: natural width
 * (single lines). prev_end: the previous line's break item (SIZE_MAX for the
 * first line). */
static ts_status build_line(line_ctx *lc, const ts_lb_line *L, size_t li, size_t prev_end,
                            int is_last, double W, ts_line *out)
{
  ts_para *p = lc->p;
  ts_status st = TS_OK;
  const pitem *pi = p->pi;
  size_t s = L->start, e = L->end;
  if (e >= p->n_items) e = p->n_items - 1;
  if (s > e) s = e;
  uint32_t lb0 = pi[s].b0, lb1 = pi[e].b0;
  if (lb1 < lb0) lb1 = lb0;
  int end_hyph = !is_last && p->items[e].type == TS_ITEM_PENALTY && pi[e].kind == K_HYPH;
  int start_hyph = prev_end != SIZE_MAX && pi[prev_end].kind == K_HYPH;
  uint32_t prev_wend = start_hyph ? pi[prev_end].wend : 0;
  uint32_t wstart = end_hyph ? pi[e].wstart : 0;
  double indent = (s == 0 && p->indent > 0) ? p->indent : 0;
  UBiDiLevel *levels = NULL;
  int32_t *vmap = NULL;
  memset(out, 0, sizeof *out);

  /* 1. pieces: the runs' glyphs in [lb0, lb1), edges reshaped */
  free_pieces(lc);
  size_t lo = 0, hi = p->n_runs;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (p->runs[mid].b1 <= lb0) lo = mid + 1;
    else hi = mid;
  }
  for (size_t ri = lo; ri < p->n_runs && p->runs[ri].b0 < lb1; ri++) {
    const prun *r = &p->runs[ri];
    if (r->hidden || !r->face) continue;
    uint32_t a = r->b0 > lb0 ? r->b0 : lb0, b = r->b1 < lb1 ? r->b1 : lb1;
    if (a >= b) continue;
    if (lc->n_pcs == lc->cap_pcs) {
      size_t nc = lc->cap_pcs ? lc->cap_pcs * 2 : 16;
      piece *np = realloc(lc->pcs, nc * sizeof *np);
      if (!np) return TS_ERR_NOMEM;
      lc->pcs = np;
      lc->cap_pcs = nc;
    }
    piece *pc = &lc->pcs[lc->n_pcs++];
    memset(pc, 0, sizeof *pc);
    pc->r = r;
    pc->a = a;
    pc->b = b;
    uint32_t zs_end = a, ze_start = b;
    int zs = 0, ze = 0;
    if (start_hyph && a == lb0) {
      zs_end = prev_wend < b ? prev_wend : b;
      zs = zs_end > a;
    }
    if (end_hyph && b == lb1) {
      ze_start = wstart > a ? wstart : a;
      ze = 1;
    }
    if (zs && ze && ze_start <= zs_end) {
      TS_CHECK(reshape_into(p, lc->buf, pc, a, b, 1));
      continue;
    }
    if (zs) TS_CHECK(reshape_into(p, lc->buf, pc, a, zs_end, 0));
    uint32_t m0 = first_at(p, r, zs ? zs_end : a), m1 = first_at(p, r, ze ? ze_start : b);
    if (m1 > m0) TS_CHECK(piece_add(pc, p->glyphs + r->g0 + m0, m1 - m0));
    if (ze) {
      if (b > ze_start) TS_CHECK(reshape_into(p, lc->buf, pc, ze_start, b, 1));
      else pc->hyphen = 0;
    }
  }
  if (end_hyph && lc->n_pcs) {
    /* the hyphen must be drawn: append it when no reshape did */
    int have = 0;
    for (size_t i = 0; i < lc->n_pcs; i++) have |= lc->pcs[i].hyphen;
    if (!have) {
      piece *pc = &lc->pcs[lc->n_pcs - 1];
      hb_codepoint_t gid = 0;
      uint32_t hc = pc->r->face->hyphen_cp ? pc->r->face->hyphen_cp : '-';
      hb_font_get_nominal_glyph(ts_face_font(pc->r->face), hc, &gid);
      sglyph hg = {gid, pc->b, ts_face_advance(pc->r->face, gid), 0, 0};
      if (pc->r->level & 1) {
        /* logical order: the hyphen follows the last character */
      }
      TS_CHECK(piece_add(pc, &hg, 1));
      pc->hyphen = 1;
    }
  }

  /* 1b. margin kerning: the line's first and last glyphs (logical order of
   * a left-to-right paragraph = visual order) may hang into the margins */
  double prot_l = 0, prot_r = 0;
  if (W >= 0 && p->o.mode == TS_LB_JUSTIFY && p->o.protrusion && !p->rtl && lc->n_pcs) {
    const piece *f = &lc->pcs[0], *l = &lc->pcs[lc->n_pcs - 1];
    if (!(f->r->level & 1) && f->n && indent == 0 && f->a == lb0) {
      double k = ts_text_protrusion(cp_at_text(p, f->a), 0);
      prot_l = k * f->g[0].adv * f->r->scale;
    }
    if (!(l->r->level & 1) && l->n && !is_last) {
      uint32_t c = l->hyphen ? '-' : cp_before_text(p, l->b);
      double k = ts_text_protrusion(c, 1);
      prot_r = k * l->g[l->n - 1].adv * l->r->scale;
    }
  }

  /* 2. glue set (TeX §658: r from the line's total stretch or shrink) */
  double natural = indent - prot_l - prot_r, stretch = 0, shrink = 0, glyphs_w = 0;
  int fil = 0;
  for (size_t i = 0; i < lc->n_pcs; i++)
    for (size_t k = 0; k < lc->pcs[i].n; k++) glyphs_w += lc->pcs[i].g[k].adv * lc->pcs[i].r->scale;
  natural += glyphs_w;
  for (size_t k = s; k < e; k++) {
    if (p->items[k].type != TS_ITEM_GLUE) continue;
    if (pi[k].kind == K_FIL) fil = 1;
    else {
      stretch += p->items[k].stretch;
      shrink += p->items[k].shrink;
    }
  }
  double ratio = 0, hscale = 1;
  int overfull = L->overfull;
  double measure = W < 0 ? natural : W;
  if (W >= 0) {
    double avail = W - natural;
    /* font expansion (pdfTeX's \pdfadjustspacing): the glyphs take the
     * same share r of their expansion as the glue of its stretch or shrink,
     * up to their limit (|r| <= 1); the glue takes the rest, so r is the
     * glue's own ratio and gaps stay natural x (1 + r/2) or (1 + r/3) */
    double ex = p->o.mode == TS_LB_JUSTIFY && p->brk.expansion > 0 ? p->brk.expansion / 1000.0 : 0;
    double E = ex * glyphs_w;
    if (avail < 0) {
      if (E > 0) {
        double r = avail / (shrink + E);
        if (r < -1) r = -1;
        hscale = 1 + r * ex;
        avail -= r * E;
      }
      ratio = shrink > 0 ? avail / shrink : -1;
      if (ratio < -1) {
        ratio = -1;
        overfull = 1;
      }
      if (shrink <= 0 && avail < -0.01) overfull = 1;
    } else if (p->o.mode == TS_LB_JUSTIFY && !fil && !is_last && stretch + E > 0) {
      double r = avail / (stretch + E);
      if (r > 1) r = 1; /* the glue takes what the glyphs cannot */
      hscale = 1 + r * ex;
      avail -= r * E;
      ratio = stretch > 0 ? avail / stretch : 0;
    }
  }

  /* 3. visual order of the pieces */
  size_t np = lc->n_pcs;
  levels = malloc((np ? np : 1) * sizeof *levels);
  vmap = malloc((np ? np : 1) * sizeof *vmap);
  if (!levels || !vmap) { st = TS_ERR_NOMEM; goto done; }
  for (size_t i = 0; i < np; i++) levels[i] = lc->pcs[i].r->level;
  if (np > 1) ubidi_reorderVisual(levels, (int32_t)np, vmap);
  else if (np == 1) vmap[0] = 0;

  /* 4. runs */
  out->runs = np ? ts_arena_alloc(p->arena, np * sizeof *out->runs) : NULL;
  if (np && !out->runs) { st = TS_ERR_NOMEM; goto done; }
  double x = 0;
  float asc = 0, desc = 0;
  uint32_t src_line = 0;
  for (size_t v = 0; v < np; v++) {
    piece *pc = &lc->pcs[vmap[v]];
    const prun *r = pc->r;
    const ts_span *sp = &p->spans[r->span];
    ts_run *run = &out->runs[v];
    int rtl = r->level & 1;
    run->face = r->face;
    run->size = r->size;
    run->color = sp->color;
    run->dy = r->dy;
    run->rtl = (uint8_t)rtl;
    run->strike = (uint8_t)(sp->strike != 0);
    run->link = sp->link;
    run->note = sp->note;
    run->line = sp->line;
    run->col = sp->col;
    {
      uint32_t off = pc->a - p->span_b0[r->span];
      run->src = sp->model_text && sp->text && off < sp->len ? sp->text + off : NULL;
    }
    uint32_t tl = pc->b - pc->a + (pc->hyphen ? 1 : 0);
    char *txt = ts_arena_alloc(p->arena, tl + 1);
    ts_glyph *gl = pc->n ? ts_arena_alloc(p->arena, pc->n * sizeof *gl) : NULL;
    if (!txt || (pc->n && !gl)) { st = TS_ERR_NOMEM; goto done; }
    float *ys = NULL; /* only for runs with marks or other offsets */
    for (size_t k = 0; k < pc->n && !ys; k++)
      if (pc->g[k].yoff != 0) {
        ys = ts_arena_alloc(p->arena, pc->n * sizeof *ys);
        if (!ys) { st = TS_ERR_NOMEM; goto done; }
      }
    memcpy(txt, p->text + pc->a, pc->b - pc->a);
    if (pc->hyphen) txt[pc->b - pc->a] = '-';
    run->text = txt;
    run->text_len = tl;
    double pen = 0, sc = r->scale;
    for (size_t k = 0; k < pc->n; k++) {
      const sglyph *g = &pc->g[rtl ? pc->n - 1 - k : k];
      ts_glyph *o = &gl[k];
      o->gid = (uint16_t)g->gid;
      o->cluster = g->cluster >= pc->a ? g->cluster - pc->a : 0;
      if (o->cluster > tl) o->cluster = tl;
      /* x in the run's own (unexpanded) text space: the page has
       * run.x + hscale * x */
      o->x = (float)(pen / hscale + g->xoff * sc);
      if (ys) ys[k] = (float)(g->yoff * sc);
      pen += g->adv * sc * hscale;
      /* glue after this cluster: once, after its last glyph in visual order */
      int last_of_cluster = k + 1 == pc->n ||
                            pc->g[rtl ? pc->n - 2 - k : k + 1].cluster != g->cluster;
      if (last_of_cluster && g->cluster < p->len) {
        int32_t gi = p->glue_at[g->cluster];
        if (gi >= (int32_t)s && gi < (int32_t)e && p->items[gi].type == TS_ITEM_GLUE &&
            pi[gi].kind != K_FIL && ratio != 0)
          pen += ratio > 0 ? ratio * p->items[gi].stretch : ratio * p->items[gi].shrink;
      }
    }
    run->glyphs = gl;
    run->ys = ys;
    run->n = (uint32_t)pc->n;
    run->width = (float)pen;
    run->hscale = (float)hscale;
    run->x = (float)x;
    x += pen;
    float a = (float)(r->face->ascender * sc) + r->dy;
    float d = (float)(-r->face->descender * sc) - r->dy;
    if (a > asc) asc = a;
    if (d > desc) desc = d;
    if (sp->note > 0) {
      int seen = 0;
      for (uint32_t k = 0; k < out->n_notes; k++) seen |= out->notes[k] == sp->note;
      if (!seen) {
        int *nn = ts_arena_alloc(p->arena, (out->n_notes + 1) * sizeof *nn);
        if (!nn) { st = TS_ERR_NOMEM; goto done; }
        if (out->n_notes) memcpy(nn, out->notes, out->n_notes * sizeof *nn);
        nn[out->n_notes++] = sp->note;
        out->notes = nn;
      }
    }
  }
  out->n = (uint32_t)np;
  /* source line: the logically first piece */
  if (np) src_line = p->spans[lc->pcs[0].r->span].line;
  else if (p->n_spans) src_line = p->spans[0].line;
  if (np == 0 && p->n_runs) {
    for (size_t i = 0; i < p->n_runs; i++)
      if (p->runs[i].face) {
        asc = (float)(p->runs[i].face->ascender * p->runs[i].scale);
        desc = (float)(-p->runs[i].face->descender * p->runs[i].scale);
        break;
      }
  }

  /* 5. alignment within the measure (indent on the paragraph's start side) */
  double content = x, avail = measure - indent, off = 0;
  if (W >= 0) {
    if (p->o.mode == TS_LB_CENTER) off = (avail - content) / 2;
    else if (p->rtl) off = avail - content;
    if (off < 0 && p->o.mode != TS_LB_CENTER) off = p->rtl ? off : 0;
  }
  if (!p->rtl) off += indent;
  off -= prot_l;
  for (size_t v = 0; v < np; v++) out->runs[v].x += (float)off;

  out->width = (float)measure;
  out->natural = (float)(natural + prot_l + prot_r);
  out->protrude_l = (float)prot_l;
  out->protrude_r = (float)prot_r;
  out->ascent = asc;
  out->descent = desc;
  out->ratio = (float)ratio;
  out->hyphenated = (uint8_t)end_hyph;
  out->overfull = (uint8_t)(W >= 0 && overfull);
  out->last = (uint8_t)is_last;
  out->src_line = src_line;
  (void)li;
done:
  free(levels);
  free(vmap);
  return st;
}

static void trace_line(ts_buf *t, const ts_para *p, size_t li, const ts_lb_line *L,
                       const ts_line *ln)
{
  ts_buf_printf(t, "line %zu: ratio ", li + 1);
  ts_buf_num(t, ln->ratio, 3);
  ts_buf_puts(t, " badness ");
  ts_buf_num(t, L->badness, 0);
  ts_buf_puts(t, " demerits ");
  ts_buf_num(t, L->demerits, 0);
  ts_buf_printf(t, " fitness %d hyphenated %d%s", L->fitness, ln->hyphenated,
                ln->overfull ? " OVERFULL" : "");
  double hs = ln->n ? ln->runs[0].hscale : 1;
  if (hs > 0 && fabs(hs - 1) > 1e-5) {
    ts_buf_puts(t, " expansion ");
    ts_buf_num(t, hs, 4);
  }
  ts_buf_puts(t, " | ");
  uint32_t lb0 = p->pi[L->start < p->n_items ? L->start : p->n_items - 1].b0;
  uint32_t lb1 = p->pi[L->end < p->n_items ? L->end : p->n_items - 1].b0;
  if (lb1 > lb0) append_text(t, p->text + lb0, lb1 - lb0);
  if (ln->hyphenated) ts_buf_putc(t, '-');
  ts_buf_putc(t, '\n');
}

ts_status ts_text_para_lines(ts_para *p, ts_lb_width_fn width, void *user, ts_line **lines,
                             size_t *n_lines, ts_buf *trace)
{
  ts_status st = TS_OK;
  ts_lb_result res;
  memset(&res, 0, sizeof res);
  line_ctx lc = {p, NULL, NULL, 0, 0};
  *lines = NULL;
  *n_lines = 0;
  if (!p || !width) return TS_ERR_USAGE;
  p->reshapes = 0;
  p->glyphs_shaped = 0;
  TS_CHECK(ts_linebreak_ws(&p->ws->lb, &p->brk, p->o.mode, p->items, p->n_items, width, user,
                           &res, NULL));
  lc.buf = p->ws->buf; /* the paragraph's: creating it is done with it */
  ts_line *out = res.n ? ts_arena_alloc(p->arena, res.n * sizeof *out) : NULL;
  if (res.n && !out) { st = TS_ERR_NOMEM; goto done; }
  if (trace) {
    /* a header per paragraph, as TeX's @firstpass/@secondpass */
    ts_buf_printf(trace, "paragraph %s:%u: %zu lines, pass %d, demerits ",
                  p->o.file ? p->o.file : "-", p->n_spans ? p->spans[0].line : 0, res.n, res.pass);
    ts_buf_num(trace, res.total_demerits, 0);
    ts_buf_putc(trace, '\n');
  }
  size_t prev_end = SIZE_MAX;
  /* justified lines looser than the tolerance (set by the emergency or the
   * fallback pass): one warning a paragraph, as TeX's "Underfull \hbox
   * (badness b)" with \hbadness = \tolerance.  Real badness 100 r^3 of
   * the line's own glue (§108), not the one with emergency stretch. */
  size_t n_loose = 0;
  double worst = 0;
  for (size_t i = 0; i < res.n; i++) {
    double W = width(user, i);
    if (!(W >= 0) || W > 1e7) W = W > 1e7 ? 1e7 : 0; /* negative or NaN measures: zero */
    TS_CHECK(build_line(&lc, &res.lines[i], i, prev_end, i + 1 == res.n, W, &out[i]));
    prev_end = res.lines[i].end;
    if (out[i].overfull && p->d) {
      double over = out[i].natural - out[i].width;
      ts_diag_report(p->d, TS_WARNING, p->o.file, out[i].src_line, 0,
                     "overfull line (%.2f pt too wide for %.2f pt)", over, (double)out[i].width);
    }
    double r = out[i].ratio; /* as set (after reshaping), which the PDF shows */
    if (p->o.mode == TS_LB_JUSTIFY && i + 1 < res.n && !out[i].overfull && r > 0) {
      double bad = r > 10 ? 10000 : 100.0 * r * r * r;
      if (bad > 10000) bad = 10000;
      if (bad > p->brk.tolerance) {
        n_loose++;
        if (bad > worst) worst = bad;
      }
    }
    if (trace) trace_line(trace, p, i, &res.lines[i], &out[i]);
  }
  if (n_loose && p->d)
    ts_diag_report(p->d, TS_WARNING, p->o.file, p->n_spans ? p->spans[0].line : 0, 0,
                   "underfull paragraph: %zu line%s looser than the tolerance %.0f "
                   "(badness up to %.0f)", n_loose, n_loose == 1 ? "" : "s",
                   p->brk.tolerance, worst);
  *lines = out;
  *n_lines = res.n;
  ts_text_stats_add(p->ctx, p->glyphs_shaped, 0, res.n, p->reshapes);
done:
  free_pieces(&lc);
  free(lc.pcs);
  ts_lb_result_free(&res);
  return st;
}

ts_status ts_text_para_count_lines(ts_para *p, ts_lb_width_fn width, void *user,
                                   size_t *n_lines)
{
  ts_lb_result res;
  memset(&res, 0, sizeof res);
  if (n_lines) *n_lines = 0;
  if (!p || !width || !n_lines) return TS_ERR_USAGE;
  /* A paragraph without a forced or wished-for break (no penalty below 0)
   * whose material fits the first line at its natural width is one line:
   * that line has badness 0 and demerits linepenalty², and any break adds a
   * line of at least as much (§859), unless looseness asks for more lines.
   * Tables try each cell at many widths (most cells are short), so the
   * breaker is skipped there.  The 0.01 pt margin keeps clear of the
   * breaker's own rounding to sp. */
  if (p->one_state == 0) {
    double w = 0;
    int ok = p->n_items > 0 && p->brk.looseness == 0;
    for (size_t i = 0; i < p->n_items && ok; i++) {
      const ts_item *it = &p->items[i];
      if (it->type == TS_ITEM_PENALTY) ok = i + 1 == p->n_items || !(it->penalty < 0);
      else if (isfinite(it->width)) w += it->width;
      else ok = 0;
    }
    p->one_state = ok ? 1 : 2;
    p->one_w = w;
  }
  if (p->one_state == 1) {
    double w0 = width(user, 0);
    if (isfinite(w0) && p->one_w <= w0 - 0.01) {
      *n_lines = 1;
      return TS_OK;
    }
  }
  ts_status st = ts_linebreak_ws(&p->ws->lb, &p->brk, p->o.mode, p->items, p->n_items, width,
                                 user, &res, NULL);
  if (st == TS_OK) *n_lines = res.n;
  ts_lb_result_free(&res);
  return st;
}

ts_status ts_text_line(ts_ctx *ctx, ts_arena *arena, const ts_span *spans, size_t n,
                       const ts_para_opts *o, ts_diag *d, ts_line *out)
{
  ts_status st = TS_OK;
  ts_para *p = NULL;
  ts_para_opts oo;
  memset(&oo, 0, sizeof oo);
  if (o) oo = *o;
  oo.hyphenate = 0;
  oo.mode = TS_LB_RAGGED;
  line_ctx lc = {NULL, NULL, NULL, 0, 0};
  memset(out, 0, sizeof *out);
  TS_CHECK(ts_text_para_create(ctx, arena, spans, n, &oo, d, &p));
  lc.p = p;
  lc.buf = p->ws->buf;
  ts_lb_line L;
  memset(&L, 0, sizeof L);
  L.start = 0;
  L.end = p->n_items ? p->n_items - 1 : 0;
  if (p->n_items == 0) goto done;
  TS_CHECK(build_line(&lc, &L, 0, SIZE_MAX, 1, -1, out));
  ts_text_stats_add(ctx, 0, 0, 1, 0);
done:
  free_pieces(&lc);
  free(lc.pcs);
  ts_text_para_destroy(p);
  return st;
}
