/* ts_doc.h — the document model: one tree per document that both writers
 * (PDF through the page builder, EPUB directly) read.  Built by
 * typeset/markdown from Markdown + YAML; everything lives in the document's
 * arena and is freed by ts_doc_destroy.
 *
 * Tree shape (children listed per parent):
 *   DOCUMENT   : blocks
 *   HEADING    : inlines            level 1..6, id (Pandoc-style identifier)
 *   PARAGRAPH  : inlines
 *   LIST       : ITEMs              ordered, start, tight, delim
 *   ITEM       : blocks
 *   BLOCKQUOTE : blocks
 *   CODEBLOCK  : —                  text = the code (ends with '\n'), info
 *   THEMATIC_BREAK : —
 *   TABLE      : TABLE_ROWs         ncols, align[ncols]; first row is the header
 *   TABLE_ROW  : TABLE_CELLs        header = 1 for the header row
 *   TABLE_CELL : inlines
 *   FIGURE     : inlines (caption)  url (image path as written), alt (plain
 *                                   text), title; a paragraph holding only an
 *                                   image becomes a FIGURE
 *   FOOTNOTE_DEF : blocks           number, label (in doc->notes, not in the body)
 *   TEXT       : —                  text
 *   EMPH, STRONG, STRIKE : inlines
 *   CODE       : —                  text
 *   LINK       : inlines            url (http/https/mailto or "#id"), title
 *   IMAGE      : —                  url, alt, title (an image inside running text)
 *   FOOTNOTE_REF : —                number, label, note (the FOOTNOTE_DEF)
 *   SOFTBREAK, LINEBREAK : —
 *
 * Every node keeps the 1-based line and column of its start in the source
 * file (front matter lines counted, so positions match the file).
 */
#ifndef TS_DOC_H
#define TS_DOC_H

#include "../core/ts_core.h"

typedef enum ts_node_type {
  TS_NODE_DOCUMENT = 0,
  /* blocks */
  TS_NODE_HEADING,
  TS_NODE_PARAGRAPH,
  TS_NODE_LIST,
  TS_NODE_ITEM,
  TS_NODE_BLOCKQUOTE,
  TS_NODE_CODEBLOCK,
  TS_NODE_THEMATIC_BREAK,
  TS_NODE_TABLE,
  TS_NODE_TABLE_ROW,
  TS_NODE_TABLE_CELL,
  TS_NODE_FIGURE,
  TS_NODE_FOOTNOTE_DEF,
  /* inlines */
  TS_NODE_TEXT,
  TS_NODE_EMPH,
  TS_NODE_STRONG,
  TS_NODE_STRIKE,
  TS_NODE_CODE,
  TS_NODE_LINK,
  TS_NODE_IMAGE,
  TS_NODE_FOOTNOTE_REF,
  TS_NODE_SOFTBREAK,
  TS_NODE_LINEBREAK,
  TS_NODE_SPAN,       /* inline text in another language: `[text]{lang=ru}`
                       * (lang set); a container of inlines */
  TS_NODE_TYPE_COUNT
} ts_node_type;

/* Column alignment of a table column. */
enum { TS_ALIGN_NONE = 0, TS_ALIGN_LEFT, TS_ALIGN_CENTER, TS_ALIGN_RIGHT };

typedef struct ts_node ts_node;
struct ts_node {
  ts_node_type type;
  ts_node *parent, *first, *last, *prev, *next;
  uint32_t line, col; /* 1-based source position */

  const char *text; /* TEXT, CODE, CODEBLOCK: UTF-8, arena */
  size_t len;       /* byte length of text */

  int level;        /* HEADING: 1..6 */
  const char *id;   /* HEADING: identifier (unique in the document) */
  int ordered;      /* LIST */
  int start;        /* LIST: first number when ordered */
  int tight;        /* LIST */
  char delim;       /* LIST: '.' or ')' */
  const char *info; /* CODEBLOCK: info string (language) or NULL */
  const char *url;  /* LINK, IMAGE, FIGURE */
  const char *title;/* LINK, IMAGE, FIGURE: title or NULL */
  const char *alt;  /* IMAGE, FIGURE: plain-text alt */
  int ncols;        /* TABLE */
  uint8_t *align;   /* TABLE: ncols TS_ALIGN_* values */
  int header;       /* TABLE_ROW: 1 for the header row */
  int number;       /* FOOTNOTE_REF, FOOTNOTE_DEF: 1-based note number */
  const char *label;/* FOOTNOTE_REF, FOOTNOTE_DEF: label as written */
  ts_node *note;    /* FOOTNOTE_REF: the definition (NULL if unknown) */
  const char *lang; /* block: BCP 47 tag of the language it is in when a
                     * fenced div (`::: {lang=ru}`) says so, else NULL
                     * (the document's); arena */
};

/* Key/value pair (unknown metadata keys, other author ids). */
typedef struct ts_kv {
  const char *key, *value;
} ts_kv;

typedef struct ts_author {
  const char *name;
  const char *degree, *role, *affiliation, *address, *email, *orcid, *bio;
  int orcid_valid;  /* 1 when the ISO 7064 MOD 11-2 checksum holds */
  ts_kv *ids;       /* other identifiers in source order (Scopus, ...) */
  size_t n_ids;
} ts_author;

typedef struct ts_series {
  const char *name, *number, *issn, *url, *publisher;
} ts_series;

/* Typed metadata; every string is UTF-8 in the arena or NULL. */
typedef struct ts_meta {
  const char *title, *subtitle, *short_title;
  ts_author *authors;
  size_t n_authors;
  const char *date;     /* as written (ISO 8601 expected) */
  const char *lang;     /* BCP 47; "en" when absent */
  int lang_explicit;    /* 1 when lang came from metadata (not the default) */
  ts_node *abstract;    /* DOCUMENT node of the abstract's blocks, or NULL */
  const char *abstract_text; /* plain-text abstract (for PDF Subject, EPUB) */
  const char **keywords;
  size_t n_keywords;
  const char *publisher, *rights, *identifier, *cover_image, *style;
  /* where cover_image was written (its errors point there): the file (the
   * paper, or the manifest that gave it; arena) and the value's position */
  const char *cover_image_file;
  uint32_t cover_image_line, cover_image_col;
  ts_series series;
  ts_kv *extra;         /* unknown keys with scalar values, source order */
  size_t n_extra;
  uint32_t line;        /* first line of the metadata block (0 = none) */
} ts_meta;

typedef struct ts_doc {
  ts_arena *arena;      /* owned: all memory of the document */
  const char *path;     /* source path as given (for diagnostics) */
  const char *dir;      /* the source's folder (images resolve inside it) */
  ts_meta meta;
  ts_node *root;        /* DOCUMENT */
  ts_node **notes;      /* FOOTNOTE_DEF nodes, notes[i]->number == i + 1 */
  size_t n_notes;
} ts_doc;

/* returns owned (free with ts_doc_destroy); NULL on OOM.  path is copied. */
ts_doc *ts_doc_create(const char *path);
void ts_doc_destroy(ts_doc *doc); /* accepts NULL */

/* Node construction (arena).  NULL on OOM. */
ts_node *ts_node_new(ts_doc *doc, ts_node_type type, uint32_t line, uint32_t col);
void ts_node_append(ts_node *parent, ts_node *child);
void ts_node_unlink(ts_node *node);
int ts_node_is_block(ts_node_type t);
/* 1 for the types that hold children (DOCUMENT, HEADING, PARAGRAPH, LIST,
 * ITEM, BLOCKQUOTE, TABLE, TABLE_ROW, TABLE_CELL, FIGURE, FOOTNOTE_DEF, EMPH,
 * STRONG, STRIKE, LINK), even when they have none at the moment. */
int ts_node_is_container(ts_node_type t);
const char *ts_node_type_name(ts_node_type t); /* "heading", "text", ... */

/* Iterative walk (no recursion, so deep nesting cannot overflow the stack):
 *   ts_iter it; ts_iter_init(&it, root);
 *   ts_node *n; int entering;
 *   while ((n = ts_iter_next(&it, &entering))) { ... }
 * Container nodes (ts_node_is_container: by type, so an empty paragraph or
 * table cell still gets both events) are returned twice (entering = 1, then
 * 0); leaves once with entering = 1.  ts_iter_skip(&it) after an entering node skips its
 * children (the exit event still comes). */
typedef struct ts_iter {
  ts_node *root, *cur;
  int entering, started, skip;
} ts_iter;
void ts_iter_init(ts_iter *it, ts_node *root);
ts_node *ts_iter_next(ts_iter *it, int *entering);
void ts_iter_skip(ts_iter *it);

/* Appends the plain text of node's inlines (TEXT, CODE, breaks as spaces,
 * image alt text; footnote refs omitted) to b.  The texts of successive
 * blocks are separated by one space. */
void ts_node_plain_text(const ts_node *node, ts_buf *b);

/* How a paragraph serves its neighbours, read the same way by the page
 * layout and the EPUB:
 * ts_node_is_table_caption: 1 when paragraph p is the caption of the table
 * that follows it ("**Table 1.** Routes compared", or a paragraph opening
 * with emphasis or the word Table/Tab./Таблица).
 * ts_node_is_quote_source: 1 when p is the source of a block quote: the
 * last of its several paragraphs, opening with an em dash or a horizontal
 * bar ("— UNCLOS, Article 234"). */
int ts_node_is_table_caption(const ts_node *p);
int ts_node_is_quote_source(const ts_node *p);

/* Finds a heading by identifier; NULL if none. */
ts_node *ts_doc_find_id(const ts_doc *doc, const char *id);

/* JSON dump of the whole model (metadata, body, notes) with a stable key
 * order, for --dump model and tests. */
void ts_doc_dump_json(const ts_doc *doc, ts_buf *out);

#endif
