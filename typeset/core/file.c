/* file.c — whole-file reads, atomic outputs (temp file + rename), cleanup of
 * unfinished outputs on SIGINT/SIGTERM, and path confinement. */
#include "ts_core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* One open, one fstat and (for a regular file) one read into a buffer of
 * the file's size: no stdio buffer between, no doubling and copying (a
 * cached font subset or the drawn cover came through a 4 KiB stdio buffer
 * and a 64 KiB first guess before).  A file that grows while it is read,
 * or that is not regular (a pipe), is read on until its end, growing the
 * buffer by doubling, never past max. */
char *ts_file_read(const char *path, size_t *len, size_t max) {
  return ts_file_read_mtime(path, len, max, NULL);
}

char *ts_file_read_mtime(const char *path, size_t *len, size_t max, struct timespec *mtime) {
  if (!max) max = (size_t)256 << 20;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat sb;
  int stated = fstat(fd, &sb) == 0;
  if (mtime) {
    mtime->tv_sec = stated ? sb.st_mtim.tv_sec : 0;
    mtime->tv_nsec = stated ? sb.st_mtim.tv_nsec : 0;
  }
  if (stated && S_ISDIR(sb.st_mode)) {
    (void)close(fd); /* read only: nothing to lose */
    errno = EISDIR;
    return NULL;
  }
  size_t cap = 65536;
  if (stated && S_ISREG(sb.st_mode) && sb.st_size >= 0) {
    if ((uint64_t)sb.st_size > (uint64_t)max) {
      (void)close(fd);
      errno = EFBIG;
      return NULL;
    }
    cap = (size_t)sb.st_size; /* one byte more shows the end at once */
  }
  if (cap > max) cap = max;
  size_t n = 0;
  char *buf = malloc(cap + 1);
  if (!buf) {
    (void)close(fd);
    errno = ENOMEM;
    return NULL;
  }
  for (;;) {
    if (n == cap) {
      /* at the bound: one byte more means the file is over it */
      char probe;
      ssize_t r;
      do r = read(fd, &probe, 1);
      while (r < 0 && errno == EINTR);
      if (r == 0) break;
      if (r < 0 || cap >= max) {
        int e = r < 0 ? errno : EFBIG;
        free(buf);
        (void)close(fd);
        errno = e;
        return NULL;
      }
      size_t ncap = cap < 32768 ? 65536 : cap * 2;
      if (ncap > max) ncap = max;
      char *nb = realloc(buf, ncap + 1);
      if (!nb) {
        free(buf);
        (void)close(fd);
        errno = ENOMEM;
        return NULL;
      }
      buf = nb;
      cap = ncap;
      buf[n++] = probe;
      continue;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      free(buf);
      (void)close(fd);
      errno = e ? e : EIO;
      return NULL;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  (void)close(fd); /* read only: every byte is in buf already */
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

size_t ts_exe_dir(char *buf, size_t n) {
  if (n < 2) return 0;
  ssize_t k = readlink("/proc/self/exe", buf, n - 1);
  if (k <= 0 || (size_t)k >= n - 1) return 0;
  buf[k] = 0;
  char *slash = strrchr(buf, '/');
  if (!slash) return 0;
  slash[1] = 0;
  return (size_t)(slash - buf) + 1;
}

/* ---- Registry of unfinished temporary files ------------------------------
 * The one piece of process-wide state in typeset: signals are process-wide,
 * so the list of files to remove when one arrives must be too.
 *
 * SIGINT, SIGTERM and SIGHUP (those not ignored when the process started)
 * are blocked in every thread and taken by one
 * thread that waits for them (sigwait).  That thread removes the registered
 * files while holding tmp_lock and then ends the process with the signal's
 * default action, still holding the lock.  ts_out_open creates a file and
 * registers it under the same lock, so no thread can create a temporary file
 * after the clean-up has looked at the list: an interrupted run leaves none.
 */
#define TMP_SLOTS 256
static char tmp_paths[TMP_SLOTS][PATH_MAX];
static int tmp_used[TMP_SLOTS];
static pthread_mutex_t tmp_lock = PTHREAD_MUTEX_INITIALIZER;

static void register_locked(const char *tmp) {
  for (int i = 0; i < TMP_SLOTS; i++) {
    if (!tmp_used[i]) {
      memcpy(tmp_paths[i], tmp, strlen(tmp) + 1);
      tmp_used[i] = 1;
      return;
    }
  }
}

void ts_tmp_register(const char *tmp) {
  if (!tmp || strlen(tmp) >= PATH_MAX) return;
  pthread_mutex_lock(&tmp_lock);
  register_locked(tmp);
  pthread_mutex_unlock(&tmp_lock);
}

void ts_tmp_unregister(const char *tmp) {
  if (!tmp) return;
  pthread_mutex_lock(&tmp_lock);
  for (int i = 0; i < TMP_SLOTS; i++) {
    if (tmp_used[i] && strcmp(tmp_paths[i], tmp) == 0) {
      tmp_used[i] = 0;
      break;
    }
  }
  pthread_mutex_unlock(&tmp_lock);
}

static _Atomic int got_signal;   /* set as soon as a signal is taken */
static _Atomic int handlers_on;
static sigset_t signal_set;

static void die_by(int sig) {
  /* caller holds tmp_lock (and keeps it: see the registry above) */
  for (int i = 0; i < TMP_SLOTS; i++)
    if (tmp_used[i]) unlink(tmp_paths[i]);
  (void)signal(sig, SIG_DFL); /* cannot fail for a valid signal number */
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, NULL);
  (void)raise(sig);
  _exit(128 + sig); /* not reached: the default action ends the process */
}

static void *signal_thread(void *arg) {
  (void)arg;
  int sig = 0;
  if (sigwait(&signal_set, &sig) != 0) return NULL;
  got_signal = sig;
  pthread_mutex_lock(&tmp_lock); /* kept until the process ends */
  die_by(sig);
  return NULL;
}

void ts_out_exit_check(void) {
  if (!handlers_on) return;
  /* a signal still pending (the signal thread has not run yet) or being
   * handled ends the process by that signal, not with a success status */
  struct timespec zero = {0, 0};
  int sig = sigtimedwait(&signal_set, NULL, &zero);
  if (sig > 0) {
    got_signal = sig;
    pthread_mutex_lock(&tmp_lock);
    die_by(sig);
  }
  if (got_signal) {
    pthread_mutex_lock(&tmp_lock); /* the signal thread holds it: wait for the end */
    die_by(got_signal);
  }
}

void ts_out_install_signal_handlers(void) {
  sigemptyset(&signal_set);
  /* a signal the process was started with ignored stays ignored: SIGHUP
   * under nohup, SIGINT in a background job of a script (blocked, Linux
   * would queue it for sigwait, and the run would die of it) */
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  int n = 0;
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
    struct sigaction old;
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaddset(&signal_set, sigs[i]);
    n++;
  }
  if (!n) return;
  /* blocked here, so in every thread created from now on */
  if (pthread_sigmask(SIG_BLOCK, &signal_set, NULL) != 0) return;
  pthread_t t;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&t, &at, signal_thread, NULL) != 0)
    pthread_sigmask(SIG_UNBLOCK, &signal_set, NULL);
  else
    handlers_on = 1;
  pthread_attr_destroy(&at);
}

char *ts_tmp_name_for(const char *path) {
  /* same folder as the target so rename() is atomic; the pid and a
   * per-process counter keep concurrent writers apart */
  static _Atomic unsigned counter;
  unsigned k = counter++;
  size_t n = strlen(path) + 64;
  char *t = malloc(n);
  if (!t) return NULL;
  char *dir = ts_path_dirname(path);
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  if (!dir) {
    free(t);
    return NULL;
  }
  /* n has room: dir and base together are at most strlen(path) + 1 bytes,
   * the rest at most 40; a cut name would be another file, so check */
  int w = snprintf(t, n, "%s/.%s.%ld.%u.tmp", dir, base, (long)getpid(), k);
  free(dir);
  if (w < 0 || (size_t)w >= n) {
    free(t);
    return NULL;
  }
  return t;
}

ts_status ts_out_open(ts_out *o, const char *path) {
  memset(o, 0, sizeof *o);
  o->path = strdup(path);
  o->tmp = ts_tmp_name_for(path);
  if (!o->path || !o->tmp) {
    ts_out_abort(o);
    return TS_ERR_NOMEM;
  }
  if (strlen(o->tmp) >= PATH_MAX) {
    ts_out_abort(o);
    errno = ENAMETOOLONG;
    return TS_ERR_IO;
  }
  /* create and register under one lock: see the registry above */
  pthread_mutex_lock(&tmp_lock);
  int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd >= 0) register_locked(o->tmp);
  pthread_mutex_unlock(&tmp_lock);
  if (fd < 0) {
    int e = errno;
    free(o->tmp);
    o->tmp = NULL;
    ts_out_abort(o);
    errno = e;
    return TS_ERR_IO;
  }
  o->fp = fdopen(fd, "wb");
  if (!o->fp) {
    close(fd);
    ts_out_abort(o);
    return TS_ERR_IO;
  }
  return TS_OK;
}

ts_status ts_out_commit(ts_out *o) {
  ts_status st = TS_OK;
  if (!o->fp || !o->tmp) return TS_ERR_USAGE;
  int bad = ferror(o->fp) != 0;
  if (fflush(o->fp) != 0) bad = 1;
  if (fclose(o->fp) != 0) bad = 1;
  o->fp = NULL;
  /* no fsync: rename() makes the replacement atomic for every reader and
   * against interruption; a power cut is the file system's business, as for
   * compilers and linkers, and fsync costs more than rendering a paper */
  if (bad || rename(o->tmp, o->path) != 0) {
    int e = errno;
    ts_out_abort(o);
    errno = e;
    return TS_ERR_IO;
  }
  ts_tmp_unregister(o->tmp);
  free(o->tmp);
  free(o->path);
  o->tmp = o->path = NULL;
  return st;
}

void ts_out_abort(ts_out *o) {
  if (o->fp) {
    (void)fclose(o->fp); /* the temporary file is removed below */
    o->fp = NULL;
  }
  if (o->tmp) {
    unlink(o->tmp);
    ts_tmp_unregister(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
  }
  free(o->path);
  o->path = NULL;
}

ts_status ts_write_file_atomic(const char *path, const void *data, size_t n) {
  ts_out o;
  ts_status st = ts_out_open(&o, path);
  if (st) return st;
  if (n && fwrite(data, 1, n, o.fp) != n) {
    ts_out_abort(&o);
    return TS_ERR_IO;
  }
  return ts_out_commit(&o);
}

char *ts_path_dirname(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return strdup(".");
  if (slash == path) return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

static int inside(const char *real, const char *root) {
  size_t n = strlen(root);
  if (n == 1 && root[0] == '/') return 1;
  return strncmp(real, root, n) == 0 && (real[n] == '/' || real[n] == 0);
}

const char ts_why_nomem[] = "out of memory";

char *ts_path_resolve_inside(const char *base_dir, const char *rel,
                             const char *const *extra_roots, size_t n_extra,
                             const char **why) {
  *why = NULL;
  if (!rel || !*rel) {
    *why = "empty path";
    return NULL;
  }
  if (rel[0] == '/') {
    *why = "absolute paths are not allowed";
    return NULL;
  }
  if (strstr(rel, "://") || strncmp(rel, "file:", 5) == 0 ||
      strncmp(rel, "data:", 5) == 0) {
    *why = "URLs are not allowed (nothing is fetched from the network)";
    return NULL;
  }
  /* refuse ".." components outright: they are never needed inside */
  const char *p = rel;
  while (*p) {
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == 2 && p[0] == '.' && p[1] == '.') {
      *why = "path escapes the document's folder ('..')";
      return NULL;
    }
    if (!e) break;
    p = e + 1;
  }
  char *base_real = realpath(base_dir && *base_dir ? base_dir : ".", NULL);
  if (!base_real) {
    *why = errno == ENOMEM ? ts_why_nomem : "the document's folder cannot be resolved";
    return NULL;
  }
  size_t n = strlen(base_real) + strlen(rel) + 2;
  char *joined = malloc(n);
  if (!joined) {
    free(base_real);
    *why = ts_why_nomem;
    return NULL;
  }
  (void)snprintf(joined, n, "%s/%s", base_real, rel); /* n counts every byte */
  char *real = realpath(joined, NULL);
  free(joined);
  if (!real) {
    free(base_real);
    *why = errno == ENOENT ? "file not found" : errno == ENOMEM ? ts_why_nomem : "file cannot be read";
    return NULL;
  }
  int ok = inside(real, base_real);
  free(base_real);
  for (size_t i = 0; !ok && i < n_extra; i++) {
    if (!extra_roots[i]) continue;
    char *r = realpath(extra_roots[i], NULL);
    if (r) {
      ok = inside(real, r);
      free(r);
    }
  }
  if (!ok) {
    free(real);
    *why = "path leads outside the document's folder (symlink)";
    return NULL;
  }
  struct stat sb;
  if (stat(real, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    free(real);
    *why = "not a regular file";
    return NULL;
  }
  return real;
}

/* The cache folder into buf (PATH_MAX bytes); with make, created (and
 * ~/.cache for the default) when missing.  0 when off or none is known. */
static int cache_dir(char *buf, int make) {
  const char *dir = getenv("TYPESET_CACHE_DIR");
  if (dir && !strcmp(dir, "off")) return 0;
  int n;
  if (dir && *dir) {
    n = snprintf(buf, PATH_MAX, "%s", dir);
  } else {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg == '/') {
      n = snprintf(buf, PATH_MAX, "%s/typeset", xdg);
    } else if (home && *home == '/') {
      n = snprintf(buf, PATH_MAX, "%s/.cache", home);
      if (make && n > 0 && n < PATH_MAX) (void)mkdir(buf, 0700);
      n = snprintf(buf, PATH_MAX, "%s/.cache/typeset", home);
    } else {
      return 0;
    }
  }
  if (n <= 0 || n >= PATH_MAX) return 0;
  return !make || mkdir(buf, 0700) == 0 || errno == EEXIST;
}

char *ts_cache_path(const char *name) {
  char buf[PATH_MAX];
  if (!name || !cache_dir(buf, 0)) return NULL;
  size_t n = strlen(buf) + 1 + strlen(name) + 1;
  char *p = malloc(n);
  if (p) (void)snprintf(p, n, "%s/%s", buf, name); /* fits: n counts both and the '/' */
  return p;
}

int ts_cache_dir_make(void) {
  char buf[PATH_MAX];
  return cache_dir(buf, 1);
}
