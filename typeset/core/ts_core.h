/* ts_core.h — the whole interface of typeset's core: status codes, the shared
 * context, per-document arenas, growable buffers, diagnostics, hashing, UTF-8
 * helpers and atomic file output.  Every other stage depends on this header
 * and on nothing else in typeset/.
 *
 * Ownership is written at each declaration:
 *   borrows      — the callee keeps no pointer after it returns
 *   copies       — the callee keeps its own copy
 *   returns owned (free with X) — the caller must release the result with X
 *   arena        — the result lives as long as the arena it came from
 */
#ifndef TS_CORE_H
#define TS_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define TS_VERSION "0.1.0"

/* Images wider or taller than TS_IMAGE_MAX_SIDE pixels, or with more than
 * TS_IMAGE_MAX_PIXELS, are refused by the layout, the PDF and the EPUB
 * alike: a small file can claim a raster that takes gigabytes to decode
 * (here, or in an e-book reader).  TS_IMAGE_TOO_LARGE is the reason given. */
#define TS_IMAGE_MAX_SIDE 20000u
#define TS_IMAGE_MAX_PIXELS 100000000ull
#define TS_IMAGE_TOO_LARGE "too large (limit 20000 x 20000 pixels, 100 megapixels)"
#define TS_IMAGE_FITS(w, h) \
  ((w) <= TS_IMAGE_MAX_SIDE && (h) <= TS_IMAGE_MAX_SIDE && \
   (uint64_t)(w) * (uint64_t)(h) <= TS_IMAGE_MAX_PIXELS)

/* ---- Status codes -------------------------------------------------------
 * Functions that can fail return ts_status; TS_OK is zero.  TS_CHECK jumps to
 * the function's single cleanup label `done:` after storing the status in a
 * local `st` (md4c's MD_CHECK pattern). */
typedef enum ts_status {
  TS_OK = 0,
  TS_ERR_NOMEM,    /* an allocation failed */
  TS_ERR_IO,       /* a file could not be read or written */
  TS_ERR_INPUT,    /* the input cannot be rendered (a located error was reported) */
  TS_ERR_USAGE,    /* wrong command-line or API usage */
  TS_ERR_FONT,     /* no usable font */
  TS_ERR_LIMIT,    /* a resource limit was hit (reported) */
  TS_ERR_INTERNAL  /* a bug: a branch believed impossible */
} ts_status;

#define TS_CHECK(expr) do { st = (expr); if (st != TS_OK) goto done; } while (0)

const char *ts_status_str(ts_status st);

/* Branches believed impossible (SQLite's NEVER): evaluates to the condition so
 * coverage stays honest, aborts in debug builds. */
#ifdef TS_DEBUG
#include <assert.h>
#define TS_NEVER(x) (assert(!(x)), (x))
#else
#define TS_NEVER(x) (x)
#endif

/* ---- Arena --------------------------------------------------------------
 * Bump allocator: all memory of one document comes from one arena and is
 * freed in one call.  Allocations are zeroed and 16-byte aligned. */
typedef struct ts_arena ts_arena;

/* returns owned (free with ts_arena_destroy); NULL on OOM. block: bytes per
 * chunk (0 = 64 KiB). */
ts_arena *ts_arena_create(size_t block);
void ts_arena_destroy(ts_arena *a); /* accepts NULL */
/* Frees every chunk but the first and makes the arena empty for reuse. */
void ts_arena_clear(ts_arena *a);
/* arena; NULL on OOM or overflow. */
void *ts_arena_alloc(ts_arena *a, size_t size);
/* arena; copies n elements of size sz into a fresh block (NULL when n == 0 or on OOM) */
void *ts_arena_memdup(ts_arena *a, const void *p, size_t size);
/* arena; NUL-terminated copy. NULL in -> NULL out. */
char *ts_arena_strdup(ts_arena *a, const char *s);
char *ts_arena_strndup(ts_arena *a, const char *s, size_t n);
/* arena; printf into the arena (C locale numbers) */
char *ts_arena_printf(ts_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Bytes handed out so far (for tests and budgets). */
size_t ts_arena_used(const ts_arena *a);

/* Growable array in an arena: ts_vec_push returns a pointer to the new zeroed
 * element or NULL on OOM.  The old block is left in the arena (no realloc). */
typedef struct ts_vec {
  void *data;
  size_t len, cap, elem;
} ts_vec;
void ts_vec_init(ts_vec *v, size_t elem);
void *ts_vec_push(ts_arena *a, ts_vec *v);

/* ---- Growable heap buffer ----------------------------------------------
 * For output text (JSON dumps, PDF content streams, XHTML).  After an
 * allocation failure `oom` is set and further appends are ignored (sticky
 * error, like hb_buffer_allocation_successful), so long sequences of appends
 * need one check at the end. */
typedef struct ts_buf {
  char *data; /* owned; always NUL-terminated when len > 0 */
  size_t len, cap;
  int oom;
} ts_buf;

void ts_buf_init(ts_buf *b);
void ts_buf_free(ts_buf *b);  /* leaves b empty and reusable */
void ts_buf_clear(ts_buf *b); /* keeps the memory */
void ts_buf_append(ts_buf *b, const void *p, size_t n);
void ts_buf_puts(ts_buf *b, const char *s);
/* v's bytes as they are in memory (for cache keys and files, not outputs) */
void ts_buf_put_u32(ts_buf *b, uint32_t v);
void ts_buf_put_u64(ts_buf *b, uint64_t v);
/* s's length (u32) then its bytes, no NUL: read back by ts_rd_str */
void ts_buf_put_str(ts_buf *b, const char *s);
void ts_buf_putc(ts_buf *b, char c);
/* printf-style; never use %f/%g here for output formats: see ts_buf_num. */
void ts_buf_printf(ts_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A number with at most `prec` decimals, trailing zeros removed, '.' as the
 * decimal separator whatever the locale, no exponent, "-0" never written. */
void ts_buf_num(ts_buf *b, double v, int prec);
/* JSON string literal (quotes included) of n bytes of UTF-8. */
void ts_buf_json_str(ts_buf *b, const char *s, size_t n);
/* XML-escaped text (&, <, >, " and ') of n bytes; control characters that
 * XML 1.0 forbids are dropped. */
void ts_buf_xml(ts_buf *b, const char *s, size_t n);
/* Detaches the data: returns owned (free with free()), b becomes empty. */
char *ts_buf_detach(ts_buf *b, size_t *len);

/* A reader of what ts_buf_put_u32/u64/str wrote (cache files): each read
 * past the end, or of a string with a NUL or too long, sets `bad` and gives
 * 0 or NULL, so a damaged file needs one check at the end. */
typedef struct ts_rd {
  const unsigned char *p, *end; /* borrowed */
  int bad;
} ts_rd;
uint32_t ts_rd_u32(ts_rd *r);
uint64_t ts_rd_u64(ts_rd *r);
/* returns owned (free()); NULL when bad or out of memory (then bad is set) */
char *ts_rd_str(ts_rd *r);

/* ---- Diagnostics ---------------------------------------------------------
 * One ts_diag per document run.  Messages are printed compiler-style:
 *   FILE:LINE:COL: error: message
 * (LINE/COL omitted when 0).  The first error is remembered for summaries. */
typedef enum ts_diag_level { TS_WARNING, TS_ERROR } ts_diag_level;

typedef struct ts_diag {
  FILE *out;             /* borrowed; NULL = collect silently */
  int quiet;             /* suppress warnings on `out` (still counted) */
  unsigned n_errors, n_warnings;
  char first_error[512]; /* "FILE:LINE:COL: error: msg" of the first error */
  void *lock;            /* optional pthread_mutex_t* serializing lines (borrowed) */
  uint64_t run;          /* the document run reported on: a number of its own from
                          * ts_diag_init (which every diag must go through: run 0
                          * is told everything each time); a helper thread's diag
                          * takes its parent's, so a message said once a run is
                          * said once */
} ts_diag;

void ts_diag_init(ts_diag *d, FILE *out);
/* Counts a warning that another run of the process has shown already,
 * without showing it again (a series tells a missing font family once, and
 * every paper it concerns counts it). */
void ts_diag_count_warning(ts_diag *d);
void ts_diag_report(ts_diag *d, ts_diag_level lvl, const char *file,
                    unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void ts_diag_vreport(ts_diag *d, ts_diag_level lvl, const char *file,
                     unsigned line, unsigned col, const char *fmt, va_list ap);

/* ---- Shared context ------------------------------------------------------
 * Explicit context first, no globals (mupdf's fz_context).  One per process;
 * shared by worker threads.  Holds what outlives a document: caches of the
 * later stages (fonts, hyphenation patterns, styles) in slots, the clock and
 * the data directory.  Slots are created lazily under the context's lock and
 * freed in reverse order, so a later slot may hold references into an
 * earlier one (the writers' caches into the font cache). */
typedef enum ts_slot {
  TS_SLOT_FONTS = 0,
  TS_SLOT_HYPHEN,
  TS_SLOT_TEXT,
  TS_SLOT_PDF,  /* the PDF writer's caches shared across a series */
  TS_SLOT_EPUB, /* the EPUB writer's caches shared across a series */
  TS_SLOT_USER,
  TS_SLOT_COUNT
} ts_slot;

typedef struct ts_ctx ts_ctx;

/* returns owned (free with ts_ctx_destroy); NULL on OOM.  Reads
 * SOURCE_DATE_EPOCH from the environment once, here. */
ts_ctx *ts_ctx_create(void);
void ts_ctx_destroy(ts_ctx *ctx); /* accepts NULL; frees every slot */

/* Waits for the background work the slots started (a slot's thread that
 * loads hyphenation patterns or opens libzip ahead of need), through the
 * hooks given to ts_ctx_set_quiesce, and frees nothing: for a process about
 * to exit, which leaves the context's memory to the system instead of
 * freeing it piece by piece (the CLI: about 1 ms of every fresh run —
 * fontconfig's set, the faces' mappings).  Call it when no other thread
 * uses the context; it stays usable, and ts_ctx_destroy may still follow.
 * Accepts NULL. */
void ts_ctx_quiesce(ts_ctx *ctx);
/* Sets the slot's quiesce hook (called with the slot's object); thread-safe. */
void ts_ctx_set_quiesce(ts_ctx *ctx, ts_slot slot, void (*quiesce_fn)(void *));

/* 1 in a build under AddressSanitizer, ThreadSanitizer or MemorySanitizer
 * (GCC or Clang): such a build frees everything at exit, so that its leak
 * checker sees what was not freed, and loads no library with RTLD_DEEPBIND
 * (the sanitizer's malloc must be found first). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                        \
    __has_feature(memory_sanitizer)
#define TS_SANITIZED 1
#endif
#endif
#if !defined(TS_SANITIZED) && (defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__))
#define TS_SANITIZED 1
#endif

/* Seconds since the epoch to stamp outputs with: SOURCE_DATE_EPOCH when set
 * (*set = 1), else 0 with *set = 0 — callers then use a date from the
 * metadata or a fixed date; the clock is never read. */
int64_t ts_ctx_epoch(const ts_ctx *ctx, int *set);
void ts_ctx_set_epoch(ts_ctx *ctx, int64_t epoch); /* for tests */

/* Folder holding typeset's data (styles/, fonts/): TYPESET_DATA_DIR from the
 * environment, else the build's source root. Borrowed from the context. */
const char *ts_ctx_data_dir(const ts_ctx *ctx);

/* Returns the slot's object, creating it with create(ctx) on first use.
 * free_fn is called at ts_ctx_destroy.  Thread-safe.  NULL if create failed. */
void *ts_ctx_slot(ts_ctx *ctx, ts_slot slot, void *(*create)(ts_ctx *),
                  void (*free_fn)(void *));
/* Threads one document may use for work of its own (subsetting its fonts
 * side by side, say): the number of cores unless set; a series sets
 * cores / jobs, so papers rendered side by side do not each add threads. */
int ts_ctx_threads(const ts_ctx *ctx);
void ts_ctx_set_threads(ts_ctx *ctx, int n); /* n < 1 means 1 */
/* The processors this process may run on (its affinity mask: taskset and
 * cpusets count; sysconf when that cannot be read), at least 1. */
int ts_cpu_count(void);

/* A process-wide mutex for code that must serialize (e.g. FreeType calls on
 * a shared FT_Face).  */
void ts_ctx_lock(ts_ctx *ctx);
void ts_ctx_unlock(ts_ctx *ctx);

/* ---- Hashing --------------------------------------------------------------
 * 64-bit FNV-1a for tables; SHA-256 for content-derived identifiers (subset
 * tags, PDF /ID, EPUB UUIDs, incremental-build state). */
uint64_t ts_hash64(const void *p, size_t n, uint64_t seed);

typedef struct ts_sha256 {
  uint32_t h[8];
  uint64_t len;
  uint8_t buf[64];
  size_t fill;
} ts_sha256;
void ts_sha256_init(ts_sha256 *s);
void ts_sha256_update(ts_sha256 *s, const void *p, size_t n);
void ts_sha256_final(ts_sha256 *s, uint8_t out[32]);
void ts_sha256_hex(const uint8_t d[32], char hex[65]);
/* A fast, non-cryptographic 256-bit hash of p[0..n) (same bytes on every
 * machine), for identifiers of large outputs where SHA-256 was a visible
 * cost; not for anything an adversary may try to collide. */
void ts_hash_fast256(const void *p, size_t n, uint8_t out[32]);

/* ---- UTF-8 ----------------------------------------------------------------*/
/* Decodes one code point at s[0..n); returns its length (1..4) and stores the
 * code point, or returns 0 with *cp = 0xFFFD for an invalid sequence (which
 * then counts as one byte). n must be > 0. */
size_t ts_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Encodes cp into out (at least 4 bytes); returns its length. */
size_t ts_utf8_encode(uint32_t cp, char *out);
/* Returns owned (free with free()) copy of s[0..n) where invalid UTF-8 and
 * NUL bytes became U+FFFD; *bad_line is the 1-based line of the first bad
 * byte (0 if none). */
char *ts_utf8_sanitize(const char *s, size_t n, size_t *out_len,
                       unsigned *bad_line);

/* ---- Sets of code points (cpset.c) ---------------------------------------
 * A set of 32-bit values (code points, OpenType tags) as sorted, disjoint,
 * non-adjacent inclusive ranges r[0..n): what a face covers, the characters
 * of a book, a subset's features.  HarfBuzz's hb_set_t did this; the set is
 * typeset's own so that a run whose fonts all come from the caches never
 * loads HarfBuzz (fonts/hb_api.h).  Functions returning int give 1, or 0
 * when memory ran out (the set then as before, or for ts_cpset_and, empty
 * and flagged: oom stays set until ts_cpset_clear). */
typedef struct ts_cprange {
  uint32_t lo, hi;
} ts_cprange;
typedef struct ts_cpset {
  ts_cprange *r; /* owned */
  size_t n, cap;
  int oom;       /* an addition was lost for want of memory */
} ts_cpset;
void ts_cpset_init(ts_cpset *s);
void ts_cpset_free(ts_cpset *s);  /* then as after init */
void ts_cpset_clear(ts_cpset *s); /* empty, memory kept, oom cleared */
int ts_cpset_add_range(ts_cpset *s, uint32_t lo, uint32_t hi); /* lo <= hi */
static inline int ts_cpset_add(ts_cpset *s, uint32_t v) { return ts_cpset_add_range(s, v, v); }
int ts_cpset_has(const ts_cpset *s, uint32_t v);
/* out = a ∩ b (out may not be a or b). */
int ts_cpset_and(ts_cpset *out, const ts_cpset *a, const ts_cpset *b);
int ts_cpset_equal(const ts_cpset *a, const ts_cpset *b);
/* The largest value; 0 for an empty set. */
static inline uint32_t ts_cpset_max(const ts_cpset *s) { return s->n ? s->r[s->n - 1].hi : 0; }
/* Feeds the ranges (count, then lo, hi each) to a hash. */
uint64_t ts_cpset_hash(const ts_cpset *s, uint64_t h);

/* ---- Shared immutable bytes (blob.c) --------------------------------------
 * A blob's bytes never change; it lives while a reference does (counts are
 * thread-safe).  Every constructor returns a new reference or NULL (no
 * memory).  ts_blob_take takes p (malloc()ed; freed on failure too);
 * ts_blob_copy copies; ts_blob_mapped takes a read-only mapping of a file
 * (unmapped on failure too) whose bytes off..off+len are the blob's;
 * ts_blob_window is part of parent (holding a reference to it). */
typedef struct ts_blob ts_blob;
ts_blob *ts_blob_take(void *p, size_t len);
ts_blob *ts_blob_copy(const void *p, size_t len);
ts_blob *ts_blob_mapped(void *map, size_t map_len, size_t off, size_t len);
ts_blob *ts_blob_window(ts_blob *parent, size_t off, size_t len);
ts_blob *ts_blob_ref(ts_blob *b);   /* NULL stays NULL */
void ts_blob_unref(ts_blob *b);     /* NULL is nothing */
const unsigned char *ts_blob_data(const ts_blob *b);
size_t ts_blob_len(const ts_blob *b);

/* ---- Libraries opened on first use (lib.c) -------------------------------
 * A library only some runs need (libharu for a PDF, harfbuzz-subset for a
 * subset no cache holds) is opened with dlopen on its first use instead of
 * by every process at start-up, and called through a table of its
 * functions: a union of a struct of typed pointers (each __typeof__ the
 * function's address, so calls are checked against the library's header)
 * and `void *slots[]` that this fills with dlsym.  The module's header then
 * redefines each function name as the table's member, so call sites keep
 * the library's own names.  Thread-safe: the first caller opens it, the
 * others wait; the library is never closed. */
typedef struct ts_lazylib {
  const char *soname;       /* borrowed (static) */
  const char *const *names; /* borrowed (static): the functions, in slot order */
  size_t n;
  void **slots;             /* borrowed (static): n slots, filled once loaded */
  pthread_mutex_t lock;
  int state;                /* 0 not tried, 1 loaded, -1 failed (err says why) */
  char err[256];
} ts_lazylib;
#define TS_LAZYLIB_INIT(soname, names, n, slots) {(soname), (names), (n), (slots), PTHREAD_MUTEX_INITIALIZER, 0, ""}
/* The X-macro pieces of such a table: a member, a name, a count, and the
 * table's type and definition (f, var, FUNCS are names, which take no
 * parentheses in a declarator; the pieces are list items, not expressions) */
// NOLINTBEGIN(bugprone-macro-parentheses)
#define TS_LAZY_MEMBER(f) __typeof__(&f) f;
#define TS_LAZY_NAME(f) #f,
#define TS_LAZY_ONE(f) +1
/* The table's type for the X-macro FUNCS: members .f.NAME, slots .slots. */
#define TS_LAZY_TABLE(FUNCS)                                                                     \
  union {                                                                                        \
    struct {                                                                                     \
      FUNCS(TS_LAZY_MEMBER)                                                                      \
    } f;                                                                                         \
    void *slots[0 FUNCS(TS_LAZY_ONE)];                                                           \
  }
/* Defines table `var` (of type `type`) for FUNCS and `int open_fn(const
 * char **why)`, which opens soname into it (ts_lazylib_open) after
 * before_fn, the open of a library it needs that typeset also opens on
 * first use (ts_lazy_nothing for none): that one is opened first, so that
 * no library is first loaded as a dependency and later opened itself
 * (glibc then loses its first list of dependencies, a leak valgrind sees
 * once a process when that first load was on another thread). */
#define TS_LAZY_DEFINE(type, var, FUNCS, soname, open_fn, before_fn)                             \
  type var;                                                                                      \
  _Static_assert(sizeof var.slots == sizeof var.f, "one slot a function");                       \
  static const char *const var##_names[] = {FUNCS(TS_LAZY_NAME)};                                \
  static ts_lazylib var##_lib =                                                                  \
      TS_LAZYLIB_INIT(soname, var##_names, sizeof var##_names / sizeof var##_names[0], var.slots); \
  int open_fn(const char **why) { return before_fn(why) && ts_lazylib_open(&var##_lib, why); }
// NOLINTEND(bugprone-macro-parentheses)
/* 1 once the library is open and every function found (on the first call);
 * else 0 and *why (when given) is the reason, a message naming the library
 * (valid for the process). */
int ts_lazylib_open(ts_lazylib *l, const char **why);
/* Opens the first of the modules at rel[0..n) (paths relative to the
 * running executable's folder: beside it in the build tree, where it is
 * installed) that loads (RTLD_NOW | RTLD_LOCAL); its handle, or NULL.  For
 * the stand-ins loaded before a library, so that the library's DT_NEEDED
 * of their soname is the module already loaded (libzip's libcrypto,
 * HarfBuzz's GLib); never by a path of the build's. */
void *ts_dlopen_beside_exe(const char *const *rel, size_t n);
/* TS_LAZY_DEFINE's before_fn for a library that needs none of the others. */
static inline int ts_lazy_nothing(const char **why) {
  (void)why;
  return 1;
}

/* ---- YAML ------------------------------------------------------------------
 * The deepest nesting of collections typeset reads in any YAML (a paper's
 * metadata, a style, a series manifest; each needs at most 5 levels).
 * libyaml rescans its whole stack of possible simple keys for every token
 * inside flow collections, so a document of 100,000 `[` costs quadratic
 * time and memory: its readers stop at this depth with a located error. */
#define TS_YAML_MAX_DEPTH 64

/* ---- Files ----------------------------------------------------------------*/
/* Reads a whole file: returns owned (free with free()), NUL-terminated; NULL
 * with errno set on failure. max: refuse larger files (0 = 256 MiB). */
char *ts_file_read(const char *path, size_t *len, size_t max);
/* The same, and the file's modification time into *mtime (when given;
 * zero when it cannot be known). */
char *ts_file_read_mtime(const char *path, size_t *len, size_t max, struct timespec *mtime);
/* The running executable's folder, with its final '/', into buf (n bytes);
 * returns its length, 0 when it cannot be known or does not fit.  For
 * files found relative to the executable (the installed data folder,
 * libzip's libcrypto stand-in). */
size_t ts_exe_dir(char *buf, size_t n);

/* Atomic output: data goes to a temporary file in the target's folder and is
 * renamed onto `path` only by ts_out_commit.  ts_out_abort (or a failed
 * commit) removes the temporary file.  The temporary name is also recorded in
 * a process-wide list so a SIGINT/SIGTERM handler (ts_out_install_signal_
 * handlers) can remove unfinished files before the process dies. */
typedef struct ts_out {
  char *path; /* owned */
  char *tmp;  /* owned */
  FILE *fp;   /* open for writing while active */
} ts_out;
ts_status ts_out_open(ts_out *o, const char *path);
ts_status ts_out_commit(ts_out *o);
void ts_out_abort(ts_out *o); /* safe to call twice and after commit */
/* The path of file `name` in typeset's cache folder: $TYPESET_CACHE_DIR,
 * else $XDG_CACHE_HOME/typeset, else ~/.cache/typeset; NULL when
 * TYPESET_CACHE_DIR=off or no folder is known.  Returns owned (free()).
 * The folder may not exist: a look-up then finds nothing, and a writer
 * calls ts_cache_dir_make first (a fresh EPUB made ~25 look-ups, each with
 * two mkdir calls while the path made the folder).  What is kept there
 * only saves time: every reader checks what it reads and treats a bad file
 * as absent. */
char *ts_cache_path(const char *name);
/* Creates the cache folder when missing (and ~/.cache for the default
 * one); 1 when it exists then. */
int ts_cache_dir_make(void);
/* The running build's identity (build_id.c): the hex GNU build ID of the
 * executable (any change of its code changes it), else its file's size and
 * modification time.  Every key of what is kept between runs holds it. */
const char *ts_build_id(void);
/* Whole results kept in the cache folder (dcache.c), for work worth more
 * than reading a file: a file per key, named by kind (a short word) and a
 * hash of the key, holding the key itself and a hash of the value, so a
 * damaged or foreign file is a miss; each kind keeps at most 512 files,
 * least recently used pruned.  Keys should name everything the value
 * depends on (versions, input files, options); the build (ts_build_id) is
 * added here, so a rebuilt typeset never takes an older build's value.  ts_dcache_key_file appends
 * a font or image file's identity (path, size, inode, modification time)
 * and index; 0 when it cannot be stat'ed.  ts_dcache_get returns the owned
 * value (free()) or NULL on a miss; ts_dcache_put never fails visibly. */
/* 0 when TYPESET_CACHE_DIR=off: then callers build no keys at all */
int ts_dcache_enabled(void);
int ts_dcache_key_file(ts_buf *key, const char *path, uint32_t index);
char *ts_dcache_get(const char *kind, const ts_buf *key, size_t *len);
/* The same value as a blob over a read-only mapping of its file (no copy),
 * or read into memory after ts_dcache_map_files(0) (for processes that
 * render many documents: see dcache.c). */
ts_blob *ts_dcache_get_blob(const char *kind, const ts_buf *key);
void ts_dcache_map_files(int on); /* default on */
void ts_dcache_put(const char *kind, const ts_buf *key, const void *val, size_t len);
/* Convenience: write a whole buffer atomically. */
ts_status ts_write_file_atomic(const char *path, const void *data, size_t n);
/* The temp-file name to use for path (for writers that need a path, like
 * libharu's and libzip's savers): returns owned (free with free()). The
 * caller then uses ts_tmp_register/ts_tmp_unregister around it. */
char *ts_tmp_name_for(const char *path);
void ts_tmp_register(const char *tmp);
void ts_tmp_unregister(const char *tmp);
void ts_out_install_signal_handlers(void);
/* Called before a normal exit: if a SIGINT/SIGTERM/SIGHUP arrived during the
 * run, the process ends by that signal (after removing unfinished files)
 * instead of reporting success. */
void ts_out_exit_check(void);

/* Path safety: resolves `rel` against folder `base_dir` and returns an owned
 * (free with free()) real path only when the result stays inside one of the
 * allowed roots (base_dir itself and the extra roots given, each compared
 * after realpath(), so symlinks pointing outside are refused).  Absolute
 * paths and URLs are refused.  *why receives a static message on refusal. */
char *ts_path_resolve_inside(const char *base_dir, const char *rel,
                             const char *const *extra_roots, size_t n_extra,
                             const char **why);
/* The *why of a failure for want of memory (compare the pointer): the
 * caller's answer is TS_ERR_NOMEM, not a message about the file. */
extern const char ts_why_nomem[];
/* Returns owned (free with free()) directory part of path ("." if none). */
char *ts_path_dirname(const char *path);

#endif
