/* page_blocks.c — code blocks, thematic breaks, tables and figures as
 * boxes of the galley. */
#include "page_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/utext.h>

static pg_box *line_box(pg_builder *b, double L, int kind) {
  pg_box *bx = pg_box_new(b->galley);
  if (!bx) {
    pg_fail(b, TS_ERR_NOMEM);
    return NULL;
  }
  bx->h = PG_STRUT_H * L;
  bx->d = PG_STRUT_D * L;
  bx->kind = kind;
  return bx;
}

static double extent_right(const ts_line *ln) {
  double x0, x1;
  pg_line_extent(ln, &x0, &x1);
  return x1;
}

static double extent_left(const ts_line *ln) {
  double x0, x1;
  pg_line_extent(ln, &x0, &x1);
  return x0;
}

static ts_para_opts opts(const pg_builder *b, ts_lb_mode mode) {
  return pg_para_opts(b, mode, 0, 0);
}

/* ---- code blocks --------------------------------------------------------
 * One paragraph per source line, ragged, never hyphenated.  Leading spaces
 * become an indent of that many character widths (tabs to multiples of 4);
 * a line too long for the measure wraps at its break opportunities and its
 * continuation lines start with "↪" (as listings' postbreak). */
void pg_build_code(pg_builder *b, const ts_node *n, double left, double right) {
  const ts_block_style *cs = &b->st->code;
  double L = pg_leading(cs);
  double measure = b->col_w - left - right;
  pg_space(b, cs->space_before);
  ts_span probe = pg_span_plain(b, cs, "0");
  probe.role = TS_ROLE_MONO;
  ts_line pl;
  if (!pg_line(b, &probe, 1, &pl)) return;
  double cw = extent_right(&pl) > 0 ? extent_right(&pl) : 0.6 * cs->size;
  ts_span mark = pg_span_plain(b, cs, "\xE2\x86\xAA"); /* ↪ */
  mark.role = TS_ROLE_MONO;
  mark.color = 0x888888;
  ts_line ml;
  if (!pg_line(b, &mark, 1, &ml)) return;
  double mark_w = 2 * cw;

  /* collect line boxes first: widows and orphans need the count */
  pg_box **boxes = NULL;
  uint8_t *hy = NULL;
  size_t nb = 0, cap = 0;
  const char *t = n->text ? n->text : "";
  size_t len = n->len;
  if (len && t[len - 1] == '\n') len--;
  size_t pos = 0;
  while (pos <= len && !b->err) {
    size_t e = pos;
    while (e < len && t[e] != '\n') e++;
    size_t s = pos, col = 0;
    while (s < e && (t[s] == ' ' || t[s] == '\t')) {
      col = t[s] == '\t' ? (col / 4 + 1) * 4 : col + 1;
      s++;
    }
    double ind = col * cw;
    if (ind > measure / 2) ind = floor(measure / 2 / cw) * cw;
    ts_line *ls = NULL;
    size_t nl = 0;
    if (s < e) {
      ts_span sp = pg_span_plain(b, cs, NULL);
      sp.text = t + s;
      sp.len = e - s;
      sp.model_text = 1;
      sp.role = TS_ROLE_MONO;
      sp.no_hyphen = 1;
      sp.line = n->line + 1;
      ts_para_opts o = opts(b, TS_LB_RAGGED);
      ts_para *p = NULL;
      ts_status st = ts_text_para_create(b->ctx, b->a, &sp, 1, &o, b->d, &p);
      if (st != TS_OK) { pg_fail(b, st); return; }
      pg_widths w = {measure - ind, measure - ind - mark_w};
      if (w.rest < 4 * cw) w.rest = 4 * cw;
      st = ts_text_para_lines(p, pg_width_fn, &w, &ls, &nl, b->trace);
      ts_text_para_destroy(p);
      if (st != TS_OK) { pg_fail(b, st); return; }
    }
    size_t count = nl ? nl : 1;
    for (size_t k = 0; k < count; k++) {
      pg_box *bx = line_box(b, L, PG_BOX_LINE);
      if (!bx) return;
      if (nl) {
        double x = left + ind + (k > 0 ? mark_w : 0);
        pg_draw_line(b, bx, &ls[k], x, 0);
        if (k > 0) pg_draw_line(b, bx, &ml, left + ind, 0);
        if (ls[k].overfull) b->n_overfull++;
        b->n_lines++;
      }
      if (nb == cap) {
        size_t nc = cap ? cap * 2 : 32;
        pg_box **nbx = ts_arena_alloc(b->galley, nc * sizeof *nbx);
        uint8_t *nh = ts_arena_alloc(b->a, nc);
        if (!nbx || !nh) { pg_fail(b, TS_ERR_NOMEM); return; }
        if (nb) {
          memcpy(nbx, boxes, nb * sizeof *nbx);
          memcpy(nh, hy, nb);
        }
        boxes = nbx;
        hy = nh;
        cap = nc;
      }
      hy[nb] = 0;
      boxes[nb++] = bx;
    }
    pos = e + 1;
  }
  int orphans = b->st->orphans > 0 ? b->st->orphans : 1;
  int widows = b->st->widows > 0 ? b->st->widows : 1;
  for (size_t k = 0; k < nb; k++) {
    if (k > 0) {
      double p = 0;
      if (k < (size_t)orphans || nb - k < (size_t)widows) p = PG_INF_PENALTY;
      pg_emit_penalty(b, p, 0);
    }
    pg_emit_box(b, boxes[k]);
  }
  pg_space_after(b, cs->space_after);
}

/* ---- thematic break: a centred three-star asterism ----------------------- */
void pg_build_rule(pg_builder *b, double left, double right) {
  const ts_block_style *bs = &b->st->body;
  double L = pg_leading(bs);
  pg_space(b, 0.5 * L);
  ts_span sp = pg_span_plain(b, bs, "*\xE2\x80\x83*\xE2\x80\x83*");
  ts_line ln;
  if (!pg_line(b, &sp, 1, &ln)) return;
  pg_box *bx = line_box(b, L, PG_BOX_RULE);
  if (!bx) return;
  double measure = b->col_w - left - right;
  double w = extent_right(&ln) - extent_left(&ln);
  pg_draw_line(b, bx, &ln, left + (measure - w) / 2 - extent_left(&ln), 0);
  pg_emit_box(b, bx);
  pg_space_after(b, 0.5 * L);
}

/* ---- tables ----------------------------------------------------------------
 * Automatic column widths as in CSS 2.1 §17.5.2.2 (auto table layout): each
 * column's minimum (min-content: its widest piece between two line-break
 * opportunities of UAX #14) and maximum (max-content: its longest unbroken
 * line).  When the maxima fit, the table takes them; else each column gets
 * its minimum plus a share of the rest proportional to max − min.  Cells are
 * set ragged right and not hyphenated.  Only when even the minima do not fit
 * are body cells hyphenated (a column's floor becomes its widest hyphenated
 * fragment, but never less than its header's words: headers are hyphenated
 * last), and the columns with the most to give shrink first, so as few
 * columns as possible are hyphenated.  Booktabs rules: heavy above and below,
 * light under the header, which is repeated at the top of every frame the
 * table continues on. */

#define MAX_COLS 64

typedef struct cell {
  ts_para *p;
  const ts_node *node;
  double minw, maxw;    /* min-content / max-content */
  double hminw;         /* min-content when hyphenated */
  ts_line *lines;
  size_t nl;
} cell;

static int is_trail_space(char c) { return c == ' ' || c == '\n' || c == '\t'; }

/* Widths of one-span table pieces already measured in this document:
 * tables repeat their words (years, units, names), and setting a piece as
 * a line costs ~25 k instructions.  Keyed by what decides the width (the
 * span's role, weight, slope, small capitals, position, size and text);
 * the width is the one measuring it again would give. */
typedef struct pg_pw_entry {
  uint64_t h;
  const char *key; /* galley */
  uint32_t len;
  double w;
} pg_pw_entry;
#define PW_FIRST 256  /* the table's first size; doubled at half full */
#define PW_SLOTS 8192 /* at most (then at most half full) */

static size_t pw_key(const ts_span *sp, char *out, size_t cap) {
  struct {
    int32_t role, bold, italic, smallcaps, script_pos;
    double size;
  } k;
  memset(&k, 0, sizeof k);
  k.role = (int32_t)sp->role;
  k.bold = sp->bold;
  k.italic = sp->italic;
  k.smallcaps = sp->smallcaps;
  k.script_pos = sp->script_pos;
  k.size = sp->size;
  if (sizeof k + sp->len > cap) return 0;
  memcpy(out, &k, sizeof k);
  memcpy(out + sizeof k, sp->text, sp->len);
  return sizeof k + sp->len;
}

/* Grows the memo to cap slots (zeroed by the arena), moving its entries;
 * 0 on OOM (the memo stays as it was). */
static int pw_grow(pg_builder *b, size_t cap) {
  pg_pw_entry *n = ts_arena_alloc(b->galley, cap * sizeof *n);
  if (!n) return 0;
  for (size_t k = 0; b->pw_memo && k < b->pw_cap; k++) {
    const pg_pw_entry *e = &b->pw_memo[k];
    if (!e->key) continue;
    size_t i = (size_t)e->h & (cap - 1);
    while (n[i].key) i = (i + 1) & (cap - 1);
    n[i] = *e;
  }
  b->pw_memo = n; /* the old table stays in the galley until the document ends */
  b->pw_cap = cap;
  return 1;
}

static pg_pw_entry *pw_slot(pg_builder *b, const char *key, size_t len, uint64_t h) {
  if (!b->pw_memo && !pw_grow(b, PW_FIRST)) return NULL;
  if (b->pw_n >= b->pw_cap / 2 && b->pw_cap < PW_SLOTS) (void)pw_grow(b, 2 * b->pw_cap);
  size_t mask = b->pw_cap - 1;
  for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
    pg_pw_entry *e = &b->pw_memo[i];
    if (!e->key || (e->h == h && e->len == len && !memcmp(e->key, key, len))) return e;
  }
}

static double piece_width_set(pg_builder *b, const ts_span *tmp, size_t m) {
  ts_line ln;
  ts_para_opts o = pg_para_opts(b, TS_LB_RAGGED, 0, 0);
  ts_status st = ts_text_line(b->ctx, b->tmp, tmp, m, &o, b->d, &ln);
  double w = st == TS_OK ? extent_right(&ln) : 0;
  ts_arena_clear(b->tmp);
  pg_fail(b, st);
  return w;
}

/* Width of text [s, e) of the cell's concatenated spans (buf offsets,
 * span k starting at at[k]), shaped as one line. */
static double piece_width(pg_builder *b, const ts_span *sp, size_t n, const size_t *at,
                          size_t s, size_t e, ts_span *tmp) {
  size_t m = 0;
  for (size_t k = 0; k < n; k++) {
    if (!sp[k].text) continue;
    size_t a0 = at[k], a1 = at[k] + sp[k].len;
    size_t lo = s > a0 ? s : a0, hi = e < a1 ? e : a1;
    if (lo >= hi) continue;
    tmp[m] = sp[k];
    tmp[m].text = sp[k].text + (lo - a0);
    tmp[m].len = hi - lo;
    m++;
  }
  if (m == 0 || b->err) return 0;
  /* the line is measured and dropped: set it in the scratch arena */
  char key[256];
  size_t kl = m == 1 ? pw_key(&tmp[0], key, sizeof key) : 0;
  if (kl == 0) return piece_width_set(b, tmp, m);
  uint64_t h = ts_hash64(key, kl, 0x7077);
  pg_pw_entry *slot = pw_slot(b, key, kl, h);
  if (slot && slot->key) return slot->w;
  double w = piece_width_set(b, tmp, m);
  if (slot && !b->err && b->pw_n < b->pw_cap / 2) {
    char *k = ts_arena_alloc(b->galley, kl);
    if (k) {
      memcpy(k, key, kl);
      *slot = (pg_pw_entry){h, k, (uint32_t)kl, w};
      b->pw_n++;
    }
  }
  return w;
}

/* A cell's widths: max-content from one unbroken line; min-content from its
 * pieces between UAX #14 break opportunities (ICU's line iterator, as the
 * text engine breaks), each measured alone with its trailing spaces
 * dropped; the hyphenated min-content cuts each piece of a single
 * hyphenatable span at its hyphenation points (the hyphen counted). */
static int measure_cell(pg_builder *b, cell *c, const ts_span *sp, size_t n,
                        UBreakIterator **line_bi) {
  ts_line *ls = NULL;
  size_t nl = 0;
  pg_widths wide = {1e6, 1e6};
  ts_status st = ts_text_para_lines(c->p, pg_width_fn, &wide, &ls, &nl, NULL);
  if (st != TS_OK) { pg_fail(b, st); return 0; }
  c->maxw = 0;
  for (size_t k = 0; k < nl; k++)
    if (extent_right(&ls[k]) - extent_left(&ls[k]) > c->maxw)
      c->maxw = extent_right(&ls[k]) - extent_left(&ls[k]);
  c->minw = c->hminw = 0;

  size_t total = 0;
  for (size_t k = 0; k < n; k++) total += sp[k].text ? sp[k].len : 1;
  if (total == 0 || total > INT32_MAX) goto done;
  char *buf = ts_arena_alloc(b->a, total + 1);
  size_t *at = ts_arena_alloc(b->a, (n + 1) * sizeof *at);
  ts_span *tmp = ts_arena_alloc(b->a, n * sizeof *tmp);
  if (!buf || !at || !tmp) { pg_fail(b, TS_ERR_NOMEM); return 0; }
  size_t pos = 0;
  for (size_t k = 0; k < n; k++) {
    at[k] = pos;
    if (sp[k].text) {
      memcpy(buf + pos, sp[k].text, sp[k].len);
      pos += sp[k].len;
    } else {
      buf[pos++] = '\n'; /* a forced break */
    }
  }
  buf[pos] = 0;
  at[n] = pos;

  const char *hlang = b->st->hyphen_lang ? b->st->hyphen_lang : b->lang;
  if (!hlang || !*hlang) hlang = "en";
  int lmin = b->st->brk.lefthyphenmin > 0 ? b->st->brk.lefthyphenmin : 2;
  int rmin = b->st->brk.righthyphenmin > 0 ? b->st->brk.righthyphenmin : 3;
  double hyw = -1; /* the hyphen's width, measured once */

  /* the table's line break iterator, opened for its first cell (opening
   * one costs more than measuring a cell) */
  UErrorCode ue = U_ZERO_ERROR;
  UText *ut = utext_openUTF8(NULL, buf, (int64_t)total, &ue);
  if (U_SUCCESS(ue) && !*line_bi)
    *line_bi = ubrk_open(UBRK_LINE, b->lang ? b->lang : "", NULL, 0, &ue);
  UBreakIterator *bi = U_SUCCESS(ue) ? *line_bi : NULL;
  if (bi) ubrk_setUText(bi, ut, &ue);
  if (!bi || U_FAILURE(ue)) bi = NULL; /* the whole cell is one piece */
  int32_t s = 0, e = bi ? ubrk_first(bi) : 0;
  for (;;) {
    s = e;
    if (bi) {
      e = ubrk_next(bi);
      if (e == UBRK_DONE) break;
    } else {
      if (s >= (int32_t)total) break;
      e = (int32_t)total;
    }
    size_t ps = (size_t)s, pe = (size_t)e;
    while (pe > ps && is_trail_space(buf[pe - 1])) pe--;
    if (pe == ps) continue;
    double pw = piece_width(b, sp, n, at, ps, pe, tmp);
    if (b->err) break;
    if (pw > c->minw) c->minw = pw;
    if (pw <= c->hminw) continue;
    /* hyphenated fragments of a piece inside one plain span */
    double hw = pw;
    size_t k = 0;
    while (k + 1 < n && at[k + 1] <= ps) k++;
    if (sp[k].text && !sp[k].no_hyphen && pe <= at[k] + sp[k].len) {
      size_t ws = ps, we = pe; /* the word without surrounding punctuation */
      while (ws < we && (unsigned char)buf[ws] < 0x80 && !((buf[ws] | 32) >= 'a' && (buf[ws] | 32) <= 'z'))
        ws++;
      while (we > ws && (unsigned char)buf[we - 1] < 0x80 &&
             !((buf[we - 1] | 32) >= 'a' && (buf[we - 1] | 32) <= 'z'))
        we--;
      size_t hp[32];
      /* the patterns the text engine will use: a span's own language's (para.c) */
      const char *wlang = ts_hy_span_lang(b->lang, hlang, sp[k].lang);
      size_t nh = we > ws ? ts_hyphenate(b->ctx, wlang, buf + ws, we - ws, lmin, rmin, hp, 32) : 0;
      if (nh > 0) {
        if (hyw < 0) {
          ts_span h = sp[k];
          h.text = "-";
          h.model_text = 0;
          h.len = 1;
          hyw = piece_width(b, &h, 1, at + k, at[k], at[k] + 1, tmp);
        }
        hw = 0;
        size_t f0 = ps;
        for (size_t q = 0; q <= nh && !b->err; q++) {
          size_t f1 = q < nh ? ws + hp[q] : pe;
          if (f1 <= f0) continue;
          double fw = piece_width(b, sp, n, at, f0, f1, tmp) + (q < nh ? hyw : 0);
          if (fw > hw) hw = fw;
          f0 = f1;
        }
      }
    }
    if (hw > c->hminw) c->hminw = hw;
  }
  utext_close(ut);
  if (b->err) return 0;
done:
  if (c->maxw < c->minw) c->maxw = c->minw;
  if (c->hminw > c->minw) c->hminw = c->minw;
  c->minw += 0.5; /* room for rounding in the engine's overfull test */
  c->hminw += 0.5;
  c->maxw += 0.5;
  return 1;
}

/* Lines of a cell set at column width cw. */
static size_t cell_lines(pg_builder *b, cell *ce, double cw, double pad) {
  if (!ce->p) return 1;
  pg_widths wd = {cw - 2 * pad, cw - 2 * pad};
  if (wd.first < 1) wd.first = wd.rest = 1;
  size_t nl = 0;
  ts_status st = ts_text_para_count_lines(ce->p, pg_width_fn, &wd, &nl);
  if (st != TS_OK) {
    pg_fail(b, st);
    return 1;
  }
  return nl ? nl : 1;
}

/* Line counts of column c's cells at w[c] - steps[q] (sgn 0) or + steps[q]
 * (sgn 1), computed once while w[c] stays (the descent tries each column's
 * widths against every other column). */
#define SHORTEN_STEPS 4
typedef struct col_memo {
  size_t *cnt;          /* [(sgn * SHORTEN_STEPS + q) * nc + c][row] */
  uint8_t *ok;          /* [(sgn * SHORTEN_STEPS + q) * nc + c] */
  size_t nrows, nc;
} col_memo;

static const size_t *memo_lines(pg_builder *b, col_memo *m, cell *cells, size_t c, int sgn,
                                int q, double w, double pad) {
  size_t k = ((size_t)sgn * SHORTEN_STEPS + (size_t)q) * m->nc + c;
  size_t *out = m->cnt + k * m->nrows;
  if (!m->ok[k]) {
    for (size_t r = 0; r < m->nrows && !b->err; r++)
      out[r] = cell_lines(b, &cells[r * m->nc + c], w, pad);
    m->ok[k] = 1;
  }
  return out;
}

/* The CSS widths are proportional, not good: a long header can take four
 * lines beside a column with room to spare.  A steepest descent moves width
 * between columns (never below a column's min-content, so nothing new is
 * hyphenated) while the table gets shorter in lines (the rows' tallest cells
 * summed), or its header does (it is repeated on every page), or, the
 * two not growing, fewer cells are as tall as their row (so a row made
 * tall by two columns can be shortened one column at a time).  Small
 * tables only (a few breaks per cell and move); returns 0 on failure
 * (b->err set). */
#define SHORTEN_MAX_CELLS 120
static int shorten_table(pg_builder *b, cell *cells, const uint8_t *header, size_t nrows,
                         int ncols, double pad, const double *minw, double *w) {
  size_t nc = (size_t)ncols;
  if (ncols < 2 || nrows * nc > SHORTEN_MAX_CELLS) return 1;
  size_t *cnt = ts_arena_alloc(b->a, nrows * nc * sizeof *cnt);
  size_t *ti = ts_arena_alloc(b->a, nrows * sizeof *ti);
  size_t *tj = ts_arena_alloc(b->a, nrows * sizeof *tj);
  col_memo memo = {ts_arena_alloc(b->a, 2 * SHORTEN_STEPS * nc * nrows * sizeof(size_t)),
                   ts_arena_alloc(b->a, 2 * SHORTEN_STEPS * nc), nrows, nc};
  if (!cnt || !ti || !tj || !memo.cnt || !memo.ok) {
    pg_fail(b, TS_ERR_NOMEM);
    return 0;
  }
  /* cost: the table's lines first, then all cells' lines (so a plateau,
   * two columns making a row tall, can be left one column at a time) */
  size_t total = 0, head = 0, cells_total = 0;
  for (size_t r = 0; r < nrows; r++) {
    size_t mx = 1;
    for (size_t c = 0; c < nc; c++) {
      cnt[r * nc + c] = cell_lines(b, &cells[r * nc + c], w[c], pad);
      if (cnt[r * nc + c] > mx) mx = cnt[r * nc + c];
    }
    for (size_t c = 0; c < nc; c++) cells_total += cnt[r * nc + c] == mx;
    total += mx;
    if (header[r]) head += mx;
  }
  static const double steps[SHORTEN_STEPS] = {4, 12, 24, 48};
  for (int iter = 0; iter < 24 && !b->err; iter++) {
    size_t best_total = total, best_head = head, best_cells = cells_total;
    int bi = -1, bj = -1;
    double bd = 0;
    for (size_t i = 0; i < nc; i++)
      for (size_t j = 0; j < nc; j++) {
        if (i == j) continue;
        for (size_t q = 0; q < sizeof steps / sizeof *steps; q++) {
          double d = steps[q];
          if (w[i] - d < minw[i]) break;
          size_t t = 0, th = 0, tc = 0;
          const size_t *li = memo_lines(b, &memo, cells, i, 0, (int)q, w[i] - d, pad);
          const size_t *lj = memo_lines(b, &memo, cells, j, 1, (int)q, w[j] + d, pad);
          for (size_t r = 0; r < nrows && !b->err; r++) {
            ti[r] = li[r];
            tj[r] = lj[r];
            size_t mx = ti[r] > tj[r] ? ti[r] : tj[r];
            for (size_t c = 0; c < nc; c++)
              if (c != i && c != j && cnt[r * nc + c] > mx) mx = cnt[r * nc + c];
            for (size_t c = 0; c < nc; c++) {
              size_t k = c == i ? ti[r] : c == j ? tj[r] : cnt[r * nc + c];
              tc += k == mx;
            }
            t += mx;
            if (header[r]) th += mx;
          }
          if (t < best_total || (t == best_total && th < best_head) ||
              (t == best_total && th == best_head && tc < best_cells)) {
            best_total = t;
            best_head = th;
            best_cells = tc;
            bi = (int)i;
            bj = (int)j;
            bd = d;
          }
        }
      }
    if (bi < 0 || b->err) break;
    w[bi] -= bd;
    w[bj] += bd;
    for (size_t k = 0; k < 2 * SHORTEN_STEPS; k++) /* their trials are stale */
      memo.ok[k * nc + (size_t)bi] = memo.ok[k * nc + (size_t)bj] = 0;
    for (size_t r = 0; r < nrows; r++) {
      cnt[r * nc + (size_t)bi] = cell_lines(b, &cells[r * nc + (size_t)bi], w[bi], pad);
      cnt[r * nc + (size_t)bj] = cell_lines(b, &cells[r * nc + (size_t)bj], w[bj], pad);
    }
    total = best_total;
    head = best_head;
    cells_total = best_cells;
  }
  return !b->err;
}

/* The smallest type a table too wide is set in (pt): 2 pt still prints,
 * and reads under a loupe or zoomed on screen. */
#define TABLE_MIN_SIZE 2.0

/* The table, set in ts; *cells_out, *n_cells get the cells as soon as they
 * exist, so that pg_build_table frees their paragraphs on every way out.
 * When even the cells' hyphenated fragments do not fit the measure and
 * shrink is not NULL, nothing is placed: *shrink gets the factor by which
 * the table's type would fit. */
static void build_table(pg_builder *b, const ts_node *n, double left, double right,
                        const ts_block_style *ts, double *shrink, cell **cells_out,
                        size_t *n_cells, UBreakIterator **line_bi) {
  double L = pg_leading(ts);
  double measure = b->col_w - left - right;
  if (measure < 36) measure = 36;
  int ncols = n->ncols;
  size_t nrows = 0;
  for (const ts_node *r = n->first; r; r = r->next) {
    if (r->type != TS_NODE_TABLE_ROW) continue;
    nrows++;
    int k = 0;
    for (const ts_node *c = r->first; c; c = c->next) k++;
    if (k > ncols) ncols = k;
  }
  if (ncols <= 0 || nrows == 0) return;
  if (ncols > MAX_COLS) {
    if (shrink) /* said on the first attempt only */
      ts_diag_report(b->d, TS_WARNING, b->doc->path, n->line, n->col,
                     "table has %d columns; only the first %d are set", ncols, MAX_COLS);
    ncols = MAX_COLS;
  }
  cell *cells = ts_arena_alloc(b->a, nrows * (size_t)ncols * sizeof *cells);
  double *minw = ts_arena_alloc(b->a, (size_t)ncols * sizeof(double));
  double *maxw = ts_arena_alloc(b->a, (size_t)ncols * sizeof(double));
  double *w = ts_arena_alloc(b->a, (size_t)ncols * sizeof(double));
  double *cx = ts_arena_alloc(b->a, (size_t)ncols * sizeof(double));
  uint8_t *header = ts_arena_alloc(b->a, nrows);
  if (!cells || !minw || !maxw || !w || !cx || !header) { pg_fail(b, TS_ERR_NOMEM); return; }
  *cells_out = cells;
  *n_cells = nrows * (size_t)ncols;
  double pad = 0.5 * ts->size; /* half the column gap on each side */

  /* shape and measure every cell */
  size_t ri = 0;
  for (const ts_node *r = n->first; r && !b->err; r = r->next) {
    if (r->type != TS_NODE_TABLE_ROW) continue;
    header[ri] = (uint8_t)(r->header != 0);
    int ci = 0;
    for (const ts_node *c = r->first; c && ci < ncols; c = c->next, ci++) {
      cell *ce = &cells[ri * (size_t)ncols + (size_t)ci];
      ce->node = c;
      ts_block_style cbs = *ts;
      if (r->header) cbs.bold = 1;
      ts_span *sp = NULL;
      size_t nsp = 0;
      pg_inline_spans(b, c, &cbs, &sp, &nsp);
      if (b->err) return;
      if (nsp == 0) continue;
      uint8_t al = (n->align && ci < n->ncols) ? n->align[ci] : TS_ALIGN_NONE;
      (void)al; /* cells are set ragged; alignment is applied when placing */
      ts_para_opts o = opts(b, TS_LB_RAGGED);
      ts_status st = ts_text_para_create(b->ctx, b->a, sp, nsp, &o, b->d, &ce->p);
      if (st != TS_OK) { pg_fail(b, st); return; }
      if (!measure_cell(b, ce, sp, nsp, line_bi)) return;
      if (ce->minw + 2 * pad > minw[ci]) minw[ci] = ce->minw + 2 * pad;
      if (ce->maxw + 2 * pad > maxw[ci]) maxw[ci] = ce->maxw + 2 * pad;
    }
    ri++;
  }
  /* floors of each column: level 0 its min-content (nothing hyphenated),
   * level 1 its header's min-content or its body's hyphenated min-content,
   * level 2 everything hyphenated */
  double *floor1 = ts_arena_alloc(b->a, (size_t)ncols * sizeof(double));
  double *floor2 = ts_arena_alloc(b->a, (size_t)ncols * sizeof(double));
  if (!floor1 || !floor2) { pg_fail(b, TS_ERR_NOMEM); return; }
  for (size_t r = 0; r < nrows; r++)
    for (int c = 0; c < ncols; c++) {
      const cell *ce = &cells[r * (size_t)ncols + (size_t)c];
      if (!ce->p) continue;
      double f1 = (header[r] ? ce->minw : ce->hminw) + 2 * pad;
      double f2 = ce->hminw + 2 * pad;
      if (f1 > floor1[c]) floor1[c] = f1;
      if (f2 > floor2[c]) floor2[c] = f2;
    }
  double smin = 0, smax = 0, s1 = 0, s2 = 0;
  for (int c = 0; c < ncols; c++) {
    if (maxw[c] < 2 * pad) maxw[c] = minw[c] = 2 * pad;
    if (floor1[c] < 2 * pad) floor1[c] = 2 * pad;
    if (floor2[c] < 2 * pad) floor2[c] = 2 * pad;
    if (floor1[c] > minw[c]) floor1[c] = minw[c];
    if (floor2[c] > floor1[c]) floor2[c] = floor1[c];
    smin += minw[c];
    smax += maxw[c];
    s1 += floor1[c];
    s2 += floor2[c];
  }
  if (smax <= measure) {
    for (int c = 0; c < ncols; c++) w[c] = maxw[c];
  } else if (smin <= measure) {
    /* CSS: the minimum plus a share of the rest in proportion to max − min */
    double f = smax > smin ? (measure - smin) / (smax - smin) : 0;
    for (int c = 0; c < ncols; c++) w[c] = minw[c] + (maxw[c] - minw[c]) * f;
    if (!shorten_table(b, cells, header, nrows, ncols, pad, minw, w)) return;
  } else if (s2 <= measure) {
    /* hyphenation needed: from the min-contents, take the excess from the
     * columns that can give most (down to their floor), body columns before
     * headers, so few columns are hyphenated */
    double *fl = s1 <= measure ? floor1 : floor2;
    double excess = smin - measure;
    for (int c = 0; c < ncols; c++) w[c] = minw[c];
    while (excess > 0.01) {
      int best = -1;
      for (int c = 0; c < ncols; c++)
        if (w[c] - fl[c] > 0.01 && (best < 0 || w[c] - fl[c] > w[best] - fl[best])) best = c;
      if (best < 0) break;
      /* shrink the widest-giving column to the next one's slack (or by the
       * whole excess), then look again */
      double next = 0;
      for (int c = 0; c < ncols; c++)
        if (c != best && w[c] - fl[c] > next) next = w[c] - fl[c];
      double give = (w[best] - fl[best]) - next;
      if (give < 0.5) give = 0.5;
      if (give > w[best] - fl[best]) give = w[best] - fl[best];
      if (give > excess) give = excess;
      w[best] -= give;
      excess -= give;
    }
  } else if (shrink) {
    /* even the hyphenated fragments do not fit: the table is set again in
     * smaller type, its gaps with it, so that they do — what an editor does
     * by hand with a table too wide (squeezed below their fragments, the
     * columns had set their words over each other) */
    *shrink = measure / s2;
    return;
  } else {
    /* set as small as it may be and still too wide (a word longer than
     * hyphenation takes, a long URL): columns shrink in proportion, and
     * what overflows them the text engine reports as overfull lines */
    for (int c = 0; c < ncols; c++) w[c] = floor2[c] * measure / (s2 > 0 ? s2 : 1);
  }
  /* a cell whose words do not fit its column is hyphenated */
  for (size_t r = 0; r < nrows && !b->err; r++)
    for (int c = 0; c < ncols; c++) {
      cell *ce = &cells[r * (size_t)ncols + (size_t)c];
      if (!ce->p || ce->minw + 2 * pad <= w[c] + 0.01) continue;
      ts_block_style cbs = *ts;
      if (header[r]) cbs.bold = 1;
      ts_span *sp = NULL;
      size_t nsp = 0;
      pg_inline_spans(b, ce->node, &cbs, &sp, &nsp);
      if (b->err) return;
      ts_para_opts o = opts(b, TS_LB_RAGGED);
      o.hyphenate = 1;
      /* the column's floor counts every hyphenation point usable: a long
       * compound in a narrow column breaks on every line, which the
       * style's limit on consecutive hyphenated lines (for running text)
       * would refuse, leaving the cell's lines overfull */
      o.free_hyphen_lines = 1;
      ts_text_para_destroy(ce->p);
      ce->p = NULL;
      ts_status st = ts_text_para_create(b->ctx, b->a, sp, nsp, &o, b->d, &ce->p);
      if (st != TS_OK) { pg_fail(b, st); return; }
    }
  double tw = 0;
  for (int c = 0; c < ncols; c++) tw += w[c];
  if (tw > measure) tw = measure;
  double x0 = left + (measure - tw) / 2; /* narrower tables are centred */
  double acc = x0;
  for (int c = 0; c < ncols; c++) {
    cx[c] = acc;
    acc += w[c];
  }

  size_t group = b->caption_start ? b->caption_start - 1 : b->v->n;
  b->caption_start = 0;
  pg_space(b, ts->space_before);
  pg_box *hdr = NULL;
  int tid = ++b->para_id;
  double heavy = 0.8, light = 0.4;
  double padv = 0.22 * L;
  size_t body_rows = 0;
  double total = 0;
  pg_box **rows = ts_arena_alloc(b->a, nrows * sizeof *rows);
  if (!rows) { pg_fail(b, TS_ERR_NOMEM); return; }
  for (size_t r = 0; r < nrows && !b->err; r++) {
    size_t maxl = 1;
    for (int c = 0; c < ncols; c++) {
      cell *ce = &cells[r * (size_t)ncols + (size_t)c];
      if (!ce->p) continue;
      pg_widths wd = {w[c] - 2 * pad, w[c] - 2 * pad};
      if (wd.first < 1) wd.first = wd.rest = 1;
      ts_status st = ts_text_para_lines(ce->p, pg_width_fn, &wd, &ce->lines, &ce->nl, b->trace);
      if (st != TS_OK) { pg_fail(b, st); return; }
      if (ce->nl > maxl) maxl = ce->nl;
    }
    pg_box *bx = pg_box_new(b->galley);
    if (!bx) { pg_fail(b, TS_ERR_NOMEM); return; }
    bx->kind = PG_BOX_TABLE;
    bx->h = PG_STRUT_H * L + padv;
    bx->d = (double)(maxl - 1) * L + PG_STRUT_D * L + padv;
    bx->table = tid;
    bx->table_x = x0;
    bx->table_w = tw;
    int is_header = header[r] && r == 0;
    if (is_header) {
      bx->h += padv * 0.5;
      ts_draw *top = pg_box_draw(b->galley, bx);
      ts_draw *mid = pg_box_draw(b->galley, bx);
      if (!top || !mid) { pg_fail(b, TS_ERR_NOMEM); return; }
      top->kind = TS_DRAW_RULE;
      top->x = x0; top->y = bx->h; top->w = tw; top->lw = heavy;
      top->color = b->st->rule_color;
      mid->kind = TS_DRAW_RULE;
      mid->x = x0; mid->y = -bx->d; mid->w = tw; mid->lw = light;
      mid->color = b->st->rule_color;
      hdr = bx;
      bx->table_row = 0;
    } else {
      body_rows++;
      bx->table_row = (int)body_rows;
      bx->table_header = hdr;
      if (r == 0) { /* no header row: a top rule all the same */
        bx->h += padv * 0.5;
        ts_draw *top = pg_box_draw(b->galley, bx);
        if (!top) { pg_fail(b, TS_ERR_NOMEM); return; }
        top->kind = TS_DRAW_RULE;
        top->x = x0; top->y = bx->h; top->w = tw; top->lw = heavy;
        top->color = b->st->rule_color;
      }
    }
    if (r == nrows - 1) {
      bx->table_last = 1;
      bx->d += padv * 0.5;
      ts_draw *bot = pg_box_draw(b->galley, bx);
      if (!bot) { pg_fail(b, TS_ERR_NOMEM); return; }
      bot->kind = TS_DRAW_RULE;
      bot->x = x0; bot->y = -bx->d; bot->w = tw; bot->lw = heavy;
      bot->color = b->st->rule_color;
    }
    for (int c = 0; c < ncols; c++) {
      cell *ce = &cells[r * (size_t)ncols + (size_t)c];
      uint8_t al = (n->align && c < n->ncols) ? n->align[c] : TS_ALIGN_NONE;
      for (size_t k = 0; k < ce->nl; k++) {
        const ts_line *ln = &ce->lines[k];
        double inner = w[c] - 2 * pad;
        double off = 0;
        if (al == TS_ALIGN_RIGHT) off = inner - extent_right(ln);
        else if (al == TS_ALIGN_CENTER)
          off = (inner - (extent_right(ln) - extent_left(ln))) / 2 - extent_left(ln);
        pg_draw_line(b, bx, ln, cx[c] + pad + off, -(double)k * L);
        if (ln->overfull) b->n_overfull++;
        b->n_lines++;
        for (uint32_t q = 0; q < ln->n; q++)
          if (ln->runs[q].note > 0)
            pg_note_ref(b, bx, ln->runs[q].note, cx[c] + pad + off + ln->runs[q].x);
      }
    }
    rows[r] = bx;
    total += bx->h + bx->d;
  }
  if (b->err) return;
  /* a table shorter than 40% of a frame is never split; a longer one never
   * leaves its header alone, nor a single body row at either end */
  int whole = total <= 0.4 * b->frame_h;
  size_t first_body = hdr ? 1 : 0;
  for (size_t r = 0; r < nrows; r++) {
    if (r > 0) {
      double p = 0;
      if (whole || r <= first_body + 1 || r + 1 == nrows) p = PG_INF_PENALTY;
      pg_emit_penalty(b, p, 0);
    }
    pg_emit_box(b, rows[r]);
  }
  if (whole && b->v == &b->main && group < b->v->n)
    b->v->items[group].float_end = (uint32_t)b->v->n; /* may float to the next frame */
  pg_space_after(b, ts->space_after);
}

void pg_build_table(pg_builder *b, const ts_node *n, double left, double right) {
  cell *cells = NULL;
  size_t n_cells = 0;
  UBreakIterator *line_bi = NULL;
  double shrink = 0;
  build_table(b, n, left, right, &b->st->table, &shrink, &cells, &n_cells, &line_bi);
  if (shrink > 0 && !b->err) {
    for (size_t i = 0; i < n_cells; i++) ts_text_para_destroy(cells[i].p);
    cells = NULL;
    n_cells = 0;
    /* 2% under the exact factor: widths scale with the type, but their
     * sums are rounded; never under TABLE_MIN_SIZE (then what still does
     * not fit overflows its columns, reported) */
    double f = shrink * 0.98;
    ts_block_style small = b->st->table;
    if (small.size * f < TABLE_MIN_SIZE) f = TABLE_MIN_SIZE / small.size;
    if (f > 1) f = 1;
    small.leading = pg_leading(&small) * f;
    small.size *= f;
    ts_diag_report(b->d, TS_WARNING, b->doc->path, n->line, n->col,
                   "table too wide for the measure even with its cells hyphenated: set at "
                   "%.0f%% of its size (%.1f pt)%s", 100 * f, small.size,
                   shrink * 0.98 * b->st->table.size < TABLE_MIN_SIZE
                       ? ", the smallest allowed, and still too wide" : "");
    build_table(b, n, left, right, &small, NULL, &cells, &n_cells, &line_bi);
  }
  for (size_t i = 0; i < n_cells; i++) ts_text_para_destroy(cells[i].p);
  if (line_bi) ubrk_close(line_bi);
}

/* ---- figures -------------------------------------------------------------
 * The image is scaled to the measure (never enlarged past its natural size)
 * and to at most 70% of a frame's height so its caption fits beside it; it
 * may shrink further, to 60% of that, where the page builder needs room
 * (the figure box's shrink).  The caption is kept with it. */
void pg_build_figure(pg_builder *b, const ts_node *n, double left, double right) {
  const char *why = NULL;
  const char *url = n->url ? n->url : "";
  const char *base = b->doc->dir ? b->doc->dir : ".";
  char *path = ts_path_resolve_inside(base, url, NULL, 0, &why);
  if (!path && why == ts_why_nomem) {
    pg_fail(b, TS_ERR_NOMEM);
    return;
  }
  if (!path) {
    ts_diag_report(b->d, TS_ERROR, b->doc->path, n->line, n->col, "image '%s': %s", url,
                   why ? why : "cannot be resolved");
    pg_fail(b, TS_ERR_INPUT);
    return;
  }
  double iw = 0, ih = 0;
  if (pg_image_size(path, &iw, &ih, &why) != 0 || iw <= 0 || ih <= 0) {
    ts_diag_report(b->d, TS_ERROR, b->doc->path, n->line, n->col, "image '%s': %s", url,
                   why ? why : "unreadable");
    free(path);
    pg_fail(b, TS_ERR_INPUT);
    return;
  }
  const char *apath = ts_arena_strdup(b->a, path);
  free(path);
  if (!apath) { pg_fail(b, TS_ERR_NOMEM); return; }
  const ts_block_style *cs = &b->st->caption;
  double measure = b->col_w - left - right;
  double s = 1;
  if (iw * s > measure) s = measure / iw;
  double max_h = 0.7 * b->frame_h;
  if (ih * s > max_h) s = max_h / ih;
  double w = iw * s, h = ih * s;

  size_t group = b->v->n;
  pg_space(b, 0.5 * pg_leading(&b->st->body) + cs->space_before);
  pg_box *bx = pg_box_new(b->galley);
  if (!bx) { pg_fail(b, TS_ERR_NOMEM); return; }
  bx->kind = PG_BOX_FIGURE;
  bx->h = h;
  bx->d = 0;
  bx->img_w = w;
  bx->img_h = h;
  bx->shrink = 0.4 * h;
  ts_draw *im = pg_box_draw(b->galley, bx);
  if (!im) { pg_fail(b, TS_ERR_NOMEM); return; }
  im->kind = TS_DRAW_IMAGE;
  im->x = left + (measure - w) / 2;
  im->y = 0;
  im->w = w;
  im->h = h;
  im->image = apath;
  im->alt = n->alt;
  pg_emit_box(b, bx);

  ts_span *sp = NULL;
  size_t nsp = 0;
  pg_inline_spans(b, n, cs, &sp, &nsp);
  if (nsp > 0 && !b->err) {
    int keep = b->keep;
    b->keep = 1 << 20; /* the caption stays with its image */
    pg_emit_penalty(b, PG_INF_PENALTY, 0);
    pg_vitem *g = pg_vlist_push(b->galley, b->v);
    if (!g) { pg_fail(b, TS_ERR_NOMEM); return; }
    g->kind = PG_V_GLUE;
    g->w = cs->space_before;
    pg_para_fmt f;
    memset(&f, 0, sizeof f);
    f.bs = cs;
    f.left = left;
    f.right = right;
    if (w < measure - 1) { /* a caption no wider than a narrow image */
      f.left = left + (measure - w) / 2;
      f.right = right + (measure - w) / 2;
      if (b->col_w - f.left - f.right < 0.6 * measure) f.left = left, f.right = right;
    }
    f.align = cs->align;
    f.hyphenate = b->st->hyphenate;
    f.kind = PG_BOX_LINE;
    pg_para(b, sp, nsp, &f);
    b->keep = keep > 0 ? keep : 0;
  }
  if (b->v == &b->main && group < b->v->n)
    b->v->items[group].float_end = (uint32_t)b->v->n; /* may float to the next frame */
  pg_space_after(b, cs->space_after);
}
