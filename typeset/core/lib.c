/* lib.c — shared libraries opened on first use (ts_lazylib). */
#include "ts_core.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int ts_lazylib_open(ts_lazylib *l, const char **why)
{
  /* once open, no lock: the slots were written before the state (release,
   * below), and the library is never closed */
  if (__atomic_load_n(&l->state, __ATOMIC_ACQUIRE) == 1) return 1;
  pthread_mutex_lock(&l->lock);
  if (!l->state) {
    int state = -1;
    void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char *e = dlerror();
      (void)snprintf(l->err, sizeof l->err, "cannot load %s: %s", l->soname, e ? e : "not found");
    } else {
      size_t i = 0;
      while (i < l->n && (l->slots[i] = dlsym(h, l->names[i]))) i++;
      if (i == l->n) state = 1; /* never closed: the slots point into it */
      else (void)snprintf(l->err, sizeof l->err, "%s has no function %s", l->soname, l->names[i]);
    }
    __atomic_store_n(&l->state, state, __ATOMIC_RELEASE);
  }
  int ok = l->state == 1;
  pthread_mutex_unlock(&l->lock);
  if (!ok && why) *why = l->err;
  return ok;
}

void *ts_dlopen_beside_exe(const char *const *rel, size_t n) {
  char path[4096];
  size_t dir = ts_exe_dir(path, sizeof path); /* keeps the slash */
  if (!dir) return NULL;
  for (size_t i = 0; i < n; i++) {
    size_t k = strlen(rel[i]);
    if (dir + k >= sizeof path) continue;
    memcpy(path + dir, rel[i], k + 1);
    void *m = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (m) return m;
  }
  return NULL;
}
