/* page_title.c — the first page's title block (series masthead, title,
 * subtitle, authors with their identifiers, abstract, keywords), the
 * printed table of contents, the footnotes' own galleys and the running-head
 * templates. */
#include "page_int.h"

#include <string.h>

/* ---- templates --------------------------------------------------------- */

static const char *authors_short(pg_builder *b) {
  const ts_meta *m = &b->doc->meta;
  if (m->n_authors == 0 || !m->authors[0].name) return "";
  if (m->n_authors == 1) return m->authors[0].name;
  const char *and_ = !strncmp(b->lang, "ru", 2) ? " и " : !strncmp(b->lang, "de", 2) ? " und "
                   : !strncmp(b->lang, "fr", 2) ? " et " : " and ";
  if (m->n_authors == 2 && m->authors[1].name)
    return ts_arena_printf(b->a, "%s%s%s", m->authors[0].name, and_, m->authors[1].name);
  return ts_arena_printf(b->a, "%s et al.", m->authors[0].name);
}

const char *pg_template(pg_builder *b, const char *tmpl, int page, int pages) {
  if (!tmpl || !*tmpl) return "";
  const ts_meta *m = &b->doc->meta;
  ts_buf out;
  ts_buf_init(&out);
  int n_ph = 0, n_full = 0;
  for (const char *p = tmpl; *p;) {
    if (*p == '{') {
      const char *e = strchr(p, '}');
      if (e) {
        size_t k = (size_t)(e - p - 1);
        const char *key = p + 1;
        const char *val = NULL;
        char num[24];
        int known = 1;
        if (k == 5 && !strncmp(key, "title", 5)) val = m->title;
        else if (k == 11 && !strncmp(key, "short-title", 11))
          val = m->short_title ? m->short_title : m->title;
        else if (k == 6 && !strncmp(key, "author", 6)) val = authors_short(b);
        else if (k == 6 && !strncmp(key, "series", 6)) val = m->series.name;
        else if (k == 6 && !strncmp(key, "number", 6)) val = m->series.number;
        else if (k == 4 && !strncmp(key, "page", 4)) {
          (void)snprintf(num, sizeof num, "%d", page); /* fits: an int in 24 */
          val = num;
        } else if (k == 5 && !strncmp(key, "pages", 5)) {
          (void)snprintf(num, sizeof num, "%d", pages); /* fits: an int in 24 */
          val = num;
        } else known = 0;
        if (known) {
          n_ph++;
          if (val && *val) {
            n_full++;
            ts_buf_puts(&out, val);
          }
          p = e + 1;
          continue;
        }
      }
    }
    ts_buf_putc(&out, *p++);
  }
  const char *res = "";
  if (out.oom) pg_fail(b, TS_ERR_NOMEM);
  else if ((n_ph == 0 || n_full > 0) && out.len) {
    /* trim spaces left by empty placeholders */
    size_t s = 0, e = out.len;
    while (s < e && out.data[s] == ' ') s++;
    while (e > s && out.data[e - 1] == ' ') e--;
    res = ts_arena_strndup(b->a, out.data + s, e - s);
    if (!res) {
      pg_fail(b, TS_ERR_NOMEM);
      res = "";
    }
  }
  ts_buf_free(&out);
  return res;
}

/* ---- title block -------------------------------------------------------- */

typedef struct lbl {
  const char *lang, *abstract, *keywords;
} lbl;

static const lbl labels[] = {
  {"ru", "Аннотация", "Ключевые слова"},
  {"de", "Zusammenfassung", "Schlüsselwörter"},
  {"fr", "Résumé", "Mots-clés"},
  {"es", "Resumen", "Palabras clave"},
  {"en", "Abstract", "Keywords"},
};

static const lbl *label_for(const char *lang) {
  for (size_t i = 0; i + 1 < sizeof labels / sizeof labels[0]; i++)
    if (lang && !strncmp(lang, labels[i].lang, 2)) return &labels[i];
  return &labels[sizeof labels / sizeof labels[0] - 1];
}

/* A short paragraph of plain spans, never split from the next. */
static void plain_para(pg_builder *b, const ts_span *sp, size_t n, const ts_block_style *bs,
                       double left, double right, ts_align al, int keep_next) {
  pg_para_fmt f;
  memset(&f, 0, sizeof f);
  f.bs = bs;
  f.left = left;
  f.right = right;
  f.align = al == TS_JUSTIFY ? TS_RAGGED_RIGHT : al;
  f.kind = PG_BOX_HEADING;
  f.balance = 1;
  b->keep = 1 << 20;
  pg_para(b, sp, n, &f);
  b->keep = keep_next ? 1 : 0;
}

static void first_space(pg_builder *b, double before) {
  if (!b->have_block && before > 0) {
    pg_box *bx = pg_box_new(b->galley); /* space above the first element survives */
    if (!bx) {
      pg_fail(b, TS_ERR_NOMEM);
      return;
    }
    bx->h = before;
    bx->kind = PG_BOX_OTHER;
    pg_emit_box(b, bx);
    b->pend_space = 0;
  } else {
    pg_space(b, before);
  }
}

static void masthead(pg_builder *b) {
  const ts_style *st = b->st;
  const ts_meta *m = &b->doc->meta;
  const char *text = pg_template(b, st->masthead, 1, 1);
  if (!text || !*text) return;
  const ts_block_style *ms = &st->masthead_style;
  double L = pg_leading(ms);
  /* text on an accent band when it contrasts, else accent text over a rule */
  int band = ms->color != st->accent;
  ts_span sp = pg_span_plain(b, ms, text);
  ts_line ln, rl;
  if (!pg_line(b, &sp, 1, &ln)) return;
  int has_right = 0;
  if (m->series.issn && *m->series.issn) {
    ts_block_style rs = *ms;
    rs.bold = 0;
    ts_span r = pg_span_plain(b, &rs, ts_arena_printf(b->a, "ISSN %s", m->series.issn));
    if (!r.text) { pg_fail(b, TS_ERR_NOMEM); return; }
    has_right = pg_line(b, &r, 1, &rl);
  }
  pg_box *bx = pg_box_new(b->galley);
  if (!bx) { pg_fail(b, TS_ERR_NOMEM); return; }
  bx->kind = PG_BOX_OTHER;
  double pad = band ? 0.5 * ms->size : 0;
  if (band) {
    bx->h = PG_STRUT_H * L + 0.45 * L;
    bx->d = PG_STRUT_D * L + 0.45 * L;
    ts_draw *r = pg_box_draw(b->galley, bx);
    if (!r) { pg_fail(b, TS_ERR_NOMEM); return; }
    r->kind = TS_DRAW_RECT;
    r->x = 0;
    r->y = -bx->d;
    r->w = b->col_w;
    r->h = bx->h + bx->d;
    r->color = st->accent;
  } else {
    bx->h = PG_STRUT_H * L;
    bx->d = PG_STRUT_D * L + 0.4 * L;
    ts_draw *r = pg_box_draw(b->galley, bx);
    if (!r) { pg_fail(b, TS_ERR_NOMEM); return; }
    r->kind = TS_DRAW_RULE;
    r->x = 0;
    r->y = -bx->d + 0.5;
    r->w = b->col_w;
    r->lw = 1.0;
    r->color = st->accent;
  }
  pg_draw_line(b, bx, &ln, pad, 0);
  if (has_right) {
    double x0, w;
    pg_line_extent(&rl, &x0, &w);
    pg_draw_line(b, bx, &rl, b->col_w - pad - w, 0);
  }
  pg_emit_box(b, bx);
  pg_emit_penalty(b, PG_INF_PENALTY, 0);
  pg_space_after(b, ms->space_after);
}

static void add_text(ts_buf *t, const char *sep, const char *s) {
  if (!s || !*s) return;
  if (t->len) ts_buf_puts(t, sep);
  ts_buf_puts(t, s);
}

/* A keyword of at most 32 bytes with no-break spaces (arena); a longer
 * one as it is. */
static const char *keyword_text(pg_builder *b, const char *k) {
  size_t n = strlen(k), sp = 0;
  if (n > 32) return k;
  for (size_t i = 0; i < n; i++) sp += k[i] == ' ';
  if (!sp) return k;
  char *o = ts_arena_alloc(b->a, n + sp + 1);
  if (!o) return k;
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    if (k[i] == ' ') {
      o[j++] = (char)0xC2;
      o[j++] = (char)0xA0;
    } else {
      o[j++] = k[i];
    }
  }
  o[j] = 0;
  return o;
}

static void detail_line(pg_builder *b, const ts_block_style *bs, const char *text, ts_align al) {
  if (!text || !*text) return;
  ts_span sp = pg_span_plain(b, bs, text);
  plain_para(b, &sp, 1, bs, 0, 0, al, 1);
}

static void author_block(pg_builder *b, const ts_author *au) {
  const ts_style *st = b->st;
  const ts_block_style *as = &st->author, *fs = &st->affiliation;
  if (!au->name) return;
  pg_space(b, as->space_before);
  ts_span name = pg_span_plain(b, as, au->name);
  plain_para(b, &name, 1, as, 0, 0, as->align, 1);
  ts_buf t;
  ts_buf_init(&t);
  add_text(&t, ", ", au->degree);
  add_text(&t, ", ", au->role);
  if (t.len) detail_line(b, fs, ts_arena_strndup(b->a, t.data, t.len), fs->align);
  detail_line(b, fs, au->affiliation, fs->align);
  detail_line(b, fs, au->address, fs->align);
  /* identifiers: "ORCID: 0000-…  ResearcherID: B-…  Scopus AuthorID: …",
   * each pair unbreakable (no-break spaces), pairs separated by an em space;
   * upright even when the affiliation style is italic */
  ts_block_style is = *fs;
  is.italic = 0;
  ts_span sp[64];
  size_t n = 0;
  if (au->orcid && *au->orcid) {
    sp[n] = pg_span_plain(b, &is, ts_arena_printf(b->a, "ORCID:\xC2\xA0%s", au->orcid));
    sp[n].link = ts_arena_printf(b->a, "https://orcid.org/%s", au->orcid);
    sp[n].no_hyphen = 1;
    n++;
  }
  for (size_t i = 0; i < au->n_ids && n + 2 < sizeof sp / sizeof sp[0]; i++) {
    if (!au->ids[i].key || !au->ids[i].value) continue;
    if (n) sp[n++] = pg_span_plain(b, &is, "\xE2\x80\x83"); /* em space */
    ts_buf_clear(&t);
    for (const char *k = au->ids[i].key; *k; k++) {
      if (*k == ' ') ts_buf_puts(&t, "\xC2\xA0");
      else ts_buf_putc(&t, *k);
    }
    ts_buf_puts(&t, ":\xC2\xA0");
    ts_buf_puts(&t, au->ids[i].value);
    sp[n] = pg_span_plain(b, &is, t.oom ? "" : ts_arena_strndup(b->a, t.data, t.len));
    sp[n].no_hyphen = 1;
    n++;
  }
  for (size_t i = 0; i < n; i++)
    if (!sp[i].text) pg_fail(b, TS_ERR_NOMEM);
  if (n && !b->err) plain_para(b, sp, n, &is, 0, 0, fs->align, 1);
  if (au->email && *au->email) {
    ts_span e = pg_span_plain(b, &is, ts_arena_printf(b->a, "E-mail:\xC2\xA0%s", au->email));
    e.link = ts_arena_printf(b->a, "mailto:%s", au->email);
    if (!e.text || !e.link) pg_fail(b, TS_ERR_NOMEM);
    else plain_para(b, &e, 1, &is, 0, 0, fs->align, 1);
  }
  ts_buf_free(&t);
  b->keep = 0;
  pg_space_after(b, fs->space_after);
}

void pg_build_title(pg_builder *b) {
  const ts_style *st = b->st;
  const ts_meta *m = &b->doc->meta;
  b->no_grid = 1;
  masthead(b);
  if (m->title) {
    const ts_block_style *ts = &st->title;
    first_space(b, ts->space_before);
    ts_span sp = pg_span_plain(b, ts, m->title);
    plain_para(b, &sp, 1, ts, 0, 0, ts->align, 1);
    pg_space_after(b, ts->space_after);
  }
  if (m->subtitle) {
    const ts_block_style *ss = &st->subtitle;
    first_space(b, ss->space_before);
    ts_span sp = pg_span_plain(b, ss, m->subtitle);
    plain_para(b, &sp, 1, ss, 0, 0, ss->align, 1);
    pg_space_after(b, ss->space_after);
  }
  b->keep = 0;
  for (size_t i = 0; i < m->n_authors && !b->err; i++) author_block(b, &m->authors[i]);

  const lbl *lb = label_for(b->lang);
  if ((m->abstract && m->abstract->first) || (m->abstract_text && *m->abstract_text)) {
    ts_block_style *as = ts_arena_alloc(b->a, sizeof *as);
    if (!as) { pg_fail(b, TS_ERR_NOMEM); return; }
    *as = st->abstract;
    double inset = as->indent;
    pg_space(b, as->space_before);
    as->space_before = 0;
    as->space_after = 0;
    as->indent = 0;
    ts_block_style ls = *as;
    ls.bold = 1;
    ls.italic = 0;
    ts_span lead[2];
    lead[0] = pg_span_plain(b, &ls, lb->abstract);
    lead[1] = pg_span_plain(b, as, "\xE2\x80\x83"); /* em space */
    b->prev_para = 0;
    if (m->abstract && m->abstract->first) {
      /* pg_build_blocks treats the abstract style like a note: no indent */
      pg_build_blocks(b, m->abstract, as, inset, inset, lead, 2);
    } else {
      ts_span sp[3] = {lead[0], lead[1], pg_span_plain(b, as, m->abstract_text)};
      pg_para_fmt f;
      memset(&f, 0, sizeof f);
      f.bs = as;
      f.left = f.right = inset;
      f.align = as->align;
      f.hyphenate = st->hyphenate;
      f.widows = 1;
      f.kind = PG_BOX_LINE;
      pg_para(b, sp, 3, &f);
    }
    pg_space_after(b, st->abstract.space_after);
  }
  if (m->n_keywords) {
    const ts_block_style *ks = &st->keywords;
    ts_block_style ls = *ks;
    ls.bold = 1;
    /* the label, then the keywords with ", " between; a short keyword's
     * spaces do not break ("One Belt, One Road" is not split after "One"),
     * a long one's break only where they must */
    ts_span *sp = ts_arena_alloc(b->a, (2 + 2 * m->n_keywords) * sizeof *sp);
    if (!sp) { pg_fail(b, TS_ERR_NOMEM); return; }
    size_t ns = 0;
    sp[ns++] = pg_span_plain(b, &ls, ts_arena_printf(b->a, "%s:", lb->keywords));
    sp[ns++] = pg_span_plain(b, ks, " ");
    for (size_t i = 0; i < m->n_keywords; i++) {
      if (!m->keywords[i] || !*m->keywords[i]) continue;
      if (ns > 2) sp[ns++] = pg_span_plain(b, ks, ", ");
      sp[ns] = pg_span_plain(b, ks, keyword_text(b, m->keywords[i]));
      sp[ns++].no_break = 1;
    }
    pg_space(b, ks->space_before);
    pg_para_fmt f;
    memset(&f, 0, sizeof f);
    f.bs = ks;
    f.left = f.right = ks->indent;
    f.align = ks->align == TS_JUSTIFY ? TS_RAGGED_RIGHT : ks->align;
    f.kind = PG_BOX_LINE;
    pg_para(b, sp, ns, &f);
  }
  /* a hairline in the accent colour closes a paper's front matter (a book's
   * title page needs none) */
  int paperlike = (st->masthead && *st->masthead) || m->n_keywords || m->abstract ||
                  (m->abstract_text && *m->abstract_text);
  if (b->have_block && paperlike) {
    pg_space(b, 0.5 * pg_leading(&st->body));
    pg_box *bx = pg_box_new(b->galley);
    if (!bx) { pg_fail(b, TS_ERR_NOMEM); return; }
    bx->kind = PG_BOX_RULE;
    bx->h = 0.5;
    ts_draw *r = pg_box_draw(b->galley, bx);
    if (!r) { pg_fail(b, TS_ERR_NOMEM); return; }
    r->kind = TS_DRAW_RULE;
    r->w = b->col_w;
    r->y = 0.25;
    r->lw = 0.5;
    r->color = st->accent;
    pg_emit_box(b, bx);
    pg_space_after(b, st->keywords.space_after > 0 ? st->keywords.space_after
                                                   : pg_leading(&st->body));
  } else if (b->have_block) {
    pg_space_after(b, st->keywords.space_after > 0 ? st->keywords.space_after
                                                   : pg_leading(&st->body));
  }
  b->keep = 0;
  b->no_grid = 0;
  b->prev_para = 0;
}

/* ---- table of contents ---------------------------------------------------- */

void pg_build_toc(pg_builder *b) {
  const ts_style *st = b->st;
  const ts_block_style *bs = &st->body;
  int has = 0;
  for (const ts_node *n = b->doc->root->first; n; n = n->next)
    if (n->type == TS_NODE_HEADING && n->level <= 2) has = 1;
  if (!has) return;
  const char *title = !strncmp(b->lang, "ru", 2) ? "Содержание"
                    : !strncmp(b->lang, "de", 2) ? "Inhalt"
                    : !strncmp(b->lang, "fr", 2) ? "Table des matières" : "Contents";
  const ts_heading_style *hs = &st->h[0];
  /* the contents start a page of their own in a book, sunk like a chapter */
  if (b->have_block) pg_emit_penalty(b, PG_EJECT_PENALTY, 1);
  b->pend_space = 0;
  if (hs->b.space_before > 0) {
    pg_box *bx = pg_box_new(b->galley);
    if (!bx) { pg_fail(b, TS_ERR_NOMEM); return; }
    bx->h = hs->b.space_before;
    bx->kind = PG_BOX_OTHER;
    pg_emit_box(b, bx);
  }
  ts_span sp = pg_span_plain(b, &hs->b, title);
  plain_para(b, &sp, 1, &hs->b, 0, 0, hs->b.align, 1);
  pg_space_after(b, hs->b.space_after);
  double L = pg_leading(bs);
  double reserve = 3 * bs->size; /* room for the page number */
  for (const ts_node *n = b->doc->root->first; n && !b->err; n = n->next) {
    if (n->type != TS_NODE_HEADING || n->level > 2 || !n->id) continue;
    ts_block_style es = *bs;
    es.bold = n->level == 1 && 0;
    ts_span *spans = NULL;
    size_t ns = 0;
    pg_inline_spans(b, n, &es, &spans, &ns);
    if (b->err) return;
    for (size_t k = 0; k < ns; k++) {
      spans[k].link = NULL; /* the whole entry is one link */
      spans[k].note = 0;
      spans[k].model_text = 0; /* the heading's words again, not their place (the EPUB's page marks) */
    }
    /* drop footnote marks from entries */
    size_t w = 0;
    for (size_t k = 0; k < ns; k++)
      if (!spans[k].script_pos) spans[w++] = spans[k];
    ns = w;
    double ind = (n->level - 1) * 1.5 * bs->size;
    pg_space(b, n->level == 1 ? 0.5 * L : 0);
    pg_para_fmt f;
    memset(&f, 0, sizeof f);
    f.bs = &es;
    f.left = ind;
    f.right = reserve;
    f.align = TS_RAGGED_RIGHT;
    f.kind = PG_BOX_LINE;
    pg_box *first = NULL, *last = NULL;
    f.first_box = &first;
    f.last_box = &last;
    size_t before = b->v->n;
    b->in_notes = 1; /* no note references from the contents */
    pg_para(b, spans, ns, &f);
    b->in_notes = 0;
    if (!last) continue;
    /* every line of the entry links to the heading */
    for (size_t k = before; k < b->v->n; k++) {
      pg_vitem *it = &b->v->items[k];
      if (it->kind != PG_V_BOX) continue;
      ts_draw *l = pg_box_draw(b->galley, it->box);
      if (!l) { pg_fail(b, TS_ERR_NOMEM); return; }
      l->kind = TS_DRAW_LINK;
      l->x = ind;
      l->y = -it->box->d;
      l->w = b->col_w - ind;
      l->h = it->box->h + it->box->d;
      l->dest = n->id;
    }
    double lx = 0;
    for (size_t k = 0; k < last->n_draws; k++) {
      const ts_draw *dr = &last->draws[k];
      if (dr->kind == TS_DRAW_GLYPHS && dr->run && dr->x + dr->run->width > lx)
        lx = dr->x + dr->run->width;
    }
    pg_toc_entry *te = ts_vec_push(b->a, &b->toc);
    if (!te) { pg_fail(b, TS_ERR_NOMEM); return; }
    te->box = last;
    te->id = n->id;
    te->right = b->col_w;
    te->leader_from = lx + 0.5 * bs->size;
    te->bs = bs;
  }
  pg_space_after(b, L);
  b->prev_para = 0;
  b->keep = 0;
}

/* ---- footnotes ------------------------------------------------------------- */

void pg_build_notes(pg_builder *b) {
  const ts_style *st = b->st;
  const ts_doc *doc = b->doc;
  b->n_notes = doc->n_notes;
  if (!doc->n_notes) return;
  b->notes = ts_arena_alloc(b->galley, doc->n_notes * sizeof *b->notes);
  b->note_seen = ts_arena_alloc(b->a, doc->n_notes);
  if (!b->notes || !b->note_seen) { pg_fail(b, TS_ERR_NOMEM); return; }
  pg_vlist *saved = b->v;
  b->in_notes = 1;
  b->no_grid = 1;
  const ts_block_style *fs = &st->footnote;
  /* Hanging numbers: every note's text starts at the same indent, its
   * number set right-aligned in the hang before it (so 9. and 10. align on
   * the full stop), the hang fitting the widest number. */
  double gap = 0.5 * fs->size;
  double hang = 0;
  {
    ts_span w = pg_span_plain(b, fs, ts_arena_printf(b->a, "%zu.", doc->n_notes));
    ts_line wl;
    if (!w.text) { pg_fail(b, TS_ERR_NOMEM); return; }
    if (!pg_line(b, &w, 1, &wl)) return;
    double x0, x1;
    pg_line_extent(&wl, &x0, &x1);
    hang = x1 + gap;
  }
  /* each note is built into its own list; b->v points at it only inside
   * this function and is restored below.  The notes share one list's
   * array (their boxes are copied out), not one array each in the arena */
  pg_vlist nv;
  memset(&nv, 0, sizeof nv);
  for (size_t k = 0; k < doc->n_notes && !b->err; k++) {
    const ts_node *def = doc->notes[k];
    if (!def) continue;
    int num = (int)k + 1;
    nv.n = 0;
    b->v = &nv; // cppcheck-suppress autoVariables ; restored to `saved` before returning
    b->pend_space = 0;
    b->have_block = 0;
    b->keep = 0;
    b->prev_para = 0;
    ts_span lab = pg_span_plain(b, fs, ts_arena_printf(b->a, "%d.", num));
    lab.link = ts_arena_printf(b->a, "#fnref-%d", num);
    ts_line *label = ts_arena_alloc(b->a, sizeof *label);
    if (!lab.text || !lab.link || !label) { pg_fail(b, TS_ERR_NOMEM); break; }
    if (!pg_line(b, &lab, 1, label)) break;
    pg_build_blocks_label(b, def, fs, hang, 0, NULL, 0, label, hang - gap);
    if (b->err) break;
    pg_note *nt = ts_arena_alloc(b->galley, sizeof *nt);
    size_t nb = 0;
    for (size_t i = 0; i < nv.n; i++) nb += nv.items[i].kind == PG_V_BOX;
    if (!nt || !nb) { if (!nt) pg_fail(b, TS_ERR_NOMEM); continue; }
    nt->number = num;
    nt->lines = ts_arena_alloc(b->galley, nb * sizeof *nt->lines);
    nt->gap = ts_arena_alloc(b->galley, nb * sizeof *nt->gap);
    if (!nt->lines || !nt->gap) { pg_fail(b, TS_ERR_NOMEM); break; }
    double gap = 0;
    for (size_t i = 0; i < nv.n; i++) {
      const pg_vitem *it = &nv.items[i];
      if (it->kind == PG_V_GLUE) gap += it->w;
      if (it->kind != PG_V_BOX) continue;
      nt->gap[nt->n] = nt->n ? gap : 0;
      nt->lines[nt->n++] = it->box;
      gap = 0;
    }
    /* the space between notes goes above each note's first line; the DEST
     * "fn-N" marks it */
    nt->lines[0]->h += fs->space_after;
    ts_draw *dd = pg_box_draw(b->galley, nt->lines[0]);
    if (!dd) { pg_fail(b, TS_ERR_NOMEM); break; }
    dd->kind = TS_DRAW_DEST;
    dd->x = 0;
    dd->y = nt->lines[0]->h;
    dd->dest = ts_arena_printf(b->a, "fn-%d", num);
    nt->height = 0;
    for (size_t i = 0; i < nt->n; i++)
      nt->height += (i ? nt->gap[i] : 0) + nt->lines[i]->h + nt->lines[i]->d;
    b->notes[k] = nt;
  }
  b->v = saved;
  b->in_notes = 0;
  b->no_grid = 0;
  b->pend_space = 0;
  b->have_block = 0;
  b->keep = 0;
  b->prev_para = 0;
}
