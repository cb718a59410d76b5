/* ts_markdown.h — the front end: UTF-8 Markdown (CommonMark + GFM tables,
 * strikethrough, autolinks, footnotes; parsed by cmark-gfm) with an optional
 * YAML metadata block (libyaml; Pandoc's key names) into a ts_doc. */
#ifndef TS_MARKDOWN_H
#define TS_MARKDOWN_H

#include "../doc/ts_doc.h"

/* Parses data[0..len) read from `path` (used for messages and as the folder
 * images resolve in).  Warnings and errors go to d.  ctx may be NULL (then
 * the caller guarantees no other thread registers cmark extensions at the
 * same time).  Policy: raw HTML is dropped and links other than http, https,
 * mailto and "#id" keep only their text (both warned); YAML aliases and
 * blocks of more than 100,000 events are refused (TS_ERR_INPUT); the
 * abstract is parsed as CommonMark without the GFM extensions.  On success *out is owned
 * by the caller (free with ts_doc_destroy).  On failure *out is NULL and an
 * error was reported: TS_ERR_INPUT (malformed metadata the document cannot
 * be rendered without), TS_ERR_NOMEM. data is borrowed. */
ts_status ts_markdown_parse(ts_ctx *ctx, const char *path, const char *data,
                            size_t len, ts_diag *d, ts_doc **out);

/* Reads path and parses it (file errors are reported as path: error: ...). */
ts_status ts_markdown_parse_file(ts_ctx *ctx, const char *path, ts_diag *d,
                                 ts_doc **out);

/* Like ts_markdown_parse_file, but only the metadata block is read (and the
 * abstract in it): the document has no body.  For catalogues, which list
 * each paper's title, authors, number and abstract. */
ts_status ts_markdown_parse_meta_file(ts_ctx *ctx, const char *path, ts_diag *d,
                                      ts_doc **out);

/* Applies a YAML mapping of metadata (same keys as the front matter) to doc:
 * keys present in yaml fill in only what the document lacks when fill_only,
 * else they override.  Used by series manifests.  `file`/`first_line` locate
 * messages. */
ts_status ts_meta_apply_yaml(ts_doc *doc, const char *yaml, size_t len,
                             const char *file, unsigned first_line,
                             int fill_only, ts_diag *d);

/* 1 when s is an ORCID iD (0000-0002-1825-0097, with or without the
 * https://orcid.org/ prefix) whose ISO 7064 MOD 11-2 check digit holds. */
int ts_orcid_check(const char *s);

/* Pandoc-style identifier for heading text (lowercase, spaces to '-',
 * punctuation other than '-', '_', '.' dropped, leading non-letters
 * dropped; "section" when empty). Returns arena memory. */
char *ts_markdown_identifier(ts_arena *a, const char *text, size_t len);

#endif
