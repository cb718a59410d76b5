/* doc.c — the document model: creation, node construction, the iterative
 * walk, plain text and identifier lookup.  Every byte lives in doc->arena. */
#include "ts_doc.h"

#include <stdlib.h>
#include <string.h>

ts_doc *ts_doc_create(const char *path) {
  ts_arena *a = ts_arena_create(0);
  if (!a) return NULL;
  ts_doc *doc = ts_arena_alloc(a, sizeof *doc);
  char *dir = NULL;
  if (!doc) goto fail;
  doc->arena = a;
  doc->path = ts_arena_strdup(a, path ? path : "<input>");
  dir = ts_path_dirname(doc->path ? doc->path : ".");
  doc->dir = dir ? ts_arena_strdup(a, dir) : NULL;
  free(dir);
  doc->meta.lang = "en"; /* constant string: never freed */
  doc->root = ts_node_new(doc, TS_NODE_DOCUMENT, 1, 1);
  if (!doc->path || !doc->dir || !doc->root) goto fail;
  return doc;
fail:
  ts_arena_destroy(a);
  return NULL;
}

void ts_doc_destroy(ts_doc *doc) {
  if (doc) ts_arena_destroy(doc->arena); /* doc itself is in the arena */
}

ts_node *ts_node_new(ts_doc *doc, ts_node_type type, uint32_t line,
                     uint32_t col) {
  ts_node *n = ts_arena_alloc(doc->arena, sizeof *n);
  if (!n) return NULL;
  n->type = type;
  n->line = line;
  n->col = col;
  return n;
}

void ts_node_append(ts_node *parent, ts_node *child) {
  child->parent = parent;
  child->next = NULL;
  child->prev = parent->last;
  if (parent->last)
    parent->last->next = child;
  else
    parent->first = child;
  parent->last = child;
}

void ts_node_unlink(ts_node *node) {
  if (node->prev) node->prev->next = node->next;
  if (node->next) node->next->prev = node->prev;
  if (node->parent) {
    if (node->parent->first == node) node->parent->first = node->next;
    if (node->parent->last == node) node->parent->last = node->prev;
  }
  node->parent = node->prev = node->next = NULL;
}

int ts_node_is_block(ts_node_type t) {
  return t <= TS_NODE_FOOTNOTE_DEF;
}

int ts_node_is_container(ts_node_type t) {
  switch (t) {
  case TS_NODE_DOCUMENT: case TS_NODE_HEADING: case TS_NODE_PARAGRAPH:
  case TS_NODE_LIST: case TS_NODE_ITEM: case TS_NODE_BLOCKQUOTE:
  case TS_NODE_TABLE: case TS_NODE_TABLE_ROW: case TS_NODE_TABLE_CELL:
  case TS_NODE_FIGURE: case TS_NODE_FOOTNOTE_DEF: case TS_NODE_EMPH:
  case TS_NODE_STRONG: case TS_NODE_STRIKE: case TS_NODE_LINK: case TS_NODE_SPAN:
    return 1;
  default:
    return 0;
  }
}

static const char *const type_names[TS_NODE_TYPE_COUNT] = {
    [TS_NODE_DOCUMENT] = "document",
    [TS_NODE_HEADING] = "heading",
    [TS_NODE_PARAGRAPH] = "paragraph",
    [TS_NODE_LIST] = "list",
    [TS_NODE_ITEM] = "item",
    [TS_NODE_BLOCKQUOTE] = "blockquote",
    [TS_NODE_CODEBLOCK] = "codeblock",
    [TS_NODE_THEMATIC_BREAK] = "thematic_break",
    [TS_NODE_TABLE] = "table",
    [TS_NODE_TABLE_ROW] = "table_row",
    [TS_NODE_TABLE_CELL] = "table_cell",
    [TS_NODE_FIGURE] = "figure",
    [TS_NODE_FOOTNOTE_DEF] = "footnote_def",
    [TS_NODE_TEXT] = "text",
    [TS_NODE_EMPH] = "emph",
    [TS_NODE_STRONG] = "strong",
    [TS_NODE_STRIKE] = "strike",
    [TS_NODE_CODE] = "code",
    [TS_NODE_LINK] = "link",
    [TS_NODE_IMAGE] = "image",
    [TS_NODE_FOOTNOTE_REF] = "footnote_ref",
    [TS_NODE_SOFTBREAK] = "softbreak",
    [TS_NODE_LINEBREAK] = "linebreak",
    [TS_NODE_SPAN] = "span",
};

const char *ts_node_type_name(ts_node_type t) {
  if ((unsigned)t >= TS_NODE_TYPE_COUNT) return "unknown";
  return type_names[t];
}

/* ---- Iterative walk --------------------------------------------------------
 * The same event scheme as cmark_iter: the successor of an event depends only
 * on the current node and whether we are entering it, so no stack is needed. */
void ts_iter_init(ts_iter *it, ts_node *root) {
  memset(it, 0, sizeof *it);
  it->root = root;
}

ts_node *ts_iter_next(ts_iter *it, int *entering) {
  if (!it->started) {
    it->started = 1;
    it->cur = it->root;
    it->entering = 1;
    it->skip = 0;
    if (entering) *entering = 1;
    return it->cur;
  }
  ts_node *cur = it->cur;
  if (!cur) return NULL;
  if (it->entering && ts_node_is_container(cur->type)) {
    if (cur->first && !it->skip) {
      it->cur = cur->first;
      it->entering = 1;
    } else {
      it->entering = 0; /* exit event of an empty (or skipped) container */
    }
  } else if (cur == it->root) {
    it->cur = NULL;
  } else if (cur->next) {
    it->cur = cur->next;
    it->entering = 1;
  } else {
    it->cur = cur->parent;
    it->entering = 0;
  }
  it->skip = 0;
  if (entering) *entering = it->entering;
  return it->cur;
}

void ts_iter_skip(ts_iter *it) { it->skip = 1; }

/* ---- Plain text ------------------------------------------------------------*/
/* The first text node inside p (descending through first children), or NULL. */
static const ts_node *first_text(const ts_node *p) {
  const ts_node *t = p->first;
  while (t && t->type != TS_NODE_TEXT && t->first) t = t->first;
  return t && t->type == TS_NODE_TEXT ? t : NULL;
}

static int opens_with(const ts_node *t, const char *word) {
  size_t n = strlen(word);
  return t && t->len >= n && !strncmp(t->text, word, n);
}

int ts_node_is_table_caption(const ts_node *p) {
  if (!p || p->type != TS_NODE_PARAGRAPH || !p->first || !p->next ||
      p->next->type != TS_NODE_TABLE)
    return 0;
  if (p->first->type == TS_NODE_STRONG || p->first->type == TS_NODE_EMPH) return 1;
  const ts_node *t = first_text(p);
  return opens_with(t, "Table") || opens_with(t, "Tab.") ||
         opens_with(t, "\xD0\xA2\xD0\xB0\xD0\xB1\xD0\xBB\xD0\xB8\xD1\x86\xD0\xB0");
}

int ts_node_is_quote_source(const ts_node *p) {
  if (!p || p->type != TS_NODE_PARAGRAPH || !p->parent ||
      p->parent->type != TS_NODE_BLOCKQUOTE || p->next || !p->prev)
    return 0;
  const ts_node *t = first_text(p);
  return opens_with(t, "\xE2\x80\x94") || opens_with(t, "\xE2\x80\x95");
}

void ts_node_plain_text(const ts_node *node, ts_buf *b) {
  if (!node) return;
  ts_iter it;
  ts_iter_init(&it, (ts_node *)node);
  ts_node *n;
  int entering;
  int pending_sep = 0; /* a block ended: separate its text from the next */
  while ((n = ts_iter_next(&it, &entering))) {
    if (!entering) {
      if (ts_node_is_block(n->type)) pending_sep = 1;
      continue;
    }
    switch (n->type) {
    case TS_NODE_TEXT:
    case TS_NODE_CODE:
    case TS_NODE_CODEBLOCK:
    case TS_NODE_IMAGE:
    case TS_NODE_SOFTBREAK:
    case TS_NODE_LINEBREAK:
      if (pending_sep && b->len > 0) ts_buf_putc(b, ' ');
      pending_sep = 0;
      if (n->type == TS_NODE_IMAGE) {
        if (n->alt) ts_buf_puts(b, n->alt);
      } else if (n->type == TS_NODE_SOFTBREAK || n->type == TS_NODE_LINEBREAK) {
        ts_buf_putc(b, ' ');
      } else if (n->text) {
        size_t len = n->len;
        /* a code block's final newline is not part of running text */
        if (n->type == TS_NODE_CODEBLOCK && len && n->text[len - 1] == '\n')
          len--;
        ts_buf_append(b, n->text, len);
      }
      break;
    default: /* containers, and footnote references (a mark, not running text) */
      break;
    }
  }
}

ts_node *ts_doc_find_id(const ts_doc *doc, const char *id) {
  if (!doc || !id) return NULL;
  ts_iter it;
  ts_iter_init(&it, doc->root);
  ts_node *n;
  int entering;
  while ((n = ts_iter_next(&it, &entering))) {
    if (!entering) continue;
    if (n->type == TS_NODE_HEADING) {
      if (n->id && strcmp(n->id, id) == 0) return n;
      ts_iter_skip(&it); /* headings hold only inlines */
    } else if (!ts_node_is_block(n->type)) {
      ts_iter_skip(&it);
    }
  }
  return NULL;
}
