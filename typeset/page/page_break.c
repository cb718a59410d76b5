/* page_break.c — cutting the galley into frames (columns of pages) with
 * footnotes at the foot of the frame that holds their mark's line.
 *
 * The search is TeX's page builder (TeX: The Program §§980–1028): walk the
 * vertical list from the top of a fresh frame, evaluate every legal
 * breakpoint (a penalty < 10000, or glue that follows a box, §968) with the
 * cost c = b + p (b the badness of filling the frame, p the penalty; c = p
 * for forced breaks; 100000 "deplorable" when b is infinite, §1005), keep
 * the cheapest (the later one on ties) and stop as soon as the material no
 * longer fits.
 *
 * Footnotes follow Word's rule rather than TeX's (which splits any
 * insertion that does not fit, §1008–1010): the line holding a mark must be
 * in the same frame as the start of its note, so when a note does not fit
 * the line moves to the next frame.  Only a note taller than the note area
 * (PG_NOTE_AREA of the frame) is split, within PG_NOTE_MAX of a frame
 * (plain TeX's \dimen\footins), and it
 * keeps at least note_min_lines lines on each side.  Split notes continue at
 * the top of the next frames' note areas before any new note.  While a note
 * continues past the current frame no new note may start in it (it would
 * come before the end of the earlier note), so lines with marks wait.
 *
 * Termination: every frame takes at least one box or one note line.  When
 * nothing fits (a box with its notes taller than the frame), the first box
 * is placed anyway and its notes continue on the next frames — still never
 * on a frame before their mark. */
#include "page_int.h"

#include <math.h>
#include <string.h>

#define EPS 1e-6
#define DEPLORABLE 100000.0
#define AWFUL 1e30

double pg_frame_height(const pg_geom *g, size_t frame) {
  size_t cols = g->columns > 0 ? (size_t)g->columns : 1;
  double h = g->block_h;
  if (frame / cols == 0) h -= g->first_top + g->first_bottom;
  return h > 0 ? h : 0;
}

void pg_frame_it_init(pg_frame_it *it, const pg_frame *f) {
  it->f = f;
  it->phase = f->fl_end > f->fl_start ? 0 : 1;
  it->k = it->phase == 0 ? f->fl_start : f->start;
}

size_t pg_frame_it_next(pg_frame_it *it) {
  const pg_frame *f = it->f;
  if (it->phase == 0) {
    if (it->k < f->fl_end) return it->k++;
    it->phase = 1;
    it->k = f->start;
  }
  if (f->hole_end > f->hole_start && it->k >= f->hole_start && it->k < f->hole_end)
    it->k = f->hole_end;
  if (it->k >= f->end) return PG_FRAME_END;
  return it->k++;
}

/* ---- stacking ---------------------------------------------------------- */

void pg_stack_init(pg_stack *s) { memset(s, 0, sizeof *s); }

double pg_stack_box(pg_stack *s, const pg_box *b) {
  double top = s->top;
  if (s->boxes > 0) top += s->pending;
  double base = top + b->h;
  if (b->grid > 0) {
    double k = ceil(base / b->grid - 1e-6);
    if (k < 1) k = 1;
    base = k * b->grid;
  }
  s->top = base + b->d;
  s->fig_shrink += b->shrink;
  s->pending = 0;
  s->boxes++;
  return base;
}

void pg_stack_glue(pg_stack *s, const pg_vitem *g) {
  if (s->boxes == 0) return; /* glue at the top of a frame is discarded */
  s->pending += g->w;
  s->stretch += g->stretch;
  s->shrink += g->shrink;
}

/* TeX's badness (§108): about 100 (t/s)^3, "infinitely bad" past 10000. */
static double badness(double t, double s) {
  if (t <= EPS) return 0;
  if (s <= EPS) return PG_INF_BAD;
  double r = t / s;
  if (r > 4.64) return PG_INF_BAD;
  double b = 100.0 * r * r * r;
  return b > PG_INF_BAD ? PG_INF_BAD : b;
}

/* ---- notes ---------------------------------------------------------------- */

static double note_span(const pg_note *n, size_t from, size_t to) {
  double h = 0;
  for (size_t i = from; i < to && i < n->n; i++) {
    if (i > from) h += n->gap[i];
    h += n->lines[i]->h + n->lines[i]->d;
  }
  return h;
}

/* Most lines of n from `from` that fit in `room` (0 if none). */
static size_t note_fit(const pg_note *n, size_t from, double room) {
  double h = 0;
  size_t k = from;
  while (k < n->n) {
    double add = n->lines[k]->h + n->lines[k]->d + (k > from ? n->gap[k] : 0);
    if (h + add > room + EPS) break;
    h += add;
    k++;
  }
  return k - from;
}

/* Whether box i and its notes fit an empty frame after `frame`. */
static int fits_fresh(const pg_geom *g, const pg_break_params *bp, size_t frame,
                      const pg_vlist *v, size_t i, pg_note *const *notes, size_t n_notes) {
  double H = pg_frame_height(g, frame + 1);
  const pg_box *bx = v->items[i].box;
  double need = bx->h + bx->d, nh = 0;
  for (uint32_t q = 0; q < bx->n_notes; q++) {
    int num = bx->notes[q];
    if (num < 1 || (size_t)num > n_notes || !notes[num - 1]) continue;
    nh += notes[num - 1]->height;
  }
  if (nh > 0) need += nh + g->note_sep;
  (void)bp;
  return need <= H;
}

typedef struct carry {
  int number;
  size_t from;
} carry;

/* A note started in the frame being searched: whole (take == n) or the
 * first `take` lines of a tall note. */
typedef struct started {
  int number;
  size_t take;
} started;

typedef struct vec {
  void *data;
  size_t n, cap, elem;
} vec;

static void *vpush(ts_arena *a, vec *v) {
  if (v->n == v->cap) {
    size_t nc = v->cap ? v->cap * 2 : 16;
    void *nd = ts_arena_alloc(a, nc * v->elem);
    if (!nd) return NULL;
    if (v->n) memcpy(nd, v->data, v->n * v->elem);
    v->data = nd;
    v->cap = nc;
  }
  return (char *)v->data + v->elem * v->n++;
}

static const pg_note *get_note(pg_note *const *notes, size_t n_notes, int number) {
  if (number < 1 || (size_t)number > n_notes) return NULL;
  const pg_note *n = notes[number - 1];
  return (n && n->n > 0) ? n : NULL;
}

/* Space between a float set at the top of a frame and the text: a line of
 * body text. */
static double float_sep(const pg_geom *g) {
  if (!g->style) return 12;
  double L = g->style->body.leading > 0 ? g->style->body.leading : 1.2 * g->style->body.size;
  return L;
}

/* The state of the search through one frame. */
typedef struct scan {
  ts_arena *a;
  const pg_geom *g;
  pg_note *const *notes;
  size_t n_notes;
  int min_lines;
  double H, note_area, note_max;
  pg_stack s;
  double lines_h;   /* note lines in the frame, no separator */
  double need;      /* note area needed, separator included */
  int blocked;      /* no new note may start */
  size_t n_pieces;  /* continued pieces already in the frame */
  vec *startv;      /* started notes */
} scan;

/* Stacks a box and starts its notes.  Returns 0, 1 when it cannot go in
 * this frame (a note that does not fit and may not split), -1 on OOM. */
static int scan_box(scan *sc, const pg_box *bx) {
  pg_stack_box(&sc->s, bx);
  for (uint32_t q = 0; q < bx->n_notes; q++) {
    const pg_note *nt = get_note(sc->notes, sc->n_notes, bx->notes[q]);
    if (!nt) continue;
    if (sc->blocked) return 1;
    double sep = (sc->n_pieces == 0 && sc->startv->n == 0) ? sc->g->note_sep : 0;
    started *sn = vpush(sc->a, sc->startv);
    if (!sn) return -1;
    sn->number = nt->number;
    if (nt->height <= sc->note_area + EPS) {
      sn->take = nt->n;
      sc->lines_h += nt->height;
      sc->need += nt->height + sep;
    } else {
      /* a tall note takes what is left now (TeX §1010), within the area */
      double room = sc->H - sc->s.top - sc->need - sep;
      if (sc->note_max - sc->lines_h < room) room = sc->note_max - sc->lines_h;
      size_t k = note_fit(nt, 0, room < 0 ? 0 : room);
      size_t ml = (size_t)sc->min_lines;
      if (k + ml > nt->n && nt->n >= 2 * ml) k = nt->n - ml;
      size_t want = nt->n < ml ? nt->n : ml;
      if (k < want || k == 0) {
        sc->startv->n--;
        return 1;
      }
      sn->take = k;
      sc->lines_h += note_span(nt, 0, k);
      sc->need += note_span(nt, 0, k) + sep;
      if (k < nt->n) sc->blocked = 1;
    }
  }
  return sc->s.top - sc->s.shrink - sc->s.fig_shrink > sc->H - sc->need + EPS;
}

ts_status pg_break(ts_arena *a, const pg_geom *g, const pg_break_params *bp,
                   const pg_vlist *v, pg_note *const *notes, size_t n_notes,
                   pg_break_result *out) {
  ts_status st = TS_OK;
  vec frames = {0}, carries = {0}, pieces = {0}, startv = {0};
  frames.elem = sizeof(pg_frame);
  carries.elem = sizeof(carry);
  pieces.elem = sizeof(pg_note_piece);
  startv.elem = sizeof(started);
  size_t cols = g->columns > 0 ? (size_t)g->columns : 1;
  int min_lines = bp->note_min_lines > 0 ? bp->note_min_lines : 1;
  size_t i = 0, frame = 0, carry_head = 0;
  size_t pend_fs = 0, pend_fe = 0; /* a float deferred to the next frame */
  int opens = 0;
  memset(out, 0, sizeof *out);

  for (;;) {
    /* discard glue and penalties at the top of a frame (§1000) */
    while (i < v->n && v->items[i].kind != PG_V_BOX) {
      if (v->items[i].kind == PG_V_PENALTY && v->items[i].eject_page &&
          v->items[i].penalty <= PG_EJECT_PENALTY) {
        if (frame % cols != 0) frame = (frame / cols + 1) * cols;
        opens = 1;
      }
      i++;
    }
    if (i >= v->n && carry_head >= carries.n && pend_fe == 0) break;

    double H = pg_frame_height(g, frame);
    double note_area = bp->note_area * H;
    double note_max = (bp->note_max > bp->note_area ? bp->note_max : bp->note_area) * H;
    int body_left = i < v->n;
    pieces.n = 0;
    pieces.data = NULL;
    pieces.cap = 0;
    double notes_h = 0; /* note lines placed or needed, without the separator */
    int block_new = 0;  /* a note continues past this frame: no new notes */

    /* 1. continuations of split notes */
    while (carry_head < carries.n) {
      carry *c = (carry *)carries.data + carry_head;
      const pg_note *nt = get_note(notes, n_notes, c->number);
      if (!nt || c->from >= nt->n) { carry_head++; continue; }
      double budget = body_left ? note_max : H - g->note_sep;
      double room = budget - notes_h;
      if (room < 0) room = 0;
      size_t rest = nt->n - c->from;
      size_t k = note_fit(nt, c->from, room);
      if (k < rest) {
        /* keep min_lines for the next frame when it can be spared */
        if (rest - k < (size_t)min_lines && k > (size_t)min_lines) k = rest - (size_t)min_lines;
        if (k == 0 && pieces.n == 0) k = 1; /* progress */
      }
      if (k == 0) { block_new = 1; break; }
      pg_note_piece *pc = vpush(a, &pieces);
      if (!pc) { st = TS_ERR_NOMEM; goto done; }
      pc->number = c->number;
      pc->from = c->from;
      pc->to = c->from + k;
      notes_h += note_span(nt, c->from, c->from + k) ;
      if (k < rest) {
        c->from += k;
        block_new = 1;
        out->n_notes_split++; /* counted per continuation */
        break;
      }
      carry_head++;
    }
    size_t n_carry_pieces = pieces.n;

    /* 2. a float deferred from the previous frame goes first, whole */
    scan sc;
    memset(&sc, 0, sizeof sc);
    sc.a = a;
    sc.g = g;
    sc.notes = notes;
    sc.n_notes = n_notes;
    sc.min_lines = min_lines;
    sc.H = H;
    sc.note_area = note_area;
    sc.note_max = note_max;
    pg_stack_init(&sc.s);
    sc.lines_h = notes_h;
    sc.need = notes_h + (pieces.n ? g->note_sep : 0);
    sc.blocked = block_new;
    sc.n_pieces = pieces.n;
    startv.n = 0;
    startv.data = NULL;
    startv.cap = 0;
    sc.startv = &startv;
    size_t fl_start = pend_fs, fl_end = pend_fe;
    pend_fs = pend_fe = 0;
    size_t boxes = 0;
    for (size_t k = fl_start; k < fl_end; k++) {
      const pg_vitem *it = &v->items[k];
      if (it->kind == PG_V_GLUE) pg_stack_glue(&sc.s, it);
      if (it->kind != PG_V_BOX) continue;
      if (scan_box(&sc, it->box) < 0) { st = TS_ERR_NOMEM; goto done; }
      boxes++;
    }
    size_t fl_started = startv.n;
    pg_vitem sep_glue;
    memset(&sep_glue, 0, sizeof sep_glue);
    sep_glue.kind = PG_V_GLUE;
    sep_glue.w = float_sep(g);
    if (fl_end > fl_start) pg_stack_glue(&sc.s, &sep_glue);

    /* 3. the body */
    const pg_box *header = NULL;
    if (i < v->n && v->items[i].box->table && v->items[i].box->table_row > 0 &&
        v->items[i].box->table_header)
      header = v->items[i].box->table_header;
    if (header) pg_stack_box(&sc.s, header);

    size_t best = (size_t)-1, best_started = fl_started;
    double best_cost = AWFUL;
    int best_forced_eject = 0, best_end_of_list = 0;
    size_t last_fit = (size_t)-1, last_fit_started = fl_started;
    int prev_box = boxes > 0;
    size_t hole_s = 0, hole_e = 0; /* a float moved to the next frame */
    size_t first_box = (size_t)-1;
    size_t j = i;

    for (; j <= v->n; j++) {
      int is_break = 0;
      double p = 0;
      if (j == v->n) {
        is_break = boxes > 0;
        p = PG_EJECT_PENALTY;
      } else {
        const pg_vitem *it = &v->items[j];
        if (it->kind == PG_V_GLUE) {
          is_break = prev_box;
          p = 0;
        } else if (it->kind == PG_V_PENALTY) {
          is_break = boxes > 0 && it->penalty < PG_INF_PENALTY;
          p = it->penalty;
        }
      }
      if (is_break) {
        double avail = H - sc.need;
        double nat = sc.s.top, sh = sc.s.shrink + sc.s.fig_shrink;
        if (nat - sh > avail + EPS) break;
        double b = nat <= avail ? badness(avail - nat, sc.s.stretch)
                                : badness(nat - avail, sh);
        double c;
        if (p <= PG_EJECT_PENALTY) c = p;
        else if (b < PG_INF_BAD) c = b + p;
        else c = DEPLORABLE;
        if (c <= best_cost) {
          best = j;
          best_cost = c;
          best_started = startv.n;
          best_forced_eject = p <= PG_EJECT_PENALTY;
          best_end_of_list = j == v->n;
        }
        if (p <= PG_EJECT_PENALTY) break;
      }
      if (j == v->n) break;
      const pg_vitem *it = &v->items[j];
      /* a float (figure, short table) that does not fit what is left of
       * the frame moves to the top of the next one; the text after it
       * fills this frame (LaTeX's [tp] placement, one float at a time) */
      int floatable = j > 0 && (v->items[j - 1].kind == PG_V_BOX ||
                                (v->items[j - 1].kind == PG_V_PENALTY &&
                                 v->items[j - 1].penalty < PG_INF_PENALTY));
      if (it->float_end > j && it->float_end <= v->n && boxes > 0 && hole_e == 0 && floatable) {
        scan t = sc;
        vec tv = startv; /* started notes are appended past n: restored below */
        t.startv = &tv;
        int over = 0;
        for (size_t k = j; k < it->float_end && !over; k++) {
          const pg_vitem *fi = &v->items[k];
          if (fi->kind == PG_V_GLUE) pg_stack_glue(&t.s, fi);
          else if (fi->kind == PG_V_BOX) {
            int r = scan_box(&t, fi->box);
            if (r < 0) { st = TS_ERR_NOMEM; goto done; }
            over = r;
          }
        }
        if (over && it->float_end < v->n) {
          hole_s = j;
          hole_e = it->float_end;
          j = hole_e - 1;
          continue; /* prev_box stays: the next glue is a legal break */
        }
      }
      if (it->kind == PG_V_GLUE) {
        pg_stack_glue(&sc.s, it);
        prev_box = 0;
        continue;
      }
      if (it->kind == PG_V_PENALTY) { prev_box = 0; continue; }

      /* a box: stack it and start its notes */
      int r = scan_box(&sc, it->box);
      if (r < 0) { st = TS_ERR_NOMEM; goto done; }
      boxes++;
      prev_box = 1;
      if (first_box == (size_t)-1) first_box = j;
      if (r) break;
      last_fit = j + 1;
      last_fit_started = startv.n;
    }
    size_t n_carry_pieces_unused = n_carry_pieces;
    (void)n_carry_pieces_unused;

    pg_frame *f = vpush(a, &frames);
    if (!f) { st = TS_ERR_NOMEM; goto done; }
    f->page = (int)(frame / cols);
    f->col = (int)(frame % cols);
    f->start = i;
    f->header = header;
    f->opens = opens;
    f->fl_start = fl_start;
    f->fl_end = fl_end;
    f->float_sep = sep_glue.w;
    opens = 0;
    size_t n_started = fl_started;
    if (best != (size_t)-1) {
      f->end = best;
      n_started = best_started;
      f->flush = !best_forced_eject && !best_end_of_list;
    } else if (last_fit != (size_t)-1) {
      /* no legal breakpoint fits: break after the last box that fits,
       * whatever the penalties say (overfull rather than looping) */
      f->end = last_fit;
      n_started = last_fit_started;
      f->forced = 1;
      out->n_forced++;
    } else if (i < v->n && fl_end <= fl_start &&
               !(n_carry_pieces > 0 && fits_fresh(g, bp, frame, v, i, notes, n_notes))) {
      /* not even the first box fits with its notes: place it alone; its
       * notes fill what room is left and continue on the next frames */
      f->end = i + 1;
      f->forced = 1;
      out->n_forced++;
      const pg_box *bx = v->items[i].box;
      pg_stack s1;
      pg_stack_init(&s1);
      if (header) pg_stack_box(&s1, header);
      pg_stack_box(&s1, bx);
      double room = H - s1.top - notes_h - (pieces.n ? 0 : g->note_sep);
      int stop = block_new;
      for (uint32_t q = 0; q < bx->n_notes; q++) {
        const pg_note *nt = get_note(notes, n_notes, bx->notes[q]);
        if (!nt) continue;
        size_t k = stop ? 0 : note_fit(nt, 0, room);
        if (k > 0) {
          pg_note_piece *pc = vpush(a, &pieces);
          if (!pc) { st = TS_ERR_NOMEM; goto done; }
          pc->number = nt->number;
          pc->from = 0;
          pc->to = k;
          room -= note_span(nt, 0, k);
        }
        if (k < nt->n) {
          carry *c = vpush(a, &carries);
          if (!c) { st = TS_ERR_NOMEM; goto done; }
          c->number = nt->number;
          c->from = k;
          stop = 1;
          if (k > 0) out->n_notes_split++;
        }
      }
    } else {
      /* the body starts on the next frame: the deferred float goes alone
       * here; or continued notes filled this frame, and the first box fits
       * on the next one with its notes (no short note is split); or only
       * note continuations are on this frame (i == v->n) */
      f->end = i;
    }

    /* notes started in the frame, in mark order */
    for (size_t q = 0; q < n_started; q++) {
      started *sn = (started *)startv.data + q;
      const pg_note *nt = get_note(notes, n_notes, sn->number);
      pg_note_piece *pc = vpush(a, &pieces);
      if (!pc) { st = TS_ERR_NOMEM; goto done; }
      pc->number = sn->number;
      pc->from = 0;
      pc->to = sn->take;
      if (sn->take < nt->n) {
        carry *c = vpush(a, &carries);
        if (!c) { st = TS_ERR_NOMEM; goto done; }
        c->number = sn->number;
        c->from = sn->take;
        out->n_notes_split++;
      }
    }
    (void)n_carry_pieces;
    /* the float skipped over waits for the next frame, unless the frame
     * ended before it */
    if (hole_e > hole_s && f->end > hole_s) {
      f->hole_start = hole_s;
      f->hole_end = hole_e;
      pend_fs = hole_s;
      pend_fe = hole_e;
    }
    f->notes = pieces.data;
    f->n_notes = pieces.n;
    double nh = 0;
    for (size_t q = 0; q < pieces.n; q++) {
      pg_note_piece *pc = (pg_note_piece *)pieces.data + q;
      nh += note_span(get_note(notes, n_notes, pc->number), pc->from, pc->to);
    }
    f->notes_h = pieces.n ? nh + g->note_sep : 0;

    /* the next frame: a forced page eject skips the remaining columns */
    size_t next = f->end;
    int eject_page = next < v->n && v->items[next].kind == PG_V_PENALTY &&
                     v->items[next].eject_page &&
                     v->items[next].penalty <= PG_EJECT_PENALTY;
    i = next;
    frame = eject_page ? (frame / cols + 1) * cols : frame + 1;
    if (frames.n > 10000000) { st = TS_ERR_LIMIT; goto done; }
  }
  out->frames = frames.data;
  out->n = frames.n;
done:
  return st;
}
