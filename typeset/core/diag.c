/* diag.c — compiler-style diagnostics: FILE:LINE:COL: error: message. */
#include "ts_core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

void ts_diag_init(ts_diag *d, FILE *out) {
  static atomic_uint_fast64_t runs;
  memset(d, 0, sizeof *d);
  d->out = out;
  d->run = (uint64_t)atomic_fetch_add_explicit(&runs, 1, memory_order_relaxed) + 1;
}

void ts_diag_count_warning(ts_diag *d) { d->n_warnings++; }

void ts_diag_vreport(ts_diag *d, ts_diag_level lvl, const char *file,
                     unsigned line, unsigned col, const char *fmt, va_list ap) {
  /* a message or a location longer than its buffer is cut, never refused:
   * the (void)s below are deliberate (cert-err33-c) */
  char msg[1024], loc[600];
  (void)vsnprintf(msg, sizeof msg, fmt, ap);
  const char *f = file && *file ? file : "typeset";
  if (line && col)
    (void)snprintf(loc, sizeof loc, "%s:%u:%u", f, line, col);
  else if (line)
    (void)snprintf(loc, sizeof loc, "%s:%u", f, line);
  else
    (void)snprintf(loc, sizeof loc, "%s", f);
  const char *kind = lvl == TS_ERROR ? "error" : "warning";
  if (lvl == TS_ERROR) {
    if (d->n_errors == 0) {
      char full[sizeof loc + sizeof msg + 16];
      (void)snprintf(full, sizeof full, "%s: %s: %s", loc, kind, msg);
      size_t n = strlen(full);
      if (n >= sizeof d->first_error) n = sizeof d->first_error - 1;
      memcpy(d->first_error, full, n);
      d->first_error[n] = 0;
    }
    d->n_errors++;
  } else {
    d->n_warnings++;
  }
  if (!d->out || (lvl == TS_WARNING && d->quiet)) return;
  if (d->lock) pthread_mutex_lock((pthread_mutex_t *)d->lock);
  /* nowhere to report a failure to report */
  (void)fprintf(d->out, "%s: %s: %s\n", loc, kind, msg);
  (void)fflush(d->out);
  if (d->lock) pthread_mutex_unlock((pthread_mutex_t *)d->lock);
}

void ts_diag_report(ts_diag *d, ts_diag_level lvl, const char *file,
                    unsigned line, unsigned col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ts_diag_vreport(d, lvl, file, line, col, fmt, ap);
  va_end(ap);
}

const char *ts_status_str(ts_status st) {
  switch (st) {
  case TS_OK: return "ok";
  case TS_ERR_NOMEM: return "out of memory";
  case TS_ERR_IO: return "input/output error";
  case TS_ERR_INPUT: return "input cannot be rendered";
  case TS_ERR_USAGE: return "usage error";
  case TS_ERR_FONT: return "no usable font";
  case TS_ERR_LIMIT: return "resource limit reached";
  case TS_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}
