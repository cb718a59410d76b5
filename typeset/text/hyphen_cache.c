/* hyphen_cache.c — libhyphen's loaded dictionaries kept on disk.
 *
 * hnj_hyphen_load builds its pattern automaton from the .dic text with a
 * hash table and a malloc per state and transition: ~38 M instructions for
 * hyph_en_US.dic and ~8 M more to free it, a quarter of a fresh process
 * rendering a two-page paper.  The automaton is plain data (hyphen.h's
 * public HyphenDict / HyphenState / HyphenTrans), so after a load it is
 * written to the user's cache folder, and later processes rebuild it from
 * that file in one allocation; libhyphen's own hnj_hyphen_hyphenate2 then
 * reads it as if it had loaded it.  Fontconfig keeps its font caches the
 * same way.
 *
 * The cache file is keyed by the dictionary's real path and checked against
 * its size, modification time and inode, the layout of this build (sizes
 * and byte order) and a 64-bit hash of its contents; anything that does not
 * match is ignored and rewritten.  It never changes the hyphenation: the
 * automaton is the one libhyphen built.  Folder: $TYPESET_CACHE_DIR, else
 * $XDG_CACHE_HOME/typeset, else ~/.cache/typeset; TYPESET_CACHE_DIR=off
 * turns it off.  A folder that cannot be written is no error. */
#include "text/hyphen_cache.h"
#include "core/ts_core.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "TSHYPH\001\n"
#define FORMAT_VERSION 4 /* 3: the block's image, pointers as offsets; 4: the build */

typedef struct cache_hdr {
  char magic[8];
  uint32_t layout;      /* sizes and byte order of this build */
  uint32_t version;     /* of this format: FORMAT_VERSION */
  uint64_t src_size, src_ino;
  int64_t src_mtime, src_mtime_ns;
  uint64_t payload_len, payload_hash;
  uint64_t n_dicts, n_states, n_trans, n_bytes; /* the block's parts */
  uint32_t layout2, pad;
  char build[72]; /* ts_build_id() of the build that wrote it (libhyphen is in it) */
} cache_hdr;

static uint32_t layout_word(void) {
  const uint32_t one = 1;
  unsigned char little = *(const unsigned char *)&one;
  return (uint32_t)sizeof(void *) | (uint32_t)sizeof(int) << 8 |
         (uint32_t)sizeof(HyphenState) << 16 | (uint32_t)little << 31;
}

static uint32_t layout_word2(void) {
  return (uint32_t)sizeof(HyphenDict) | (uint32_t)sizeof(HyphenTrans) << 16;
}

/* The cache file's path for the dictionary at real path src; owned or NULL
 * when caching is off or no folder is known (the writer creates it). */
static char *cache_path(const char *src) {
  char name[40];
  (void)snprintf(name, sizeof name, "hyph-%016llx.bin", /* 26 bytes */
                 (unsigned long long)ts_hash64(src, strlen(src), 0x68797068u));
  return ts_cache_path(name);
}

/* The payload's check: 64 bits of the fast 256-bit hash (about a byte an
 * instruction). */
static uint64_t payload_hash(const void *p, size_t n) {
  uint8_t d[32];
  ts_hash_fast256(p, n, d);
  uint64_t h;
  memcpy(&h, d, sizeof h);
  return h;
}

/* ---- The block ------------------------------------------------------------
 * One allocation: the dictionaries (the levels of a two-level dictionary),
 * then every level's states, then the transitions, then the strings.  On
 * disk the block is stored as it is in memory with each pointer replaced
 * by an offset: + 1 from the start of the strings (0: NULL) for match,
 * repl and nohyphen, the index of the first state or transition for states
 * and trans, the level's index + 1 for nextlevel.  Loading is one copy and
 * one pass that turns offsets back into pointers, checking each (the
 * format of version 2, parsed field by field, cost 4.7 M instructions for
 * the English patterns: most of a fresh paper's wait for them). */

typedef struct block_shape {
  size_t nd, ns, nt, nb;
} block_shape;

static size_t block_size(const block_shape *b) {
  return b->nd * sizeof(HyphenDict) + b->ns * sizeof(HyphenState) +
         b->nt * sizeof(HyphenTrans) + b->nb;
}

static void put_off(void *field, uint64_t v) {
  uintptr_t u = (uintptr_t)v;
  memcpy(field, &u, sizeof u);
}

static uint64_t get_off(const void *field) {
  uintptr_t u;
  memcpy(&u, field, sizeof u);
  return (uint64_t)u;
}

/* nohyphen's length: nohyphenl + 1 NUL-terminated strings, as libhyphen's
 * loader left them. */
static size_t nohyphen_len(const HyphenDict *x) {
  size_t nh = 0;
  if (x->nohyphen)
    for (int i = 0; i <= x->nohyphenl; i++) nh += strlen(x->nohyphen + nh) + 1;
  return nh;
}

/* The image of d on disk (appended to b). */
static void put_image(ts_buf *b, const HyphenDict *d, block_shape *sh) {
  memset(sh, 0, sizeof *sh);
  for (const HyphenDict *x = d; x; x = x->nextlevel) {
    sh->nd++;
    sh->nb += nohyphen_len(x);
    for (int i = 0; i < x->num_states; i++) {
      const HyphenState *s = &x->states[i];
      sh->ns++;
      sh->nt += (size_t)(s->num_trans > 0 ? s->num_trans : 0);
      if (s->match) sh->nb += strlen(s->match) + 1;
      if (s->repl) sh->nb += strlen(s->repl) + 1;
    }
  }
  size_t size = block_size(sh);
  unsigned char *img = calloc(1, size ? size : 1);
  if (!img) {
    b->oom = 1;
    return;
  }
  HyphenDict *dd = (HyphenDict *)(void *)img;
  HyphenState *ss = (HyphenState *)(void *)(dd + sh->nd);
  HyphenTrans *tt = (HyphenTrans *)(void *)(ss + sh->ns);
  char *pool = (char *)(tt + sh->nt);
  size_t si = 0, ti = 0, pi = 0, li = 0;
  for (const HyphenDict *x = d; x; x = x->nextlevel, li++) {
    /* field by field into the zeroed image: libhyphen leaves the struct's
     * padding and cset's bytes after its NUL uninitialised, and the image's
     * hash (the file's check) must not read them */
    HyphenDict *o = &dd[li];
    o->lhmin = x->lhmin;
    o->rhmin = x->rhmin;
    o->clhmin = x->clhmin;
    o->crhmin = x->crhmin;
    o->nohyphenl = x->nohyphenl;
    o->num_states = x->num_states;
    o->utf8 = x->utf8;
    memcpy(o->cset, x->cset, strnlen(x->cset, sizeof o->cset - 1));
    size_t nh = nohyphen_len(x);
    put_off(&o->nohyphen, x->nohyphen ? pi + 1 : 0);
    if (x->nohyphen && nh) memcpy(pool + pi, x->nohyphen, nh), pi += nh;
    put_off(&o->states, si);
    put_off(&o->nextlevel, x->nextlevel ? li + 2 : 0);
    for (int i = 0; i < x->num_states; i++, si++) {
      const HyphenState *s = &x->states[i];
      HyphenState *os = &ss[si];
      memset(os, 0, sizeof *os);
      os->fallback_state = s->fallback_state;
      os->num_trans = s->num_trans > 0 ? s->num_trans : 0;
      /* libhyphen leaves these uninitialised in states without repl */
      os->replindex = s->repl ? s->replindex : 0;
      os->replcut = s->repl ? s->replcut : 0;
      put_off(&os->match, s->match ? pi + 1 : 0);
      if (s->match) {
        size_t l = strlen(s->match) + 1;
        memcpy(pool + pi, s->match, l), pi += l;
      }
      put_off(&os->repl, s->repl ? pi + 1 : 0);
      if (s->repl) {
        size_t l = strlen(s->repl) + 1;
        memcpy(pool + pi, s->repl, l), pi += l;
      }
      put_off(&os->trans, ti);
      for (int k = 0; k < os->num_trans; k++, ti++) {
        memset(&tt[ti], 0, sizeof tt[ti]);
        tt[ti].ch = s->trans[k].ch;
        tt[ti].new_state = s->trans[k].new_state;
      }
    }
  }
  ts_buf_append(b, img, size);
  free(img);
}

static void cache_write(const char *path, const struct stat *st, const HyphenDict *d) {
  ts_buf b;
  ts_buf_init(&b);
  cache_hdr h;
  memset(&h, 0, sizeof h);
  ts_buf_append(&b, &h, sizeof h);
  block_shape sh;
  put_image(&b, d, &sh);
  if (!b.oom) {
    memcpy(h.magic, MAGIC, 8);
    h.layout = layout_word();
    h.layout2 = layout_word2();
    h.version = FORMAT_VERSION;
    (void)snprintf(h.build, sizeof h.build, "%s", ts_build_id()); /* cut at 71: still unique */
    h.src_size = (uint64_t)st->st_size;
    h.src_ino = (uint64_t)st->st_ino;
    h.src_mtime = (int64_t)st->st_mtim.tv_sec;
    h.src_mtime_ns = (int64_t)st->st_mtim.tv_nsec;
    h.n_dicts = sh.nd;
    h.n_states = sh.ns;
    h.n_trans = sh.nt;
    h.n_bytes = sh.nb;
    h.payload_len = b.len - sizeof h;
    h.payload_hash = payload_hash(b.data + sizeof h, h.payload_len);
    memcpy(b.data, &h, sizeof h);
    if (ts_cache_dir_make()) /* a cache: failure is no error */
      (void)ts_write_file_atomic(path, b.data, b.len);
  }
  ts_buf_free(&b);
}

/* ---- Reading ------------------------------------------------------------- */

/* A string offset of the image into a pointer into pool (nb bytes, the
 * last a NUL, so every string ends inside it); 0 when out of range. */
static int fix_str(char **field, char *pool, size_t nb) {
  uint64_t o = get_off(field);
  if (o == 0) {
    *field = NULL;
    return 1;
  }
  if (o > nb) return 0;
  *field = pool + (o - 1);
  return 1;
}

/* Turns the image in blk (shape sh) into the dictionaries: every offset
 * checked (strings inside the pool, states and transitions inside their
 * level's and the block's arrays, targets inside the level).  0 when the
 * image is not a sound one. */
static int fix_image(unsigned char *blk, const block_shape *sh) {
  if (sh->nd < 1 || sh->nd > 4 || sh->ns < 1 || sh->nb < 1) return 0;
  HyphenDict *dd = (HyphenDict *)(void *)blk;
  HyphenState *ss = (HyphenState *)(void *)(dd + sh->nd);
  HyphenTrans *tt = (HyphenTrans *)(void *)(ss + sh->ns);
  char *pool = (char *)(tt + sh->nt);
  if (pool[sh->nb - 1] != 0) return 0;
  size_t next_state = 0, next_trans = 0;
  for (size_t l = 0; l < sh->nd; l++) {
    HyphenDict *d = &dd[l];
    uint64_t st0 = get_off(&d->states), nl = get_off(&d->nextlevel);
    /* the levels' states follow each other in order */
    if (st0 != next_state || d->num_states < 1 || (uint64_t)d->num_states > sh->ns - st0) return 0;
    if (nl != (l + 1 < sh->nd ? l + 2 : 0)) return 0;
    if (!fix_str(&d->nohyphen, pool, sh->nb) || d->nohyphenl < 0) return 0;
    if (d->nohyphen) {
      /* nohyphenl + 1 strings, all inside the pool */
      const char *q = d->nohyphen;
      for (int i = 0; i <= d->nohyphenl; i++) {
        size_t left = sh->nb - (size_t)(q - pool);
        const char *z = memchr(q, 0, left);
        if (!z || (size_t)(z + 1 - pool) > sh->nb) return 0;
        q = z + 1;
        if (i < d->nohyphenl && (size_t)(q - pool) >= sh->nb) return 0;
      }
    }
    d->cset[MAX_NAME - 1] = 0;
    int ns = d->num_states;
    HyphenState *states = &ss[st0];
    d->states = states;
    d->nextlevel = nl ? &dd[nl - 1] : NULL;
    for (int i = 0; i < ns; i++) {
      HyphenState *s = &states[i];
      uint64_t t0 = get_off(&s->trans);
      if (s->fallback_state < -1 || s->fallback_state >= ns) return 0;
      if (s->num_trans < 0 || s->num_trans > 256 || t0 != next_trans ||
          (uint64_t)s->num_trans > sh->nt - t0)
        return 0;
      if (!fix_str(&s->match, pool, sh->nb) || !fix_str(&s->repl, pool, sh->nb)) return 0;
      s->trans = s->num_trans ? &tt[t0] : NULL;
      for (int k = 0; k < s->num_trans; k++)
        if (s->trans[k].new_state < 0 || s->trans[k].new_state >= ns) return 0;
      next_trans += (size_t)s->num_trans;
    }
    next_state += (size_t)ns;
  }
  return next_state == sh->ns && next_trans == sh->nt;
}

/* Reads exactly n bytes of fd into p; 0 on a short read or an error. */
static int read_all(int fd, void *p, size_t n) {
  unsigned char *q = p;
  while (n > 0) {
    ssize_t k = read(fd, q, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return 0;
    q += k;
    n -= (size_t)k;
  }
  return 1;
}

/* The dictionaries from the cache file, in one block (free()), or NULL.
 * The header is read first, then the image straight into the block (the
 * file is read once, nothing copied). */
static HyphenDict *cache_read(const char *path, const struct stat *st) {
  HyphenDict *res = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat cs;
  cache_hdr h;
  if (fstat(fd, &cs) != 0 || !S_ISREG(cs.st_mode) || cs.st_size < (off_t)sizeof h ||
      cs.st_size > (off_t)(64u << 20) || !read_all(fd, &h, sizeof h))
    goto done;
  size_t pn = (size_t)cs.st_size - sizeof h;
  if (memcmp(h.magic, MAGIC, 8) || h.layout != layout_word() || h.layout2 != layout_word2() ||
      h.version != FORMAT_VERSION || strncmp(h.build, ts_build_id(), sizeof h.build - 1) ||
      h.src_size != (uint64_t)st->st_size ||
      h.src_ino != (uint64_t)st->st_ino || h.src_mtime != (int64_t)st->st_mtim.tv_sec ||
      h.src_mtime_ns != (int64_t)st->st_mtim.tv_nsec || h.payload_len != pn)
    goto done;
  /* the counts bound the block by the file's size before any product */
  if (h.n_dicts > 4 || h.n_states > pn || h.n_trans > pn || h.n_bytes > pn) goto done;
  block_shape sh = {(size_t)h.n_dicts, (size_t)h.n_states, (size_t)h.n_trans, (size_t)h.n_bytes};
  if (block_size(&sh) != pn) goto done;
  res = malloc(pn); /* malloc's alignment, which the structs need */
  if (!res) goto done;
  if (!read_all(fd, res, pn) || h.payload_hash != payload_hash(res, pn) ||
      !fix_image((unsigned char *)res, &sh)) {
    free(res);
    res = NULL;
  }
done:
  close(fd);
  return res;
}

size_t ts_hy_cache_header_size(void) { return sizeof(cache_hdr); }

int ts_hy_cache_rehash(const char *cache_file) {
  size_t n = 0;
  char *data = ts_file_read(cache_file, &n, 64u << 20);
  int rc = -1;
  if (data && n >= sizeof(cache_hdr)) {
    cache_hdr h;
    memcpy(&h, data, sizeof h);
    h.payload_hash = payload_hash(data + sizeof h, n - sizeof h);
    memcpy(data, &h, sizeof h);
    rc = ts_write_file_atomic(cache_file, data, n) == TS_OK ? 0 : -1;
  }
  free(data);
  return rc;
}

/* ---- The interface -------------------------------------------------------- */

HyphenDict *ts_hy_load_cached(const char *path, int *in_block) {
  *in_block = 0;
  char *real = realpath(path, NULL);
  struct stat st;
  if (!real || stat(real, &st) != 0) {
    free(real);
    return NULL;
  }
  char *cp = cache_path(real);
  HyphenDict *d = cp ? cache_read(cp, &st) : NULL;
  if (d) {
    *in_block = 1;
  } else {
    d = hnj_hyphen_load(real);
    if (d && cp) cache_write(cp, &st, d);
  }
  free(cp);
  free(real);
  return d;
}

void ts_hy_release(HyphenDict *d, int in_block) {
  if (!d) return;
  if (in_block) free(d);
  else hnj_hyphen_free(d);
}
