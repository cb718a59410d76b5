/* main.c — the `typeset` command line.
 *
 *   typeset [OPTIONS] INPUT.md            → INPUT.pdf beside the input
 *   typeset INPUT.md -o OUT.pdf -o OUT.epub
 *   typeset INPUT.md --dump model|lines|pages
 *   typeset series MANIFEST.yaml [-j N] [--force] [--shard K/N] [--report F]
 *
 * Exit status: 0 success, 1 an input could not be rendered, 2 usage error. */
#include "core/ts_core.h"
#include "series/ts_series.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void usage(FILE *f) {
  (void)fputs(
      "Usage: typeset [OPTIONS] INPUT.md\n"
      "       typeset series MANIFEST.yaml [SERIES OPTIONS]\n"
      "\n"
      "Typesets Markdown with YAML metadata into a print PDF and an EPUB 3 e-book.\n"
      "\n"
      "Options:\n"
      "  -o, --output FILE    write FILE; the format comes from the extension\n"
      "                       (.pdf or .epub); may be given several times;\n"
      "                       default: INPUT.pdf beside the input\n"
      "  -s, --style NAME|PATH  style sheet: a name (styles/NAME.yaml) or a\n"
      "                       path; default: the paper's `style:` key, else the\n"
      "                       built-in default style\n"
      "      --dump WHAT      print a stage's dump instead of writing files:\n"
      "                       model (JSON), lines (line breaks), pages (boxes)\n"
      "  -q, --quiet          no warnings, no progress\n"
      "  -h, --help           this help\n"
      "  -V, --version        print the version\n"
      "\n"
      "Series options:\n"
      "  -j, --jobs N         worker threads (default: number of cores)\n"
      "      --force          render every paper, even unchanged ones\n"
      "      --shard K/N      render only shard K of N (1 <= K <= N)\n"
      "      --report FILE    write per-paper results as JSON\n"
      "      --out DIR        output folder (overrides the manifest)\n"
      "\n"
      "Diagnostics are printed as FILE:LINE:COL: error: MESSAGE.\n"
      "Exit status: 0 success, 1 an input could not be rendered, 2 usage error.\n",
      f);
}

enum { OPT_DUMP = 256, OPT_FORCE, OPT_SHARD, OPT_REPORT, OPT_OUT };

static char *default_output(const char *input) {
  size_t n = strlen(input);
  const char *dot = strrchr(input, '.');
  const char *slash = strrchr(input, '/');
  if (dot && (!slash || dot > slash)) n = (size_t)(dot - input);
  char *o = malloc(n + 5);
  if (!o) return NULL;
  memcpy(o, input, n); // NOLINT(bugprone-not-null-terminated-result) the next line adds ".pdf" and the NUL
  memcpy(o + n, ".pdf", 5);
  return o;
}

/* A decimal number from 1 to max at s: digits only (no sign, no blanks, no
 * overflow: a number past max is refused, never wrapped).  *end is set just
 * after the digits. */
static int parse_count(const char *s, const char **end, long max, long *v) {
  if (*s < '0' || *s > '9') return 0;
  long x = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    x = x * 10 + (*s - '0');
    if (x > max) return 0;
  }
  *end = s;
  *v = x;
  return x >= 1;
}

#ifndef TS_SANITIZED
static ts_ctx *volatile left_to_exit; /* the context the process leaves to the system at exit */
#endif

/* The heap of a run that renders (not of --help or --version).  A page
 * touched for the first time costs ~10 us here, a tenth of it when written
 * in one go: a fresh EPUB from the caches took ~330 page faults, a third of
 * them the heap's.  So the heap's first HEAP_FIRST bytes are written at
 * once (MADV_POPULATE_WRITE, Linux 5.14; elsewhere the call fails and
 * nothing changes), and the run keeps its memory instead of giving it back
 * and faulting it in again: buffers under 32 MiB come from the heap, which
 * shrinks only past 64 MiB free at its top (a process that renders ends
 * soon, its memory with it).  bench/alternate.py, 11 runs: grain-corridors
 * -> EPUB 9.4 -> 9.0 ms, -> PDF 31.4 -> 29.1 ms, the book 222 -> 214 ms,
 * the 50-paper series unchanged.  glibc's malloc only (sanitizers and
 * valgrind bring their own, and their heap does not move: nothing is
 * written then). */
#define HEAP_FIRST (768 << 10)
#define HEAP_PAD (256 << 10) /* what the heap grows by past a request */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
static void heap_setup(void) {
  (void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
  (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
  (void)mallopt(M_TOP_PAD, HEAP_PAD);
  char *start = sbrk(0);
  if ((uintptr_t)start == UINTPTR_MAX) return; /* sbrk failed: (void *)-1 */
  start += (4096 - (uintptr_t)start % 4096) % 4096; /* the first whole page */
  void *volatile p = malloc(HEAP_FIRST - HEAP_PAD); /* volatile: the pair is not elided */
  free(p);
  char *top = sbrk(0);
  if ((uintptr_t)top != UINTPTR_MAX && top > start)
    (void)madvise(start, (size_t)(top - start), MADV_POPULATE_WRITE);
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'},
      {"style", required_argument, NULL, 's'},
      {"dump", required_argument, NULL, OPT_DUMP},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {"jobs", required_argument, NULL, 'j'},
      {"force", no_argument, NULL, OPT_FORCE},
      {"shard", required_argument, NULL, OPT_SHARD},
      {"report", required_argument, NULL, OPT_REPORT},
      {"out", required_argument, NULL, OPT_OUT},
      {NULL, 0, NULL, 0}};
  const char **outputs = calloc((size_t)argc + 1, sizeof *outputs);
  size_t n_out = 0;
  const char *style = NULL;
  ts_dump dump = TS_DUMP_NONE;
  int quiet = 0;
  ts_series_opts so;
  memset(&so, 0, sizeof so);
  int c, rc = 2;
  char *def_out = NULL;
  ts_ctx *ctx = NULL;
  if (!outputs) {
    (void)fputs("typeset: error: out of memory\n", stderr);
    return 1;
  }

  while ((c = getopt_long(argc, argv, "o:s:qhVj:", longopts, NULL)) != -1) {
    switch (c) {
    case 'o':
      outputs[n_out++] = optarg;
      break;
    case 's':
      style = optarg;
      break;
    case OPT_DUMP:
      if (strcmp(optarg, "model") == 0) dump = TS_DUMP_MODEL;
      else if (strcmp(optarg, "lines") == 0) dump = TS_DUMP_LINES;
      else if (strcmp(optarg, "pages") == 0) dump = TS_DUMP_PAGES;
      else {
        (void)fprintf(stderr, "typeset: error: --dump takes model, lines or pages, not '%s'\n", optarg);
        goto done;
      }
      break;
    case 'q':
      quiet = 1;
      break;
    case 'h':
      usage(stdout);
      rc = 0;
      goto done;
    case 'V':
      printf("typeset %s\n", TS_VERSION);
      rc = 0;
      goto done;
    case 'j': {
      const char *end;
      long j;
      if (!parse_count(optarg, &end, 256, &j) || *end) {
        (void)fprintf(stderr, "typeset: error: --jobs takes a number from 1 to 256\n");
        goto done;
      }
      so.jobs = (int)j;
      break;
    }
    case OPT_FORCE:
      so.force = 1;
      break;
    case OPT_SHARD: {
      /* not sscanf("%d/%d"): it takes blanks and signs, and an out-of-range
       * number is undefined behaviour (glibc wraps 1/4294967297 to 1/1) */
      const char *end;
      long k, n;
      if (!parse_count(optarg, &end, INT_MAX, &k) || *end != '/' ||
          !parse_count(end + 1, &end, INT_MAX, &n) || *end || k > n) {
        (void)fprintf(stderr, "typeset: error: --shard takes K/N with 1 <= K <= N\n");
        goto done;
      }
      so.shard_k = (int)k;
      so.shard_n = (int)n;
      break;
    }
    case OPT_REPORT:
      so.report = optarg;
      break;
    case OPT_OUT:
      so.out_dir = optarg;
      break;
    default:
      usage(stderr);
      goto done;
    }
  }

  int series = optind < argc && strcmp(argv[optind], "series") == 0;
  if (series) optind++;
  if (optind != argc - 1) {
    (void)fprintf(stderr, "typeset: error: %s\n",
            optind >= argc ? "no input file given" : "give exactly one input file");
    usage(stderr);
    goto done;
  }
  const char *input = argv[optind];
  if (!series && (so.jobs || so.force || so.shard_n || so.report || so.out_dir)) {
    (void)fprintf(stderr, "typeset: error: -j, --force, --shard, --report and --out are for `typeset series`\n");
    goto done;
  }
  if (series && (n_out || dump || style)) {
    (void)fprintf(stderr, "typeset: error: -o, --dump and --style are for single papers; a series takes them from its manifest\n");
    goto done;
  }
  for (size_t i = 0; i < n_out; i++) {
    if (ts_format_from_path(outputs[i]) == TS_FMT_UNKNOWN) {
      (void)fprintf(stderr, "typeset: error: %s: unknown output format (use .pdf or .epub)\n", outputs[i]);
      goto done;
    }
  }

  heap_setup();
  ts_out_install_signal_handlers();
  ctx = ts_ctx_create();
  if (!ctx) {
    (void)fputs("typeset: error: out of memory\n", stderr);
    rc = 1;
    goto done;
  }
  ts_diag d;
  ts_diag_init(&d, stderr);
  d.quiet = quiet;

  if (series) {
    so.quiet = quiet;
    so.progress = !quiet && isatty(2);
    ts_status st = ts_series_run(ctx, input, &so, &d);
    rc = st == TS_OK ? 0 : st == TS_ERR_USAGE ? 2 : 1;
    goto done;
  }

  if (!n_out && !dump) {
    def_out = default_output(input);
    if (!def_out) {
      rc = 1;
      goto done;
    }
    outputs[n_out++] = def_out;
  }
  ts_buf dumpbuf;
  ts_buf_init(&dumpbuf);
  ts_render_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.style = style;
  ro.outputs = outputs;
  ro.n_outputs = dump ? 0 : n_out;
  ro.dump = dump;
  ro.dump_out = &dumpbuf;
  ro.last_text = 1;
  ts_render_result res;
  ts_status st = ts_render_file(ctx, input, &ro, &d, &res);
  if (st == TS_OK && dump) {
    if (dumpbuf.oom) st = TS_ERR_NOMEM;
    else if (fwrite(dumpbuf.data ? dumpbuf.data : "", 1, dumpbuf.len, stdout) != dumpbuf.len)
      st = TS_ERR_IO; /* reported below, with the flush */
  }
  if (st == TS_OK && !quiet && !dump) {
    for (size_t i = 0; i < n_out; i++) (void)fprintf(stderr, "typeset: wrote %s\n", outputs[i]);
  }
  ts_buf_free(&dumpbuf);
  ts_render_result_free(&res);
  rc = st == TS_OK ? 0 : st == TS_ERR_USAGE ? 2 : 1;

done:
  /* what went to stdout (a dump, --help, --version) must have arrived: a
   * full disk or a closed pipe is a failure, not a silent success */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    (void)fprintf(stderr, "typeset: error: cannot write to standard output: %s\n",
                  strerror(errno));
    if (rc == 0) rc = 1;
  }
  /* The process ends here: its context (fontconfig's set, the faces'
   * mappings, the caches) goes with it rather than being freed piece by
   * piece — about 1 ms of every fresh run, as compilers do at exit.
   * Background threads are waited for all the same.  A sanitizer build
   * frees it, and so does TYPESET_FREE_AT_EXIT=1 (scripts/valgrind.sh), so
   * that leak checkers see whatever is not freed. */
#ifdef TS_SANITIZED
  ts_ctx_destroy(ctx);
#else
  const char *free_at_exit = getenv("TYPESET_FREE_AT_EXIT");
  if (free_at_exit && *free_at_exit && strcmp(free_at_exit, "0") != 0) ts_ctx_destroy(ctx);
  else {
    ts_ctx_quiesce(ctx);
    left_to_exit = ctx; /* still reachable, for a leak checker run without the variable */
  }
#endif
  free(def_out);
  free(outputs);
  ts_out_exit_check();
  return rc;
}
