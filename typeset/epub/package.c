/* package.c — the EPUB's package files: style.css from the style, nav.xhtml
 * (toc + landmarks), toc.ncx for EPUB 2 readers and package.opf (EPUB 3.3
 * metadata with series collection and accessibility properties).
 *
 * The CSS is deliberately conservative (no custom properties, no calc, no
 * comments at all): Send-to-Kindle and older readers reject what epubcheck
 * passes (notes/field.md, "EPUB realities"). */
#include "epub_int.h"

#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>

/* Hands a finished buffer to *out (owned, free()) or reports OOM. */
static ts_status finish(ts_buf *b, char **out, size_t *len) {
  if (b->oom) {
    ts_buf_free(b);
    return TS_ERR_NOMEM;
  }
  *out = ts_buf_detach(b, len);
  return *out ? TS_OK : TS_ERR_NOMEM;
}

/* ---- CSS ---------------------------------------------------------------- */

/* A family name as a CSS string: quotes, backslashes and controls dropped. */
static void css_family(ts_buf *b, const char *f) {
  ts_buf_putc(b, '"');
  for (const unsigned char *p = (const unsigned char *)f; *p; p++)
    if (*p >= 0x20 && *p != '"' && *p != '\\' && *p != '<' && *p != 0x7F) ts_buf_putc(b, (char)*p);
  ts_buf_putc(b, '"');
}

/* Sans families the style may name without "Sans" in the name. */
static int looks_sans(const char *f) {
  static const char *const sans[] = {"Sans", "Biolinum", "Helvetica", "Arial", "Grotesk",
                                     "Gothic", "Inter", "Roboto", "Fira"};
  if (strstr(f, "Serif")) return 0;
  for (size_t i = 0; i < sizeof sans / sizeof sans[0]; i++)
    if (strstr(f, sans[i])) return 1;
  return 0;
}

static void css_families(ts_buf *b, const ts_style *s, ts_role r) {
  const ts_font_role *fr = &s->fonts[r];
  const char *generic = r == TS_ROLE_MONO ? "monospace" : "serif";
  ts_buf_puts(b, "font-family: ");
  for (int i = 0; i < fr->n_families && i < TS_STYLE_MAX_FAMILIES; i++) {
    if (!fr->families[i] || !fr->families[i][0]) continue;
    css_family(b, fr->families[i]);
    ts_buf_puts(b, ", ");
    if (i == 0 && r != TS_ROLE_MONO && looks_sans(fr->families[i])) generic = "sans-serif";
  }
  ts_buf_puts(b, generic);
  ts_buf_puts(b, ";\n");
  /* OpenType features of the role ("onum,smcp=0"): font-feature-settings */
  if (fr->features && fr->features[0]) {
    ts_buf tmp;
    ts_buf_init(&tmp);
    int n = 0;
    for (const char *p = fr->features; *p;) {
      while (*p == ',' || *p == ' ') p++;
      size_t k = strcspn(p, ",");
      if (k == 0) break;
      const char *eq = memchr(p, '=', k);
      size_t tl = eq ? (size_t)(eq - p) : k;
      while (tl > 0 && p[tl - 1] == ' ') tl--;
      int on = !(eq && eq[1] == '0');
      int ok = tl >= 1 && tl <= 4;
      for (size_t i = 0; i < tl && ok; i++)
        ok = (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
             (p[i] >= '0' && p[i] <= '9');
      if (ok) {
        ts_buf_puts(&tmp, n++ ? ", \"" : "\"");
        ts_buf_append(&tmp, p, tl);
        for (size_t i = tl; i < 4; i++) ts_buf_putc(&tmp, ' ');
        ts_buf_printf(&tmp, "\" %d", on);
      }
      p += k;
    }
    if (n && !tmp.oom) {
      ts_buf_puts(b, "font-feature-settings: ");
      ts_buf_append(b, tmp.data, tmp.len);
      ts_buf_puts(b, ";\n");
    }
    ts_buf_free(&tmp);
  }
}

static void css_em(ts_buf *b, const char *prop, double v, double em) {
  ts_buf_printf(b, "%s: ", prop);
  ts_buf_num(b, em > 0 ? v / em : 0, 3);
  ts_buf_puts(b, v != 0 ? "em;\n" : ";\n");
}

static void css_color(ts_buf *b, const char *prop, uint32_t c) {
  ts_buf_printf(b, "%s: #%06X;\n", prop, (unsigned)(c & 0xFFFFFF));
}

static const char *css_align(ts_align a) {
  switch (a) {
  case TS_RAGGED_RIGHT: return "left";
  case TS_CENTER: return "center";
  case TS_RAGGED_LEFT: return "right";
  default: return "justify";
  }
}

/* hyphens with the prefixed forms older WebKit and EPUB readers know */
static void css_hyphens(ts_buf *b, const char *v) {
  ts_buf_printf(b, "-webkit-hyphens: %s;\n-epub-hyphens: %s;\nhyphens: %s;\n", v, v, v);
}

/* font-weight, font-style, font-variant and text-transform of a block style */
static void css_face(ts_buf *b, const ts_block_style *bs) {
  ts_buf_puts(b, bs->bold ? "font-weight: bold;\n" : "font-weight: normal;\n");
  ts_buf_puts(b, bs->italic ? "font-style: italic;\n" : "font-style: normal;\n");
  if (bs->smallcaps) ts_buf_puts(b, "font-variant: small-caps;\n");
  if (bs->uppercase) ts_buf_puts(b, "text-transform: uppercase;\n");
}

/* Size relative to the body and line height relative to the own size. */
static void css_size(ts_buf *b, const ts_block_style *bs, double body) {
  if (bs->size > 0 && body > 0) css_em(b, "font-size", bs->size, body);
  if (bs->leading > 0 && bs->size > 0) {
    ts_buf_puts(b, "line-height: ");
    ts_buf_num(b, bs->leading / bs->size, 3);
    ts_buf_puts(b, ";\n");
  }
}

static void css_block(ts_buf *b, const char *sel, const ts_block_style *bs, double body,
                      const ts_style *s) {
  ts_buf_printf(b, "%s {\n", sel);
  if (bs->role != TS_ROLE_BODY) css_families(b, s, bs->role);
  css_size(b, bs, body);
  css_face(b, bs);
  double own = bs->size > 0 ? bs->size : body;
  ts_buf_puts(b, "margin: ");
  ts_buf_num(b, own > 0 ? bs->space_before / own : 0, 3);
  ts_buf_puts(b, bs->space_before != 0 ? "em 0 " : " 0 ");
  ts_buf_num(b, own > 0 ? bs->space_after / own : 0, 3);
  ts_buf_puts(b, bs->space_after != 0 ? "em 0;\n" : " 0;\n");
  ts_buf_printf(b, "text-align: %s;\n", css_align(bs->align));
  if (bs->color != s->text_color) css_color(b, "color", bs->color);
  /* a block set in a heading element (the title's h1) would take that
   * level's colour: the body's instead, as on the PDF's first page */
  else if (sel[0] == 'h' && sel[1] >= '1' && sel[1] <= '6') ts_buf_puts(b, "color: inherit;\n");
  ts_buf_puts(b, "}\n");
}

ts_status epub_write_css(epub *E) {
  const ts_style *s = E->style;
  double body = s->body.size > 0 ? s->body.size : 10;
  ts_buf b;
  ts_buf_init(&b);
  for (size_t i = 0; i < E->n_fonts; i++) {
    const efont *f = &E->fonts[i];
    ts_buf_puts(&b, "@font-face {\nfont-family: ");
    css_family(&b, f->family);
    ts_buf_printf(&b, ";\nfont-weight: %s;\nfont-style: %s;\nsrc: url(%s);\n}\n",
                  f->weight >= 600 ? "bold" : "normal", f->italic ? "italic" : "normal",
                  f->name);
  }
  /* body text */
  ts_buf_puts(&b, "body {\n");
  css_families(&b, s, TS_ROLE_BODY);
  if (s->body.leading > 0) {
    ts_buf_puts(&b, "line-height: ");
    ts_buf_num(&b, s->body.leading / body, 3);
    ts_buf_puts(&b, ";\n");
  }
  css_color(&b, "color", s->text_color);
  ts_buf_puts(&b, "margin: 0 0.5em;\n}\n");
  ts_buf_puts(&b, "p {\nmargin: 0;\ntext-indent: 0;\n");
  ts_buf_printf(&b, "text-align: %s;\n", css_align(s->body.align));
  css_hyphens(&b, s->hyphenate ? "auto" : "manual");
  ts_buf_puts(&b, "widows: 2;\norphans: 2;\n}\n");
  /* the first paragraph after a heading (or anything but a paragraph) is
   * not indented; following ones are (TeX's \parindent convention) */
  ts_buf_puts(&b, "body.chapter p + p {\n");
  css_em(&b, "text-indent", s->body.indent, body);
  if (s->par_skip > 0) css_em(&b, "margin-top", s->par_skip, body);
  ts_buf_puts(&b, "}\n");
  /* headings */
  for (int i = 0; i < 6; i++) {
    char sel[8];
    (void)snprintf(sel, sizeof sel, "h%d", i + 1); /* fits: "h1".."h6" */
    const ts_heading_style *h = &s->h[i];
    ts_buf_printf(&b, "%s {\n", sel);
    css_families(&b, s, h->b.role);
    css_size(&b, &h->b, body);
    css_face(&b, &h->b);
    double own = h->b.size > 0 ? h->b.size : body;
    ts_buf_puts(&b, "margin: ");
    ts_buf_num(&b, h->b.space_before / own, 3);
    ts_buf_puts(&b, h->b.space_before != 0 ? "em 0 " : " 0 ");
    ts_buf_num(&b, h->b.space_after / own, 3);
    ts_buf_puts(&b, h->b.space_after != 0 ? "em 0;\n" : " 0;\n");
    ts_buf_printf(&b, "text-align: %s;\n", h->b.align == TS_JUSTIFY ? "left" : css_align(h->b.align));
    css_color(&b, "color", h->b.color);
    css_hyphens(&b, "manual");
    ts_buf_puts(&b, "page-break-after: avoid;\nbreak-after: avoid;\n}\n");
  }
  ts_buf_puts(&b, ".secnum {\nmargin-right: 0.5em;\n}\n");
  /* blocks */
  ts_buf_puts(&b, "blockquote {\n");
  css_size(&b, &s->quote, body);
  ts_buf_puts(&b, "margin: 0.6em ");
  ts_buf_num(&b, s->quote.indent > 0 ? s->quote.indent / body : 1.5, 3);
  ts_buf_puts(&b, "em;\n}\n");
  ts_buf_printf(&b, "blockquote p {\ntext-align: %s;\n}\n", css_align(s->quote.align));
  /* a quotation's source ("— UNCLOS, Article 234") flush right, as printed */
  ts_buf_puts(&b, "body.chapter p.source {\ntext-align: right;\ntext-indent: 0;\n}\n");
  ts_buf_puts(&b, "pre {\n");
  css_families(&b, s, TS_ROLE_MONO);
  css_size(&b, &s->code, body);
  ts_buf_puts(&b, "white-space: pre-wrap;\ntext-align: left;\nmargin: 0.6em 0;\n");
  css_hyphens(&b, "none");
  ts_buf_puts(&b, "}\ncode {\n");
  css_families(&b, s, TS_ROLE_MONO);
  css_hyphens(&b, "none");
  ts_buf_puts(&b, "}\n");
  ts_buf_puts(&b, "pre code {\nfont-size: 1em;\n}\n");
  ts_buf_puts(&b, "ul, ol {\nmargin: 0.4em 0;\npadding-left: ");
  ts_buf_num(&b, s->list.indent > 0 ? s->list.indent / body : 1.5, 3);
  ts_buf_puts(&b, "em;\n");
  css_size(&b, &s->list, body); /* a nested list's 1em is its parent's size */
  ts_buf_puts(&b, "}\nul ul, ul ol, ol ul, ol ol {\nfont-size: 1em;\n}\n");
  /* list items set as the print edition sets them (aligned and hyphenated
   * like it; the body's rule covers only p) */
  ts_buf_printf(&b, "li, li p {\ntext-align: %s;\n", css_align(s->list.align));
  css_hyphens(&b, s->hyphenate ? "auto" : "manual");
  ts_buf_puts(&b, "}\nli p {\ntext-indent: 0;\n}\n");
  ts_buf_puts(&b, "hr {\nborder: 0;\nborder-top: 1px solid ");
  ts_buf_printf(&b, "#%06X", (unsigned)(s->rule_color & 0xFFFFFF));
  ts_buf_puts(&b, ";\nwidth: 30%;\nmargin: 1em auto;\n}\n");
  ts_buf_puts(&b, "table {\nborder-collapse: collapse;\nmargin: 0.8em auto;\n");
  css_size(&b, &s->table, body);
  ts_buf_puts(&b, "}\nth, td {\npadding: 0.2em 0.5em;\nvertical-align: top;\ntext-align: left;\n}\n");
  ts_buf_printf(&b, "thead th {\nborder-bottom: 1px solid #%06X;\n}\n",
                (unsigned)(s->rule_color & 0xFFFFFF));
  /* the caption above the table, in the body's size (the table's 1em is
   * its own smaller size) and unindented, as printed */
  ts_buf_puts(&b, "caption {\ncaption-side: top;\ntext-align: left;\ntext-indent: 0;\n");
  if (s->table.size > 0) css_em(&b, "font-size", body, s->table.size);
  ts_buf_puts(&b, "margin-bottom: 0.3em;\n}\n");
  ts_buf_puts(&b, "th.al, td.al {\ntext-align: left;\n}\nth.ac, td.ac {\ntext-align: center;\n}\n"
                  "th.ar, td.ar {\ntext-align: right;\n}\n");
  ts_buf_puts(&b, "figure {\nmargin: 0.8em 0;\ntext-align: center;\npage-break-inside: avoid;\n}\n"
                  "figure img {\nmax-width: 100%;\n}\n");
  css_block(&b, "figcaption", &s->caption, body, s);
  ts_buf_puts(&b, "img.inline {\nmax-width: 100%;\nvertical-align: middle;\n}\n");
  /* a link in running text is underlined as well as coloured: the package
   * claims WCAG 2.1 AA, whose 1.4.1 forbids telling links from text by colour
   * alone (Ace by DAISY checks it); a note reference is told apart by its
   * size and position instead, and the navigation's links are whole entries */
  ts_buf_puts(&b, "a {\n");
  css_color(&b, "color", s->link_color);
  ts_buf_puts(&b, "text-decoration: underline;\n}\nnav a {\ntext-decoration: none;\n}\n");
  /* an address shown as text breaks at its <wbr/>s, never hyphenated */
  ts_buf_puts(&b, "a.url {\n");
  css_hyphens(&b, "manual");
  ts_buf_puts(&b, "}\n");
  /* notes: the reference is superscript by class, so the <a> has no child */
  ts_buf_puts(&b, ".noteref {\nvertical-align: super;\nfont-size: 0.7em;\nline-height: 0;\n"
                  "text-decoration: none;\n}\n");
  ts_buf_puts(&b, "aside.footnote, li.note {\n");
  css_size(&b, &s->footnote, body);
  ts_buf_puts(&b, "margin: 0.3em 0;\n}\n");
  ts_buf_puts(&b, "aside.footnote p, li.note p {\ntext-indent: 0;\n}\n");
  ts_buf_printf(&b, "aside.footnote {\nborder-top: 1px solid #%06X;\npadding-top: 0.3em;\n}\n",
                (unsigned)(s->rule_color & 0xFFFFFF));
  /* one rule above a chapter's notes, not one per note */
  ts_buf_puts(&b, "aside.footnote + aside.footnote {\nborder-top: 0;\npadding-top: 0;\n}\n");
  ts_buf_puts(&b, "ol.notes {\nlist-style-type: none;\npadding-left: 0;\n}\n");
  /* title page, after the PDF's first page */
  ts_buf_puts(&b, ".titlepage, .cover {\ntext-align: left;\n}\n");
  /* the masthead: text on an accent band when the colours contrast, else
   * accent text over a rule (as page_title.c draws it) */
  ts_buf_puts(&b, ".masthead {\n");
  css_size(&b, &s->masthead_style, body);
  css_face(&b, &s->masthead_style);
  ts_buf_puts(&b, "text-indent: 0;\ntext-align: left;\nmargin: 0 0 1.5em 0;\n");
  if (s->masthead_style.color != s->accent) {
    css_color(&b, "color", s->masthead_style.color);
    css_color(&b, "background-color", s->accent);
    ts_buf_puts(&b, "padding: 0.35em 0.5em;\n");
  } else {
    css_color(&b, "color", s->accent);
    ts_buf_printf(&b, "border-bottom: 1px solid #%06X;\npadding-bottom: 0.3em;\n",
                  (unsigned)(s->accent & 0xFFFFFF));
  }
  ts_buf_puts(&b, "}\n.masthead .issn {\nfloat: right;\nfont-weight: normal;\n}\n");
  ts_buf_printf(&b, "section.titlepage {\nborder-bottom: 0.5px solid #%06X;\npadding-bottom: 1em;\n}\n",
                (unsigned)(s->accent & 0xFFFFFF));
  css_block(&b, "h1.title, h1.cover-title", &s->title, body, s);
  css_block(&b, "p.subtitle, p.cover-subtitle", &s->subtitle, body, s);
  ts_buf_puts(&b, "div.author {\nmargin: 1em 0;\n}\n");
  css_block(&b, "p.author-name, p.cover-author", &s->author, body, s);
  css_block(&b, "p.degree, p.affiliation, p.address, p.email, p.author-ids",
            &s->affiliation, body, s);
  ts_buf_puts(&b, "p.author-ids, p.email {\nfont-style: normal;\n}\n"
                  ".author-id {\nmargin-right: 1em;\nwhite-space: nowrap;\n}\n");
  ts_buf_puts(&b, "div.author p {\nmargin: 0;\n}\n");
  ts_buf_puts(&b, "section.abstract {\nmargin: 1.5em 0;\n}\n");
  css_block(&b, "section.abstract p", &s->abstract, body, s);
  ts_buf_puts(&b, "h2.abstract-title, h2.notes-title {\nfont-size: 1em;\nmargin: 1em 0 0.3em 0;\n}\n");
  css_block(&b, "p.keywords", &s->keywords, body, s);
  ts_buf_puts(&b, ".keywords-label {\nfont-weight: bold;\n}\n");
  /* the generated cover: the title page's lines, larger, the title a
   * third of the way down (a margin in % is of the width: conservative
   * CSS has no way to place by the screen's height) */
  ts_buf_puts(&b, "h1.cover-title {\n");
  if (s->title.size > 0) css_em(&b, "font-size", s->title.size * 1.25, body);
  ts_buf_puts(&b, "margin: 30% 0 0.4em 0;\n}\n");
  if (s->subtitle.size > 0) {
    ts_buf_puts(&b, "p.cover-subtitle {\n");
    css_em(&b, "font-size", s->subtitle.size * 1.15, body);
    ts_buf_puts(&b, "}\n");
  }
  ts_buf_puts(&b, "p.cover-author {\n");
  if (s->author.size > 0) css_em(&b, "font-size", s->author.size * 1.25, body);
  ts_buf_puts(&b, "margin-top: 1.2em;\n}\n");
  ts_buf_puts(&b, "div.cover-image {\ntext-align: center;\n}\ndiv.cover-image img {\n"
                  "max-width: 100%;\nmax-height: 100%;\n}\n");
  return finish(&b, &E->css, &E->css_len);
}

/* ---- language of parts ------------------------------------------------------
 * WCAG 2.1 3.1.2 (Language of Parts, level AA, which the package claims)
 * asks that a passage in another language be marked with it.  The model
 * knows no passage's language (Markdown has no syntax for it), so a block
 * (paragraph, heading, table cell; a note's, the abstract's; the title and
 * subtitle) that holds FOREIGN_PASSAGE letters or more in scripts the
 * document's language is not written in is a passage a reader cannot
 * identify: the package then claims no conformance and says why.  A block
 * a fenced div marks (`::: {lang=ru}`) is measured against its own
 * language instead: the EPUB carries that language.  Names,
 * terms and single words stay below the threshold (WCAG exempts them); a
 * Han, kana or Hangul character weighs FOREIGN_CJK letters (it is about a
 * word).  The scripts of a language are ICU's (uscript_getCode: ru → Cyrl,
 * ja → Kana Hira Hani); letters of the Common and Inherited scripts never
 * count. */
#define FOREIGN_PASSAGE 20
#define FOREIGN_CJK 3

typedef struct lang_scripts {
  UScriptCode own[8];
  int n_own; /* 0: the language's scripts are unknown and nothing is foreign */
} lang_scripts;

/* The scripts of the languages most papers are written in, as ICU gives
 * them: ICU finds them through the locale's likely subtags, whose data it
 * loads on the first call — 0.5 ms of a fresh EPUB's main thread, for the
 * package's one question.  A bare language code in this table is answered
 * here; any other (a region or script subtag, a language not listed) by
 * ICU.  tests/epub checks every row against uscript_getCode, except yi:
 * ICU reads "yi" as the Yi script's own code, and Yiddish is written in
 * Hebrew letters. */
static const struct {
  char lang[4];
  unsigned char n;
  UScriptCode s[3];
} known_scripts[] = {
#define L1(c, a) {c, 1, {USCRIPT_##a, 0, 0}}
    L1("af", LATIN),      L1("am", ETHIOPIC),  L1("ar", ARABIC),     L1("az", LATIN),
    L1("be", CYRILLIC),   L1("bg", CYRILLIC),  L1("bn", BENGALI),    L1("bs", LATIN),
    L1("ca", LATIN),      L1("cs", LATIN),     L1("cy", LATIN),      L1("da", LATIN),
    L1("de", LATIN),      L1("el", GREEK),     L1("en", LATIN),      L1("es", LATIN),
    L1("et", LATIN),      L1("eu", LATIN),     L1("fa", ARABIC),     L1("fi", LATIN),
    L1("fr", LATIN),      L1("ga", LATIN),     L1("gl", LATIN),      L1("gu", GUJARATI),
    L1("he", HEBREW),     L1("hi", DEVANAGARI), L1("hr", LATIN),     L1("hu", LATIN),
    L1("hy", ARMENIAN),   L1("id", LATIN),     L1("is", LATIN),      L1("it", LATIN),
    {"ja", 3, {USCRIPT_KATAKANA, USCRIPT_HIRAGANA, USCRIPT_HAN}},
    L1("ka", GEORGIAN),   L1("kk", CYRILLIC),  L1("km", KHMER),      L1("kn", KANNADA),
    {"ko", 2, {USCRIPT_HANGUL, USCRIPT_HAN, 0}},
    L1("la", LATIN),      L1("lo", LAO),       L1("lt", LATIN),      L1("lv", LATIN),
    L1("mk", CYRILLIC),   L1("ml", MALAYALAM), L1("mn", CYRILLIC),   L1("mr", DEVANAGARI),
    L1("ms", LATIN),      L1("mt", LATIN),     L1("my", MYANMAR),    L1("nb", LATIN),
    L1("nl", LATIN),      L1("nn", LATIN),     L1("no", LATIN),      L1("pa", GURMUKHI),
    L1("pl", LATIN),      L1("pt", LATIN),     L1("ro", LATIN),      L1("ru", CYRILLIC),
    L1("sk", LATIN),      L1("sl", LATIN),     L1("sq", LATIN),      L1("sr", CYRILLIC),
    L1("sv", LATIN),      L1("sw", LATIN),     L1("ta", TAMIL),      L1("te", TELUGU),
    L1("th", THAI),       L1("tl", LATIN),     L1("tr", LATIN),      L1("uk", CYRILLIC),
    L1("ur", ARABIC),     L1("vi", LATIN),     L1("yi", HEBREW),     L1("zh", HAN),
#undef L1
};

int epub_lang_scripts(const char *lang, UScriptCode *out, int cap, int use_table) {
  size_t len = strlen(lang);
  if (use_table && len >= 2 && len <= 3) {
    char lc[4] = {0};
    for (size_t i = 0; i < len; i++)
      lc[i] = (char)(lang[i] >= 'A' && lang[i] <= 'Z' ? lang[i] - 'A' + 'a' : lang[i]);
    for (size_t i = 0; i < sizeof known_scripts / sizeof known_scripts[0]; i++)
      if (strcmp(known_scripts[i].lang, lc) == 0) {
        int n = known_scripts[i].n < cap ? known_scripts[i].n : cap;
        for (int j = 0; j < n; j++) out[j] = known_scripts[i].s[j];
        return n;
      }
  }
  UErrorCode e = U_ZERO_ERROR;
  int n = uscript_getCode(lang, out, cap, &e);
  return U_FAILURE(e) || n < 0 ? 0 : n > cap ? cap : n;
}

static void lang_scripts_of(const char *lang, lang_scripts *ls) {
  ls->n_own = epub_lang_scripts(lang, ls->own, 8, 1);
}

static unsigned foreign_weight(const lang_scripts *ls, const char *s, size_t n) {
  unsigned w = 0;
  int latin_own = 0; /* ASCII: its letters are Latin, the rest is no letter */
  for (int j = 0; j < ls->n_own; j++) latin_own |= ls->own[j] == USCRIPT_LATIN;
  for (size_t i = 0; i < n && w < FOREIGN_PASSAGE;) {
    if ((unsigned char)s[i] < 0x80) {
      unsigned char c = (unsigned char)s[i++];
      if (latin_own || !((c | 0x20) >= 'a' && (c | 0x20) <= 'z')) continue;
      w++; /* a Latin letter in a paper of another script */
      continue;
    }
    uint32_t cp;
    size_t k = ts_utf8_decode(s + i, n - i, &cp);
    i += k ? k : 1;
    if (!u_isalpha((UChar32)cp)) continue;
    UErrorCode e = U_ZERO_ERROR;
    UScriptCode sc = uscript_getScript((UChar32)cp, &e);
    if (U_FAILURE(e) || sc == USCRIPT_COMMON || sc == USCRIPT_INHERITED) continue;
    int own = 0;
    for (int j = 0; j < ls->n_own && !own; j++) own = ls->own[j] == sc;
    if (own) continue;
    w += sc == USCRIPT_HAN || sc == USCRIPT_HIRAGANA || sc == USCRIPT_KATAKANA ||
                 sc == USCRIPT_HANGUL
             ? FOREIGN_CJK
             : 1;
  }
  return w;
}

/* 1 when a block under root holds a passage in a foreign script.  Walks the
 * tree without recursion (2,000 nested quotes are legal input); code is not
 * a language and is skipped. */
static int tree_has_foreign(const lang_scripts *ls, const ts_node *root) {
  const ts_node *block = NULL; /* the block whose letters are being counted */
  unsigned w = 0;
  lang_scripts own;            /* the block's, when a fenced div gave it a language */
  const lang_scripts *cur = ls;
  for (const ts_node *n = root; n;) {
    int is_block = n->type == TS_NODE_PARAGRAPH || n->type == TS_NODE_HEADING ||
                   n->type == TS_NODE_TABLE_CELL || n->type == TS_NODE_FIGURE;
    if (is_block && !block) {
      block = n;
      w = 0;
      cur = ls;
      if (n->lang) {
        lang_scripts_of(n->lang, &own);
        cur = &own; /* unknown scripts (n_own 0): nothing in it is foreign */
      }
    }
    /* text in a span of another language is measured against that one */
    const ts_node *sp = NULL;
    for (const ts_node *a = n->parent; a && a != block && !sp; a = a->parent)
      if (a->type == TS_NODE_SPAN && a->lang) sp = a;
    lang_scripts span_ls;
    const lang_scripts *use = cur;
    if (sp && n->type == TS_NODE_TEXT) {
      lang_scripts_of(sp->lang, &span_ls);
      use = &span_ls;
    }
    if (n->type == TS_NODE_TEXT && n->text && use->n_own) {
      w += foreign_weight(use, n->text, n->len);
      if (w >= FOREIGN_PASSAGE) return 1;
    }
    /* next: the first child (not into code), else the next sibling of the
     * nearest node that has one, leaving the block when passing it */
    const ts_node *next = (n->type != TS_NODE_CODE && n->type != TS_NODE_CODEBLOCK) ? n->first
                                                                                    : NULL;
    while (!next && n) {
      if (n == block) block = NULL;
      if (n == root) return 0;
      next = n->next;
      n = n->parent;
    }
    n = next;
  }
  return 0;
}

/* 1 when the document holds a passage whose language cannot be told. */
static int has_foreign_passage(const epub *E) {
  lang_scripts ls;
  lang_scripts_of(E->lang, &ls);
  if (ls.n_own == 0) return 0;
  const ts_doc *doc = E->doc;
  const ts_meta *m = &doc->meta;
  if (m->title && foreign_weight(&ls, m->title, strlen(m->title)) >= FOREIGN_PASSAGE) return 1;
  if (m->subtitle && foreign_weight(&ls, m->subtitle, strlen(m->subtitle)) >= FOREIGN_PASSAGE)
    return 1;
  if (m->abstract && tree_has_foreign(&ls, m->abstract)) return 1;
  if (doc->root && tree_has_foreign(&ls, doc->root)) return 1;
  for (size_t i = 0; i < doc->n_notes; i++)
    if (doc->notes[i] && tree_has_foreign(&ls, doc->notes[i])) return 1;
  return 0;
}

/* ---- nav.xhtml ------------------------------------------------------------ */

static void head_href(const epub *E, ts_buf *b, const ehead *h) {
  ts_buf_puts(b, E->files[h->file].name);
  ts_buf_putc(b, '#');
  ts_buf_puts(b, h->id);
}

static void head_label(epub *E, ts_buf *b, const ehead *h) {
  if (h->num) {
    ts_buf_puts(b, h->num);
    ts_buf_putc(b, ' ');
  }
  if (h->text && h->text[0]) epub_text(E, b, h->text, strlen(h->text));
  else ts_buf_puts(b, h->id);
}

ts_status epub_write_nav(epub *E) {
  ts_buf b;
  ts_buf_init(&b);
  epub_xhtml_head(E, &b, E->title, NULL);
  ts_buf_puts(&b, "<nav epub:type=\"toc\" id=\"toc\" role=\"doc-toc\">\n<h1>");
  const char *lbl = epub_label(E, "contents");
  epub_text(E, &b, lbl, strlen(lbl));
  ts_buf_puts(&b, "</h1>\n");
  /* nested lists from the heading levels: a deeper heading opens a list in
   * the current item, a shallower one closes lists down to its level */
  int stack[8];
  int depth = 0;
  for (size_t i = 0; i < E->n_heads; i++) {
    const ehead *h = &E->heads[i];
    if (!h->top) continue;
    if (depth == 0) {
      ts_buf_puts(&b, "<ol>\n<li>");
      stack[depth++] = h->level;
    } else if (h->level > stack[depth - 1] && depth < 7) {
      ts_buf_puts(&b, "\n<ol>\n<li>");
      stack[depth++] = h->level;
    } else {
      while (depth > 1 && stack[depth - 2] >= h->level) {
        ts_buf_puts(&b, "</li>\n</ol>\n");
        depth--;
      }
      ts_buf_puts(&b, "</li>\n<li>");
      stack[depth - 1] = h->level;
    }
    ts_buf_puts(&b, "<a href=\"");
    head_href(E, &b, h);
    ts_buf_puts(&b, "\">");
    head_label(E, &b, h);
    ts_buf_puts(&b, "</a>");
  }
  if (depth == 0) {
    ts_buf_puts(&b, "<ol>\n<li><a href=\"titlepage.xhtml\">");
    epub_text(E, &b, E->title, strlen(E->title));
    ts_buf_puts(&b, "</a></li>\n</ol>\n");
  }
  while (depth > 0) {
    ts_buf_puts(&b, "</li>\n</ol>\n");
    depth--;
  }
  ts_buf_puts(&b, "</nav>\n<nav epub:type=\"landmarks\" id=\"landmarks\" hidden=\"hidden\">\n<h2>");
  lbl = epub_label(E, "landmarks");
  epub_text(E, &b, lbl, strlen(lbl));
  ts_buf_puts(&b, "</h2>\n<ol>\n<li><a epub:type=\"cover\" href=\"cover.xhtml\">");
  lbl = epub_label(E, "cover");
  epub_text(E, &b, lbl, strlen(lbl));
  ts_buf_puts(&b, "</a></li>\n<li><a epub:type=\"titlepage\" href=\"titlepage.xhtml\">");
  lbl = epub_label(E, "titlepage");
  epub_text(E, &b, lbl, strlen(lbl));
  ts_buf_printf(&b, "</a></li>\n<li><a epub:type=\"bodymatter\" href=\"%s\">",
                E->files[E->first_chapter].name);
  lbl = epub_label(E, "start");
  epub_text(E, &b, lbl, strlen(lbl));
  ts_buf_puts(&b, "</a></li>\n</ol>\n</nav>\n");
  if (E->n_pages) { /* the print edition's pages (epub.c, pages_init) */
    lbl = epub_label(E, "pages");
    ts_buf_puts(&b, "<nav epub:type=\"page-list\" id=\"page-list\" role=\"doc-pagelist\" "
                    "aria-label=\"");
    epub_text(E, &b, lbl, strlen(lbl));
    ts_buf_puts(&b, "\" hidden=\"hidden\">\n<h2>");
    epub_text(E, &b, lbl, strlen(lbl));
    ts_buf_puts(&b, "</h2>\n<ol>\n");
    for (size_t i = 0; i < E->n_pages; i++)
      if (E->pages[i].file >= 0)
        ts_buf_printf(&b, "<li><a href=\"%s#p%zu\">%d</a></li>\n",
                      E->files[E->pages[i].file].name, i + 1, E->pages[i].number);
    ts_buf_puts(&b, "</ol>\n</nav>\n");
  }
  ts_buf_puts(&b, "</body>\n</html>\n");
  return finish(&b, &E->nav, &E->nav_len);
}

/* ---- toc.ncx ------------------------------------------------------------------ */

/* The NCX's playOrder of an entry written as `seq`-th (epub.seq): its place
 * among the top-level headings and the page markers in reading order
 * (those are written in that order, so the rank of seq is the place). */
static int play_order(const epub *E, uint32_t seq, int fallback) {
  int k = fallback; /* the one navPoint of a book without headings comes first */
  for (size_t i = 0; i < E->n_heads; i++)
    if (E->heads[i].top && E->heads[i].seq <= seq) k++;
  for (size_t i = 0; i < E->n_pages; i++)
    if (E->pages[i].file >= 0 && E->pages[i].seq <= seq) k++;
  return k;
}

ts_status epub_write_ncx(epub *E) {
  ts_buf body, b;
  ts_buf_init(&body);
  ts_buf_init(&b);
  int stack[8];
  int depth = 0, maxdepth = 1, order = 0;
  for (size_t i = 0; i < E->n_heads; i++) {
    const ehead *h = &E->heads[i];
    if (!h->top) continue;
    while (depth > 0 && (stack[depth - 1] >= h->level || depth >= 7)) {
      ts_buf_puts(&body, "</navPoint>\n");
      depth--;
    }
    order++;
    ts_buf_printf(&body, "<navPoint id=\"np-%d\" playOrder=\"%d\">\n<navLabel><text>", order,
                  E->n_pages ? play_order(E, h->seq, 0) : order);
    head_label(E, &body, h);
    ts_buf_puts(&body, "</text></navLabel>\n<content src=\"");
    head_href(E, &body, h);
    ts_buf_puts(&body, "\"/>\n");
    stack[depth++] = h->level;
    if (depth > maxdepth) maxdepth = depth;
  }
  while (depth > 0) {
    ts_buf_puts(&body, "</navPoint>\n");
    depth--;
  }
  if (order == 0) {
    ts_buf_puts(&body, "<navPoint id=\"np-1\" playOrder=\"1\">\n<navLabel><text>");
    epub_text(E, &body, E->title, strlen(E->title));
    ts_buf_puts(&body, "</text></navLabel>\n<content src=\"titlepage.xhtml\"/>\n</navPoint>\n");
  }
  /* the print edition's pages (epub.c, pages_init), for EPUB 2 readers */
  ts_buf pl;
  ts_buf_init(&pl);
  int n_placed = 0, max_page = 0;
  if (E->n_pages) {
    const char *lbl = epub_label(E, "pages");
    ts_buf_puts(&pl, "<pageList>\n<navLabel><text>");
    epub_text(E, &pl, lbl, strlen(lbl));
    ts_buf_puts(&pl, "</text></navLabel>\n");
    for (size_t i = 0; i < E->n_pages; i++) {
      const epage *pg = &E->pages[i];
      if (pg->file < 0) continue;
      n_placed++;
      if (pg->number > max_page) max_page = pg->number;
      ts_buf_printf(&pl, "<pageTarget id=\"pt-%zu\" type=\"normal\" value=\"%d\" "
                         "playOrder=\"%d\">\n<navLabel><text>%d</text></navLabel>\n"
                         "<content src=\"%s#p%zu\"/>\n</pageTarget>\n",
                    i + 1, pg->number, play_order(E, pg->seq, order == 0), pg->number,
                    E->files[pg->file].name, i + 1);
    }
    ts_buf_puts(&pl, "</pageList>\n");
  }
  ts_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<ncx xmlns=\"http://www.daisy.org/z3986/2005/ncx/\" version=\"2005-1\" xml:lang=\"");
  ts_buf_puts(&b, E->lang);
  ts_buf_puts(&b, "\">\n<head>\n<meta name=\"dtb:uid\" content=\"");
  ts_buf_xml(&b, E->identifier, strlen(E->identifier));
  ts_buf_printf(&b, "\"/>\n<meta name=\"dtb:depth\" content=\"%d\"/>\n"
                    "<meta name=\"dtb:totalPageCount\" content=\"%d\"/>\n"
                    "<meta name=\"dtb:maxPageNumber\" content=\"%d\"/>\n</head>\n"
                    "<docTitle><text>", maxdepth, n_placed, max_page);
  epub_text(E, &b, E->title, strlen(E->title));
  ts_buf_puts(&b, "</text></docTitle>\n<navMap>\n");
  ts_buf_append(&b, body.data ? body.data : "", body.len);
  ts_buf_puts(&b, "</navMap>\n");
  ts_buf_append(&b, pl.data ? pl.data : "", pl.len);
  ts_buf_puts(&b, "</ncx>\n");
  if (body.oom || pl.oom) b.oom = 1;
  ts_buf_free(&body);
  ts_buf_free(&pl);
  return finish(&b, &E->ncx, &E->ncx_len);
}

/* ---- package.opf ------------------------------------------------------------ */

static void meta_el(ts_buf *b, const char *el, const char *attrs, const char *text) {
  ts_buf_printf(b, "<%s%s>", el, attrs ? attrs : "");
  ts_buf_xml(b, text, strlen(text));
  ts_buf_printf(b, "</%s>\n", el);
}

/* "Last, First Middle" unless the name already has a comma or one word. */
static void file_as(ts_buf *b, const char *name) {
  const char *sp = strrchr(name, ' ');
  if (strchr(name, ',') || !sp || !sp[1]) {
    ts_buf_xml(b, name, strlen(name));
    return;
  }
  ts_buf_xml(b, sp + 1, strlen(sp + 1));
  ts_buf_puts(b, ", ");
  ts_buf_xml(b, name, (size_t)(sp - name));
}

static int numeric_position(const char *s) {
  if (!s || !(*s >= '0' && *s <= '9')) return 0;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || *s == '.')) return 0;
  return s[-1] != '.';
}

ts_status epub_write_opf(epub *E) {
  const ts_meta *m = &E->doc->meta;
  ts_buf b;
  ts_buf_init(&b);
  char mod[40];
  epub_format_modified(E, mod, sizeof mod);
  ts_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\" "
                  "unique-identifier=\"pub-id\" xml:lang=\"");
  ts_buf_puts(&b, E->lang);
  ts_buf_puts(&b, "\" prefix=\"a11y: http://www.idpf.org/epub/vocab/package/a11y/#\">\n"
                  "<metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n");
  meta_el(&b, "dc:identifier", " id=\"pub-id\"", E->identifier);
  /* exactly one dc:title (stores reject a second one): "Title: Subtitle" */
  ts_buf_puts(&b, "<dc:title id=\"title\">");
  ts_buf_xml(&b, E->title, strlen(E->title));
  if (m->subtitle && m->subtitle[0]) {
    size_t tl = strlen(E->title);
    char last = tl ? E->title[tl - 1] : 0;
    ts_buf_puts(&b, (last == '?' || last == '!' || last == ':' || last == '.') ? " " : ": ");
    ts_buf_xml(&b, m->subtitle, strlen(m->subtitle));
  }
  ts_buf_puts(&b, "</dc:title>\n<meta refines=\"#title\" property=\"title-type\">main</meta>\n");
  meta_el(&b, "dc:language", NULL, E->lang);
  for (size_t i = 0; i < m->n_authors; i++) {
    const char *name = m->authors[i].name;
    if (!name || !name[0]) continue;
    ts_buf_printf(&b, "<dc:creator id=\"creator-%zu\">", i + 1);
    ts_buf_xml(&b, name, strlen(name));
    ts_buf_printf(&b, "</dc:creator>\n<meta refines=\"#creator-%zu\" property=\"role\" "
                      "scheme=\"marc:relators\">aut</meta>\n"
                      "<meta refines=\"#creator-%zu\" property=\"file-as\">", i + 1, i + 1);
    file_as(&b, name);
    ts_buf_printf(&b, "</meta>\n<meta refines=\"#creator-%zu\" property=\"display-seq\">%zu</meta>\n",
                  i + 1, i + 1);
  }
  const char *publisher = m->publisher ? m->publisher : m->series.publisher;
  if (publisher && publisher[0]) meta_el(&b, "dc:publisher", NULL, publisher);
  if (m->rights && m->rights[0]) meta_el(&b, "dc:rights", NULL, m->rights);
  for (size_t i = 0; i < m->n_keywords; i++)
    if (m->keywords[i] && m->keywords[i][0]) meta_el(&b, "dc:subject", NULL, m->keywords[i]);
  if (m->abstract_text && m->abstract_text[0])
    meta_el(&b, "dc:description", NULL, m->abstract_text);
  const char *date = epub_dc_date(E);
  if (date) meta_el(&b, "dc:date", NULL, date);
  /* the page numbers' source: the print edition, which carries the same
   * identifier (the PDF is made from the same paper) */
  if (E->n_pages) {
    meta_el(&b, "dc:source", " id=\"print-source\"", E->identifier);
    ts_buf_puts(&b, "<meta refines=\"#print-source\" property=\"source-of\">pagination</meta>\n");
  }
  meta_el(&b, "meta", " property=\"dcterms:modified\"", mod);
  if (m->series.name && m->series.name[0]) {
    meta_el(&b, "meta", " property=\"belongs-to-collection\" id=\"series\"", m->series.name);
    ts_buf_puts(&b, "<meta refines=\"#series\" property=\"collection-type\">series</meta>\n");
    if (numeric_position(m->series.number))
      meta_el(&b, "meta", " refines=\"#series\" property=\"group-position\"", m->series.number);
    if (m->series.issn && m->series.issn[0]) {
      ts_buf_puts(&b, "<meta refines=\"#series\" property=\"dcterms:identifier\">urn:issn:");
      ts_buf_xml(&b, m->series.issn, strlen(m->series.issn));
      ts_buf_puts(&b, "</meta>\n");
    }
  }
  /* accessibility (EPUB Accessibility 1.1, schema.org properties) derived
   * from the content: alternativeText and conformance only when every
   * image has a text alternative */
  int images = E->n_img_refs > 0 || E->cover_image >= 0;
  int all_alt = E->n_img_alt == E->n_img_refs;
  int foreign = has_foreign_passage(E);
  ts_buf_puts(&b, "<meta property=\"schema:accessMode\">textual</meta>\n");
  if (images) ts_buf_puts(&b, "<meta property=\"schema:accessMode\">visual</meta>\n");
  if (!images || all_alt)
    ts_buf_puts(&b, "<meta property=\"schema:accessModeSufficient\">textual</meta>\n");
  if (images)
    ts_buf_puts(&b, "<meta property=\"schema:accessModeSufficient\">textual,visual</meta>\n");
  ts_buf_puts(&b, "<meta property=\"schema:accessibilityFeature\">structuralNavigation</meta>\n"
                  "<meta property=\"schema:accessibilityFeature\">tableOfContents</meta>\n"
                  "<meta property=\"schema:accessibilityFeature\">readingOrder</meta>\n");
  if (E->n_pages)
    ts_buf_puts(&b, "<meta property=\"schema:accessibilityFeature\">pageBreakMarkers</meta>\n"
                    "<meta property=\"schema:accessibilityFeature\">pageNavigation</meta>\n");
  if (images && all_alt) /* the cover image's alternative is its title */
    ts_buf_puts(&b, "<meta property=\"schema:accessibilityFeature\">alternativeText</meta>\n");
  ts_buf_puts(&b, "<meta property=\"schema:accessibilityHazard\">none</meta>\n"
                  "<meta property=\"schema:accessibilitySummary\">");
  ts_buf_puts(&b, "This publication has a table of contents, structured headings and a "
                  "logical reading order; ");
  ts_buf_puts(&b, all_alt ? "every image has a text alternative."
                          : "some images lack a text alternative.");
  if (E->n_pages)
    ts_buf_puts(&b, " Page numbers and a page list follow the print edition (PDF).");
  if (foreign)
    ts_buf_puts(&b, " Passages in other languages are not marked with their language.");
  ts_buf_puts(&b, "</meta>\n");
  if (all_alt && !foreign) {
    ts_buf_puts(&b, "<meta property=\"dcterms:conformsTo\">EPUB Accessibility 1.1 - WCAG 2.1 "
                    "Level AA</meta>\n");
    if (publisher && publisher[0]) meta_el(&b, "meta", " property=\"a11y:certifiedBy\"", publisher);
  }
  ts_buf_puts(&b, "</metadata>\n<manifest>\n"
                  "<item id=\"nav\" href=\"nav.xhtml\" media-type=\"application/xhtml+xml\" "
                  "properties=\"nav\"/>\n"
                  "<item id=\"ncx\" href=\"toc.ncx\" media-type=\"application/x-dtbncx+xml\"/>\n"
                  "<item id=\"css\" href=\"style.css\" media-type=\"text/css\"/>\n");
  for (size_t i = 0; i < E->n_files; i++)
    ts_buf_printf(&b, "<item id=\"%s\" href=\"%s\" media-type=\"application/xhtml+xml\"/>\n",
                  E->files[i].id, E->files[i].name);
  for (size_t i = 0; i < E->n_images; i++)
    ts_buf_printf(&b, "<item id=\"img-%zu\" href=\"%s\" media-type=\"%s\"%s/>\n", i + 1,
                  E->images[i].name, E->images[i].media,
                  E->images[i].cover ? " properties=\"cover-image\"" : "");
  for (size_t i = 0; i < E->n_fonts; i++)
    ts_buf_printf(&b, "<item id=\"font-%zu\" href=\"%s\" media-type=\"%s\"/>\n", i + 1,
                  E->fonts[i].name, E->fonts[i].media);
  ts_buf_puts(&b, E->rtl ? "</manifest>\n<spine toc=\"ncx\" page-progression-direction=\"rtl\">\n"
                         : "</manifest>\n<spine toc=\"ncx\">\n");
  for (size_t i = 0; i < E->n_files; i++)
    ts_buf_printf(&b, "<itemref idref=\"%s\"/>\n", E->files[i].id);
  ts_buf_puts(&b, "</spine>\n</package>\n");
  return finish(&b, &E->opf, &E->opf_len);
}
