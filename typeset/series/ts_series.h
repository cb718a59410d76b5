/* ts_series.h — rendering jobs: one paper (the whole pipeline for one input:
 * parse → style → layout → PDF, and EPUB) and a whole series from a manifest
 * (worker threads sharing one ts_ctx, incremental rebuilds, shards, report,
 * catalogue). The CLI is a thin layer over this. */
#ifndef TS_SERIES_H
#define TS_SERIES_H

#include "../core/ts_core.h"
#include "../doc/ts_doc.h"
#include "../style/ts_style.h"

typedef enum ts_format { TS_FMT_PDF = 0, TS_FMT_EPUB, TS_FMT_UNKNOWN } ts_format;

/* Format from a path's extension (".pdf", ".epub"; case-insensitive). */
ts_format ts_format_from_path(const char *path);

typedef enum ts_dump { TS_DUMP_NONE = 0, TS_DUMP_MODEL, TS_DUMP_LINES, TS_DUMP_PAGES } ts_dump;

typedef struct ts_render_opts {
  const char *style;        /* --style NAME|PATH, or NULL */
  const ts_style *style_obj;/* a preloaded style (series), borrowed; wins over `style` */
  const char *const *outputs; /* output paths (format from extension) */
  size_t n_outputs;
  ts_dump dump;             /* write a dump to dump_out instead of outputs */
  ts_buf *dump_out;
  /* series: metadata the paper lacks is filled from meta_fill (a YAML
   * mapping); meta_override replaces what the paper has.  Both may be NULL;
   * messages are located in meta_file at the given first lines. */
  const char *meta_fill, *meta_override;
  const char *meta_file;
  unsigned meta_fill_line, meta_override_line;
  /* 1: no more text is set in ctx after this input (one document from the
   * command line): the text caches are freed once the layout is done, so
   * their memory is not held while the PDF is written */
  int last_text;
} ts_render_opts;

typedef struct ts_render_result {
  size_t pages;             /* PDF pages (0 without PDF) */
  size_t bytes;             /* total bytes written */
  double ms;                /* wall time of this paper */
  char *title;              /* owned (free with free()); for catalogues */
  char *authors;            /* owned; "A, B" */
  char *number;             /* owned; series number */
  /* for the series' catalogue, set (has_meta 1) once the metadata was read
   * (with the series' overrides and fills) and copied whole */
  int has_meta;
  char *abstract;           /* owned; NULL when none */
  char *lang;               /* owned; NULL when none */
  char *author_names;       /* owned: n_authors NUL-terminated names in a row */
  size_t n_authors;
} ts_render_result;

/* Renders one input to every output in opts.  Each output is written
 * atomically; on error no output of this call is left half-written (outputs
 * completed before the error stay). Diagnostics go to d. */
ts_status ts_render_file(ts_ctx *ctx, const char *input, const ts_render_opts *o,
                         ts_diag *d, ts_render_result *res);
void ts_render_result_free(ts_render_result *r);

/* ---- Series ----------------------------------------------------------- */
typedef struct ts_series_opts {
  int jobs;                 /* worker threads (0 = number of cores) */
  int force;                /* render even when unchanged */
  int shard_k, shard_n;     /* render papers whose hash % n == k-1 (n = 0: all) */
  int quiet;
  int progress;             /* live progress line (stderr is a terminal) */
  const char *report;       /* --report FILE.json or NULL */
  const char *out_dir;      /* override the manifest's output folder */
} ts_series_opts;

/* Runs the manifest. Returns TS_OK when every paper rendered or was
 * unchanged, TS_ERR_INPUT when any failed (the others still ran). */
ts_status ts_series_run(ts_ctx *ctx, const char *manifest,
                        const ts_series_opts *o, ts_diag *d);

/* Parses a manifest's text without rendering anything (fuzzing, tests):
 * the same checks and messages as ts_series_run up to the paper list, paper
 * paths globbed in the folder of `file` (which is not read).  text[0..len)
 * is borrowed and need not be NUL-terminated.  TS_OK, TS_ERR_INPUT (a
 * located error was reported), TS_ERR_LIMIT or TS_ERR_NOMEM. */
ts_status ts_series_check_manifest(ts_ctx *ctx, const char *text, size_t len,
                                   const char *file, ts_diag *d);

#endif
