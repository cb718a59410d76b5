/* cover.c — the generated cover image.  When the metadata names no
 * cover-image and the style asks for one (title-block.epub-cover), the EPUB
 * gets a PNG of EPUB_COVER_W x EPUB_COVER_H pixels drawn here like the PDF's
 * first page: the series masthead over a rule in the accent colour, the
 * title a third of the way down, the subtitle, the authors, and the
 * publisher over a rule at the foot — in the style's faces and colours, so
 * a reader's library shows the paper's own cover instead of a blank one.
 *
 * Three steps: the texts are shaped with HarfBuzz and broken into lines
 * (greedily, at spaces and between CJK characters; a title that needs more
 * than COVER_TITLE_LINES lines at the largest size is set smaller, down to
 * a floor, and then cut with an ellipsis), giving a list of glyphs at
 * pixel positions.  Before that, a keying pass of the same layout records
 * what the cover is drawn from — each block's texts and its face file, the
 * colours in order, the rules — without shaping anything: that is the cache
 * key (ts_dcache "coverin"), so a paper whose cover has not changed reuses
 * its PNG for the price of a file read.  (A block that needs fallback fonts,
 * chosen glyph by glyph, is keyed by the glyph list, the palette and the
 * font files instead: ts_dcache "cover".)  On a miss FreeType renders each
 * glyph once (unhinted, at its subpixel position) and the rows are composed
 * one at a time from the glyph bitmaps into a palette PNG written with
 * libpng (zlib's RLE strategy: the rows are mostly background).  Memory:
 * the glyph bitmaps and one row. */
#include "../fonts/ts_fonts.h"
#include "epub_int.h"

#include <dlfcn.h>
#include <math.h>
#include <png.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <zlib.h>

#include "../fonts/ft_api.h"

#define COVER_MARGIN 150    /* px, left and right */
#define COVER_TEXT_MAX 4096 /* bytes of one text drawn (the rest is cut) */
#define COVER_TITLE_LINES 5
#define COVER_MAX_INKS 6 /* colours of text and rules */
#define COVER_MAX_FACES 16
#define COVER_MAX_GLYPHS 20000 /* every text is bounded: this is never reached in practice */

/* A glyph placed on the cover: origin in 1/64 px, y downwards. */
typedef struct cglyph {
  int face; /* index into cover.faces */
  uint32_t gid;
  int32_t x, y;
  int32_t size; /* em in 1/64 px */
  int ink;
} cglyph;

typedef struct crect {
  int x0, y0, x1, y1, ink;
} crect;

/* A glyph's rendered bitmap (pixels owned by cover.pool). */
typedef struct cbitmap {
  int x, y, w, h, ink;
  size_t at; /* offset into pool */
} cbitmap;

typedef struct cover {
  epub *E;
  const ts_face *faces[COVER_MAX_FACES];
  int n_faces;
  uint32_t inks[COVER_MAX_INKS];
  int n_inks;
  cglyph *glyphs; /* owned (free()) */
  size_t n_glyphs, cap_glyphs;
  crect rects[4]; /* rules (ink over the paper) and the band (band set) */
  int n_rects;
  int band; /* rects[0] is the masthead's band: text on it is over the accent */
  uint32_t band_rgb;
  hb_buffer_t *hb;     /* owned */
  UBreakIterator *brk; /* owned: line breaks, opened on first use */
  int nomem;
  /* The keying pass (cover_inputs_key): layout() runs with key set and
   * records what the cover is drawn from — every block's texts and the face
   * they are set in, every colour in the order it is asked for — instead of
   * shaping anything; nokey when a block needs the fallback fonts (whose
   * choice depends on each glyph: then the drawn glyphs are the key). */
  ts_buf *key;
  int nokey;
} cover;

/* A piece of text between two break opportunities, shaped. */
typedef struct cpiece {
  size_t g0, g1; /* its glyphs in cover.glyphs (x relative to the piece's start) */
  int32_t width; /* 1/64 px, without trailing spaces */
  int32_t space; /* width of its trailing spaces */
} cpiece;

static int ink_of(cover *C, uint32_t rgb) {
  if (C->key) ts_buf_put_u32(C->key, rgb);
  for (int i = 0; i < C->n_inks; i++)
    if (C->inks[i] == rgb) return i;
  if (C->n_inks == COVER_MAX_INKS) return 0;
  C->inks[C->n_inks] = rgb;
  return C->n_inks++;
}

static int face_slot(cover *C, const ts_face *f) {
  for (int i = 0; i < C->n_faces; i++)
    if (C->faces[i] == f) return i;
  if (C->n_faces == COVER_MAX_FACES) return -1;
  C->faces[C->n_faces] = f;
  return C->n_faces++;
}

static cglyph *add_glyph(cover *C) {
  if (C->n_glyphs == C->cap_glyphs) {
    if (C->cap_glyphs >= COVER_MAX_GLYPHS) return NULL;
    size_t cap = C->cap_glyphs ? C->cap_glyphs * 2 : 256;
    cglyph *g = realloc(C->glyphs, cap * sizeof *g);
    if (!g) {
      C->nomem = 1;
      return NULL;
    }
    C->glyphs = g;
    C->cap_glyphs = cap;
  }
  return &C->glyphs[C->n_glyphs++];
}

/* Shapes s[0..n) (one piece) in the fontset's faces at `size` (1/64 px per
 * em): glyphs appended with x relative to the piece's start; returns the
 * advance.  Runs change face where ts_fontset_pick changes its answer. */
static int32_t shape_run(cover *C, const ts_fontset *fs, const char *s, size_t n, int32_t size,
                         int ink) {
  int32_t pen = 0;
  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    size_t k = ts_utf8_decode(s + i, n - i, &cp);
    if (!k) k = 1;
    const ts_face *f = ts_fontset_pick(fs, cp);
    size_t j = i + k;
    while (j < n) { /* extend the run while the same face answers */
      uint32_t c2;
      size_t k2 = ts_utf8_decode(s + j, n - j, &c2);
      if (!k2) k2 = 1;
      if (ts_fontset_pick(fs, c2) != f && u_getCombiningClass(c2) == 0) break;
      j += k2;
    }
    int slot = f ? face_slot(C, f) : -1;
    if (slot >= 0) {
      hb_buffer_clear_contents(C->hb);
      hb_buffer_add_utf8(C->hb, s + i, (int)(j - i), 0, (int)(j - i));
      hb_buffer_guess_segment_properties(C->hb);
      hb_shape(ts_face_font(f), C->hb, NULL, 0);
      unsigned ng = 0;
      const hb_glyph_info_t *gi = hb_buffer_get_glyph_infos(C->hb, &ng);
      const hb_glyph_position_t *gp = hb_buffer_get_glyph_positions(C->hb, NULL);
      double k64 = (double)size / f->upem; /* font units -> 1/64 px */
      for (unsigned g = 0; g < ng; g++) {
        /* control characters (a bell, a stray ESC in the metadata) draw
         * nothing, as on the PDF's title page, not a missing-glyph box */
        unsigned char c0 = (unsigned char)s[i + gi[g].cluster];
        if (c0 < 0x20 || c0 == 0x7F ||
            (c0 == 0xC2 && (unsigned char)s[i + gi[g].cluster + 1] < 0xA0))
          continue;
        cglyph *o = add_glyph(C);
        if (!o) return pen;
        o->face = slot;
        o->gid = gi[g].codepoint;
        o->x = pen + (int32_t)lround(gp[g].x_offset * k64);
        o->y = -(int32_t)lround(gp[g].y_offset * k64);
        o->size = size;
        o->ink = ink;
        pen += (int32_t)lround(gp[g].x_advance * k64);
      }
    }
    i = j;
  }
  return pen;
}

/* The advance of s set on one line (nothing kept). */
static int32_t measure(cover *C, const ts_fontset *fs, const char *s, int32_t size) {
  if (C->key) return 0; /* the keying pass: nothing is shaped */
  size_t g0 = C->n_glyphs;
  int32_t w = shape_run(C, fs, s, strlen(s), size, 0);
  C->n_glyphs = g0;
  return w;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Splits s into pieces at ICU's line break opportunities (UAX #14 with
 * the language's tailoring: after spaces, between CJK characters but not
 * before their closing punctuation, Thai at word boundaries...) and shapes
 * each; a piece's trailing spaces count as advance only.  *out returns owned
 * (free()). */
static size_t make_pieces(cover *C, const ts_fontset *fs, const char *s, size_t n, int32_t size,
                          int ink, int32_t width, cpiece **out) {
  *out = NULL;
  size_t np = 0, cap;
  UErrorCode e = U_ZERO_ERROR;
  int32_t n16 = 0, got = 0;
  u_strFromUTF8WithSub(NULL, 0, &n16, s, (int32_t)n, 0xFFFD, NULL, &e);
  if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e)) return 0;
  e = U_ZERO_ERROR;
  UChar *u = malloc(((size_t)n16 + 1) * sizeof *u);
  size_t *o8 = malloc(((size_t)n16 + 1) * sizeof *o8);     /* UTF-16 index -> byte offset */
  cpiece *p = malloc((cap = (size_t)n16 + 1) * sizeof *p); /* grows for split words */
  if (!u || !o8 || !p) goto nomem;
  u_strFromUTF8WithSub(u, n16 + 1, &got, s, (int32_t)n, 0xFFFD, NULL, &e);
  if (U_FAILURE(e)) goto done;
  for (size_t i = 0, k16 = 0; i < n && k16 < (size_t)got;) {
    uint32_t cp;
    size_t k = ts_utf8_decode(s + i, n - i, &cp);
    if (!k) k = 1; /* one invalid byte: one U+FFFD */
    o8[k16++] = i;
    if (cp > 0xFFFF && k16 < (size_t)got) o8[k16++] = i;
    i += k;
  }
  o8[got] = n;
  if (!C->brk) {
    C->brk = ubrk_open(UBRK_LINE, C->E->lang, NULL, 0, &e);
    if (U_FAILURE(e) || !C->brk) {
      C->brk = NULL;
      goto nomem; /* ICU's data is linked in: only memory can fail */
    }
  }
  ubrk_setText(C->brk, u, got, &e);
  if (U_FAILURE(e)) goto nomem;
  int32_t space = -1;
  for (int32_t a = ubrk_first(C->brk), b; (b = ubrk_next(C->brk)) != UBRK_DONE; a = b) {
    size_t w0 = o8[a], w1 = o8[b], nsp = 0;
    while (w1 > w0 && is_space(s[w1 - 1])) w1--, nsp++;
    if (w1 == w0 && np == 0) continue; /* leading spaces */
    if (w1 == w0) { /* spaces alone (after a hard break): widen the last piece's */
      p[np - 1].space += (int32_t)nsp * (space < 0 ? 0 : space);
      continue;
    }
    if (nsp && space < 0) space = measure(C, fs, " ", size);
    if (np == cap) {
      cpiece *q = realloc(p, 2 * cap * sizeof *p);
      if (!q) goto nomem;
      p = q;
      cap *= 2;
    }
    cpiece *pc = &p[np++];
    pc->g0 = C->n_glyphs;
    pc->width = shape_run(C, fs, s + w0, w1 - w0, size, ink);
    pc->g1 = C->n_glyphs;
    pc->space = (int32_t)nsp * (space < 0 ? 0 : space);
    /* a word wider than the line (a 5,000-letter word, an address) is cut
     * between glyphs into pieces that fit */
    while (p[np - 1].width > width && p[np - 1].g1 - p[np - 1].g0 > 1) {
      if (np == cap) {
        cpiece *q = realloc(p, 2 * cap * sizeof *p);
        if (!q) goto nomem;
        p = q;
        cap *= 2;
      }
      cpiece *w = &p[np - 1], *r = &p[np];
      size_t g = w->g0 + 1;
      while (g + 1 < w->g1 && C->glyphs[g + 1].x <= width) g++;
      int32_t shift = C->glyphs[g].x;
      *r = (cpiece){g, w->g1, w->width - shift, w->space};
      for (size_t k = g; k < w->g1; k++) C->glyphs[k].x -= shift;
      w->g1 = g;
      w->width = shift;
      w->space = 0;
      np++;
    }
  }
  goto done;
nomem:
  C->nomem = 1;
done:
  free(u);
  free(o8);
  if (C->nomem) {
    free(p);
    return 0;
  }
  *out = p;
  return np;
}

/* Moves glyphs [g0, g1) by dx, dy (they were relative to their piece). */
static void place(cover *C, size_t g0, size_t g1, int32_t dx, int32_t dy) {
  for (size_t g = g0; g < g1; g++) {
    C->glyphs[g].x += dx;
    C->glyphs[g].y += dy;
  }
}

/* Sets s in lines of at most `width` (1/64 px) starting at x0, the first
 * baseline at y, `leading` apart (all 1/64 px); at most max_lines lines (0:
 * no limit), the last one cut after a word with an ellipsis when text
 * remains — or, when `fit`, nothing is kept and -1 returned so that the
 * caller can try a smaller size.  rtl: pieces run right to left from the
 * right edge; right: lines flush right.  Returns the number of lines. */
static int set_text(cover *C, const ts_fontset *fs, const char *s, int32_t size, int ink,
                    int32_t x0, int32_t width, int32_t y, int32_t leading, int max_lines, int rtl,
                    int right, int fit) {
  if (C->key) return 1; /* the keying pass: its block's texts are in the key */
  size_t n = s ? strlen(s) : 0;
  if (n > COVER_TEXT_MAX) n = COVER_TEXT_MAX;
  size_t start = C->n_glyphs;
  cpiece *pc;
  size_t np = make_pieces(C, fs, s ? s : "", n, size, ink, width, &pc);
  size_t shaped_end = C->n_glyphs; /* the lines' glyphs are copies placed after these */
  int lines = 0;
  size_t i = 0;
  while (i < np && !C->nomem) {
    size_t j = i; /* the line's pieces: [i, j) */
    int32_t w = 0;
    while (j < np) {
      int32_t add = (j > i ? pc[j - 1].space : 0) + pc[j].width;
      if (j > i && w + add > width) break;
      w += add;
      j++;
    }
    int cut = max_lines && lines + 1 == max_lines && j < np;
    if (cut && fit) {
      lines = -1;
      break;
    }
    int32_t ew = 0;
    if (cut) { /* room for the ellipsis: drop whole words from the end */
      size_t e0 = C->n_glyphs;
      ew = shape_run(C, fs, "\xe2\x80\xa6", 3, size, ink);
      C->n_glyphs = e0;
      while (j > i + 1 && w + ew > width) {
        j--;
        w -= pc[j].width + pc[j - 1].space;
      }
      cpiece *q = &pc[j - 1]; /* a lone piece (a cut word): drop its last glyphs */
      int32_t start = w - q->width;
      while (q->g1 - q->g0 > 1 && w + ew > width) {
        q->g1--;
        q->width = C->glyphs[q->g1].x;
        w = start + q->width;
      }
    }
    int32_t full = w + ew; /* the line's width with its ellipsis */
    int32_t left = (rtl || right) ? x0 + width - full : x0;
    int32_t pos = 0; /* from the line's start in reading order */
    for (size_t k = i; k < j; k++) {
      if (k > i) pos += pc[k - 1].space;
      int32_t px = rtl ? left + full - pos - pc[k].width : left + pos;
      for (size_t g = pc[k].g0; g < pc[k].g1; g++) {
        cglyph *o = add_glyph(C);
        if (!o) break;
        *o = C->glyphs[g];
        o->x += px;
        o->y += y;
      }
      pos += pc[k].width;
    }
    if (cut) {
      size_t e0 = C->n_glyphs;
      (void)shape_run(C, fs, "\xe2\x80\xa6", 3, size, ink);
      place(C, e0, C->n_glyphs, rtl ? left : left + w, y);
    }
    lines++;
    y += leading;
    i = j;
    if (cut) break;
  }
  free(pc);
  if (lines < 0 || C->nomem) {
    C->n_glyphs = start;
    return lines;
  }
  size_t placed = C->n_glyphs - shaped_end;
  if (placed && C->glyphs)
    memmove(&C->glyphs[start], &C->glyphs[shaped_end], placed * sizeof *C->glyphs);
  C->n_glyphs = start + placed;
  return lines;
}

/* The faces for texts (NULL-terminated) in a block style's role, weight
 * and slant: the role's first family alone when it covers every character
 * of them and the ellipsis — the face the EPUB embeds for that role, and no
 * fallback machinery to set up (fonts/fallbacks.yaml, the family index: a
 * million instructions) — else the role's fontset with its fallbacks.  NULL
 * when the role has no face at all. */
static const ts_fontset *block_fonts(cover *C, const ts_block_style *bs, int bold,
                                     const char *const *texts, ts_fontset *fs) {
  const ts_style *st = C->E->style;
  const ts_font_role *role = &st->fonts[bs->role];
  int weight = bold ? 700 : 400;
  const ts_face *f = NULL;
  if (role->n_families > 0 && role->families[0] && role->families[0][0] &&
      ts_fonts_lookup(C->E->ctx, role->families[0], weight, bs->italic, &f) != TS_OK) {
    C->nomem = 1;
    return NULL;
  }
  int all = f && ts_face_has(f, 0x2026);
  for (size_t t = 0; all && texts[t]; t++)
    for (const char *s = texts[t]; *s && all;) {
      uint32_t cp;
      size_t k = ts_utf8_decode(s, strlen(s), &cp);
      s += k ? k : 1;
      all = cp <= 0x20 || (cp >= 0x7F && cp < 0xA0) || ts_face_has(f, cp);
    }
  if (C->key) {
    /* the block: its texts whole (whatever of them is drawn, and where,
     * follows from them) and its one face */
    size_t nt = 0;
    while (texts[nt]) nt++;
    ts_buf_put_u32(C->key, (uint32_t)nt);
    for (size_t t = 0; t < nt; t++) {
      ts_buf_put_u64(C->key, strlen(texts[t]));
      ts_buf_puts(C->key, texts[t]);
    }
    if (!all || !ts_dcache_key_file(C->key, f->path, f->index)) C->nokey = 1;
  }
  if (all) {
    memset(fs, 0, sizeof *fs);
    fs->faces[0] = f;
    fs->n = 1;
    return fs;
  }
  ts_status s = ts_fonts_fontset(C->E->ctx, role, weight, bs->italic, st->dir, C->E->d, fs);
  if (s == TS_ERR_NOMEM) C->nomem = 1;
  return s == TS_OK && fs->n > 0 && fs->faces[0] ? fs : NULL;
}

/* s in capitals (ICU, the book's language): returns owned (free()), or NULL
 * when memory ran out. */
static char *upper(const char *s, const char *lang) {
  size_t n = strlen(s);
  if (n > COVER_TEXT_MAX) n = COVER_TEXT_MAX; /* a cut sequence becomes U+FFFD */
  UErrorCode e = U_ZERO_ERROR;
  int32_t n16 = 0, got = 0, nu = 0, n8 = 0;
  u_strFromUTF8WithSub(NULL, 0, &n16, s, (int32_t)n, 0xFFFD, NULL, &e);
  if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e)) return strdup(s);
  e = U_ZERO_ERROR;
  /* capitals take at most 3 UTF-16 units for one, each at most 3 bytes of UTF-8
   */
  UChar *u = malloc(((size_t)n16 + 1) * sizeof *u);
  UChar *up = malloc(((size_t)n16 * 3 + 1) * sizeof *up);
  char *out = malloc((size_t)n16 * 9 + 1);
  char *r = NULL;
  if (u && up && out) {
    u_strFromUTF8WithSub(u, n16 + 1, &got, s, (int32_t)n, 0xFFFD, NULL, &e);
    if (U_SUCCESS(e)) nu = u_strToUpper(up, n16 * 3 + 1, u, got, lang, &e);
    if (U_SUCCESS(e)) u_strToUTF8(out, n16 * 9 + 1, &n8, up, nu, &e);
    if (U_SUCCESS(e)) {
      out[n8] = 0;
      r = out;
      out = NULL;
    } else {
      r = strdup(s); /* capitals are a nicety: the text as written */
    }
  }
  free(u);
  free(up);
  free(out);
  return r;
}

/* Lays out the whole cover: fills C->glyphs and C->rects. */
static ts_status layout(cover *C) {
  epub *E = C->E;
  const ts_style *st = E->style;
  const ts_meta *m = &E->doc->meta;
  const int32_t X0 = COVER_MARGIN * 64, W = (EPUB_COVER_W - 2 * COVER_MARGIN) * 64;
  ts_fontset fs;
  /* the masthead: accent text over a rule, or text on an accent band */
  ts_buf mt;
  ts_buf_init(&mt);
  epub_masthead_text(E, &mt);
  if (mt.oom) return TS_ERR_NOMEM;
  const ts_block_style *ms = &st->masthead_style;
  if (mt.len) {
    int band = ms->color != st->accent;
    int32_t size = 46 * 64, base = 200 * 64;
    if (band) {
      C->rects[C->n_rects++] = (crect){0, 120, EPUB_COVER_W, 250, -1};
      C->band = 1;
      C->band_rgb = st->accent;
      base = 205 * 64;
    } else {
      C->rects[C->n_rects++] =
          (crect){COVER_MARGIN, 236, EPUB_COVER_W - COVER_MARGIN, 242, ink_of(C, st->accent)};
    }
    char *text = ms->uppercase ? upper(mt.data, E->lang) : strdup(mt.data);
    int ink = ink_of(C, ms->color);
    int32_t issn_w = 0; /* the ISSN at the far end, as on the PDF's masthead */
    char issn[96];
    (void)snprintf(issn, sizeof issn, "ISSN %s", m->series.issn ? m->series.issn : "");
    const char *mtexts[] = {text, issn, NULL};
    if (text && block_fonts(C, ms, 0, mtexts, &fs) && m->series.issn && m->series.issn[0]) {
      issn_w = measure(C, &fs, issn, size) + 48 * 64;
      (void)set_text(C, &fs, issn, size, ink, X0, W, base, 0, 1, 0, !E->rtl, 0);
    }
    if (text && block_fonts(C, ms, ms->bold, mtexts, &fs))
      (void)set_text(C, &fs, text, size, ink, E->rtl ? X0 + issn_w : X0, W - issn_w, base, 0, 1,
                     E->rtl, 0, 0);
    if (!text) C->nomem = 1;
    free(text);
  }
  ts_buf_free(&mt);
  /* the title, as large as five lines allow */
  int32_t y = 720 * 64;
  const char *ttexts[] = {E->title, NULL};
  if (block_fonts(C, &st->title, st->title.bold, ttexts, &fs)) {
    int32_t size = 132 * 64;
    int ink = ink_of(C, st->title.color);
    int lines = -1;
    while (lines < 0 && !C->nomem) {
      int fit = size > 76 * 64;
      lines = set_text(C, &fs, E->title, size, ink, X0, W, y, size * 112 / 100, COVER_TITLE_LINES,
                       E->rtl, 0, fit);
      if (lines < 0) size = size * 9 / 10;
    }
    if (lines > 0) y += (lines - 1) * (size * 112 / 100) + size * 7 / 10;
  }
  /* the subtitle */
  const char *stexts[] = {m->subtitle, NULL};
  if (m->subtitle && m->subtitle[0] &&
      block_fonts(C, &st->subtitle, st->subtitle.bold, stexts, &fs)) {
    int32_t size = 64 * 64;
    y += size * 13 / 10;
    int lines = set_text(C, &fs, m->subtitle, size, ink_of(C, st->subtitle.color), X0, W, y,
                         size * 5 / 4, 3, E->rtl, 0, 0);
    if (lines > 0) y += (lines - 1) * (size * 5 / 4);
  }
  /* the authors, one to a line, while there is room above the foot */
  const char **names = m->n_authors ? malloc((m->n_authors + 1) * sizeof *names) : NULL;
  if (m->n_authors && !names) C->nomem = 1;
  for (size_t a = 0; names && a < m->n_authors; a++)
    names[a] = m->authors[a].name ? m->authors[a].name : "";
  if (names) names[m->n_authors] = NULL;
  if (names && block_fonts(C, &st->author, st->author.bold, names, &fs)) {
    int32_t size = 58 * 64, lead = size * 13 / 10;
    y += 140 * 64;
    int ink = ink_of(C, st->author.color);
    for (size_t a = 0; a < m->n_authors && !C->nomem; a++) {
      const char *name = m->authors[a].name;
      if (!name || !name[0]) continue;
      int last = y + lead > (EPUB_COVER_H - 400) * 64 && a + 1 < m->n_authors;
      int lines = set_text(C, &fs, last ? "\xe2\x80\xa6" : name, size, ink, X0, W, y, lead, 2,
                           E->rtl, 0, 0);
      if (lines > 0) y += lines * lead;
      if (last) break;
    }
  }
  free(names);
  /* the foot: the publisher and the year over a rule */
  const char *pub = m->publisher && m->publisher[0] ? m->publisher : m->series.publisher;
  char year[8] = "";
  if (m->date && strlen(m->date) >= 4 && strspn(m->date, "0123456789") >= 4) {
    memcpy(year, m->date, 4);
    year[4] = 0;
  }
  if ((pub && pub[0]) || year[0]) {
    C->rects[C->n_rects++] = (crect){COVER_MARGIN, EPUB_COVER_H - 250, EPUB_COVER_W - COVER_MARGIN,
                                     EPUB_COVER_H - 247, ink_of(C, st->accent)};
    ts_block_style foot = *ms;
    foot.bold = 0;
    foot.uppercase = 0;
    const char *ftexts[] = {pub ? pub : "", year, NULL};
    if (block_fonts(C, &foot, 0, ftexts, &fs)) {
      int ink = ink_of(C, st->text_color);
      int32_t base = (EPUB_COVER_H - 170) * 64, size = 44 * 64, yw = 0;
      if (year[0]) {
        yw = measure(C, &fs, year, size) + 48 * 64;
        (void)set_text(C, &fs, year, size, ink, X0, W, base, 0, 1, 0, !E->rtl, 0);
      }
      if (pub && pub[0])
        (void)set_text(C, &fs, pub, size, ink, E->rtl ? X0 + yw : X0, W - yw, base, 0, 1, E->rtl, 0,
                       0);
    }
  }
  return C->nomem ? TS_ERR_NOMEM : TS_OK;
}

/* ---- drawing
 * ------------------------------------------------------------------ */

/* Something drawn: a glyph's bitmap, a rule or the band. */
typedef struct citem {
  int x0, y0, x1, y1; /* pixels covered, clipped to the cover */
  int ink;            /* -1: the band (under the text) */
  int bitmap;         /* 1: coverage in pool at `at`, (x1 - x0) bytes a row */
  size_t at;
} citem;

typedef struct craster {
  citem *items; /* owned */
  size_t n, cap;
  unsigned char *pool; /* owned: glyph coverage */
  size_t pool_len, pool_cap;
} craster;

static citem *new_item(craster *R) {
  if (R->n == R->cap) {
    size_t cap = R->cap ? 2 * R->cap : 128;
    citem *it = realloc(R->items, cap * sizeof *it);
    if (!it) return NULL;
    R->items = it;
    R->cap = cap;
  }
  return &R->items[R->n++];
}

/* Renders every glyph once into R (FreeType, unhinted, at its subpixel place).
 */
static ts_status render_glyphs(cover *C, FT_Library lib, craster *R) {
  ts_status st = TS_OK;
  FT_Face ft[COVER_MAX_FACES] = {0};
  int32_t ft_size[COVER_MAX_FACES] = {0};
  for (int r = 0; r < C->n_rects; r++) {
    citem *it = new_item(R);
    if (!it) TS_CHECK(TS_ERR_NOMEM);
    const crect *q = &C->rects[r];
    *it = (citem){q->x0, q->y0, q->x1, q->y1, q->ink, 0, 0};
  }
  for (size_t g = 0; g < C->n_glyphs; g++) {
    const cglyph *gl = &C->glyphs[g];
    const ts_face *f = C->faces[gl->face];
    if (!ft[gl->face]) {
      unsigned len = 0;
      const char *data = hb_blob_get_data(ts_face_blob(f), &len);
      if (!data || FT_New_Memory_Face(lib, (const FT_Byte *)data, (FT_Long)len, (FT_Long)f->index,
                                      &ft[gl->face]) != 0) {
        ft[gl->face] = NULL;
        continue; /* loaded once already by fonts/: not expected to fail */
      }
    }
    FT_Face face = ft[gl->face];
    if (ft_size[gl->face] != gl->size) {
      if (FT_Set_Char_Size(face, 0, gl->size, 72, 72) != 0) continue;
      ft_size[gl->face] = gl->size;
    }
    if (FT_Load_Glyph(face, gl->gid, FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP) != 0 ||
        face->glyph->format != FT_GLYPH_FORMAT_OUTLINE)
      continue;
    int32_t ix = gl->x >> 6, iy = gl->y >> 6; /* floor: the shifts are arithmetic */
    FT_Outline_Translate(&face->glyph->outline, gl->x - ix * 64, -(gl->y - iy * 64));
    if (FT_Render_Glyph(face->glyph, FT_RENDER_MODE_NORMAL) != 0) continue;
    const FT_Bitmap *bm = &face->glyph->bitmap;
    if (bm->pixel_mode != FT_PIXEL_MODE_GRAY || !bm->rows || !bm->width) continue;
    int left = ix + face->glyph->bitmap_left, top = iy - face->glyph->bitmap_top;
    int x0 = left < 0 ? 0 : left, y0 = top < 0 ? 0 : top;
    int x1 = left + (int)bm->width, y1 = top + (int)bm->rows;
    if (x1 > EPUB_COVER_W) x1 = EPUB_COVER_W;
    if (y1 > EPUB_COVER_H) y1 = EPUB_COVER_H;
    if (x0 >= x1 || y0 >= y1) continue;
    size_t need = (size_t)(x1 - x0) * (size_t)(y1 - y0);
    if (!R->pool || R->pool_len + need > R->pool_cap) {
      size_t cap = R->pool_cap ? R->pool_cap : 65536;
      while (cap < R->pool_len + need) cap *= 2;
      unsigned char *p = realloc(R->pool, cap);
      if (!p) TS_CHECK(TS_ERR_NOMEM);
      R->pool = p;
      R->pool_cap = cap;
    }
    citem *it = new_item(R);
    if (!it) TS_CHECK(TS_ERR_NOMEM);
    *it = (citem){x0, y0, x1, y1, gl->ink, 1, R->pool_len};
    for (int y = y0; y < y1; y++)
      memcpy(R->pool + R->pool_len + (size_t)(y - y0) * (size_t)(x1 - x0),
             bm->buffer + (ptrdiff_t)(y - top) * bm->pitch + (x0 - left), (size_t)(x1 - x0));
    R->pool_len += need;
  }
done:
  for (int i = 0; i < COVER_MAX_FACES; i++)
    if (ft[i]) FT_Done_Face(ft[i]);
  return st;
}

static void png_write_cb(png_structp p, png_bytep data, png_size_t n) {
  ts_buf_append(png_get_io_ptr(p), data, n);
}
static void png_error_cb(png_structp p, png_const_charp msg) {
  (void)msg;
  png_longjmp(p, 1);
}
static void png_warning_cb(png_structp p, png_const_charp msg) {
  (void)p;
  (void)msg;
}

/* The palette: the paper, the band, then for each (paper or band, ink) the
 * ink's coverage levels 1..levels blended over it.  Returns the number of
 * entries (at most 256) and the levels. */
static int make_palette(const cover *C, png_color pal[256], int *levels_out) {
  int unders = C->band ? 2 : 1, inks = C->n_inks ? C->n_inks : 1;
  int levels = 254 / (unders * inks);
  if (levels > 63) levels = 63;
  uint32_t base[2] = {0xFFFFFF, C->band ? C->band_rgb : 0xFFFFFF};
  for (int u = 0; u < 2; u++)
    pal[u] = (png_color){(png_byte)(base[u] >> 16), (png_byte)(base[u] >> 8), (png_byte)base[u]};
  for (int u = 0; u < unders; u++)
    for (int o = 0; o < inks; o++)
      for (int l = 1; l <= levels; l++) {
        uint32_t a = base[u], b = C->inks[o];
        unsigned ch[3];
        for (int k = 0; k < 3; k++) {
          unsigned x = (a >> (16 - 8 * k)) & 255, y = (b >> (16 - 8 * k)) & 255;
          ch[k] = (x * (unsigned)(levels - l) + y * (unsigned)l + (unsigned)levels / 2) /
                  (unsigned)levels;
        }
        pal[2 + (u * inks + o) * levels + l - 1] =
            (png_color){(png_byte)ch[0], (png_byte)ch[1], (png_byte)ch[2]};
      }
  *levels_out = levels;
  return 2 + unders * inks * levels;
}

/* Composes row y from R's items into row[0..W) (palette indices); cov and
 * ink are W bytes of scratch each. */
static void compose_row(const craster *R, int y, unsigned char *row, unsigned char *cov,
                        unsigned char *ink, const unsigned char quant[256], int levels, int inks) {
  const int W = EPUB_COVER_W;
  /* the paper or the band, and the span [lo, hi) that ink touches */
  memset(row, 0, (size_t)W);
  int lo = W, hi = 0;
  for (size_t i = 0; i < R->n; i++) {
    const citem *it = &R->items[i];
    if (y < it->y0 || y >= it->y1) continue;
    if (it->ink < 0) {
      memset(row + it->x0, 1, (size_t)(it->x1 - it->x0));
      continue;
    }
    if (it->x0 < lo) lo = it->x0;
    if (it->x1 > hi) hi = it->x1;
  }
  if (lo >= hi) return;
  memset(cov + lo, 0, (size_t)(hi - lo));
  memset(ink + lo, 0, (size_t)(hi - lo));
  for (size_t i = 0; i < R->n; i++) {
    const citem *it = &R->items[i];
    if (y < it->y0 || y >= it->y1 || it->ink < 0) continue;
    int w = it->x1 - it->x0;
    const unsigned char *src =
        it->bitmap ? R->pool + it->at + (size_t)(y - it->y0) * (size_t)w : NULL;
    unsigned char *cv = cov + it->x0, *ik = ink + it->x0, k = (unsigned char)it->ink;
    for (int x = 0; x < w; x++) {
      unsigned c = src ? src[x] : 255u;
      if (!c) continue;
      if (!cv[x] || ik[x] == k) { /* the same ink (a kerned overlap) adds up */
        unsigned sum = cv[x] + c;
        cv[x] = (unsigned char)(sum > 255 ? 255 : sum);
        ik[x] = k;
      } else if (c > cv[x]) {
        cv[x] = (unsigned char)c;
        ik[x] = k;
      }
    }
  }
  for (int x = lo; x < hi; x++) {
    int l = quant[cov[x]];
    if (l) row[x] = (unsigned char)(2 + (row[x] * inks + ink[x]) * levels + l - 1);
  }
}

#define COVER_BATCH 32 /* rows given to zlib at once */

/* Composes the rows and writes the PNG into out: libpng writes the
 * signature, header and palette; the image data is one zlib stream (RLE
 * strategy: the rows are mostly runs of paper) written as IDAT chunks
 * through png_write_chunk.  Fed 32 rows at a time, zlib takes ~90 M
 * instructions for the 3.8 M pixels, 110 M through png_write_row row by
 * row (its default strategy: 320 M at level 6, 830 M at 9, for a file 3-5 %
 * smaller; libdeflate's level 1 takes 50 M but wants the whole image in
 * memory at once, 940 more page faults). */
static ts_status write_png(const cover *C, const craster *R, ts_buf *out) {
  const int W = EPUB_COVER_W, H = EPUB_COVER_H;
  const size_t stride = (size_t)W + 1; /* a row: its filter byte (0, none), then its pixels */
  unsigned char *raw = malloc(COVER_BATCH * stride + 2 * (size_t)W + 65536);
  if (!raw) return TS_ERR_NOMEM;
  unsigned char *cov = raw + COVER_BATCH * stride, *ink = cov + W, *zout = ink + W;
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15, 8, Z_RLE) != Z_OK) {
    free(raw);
    return TS_ERR_NOMEM;
  }
  png_structp p =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_error_cb, png_warning_cb);
  png_infop info = p ? png_create_info_struct(p) : NULL;
  if (!p || !info) {
    png_destroy_write_struct(&p, &info);
    deflateEnd(&zs);
    free(raw);
    return TS_ERR_NOMEM;
  }
  if (setjmp(png_jmpbuf(p))) { /* libpng fails only for memory on a buffer it writes */
    png_destroy_write_struct(&p, &info);
    deflateEnd(&zs);
    free(raw);
    return TS_ERR_NOMEM;
  }
  png_color pal[256];
  int levels;
  int npal = make_palette(C, pal, &levels);
  int inks = C->n_inks ? C->n_inks : 1;
  unsigned char quant[256]; /* coverage -> level */
  for (int c = 0; c < 256; c++) quant[c] = (unsigned char)((c * levels + 127) / 255);
  png_set_write_fn(p, out, png_write_cb, NULL);
  png_set_IHDR(p, info, (png_uint_32)W, (png_uint_32)H, 8, PNG_COLOR_TYPE_PALETTE,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_PLTE(p, info, pal, npal);
  png_write_info(p, info);
  int zst = Z_OK;
  for (int y0 = 0; y0 < H && zst == Z_OK; y0 += COVER_BATCH) {
    int rows = H - y0 < COVER_BATCH ? H - y0 : COVER_BATCH;
    for (int r = 0; r < rows; r++) {
      raw[(size_t)r * stride] = 0;
      compose_row(R, y0 + r, raw + (size_t)r * stride + 1, cov, ink, quant, levels, inks);
    }
    int last = y0 + rows >= H;
    zs.next_in = raw;
    zs.avail_in = (uInt)((size_t)rows * stride);
    do {
      zs.next_out = zout;
      zs.avail_out = 65536;
      zst = deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
      if (zst == Z_BUF_ERROR && !last) zst = Z_OK; /* all in, all out: no progress to make */
      size_t made = 65536 - zs.avail_out;
      if (made) png_write_chunk(p, (png_const_bytep) "IDAT", zout, made);
    } while (zst == Z_OK && (zs.avail_out == 0 || last));
  }
  ts_status st = zst == Z_STREAM_END ? TS_OK : TS_ERR_NOMEM; /* zlib fails only for memory */
  png_write_chunk(p, (png_const_bytep) "IEND", NULL, 0);
  png_destroy_write_struct(&p, &info);
  deflateEnd(&zs);
  free(raw);
  if (out->oom) st = TS_ERR_NOMEM;
  return st;
}

/* FreeType's library file, keyed once a process (path, size, times,
 * inode: ts_dcache_key_file): the file the build linked against
 * (TS_FT_FILE, meson.build: the library's folder and soname), since a
 * cover found in the cache must not need FreeType loaded to be keyed.
 * ft_file_len 0 when it cannot be stat'ed (nothing is cached then).  A
 * cover is put in the cache only when the FreeType that drew it is that
 * file (ft_drew_keyed): one found first on LD_LIBRARY_PATH draws, but its
 * covers are not kept under the system library's key. */
static unsigned char ft_file_key[1024];
static size_t ft_file_len;
static pthread_once_t ft_file_once = PTHREAD_ONCE_INIT;

#ifndef TS_FT_FILE
#define TS_FT_FILE "/usr/lib/x86_64-linux-gnu/libfreetype.so.6"
#endif

static void ft_file_find(void) {
  ts_buf b;
  ts_buf_init(&b);
  if (ts_dcache_key_file(&b, TS_FT_FILE, 0) && !b.oom && b.len <= sizeof ft_file_key) {
    memcpy(ft_file_key, b.data, b.len);
    ft_file_len = b.len;
  }
  ts_buf_free(&b);
}

/* 1 when the FreeType open (ft_api.h) is the file of the key. */
static int ft_drew_keyed(void) {
  Dl_info di;
  union { /* a function's address as data (POSIX: dlsym's convention) */
    FT_Error (*fn)(FT_Library *);
    void *p;
  } ft = {.fn = FT_Init_FreeType}; /* the table's pointer */
  if (!ft.p || !dladdr(ft.p, &di) || !di.dli_fname) return 0;
  char *a = realpath(di.dli_fname, NULL), *k = realpath(TS_FT_FILE, NULL);
  int same = a && k && strcmp(a, k) == 0;
  free(a);
  free(k);
  return same;
}

/* The libraries that draw and write the cover (the build is in every key:
 * ts_dcache).  FreeType is keyed by its library file (ft_file_find) and its
 * headers' version, so that a cover found in the cache needs no FreeType
 * library at all — loading it and setting one up with its modules was half
 * a millisecond of every fresh EPUB.  0 when that file is unknown (nothing
 * is cached then). */
static int key_versions(ts_buf *k, const char *what) {
  ts_buf_printf(k, "%s 2 %dx%d ft %d.%d.%d png %lu zlib %s harfbuzz %s\n", what, EPUB_COVER_W,
                EPUB_COVER_H, FREETYPE_MAJOR, FREETYPE_MINOR, FREETYPE_PATCH,
                (unsigned long)png_access_version_number(), zlibVersion(), HB_VERSION_STRING);
  pthread_once(&ft_file_once, ft_file_find);
  if (!ft_file_len) return 0;
  ts_buf_append(k, ft_file_key, ft_file_len);
  return 1;
}

/* The rules and the band (laid out by either pass alike). */
static void key_rects(const cover *C, ts_buf *k) {
  ts_buf_put_u32(k, (uint32_t)C->band);
  ts_buf_put_u32(k, C->band_rgb);
  ts_buf_put_u32(k, (uint32_t)C->n_rects);
  for (int i = 0; i < C->n_rects; i++) {
    const crect *q = &C->rects[i];
    ts_buf_put_u32(k, (uint32_t)q->x0);
    ts_buf_put_u32(k, (uint32_t)q->y0);
    ts_buf_put_u32(k, (uint32_t)q->x1);
    ts_buf_put_u32(k, (uint32_t)q->y1);
    ts_buf_put_u32(k, (uint32_t)q->ink);
  }
}

/* The cache key from the glyphs drawn: everything that decides the pixels.
 * 0 when a font file cannot be stat'ed (then nothing is cached). */
static int cover_key(const cover *C, ts_buf *k) {
  if (!key_versions(k, "cover")) return 0;
  for (int i = 0; i < C->n_faces; i++)
    if (!ts_dcache_key_file(k, C->faces[i]->path, C->faces[i]->index)) return 0;
  ts_buf_put_u32(k, (uint32_t)C->n_inks);
  for (int i = 0; i < C->n_inks; i++) ts_buf_put_u32(k, C->inks[i]);
  key_rects(C, k);
  ts_buf_put_u64(k, C->n_glyphs);
  for (size_t g = 0; g < C->n_glyphs; g++) {
    const cglyph *gl = &C->glyphs[g];
    ts_buf_put_u32(k, (uint32_t)gl->face);
    ts_buf_put_u32(k, gl->gid);
    ts_buf_put_u32(k, (uint32_t)gl->x);
    ts_buf_put_u32(k, (uint32_t)gl->y);
    ts_buf_put_u32(k, (uint32_t)gl->size);
    ts_buf_put_u32(k, (uint32_t)gl->ink);
  }
  return !k->oom;
}

/* The cache key from what the cover is drawn from (the keying pass of
 * layout): found before anything is shaped, so a cover drawn before costs
 * a file read, not a layout (~0.9 M instructions).  0 when a block needs the
 * fallback fonts or a face file cannot be stat'ed. */
static int inputs_key(cover *C, ts_buf *k) {
  epub *E = C->E;
  if (!key_versions(k, "cover-inputs")) return 0;
  ts_buf_printf(k, "lang %s rtl %d\n", E->lang ? E->lang : "", E->rtl);
  C->key = k;
  ts_status st = layout(C);
  C->key = NULL;
  key_rects(C, k);
  int ok = st == TS_OK && !C->nokey && !k->oom;
  /* back to an empty cover for the drawing pass */
  C->n_inks = C->n_faces = C->n_rects = C->band = 0;
  C->band_rgb = 0;
  C->n_glyphs = 0;
  C->nokey = 0;
  return ok;
}

/* A cover kept under key: 1 with *png set (a reference to the cache file's
 * mapping). */
static int cached_png(const char *kind, const ts_buf *key, ts_blob **png) {
  ts_blob *v = ts_dcache_get_blob(kind, key);
  if (ts_blob_len(v) > 8 && memcmp(ts_blob_data(v), "\x89PNG\r\n\x1a\n", 8) == 0) {
    *png = v;
    return 1;
  }
  ts_blob_unref(v);
  return 0;
}

ts_status epub_cover_png(epub *E, ts_blob **png) {
  ts_status st = TS_OK;
  *png = NULL;
  cover C;
  memset(&C, 0, sizeof C);
  C.E = E;
  craster R;
  memset(&R, 0, sizeof R);
  ts_buf key, out;
  ts_buf_init(&key);
  ts_buf_init(&out);
  FT_Library lib = NULL;
  const char *kind = "coverin";
  int keyed = 0;
  if (ts_dcache_enabled()) {
    keyed = inputs_key(&C, &key); /* shapes nothing */
    if (key.oom || C.nomem) TS_CHECK(TS_ERR_NOMEM);
    if (keyed && cached_png(kind, &key, png)) goto done;
  }
  const char *why = NULL;
  if (!ts_hb_open(&why)) { /* HarfBuzz is opened by the first cover drawn */
    ts_diag_report(E->d, TS_ERROR, NULL, 0, 0, "%s", why);
    TS_CHECK(TS_ERR_INTERNAL);
  }
  C.hb = hb_buffer_create();
  if (!hb_buffer_allocation_successful(C.hb)) TS_CHECK(TS_ERR_NOMEM);
  TS_CHECK(layout(&C));
  if (C.n_glyphs == 0) goto done; /* no face at all: the text cover stays */
  if (!keyed && ts_dcache_enabled()) {
    kind = "cover";
    ts_buf_clear(&key);
    keyed = cover_key(&C, &key);
    if (key.oom) TS_CHECK(TS_ERR_NOMEM);
    if (keyed && cached_png(kind, &key, png)) goto done;
  }
  if (!ts_ft_open(&why)) { /* FreeType is opened by the first cover drawn */
    ts_diag_report(E->d, TS_ERROR, NULL, 0, 0, "%s", why);
    TS_CHECK(TS_ERR_INTERNAL);
  }
  if (FT_Init_FreeType(&lib) != 0) {
    lib = NULL;
    TS_CHECK(TS_ERR_NOMEM);
  }
  TS_CHECK(render_glyphs(&C, lib, &R));
  TS_CHECK(ts_face_check_readable(E->d)); /* a face file gone since it was read */
  TS_CHECK(write_png(&C, &R, &out));
  if (keyed && ft_drew_keyed()) ts_dcache_put(kind, &key, out.data, out.len);
  size_t n = 0;
  void *bytes = ts_buf_detach(&out, &n);
  if (!bytes || !(*png = ts_blob_take(bytes, n))) TS_CHECK(TS_ERR_NOMEM);
done:
  if (lib) FT_Done_FreeType(lib);
  if (C.hb) hb_buffer_destroy(C.hb);
  if (C.brk) ubrk_close(C.brk);
  free(C.glyphs);
  free(R.items);
  free(R.pool);
  ts_buf_free(&key);
  ts_buf_free(&out);
  return st;
}
