/* test_style.c — Check suite for typeset/style: the built-in default, every
 * key of the YAML schema, units, page names, base inheritance, located
 * diagnostics, malformed and hostile YAML, and the shipped style files. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ts_core.h"
#include "style/style_internal.h"
#include "style/ts_style.h"

/* ---- helpers ------------------------------------------------------------- */

/* Diagnostics captured as text. */
typedef struct capture {
  ts_diag d;
  char *text;
  size_t len;
  FILE *fp;
} capture;

static void cap_open(capture *c) {
  memset(c, 0, sizeof *c);
  c->fp = open_memstream(&c->text, &c->len);
  ck_assert_ptr_nonnull(c->fp);
  ts_diag_init(&c->d, c->fp);
}

static const char *cap_text(capture *c) {
  fflush(c->fp);
  return c->text ? c->text : "";
}

static void cap_close(capture *c) {
  fclose(c->fp);
  free(c->text);
}

static char *dump(const ts_style *s) {
  ts_buf b;
  ts_buf_init(&b);
  ts_style_dump(s, &b);
  ck_assert(!b.oom);
  char *r = ts_buf_detach(&b, NULL);
  ck_assert_ptr_nonnull(r);
  return r;
}

/* The dump without the lines naming where the style came from. */
static char *dump_sans_origin(const ts_style *s) {
  char *d = dump(s);
  char *w = d;
  for (char *line = d; *line;) {
    char *nl = strchr(line, '\n');
    size_t n = nl ? (size_t)(nl - line + 1) : strlen(line);
    if (strncmp(line, "path = ", 7) && strncmp(line, "dir = ", 6) && strncmp(line, "name = ", 7)) {
      memmove(w, line, n);
      w += n;
    }
    line += n;
  }
  *w = 0;
  return d;
}

/* Loads yaml (as file "t.yaml"); returns the status, *out the style. */
static ts_status load_str(ts_ctx *ctx, const char *yaml, capture *c, ts_style **out) {
  return ts_style_load_string(ctx, yaml, strlen(yaml), "t.yaml", &c->d, out);
}

static int has_line(const char *dumptext, const char *line) {
  size_t n = strlen(line);
  for (const char *p = dumptext; (p = strstr(p, line)); p++)
    if ((p == dumptext || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0)) return 1;
  return 0;
}

/* Compares two dumps and names the first line that differs (Check cannot
 * print strings this long). */
static void assert_same_dump(const char *a, const char *b) {
  size_t i = 0, line = 0;
  while (a[i] && a[i] == b[i]) i++;
  if (!a[i] && !b[i]) return;
  size_t start = i;
  while (start > 0 && a[start - 1] != '\n') start--;
  for (size_t j = 0; j < start; j++) line += a[j] == '\n';
  ck_abort_msg("dumps differ at line %zu: '%.80s' vs '%.80s'", line + 1, a + start, b + start);
}

static ts_ctx *ctx_new(void) {
  ts_ctx *ctx = ts_ctx_create();
  ck_assert_ptr_nonnull(ctx);
  return ctx;
}

static char tmpdir[64];

static void make_tmpdir(void) {
  strcpy(tmpdir, "/tmp/ts-style-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void write_file(const char *name, const char *text) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", tmpdir, name);
  FILE *f = fopen(p, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

static void rm_tmpdir(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

#define NEAR(a, b) ck_assert_msg(fabs((a) - (b)) < 1e-3, "%s = %.4f, expected %.4f", #a, (double)(a), (double)(b))

/* ---- the built-in default ---------------------------------------------- */

START_TEST(test_default_values) {
  ts_style *s = ts_style_default();
  ck_assert_ptr_nonnull(s);
  ck_assert_str_eq(s->name, "default");
  ck_assert_ptr_null(s->path);
  ck_assert_str_eq(s->page_name, "A4");
  NEAR(s->page_w, 210 * 72 / 25.4);
  NEAR(s->page_h, 297 * 72 / 25.4);
  ck_assert_int_eq(s->columns, 1);
  ck_assert_int_eq(s->mirror, 0);
  ck_assert_int_eq(s->fonts[TS_ROLE_BODY].n_families, 3);
  ck_assert_str_eq(s->fonts[TS_ROLE_BODY].families[0], "Linux Libertine O");
  ck_assert_str_eq(s->fonts[TS_ROLE_HEADING].families[0], "Linux Biolinum O");
  ck_assert_str_eq(s->fonts[TS_ROLE_MONO].families[0], "DejaVu Sans Mono");
  ck_assert_str_eq(s->fonts[TS_ROLE_MONO].families[1], "Noto Sans Mono");
  NEAR(s->body.size, 10.5);
  NEAR(s->body.leading, 13.5);
  NEAR(s->body.indent, 10.5); /* 1em */
  ck_assert_int_eq(s->body.align, TS_JUSTIFY);
  ck_assert_int_eq(s->body.role, TS_ROLE_BODY);
  for (int i = 0; i < 4; i++) ck_assert_int_eq(s->h[i].b.role, TS_ROLE_HEADING);
  for (int i = 0; i < 6; i++) ck_assert_int_eq(s->h[i].numbered, 0);
  ck_assert_int_eq(s->hyphenate, 1);
  ck_assert_ptr_null(s->hyphen_lang);
  /* plain TeX (The TeXbook, appendix B) */
  NEAR(s->brk.pretolerance, 100);
  NEAR(s->brk.tolerance, 200);
  NEAR(s->brk.emergencystretch, 15.75); /* 1.5em of 10.5pt */
  NEAR(s->brk.linepenalty, 10);
  NEAR(s->brk.hyphenpenalty, 50);
  NEAR(s->brk.exhyphenpenalty, 50);
  NEAR(s->brk.adjdemerits, 10000);
  NEAR(s->brk.doublehyphendemerits, 10000);
  NEAR(s->brk.finalhyphendemerits, 5000);
  ck_assert_int_eq(s->brk.looseness, 0);
  ck_assert_int_eq(s->brk.max_hyphen_lines, 2);
  ck_assert_int_eq(s->brk.lefthyphenmin, 2);
  ck_assert_int_eq(s->brk.righthyphenmin, 3);
  NEAR(s->brk.clubpenalty, 150);
  NEAR(s->brk.widowpenalty, 150);
  NEAR(s->brk.brokenpenalty, 100);
  ck_assert_int_eq(s->widows, 2);
  ck_assert_int_eq(s->orphans, 2);
  ck_assert_int_eq(s->epub_endnotes, 0);
  ck_assert_uint_eq(s->link_color, 0x1f3f7a);
  ts_style_destroy(s);
  ts_style_destroy(NULL);
}
END_TEST

/* The compiled-in default and styles/default.yaml are the same. */
START_TEST(test_default_equals_file) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_style *a = ts_style_default(), *b = NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s/styles/default.yaml", ts_ctx_data_dir(ctx));
  ck_assert_int_eq(ts_style_load(ctx, path, &c.d, &b), TS_OK);
  ck_assert_str_eq(cap_text(&c), "");
  ck_assert_str_eq(b->name, "default");
  ck_assert_ptr_nonnull(b->path);
  char *da = dump_sans_origin(a), *db = dump_sans_origin(b);
  assert_same_dump(da, db);
  /* and the dump is stable */
  char *da2 = dump_sans_origin(a);
  assert_same_dump(da, da2);
  free(da);
  free(db);
  free(da2);
  ts_style_destroy(a);
  ts_style_destroy(b);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

/* styles/default.yaml sets every field: applied onto a poisoned style it
 * gives exactly the built-in default. */
START_TEST(test_default_yaml_complete) {
  static const char *poison_words[] = {"poi-son"};
  ts_style *p = malloc(sizeof *p);
  ck_assert_ptr_nonnull(p);
  memset(p, 0x41, sizeof *p);
  p->name = p->path = p->dir = p->page_name = "POISON";
  for (int r = 0; r < TS_ROLE_COUNT; r++) {
    for (int j = 0; j < TS_STYLE_MAX_FAMILIES; j++) p->fonts[r].families[j] = "POISON";
    p->fonts[r].n_families = TS_STYLE_MAX_FAMILIES;
    p->fonts[r].features = "POISON";
  }
  p->hyphen_lang = "POISON";
  p->hyphen_exceptions = poison_words;
  p->n_hyphen_exceptions = 1;
  p->header_recto = p->header_verso = p->footer_recto = p->footer_verso = "POISON";
  p->masthead = "POISON";

  capture c;
  cap_open(&c);
  ts_style *s = NULL;
  ck_assert_int_eq(ts_style_load_string_onto(NULL, p, ts_style_default_yaml,
                                             ts_style_default_yaml_len,
                                             "<built-in default style>", &c.d, &s),
                   TS_OK);
  ck_assert_str_eq(cap_text(&c), "");
  ts_style *d = ts_style_default();
  char *ds = dump(s), *dd = dump(d);
  ck_assert_msg(!strstr(ds, "POISON") && !strstr(ds, "poi-son"), "%s", ds);
  assert_same_dump(ds, dd);
  free(ds);
  free(dd);
  ts_style_destroy(s);
  ts_style_destroy(d);
  free(p);
  cap_close(&c);
}
END_TEST

/* ---- lengths -------------------------------------------------------------- */

static const struct { const char *in; double em, out; int ok; } lengths[] = {
    {"12pt", 10, 12, 1},      {"12", 10, 12, 1},          {"1in", 10, 72, 1},
    {"25.4mm", 10, 72, 1},    {"2.54cm", 10, 72, 1},      {"6pc", 10, 72, 1},
    {"1.5em", 10.5, 15.75, 1}, {"0.5em", 12, 6, 1},       {" 12 pt ", 10, 12, 1},
    {"-3mm", 10, -3 * 72 / 25.4, 1}, {".5pt", 10, 0.5, 1}, {"+2pt", 10, 2, 1},
    {"12px", 10, 0, 0},       {"pt", 10, 0, 0},           {"", 10, 0, 0},
    {"1e3pt", 10, 0, 0},      {"nan", 10, 0, 0},          {"inf", 10, 0, 0},
    {"12ptx", 10, 0, 0},      {"1,5pt", 10, 0, 0},        {"99999999999pt", 10, 0, 0},
    {"1.2.3pt", 10, 0, 0},    {"12 p t", 10, 0, 0}};

START_TEST(test_parse_length) {
  double v = -1;
  int r = ts_style_parse_length(lengths[_i].in, lengths[_i].em, &v);
  if (lengths[_i].ok) {
    ck_assert_msg(r == 0, "'%s' refused", lengths[_i].in);
    ck_assert_msg(fabs(v - lengths[_i].out) < 1e-9, "'%s' -> %f", lengths[_i].in, v);
  } else {
    ck_assert_msg(r != 0, "'%s' accepted as %f", lengths[_i].in, v);
  }
}
END_TEST

/* ---- every key: YAML -> a line of the dump ----------------------------------- */

static const struct { const char *yaml, *line; } keys[] = {
    {"page: {size: A5}", "page.size = \"A5\""},
    {"page: {size: a5}", "page.size = \"A5\""},
    {"page: {width: 150mm}", "page.width = 425.197"},
    {"page: {width: 150mm}", "page.size = null"},
    {"page: {height: 8in, width: 5in}", "page.height = 576"},
    {"page: {width: 5in, size: A4}", "page.width = 360"}, /* explicit beats the name */
    {"page: {size: A4, orientation: landscape}", "page.width = 841.89"},
    {"page: {orientation: landscape, size: A4}", "page.height = 595.276"},
    {"page: {size: A5, orientation: portrait}", "page.height = 595.276"},
    {"page: {margins: {inner: 1in}}", "page.margins.inner = 72"},
    {"page: {margins: {outer: 2cm}}", "page.margins.outer = 56.693"},
    {"page: {margins: {top: 3pc}}", "page.margins.top = 36"},
    {"page: {margins: {bottom: 10mm}}", "page.margins.bottom = 28.346"},
    {"page: {mirror: yes}", "page.mirror = true"},
    {"page: {columns: 2}", "page.columns = 2"},
    {"page: {column-gap: 1em}", "page.column-gap = 10.5"},
    {"page: {baseline-grid: true}", "page.baseline-grid = true"},
    {"fonts: {body: {families: [A, \"B C\"]}}", "fonts.body.families = [\"A\", \"B C\"]"},
    {"fonts: {heading: {families: Solo}}", "fonts.heading.families = [\"Solo\"]"},
    {"fonts: {mono: {features: \"zero,ss01\"}}", "fonts.mono.features = \"zero,ss01\""},
    {"fonts: {body: {features: onum}}", "fonts.body.features = \"onum\""},
    {"body: {size: 12pt}", "body.size = 12"},
    {"body: {leading: 15pt}", "body.leading = 15"},
    {"body: {indent: 2em, size: 12pt}", "body.indent = 24"}, /* size first, whatever the order */
    {"quote: {indent: 1em}\nbody: {size: 12pt}", "quote.indent = 12"},
    {"body: {size: 2em}", "body.size = 21"}, /* relative to the previous body size */
    /* em-lengths of the default follow a new body size */
    {"body: {size: 12pt}", "body.indent = 12"},
    {"body: {size: 12pt}", "linebreak.emergencystretch = 18"},
    {"body: {size: 12pt}", "quote.indent = 18"},
    {"body: {size: 12pt}", "page.column-gap = 24"},
    {"body: {size: 12pt}", "body.leading = 13.5"}, /* pt stays pt */
    {"body: {align: left}", "body.align = ragged-right"},
    {"body: {align: right}", "body.align = ragged-left"},
    {"body: {align: center}", "body.align = center"},
    {"body: {paragraph-skip: 6pt}", "body.paragraph-skip = 6"},
    {"body: {color: \"#102030\"}", "body.color = #102030"},
    {"body: {font: mono}", "body.font = mono"},
    {"body: {bold: true}", "body.bold = true"},
    {"body: {italic: on}", "body.italic = true"},
    {"body: {small-caps: TRUE}", "body.small-caps = true"},
    {"body: {uppercase: true}", "body.uppercase = true"},
    {"body: {space-before: 3pt}", "body.space-before = 3"},
    {"body: {space-after: 4pt}", "body.space-after = 4"},
    {"quote: {size: 9pt}", "quote.size = 9"},
    {"code: {font: body}", "code.font = body"},
    {"list: {indent: 2em}", "list.indent = 21"},
    {"table: {align: center}", "table.align = center"},
    {"caption: {italic: false}", "caption.italic = false"},
    {"headings: {h1: {size: 20pt}}", "headings.h1.size = 20"},
    {"headings: {h2: {numbered: true}}", "headings.h2.numbered = true"},
    {"headings: {h3: {keep-with-next: 3}}", "headings.h3.keep-with-next = 3"},
    {"headings: {h4: {page-break-before: true}}", "headings.h4.page-break-before = true"},
    {"headings: {h5: {small-caps: false}}", "headings.h5.small-caps = false"},
    {"headings: {h6: {color: \"#ABCDEF\"}}", "headings.h6.color = #abcdef"},
    {"hyphenation: {enabled: false}", "hyphenation.enabled = false"},
    {"hyphenation: {lang: en-GB}", "hyphenation.lang = \"en-GB\""},
    {"hyphenation: {exceptions: [ta-ble, \"пе-ре-нос\"]}",
     "hyphenation.exceptions = [\"ta-ble\", \"пе-ре-нос\"]"},
    {"hyphenation: {left-min: 3}", "hyphenation.left-min = 3"},
    {"hyphenation: {right-min: 2}", "hyphenation.right-min = 2"},
    {"hyphenation: {max-lines: 0}", "hyphenation.max-lines = 0"},
    {"linebreak: {pretolerance: -1}", "linebreak.pretolerance = -1"},
    {"linebreak: {tolerance: 400}", "linebreak.tolerance = 400"},
    {"linebreak: {emergencystretch: 2em}", "linebreak.emergencystretch = 21"},
    {"linebreak: {linepenalty: 20}", "linebreak.linepenalty = 20"},
    {"linebreak: {hyphenpenalty: 100}", "linebreak.hyphenpenalty = 100"},
    {"linebreak: {exhyphenpenalty: 10000}", "linebreak.exhyphenpenalty = 10000"},
    {"linebreak: {adjdemerits: 5000}", "linebreak.adjdemerits = 5000"},
    {"linebreak: {doublehyphendemerits: 20000}", "linebreak.doublehyphendemerits = 20000"},
    {"linebreak: {finalhyphendemerits: 0}", "linebreak.finalhyphendemerits = 0"},
    {"linebreak: {looseness: -1}", "linebreak.looseness = -1"},
    {"linebreak: {clubpenalty: 10000}", "linebreak.clubpenalty = 10000"},
    {"linebreak: {widowpenalty: 300}", "linebreak.widowpenalty = 300"},
    {"linebreak: {brokenpenalty: 0}", "linebreak.brokenpenalty = 0"},
    {"linebreak: {expansion: 0}", "linebreak.expansion = 0"},
    {"linebreak: {expansion: 15}", "linebreak.expansion = 15"},
    {"widows: 3", "widows = 3"},
    {"orphans: 1", "orphans = 1"},
    {"running: {header-recto: \"{short-title}\"}", "running.header-recto = \"{short-title}\""},
    {"running: {header-verso: \"{series} № {number}\"}",
     "running.header-verso = \"{series} № {number}\""},
    {"running: {footer-recto: null}", "running.footer-recto = null"},
    {"running: {footer-verso: \"\"}", "running.footer-verso = null"},
    {"running: {first-page: false}", "running.first-page = false"},
    {"running: {rule: 0.4pt}", "running.rule = 0.4"},
    {"running: {header: {size: 8pt}}", "running.header.size = 8"},
    {"running: {footer: {align: right}}", "running.footer.align = ragged-left"},
    {"title-block: {enabled: false}", "title-block.enabled = false"},
    {"title-block: {masthead: \"{series} № {number}\"}",
     "title-block.masthead = \"{series} № {number}\""},
    {"title-block: {accent: \"#8a1c1c\"}", "title-block.accent = #8a1c1c"},
    {"title-block: {masthead-style: {uppercase: false}}", "title-block.masthead-style.uppercase = false"},
    {"title-block: {title: {size: 30pt}}", "title-block.title.size = 30"},
    {"title-block: {subtitle: {italic: true}}", "title-block.subtitle.italic = true"},
    {"title-block: {author: {bold: true}}", "title-block.author.bold = true"},
    {"title-block: {affiliation: {size: 8pt}}", "title-block.affiliation.size = 8"},
    {"title-block: {abstract: {indent: 0pt}}", "title-block.abstract.indent = 0"},
    {"title-block: {keywords: {space-after: 1in}}", "title-block.keywords.space-after = 72"},
    {"toc: true", "toc = true"},
    {"footnotes: {size: 8pt}", "footnotes.size = 8"},
    {"footnotes: {leading: 9.5pt}", "footnotes.leading = 9.5"},
    {"footnotes: {rule-width: 2in}", "footnotes.rule-width = 144"},
    {"footnotes: {rule-weight: 0.5pt}", "footnotes.rule-weight = 0.5"},
    {"footnotes: {skip: 12pt}", "footnotes.skip = 12"},
    {"footnotes: {epub: endnotes}", "footnotes.epub = endnotes"},
    {"colors: {text: \"#111111\"}", "colors.text = #111111"},
    {"colors: {link: \"#0000ff\"}", "colors.link = #0000ff"},
    {"colors: {rule: \"#ff0000\"}", "colors.rule = #ff0000"},
    {"quote:\n", "quote.size = 9.5"}, /* an empty section changes nothing */
    {"", "body.size = 10.5"},          /* nor does an empty file */
    {"---\n...\n", "body.size = 10.5"},
};

START_TEST(test_each_key) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_style *s = NULL;
  ck_assert_msg(load_str(ctx, keys[_i].yaml, &c, &s) == TS_OK, "%s: %s", keys[_i].yaml,
                cap_text(&c));
  ck_assert_msg(c.d.n_warnings == 0 && c.d.n_errors == 0, "%s: %s", keys[_i].yaml, cap_text(&c));
  char *d = dump(s);
  ck_assert_msg(has_line(d, keys[_i].line), "'%s' should give '%s'", keys[_i].yaml, keys[_i].line);
  ck_assert_str_eq(s->name, "t");
  free(d);
  ts_style_destroy(s);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

/* Keys not set keep the default: a one-key file differs from the default
 * only in that key's line (and the name). */
START_TEST(test_untouched_keys_keep_default) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_style *s = NULL, *d = ts_style_default();
  ck_assert_int_eq(load_str(ctx, "widows: 4\n", &c, &s), TS_OK);
  char *ds = dump_sans_origin(s), *dd = dump_sans_origin(d);
  char *p = strstr(dd, "widows = 2\n");
  ck_assert_ptr_nonnull(p);
  p[9] = '4';
  assert_same_dump(ds, dd);
  free(ds);
  free(dd);
  ts_style_destroy(s);
  ts_style_destroy(d);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

/* ---- page names ----------------------------------------------------------- */

static const struct { const char *name, *w, *h; } pages[] = {
    {"A3", "841.89", "1190.551"},   {"A4", "595.276", "841.89"},
    {"A5", "419.528", "595.276"},   {"B5", "498.898", "708.661"},
    {"Letter", "612", "792"},       {"Legal", "612", "1008"},
    {"Royal", "442.205", "663.307"}, {"Demy", "391.181", "612.283"},
    {"6x9in", "432", "648"},        {"letter", "612", "792"}};

START_TEST(test_page_names) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  char yaml[128], lw[64], lh[64];
  /* small pages need small margins */
  snprintf(yaml, sizeof yaml, "page: {size: \"%s\", margins: {inner: 1cm, outer: 1cm}}\n",
           pages[_i].name);
  ts_style *s = NULL;
  ck_assert_msg(load_str(ctx, yaml, &c, &s) == TS_OK, "%s", cap_text(&c));
  char *d = dump(s);
  snprintf(lw, sizeof lw, "page.width = %s", pages[_i].w);
  snprintf(lh, sizeof lh, "page.height = %s", pages[_i].h);
  ck_assert_msg(has_line(d, lw) && has_line(d, lh), "%s: %s", pages[_i].name, d);
  free(d);
  ts_style_destroy(s);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

/* ---- base inheritance ---------------------------------------------------------- */

START_TEST(test_base_files) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  make_tmpdir();
  write_file("a.yaml", "base: b.yaml\nbody: {size: 12pt}\n");
  write_file("b.yaml", "base: ./c.yml\nbody: {leading: 20pt, size: 11pt}\npage: {size: A5}\n");
  write_file("c.yml", "page: {size: Letter, mirror: true}\ntoc: true\n");
  char path[128];
  snprintf(path, sizeof path, "%s/a.yaml", tmpdir);
  ts_style *s = NULL;
  ck_assert_msg(ts_style_load(ctx, path, &c.d, &s) == TS_OK, "%s", cap_text(&c));
  ck_assert_str_eq(cap_text(&c), "");
  ck_assert_str_eq(s->name, "a");
  ck_assert_str_eq(s->path, path);
  ck_assert_str_eq(s->dir, tmpdir);
  NEAR(s->body.size, 12);     /* a overrides b */
  NEAR(s->body.leading, 20);  /* from b */
  ck_assert_str_eq(s->page_name, "A5"); /* b overrides c */
  ck_assert_int_eq(s->mirror, 1); /* from c */
  ck_assert_int_eq(s->toc, 1);
  NEAR(s->brk.tolerance, 200); /* from the default */
  ts_style_destroy(s);
  rm_tmpdir();
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_base_named) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_style *s = NULL, *p = NULL;
  ck_assert_msg(load_str(ctx, "base: paper\nbody: {size: 10pt}\n", &c, &s) == TS_OK, "%s",
                cap_text(&c));
  ck_assert_int_eq(ts_style_load(ctx, "paper", &c.d, &p), TS_OK);
  ck_assert_str_eq(cap_text(&c), "");
  NEAR(s->body.size, 10);
  NEAR(s->body.leading, p->body.leading);
  ck_assert_str_eq(s->masthead, p->masthead);
  ck_assert_uint_eq(s->accent, p->accent);
  ck_assert_str_eq(s->name, "t");
  ts_style_destroy(s);
  ts_style_destroy(p);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_base_cycle) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  make_tmpdir();
  write_file("x.yaml", "base: y.yaml\n");
  write_file("y.yaml", "toc: true\nbase: x.yaml\n");
  write_file("self.yaml", "base: self.yaml\n");
  char path[128];
  snprintf(path, sizeof path, "%s/x.yaml", tmpdir);
  ts_style *s = NULL;
  ck_assert_int_eq(ts_style_load(ctx, path, &c.d, &s), TS_ERR_INPUT);
  ck_assert_ptr_null(s);
  ck_assert_msg(strstr(c.d.first_error, "y.yaml:2:7: error:") && strstr(c.d.first_error, "cycle"),
                "%s", c.d.first_error);
  snprintf(path, sizeof path, "%s/self.yaml", tmpdir);
  ts_diag_init(&c.d, c.fp);
  ck_assert_int_eq(ts_style_load(ctx, path, &c.d, &s), TS_ERR_INPUT);
  ck_assert_msg(strstr(c.d.first_error, "self.yaml:1:7: error:") && strstr(c.d.first_error, "cycle"),
                "%s", c.d.first_error);
  rm_tmpdir();
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_base_depth_and_missing) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  make_tmpdir();
  char name[32], text[64];
  for (int i = 0; i < 12; i++) {
    snprintf(name, sizeof name, "s%d.yaml", i);
    snprintf(text, sizeof text, "base: s%d.yaml\n", i + 1);
    write_file(name, text);
  }
  write_file("s12.yaml", "toc: true\n");
  char path[128];
  snprintf(path, sizeof path, "%s/s0.yaml", tmpdir);
  ts_style *s = NULL;
  ck_assert_int_eq(ts_style_load(ctx, path, &c.d, &s), TS_ERR_INPUT);
  ck_assert_msg(strstr(c.d.first_error, "chain longer"), "%s", c.d.first_error);
  /* 5 levels are fine */
  snprintf(path, sizeof path, "%s/s8.yaml", tmpdir);
  ts_diag_init(&c.d, c.fp);
  ck_assert_int_eq(ts_style_load(ctx, path, &c.d, &s), TS_OK);
  ck_assert_int_eq(s->toc, 1);
  ts_style_destroy(s);
  s = NULL;
  /* a missing base is reported where it is named */
  ts_diag_init(&c.d, c.fp);
  ck_assert_int_eq(load_str(ctx, "toc: true\nbase: no-such-style\n", &c, &s), TS_ERR_INPUT);
  ck_assert_msg(!strncmp(c.d.first_error, "t.yaml:2:7: error:", 18), "%s", c.d.first_error);
  /* names cannot walk out of the styles folder */
  ts_diag_init(&c.d, c.fp);
  ck_assert_int_eq(load_str(ctx, "base: \"..\"\n", &c, &s), TS_ERR_INPUT);
  ts_diag_init(&c.d, c.fp);
  ck_assert_int_eq(load_str(ctx, "base: /etc/passwd\n", &c, &s), TS_ERR_INPUT);
  ts_diag_init(&c.d, c.fp);
  ck_assert_int_eq(ts_style_load(ctx, "no-such-style", &c.d, &s), TS_ERR_IO);
  ck_assert_int_eq(c.d.n_errors, 1);
  ck_assert_ptr_null(s);
  rm_tmpdir();
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

/* ---- diagnostics ---------------------------------------------------------- */

START_TEST(test_unknown_key_warning) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_style *s = NULL;
  ck_assert_int_eq(load_str(ctx,
                            "# a comment\n"
                            "body:\n"
                            "  size: 11pt\n"
                            "  colour: \"#000000\"\n"
                            "fontz: {}\n"
                            "headings:\n"
                            "  h7: {size: 9pt}\n",
                            &c, &s),
                   TS_OK);
  ck_assert_int_eq(c.d.n_warnings, 3);
  ck_assert_int_eq(c.d.n_errors, 0);
  const char *t = cap_text(&c);
  ck_assert_msg(strstr(t, "t.yaml:4:3: warning: unknown key 'colour' in 'body'"), "%s", t);
  ck_assert_msg(strstr(t, "t.yaml:5:1: warning: unknown key 'fontz'"), "%s", t);
  ck_assert_msg(strstr(t, "t.yaml:7:3: warning: unknown key 'h7' in 'headings'"), "%s", t);
  NEAR(s->body.size, 11); /* the rest still applies */
  ts_style_destroy(s);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_unknown_key_flood_bounded) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_buf b;
  ts_buf_init(&b);
  for (int i = 0; i < 5000; i++) ts_buf_printf(&b, "k%d: 1\n", i);
  ck_assert(!b.oom);
  ts_style *s = NULL;
  ck_assert_int_eq(ts_style_load_string(ctx, b.data, b.len, "t.yaml", &c.d, &s), TS_OK);
  ck_assert_uint_le(c.d.n_warnings, 25);
  ck_assert_uint_ge(c.d.n_warnings, 20);
  ts_style_destroy(s);
  ts_buf_free(&b);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_template_warning) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_style *s = NULL;
  ck_assert_int_eq(load_str(ctx,
                            "running:\n"
                            "  header-recto: \"{short_title}\"\n"
                            "  header-verso: \"{series} {number\"\n"
                            "  footer-recto: \"{page} / {pages}\"\n",
                            &c, &s),
                   TS_OK);
  const char *t = cap_text(&c);
  ck_assert_int_eq(c.d.n_warnings, 2);
  ck_assert_msg(strstr(t, "t.yaml:2:17: warning: 'header-recto': unknown placeholder {short_title}"),
                "%s", t);
  ck_assert_msg(strstr(t, "t.yaml:3:17: warning: 'header-verso': '{' without '}'"), "%s", t);
  ck_assert_str_eq(s->header_recto, "{short_title}"); /* kept as written */
  ts_style_destroy(s);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

/* Mutated copies of styles/default.yaml (a fixed-seed generator: the test is
 * deterministic) load or fail cleanly, never crash (run under ASan too). */
START_TEST(test_mutations) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  c.d.out = NULL;
  size_t n = ts_style_default_yaml_len;
  char *y = malloc(n + 1);
  ck_assert_ptr_nonnull(y);
  uint32_t r = 12345;
  static const char junk[] = "{}[]:,-#&*!|>'\"%@` \n\t0aZ\xff";
  unsigned ok = 0, bad = 0;
  for (int round = 0; round < 400; round++) {
    memcpy(y, ts_style_default_yaml, n + 1);
    int edits = 1 + round % 4;
    for (int e = 0; e < edits; e++) {
      r = r * 1103515245u + 12345u;
      size_t pos = (r >> 8) % n;
      r = r * 1103515245u + 12345u;
      y[pos] = junk[(r >> 8) % (sizeof junk - 1)];
    }
    ts_style *s = NULL;
    ts_status st = ts_style_load_string(ctx, y, n, "m.yaml", &c.d, &s);
    ck_assert_msg(st == TS_OK || st == TS_ERR_INPUT, "round %d: %d", round, (int)st);
    ck_assert((st == TS_OK) == (s != NULL));
    if (s) {
      char *d = dump(s);
      free(d);
      ok++;
    } else {
      bad++;
    }
    ts_style_destroy(s);
  }
  ck_assert_uint_gt(ok, 0);
  ck_assert_uint_gt(bad, 0);
  free(y);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

/* Invalid values: TS_ERR_INPUT and an error at the value. */
static const struct { const char *yaml; const char *where; const char *what; } invalid[] = {
    {"body:\n  size: -3pt\n", "t.yaml:2:9:", "out of range"},
    {"body:\n  size: 0pt\n", "t.yaml:2:9:", "out of range"},
    {"body:\n  size: 12px\n", "t.yaml:2:9:", "not a length"},
    {"body:\n  size: 99999pt\n", "t.yaml:2:9:", "out of range"},
    {"body:\n  size: 1e9\n", "t.yaml:2:9:", "not a length"},
    {"body:\n  leading: [1, 2]\n", "t.yaml:2:12:", "must be a length"},
    {"page:\n  size: A9\n", "t.yaml:2:9:", "unknown page size"},
    {"page:\n  size: {w: 1}\n", "t.yaml:2:9:", "must be"},
    {"linebreak:\n  expansion: 60\n", "t.yaml:2:14:", "out of range"},
    {"linebreak:\n  expansion: -1\n", "t.yaml:2:14:", "out of range"},
    {"page:\n  width: 10in\n  height: 300in\n", "t.yaml:3:11:", "out of range"},
    {"page:\n  margins:\n    inner: -1cm\n", "t.yaml:3:12:", "out of range"},
    {"page:\n  margins: {inner: 100mm, outer: 100mm}\n", "t.yaml:2:12:", "no room for text"},
    {"page:\n  columns: 3\n", "t.yaml:2:12:", "out of range"},
    {"page:\n  columns: 1.5\n", "t.yaml:2:12:", "not an integer"},
    {"page:\n  mirror: maybe\n", "t.yaml:2:11:", "true or false"},
    {"page:\n  orientation: sideways\n", "t.yaml:2:16:", "portrait or landscape"},
    {"body: [1, 2]\n", "t.yaml:1:7:", "must be a map"},
    {"body:\n  align: diagonal\n", "t.yaml:2:10:", "is not justify"},
    {"body:\n  font: serif\n", "t.yaml:2:9:", "not a font role"},
    {"body:\n  color: #fff\n", "t.yaml:2:9:", "quote it"},
    {"body:\n  color: \"#12345g\"\n", "t.yaml:2:10:", "not a colour"},
    {"body:\n  color: \"red\"\n", "t.yaml:2:10:", "not a colour"},
    {"fonts:\n  body:\n    families: []\n", "t.yaml:3:15:", "font family"},
    {"fonts:\n  body:\n    families: [a, b, c, d, e, f, g, h, i]\n", "t.yaml:3:15:", "at most 8"},
    {"fonts:\n  body:\n    families: [a, [b]]\n", "t.yaml:3:19:", "font family"},
    {"fonts:\n  body:\n    features: \"onum\\x01\"\n", "t.yaml:3:15:", "ASCII"},
    {"hyphenation:\n  exceptions: [\"two words\"]\n", "t.yaml:2:16:", "one word"},
    {"hyphenation:\n  exceptions: ok\n", "t.yaml:2:15:", "list of words"},
    {"hyphenation:\n  lang: \"en GB\"\n", "t.yaml:2:9:", "language tag"},
    {"hyphenation:\n  left-min: 0\n", "t.yaml:2:13:", "out of range"},
    {"linebreak:\n  tolerance: 1e99\n", "t.yaml:2:14:", "not a number"},
    {"linebreak:\n  tolerance: 99999999999999999999\n", "t.yaml:2:14:", "out of range"},
    {"linebreak:\n  tolerance: -5\n", "t.yaml:2:14:", "out of range"},
    {"linebreak:\n  adjdemerits: lots\n", "t.yaml:2:16:", "not a number"},
    {"widows: 0\n", "t.yaml:1:9:", "out of range"},
    {"widows: 2.5\n", "t.yaml:1:9:", "not an integer"},
    {"footnotes:\n  epub: sidenotes\n", "t.yaml:2:9:", "footnotes or endnotes"},
    {"footnotes:\n  rule-weight: 50pt\n", "t.yaml:2:16:", "out of range"},
    {"toc: 1\n", "t.yaml:1:6:", "true or false"},
    {"toc: true\ntoc: false\n", "t.yaml:2:1:", "duplicate key"},
    {"? [a]\n: 1\n", "t.yaml:1:3:", "keys must be"},
    {"- a\n- b\n", "t.yaml:1:1:", "map of settings"},
    {"just a string\n", "t.yaml:1:1:", "map of settings"},
    {"base: [a]\n", "t.yaml:1:7:", "name of a style"},
    {"base: \"\"\n", "t.yaml:1:7:", "name of a style"},
    {"running:\n  header-recto: {a: 1}\n", "t.yaml:2:17:", "must be a text"},
};

START_TEST(test_invalid_values) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_style *s = (ts_style *)1;
  ck_assert_msg(load_str(ctx, invalid[_i].yaml, &c, &s) == TS_ERR_INPUT, "%s accepted",
                invalid[_i].yaml);
  ck_assert_ptr_null(s);
  ck_assert_uint_ge(c.d.n_errors, 1);
  ck_assert_msg(!strncmp(c.d.first_error, invalid[_i].where, strlen(invalid[_i].where)) &&
                    strstr(c.d.first_error, " error: ") && strstr(c.d.first_error, invalid[_i].what),
                "%s -> %s (expected %s ... %s)", invalid[_i].yaml, c.d.first_error,
                invalid[_i].where, invalid[_i].what);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

/* Every error in a file is reported, not only the first. */
START_TEST(test_all_errors_reported) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_style *s = NULL;
  ck_assert_int_eq(load_str(ctx, "widows: 0\norphans: 0\nbody: {size: x}\n", &c, &s),
                   TS_ERR_INPUT);
  ck_assert_int_eq(c.d.n_errors, 3);
  const char *t = cap_text(&c);
  /* in file order, although body is applied first */
  const char *a = strstr(t, "t.yaml:1:9: error:"), *b = strstr(t, "t.yaml:2:10: error:"),
             *e = strstr(t, "t.yaml:3:14: error:");
  ck_assert_msg(a && b && e && a < b && b < e, "%s", t);
  ck_assert_msg(!strncmp(c.d.first_error, "t.yaml:1:9: error:", 18), "%s", c.d.first_error);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

/* ---- malformed and hostile YAML ------------------------------------------------ */

static const struct { const char *yaml; const char *where; } malformed[] = {
    {"body: {size: 10pt\n", "t.yaml:2:1:"},
    {"body:\n  size: 10pt\n size: 11pt\n", "t.yaml:3:"},
    {"body:\n\tsize: 10pt\n", "t.yaml:2:"},
    {"toc: \"unterminated\n", "t.yaml:2:1:"},
    {"a: 1\n---\nb: 2\n", "t.yaml:2:1:"},
    {"toc: true\n\ntitle-block: {masthead: \"\xff\xfe\"}\n", "t.yaml:3:26:"},
    {"x: [}\n", "t.yaml:1:5:"},
};

START_TEST(test_malformed) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_style *s = NULL;
  ck_assert_int_eq(load_str(ctx, malformed[_i].yaml, &c, &s), TS_ERR_INPUT);
  ck_assert_ptr_null(s);
  ck_assert_msg(!strncmp(c.d.first_error, malformed[_i].where, strlen(malformed[_i].where)),
                "%s -> %s", malformed[_i].yaml, c.d.first_error);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_alias_bomb) {
  static const char bomb[] =
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
      "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
      "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
      "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
      "body: *i\n";
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_style *s = NULL;
  ck_assert_int_eq(load_str(ctx, bomb, &c, &s), TS_ERR_INPUT);
  ck_assert_msg(strstr(c.d.first_error, "t.yaml:2:8: error:") && strstr(c.d.first_error, "alias"),
                "%s", c.d.first_error);
  /* a harmless alias is refused too, at its place */
  ts_diag_init(&c.d, c.fp);
  ck_assert_int_eq(load_str(ctx, "body: &b {size: 10pt}\nquote: *b\n", &c, &s), TS_ERR_INPUT);
  ck_assert_msg(!strncmp(c.d.first_error, "t.yaml:2:8: error:", 18), "%s", c.d.first_error);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_deep_nesting) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  size_t n = 100000;
  char *y = malloc(2 * n + 16);
  ck_assert_ptr_nonnull(y);
  memcpy(y, "body: ", 6);
  memset(y + 6, '[', n);
  memset(y + 6 + n, ']', n);
  y[6 + 2 * n] = 0;
  ts_style *s = NULL;
  ck_assert_int_eq(ts_style_load_string(ctx, y, strlen(y), "t.yaml", &c.d, &s), TS_ERR_INPUT);
  ck_assert_msg(strstr(c.d.first_error, "nested too deeply"), "%s", c.d.first_error);
  /* deep maps too */
  ts_buf b;
  ts_buf_init(&b);
  for (int i = 0; i < 2000; i++) ts_buf_puts(&b, "{a: ");
  for (int i = 0; i < 2000; i++) ts_buf_puts(&b, "}");
  ts_diag_init(&c.d, c.fp);
  ck_assert_int_eq(ts_style_load_string(ctx, b.data, b.len, "t.yaml", &c.d, &s), TS_ERR_INPUT);
  ts_buf_free(&b);
  free(y);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

/* ---- the shipped styles ---------------------------------------------------------- */

static const char *const shipped[] = {"default", "paper", "book"};

/* Loads without any diagnostic, and the values are typographically sound:
 * 60-75 characters a line (Libertine averages 0.41 em a character in the
 * seed text, measured with HarfBuzz), leading 1.2-1.3 times the size. */
START_TEST(test_shipped_styles) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_style *s = NULL;
  ck_assert_msg(ts_style_load(ctx, shipped[_i], &c.d, &s) == TS_OK, "%s", cap_text(&c));
  ck_assert_msg(c.d.n_warnings == 0 && c.d.n_errors == 0, "%s", cap_text(&c));
  ck_assert_str_eq(s->name, shipped[_i]);
  if (_i > 0) ck_assert_ptr_nonnull(s->path); /* read from styles/ */
  double measure = s->page_w - s->margin_inner - s->margin_outer;
  double cpl = measure / (0.41 * s->body.size);
  ck_assert_msg(cpl >= 60 && cpl <= 75, "%s: %.1f characters a line", shipped[_i], cpl);
  double lr = s->body.leading / s->body.size;
  ck_assert_msg(lr >= 1.2 && lr <= 1.3, "%s: leading %.2f", shipped[_i], lr);
  lr = s->footnote.leading / s->footnote.size;
  ck_assert_msg(lr >= 1.15 && lr <= 1.3, "%s: footnote leading %.2f", shipped[_i], lr);
  for (int i = 0; i < 6; i++)
    ck_assert_msg(s->h[i].b.leading >= s->h[i].b.size, "%s h%d", shipped[_i], i + 1);
  ck_assert_str_eq(s->fonts[TS_ROLE_BODY].families[0], "Linux Libertine O");
  ts_style_destroy(s);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

/* Every file in styles/ (not only the three named above) loads cleanly. */
START_TEST(test_every_style_file) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  char dir[4096], path[4400];
  snprintf(dir, sizeof dir, "%s/styles", ts_ctx_data_dir(ctx));
  DIR *dp = opendir(dir);
  ck_assert_msg(dp != NULL, "%s", dir);
  int n = 0;
  for (struct dirent *e; (e = readdir(dp));) {
    size_t len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".yaml")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    ts_style *s = NULL;
    ts_diag_init(&c.d, c.fp);
    ck_assert_msg(ts_style_load(ctx, path, &c.d, &s) == TS_OK, "%s", cap_text(&c));
    ck_assert_msg(c.d.n_warnings == 0, "%s: %s", e->d_name, cap_text(&c));
    ts_style_destroy(s);
    n++;
  }
  closedir(dp);
  ck_assert_int_ge(n, 3);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_paper_style) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_style *s = NULL;
  ck_assert_int_eq(ts_style_load(ctx, "paper", &c.d, &s), TS_OK);
  ck_assert_str_eq(s->page_name, "A4");
  ck_assert_int_eq(s->title_block, 1);
  ck_assert_str_eq(s->masthead, "{series} № {number}");
  ck_assert_str_eq(s->header_verso, "{series} № {number}");
  ck_assert_str_eq(s->header_recto, "{short-title}");
  ck_assert_str_eq(s->footer_recto, "{page}");
  ck_assert_int_eq(s->running_on_first, 0);
  ck_assert_uint_eq(s->accent, 0x8a1c1c);
  NEAR(s->footnote.size, 8.5);
  NEAR(s->footnote.leading, 10.5);
  ck_assert(s->margin_inner >= 40 * 72 / 25.4 && s->margin_outer >= 40 * 72 / 25.4);
  ts_style_destroy(s);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_book_style) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_style *s = NULL;
  ck_assert_int_eq(ts_style_load(ctx, "book", &c.d, &s), TS_OK);
  ck_assert_str_eq(s->page_name, "6x9in");
  NEAR(s->page_w, 432);
  NEAR(s->page_h, 648);
  ck_assert_int_eq(s->mirror, 1);
  ck_assert(s->margin_inner < s->margin_outer);
  ck_assert_int_eq(s->h[0].page_break_before, 1);
  ck_assert_int_eq(s->h[1].page_break_before, 0);
  ck_assert_int_eq(s->toc, 1);
  ck_assert_str_eq(s->header_verso, "{author}");
  ck_assert_str_eq(s->header_recto, "{title}");
  ck_assert_int_eq(s->running_on_first, 0);
  ck_assert_int_eq(s->epub_endnotes, 1);
  ck_assert_str_eq(s->fonts[TS_ROLE_BODY].features, "onum");
  ck_assert_str_eq(s->fonts[TS_ROLE_BODY].families[0], "Linux Libertine O"); /* kept */
  /* a whole number of body lines fits the text block */
  double lines = (s->page_h - s->margin_top - s->margin_bottom) / s->body.leading;
  NEAR(lines, floor(lines + 0.5));
  ts_style_destroy(s);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

START_TEST(test_load_usage) {
  ts_ctx *ctx = ctx_new();
  capture c;
  cap_open(&c);
  ts_style *s = NULL;
  ck_assert_int_eq(ts_style_load(ctx, "/nonexistent/x.yaml", &c.d, &s), TS_ERR_IO);
  ts_diag_init(&c.d, c.fp);
  ck_assert_int_eq(ts_style_load(ctx, "bad name", &c.d, &s), TS_ERR_INPUT);
  ck_assert_int_eq(ts_style_load(ctx, NULL, &c.d, &s), TS_ERR_USAGE);
  ck_assert_ptr_null(s);
  cap_close(&c);
  ts_ctx_destroy(ctx);
}
END_TEST

static Suite *style_suite(void) {
  Suite *su = suite_create("style");
  TCase *tc = tcase_create("style");
  tcase_add_test(tc, test_default_values);
  tcase_add_test(tc, test_default_equals_file);
  tcase_add_test(tc, test_default_yaml_complete);
  tcase_add_loop_test(tc, test_parse_length, 0, sizeof lengths / sizeof lengths[0]);
  tcase_add_loop_test(tc, test_each_key, 0, sizeof keys / sizeof keys[0]);
  tcase_add_test(tc, test_untouched_keys_keep_default);
  tcase_add_loop_test(tc, test_page_names, 0, sizeof pages / sizeof pages[0]);
  tcase_add_test(tc, test_base_files);
  tcase_add_test(tc, test_base_named);
  tcase_add_test(tc, test_base_cycle);
  tcase_add_test(tc, test_base_depth_and_missing);
  tcase_add_test(tc, test_unknown_key_warning);
  tcase_add_test(tc, test_unknown_key_flood_bounded);
  tcase_add_test(tc, test_template_warning);
  tcase_add_test(tc, test_mutations);
  tcase_add_loop_test(tc, test_invalid_values, 0, sizeof invalid / sizeof invalid[0]);
  tcase_add_test(tc, test_all_errors_reported);
  tcase_add_loop_test(tc, test_malformed, 0, sizeof malformed / sizeof malformed[0]);
  tcase_add_test(tc, test_alias_bomb);
  tcase_add_test(tc, test_deep_nesting);
  tcase_add_loop_test(tc, test_shipped_styles, 0, sizeof shipped / sizeof shipped[0]);
  tcase_add_test(tc, test_every_style_file);
  tcase_add_test(tc, test_paper_style);
  tcase_add_test(tc, test_book_style);
  tcase_add_test(tc, test_load_usage);
  suite_add_tcase(su, tc);
  return su;
}

int main(void) {
  SRunner *sr = srunner_create(style_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
