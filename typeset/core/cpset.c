/* cpset.c — sets of code points as sorted ranges (ts_core.h, ts_cpset). */
#include "ts_core.h"

#include <stdlib.h>
#include <string.h>

void ts_cpset_init(ts_cpset *s) { memset(s, 0, sizeof *s); }

void ts_cpset_free(ts_cpset *s) {
  free(s->r);
  ts_cpset_init(s);
}

void ts_cpset_clear(ts_cpset *s) {
  s->n = 0;
  s->oom = 0;
}

/* The first range whose hi + 1 >= v (the one v joins or falls before). */
static size_t lower(const ts_cpset *s, uint32_t v) {
  size_t a = 0, b = s->n;
  while (a < b) {
    size_t m = a + (b - a) / 2;
    if ((uint64_t)s->r[m].hi + 1 < v) a = m + 1;
    else b = m;
  }
  return a;
}

static int reserve(ts_cpset *s, size_t n) {
  if (n <= s->cap) return 1;
  size_t cap = s->cap ? s->cap * 2 : 16;
  while (cap < n) cap *= 2;
  ts_cprange *r = realloc(s->r, cap * sizeof *r);
  if (!r) {
    s->oom = 1;
    return 0;
  }
  s->r = r;
  s->cap = cap;
  return 1;
}

int ts_cpset_add_range(ts_cpset *s, uint32_t lo, uint32_t hi) {
  /* the common cases first: after the last range (a file read in order,
   * a face's cmap), or inside a range already there */
  if (s->n && (uint64_t)s->r[s->n - 1].hi + 1 < lo) {
    if (!reserve(s, s->n + 1)) return 0;
    s->r[s->n++] = (ts_cprange){lo, hi};
    return 1;
  }
  size_t i = lower(s, lo);
  if (i < s->n && s->r[i].lo <= lo && hi <= s->r[i].hi) return 1;
  /* ranges i..j-1 touch or overlap [lo, hi]: they merge into one */
  size_t j = i;
  while (j < s->n && s->r[j].lo <= (uint64_t)hi + 1) j++;
  if (j == i) { /* a new range at i */
    if (!reserve(s, s->n + 1)) return 0;
    memmove(s->r + i + 1, s->r + i, (s->n - i) * sizeof *s->r);
    s->r[i] = (ts_cprange){lo, hi};
    s->n++;
    return 1;
  }
  if (s->r[i].lo < lo) lo = s->r[i].lo;
  if (s->r[j - 1].hi > hi) hi = s->r[j - 1].hi;
  s->r[i] = (ts_cprange){lo, hi};
  memmove(s->r + i + 1, s->r + j, (s->n - j) * sizeof *s->r);
  s->n -= j - i - 1;
  return 1;
}

int ts_cpset_has(const ts_cpset *s, uint32_t v) {
  size_t a = 0, b = s->n;
  while (a < b) {
    size_t m = a + (b - a) / 2;
    if (s->r[m].hi < v) a = m + 1;
    else b = m;
  }
  return a < s->n && s->r[a].lo <= v;
}

int ts_cpset_and(ts_cpset *out, const ts_cpset *a, const ts_cpset *b) {
  ts_cpset_clear(out);
  size_t i = 0, j = 0;
  while (i < a->n && j < b->n) {
    uint32_t lo = a->r[i].lo > b->r[j].lo ? a->r[i].lo : b->r[j].lo;
    uint32_t hi = a->r[i].hi < b->r[j].hi ? a->r[i].hi : b->r[j].hi;
    if (lo <= hi) { /* ranges of a set never touch: nor do their pieces */
      if (!reserve(out, out->n + 1)) {
        out->n = 0;
        return 0;
      }
      out->r[out->n++] = (ts_cprange){lo, hi};
    }
    if (a->r[i].hi < b->r[j].hi) i++;
    else j++;
  }
  return 1;
}

int ts_cpset_equal(const ts_cpset *a, const ts_cpset *b) {
  return a->n == b->n && (a->n == 0 || memcmp(a->r, b->r, a->n * sizeof *a->r) == 0);
}

uint64_t ts_cpset_hash(const ts_cpset *s, uint64_t h) {
  uint64_t n = s->n;
  h = ts_hash64(&n, sizeof n, h);
  for (size_t i = 0; i < s->n; i++) {
    uint32_t r[2] = {s->r[i].lo, s->r[i].hi};
    h = ts_hash64(r, sizeof r, h);
  }
  return h;
}
