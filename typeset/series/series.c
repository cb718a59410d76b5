/* series.c — `typeset series MANIFEST.yaml`: every paper of a series in one
 * process with worker threads sharing one context (fonts, hyphenation
 * patterns) and one parsed style; incremental rebuilds by content hashes;
 * shards for many machines; a JSON report; a catalogue (PDF + OPDS feed).
 *
 * Manifest (YAML):
 *   series:   {name, publisher, issn, url, style, first-number, note}
 *   output:   folder for the outputs (relative to the manifest)
 *   formats:  [pdf, epub]
 *   papers:   - path: a.md            (a path or a glob, inside the manifest's folder)
 *               number: "12"          (optional)
 *               meta: {title: …}      (optional: overrides the paper's metadata)
 */
#include "ts_series.h"

#include "fonts/ts_fonts.h"
#include "markdown/ts_markdown.h"

#include <errno.h>
#include <glob.h>
#include "fonts/hb_api.h"
#include "pdf/hpdf_api.h"
#include <png.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#define STATE_NAME ".typeset-state"
/* Paths under the output folder are made in fixed buffers of OUT_PATH_MAX
 * bytes; ts_series_run refuses an output folder longer than OUT_DIR_MAX, so
 * the longest name added ("/.typeset-state.K-of-N" with two 10-digit numbers,
 * 40 bytes) always fits and no path is ever cut (the snprintf results into
 * these buffers are ignored on that ground). */
#define OUT_PATH_MAX 4096
#define OUT_DIR_MAX (OUT_PATH_MAX - 64)
#define MAX_PAPERS 100000

typedef struct paper {
  char *rel;          /* path relative to the manifest folder (owned) */
  char *path;         /* resolved real path (owned) */
  char *number;       /* owned or NULL */
  char *override;     /* YAML text of `meta:` (owned) or NULL */
  unsigned override_line;
  unsigned line, col; /* manifest position of the entry */
  char *outs[2];      /* output paths (owned) */
  int n_outs;
  char hash[65];      /* input fingerprint */
  /* results */
  int status;         /* 0 pending, 1 rendered, 2 unchanged, 3 failed, 4 other shard */
  ts_render_result res;
  unsigned warnings;
  char error[512];
} paper;

typedef struct manifest {
  char *file;         /* manifest path (borrowed from caller, copied) */
  char *dir;          /* its folder */
  char *text;         /* whole manifest text */
  size_t text_len;
  char *name, *publisher, *issn, *url, *style, *note;
  long first_number;
  int has_first_number;
  char *out_dir;
  int want_pdf, want_epub;
  paper *papers;
  size_t n_papers, cap_papers;
} manifest;

typedef struct run {
  ts_ctx *ctx;
  manifest *m;
  const ts_series_opts *o;
  const ts_style *style;
  char *style_dump;   /* for fingerprints */
  char *fonts_print;  /* for fingerprints */
  uint8_t shared_print[32]; /* SHA-256 of style_dump and fonts_print: what
                               every paper's fingerprint takes of them */
  ts_diag *d;
  pthread_mutex_t lock; /* guards next, counters, output lines */
  size_t next;
  size_t done, failed, rendered, unchanged, todo;
  size_t pages_done;
  double t0;
} run;

static double now_s(void) {
  /* progress and report timings only; never in an output file */
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void manifest_free(manifest *m) {
  for (size_t i = 0; i < m->n_papers; i++) {
    paper *p = &m->papers[i];
    free(p->rel);
    free(p->path);
    free(p->number);
    free(p->override);
    for (int k = 0; k < p->n_outs; k++) free(p->outs[k]);
    ts_render_result_free(&p->res);
  }
  free(m->papers);
  free(m->file);
  free(m->dir);
  free(m->text);
  free(m->name);
  free(m->publisher);
  free(m->issn);
  free(m->url);
  free(m->style);
  free(m->note);
  free(m->out_dir);
}

/* ---- Manifest parsing (libyaml document API; aliases are refused) ------ */


static const char *scalar(yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static void err_at(ts_diag *d, const manifest *m, yaml_node_t *n, const char *msg,
                   const char *arg) {
  ts_diag_report(d, TS_ERROR, m->file, n ? (unsigned)n->start_mark.line + 1 : 0,
                 n ? (unsigned)n->start_mark.column + 1 : 0, msg, arg ? arg : "");
}

static void warn_at(ts_diag *d, const manifest *m, yaml_node_t *n, const char *msg,
                    const char *arg) {
  ts_diag_report(d, TS_WARNING, m->file, n ? (unsigned)n->start_mark.line + 1 : 0,
                 n ? (unsigned)n->start_mark.column + 1 : 0, msg, arg ? arg : "");
}

static int dup_scalar(ts_diag *d, manifest *m, yaml_node_t *v, const char *key, char **out) {
  const char *s = scalar(v);
  if (!s) {
    err_at(d, m, v, "'%s' must be a text value", key);
    return -1;
  }
  free(*out);
  *out = strdup(s);
  return *out ? 0 : -1;
}

static paper *add_paper(manifest *m) {
  if (m->n_papers == m->cap_papers) {
    size_t nc = m->cap_papers ? m->cap_papers * 2 : 16;
    paper *np = realloc(m->papers, nc * sizeof *np);
    if (!np) return NULL;
    m->papers = np;
    m->cap_papers = nc;
  }
  paper *p = &m->papers[m->n_papers++];
  memset(p, 0, sizeof *p);
  return p;
}

/* YAML text of a mapping node, sliced from the manifest so it parses alone
 * with the same line numbers (block style: from the start of its first line,
 * keeping the common indentation). */
static char *slice_node(const manifest *m, yaml_node_t *n, unsigned *first_line) {
  size_t a = n->start_mark.index, b = n->end_mark.index;
  if (n->data.mapping.style == YAML_BLOCK_MAPPING_STYLE) a -= n->start_mark.column;
  if (b > m->text_len || a > b) return NULL;
  *first_line = (unsigned)n->start_mark.line + 1;
  return strndup(m->text + a, b - a);
}

static ts_status add_papers_from(ts_diag *d, manifest *m, yaml_document_t *doc,
                                 yaml_node_t *item) {
  const char *path = NULL;
  yaml_node_t *path_node = item, *number = NULL, *meta = NULL;
  if (item->type == YAML_SCALAR_NODE) {
    path = scalar(item);
  } else if (item->type == YAML_MAPPING_NODE) {
    for (yaml_node_pair_t *pr = item->data.mapping.pairs.start;
         pr < item->data.mapping.pairs.top; pr++) {
      yaml_node_t *k = yaml_document_get_node(doc, pr->key);
      yaml_node_t *v = yaml_document_get_node(doc, pr->value);
      const char *ks = scalar(k);
      if (!ks) continue;
      if (strcmp(ks, "path") == 0) {
        path = scalar(v);
        path_node = v;
      } else if (strcmp(ks, "number") == 0) {
        number = v;
      } else if (strcmp(ks, "meta") == 0) {
        meta = v;
      } else {
        warn_at(d, m, k, "unknown paper key '%s' ignored", ks);
      }
    }
  }
  if (!path || !*path) {
    err_at(d, m, item, "a paper needs a path%s", NULL);
    return TS_ERR_INPUT;
  }
  if (number && !scalar(number)) {
    err_at(d, m, number, "'number' must be a text value%s", NULL);
    return TS_ERR_INPUT;
  }
  if (meta && meta->type != YAML_MAPPING_NODE) {
    err_at(d, m, meta, "'meta' must be a mapping of metadata keys%s", NULL);
    return TS_ERR_INPUT;
  }
  /* globs expand inside the manifest folder, sorted (glob(3) sorts) */
  const char *why = NULL;
  if (path[0] == '/' || strstr(path, "..")) {
    err_at(d, m, path_node, "paper path '%s' must stay inside the manifest's folder", path);
    return TS_ERR_INPUT;
  }
  size_t pat_n = strlen(m->dir) + strlen(path) + 2;
  char *pat = malloc(pat_n);
  if (!pat) return TS_ERR_NOMEM;
  (void)snprintf(pat, pat_n, "%s/%s", m->dir, path); /* pat_n counts every byte */
  glob_t g;
  memset(&g, 0, sizeof g);
  int gr = glob(pat, 0, NULL, &g);
  free(pat);
  if (gr != 0 || g.gl_pathc == 0) {
    globfree(&g);
    err_at(d, m, path_node, "no paper matches '%s'", path);
    return TS_ERR_INPUT;
  }
  ts_status st = TS_OK;
  for (size_t i = 0; i < g.gl_pathc; i++) {
    const char *full = g.gl_pathv[i];
    const char *rel = full + strlen(m->dir) + 1;
    if (m->n_papers >= MAX_PAPERS) {
      err_at(d, m, path_node, "too many papers (the limit is 100000)%s", NULL);
      st = TS_ERR_LIMIT;
      break;
    }
    char *real = ts_path_resolve_inside(m->dir, rel, NULL, 0, &why);
    if (!real && why == ts_why_nomem) {
      st = TS_ERR_NOMEM;
      break;
    }
    if (!real) {
      err_at(d, m, path_node, "paper '%s' cannot be used", rel);
      ts_diag_report(d, TS_ERROR, m->file, (unsigned)path_node->start_mark.line + 1,
                     (unsigned)path_node->start_mark.column + 1, "%s", why);
      st = TS_ERR_INPUT;
      break;
    }
    paper *p = add_paper(m);
    if (!p) {
      free(real);
      st = TS_ERR_NOMEM;
      break;
    }
    p->path = real;
    p->rel = strdup(rel);
    p->line = (unsigned)item->start_mark.line + 1;
    p->col = (unsigned)item->start_mark.column + 1;
    if (number && g.gl_pathc == 1) p->number = strdup(scalar(number));
    if (meta) p->override = slice_node(m, meta, &p->override_line);
    if (!p->rel) {
      st = TS_ERR_NOMEM;
      break;
    }
  }
  globfree(&g);
  return st;
}

static ts_status parse_manifest(ts_diag *d, manifest *m) {
  ts_status st = TS_OK;
  yaml_parser_t parser;
  yaml_document_t doc;
  int have_doc = 0;
  /* refuse aliases before building the document: a manifest never needs
   * them and they are the way to a "billion laughs"; and deep nesting:
   * libyaml rescans its stack of possible simple keys for every token
   * inside flow collections, so 100,000 nested `[` took a minute (a
   * manifest needs 5 levels; the same limit as a paper's metadata) */
  int depth = 0;
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_string(&parser, (const unsigned char *)m->text, m->text_len);
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      ts_diag_report(d, TS_ERROR, m->file, (unsigned)parser.problem_mark.line + 1,
                     (unsigned)parser.problem_mark.column + 1, "malformed YAML: %s",
                     parser.problem ? parser.problem : "syntax error");
      yaml_parser_delete(&parser);
      return TS_ERR_INPUT;
    }
    int end = ev.type == YAML_STREAM_END_EVENT;
    if (ev.type == YAML_ALIAS_EVENT) {
      ts_diag_report(d, TS_ERROR, m->file, (unsigned)ev.start_mark.line + 1,
                     (unsigned)ev.start_mark.column + 1,
                     "YAML aliases are not allowed in a series manifest");
      yaml_event_delete(&ev);
      yaml_parser_delete(&parser);
      return TS_ERR_INPUT;
    }
    if ((ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) &&
        ++depth > TS_YAML_MAX_DEPTH) {
      ts_diag_report(d, TS_ERROR, m->file, (unsigned)ev.start_mark.line + 1,
                     (unsigned)ev.start_mark.column + 1,
                     "YAML nested too deeply (more than %d levels)", TS_YAML_MAX_DEPTH);
      yaml_event_delete(&ev);
      yaml_parser_delete(&parser);
      return TS_ERR_INPUT;
    }
    if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) depth--;
    yaml_event_delete(&ev);
    if (end) break;
  }
  yaml_parser_delete(&parser);

  yaml_parser_initialize(&parser);
  yaml_parser_set_input_string(&parser, (const unsigned char *)m->text, m->text_len);
  if (!yaml_parser_load(&parser, &doc)) {
    ts_diag_report(d, TS_ERROR, m->file, (unsigned)parser.problem_mark.line + 1,
                   (unsigned)parser.problem_mark.column + 1, "malformed YAML: %s",
                   parser.problem ? parser.problem : "syntax error");
    st = TS_ERR_INPUT;
    goto done;
  }
  have_doc = 1;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root) {
    ts_diag_report(d, TS_ERROR, m->file, 1, 1, "the manifest is empty");
    st = TS_ERR_INPUT;
    goto done;
  }
  if (root->type != YAML_MAPPING_NODE) {
    err_at(d, m, root, "the manifest must be a mapping with series, output, formats and papers%s", NULL);
    st = TS_ERR_INPUT;
    goto done;
  }
  m->want_pdf = m->want_epub = 1;
  yaml_node_t *papers = NULL;
  for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
       pr < root->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
    yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
    const char *ks = scalar(k);
    if (!ks) continue;
    if (strcmp(ks, "series") == 0) {
      if (v->type != YAML_MAPPING_NODE) {
        err_at(d, m, v, "'series' must be a mapping%s", NULL);
        st = TS_ERR_INPUT;
        goto done;
      }
      for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
        yaml_node_t *sk = yaml_document_get_node(&doc, q->key);
        yaml_node_t *sv = yaml_document_get_node(&doc, q->value);
        const char *s = scalar(sk);
        if (!s) continue;
        char **slot = strcmp(s, "name") == 0        ? &m->name
                      : strcmp(s, "publisher") == 0 ? &m->publisher
                      : strcmp(s, "issn") == 0      ? &m->issn
                      : strcmp(s, "url") == 0       ? &m->url
                      : strcmp(s, "style") == 0     ? &m->style
                      : strcmp(s, "note") == 0      ? &m->note
                                                    : NULL;
        if (slot) {
          if (dup_scalar(d, m, sv, s, slot)) {
            st = TS_ERR_INPUT;
            goto done;
          }
        } else if (strcmp(s, "first-number") == 0) {
          const char *n = scalar(sv);
          char *end;
          long f = n ? strtol(n, &end, 10) : 0;
          if (!n || *end || f < 0 || f > 1000000000) {
            err_at(d, m, sv, "'first-number' must be a whole number%s", NULL);
            st = TS_ERR_INPUT;
            goto done;
          }
          m->first_number = f;
          m->has_first_number = 1;
        } else {
          warn_at(d, m, sk, "unknown series key '%s' ignored", s);
        }
      }
    } else if (strcmp(ks, "output") == 0) {
      if (dup_scalar(d, m, v, ks, &m->out_dir)) {
        st = TS_ERR_INPUT;
        goto done;
      }
    } else if (strcmp(ks, "formats") == 0) {
      if (v->type != YAML_SEQUENCE_NODE) {
        err_at(d, m, v, "'formats' must be a list: [pdf, epub]%s", NULL);
        st = TS_ERR_INPUT;
        goto done;
      }
      m->want_pdf = m->want_epub = 0;
      for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *f = yaml_document_get_node(&doc, *it);
        const char *fs = scalar(f);
        if (fs && strcmp(fs, "pdf") == 0) m->want_pdf = 1;
        else if (fs && strcmp(fs, "epub") == 0) m->want_epub = 1;
        else {
          err_at(d, m, f, "unknown format '%s' (pdf or epub)", fs ? fs : "?");
          st = TS_ERR_INPUT;
          goto done;
        }
      }
    } else if (strcmp(ks, "papers") == 0) {
      papers = v;
    } else {
      warn_at(d, m, k, "unknown manifest key '%s' ignored", ks);
    }
  }
  if (papers) {
    if (papers->type != YAML_SEQUENCE_NODE) {
      err_at(d, m, papers, "'papers' must be a list%s", NULL);
      st = TS_ERR_INPUT;
      goto done;
    }
    for (yaml_node_item_t *it = papers->data.sequence.items.start;
         it < papers->data.sequence.items.top; it++)
      TS_CHECK(add_papers_from(d, m, &doc, yaml_document_get_node(&doc, *it)));
  }
  if (!m->out_dir) m->out_dir = strdup("out");
  if (!m->out_dir) st = TS_ERR_NOMEM;

done:
  if (have_doc) yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  return st;
}

ts_status ts_series_check_manifest(ts_ctx *ctx, const char *text, size_t len,
                                   const char *file, ts_diag *d) {
  (void)ctx;
  ts_status st = TS_OK;
  manifest m;
  memset(&m, 0, sizeof m);
  /* many papers in one process: cached values are read into the heap,
   * whose pages serve paper after paper, not mapped (core/dcache.c) */
  ts_dcache_map_files(0);
  m.file = strdup(file);
  m.dir = ts_path_dirname(file);
  m.text = malloc(len + 1);
  if (!m.file || !m.dir || !m.text) {
    st = TS_ERR_NOMEM;
    goto done;
  }
  if (len) memcpy(m.text, text, len);
  m.text[len] = '\0';
  m.text_len = len;
  st = parse_manifest(d, &m);
done:
  manifest_free(&m);
  return st;
}

/* ---- Fill-in metadata: what the series gives a paper that lacks it ----- */

static void yq(ts_buf *b, const char *s) {
  /* a YAML double-quoted scalar */
  ts_buf_putc(b, '"');
  for (const char *p = s; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') {
      ts_buf_putc(b, '\\');
      ts_buf_putc(b, (char)c);
    } else if (c < 0x20) {
      ts_buf_printf(b, "\\x%02x", c);
    } else {
      ts_buf_putc(b, (char)c);
    }
  }
  ts_buf_putc(b, '"');
}

static char *fill_yaml(const manifest *m, const paper *p, size_t index) {
  ts_buf b;
  ts_buf_init(&b);
  char num[32];
  const char *number = p->number;
  if (!number && m->has_first_number) {
    (void)snprintf(num, sizeof num, "%ld", m->first_number + (long)index); /* 21 bytes at most */
    number = num;
  }
  if (m->name || number || m->issn || m->url || m->publisher) {
    ts_buf_puts(&b, "series:\n");
    if (m->name) { ts_buf_puts(&b, "  name: "); yq(&b, m->name); ts_buf_putc(&b, '\n'); }
    if (number) { ts_buf_puts(&b, "  number: "); yq(&b, number); ts_buf_putc(&b, '\n'); }
    if (m->issn) { ts_buf_puts(&b, "  issn: "); yq(&b, m->issn); ts_buf_putc(&b, '\n'); }
    if (m->url) { ts_buf_puts(&b, "  url: "); yq(&b, m->url); ts_buf_putc(&b, '\n'); }
    if (m->publisher) { ts_buf_puts(&b, "  publisher: "); yq(&b, m->publisher); ts_buf_putc(&b, '\n'); }
  }
  if (m->publisher) { ts_buf_puts(&b, "publisher: "); yq(&b, m->publisher); ts_buf_putc(&b, '\n'); }
  if (b.oom) {
    ts_buf_free(&b);
    return NULL;
  }
  return ts_buf_detach(&b, NULL);
}

/* ---- Fingerprints for incremental rebuilds ---------------------------- */

/* A file's path and contents into h: the contents through the fast hash
 * (a change detector, not a signature; SHA-256 over the series' images was
 * a twentieth of a 50-paper run, all of it before the first paper);
 * *marks (when given) gets
 * MARK_IMAGE when the text holds "![" and MARK_COVER when it holds
 * "cover-image" (both when it cannot be read). */
enum { MARK_IMAGE = 1, MARK_COVER = 2 };
static void hash_file(ts_sha256 *h, const char *path, int *marks) {
  size_t n = 0;
  char *data = ts_file_read(path, &n, 0);
  ts_sha256_update(h, path, strlen(path) + 1);
  if (marks)
    *marks = !data ? MARK_IMAGE | MARK_COVER
                   : (memmem(data, n, "![", 2) ? MARK_IMAGE : 0) |
                         (memmem(data, n, "cover-image", 11) ? MARK_COVER : 0);
  if (data) {
    uint8_t d[32];
    ts_hash_fast256(data, n, d);
    ts_sha256_update(h, "fast256", 8);
    ts_sha256_update(h, d, sizeof d);
    free(data);
  } else {
    ts_sha256_update(h, "<missing>", 9);
  }
}

static void hash_image(ts_sha256 *h, const ts_doc *doc, const char *url) {
  const char *why;
  char *img = ts_path_resolve_inside(doc->dir, url, NULL, 0, &why);
  if (img) {
    hash_file(h, img, NULL);
    free(img);
  } else {
    ts_sha256_update(h, url, strlen(url) + 1);
  }
}

static void fingerprint(run *r, paper *p, const char *fill) {
  ts_sha256 h;
  ts_sha256_init(&h);
  ts_sha256_update(&h, "typeset " TS_VERSION, sizeof("typeset " TS_VERSION));
  /* this build, the shared libraries that make the outputs' bytes and the
   * date they are stamped with (SOURCE_DATE_EPOCH): a rebuilt or upgraded
   * typeset, or another date, renders every paper again */
  char libs[240];
  int epoch_set = 0;
  long long epoch = (long long)ts_ctx_epoch(r->ctx, &epoch_set);
  /* fits: three short version strings and a number (the build ID is kept out of it) */
  (void)snprintf(libs, sizeof libs, "harfbuzz %s libharu %s libpng %s epoch %lld",
                 HB_VERSION_STRING, ts_hpdf_open(NULL) ? HPDF_GetVersion() : "-",
                 png_get_libpng_ver(NULL),
                 epoch_set ? epoch : -1LL);
  const char *id = ts_build_id();
  ts_sha256_update(&h, id, strlen(id) + 1);
  ts_sha256_update(&h, libs, strlen(libs) + 1);
  int marks;
  hash_file(&h, p->path, &marks);
  if (fill) ts_sha256_update(&h, fill, strlen(fill) + 1);
  if (p->override) ts_sha256_update(&h, p->override, strlen(p->override) + 1);
  ts_sha256_update(&h, r->shared_print, sizeof r->shared_print);
  for (int k = 0; k < p->n_outs; k++) ts_sha256_update(&h, p->outs[k], strlen(p->outs[k]) + 1);
  /* the images the paper uses, their contents: every image of Markdown is
   * written "![" (an escaped or entity '!' makes none), so a paper without
   * one is not parsed here (that parse was a third of a series' Markdown
   * time); the cover image is named by "cover-image" in the paper or the
   * manifest's override, and then only the metadata block is read */
  if (p->override && strstr(p->override, "cover-image")) marks |= MARK_COVER;
  ts_diag quiet;
  ts_diag_init(&quiet, NULL);
  ts_doc *doc = NULL;
  ts_status pst = (marks & MARK_IMAGE) ? ts_markdown_parse_file(r->ctx, p->path, &quiet, &doc)
                : (marks & MARK_COVER) ? ts_markdown_parse_meta_file(r->ctx, p->path, &quiet, &doc)
                                       : TS_OK;
  if (pst == TS_OK && doc) {
    if (p->override)
      (void)ts_meta_apply_yaml(doc, p->override, strlen(p->override), r->m->file,
                               p->override_line, 0, &quiet);
    ts_iter it;
    ts_iter_init(&it, doc->root);
    ts_node *n;
    int entering;
    while ((n = ts_iter_next(&it, &entering))) {
      if (!entering || (n->type != TS_NODE_FIGURE && n->type != TS_NODE_IMAGE) || !n->url) continue;
      hash_image(&h, doc, n->url);
    }
    if (doc->meta.cover_image && doc->meta.cover_image[0]) hash_image(&h, doc, doc->meta.cover_image);
  }
  ts_doc_destroy(doc);
  uint8_t dg[32];
  ts_sha256_final(&h, dg);
  ts_sha256_hex(dg, p->hash);
}

/* The fingerprints of the papers of this shard, on up to `jobs` threads
 * (each paper's alone: a 50-paper series spent a twentieth of its time
 * here, serially, parsing the papers that have images). */
typedef struct fp_pool {
  run *r;
  pthread_mutex_t lock;
  size_t next;
} fp_pool;

static void *fp_worker(void *arg) {
  fp_pool *f = arg;
  manifest *m = f->r->m;
  for (;;) {
    pthread_mutex_lock(&f->lock);
    size_t i = f->next++;
    pthread_mutex_unlock(&f->lock);
    if (i >= m->n_papers) break;
    paper *p = &m->papers[i];
    if (p->status == 4) continue; /* another shard's */
    char *fill = fill_yaml(m, p, i);
    fingerprint(f->r, p, fill);
    free(fill);
  }
  return NULL;
}

static void fingerprint_all(run *r, int jobs) {
  fp_pool f = {r, PTHREAD_MUTEX_INITIALIZER, 0};
  pthread_t th[16];
  memset(th, 0, sizeof th); /* (cppcheck cannot see that only started ones are joined) */
  int started = 0;
  if (jobs > 16) jobs = 16;
  if ((size_t)jobs > r->m->n_papers) jobs = (int)r->m->n_papers;
  for (int t = 1; t < jobs; t++) {
    if (pthread_create(&th[started], NULL, fp_worker, &f) != 0) break;
    started++;
  }
  fp_worker(&f);
  for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
  pthread_mutex_destroy(&f.lock);
}

/* Fonts fingerprint: the files behind the style's families (path, size,
 * modification time), so a font update re-renders the series. */
static char *fonts_fingerprint(ts_ctx *ctx, const ts_style *s) {
  ts_buf b;
  ts_buf_init(&b);
  for (int role = 0; role < TS_ROLE_COUNT; role++) {
    for (int i = 0; i < s->fonts[role].n_families; i++) {
      const char *fam = s->fonts[role].families[i];
      for (int w = 0; w < 2; w++) {
        const ts_face *f = ts_fonts_find(ctx, fam, w ? 700 : 400, 0);
        struct stat sb;
        if (f && stat(f->path, &sb) == 0)
          ts_buf_printf(&b, "%s\t%lld\t%lld\n", f->path, (long long)sb.st_size,
                        (long long)sb.st_mtime);
      }
    }
  }
  return ts_buf_detach(&b, NULL);
}

/* ---- State file ---------------------------------------------------------
 * One line per paper: "HASH\tREL\n".  Shards write their own file
 * (.typeset-state.K-of-N) so concurrent processes never share one; all state
 * files are read. */

/* The state files of the output folder (every shard's), read once: one
 * line a paper, "HASH\tPATH\tPAGES" (the pages for the catalogue of a run
 * in which the paper is unchanged; a line without them, from an older
 * typeset, matches nothing and its paper is rendered again). */
typedef struct state_line {
  const char *hash, *rel; /* into the read text */
  size_t pages;
} state_line;

typedef struct state_set {
  char **texts;     /* the files read (owned) */
  size_t n_texts;
  state_line *lines; /* sorted by rel, then hash (owned) */
  size_t n;
} state_set;

static int cmp_state(const void *a, const void *b) {
  const state_line *x = a, *y = b;
  int c = strcmp(x->rel, y->rel);
  return c ? c : strcmp(x->hash, y->hash);
}

static void state_free(state_set *s) {
  for (size_t i = 0; i < s->n_texts; i++) free(s->texts[i]);
  free(s->texts);
  free(s->lines);
  memset(s, 0, sizeof *s);
}

/* Reads the state files of out_dir into s; 0 on OOM (s then empty: every
 * paper is rendered). */
static int state_load(const char *out_dir, state_set *s) {
  memset(s, 0, sizeof *s);
  char pat[OUT_PATH_MAX];
  (void)snprintf(pat, sizeof pat, "%s/" STATE_NAME "*", out_dir); /* fits: OUT_DIR_MAX */
  glob_t g;
  memset(&g, 0, sizeof g);
  int ok = 1;
  size_t cap = 0;
  if (glob(pat, 0, NULL, &g) == 0) {
    s->texts = calloc(g.gl_pathc, sizeof *s->texts);
    if (!s->texts) ok = 0;
    for (size_t i = 0; ok && i < g.gl_pathc; i++) {
      size_t n;
      char *data = ts_file_read(g.gl_pathv[i], &n, 0);
      if (!data) continue;
      s->texts[s->n_texts++] = data;
      char *save = NULL;
      for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');
        char *last = strrchr(line, '\t');
        if (!tab || tab - line != 64 || last == tab) continue;
        char *end = NULL;
        errno = 0;
        unsigned long long pages = strtoull(last + 1, &end, 10);
        if (errno || end == last + 1 || *end) continue;
        *tab = 0;
        *last = 0;
        if (s->n == cap) {
          size_t nc = cap ? 2 * cap : 64;
          state_line *nl = realloc(s->lines, nc * sizeof *nl);
          if (!nl) {
            ok = 0;
            break;
          }
          s->lines = nl;
          cap = nc;
        }
        s->lines[s->n++] = (state_line){line, tab + 1, (size_t)pages};
      }
    }
  }
  globfree(&g);
  if (!ok) {
    state_free(s);
    return 0;
  }
  if (s->n) qsort(s->lines, s->n, sizeof *s->lines, cmp_state);
  return 1;
}

/* 1 when p's fingerprint is in the state and its outputs exist (its pages
 * then go into p->res for the catalogue). */
static int has_state(const state_set *s, paper *p) {
  state_line key = {p->hash, p->rel, 0};
  const state_line *e = s->n ? bsearch(&key, s->lines, s->n, sizeof *s->lines, cmp_state) : NULL;
  if (!e) return 0;
  for (int k = 0; k < p->n_outs; k++)
    if (access(p->outs[k], R_OK) != 0) return 0;
  p->res.pages = e->pages;
  return 1;
}

static int cmp_rel(const void *a, const void *b) {
  const paper *const *x = a, *const *y = b;
  return strcmp((*x)->rel, (*y)->rel);
}

static ts_status write_state(run *r) {
  manifest *m = r->m;
  char path[OUT_PATH_MAX]; /* fits: OUT_DIR_MAX */
  if (r->o->shard_n)
    (void)snprintf(path, sizeof path, "%s/" STATE_NAME ".%d-of-%d", m->out_dir, r->o->shard_k,
                   r->o->shard_n);
  else
    (void)snprintf(path, sizeof path, "%s/" STATE_NAME, m->out_dir);
  paper **sorted = calloc(m->n_papers + 1, sizeof *sorted);
  if (!sorted) return TS_ERR_NOMEM;
  size_t n = 0;
  for (size_t i = 0; i < m->n_papers; i++)
    if (m->papers[i].status == 1 || m->papers[i].status == 2) sorted[n++] = &m->papers[i];
  qsort(sorted, n, sizeof *sorted, cmp_rel);
  ts_buf b;
  ts_buf_init(&b);
  for (size_t i = 0; i < n; i++)
    ts_buf_printf(&b, "%s\t%s\t%zu\n", sorted[i]->hash, sorted[i]->rel, sorted[i]->res.pages);
  free(sorted);
  ts_status st = b.oom ? TS_ERR_NOMEM : ts_write_file_atomic(path, b.data ? b.data : "", b.len);
  ts_buf_free(&b);
  return st;
}

/* ---- Workers ------------------------------------------------------------ */

static void progress(run *r, int final) {
  /* caller holds r->lock */
  if (!r->o->progress) return;
  double el = now_s() - r->t0;
  double rate = el > 0 ? (double)r->pages_done / el : 0;
  double eta = r->done ? el / (double)r->done * (double)(r->todo - r->done) : 0;
  /* progress on a terminal: a failed write loses nothing */
  (void)fprintf(stderr, "\r\033[K[%zu/%zu] %.0f pages/s  elapsed %.1fs  ETA %.1fs  failed %zu",
                r->done, r->todo, rate, el, eta, r->failed);
  if (final) (void)fputc('\n', stderr);
  (void)fflush(stderr);
}

static void *worker(void *arg) {
  run *r = arg;
  manifest *m = r->m;
  for (;;) {
    pthread_mutex_lock(&r->lock);
    size_t i = r->next;
    while (i < m->n_papers && m->papers[i].status != 0) i++;
    r->next = i + 1;
    pthread_mutex_unlock(&r->lock);
    if (i >= m->n_papers) break;
    paper *p = &m->papers[i];
    char *fill = fill_yaml(m, p, i);
    ts_diag d;
    ts_diag_init(&d, stderr);
    d.quiet = r->o->quiet; /* -q: no warnings, but a paper's errors are still told */
    d.lock = &r->lock;
    ts_render_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.style_obj = r->style;
    ro.outputs = (const char *const *)p->outs;
    ro.n_outputs = (size_t)p->n_outs;
    ro.meta_fill = fill;
    ro.meta_file = m->file;
    ro.meta_fill_line = p->line;
    ro.meta_override = p->override;
    ro.meta_override_line = p->override_line;
    ts_status st = ts_render_file(r->ctx, p->path, &ro, &d, &p->res);
    free(fill);
    pthread_mutex_lock(&r->lock);
    p->warnings = d.n_warnings;
    r->done++;
    if (st == TS_OK) {
      p->status = 1;
      r->rendered++;
      r->pages_done += p->res.pages;
    } else {
      p->status = 3;
      r->failed++;
      (void)snprintf(p->error, sizeof p->error, "%s", /* a long message is cut */
               d.first_error[0] ? d.first_error : ts_status_str(st));
    }
    if (!r->o->quiet && !r->o->progress)
      (void)fprintf(stderr, "typeset: %s %s (%zu pages, %.0f ms)\n",
              st == TS_OK ? "rendered" : "FAILED", p->rel, p->res.pages, p->res.ms);
    progress(r, 0);
    pthread_mutex_unlock(&r->lock);
  }
  return NULL;
}

/* ---- Report and catalogue --------------------------------------------- */

static const char *status_name(int s) {
  switch (s) {
  case 1: return "rendered";
  case 2: return "unchanged";
  case 3: return "failed";
  case 4: return "other-shard";
  default: return "pending";
  }
}

static ts_status write_report(run *r) {
  manifest *m = r->m;
  ts_buf b;
  ts_buf_init(&b);
  ts_buf_puts(&b, "{\n  \"manifest\": ");
  ts_buf_json_str(&b, m->file, strlen(m->file));
  ts_buf_printf(&b, ",\n  \"rendered\": %zu,\n  \"unchanged\": %zu,\n  \"failed\": %zu,\n  \"papers\": [",
                r->rendered, r->unchanged, r->failed);
  int first = 1;
  for (size_t i = 0; i < m->n_papers; i++) {
    paper *p = &m->papers[i];
    if (p->status == 4) continue;
    ts_buf_puts(&b, first ? "\n    {" : ",\n    {");
    first = 0;
    ts_buf_puts(&b, "\"path\": ");
    ts_buf_json_str(&b, p->rel, strlen(p->rel));
    ts_buf_printf(&b, ", \"status\": \"%s\", \"pages\": %zu, \"bytes\": %zu, \"ms\": ",
                  status_name(p->status), p->res.pages, p->res.bytes);
    ts_buf_num(&b, p->res.ms, 1);
    ts_buf_printf(&b, ", \"warnings\": %u", p->warnings);
    ts_buf_puts(&b, ", \"outputs\": [");
    for (int k = 0; k < p->n_outs; k++) {
      if (k) ts_buf_puts(&b, ", ");
      ts_buf_json_str(&b, p->outs[k], strlen(p->outs[k]));
    }
    ts_buf_putc(&b, ']');
    if (p->status == 3) {
      ts_buf_puts(&b, ", \"error\": ");
      ts_buf_json_str(&b, p->error, strlen(p->error));
    }
    ts_buf_putc(&b, '}');
  }
  ts_buf_puts(&b, "\n  ]\n}\n");
  ts_status st = b.oom ? TS_ERR_NOMEM : ts_write_file_atomic(r->o->report, b.data, b.len);
  ts_buf_free(&b);
  return st;
}

static void md_escape(ts_buf *b, const char *s) {
  for (; s && *s; s++) {
    if (strchr("\\`*_{}[]()#+-.!|<>&~", *s)) ts_buf_putc(b, '\\');
    ts_buf_putc(b, *s == '\n' ? ' ' : *s);
  }
}

static void xml_text(ts_buf *b, const char *s) {
  if (s) ts_buf_xml(b, s, strlen(s));
}

static void iso_date(int64_t t, char out[32]) {
  time_t tt = (time_t)t;
  struct tm tm;
  /* the context's epoch is below year 10000, but a time gmtime cannot
   * represent must not reach strftime with tm unset */
  if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    memcpy(out, "1970-01-01T00:00:00Z", sizeof "1970-01-01T00:00:00Z");
}

/* Metadata of every paper (also other shards'), for the catalogue. */
/* What the catalogue shows of a paper: what its render kept (a paper
 * rendered in this run), else its metadata read again. */
typedef struct cat_meta {
  const char *number, *title, *abstract, *lang;
  const char **authors; /* n_authors (heap) */
  size_t n_authors;
} cat_meta;

typedef struct cat_entry {
  const paper *p;
  ts_doc *doc;
  cat_meta cm;
} cat_entry;

static void cat_free(cat_entry *ents, size_t n) {
  if (!ents) return;
  for (size_t i = 0; i < n; i++) {
    ts_doc_destroy(ents[i].doc);
    free((void *)ents[i].cm.authors);
  }
  free(ents);
}

/* e's cat_meta from its paper's render result, else from its doc (NULL:
 * the metadata could not be read); 0 on OOM. */
static int cat_meta_fill(cat_entry *e) {
  cat_meta *c = &e->cm;
  const ts_render_result *res = &e->p->res;
  size_t n = res->has_meta ? res->n_authors : e->doc ? e->doc->meta.n_authors : 0;
  if (n) {
    c->authors = calloc(n, sizeof *c->authors);
    if (!c->authors) return 0;
  }
  c->n_authors = n;
  if (res->has_meta) {
    c->number = res->number;
    c->title = res->title;
    c->abstract = res->abstract;
    c->lang = res->lang;
    const char *a = res->author_names;
    for (size_t i = 0; i < n; i++, a += strlen(a) + 1) c->authors[i] = a;
  } else if (e->doc) {
    const ts_meta *mt = &e->doc->meta;
    c->number = mt->series.number;
    c->title = mt->title;
    c->abstract = mt->abstract_text;
    c->lang = mt->lang;
    for (size_t i = 0; i < n; i++) c->authors[i] = mt->authors[i].name ? mt->authors[i].name : "";
  }
  return 1;
}

static ts_status write_catalogue(run *r) {
  manifest *m = r->m;
  ts_status st = TS_OK;
  ts_buf md, feed;
  ts_buf_init(&md);
  ts_buf_init(&feed);
  cat_entry *ents = calloc(m->n_papers + 1, sizeof *ents);
  if (!ents) return TS_ERR_NOMEM;
  ts_diag quiet;
  ts_diag_init(&quiet, NULL);
  for (size_t i = 0; i < m->n_papers; i++) {
    ents[i].p = &m->papers[i];
    if (!m->papers[i].res.has_meta) { /* not rendered in this run: read again */
      char *fill = fill_yaml(m, &m->papers[i], i);
      if (ts_markdown_parse_meta_file(r->ctx, m->papers[i].path, &quiet, &ents[i].doc) == TS_OK) {
        if (m->papers[i].override)
          ts_meta_apply_yaml(ents[i].doc, m->papers[i].override, strlen(m->papers[i].override),
                             m->file, m->papers[i].override_line, 0, &quiet);
        if (fill) ts_meta_apply_yaml(ents[i].doc, fill, strlen(fill), m->file, 1, 1, &quiet);
      }
      free(fill);
    }
    if (!cat_meta_fill(&ents[i])) {
      st = TS_ERR_NOMEM;
      goto done;
    }
  }
  const char *name = m->name ? m->name : "Series";
  /* catalogue as Markdown through the pipeline itself */
  ts_buf_puts(&md, "---\ntitle: ");
  yq(&md, name);
  ts_buf_puts(&md, "\nsubtitle: \"Catalogue\"\n");
  if (m->publisher) {
    ts_buf_puts(&md, "publisher: ");
    yq(&md, m->publisher);
    ts_buf_putc(&md, '\n');
  }
  ts_buf_puts(&md, "---\n\n");
  if (m->note) {
    ts_buf_puts(&md, m->note);
    ts_buf_puts(&md, "\n\n");
  }
  ts_buf_puts(&md, "| No. | Title | Authors | Pages |\n|---:|:---|:---|---:|\n");
  for (size_t i = 0; i < m->n_papers; i++) {
    const cat_meta *mt = &ents[i].cm;
    ts_buf_puts(&md, "| ");
    md_escape(&md, mt->number ? mt->number : "");
    ts_buf_puts(&md, " | ");
    md_escape(&md, mt->title ? mt->title : m->papers[i].rel);
    ts_buf_puts(&md, " | ");
    for (size_t a = 0; a < mt->n_authors; a++) {
      if (a) ts_buf_puts(&md, ", ");
      md_escape(&md, mt->authors[a]);
    }
    ts_buf_puts(&md, " | ");
    if (m->papers[i].res.pages) ts_buf_printf(&md, "%zu", m->papers[i].res.pages);
    ts_buf_puts(&md, " |\n");
  }
  /* OPDS 1.2 acquisition feed (Atom) of the EPUBs */
  int set;
  int64_t ep = ts_ctx_epoch(r->ctx, &set);
  char when[32];
  iso_date(set ? ep : 946684800, when);
  ts_sha256 h;
  ts_sha256_init(&h);
  ts_sha256_update(&h, name, strlen(name));
  uint8_t dg[32];
  char hex[65];
  ts_sha256_final(&h, dg);
  ts_sha256_hex(dg, hex);
  ts_buf_puts(&feed, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:dc=\"http://purl.org/dc/terms/\">\n");
  ts_buf_printf(&feed, "  <id>urn:sha256:%.32s</id>\n  <title>", hex);
  xml_text(&feed, name);
  ts_buf_printf(&feed, "</title>\n  <updated>%s</updated>\n", when);
  if (m->publisher) {
    ts_buf_puts(&feed, "  <author><name>");
    xml_text(&feed, m->publisher);
    ts_buf_puts(&feed, "</name></author>\n");
  }
  ts_buf_puts(&feed, "  <link rel=\"self\" href=\"catalogue.atom\" type=\"application/atom+xml;profile=opds-catalog;kind=acquisition\"/>\n");
  for (size_t i = 0; i < m->n_papers; i++) {
    const cat_meta *mt = &ents[i].cm;
    const paper *p = &m->papers[i];
    ts_buf_puts(&feed, "  <entry>\n    <title>");
    xml_text(&feed, mt->title ? mt->title : p->rel);
    /* an entry's id must never change (RFC 4287 §4.2.6): it comes from the
     * series name and the paper's path in the series, nothing else */
    ts_sha256 eh;
    ts_sha256_init(&eh);
    ts_sha256_update(&eh, name, strlen(name) + 1);
    ts_sha256_update(&eh, p->rel, strlen(p->rel));
    uint8_t edg[32];
    char ehex[65];
    ts_sha256_final(&eh, edg);
    ts_sha256_hex(edg, ehex);
    ts_buf_printf(&feed, "</title>\n    <id>urn:typeset:%.32s</id>\n    <updated>%s</updated>\n",
                  ehex, when);
    for (size_t a = 0; a < mt->n_authors; a++) {
      ts_buf_puts(&feed, "    <author><name>");
      xml_text(&feed, mt->authors[a]);
      ts_buf_puts(&feed, "</name></author>\n");
    }
    if (mt->abstract) {
      ts_buf_puts(&feed, "    <summary>");
      xml_text(&feed, mt->abstract);
      ts_buf_puts(&feed, "</summary>\n");
    }
    if (mt->lang) {
      ts_buf_puts(&feed, "    <dc:language>");
      xml_text(&feed, mt->lang);
      ts_buf_puts(&feed, "</dc:language>\n");
    }
    for (int k = 0; k < p->n_outs; k++) {
      const char *base = strrchr(p->outs[k], '/');
      base = base ? base + 1 : p->outs[k];
      int epub = ts_format_from_path(base) == TS_FMT_EPUB;
      ts_buf_puts(&feed, "    <link rel=\"http://opds-spec.org/acquisition\" href=\"");
      xml_text(&feed, base);
      ts_buf_printf(&feed, "\" type=\"%s\"/>\n", epub ? "application/epub+zip" : "application/pdf");
    }
    ts_buf_puts(&feed, "  </entry>\n");
  }
  ts_buf_puts(&feed, "</feed>\n");
  cat_free(ents, m->n_papers);
  ents = NULL;
  if (md.oom || feed.oom) {
    st = TS_ERR_NOMEM;
    goto done;
  }
  char path[OUT_PATH_MAX]; /* fits: OUT_DIR_MAX */
  (void)snprintf(path, sizeof path, "%s/catalogue.atom", m->out_dir);
  TS_CHECK(ts_write_file_atomic(path, feed.data, feed.len));
  (void)snprintf(path, sizeof path, "%s/.catalogue.md", m->out_dir);
  TS_CHECK(ts_write_file_atomic(path, md.data, md.len));
  if (m->want_pdf) {
    char pdf[OUT_PATH_MAX]; /* fits: OUT_DIR_MAX */
    (void)snprintf(pdf, sizeof pdf, "%s/catalogue.pdf", m->out_dir);
    const char *outs[1] = {pdf};
    ts_render_opts ro;
    memset(&ro, 0, sizeof ro);
    ro.style_obj = r->style;
    ro.outputs = outs;
    ro.n_outputs = 1;
    ts_render_result res;
    st = ts_render_file(r->ctx, path, &ro, r->d, &res);
    ts_render_result_free(&res);
  }
  unlink(path);
done:
  cat_free(ents, m->n_papers);
  ts_buf_free(&md);
  ts_buf_free(&feed);
  return st;
}

/* ---- The run -------------------------------------------------------------*/

static int mkdir_p(const char *path) {
  char tmp[OUT_PATH_MAX];
  if (strlen(path) >= sizeof tmp) { /* ts_series_run checked OUT_DIR_MAX: not reached */
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(tmp, path, strlen(path) + 1);
  for (char *p = tmp + 1; *p; p++) {
    if (*p == '/') {
      *p = 0;
      if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
      *p = '/';
    }
  }
  if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
  return 0;
}

static char *out_path(const manifest *m, const paper *p, const char *ext) {
  const char *base = strrchr(p->rel, '/');
  base = base ? base + 1 : p->rel;
  size_t n = strlen(base);
  const char *dot = strrchr(base, '.');
  if (dot) n = (size_t)(dot - base);
  size_t len = strlen(m->out_dir) + n + strlen(ext) + 3;
  char *o = malloc(len);
  if (o) (void)snprintf(o, len, "%s/%.*s.%s", m->out_dir, (int)n, base, ext); /* len counts every byte */
  return o;
}

ts_status ts_series_run(ts_ctx *ctx, const char *file, const ts_series_opts *o,
                        ts_diag *d) {
  ts_status st = TS_OK;
  manifest m;
  memset(&m, 0, sizeof m);
  run r;
  memset(&r, 0, sizeof r);
  ts_style *style = NULL;
  pthread_t *threads = NULL;
  int lock_init = 0;

  /* many papers in one process: cached values are read into the heap,
   * whose pages serve paper after paper, not mapped (core/dcache.c) */
  ts_dcache_map_files(0);
  m.file = strdup(file);
  m.dir = ts_path_dirname(file);
  if (!m.file || !m.dir) {
    st = TS_ERR_NOMEM;
    goto done;
  }
  m.text = ts_file_read(file, &m.text_len, 16u << 20);
  if (!m.text) {
    ts_diag_report(d, TS_ERROR, file, 0, 0, "cannot read the manifest: %s", strerror(errno));
    st = TS_ERR_INPUT;
    goto done;
  }
  TS_CHECK(parse_manifest(d, &m));
  if (o->out_dir) {
    free(m.out_dir);
    m.out_dir = strdup(o->out_dir);
  } else if (m.out_dir[0] != '/') {
    size_t n = strlen(m.dir) + strlen(m.out_dir) + 2;
    char *full = malloc(n);
    if (!full) {
      st = TS_ERR_NOMEM;
      goto done;
    }
    (void)snprintf(full, n, "%s/%s", m.dir, m.out_dir); /* n counts every byte */
    free(m.out_dir);
    m.out_dir = full;
  }
  if (!m.out_dir) {
    st = TS_ERR_NOMEM;
    goto done;
  }
  if (strlen(m.out_dir) > OUT_DIR_MAX) {
    ts_diag_report(d, TS_ERROR, o->out_dir ? "typeset" : file, 0, 0,
                   "the output folder's path is too long (%zu bytes; at most %d)",
                   strlen(m.out_dir), OUT_DIR_MAX);
    st = TS_ERR_INPUT;
    goto done;
  }
  /* one parsed style for the whole series */
  if (m.style) {
    /* a style name, or a path (relative ones to the manifest's folder: a
     * style beside the manifest is found from any working folder) */
    if (ts_style_is_path(m.style) && m.style[0] != '/') {
      size_t n = strlen(m.dir) + strlen(m.style) + 2;
      char *sp = malloc(n);
      if (!sp) {
        st = TS_ERR_NOMEM;
        goto done;
      }
      (void)snprintf(sp, n, "%s/%s", m.dir, m.style); /* n counts every byte */
      st = ts_style_load(ctx, sp, d, &style);
      free(sp);
    } else {
      st = ts_style_load(ctx, m.style, d, &style);
    }
    if (st) goto done;
  } else {
    style = ts_style_default();
    if (!style) {
      st = TS_ERR_NOMEM;
      goto done;
    }
  }
  /* the style's own font files, broken: refused once for the series,
   * before its output folder is made (ts_render_file checks only the
   * styles it loads itself) */
  if ((st = ts_fonts_check_dir(ctx, style->dir, d)) != TS_OK) goto done;

  if (mkdir_p(m.out_dir) != 0) {
    ts_diag_report(d, TS_ERROR, m.out_dir, 0, 0, "cannot create the output folder: %s",
                   strerror(errno));
    st = TS_ERR_IO;
    goto done;
  }

  r.ctx = ctx;
  r.m = &m;
  r.o = o;
  r.style = style;
  r.d = d;
  pthread_mutex_init(&r.lock, NULL);
  lock_init = 1;
  ts_buf sd;
  ts_buf_init(&sd);
  ts_style_dump(style, &sd);
  r.style_dump = ts_buf_detach(&sd, NULL);
  r.fonts_print = fonts_fingerprint(ctx, style);
  if (r.style_dump && r.fonts_print) {
    ts_sha256 sh;
    ts_sha256_init(&sh);
    ts_sha256_update(&sh, r.style_dump, strlen(r.style_dump) + 1);
    ts_sha256_update(&sh, r.fonts_print, strlen(r.fonts_print) + 1);
    ts_sha256_final(&sh, r.shared_print);
  }
  if (!r.style_dump || !r.fonts_print) {
    st = TS_ERR_NOMEM;
    goto done;
  }

  /* outputs, shards, fingerprints */
  for (size_t i = 0; i < m.n_papers; i++) {
    paper *p = &m.papers[i];
    if (m.want_pdf) p->outs[p->n_outs++] = out_path(&m, p, "pdf");
    if (m.want_epub) p->outs[p->n_outs++] = out_path(&m, p, "epub");
    for (int k = 0; k < p->n_outs; k++)
      if (!p->outs[k]) {
        st = TS_ERR_NOMEM;
        goto done;
      }
    for (size_t j = 0; j < i; j++)
      if (p->n_outs && m.papers[j].n_outs && strcmp(m.papers[j].outs[0], p->outs[0]) == 0) {
        ts_diag_report(d, TS_ERROR, m.file, p->line, p->col,
                       "papers '%s' and '%s' would write the same output file",
                       m.papers[j].rel, p->rel);
        st = TS_ERR_INPUT;
        goto done;
      }
    if (o->shard_n &&
        ts_hash64(p->rel, strlen(p->rel), 0) % (uint64_t)o->shard_n != (uint64_t)(o->shard_k - 1)) {
      p->status = 4;
      continue;
    }
  }
  fingerprint_all(&r, o->jobs > 0 ? o->jobs : ts_cpu_count());
  state_set prev;
  if (o->force || !state_load(m.out_dir, &prev)) memset(&prev, 0, sizeof prev);
  for (size_t i = 0; i < m.n_papers; i++) {
    paper *p = &m.papers[i];
    if (p->status == 4) continue;
    if (!o->force && has_state(&prev, p)) {
      p->status = 2;
      r.unchanged++;
    } else {
      r.todo++;
    }
  }
  state_free(&prev);

  /* render */
  int jobs = o->jobs > 0 ? o->jobs : ts_cpu_count();
  if (jobs < 1) jobs = 1;
  if ((size_t)jobs > r.todo) jobs = r.todo ? (int)r.todo : 1;
  /* the cores left over by the workers go to each paper's own threads */
  ts_ctx_set_threads(ctx, ts_cpu_count() / jobs);
  r.t0 = now_s();
  if (r.todo) {
    threads = calloc((size_t)jobs, sizeof *threads);
    if (!threads) {
      st = TS_ERR_NOMEM;
      goto done;
    }
    int started = 0;
    for (int t = 1; t < jobs; t++) {
      if (pthread_create(&threads[t], NULL, worker, &r) != 0) break;
      started = t;
    }
    worker(&r);
    for (int t = 1; t <= started; t++) pthread_join(threads[t], NULL);
    pthread_mutex_lock(&r.lock);
    progress(&r, 1);
    pthread_mutex_unlock(&r.lock);
  }
  ts_status wst = write_state(&r);
  if (wst) ts_diag_report(d, TS_ERROR, m.out_dir, 0, 0, "cannot write the state file");

  /* the catalogue: once (by shard 1), regenerated when anything changed */
  if ((!o->shard_n || o->shard_k == 1) && m.n_papers) {
    char cat[OUT_PATH_MAX]; /* fits: OUT_DIR_MAX */
    (void)snprintf(cat, sizeof cat, "%s/catalogue.atom", m.out_dir);
    if (r.rendered || r.failed || o->force || access(cat, R_OK) != 0) {
      ts_status cst = write_catalogue(&r);
      if (cst) ts_diag_report(d, TS_ERROR, m.out_dir, 0, 0, "cannot write the catalogue: %s",
                              ts_status_str(cst));
      if (cst && !st) st = cst;
    }
  }
  if (o->report) {
    ts_status rst = write_report(&r);
    if (rst) ts_diag_report(d, TS_ERROR, o->report, 0, 0, "cannot write the report");
  }
  if (!o->quiet) {
    (void)fprintf(stderr, "typeset: series %s: %zu rendered, %zu unchanged, %zu failed (%.2f s) → %s\n",
            m.name ? m.name : file, r.rendered, r.unchanged, r.failed, now_s() - r.t0, m.out_dir);
    for (size_t i = 0; i < m.n_papers; i++)
      if (m.papers[i].status == 3) (void)fprintf(stderr, "  failed: %s\n", m.papers[i].error);
  }
  if (r.failed && !st) st = TS_ERR_INPUT;
  if (wst && !st) st = wst;

done:
  free(threads);
  if (lock_init) pthread_mutex_destroy(&r.lock);
  free(r.style_dump);
  free(r.fonts_print);
  ts_style_destroy(style);
  manifest_free(&m);
  return st;
}
