/* dump.c — ts_doc_dump_json: the model as JSON, for `--dump model` and tests.
 *
 * Schema (keys always in this order; a key whose value is absent — a NULL
 * string, an empty list — is left out, except "children" which every
 * container node has, and "lang" which is always present):
 *
 *   {"meta": META, "body": [NODE...], "notes": [NODE...]}
 *
 *   META = {"title","subtitle","short_title": string,
 *           "authors": [AUTHOR...],
 *           "date","lang": string,
 *           "abstract": [NODE...]            (blocks of the abstract),
 *           "abstract_text": string,
 *           "keywords": [string...],
 *           "publisher","rights","identifier","cover_image","style": string,
 *           "series": {"name","number","issn","url","publisher": string},
 *           "extra": {key: string...}        (source order),
 *           "line": number                   (first line of the YAML block)}
 *   AUTHOR = {"name","degree","role","affiliation","address","email",
 *             "orcid": string, "orcid_valid": bool (only with orcid),
 *             "bio": string, "ids": {key: string...}}
 *
 *   NODE = {"type": ts_node_type_name, "line": n, "col": n,
 *           "lang": s (only a block a fenced div marks), FIELDS...,
 *           "children": [NODE...] (container types only)}
 *   FIELDS by type:
 *     heading      "level": n, "id": s
 *     list         "ordered": bool, "tight": bool, then when ordered
 *                  "start": n, "delim": "." or ")"
 *     codeblock    "info": s, "text": s
 *     table        "ncols": n, "align": ["none"|"left"|"center"|"right"...]
 *     table_row    "header": bool
 *     figure       "url": s, "alt": s, "title": s
 *     footnote_def "number": n, "label": s
 *     text, code   "text": s
 *     link         "url": s, "title": s
 *     image        "url": s, "alt": s, "title": s
 *     footnote_ref "number": n, "label": s
 *
 * The walk uses ts_iter, so 2,000 nested block quotes dump without
 * recursion. */
#include "ts_doc.h"

#include <string.h>

static void key(ts_buf *b, int *first, const char *k) {
  if (!*first) ts_buf_putc(b, ',');
  *first = 0;
  ts_buf_json_str(b, k, strlen(k));
  ts_buf_putc(b, ':');
}

static void str_field(ts_buf *b, int *first, const char *k, const char *v) {
  if (!v) return;
  key(b, first, k);
  ts_buf_json_str(b, v, strlen(v));
}

static void int_field(ts_buf *b, int *first, const char *k, long v) {
  key(b, first, k);
  ts_buf_printf(b, "%ld", v);
}

static void bool_field(ts_buf *b, int *first, const char *k, int v) {
  key(b, first, k);
  ts_buf_puts(b, v ? "true" : "false");
}

static void kv_object(ts_buf *b, int *first, const char *k, const ts_kv *kv,
                      size_t n) {
  if (!n) return;
  key(b, first, k);
  ts_buf_putc(b, '{');
  for (size_t i = 0; i < n; i++) {
    if (i) ts_buf_putc(b, ',');
    ts_buf_json_str(b, kv[i].key, strlen(kv[i].key));
    ts_buf_putc(b, ':');
    ts_buf_json_str(b, kv[i].value, strlen(kv[i].value));
  }
  ts_buf_putc(b, '}');
}

static const char *align_name(uint8_t a) {
  switch (a) {
  case TS_ALIGN_LEFT: return "left";
  case TS_ALIGN_CENTER: return "center";
  case TS_ALIGN_RIGHT: return "right";
  default: return "none";
  }
}

static void node_open(ts_buf *b, const ts_node *n) {
  int first = 1;
  ts_buf_putc(b, '{');
  str_field(b, &first, "type", ts_node_type_name(n->type));
  int_field(b, &first, "line", (long)n->line);
  int_field(b, &first, "col", (long)n->col);
  if (n->lang) str_field(b, &first, "lang", n->lang); /* a block in a fenced div */
  switch (n->type) {
  case TS_NODE_HEADING:
    int_field(b, &first, "level", n->level);
    str_field(b, &first, "id", n->id);
    break;
  case TS_NODE_LIST:
    bool_field(b, &first, "ordered", n->ordered);
    bool_field(b, &first, "tight", n->tight);
    if (n->ordered) {
      int_field(b, &first, "start", n->start);
      char d[2] = {n->delim ? n->delim : '.', 0};
      str_field(b, &first, "delim", d);
    }
    break;
  case TS_NODE_CODEBLOCK:
    str_field(b, &first, "info", n->info);
    key(b, &first, "text");
    ts_buf_json_str(b, n->text ? n->text : "", n->text ? n->len : 0);
    break;
  case TS_NODE_TABLE:
    int_field(b, &first, "ncols", n->ncols);
    key(b, &first, "align");
    ts_buf_putc(b, '[');
    for (int i = 0; i < n->ncols; i++) {
      if (i) ts_buf_putc(b, ',');
      const char *a = align_name(n->align ? n->align[i] : 0);
      ts_buf_json_str(b, a, strlen(a));
    }
    ts_buf_putc(b, ']');
    break;
  case TS_NODE_TABLE_ROW:
    bool_field(b, &first, "header", n->header);
    break;
  case TS_NODE_FIGURE:
  case TS_NODE_IMAGE:
    str_field(b, &first, "url", n->url);
    str_field(b, &first, "alt", n->alt);
    str_field(b, &first, "title", n->title);
    break;
  case TS_NODE_FOOTNOTE_DEF:
  case TS_NODE_FOOTNOTE_REF:
    int_field(b, &first, "number", n->number);
    str_field(b, &first, "label", n->label);
    break;
  case TS_NODE_TEXT:
  case TS_NODE_CODE:
    key(b, &first, "text");
    ts_buf_json_str(b, n->text ? n->text : "", n->text ? n->len : 0);
    break;
  case TS_NODE_LINK:
    str_field(b, &first, "url", n->url);
    str_field(b, &first, "title", n->title);
    break;
  default:
    break;
  }
  if (ts_node_is_container(n->type))
    ts_buf_puts(b, ",\"children\":[");
  else
    ts_buf_putc(b, '}');
}

/* Writes the NODE objects of `root`'s subtree; when skip_root, only its
 * children (the DOCUMENT node itself is implied by "body"). */
static void dump_tree(ts_buf *b, const ts_node *root, int skip_root) {
  ts_iter it;
  ts_iter_init(&it, (ts_node *)root);
  ts_node *n;
  int entering;
  while ((n = ts_iter_next(&it, &entering))) {
    if (skip_root && n == root) continue;
    if (entering) {
      if (n != root && n->prev) ts_buf_putc(b, ',');
      node_open(b, n);
    } else {
      ts_buf_puts(b, "]}");
    }
  }
}

static void dump_meta(ts_buf *b, const ts_meta *m) {
  int first = 1;
  ts_buf_putc(b, '{');
  str_field(b, &first, "title", m->title);
  str_field(b, &first, "subtitle", m->subtitle);
  str_field(b, &first, "short_title", m->short_title);
  if (m->n_authors) {
    key(b, &first, "authors");
    ts_buf_putc(b, '[');
    for (size_t i = 0; i < m->n_authors; i++) {
      const ts_author *a = &m->authors[i];
      int af = 1;
      if (i) ts_buf_putc(b, ',');
      ts_buf_putc(b, '{');
      str_field(b, &af, "name", a->name);
      str_field(b, &af, "degree", a->degree);
      str_field(b, &af, "role", a->role);
      str_field(b, &af, "affiliation", a->affiliation);
      str_field(b, &af, "address", a->address);
      str_field(b, &af, "email", a->email);
      str_field(b, &af, "orcid", a->orcid);
      if (a->orcid) bool_field(b, &af, "orcid_valid", a->orcid_valid);
      str_field(b, &af, "bio", a->bio);
      kv_object(b, &af, "ids", a->ids, a->n_ids);
      ts_buf_putc(b, '}');
    }
    ts_buf_putc(b, ']');
  }
  str_field(b, &first, "date", m->date);
  str_field(b, &first, "lang", m->lang ? m->lang : "en");
  if (m->abstract) {
    key(b, &first, "abstract");
    ts_buf_putc(b, '[');
    dump_tree(b, m->abstract, 1);
    ts_buf_putc(b, ']');
  }
  str_field(b, &first, "abstract_text", m->abstract_text);
  if (m->n_keywords) {
    key(b, &first, "keywords");
    ts_buf_putc(b, '[');
    for (size_t i = 0; i < m->n_keywords; i++) {
      if (i) ts_buf_putc(b, ',');
      ts_buf_json_str(b, m->keywords[i], strlen(m->keywords[i]));
    }
    ts_buf_putc(b, ']');
  }
  str_field(b, &first, "publisher", m->publisher);
  str_field(b, &first, "rights", m->rights);
  str_field(b, &first, "identifier", m->identifier);
  str_field(b, &first, "cover_image", m->cover_image);
  str_field(b, &first, "style", m->style);
  const ts_series *s = &m->series;
  if (s->name || s->number || s->issn || s->url || s->publisher) {
    int sf = 1;
    key(b, &first, "series");
    ts_buf_putc(b, '{');
    str_field(b, &sf, "name", s->name);
    str_field(b, &sf, "number", s->number);
    str_field(b, &sf, "issn", s->issn);
    str_field(b, &sf, "url", s->url);
    str_field(b, &sf, "publisher", s->publisher);
    ts_buf_putc(b, '}');
  }
  kv_object(b, &first, "extra", m->extra, m->n_extra);
  if (m->line) int_field(b, &first, "line", (long)m->line);
  ts_buf_putc(b, '}');
}

void ts_doc_dump_json(const ts_doc *doc, ts_buf *out) {
  ts_buf_puts(out, "{\"meta\":");
  dump_meta(out, &doc->meta);
  ts_buf_puts(out, ",\"body\":[");
  if (doc->root) dump_tree(out, doc->root, 1);
  ts_buf_puts(out, "],\"notes\":[");
  for (size_t i = 0; i < doc->n_notes; i++) {
    if (i) ts_buf_putc(out, ',');
    dump_tree(out, doc->notes[i], 0);
  }
  ts_buf_puts(out, "]}\n");
}
