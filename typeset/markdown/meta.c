/* meta.c — YAML metadata (libyaml's event API) into ts_meta, with Pandoc's
 * key names.  Scalars are kept exactly as written ("number: 012" stays
 * "012"; a Scopus id never becomes a number).
 *
 * Hostile input: aliases are refused ("aliases are not supported"), so a
 * billion-laughs header stops at its first alias; a block of more than
 * TS_MD_YAML_MAX_EVENTS events is refused too.  The events are collected
 * into a small tree without recursion, then read top-down (the interesting
 * part is at most three levels deep). */
#include "md_internal.h"

#include <string.h>
#include <yaml.h>

typedef enum { Y_SCALAR, Y_SEQ, Y_MAP } ykind;

typedef struct ynode ynode;
struct ynode {
  ykind kind;
  const char *v; /* scalar text, arena */
  size_t len;
  int null;      /* a plain empty, "~" or "null" scalar */
  uint32_t line, col; /* file position */
  ynode *parent, *first, *last, *next;
};

typedef struct mctx {
  ts_doc *doc;
  ts_diag *d;
  const char *file;
  int fill_only;
  md_abstract *abs;
  int extra_full_warned;
} mctx;

static void mwarn(mctx *m, const ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void mwarn(mctx *m, const ynode *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ts_diag_vreport(m->d, TS_WARNING, m->file, at ? at->line : 0, at ? at->col : 0,
                  fmt, ap);
  va_end(ap);
}

/* ---- Events to tree ------------------------------------------------------*/
static ts_status load(ts_arena *A, const char *yaml, size_t len, const char *file,
                      unsigned first_line, ts_diag *d, ynode **out) {
  ts_status st = TS_OK;
  yaml_parser_t p;
  yaml_event_t ev;
  int have_ev = 0, docs = 0, done_doc = 0;
  size_t n_events = 0;
  int depth = 0;
  ynode *cur = NULL, *root = NULL;
  *out = NULL;
  if (!yaml_parser_initialize(&p)) return TS_ERR_NOMEM;
  yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
  yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
  for (;;) {
    if (!yaml_parser_parse(&p, &ev)) {
      if (p.error == YAML_MEMORY_ERROR) { st = TS_ERR_NOMEM; goto done; }
      ts_diag_report(d, TS_ERROR, file, (unsigned)p.problem_mark.line + first_line,
                     (unsigned)p.problem_mark.column + 1,
                     "invalid YAML metadata: %s%s%s", p.problem ? p.problem : "error",
                     p.context ? " " : "", p.context ? p.context : "");
      st = TS_ERR_INPUT;
      goto done;
    }
    have_ev = 1;
    uint32_t line = (uint32_t)ev.start_mark.line + first_line;
    uint32_t col = (uint32_t)ev.start_mark.column + 1;
    if (++n_events > TS_MD_YAML_MAX_EVENTS) {
      ts_diag_report(d, TS_ERROR, file, line, col,
                     "YAML metadata too large (more than %u events)",
                     TS_MD_YAML_MAX_EVENTS);
      st = TS_ERR_INPUT;
      goto done;
    }
    if (ev.type == YAML_STREAM_END_EVENT) break;
    if (ev.type == YAML_DOCUMENT_START_EVENT) {
      if (++docs > 1) {
        ts_diag_report(d, TS_WARNING, file, line, col,
                       "metadata block holds several YAML documents; only the first is read");
        break;
      }
    } else if (ev.type == YAML_DOCUMENT_END_EVENT) {
      done_doc = 1;
    } else if (ev.type == YAML_ALIAS_EVENT) {
      ts_diag_report(d, TS_ERROR, file, line, col,
                     "YAML aliases are not supported in metadata");
      st = TS_ERR_INPUT;
      goto done;
    } else if (!done_doc && (ev.type == YAML_SCALAR_EVENT ||
                             ev.type == YAML_SEQUENCE_START_EVENT ||
                             ev.type == YAML_MAPPING_START_EVENT)) {
      ynode *n = ts_arena_alloc(A, sizeof *n);
      if (!n) { st = TS_ERR_NOMEM; goto done; }
      n->line = line;
      n->col = col;
      if (ev.type == YAML_SCALAR_EVENT) {
        n->kind = Y_SCALAR;
        n->len = ev.data.scalar.length;
        n->v = ts_arena_strndup(A, (const char *)ev.data.scalar.value, n->len);
        if (!n->v) { st = TS_ERR_NOMEM; goto done; }
        if (ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev.data.scalar.tag)
          n->null = n->len == 0 || strcmp(n->v, "~") == 0 ||
                    strcmp(n->v, "null") == 0 || strcmp(n->v, "Null") == 0 ||
                    strcmp(n->v, "NULL") == 0;
        /* a block scalar's text starts on the line after its indicator;
         * its final line end is not part of a title or a name */
        if (ev.data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
            ev.data.scalar.style == YAML_FOLDED_SCALAR_STYLE) {
          n->null = -1; /* marker read by the abstract: block style */
          char *v = (char *)n->v; /* our own copy */
          while (n->len && v[n->len - 1] == '\n') v[--n->len] = 0;
        }
      } else {
        n->kind = ev.type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP;
        /* deep nesting costs libyaml quadratic time (TS_YAML_MAX_DEPTH):
         * stop long before that matters (metadata needs 3 levels) */
        if (++depth > TS_YAML_MAX_DEPTH) {
          ts_diag_report(d, TS_ERROR, file, line, col,
                         "YAML metadata nested too deeply (more than %d levels)",
                         TS_YAML_MAX_DEPTH);
          st = TS_ERR_INPUT;
          goto done;
        }
      }
      if (cur) {
        n->parent = cur;
        if (cur->last) cur->last->next = n; else cur->first = n;
        cur->last = n;
      } else if (!root) {
        root = n;
      }
      if (n->kind != Y_SCALAR) cur = n;
    } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
      if (cur) cur = cur->parent;
      if (depth > 0) depth--;
    }
    yaml_event_delete(&ev);
    have_ev = 0;
  }
  *out = root;
done:
  if (have_ev) yaml_event_delete(&ev);
  yaml_parser_delete(&p);
  return st;
}

/* ---- Reading the tree ----------------------------------------------------*/
static int is_scalar(const ynode *n) { return n && n->kind == Y_SCALAR; }
static int is_absent(const ynode *n) { return !n || (n->kind == Y_SCALAR && n->null == 1); }

/* Sets *field from a scalar; warns on other kinds. */
static void set_str(mctx *m, const char **field, const char *key, const ynode *v) {
  if (is_absent(v)) return;
  if (!is_scalar(v)) {
    mwarn(m, v, "metadata '%s' must be a string; ignored", key);
    return;
  }
  if (m->fill_only && *field) return;
  *field = v->v;
}

static const char *const author_keys[] = {"name", "degree", "role", "affiliation",
                                          "address", "email", "orcid", "bio"};

static const char **author_field(ts_author *a, size_t k) {
  switch (k) {
  case 0: return &a->name;
  case 1: return &a->degree;
  case 2: return &a->role;
  case 3: return &a->affiliation;
  case 4: return &a->address;
  case 5: return &a->email;
  case 6: return &a->orcid;
  default: return &a->bio;
  }
}

static ts_status read_author(mctx *m, const ynode *v, ts_author *a) {
  ts_arena *A = m->doc->arena;
  if (is_scalar(v)) {
    a->name = v->v;
    return TS_OK;
  }
  if (v->kind != Y_MAP) {
    mwarn(m, v, "an author must be a name or a mapping; ignored");
    return TS_OK;
  }
  for (const ynode *k = v->first; k && k->next; k = k->next->next) {
    const ynode *val = k->next;
    if (!is_scalar(k)) {
      mwarn(m, k, "author keys must be strings; ignored");
      continue;
    }
    size_t i;
    for (i = 0; i < sizeof author_keys / sizeof *author_keys; i++)
      if (strcmp(k->v, author_keys[i]) == 0) break;
    if (i < sizeof author_keys / sizeof *author_keys) {
      if (is_absent(val)) continue;
      if (!is_scalar(val)) {
        mwarn(m, val, "author '%s' must be a string; ignored", k->v);
        continue;
      }
      *author_field(a, i) = val->v;
      if (i == 6) {
        a->orcid_valid = ts_orcid_check(val->v);
        if (!a->orcid_valid)
          mwarn(m, val, "ORCID iD '%s' is not valid (format or ISO 7064 check digit)",
                val->v);
      }
    } else if (strcmp(k->v, "ids") == 0) {
      if (is_absent(val)) continue;
      if (val->kind != Y_MAP) {
        mwarn(m, val, "author 'ids' must be a mapping; ignored");
        continue;
      }
      size_t n = 0;
      for (const ynode *q = val->first; q && q->next; q = q->next->next) n++;
      a->ids = n ? ts_arena_alloc(A, n * sizeof *a->ids) : NULL;
      if (n && !a->ids) return TS_ERR_NOMEM;
      a->n_ids = 0;
      for (const ynode *q = val->first; q && q->next; q = q->next->next) {
        if (!is_scalar(q) || !is_scalar(q->next) || is_absent(q->next)) {
          mwarn(m, q, "author ids must map names to strings; entry ignored");
          continue;
        }
        a->ids[a->n_ids].key = q->v;
        a->ids[a->n_ids].value = q->next->v;
        a->n_ids++;
      }
    } else {
      mwarn(m, k, "unknown author key '%s' ignored", k->v);
    }
  }
  if (!a->name) mwarn(m, v, "author without a name");
  return TS_OK;
}

static ts_status read_authors(mctx *m, const ynode *v) {
  ts_meta *meta = &m->doc->meta;
  if (is_absent(v)) return TS_OK;
  if (m->fill_only && meta->n_authors) return TS_OK;
  size_t n = v->kind == Y_SEQ ? 0 : 1;
  if (v->kind == Y_SEQ)
    for (const ynode *q = v->first; q; q = q->next) n++;
  ts_author *as = n ? ts_arena_alloc(m->doc->arena, n * sizeof *as) : NULL;
  if (n && !as) return TS_ERR_NOMEM;
  size_t k = 0;
  ts_status st = TS_OK;
  if (v->kind == Y_SEQ) {
    for (const ynode *q = v->first; q; q = q->next) {
      memset(&as[k], 0, sizeof as[k]);
      TS_CHECK(read_author(m, q, &as[k]));
      if (as[k].name || as[k].email || as[k].orcid) k++;
    }
  } else {
    TS_CHECK(read_author(m, v, &as[0]));
    if (as[0].name || as[0].email || as[0].orcid) k++;
  }
  meta->authors = as;
  meta->n_authors = k;
done:
  return st;
}

static ts_status read_keywords(mctx *m, const ynode *v) {
  ts_meta *meta = &m->doc->meta;
  ts_arena *A = m->doc->arena;
  if (is_absent(v)) return TS_OK;
  if (m->fill_only && meta->n_keywords) return TS_OK;
  size_t n = 0;
  if (v->kind == Y_SEQ) {
    for (const ynode *q = v->first; q; q = q->next) n++;
  } else if (v->kind == Y_SCALAR) {
    n = 1;
    for (size_t i = 0; i < v->len; i++) n += v->v[i] == ',';
  } else {
    mwarn(m, v, "metadata 'keywords' must be a list or a comma-separated string; ignored");
    return TS_OK;
  }
  const char **kw = ts_arena_alloc(A, n * sizeof *kw);
  if (!kw) return TS_ERR_NOMEM;
  size_t k = 0;
  if (v->kind == Y_SEQ) {
    for (const ynode *q = v->first; q; q = q->next) {
      if (!is_scalar(q)) {
        mwarn(m, q, "a keyword must be a string; ignored");
        continue;
      }
      if (!is_absent(q) && q->len) kw[k++] = q->v;
    }
  } else {
    const char *s = v->v, *e = v->v + v->len;
    while (s <= e) {
      const char *c = memchr(s, ',', (size_t)(e - s));
      const char *ce = c ? c : e;
      const char *a = s, *z = ce;
      while (a < z && (*a == ' ' || *a == '\t' || *a == '\n')) a++;
      while (z > a && (z[-1] == ' ' || z[-1] == '\t' || z[-1] == '\n')) z--;
      if (z > a) {
        kw[k] = ts_arena_strndup(A, a, (size_t)(z - a));
        if (!kw[k++]) return TS_ERR_NOMEM;
      }
      if (!c) break;
      s = c + 1;
    }
  }
  meta->keywords = kw;
  meta->n_keywords = k;
  return TS_OK;
}

static void read_series(mctx *m, const ynode *v) {
  ts_series *s = &m->doc->meta.series;
  if (is_absent(v)) return;
  if (v->kind != Y_MAP) {
    mwarn(m, v, "metadata 'series' must be a mapping; ignored");
    return;
  }
  for (const ynode *k = v->first; k && k->next; k = k->next->next) {
    const char *key = is_scalar(k) ? k->v : "";
    const char **f = strcmp(key, "name") == 0 ? &s->name
                   : strcmp(key, "number") == 0 ? &s->number
                   : strcmp(key, "issn") == 0 ? &s->issn
                   : strcmp(key, "url") == 0 ? &s->url
                   : strcmp(key, "publisher") == 0 ? &s->publisher : NULL;
    if (!f) {
      mwarn(m, k, "unknown series key '%s' ignored", key);
      continue;
    }
    set_str(m, f, key, k->next);
  }
}

/* BCP 47 shape: letters, digits and '-', starting with 2..8 letters. */
int md_lang_ok(const char *s) {
  size_t i = 0;
  while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')) i++;
  if (i < 2 || i > 8) return 0;
  for (; s[i]; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
      return 0;
  return s[i - 1] != '-';
}

static ts_status add_extra(mctx *m, const ynode *k, const ynode *v) {
  ts_meta *meta = &m->doc->meta;
  if (is_absent(v)) return TS_OK;
  if (!is_scalar(v)) {
    mwarn(m, v, "metadata '%s' is not a string; ignored", k->v);
    return TS_OK;
  }
  for (size_t i = 0; i < meta->n_extra; i++)
    if (strcmp(meta->extra[i].key, k->v) == 0) {
      if (!m->fill_only) meta->extra[i].value = v->v;
      return TS_OK;
    }
  if (meta->n_extra >= TS_MD_MAX_EXTRA) {
    if (!m->extra_full_warned) mwarn(m, k, "too many unknown metadata keys; the rest are ignored");
    m->extra_full_warned = 1;
    return TS_OK;
  }
  ts_kv *nx = ts_arena_alloc(m->doc->arena, (meta->n_extra + 1) * sizeof *nx);
  if (!nx) return TS_ERR_NOMEM;
  if (meta->n_extra) memcpy(nx, meta->extra, meta->n_extra * sizeof *nx);
  nx[meta->n_extra].key = k->v;
  nx[meta->n_extra].value = v->v;
  meta->extra = nx;
  meta->n_extra++;
  return TS_OK;
}

static const char *const known_keys[] = {
    "title", "subtitle", "short-title", "author", "date", "lang", "abstract",
    "keywords", "publisher", "rights", "identifier", "cover-image", "style", "series"};
#define N_KNOWN (sizeof known_keys / sizeof *known_keys)

ts_status md_meta_parse(ts_doc *doc, const char *yaml, size_t len,
                        const char *file, unsigned first_line, int fill_only,
                        ts_diag *d, md_abstract *abs) {
  ts_status st = TS_OK;
  ynode *root = NULL;
  mctx m = {.doc = doc, .d = d, .file = file, .fill_only = fill_only, .abs = abs};
  ts_meta *meta = &doc->meta;
  unsigned seen = 0;
  TS_CHECK(load(doc->arena, yaml, len, file, first_line, d, &root));
  if (!root || is_absent(root)) goto done;
  if (root->kind != Y_MAP) {
    mwarn(&m, root, "metadata must be a mapping of keys to values; ignored");
    goto done;
  }
  for (const ynode *k = root->first; k && k->next; k = k->next->next) {
    const ynode *v = k->next;
    if (!is_scalar(k)) {
      mwarn(&m, k, "metadata keys must be strings; entry ignored");
      continue;
    }
    size_t i;
    for (i = 0; i < N_KNOWN; i++)
      if (strcmp(k->v, known_keys[i]) == 0) break;
    if (i < N_KNOWN) {
      if (seen & (1u << i)) mwarn(&m, k, "duplicate metadata key '%s'; the last wins", k->v);
      seen |= 1u << i;
    }
    switch (i) {
    case 0: set_str(&m, &meta->title, k->v, v); break;
    case 1: set_str(&m, &meta->subtitle, k->v, v); break;
    case 2: set_str(&m, &meta->short_title, k->v, v); break;
    case 3: TS_CHECK(read_authors(&m, v)); break;
    case 4: set_str(&m, &meta->date, k->v, v); break;
    case 5:
      if (is_absent(v)) break;
      if (!is_scalar(v)) {
        mwarn(&m, v, "metadata 'lang' must be a string; ignored");
      } else if (!md_lang_ok(v->v)) {
        mwarn(&m, v, "metadata 'lang' '%s' is not a BCP 47 language tag; ignored", v->v);
      } else if (!(fill_only && meta->lang_explicit)) {
        meta->lang = v->v;
        meta->lang_explicit = 1;
      }
      break;
    case 6:
      if (is_absent(v)) break;
      if (!is_scalar(v)) {
        mwarn(&m, v, "metadata 'abstract' must be a string; ignored");
      } else if (!(fill_only && meta->abstract)) {
        abs->src = v->v;
        abs->len = v->len;
        abs->line = v->line + (v->null == -1 ? 1 : 0);
        abs->present = 1;
      }
      break;
    case 7: TS_CHECK(read_keywords(&m, v)); break;
    case 8: set_str(&m, &meta->publisher, k->v, v); break;
    case 9: set_str(&m, &meta->rights, k->v, v); break;
    case 10: set_str(&m, &meta->identifier, k->v, v); break;
    case 11:
      set_str(&m, &meta->cover_image, k->v, v);
      if (meta->cover_image == v->v) { /* taken: remember where it was written */
        meta->cover_image_file = m.file ? ts_arena_strdup(doc->arena, m.file) : NULL;
        if (m.file && !meta->cover_image_file) {
          st = TS_ERR_NOMEM;
          goto done;
        }
        meta->cover_image_line = v->line;
        meta->cover_image_col = v->col;
      }
      break;
    case 12: set_str(&m, &meta->style, k->v, v); break;
    case 13: read_series(&m, v); break;
    default: TS_CHECK(add_extra(&m, k, v)); break;
    }
  }
done:
  return st;
}

/* ---- Public helpers --------------------------------------------------------*/
int ts_orcid_check(const char *s) {
  if (!s) return 0;
  static const char *const prefixes[] = {"https://orcid.org/", "http://orcid.org/"};
  for (size_t i = 0; i < 2; i++)
    if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0) {
      s += strlen(prefixes[i]);
      break;
    }
  if (strlen(s) != 19) return 0;
  /* ISO 7064 MOD 11-2 over the 15 base digits (ORCID's "Structure of the
   * ORCID Identifier"): total = (total + d) * 2; check = (12 - total % 11) % 11,
   * 10 written as 'X'. */
  unsigned total = 0, nd = 0;
  for (size_t i = 0; i < 18; i++) {
    if (i % 5 == 4) {
      if (s[i] != '-') return 0;
      continue;
    }
    if (s[i] < '0' || s[i] > '9') return 0;
    total = (total + (unsigned)(s[i] - '0')) * 2;
    nd++;
  }
  if (nd != 15) return 0;
  unsigned check = (12 - total % 11) % 11;
  char want = check == 10 ? 'X' : (char)('0' + check);
  return s[18] == want;
}

ts_status ts_meta_apply_yaml(ts_doc *doc, const char *yaml, size_t len,
                             const char *file, unsigned first_line,
                             int fill_only, ts_diag *d) {
  md_abstract abs = {0};
  if (!first_line) first_line = 1;
  ts_status st = md_meta_parse(doc, yaml, len, file, first_line, fill_only, d, &abs);
  if (st == TS_OK && abs.present) st = md_convert_abstract(doc, d, file, &abs);
  return st;
}
