/* zip.c — the EPUB's ZIP container, written here rather than by libzip:
 * every entry in the caller's order, local header + data, then the central
 * directory and its end record (APPNOTE.TXT 6.3.10, §4.3).  No extra
 * fields, no data descriptors (sizes and CRC in the local header), no
 * ZIP64 (an EPUB of 4 GiB is refused), one fixed DOS time.  Owning the
 * container lets an entry arrive already compressed (the font subsets come
 * deflated from the series-wide cache, see fonts.c) and lets the deflate be
 * libdeflate's whole-buffer compressor, about twice zlib's speed at a
 * slightly smaller size (figures at EPUB_ZIP_LEVEL). */
#include "epub_int.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

static void put16(unsigned char *p, unsigned v) {
  p[0] = (unsigned char)(v & 0xFF);
  p[1] = (unsigned char)(v >> 8 & 0xFF);
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v & 0xFF);
  p[1] = (unsigned char)(v >> 8 & 0xFF);
  p[2] = (unsigned char)(v >> 16 & 0xFF);
  p[3] = (unsigned char)(v >> 24 & 0xFF);
}

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

/* Entries are compressed with one compressor per level (libdeflate
 * allocates its tables once per compressor, not per call). */
ts_status epub_zip_build(const ezent *ents, size_t n, uint16_t dos_time, uint16_t dos_date,
                         unsigned char **out, size_t *out_len) {
  ts_status st = TS_OK;
  struct libdeflate_compressor *comp = NULL;
  int comp_level = 0;
  ts_buf b;
  ts_buf_init(&b);
  /* per entry: offset of its local header, method, crc, stored length */
  struct meta {
    uint64_t off;
    uint32_t crc;
    size_t clen;
    int method;
  } *m = calloc(n ? n : 1, sizeof *m);
  unsigned char *tmp = NULL;
  size_t tmp_cap = 0;
  *out = NULL;
  *out_len = 0;
  if (!m) TS_CHECK(TS_ERR_NOMEM);
  for (size_t i = 0; i < n; i++) {
    const ezent *e = &ents[i];
    const void *body = e->data;
    size_t blen = e->len;
    uint32_t crc;
    int method = 0;
    if (e->comp) { /* deflated by the caller */
      body = e->comp;
      blen = e->comp_len;
      crc = e->crc;
      method = 8;
    } else {
      crc = libdeflate_crc32(0, e->data, e->len);
      int level = e->level;
      if (e->len > 0 && (level > 0 || level == EPUB_ZIP_PROBE)) {
        if (tmp_cap < e->len) {
          free(tmp);
          tmp = malloc(e->len);
          tmp_cap = tmp ? e->len : 0;
          if (!tmp) TS_CHECK(TS_ERR_NOMEM);
        }
      }
      if (e->len > 0 && level == EPUB_ZIP_PROBE) {
        /* bytes compressed by their own format: deflate only when a fast
         * pass over the first 16 KiB saves 5 % (a PNG written with little
         * effort does; photographs and JPEGs never do, and deflating a
         * megabyte of them cost ~90 M instructions for nothing) */
        size_t pn = e->len < 16384 ? e->len : 16384;
        struct libdeflate_compressor *probe = libdeflate_alloc_compressor(1);
        if (!probe) TS_CHECK(TS_ERR_NOMEM);
        size_t k = libdeflate_deflate_compress(probe, e->data, pn, tmp, pn - pn / 20);
        libdeflate_free_compressor(probe);
        level = k > 0 ? EPUB_ZIP_LEVEL : 0;
      }
      if (level > 0 && e->len > 0) {
        if (!comp || comp_level != level) {
          libdeflate_free_compressor(comp);
          comp = libdeflate_alloc_compressor(level);
          comp_level = level;
          if (!comp) TS_CHECK(TS_ERR_NOMEM);
        }
        /* kept only when smaller than the bytes themselves, else stored */
        size_t k = libdeflate_deflate_compress(comp, e->data, e->len, tmp, e->len - 1);
        if (k > 0) {
          body = tmp;
          blen = k;
          method = 8;
        }
      }
    }
    size_t nl = strlen(e->name);
    if (nl > 0xFFFF || blen > 0xFFFFFFFEu || e->len > 0xFFFFFFFEu || b.len > 0xFFFFFFFEu)
      TS_CHECK(TS_ERR_LIMIT);
    int utf8 = 0;
    for (size_t k = 0; k < nl; k++) utf8 |= (unsigned char)e->name[k] >= 0x80;
    unsigned char h[30];
    put32(h, 0x04034b50);
    put16(h + 4, method == 8 ? 20 : 10);   /* version needed: 2.0 for deflate */
    put16(h + 6, utf8 ? 0x0800 : 0);       /* bit 11: the name is UTF-8 */
    put16(h + 8, (unsigned)method);
    put16(h + 10, dos_time);
    put16(h + 12, dos_date);
    put32(h + 14, crc);
    put32(h + 18, (uint32_t)blen);
    put32(h + 22, (uint32_t)e->len);
    put16(h + 26, (unsigned)nl);
    put16(h + 28, 0);                      /* no extra field */
    m[i] = (struct meta){b.len, crc, blen, method};
    ts_buf_append(&b, (const char *)h, sizeof h);
    ts_buf_append(&b, e->name, nl);
    ts_buf_append(&b, body, blen);
  }
  uint64_t cd_off = b.len;
  for (size_t i = 0; i < n; i++) {
    const ezent *e = &ents[i];
    size_t nl = strlen(e->name);
    int utf8 = 0;
    for (size_t k = 0; k < nl; k++) utf8 |= (unsigned char)e->name[k] >= 0x80;
    unsigned char h[46];
    put32(h, 0x02014b50);
    put16(h + 4, 3u << 8 | 20);            /* made by: UNIX, 2.0 */
    put16(h + 6, m[i].method == 8 ? 20 : 10);
    put16(h + 8, utf8 ? 0x0800 : 0);
    put16(h + 10, (unsigned)m[i].method);
    put16(h + 12, dos_time);
    put16(h + 14, dos_date);
    put32(h + 16, m[i].crc);
    put32(h + 20, (uint32_t)m[i].clen);
    put32(h + 24, (uint32_t)e->len);
    put16(h + 28, (unsigned)nl);
    put16(h + 30, 0);                      /* extra */
    put16(h + 32, 0);                      /* comment */
    put16(h + 34, 0);                      /* disk */
    put16(h + 36, 0);                      /* internal attributes */
    put32(h + 38, 0100644u << 16);         /* -rw-r--r-- */
    put32(h + 42, (uint32_t)m[i].off);
    ts_buf_append(&b, (const char *)h, sizeof h);
    ts_buf_append(&b, e->name, nl);
  }
  uint64_t cd_len = b.len - cd_off;
  if (n > 0xFFFF || b.len > 0xFFFFFFFEu) TS_CHECK(TS_ERR_LIMIT);
  unsigned char eocd[22];
  put32(eocd, 0x06054b50);
  put16(eocd + 4, 0);
  put16(eocd + 6, 0);
  put16(eocd + 8, (unsigned)n);
  put16(eocd + 10, (unsigned)n);
  put32(eocd + 12, (uint32_t)cd_len);
  put32(eocd + 16, (uint32_t)cd_off);
  put16(eocd + 20, 0);
  ts_buf_append(&b, (const char *)eocd, sizeof eocd);
  if (b.oom) TS_CHECK(TS_ERR_NOMEM);
  *out = (unsigned char *)ts_buf_detach(&b, out_len);
done:
  ts_buf_free(&b);
  libdeflate_free_compressor(comp);
  free(tmp);
  free(m);
  return st;
}
