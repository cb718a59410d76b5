/* test_break.c — the frame breaker on synthetic galleys (no fonts): lines of
 * a fixed leading, paragraphs with widow/orphan prohibitions, headings kept
 * with their next lines, footnotes of chosen sizes.  Checks the invariants a
 * publisher relies on, over generated documents. */
#include "core/ts_core.h"
#include "page/page_int.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define L 12.0

typedef struct gal {
  ts_arena *a;
  pg_vlist v;
  pg_note **notes;
  size_t n_notes, cap_notes;
  int para;
} gal;

static void gal_init(gal *g) {
  memset(g, 0, sizeof *g);
  g->a = ts_arena_create(0);
  ck_assert_ptr_nonnull(g->a);
  g->cap_notes = 1024;
  g->notes = ts_arena_alloc(g->a, g->cap_notes * sizeof *g->notes);
  ck_assert_ptr_nonnull(g->notes);
}

static pg_box *line(gal *g, int kind) {
  pg_box *b = pg_box_new(g->a);
  ck_assert_ptr_nonnull(b);
  b->h = PG_STRUT_H * L;
  b->d = PG_STRUT_D * L;
  b->kind = kind;
  return b;
}

static void push_box(gal *g, pg_box *b) {
  pg_vitem *it = pg_vlist_push(g->a, &g->v);
  ck_assert_ptr_nonnull(it);
  it->kind = PG_V_BOX;
  it->box = b;
}

static void push_pen(gal *g, double p) {
  pg_vitem *it = pg_vlist_push(g->a, &g->v);
  ck_assert_ptr_nonnull(it);
  it->kind = PG_V_PENALTY;
  it->penalty = p;
}

static void push_glue(gal *g, double w, double st) {
  pg_vitem *it = pg_vlist_push(g->a, &g->v);
  ck_assert_ptr_nonnull(it);
  it->kind = PG_V_GLUE;
  it->w = w;
  it->stretch = st;
}

/* A note of n lines of 10pt leading; returns its number. */
static int note(gal *g, size_t n) {
  ck_assert(g->n_notes < g->cap_notes);
  pg_note *nt = ts_arena_alloc(g->a, sizeof *nt);
  ck_assert_ptr_nonnull(nt);
  nt->number = (int)g->n_notes + 1;
  nt->lines = ts_arena_alloc(g->a, n * sizeof *nt->lines);
  nt->gap = ts_arena_alloc(g->a, n * sizeof *nt->gap);
  for (size_t i = 0; i < n; i++) {
    pg_box *b = pg_box_new(g->a);
    b->h = 7;
    b->d = 3;
    nt->lines[i] = b;
    nt->height += 10;
  }
  nt->n = n;
  g->notes[g->n_notes++] = nt;
  return nt->number;
}

static void ref(gal *g, pg_box *b, int number) {
  int *nn = ts_arena_alloc(g->a, (b->n_notes + 1) * sizeof(int));
  if (b->n_notes) memcpy(nn, b->notes, b->n_notes * sizeof(int));
  nn[b->n_notes++] = number;
  b->notes = nn;
}

/* A paragraph of n lines with widows/orphans 2 as page_build.c emits it;
 * returns its boxes. */
static pg_box **para(gal *g, size_t n) {
  pg_box **bx = ts_arena_alloc(g->a, n * sizeof *bx);
  if (g->v.n) push_glue(g, 0, 1);
  g->para++;
  for (size_t k = 0; k < n; k++) {
    if (k > 0) push_pen(g, (k < 2 || n - k < 2) ? PG_INF_PENALTY : 0);
    bx[k] = line(g, PG_BOX_LINE);
    bx[k]->para = g->para;
    bx[k]->para_line = (int)k;
    bx[k]->para_lines = (int)n;
    push_box(g, bx[k]);
  }
  return bx;
}

static void heading(gal *g) {
  if (g->v.n) {
    push_pen(g, -100);
    push_glue(g, 18, 4);
  }
  pg_box *h = line(g, PG_BOX_HEADING);
  push_box(g, h);
  push_pen(g, PG_INF_PENALTY); /* keep: glue after a penalty is no breakpoint */
  push_glue(g, 6, 1);
}

/* next paragraph's first two lines are kept with the heading */
static pg_box **para_after_heading(gal *g, size_t n) {
  pg_box **bx = ts_arena_alloc(g->a, n * sizeof *bx);
  g->para++;
  for (size_t k = 0; k < n; k++) {
    if (k > 0) push_pen(g, (k < 2 || n - k < 2) ? PG_INF_PENALTY : 0);
    bx[k] = line(g, PG_BOX_LINE);
    bx[k]->para = g->para;
    bx[k]->para_line = (int)k;
    bx[k]->para_lines = (int)n;
    push_box(g, bx[k]);
  }
  return bx;
}

static pg_geom geom(double lines) {
  pg_geom gm;
  memset(&gm, 0, sizeof gm);
  gm.columns = 1;
  gm.block_h = lines * L;
  gm.note_sep = 10;
  return gm;
}

static pg_break_result run_break(gal *g, const pg_geom *gm) {
  pg_break_params bp = {PG_NOTE_AREA, 2, PG_NOTE_MAX};
  pg_break_result r;
  ck_assert_int_eq(pg_break(g->a, gm, &bp, &g->v, g->notes, g->n_notes, &r), TS_OK);
  return r;
}

/* Frame of each box (index into frames); -1 if not placed. */
static int frame_of_box(const gal *g, const pg_break_result *r, const pg_box *b) {
  for (size_t f = 0; f < r->n; f++) {
    pg_frame_it it;
    pg_frame_it_init(&it, &r->frames[f]);
    size_t i;
    while ((i = pg_frame_it_next(&it)) != PG_FRAME_END)
      if (g->v.items[i].kind == PG_V_BOX && g->v.items[i].box == b) return (int)f;
  }
  return -1;
}

/* Every box exactly once; boxes outside floats in order; a float set at
 * most one frame after the text that surrounds it. */
static void check_cover(const gal *g, const pg_break_result *r) {
  int *seen = calloc(g->v.n + 1, sizeof(int));
  ck_assert_ptr_nonnull(seen);
  size_t last = 0;
  int any = 0;
  for (size_t f = 0; f < r->n; f++) {
    pg_frame_it it;
    pg_frame_it_init(&it, &r->frames[f]);
    size_t k;
    while ((k = pg_frame_it_next(&it)) != PG_FRAME_END) {
      ck_assert_uint_lt(k, g->v.n);
      if (g->v.items[k].kind != PG_V_BOX) continue;
      ck_assert_int_eq(seen[k], 0);
      seen[k] = (int)f + 1;
      if (it.phase == 1) {
        if (any) ck_assert_uint_gt(k, last);
        last = k;
        any = 1;
      }
    }
  }
  for (size_t i = 0; i < g->v.n; i++)
    if (g->v.items[i].kind == PG_V_BOX) ck_assert_msg(seen[i] > 0, "box %zu not placed", i);
  free(seen);
}

/* Height of a frame's material (boxes + glue at natural size, float
 * separation, header), as the renderer stacks it. */
static double frame_height(const gal *g, const pg_frame *f) {
  pg_stack s;
  pg_stack_init(&s);
  pg_frame_it it;
  pg_frame_it_init(&it, f);
  size_t i;
  int sep = 0, hdr = f->header == NULL;
  while ((i = pg_frame_it_next(&it)) != PG_FRAME_END) {
    if (it.phase == 1 && !sep) {
      sep = 1;
      if (f->fl_end > f->fl_start) {
        pg_vitem gl = {0};
        gl.kind = PG_V_GLUE;
        gl.w = f->float_sep;
        pg_stack_glue(&s, &gl);
      }
    }
    if (it.phase == 1 && !hdr) {
      pg_stack_box(&s, f->header);
      hdr = 1;
    }
    if (g->v.items[i].kind == PG_V_BOX) pg_stack_box(&s, g->v.items[i].box);
    else if (g->v.items[i].kind == PG_V_GLUE) pg_stack_glue(&s, &g->v.items[i]);
  }
  return s.top;
}

/* Notes: every line of every referenced note placed exactly once, in order;
 * no piece on a frame before its mark's frame; the first piece on the
 * mark's frame unless the frame was forced; frames fit. */
static void check_notes(const gal *g, const pg_break_result *r, const pg_geom *gm,
                        pg_box **mark_box, int strict) {
  for (size_t k = 0; k < g->n_notes; k++) {
    const pg_note *nt = g->notes[k];
    int mf = frame_of_box(g, r, mark_box[k]);
    ck_assert_int_ge(mf, 0);
    size_t next = 0;
    int first_frame = -1;
    for (size_t f = 0; f < r->n; f++) {
      for (size_t q = 0; q < r->frames[f].n_notes; q++) {
        const pg_note_piece *pc = &r->frames[f].notes[q];
        if (pc->number != nt->number) continue;
        ck_assert_uint_eq(pc->from, next); /* in order, no gap, no repeat */
        ck_assert_uint_gt(pc->to, pc->from);
        next = pc->to;
        if (first_frame < 0) first_frame = (int)f;
        ck_assert_int_ge((int)f, mf); /* never before the mark */
      }
    }
    ck_assert_uint_eq(next, nt->n);
    if (strict && !r->frames[mf].forced) ck_assert_int_eq(first_frame, mf);
  }
  for (size_t f = 0; f < r->n; f++) {
    const pg_frame *fr = &r->frames[f];
    if (fr->forced) continue;
    double h = frame_height(g, fr) + fr->notes_h;
    ck_assert_msg(h <= pg_frame_height(gm, f) + 1e-6, "frame %zu overfull: %g > %g", f, h,
                  pg_frame_height(gm, f));
  }
}

START_TEST(plain_lines_fill_frames) {
  gal g;
  gal_init(&g);
  for (int p = 0; p < 20; p++) para(&g, 5);
  pg_geom gm = geom(12);
  pg_break_result r = run_break(&g, &gm);
  check_cover(&g, &r);
  /* 100 lines + 19 zero glues, 12 a frame, 2-line widows/orphans: at least
   * 9 frames, and no frame exceeds 12 lines */
  ck_assert_uint_ge(r.n, 9);
  for (size_t f = 0; f < r.n; f++) {
    int boxes = 0;
    for (size_t i = r.frames[f].start; i < r.frames[f].end; i++)
      boxes += g.v.items[i].kind == PG_V_BOX;
    ck_assert_int_le(boxes, 12);
    ck_assert_int_ge(boxes, 1);
  }
  ts_arena_destroy(g.a);
}
END_TEST

START_TEST(widows_and_orphans) {
  gal g;
  gal_init(&g);
  /* paragraphs of 1..7 lines in a rotating pattern */
  for (int p = 0; p < 60; p++) para(&g, (size_t)(1 + (p * 5) % 7));
  pg_geom gm = geom(17);
  pg_break_result r = run_break(&g, &gm);
  check_cover(&g, &r);
  for (size_t f = 0; f < r.n; f++) {
    const pg_frame *fr = &r.frames[f];
    if (fr->forced) continue;
    const pg_box *first = NULL, *last = NULL;
    for (size_t i = fr->start; i < fr->end; i++)
      if (g.v.items[i].kind == PG_V_BOX) {
        if (!first) first = g.v.items[i].box;
        last = g.v.items[i].box;
      }
    ck_assert_ptr_nonnull(first);
    /* no page starts with the last line of a multi-line paragraph */
    if (first->para_lines > 1) ck_assert_int_ne(first->para_line, first->para_lines - 1);
    /* no page ends with the first line of a multi-line paragraph */
    if (last->para_lines > 1 && f + 1 < r.n) ck_assert_int_ne(last->para_line, 0);
  }
  ts_arena_destroy(g.a);
}
END_TEST

START_TEST(heading_never_last) {
  gal g;
  gal_init(&g);
  for (int s = 0; s < 40; s++) {
    heading(&g);
    para_after_heading(&g, (size_t)(2 + s % 6));
    para(&g, (size_t)(1 + (s * 3) % 5));
  }
  for (int lines = 8; lines < 30; lines += 3) {
    pg_geom gm = geom(lines);
    pg_break_result r = run_break(&g, &gm);
    check_cover(&g, &r);
    for (size_t f = 0; f + 1 < r.n; f++) {
      const pg_box *last = NULL;
      int n_after = 0;
      for (size_t i = r.frames[f].start; i < r.frames[f].end; i++)
        if (g.v.items[i].kind == PG_V_BOX) {
          if (g.v.items[i].box->kind == PG_BOX_HEADING) n_after = 0;
          else n_after++;
          last = g.v.items[i].box;
        }
      ck_assert_int_ne(last->kind, PG_BOX_HEADING);
      (void)n_after;
    }
  }
  ts_arena_destroy(g.a);
}
END_TEST

START_TEST(note_that_fits_stays) {
  gal g;
  gal_init(&g);
  pg_box **p = para(&g, 30);
  int n1 = note(&g, 3);
  ref(&g, p[4], n1);
  pg_box *marks[1] = {p[4]};
  pg_geom gm = geom(20);
  pg_break_result r = run_break(&g, &gm);
  check_cover(&g, &r);
  check_notes(&g, &r, &gm, marks, 1);
  ck_assert_int_eq(frame_of_box(&g, &r, p[4]), 0);
  ck_assert_uint_eq(r.frames[0].n_notes, 1);
  ck_assert_uint_eq(r.frames[0].notes[0].to, 3);
  /* the body gives up exactly the room of the note: 240 - (10 + 30) = 200,
   * 16 lines of 12 (the 17th would end at 204) */
  int boxes = 0;
  for (size_t i = r.frames[0].start; i < r.frames[0].end; i++)
    boxes += g.v.items[i].kind == PG_V_BOX;
  ck_assert_int_eq(boxes, 16);
  ts_arena_destroy(g.a);
}
END_TEST

START_TEST(note_moves_its_line) {
  gal g;
  gal_init(&g);
  pg_box **p = para(&g, 40);
  int n1 = note(&g, 8); /* 80pt: within a 240pt frame's note area (84): never split */
  ref(&g, p[18], n1);   /* line 19 of 20: no room for 8 note lines */
  pg_box *marks[1] = {p[18]};
  pg_geom gm = geom(20);
  pg_break_result r = run_break(&g, &gm);
  check_cover(&g, &r);
  check_notes(&g, &r, &gm, marks, 1);
  int mf = frame_of_box(&g, &r, p[18]);
  ck_assert_int_eq(mf, 1); /* the line moved with its note */
  ck_assert_uint_eq(r.frames[0].n_notes, 0); /* nothing reserved on frame 0 */
  ck_assert_uint_eq(r.n_notes_split, 0);
  ts_arena_destroy(g.a);
}
END_TEST

START_TEST(long_note_splits) {
  gal g;
  gal_init(&g);
  pg_box **p = para(&g, 60);
  int n1 = note(&g, 50); /* 500pt: taller than any frame */
  ref(&g, p[5], n1);
  pg_box *marks[1] = {p[5]};
  pg_geom gm = geom(25);
  pg_break_result r = run_break(&g, &gm);
  check_cover(&g, &r);
  check_notes(&g, &r, &gm, marks, 1);
  ck_assert_int_eq(frame_of_box(&g, &r, p[5]), 0);
  ck_assert_uint_ge(r.n_notes_split, 1);
  int frames_with_note = 0;
  for (size_t f = 0; f < r.n; f++) frames_with_note += r.frames[f].n_notes > 0;
  ck_assert_int_ge(frames_with_note, 3);
  ts_arena_destroy(g.a);
}
END_TEST

START_TEST(two_hundred_notes_one_paragraph) {
  gal g;
  gal_init(&g);
  pg_box **p = para(&g, 4);
  pg_box *marks[200];
  for (int k = 0; k < 200; k++) {
    int n = note(&g, 1 + (size_t)(k % 3 == 0));
    ref(&g, p[k * 4 / 200], n);
    marks[k] = p[k * 4 / 200];
  }
  pg_geom gm = geom(20); /* a short page: 240pt, 50 notes of 10–20pt per line */
  pg_break_result r = run_break(&g, &gm);
  check_cover(&g, &r);
  check_notes(&g, &r, &gm, marks, 0);
  ck_assert_uint_lt(r.n, 100);
  ts_arena_destroy(g.a);
}
END_TEST

/* Generated documents: paragraphs, headings and notes of every size; the
 * invariants must hold for all. */
START_TEST(generated_documents) {
  unsigned seed = 12345u + (unsigned)_i * 7919u;
  gal g;
  gal_init(&g);
  pg_box *marks[1024];
  size_t nm = 0;
  for (int s = 0; s < 30; s++) {
    seed = seed * 1103515245u + 12345u;
    if ((seed >> 16) % 4 == 0) {
      heading(&g);
      para_after_heading(&g, 1 + (seed >> 8) % 9);
    }
    seed = seed * 1103515245u + 12345u;
    size_t n = 1 + (seed >> 16) % 12;
    pg_box **p = para(&g, n);
    for (size_t k = 0; k < n; k++) {
      seed = seed * 1103515245u + 12345u;
      if ((seed >> 16) % 5 == 0 && nm < 1000) {
        seed = seed * 1103515245u + 12345u;
        size_t sz = 1 + (seed >> 16) % ((seed >> 8) % 3 == 0 ? 40 : 6);
        int num = note(&g, sz);
        ref(&g, p[k], num);
        marks[nm++] = p[k];
      }
    }
  }
  for (int lines = 10; lines <= 46; lines += 9) {
    pg_geom gm = geom(lines);
    pg_break_result r = run_break(&g, &gm);
    check_cover(&g, &r);
    check_notes(&g, &r, &gm, marks, 1);
    if (getenv("TS_DEBUG_BREAK"))
    {
      fprintf(stderr, "gen %d lines %d: %zu frames, %zu forced, %zu splits, %zu notes\n", _i,
              lines, r.n, r.n_forced, r.n_notes_split, nm);
      for (size_t f = 0; f < r.n; f++) {
        if (!r.frames[f].forced) continue;
        fprintf(stderr, "  forced frame %zu items %zu-%zu:", f, r.frames[f].start, r.frames[f].end);
        for (size_t i = r.frames[f].start; i < r.frames[f].end + 3 && i < g.v.n; i++) {
          const pg_vitem *it = &g.v.items[i];
          if (it->kind == PG_V_BOX) {
            fprintf(stderr, " B%d/%d", it->box->para_line, it->box->para_lines);
            for (uint32_t q = 0; q < it->box->n_notes; q++)
              fprintf(stderr, "[n%zu]", g.notes[it->box->notes[q] - 1]->n);
          } else if (it->kind == PG_V_GLUE) fprintf(stderr, " G");
          else fprintf(stderr, " P%g", it->penalty);
        }
        fprintf(stderr, " | carried pieces:");
        for (size_t q = 0; q < r.frames[f].n_notes; q++)
          fprintf(stderr, " %d:%zu-%zu", r.frames[f].notes[q].number, r.frames[f].notes[q].from,
                  r.frames[f].notes[q].to);
        fprintf(stderr, "\n");
      }
    }
  }
  ts_arena_destroy(g.a);
}
END_TEST

START_TEST(table_header_repeats) {
  gal g;
  gal_init(&g);
  para(&g, 6);
  push_glue(&g, 6, 1);
  pg_box *hdr = line(&g, PG_BOX_TABLE);
  hdr->table = 1;
  hdr->table_row = 0;
  push_box(&g, hdr);
  for (int k = 1; k <= 50; k++) {
    push_pen(&g, k == 1 ? PG_INF_PENALTY : 0);
    pg_box *row = line(&g, PG_BOX_TABLE);
    row->table = 1;
    row->table_row = k;
    row->table_header = hdr;
    row->table_last = k == 50;
    push_box(&g, row);
  }
  pg_geom gm = geom(15);
  pg_break_result r = run_break(&g, &gm);
  check_cover(&g, &r);
  ck_assert_uint_ge(r.n, 4);
  for (size_t f = 1; f < r.n; f++) {
    ck_assert_ptr_eq(r.frames[f].header, hdr); /* repeated */
    ck_assert_double_le(frame_height(&g, &r.frames[f]), gm.block_h + 1e-6);
  }
  /* the header is never alone at a frame's foot */
  const pg_box *last0 = g.v.items[r.frames[0].end - 1].box;
  ck_assert_ptr_ne(last0, hdr);
  ts_arena_destroy(g.a);
}
END_TEST

/* A figure that does not fit what is left of a frame moves to the top of
 * the next one, and the text after it fills the frame. */
START_TEST(float_moves_to_next_frame) {
  gal g;
  gal_init(&g);
  para(&g, 14);
  size_t fs = g.v.n;
  push_glue(&g, 6, 0);
  pg_box *fig = line(&g, PG_BOX_FIGURE);
  fig->h = 100;
  push_box(&g, fig);
  g.v.items[fs].float_end = (uint32_t)g.v.n;
  pg_box **after = para(&g, 20);
  pg_geom gm = geom(20); /* 240pt: 14 lines leave 72pt, the figure needs 106 */
  pg_break_result r = run_break(&g, &gm);
  check_cover(&g, &r);
  ck_assert_int_eq(frame_of_box(&g, &r, fig), 1);
  ck_assert_int_eq(frame_of_box(&g, &r, after[0]), 0); /* text fills frame 0 */
  ck_assert_uint_eq(r.frames[1].fl_start, fs);
  for (size_t f = 0; f < r.n; f++)
    ck_assert_double_le(frame_height(&g, &r.frames[f]), gm.block_h + 1e-6);
  ts_arena_destroy(g.a);
}
END_TEST

START_TEST(oversized_box_progress) {
  gal g;
  gal_init(&g);
  para(&g, 3);
  push_glue(&g, 0, 1);
  pg_box *big = line(&g, PG_BOX_FIGURE);
  big->h = 1000; /* taller than the frame */
  push_box(&g, big);
  push_glue(&g, 0, 1);
  pg_box **p = para(&g, 3);
  /* and a line whose notes can never fit anywhere */
  for (int k = 0; k < 5; k++) ref(&g, p[1], note(&g, 30));
  pg_geom gm = geom(10);
  pg_break_result r = run_break(&g, &gm);
  check_cover(&g, &r);
  ck_assert_uint_lt(r.n, 40);
  ck_assert_int_ge(frame_of_box(&g, &r, big), 0);
  ts_arena_destroy(g.a);
}
END_TEST

START_TEST(empty_galley) {
  gal g;
  gal_init(&g);
  pg_geom gm = geom(10);
  pg_break_result r = run_break(&g, &gm);
  ck_assert_uint_eq(r.n, 0);
  ts_arena_destroy(g.a);
}
END_TEST

START_TEST(image_headers) {
  char dir[] = "/tmp/ts-page-img-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[300];
  /* PNG 300x150 with pHYs 11811 px/m (300 dpi) */
  static const unsigned char png[] = {
      0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 'I', 'H', 'D', 'R',
      0, 0, 1, 44, 0, 0, 0, 150, 8, 2, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 9, 'p', 'H', 'Y', 's', 0, 0, 0x2e, 0x23, 0, 0, 0x2e, 0x23, 1, 0, 0, 0, 0};
  snprintf(path, sizeof path, "%s/a.png", dir);
  FILE *fp = fopen(path, "wb");
  fwrite(png, 1, sizeof png, fp);
  fclose(fp);
  double w = 0, h = 0;
  const char *why = NULL;
  ck_assert_int_eq(pg_image_size(path, &w, &h, &why), 0);
  ck_assert_double_eq_tol(w, 300 * 72 / (11811 * 0.0254), 0.01); /* 72pt */
  ck_assert_double_eq_tol(h, 150 * 72 / (11811 * 0.0254), 0.01);
  /* JPEG 640x480, JFIF 72 dpi, SOF0 after an APP1 segment */
  static const unsigned char jpg[] = {
      0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 1, 0, 72, 0, 72, 0, 0,
      0xff, 0xe1, 0, 6, 1, 2, 3, 4,
      0xff, 0xc0, 0, 11, 8, 1, 0xe0, 2, 0x80, 1, 1, 0x11, 0, 0xff, 0xd9};
  snprintf(path, sizeof path, "%s/b.jpg", dir);
  fp = fopen(path, "wb");
  fwrite(jpg, 1, sizeof jpg, fp);
  fclose(fp);
  ck_assert_int_eq(pg_image_size(path, &w, &h, &why), 0);
  ck_assert_double_eq_tol(w, 640, 0.01);
  ck_assert_double_eq_tol(h, 480, 0.01);
  /* truncated and foreign files are refused with a reason */
  snprintf(path, sizeof path, "%s/c.png", dir);
  fp = fopen(path, "wb");
  fwrite(png, 1, 20, fp);
  fclose(fp);
  ck_assert_int_eq(pg_image_size(path, &w, &h, &why), -1);
  ck_assert_ptr_nonnull(why);
  snprintf(path, sizeof path, "%s/d.gif", dir);
  fp = fopen(path, "wb");
  fputs("GIF89a", fp);
  fclose(fp);
  ck_assert_int_eq(pg_image_size(path, &w, &h, &why), -1);
  ck_assert_ptr_nonnull(strstr(why, "truncated GIF"));
  /* a GIF's logical screen (600 x 300, little-endian), at 150 dpi */
  static const unsigned char gif[] = {'G', 'I', 'F', '8', '7', 'a', 0x58, 2, 0x2c, 1, 0, 0, 0};
  snprintf(path, sizeof path, "%s/g.gif", dir);
  fp = fopen(path, "wb");
  fwrite(gif, 1, sizeof gif, fp);
  fclose(fp);
  ck_assert_int_eq(pg_image_size(path, &w, &h, &why), 0);
  ck_assert_double_eq_tol(w, 600 * 72 / 150.0, 0.01);
  ck_assert_double_eq_tol(h, 300 * 72 / 150.0, 0.01);
  snprintf(path, sizeof path, "%s/f.jpg", dir); /* frame header, scan cut short */
  fp = fopen(path, "wb");
  fwrite(jpg, 1, sizeof jpg - 2, fp);
  fclose(fp);
  ck_assert_int_eq(pg_image_size(path, &w, &h, &why), -1);
  ck_assert_ptr_nonnull(strstr(why, "truncated"));
  snprintf(path, sizeof path, "%s/e.jpg", dir); /* JPEG with no SOF */
  fp = fopen(path, "wb");
  fwrite(jpg, 1, 28, fp);
  fclose(fp);
  ck_assert_int_eq(pg_image_size(path, &w, &h, &why), -1);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *break_suite(void) {
  Suite *s = suite_create("page-break");
  TCase *t = tcase_create("break");
  tcase_add_test(t, plain_lines_fill_frames);
  tcase_add_test(t, widows_and_orphans);
  tcase_add_test(t, heading_never_last);
  tcase_add_test(t, note_that_fits_stays);
  tcase_add_test(t, note_moves_its_line);
  tcase_add_test(t, long_note_splits);
  tcase_add_test(t, two_hundred_notes_one_paragraph);
  tcase_add_loop_test(t, generated_documents, 0, 40);
  tcase_add_test(t, table_header_repeats);
  tcase_add_test(t, float_moves_to_next_frame);
  tcase_add_test(t, oversized_box_progress);
  tcase_add_test(t, empty_galley);
  tcase_add_test(t, image_headers);
  suite_add_tcase(s, t);
  return s;
}
