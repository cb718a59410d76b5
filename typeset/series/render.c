/* render.c — one paper through the whole pipeline. */
#include "ts_series.h"

#include "epub/ts_epub.h"
#include "markdown/ts_markdown.h"
#include "page/ts_page.h"
#include "pdf/ts_pdf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

ts_status ts_render_file(ts_ctx *ctx, const char *input, const ts_render_opts *o,
                         ts_diag *d, ts_render_result *res) {
  ts_status st = TS_OK;
  ts_doc *doc = NULL;
  ts_style *own_style = NULL;
  const ts_style *style = o->style_obj;
  unsigned char **bufs = NULL;
  size_t *lens = NULL;
  double t0 = now_ms();
  memset(res, 0, sizeof *res);

  TS_CHECK(ts_markdown_parse_file(ctx, input, d, &doc));
  if (o->meta_override)
    TS_CHECK(ts_meta_apply_yaml(doc, o->meta_override, strlen(o->meta_override),
                                o->meta_file, o->meta_override_line, 0, d));
  if (o->meta_fill)
    TS_CHECK(ts_meta_apply_yaml(doc, o->meta_fill, strlen(o->meta_fill), o->meta_file,
                                o->meta_fill_line, 1, d));
  res->title = doc->meta.title ? strdup(doc->meta.title) : NULL;
  res->authors = join_authors(&doc->meta);
  res->number = doc->meta.series.number ? strdup(doc->meta.series.number) : NULL;

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

  int want_pdf = o->dump == TS_DUMP_LINES || o->dump == TS_DUMP_PAGES;
  for (size_t i = 0; i < o->n_outputs; i++)
    if (ts_format_from_path(o->outputs[i]) == TS_FMT_PDF) want_pdf = 1;

  ts_layout layout;
  memset(&layout, 0, sizeof layout);
  if (want_pdf) {
    ts_layout_opts lo = {style, o->dump == TS_DUMP_LINES ? o->dump_out : NULL};
    TS_CHECK(ts_page_layout(ctx, doc, &lo, d, &layout));
    res->pages = layout.n_pages;
    if (o->dump == TS_DUMP_PAGES) ts_page_dump(&layout, o->dump_out);
    if (o->dump) goto done;
  }
  /* every output is made in memory first and written only when all of them
   * succeeded: a paper whose EPUB is refused leaves no fresh PDF either */
  bufs = calloc(o->n_outputs + 1, sizeof *bufs);
  lens = calloc(o->n_outputs + 1, sizeof *lens);
  if (!bufs || !lens) {
    st = TS_ERR_NOMEM;
    goto done;
  }
  for (size_t i = 0; i < o->n_outputs; i++) {
    const char *out = o->outputs[i];
    switch (ts_format_from_path(out)) {
    case TS_FMT_PDF:
      TS_CHECK(ts_pdf_write_mem(ctx, doc, style, &layout, &bufs[i], &lens[i], d));
      break;
    case TS_FMT_EPUB:
      TS_CHECK(ts_epub_write_mem(ctx, doc, style, &bufs[i], &lens[i], d));
      break;
    default:
      ts_diag_report(d, TS_ERROR, out, 0, 0,
                     "unknown output format (use .pdf or .epub)");
      st = TS_ERR_USAGE;
      goto done;
    }
  }
  for (size_t i = 0; i < o->n_outputs; i++) {
    st = ts_write_file_atomic(o->outputs[i], bufs[i], lens[i]);
    if (st) {
      ts_diag_report(d, TS_ERROR, o->outputs[i], 0, 0, "cannot write: %s",
                     strerror(errno));
      goto done;
    }
    res->bytes += lens[i];
  }

done:
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
  memset(r, 0, sizeof *r);
}
