/* ctx.c — the shared context: clock, data folder, lazily created caches. */
#include "ts_core.h"

#include <sched.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#ifndef TS_DATA_DIR
#define TS_DATA_DIR "."
#endif

/* The data folder (styles/, fonts/): $TYPESET_DATA_DIR; else the installed
 * one, TS_DATA_DIR_REL_INSTALLED from the running executable's folder
 * (bin/../share/typeset, meson.build) — or, where bindir or datadir lie
 * outside the prefix, TS_DATA_DIR_INSTALLED for the executable in
 * TS_BINDIR_INSTALLED — when it holds styles/; else the source tree the
 * build was configured from (the build tree's executable, the tests, the
 * fuzzers).  Returns owned (free) or NULL on OOM. */
static char *data_dir_default(void)
{
  const char *dd = getenv("TYPESET_DATA_DIR");
  if (dd && *dd) return strdup(dd);
#if defined(TS_BINDIR_INSTALLED) && defined(TS_DATA_DIR_INSTALLED)
  /* bindir or datadir outside the prefix: the absolute data folder, for the
   * executable in the installed bindir only (never the build tree's) */
  char exe[4096];
  size_t n = ts_exe_dir(exe, sizeof exe);
  if (n > 1) {
    exe[n - 1] = 0; /* the folder without its final slash */
    char *bindir = realpath(TS_BINDIR_INSTALLED, NULL);
    struct stat st;
    int installed = bindir && !strcmp(exe, bindir) &&
                    stat(TS_DATA_DIR_INSTALLED "/styles", &st) == 0 && S_ISDIR(st.st_mode);
    free(bindir);
    if (installed) return strdup(TS_DATA_DIR_INSTALLED);
  }
#elif defined(TS_DATA_DIR_REL_INSTALLED)
  static const char rel[] = TS_DATA_DIR_REL_INSTALLED;
  char path[4096 + sizeof rel + sizeof "/styles"];
  size_t dir = ts_exe_dir(path, 4096); /* keeps the slash */
  struct stat st;
  if (dir) {
    memcpy(path + dir, rel, sizeof rel);
    size_t len = dir + sizeof rel - 1;
    memcpy(path + len, "/styles", sizeof "/styles");
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      path[len] = 0;
      char *real = realpath(path, NULL); /* bin/../share/typeset -> share/typeset */
      return real ? real : strdup(path);
    }
  }
#endif
  return strdup(TS_DATA_DIR);
}

struct ts_ctx {
  /* one lock a slot, held while its create function runs: a slot that
   * takes long to make (the fonts' fontconfig set-up, ~1.5 ms) keeps
   * waiting only those who need that slot, not a thread asking for another
   * (a fresh EPUB's main thread waited for the fonts thread's fontconfig
   * on its way to the EPUB cache) */
  pthread_mutex_t slot_lock[TS_SLOT_COUNT];
  pthread_mutex_t lock;      /* ts_ctx_lock */
  int64_t epoch;
  int epoch_set;
  char *data_dir;
  int threads;
  void *slot[TS_SLOT_COUNT];
  void (*slot_free[TS_SLOT_COUNT])(void *);
  void (*slot_quiesce[TS_SLOT_COUNT])(void *); /* under lock */
};

ts_ctx *ts_ctx_create(void) {
  ts_ctx *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  /* a slot's create function may use another slot (never its own): that
   * takes the other slot's lock, so the locks are taken in the order of
   * those uses, which has no cycle */
  for (int i = 0; i < TS_SLOT_COUNT; i++) pthread_mutex_init(&c->slot_lock[i], NULL);
  pthread_mutex_init(&c->lock, NULL);
  c->threads = ts_cpu_count();
  const char *e = getenv("SOURCE_DATE_EPOCH");
  if (e && *e) {
    char *end;
    errno = 0;
    long long v = strtoll(e, &end, 10);
    if (!errno && *end == 0 && v >= 0 && v < 253402300800LL) {
      c->epoch = v;
      c->epoch_set = 1;
    }
  }
  c->data_dir = data_dir_default();
  if (!c->data_dir) {
    ts_ctx_destroy(c);
    return NULL;
  }
  return c;
}

void ts_ctx_destroy(ts_ctx *c) {
  if (!c) return;
  for (int i = TS_SLOT_COUNT - 1; i >= 0; i--)
    if (c->slot[i] && c->slot_free[i]) c->slot_free[i](c->slot[i]);
  for (int i = 0; i < TS_SLOT_COUNT; i++) pthread_mutex_destroy(&c->slot_lock[i]);
  pthread_mutex_destroy(&c->lock);
  free(c->data_dir);
  free(c);
}

void ts_ctx_quiesce(ts_ctx *c) {
  if (!c) return;
  for (int i = TS_SLOT_COUNT - 1; i >= 0; i--) {
    pthread_mutex_lock(&c->lock);
    void (*fn)(void *) = c->slot_quiesce[i];
    pthread_mutex_unlock(&c->lock);
    void *p = __atomic_load_n(&c->slot[i], __ATOMIC_ACQUIRE);
    if (fn && p) fn(p);
  }
}

void ts_ctx_set_quiesce(ts_ctx *c, ts_slot slot, void (*quiesce_fn)(void *)) {
  if ((unsigned)slot >= TS_SLOT_COUNT) return;
  pthread_mutex_lock(&c->lock);
  c->slot_quiesce[slot] = quiesce_fn;
  pthread_mutex_unlock(&c->lock);
}

int64_t ts_ctx_epoch(const ts_ctx *c, int *set) {
  if (set) *set = c->epoch_set;
  return c->epoch_set ? c->epoch : 0;
}

void ts_ctx_set_epoch(ts_ctx *c, int64_t epoch) {
  c->epoch = epoch;
  c->epoch_set = 1;
}

const char *ts_ctx_data_dir(const ts_ctx *c) { return c->data_dir; }

void *ts_ctx_slot(ts_ctx *c, ts_slot slot, void *(*create)(ts_ctx *),
                  void (*free_fn)(void *)) {
  if ((unsigned)slot >= TS_SLOT_COUNT) return NULL;
  /* a slot, once set, stays until ts_ctx_destroy: read without the lock
   * (acquire pairs with the release below, so its contents are seen whole) */
  void *p = __atomic_load_n(&c->slot[slot], __ATOMIC_ACQUIRE);
  if (p) return p;
  pthread_mutex_lock(&c->slot_lock[slot]);
  p = c->slot[slot];
  if (!p && create) {
    p = create(c);
    if (p) {
      c->slot_free[slot] = free_fn;
      __atomic_store_n(&c->slot[slot], p, __ATOMIC_RELEASE);
    }
  }
  pthread_mutex_unlock(&c->slot_lock[slot]);
  return p;
}

int ts_ctx_threads(const ts_ctx *c) { return c->threads > 1 ? c->threads : 1; }
void ts_ctx_set_threads(ts_ctx *c, int n) { c->threads = n > 1 ? n : 1; }

int ts_cpu_count(void) {
  /* the cores this process may run on (taskset, cgroup cpusets), not the
   * machine's: a second thread on a single allowed core only competes */
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int k = CPU_COUNT(&set);
    if (k >= 1) return k > 1024 ? 1024 : k;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 1 ? (n > 1024 ? 1024 : (int)n) : 1;
}

void ts_ctx_lock(ts_ctx *c) { pthread_mutex_lock(&c->lock); }
void ts_ctx_unlock(ts_ctx *c) { pthread_mutex_unlock(&c->lock); }
