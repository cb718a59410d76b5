/* render.c — one paper through the whole pipeline. */
#include "ts_series.h"

#include "epub/ts_epub.h"
#include "fonts/ts_fonts.h"
#include "markdown/ts_markdown.h"
#include "page/ts_page.h"
#include "pdf/ts_pdf.h"
#include "text/ts_text.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

ts_format ts_format_from_path(const char *path) {
  const char *dot = strrchr(path, '.');
  const char *slash = strrchr(path, '/');
  if (!dot || (slash && dot < slash)) return TS_FMT_UNKNOWN;
  if (strcasecmp(dot, ".pdf") == 0) return TS_FMT_PDF;
  if (strcasecmp(dot, ".epub") == 0) return TS_FMT_EPUB;
  return TS_FMT_UNKNOWN;
}

static double now_ms(void) {
  /* wall time for reports only; never reaches an output file */
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static char *join_authors(const ts_meta *m) {
  ts_buf b;
  ts_buf_init(&b);
  for (size_t i = 0; i < m->n_authors; i++) {
    if (i) ts_buf_puts(&b, ", ");
    if (m->authors[i].name) ts_buf_puts(&b, m->authors[i].name);
  }
  return ts_buf_detach(&b, NULL);
}

/* What a series' catalogue shows of the paper (ts_render_result); on
 * running out of memory has_meta stays 0 and the catalogue reads the
 * metadata again. */
static void catalogue_meta(const ts_meta *m, ts_render_result *res) {
  ts_buf b;
  ts_buf_init(&b);
  for (size_t i = 0; i < m->n_authors; i++) {
    const char *n = m->authors[i].name ? m->authors[i].name : "";
    ts_buf_append(&b, n, strlen(n) + 1);
  }
  int oom = b.oom;
  res->n_authors = m->n_authors;
  res->author_names = b.len && !oom ? ts_buf_detach(&b, NULL) : NULL;
  ts_buf_free(&b);
  res->abstract = m->abstract_text ? strdup(m->abstract_text) : NULL;
  res->lang = m->lang ? strdup(m->lang) : NULL;
  res->has_meta = !oom && (!m->title || res->title) && (!m->series.number || res->number) &&
                  (!m->n_authors || res->author_names) && (!m->abstract_text || res->abstract) &&
                  (!m->lang || res->lang);
}

/* The EPUB made on a second thread while the main one lays out and writes
 * the PDF (the two share only read-only inputs: the document, the style and
 * the context's thread-safe caches).  Its diagnostics are collected in
 * memory and passed on after the join, so they come out whole and after
 * the PDF's. */
typedef struct side_epub {
  ts_ctx *ctx;
  const ts_doc *doc;
  const ts_style *style;
  const ts_layout *print; /* the PDF's layout for the page list, or NULL (borrowed) */
  ts_out *out;  /* the EPUB's temporary file (borrowed; committed by the caller) */
  ts_status st;
  ts_diag d;
  FILE *mf;    /* the diagnostics' memory stream (NULL: collected silently) */
  char *msgs;  /* its buffer (owned) */
  size_t n_msgs;
  pthread_t th;
  int running;
} side_epub;

static void *side_epub_main(void *arg) {
  side_epub *j = arg;
  j->st = ts_epub_write_out(j->ctx, j->doc, j->style, j->print, j->out, &j->d);
  return NULL;
}

static int side_epub_start(side_epub *j, ts_ctx *ctx, const ts_doc *doc,
                           const ts_style *style, const ts_layout *print, ts_out *out,
                           const ts_diag *d) {
  memset(j, 0, sizeof *j);
  j->ctx = ctx;
  j->doc = doc;
  j->style = style;
  j->print = print;
  j->out = out;
  if (d->out && !(j->mf = open_memstream(&j->msgs, &j->n_msgs))) return 0;
  ts_diag_init(&j->d, j->mf);
  j->d.quiet = d->quiet;
  j->d.run = d->run; /* the same paper: a family missing for both is told once */
  j->running = pthread_create(&j->th, NULL, side_epub_main, j) == 0;
  if (!j->running && j->mf) {
    (void)fclose(j->mf); /* nothing was written: the buffer is dropped */
    j->mf = NULL;
    free(j->msgs);
    j->msgs = NULL;
  }
  return j->running;
}

/* Joins the thread and hands its diagnostics to d. */
static void side_epub_join(side_epub *j, ts_diag *d) {
  if (!j->running) return;
  pthread_join(j->th, NULL);
  j->running = 0;
  if (j->mf) {
    /* fclose finalises j->msgs; it fails only when the last of the
     * messages could not be stored (out of memory): print what is there,
     * then say that some are missing */
    int lost = fclose(j->mf) != 0;
    j->mf = NULL;
    if (j->msgs && j->n_msgs && d->out) {
      if (d->lock) pthread_mutex_lock((pthread_mutex_t *)d->lock);
      (void)fwrite(j->msgs, 1, j->n_msgs, d->out);
      (void)fflush(d->out);
      if (d->lock) pthread_mutex_unlock((pthread_mutex_t *)d->lock);
    }
    if (lost) ts_diag_report(d, TS_WARNING, NULL, 0, 0, "some messages of the EPUB writer were lost");
  }
  free(j->msgs);
  j->msgs = NULL;
  if (j->d.n_errors && !d->n_errors) memcpy(d->first_error, j->d.first_error, sizeof d->first_error);
  d->n_errors += j->d.n_errors;
  d->n_warnings += j->d.n_warnings;
}

/* A fresh process's first paper: while the main thread reads the paper,
 * a second core parses the built-in default style (the base of every
 * style, kept for the process) and loads the fonts of its body and
 * headings (fontconfig's set-up and the faces, kept in the context's font
 * cache), then, when the run makes an EPUB, opens the ZIP library (in
 * place of ts_epub_prefetch's thread of its own: one thread started, not
 * two, on a machine where starting one costs ~0.4 ms), and when it makes a
 * PDF, libharu.  Main would
 * otherwise do the one and wait for the other before its first line.  The fonts are the default style's guess: a paper set in
 * other fonts loads its own, and the guess only cost the spare core.  The
 * outputs never depend on it (caches give what a miss computes; font
 * objects carry no load order into any file). */
typedef struct early_warm {
  ts_ctx *ctx;
  int zip, pdf; /* open the ZIP library, then libharu, last */
  pthread_t th;
  int running;
} early_warm;

static void *early_warm_main(void *arg) {
  early_warm *w = arg;
  /* fontconfig's set-up first: it needs no style, and it is what the
   * main thread's first look-up would wait for longest (its own parse of
   * the default style does not wait for this one) */
  ts_fonts_prepare(w->ctx);
  ts_style *s = ts_style_default(); /* parses the shared default tree */
  if (!s) return NULL;
  static const struct { ts_role role; int weight, italic; } want[] = {
    {TS_ROLE_BODY, 400, 0}, {TS_ROLE_BODY, 400, 1}, {TS_ROLE_BODY, 700, 0},
    {TS_ROLE_HEADING, 700, 0}, {TS_ROLE_HEADING, 400, 0}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const ts_font_role *r = &s->fonts[want[i].role];
    if (r->n_families > 0 && r->families[0])
      (void)ts_fonts_find(w->ctx, r->families[0], want[i].weight, want[i].italic);
  }
  ts_style_destroy(s);
  if (w->zip) ts_epub_open_zip(w->ctx);
  if (w->pdf) ts_pdf_prefetch();
  return NULL;
}

static void early_warm_start(early_warm *w, ts_ctx *ctx, const ts_render_opts *o, int zip,
                             int pdf) {
  memset(w, 0, sizeof *w);
  if (o->style_obj || o->dump == TS_DUMP_MODEL || ts_ctx_threads(ctx) < 2) return;
  w->ctx = ctx;
  w->zip = zip;
  w->pdf = pdf;
  w->running = pthread_create(&w->th, NULL, early_warm_main, w) == 0;
}

static void early_warm_join(early_warm *w) {
  if (w->running) pthread_join(w->th, NULL);
  w->running = 0;
}

/* Opens output path's temporary file; reported when it cannot be made. */
static ts_status open_output(ts_out *out, const char *path, ts_diag *d) {
  ts_status st = ts_out_open(out, path);
  if (st == TS_ERR_IO)
    ts_diag_report(d, TS_ERROR, path, 0, 0, "cannot write: %s", strerror(errno));
  return st;
}

ts_status ts_render_file(ts_ctx *ctx, const char *input, const ts_render_opts *o,
                         ts_diag *d, ts_render_result *res) {
  ts_status st = TS_OK;
  ts_doc *doc = NULL;
  ts_style *own_style = NULL;
  const ts_style *style = o->style_obj;
  unsigned char **bufs = NULL;
  size_t *lens = NULL;
  ts_out *outs = NULL; /* the EPUBs' temporary files (fp set while open) */
  double t0 = now_ms();
  side_epub side;
  memset(&side, 0, sizeof side);
  memset(res, 0, sizeof *res);
  int any_epub = 0, any_pdf = 0;
  for (size_t i = 0; i < o->n_outputs; i++) {
    any_epub |= ts_format_from_path(o->outputs[i]) == TS_FMT_EPUB;
    any_pdf |= ts_format_from_path(o->outputs[i]) == TS_FMT_PDF;
  }
  early_warm early;
  early_warm_start(&early, ctx, o, any_epub, any_pdf && !o->dump);
  /* libzip opens while the paper is read: on the early thread, else on one
   * of its own */
  if (any_epub && !early.running) ts_epub_prefetch(ctx);
  TS_CHECK(ts_markdown_parse_file(ctx, input, d, &doc));
  if (o->meta_override)
    TS_CHECK(ts_meta_apply_yaml(doc, o->meta_override, strlen(o->meta_override),
                                o->meta_file, o->meta_override_line, 0, d));
  if (o->meta_fill)
    TS_CHECK(ts_meta_apply_yaml(doc, o->meta_fill, strlen(o->meta_fill), o->meta_file,
                                o->meta_fill_line, 1, d));
  /* the paper's language is known: its hyphenation patterns start loading
   * on another thread now, before the style is read (the one prefetch a
   * process makes; patterns a style names instead load when its first
   * paragraph needs them) */
  if (o->dump != TS_DUMP_MODEL && (!o->style_obj || o->style_obj->hyphenate))
    for (size_t i = 0; i < o->n_outputs; i++)
      if (ts_format_from_path(o->outputs[i]) == TS_FMT_PDF) {
        ts_text_prefetch(ctx, o->style_obj && o->style_obj->hyphen_lang ? o->style_obj->hyphen_lang
                                                                         : doc->meta.lang);
        break;
      }
  res->title = doc->meta.title ? strdup(doc->meta.title) : NULL;
  res->authors = join_authors(&doc->meta);
  res->number = doc->meta.series.number ? strdup(doc->meta.series.number) : NULL;
  catalogue_meta(&doc->meta, res);

  if (o->dump == TS_DUMP_MODEL) {
    ts_doc_dump_json(doc, o->dump_out);
    goto done;
  }

  /* style: --style, then the paper's own `style:`, then the series', then
   * the built-in default */
  if (!style) {
    const char *name = o->style ? o->style : doc->meta.style;
    if (name) {
      TS_CHECK(ts_style_load(ctx, name, d, &own_style));
    } else {
      own_style = ts_style_default();
      if (!own_style) {
        st = TS_ERR_NOMEM;
        goto done;
      }
    }
    style = own_style;
  }

  /* the style's own font files, broken: refused before anything is made
   * (a series checks its style once: ts_series_run) */
  if (!o->style_obj) TS_CHECK(ts_fonts_check_dir(ctx, style->dir, d));

  int want_pdf = o->dump == TS_DUMP_LINES || o->dump == TS_DUMP_PAGES;
  for (size_t i = 0; i < o->n_outputs; i++)
    if (ts_format_from_path(o->outputs[i]) == TS_FMT_PDF) want_pdf = 1;

  /* every output is made first and written only when all of them
   * succeeded: a paper whose EPUB is refused leaves no fresh PDF either.
   * A PDF is made in memory; an EPUB goes into its temporary file (libzip
   * writes it there directly), renamed with the others at the end. */
  bufs = calloc(o->n_outputs + 1, sizeof *bufs);
  lens = calloc(o->n_outputs + 1, sizeof *lens);
  outs = calloc(o->n_outputs + 1, sizeof *outs);
  if (!bufs || !lens || !outs) {
    st = TS_ERR_NOMEM;
    goto done;
  }
  /* with a core to spare, the EPUB is made beside the PDF: beside the
   * layout too when it needs none, else (the print edition's page numbers,
   * epub.page-list) from the layout, beside the PDF's writing.  An EPUB
   * with page numbers made alone runs the layout for them. */
  size_t n_epub = 0, epub_at = 0;
  for (size_t i = 0; i < o->n_outputs; i++)
    if (ts_format_from_path(o->outputs[i]) == TS_FMT_EPUB) n_epub++, epub_at = i;
  int paged = n_epub > 0 && style->epub_page_list && !o->dump;
  int side_ok = want_pdf && !o->dump && n_epub == 1 && ts_ctx_threads(ctx) > 1;
  if (side_ok && !paged) {
    TS_CHECK(open_output(&outs[epub_at], o->outputs[epub_at], d));
    side_epub_start(&side, ctx, doc, style, NULL, &outs[epub_at], d);
  }
  /* the hyphenation patterns load on another thread while the layout
   * starts (the first paragraph to need them waits for them) */
  if ((want_pdf || paged) && style->hyphenate)
    ts_text_prefetch(ctx, style->hyphen_lang ? style->hyphen_lang : doc->meta.lang);

  ts_layout layout;
  memset(&layout, 0, sizeof layout);
  if (want_pdf || paged) {
    ts_layout_opts lo = {style, o->dump == TS_DUMP_LINES ? o->dump_out : NULL};
    TS_CHECK(ts_page_layout(ctx, doc, &lo, d, &layout));
    if (o->last_text) ts_text_cache_clear(ctx);
    res->pages = layout.n_pages;
    if (o->dump == TS_DUMP_PAGES) ts_page_dump(&layout, o->dump_out);
    if (o->dump) goto done;
  }
  if (side_ok && paged) {
    TS_CHECK(open_output(&outs[epub_at], o->outputs[epub_at], d));
    side_epub_start(&side, ctx, doc, style, &layout, &outs[epub_at], d);
  }
  for (size_t i = 0; i < o->n_outputs; i++) {
    const char *out = o->outputs[i];
    switch (ts_format_from_path(out)) {
    case TS_FMT_PDF:
      TS_CHECK(ts_pdf_write_mem(ctx, doc, style, &layout, &bufs[i], &lens[i], d));
      break;
    case TS_FMT_EPUB:
      if (side.running && i == epub_at) {
        side_epub_join(&side, d);
        TS_CHECK(side.st);
        break;
      }
      if (!outs[i].fp) TS_CHECK(open_output(&outs[i], out, d));
      TS_CHECK(ts_epub_write_out(ctx, doc, style, paged ? &layout : NULL, &outs[i], d));
      break;
    default:
      ts_diag_report(d, TS_ERROR, out, 0, 0,
                     "unknown output format (use .pdf or .epub)");
      st = TS_ERR_USAGE;
      goto done;
    }
  }
  for (size_t i = 0; i < o->n_outputs; i++) {
    if (outs[i].fp) { /* an EPUB, written: its size, then the rename */
      struct stat sb;
      if (fstat(fileno(outs[i].fp), &sb) == 0) lens[i] = (size_t)sb.st_size;
      st = ts_out_commit(&outs[i]);
    } else {
      st = ts_write_file_atomic(o->outputs[i], bufs[i], lens[i]);
    }
    if (st) {
      ts_diag_report(d, TS_ERROR, o->outputs[i], 0, 0, "cannot write: %s",
                     strerror(errno));
      goto done;
    }
    res->bytes += lens[i];
  }

done:
  side_epub_join(&side, d); /* before the document it reads is freed */
  early_warm_join(&early);
  /* the EPUBs' temporary files not renamed (a no-op once committed) */
  for (size_t i = 0; outs && i < o->n_outputs; i++) ts_out_abort(&outs[i]);
  free(outs);
  for (size_t i = 0; bufs && i < o->n_outputs; i++) free(bufs[i]);
  free(bufs);
  free(lens);
  if (st != TS_OK && d->n_errors == 0)
    ts_diag_report(d, TS_ERROR, input, 0, 0, "%s", ts_status_str(st));
  ts_style_destroy(own_style);
  ts_doc_destroy(doc);
  res->ms = now_ms() - t0;
  return st;
}

void ts_render_result_free(ts_render_result *r) {
  if (!r) return;
  free(r->title);
  free(r->authors);
  free(r->number);
  free(r->abstract);
  free(r->lang);
  free(r->author_names);
  memset(r, 0, sizeof *r);
}
