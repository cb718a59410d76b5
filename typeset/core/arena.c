/* arena.c — bump allocator for per-document memory. */
#include "ts_core.h"

#include <stdlib.h>
#include <string.h>

typedef struct chunk {
  struct chunk *next;
  size_t size, used;
  /* data follows, 16-byte aligned */
} chunk;

struct ts_arena {
  chunk *head;    /* current chunk (most recent) */
  chunk *first;   /* the chunk created with the arena (block bytes), in the list */
  size_t block;   /* default chunk payload size */
  size_t total;   /* bytes handed out */
};

#define ALIGN 16
#define HDR ((sizeof(chunk) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

static chunk *chunk_new(size_t payload) {
  if (payload > SIZE_MAX - HDR) return NULL;
  chunk *c = malloc(HDR + payload);
  if (!c) return NULL;
  c->next = NULL;
  c->size = payload;
  c->used = 0;
  return c;
}

ts_arena *ts_arena_create(size_t block) {
  ts_arena *a = calloc(1, sizeof *a);
  if (!a) return NULL;
  a->block = block ? block : 64 * 1024;
  a->head = a->first = chunk_new(a->block);
  if (!a->head) {
    free(a);
    return NULL;
  }
  return a;
}

void ts_arena_destroy(ts_arena *a) {
  if (!a) return;
  chunk *c = a->head;
  while (c) {
    chunk *n = c->next;
    free(c);
    c = n;
  }
  free(a);
}

void ts_arena_clear(ts_arena *a) {
  if (!a) return;
  /* keep the first chunk (block bytes); a big allocation's chunk, which may
   * sit after it in the list, goes with the others */
  chunk *c = a->head;
  while (c) {
    chunk *n = c->next;
    if (c != a->first) free(c);
    c = n;
  }
  a->head = a->first;
  if (a->first) {
    a->first->next = NULL;
    a->first->used = 0;
  }
  a->total = 0;
}

void *ts_arena_alloc(ts_arena *a, size_t size) {
  if (!a) return NULL;
  if (size == 0) size = 1;
  if (size > SIZE_MAX - ALIGN) return NULL;
  size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
  chunk *c = a->head;
  if (!c || c->size - c->used < size) {
    size_t payload = size > a->block / 4 ? size : a->block;
    chunk *n = chunk_new(payload);
    if (!n) return NULL;
    if (payload == size && c) {
      /* big allocation: put it behind the current chunk so the current
       * chunk keeps serving small allocations */
      n->next = c->next;
      c->next = n;
    } else {
      n->next = c;
      a->head = n;
    }
    c = n;
  }
  void *p = (char *)c + HDR + c->used;
  c->used += size;
  a->total += size;
  memset(p, 0, size);
  return p;
}

void *ts_arena_memdup(ts_arena *a, const void *p, size_t size) {
  if (!size) return NULL;
  void *q = ts_arena_alloc(a, size);
  if (q) memcpy(q, p, size);
  return q;
}

char *ts_arena_strndup(ts_arena *a, const char *s, size_t n) {
  if (!s) return NULL;
  if (n == SIZE_MAX) return NULL;
  char *q = ts_arena_alloc(a, n + 1);
  if (!q) return NULL;
  memcpy(q, s, n);
  q[n] = 0;
  return q;
}

char *ts_arena_strdup(ts_arena *a, const char *s) {
  if (!s) return NULL;
  return ts_arena_strndup(a, s, strlen(s));
}

char *ts_arena_printf(ts_arena *a, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    va_end(ap2);
    return NULL;
  }
  char *q = ts_arena_alloc(a, (size_t)n + 1);
  if (q) (void)vsnprintf(q, (size_t)n + 1, fmt, ap2); /* sized by the first call */
  va_end(ap2);
  return q;
}

size_t ts_arena_used(const ts_arena *a) { return a ? a->total : 0; }

void ts_vec_init(ts_vec *v, size_t elem) {
  v->data = NULL;
  v->len = v->cap = 0;
  v->elem = elem;
}

void *ts_vec_push(ts_arena *a, ts_vec *v) {
  if (v->len == v->cap) {
    size_t ncap = v->cap ? v->cap * 2 : 8;
    if (ncap > SIZE_MAX / v->elem) return NULL;
    void *nd = ts_arena_alloc(a, ncap * v->elem);
    if (!nd) return NULL;
    if (v->len) memcpy(nd, v->data, v->len * v->elem);
    v->data = nd;
    v->cap = ncap;
  }
  void *p = (char *)v->data + v->len * v->elem;
  v->len++;
  memset(p, 0, v->elem);
  return p;
}
