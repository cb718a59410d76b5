/* blob.c — immutable bytes shared by reference.
 *
 * A blob is a run of bytes that never changes once made, held in one of
 * three ways: memory it owns (free() when the last reference goes), a
 * read-only mapping of a file (munmap), or a window into another blob (a
 * reference to it).  The EPUB's font subsets pass through three owners (the
 * cache folder, the process's subset cache, the book's list of entries);
 * each used to take a copy, and every copy of a fresh EPUB's ~160 KB of
 * fonts was ~40 page faults.  Counts are atomic: blobs are shared between
 * the threads of a series. */
#include "ts_core.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct ts_blob {
  atomic_size_t refs;
  const unsigned char *p; /* the bytes: into own, map or the parent's */
  size_t len;
  void *own; /* owned (free()), or NULL */
  void *map; /* owned mapping (munmap(map, map_len)), or NULL */
  size_t map_len;
  ts_blob *parent; /* a reference held (a window), or NULL */
};

static ts_blob *blob_new(const void *p, size_t len) {
  ts_blob *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  atomic_init(&b->refs, 1);
  b->p = p;
  b->len = len;
  return b;
}

ts_blob *ts_blob_take(void *p, size_t len) {
  ts_blob *b = blob_new(p, len);
  if (!b) {
    free(p);
    return NULL;
  }
  b->own = p;
  return b;
}

ts_blob *ts_blob_copy(const void *p, size_t len) {
  void *c = malloc(len ? len : 1);
  if (!c) return NULL;
  if (len) memcpy(c, p, len);
  return ts_blob_take(c, len);
}

ts_blob *ts_blob_mapped(void *map, size_t map_len, size_t off, size_t len) {
  if (off > map_len || len > map_len - off) {
    (void)munmap(map, map_len);
    return NULL;
  }
  ts_blob *b = blob_new((const unsigned char *)map + off, len);
  if (!b) {
    (void)munmap(map, map_len);
    return NULL;
  }
  b->map = map;
  b->map_len = map_len;
  return b;
}

ts_blob *ts_blob_window(ts_blob *parent, size_t off, size_t len) {
  if (!parent || off > parent->len || len > parent->len - off) return NULL;
  ts_blob *b = blob_new(parent->p + off, len);
  if (!b) return NULL;
  b->parent = ts_blob_ref(parent);
  return b;
}

ts_blob *ts_blob_ref(ts_blob *b) {
  if (b) atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
  return b;
}

void ts_blob_unref(ts_blob *b) {
  while (b) {
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1) return;
    ts_blob *parent = b->parent;
    free(b->own);
    if (b->map) (void)munmap(b->map, b->map_len);
    free(b);
    b = parent; /* the window's reference to it goes too (no recursion) */
  }
}

const unsigned char *ts_blob_data(const ts_blob *b) { return b ? b->p : NULL; }
size_t ts_blob_len(const ts_blob *b) { return b ? b->len : 0; }
