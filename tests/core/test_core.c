/* Check suite for typeset/core. Expected values are worked out by hand or
 * taken from published test vectors (FIPS 180-2 for SHA-256). */
#include "core/ts_core.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

START_TEST(arena_basics) {
  ts_arena *a = ts_arena_create(128);
  ck_assert_ptr_nonnull(a);
  char *s = ts_arena_strdup(a, "hello");
  ck_assert_str_eq(s, "hello");
  ck_assert_uint_eq(((uintptr_t)s) % 16, 0);
  /* a big allocation does not disturb the small ones */
  unsigned char *big = ts_arena_alloc(a, 100000);
  ck_assert_ptr_nonnull(big);
  ck_assert_uint_eq(big[99999], 0);
  char *t = ts_arena_printf(a, "%d-%s", 42, "x");
  ck_assert_str_eq(t, "42-x");
  ck_assert_str_eq(s, "hello");
  ck_assert_ptr_null(ts_arena_alloc(a, SIZE_MAX));
  ts_vec v;
  ts_vec_init(&v, sizeof(int));
  for (int i = 0; i < 1000; i++) *(int *)ts_vec_push(a, &v) = i;
  ck_assert_uint_eq(v.len, 1000);
  ck_assert_int_eq(((int *)v.data)[999], 999);
  ts_arena_clear(a);
  ck_assert_uint_eq(ts_arena_used(a), 0);
  /* cleared, the arena serves again from its first chunk (s's), also when
   * a big allocation's chunk came last in the list (as ASan would see, any
   * chunk kept by mistake is written here) */
  char *s2 = ts_arena_strdup(a, "again");
  ck_assert_ptr_eq(s2, s);
  ck_assert_ptr_nonnull(ts_arena_alloc(a, 100000));
  ts_arena_clear(a);
  ck_assert_ptr_eq(ts_arena_strdup(a, "third"), s);
  memset(ts_arena_alloc(a, 100), 7, 100);
  ts_arena_destroy(a);
  ts_arena_destroy(NULL);
}
END_TEST

static const struct { double v; int prec; const char *want; } nums[] = {
    {0, 2, "0"},        {1.5, 2, "1.5"},      {-1.25, 1, "-1.3"},
    {-0.001, 2, "0"},   {12.3456, 3, "12.346"}, {100, 0, "100"},
    {0.1 + 0.2, 4, "0.3"}, {-7.0, 3, "-7"},    {595.2756, 2, "595.28"},
    {1e20, 0, "1000000000000000"}, {-1e15, 2, "-1000000000000000"},
    {-0.4, 0, "0"},     {123456789.5, 1, "123456789.5"}, {9.9996, 3, "10"},
    {10, 3, "10"},      {-1020.05, 1, "-1020.1"},
};

START_TEST(buf_num_is_locale_free) {
  ts_buf b;
  ts_buf_init(&b);
  ts_buf_num(&b, nums[_i].v, nums[_i].prec);
  ck_assert_str_eq(b.data, nums[_i].want);
  ts_buf_free(&b);
}
END_TEST

START_TEST(buf_escapes) {
  ts_buf b;
  ts_buf_init(&b);
  ts_buf_json_str(&b, "a\"b\\c\n\x01", 7);
  ck_assert_str_eq(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
  ts_buf_clear(&b);
  ts_buf_xml(&b, "<a href='x'>&\x02\"</a>", 19);
  ck_assert_str_eq(b.data, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
  ts_buf_clear(&b);
  /* runs of text pass whole; a bad byte becomes U+FFFD, a C1 control and
   * U+FFFF vanish, a sequence cut at the end is one U+FFFD per byte */
  static const char mixed[] = "ab\xC3\xA9" "c\xFF\xC2\x85" "d\xEF\xBF\xBF\xE2\x80\x94<\t\x7F\xE2\x80";
  ts_buf_xml(&b, mixed, sizeof mixed - 1);
  ck_assert_str_eq(b.data, "ab\xC3\xA9" "c\xEF\xBF\xBD" "d\xE2\x80\x94&lt;\t\x7F\xEF\xBF\xBD\xEF\xBF\xBD");
  ts_buf_clear(&b);
  ts_buf_puts(&b, "x");
  ts_buf_xml(&b, "", 0);
  ts_buf_xml(&b, "\x01\x02", 2);
  ck_assert_str_eq(b.data, "x");
  ts_buf_clear(&b);
  ts_buf_printf(&b, "%s=%d", "k", 7);
  ck_assert_str_eq(b.data, "k=7");
  size_t n;
  char *d = ts_buf_detach(&b, &n);
  ck_assert_uint_eq(n, 3);
  ck_assert_ptr_null(b.data);
  free(d);
}
END_TEST

/* ts_hash_fast256: deterministic; every single-bit change of the input, at
 * any position and length, changes every 64-bit word of the id in about
 * half its bits (at least a quarter here: callers keep one word, e.g. the
 * caches' checks); the end marker keeps trailing zeros apart. */
START_TEST(fast256_properties) {
  unsigned char buf[100], a[32], b[32];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 37 + 11);
  for (size_t n = 0; n <= sizeof buf; n += 7) {
    ts_hash_fast256(buf, n, a);
    ts_hash_fast256(buf, n, b);
    ck_assert(memcmp(a, b, 32) == 0);
    for (size_t i = 0; i < n; i++)
      for (int bit = 0; bit < 8; bit++) {
        buf[i] ^= (unsigned char)(1u << bit);
        ts_hash_fast256(buf, n, b);
        buf[i] ^= (unsigned char)(1u << bit);
        for (int w = 0; w < 4; w++) {
          int diff = 0;
          for (int k = 8 * w; k < 8 * w + 8; k++)
            diff += __builtin_popcount((unsigned)(a[k] ^ b[k]));
          ck_assert_msg(diff >= 16, "n %zu, byte %zu, bit %d: word %d changed in %d bits", n, i,
                        bit, w, diff);
        }
      }
  }
  unsigned char z[33] = {0};
  ts_hash_fast256(z, 32, a);
  ts_hash_fast256(z, 33, b);
  ck_assert(memcmp(a, b, 32) != 0);
  ts_hash_fast256("a", 1, a);
  ts_hash_fast256("a\0", 2, b);
  ck_assert(memcmp(a, b, 32) != 0);
  ts_hash_fast256(NULL, 0, a);
}
END_TEST

START_TEST(sha256_vectors) {
  uint8_t d[32];
  char hex[65];
  ts_sha256 s;
  ts_sha256_init(&s);
  ts_sha256_update(&s, "abc", 3);
  ts_sha256_final(&s, d);
  ts_sha256_hex(d, hex);
  ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ts_sha256_init(&s);
  const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  /* fed in odd pieces to exercise buffering */
  ts_sha256_update(&s, m, 5);
  ts_sha256_update(&s, m + 5, strlen(m) - 5);
  ts_sha256_final(&s, d);
  ts_sha256_hex(d, hex);
  ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  ts_sha256_init(&s);
  ts_sha256_final(&s, d);
  ts_sha256_hex(d, hex);
  ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ck_assert(ts_hash64("a", 1, 0) != ts_hash64("b", 1, 0));
}
END_TEST

START_TEST(utf8_strict) {
  uint32_t cp;
  ck_assert_uint_eq(ts_utf8_decode("\xD0\x96", 2, &cp), 2);
  ck_assert_uint_eq(cp, 0x416);
  ck_assert_uint_eq(ts_utf8_decode("\xF0\x9F\x98\x80", 4, &cp), 4);
  ck_assert_uint_eq(cp, 0x1F600);
  ck_assert_uint_eq(ts_utf8_decode("\xC0\xAF", 2, &cp), 0); /* overlong */
  ck_assert_uint_eq(ts_utf8_decode("\xED\xA0\x80", 3, &cp), 0); /* surrogate */
  ck_assert_uint_eq(ts_utf8_decode("\xE2\x82", 2, &cp), 0); /* truncated */
  ck_assert_uint_eq(cp, 0xFFFD);
  char out[4];
  ck_assert_uint_eq(ts_utf8_encode(0x20AC, out), 3);
  ck_assert(memcmp(out, "\xE2\x82\xAC", 3) == 0);
  size_t n;
  unsigned bad;
  char *s = ts_utf8_sanitize("ok\nline\xFF\n\0z", 11, &n, &bad);
  ck_assert_uint_eq(bad, 2);
  ck_assert_uint_eq(n, 2 + 1 + 4 + 3 + 1 + 3 + 1);
  ck_assert(memcmp(s, "ok\nline\xEF\xBF\xBD\n\xEF\xBF\xBDz", n) == 0);
  free(s);
}
END_TEST

/* The sanitizer reads ASCII eight bytes at a time: a NUL, a bad byte or a
 * multi-byte character at every offset of a long ASCII text (and a second
 * bad byte later) comes out as a byte-by-byte reading gives it. */
START_TEST(utf8_sanitize_offsets) {
  static const char *odd[] = {"\xFF", "", "\xC3\xA9", "\xE2\x82\xAC", "\xE2\x82", "\x80"};
  static const size_t odd_len[] = {1, 1, 2, 3, 2, 1}; /* "" is one NUL byte */
  for (size_t k = 0; k < sizeof odd / sizeof *odd; k++)
    for (size_t at = 0; at < 40; at++) {
      char in[128], want[256];
      size_t n = 0, w = 0;
      unsigned want_line = 0, line = 1;
      for (size_t i = 0; i < at; i++) in[n++] = (char)(i % 13 == 12 ? '\n' : 'a' + i % 26);
      memcpy(in + n, odd[k], odd_len[k]);
      n += odd_len[k];
      for (size_t i = 0; i < 20; i++) in[n++] = (char)('A' + i % 26);
      in[n++] = '\xFE';
      in[n++] = 'z';
      /* byte by byte */
      for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)in[i];
        uint32_t cp;
        size_t l = c == 0 ? 0 : c < 0x80 ? 1 : ts_utf8_decode(in + i, n - i, &cp);
        if (l == 0) {
          if (!want_line) want_line = line;
          memcpy(want + w, "\xEF\xBF\xBD", 3);
          w += 3;
          i++;
        } else {
          if (c == '\n') line++;
          memcpy(want + w, in + i, l);
          w += l;
          i += l;
        }
      }
      size_t got_n;
      unsigned bad;
      char *got = ts_utf8_sanitize(in, n, &got_n, &bad);
      ck_assert_ptr_nonnull(got);
      ck_assert_msg(got_n == w && memcmp(got, want, w) == 0, "odd %zu at %zu", k, at);
      ck_assert_uint_eq(bad, want_line);
      free(got);
    }
}
END_TEST

static char tmpdir[256];

static void mk_tmpdir(void) {
  strcpy(tmpdir, "/tmp/ts-core-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Removes mk_tmpdir's folder (a failed test leaves it to be looked at). */
static void rm_tmpdir(void) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

START_TEST(atomic_output) {
  mk_tmpdir();
  char path[512];
  snprintf(path, sizeof path, "%s/out.txt", tmpdir);
  ck_assert_int_eq(ts_write_file_atomic(path, "first", 5), TS_OK);
  /* an aborted write leaves the old file and no temporary behind */
  ts_out o;
  ck_assert_int_eq(ts_out_open(&o, path), TS_OK);
  fputs("half", o.fp);
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s", o.tmp);
  ck_assert_int_eq(access(tmp, F_OK), 0);
  ts_out_abort(&o);
  ck_assert_int_ne(access(tmp, F_OK), 0);
  size_t n;
  char *d = ts_file_read(path, &n, 0);
  ck_assert_str_eq(d, "first");
  free(d);
  ck_assert_int_eq(ts_write_file_atomic(path, "second", 6), TS_OK);
  d = ts_file_read(path, &n, 0);
  ck_assert_str_eq(d, "second");
  free(d);
  ck_assert_ptr_null(ts_file_read(path, &n, 3)); /* over the size limit */
  ck_assert_int_eq(errno, EFBIG);
  /* a folder that does not exist: error, nothing written */
  snprintf(path, sizeof path, "%s/missing/out.txt", tmpdir);
  ck_assert_int_eq(ts_write_file_atomic(path, "x", 1), TS_ERR_IO);
  rm_tmpdir();
}
END_TEST

START_TEST(path_confinement) {
  mk_tmpdir();
  char p[512], doc[512];
  snprintf(doc, sizeof doc, "%s/doc", tmpdir);
  mkdir(doc, 0755);
  snprintf(p, sizeof p, "%s/doc/img.png", tmpdir);
  ck_assert_int_eq(ts_write_file_atomic(p, "x", 1), TS_OK);
  snprintf(p, sizeof p, "%s/secret", tmpdir);
  ck_assert_int_eq(ts_write_file_atomic(p, "s", 1), TS_OK);
  snprintf(p, sizeof p, "%s/doc/link.png", tmpdir);
  char target[512];
  snprintf(target, sizeof target, "%s/secret", tmpdir);
  ck_assert_int_eq(symlink(target, p), 0);
  const char *why;
  char *r = ts_path_resolve_inside(doc, "img.png", NULL, 0, &why);
  ck_assert_ptr_nonnull(r);
  free(r);
  r = ts_path_resolve_inside(doc, "./img.png", NULL, 0, &why);
  ck_assert_ptr_nonnull(r);
  free(r);
  ck_assert_ptr_null(ts_path_resolve_inside(doc, "../secret", NULL, 0, &why));
  ck_assert_ptr_nonnull(strstr(why, ".."));
  ck_assert_ptr_null(ts_path_resolve_inside(doc, target, NULL, 0, &why));
  ck_assert_ptr_null(ts_path_resolve_inside(doc, "link.png", NULL, 0, &why));
  ck_assert_ptr_nonnull(strstr(why, "outside"));
  ck_assert_ptr_null(ts_path_resolve_inside(doc, "http://x/y.png", NULL, 0, &why));
  ck_assert_ptr_null(ts_path_resolve_inside(doc, "nope.png", NULL, 0, &why));
  /* an extra root (a style's folder) is allowed */
  const char *roots[] = {tmpdir};
  r = ts_path_resolve_inside(doc, "link.png", roots, 1, &why);
  ck_assert_ptr_nonnull(r);
  free(r);
  rm_tmpdir();
}
END_TEST

START_TEST(diag_format) {
  char *mem = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&mem, &len);
  ts_diag d;
  ts_diag_init(&d, f);
  ts_diag_report(&d, TS_WARNING, "a.md", 3, 7, "odd %s", "thing");
  ts_diag_report(&d, TS_ERROR, "a.md", 4, 1, "bad");
  ts_diag_report(&d, TS_ERROR, "a.md", 0, 0, "later");
  fclose(f);
  ck_assert_str_eq(mem, "a.md:3:7: warning: odd thing\na.md:4:1: error: bad\na.md: error: later\n");
  ck_assert_str_eq(d.first_error, "a.md:4:1: error: bad");
  ck_assert_uint_eq(d.n_errors, 2);
  ck_assert_uint_eq(d.n_warnings, 1);
  free(mem);
}
END_TEST

/* The build's identity is the executable's GNU build ID, as readelf reads
 * it from the file. */
START_TEST(build_identity) {
  const char *id = ts_build_id();
  ck_assert_ptr_eq(id, ts_build_id()); /* made once */
  FILE *p = popen("readelf -n /proc/$PPID/exe 2>/dev/null | sed -n 's/.*Build ID: //p'", "r");
  ck_assert_ptr_nonnull(p);
  char want[200] = {0};
  ck_assert_ptr_nonnull(fgets(want, sizeof want, p));
  pclose(p);
  want[strcspn(want, "\n")] = 0;
  ck_assert_uint_eq(strlen(want), 40); /* ld's SHA-1 build ID */
  ck_assert_str_eq(id, want);
}
END_TEST

static void *mk_slot(ts_ctx *c) { (void)c; return strdup("cache"); }

/* ts_ctx_quiesce calls each set slot's hook once with its object, skips a
 * hook whose slot holds nothing, frees nothing: the slot is the same
 * object after it, and ts_ctx_destroy frees it as before. */
static int quiesced;
static void *quiesced_with;
static void count_quiesce(void *p) {
  quiesced++;
  quiesced_with = p;
}

START_TEST(ctx_quiesce_hooks) {
  ts_ctx *c = ts_ctx_create();
  ck_assert_ptr_nonnull(c);
  quiesced = 0;
  quiesced_with = NULL;
  ts_ctx_set_quiesce(c, TS_SLOT_PDF, count_quiesce); /* a slot never made */
  ts_ctx_quiesce(c);
  ck_assert_int_eq(quiesced, 0);
  char *s1 = ts_ctx_slot(c, TS_SLOT_USER, mk_slot, free);
  ts_ctx_set_quiesce(c, TS_SLOT_USER, count_quiesce);
  ts_ctx_quiesce(c);
  ck_assert_int_eq(quiesced, 1);
  ck_assert_ptr_eq(quiesced_with, s1);
  ck_assert_str_eq(ts_ctx_slot(c, TS_SLOT_USER, mk_slot, free), "cache"); /* not freed */
  ts_ctx_quiesce(c);
  ck_assert_int_eq(quiesced, 2);
  ts_ctx_destroy(c); /* frees the slot (ASan/valgrind: no leak) */
  ts_ctx_quiesce(NULL);
}
END_TEST

START_TEST(ctx_slots_and_epoch) {
  setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  ts_ctx *c = ts_ctx_create();
  int set;
  ck_assert_int_eq(ts_ctx_epoch(c, &set), 1700000000);
  ck_assert_int_eq(set, 1);
  char *s1 = ts_ctx_slot(c, TS_SLOT_USER, mk_slot, free);
  char *s2 = ts_ctx_slot(c, TS_SLOT_USER, mk_slot, free);
  ck_assert_ptr_eq(s1, s2);
  ts_ctx_destroy(c);
  setenv("SOURCE_DATE_EPOCH", "garbage", 1);
  c = ts_ctx_create();
  ck_assert_int_eq(ts_ctx_epoch(c, &set), 0);
  ck_assert_int_eq(set, 0);
  ts_ctx_destroy(c);
  unsetenv("SOURCE_DATE_EPOCH");
}
END_TEST

/* A fresh cache folder (dir: a mkdtemp template) as TYPESET_CACHE_DIR, and
 * two keys. */
static void dcache_setup(char *dir, ts_buf *k1, const char *s1, ts_buf *k2, const char *s2) {
  ck_assert_ptr_nonnull(mkdtemp(dir));
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", dir, 1), 0);
  ts_buf_init(k1);
  ts_buf_init(k2);
  ts_buf_puts(k1, s1);
  ts_buf_puts(k2, s2);
}

/* ts_dcache: a value comes back only under its whole key, with its bytes;
 * a damaged file, another key or TYPESET_CACHE_DIR=off is a miss; kinds
 * are pruned each to their own bound, least recently used first. */
START_TEST(dcache_contract) {
  char dir[] = "/tmp/ts-dcache-XXXXXX";
  ts_buf k1, k2;
  dcache_setup(dir, &k1, "key one", &k2, "key two");
  size_t n = 0;
  ck_assert_ptr_null(ts_dcache_get("unit", &k1, &n));
  ts_dcache_put("unit", &k1, "value\0one", 9);
  char *v = ts_dcache_get("unit", &k1, &n);
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_eq(n, 9);
  ck_assert(memcmp(v, "value\0one", 9) == 0);
  free(v);
  ck_assert_ptr_null(ts_dcache_get("unit", &k2, &n));  /* another key */
  ck_assert_ptr_null(ts_dcache_get("other", &k1, &n)); /* another kind */
  /* the stored key opens with this build's identity, so another build of
   * typeset (another ID) cannot take the value */
  {
    char cmd0[200];
    snprintf(cmd0, sizeof cmd0, "cat %s/unit-*.bin", dir);
    FILE *f = popen(cmd0, "r");
    char head[200] = {0};
    size_t got = fread(head, 1, sizeof head - 1, f);
    pclose(f);
    const char *id = ts_build_id();
    ck_assert_uint_ge(got, strlen(id) + 1 + k1.len);
    ck_assert_str_eq(head, id);
    ck_assert(memcmp(head + strlen(id) + 1, k1.data, k1.len) == 0);
  }
  /* the one file there, damaged in its value: a miss */
  char cmd[200];
  snprintf(cmd, sizeof cmd, "ls %s/unit-*.bin | wc -l", dir);
  FILE *p = popen(cmd, "r");
  int files = 0;
  ck_assert_int_eq(fscanf(p, "%d", &files), 1);
  pclose(p);
  ck_assert_int_eq(files, 1);
  snprintf(cmd, sizeof cmd, "f=$(ls %s/unit-*.bin); printf X | dd of=$f bs=1 seek=$(($(stat -c %%s $f) - 2)) conv=notrunc 2>/dev/null", dir);
  ck_assert_int_eq(system(cmd), 0);
  ck_assert_ptr_null(ts_dcache_get("unit", &k1, &n));
  /* off: neither read nor written */
  ts_dcache_put("unit", &k1, "value\0one", 9);
  ck_assert_ptr_nonnull(v = ts_dcache_get("unit", &k1, &n));
  free(v);
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", "off", 1), 0);
  ck_assert_int_eq(ts_dcache_enabled(), 0);
  ck_assert_ptr_null(ts_dcache_get("unit", &k1, &n));
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", dir, 1), 0);
  ck_assert_int_eq(ts_dcache_enabled(), 1);
  /* 600 values of kind "many": pruned to at most 512, the newest kept;
   * the "unit" file is another kind's and stays */
  for (int i = 0; i < 600; i++) {
    ts_buf k;
    ts_buf_init(&k);
    ts_buf_printf(&k, "many %d", i);
    ts_dcache_put("many", &k, &i, sizeof i);
    ts_buf_free(&k);
  }
  snprintf(cmd, sizeof cmd, "ls %s/many-*.bin | wc -l", dir);
  p = popen(cmd, "r");
  ck_assert_int_eq(fscanf(p, "%d", &files), 1);
  pclose(p);
  ck_assert_int_le(files, 512);
  ck_assert_int_ge(files, 384);
  ts_buf k;
  ts_buf_init(&k);
  ts_buf_puts(&k, "many 599");
  ck_assert_ptr_nonnull(v = ts_dcache_get("many", &k, &n));
  free(v);
  ts_buf_free(&k);
  ck_assert_ptr_nonnull(v = ts_dcache_get("unit", &k1, &n));
  free(v);
  ts_buf_free(&k1);
  ts_buf_free(&k2);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ts_blob: windows share their parent's bytes and keep it alive; a copy
 * is its own; every reference is released once (ASan/LSan see a leak or a
 * double free). */
START_TEST(blob_refs) {
  char *m = malloc(6);
  ck_assert_ptr_nonnull(m);
  memcpy(m, "abcdef", 6);
  ts_blob *b = ts_blob_take(m, 6);
  ck_assert_ptr_nonnull(b);
  ck_assert_ptr_eq(ts_blob_data(b), (const unsigned char *)m); /* taken, not copied */
  ts_blob *w = ts_blob_window(b, 2, 3);
  ck_assert_ptr_nonnull(w);
  ck_assert_uint_eq(ts_blob_len(w), 3);
  ck_assert(memcmp(ts_blob_data(w), "cde", 3) == 0);
  ck_assert_ptr_null(ts_blob_window(b, 4, 3)); /* past the end */
  ck_assert_ptr_null(ts_blob_window(b, 7, 0));
  ts_blob *ww = ts_blob_window(w, 1, 2); /* a window of a window */
  ck_assert(memcmp(ts_blob_data(ww), "de", 2) == 0);
  ts_blob_unref(b); /* the windows hold it */
  ck_assert(memcmp(ts_blob_data(ww), "de", 2) == 0);
  ck_assert_ptr_eq(ts_blob_ref(w), w);
  ts_blob_unref(w);
  ts_blob_unref(w);
  ck_assert(memcmp(ts_blob_data(ww), "de", 2) == 0);
  ts_blob_unref(ww);
  ts_blob *c = ts_blob_copy("xyz", 3);
  ck_assert_ptr_nonnull(c);
  ck_assert(memcmp(ts_blob_data(c), "xyz", 3) == 0);
  ts_blob_unref(c);
  ts_blob_unref(NULL);
  ck_assert_ptr_null(ts_blob_ref(NULL));
  ck_assert_uint_eq(ts_blob_len(NULL), 0);
}
END_TEST

/* ts_dcache_get_blob: the value ts_dcache_get gives, read in place; misses
 * alike on another key, a damaged or cut file and TYPESET_CACHE_DIR=off;
 * a blob taken keeps its bytes when the file is replaced or removed. */
START_TEST(dcache_blob) {
  char dir[] = "/tmp/ts-dcache-XXXXXX";
  ts_buf k1, k2;
  dcache_setup(dir, &k1, "blob key", &k2, "another key");
  ck_assert_ptr_null(ts_dcache_get_blob("unit", &k1));
  char big[10000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7 + 1);
  ts_dcache_put("unit", &k1, big, sizeof big);
  ts_blob *b = ts_dcache_get_blob("unit", &k1);
  ck_assert_ptr_nonnull(b);
  ck_assert_uint_eq(ts_blob_len(b), sizeof big);
  ck_assert(memcmp(ts_blob_data(b), big, sizeof big) == 0);
  ck_assert_ptr_null(ts_dcache_get_blob("unit", &k2));
  ck_assert_ptr_null(ts_dcache_get_blob("other", &k1));
  /* read, not mapped (a series): the same bytes, the same misses */
  ts_dcache_map_files(0);
  ts_blob *r = ts_dcache_get_blob("unit", &k1);
  ck_assert_ptr_nonnull(r);
  ck_assert_uint_eq(ts_blob_len(r), sizeof big);
  ck_assert(memcmp(ts_blob_data(r), big, sizeof big) == 0);
  ts_blob_unref(r);
  ck_assert_ptr_null(ts_dcache_get_blob("unit", &k2));
  ts_dcache_map_files(1);
  /* replaced under the same key: the new value for a new reader, the old
   * one still whole for the blob taken */
  ts_dcache_put("unit", &k1, "new", 3);
  ts_blob *b2 = ts_dcache_get_blob("unit", &k1);
  ck_assert_ptr_nonnull(b2);
  ck_assert_uint_eq(ts_blob_len(b2), 3);
  ck_assert(memcmp(ts_blob_data(b2), "new", 3) == 0);
  ck_assert(memcmp(ts_blob_data(b), big, sizeof big) == 0);
  ts_blob_unref(b2);
  char cmd[300];
  /* one byte of the value changed: a miss */
  snprintf(cmd, sizeof cmd,
           "f=$(ls %s/unit-*.bin); printf X | dd of=$f bs=1 seek=$(($(stat -c %%s $f) - 1)) "
           "conv=notrunc 2>/dev/null",
           dir);
  ck_assert_int_eq(system(cmd), 0);
  ck_assert_ptr_null(ts_dcache_get_blob("unit", &k1));
  /* cut short, then empty: misses */
  ts_dcache_put("unit", &k1, "again", 5);
  ck_assert_ptr_nonnull(b2 = ts_dcache_get_blob("unit", &k1));
  ts_blob_unref(b2);
  snprintf(cmd, sizeof cmd, "f=$(ls %s/unit-*.bin); truncate -s -1 $f", dir);
  ck_assert_int_eq(system(cmd), 0);
  ck_assert_ptr_null(ts_dcache_get_blob("unit", &k1));
  snprintf(cmd, sizeof cmd, "f=$(ls %s/unit-*.bin); truncate -s 0 $f", dir);
  ck_assert_int_eq(system(cmd), 0);
  ck_assert_ptr_null(ts_dcache_get_blob("unit", &k1));
  /* off */
  ts_dcache_put("unit", &k1, "again", 5);
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", "off", 1), 0);
  ck_assert_ptr_null(ts_dcache_get_blob("unit", &k1));
  ck_assert_int_eq(setenv("TYPESET_CACHE_DIR", dir, 1), 0);
  /* removed: the blob taken first still reads its bytes */
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
  ck_assert(memcmp(ts_blob_data(b), big, sizeof big) == 0);
  ts_blob_unref(b);
  ts_buf_free(&k1);
  ts_buf_free(&k2);
}
END_TEST

/* ts_cpset against a bitmap of the same additions: random ranges over a
 * small universe (adjacent, overlapping, nested, repeated) keep the ranges
 * sorted, apart and exact; intersection, equality and the hash follow the
 * contents; the universe's top (0xFFFFFFFF) does not wrap. */
START_TEST(cpset_model)
{
  enum { U = 700 };
  unsigned seed = 12345;
  for (int round = 0; round < 200; round++) {
    static unsigned char bits[2][U];
    ts_cpset s[2];
    for (int k = 0; k < 2; k++) {
      memset(bits[k], 0, U);
      ts_cpset_init(&s[k]);
      int n = 1 + round % 40;
      for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t lo = (seed >> 8) % U, len = (seed >> 20) % (round % 3 ? 4 : 60);
        uint32_t hi = lo + len < U ? lo + len : U - 1;
        ck_assert(ts_cpset_add_range(&s[k], lo, hi));
        memset(bits[k] + lo, 1, hi - lo + 1);
      }
    }
    for (int k = 0; k < 2; k++) {
      for (size_t i = 0; i < s[k].n; i++) {
        ck_assert_uint_le(s[k].r[i].lo, s[k].r[i].hi);
        if (i) ck_assert_uint_gt(s[k].r[i].lo, s[k].r[i - 1].hi + 1); /* apart */
      }
      uint32_t max = 0;
      for (uint32_t v = 0; v < U; v++) {
        ck_assert_int_eq(ts_cpset_has(&s[k], v), bits[k][v]);
        if (bits[k][v]) max = v;
      }
      ck_assert_uint_eq(ts_cpset_max(&s[k]), max);
    }
    ts_cpset both;
    ts_cpset_init(&both);
    ck_assert(ts_cpset_and(&both, &s[0], &s[1]));
    int same = 1;
    for (uint32_t v = 0; v < U; v++) {
      ck_assert_int_eq(ts_cpset_has(&both, v), bits[0][v] && bits[1][v]);
      same &= bits[0][v] == bits[1][v];
    }
    ck_assert_int_eq(ts_cpset_equal(&s[0], &s[1]), same);
    /* the same contents built in another order: equal, the same hash */
    ts_cpset again;
    ts_cpset_init(&again);
    for (size_t i = s[0].n; i-- > 0;) {
      for (uint32_t v = s[0].r[i].hi + 1; v-- > s[0].r[i].lo;) ck_assert(ts_cpset_add(&again, v));
    }
    ck_assert(ts_cpset_equal(&again, &s[0]));
    ck_assert(ts_cpset_hash(&again, 7) == ts_cpset_hash(&s[0], 7));
    ts_cpset_free(&again);
    ts_cpset_free(&both);
    ts_cpset_free(&s[0]);
    ts_cpset_free(&s[1]);
  }
  ts_cpset t;
  ts_cpset_init(&t);
  ck_assert(ts_cpset_add_range(&t, 0xFFFFFFF0u, 0xFFFFFFFFu));
  ck_assert(ts_cpset_add(&t, 0));
  ck_assert(ts_cpset_add(&t, 0xFFFFFFEFu)); /* joins the top range */
  ck_assert_uint_eq(t.n, 2);
  ck_assert(ts_cpset_has(&t, 0xFFFFFFFFu) && ts_cpset_has(&t, 0) && !ts_cpset_has(&t, 1));
  ck_assert_uint_eq(ts_cpset_max(&t), 0xFFFFFFFFu);
  ts_cpset_clear(&t);
  ck_assert_uint_eq(t.n, 0);
  ck_assert(!ts_cpset_has(&t, 0));
  ts_cpset_free(&t);
}
END_TEST

int main(void) {
  Suite *s = suite_create("core");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, arena_basics);
  tcase_add_test(tc, ctx_quiesce_hooks);
  tcase_add_test(tc, build_identity);
  tcase_add_loop_test(tc, buf_num_is_locale_free, 0, sizeof nums / sizeof nums[0]);
  tcase_add_test(tc, buf_escapes);
  tcase_add_test(tc, sha256_vectors);
  tcase_add_test(tc, fast256_properties);
  tcase_add_test(tc, utf8_strict);
  tcase_add_test(tc, utf8_sanitize_offsets);
  tcase_add_test(tc, atomic_output);
  tcase_add_test(tc, path_confinement);
  tcase_add_test(tc, diag_format);
  tcase_add_test(tc, ctx_slots_and_epoch);
  tcase_add_test(tc, dcache_contract);
  tcase_add_test(tc, blob_refs);
  tcase_add_test(tc, dcache_blob);
  tcase_add_test(tc, cpset_model);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
