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
#include <sys/stat.h>

#define MAGIC "TSHYPH\001\n"
#define FORMAT_VERSION 2 /* 2: payload checked with ts_hash_fast256 */

typedef struct cache_hdr {
  char magic[8];
  uint32_t layout;      /* sizes and byte order of this build */
  uint32_t version;     /* of this format: FORMAT_VERSION */
  uint64_t src_size, src_ino;
  int64_t src_mtime, src_mtime_ns;
  uint64_t payload_len, payload_hash;
} cache_hdr;

static uint32_t layout_word(void) {
  const uint32_t one = 1;
  unsigned char little = *(const unsigned char *)&one;
  return (uint32_t)sizeof(void *) | (uint32_t)sizeof(int) << 8 |
         (uint32_t)sizeof(HyphenState) << 16 | (uint32_t)little << 31;
}

/* The cache file's path for the dictionary at real path src; owned or NULL
 * when caching is off or no folder is known.  Creates the folder. */
static char *cache_path(const char *src) {
  char name[40];
  (void)snprintf(name, sizeof name, "hyph-%016llx.bin", /* 26 bytes */
                 (unsigned long long)ts_hash64(src, strlen(src), 0x68797068u));
  return ts_cache_path(name);
}

/* ---- Writing ------------------------------------------------------------- */

static void put_i32(ts_buf *b, int32_t v) { ts_buf_append(b, &v, sizeof v); }

static void put_str(ts_buf *b, const char *s, size_t n) {
  if (!s) {
    put_i32(b, -1);
    return;
  }
  put_i32(b, (int32_t)n);
  ts_buf_append(b, s, n);
}

static void put_dicts(ts_buf *b, const HyphenDict *d) {
  int32_t levels = 0;
  for (const HyphenDict *x = d; x; x = x->nextlevel) levels++;
  put_i32(b, levels);
  for (const HyphenDict *x = d; x; x = x->nextlevel) {
    char mins[4] = {x->lhmin, x->rhmin, x->clhmin, x->crhmin};
    ts_buf_append(b, mins, 4);
    put_i32(b, x->utf8);
    ts_buf_append(b, x->cset, MAX_NAME);
    put_i32(b, x->nohyphenl);
    /* nohyphenl + 1 NUL-terminated strings, as libhyphen's loader left them */
    size_t nh = 0;
    if (x->nohyphen)
      for (int i = 0; i <= x->nohyphenl; i++) nh += strlen(x->nohyphen + nh) + 1;
    put_str(b, x->nohyphen, nh);
    put_i32(b, x->num_states);
    for (int i = 0; i < x->num_states; i++) {
      const HyphenState *s = &x->states[i];
      put_str(b, s->match, s->match ? strlen(s->match) : 0);
      put_str(b, s->repl, s->repl ? strlen(s->repl) : 0);
      /* libhyphen leaves these uninitialised in states without repl */
      put_i32(b, s->repl ? s->replindex : 0);
      put_i32(b, s->repl ? s->replcut : 0);
      put_i32(b, s->fallback_state);
      put_i32(b, s->num_trans);
      for (int k = 0; k < s->num_trans; k++) {
        put_i32(b, s->trans[k].ch);
        put_i32(b, s->trans[k].new_state);
      }
    }
  }
}

/* The payload's check: 64 bits of the fast 256-bit hash (about a byte an
 * instruction; the byte-wise FNV of format 1 was 3.3 M instructions of the
 * 7.5 M a fresh process spent reading the English patterns). */
static uint64_t payload_hash(const void *p, size_t n) {
  uint8_t d[32];
  ts_hash_fast256(p, n, d);
  uint64_t h;
  memcpy(&h, d, sizeof h);
  return h;
}

static void cache_write(const char *path, const struct stat *st, const HyphenDict *d) {
  ts_buf b;
  ts_buf_init(&b);
  cache_hdr h;
  memset(&h, 0, sizeof h);
  ts_buf_append(&b, &h, sizeof h);
  put_dicts(&b, d);
  if (!b.oom) {
    memcpy(h.magic, MAGIC, 8);
    h.layout = layout_word();
    h.version = FORMAT_VERSION;
    h.src_size = (uint64_t)st->st_size;
    h.src_ino = (uint64_t)st->st_ino;
    h.src_mtime = (int64_t)st->st_mtim.tv_sec;
    h.src_mtime_ns = (int64_t)st->st_mtim.tv_nsec;
    h.payload_len = b.len - sizeof h;
    h.payload_hash = payload_hash(b.data + sizeof h, h.payload_len);
    memcpy(b.data, &h, sizeof h);
    (void)ts_write_file_atomic(path, b.data, b.len); /* a cache: failure is no error */
  }
  ts_buf_free(&b);
}

/* ---- Reading ------------------------------------------------------------- */

typedef struct reader {
  const unsigned char *p, *end;
  int bad;
} reader;

static int32_t get_i32(reader *r) {
  int32_t v = 0;
  if ((size_t)(r->end - r->p) < sizeof v) {
    r->bad = 1;
    return 0;
  }
  memcpy(&v, r->p, sizeof v);
  r->p += sizeof v;
  return v;
}

/* A string of the payload: its bytes (not NUL-terminated) or NULL. */
static const unsigned char *get_str(reader *r, int32_t *n) {
  *n = get_i32(r);
  if (r->bad || *n < 0) return NULL;
  if ((size_t)(r->end - r->p) < (size_t)*n) {
    r->bad = 1;
    return NULL;
  }
  const unsigned char *s = r->p;
  r->p += *n;
  return s;
}

static char *put_copy(char **pool, const unsigned char *s, int32_t n) {
  if (!s) return NULL;
  char *d = *pool;
  memcpy(d, s, (size_t)n);
  d[n] = 0;
  *pool += n + 1;
  return d;
}

/* Two passes over the payload: the first (out == NULL) checks it and adds
 * up the sizes, the second builds the dictionaries in the block. */
static int walk(const unsigned char *p, size_t n, size_t *n_dicts, size_t *n_states,
                size_t *n_trans, size_t *n_bytes, HyphenDict *out) {
  reader r = {p, p + n, 0};
  HyphenState *states = out ? (HyphenState *)(out + *n_dicts) : NULL;
  HyphenTrans *trans = out ? (HyphenTrans *)(states + *n_states) : NULL;
  char *pool = out ? (char *)(trans + *n_trans) : NULL;
  int32_t levels = get_i32(&r);
  if (r.bad || levels < 1 || levels > 4) return 0;
  if (!out) *n_dicts = (size_t)levels, *n_states = *n_trans = *n_bytes = 0;
  for (int32_t l = 0; l < levels; l++) {
    HyphenDict *d = out ? &out[l] : NULL;
    if ((size_t)(r.end - r.p) < 4 + 4 + MAX_NAME) return 0;
    if (d) {
      d->lhmin = (char)r.p[0];
      d->rhmin = (char)r.p[1];
      d->clhmin = (char)r.p[2];
      d->crhmin = (char)r.p[3];
    }
    r.p += 4;
    int32_t utf8 = get_i32(&r);
    if (d) {
      d->utf8 = utf8;
      memcpy(d->cset, r.p, MAX_NAME);
      d->cset[MAX_NAME - 1] = 0;
      d->nextlevel = l + 1 < levels ? &out[l + 1] : NULL;
    }
    r.p += MAX_NAME;
    int32_t nhl = get_i32(&r), len;
    const unsigned char *nh = get_str(&r, &len);
    if (r.bad || nhl < 0) return 0;
    if (nh) {
      /* nhl + 1 NUL-terminated strings filling exactly len bytes */
      int32_t seen = 0;
      for (int32_t i = 0; i < len; i++) seen += nh[i] == 0;
      if (len == 0 || nh[len - 1] != 0 || seen != nhl + 1) return 0;
    }
    if (d) {
      d->nohyphenl = nhl;
      d->nohyphen = nh ? pool : NULL;
      if (nh) memcpy(pool, nh, (size_t)len), pool += len;
    } else if (nh) {
      *n_bytes += (size_t)len;
    }
    int32_t ns = get_i32(&r);
    if (r.bad || ns < 1 || ns > (1 << 24)) return 0;
    if (d) {
      d->num_states = ns;
      d->states = states;
    } else {
      *n_states += (size_t)ns;
    }
    for (int32_t i = 0; i < ns; i++) {
      int32_t ml, rl;
      const unsigned char *m = get_str(&r, &ml), *rp = get_str(&r, &rl);
      int32_t ri = get_i32(&r), rc = get_i32(&r), fb = get_i32(&r), nt = get_i32(&r);
      if (r.bad || fb < -1 || fb >= ns || nt < 0 || nt > 256 || ri < -128 || ri > 127 ||
          rc < -128 || rc > 127)
        return 0;
      if ((size_t)(r.end - r.p) / 8 < (size_t)nt) return 0;
      if (d) {
        HyphenState *s = &states[i];
        s->match = put_copy(&pool, m, ml);
        s->repl = put_copy(&pool, rp, rl);
        s->replindex = (signed char)ri;
        s->replcut = (signed char)rc;
        s->fallback_state = fb;
        s->num_trans = nt;
        s->trans = nt ? trans : NULL;
      } else {
        *n_bytes += (m ? (size_t)ml + 1 : 0) + (rp ? (size_t)rl + 1 : 0);
        *n_trans += (size_t)nt;
      }
      for (int32_t k = 0; k < nt; k++) {
        int32_t ch = get_i32(&r), to = get_i32(&r);
        if (r.bad || to < 0 || to >= ns || ch < -128 || ch > 255) return 0;
        if (d) {
          trans->ch = (char)ch;
          trans->new_state = to;
          trans++;
        }
      }
    }
    if (d) states += ns;
  }
  return r.p == r.end;
}

/* The dictionaries from the cache file, in one block (free()), or NULL. */
static HyphenDict *cache_read(const char *path, const struct stat *st) {
  size_t n = 0;
  char *data = ts_file_read(path, &n, 64u << 20);
  HyphenDict *res = NULL;
  if (!data || n < sizeof(cache_hdr)) goto done;
  cache_hdr h;
  memcpy(&h, data, sizeof h);
  const unsigned char *p = (const unsigned char *)data + sizeof h;
  size_t pn = n - sizeof h;
  if (memcmp(h.magic, MAGIC, 8) || h.layout != layout_word() || h.version != FORMAT_VERSION ||
      h.src_size != (uint64_t)st->st_size || h.src_ino != (uint64_t)st->st_ino ||
      h.src_mtime != (int64_t)st->st_mtim.tv_sec ||
      h.src_mtime_ns != (int64_t)st->st_mtim.tv_nsec || h.payload_len != pn ||
      h.payload_hash != payload_hash(p, pn))
    goto done;
  size_t nd, ns, nt, nb;
  if (!walk(p, pn, &nd, &ns, &nt, &nb, NULL)) goto done;
  res = calloc(1, nd * sizeof(HyphenDict) + ns * sizeof(HyphenState) +
                      nt * sizeof(HyphenTrans) + nb);
  if (res && !walk(p, pn, &nd, &ns, &nt, &nb, res)) {
    free(res);
    res = NULL;
  }
done:
  free(data);
  return res;
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
