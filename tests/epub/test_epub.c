/* test_epub.c — the EPUB writer: container layout (mimetype first, stored,
 * no extra field), byte-identical rebuilds, footnote markup, heading links
 * across a chapter split, every source word in order in the XHTML, and
 * Debian's epubcheck with 0 errors and 0 warnings. */
#include <check.h>

#include "../cache_files.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <hb.h>
#include <hb-ot.h>
#include <png.h>
#include <zip.h>

#include "core/ts_core.h"
#include "doc/ts_doc.h"
#include "epub/ts_epub.h"
#include "epub/epub_int.h" /* epub_font_cache_stats */
#include "markdown/ts_markdown.h"
#include "page/ts_page.h" /* ts_layout for the print page numbers */
#include "style/ts_style.h"

/* allocation failure injection (fail_countdown): ../alloc_fail.h */
#include "../alloc_fail.h"

/* ---- helpers -------------------------------------------------------------- */

static char tmpdir[256];

static void make_tmpdir(void) {
  if (tmpdir[0]) return;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/ts-epub-test-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* A valid 1x1 RGBA PNG. */
static const unsigned char png1[] = {
    0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1,
    0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 10, 'I', 'D', 'A', 'T', 0x78,
    0x9c, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0, 'I', 'E', 'N', 'D',
    0xae, 0x42, 0x60, 0x82};

static void write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(p, 1, n, f), n);
  fclose(f);
}

/* Reads one entry of an EPUB in memory: returns owned (free()) NUL-terminated
 * bytes or NULL when the entry is absent. */
static char *entry(const unsigned char *data, size_t len, const char *name, size_t *out_len) {
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
  ck_assert_ptr_nonnull(src);
  zip_t *z = zip_open_from_source(src, ZIP_RDONLY, &ze);
  ck_assert_ptr_nonnull(z);
  zip_stat_t st;
  char *buf = NULL;
  if (zip_stat(z, name, 0, &st) == 0) {
    zip_file_t *f = zip_fopen(z, name, 0);
    ck_assert_ptr_nonnull(f);
    buf = malloc(st.size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(zip_fread(f, buf, st.size), (zip_int64_t)st.size);
    buf[st.size] = 0;
    if (out_len) *out_len = st.size;
    zip_fclose(f);
  }
  zip_close(z); /* read-only: frees src too */
  zip_error_fini(&ze);
  return buf;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

/* Runs Debian's epubcheck on the file; 1 when it reports 0 errors and 0
 * warnings (and prints neither word), else prints its output and returns 0. */
static int epubcheck_clean(const char *path) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -jar /usr/share/java/epubcheck.jar '%s' 2>&1", path);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  ts_buf out;
  ts_buf_init(&out);
  char line[4096];
  while (fgets(line, sizeof line, p)) ts_buf_puts(&out, line);
  int rc = pclose(p);
  const char *o = out.data ? out.data : "";
  int ok = rc == 0 && strstr(o, "No errors or warnings detected") && !strstr(o, "WARNING") &&
           !strstr(o, "ERROR") && strstr(o, "0 errors / 0 warnings");
  if (!strstr(o, "Messages:")) ok = 0; /* no summary: epubcheck did not run */
  if (!ok) fprintf(stderr, "epubcheck %s (rc %d):\n%s\n", path, rc, o);
  ts_buf_free(&out);
  return ok != 0;
}

/* Text content of XHTML: tags removed, note references and section numbers
 * skipped, the five XML entities decoded. */
static void strip_xhtml(const char *x, ts_buf *out) {
  const char *body = strstr(x, "<body");
  const char *p = body ? body : x;
  while (*p) {
    if (*p == '<') {
      int skip = strncmp(p, "<a epub:type=\"noteref\"", 22) == 0 ||
                 strncmp(p, "<span class=\"secnum\"", 20) == 0 ||
                 strncmp(p, "<span class=\"noteref\"", 21) == 0;
      const char *e = strchr(p, '>');
      if (!e) break;
      if (skip) {
        const char *close = strchr(e, '<');
        e = close ? strchr(close, '>') : NULL;
        if (!e) break;
      }
      /* inline elements join their neighbours; block elements separate */
      static const char *const inl[] = {"a", "em", "strong", "s", "code", "span", "img", "wbr"};
      const char *nm = p[1] == '/' ? p + 2 : p + 1;
      size_t nl = strcspn(nm, " />");
      int inline_el = 0;
      for (size_t i = 0; i < sizeof inl / sizeof inl[0]; i++)
        if (strlen(inl[i]) == nl && strncmp(nm, inl[i], nl) == 0) inline_el = 1;
      if (!inline_el || skip) ts_buf_putc(out, ' ');
      p = e + 1;
      continue;
    }
    static const struct { const char *ent, *ch; } ents[] = {
        {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}};
    int done = 0;
    for (size_t i = 0; i < 5 && !done; i++)
      if (strncmp(p, ents[i].ent, strlen(ents[i].ent)) == 0) {
        ts_buf_puts(out, ents[i].ch);
        p += strlen(ents[i].ent);
        done = 1;
      }
    if (!done) ts_buf_putc(out, *p++);
  }
}

/* 1 when every whitespace-separated word of `want` occurs as a word of
 * `have`, in order (other words may come between). Prints the first miss. */
static int words_in_order(const char *want, const char *have, int quiet) {
  const char *h = have;
  const char *w = want;
  for (;;) {
    while (*w && strchr(" \t\r\n", *w)) w++;
    if (!*w) return 1;
    size_t wl = strcspn(w, " \t\r\n");
    for (;;) {
      while (*h && strchr(" \t\r\n", *h)) h++;
      if (!*h) {
        if (!quiet) fprintf(stderr, "word not found in order: '%.*s'\n", (int)wl, w);
        return 0;
      }
      size_t hl = strcspn(h, " \t\r\n");
      int eq = hl == wl && memcmp(h, w, wl) == 0;
      h += hl;
      if (eq) break;
    }
    w += wl;
  }
}

/* ---- hand-made model ---------------------------------------------------- */

static uint32_t line_no;

static ts_node *add(ts_doc *d, ts_node *parent, ts_node_type t) {
  ts_node *n = ts_node_new(d, t, ++line_no, 1);
  ck_assert_ptr_nonnull(n);
  ts_node_append(parent, n);
  return n;
}

static ts_node *text(ts_doc *d, ts_node *parent, const char *s) {
  ts_node *n = add(d, parent, TS_NODE_TEXT);
  n->text = ts_arena_strdup(d->arena, s);
  n->len = strlen(s);
  return n;
}

static ts_node *heading(ts_doc *d, int level, const char *id, const char *s) {
  ts_node *h = add(d, d->root, TS_NODE_HEADING);
  h->level = level;
  h->id = id;
  text(d, h, s);
  return h;
}

static ts_node *para(ts_doc *d, ts_node *parent, const char *s) {
  ts_node *p = add(d, parent, TS_NODE_PARAGRAPH);
  if (s) text(d, p, s);
  return p;
}

static ts_node *noteref(ts_doc *d, ts_node *parent, int num) {
  ts_node *r = add(d, parent, TS_NODE_FOOTNOTE_REF);
  r->number = num;
  r->note = d->notes[num - 1];
  return r;
}

static ts_node *add_link(ts_doc *d, ts_node *parent, const char *url, const char *s) {
  ts_node *l = add(d, parent, TS_NODE_LINK);
  l->url = url;
  text(d, l, s);
  return l;
}

/* The body text of the hand-made book, in reading order (notes excluded). */
static const char hand_words[] =
    "Introduction This paper & its <notes> matter. See the method section or the web site. "
    "Background Item one Item two Item three Quoted wisdom here. "
    "int main(void) { return 0; } "
    "Name Value alpha 1 beta 2 "
    "Method The second chapter repeats a note and links back to the introduction. "
    "A small square. Last words of the book.";

/* A book with two level-1 headings (so two chapters), footnotes (one
 * referenced twice, one with two paragraphs), a list, a quote, code, a
 * table, a figure, links across the split and every piece of metadata. */
static ts_doc *hand_doc(void) {
  make_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/fig.png", tmpdir);
  write_file(path, png1, sizeof png1);
  snprintf(path, sizeof path, "%s/paper.md", tmpdir);
  ts_doc *d = ts_doc_create(path);
  ck_assert_ptr_nonnull(d);
  line_no = 0;
  ts_arena *a = d->arena;
  ts_meta *m = &d->meta;
  m->title = "A Test of Books";
  m->subtitle = "Footnotes & Chapters";
  m->lang = "en";
  m->date = "2018-06-13";
  m->publisher = "Valdai Discussion Club";
  m->rights = "CC BY 4.0";
  m->abstract_text = "A short abstract.";
  m->abstract = ts_node_new(d, TS_NODE_DOCUMENT, 1, 1);
  para(d, m->abstract, "A short abstract.");
  static const char *kw[] = {"Russia", "China"};
  m->keywords = kw;
  m->n_keywords = 2;
  m->series.name = "Valdai Papers";
  m->series.number = "89";
  m->series.issn = "2311-8539";
  ts_author *au = ts_arena_alloc(a, sizeof *au);
  au->name = "Alexander V. Lomanov";
  au->degree = "Doctor of History";
  au->role = "Deputy Director";
  au->affiliation = "IMEMO RAS";
  au->address = "23 Profsoyuznaya Str., Moscow";
  au->orcid = "0000-0003-2676-4271";
  au->orcid_valid = 1;
  ts_kv *ids = ts_arena_alloc(a, sizeof *ids);
  ids[0].key = "Scopus AuthorID";
  ids[0].value = "56153472700";
  au->ids = ids;
  au->n_ids = 1;
  m->authors = au;
  m->n_authors = 1;

  /* notes */
  d->n_notes = 3;
  d->notes = ts_arena_alloc(a, 3 * sizeof *d->notes);
  for (int i = 0; i < 3; i++) {
    d->notes[i] = ts_node_new(d, TS_NODE_FOOTNOTE_DEF, 100 + i, 1);
    d->notes[i]->number = i + 1;
  }
  para(d, d->notes[0], "First note text.");
  para(d, d->notes[1], "Second note, paragraph one.");
  para(d, d->notes[1], "Second note, paragraph two.");
  para(d, d->notes[2], "Third note, shared.");

  heading(d, 1, "introduction", "Introduction");
  ts_node *p = para(d, d->root, "This paper & its <notes> matter.");
  noteref(d, p, 1);
  text(d, p, " See the ");
  add_link(d, p, "#method", "method section");
  text(d, p, " or the ");
  add_link(d, p, "https://example.org/a b?x=1&y=2", "web site");
  text(d, p, ".");
  heading(d, 2, "background", "Background");
  ts_node *list = add(d, d->root, TS_NODE_LIST);
  list->ordered = 1;
  list->start = 3;
  list->tight = 1;
  const char *items[] = {"Item one", "Item two", "Item three"};
  for (int i = 0; i < 3; i++) para(d, add(d, list, TS_NODE_ITEM), items[i]);
  ts_node *q = add(d, d->root, TS_NODE_BLOCKQUOTE);
  p = para(d, q, "Quoted ");
  ts_node *em = add(d, p, TS_NODE_EMPH);
  text(d, em, "wisdom");
  text(d, p, " here.");
  noteref(d, p, 2);
  ts_node *code = add(d, d->root, TS_NODE_CODEBLOCK);
  code->text = "int main(void) { return 0; }\n";
  code->len = strlen(code->text);
  code->info = "c";
  ts_node *t = add(d, d->root, TS_NODE_TABLE);
  t->ncols = 2;
  t->align = ts_arena_alloc(a, 2);
  t->align[0] = TS_ALIGN_LEFT;
  t->align[1] = TS_ALIGN_RIGHT;
  const char *cells[3][2] = {{"Name", "Value"}, {"alpha", "1"}, {"beta", "2"}};
  for (int r = 0; r < 3; r++) {
    ts_node *row = add(d, t, TS_NODE_TABLE_ROW);
    row->header = r == 0;
    for (int c = 0; c < 2; c++) text(d, add(d, row, TS_NODE_TABLE_CELL), cells[r][c]);
  }
  heading(d, 1, "method", "Method");
  p = para(d, d->root, "The second chapter repeats a note");
  noteref(d, p, 3);
  text(d, p, " and ");
  add_link(d, p, "#introduction", "links back");
  text(d, p, " to the introduction.");
  noteref(d, p, 3);
  add(d, d->root, TS_NODE_THEMATIC_BREAK);
  ts_node *fig = add(d, d->root, TS_NODE_FIGURE);
  fig->url = "fig.png";
  fig->alt = "A small square";
  text(d, fig, "A small square.");
  para(d, d->root, "Last words of the book.");
  return d;
}

static ts_ctx *ctx;
static ts_style *style;

static void setup(void) {
  ctx = ts_ctx_create();
  ck_assert_ptr_nonnull(ctx);
  style = ts_style_default();
  ck_assert_ptr_nonnull(style);
}

static void teardown(void) {
  ts_style_destroy(style);
  ts_ctx_destroy(ctx);
  if (tmpdir[0] && getenv("TS_KEEP_TEST_FILES") == NULL) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    tmpdir[0] = 0;
  }
}

static unsigned char *build(const ts_doc *d, const ts_style *s, size_t *len) {
  unsigned char *data = NULL;
  ts_diag diag;
  ts_diag_init(&diag, stderr);
  ck_assert_int_eq(ts_epub_write_mem(ctx, d, s, NULL, &data, len, &diag), TS_OK);
  ck_assert_uint_eq(diag.n_errors, 0);
  ck_assert_ptr_nonnull(data);
  return data;
}

static void save(const char *name, const unsigned char *data, size_t len, char *path, size_t n) {
  make_tmpdir();
  snprintf(path, n, "%s/%s", tmpdir, name);
  write_file(path, data, len);
}

/* Saves the book as `name` in the test folder and asserts that epubcheck
 * passes it. */
static void assert_saved_valid(const char *name, const unsigned char *z, size_t len) {
  char path[512];
  save(name, z, len, path, sizeof path);
  ck_assert(epubcheck_clean(path));
}

/* ---- tests -------------------------------------------------------------------- */

/* The document's words come back in order from the chapters' text, and
 * the book saved as `name` passes epubcheck. */
static void words_and_valid(const char *want, const char *have, const char *name,
                            const unsigned char *z, size_t len) {
  ck_assert(words_in_order(want, have, 0));
  assert_saved_valid(name, z, len);
}

START_TEST(container_layout) {
  ts_doc *d = hand_doc();
  size_t len;
  unsigned char *z = build(d, style, &len);
  ck_assert_uint_gt(len, 100);
  /* local header of the first entry: signature, method 0 (stored), name
   * length 8, extra length 0, name "mimetype", data at byte 38 */
  ck_assert_int_eq(memcmp(z, "PK\003\004", 4), 0);
  ck_assert_int_eq(z[8] | z[9] << 8, 0);
  ck_assert_int_eq(z[6] & 0x08, 0);      /* sizes in the header, no data descriptor */
  ck_assert_int_eq(z[18] | z[19] << 8, 20); /* compressed size */
  ck_assert_int_eq(z[22] | z[23] << 8, 20); /* uncompressed size */
  ck_assert_int_eq(z[26] | z[27] << 8, 8);
  ck_assert_int_eq(z[28] | z[29] << 8, 0);
  ck_assert_int_eq(memcmp(z + 30, "mimetype", 8), 0);
  ck_assert_int_eq(memcmp(z + 38, "application/epub+zip", 20), 0);
  /* the text entries are deflated; a tiny PNG (compressed by its own
   * format) is stored, since deflating it again would not make it smaller */
  zip_error_t ze;
  zip_error_init(&ze);
  zip_source_t *src = zip_source_buffer_create(z, len, 0, &ze);
  zip_t *za = zip_open_from_source(src, ZIP_RDONLY, &ze);
  ck_assert_ptr_nonnull(za);
  zip_int64_t n = zip_get_num_entries(za, 0);
  ck_assert_int_ge(n, 9);
  for (zip_int64_t i = 0; i < n; i++) {
    zip_stat_t st;
    ck_assert_int_eq(zip_stat_index(za, (zip_uint64_t)i, 0, &st), 0);
    int image = strncmp(st.name, "OEBPS/images/", 13) == 0;
    ck_assert_int_eq(st.comp_method, i == 0 || image ? ZIP_CM_STORE : ZIP_CM_DEFLATE);
    /* no extra fields anywhere */
    ck_assert_int_eq(zip_file_extra_fields_count(za, (zip_uint64_t)i, ZIP_FL_LOCAL | ZIP_FL_CENTRAL), 0);
  }
  zip_close(za);
  zip_error_fini(&ze);
  free(z);
  ts_doc_destroy(d);
}
END_TEST

START_TEST(byte_identical) {
  ts_doc *d = hand_doc();
  size_t l1, l2;
  unsigned char *a = build(d, style, &l1);
  unsigned char *b = build(d, style, &l2);
  ck_assert_uint_eq(l1, l2);
  ck_assert_int_eq(memcmp(a, b, l1), 0);
  /* the file writer produces the same bytes */
  char path[512];
  make_tmpdir();
  snprintf(path, sizeof path, "%s/out.epub", tmpdir);
  ts_diag diag;
  ts_diag_init(&diag, stderr);
  ck_assert_int_eq(ts_epub_write(ctx, d, style, path, &diag), TS_OK);
  size_t fl;
  char *f = ts_file_read(path, &fl, 0);
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fl, l1);
  ck_assert_int_eq(memcmp(f, a, l1), 0);
  free(f);
  free(a);
  free(b);
  ts_doc_destroy(d);
}
END_TEST

START_TEST(footnote_markup) {
  ts_doc *d = hand_doc();
  size_t len;
  unsigned char *z = build(d, style, &len);
  char *c1 = entry(z, len, "OEBPS/chapter-1.xhtml", NULL);
  char *c2 = entry(z, len, "OEBPS/chapter-2.xhtml", NULL);
  ck_assert_ptr_nonnull(c1);
  ck_assert_ptr_nonnull(c2);
  /* the reference: no child element, superscript by class */
  ck_assert_ptr_nonnull(strstr(c1, "<a epub:type=\"noteref\" role=\"doc-noteref\" id=\"r1\" "
                                   "href=\"#n1\" class=\"noteref\">1</a>"));
  /* the note at the end of the same file, back-link first */
  ck_assert_ptr_nonnull(strstr(c1, "<aside epub:type=\"footnote\" role=\"doc-footnote\" id=\"n1\" "
                                   "class=\"footnote\">\n<p><a role=\"doc-backlink\" "
                                   "href=\"#r1\">1.</a> First note text.</p>\n</aside>"));
  /* two paragraphs: the back-link only in the first */
  ck_assert_ptr_nonnull(strstr(c1, "<p><a role=\"doc-backlink\" href=\"#r2\">2.</a> Second note, "
                                   "paragraph one.</p>\n<p>Second note, paragraph two.</p>\n</aside>"));
  ck_assert_int_eq(count(c1, "doc-backlink"), 2);
  ck_assert_ptr_null(strstr(c1, "id=\"n3\""));
  /* note 3 referenced twice in chapter 2: r3 and r3-2, one back-link */
  ck_assert_ptr_nonnull(strstr(c2, "id=\"r3\" href=\"#n3\""));
  ck_assert_ptr_nonnull(strstr(c2, "id=\"r3-2\" href=\"#n3\""));
  ck_assert_int_eq(count(c2, "id=\"n3\""), 1);
  ck_assert_int_eq(count(c2, "href=\"#r3\""), 1);
  ck_assert_int_eq(count(c2, "href=\"#r3-2\""), 0);
  /* the notes come after the body text of the file */
  ck_assert_ptr_nonnull(strstr(c2, "Last words of the book."));
  ck_assert(strstr(c2, "Last words of the book.") < strstr(c2, "<aside"));
  free(c1);
  free(c2);
  free(z);
  ts_doc_destroy(d);
}
END_TEST

/* Language of parts (WCAG 3.1.2): a block with 20 or more letters in a
 * script the document's language is not written in is a passage the model
 * cannot mark, so the package claims no conformance and says why; names,
 * single words, code and text in the language's own scripts do not count. */
static char *opf_of(const char *md) {
  ts_diag diag;
  ts_diag_init(&diag, stderr);
  ts_doc *d = NULL;
  ck_assert_int_eq(ts_markdown_parse(ctx, "/nonexistent/l.md", md, strlen(md), &diag, &d), TS_OK);
  size_t len;
  unsigned char *z = build(d, style, &len);
  char *opf = entry(z, len, "OEBPS/package.opf", NULL);
  ck_assert_ptr_nonnull(opf);
  free(z);
  ts_doc_destroy(d);
  return opf;
}

static void assert_claims(const char *md, int claims, const char *what) {
  char *opf = opf_of(md);
  int has = strstr(opf, "property=\"dcterms:conformsTo\"") != NULL;
  int says = strstr(opf, "Passages in other languages are not marked") != NULL;
  ck_assert_msg(has == claims && says == !claims, "%s: conformsTo %d, summary note %d, want %d:\n%s",
                what, has, says, claims, opf);
  free(opf);
}

START_TEST(language_of_parts) {
  /* 20 Cyrillic letters in one paragraph of an English paper */
  assert_claims("---\ntitle: T\nlang: en\n---\n\nIn Russian: \xD0\xB2\xD1\x81\xD0\xB5 "
                "\xD0\xBB\xD1\x8E\xD0\xB4\xD0\xB8 \xD1\x80\xD0\xBE\xD0\xB6\xD0\xB4\xD0\xB0"
                "\xD1\x8E\xD1\x82\xD1\x81\xD1\x8F \xD1\x81\xD0\xB2\xD0\xBE\xD0\xB1\xD0\xBE"
                "\xD0\xB4\xD0\xBD.\n",
                0, "a Russian sentence in English");
  /* a name (16 Cyrillic letters) is below the threshold */
  assert_claims("---\ntitle: T\nlang: en\n---\n\nAs \xD0\x90\xD0\xBB\xD0\xB5\xD0\xBA\xD1\x81"
                "\xD0\xB0\xD0\xBD\xD0\xB4\xD1\x80 \xD0\x9B\xD0\xBE\xD0\xBC\xD0\xB0\xD0\xBD"
                "\xD0\xBE\xD0\xB2 wrote.\n",
                1, "a Russian name in English");
  /* the same Russian sentence in a Russian paper */
  assert_claims("---\ntitle: T\nlang: ru\n---\n\n\xD0\xB2\xD1\x81\xD0\xB5 "
                "\xD0\xBB\xD1\x8E\xD0\xB4\xD0\xB8 \xD1\x80\xD0\xBE\xD0\xB6\xD0\xB4\xD0\xB0"
                "\xD1\x8E\xD1\x82\xD1\x81\xD1\x8F \xD1\x81\xD0\xB2\xD0\xBE\xD0\xB1\xD0\xBE"
                "\xD0\xB4\xD0\xBD.\n",
                1, "Russian in a Russian paper");
  /* seven Han characters weigh 21 letters */
  assert_claims("---\ntitle: T\n---\n\nChinese: \xE4\xBA\xBA\xE4\xBA\xBA\xE7\x94\x9F\xE8\x80"
                "\x8C\xE8\x87\xAA\xE7\x94\xB1\xE5\xB9\xB3.\n",
                0, "a Chinese phrase in English");
  /* ... and are a Japanese paper's own script */
  assert_claims("---\ntitle: T\nlang: ja\n---\n\n\xE4\xBA\xBA\xE4\xBA\xBA\xE7\x94\x9F\xE8\x80"
                "\x8C\xE8\x87\xAA\xE7\x94\xB1\xE5\xB9\xB3\xE3\x81\xA7\xE3\x81\x82\xE3\x82\x8B.\n",
                1, "Han and kana in Japanese");
  /* a passage in a footnote counts; in code it does not */
  assert_claims("---\ntitle: T\n---\n\nSee.[^1]\n\n[^1]: \xCE\x8C\xCE\xBB\xCE\xBF\xCE\xB9 \xCE\xBF"
                "\xCE\xB9 \xCE\xAC\xCE\xBD\xCE\xB8\xCF\x81\xCF\x89\xCF\x80\xCE\xBF\xCE\xB9 "
                "\xCE\xB3\xCE\xB5\xCE\xBD\xCE\xBD\xCE\xB9\xCE\xBF\xCF\x8D\xCE\xBD\xCF\x84\xCE\xB1"
                "\xCE\xB9.\n",
                0, "a Greek sentence in a note");
  assert_claims("---\ntitle: T\n---\n\n```\n\xCE\x8C\xCE\xBB\xCE\xBF\xCE\xB9 \xCE\xBF"
                "\xCE\xB9 \xCE\xAC\xCE\xBD\xCE\xB8\xCF\x81\xCF\x89\xCF\x80\xCE\xBF\xCE\xB9 "
                "\xCE\xB3\xCE\xB5\xCE\xBD\xCE\xBD\xCE\xB9\xCE\xBF\xCF\x8D\xCE\xBD\xCF\x84\xCE\xB1"
                "\xCE\xB9\n```\n",
                1, "Greek in a code block");
  /* the same sentence in a fenced div of its language: marked, so the claim stands */
  const char *div_md = "---\ntitle: T\nlang: en\n---\n\n::: {lang=ru}\n\xD0\xB2\xD1\x81\xD0\xB5 "
                       "\xD0\xBB\xD1\x8E\xD0\xB4\xD0\xB8 \xD1\x80\xD0\xBE\xD0\xB6\xD0\xB4\xD0\xB0"
                       "\xD1\x8E\xD1\x82\xD1\x81\xD1\x8F \xD1\x81\xD0\xB2\xD0\xBE\xD0\xB1\xD0\xBE"
                       "\xD0\xB4\xD0\xBD.\n:::\n";
  assert_claims(div_md, 1, "a Russian sentence in a ru div");
  {
    ts_diag diag;
    ts_diag_init(&diag, stderr);
    ts_doc *d = NULL;
    ck_assert_int_eq(ts_markdown_parse(ctx, "/nonexistent/l.md", div_md, strlen(div_md), &diag, &d),
                     TS_OK);
    size_t len;
    unsigned char *z = build(d, style, &len);
    char *c = entry(z, len, "OEBPS/chapter-1.xhtml", NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert_msg(strstr(c, "<p lang=\"ru\" xml:lang=\"ru\">\xD0\xB2\xD1\x81\xD0\xB5 ") != NULL, "%s", c);
    ck_assert_ptr_null(strstr(c, ":::"));
    assert_saved_valid("lang-div.epub", z, len);
    free(c);
    free(z);
    ts_doc_destroy(d);
  }
  /* a Greek div's text measured against Greek, an English paragraph in it is foreign */
  assert_claims("---\ntitle: T\n---\n\n::: {lang=el}\n\nThis whole sentence is English, not Greek.\n\n:::\n",
                0, "English in an el div");
  /* letters spread over blocks are not a passage: 15 + 15 in two */
  assert_claims("---\ntitle: T\n---\n\n\xCE\xB1\xCE\xB2\xCE\xB3\xCE\xB4\xCE\xB5 \xCE\xB1\xCE\xB2"
                "\xCE\xB3\xCE\xB4\xCE\xB5 \xCE\xB1\xCE\xB2\xCE\xB3\xCE\xB4\xCE\xB5\n\n"
                "\xCE\xB1\xCE\xB2\xCE\xB3\xCE\xB4\xCE\xB5 \xCE\xB1\xCE\xB2\xCE\xB3\xCE\xB4\xCE\xB5 "
                "\xCE\xB1\xCE\xB2\xCE\xB3\xCE\xB4\xCE\xB5\n",
                1, "15 Greek letters in each of two paragraphs");
}
END_TEST

START_TEST(endnotes_mode) {
  ts_doc *d = hand_doc();
  style->epub_endnotes = 1;
  size_t len;
  unsigned char *z = build(d, style, &len);
  char *c1 = entry(z, len, "OEBPS/chapter-1.xhtml", NULL);
  ck_assert_ptr_nonnull(strstr(c1, "<section epub:type=\"endnotes\" role=\"doc-endnotes\""));
  ck_assert_ptr_nonnull(strstr(c1, "<li id=\"n1\" epub:type=\"endnote\" class=\"note\">"));
  ck_assert_ptr_null(strstr(c1, "role=\"doc-endnote\"")); /* deprecated (DPUB-ARIA 1.1) */
  ck_assert_ptr_null(strstr(c1, "<aside"));
  assert_saved_valid("endnotes.epub", z, len);
  free(c1);
  free(z);
  ts_doc_destroy(d);
}
END_TEST

START_TEST(links_across_split) {
  ts_doc *d = hand_doc();
  size_t len;
  unsigned char *z = build(d, style, &len);
  char *c1 = entry(z, len, "OEBPS/chapter-1.xhtml", NULL);
  char *c2 = entry(z, len, "OEBPS/chapter-2.xhtml", NULL);
  ck_assert_ptr_null(entry(z, len, "OEBPS/chapter-3.xhtml", NULL));
  ck_assert_ptr_nonnull(strstr(c1, "<a href=\"chapter-2.xhtml#method\">method section</a>"));
  ck_assert_ptr_nonnull(strstr(c2, "<h1 id=\"method\">"));
  ck_assert_ptr_nonnull(strstr(c2, "<a href=\"chapter-1.xhtml#introduction\">links back</a>"));
  ck_assert_ptr_nonnull(strstr(c1, "<h1 id=\"introduction\">"));
  /* unsafe characters of an external URL are escaped */
  ck_assert_ptr_nonnull(strstr(c1, "href=\"https://example.org/a%20b?x=1&amp;y=2\""));
  /* the nav points at the same places */
  char *nav = entry(z, len, "OEBPS/nav.xhtml", NULL);
  ck_assert_ptr_nonnull(strstr(nav, "href=\"chapter-2.xhtml#method\""));
  ck_assert_ptr_nonnull(strstr(nav, "href=\"chapter-1.xhtml#background\""));
  free(nav);
  free(c1);
  free(c2);
  free(z);
  ts_doc_destroy(d);
}
END_TEST

/* The print edition's page numbers from a layout made by hand: each page's
 * marker where its body text begins (page 2 inside a paragraph, page 4's
 * inside a word: after it), in page order whatever the text order (page 3
 * begins after page 4's place: 4 waits for 3), a page without body text
 * with the next one, one whose place is not in the body at the end; before
 * a heading, not in it; page 1 on the title page.  Labels are the folios
 * (a journal's pagination from 11 here), ids the pages' order. */
#define PG_MARK(i, f)                                                              \
  "<span epub:type=\"pagebreak\" role=\"doc-pagebreak\" id=\"p" #i "\" aria-label=\"" #f \
  "\"></span>"
START_TEST(print_page_list) {
  ts_doc *d = ts_doc_create("/nonexistent/paged.md");
  ts_node *p1 = para(d, d->root, "alpha beta gamma")->first;
  ts_node *p2 = para(d, d->root, "delta epsilon")->first;
  ts_node *p3 = para(d, d->root, "zeta eta theta")->first;
  ts_node *h = heading(d, 2, "later", "Later")->first;
  para(d, d->root, "iota kappa");
  static const char elsewhere[] = "not the body's";
  ts_page pages[7];
  memset(pages, 0, sizeof pages);
  const char *src[7] = {NULL, p1->text + 6, p3->text, p2->text + 2, NULL, h->text, elsewhere};
  for (int i = 0; i < 7; i++) {
    pages[i].w = 595;
    pages[i].h = 842;
    pages[i].number = 11 + i;
    pages[i].src = src[i];
  }
  ts_layout L;
  memset(&L, 0, sizeof L);
  L.pages = pages;
  L.n_pages = 7;
  ts_diag diag;
  ts_diag_init(&diag, stderr);
  unsigned char *z = NULL;
  size_t len = 0;
  /* the default style makes none, layout or not */
  ck_assert_int_eq(ts_epub_write_mem(ctx, d, style, &L, &z, &len, &diag), TS_OK);
  char *c1 = entry(z, len, "OEBPS/chapter-1.xhtml", NULL);
  char *nav = entry(z, len, "OEBPS/nav.xhtml", NULL);
  ck_assert_ptr_null(strstr(c1, "pagebreak"));
  ck_assert_ptr_null(strstr(nav, "page-list"));
  free(c1);
  free(nav);
  free(z);
  style->epub_page_list = 1;
  ck_assert_int_eq(ts_epub_write_mem(ctx, d, style, &L, &z, &len, &diag), TS_OK);
  style->epub_page_list = 0;
  ck_assert_uint_eq(diag.n_errors, 0);
  c1 = entry(z, len, "OEBPS/chapter-1.xhtml", NULL);
  char *tp = entry(z, len, "OEBPS/titlepage.xhtml", NULL);
  nav = entry(z, len, "OEBPS/nav.xhtml", NULL);
  char *opf = entry(z, len, "OEBPS/package.opf", NULL);
  ck_assert_ptr_nonnull(strstr(tp, "<body class=\"titlepage\">\n" PG_MARK(1, 11)));
  ck_assert_ptr_nonnull(strstr(c1, "<p>alpha " PG_MARK(2, 12) "beta gamma</p>"));
  ck_assert_ptr_nonnull(strstr(c1, "<p>delta epsilon</p>"));
  ck_assert_ptr_nonnull(strstr(c1, "<p>" PG_MARK(3, 13) PG_MARK(4, 14) "zeta eta theta</p>"));
  ck_assert_ptr_nonnull(strstr(c1, PG_MARK(5, 15) PG_MARK(6, 16) "<h2 id=\"later\">Later</h2>"));
  ck_assert_ptr_nonnull(strstr(c1, "<p>iota kappa</p>\n" PG_MARK(7, 17)));
  ck_assert_int_eq(count(c1, "doc-pagebreak"), 6);
  ck_assert_ptr_nonnull(strstr(nav, "<nav epub:type=\"page-list\" id=\"page-list\" "
                                    "role=\"doc-pagelist\" aria-label=\"Pages\" hidden=\"hidden\">"));
  ck_assert_ptr_nonnull(strstr(nav, "<li><a href=\"titlepage.xhtml#p1\">11</a></li>\n"
                                    "<li><a href=\"chapter-1.xhtml#p2\">12</a></li>\n"
                                    "<li><a href=\"chapter-1.xhtml#p3\">13</a></li>\n"
                                    "<li><a href=\"chapter-1.xhtml#p4\">14</a></li>\n"
                                    "<li><a href=\"chapter-1.xhtml#p5\">15</a></li>\n"
                                    "<li><a href=\"chapter-1.xhtml#p6\">16</a></li>\n"
                                    "<li><a href=\"chapter-1.xhtml#p7\">17</a></li>\n</ol>"));
  /* EPUB 2 readers: the NCX's pageList, playOrder shared with the headings
   * in reading order (pages 1-6, the heading, page 7) */
  char *ncx = entry(z, len, "OEBPS/toc.ncx", NULL);
  ck_assert_ptr_nonnull(strstr(ncx, "<meta name=\"dtb:totalPageCount\" content=\"7\"/>"));
  ck_assert_ptr_nonnull(strstr(ncx, "<meta name=\"dtb:maxPageNumber\" content=\"17\"/>"));
  ck_assert_ptr_nonnull(strstr(ncx, "<navPoint id=\"np-1\" playOrder=\"7\">"));
  ck_assert_ptr_nonnull(strstr(ncx, "<pageTarget id=\"pt-1\" type=\"normal\" value=\"11\" "
                                    "playOrder=\"1\">\n<navLabel><text>11</text></navLabel>\n"
                                    "<content src=\"titlepage.xhtml#p1\"/>"));
  ck_assert_ptr_nonnull(strstr(ncx, "<pageTarget id=\"pt-6\" type=\"normal\" value=\"16\" "
                                    "playOrder=\"6\">"));
  ck_assert_ptr_nonnull(strstr(ncx, "<pageTarget id=\"pt-7\" type=\"normal\" value=\"17\" "
                                    "playOrder=\"8\">"));
  ck_assert_int_eq(count(ncx, "<pageTarget "), 7);
  free(ncx);
  ck_assert_ptr_nonnull(strstr(opf, "<dc:source id=\"print-source\">urn:uuid:"));
  ck_assert_ptr_nonnull(strstr(opf, "<meta refines=\"#print-source\" property=\"source-of\">"
                                    "pagination</meta>"));
  ck_assert_ptr_nonnull(strstr(opf, ">pageBreakMarkers</meta>"));
  ck_assert_ptr_nonnull(strstr(opf, ">pageNavigation</meta>"));
  assert_saved_valid("paged.epub", z, len);
  free(opf);
  free(nav);
  free(tp);
  free(c1);
  free(z);
  ts_doc_destroy(d);
}
END_TEST

START_TEST(short_paper_one_file) {
  ts_doc *d = ts_doc_create("/nonexistent/short.md");
  heading(d, 1, "only", "Only");
  para(d, d->root, "One chapter.");
  ts_node *p = para(d, d->root, "Link to ");
  add_link(d, p, "#only", "the top");
  add_link(d, p, "#missing", "nowhere");
  add_link(d, p, "javascript:alert(1)", "script");
  para(d, d->root, "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 world"); /* Arabic first: rtl */
  para(d, d->root, "World \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7");  /* Latin first */
  size_t len;
  unsigned char *data = NULL;
  ts_diag diag;
  ts_diag_init(&diag, NULL);
  ck_assert_int_eq(ts_epub_write_mem(ctx, d, style, NULL, &data, &len, &diag), TS_OK);
  char *c1 = entry(data, len, "OEBPS/chapter-1.xhtml", NULL);
  ck_assert_ptr_null(entry(data, len, "OEBPS/chapter-2.xhtml", NULL));
  ck_assert_ptr_nonnull(strstr(c1, "<a href=\"#only\">the top</a>"));
  /* no link to a fragment that does not exist, no javascript: */
  ck_assert_ptr_null(strstr(c1, "missing"));
  ck_assert_ptr_null(strstr(c1, "javascript"));
  ck_assert_ptr_nonnull(strstr(c1, "nowhere"));
  ck_assert_ptr_nonnull(strstr(c1, "<p dir=\"rtl\">\xd9\x85"));
  ck_assert_ptr_nonnull(strstr(c1, "<p>World "));
  ck_assert_int_eq(count(c1, "dir="), 1);
  ck_assert_uint_eq(diag.n_warnings, 2);
  /* no metadata: the title comes from the heading, the date is fixed */
  char *opf = entry(data, len, "OEBPS/package.opf", NULL);
  ck_assert_ptr_nonnull(strstr(opf, "<dc:title id=\"title\">Only</dc:title>"));
  ck_assert_ptr_nonnull(strstr(opf, "<meta property=\"dcterms:modified\">2000-01-01T00:00:00Z</meta>"));
  ck_assert_ptr_nonnull(strstr(opf, "<dc:identifier id=\"pub-id\">urn:uuid:"));
  free(opf);
  free(c1);
  free(data);
  ts_doc_destroy(d);
}
END_TEST

START_TEST(package_metadata) {
  ts_doc *d = hand_doc();
  size_t len;
  unsigned char *z = build(d, style, &len);
  char *opf = entry(z, len, "OEBPS/package.opf", NULL);
  ck_assert_ptr_nonnull(opf);
  ck_assert_int_eq(count(opf, "<dc:title"), 1);
  ck_assert_ptr_nonnull(strstr(opf, ">A Test of Books: Footnotes &amp; Chapters</dc:title>"));
  ck_assert_ptr_nonnull(strstr(opf, "<dc:language>en</dc:language>"));
  ck_assert_ptr_nonnull(strstr(opf, "<dc:creator id=\"creator-1\">Alexander V. Lomanov</dc:creator>"));
  ck_assert_ptr_nonnull(strstr(opf, "scheme=\"marc:relators\">aut</meta>"));
  ck_assert_ptr_nonnull(strstr(opf, "property=\"file-as\">Lomanov, Alexander V.</meta>"));
  ck_assert_ptr_nonnull(strstr(opf, "<dc:subject>China</dc:subject>"));
  ck_assert_ptr_nonnull(strstr(opf, "<dc:date>2018-06-13</dc:date>"));
  /* no SOURCE_DATE_EPOCH: the metadata date */
  ck_assert_ptr_nonnull(strstr(opf, "<meta property=\"dcterms:modified\">2018-06-13T00:00:00Z</meta>"));
  ck_assert_ptr_nonnull(strstr(opf, "<meta property=\"belongs-to-collection\" id=\"series\">Valdai Papers</meta>"));
  ck_assert_ptr_nonnull(strstr(opf, "property=\"group-position\">89</meta>"));
  ck_assert_ptr_nonnull(strstr(opf, "properties=\"nav\""));
  ck_assert_ptr_nonnull(strstr(opf, "media-type=\"image/png\""));
  ck_assert_ptr_nonnull(strstr(opf, "alternativeText"));
  /* the uuid is version 5-like: xxxxxxxx-xxxx-5xxx-[89ab]xxx-xxxxxxxxxxxx */
  const char *u = strstr(opf, "urn:uuid:");
  ck_assert_ptr_nonnull(u);
  u += 9;
  ck_assert_int_eq(u[8], '-');
  ck_assert_int_eq(u[14], '5');
  ck_assert_ptr_nonnull(strchr("89ab", u[19]));
  char *ncx = entry(z, len, "OEBPS/toc.ncx", NULL);
  char uid[64];
  snprintf(uid, sizeof uid, "content=\"urn:uuid:%.36s\"", u);
  ck_assert_ptr_nonnull(strstr(ncx, uid));
  free(ncx);
  free(opf);
  free(z);
  /* SOURCE_DATE_EPOCH wins; 1700000000 is 2023-11-14T22:13:20Z */
  ts_ctx_set_epoch(ctx, 1700000000);
  z = build(d, style, &len);
  opf = entry(z, len, "OEBPS/package.opf", NULL);
  ck_assert_ptr_nonnull(strstr(opf, "<meta property=\"dcterms:modified\">2023-11-14T22:13:20Z</meta>"));
  free(opf);
  free(z);
  /* identifiers given in the metadata */
  d->meta.identifier = "https://doi.org/10.1000/xyz123";
  z = build(d, style, &len);
  opf = entry(z, len, "OEBPS/package.opf", NULL);
  ck_assert_ptr_nonnull(strstr(opf, "<dc:identifier id=\"pub-id\">doi:10.1000/xyz123</dc:identifier>"));
  free(opf);
  free(z);
  d->meta.identifier = "ISBN 978-5-6040-1234-5";
  z = build(d, style, &len);
  opf = entry(z, len, "OEBPS/package.opf", NULL);
  ck_assert_ptr_nonnull(strstr(opf, "<dc:identifier id=\"pub-id\">urn:isbn:9785604012345</dc:identifier>"));
  free(opf);
  free(z);
  ts_doc_destroy(d);
}
END_TEST

START_TEST(title_page) {
  ts_doc *d = hand_doc();
  size_t len;
  unsigned char *z = build(d, style, &len);
  char *tp = entry(z, len, "OEBPS/titlepage.xhtml", NULL);
  ck_assert_ptr_nonnull(tp);
  ck_assert_ptr_nonnull(strstr(tp, "Valdai Papers № 89"));
  ck_assert_ptr_nonnull(strstr(tp, "<h1 class=\"title\">A Test of Books</h1>"));
  ck_assert_ptr_nonnull(strstr(tp, "Footnotes &amp; Chapters"));
  ck_assert_ptr_nonnull(strstr(tp, "<a href=\"https://orcid.org/0000-0003-2676-4271\">"));
  ck_assert_ptr_nonnull(strstr(tp, "<span class=\"author-id\">Scopus AuthorID: 56153472700</span>"));
  ck_assert_ptr_nonnull(strstr(tp, "Doctor of History"));
  ck_assert_ptr_nonnull(strstr(tp, "A short abstract."));
  ck_assert_ptr_nonnull(strstr(tp, "Russia, China"));
  ck_assert_ptr_nonnull(strstr(tp, "lang=\"en\" xml:lang=\"en\""));
  free(tp);
  /* without a cover image and with title-block.epub-cover off, the
   * cover is text: the same title, larger than the title page's and a
   * third of the way down */
  free(z);
  style->epub_cover = 0;
  z = build(d, style, &len);
  style->epub_cover = 1;
  char *cv = entry(z, len, "OEBPS/cover.xhtml", NULL);
  ck_assert_ptr_nonnull(strstr(cv, "<h1 class=\"cover-title\">A Test of Books</h1>"));
  free(cv);
  ck_assert_ptr_null(entry(z, len, "OEBPS/images/cover.png", NULL));
  char *css = entry(z, len, "OEBPS/style.css", NULL);
  double title_em = 0, cover_em = 0;
  const char *r = strstr(css, "h1.title, h1.cover-title {");
  ck_assert_ptr_nonnull(r);
  ck_assert_ptr_nonnull(r = strstr(r, "font-size: "));
  ck_assert_int_eq(sscanf(r, "font-size: %lfem", &title_em), 1);
  ck_assert_ptr_nonnull(r = strstr(css, "h1.cover-title {\nfont-size: "));
  ck_assert_int_eq(sscanf(r, "h1.cover-title {\nfont-size: %lfem", &cover_em), 1);
  ck_assert_double_eq_tol(cover_em, title_em * 1.25, 0.002);
  ck_assert_ptr_nonnull(strstr(r, "margin: 30% 0 0.4em 0;"));
  /* an identifier never wraps between its label and its number */
  ck_assert_ptr_nonnull(strstr(css, ".author-id {\nmargin-right: 1em;\nwhite-space: nowrap;\n}"));
  free(css);
  free(z);
  /* level-1 headings in the accent colour (the paper style): the title,
   * an h1 too, keeps the body's colour as on the PDF's first page */
  uint32_t was = style->h[0].b.color;
  style->h[0].b.color = 0x8A1C1C;
  z = build(d, style, &len);
  style->h[0].b.color = was;
  css = entry(z, len, "OEBPS/style.css", NULL);
  ck_assert_ptr_nonnull(r = strstr(css, "\nh1 {\n"));
  ck_assert_ptr_nonnull(strstr(r, "color: #8A1C1C;\n"));
  ck_assert(strstr(r, "color: #8A1C1C;\n") < strstr(r, "}"));
  ck_assert_ptr_nonnull(r = strstr(css, "h1.title, h1.cover-title {"));
  ck_assert_ptr_nonnull(strstr(r, "color: inherit;\n"));
  ck_assert(strstr(r, "color: inherit;\n") < strstr(r, "}"));
  free(css);
  free(z);
  ts_doc_destroy(d);
}
END_TEST

START_TEST(words_and_epubcheck_hand) {
  ts_doc *d = hand_doc();
  size_t len;
  unsigned char *z = build(d, style, &len);
  ts_buf all;
  ts_buf_init(&all);
  for (int i = 1; i <= 2; i++) {
    char name[64];
    snprintf(name, sizeof name, "OEBPS/chapter-%d.xhtml", i);
    char *x = entry(z, len, name, NULL);
    ck_assert_ptr_nonnull(x);
    strip_xhtml(x, &all);
    free(x);
  }
  /* the check must be able to fail */
  ck_assert(!words_in_order("Method Introduction", all.data, 1) ||
            strstr(all.data, "Introduction") > strstr(all.data, "Method"));
  words_and_valid(hand_words, all.data, "hand.epub", z, len);
  ts_buf_free(&all);
  free(z);
  ts_doc_destroy(d);
}
END_TEST

START_TEST(missing_image_is_located_error) {
  ts_doc *d = hand_doc();
  ts_node *fig = add(d, d->root, TS_NODE_FIGURE);
  fig->url = "no-such.png";
  fig->alt = "x";
  ts_node *fig2 = add(d, d->root, TS_NODE_FIGURE);
  fig2->url = "../../etc/passwd";
  fig2->alt = "y";
  unsigned char *data = NULL;
  size_t len = 0;
  ts_diag diag;
  ts_diag_init(&diag, NULL);
  ck_assert_int_eq(ts_epub_write_mem(ctx, d, style, NULL, &data, &len, &diag), TS_ERR_INPUT);
  ck_assert_ptr_null(data);
  ck_assert_uint_eq(diag.n_errors, 2);
  char want[600];
  snprintf(want, sizeof want, "%s/paper.md:%u:1: error: image 'no-such.png'", tmpdir,
           (unsigned)fig->line);
  ck_assert_msg(strstr(diag.first_error, want), "%s", diag.first_error);
  ts_doc_destroy(d);
}
END_TEST

START_TEST(deep_nesting) {
  ts_doc *d = ts_doc_create("/nonexistent/deep.md");
  ts_node *parent = d->root;
  for (int i = 0; i < 5000; i++) parent = add(d, parent, TS_NODE_BLOCKQUOTE);
  para(d, parent, "Deep.");
  size_t len;
  unsigned char *z = build(d, style, &len);
  char *c1 = entry(z, len, "OEBPS/chapter-1.xhtml", NULL);
  ck_assert_int_eq(count(c1, "<blockquote>"), 5000);
  ck_assert_int_eq(count(c1, "</blockquote>"), 5000);
  free(c1);
  free(z);
  ts_doc_destroy(d);
}
END_TEST

/* Markdown samples through the real front end. */
static const char *const samples[] = {
    "samples/not-to-disappear-one-by-one.md",
    "samples/grain-corridors.md",
    "samples/arctic-shipping.md",
    "samples/multilingual.md",
    "samples/shared-rivers.md",
};

START_TEST(markdown_samples) {
  char path[1024];
  const char *root = getenv("TYPESET_DATA_DIR");
  snprintf(path, sizeof path, "%s/%s", root ? root : TS_DATA_DIR, samples[_i]);
  ts_diag diag;
  ts_diag_init(&diag, stderr);
  ts_doc *d = NULL;
  ck_assert_int_eq(ts_markdown_parse_file(ctx, path, &diag, &d), TS_OK);
  size_t len;
  unsigned char *z = build(d, style, &len);
  /* every word of the body, in order, in the chapters' text */
  ts_buf want, have;
  ts_buf_init(&want);
  ts_buf_init(&have);
  ts_node_plain_text(d->root, &want);
  for (int i = 1;; i++) {
    char name[64];
    snprintf(name, sizeof name, "OEBPS/chapter-%d.xhtml", i);
    char *x = entry(z, len, name, NULL);
    if (!x) break;
    strip_xhtml(x, &have);
    free(x);
  }
  ck_assert(words_in_order(want.data, have.data, 0));
  ts_buf_free(&want);
  ts_buf_free(&have);
  char name[64];
  snprintf(name, sizeof name, "sample-%d.epub", _i);
  save(name, z, len, path, sizeof path);
  ck_assert(epubcheck_clean(path));
  free(z);
  ts_doc_destroy(d);
}
END_TEST


/* Markdown with two level-1 headings: two chapter files, links rewritten
 * across the split, a cover image from the metadata. */
START_TEST(markdown_book_split) {
  make_tmpdir();
  char path[512];
  /* a PNG named .jpg: the media type comes from the bytes */
  snprintf(path, sizeof path, "%s/cover.jpg", tmpdir);
  write_file(path, png1, sizeof png1);
  snprintf(path, sizeof path, "%s/book.md", tmpdir);
  static const char md[] =
      "---\ntitle: Two Chapters\nlang: ru\ncover-image: cover.jpg\n---\n\n"
      "# Первая глава\n\nSee [the second](#second-chapter) and a note.[^a]\n\n"
      "[^a]: The note.\n\n"
      "# Second Chapter\n\nBack to [the first](#первая-глава).\n";
  ts_diag diag;
  ts_diag_init(&diag, stderr);
  ts_doc *d = NULL;
  ck_assert_int_eq(ts_markdown_parse(ctx, path, md, sizeof md - 1, &diag, &d), TS_OK);
  size_t len;
  unsigned char *z = build(d, style, &len);
  char *c1 = entry(z, len, "OEBPS/chapter-1.xhtml", NULL);
  char *c2 = entry(z, len, "OEBPS/chapter-2.xhtml", NULL);
  ck_assert_ptr_nonnull(c1);
  ck_assert_ptr_nonnull(c2);
  ck_assert_ptr_nonnull(strstr(c1, "<a href=\"chapter-2.xhtml#second-chapter\">the second</a>"));
  ck_assert_ptr_nonnull(strstr(c2, "<h1 id=\"second-chapter\">"));
  /* a non-ASCII identifier gets a plain one; the link follows it */
  const char *h1 = strstr(c1, "<h1 id=\"");
  ck_assert_ptr_nonnull(h1);
  char id[64];
  ck_assert_int_eq(sscanf(h1 + 8, "%63[^\"]", id), 1);
  char want[128];
  snprintf(want, sizeof want, "href=\"chapter-1.xhtml#%s\"", id);
  ck_assert_msg(strstr(c2, want), "%s", c2);
  ck_assert_ptr_nonnull(strstr(c1, "lang=\"ru\" xml:lang=\"ru\""));
  ck_assert_ptr_nonnull(strstr(c1, "id=\"n1\""));
  char *opf = entry(z, len, "OEBPS/package.opf", NULL);
  ck_assert_ptr_nonnull(strstr(opf, "href=\"images/cover.png\" media-type=\"image/png\" properties=\"cover-image\""));
  ck_assert_ptr_nonnull(strstr(opf, "<dc:language>ru</dc:language>"));
  char *cover = entry(z, len, "OEBPS/cover.xhtml", NULL);
  ck_assert_ptr_nonnull(strstr(cover, "<img src=\"images/cover.png\" alt=\"Two Chapters\"/>"));
  free(cover);
  free(opf);
  free(c1);
  free(c2);
  save("book.epub", z, len, path, sizeof path);
  ck_assert(epubcheck_clean(path));
  free(z);
  ts_doc_destroy(d);
}
END_TEST

/* What the print edition sets apart is set apart in the e-book too: a
 * table's caption paragraph becomes the table's <caption> (with its note
 * reference in order), a block quote's closing "— source" is flush right,
 * an address shown as text may break after its separators (<wbr/>) and is
 * not hyphenated, and a chapter's notes have one rule above them. */
START_TEST(print_conventions) {
  static const char md[] =
      "---\ntitle: Conventions\n---\n\n"
      "Routes compared below.\n\n"
      "**Table 1.** Sea routes[^a] compared\n\n"
      "| Route | Season |\n|---|---|\n| North | July |\n\n"
      "Table 2 is not a caption: no table follows.\n\n"
      "> The first paragraph of the quotation.\n>\n> \xE2\x80\x94 A Convention, Article 1\n\n"
      "> \xE2\x80\x94 A lone dash paragraph is the quotation itself.\n\n"
      "See <https://example.org/a/b?x=1> and [the site](https://example.org/).[^b]\n\n"
      "[^a]: First note.\n[^b]: Second note.\n";
  ts_diag diag;
  ts_diag_init(&diag, stderr);
  ts_doc *d = NULL;
  ck_assert_int_eq(ts_markdown_parse(ctx, "/nonexistent/c.md", md, sizeof md - 1, &diag, &d), TS_OK);
  size_t len;
  unsigned char *z = build(d, style, &len);
  char *c = entry(z, len, "OEBPS/chapter-1.xhtml", NULL);
  ck_assert_ptr_nonnull(c);
  ck_assert_msg(strstr(c, "<table>\n<caption><strong>Table 1.</strong> Sea routes<a ") != NULL,
                "%s", c);
  ck_assert_ptr_nonnull(strstr(c, "</a> compared</caption>\n<thead>"));
  ck_assert_int_eq(count(c, "<caption"), 1);
  ck_assert_ptr_null(strstr(c, "<p><strong>Table 1."));
  ck_assert_ptr_nonnull(strstr(c, "<p>Table 2 is not a caption"));
  ck_assert_ptr_nonnull(strstr(c, "<p class=\"source\">\xE2\x80\x94 A Convention, Article 1</p>"));
  ck_assert_int_eq(count(c, "class=\"source\""), 1);
  ck_assert_ptr_nonnull(strstr(c, "<a class=\"url\" href=\"https://example.org/a/b?x=1\">"
                                  "https://<wbr/>example.<wbr/>org/<wbr/>a/<wbr/>b?<wbr/>x=<wbr/>1</a>"));
  ck_assert_ptr_nonnull(strstr(c, "<a href=\"https://example.org/\">the site</a>"));
  /* the notes follow the references in order: the caption's first */
  const char *n1 = strstr(c, "id=\"n1\""), *n2 = strstr(c, "id=\"n2\"");
  ck_assert(n1 && n2 && n1 < n2);
  ck_assert_ptr_nonnull(strstr(n1, "First note."));
  char *css = entry(z, len, "OEBPS/style.css", NULL);
  ck_assert_ptr_nonnull(strstr(css, "body.chapter p.source {\ntext-align: right;\ntext-indent: 0;\n}"));
  ck_assert_ptr_nonnull(strstr(css, "caption {\ncaption-side: top;\ntext-align: left;\ntext-indent: 0;\n"));
  ck_assert_ptr_nonnull(strstr(css, "a.url {\n-webkit-hyphens: manual;"));
  ck_assert_ptr_nonnull(strstr(css, "aside.footnote + aside.footnote {\nborder-top: 0;"));
  /* every word still comes back in order from the text */
  ts_buf want, have;
  ts_buf_init(&want);
  ts_buf_init(&have);
  ts_node_plain_text(d->root, &want);
  strip_xhtml(c, &have);
  words_and_valid(want.data, have.data, "conventions.epub", z, len);
  ts_buf_free(&want);
  ts_buf_free(&have);
  free(css);
  free(c);
  free(z);
  ts_doc_destroy(d);
}
END_TEST

/* The embedded fonts are subsets: they map the book's characters and not
 * others (the hand-made book is English: no Cyrillic). */
START_TEST(fonts_are_subsets) {
  ts_doc *d = hand_doc();
  size_t len;
  unsigned char *z = build(d, style, &len);
  char *opf = entry(z, len, "OEBPS/package.opf", NULL);
  const char *item = strstr(opf, "href=\"fonts/body-regular.");
  /* the set-up script installs the style's body font: a missing one fails */
  ck_assert_msg(item != NULL, "the default style's body font is embedded (fonts-linuxlibertine)");
  ck_assert(strstr(item, "media-type=\"font/otf\"") || strstr(item, "media-type=\"font/ttf\""));
  char name[128];
  ck_assert_int_eq(sscanf(item + 6, "%127[^\"]", name), 1);
  char full[160];
  snprintf(full, sizeof full, "OEBPS/%s", name);
  size_t flen = 0;
  char *font = entry(z, len, full, &flen);
  ck_assert_ptr_nonnull(font);
  hb_blob_t *blob = hb_blob_create(font, (unsigned)flen, HB_MEMORY_MODE_READONLY, NULL, NULL);
  hb_face_t *face = hb_face_create(blob, 0);
  hb_font_t *hf = hb_font_create(face);
  hb_codepoint_t g;
  ck_assert(hb_font_get_nominal_glyph(hf, 'W', &g));   /* "web site" */
  ck_assert(hb_font_get_nominal_glyph(hf, '&', &g));
  ck_assert(!hb_font_get_nominal_glyph(hf, 0x0416, &g)); /* Ж is not in the book */
  ck_assert_uint_lt(hb_face_get_glyph_count(face), 400);
  hb_font_destroy(hf);
  hb_face_destroy(face);
  hb_blob_destroy(blob);
  char *css = entry(z, len, "OEBPS/style.css", NULL);
  char url[200];
  snprintf(url, sizeof url, "src: url(%s);", name);
  ck_assert_ptr_nonnull(strstr(css, url));
  ck_assert_ptr_null(strstr(css, "--"));
  ck_assert_ptr_null(strstr(css, "var("));
  ck_assert_ptr_null(strstr(css, "calc("));
  free(css);
  free(font);
  free(opf);
  free(z);
  ts_doc_destroy(d);
}
END_TEST


/* The body font's entry of an EPUB in memory (owned, free()), or NULL when
 * the machine lacks the style's body font. */
static char *body_font(const unsigned char *z, size_t len, size_t *flen) {
  char *opf = entry(z, len, "OEBPS/package.opf", NULL);
  ck_assert_ptr_nonnull(opf);
  const char *item = strstr(opf, "href=\"fonts/body-regular.");
  char *font = NULL;
  if (item) {
    char name[128], full[160];
    ck_assert_int_eq(sscanf(item + 6, "%127[^\"]", name), 1);
    snprintf(full, sizeof full, "OEBPS/%s", name);
    font = entry(z, len, full, flen);
    ck_assert_ptr_nonnull(font);
  }
  free(opf);
  return font;
}

static int font_has(const char *font, size_t flen, hb_codepoint_t cp) {
  hb_blob_t *blob = hb_blob_create(font, (unsigned)flen, HB_MEMORY_MODE_READONLY, NULL, NULL);
  hb_face_t *face = hb_face_create(blob, 0);
  hb_font_t *hf = hb_font_create(face);
  hb_codepoint_t g;
  int has = hb_font_get_nominal_glyph(hf, cp, &g);
  hb_font_destroy(hf);
  hb_face_destroy(face);
  hb_blob_destroy(blob);
  return has;
}

/* 1 if the font's GSUB or GPOS lists the feature. */
static int font_feature(const char *font, size_t flen, hb_tag_t tag) {
  hb_blob_t *blob = hb_blob_create(font, (unsigned)flen, HB_MEMORY_MODE_READONLY, NULL, NULL);
  hb_face_t *face = hb_face_create(blob, 0);
  int has = 0;
  static const hb_tag_t tables[2] = {HB_OT_TAG_GSUB, HB_OT_TAG_GPOS};
  for (int t = 0; t < 2 && !has; t++) {
    hb_tag_t tags[256];
    unsigned n = 256;
    hb_ot_layout_table_get_feature_tags(face, tables[t], 0, &n, tags);
    for (unsigned i = 0; i < n; i++) has |= tags[i] == tag;
  }
  hb_face_destroy(face);
  hb_blob_destroy(blob);
  return has;
}

/* The subsets keep the layout features the book's CSS can switch on:
 * HarfBuzz's default set (ligatures, kerning) always, old-style figures
 * only when the style's font-feature-settings ask for them (Linux
 * Libertine has 'onum'; the default style asks for no feature). */
/* Lists and quotations are set as the print edition sets them: a list's
 * size and leading, alignment and hyphenation, a quotation's alignment come
 * from the style's blocks. */
START_TEST(list_css_from_style) {
  ts_doc *d = hand_doc();
  size_t l1, l2;
  ts_block_style saved = style->list;
  style->list.align = TS_JUSTIFY;
  style->list.size = style->body.size * 0.9;
  style->list.leading = style->list.size * 1.25;
  unsigned char *a = build(d, style, &l1);
  style->list.align = TS_RAGGED_RIGHT;
  ts_align qa = style->quote.align;
  style->quote.align = TS_CENTER;
  unsigned char *b = build(d, style, &l2);
  style->list = saved;
  style->quote.align = qa;
  char *ca = entry(a, l1, "OEBPS/style.css", NULL), *cb = entry(b, l2, "OEBPS/style.css", NULL);
  ck_assert_ptr_nonnull(strstr(ca, "li, li p {\ntext-align: justify;\n"));
  ck_assert_ptr_nonnull(strstr(cb, "li, li p {\ntext-align: left;\n"));
  ck_assert_ptr_nonnull(strstr(cb, "blockquote p {\ntext-align: center;\n"));
  const char *ul = strstr(ca, "ul, ol {\n");
  ck_assert_ptr_nonnull(ul);
  const char *end = strchr(ul, '}');
  const char *fs = strstr(ul, "font-size: 0.9em;\n"), *lh = strstr(ul, "line-height: 1.25;\n");
  ck_assert_msg(fs && fs < end && lh && lh < end, "list size and leading in the ul, ol rule");
  free(ca);
  free(cb);
  free(a);
  free(b);
  ts_doc_destroy(d);
}
END_TEST

START_TEST(font_features_kept) {
  ts_doc *d = hand_doc();
  size_t l1, l2, f1, f2;
  unsigned char *a = build(d, style, &l1);
  const char *saved = style->fonts[TS_ROLE_BODY].features;
  style->fonts[TS_ROLE_BODY].features = "onum";
  unsigned char *b = build(d, style, &l2);
  style->fonts[TS_ROLE_BODY].features = saved;
  char *fa = body_font(a, l1, &f1), *fb = body_font(b, l2, &f2);
  ck_assert_msg(fa && fb, "the default style's body font is embedded (fonts-linuxlibertine)");
  ck_assert(font_feature(fa, f1, HB_TAG('l', 'i', 'g', 'a')));
  ck_assert(font_feature(fa, f1, HB_TAG('k', 'e', 'r', 'n')));
  ck_assert(!font_feature(fa, f1, HB_TAG('o', 'n', 'u', 'm')));
  ck_assert(font_feature(fb, f2, HB_TAG('o', 'n', 'u', 'm')));
  ck_assert(font_feature(fb, f2, HB_TAG('l', 'i', 'g', 'a')));
  char *css = entry(b, l2, "OEBPS/style.css", NULL);
  ck_assert_ptr_nonnull(strstr(css, "\"onum\""));
  free(css);
  free(fa);
  free(fb);
  free(a);
  free(b);
  ts_doc_destroy(d);
}
END_TEST

static void assert_same(const unsigned char *a, size_t la, const unsigned char *b, size_t lb) {
  ck_assert_uint_eq(la, lb);
  ck_assert_int_eq(memcmp(a, b, la), 0);
}

/* The series-wide subset cache (context slot TS_SLOT_EPUB): the same book
 * again in the same context takes every subset from the cache and gives the
 * same bytes; a book with another character (Ж) makes its own subsets, which
 * have it while the first book's still lack it; and a fresh context (no
 * cache history) gives both books the same bytes again. */
START_TEST(subset_cache) {
  ts_doc *d = hand_doc();
  ts_doc *d2 = hand_doc();
  para(d2, d2->root, "Жизнь.");
  uint64_t h0, m0, h1, m1, h2, m2;
  size_t held, l1, l2, l3, l4, l5, l6, fl;
  unsigned char *a = build(d, style, &l1);
  epub_font_cache_stats(ctx, &h0, &m0, &held);
  char *font = body_font(a, l1, &fl);
  ck_assert_msg(font != NULL, "the default style's body font is embedded (fonts-linuxlibertine)");
  ck_assert(!font_has(font, fl, 0x0416));
  free(font);
  ck_assert_uint_eq(h0, 0);
  ck_assert_uint_gt(m0, 0);
  ck_assert_uint_gt(held, 0);
  /* a hit: no new subset, same bytes */
  unsigned char *a2 = build(d, style, &l2);
  epub_font_cache_stats(ctx, &h1, &m1, &held);
  ck_assert_uint_eq(m1, m0);
  ck_assert_uint_eq(h1, m0);
  assert_same(a, l1, a2, l2);
  /* another set: new subsets, no collision with the cached ones */
  unsigned char *c = build(d2, style, &l3);
  epub_font_cache_stats(ctx, &h2, &m2, &held);
  ck_assert_uint_gt(m2, m1);
  font = body_font(c, l3, &fl);
  ck_assert_ptr_nonnull(font);
  ck_assert(font_has(font, fl, 0x0416));
  free(font);
  unsigned char *a3 = build(d, style, &l4);
  assert_same(a, l1, a3, l4);
  /* a fresh context gives the same bytes, whatever was built before */
  ts_ctx *shared = ctx;
  ctx = ts_ctx_create();
  ck_assert_ptr_nonnull(ctx);
  unsigned char *c2 = build(d2, style, &l5);
  unsigned char *a4 = build(d, style, &l6);
  ts_ctx_destroy(ctx);
  ctx = shared;
  assert_same(c, l3, c2, l5);
  assert_same(a, l1, a4, l6);
  free(a);
  free(a2);
  free(a3);
  free(a4);
  free(c);
  free(c2);
  ts_doc_destroy(d);
  ts_doc_destroy(d2);
}
END_TEST

/* The subsets on disk (TYPESET_CACHE_DIR): a book built in a fresh
 * context writes its subsets there; the next fresh context reads them
 * (each file it uses is touched) and gives the same bytes; damaged files
 * (truncated, a byte changed) are misses that give the same bytes again and
 * are rewritten whole; with TYPESET_CACHE_DIR=off nothing is read or
 * written; and the folder is pruned when it holds too many subsets. */
static unsigned char *build_fresh(const ts_doc *d, size_t *len) {
  ts_ctx *shared = ctx;
  ctx = ts_ctx_create();
  ck_assert_ptr_nonnull(ctx);
  unsigned char *r = build(d, style, len);
  ts_ctx_destroy(ctx);
  ctx = shared;
  return r;
}

START_TEST(subset_disk_cache) {
  make_tmpdir();
  char dir[400];
  snprintf(dir, sizeof dir, "%s/cache", tmpdir);
  const char *was = getenv("TYPESET_CACHE_DIR");
  char *saved = was ? strdup(was) : NULL;
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", dir, 1), 0);
  ts_doc *d = hand_doc();
  size_t l0, l1, l2, l3, l4;
  /* cold: the subsets are made and written */
  unsigned char *a = build_fresh(d, &l0);
  char names[64][64];
  size_t n = ts_test_cache_files(dir, "epubfont-", names, 64, NULL);
  ck_assert_uint_gt(n, 0);
  /* warm: read back (the same files: not rewritten, but touched), the
   * same bytes */
  ts_test_cache_age(dir, "epubfont-");
  ino_t ino[64];
  for (size_t i = 0; i < n; i++) {
    char p[600];
    struct stat st;
    snprintf(p, sizeof p, "%.500s/%.63s", dir, names[i]);
    ck_assert_int_eq(stat(p, &st), 0);
    ino[i] = st.st_ino;
  }
  time_t oldest;
  unsigned char *b = build_fresh(d, &l1);
  ck_assert_uint_eq(ts_test_cache_files(dir, "epubfont-", NULL, 0, &oldest), n);
  ck_assert_msg(oldest > 978307200, "a subset file was not used");
  for (size_t i = 0; i < n; i++) {
    char p[600];
    struct stat st;
    snprintf(p, sizeof p, "%.500s/%.63s", dir, names[i]);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_msg(st.st_ino == ino[i], "%s was made again, not read", names[i]);
  }
  assert_same(a, l0, b, l1);
  /* damaged: one truncated, one with a byte changed — misses, rewritten */
  char p0[600], p1[600];
  struct stat s0, s1;
  snprintf(p0, sizeof p0, "%s/%s", dir, names[0]);
  snprintf(p1, sizeof p1, "%s/%s", dir, names[n > 1 ? 1 : 0]);
  ck_assert_int_eq(stat(p0, &s0), 0);
  ck_assert_int_eq(stat(p1, &s1), 0);
  ck_assert_int_eq(truncate(p0, s0.st_size / 2), 0);
  if (n > 1) ts_test_flip_byte(p1);
  unsigned char *c = build_fresh(d, &l2);
  assert_same(a, l0, c, l2);
  struct stat r0, r1;
  ck_assert_int_eq(stat(p0, &r0), 0);
  ck_assert_int_eq(stat(p1, &r1), 0);
  ck_assert_int_eq(r0.st_size, s0.st_size);
  ck_assert_int_eq(r1.st_size, s1.st_size);
  /* off: the same bytes, nothing touched */
  ts_test_cache_age(dir, "epubfont-");
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", "off", 1), 0);
  unsigned char *e = build_fresh(d, &l3);
  assert_same(a, l0, e, l3);
  ck_assert_uint_eq(ts_test_cache_files(dir, "epubfont-", NULL, 0, &oldest), n);
  ck_assert_int_eq(oldest, 978307200);
  /* pruned: 600 old files, and a book with other characters writes new
   * subsets: the folder shrinks to its bound and keeps the newest */
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", dir, 1), 0);
  for (int i = 0; i < 600; i++) {
    char p[600];
    snprintf(p, sizeof p, "%s/epubfont-old%04d.bin", dir, i);
    write_file(p, "x", 1);
    struct timespec t[2] = {{978307200 - 600 + i, 0}, {978307200 - 600 + i, 0}};
    ck_assert_int_eq(utimensat(AT_FDCWD, p, t, 0), 0);
  }
  ts_doc *d2 = hand_doc();
  para(d2, d2->root, "\xd0\x96\xd0\xb8\xd0\xb7\xd0\xbd\xd1\x8c.");
  unsigned char *f = build_fresh(d2, &l4);
  size_t left = ts_test_cache_files(dir, "epubfont-", NULL, 0, NULL);
  ck_assert_msg(left <= 400 && left >= 384, "%zu subset files left", left);
  char newest[600];
  snprintf(newest, sizeof newest, "%s/epubfont-old0599.bin", dir);
  ck_assert_int_eq(access(newest, F_OK), 0);
  snprintf(newest, sizeof newest, "%s/epubfont-old0000.bin", dir);
  ck_assert_int_ne(access(newest, F_OK), 0);
  if (saved) setenv("TYPESET_CACHE_DIR", saved, 1);
  else unsetenv("TYPESET_CACHE_DIR");
  free(saved);
  free(a);
  free(b);
  free(c);
  free(e);
  free(f);
  ts_doc_destroy(d);
  ts_doc_destroy(d2);
}
END_TEST

/* No metadata, no body, no diagnostics sink: still a valid EPUB. */
START_TEST(empty_document) {
  ts_doc *d = ts_doc_create("/nonexistent/empty.md");
  ck_assert_ptr_nonnull(d);
  unsigned char *z = NULL;
  size_t len = 0;
  ck_assert_int_eq(ts_epub_write_mem(ctx, d, NULL, NULL, &z, &len, NULL), TS_OK);
  char *opf = entry(z, len, "OEBPS/package.opf", NULL);
  ck_assert_ptr_nonnull(strstr(opf, "<dc:title id=\"title\">empty.md</dc:title>"));
  /* no image in the text, the drawn cover (alt: the title): visual, with alternatives */
  ck_assert_ptr_nonnull(strstr(opf, "properties=\"cover-image\""));
  ck_assert_ptr_nonnull(strstr(opf, "<meta property=\"schema:accessMode\">visual</meta>"));
  ck_assert_ptr_nonnull(strstr(opf, "alternativeText"));
  free(opf);
  assert_saved_valid("empty.epub", z, len);
  free(z);
  ts_doc_destroy(d);
}
END_TEST


START_TEST(numbered_headings) {
  ts_doc *d = hand_doc();
  style->h[0].numbered = 1;
  style->h[1].numbered = 1;
  size_t len;
  unsigned char *z = build(d, style, &len);
  char *c1 = entry(z, len, "OEBPS/chapter-1.xhtml", NULL);
  char *c2 = entry(z, len, "OEBPS/chapter-2.xhtml", NULL);
  char *nav = entry(z, len, "OEBPS/nav.xhtml", NULL);
  ck_assert_ptr_nonnull(strstr(c1, "<h1 id=\"introduction\"><span class=\"secnum\">1</span> Introduction</h1>"));
  ck_assert_ptr_nonnull(strstr(c1, "<h2 id=\"background\"><span class=\"secnum\">1.1</span> Background</h2>"));
  ck_assert_ptr_nonnull(strstr(c2, "<h1 id=\"method\"><span class=\"secnum\">2</span> Method</h1>"));
  ck_assert_ptr_nonnull(strstr(nav, ">1.1 Background</a>"));
  free(nav);
  free(c1);
  free(c2);
  free(z);
  ts_doc_destroy(d);
}
END_TEST


/* Truncated or corrupt images are refused with a located error (epubcheck
 * would report them as PKG-021). */
static const struct {
  const char *name;
  size_t cut;   /* bytes removed from the end of the 1x1 PNG */
  int flip;     /* index of a byte to change (-1: none) */
  int jpeg;     /* use the JPEG fixture instead */
} bad_images[] = {
    {"truncated.png", 12, -1, 0},
    {"badcrc.png", 0, 43, 0},
    {"cut-header.jpg", 0, -1, 1},
};

START_TEST(corrupt_images_refused) {
  make_tmpdir();
  /* SOI, then a frame header (SOF0) cut in the middle */
  static const unsigned char jpeg_cut[] = {0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 1};
  unsigned char buf[sizeof png1];
  char path[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, bad_images[_i].name);
  if (bad_images[_i].jpeg) {
    write_file(path, jpeg_cut, sizeof jpeg_cut);
  } else {
    memcpy(buf, png1, sizeof png1);
    if (bad_images[_i].flip >= 0) buf[bad_images[_i].flip] ^= 0x55;
    write_file(path, buf, sizeof png1 - bad_images[_i].cut);
  }
  snprintf(path, sizeof path, "%s/paper.md", tmpdir);
  ts_doc *d = ts_doc_create(path);
  para(d, d->root, "Before.");
  ts_node *fig = add(d, d->root, TS_NODE_FIGURE);
  fig->url = bad_images[_i].name;
  fig->alt = "broken";
  unsigned char *z = NULL;
  size_t len = 0;
  ts_diag diag;
  ts_diag_init(&diag, NULL);
  ck_assert_int_eq(ts_epub_write_mem(ctx, d, style, NULL, &z, &len, &diag), TS_ERR_INPUT);
  ck_assert_ptr_null(z);
  char want[600];
  snprintf(want, sizeof want, "%s/paper.md:%u:1: error: image '%s': ", tmpdir,
           (unsigned)fig->line, bad_images[_i].name);
  ck_assert_msg(strstr(diag.first_error, want), "%s", diag.first_error);
  ts_doc_destroy(d);
}
END_TEST


/* CRC-32 as PNG chunks carry it (ISO 3309), bit by bit. */
static uint32_t crc_png(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

static size_t png_chunk(unsigned char *o, const char *type, const unsigned char *d, uint32_t n) {
  o[0] = (unsigned char)(n >> 24), o[1] = (unsigned char)(n >> 16);
  o[2] = (unsigned char)(n >> 8), o[3] = (unsigned char)n;
  memcpy(o + 4, type, 4);
  if (n) memcpy(o + 8, d, n);
  uint32_t c = crc_png(o + 4, (size_t)n + 4);
  o[8 + n] = (unsigned char)(c >> 24), o[9 + n] = (unsigned char)(c >> 16);
  o[10 + n] = (unsigned char)(c >> 8), o[11 + n] = (unsigned char)c;
  return 12 + (size_t)n;
}

/* Images whose header claims more pixels than TS_IMAGE_FITS allows are
 * refused as the PDF refuses them (an e-book reader would have to decode
 * them); one at exactly the limit is copied.  Sides in pixels. */
static const struct {
  const char *name;
  unsigned w, h;
  int ok;
} sized_images[] = {
    {"wide.png", 20001, 10, 0},   {"many.png", 15000, 15000, 0}, {"limit.png", 20000, 5000, 1},
    {"wide.jpg", 30000, 8, 0},    {"limit.jpg", 5000, 20000, 1}, {"wide.gif", 40000, 2, 0},
    {"limit.gif", 20000, 20, 1},  {"frame.gif", 30000, 2, 0},    {"frame-ok.gif", 20000, 3, 1},
};

START_TEST(huge_images_refused) {
  make_tmpdir();
  unsigned w = sized_images[_i].w, h = sized_images[_i].h;
  const char *name = sized_images[_i].name, *ext = strrchr(name, '.');
  unsigned char f[256];
  size_t n = 0;
  if (!strcmp(ext, ".png")) { /* header and a token IDAT: only the structure is read */
    static const unsigned char idat[] = {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};
    unsigned char ihdr[13] = {(unsigned char)(w >> 24), (unsigned char)(w >> 16),
                              (unsigned char)(w >> 8), (unsigned char)w,
                              (unsigned char)(h >> 24), (unsigned char)(h >> 16),
                              (unsigned char)(h >> 8), (unsigned char)h, 1, 0, 0, 0, 0};
    memcpy(f, "\x89PNG\r\n\x1a\n", 8);
    n = 8;
    n += png_chunk(f + n, "IHDR", ihdr, 13);
    n += png_chunk(f + n, "IDAT", idat, sizeof idat);
    n += png_chunk(f + n, "IEND", NULL, 0);
  } else if (!strcmp(ext, ".jpg")) { /* SOI, SOF0 (grey), SOS, a byte, EOI */
    const unsigned char j[] = {0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, (unsigned char)(h >> 8),
                               (unsigned char)h, (unsigned char)(w >> 8), (unsigned char)w, 1,
                               1, 0x11, 0, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0, 0, 0xFF, 0xD9};
    memcpy(f, j, sizeof j);
    n = sizeof j;
  } else { /* GIF89a: screen, no colour table, an image w x h with no data,
              * trailer; frame*.gif on a 10 x 10 screen (readers decode
              * every image, so each is held to the limit) */
    unsigned sw = strncmp(name, "frame", 5) ? w : 10, sh = strncmp(name, "frame", 5) ? h : 10;
    const unsigned char g[] = {'G', 'I', 'F', '8', '9', 'a', (unsigned char)sw,
                               (unsigned char)(sw >> 8), (unsigned char)sh,
                               (unsigned char)(sh >> 8), 0, 0, 0,
                               ',', 0, 0, 0, 0, (unsigned char)w, (unsigned char)(w >> 8),
                               (unsigned char)h, (unsigned char)(h >> 8), 0, 2, 0, 0x3B};
    memcpy(f, g, sizeof g);
    n = sizeof g;
  }
  char path[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  write_file(path, f, n);
  snprintf(path, sizeof path, "%s/paper.md", tmpdir);
  ts_doc *d = ts_doc_create(path);
  para(d, d->root, "Before.");
  ts_node *fig = add(d, d->root, TS_NODE_FIGURE);
  fig->url = name;
  fig->alt = "sized";
  unsigned char *z = NULL;
  size_t len = 0;
  ts_diag diag;
  ts_diag_init(&diag, NULL);
  ts_status st = ts_epub_write_mem(ctx, d, style, NULL, &z, &len, &diag);
  if (sized_images[_i].ok) {
    ck_assert_msg(st == TS_OK, "%s: %s", name, diag.first_error ? diag.first_error : "");
  } else {
    ck_assert_int_eq(st, TS_ERR_INPUT);
    ck_assert_ptr_null(z);
    char want[600];
    snprintf(want, sizeof want, "%s/paper.md:%u:1: error: image '%s': too large", tmpdir,
             (unsigned)fig->line, name);
    ck_assert_msg(diag.first_error && strstr(diag.first_error, want), "%s",
                  diag.first_error ? diag.first_error : "(no error)");
  }
  free(z);
  ts_doc_destroy(d);
}
END_TEST

/* The generated cover (epub/cover.c): decodes the book's images/cover.png
 * to RGB (owned, free()), checking its size. */
static unsigned char *cover_rgb(const unsigned char *z, size_t len) {
  size_t plen = 0;
  char *p = entry(z, len, "OEBPS/images/cover.png", &plen);
  ck_assert_ptr_nonnull(p);
  png_image im;
  memset(&im, 0, sizeof im);
  im.version = PNG_IMAGE_VERSION;
  ck_assert(png_image_begin_read_from_memory(&im, p, plen));
  ck_assert_uint_eq(im.width, EPUB_COVER_W);
  ck_assert_uint_eq(im.height, EPUB_COVER_H);
  im.format = PNG_FORMAT_RGB;
  unsigned char *rgb = malloc(PNG_IMAGE_SIZE(im));
  ck_assert_ptr_nonnull(rgb);
  ck_assert(png_image_finish_read(&im, NULL, rgb, 0, NULL));
  free(p);
  return rgb;
}

/* Pixels of [x0, x1) x [y0, y1) darker than mid-grey. */
static long dark(const unsigned char *rgb, int x0, int x1, int y0, int y1) {
  long n = 0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) {
      const unsigned char *q = rgb + ((size_t)y * EPUB_COVER_W + (size_t)x) * 3;
      n += q[0] + q[1] + q[2] < 3 * 128;
    }
  return n;
}

/* Rows of [y0, y1) with any pixel that is not the white paper. */
static int inked_rows(const unsigned char *rgb, int x0, int x1, int y0, int y1) {
  int rows = 0;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) {
      const unsigned char *q = rgb + ((size_t)y * EPUB_COVER_W + (size_t)x) * 3;
      if (q[0] != 255 || q[1] != 255 || q[2] != 255) {
        rows++;
        break;
      }
    }
  return rows;
}

/* Without a cover-image, the book gets a drawn cover: a PNG named as the
 * cover image, shown by cover.xhtml, with the masthead and its rule at the
 * top, the title a third of the way down, the publisher's rule at the foot,
 * paper in the margins; the same book gives the same bytes, another title
 * other pixels; a title too long for five lines is set smaller and cut,
 * never past the margins. */
/* The drawn cover kept between runs (ts_dcache "coverin", keyed by what
 * it is drawn from before anything is shaped): a second fresh build reads
 * it back (the same file, the same bytes); and for every input of the
 * cover — title, subtitle, an author, the publisher, the year, the ISSN,
 * the series, the language, each colour — a change gives the cover that a
 * build without the cache draws, never the one kept for the first book. */
static unsigned char *cover_bytes(const ts_doc *d, size_t *n) {
  size_t len;
  unsigned char *z = build_fresh(d, &len);
  char *p = entry(z, len, "OEBPS/images/cover.png", n);
  ck_assert_ptr_nonnull(p);
  free(z);
  return (unsigned char *)p;
}

START_TEST(cover_cache) {
  make_tmpdir();
  char dir[400];
  snprintf(dir, sizeof dir, "%s/cache", tmpdir);
  const char *was = getenv("TYPESET_CACHE_DIR");
  char *saved = was ? strdup(was) : NULL;
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", dir, 1), 0);
  ts_doc *d = hand_doc();
  size_t n0, n1, nv, no;
  unsigned char *c0 = cover_bytes(d, &n0);
  char names[64][64];
  ck_assert_uint_eq(ts_test_cache_files(dir, "coverin-", names, 64, NULL), 1);
  char p[600];
  struct stat s0, s1;
  snprintf(p, sizeof p, "%.500s/%.63s", dir, names[0]);
  ck_assert_int_eq(stat(p, &s0), 0);
  unsigned char *c1 = cover_bytes(d, &n1);
  ck_assert_int_eq(stat(p, &s1), 0);
  ck_assert_msg(s1.st_ino == s0.st_ino, "the cover was drawn again, not read");
  assert_same(c0, n0, c1, n1);
  free(c1);
  static const char *const titles[] = {"A Test of Covers", "A Test of Books", NULL};
  ts_meta *m = &d->meta;
  ts_style *st = style;
  const ts_meta keep = *m;
  const uint32_t acc = st->accent, msc = st->masthead_style.color, tc = st->title.color,
                 ac = st->author.color, txt = st->text_color;
  for (int v = 0; v < 12; v++) {
    switch (v) {
    case 0: m->title = titles[0]; break;
    case 1: m->subtitle = "Footnotes and Chapters"; break;
    case 2: m->authors[0].name = "Alexander W. Lomanov"; break;
    case 3: m->publisher = "Valdai Club"; break;
    case 4: m->date = "2019-06-13"; break;
    case 5: m->series.issn = "2311-8547"; break;
    case 6: m->series.number = "90"; break;
    case 7: m->lang = "de"; break;
    case 8: st->accent = 0x1C3A8A; break;
    case 9: st->masthead_style.color = 0x777777; break;
    case 10: st->title.color = 0x8B0000; break;
    case 11: st->author.color = 0x8B0000; st->text_color = 0x222222; break;
    default: break;
    }
    unsigned char *cv = cover_bytes(d, &nv);
    ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", "off", 1), 0);
    unsigned char *co = cover_bytes(d, &no);
    ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", dir, 1), 0);
    ck_assert_msg(nv == no && memcmp(cv, co, nv) == 0, "change %d: a stale cover from the cache", v);
    ck_assert_msg(nv != n0 || memcmp(cv, c0, nv) != 0, "change %d: the cover did not change", v);
    free(cv);
    free(co);
    *m = keep;
    st->accent = acc;
    st->masthead_style.color = msc;
    st->title.color = tc;
    st->author.color = ac;
    st->text_color = txt;
  }
  m->authors[0].name = "Alexander V. Lomanov";
  unsigned char *c2 = cover_bytes(d, &n1);
  assert_same(c0, n0, c2, n1);
  free(c2);
  free(c0);
  ts_doc_destroy(d);
  if (saved) setenv("TYPESET_CACHE_DIR", saved, 1);
  else unsetenv("TYPESET_CACHE_DIR");
  free(saved);
}
END_TEST

START_TEST(generated_cover) {
  ts_doc *d = hand_doc();
  size_t len;
  unsigned char *z = build(d, style, &len);
  char *opf = entry(z, len, "OEBPS/package.opf", NULL);
  ck_assert_ptr_nonnull(strstr(opf, "href=\"images/cover.png\" media-type=\"image/png\" "
                                    "properties=\"cover-image\""));
  free(opf);
  char *cv = entry(z, len, "OEBPS/cover.xhtml", NULL);
  ck_assert_ptr_nonnull(strstr(cv, "<img src=\"images/cover.png\" alt=\"A Test of Books\"/>"));
  free(cv);
  unsigned char *rgb = cover_rgb(z, len);
  const int M = 150, W = EPUB_COVER_W, H = EPUB_COVER_H;
  ck_assert_int_eq(inked_rows(rgb, 0, M - 4, 0, H), 0);     /* left margin */
  ck_assert_int_eq(inked_rows(rgb, W - M + 4, W, 0, H), 0); /* right margin */
  ck_assert_int_gt(dark(rgb, M, W - M, 150, 236), 500);     /* the masthead */
  ck_assert_int_eq(dark(rgb, M, W - M, 236, 242), (W - 2 * M) * 6); /* its rule (black here) */
  ck_assert_int_gt(dark(rgb, M, W - M, 600, 760), 20000);   /* the title's first line */
  ck_assert_int_eq(inked_rows(rgb, M, W - M, 260, 560), 0); /* nothing between */
  ck_assert_int_eq(dark(rgb, M, W - M, H - 250, H - 247), (W - 2 * M) * 3); /* the foot's rule */
  ck_assert_int_gt(dark(rgb, M, W - M, H - 230, H - 150), 300); /* publisher and year */
  ck_assert_int_eq(inked_rows(rgb, M, W - M, H - 140, H), 0);
  /* the same book: the same bytes */
  size_t len2;
  unsigned char *z2 = build(d, style, &len2);
  ck_assert_uint_eq(len2, len);
  ck_assert_mem_eq(z2, z, len);
  free(z2);
  /* a masthead colour other than the accent: the masthead on a band of the
   * accent across the cover, as on the PDF's first page */
  uint32_t was_ms = style->masthead_style.color, was_acc = style->accent;
  style->masthead_style.color = 0xFFFFFF;
  style->accent = 0x1C3A8A;
  z2 = build(d, style, &len2);
  style->masthead_style.color = was_ms;
  style->accent = was_acc;
  unsigned char *band = cover_rgb(z2, len2);
  for (int x = 0; x < W; x += W - 1)
    for (int y = 120; y < 250; y += 129) {
      const unsigned char *q = band + ((size_t)y * W + (size_t)x) * 3;
      ck_assert(q[0] == 0x1C && q[1] == 0x3A && q[2] == 0x8A);
    }
  long white = 0; /* the masthead's white letters on the band */
  for (int y = 150; y < 236; y++)
    for (int x = M; x < W - M; x++) {
      const unsigned char *q = band + ((size_t)y * W + (size_t)x) * 3;
      white += q[0] == 255 && q[1] == 255 && q[2] == 255;
    }
  ck_assert_int_gt(white, 500);
  ck_assert_int_eq(inked_rows(band, 0, W, 250, 560), 0);
  free(band);
  free(z2);
  /* a control character draws nothing (no missing-glyph box) */
  d->meta.title = "A Test\a of Books\x1b";
  z2 = build(d, style, &len2);
  unsigned char *rgb2 = cover_rgb(z2, len2);
  ck_assert_mem_eq(rgb, rgb2, (size_t)W * H * 3);
  free(rgb2);
  free(z2);
  /* another title: other pixels in the title's place only */
  d->meta.title = "A Test of Covers";
  z2 = build(d, style, &len2);
  rgb2 = cover_rgb(z2, len2);
  ck_assert_mem_eq(rgb, rgb2, (size_t)W * 600 * 3); /* the masthead is unchanged */
  ck_assert_int_ne(
      memcmp(rgb + (size_t)W * 600 * 3, rgb2 + (size_t)W * 600 * 3, (size_t)W * 200 * 3), 0);
  free(rgb2);
  free(z2);
  /* a title of 400 words: five lines at a smaller size, cut, in the margins */
  ts_buf t;
  ts_buf_init(&t);
  for (int i = 0; i < 400; i++) ts_buf_puts(&t, i ? " Corridors" : "Grain");
  d->meta.title = t.data;
  z2 = build(d, style, &len2);
  rgb2 = cover_rgb(z2, len2);
  ck_assert_int_eq(inked_rows(rgb2, 0, M - 4, 0, H), 0);
  ck_assert_int_eq(inked_rows(rgb2, W - M + 4, W, 0, H), 0);
  int title_rows = inked_rows(rgb2, M, W - M, 560, 1500);
  ck_assert_int_gt(title_rows, 5 * 50);
  ck_assert_int_lt(title_rows, 5 * 120);
  free(rgb2);
  free(z2);
  /* a word of 5,000 letters is cut between letters, inside the margins */
  ts_buf_clear(&t);
  for (int i = 0; i < 5000; i++) ts_buf_putc(&t, (char)('a' + i % 26));
  d->meta.title = t.data;
  z2 = build(d, style, &len2);
  rgb2 = cover_rgb(z2, len2);
  ck_assert_int_eq(inked_rows(rgb2, 0, M - 4, 0, H), 0);
  ck_assert_int_eq(inked_rows(rgb2, W - M + 4, W, 0, H), 0);
  title_rows = inked_rows(rgb2, M, W - M, 560, 1500);
  ck_assert_int_gt(title_rows, 5 * 50);
  ck_assert_int_lt(title_rows, 5 * 120);
  free(rgb2);
  free(z2);
  /* CJK without spaces breaks between characters, inside the margins */
  d->meta.title = "多语种出版的文字排版研究与实践：政策研究报告中的阿拉伯文、希伯来文、天城文和汉字";
  z2 = build(d, style, &len2);
  rgb2 = cover_rgb(z2, len2);
  ck_assert_int_eq(inked_rows(rgb2, 0, M - 4, 0, H), 0);
  ck_assert_int_eq(inked_rows(rgb2, W - M + 4, W, 0, H), 0);
  ck_assert_int_gt(dark(rgb2, M, W - M, 600, 760), 20000);
  ck_assert_int_gt(dark(rgb2, M, W - M, 760, 900), 20000); /* a second line */
  free(rgb2);
  free(z2);
  ts_buf_free(&t);
  free(rgb);
  free(z);
  ts_doc_destroy(d);
}
END_TEST

/* Each image file is copied once; different files with one name get
 * distinct names. */
START_TEST(images_once_and_unique) {
  ts_doc *d = hand_doc(); /* has fig.png */
  char path[512];
  snprintf(path, sizeof path, "%s/sub", tmpdir);
  ck_assert_int_eq(mkdir(path, 0755), 0);
  snprintf(path, sizeof path, "%s/sub/FIG.png", tmpdir);
  unsigned char other[sizeof png1];
  memcpy(other, png1, sizeof png1);
  write_file(path, other, sizeof other);
  const char *urls[] = {"./fig.png", "sub/FIG.png", "./sub/FIG.png"};
  for (int i = 0; i < 3; i++) {
    ts_node *p = para(d, d->root, "Inline ");
    ts_node *im = add(d, p, TS_NODE_IMAGE);
    im->url = urls[i];
    im->alt = "dot";
  }
  size_t len;
  unsigned char *z = build(d, style, &len);
  char *opf = entry(z, len, "OEBPS/package.opf", NULL);
  /* the two files, and the generated cover */
  ck_assert_int_eq(count(opf, "media-type=\"image/png\""), 3);
  ck_assert_ptr_nonnull(strstr(opf, "href=\"images/cover.png\""));
  ck_assert_ptr_nonnull(strstr(opf, "href=\"images/fig.png\""));
  ck_assert_ptr_nonnull(strstr(opf, "href=\"images/fig-2.png\""));
  char *c2 = entry(z, len, "OEBPS/chapter-2.xhtml", NULL);
  ck_assert_int_eq(count(c2, "<img class=\"inline\" src=\"images/fig.png\""), 1);
  ck_assert_int_eq(count(c2, "<img class=\"inline\" src=\"images/fig-2.png\""), 2);
  ck_assert_int_eq(count(c2, "<img src=\"images/fig.png\""), 1); /* the figure */
  free(c2);
  free(opf);
  free(z);
  ts_doc_destroy(d);
}
END_TEST


/* A long document without level-1 headings is split at its level-2
 * headings so no content document grows too large; links still resolve. */
START_TEST(large_file_split) {
  ts_doc *d = ts_doc_create("/nonexistent/long.md");
  char *para_text = malloc(10001);
  ck_assert_ptr_nonnull(para_text);
  for (int i = 0; i < 10000; i++) para_text[i] = (i % 7 == 6) ? ' ' : (char)('a' + i % 7);
  para_text[10000] = 0;
  for (int s = 1; s <= 40; s++) {
    char id[32], title[32];
    snprintf(id, sizeof id, "part-%d", s);
    snprintf(title, sizeof title, "Part %d", s);
    heading(d, 2, ts_arena_strdup(d->arena, id), title);
    for (int k = 0; k < 2; k++) para(d, d->root, para_text);
  }
  ts_node *p = para(d, d->root, "Back to ");
  add_link(d, p, "#part-1", "the start");
  free(para_text);
  size_t len;
  unsigned char *z = build(d, style, &len);
  int files = 0;
  for (int i = 1; i < 100; i++) {
    char name[64];
    snprintf(name, sizeof name, "OEBPS/chapter-%d.xhtml", i);
    size_t flen = 0;
    char *x = entry(z, len, name, &flen);
    if (!x) break;
    files++;
    ck_assert_uint_lt(flen, 300000);
    free(x);
  }
  ck_assert_int_ge(files, 3);
  char last[64];
  snprintf(last, sizeof last, "OEBPS/chapter-%d.xhtml", files);
  char *x = entry(z, len, last, NULL);
  ck_assert_ptr_nonnull(strstr(x, "<a href=\"chapter-1.xhtml#part-1\">the start</a>"));
  free(x);
  free(z);
  ts_doc_destroy(d);
}
END_TEST

/* Every allocation of writing a book with one of everything (title page,
 * chapters, notes, table, code, figure, fonts subset) fails in turn, each
 * in a fresh single-threaded context with the cache folder off: the writer
 * returns TS_ERR_NOMEM and nothing, or — where a failure only costs a
 * cache — the very bytes of a clean run.  No leak, no double free (the
 * sanitizer build checks that). */
static unsigned char *oom_epub(void *user, long n, size_t *len, ts_status *out) {
  const ts_doc *d = user;
  ts_ctx *c = ts_ctx_create();
  ck_assert_ptr_nonnull(c);
  ts_ctx_set_threads(c, 1); /* one allocation order */
  ts_diag diag;
  ts_diag_init(&diag, NULL);
  unsigned char *data = NULL;
  *len = 0;
  ts_alloc_begin(n);
  ts_status st = ts_epub_write_mem(c, d, style, NULL, &data, len, &diag);
  int failed = ts_alloc_end();
  ts_ctx_destroy(c);
  *out = failed ? st : (ts_status)-1; /* -1: nothing failed */
  return data;
}

START_TEST(allocation_failures) {
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", "off", 1), 0);
  ck_assert_int_eq(setenv("SOURCE_DATE_EPOCH", "1700000000", 1), 0);
  ts_doc *d = hand_doc();
  ts_test_alloc_rounds(oom_epub, d, 40000, 100, "epub");
  ts_doc_destroy(d);
}
END_TEST

/* The same through a temporary file (ts_epub_write_out: libzip writing at
 * file positions) with a warm cache folder (subsets and cover read as
 * mapped blobs): the bytes the file holds, read back. */
static char oom_dir[64];

static unsigned char *oom_epub_file(void *user, long n, size_t *len, ts_status *out) {
  const ts_doc *d = user;
  ts_ctx *c = ts_ctx_create();
  ck_assert_ptr_nonnull(c);
  ts_ctx_set_threads(c, 1);
  ts_diag diag;
  ts_diag_init(&diag, NULL);
  char path[128];
  (void)snprintf(path, sizeof path, "%s/oom.epub", oom_dir);
  unsigned char *data = NULL;
  *len = 0;
  ts_out o;
  ts_alloc_begin(n);
  ts_status st = ts_out_open(&o, path);
  if (st == TS_OK) st = ts_epub_write_out(c, d, style, NULL, &o, &diag);
  int failed = ts_alloc_end();
  if (st == TS_OK) {
    (void)fflush(o.fp);
    data = (unsigned char *)ts_file_read(o.tmp, len, 0);
    ck_assert_ptr_nonnull(data);
  }
  if (st == TS_OK || o.fp) ts_out_abort(&o);
  ts_ctx_destroy(c);
  *out = failed ? st : (ts_status)-1;
  return data;
}

START_TEST(allocation_failures_file_warm_cache) {
  (void)snprintf(oom_dir, sizeof oom_dir, "/tmp/ts-epub-oom-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(oom_dir));
  char cache[96];
  (void)snprintf(cache, sizeof cache, "%s/cache", oom_dir);
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", cache, 1), 0);
  ck_assert_int_eq(setenv("SOURCE_DATE_EPOCH", "1700000000", 1), 0);
  ts_doc *d = hand_doc();
  size_t len = 0;
  ts_status st;
  free(oom_epub_file(d, 0, &len, &st)); /* warms the cache folder */
  ck_assert_int_eq((int)st, -1);
  ck_assert_uint_gt(ts_test_cache_files(cache, "epubfont-", NULL, 0, NULL), 0);
  ts_test_alloc_rounds(oom_epub_file, d, 40000, 50, "epub to a file, warm cache");
  ts_doc_destroy(d);
  char cmd[128];
  (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", oom_dir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST


/* The package's table of the scripts common languages are written in
 * (package.c) answers as ICU's uscript_getCode does, row by row (yi is the
 * one correction: ICU takes it for the Yi script's code); codes with
 * subtags and languages not in the table go to ICU. */
START_TEST(lang_scripts_table_is_icus) {
  static const char *const langs[] = {
      "af", "am", "ar", "az", "be", "bg", "bn", "bs", "ca", "cs", "cy", "da", "de", "el", "en",
      "es", "et", "eu", "fa", "fi", "fr", "ga", "gl", "gu", "he", "hi", "hr", "hu", "hy", "id",
      "is", "it", "ja", "ka", "kk", "km", "kn", "ko", "la", "lo", "lt", "lv", "mk", "ml", "mn",
      "mr", "ms", "mt", "my", "nb", "nl", "nn", "no", "pa", "pl", "pt", "ro", "ru", "sk", "sl",
      "sq", "sr", "sv", "sw", "ta", "te", "th", "tl", "tr", "uk", "ur", "vi", "zh",
      /* not in the table: ICU answers */
      "sr-Latn", "zh-Hant", "EN", "en-GB", "haw", "xx", ""};
  for (size_t i = 0; i < sizeof langs / sizeof langs[0]; i++) {
    UScriptCode a[8], b[8];
    int na = epub_lang_scripts(langs[i], a, 8, 1);
    int nb = epub_lang_scripts(langs[i], b, 8, 0);
    ck_assert_msg(na == nb, "%s: %d scripts from the table, %d from ICU", langs[i], na, nb);
    for (int j = 0; j < na; j++)
      ck_assert_msg(a[j] == b[j], "%s: script %d is %s, ICU says %s", langs[i], j,
                    uscript_getShortName(a[j]), uscript_getShortName(b[j]));
  }
  /* the known rows: Latin for English, Cyrillic for Russian, three for
   * Japanese; Yiddish in Hebrew letters where ICU says Yi */
  UScriptCode s[8];
  ck_assert_int_eq(epub_lang_scripts("en", s, 8, 1), 1);
  ck_assert_int_eq(s[0], USCRIPT_LATIN);
  ck_assert_int_eq(epub_lang_scripts("RU", s, 8, 1), 1);
  ck_assert_int_eq(s[0], USCRIPT_CYRILLIC);
  ck_assert_int_eq(epub_lang_scripts("ja", s, 8, 1), 3);
  ck_assert_int_eq(epub_lang_scripts("ja", s, 2, 1), 2); /* cap respected */
  ck_assert_int_eq(epub_lang_scripts("yi", s, 8, 1), 1);
  ck_assert_int_eq(s[0], USCRIPT_HEBREW);
  ck_assert_int_eq(epub_lang_scripts("yi", s, 8, 0), 1);
  ck_assert_int_eq(s[0], USCRIPT_YI);
  ck_assert_int_eq(epub_lang_scripts("sr-Latn", s, 8, 1), 1);
  ck_assert_int_eq(s[0], USCRIPT_LATIN);
}
END_TEST

static Suite *epub_suite(void) {
  Suite *s = suite_create("epub");
  TCase *tc = tcase_create("epub");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, container_layout);
  tcase_add_test(tc, byte_identical);
  tcase_add_test(tc, footnote_markup);
  tcase_add_test(tc, language_of_parts);
  tcase_add_test(tc, endnotes_mode);
  tcase_add_test(tc, links_across_split);
  tcase_add_test(tc, short_paper_one_file);
  tcase_add_test(tc, print_page_list);
  tcase_add_test(tc, package_metadata);
  tcase_add_test(tc, title_page);
  tcase_add_test(tc, generated_cover);
  tcase_add_test(tc, cover_cache);
  tcase_add_test(tc, words_and_epubcheck_hand);
  tcase_add_test(tc, missing_image_is_located_error);
  tcase_add_test(tc, deep_nesting);
  tcase_add_test(tc, markdown_book_split);
  tcase_add_test(tc, print_conventions);
  tcase_add_test(tc, fonts_are_subsets);
  tcase_add_test(tc, subset_cache);
  tcase_add_test(tc, subset_disk_cache);
  tcase_add_test(tc, font_features_kept);
  tcase_add_test(tc, list_css_from_style);
  tcase_add_test(tc, empty_document);
  tcase_add_test(tc, numbered_headings);
  tcase_add_test(tc, lang_scripts_table_is_icus);
  tcase_add_test(tc, images_once_and_unique);
  tcase_add_test(tc, large_file_split);
  tcase_add_test(tc, allocation_failures);
  tcase_add_test(tc, allocation_failures_file_warm_cache);
  tcase_add_loop_test(tc, corrupt_images_refused, 0, (int)(sizeof bad_images / sizeof bad_images[0]));
  tcase_add_loop_test(tc, huge_images_refused, 0, (int)(sizeof sized_images / sizeof sized_images[0]));
  tcase_add_loop_test(tc, markdown_samples, 0, (int)(sizeof samples / sizeof samples[0]));
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  /* the suite calls HarfBuzz itself, through typeset's table of it (fonts/hb_api.h) */
  if (!ts_hb_open(NULL)) return 1;
  SRunner *sr = srunner_create(epub_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
