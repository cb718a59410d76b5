/* md_internal.h — what markdown.c and meta.c share; not part of the
 * stage's interface (that is ts_markdown.h). */
#ifndef TS_MD_INTERNAL_H
#define TS_MD_INTERNAL_H

#include "ts_markdown.h"

/* Limits that keep hostile metadata cheap. */
#define TS_MD_YAML_MAX_EVENTS 100000u /* events in one metadata block */
#define TS_MD_MAX_EXTRA 1000u         /* unknown keys kept in meta.extra */

/* An abstract found in metadata, converted once the body's headings have
 * their identifiers (so body identifiers are not perturbed). */
typedef struct md_abstract {
  const char *src; /* arena */
  size_t len;
  uint32_t line;   /* file line of the abstract's first Markdown line, 1-based */
  int present;
} md_abstract;

/* Interprets YAML metadata into doc->meta (meta.c).  Errors (malformed YAML,
 * aliases, too many events) are reported and return TS_ERR_INPUT. */
ts_status md_meta_parse(ts_doc *doc, const char *yaml, size_t len,
                        const char *file, unsigned first_line, int fill_only,
                        ts_diag *d, md_abstract *abs);

/* Parses Markdown `src` as an abstract (CommonMark, no extensions) into a
 * DOCUMENT node stored in doc->meta.abstract, and fills abstract_text
 * (markdown.c). */
ts_status md_convert_abstract(ts_doc *doc, ts_diag *d, const char *file,
                              const md_abstract *abs);

/* 1 when s has the shape of a BCP 47 language tag (meta.c). */
int md_lang_ok(const char *s);

#endif
