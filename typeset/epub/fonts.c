/* fonts.c — embedded fonts for the EPUB: the first family of the style's
 * body, heading and mono roles, in the weights and slopes the book uses,
 * subset with harfbuzz-subset to the characters the book contains (all
 * OpenType layout features kept, so ligatures, kerning and old-style figures
 * still work for the text that is there).  A face whose OS/2 fsType forbids
 * embedding is left out with a warning; so is a family the machine lacks —
 * the book then falls back to the reader's fonts through the CSS list. */
#include "epub_int.h"

#include "fonts/ts_fonts.h"

#include <hb-subset.h>
#include <stdlib.h>
#include <string.h>

/* OS/2 fsType: 0x0002 = restricted license embedding (unless the editable
 * or preview bits also say otherwise, OpenType spec, OS/2 table). */
static int embedding_allowed(hb_face_t *face) {
  hb_blob_t *os2 = hb_face_reference_table(face, HB_TAG('O', 'S', '/', '2'));
  unsigned len = 0;
  const unsigned char *p = (const unsigned char *)hb_blob_get_data(os2, &len);
  int ok = 1;
  if (p && len >= 10) {
    unsigned fs = (unsigned)p[8] << 8 | p[9];
    if ((fs & 0x000F) == 0x0002) ok = 0;
  }
  hb_blob_destroy(os2);
  return ok;
}

/* Subsets face to E->cps; returns owned bytes (free()) or NULL. */
static unsigned char *subset(epub *E, const ts_face *f, int smallcaps, size_t *len) {
  hb_subset_input_t *in = hb_subset_input_create_or_fail();
  if (!in) return NULL;
  hb_set_union(hb_subset_input_unicode_set(in), E->cps);
  /* Keep the layout features a reader can apply to this book: HarfBuzz's
   * default set (what shapers apply by themselves: ligatures, kerning,
   * marks, contextual and script forms), the CSS's small capitals and
   * vertical positions, figure styles, and the style's own
   * font-feature-settings.  Keeping every feature (stylistic sets, swashes,
   * alternates no CSS here asks for) made the subsets several times larger
   * and slower to make and to compress. */
  hb_set_t *feat = hb_subset_input_set(in, HB_SUBSET_SETS_LAYOUT_FEATURE_TAG);
  static const char extra[][5] = {"onum", "lnum", "pnum", "tnum", "sups",
                                  "subs", "sinf", "ordn", "frac", "case"};
  for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
    hb_set_add(feat, hb_tag_from_string(extra[i], 4));
  if (smallcaps) {
    hb_set_add(feat, HB_TAG('s', 'm', 'c', 'p'));
    hb_set_add(feat, HB_TAG('c', '2', 's', 'c'));
  }
  for (int r = 0; r < TS_ROLE_COUNT; r++) {
    const char *p = E->style->fonts[r].features;
    while (p && *p) {
      while (*p == ',' || *p == ' ') p++;
      size_t k = strcspn(p, ",= ");
      if (k >= 1 && k <= 4) hb_set_add(feat, hb_tag_from_string(p, (int)k));
      p += strcspn(p, ",");
    }
  }
  hb_face_t *out = hb_subset_or_fail(f->hb_face, in);
  hb_subset_input_destroy(in);
  if (!out) return NULL;
  hb_blob_t *blob = hb_face_reference_blob(out);
  unsigned n = 0;
  const char *p = hb_blob_get_data(blob, &n);
  unsigned char *r = NULL;
  if (p && n > 0 && (r = malloc(n))) {
    memcpy(r, p, n);
    *len = n;
  }
  hb_blob_destroy(blob);
  hb_face_destroy(out);
  return r;
}

typedef struct want {
  ts_role role;
  int bold, italic;
} want;

static void want_add(want *w, int *n, ts_role role, int bold, int italic) {
  for (int i = 0; i < *n; i++)
    if (w[i].role == role && w[i].bold == bold && w[i].italic == italic) return;
  if (*n < 16) w[(*n)++] = (want){role, bold, italic};
}

ts_status epub_embed_fonts(epub *E) {
  const ts_style *s = E->style;
  want w[16];
  int n = 0;
  /* what the book's text needs, role by role */
  want_add(w, &n, TS_ROLE_BODY, 0, 0);
  if (E->used_italic) want_add(w, &n, TS_ROLE_BODY, 0, 1);
  if (E->used_bold) want_add(w, &n, TS_ROLE_BODY, 1, 0);
  if (E->used_bold && E->used_italic) want_add(w, &n, TS_ROLE_BODY, 1, 1);
  int levels[7] = {0};
  for (size_t i = 0; i < E->n_heads; i++) levels[E->heads[i].level] = 1;
  for (int l = 1; l <= 6; l++) {
    const ts_block_style *b = &s->h[l - 1].b;
    if (levels[l]) want_add(w, &n, b->role, b->bold, b->italic);
  }
  const ts_block_style *tp[] = {&s->masthead_style, &s->title, &s->subtitle, &s->author,
                                &s->affiliation, &s->abstract, &s->keywords, &s->caption,
                                &s->footnote};
  for (size_t i = 0; i < sizeof tp / sizeof tp[0]; i++)
    want_add(w, &n, tp[i]->role, tp[i]->bold, tp[i]->italic);
  if (E->used_mono) want_add(w, &n, TS_ROLE_MONO, 0, 0);

  E->fonts = ts_arena_alloc(E->a, sizeof(efont) * 16);
  if (!E->fonts) return TS_ERR_NOMEM;
  const ts_face *done[16];
  static const char *const role_name[TS_ROLE_COUNT] = {"body", "heading", "mono"};
  for (int i = 0; i < n; i++) {
    const ts_font_role *fr = &s->fonts[w[i].role];
    if (fr->n_families < 1 || !fr->families[0] || !fr->families[0][0]) continue;
    const char *family = fr->families[0];
    const ts_face *f = ts_fonts_find(E->ctx, family, w[i].bold ? 700 : 400, w[i].italic);
    if (!f) continue; /* the reader's fonts will do (the fonts stage warns) */
    /* only a face that really has the asked weight and slope: a regular face
     * declared as italic would stop the reader from slanting it */
    if ((f->weight >= 600) != (w[i].bold != 0) || (f->italic != 0) != (w[i].italic != 0)) continue;
    int dup = 0;
    for (size_t k = 0; k < E->n_fonts; k++) dup |= done[k] == f;
    if (dup) continue;
    if (!embedding_allowed(f->hb_face)) {
      ts_diag_report(E->d, TS_WARNING, f->path, 0, 0,
                     "the font's license (OS/2 fsType) forbids embedding; the EPUB "
                     "names '%s' without embedding it", family);
      continue;
    }
    /* small capitals (font-variant: small-caps) only in the faces of a
     * role that a small-caps block style of the book uses: their glyphs
     * were a sixth of a paper's subsets */
    int sc = 0;
    for (size_t k = 0; k < sizeof tp / sizeof tp[0]; k++)
      sc |= tp[k]->smallcaps && tp[k]->role == w[i].role;
    for (int l = 1; l <= 6; l++)
      sc |= levels[l] && s->h[l - 1].b.smallcaps && s->h[l - 1].b.role == w[i].role;
    const ts_block_style *flow[] = {&s->body, &s->quote, &s->code, &s->list, &s->table};
    for (size_t k = 0; k < sizeof flow / sizeof flow[0]; k++)
      sc |= flow[k]->smallcaps && flow[k]->role == w[i].role;
    size_t len = 0;
    unsigned char *data = subset(E, f, sc, &len);
    if (!data) {
      ts_diag_report(E->d, TS_WARNING, f->path, 0, 0,
                     "could not subset the font; the EPUB names '%s' without embedding it",
                     family);
      continue;
    }
    efont *ef = &E->fonts[E->n_fonts];
    ef->data = data;
    ef->len = len;
    ef->family = family;
    ef->weight = w[i].bold ? 700 : 400;
    ef->italic = w[i].italic;
    ef->media = f->is_cff ? "font/otf" : "font/ttf";
    ef->name = ts_arena_printf(E->a, "fonts/%s-%s%s.%s", role_name[w[i].role],
                               w[i].bold ? "bold" : "regular", w[i].italic ? "-italic" : "",
                               f->is_cff ? "otf" : "ttf");
    done[E->n_fonts++] = f;
    if (!ef->name) return TS_ERR_NOMEM;
  }
  return TS_OK;
}
