/* zip.c — the EPUB's ZIP container.  libzip writes the archive (entry
 * order as given, mimetype first and stored, no extra fields, one fixed
 * DOS time, Unix permissions); the entries' DEFLATE data is made here with
 * libdeflate's whole-buffer compressor — about twice zlib's speed at a
 * slightly smaller size (figures at EPUB_ZIP_LEVEL) — or comes already
 * deflated from the series-wide font cache (fonts.c).  Such data reaches
 * libzip through a source that reports its method, sizes and CRC, which
 * libzip copies without recompressing (zip_close: a source whose stat gives
 * a compression method is taken as already compressed). */
#include "epub_int.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

/* ---- libzip, opened on first use ------------------------------------------
 * Linking libzip made every process load it and the libcrypto it depends
 * on (bound at load: 4,000 relocations), 6.5 M instructions before main()
 * even when no EPUB was asked for.  So libzip is opened with dlopen when
 * the first EPUB is packaged (TS_LIBZIP_SONAME, the soname of the library
 * the build found, meson.build) and called through this table. */
#define LZ_FUNCS(X)                                                                              \
  X(zip_close) X(zip_discard) X(zip_error_fini) X(zip_error_init) X(zip_error_set)               \
  X(zip_error_to_data) X(zip_file_add) X(zip_file_extra_field_delete) X(zip_file_set_dostime)    \
  X(zip_file_set_external_attributes) X(zip_open_from_source) X(zip_set_file_compression)        \
  X(zip_source_buffer) X(zip_source_close) X(zip_source_free) X(zip_source_function)              \
  X(zip_source_function_create) X(zip_source_make_command_bitmap) X(zip_source_open)             \
  X(zip_source_read) X(zip_source_seek_compute_offset) X(zip_source_stat) X(zip_stat_init)

#ifndef TS_LIBZIP_SONAME /* meson.build defines it from the library found */
#define TS_LIBZIP_SONAME "libzip.so.4"
#endif

/* f is a function name: it cannot take parentheses in a declarator */
// NOLINTNEXTLINE(bugprone-macro-parentheses)
#define LZ_MEMBER(f) __typeof__(&f) f;
static struct {
  LZ_FUNCS(LZ_MEMBER)
} lz;
static int lz_ok; /* set once by lz_open_once: 1 when every symbol was found */
static char lz_err[256]; /* set once with lz_ok: why it could not be opened */
static pthread_once_t lz_once = PTHREAD_ONCE_INIT;
static void *lz_handle; /* never closed: the table points into it */

/* RTLD_DEEPBIND: libzip and the libraries it loads (libcrypto, bound at
 * load: ~4,000 relocations) look a symbol up among themselves before the
 * process's global scope — the same definitions (each object is loaded
 * once), found without first walking the 16 objects the executable loaded:
 * 5.5 M instructions → 2.7 M for the dlopen, an eighth of a fresh EPUB's.
 * Not under a sanitizer: its runtime interposes malloc and friends in the
 * global scope, which DEEPBIND would bypass (ASan refuses such a dlopen). */
#if defined(RTLD_DEEPBIND) && !defined(TS_SANITIZED)
#define LZ_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND)
#else
#define LZ_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL)
#endif

/* The stand-in for libzip's libcrypto (nocrypto.c; built by meson.build
 * only for a libzip whose crypto imports it covers): loaded before libzip,
 * so that libzip's DT_NEEDED libcrypto.so.3 is the module already loaded
 * with that soname.  Found relative to the running executable — beside it
 * (the build tree) or where it is installed — never by a path of the
 * build's; none when TYPESET_SYSTEM_LIBCRYPTO is set.  When libzip then
 * cannot be loaded with it, it is closed and libzip loaded with the
 * system's libcrypto.  Once loaded it is the process's libcrypto.so.3: a
 * library loaded later that needs libcrypto would be given its failing
 * functions (typeset loads none).  Returns the module's handle, or NULL. */
static void *lz_standin_open(void) {
#if defined(TS_NOCRYPTO_NAME) && defined(TS_NOCRYPTO_REL_INSTALLED)
  const char *sys = getenv("TYPESET_SYSTEM_LIBCRYPTO");
  if (sys && *sys) return NULL;
  static const char *const rel[] = {TS_NOCRYPTO_NAME, TS_NOCRYPTO_REL_INSTALLED};
  return ts_dlopen_beside_exe(rel, sizeof rel / sizeof rel[0]);
#else
  return NULL;
#endif
}

static void lz_open_once(void) {
  void *standin = lz_standin_open();
  void *h = dlopen(TS_LIBZIP_SONAME, LZ_DLOPEN_FLAGS);
  if (!h && standin) {
    (void)dlclose(standin);
    h = dlopen(TS_LIBZIP_SONAME, LZ_DLOPEN_FLAGS);
  }
  lz_handle = h;
  if (!h) {
    const char *e = dlerror();
    (void)snprintf(lz_err, sizeof lz_err, "%s", e ? e : "not found");
    return;
  }
  int ok = 1;
#define LZ_LOAD(f)                                                       \
  *(void **)&lz.f = dlsym(h, #f);                                        \
  if (!lz.f && ok) {                                                     \
    (void)snprintf(lz_err, sizeof lz_err, "it has no function %s", #f);  \
    ok = 0;                                                              \
  }
  LZ_FUNCS(LZ_LOAD)
#undef LZ_LOAD
  lz_ok = ok;
}

const char *epub_zip_library(void) { return TS_LIBZIP_SONAME; }
const char *epub_zip_error(void) { return lz_err; }

/* 1 when libzip is usable (opened here on the first call). */
static int lz_open(void) {
  pthread_once(&lz_once, lz_open_once);
  return lz_ok;
}

int epub_zip_open(void) { return lz_open(); }

ts_status epub_deflate(const void *data, size_t len, int level, unsigned char **comp,
                       size_t *comp_len, uint32_t *crc) {
  *comp = NULL;
  *comp_len = 0;
  *crc = libdeflate_crc32(0, data, len);
  if (level <= 0 || len == 0) return TS_OK;
  struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
  if (!c) return TS_ERR_NOMEM;
  /* only worth keeping when smaller than the bytes themselves */
  unsigned char *out = malloc(len);
  size_t n = out ? libdeflate_deflate_compress(c, data, len, out, len - 1) : 0;
  libdeflate_free_compressor(c);
  if (!out) return TS_ERR_NOMEM;
  if (n == 0) { /* did not fit in len - 1 bytes: store */
    free(out);
    return TS_OK;
  }
  *comp = out;
  *comp_len = n;
  return TS_OK;
}

/* A source of already deflated bytes for libzip. */
typedef struct raw_src {
  const unsigned char *p;
  size_t n, at;
  uint64_t size; /* uncompressed */
  uint32_t crc;
  zip_error_t err;
} raw_src;

static zip_int64_t raw_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd) {
  raw_src *r = ud;
  switch (cmd) {
  case ZIP_SOURCE_OPEN:
    r->at = 0;
    return 0;
  case ZIP_SOURCE_READ: {
    size_t k = r->n - r->at;
    if (k > len) k = (size_t)len;
    if (k) memcpy(data, r->p + r->at, k);
    r->at += k;
    return (zip_int64_t)k;
  }
  case ZIP_SOURCE_CLOSE:
  case ZIP_SOURCE_FREE:
    return 0;
  case ZIP_SOURCE_STAT: {
    if (len < sizeof(zip_stat_t)) return -1;
    zip_stat_t *st = data;
    lz.zip_stat_init(st);
    st->valid = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD | ZIP_STAT_CRC |
                ZIP_STAT_ENCRYPTION_METHOD;
    st->size = r->size;
    st->comp_size = r->n;
    st->comp_method = ZIP_CM_DEFLATE;
    st->encryption_method = ZIP_EM_NONE;
    st->crc = r->crc;
    return sizeof(zip_stat_t);
  }
  case ZIP_SOURCE_ERROR:
    return lz.zip_error_to_data(&r->err, data, len);
  case ZIP_SOURCE_SUPPORTS:
    return lz.zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                          ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                                          -1);
  default:
    lz.zip_error_set(&r->err, ZIP_ER_OPNOTSUPP, 0);
    return -1;
  }
}

/* libzip's output: the archive written straight into a file of the
 * caller's (fd >= 0: the temporary file of the output, at its positions
 * with pwrite) or into one buffer of ours, allocated at its first write
 * with the size the entries add up to (their bytes, headers and names),
 * grown by doubling only if that was short.  libzip's own buffer source
 * kept the archive in fragments that were then copied out whole: a second
 * copy of every byte into fresh pages, ~100 of a fresh EPUB's 900 page
 * faults; the buffer itself was ~55 more, before the file's pages got the
 * same bytes.  A new archive only (ZIP_TRUNCATE): what was committed is
 * never read back while writing, so one buffer or file holds both. */
typedef struct out_src {
  int fd;           /* the file written, or -1: the buffer */
  unsigned char *p; /* owned until handed to the caller */
  size_t len, cap;  /* bytes written; allocated */
  size_t want;      /* capacity for the first allocation */
  size_t wpos, rpos; /* write and read positions */
  int oom;           /* a write found no memory: zip_close's failure is that */
  int io;            /* a write to fd failed (errno kept): likewise */
  /* fd: writes gathered into wb, the file's bytes from wb_at on (libzip
   * writes an EPUB in ~140 pieces, each a system call otherwise; a header
   * rewritten after its entry, while still in wb, is patched there) */
  unsigned char *wb; /* owned */
  size_t wb_at, wb_len;
  zip_error_t err;
} out_src;

#define OUT_WB_CAP ((size_t)65536)

/* len bytes at file offset at; 0 with o->io set on failure */
static int out_pwrite_at(out_src *o, const void *data, size_t len, size_t at) {
  const unsigned char *p = data;
  while (len) {
    ssize_t k = pwrite(o->fd, p, len, (off_t)at);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      o->io = k < 0 ? errno : EIO;
      return 0;
    }
    p += k, at += (size_t)k, len -= (size_t)k;
  }
  return 1;
}

/* What wb holds goes to the file. */
static int out_flush(out_src *o) {
  if (!o->wb_len) return 1;
  int ok = out_pwrite_at(o, o->wb, o->wb_len, o->wb_at);
  o->wb_len = 0;
  return ok;
}

/* len bytes at o->wpos: into wb when they extend or patch its run, else
 * after a flush (straight to the file when they would not fit). */
static int out_pwrite(out_src *o, const void *data, size_t len) {
  size_t at = o->wpos;
  if (!o->wb && !(o->wb = malloc(OUT_WB_CAP))) return out_pwrite_at(o, data, len, at);
  if (o->wb_len && at >= o->wb_at && at <= o->wb_at + o->wb_len &&
      len <= OUT_WB_CAP - (at - o->wb_at)) {
    memcpy(o->wb + (at - o->wb_at), data, len);
    if (at - o->wb_at + len > o->wb_len) o->wb_len = at - o->wb_at + len;
    return 1;
  }
  if (!out_flush(o)) return 0;
  if (len >= OUT_WB_CAP) return out_pwrite_at(o, data, len, at);
  memcpy(o->wb, data, len);
  o->wb_at = at;
  o->wb_len = len;
  return 1;
}

static int out_reserve(out_src *o, size_t need) {
  if (need <= o->cap) return 1;
  size_t c = o->cap ? o->cap : (o->want ? o->want : 65536);
  while (c < need) {
    if (c > SIZE_MAX / 2) return 0;
    c *= 2;
  }
  unsigned char *np = realloc(o->p, c);
  if (!np) return 0;
  o->p = np;
  o->cap = c;
  return 1;
}

static zip_int64_t out_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd) {
  out_src *o = ud;
  switch (cmd) {
  case ZIP_SOURCE_OPEN:
    o->rpos = 0;
    return 0;
  case ZIP_SOURCE_READ: {
    size_t k = o->rpos < o->len ? o->len - o->rpos : 0;
    if (k > len) k = (size_t)len;
    if (k && o->fd >= 0) {
      if (!out_flush(o)) {
        lz.zip_error_set(&o->err, ZIP_ER_WRITE, o->io);
        return -1;
      }
      ssize_t r;
      do r = pread(o->fd, data, k, (off_t)o->rpos);
      while (r < 0 && errno == EINTR);
      if (r < 0) {
        lz.zip_error_set(&o->err, ZIP_ER_READ, errno);
        return -1;
      }
      k = (size_t)r;
    } else if (k) {
      memcpy(data, o->p + o->rpos, k);
    }
    o->rpos += k;
    return (zip_int64_t)k;
  }
  case ZIP_SOURCE_SEEK:
  case ZIP_SOURCE_SEEK_WRITE: {
    size_t *at = cmd == ZIP_SOURCE_SEEK ? &o->rpos : &o->wpos;
    zip_int64_t to = lz.zip_source_seek_compute_offset(*at, o->len, data, len, &o->err);
    if (to < 0) return -1;
    *at = (size_t)to;
    return 0;
  }
  case ZIP_SOURCE_TELL:
    return (zip_int64_t)o->rpos;
  case ZIP_SOURCE_TELL_WRITE:
    return (zip_int64_t)o->wpos;
  case ZIP_SOURCE_BEGIN_WRITE:
  case ZIP_SOURCE_ROLLBACK_WRITE:
  case ZIP_SOURCE_REMOVE:
    o->len = o->wpos = o->rpos = o->wb_len = 0;
    if (o->fd >= 0 && ftruncate(o->fd, 0) != 0) {
      o->io = errno;
      lz.zip_error_set(&o->err, ZIP_ER_WRITE, errno);
      return -1;
    }
    return 0;
  case ZIP_SOURCE_WRITE: {
    if (len > SIZE_MAX - o->wpos) {
      lz.zip_error_set(&o->err, ZIP_ER_WRITE, EFBIG);
      return -1;
    }
    if (o->fd >= 0) { /* a seek past the end reads back as zeros by itself */
      if (!out_pwrite(o, data, (size_t)len)) {
        lz.zip_error_set(&o->err, ZIP_ER_WRITE, o->io);
        return -1;
      }
    } else if (!out_reserve(o, o->wpos + (size_t)len)) {
      lz.zip_error_set(&o->err, ZIP_ER_MEMORY, 0);
      o->oom = 1;
      return -1;
    } else {
      if (o->wpos > o->len) memset(o->p + o->len, 0, o->wpos - o->len); /* a seek past the end */
      if (len) memcpy(o->p + o->wpos, data, (size_t)len);
    }
    o->wpos += (size_t)len;
    if (o->wpos > o->len) o->len = o->wpos;
    return (zip_int64_t)len;
  }
  case ZIP_SOURCE_COMMIT_WRITE:
    if (o->fd >= 0 && !out_flush(o)) {
      lz.zip_error_set(&o->err, ZIP_ER_WRITE, o->io);
      return -1;
    }
    return 0;
  case ZIP_SOURCE_CLOSE:
  case ZIP_SOURCE_FREE:
    return 0;
  case ZIP_SOURCE_STAT: {
    if (len < sizeof(zip_stat_t)) return -1;
    zip_stat_t *st = data;
    lz.zip_stat_init(st);
    st->valid = ZIP_STAT_SIZE;
    st->size = o->len;
    return sizeof(zip_stat_t);
  }
  case ZIP_SOURCE_ERROR:
    return lz.zip_error_to_data(&o->err, data, len);
  case ZIP_SOURCE_SUPPORTS:
    return lz.zip_source_make_command_bitmap(
        ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR,
        ZIP_SOURCE_FREE, ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL, ZIP_SOURCE_BEGIN_WRITE,
        ZIP_SOURCE_COMMIT_WRITE, ZIP_SOURCE_ROLLBACK_WRITE, ZIP_SOURCE_WRITE,
        ZIP_SOURCE_SEEK_WRITE, ZIP_SOURCE_TELL_WRITE, ZIP_SOURCE_REMOVE, ZIP_SOURCE_SUPPORTS, -1);
  default:
    lz.zip_error_set(&o->err, ZIP_ER_OPNOTSUPP, 0);
    return -1;
  }
}

/* Entries are compressed with one compressor per level (libdeflate
 * allocates its tables once per compressor, not per call). */
ts_status epub_zip_build(const ezent *ents, size_t n, uint16_t dos_time, uint16_t dos_date,
                         int fd, unsigned char **out, size_t *out_len) {
  ts_status st = TS_OK;
  struct libdeflate_compressor *comp = NULL;
  int comp_level = 0;
  if (out) *out = NULL;
  if (out_len) *out_len = 0;
  if (!lz_open()) return TS_ERR_INTERNAL; /* the caller asks epub_zip_open first */
  /* per entry: the deflated bytes made here (owned) and libzip's source state */
  unsigned char **made = calloc(n ? n : 1, sizeof *made);
  raw_src *raw = calloc(n ? n : 1, sizeof *raw);
  zip_t *z = NULL;
  zip_source_t *mem = NULL;
  out_src o;
  memset(&o, 0, sizeof o);
  o.fd = fd;
  lz.zip_error_init(&o.err);
  zip_error_t ze;
  lz.zip_error_init(&ze);
  if (!made || !raw) TS_CHECK(TS_ERR_NOMEM);
  if (!(mem = lz.zip_source_function_create(out_cb, &o, &ze))) TS_CHECK(TS_ERR_NOMEM);
  if (!(z = lz.zip_open_from_source(mem, ZIP_TRUNCATE, &ze))) TS_CHECK(TS_ERR_INTERNAL);
  /* zip_discard/zip_close free mem with the archive: from here z owns it */
  mem = NULL;
  size_t bound = 22 + 1024; /* end of central directory, and room to spare */
  for (size_t i = 0; i < n; i++) {
    const ezent *e = &ents[i];
    const unsigned char *body = NULL;
    size_t blen = 0;
    uint32_t crc = 0;
    if (e->len > 0xFFFFFFFEu) TS_CHECK(TS_ERR_LIMIT);
    if (e->comp) { /* deflated by the caller */
      body = e->comp;
      blen = e->comp_len;
      crc = e->crc;
    } else if (e->len > 0 && (e->level > 0 || e->level == EPUB_ZIP_PROBE)) {
      int level = e->level == EPUB_ZIP_PROBE ? EPUB_ZIP_PROBE_LEVEL : e->level;
      unsigned char *tmp = malloc(e->len);
      if (!tmp) TS_CHECK(TS_ERR_NOMEM);
      made[i] = tmp;
      if (!comp || comp_level != level) {
        libdeflate_free_compressor(comp);
        comp = libdeflate_alloc_compressor(level);
        comp_level = level;
        if (!comp) TS_CHECK(TS_ERR_NOMEM);
      }
      /* bytes compressed by their own format (EPUB_ZIP_PROBE) are deflated
       * only when it saves 5 %, judged on their first 16 KiB: a PNG written
       * with little effort does; photographs and JPEGs never do, and
       * deflating a megabyte of them cost ~90 M instructions for nothing.
       * The judging takes the compressor that deflates them (the text's,
       * EPUB_ZIP_PROBE_LEVEL): a compressor more costs ~50-70 page faults
       * for its tables in every EPUB with an image. */
      size_t room = e->len - 1;
      if (e->level == EPUB_ZIP_PROBE) {
        size_t pn = e->len < 16384 ? e->len : 16384;
        if (pn < e->len) {
          size_t k = libdeflate_deflate_compress(comp, e->data, pn, tmp, pn - pn / 20);
          if (k == 0) level = 0;
        } else {
          room = e->len - e->len / 20; /* all of it: the same 5 % */
        }
      }
      if (level > 0) {
        /* kept only when smaller than the bytes themselves, else stored */
        size_t k = libdeflate_deflate_compress(comp, e->data, e->len, tmp, room);
        if (k > 0) {
          body = tmp;
          blen = k;
          crc = libdeflate_crc32(0, e->data, e->len);
        }
      }
    }
    /* the entry's bytes, its local and central headers and name twice */
    size_t nl = strlen(e->name), sz = (body ? blen : e->len) + 2 * nl + 30 + 46 + 64;
    bound = sz > SIZE_MAX - bound ? SIZE_MAX : bound + sz;
    zip_source_t *src;
    if (body) {
      raw[i] = (raw_src){.p = body, .n = blen, .size = e->len, .crc = crc};
      lz.zip_error_init(&raw[i].err);
      src = lz.zip_source_function(z, raw_cb, &raw[i]);
    } else {
      src = lz.zip_source_buffer(z, e->data, e->len, 0);
    }
    if (!src) TS_CHECK(TS_ERR_NOMEM);
    zip_int64_t idx = lz.zip_file_add(z, e->name, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      lz.zip_source_free(src);
      TS_CHECK(TS_ERR_INTERNAL);
    }
    zip_uint64_t u = (zip_uint64_t)idx;
    /* a stored entry says so; deflated ones keep the method their source
     * reports */
    if ((!body && lz.zip_set_file_compression(z, u, ZIP_CM_STORE, 0) < 0) ||
        lz.zip_file_set_dostime(z, u, dos_time, dos_date, 0) < 0 ||
        lz.zip_file_set_external_attributes(z, u, 0, ZIP_OPSYS_UNIX, 0100644u << 16) < 0)
      TS_CHECK(TS_ERR_INTERNAL);
    lz.zip_file_extra_field_delete(z, u, ZIP_EXTRA_FIELD_ALL, ZIP_FL_LOCAL | ZIP_FL_CENTRAL);
  }
  o.want = bound;
  if (lz.zip_close(z) < 0) {
    lz.zip_discard(z);
    z = NULL;
    TS_CHECK(o.oom ? TS_ERR_NOMEM : o.io ? TS_ERR_IO : TS_ERR_INTERNAL);
  }
  z = NULL;
  if (out) *out = o.p;
  if (out_len) *out_len = o.len;
  o.p = NULL;
done:
  if (z) lz.zip_discard(z);
  if (mem) lz.zip_source_free(mem);
  free(o.p);
  free(o.wb);
  lz.zip_error_fini(&o.err);
  for (size_t i = 0; made && i < n; i++) free(made[i]);
  free(made);
  free(raw);
  libdeflate_free_compressor(comp);
  lz.zip_error_fini(&ze);
  if (st == TS_ERR_IO) errno = o.io; /* what the failed write said */
  return st;
}
