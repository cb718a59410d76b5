/* dcache.c — whole results kept as files in typeset's cache folder.
 *
 * A file `KIND-HHHHHHHHHHHHHHHH.bin` (H: 64 bits of the fast hash of the
 * key) holds the whole key, then the value's length, a hash of the value
 * and the value.  A reader compares the key byte for byte and checks the
 * value's hash, so a short, damaged, foreign or colliding file is a miss;
 * the writer then makes the result again and replaces the file atomically.
 * Each kind is bounded: past DCACHE_MAX files the least recently used (a hit
 * touches its file) go, down to DCACHE_KEEP.  Nothing here may change an
 * output: a hit gives the bytes a miss makes.  Used for the EPUB's and the
 * PDF's font subsets. */
#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ts_core.h"

#define DCACHE_MAX 512
#define DCACHE_KEEP 384
#define DCACHE_NAME 48 /* room for a kind of up to 20 bytes and the hash */

static uint64_t hash64(const void *p, size_t n) {
  uint8_t d[32];
  uint64_t h;
  ts_hash_fast256(p, n, d);
  memcpy(&h, d, sizeof h);
  return h;
}

/* The stored key: the build's identity, then the caller's key (a value
 * made by another build of typeset is a miss).  0 on OOM. */
static int full_key(const ts_buf *key, ts_buf *out) {
  ts_buf_init(out);
  const char *id = ts_build_id();
  ts_buf_append(out, id, strlen(id) + 1);
  ts_buf_append(out, key->data, key->len);
  if (!out->oom) return 1;
  ts_buf_free(out);
  return 0;
}

/* Owned path of key's file; NULL when the cache is off or kind too long. */
static char *dcache_path(const char *kind, const ts_buf *key) {
  char name[DCACHE_NAME];
  int n = snprintf(name, sizeof name, "%s-%016llx.bin", kind,
                   (unsigned long long)hash64(key->data, key->len));
  if (n <= 0 || (size_t)n >= sizeof name) return NULL;
  return ts_cache_path(name);
}

int ts_dcache_enabled(void) {
  const char *dir = getenv("TYPESET_CACHE_DIR");
  return !dir || strcmp(dir, "off") != 0;
}

int ts_dcache_key_file(ts_buf *key, const char *path, uint32_t index) {
  struct stat st;
  if (!path || stat(path, &st) != 0) return 0;
  size_t pl = strlen(path);
  ts_buf_put_u32(key, (uint32_t)pl);
  ts_buf_append(key, path, pl);
  ts_buf_put_u64(key, (uint64_t)st.st_size);
  ts_buf_put_u64(key, (uint64_t)st.st_ino);
  ts_buf_put_u64(key, (uint64_t)st.st_mtim.tv_sec);
  ts_buf_put_u64(key, (uint64_t)st.st_mtim.tv_nsec);
  ts_buf_put_u32(key, index);
  return !key->oom;
}

enum { DCACHE_HEAD = 8 + 8 }; /* after the key: the value's length and hash */

/* Where the value of a file's n bytes starts (*off, *vlen); 0 when the file
 * is not key's or is damaged. */
static int dcache_value(const unsigned char *data, size_t n, const ts_buf *key, size_t *off,
                        size_t *vlen) {
  if (!data || n < key->len + DCACHE_HEAD || memcmp(data, key->data, key->len) != 0) return 0;
  const unsigned char *v = data + key->len;
  uint64_t len, vh;
  memcpy(&len, v, 8);
  memcpy(&vh, v + 8, 8);
  if (len != n - key->len - DCACHE_HEAD || hash64(v + DCACHE_HEAD, (size_t)len) != vh) return 0;
  *off = key->len + DCACHE_HEAD;
  *vlen = (size_t)len;
  return 1;
}

/* The full key and the path of its file (owned); 0 when there is none. */
static int dcache_locate(const char *kind, const ts_buf *caller_key, ts_buf *full, char **path) {
  *path = NULL;
  if (caller_key->oom || caller_key->len == 0 || !full_key(caller_key, full)) return 0;
  if ((*path = dcache_path(kind, full))) return 1;
  ts_buf_free(full);
  return 0;
}

/* Marks a file read as recently used (the pruning goes by modification
 * time), unless it was within the hour: a fresh EPUB read ~17 files, a
 * system call each. */
static void touch(const char *path, const struct timespec *mtime) {
  time_t now = time(NULL);
  if (mtime->tv_sec <= now && now - mtime->tv_sec < 3600) return;
  (void)utimensat(AT_FDCWD, path, NULL, 0);
}

char *ts_dcache_get(const char *kind, const ts_buf *caller_key, size_t *len) {
  ts_buf key;
  char *path;
  if (!dcache_locate(kind, caller_key, &key, &path)) return NULL;
  size_t n = 0, off = 0, vlen = 0;
  struct timespec mt;
  char *data = ts_file_read_mtime(path, &n, (size_t)256 << 20, &mt);
  char *val = NULL;
  if (dcache_value((const unsigned char *)data, n, &key, &off, &vlen)) {
    /* the value moved to the front of the block read: one allocation */
    memmove(data, data + off, vlen);
    val = data;
    data = NULL;
    *len = vlen;
  }
  free(data);
  if (val) touch(path, &mt);
  free(path);
  ts_buf_free(&key);
  return val;
}

/* The file is mapped, not read: its pages are the page cache's, shared and
 * faulted in sixteen at a time, where a read copied them into fresh pages
 * of the heap.  The cache's files are only ever replaced by a rename or
 * removed, never rewritten in place, so a mapping stays whole.  A process
 * that renders many papers (a series) reads instead: its heap's pages are
 * used again paper after paper, where each mapping's pages are new and are
 * given back at its munmap (on a virtual machine that was ~20 us a page:
 * a 50-paper series took 10 % longer mapping). */
static atomic_int dcache_no_map;

void ts_dcache_map_files(int on) { atomic_store(&dcache_no_map, !on); }

ts_blob *ts_dcache_get_blob(const char *kind, const ts_buf *caller_key) {
  if (atomic_load(&dcache_no_map)) {
    size_t n = 0;
    char *v = ts_dcache_get(kind, caller_key, &n);
    return v ? ts_blob_take(v, n) : NULL;
  }
  ts_buf key;
  char *path;
  if (!dcache_locate(kind, caller_key, &key, &path)) return NULL;
  ts_blob *val = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
      (uint64_t)sb.st_size >= key.len + DCACHE_HEAD &&
      (uint64_t)sb.st_size <= ((uint64_t)256 << 20)) {
    size_t n = (size_t)sb.st_size, off = 0, vlen = 0;
    void *map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
      if (dcache_value(map, n, &key, &off, &vlen))
        val = ts_blob_mapped(map, n, off, vlen); /* takes map */
      else
        (void)munmap(map, n);
    }
  }
  if (fd >= 0) (void)close(fd); /* read only: nothing to lose */
  if (val) touch(path, &sb.st_mtim);
  free(path);
  ts_buf_free(&key);
  return val;
}

typedef struct dfile {
  struct timespec t;
  char name[DCACHE_NAME];
} dfile;

static int dfile_cmp(const void *a, const void *b) {
  const dfile *x = a, *y = b;
  if (x->t.tv_sec != y->t.tv_sec) return x->t.tv_sec < y->t.tv_sec ? -1 : 1;
  if (x->t.tv_nsec != y->t.tv_nsec) return x->t.tv_nsec < y->t.tv_nsec ? -1 : 1;
  return strcmp(x->name, y->name);
}

static int is_kind(const char *name, const char *kind, size_t kl) {
  return strncmp(name, kind, kl) == 0 && name[kl] == '-' && strlen(name) < DCACHE_NAME;
}

/* Past DCACHE_MAX files of kind, the least recently used go.  The names are
 * counted first: only a folder over the bound is stat'ed (a series writes
 * hundreds of subsets, each followed by this). */
static void dcache_prune(const char *kind) {
  char *dir = ts_cache_path(".");
  DIR *d = dir ? opendir(dir) : NULL;
  dfile *v = NULL;
  size_t n = 0, cap = 0, kl = strlen(kind), count = 0;
  // cppcheck-suppress readdirCalled ; the DIR is this call's own (readdir_r is deprecated)
  for (struct dirent *e; d && (e = readdir(d));) count += (size_t)is_kind(e->d_name, kind, kl);
  if (count <= DCACHE_MAX) goto done;
  rewinddir(d);
  // cppcheck-suppress readdirCalled ; as above
  for (struct dirent *e; (e = readdir(d));) {
    if (!is_kind(e->d_name, kind, kl)) continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (n == cap) {
      size_t nc = cap ? 2 * cap : 64;
      dfile *nv = realloc(v, nc * sizeof *nv);
      if (!nv) break;
      v = nv;
      cap = nc;
    }
    v[n].t = st.st_mtim;
    memcpy(v[n].name, e->d_name, strlen(e->d_name) + 1);
    n++;
  }
  if (n > DCACHE_MAX) {
    qsort(v, n, sizeof *v, dfile_cmp);
    for (size_t i = 0; i < n - DCACHE_KEEP; i++) (void)unlinkat(dirfd(d), v[i].name, 0);
  }
done:
  if (d) closedir(d);
  free(v);
  free(dir);
}

void ts_dcache_put(const char *kind, const ts_buf *caller_key, const void *val, size_t len) {
  ts_buf full;
  char *path;
  if (!dcache_locate(kind, caller_key, &full, &path)) return;
  const ts_buf *key = &full;
  ts_buf b;
  ts_buf_init(&b);
  ts_buf_append(&b, key->data, key->len);
  ts_buf_put_u64(&b, (uint64_t)len);
  ts_buf_put_u64(&b, hash64(val, len));
  ts_buf_append(&b, val, len);
  if (!b.oom && ts_cache_dir_make() && ts_write_file_atomic(path, b.data, b.len) == TS_OK)
    dcache_prune(kind);
  ts_buf_free(&b);
  free(path);
  ts_buf_free(&full);
}
