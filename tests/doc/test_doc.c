/* test_doc.c — the document model on hand-built trees: construction,
 * the iterative walk (event order, skip, empty containers), plain text,
 * find_id, the JSON dump, and depth that would overflow a recursive walk. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "doc/ts_doc.h"

static ts_node *text(ts_doc *doc, const char *s, uint32_t line, uint32_t col) {
  ts_node *n = ts_node_new(doc, TS_NODE_TEXT, line, col);
  ck_assert_ptr_nonnull(n);
  n->text = ts_arena_strdup(doc->arena, s);
  n->len = strlen(s);
  return n;
}

/* # Title {id=title}
 * Hello *big* world![alt](a.png)[^1]
 * (empty paragraph) */
static ts_doc *sample(void) {
  ts_doc *doc = ts_doc_create("dir/paper.md");
  ck_assert_ptr_nonnull(doc);
  ts_node *h = ts_node_new(doc, TS_NODE_HEADING, 1, 1);
  h->level = 1;
  h->id = "title";
  ts_node_append(doc->root, h);
  ts_node_append(h, text(doc, "Title", 1, 3));
  ts_node *p = ts_node_new(doc, TS_NODE_PARAGRAPH, 3, 1);
  ts_node_append(doc->root, p);
  ts_node_append(p, text(doc, "Hello ", 3, 1));
  ts_node *em = ts_node_new(doc, TS_NODE_EMPH, 3, 7);
  ts_node_append(p, em);
  ts_node_append(em, text(doc, "big", 3, 8));
  ts_node_append(p, ts_node_new(doc, TS_NODE_SOFTBREAK, 3, 12));
  ts_node_append(p, text(doc, "world", 4, 1));
  ts_node *img = ts_node_new(doc, TS_NODE_IMAGE, 4, 6);
  img->url = "a.png";
  img->alt = "alt";
  ts_node_append(p, img);
  ts_node *def = ts_node_new(doc, TS_NODE_FOOTNOTE_DEF, 6, 1);
  def->number = 1;
  def->label = "n";
  ts_node *dp = ts_node_new(doc, TS_NODE_PARAGRAPH, 6, 7);
  ts_node_append(def, dp);
  ts_node_append(dp, text(doc, "Note \"q\".", 6, 7));
  ts_node *ref = ts_node_new(doc, TS_NODE_FOOTNOTE_REF, 4, 16);
  ref->number = 1;
  ref->label = "n";
  ref->note = def;
  ts_node_append(p, ref);
  ts_node_append(doc->root, ts_node_new(doc, TS_NODE_PARAGRAPH, 8, 1));
  doc->notes = ts_arena_alloc(doc->arena, sizeof *doc->notes);
  doc->notes[0] = def;
  doc->n_notes = 1;
  return doc;
}

START_TEST(create_destroy) {
  ts_doc *doc = ts_doc_create("dir/paper.md");
  ck_assert_ptr_nonnull(doc);
  ck_assert_str_eq(doc->path, "dir/paper.md");
  ck_assert_str_eq(doc->dir, "dir");
  ck_assert_str_eq(doc->meta.lang, "en");
  ck_assert_int_eq(doc->meta.lang_explicit, 0);
  ck_assert_int_eq(doc->root->type, TS_NODE_DOCUMENT);
  ck_assert_ptr_null(doc->root->first);
  ts_doc_destroy(doc);
  ts_doc_destroy(NULL);
  doc = ts_doc_create("paper.md");
  ck_assert_str_eq(doc->dir, ".");
  ts_doc_destroy(doc);
}
END_TEST

START_TEST(append_unlink) {
  ts_doc *doc = ts_doc_create("x.md");
  ts_node *a = text(doc, "a", 1, 1), *b = text(doc, "b", 1, 2), *c = text(doc, "c", 1, 3);
  ts_node_append(doc->root, a);
  ts_node_append(doc->root, b);
  ts_node_append(doc->root, c);
  ck_assert_ptr_eq(doc->root->first, a);
  ck_assert_ptr_eq(doc->root->last, c);
  ck_assert_ptr_eq(b->prev, a);
  ck_assert_ptr_eq(b->next, c);
  ck_assert_ptr_eq(b->parent, doc->root);
  ts_node_unlink(b);
  ck_assert_ptr_eq(a->next, c);
  ck_assert_ptr_eq(c->prev, a);
  ck_assert_ptr_null(b->parent);
  ts_node_unlink(a);
  ck_assert_ptr_eq(doc->root->first, c);
  ts_node_unlink(c);
  ck_assert_ptr_null(doc->root->first);
  ck_assert_ptr_null(doc->root->last);
  ts_doc_destroy(doc);
}
END_TEST

START_TEST(type_names) {
  ck_assert_str_eq(ts_node_type_name(TS_NODE_HEADING), "heading");
  ck_assert_str_eq(ts_node_type_name(TS_NODE_FOOTNOTE_REF), "footnote_ref");
  ck_assert_str_eq(ts_node_type_name(TS_NODE_THEMATIC_BREAK), "thematic_break");
  ck_assert_str_eq(ts_node_type_name(TS_NODE_TYPE_COUNT), "unknown");
  for (int t = 0; t < TS_NODE_TYPE_COUNT; t++)
    ck_assert_ptr_nonnull(ts_node_type_name((ts_node_type)t));
  ck_assert(ts_node_is_block(TS_NODE_TABLE_CELL));
  ck_assert(ts_node_is_block(TS_NODE_FOOTNOTE_DEF));
  ck_assert(!ts_node_is_block(TS_NODE_TEXT));
  ck_assert(ts_node_is_container(TS_NODE_LINK));
  ck_assert(!ts_node_is_container(TS_NODE_IMAGE));
  ck_assert(!ts_node_is_container(TS_NODE_CODEBLOCK));
}
END_TEST

/* The event sequence, written "+type" for entering and "-type" for leaving. */
static void events(ts_node *root, int skip_type, char *out, size_t n) {
  ts_iter it;
  ts_iter_init(&it, root);
  ts_node *nd;
  int ent;
  out[0] = 0;
  while ((nd = ts_iter_next(&it, &ent))) {
    size_t l = strlen(out);
    snprintf(out + l, n - l, "%s%s ", ent ? "+" : "-", ts_node_type_name(nd->type));
    if (ent && (int)nd->type == skip_type) ts_iter_skip(&it);
  }
}

START_TEST(iter_order) {
  ts_doc *doc = sample();
  char buf[1024];
  events(doc->root, -1, buf, sizeof buf);
  ck_assert_str_eq(buf,
                   "+document +heading +text -heading +paragraph +text +emph +text "
                   "-emph +softbreak +text +image +footnote_ref -paragraph "
                   "+paragraph -paragraph -document ");
  /* skip: the emph's children are not visited, its exit still comes */
  events(doc->root, TS_NODE_EMPH, buf, sizeof buf);
  ck_assert_str_eq(buf,
                   "+document +heading +text -heading +paragraph +text +emph -emph "
                   "+softbreak +text +image +footnote_ref -paragraph +paragraph "
                   "-paragraph -document ");
  /* a subtree walk stops at its root; a leaf root gives one event */
  events(doc->root->first, -1, buf, sizeof buf);
  ck_assert_str_eq(buf, "+heading +text -heading ");
  events(doc->root->first->first, -1, buf, sizeof buf);
  ck_assert_str_eq(buf, "+text ");
  events(NULL, -1, buf, sizeof buf);
  ck_assert_str_eq(buf, "");
  ts_doc_destroy(doc);
}
END_TEST

START_TEST(plain_text) {
  ts_doc *doc = sample();
  ts_buf b;
  ts_buf_init(&b);
  ts_node_plain_text(doc->root->first->next, &b);
  /* softbreak -> space, image -> alt, footnote ref omitted */
  ck_assert_str_eq(b.data, "Hello big worldalt");
  ts_buf_clear(&b);
  ts_node_plain_text(doc->root, &b);
  /* blocks are separated by one space */
  ck_assert_str_eq(b.data, "Title Hello big worldalt");
  ts_buf_free(&b);
  ts_doc_destroy(doc);
}
END_TEST

START_TEST(find_id) {
  ts_doc *doc = sample();
  ck_assert_ptr_eq(ts_doc_find_id(doc, "title"), doc->root->first);
  ck_assert_ptr_null(ts_doc_find_id(doc, "nope"));
  ck_assert_ptr_null(ts_doc_find_id(doc, NULL));
  ts_doc_destroy(doc);
}
END_TEST

START_TEST(dump_json) {
  ts_doc *doc = sample();
  doc->meta.title = "T";
  static ts_author au[1] = {{.name = "A", .orcid = "0000-0002-1825-0097", .orcid_valid = 1}};
  doc->meta.authors = au;
  doc->meta.n_authors = 1;
  ts_buf b;
  ts_buf_init(&b);
  ts_doc_dump_json(doc, &b);
  ck_assert(!b.oom);
  const char *want =
      "{\"meta\":{\"title\":\"T\",\"authors\":[{\"name\":\"A\","
      "\"orcid\":\"0000-0002-1825-0097\",\"orcid_valid\":true}],\"lang\":\"en\"},"
      "\"body\":["
      "{\"type\":\"heading\",\"line\":1,\"col\":1,\"level\":1,\"id\":\"title\",\"children\":["
      "{\"type\":\"text\",\"line\":1,\"col\":3,\"text\":\"Title\"}]},"
      "{\"type\":\"paragraph\",\"line\":3,\"col\":1,\"children\":["
      "{\"type\":\"text\",\"line\":3,\"col\":1,\"text\":\"Hello \"},"
      "{\"type\":\"emph\",\"line\":3,\"col\":7,\"children\":["
      "{\"type\":\"text\",\"line\":3,\"col\":8,\"text\":\"big\"}]},"
      "{\"type\":\"softbreak\",\"line\":3,\"col\":12},"
      "{\"type\":\"text\",\"line\":4,\"col\":1,\"text\":\"world\"},"
      "{\"type\":\"image\",\"line\":4,\"col\":6,\"url\":\"a.png\",\"alt\":\"alt\"},"
      "{\"type\":\"footnote_ref\",\"line\":4,\"col\":16,\"number\":1,\"label\":\"n\"}]},"
      "{\"type\":\"paragraph\",\"line\":8,\"col\":1,\"children\":[]}],"
      "\"notes\":[{\"type\":\"footnote_def\",\"line\":6,\"col\":1,\"number\":1,\"label\":\"n\","
      "\"children\":[{\"type\":\"paragraph\",\"line\":6,\"col\":7,\"children\":["
      "{\"type\":\"text\",\"line\":6,\"col\":7,\"text\":\"Note \\\"q\\\".\"}]}]}]}\n";
  ck_assert_str_eq(b.data, want);
  ts_buf_free(&b);
  ts_doc_destroy(doc);
}
END_TEST

START_TEST(dump_fields) {
  ts_doc *doc = ts_doc_create("x.md");
  ts_node *l = ts_node_new(doc, TS_NODE_LIST, 1, 1);
  l->ordered = 1;
  l->start = 3;
  l->delim = ')';
  l->tight = 1;
  ts_node_append(doc->root, l);
  ts_node *t = ts_node_new(doc, TS_NODE_TABLE, 2, 1);
  t->ncols = 3;
  t->align = ts_arena_alloc(doc->arena, 3);
  t->align[0] = TS_ALIGN_NONE;
  t->align[1] = TS_ALIGN_CENTER;
  t->align[2] = TS_ALIGN_RIGHT;
  ts_node_append(doc->root, t);
  ts_node *r = ts_node_new(doc, TS_NODE_TABLE_ROW, 2, 1);
  r->header = 1;
  ts_node_append(t, r);
  ts_node *cb = ts_node_new(doc, TS_NODE_CODEBLOCK, 4, 1);
  cb->info = "c";
  cb->text = "x\n";
  cb->len = 2;
  ts_node_append(doc->root, cb);
  doc->meta.series.name = "S";
  doc->meta.series.number = "12";
  static ts_kv ex[1] = {{"k", "v"}};
  doc->meta.extra = ex;
  doc->meta.n_extra = 1;
  doc->meta.lang = "ru";
  ts_buf b;
  ts_buf_init(&b);
  ts_doc_dump_json(doc, &b);
  ck_assert_str_eq(
      b.data,
      "{\"meta\":{\"lang\":\"ru\",\"series\":{\"name\":\"S\",\"number\":\"12\"},"
      "\"extra\":{\"k\":\"v\"}},\"body\":["
      "{\"type\":\"list\",\"line\":1,\"col\":1,\"ordered\":true,\"tight\":true,\"start\":3,"
      "\"delim\":\")\",\"children\":[]},"
      "{\"type\":\"table\",\"line\":2,\"col\":1,\"ncols\":3,\"align\":[\"none\",\"center\","
      "\"right\"],\"children\":[{\"type\":\"table_row\",\"line\":2,\"col\":1,\"header\":true,"
      "\"children\":[]}]},"
      "{\"type\":\"codeblock\",\"line\":4,\"col\":1,\"info\":\"c\",\"text\":\"x\\n\"}],"
      "\"notes\":[]}\n");
  ts_buf_free(&b);
  ts_doc_destroy(doc);
}
END_TEST

/* 200,000 nested block quotes: a recursive walk would need ~200,000 frames. */
START_TEST(deep_tree) {
  ts_doc *doc = ts_doc_create("deep.md");
  ts_node *cur = doc->root;
  const int depth = 200000;
  for (int i = 0; i < depth; i++) {
    ts_node *q = ts_node_new(doc, TS_NODE_BLOCKQUOTE, (uint32_t)i + 1, 1);
    ck_assert_ptr_nonnull(q);
    ts_node_append(cur, q);
    cur = q;
  }
  ts_node *p = ts_node_new(doc, TS_NODE_PARAGRAPH, 1, 1);
  ts_node_append(cur, p);
  ts_node_append(p, text(doc, "deep", 1, 1));
  ts_iter it;
  ts_iter_init(&it, doc->root);
  ts_node *n;
  int ent;
  long enters = 0, exits = 0;
  while ((n = ts_iter_next(&it, &ent))) ent ? enters++ : exits++;
  ck_assert_int_eq(enters, depth + 3); /* document, quotes, paragraph, text */
  ck_assert_int_eq(exits, depth + 2);
  ts_buf b;
  ts_buf_init(&b);
  ts_node_plain_text(doc->root, &b);
  ck_assert_str_eq(b.data, "deep");
  ts_buf_clear(&b);
  ts_doc_dump_json(doc, &b);
  ck_assert(!b.oom);
  size_t opens = 0, closes = 0;
  for (size_t i = 0; i < b.len; i++) {
    opens += b.data[i] == '{';
    closes += b.data[i] == '}';
  }
  ck_assert_uint_eq(opens, closes);
  ck_assert_uint_eq(opens, (size_t)depth + 4); /* top, meta, quotes, paragraph, text */
  ts_buf_free(&b);
  ts_doc_destroy(doc);
}
END_TEST

int main(void) {
  Suite *s = suite_create("doc");
  TCase *tc = tcase_create("model");
  tcase_add_test(tc, create_destroy);
  tcase_add_test(tc, append_unlink);
  tcase_add_test(tc, type_names);
  tcase_add_test(tc, iter_order);
  tcase_add_test(tc, plain_text);
  tcase_add_test(tc, find_id);
  tcase_add_test(tc, dump_json);
  tcase_add_test(tc, dump_fields);
  tcase_add_test(tc, deep_tree);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
