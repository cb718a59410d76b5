/* test_markdown.c — Markdown + YAML front matter into the model.  Expected
 * positions were counted on the inputs by hand (columns are 1-based bytes). */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "markdown/ts_markdown.h"

/* allocation failure injection (fail_countdown): ../alloc_fail.h */
#include "../alloc_fail.h"

typedef struct run {
  ts_doc *doc;
  ts_status st;
  char *diag; /* everything reported, one message a line */
  size_t diag_len;
  ts_diag d;
} run;

static ts_ctx *g_ctx; /* created per test in setup(); read-only otherwise */

static void setup(void) { g_ctx = ts_ctx_create(); }
static void teardown(void) {
  ts_ctx_destroy(g_ctx);
  g_ctx = NULL;
}

static void parse_n(run *r, const char *src, size_t len) {
  memset(r, 0, sizeof *r);
  FILE *f = open_memstream(&r->diag, &r->diag_len);
  ck_assert_ptr_nonnull(f);
  ts_diag_init(&r->d, f);
  r->st = ts_markdown_parse(g_ctx, "t.md", src, len, &r->d, &r->doc);
  fclose(f);
  r->d.out = NULL; /* later reports (apply_yaml) are counted, not printed */
}

static void parse(run *r, const char *src) { parse_n(r, src, strlen(src)); }

static void done(run *r) {
  ts_doc_destroy(r->doc);
  free(r->diag);
}

/* k-th (0-based) node of type t in document order under root. */
static ts_node *nth(ts_node *root, ts_node_type t, int k) {
  ts_iter it;
  ts_iter_init(&it, root);
  ts_node *n;
  int ent;
  while ((n = ts_iter_next(&it, &ent)))
    if (ent && n->type == t && k-- == 0) return n;
  return NULL;
}

static int count(ts_node *root, ts_node_type t) {
  ts_iter it;
  ts_iter_init(&it, root);
  ts_node *n;
  int ent, c = 0;
  while ((n = ts_iter_next(&it, &ent))) c += ent && n->type == t;
  return c;
}

static int n_children(const ts_node *n) {
  int c = 0;
  for (const ts_node *k = n->first; k; k = k->next) c++;
  return c;
}

#define POS(n, l, c)                                                          \
  do {                                                                        \
    ck_assert_ptr_nonnull(n);                                                 \
    ck_assert_uint_eq((n)->line, (l));                                        \
    ck_assert_uint_eq((n)->col, (c));                                         \
  } while (0)

static void text_is(const ts_node *n, const char *s) {
  ck_assert_ptr_nonnull(n);
  ck_assert_uint_eq(n->len, strlen(s));
  ck_assert(memcmp(n->text, s, n->len) == 0);
}

static char *plain(const ts_node *n) {
  static char out[1024]; /* tests are single-threaded */
  ts_buf b;
  ts_buf_init(&b);
  ts_node_plain_text(n, &b);
  snprintf(out, sizeof out, "%s", b.len ? b.data : "");
  ts_buf_free(&b);
  return out;
}

/* ---- Blocks ----------------------------------------------------------------*/
static const char blocks_md[] =
    "---\n"                      /* 1 */
    "title: T\n"                 /* 2 */
    "---\n"                      /* 3 */
    "# Head\n"                   /* 4 */
    "\n"                         /* 5 */
    "Para line\n"                /* 6 */
    "\n"                         /* 7 */
    "> quote\n"                  /* 8 */
    "\n"                         /* 9 */
    "3) three\n"                 /* 10 */
    "4) four\n"                  /* 11 */
    "\n"                         /* 12 */
    "- a\n"                      /* 13 */
    "\n"                         /* 14 */
    "- b\n"                      /* 15 */
    "\n"                         /* 16 */
    "```py x=1\n"                /* 17 */
    "code\n"                     /* 18 */
    "```\n"                      /* 19 */
    "\n"                         /* 20 */
    "***\n"                      /* 21 */
    "\n"                         /* 22 */
    "| h1 | h2 | h3 |\n"         /* 23 */
    "|:---|:--:|---:|\n"         /* 24 */
    "| c | d |\n"                /* 25 */
    "\n"                         /* 26 */
    "![cap *x*](fig.png \"FT\")\n" /* 27 */
    "\n"                         /* 28 */
    "  ## Indented\n";           /* 29 */

START_TEST(blocks) {
  run r;
  parse(&r, blocks_md);
  ck_assert_int_eq(r.st, TS_OK);
  ts_node *root = r.doc->root;
  ck_assert_str_eq(r.doc->meta.title, "T");
  ck_assert_uint_eq(r.doc->meta.line, 1);

  ts_node *h = nth(root, TS_NODE_HEADING, 0);
  POS(h, 4, 1);
  ck_assert_int_eq(h->level, 1);
  ck_assert_str_eq(h->id, "head");
  POS(h->first, 4, 3);
  text_is(h->first, "Head");

  ts_node *p = nth(root, TS_NODE_PARAGRAPH, 0);
  POS(p, 6, 1);
  ck_assert_ptr_eq(p->parent, root);
  text_is(p->first, "Para line");

  ts_node *q = nth(root, TS_NODE_BLOCKQUOTE, 0);
  POS(q, 8, 1);
  POS(q->first, 8, 3);
  ck_assert_int_eq(q->first->type, TS_NODE_PARAGRAPH);

  ts_node *ol = nth(root, TS_NODE_LIST, 0);
  POS(ol, 10, 1);
  ck_assert(ol->ordered);
  ck_assert_int_eq(ol->start, 3);
  ck_assert_int_eq(ol->delim, ')');
  ck_assert(ol->tight);
  ck_assert_int_eq(n_children(ol), 2);
  POS(ol->first, 10, 1);
  POS(ol->last, 11, 1);
  POS(ol->first->first, 10, 4);

  ts_node *ul = nth(root, TS_NODE_LIST, 1);
  POS(ul, 13, 1);
  ck_assert(!ul->ordered);
  ck_assert(!ul->tight); /* a blank line between the items */
  POS(ul->last, 15, 1);

  ts_node *cb = nth(root, TS_NODE_CODEBLOCK, 0);
  POS(cb, 17, 1);
  ck_assert_str_eq(cb->info, "py");
  text_is(cb, "code\n");

  POS(nth(root, TS_NODE_THEMATIC_BREAK, 0), 21, 1);

  ts_node *t = nth(root, TS_NODE_TABLE, 0);
  POS(t, 23, 1);
  ck_assert_int_eq(t->ncols, 3);
  ck_assert_int_eq(t->align[0], TS_ALIGN_LEFT);
  ck_assert_int_eq(t->align[1], TS_ALIGN_CENTER);
  ck_assert_int_eq(t->align[2], TS_ALIGN_RIGHT);
  ck_assert_int_eq(n_children(t), 2);
  ck_assert(t->first->header);
  ck_assert(!t->last->header);
  POS(t->first, 23, 1);
  POS(t->last, 25, 1);
  ck_assert_int_eq(n_children(t->first), 3);
  /* GFM: a short row is padded with empty cells up to the header's width */
  ck_assert_int_eq(n_children(t->last), 3);
  ck_assert_ptr_null(t->last->last->first);
  text_is(t->first->first->first, "h1");
  POS(t->first->first->first, 23, 3);
  text_is(t->last->first->next->first, "d");

  ts_node *fig = nth(root, TS_NODE_FIGURE, 0);
  POS(fig, 27, 1);
  ck_assert_ptr_eq(fig->parent, root);
  ck_assert_str_eq(fig->url, "fig.png");
  ck_assert_str_eq(fig->title, "FT");
  ck_assert_str_eq(fig->alt, "cap x");
  text_is(fig->first, "cap ");
  ck_assert_int_eq(fig->last->type, TS_NODE_EMPH);
  ck_assert_int_eq(count(root, TS_NODE_IMAGE), 0);

  ts_node *h2 = nth(root, TS_NODE_HEADING, 1);
  POS(h2, 29, 3);
  ck_assert_int_eq(h2->level, 2);
  ck_assert_str_eq(h2->id, "indented");
  ck_assert_int_eq(count(root, TS_NODE_PARAGRAPH), 6); /* para, quote, 4 items */
  ck_assert_uint_eq(r.d.n_warnings, 0);
  done(&r);
}
END_TEST

/* ---- Inlines ---------------------------------------------------------------*/
static const char inlines_md[] =
    "Plain *em* **st** ~~del~~ `co` [ln](https://a.b \"LT\") ![im](i.png)\n" /* 1 */
    "soft\\\n"                                                             /* 2 */
    "hard<span>x</span> <https://auto.org> www.w.org a@b.org[^n]\n"        /* 3 */
    "two  \n"                                                              /* 4 */
    "spaces\n"                                                             /* 5 */
    "\n"
    "[^n]: Note.\n"; /* 7 */

START_TEST(inlines) {
  run r;
  parse(&r, inlines_md);
  ck_assert_int_eq(r.st, TS_OK);
  ts_node *root = r.doc->root;
  ts_node *p = root->first;
  ck_assert_int_eq(p->type, TS_NODE_PARAGRAPH);
  POS(p, 1, 1);
  text_is(p->first, "Plain ");
  POS(p->first, 1, 1);
  ts_node *em = nth(p, TS_NODE_EMPH, 0);
  POS(em, 1, 7);
  POS(em->first, 1, 8);
  text_is(em->first, "em");
  ts_node *st = nth(p, TS_NODE_STRONG, 0);
  POS(st, 1, 12);
  POS(st->first, 1, 14);
  ts_node *del = nth(p, TS_NODE_STRIKE, 0);
  POS(del, 1, 19);
  text_is(del->first, "del");
  POS(del->first, 1, 21);
  ts_node *co = nth(p, TS_NODE_CODE, 0);
  POS(co, 1, 27);
  text_is(co, "co");
  ts_node *ln = nth(p, TS_NODE_LINK, 0);
  POS(ln, 1, 32);
  ck_assert_str_eq(ln->url, "https://a.b");
  ck_assert_str_eq(ln->title, "LT");
  POS(ln->first, 1, 33);
  ts_node *im = nth(p, TS_NODE_IMAGE, 0);
  POS(im, 1, 55);
  ck_assert_str_eq(im->url, "i.png");
  ck_assert_str_eq(im->alt, "im");
  ck_assert_ptr_null(im->title);
  ck_assert_ptr_null(im->first);

  /* line 1 ends with a soft break; line 2 "soft\" with a hard one */
  ts_node *sb = nth(p, TS_NODE_SOFTBREAK, 0);
  POS(sb, 1, 67);
  ts_node *soft = sb->next;
  text_is(soft, "soft");
  POS(soft, 2, 1);
  ts_node *lb = nth(p, TS_NODE_LINEBREAK, 0);
  ck_assert_ptr_eq(soft->next, lb);
  POS(lb, 2, 5);

  /* line 3: raw HTML removed, the text around it stays (merged) */
  ts_node *hard = lb->next;
  POS(hard, 3, 1);
  text_is(hard, "hardx ");
  ts_node *auto1 = nth(p, TS_NODE_LINK, 1);
  POS(auto1, 3, 20);
  ck_assert_str_eq(auto1->url, "https://auto.org");
  ts_node *auto2 = nth(p, TS_NODE_LINK, 2);
  POS(auto2, 3, 39);
  ck_assert_str_eq(auto2->url, "http://www.w.org");
  ts_node *auto3 = nth(p, TS_NODE_LINK, 3);
  POS(auto3, 3, 49);
  ck_assert_str_eq(auto3->url, "mailto:a@b.org");
  ts_node *ref = nth(p, TS_NODE_FOOTNOTE_REF, 0);
  POS(ref, 3, 56);
  ck_assert_int_eq(ref->number, 1);

  /* two trailing spaces: a hard break starting at the first space */
  ts_node *lb2 = nth(p, TS_NODE_LINEBREAK, 1);
  POS(lb2, 4, 4);
  POS(lb2->next, 5, 1);
  text_is(lb2->next, "spaces");
  ck_assert_uint_eq(r.d.n_warnings, 2); /* <span>, </span> */
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:3:5: warning: raw HTML dropped"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:3:12: warning: raw HTML dropped"));
  done(&r);
}
END_TEST

START_TEST(front_matter_shifts_inline_positions) {
  run r;
  parse(&r, "---\ntitle: a\nauthor: b\n---\n\nx *y*\n");
  ck_assert_int_eq(r.st, TS_OK);
  ts_node *em = nth(r.doc->root, TS_NODE_EMPH, 0);
  POS(em, 6, 3);
  POS(em->first, 6, 4);
  done(&r);
}
END_TEST

/* cmark-gfm's own inline positions are off on these; see fix_inline_pos */
START_TEST(positions_hard_cases) {
  run r;
  parse(&r, "> quote line\n"    /* 1 */
            "lazy *x*\n"        /* 2: lazy continuation */
            "\n"
            "- item\n"          /* 4 */
            "     more *y*\n"   /* 5: over-indented continuation */
            "\n"
            "a `co\n"           /* 7: code span over two lines */
            "de` *z*\n"         /* 8 */
            "\n"
            "x <span\n"         /* 10: raw HTML over two lines */
            "class=\"a\">y</span> *w*\n" /* 11 */
            "\n"
            "para1\n"           /* 13 */
            "  para2 *v*\n"     /* 14 */
            "| h1 | h2 |\n"     /* 15: a table glued to the paragraph */
            "|----|----|\n"
            "| c  | d  |\n");   /* 17 */
  ck_assert_int_eq(r.st, TS_OK);
  ts_node *root = r.doc->root;
  ts_node *x = nth(root, TS_NODE_EMPH, 0);
  POS(x, 2, 6);
  POS(x->first, 2, 7);
  POS(x->prev, 2, 1);
  ts_node *y = nth(root, TS_NODE_EMPH, 1);
  POS(y->prev, 5, 6);
  POS(y, 5, 11);
  ts_node *co = nth(root, TS_NODE_CODE, 0);
  POS(co, 7, 3);
  text_is(co, "co de");
  ts_node *z = nth(root, TS_NODE_EMPH, 2);
  POS(z->prev, 8, 4);
  POS(z, 8, 5);
  ts_node *w = nth(root, TS_NODE_EMPH, 3);
  POS(w, 11, 20);
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:10:3: warning: raw HTML dropped"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:11:12: warning: raw HTML dropped"));
  ts_node *p = nth(root, TS_NODE_PARAGRAPH, 4);
  POS(p, 13, 1);
  text_is(p->first, "para1");
  POS(p->first->next, 13, 6); /* soft break */
  POS(p->first->next->next, 14, 3);
  POS(nth(p, TS_NODE_EMPH, 0), 14, 9);
  POS(nth(p, TS_NODE_EMPH, 0)->first, 14, 10);
  ts_node *t = nth(root, TS_NODE_TABLE, 0);
  ck_assert_ptr_eq(p->next, t);
  POS(t, 15, 1);
  POS(t->first, 15, 1);
  ck_assert(t->first->header);
  POS(t->first->first, 15, 2);
  POS(t->first->first->first, 15, 3);
  POS(t->last, 17, 1);
  done(&r);
}
END_TEST

START_TEST(raw_html_dropped) {
  run r;
  parse(&r, "Before\n\n<div class=\"x\">\n<script>alert(1)</script>\n</div>\n\n"
            "Inline <b>bold</b> <!-- c --> end\n");
  ck_assert_int_eq(r.st, TS_OK);
  ts_buf b;
  ts_buf_init(&b);
  ts_doc_dump_json(r.doc, &b);
  ck_assert_ptr_null(strstr(b.data, "<"));
  ck_assert_ptr_null(strstr(b.data, "alert"));
  ts_buf_free(&b);
  ck_assert_int_eq(count(r.doc->root, TS_NODE_PARAGRAPH), 2);
  ck_assert_str_eq(plain(r.doc->root->last), "Inline bold  end");
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:3:1: warning: raw HTML block dropped"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:7:8: warning: raw HTML dropped"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:7:15: warning: raw HTML dropped"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:7:20: warning: raw HTML dropped"));
  ck_assert_uint_eq(r.d.n_warnings, 4);
  done(&r);
}
END_TEST

START_TEST(link_schemes) {
  run r;
  parse(&r, "# Head\n\n"
            "[click](javascript:alert(1)) [rel](other.md) [data](data:text/html,x) "
            "[a](#head) [m](mailto:x@y.z) [H](HTTPS://X.ORG) [e]()\n");
  ck_assert_int_eq(r.st, TS_OK);
  ts_node *p = nth(r.doc->root, TS_NODE_PARAGRAPH, 0);
  ck_assert_int_eq(count(p, TS_NODE_LINK), 3);
  ck_assert_str_eq(nth(p, TS_NODE_LINK, 0)->url, "#head");
  ck_assert_str_eq(nth(p, TS_NODE_LINK, 1)->url, "mailto:x@y.z");
  ck_assert_str_eq(nth(p, TS_NODE_LINK, 2)->url, "HTTPS://X.ORG");
  /* the refused links' text stays, merged into the surrounding text */
  text_is(p->first, "click rel data ");
  ck_assert_str_eq(plain(p), "click rel data a m H e");
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:3:1: warning: link target 'javascript:alert(1)'"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:3:30: warning: link target 'other.md'"));
  ck_assert_uint_eq(r.d.n_warnings, 4);
  done(&r);

  /* an anchor that names no heading is kept, with a warning */
  parse(&r, "# Real\n\n[a](#real) [b](#nope)\n\n[^n]\n\n[^n]: [c](#gone)\n");
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_int_eq(count(r.doc->root, TS_NODE_LINK), 2);
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:3:12: warning: link to '#nope'"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:7:7: warning: link to '#gone'"));
  ck_assert_uint_eq(r.d.n_warnings, 2);
  done(&r);
}
END_TEST

/* ---- Heading identifiers -----------------------------------------------------*/
START_TEST(heading_ids) {
  run r;
  parse(&r, "# Intro\n"                         /* 1 */
            "# Intro\n"                         /* 2 */
            "# Intro {#intro}\n"                /* 3 */
            "## 1. Getting *Started*: now!\n"   /* 4 */
            "# Введение в ТЕМУ\n"               /* 5 */
            "# 123\n"                           /* 6 */
            "### Custom {#my_id .unnumbered}\n" /* 7 */
            "# Dup {#my_id}\n"                  /* 8 */
            "# Not {an attr}\n");               /* 9 */
  ck_assert_int_eq(r.st, TS_OK);
  ts_node *root = r.doc->root;
  /* explicit identifiers are served first, then automatic ones in order */
  ck_assert_str_eq(nth(root, TS_NODE_HEADING, 0)->id, "intro-1");
  ck_assert_str_eq(nth(root, TS_NODE_HEADING, 1)->id, "intro-2");
  ck_assert_str_eq(nth(root, TS_NODE_HEADING, 2)->id, "intro");
  ck_assert_str_eq(plain(nth(root, TS_NODE_HEADING, 2)), "Intro");
  ck_assert_str_eq(nth(root, TS_NODE_HEADING, 3)->id, "getting-started-now");
  ck_assert_str_eq(nth(root, TS_NODE_HEADING, 4)->id, "введение-в-тему");
  ck_assert_str_eq(nth(root, TS_NODE_HEADING, 5)->id, "section");
  ck_assert_str_eq(nth(root, TS_NODE_HEADING, 6)->id, "my_id");
  ck_assert_str_eq(plain(nth(root, TS_NODE_HEADING, 6)), "Custom");
  ck_assert_str_eq(nth(root, TS_NODE_HEADING, 7)->id, "my_id-1");
  ck_assert_str_eq(plain(nth(root, TS_NODE_HEADING, 7)), "Dup");
  ck_assert_str_eq(plain(nth(root, TS_NODE_HEADING, 8)), "Not {an attr}");
  ck_assert_str_eq(nth(root, TS_NODE_HEADING, 8)->id, "not-an-attr");
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:8:1: warning: duplicate heading identifier 'my_id'"));
  ck_assert_uint_eq(r.d.n_warnings, 1);
  ck_assert_ptr_eq(ts_doc_find_id(r.doc, "my_id-1"), nth(root, TS_NODE_HEADING, 7));
  done(&r);
}
END_TEST

static const struct {
  const char *in, *out;
} ident_cases[] = {
    {"Heading identifiers in HTML", "heading-identifiers-in-html"},
    {"Maître d'hôtel", "maître-dhôtel"},
    {"*Dogs*?--in *my* house?", "dogs--in-my-house"},
    {"[HTML], [S5], or [RTF]?", "html-s5-or-rtf"},
    {"3. Applications", "applications"},
    {"33", "section"},
    {"", "section"},
    {"  a  b  ", "a-b"},
    {"v1.2_x", "v1.2_x"},
    {"ÄÖÜ Straße", "äöü-straße"},
    {"Глава 2: итоги", "глава-2-итоги"},
};

START_TEST(identifier_table) {
  ts_arena *a = ts_arena_create(0);
  const char *in = ident_cases[_i].in;
  char *id = ts_markdown_identifier(a, in, strlen(in));
  ck_assert_ptr_nonnull(id);
  ck_assert_str_eq(id, ident_cases[_i].out);
  ts_arena_destroy(a);
}
END_TEST

/* ---- Footnotes -------------------------------------------------------------*/
START_TEST(footnotes) {
  run r;
  parse(&r, "First[^b] then[^a] again[^b] unknown[^zz].\n" /* 1 */
            "\n"
            "[^a]: Note A.\n" /* 3 */
            "\n"
            "[^b]: Note B.\n" /* 5 */
            "\n"
            "[^c]: Never used.\n"); /* 7 */
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_uint_eq(r.doc->n_notes, 2);
  ts_node *nb = r.doc->notes[0], *na = r.doc->notes[1];
  ck_assert_str_eq(nb->label, "b");
  ck_assert_int_eq(nb->number, 1);
  POS(nb, 5, 1);
  ck_assert_str_eq(na->label, "a");
  ck_assert_int_eq(na->number, 2);
  POS(na, 3, 1);
  ck_assert_str_eq(plain(na), "Note A.");
  ck_assert_ptr_null(na->parent);
  /* the definitions are not in the body */
  ck_assert_int_eq(count(r.doc->root, TS_NODE_FOOTNOTE_DEF), 0);
  ck_assert_int_eq(count(r.doc->root, TS_NODE_PARAGRAPH), 1);
  ts_node *p = r.doc->root->first;
  ts_node *r0 = nth(p, TS_NODE_FOOTNOTE_REF, 0), *r1 = nth(p, TS_NODE_FOOTNOTE_REF, 1),
          *r2 = nth(p, TS_NODE_FOOTNOTE_REF, 2);
  ck_assert_int_eq(count(p, TS_NODE_FOOTNOTE_REF), 3);
  ck_assert_int_eq(r0->number, 1);
  ck_assert_ptr_eq(r0->note, nb);
  ck_assert_str_eq(r0->label, "b");
  POS(r0, 1, 6);
  ck_assert_int_eq(r1->number, 2);
  ck_assert_ptr_eq(r1->note, na);
  ck_assert_int_eq(r2->number, 1);
  ck_assert_ptr_eq(r2->note, nb);
  ck_assert_str_eq(plain(p), "First then again unknown[^zz].");
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:7:1: warning: footnote [^c] is never referenced"));
  ck_assert_uint_eq(r.d.n_warnings, 1);
  done(&r);
}
END_TEST

/* Fenced divs of a language: `::: {lang=TAG}` … `:::` as paragraphs of their
 * own or as a paragraph's first and last lines mark the blocks between
 * (and every block inside them) and vanish; an inner div wins; anything
 * else that looks like a div stays text. */
static const char *text_of(ts_node *p) {
  return p && p->first && p->first->type == TS_NODE_TEXT ? p->first->text : "";
}

START_TEST(language_divs) {
  run r;
  parse(&r, "Before.\n"                      /* 1 */
            "\n"
            "::: {lang=ru}\n"                /* 3 */
            "\n"
            "Russian one.\n"                 /* 5 */
            "\n"
            "> Quoted.\n"                    /* 7 */
            ">\n"
            "> - item\n"                     /* 9 */
            "\n"
            "::: {lang=\"de\"}\n"            /* 11: nested, the compact form */
            "German.\n"
            ":::\n"
            "\n"
            "Russian two.\n"                 /* 15 */
            "\n"
            ":::\n"                          /* 17 */
            "\n"
            "::: {.note}\n"                  /* 19: not a language div */
            "Kept.\n"
            ":::\n"
            "\n"
            "::: {lang=not_a_tag}\n"         /* 23 */
            "\n"
            "Unmarked.\n"                    /* 25 */
            "\n"
            ":::\n"
            "\n"
            "After.[^1]\n"                   /* 29 */
            "\n"
            "[^1]: Note.\n"
            "\n"
            "    ::: {lang=fr}\n"
            "\n"
            "    French note.\n"
            "\n"
            "    :::\n"
            "\n"
            "::: {lang=el}\n"                /* 39: never closed */
            "\n"
            "Greek.\n");
  ck_assert_int_eq(r.st, TS_OK);
  ts_node *root = r.doc->root;
  ck_assert_str_eq(text_of(nth(root, TS_NODE_PARAGRAPH, 0)), "Before.");
  ck_assert_ptr_null(nth(root, TS_NODE_PARAGRAPH, 0)->lang);
  ts_node *ru1 = nth(root, TS_NODE_PARAGRAPH, 1);
  ck_assert_str_eq(text_of(ru1), "Russian one.");
  ck_assert_str_eq(ru1->lang, "ru");
  ts_node *bq = nth(root, TS_NODE_BLOCKQUOTE, 0);
  ck_assert_str_eq(bq->lang, "ru");
  ck_assert_str_eq(nth(bq, TS_NODE_PARAGRAPH, 0)->lang, "ru"); /* inside: marked too */
  ck_assert_str_eq(nth(bq, TS_NODE_ITEM, 0)->lang, "ru");
  ts_node *de = nth(root, TS_NODE_PARAGRAPH, 4);
  ck_assert_str_eq(text_of(de), "German.");
  ck_assert_ptr_eq(de->first, de->last); /* the marker lines are gone */
  ck_assert_str_eq(de->lang, "de");
  ck_assert_uint_eq(de->line, 12);
  ts_node *ru2 = nth(root, TS_NODE_PARAGRAPH, 5);
  ck_assert_str_eq(text_of(ru2), "Russian two.");
  ck_assert_str_eq(ru2->lang, "ru");
  ts_node *kept = nth(root, TS_NODE_PARAGRAPH, 6);
  ck_assert_str_eq(text_of(kept), "::: {.note}");
  ck_assert_ptr_null(kept->lang);
  ts_node *unmarked = nth(root, TS_NODE_PARAGRAPH, 7);
  ck_assert_str_eq(text_of(unmarked), "Unmarked.");
  ck_assert_ptr_null(unmarked->lang);
  ck_assert_str_eq(text_of(nth(root, TS_NODE_PARAGRAPH, 8)), "After.");
  ts_node *gr = nth(root, TS_NODE_PARAGRAPH, 9);
  ck_assert_str_eq(text_of(gr), "Greek.");
  ck_assert_str_eq(gr->lang, "el");
  ck_assert_int_eq(count(root, TS_NODE_PARAGRAPH), 10); /* no marker paragraph is left */
  ck_assert_uint_eq(r.doc->n_notes, 1);
  ts_node *fr = nth(r.doc->notes[0], TS_NODE_PARAGRAPH, 1);
  ck_assert_str_eq(text_of(fr), "French note.");
  ck_assert_str_eq(fr->lang, "fr");
  ck_assert_ptr_null(nth(r.doc->notes[0], TS_NODE_PARAGRAPH, 0)->lang);
  /* warned: the refused tag (line 23) and the div never closed (line 39) */
  ck_assert_uint_eq(r.d.n_warnings, 2);
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:23:1: warning: fenced div language 'not_a_tag'"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:39:1: warning: fenced div opened here is not closed"));
  done(&r);
  /* 40 nested divs: the deeper ones are ignored, their closers still pair */
  char src[4096];
  size_t o = 0;
  for (int i = 0; i < 40; i++) o += (size_t)snprintf(src + o, sizeof src - o, "::: {lang=de}\n\n");
  o += (size_t)snprintf(src + o, sizeof src - o, "Deep.\n\n");
  for (int i = 0; i < 40; i++) o += (size_t)snprintf(src + o, sizeof src - o, ":::\n\n");
  (void)snprintf(src + o, sizeof src - o, "Out.\n");
  parse(&r, src);
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_str_eq(nth(r.doc->root, TS_NODE_PARAGRAPH, 0)->lang, "de");
  ck_assert_ptr_null(nth(r.doc->root, TS_NODE_PARAGRAPH, 1)->lang);
  ck_assert_int_eq(count(r.doc->root, TS_NODE_PARAGRAPH), 2);
  ck_assert_uint_eq(r.d.n_warnings, 1);
  done(&r);
}
END_TEST

/* Bracketed spans of a language: `[text]{lang=TAG}` becomes a SPAN with the
 * language holding what was between the brackets (emphasis included);
 * spans nest; a malformed tag is warned and stays text, as do brackets
 * that pair with no `]{lang=…}`. */
START_TEST(language_spans) {
  run r;
  parse(&r, "A [Russian words]{lang=ru} here, *[emph **bold** in]{lang=\"de\"}* and "
            "[outer [inner]{lang=fr} outer]{lang=it}, [bad]{lang=x_y}, [plain] and [x]{.c}.\n");
  ck_assert_int_eq(r.st, TS_OK);
  ts_node *root = r.doc->root;
  ck_assert_int_eq(count(root, TS_NODE_SPAN), 4);
  ts_node *s0 = nth(root, TS_NODE_SPAN, 0);
  ck_assert_str_eq(s0->lang, "ru");
  ck_assert_ptr_eq(s0->first, s0->last);
  ck_assert_str_eq(s0->first->text, "Russian words");
  ck_assert_str_eq(s0->prev->text, "A ");
  ck_assert_str_eq(s0->next->text, " here, ");
  ts_node *s1 = nth(root, TS_NODE_SPAN, 1);
  ck_assert_str_eq(s1->lang, "de");
  ck_assert_int_eq(s1->parent->type, TS_NODE_EMPH);
  ck_assert_ptr_nonnull(nth(s1, TS_NODE_STRONG, 0)); /* the strong moved into the span */
  ts_node *outer = nth(root, TS_NODE_SPAN, 2), *inner = nth(root, TS_NODE_SPAN, 3);
  ck_assert_str_eq(outer->lang, "it");
  ck_assert_str_eq(inner->lang, "fr");
  ck_assert_ptr_eq(inner->parent, outer);
  ck_assert_str_eq(inner->first->text, "inner");
  /* what is left as text reads as written */
  ts_buf b;
  ts_buf_init(&b);
  ts_node_plain_text(root, &b);
  ck_assert_msg(strstr(b.data, "[bad]{lang=x_y}, [plain] and [x]{.c}.") != NULL, "%s", b.data);
  ck_assert_msg(strstr(b.data, "A Russian words here, ") != NULL, "%s", b.data);
  ts_buf_free(&b);
  ck_assert_uint_eq(r.d.n_warnings, 1);
  ck_assert_ptr_nonnull(strstr(r.diag, "span language 'x_y'"));
  done(&r);
  /* 10,000 brackets and closers: no span, linear time, nothing lost */
  size_t n = 10000 * 12 + 16;
  char *src = malloc(n);
  ck_assert_ptr_nonnull(src);
  size_t o = 0;
  for (int i = 0; i < 10000; i++) src[o++] = '[';
  for (int i = 0; i < 10000; i++) o += (size_t)snprintf(src + o, n - o, "]{lang=de}");
  src[o++] = '\n';
  src[o] = 0;
  parse(&r, src);
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_int_ge(count(r.doc->root, TS_NODE_SPAN), 64); /* the innermost 64 pair */
  done(&r);
  free(src);
}
END_TEST

START_TEST(footnote_in_footnote) {
  run r;
  parse(&r, "A[^a]\n\n> [^a]: see[^b]\n\n[^b]: B\n");
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_uint_eq(r.doc->n_notes, 2);
  ck_assert_str_eq(r.doc->notes[1]->label, "b");
  ts_node *inner = nth(r.doc->notes[0], TS_NODE_FOOTNOTE_REF, 0);
  ck_assert_ptr_nonnull(inner);
  ck_assert_ptr_eq(inner->note, r.doc->notes[1]);
  ck_assert_uint_eq(r.d.n_warnings, 0);
  done(&r);
}
END_TEST

/* ---- Metadata ----------------------------------------------------------------*/
static const char meta_md[] =
    "---\n"                                  /* 1 */
    "title: \"The *Title*\"\n"               /* 2 */
    "subtitle: Sub\n"                        /* 3 */
    "short-title: Short\n"                   /* 4 */
    "author:\n"                              /* 5 */
    "  - name: Ann Author\n"                 /* 6 */
    "    affiliation: Uni\n"                 /* 7 */
    "    email: ann@x.org\n"                 /* 8 */
    "    orcid: 0000-0002-1825-0097\n"       /* 9 */
    "    degree: PhD\n"                      /* 10 */
    "    role: editor\n"                     /* 11 */
    "    address: Street 1\n"                /* 12 */
    "    bio: Bio text\n"                    /* 13 */
    "    ids:\n"                             /* 14 */
    "      Scopus: 56153472700\n"            /* 15 */
    "      ResearcherID: A-1234-2010\n"      /* 16 */
    "      SPIN: \"0123-4567\"\n"            /* 17 */
    "  - Bob Plain\n"                        /* 18 */
    "date: 2024-05-01\n"                     /* 19 */
    "lang: ru-RU\n"                          /* 20 */
    "abstract: |\n"                          /* 21 */
    "  First *para*.\n"                      /* 22 */
    "\n"                                     /* 23 */
    "  Second.\n"                            /* 24 */
    "keywords: [alpha, beta]\n"              /* 25 */
    "publisher: Valdai\n"                    /* 26 */
    "rights: CC BY 4.0\n"                    /* 27 */
    "identifier: \"978-5-00000-000-0\"\n"    /* 28 */
    "cover-image: cover.png\n"               /* 29 */
    "style: paper\n"                         /* 30 */
    "series:\n"                              /* 31 */
    "  name: Valdai Papers\n"                /* 32 */
    "  number: 012\n"                        /* 33 */
    "  issn: 2311-5262\n"                    /* 34 */
    "  url: https://valdaiclub.com\n"        /* 35 */
    "  publisher: Valdai Club\n"             /* 36 */
    "number: 12\n"                           /* 37 */
    "flag: true\n"                           /* 38 */
    "empty:\n"                               /* 39 */
    "---\n"                                  /* 40 */
    "Body\n";                                /* 41 */

START_TEST(meta_all_keys) {
  run r;
  parse(&r, meta_md);
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_uint_eq(r.d.n_warnings, 0);
  const ts_meta *m = &r.doc->meta;
  ck_assert_uint_eq(m->line, 1);
  ck_assert_str_eq(m->title, "The *Title*");
  ck_assert_str_eq(m->subtitle, "Sub");
  ck_assert_str_eq(m->short_title, "Short");
  ck_assert_uint_eq(m->n_authors, 2);
  const ts_author *a = &m->authors[0];
  ck_assert_str_eq(a->name, "Ann Author");
  ck_assert_str_eq(a->affiliation, "Uni");
  ck_assert_str_eq(a->email, "ann@x.org");
  ck_assert_str_eq(a->orcid, "0000-0002-1825-0097");
  ck_assert_int_eq(a->orcid_valid, 1);
  ck_assert_str_eq(a->degree, "PhD");
  ck_assert_str_eq(a->role, "editor");
  ck_assert_str_eq(a->address, "Street 1");
  ck_assert_str_eq(a->bio, "Bio text");
  ck_assert_uint_eq(a->n_ids, 3);
  ck_assert_str_eq(a->ids[0].key, "Scopus");
  ck_assert_str_eq(a->ids[0].value, "56153472700");
  ck_assert_str_eq(a->ids[1].key, "ResearcherID");
  ck_assert_str_eq(a->ids[1].value, "A-1234-2010");
  ck_assert_str_eq(a->ids[2].key, "SPIN");
  ck_assert_str_eq(a->ids[2].value, "0123-4567");
  ck_assert_str_eq(m->authors[1].name, "Bob Plain");
  ck_assert_ptr_null(m->authors[1].orcid);
  ck_assert_str_eq(m->date, "2024-05-01");
  ck_assert_str_eq(m->lang, "ru-RU");
  ck_assert_int_eq(m->lang_explicit, 1);
  ck_assert_ptr_nonnull(m->abstract);
  ck_assert_int_eq(m->abstract->type, TS_NODE_DOCUMENT);
  ck_assert_int_eq(n_children(m->abstract), 2);
  POS(m->abstract->first, 22, 1);
  POS(m->abstract->last, 24, 1);
  ck_assert_int_eq(count(m->abstract, TS_NODE_EMPH), 1);
  ck_assert_str_eq(m->abstract_text, "First para. Second.");
  ck_assert_uint_eq(m->n_keywords, 2);
  ck_assert_str_eq(m->keywords[0], "alpha");
  ck_assert_str_eq(m->keywords[1], "beta");
  ck_assert_str_eq(m->publisher, "Valdai");
  ck_assert_str_eq(m->rights, "CC BY 4.0");
  ck_assert_str_eq(m->identifier, "978-5-00000-000-0");
  ck_assert_str_eq(m->cover_image, "cover.png");
  ck_assert_str_eq(m->style, "paper");
  ck_assert_str_eq(m->series.name, "Valdai Papers");
  ck_assert_str_eq(m->series.number, "012"); /* as written, not octal 10 */
  ck_assert_str_eq(m->series.issn, "2311-5262");
  ck_assert_str_eq(m->series.url, "https://valdaiclub.com");
  ck_assert_str_eq(m->series.publisher, "Valdai Club");
  ck_assert_uint_eq(m->n_extra, 2); /* "empty:" has no value */
  ck_assert_str_eq(m->extra[0].key, "number");
  ck_assert_str_eq(m->extra[0].value, "12");
  ck_assert_str_eq(m->extra[1].key, "flag");
  ck_assert_str_eq(m->extra[1].value, "true");
  POS(r.doc->root->first, 41, 1);
  /* the dump carries the ids as strings */
  ts_buf b;
  ts_buf_init(&b);
  ts_doc_dump_json(r.doc, &b);
  ck_assert_ptr_nonnull(strstr(b.data, "\"ids\":{\"Scopus\":\"56153472700\","));
  ck_assert_ptr_nonnull(strstr(b.data, "\"abstract_text\":\"First para. Second.\""));
  ts_buf_free(&b);
  done(&r);
}
END_TEST

/* Worker threads share one context (cmark's extension registry is set up
 * under its lock) and must produce identical models. */
typedef struct thread_job {
  char *dump;
  size_t len;
  int ok;
} thread_job;

static void *thread_main(void *arg) {
  thread_job *j = arg;
  ts_buf b;
  ts_buf_init(&b);
  j->ok = 1;
  for (int i = 0; i < 20 && j->ok; i++) {
    ts_diag d;
    ts_diag_init(&d, NULL);
    ts_doc *doc = NULL;
    if (ts_markdown_parse(g_ctx, "t.md", meta_md, sizeof meta_md - 1, &d, &doc) != TS_OK) {
      j->ok = 0;
      break;
    }
    ts_buf_clear(&b);
    ts_doc_dump_json(doc, &b);
    ts_doc_destroy(doc);
    if (i == 0) {
      j->dump = malloc(b.len + 1);
      memcpy(j->dump, b.data, b.len + 1);
      j->len = b.len;
    } else if (b.len != j->len || memcmp(b.data, j->dump, b.len) != 0) {
      j->ok = 0;
    }
  }
  ts_buf_free(&b);
  return NULL;
}

START_TEST(threads_share_ctx) {
  pthread_t th[4];
  thread_job jobs[4] = {{0}};
  for (int i = 0; i < 4; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, thread_main, &jobs[i]), 0);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++) {
    ck_assert(jobs[i].ok);
    ck_assert_uint_eq(jobs[i].len, jobs[0].len);
    ck_assert(memcmp(jobs[i].dump, jobs[0].dump, jobs[0].len) == 0);
  }
  ck_assert_ptr_nonnull(strstr(jobs[0].dump, "\"series\":{\"name\":\"Valdai Papers\""));
  for (int i = 0; i < 4; i++) free(jobs[i].dump);
}
END_TEST

START_TEST(meta_variants) {
  run r;
  /* a single author string, keywords as a comma string, "..." closing */
  parse(&r, "---\nauthor: Jane Roe\nkeywords: \" one, two ,,three \"\n...\nBody\n");
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_uint_eq(r.doc->meta.n_authors, 1);
  ck_assert_str_eq(r.doc->meta.authors[0].name, "Jane Roe");
  ck_assert_uint_eq(r.doc->meta.n_keywords, 3);
  ck_assert_str_eq(r.doc->meta.keywords[0], "one");
  ck_assert_str_eq(r.doc->meta.keywords[1], "two");
  ck_assert_str_eq(r.doc->meta.keywords[2], "three");
  ck_assert_str_eq(r.doc->meta.lang, "en");
  ck_assert_int_eq(r.doc->meta.lang_explicit, 0);
  POS(r.doc->root->first, 5, 1);
  done(&r);

  /* block scalars lose their final line end */
  parse(&r, "---\ntitle: |\n  Two\n  lines\nsubtitle: >\n  folded\n  text\n---\n");
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_str_eq(r.doc->meta.title, "Two\nlines");
  ck_assert_str_eq(r.doc->meta.subtitle, "folded text");
  done(&r);

  /* authors as a list of strings */
  parse(&r, "---\nauthor:\n- A One\n- B Two\n---\n");
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_uint_eq(r.doc->meta.n_authors, 2);
  ck_assert_str_eq(r.doc->meta.authors[1].name, "B Two");
  done(&r);

  /* `---` followed by a blank line is a thematic break, not metadata */
  parse(&r, "---\n\ntext\n---\n");
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_uint_eq(r.doc->meta.line, 0);
  ck_assert_int_eq(r.doc->root->first->type, TS_NODE_THEMATIC_BREAK);
  ck_assert_int_eq(r.doc->root->last->type, TS_NODE_HEADING); /* setext */
  done(&r);

  /* unclosed: warned, read as Markdown */
  parse(&r, "---\ntitle: x\n");
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_ptr_null(r.doc->meta.title);
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:1:1: warning: '---' on the first line opens no metadata"));
  done(&r);

  /* empty block */
  parse(&r, "---\n# just a comment\n---\nBody\n");
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_uint_eq(r.d.n_warnings, 0);
  POS(r.doc->root->first, 4, 1);
  done(&r);
}
END_TEST

START_TEST(meta_wrong_types) {
  run r;
  parse(&r, "---\n"                       /* 1 */
            "title: [1, 2]\n"             /* 2 */
            "keywords: {a: b}\n"          /* 3 */
            "series: text\n"              /* 4 */
            "lang: \"en_US!\"\n"          /* 5 */
            "tags: [a, b]\n"              /* 6 */
            "author:\n"                   /* 7 */
            "  - [x]\n"                   /* 8 */
            "  - name: Ok\n"              /* 9 */
            "    ids: [1]\n"              /* 10 */
            "    orcid: 0000-0002-1825-0098\n" /* 11 */
            "    shoe: 42\n"              /* 12 */
            "subtitle: S\n"               /* 13 */
            "subtitle: S2\n"              /* 14 */
            "---\n");
  ck_assert_int_eq(r.st, TS_OK);
  const ts_meta *m = &r.doc->meta;
  ck_assert_ptr_null(m->title);
  ck_assert_uint_eq(m->n_keywords, 0);
  ck_assert_ptr_null(m->series.name);
  ck_assert_str_eq(m->lang, "en");
  ck_assert_uint_eq(m->n_extra, 0);
  ck_assert_uint_eq(m->n_authors, 1);
  ck_assert_str_eq(m->authors[0].name, "Ok");
  ck_assert_uint_eq(m->authors[0].n_ids, 0);
  ck_assert_str_eq(m->authors[0].orcid, "0000-0002-1825-0098");
  ck_assert_int_eq(m->authors[0].orcid_valid, 0);
  ck_assert_str_eq(m->subtitle, "S2");
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:2:8: warning: metadata 'title' must be a string"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:3:11: warning: metadata 'keywords'"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:4:9: warning: metadata 'series' must be a mapping"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:5:7: warning: metadata 'lang'"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:6:7: warning: metadata 'tags' is not a string"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:8:5: warning: an author must be"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:10:10: warning: author 'ids' must be a mapping"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:11:12: warning: ORCID iD '0000-0002-1825-0098'"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:12:5: warning: unknown author key 'shoe'"));
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:14:1: warning: duplicate metadata key 'subtitle'"));
  ck_assert_uint_eq(r.d.n_warnings, 10);
  ck_assert_uint_eq(r.d.n_errors, 0);
  done(&r);
}
END_TEST

START_TEST(meta_malformed) {
  run r;
  parse(&r, "---\ntitle: ok\nbad: [1, 2\nx: y\n---\nBody\n");
  ck_assert_int_eq(r.st, TS_ERR_INPUT);
  ck_assert_ptr_null(r.doc);
  ck_assert_uint_eq(r.d.n_errors, 1);
  /* libyaml notices the unclosed flow sequence at "x: y" (line 4) */
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:4:"));
  ck_assert_ptr_nonnull(strstr(r.diag, ": error: invalid YAML metadata: "));
  ck_assert_ptr_nonnull(strstr(r.d.first_error, "t.md:4:"));
  done(&r);

  parse(&r, "---\ntitle: \"unterminated\n---\n");
  ck_assert_int_eq(r.st, TS_ERR_INPUT);
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:"));
  done(&r);

  /* a tab where indentation is expected */
  parse(&r, "---\na:\n\t- b\n---\n");
  ck_assert_int_eq(r.st, TS_ERR_INPUT);
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:3:"));
  done(&r);
}
END_TEST

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(yaml_deep_nesting_refused_quickly) {
  /* 100,000 nested flow sequences: libyaml's scanner is quadratic in the
   * nesting, so the loader must stop at its depth limit (64) */
  size_t n = 100000;
  char *src = malloc(2 * n + 64);
  ck_assert_ptr_nonnull(src);
  strcpy(src, "---\ntitle: Deep\nx: ");
  size_t o = strlen(src);
  memset(src + o, '[', n);
  memset(src + o + n, ']', n);
  strcpy(src + o + 2 * n, "\n---\nText.\n");
  run r;
  double t0 = now_s();
  parse(&r, src);
  double t = now_s() - t0;
  ck_assert_int_eq(r.st, TS_ERR_INPUT);
  /* the root mapping is level 1, so the 64th '[' (column 4 + 63 = 67 of
   * line 3) is level 65, the first one too deep */
  ck_assert_msg(strstr(r.diag, "t.md:3:67: error: YAML metadata nested too deeply") != NULL,
                "diag: %s", r.diag);
  ck_assert_msg(t < 1.0, "took %d ms", (int)(t * 1000));
  done(&r);
  free(src);
}
END_TEST

START_TEST(yaml_billion_laughs) {
  const char *bomb =
      "---\n"
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
      "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
      "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
      "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
      "title: *i\n"
      "---\nBody\n";
  run r;
  double t0 = now_s();
  parse(&r, bomb);
  double t = now_s() - t0;
  ck_assert_int_eq(r.st, TS_ERR_INPUT);
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:3:8: error: YAML aliases are not supported"));
  ck_assert_msg(t < 1.0, "took %d ms", (int)(t * 1000));
  done(&r);

  /* 150,000 events without aliases: refused by the event budget */
  ts_buf b;
  ts_buf_init(&b);
  ts_buf_puts(&b, "---\nk: [");
  for (int i = 0; i < 150000; i++) ts_buf_puts(&b, i ? ",1" : "1");
  ts_buf_puts(&b, "]\n---\n");
  t0 = now_s();
  parse_n(&r, b.data, b.len);
  t = now_s() - t0;
  ck_assert_int_eq(r.st, TS_ERR_INPUT);
  ck_assert_ptr_nonnull(strstr(r.diag, "YAML metadata too large"));
  ck_assert_msg(t < 5.0, "took %d ms", (int)(t * 1000));
  done(&r);
  ts_buf_free(&b);
}
END_TEST

static const struct {
  const char *id;
  int ok;
} orcid_cases[] = {
    {"0000-0002-1825-0097", 1},  /* ORCID's documentation examples */
    {"0000-0001-5109-3700", 1},
    {"0000-0002-1694-233X", 1},
    {"https://orcid.org/0000-0002-1825-0097", 1},
    {"http://orcid.org/0000-0002-1694-233X", 1},
    {"0000-0002-1825-0098", 0},  /* wrong check digit */
    {"0000-0002-1694-2339", 0},  /* X expected */
    {"0000-0002-1694-233x", 0},  /* lowercase x is not the check character */
    {"0000000218250097", 0},     /* no hyphens */
    {"0000-0002-1825-009", 0},
    {"0000-0002-1825-00970", 0},
    {"abcd-0002-1825-0097", 0},
    {"0000-0002-1825+0097", 0},
    {"", 0},
    {"https://example.org/0000-0002-1825-0097", 0},
};

START_TEST(orcid_table) {
  ck_assert_int_eq(ts_orcid_check(orcid_cases[_i].id), orcid_cases[_i].ok);
}
END_TEST

/* ---- Input hygiene ---------------------------------------------------------*/
START_TEST(hygiene) {
  run r;
  const char src[] = "\xEF\xBB\xBF# Title\r\n\r\nLine\xFF two\r\nNUL\0here\r\nlone\rcr\n";
  parse_n(&r, src, sizeof src - 1);
  ck_assert_int_eq(r.st, TS_OK);
  ts_node *h = r.doc->root->first;
  POS(h, 1, 1);
  text_is(h->first, "Title");
  ck_assert_str_eq(h->id, "title");
  ts_node *p = h->next;
  POS(p, 3, 1);
  text_is(p->first, "Line\xEF\xBF\xBD two");
  ck_assert_int_eq(p->first->next->type, TS_NODE_SOFTBREAK);
  text_is(p->first->next->next, "NUL\xEF\xBF\xBDhere");
  POS(p->first->next->next, 4, 1);
  /* a lone CR ends a line too */
  ts_node *cr = nth(p, TS_NODE_TEXT, 3);
  text_is(cr, "cr");
  POS(cr, 6, 1);
  ck_assert_uint_eq(r.d.n_warnings, 1);
  ck_assert_ptr_nonnull(strstr(r.diag, "t.md:3: warning: invalid UTF-8 or NUL bytes replaced"));
  done(&r);

  /* CRLF front matter */
  parse(&r, "---\r\ntitle: \"X\"\r\n---\r\n\r\nBody\r\n");
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_str_eq(r.doc->meta.title, "X");
  POS(r.doc->root->first, 5, 1);
  text_is(r.doc->root->first->first, "Body");
  done(&r);
}
END_TEST

/* ---- Depth -----------------------------------------------------------------*/
static size_t brace_balance_ok(const ts_buf *b) {
  long depth = 0, max = 0;
  int in_str = 0;
  for (size_t i = 0; i < b->len; i++) {
    char ch = b->data[i];
    if (in_str) {
      if (ch == '\\') i++;
      else if (ch == '"') in_str = 0;
      continue;
    }
    if (ch == '"') in_str = 1;
    else if (ch == '{' || ch == '[') { if (++depth > max) max = depth; }
    else if (ch == '}' || ch == ']') depth--;
    ck_assert_int_ge(depth, 0);
  }
  ck_assert_int_eq(depth, 0);
  return (size_t)max;
}

START_TEST(deep_quotes) {
  ts_buf src;
  ts_buf_init(&src);
  for (int i = 0; i < 2000; i++) ts_buf_putc(&src, '>');
  ts_buf_puts(&src, " deep\n");
  run r;
  parse_n(&r, src.data, src.len);
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_int_eq(count(r.doc->root, TS_NODE_BLOCKQUOTE), 2000);
  ts_node *p = nth(r.doc->root, TS_NODE_PARAGRAPH, 0);
  text_is(p->first, "deep");
  POS(p, 1, 2002);
  ts_buf b;
  ts_buf_init(&b);
  ts_doc_dump_json(r.doc, &b);
  ck_assert(!b.oom);
  /* {"body":[ + 2000 × ({ and [children) + paragraph's 2 + text's 1 */
  ck_assert_uint_ge(brace_balance_ok(&b), 4000);
  ts_buf_free(&b);
  done(&r);
  ts_buf_free(&src);
}
END_TEST

START_TEST(deep_lists) {
  ts_buf src;
  ts_buf_init(&src);
  for (int i = 0; i < 300; i++) {
    for (int k = 0; k < i; k++) ts_buf_puts(&src, "  ");
    ts_buf_puts(&src, "- item\n");
  }
  run r;
  parse_n(&r, src.data, src.len);
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_int_eq(count(r.doc->root, TS_NODE_LIST), 300);
  ck_assert_int_eq(count(r.doc->root, TS_NODE_ITEM), 300);
  ts_node *last = nth(r.doc->root, TS_NODE_LIST, 299);
  POS(last, 300, 599);
  ts_buf b;
  ts_buf_init(&b);
  ts_doc_dump_json(r.doc, &b);
  ck_assert_uint_ge(brace_balance_ok(&b), 1200);
  ts_buf_free(&b);
  done(&r);
  ts_buf_free(&src);
}
END_TEST

/* ---- apply_yaml, files, dump ------------------------------------------------*/
/* 20,000 backslash breaks in one paragraph: positions stay exact and the
 * correction stays linear. */
START_TEST(many_hard_breaks) {
  ts_buf src;
  ts_buf_init(&src);
  for (int i = 0; i < 20000; i++) ts_buf_puts(&src, "a\\\n");
  ts_buf_puts(&src, "*b*\n");
  run r;
  double t0 = now_s();
  parse_n(&r, src.data, src.len);
  double t = now_s() - t0;
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_int_eq(count(r.doc->root, TS_NODE_LINEBREAK), 20000);
  POS(nth(r.doc->root, TS_NODE_LINEBREAK, 19999), 20000, 2);
  POS(nth(r.doc->root, TS_NODE_TEXT, 12345), 12346, 1);
  POS(nth(r.doc->root, TS_NODE_EMPH, 0), 20001, 1);
  ck_assert_msg(t < 3.0, "took %d ms", (int)(t * 1000));
  done(&r);
  ts_buf_free(&src);
}
END_TEST

/* 20,000 headings with the same text: unique ids without quadratic work. */
START_TEST(many_equal_headings) {
  ts_buf src;
  ts_buf_init(&src);
  for (int i = 0; i < 20000; i++) ts_buf_puts(&src, "# A\n");
  ts_buf_puts(&src, "# A 1 {#a-1}\n# A 1\n");
  run r;
  double t0 = now_s();
  parse_n(&r, src.data, src.len);
  double t = now_s() - t0;
  ck_assert_int_eq(r.st, TS_OK);
  /* the explicit "a-1" is served first, so the automatic ones skip it */
  ck_assert_str_eq(nth(r.doc->root, TS_NODE_HEADING, 0)->id, "a");
  ck_assert_str_eq(nth(r.doc->root, TS_NODE_HEADING, 1)->id, "a-2");
  ck_assert_str_eq(nth(r.doc->root, TS_NODE_HEADING, 19999)->id, "a-20000");
  ck_assert_str_eq(nth(r.doc->root, TS_NODE_HEADING, 20000)->id, "a-1");
  ck_assert_str_eq(nth(r.doc->root, TS_NODE_HEADING, 20001)->id, "a-1-1");
  ck_assert_msg(t < 5.0, "took %d ms", (int)(t * 1000));
  done(&r);
  ts_buf_free(&src);
}
END_TEST

START_TEST(apply_yaml) {
  run r;
  parse(&r, "---\ntitle: A\nlang: de\n---\nBody\n");
  ck_assert_int_eq(r.st, TS_OK);
  ts_doc *doc = r.doc;
  const char *y = "title: B\ndate: 2020\nlang: ru\nseries:\n  name: S\n  number: \"7\"\n"
                  "abstract: Short *one*.\nextra1: v\n";
  ck_assert_int_eq(ts_meta_apply_yaml(doc, y, strlen(y), "series.yaml", 10, 1, &r.d), TS_OK);
  ck_assert_str_eq(doc->meta.title, "A");  /* kept: fill only */
  ck_assert_str_eq(doc->meta.lang, "de");  /* kept */
  ck_assert_str_eq(doc->meta.date, "2020");
  ck_assert_str_eq(doc->meta.series.name, "S");
  ck_assert_str_eq(doc->meta.series.number, "7");
  ck_assert_str_eq(doc->meta.abstract_text, "Short one.");
  ck_assert_uint_eq(doc->meta.abstract->first->line, 16); /* yaml line 7 */
  ck_assert_str_eq(doc->meta.extra[0].value, "v");
  const char *y2 = "title: C\nseries:\n  number: 8\n";
  ck_assert_int_eq(ts_meta_apply_yaml(doc, y2, strlen(y2), "s.yaml", 1, 0, &r.d), TS_OK);
  ck_assert_str_eq(doc->meta.title, "C");
  ck_assert_str_eq(doc->meta.series.number, "8");
  ck_assert_str_eq(doc->meta.series.name, "S");
  const char *bad = "title: [\n";
  r.d.out = NULL;
  ck_assert_int_eq(ts_meta_apply_yaml(doc, bad, strlen(bad), "s.yaml", 5, 0, &r.d),
                   TS_ERR_INPUT);
  ck_assert_ptr_nonnull(strstr(r.d.first_error, "s.yaml:"));
  done(&r);

  /* a document without lang takes the series' */
  parse(&r, "Body\n");
  const char *y3 = "lang: ru\n";
  ck_assert_int_eq(ts_meta_apply_yaml(r.doc, y3, strlen(y3), "s.yaml", 1, 1, &r.d), TS_OK);
  ck_assert_str_eq(r.doc->meta.lang, "ru");
  done(&r);
}
END_TEST

START_TEST(parse_file) {
  const char *root = getenv("TYPESET_DATA_DIR");
  ck_assert_ptr_nonnull(root);
  char path[4096];
  snprintf(path, sizeof path, "%s/tests/markdown/inputs/paper.md", root);
  ts_diag d;
  ts_diag_init(&d, NULL);
  ts_doc *doc = NULL;
  ck_assert_int_eq(ts_markdown_parse_file(g_ctx, path, &d, &doc), TS_OK);
  ck_assert_str_eq(doc->meta.title, "Not to Disappear One by One");
  ck_assert_str_eq(doc->meta.series.name, "Valdai Papers");
  ck_assert_uint_eq(doc->meta.n_authors, 1);
  ck_assert_str_eq(doc->meta.authors[0].ids[0].value, "56153472700");
  ts_node *h = nth(doc->root, TS_NODE_HEADING, 0);
  POS(h, 16, 1);
  ck_assert_str_eq(h->id, "introduction");
  ck_assert_uint_eq(doc->n_notes, 1);
  ck_assert_str_eq(doc->path, path);
  ck_assert_uint_eq(d.n_warnings, 0);
  ts_doc_destroy(doc);

  snprintf(path, sizeof path, "%s/tests/markdown/inputs/missing.md", root);
  FILE *f;
  char *msg = NULL;
  size_t ml = 0;
  f = open_memstream(&msg, &ml);
  ts_diag_init(&d, f);
  ck_assert_int_eq(ts_markdown_parse_file(g_ctx, path, &d, &doc), TS_ERR_IO);
  fclose(f);
  ck_assert_ptr_null(doc);
  ck_assert_ptr_nonnull(strstr(msg, "missing.md: error: cannot read"));
  free(msg);
}
END_TEST

START_TEST(dump_exact) {
  run r;
  parse(&r, "# H\n\nA *b*.\n");
  ts_buf b;
  ts_buf_init(&b);
  ts_doc_dump_json(r.doc, &b);
  ck_assert_str_eq(
      b.data,
      "{\"meta\":{\"lang\":\"en\"},\"body\":["
      "{\"type\":\"heading\",\"line\":1,\"col\":1,\"level\":1,\"id\":\"h\",\"children\":["
      "{\"type\":\"text\",\"line\":1,\"col\":3,\"text\":\"H\"}]},"
      "{\"type\":\"paragraph\",\"line\":3,\"col\":1,\"children\":["
      "{\"type\":\"text\",\"line\":3,\"col\":1,\"text\":\"A \"},"
      "{\"type\":\"emph\",\"line\":3,\"col\":3,\"children\":["
      "{\"type\":\"text\",\"line\":3,\"col\":4,\"text\":\"b\"}]},"
      "{\"type\":\"text\",\"line\":3,\"col\":6,\"text\":\".\"}]}],\"notes\":[]}\n");
  ts_buf_free(&b);
  done(&r);
}
END_TEST

START_TEST(empty_input) {
  run r;
  parse_n(&r, "", 0);
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_ptr_null(r.doc->root->first);
  done(&r);
  parse(&r, "---\n");
  ck_assert_int_eq(r.st, TS_OK);
  ck_assert_int_eq(r.doc->root->first->type, TS_NODE_THEMATIC_BREAK);
  done(&r);
}
END_TEST

/* Every allocation of parsing a paper with one of everything (metadata with
 * authors and identifiers, headings, notes, a table, a list, a figure,
 * links) fails in turn: TS_ERR_NOMEM and no document, or — where a failure
 * only costs a cache — the very model of a clean run. */
static const char oom_md[] =
    "---\ntitle: Corridors\nsubtitle: A paper\nlang: en\nseries:\n  name: Papers\n  number: \"7\"\n"
    "author:\n  - name: Anna Petrova\n    degree: PhD\n    role: Fellow\n"
    "    affiliation: Institute\n    orcid: 0000-0002-1825-0097\n"
    "abstract: Trade *routes* changed.\nkeywords: [grain, trade]\n---\n\n"
    "# Introduction {#intro}\n\nText with *emphasis*, **strong**, `code`, a [link](#intro) "
    "and a note[^a].\n\n## Numbers\n\n| A | B |\n|:--|--:|\n| 1 | 2 |\n\n- one\n- two\n\n"
    "1. first\n2. second\n\n> quoted\n\n![A figure](fig.png)\n\n```c\nint x;\n```\n\n"
    "[^a]: The note, with *emphasis*.\n";

static unsigned char *oom_parse(void *user, long n, size_t *len, ts_status *out) {
  (void)user;
  ts_ctx *c = ts_ctx_create();
  ck_assert_ptr_nonnull(c);
  ts_diag d;
  ts_diag_init(&d, NULL);
  ts_doc *doc = NULL;
  ts_alloc_begin(n);
  ts_status st = ts_markdown_parse(c, "t.md", oom_md, strlen(oom_md), &d, &doc);
  int failed = ts_alloc_end();
  char *text = NULL;
  if (st == TS_OK) {
    ck_assert_ptr_nonnull(doc);
    ts_buf b;
    ts_buf_init(&b);
    ts_doc_dump_json(doc, &b);
    ck_assert(!b.oom);
    text = ts_buf_detach(&b, len);
  } else {
    ck_assert_ptr_null(doc);
  }
  ts_doc_destroy(doc);
  ts_ctx_destroy(c);
  *out = failed ? st : (ts_status)-1; /* -1: nothing failed */
  return (unsigned char *)text;
}

START_TEST(allocation_failures) {
  /* the model lives in an arena: few allocations of typeset's own */
  ts_test_alloc_rounds(oom_parse, NULL, 20000, 10, "markdown");
}
END_TEST

int main(void) {
  Suite *s = suite_create("markdown");
  TCase *tc = tcase_create("markdown");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, blocks);
  tcase_add_test(tc, inlines);
  tcase_add_test(tc, front_matter_shifts_inline_positions);
  tcase_add_test(tc, positions_hard_cases);
  tcase_add_test(tc, raw_html_dropped);
  tcase_add_test(tc, link_schemes);
  tcase_add_test(tc, heading_ids);
  tcase_add_loop_test(tc, identifier_table, 0,
                      (int)(sizeof ident_cases / sizeof *ident_cases));
  tcase_add_test(tc, footnotes);
  tcase_add_test(tc, language_divs);
  tcase_add_test(tc, language_spans);
  tcase_add_test(tc, footnote_in_footnote);
  tcase_add_test(tc, meta_all_keys);
  tcase_add_test(tc, meta_variants);
  tcase_add_test(tc, threads_share_ctx);
  tcase_add_test(tc, meta_wrong_types);
  tcase_add_test(tc, meta_malformed);
  tcase_add_test(tc, yaml_billion_laughs);
  tcase_add_test(tc, yaml_deep_nesting_refused_quickly);
  tcase_add_loop_test(tc, orcid_table, 0, (int)(sizeof orcid_cases / sizeof *orcid_cases));
  tcase_add_test(tc, hygiene);
  tcase_add_test(tc, deep_quotes);
  tcase_add_test(tc, deep_lists);
  tcase_add_test(tc, many_hard_breaks);
  tcase_add_test(tc, many_equal_headings);
  tcase_add_test(tc, apply_yaml);
  tcase_add_test(tc, parse_file);
  tcase_add_test(tc, dump_exact);
  tcase_add_test(tc, empty_input);
  tcase_add_test(tc, allocation_failures);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
