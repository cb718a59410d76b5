/* pdf.c — the PDF writer: pages, drawing operators, images, links, named
 * destinations, outline, document information, page labels, trailer /ID,
 * output.  Glyph runs and fonts are in font.c.
 *
 * libharu is held at arm's length: its error handler only records the first
 * error (no longjmp), every call's result is checked, and the status is
 * turned into a ts_status here.  Content streams are written by this module
 * (numbers through ts_buf_num, so no locale can put a comma in them), always
 * as balanced q … Q groups so libharu's graphics state is left as found. */
#include "pdf/ts_pdf.h"
#include "pdf_int.h"

#include <libdeflate.h>
#include <math.h>
#include <gif_lib.h>
#include <png.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Placeholders for the content-derived ids, patched after saving (see
 * patch_ids): libharu writes a binary string as <hex>. */
#define ID_HOLDER "/ID [ <00000000000000000000000000000000> <00000000000000000000000000000000> ]"
#define XMP_UUID_HOLDER "uuid:00000000-0000-0000-0000-000000000000"

typedef struct dest_entry {
  const char *name;
  size_t page, seq;
  double x, y;
} dest_entry;

typedef struct img_entry {
  const char *path;
  HPDF_Image img;
} img_entry;

typedef struct pdf_run {
  pdf_w w;
  HPDF_Page *pages;   /* heap */
  dest_entry *dests;  /* heap, sorted by name then seq */
  size_t n_dests;
  img_entry *imgs;    /* heap */
  size_t n_imgs, cap_imgs;
  char xmp_date[32];  /* ISO 8601 date of the Info dates, "" when none */
  ts_arena *hpdf_a;   /* owned: libharu's memory (hpdf_alloc) */
  ts_arena *hpdf_prev; /* the thread's arena before this document's */
} pdf_run;

static void on_hpdf_error(HPDF_STATUS e, HPDF_STATUS detail, void *user) {
  pdf_w *w = user;
  if (!w->err) {
    w->err = e;
    w->err_detail = detail;
  }
}

int pdf_failed(const pdf_w *w) {
  return w->err != 0 || (w->pdf && HPDF_GetError(w->pdf) != HPDF_OK);
}

ts_status pdf_stream_write(pdf_w *w, HPDF_Stream s, const void *p, size_t n) {
  (void)w;
  const unsigned char *q = p;
  while (n > 0) { /* HPDF_UINT is 32 bits */
    HPDF_UINT chunk = n > (1u << 30) ? (1u << 30) : (HPDF_UINT)n;
    if (HPDF_Stream_Write(s, q, chunk) != HPDF_OK) return TS_ERR_INTERNAL;
    q += chunk;
    n -= chunk;
  }
  return TS_OK;
}

/* ---- Compression -------------------------------------------------------------
 * libharu deflates each stream with zlib at its default level while saving;
 * that was a tenth of the instructions spent on a paper.  libdeflate
 * compresses the same data in one call per stream.  Measured on three
 * samples (paper style, callgrind): zlib 6 through libharu 821 M
 * instructions in all; libdeflate 6: 771 M, 292 KB of PDF; 4: 763 M, 298 KB
 * (+2 %); 1: 744 M, 307 KB (+5 %).  Level 4 keeps the files close to the
 * smallest for most of the gain. */

static HPDF_STATUS write_flate_filter(HPDF_Dict d, HPDF_Stream out) {
  (void)d;
  return HPDF_Stream_WriteStr(out, "/Filter /FlateDecode\012");
}

ts_status pdf_stream_put_deflated(pdf_w *w, HPDF_Dict d, const void *z, size_t n, int borrow) {
  ts_status st = pdf_stream_set(w, d, z, n, 0, borrow);
  if (st != TS_OK) return st;
  d->filter = HPDF_STREAM_FILTER_NONE;
  d->write_fn = write_flate_filter;
  return TS_OK;
}

/* ---- libharu's memory -------------------------------------------------------
 * A paper makes ~2,400 libharu objects, and a malloc and a free each were 2 %
 * of a series' instructions.  libharu's own pool (HPDF_NewEx's
 * mem_pool_buf_size) does not align what it hands out in Debian's build,
 * and typeset reads libharu's structures (UBSan: misaligned access), so
 * they come from an arena of the document instead (16-byte aligned), freed
 * when the document is.  libharu's allocator functions take no context:
 * the arena is the writing thread's (a document is written on one thread). */
static _Thread_local ts_arena *hpdf_arena;

static void *hpdf_alloc(HPDF_UINT size) {
  return hpdf_arena ? ts_arena_alloc(hpdf_arena, size ? size : 1) : malloc(size ? size : 1);
}

static void hpdf_free(void *p) {
  if (!hpdf_arena) free(p); /* arena memory goes with the arena */
}

/* ---- Stream data kept by typeset ---------------------------------------------
 * libharu keeps a stream's data in 4 KB blocks filled a byte at a time
 * (HPDF_MemCpy is a byte loop) and copies it out the same way when it
 * saves, into a memory stream of the same kind: four byte loops per byte of
 * every content stream and font program, 3 % of a series' instructions.
 * The big streams' data stays in typeset's buffers instead, behind a
 * libharu callback stream that hands it out with memcpy, and the saved file
 * goes through a callback writer straight into a ts_buf. */
typedef struct pdf_blob {
  const unsigned char *p;
  size_t n, pos;
  unsigned char *own; /* p when the blob owns it (free()), else NULL */
} pdf_blob;

static HPDF_STATUS blob_read(HPDF_Stream s, HPDF_BYTE *buf, HPDF_UINT *size) {
  pdf_blob *b = s->attr;
  size_t k = b->n - b->pos;
  if (k > *size) k = *size;
  if (k) memcpy(buf, b->p + b->pos, k);
  b->pos += k;
  *size = (HPDF_UINT)k;
  return b->pos == b->n ? HPDF_STREAM_EOF : HPDF_OK;
}

static HPDF_STATUS blob_seek(HPDF_Stream s, HPDF_INT pos, HPDF_WhenceMode mode) {
  pdf_blob *b = s->attr;
  int64_t to = mode == HPDF_SEEK_CUR ? (int64_t)b->pos + pos
             : mode == HPDF_SEEK_END ? (int64_t)b->n - pos : (int64_t)pos;
  if (to < 0 || to > (int64_t)b->n) return HPDF_SetError(s->error, HPDF_STREAM_EOF, 0);
  b->pos = (size_t)to;
  return HPDF_OK;
}

static HPDF_INT32 blob_tell(HPDF_Stream s) { return (HPDF_INT32)((pdf_blob *)s->attr)->pos; }

static HPDF_UINT32 blob_size(HPDF_Stream s) { return (HPDF_UINT32)((pdf_blob *)s->attr)->n; }

ts_status pdf_stream_set(pdf_w *w, HPDF_Dict d, const void *p, size_t n, int own, int borrow) {
  if (n > 0x7FFFFFFF) { /* beyond libharu's 32-bit sizes: its own way (and its error) */
    ts_status st = pdf_stream_write(w, d->stream, p, n);
    if (own) free((void *)p);
    return st;
  }
  pdf_blob *b = NULL;
  if (w->n_blobs == w->cap_blobs) {
    size_t nc = w->cap_blobs ? 2 * w->cap_blobs : 16;
    pdf_blob **nb = realloc(w->blobs, nc * sizeof *nb);
    if (!nb) goto nomem;
    w->blobs = nb;
    w->cap_blobs = nc;
  }
  b = calloc(1, sizeof *b + (own || borrow ? 0 : n));
  if (!b) goto nomem;
  if (own) {
    b->own = (unsigned char *)p;
    b->p = p;
  } else if (borrow) {
    b->p = p;
  } else {
    unsigned char *copy = (unsigned char *)(b + 1);
    if (n) memcpy(copy, p, n);
    b->p = copy;
  }
  b->n = n;
  w->blobs[w->n_blobs++] = b; /* owned by w from here */
  HPDF_Stream s = HPDF_CallbackReader_New(w->pdf->mmgr, blob_read, blob_seek, blob_tell,
                                          blob_size, b);
  if (!s) return TS_ERR_INTERNAL; /* libharu has the error (no memory) */
  HPDF_Stream old = d->stream;
  d->stream = s;
  if (old) HPDF_Stream_Free(old);
  return TS_OK;
nomem:
  if (own) free((void *)p);
  return TS_ERR_NOMEM;
}

void pdf_blobs_free(pdf_w *w) {
  for (size_t i = 0; i < w->n_blobs; i++) {
    free(w->blobs[i]->own);
    free(w->blobs[i]);
  }
  free(w->blobs);
  w->blobs = NULL;
  w->n_blobs = w->cap_blobs = 0;
}

/* The finished file: libharu's writes appended to w->out. */
static HPDF_STATUS out_write(HPDF_Stream s, const HPDF_BYTE *p, HPDF_UINT n) {
  ts_buf *b = s->attr;
  ts_buf_append(b, p, n);
  return b->oom ? HPDF_SetError(s->error, HPDF_FAILD_TO_ALLOC_MEM, 0) : HPDF_OK;
}


/* Deflates one stream dictionary's data in place. */
static ts_status deflate_dict(pdf_w *w, struct libdeflate_compressor *c, ts_buf *tmp,
                              HPDF_Dict d) {
  HPDF_Stream s = d->stream;
  if (s->type != HPDF_STREAM_MEMORY) return TS_OK;
  ts_buf_clear(tmp);
  HPDF_UINT nb = HPDF_MemStream_GetBufCount(s);
  for (HPDF_UINT i = 0; i < nb; i++) {
    HPDF_UINT len = 0;
    HPDF_BYTE *p = HPDF_MemStream_GetBufPtr(s, i, &len);
    if (!p) return TS_ERR_INTERNAL;
    ts_buf_append(tmp, p, len);
  }
  if (tmp->oom) return TS_ERR_NOMEM;
  size_t n = tmp->len, bound = libdeflate_zlib_compress_bound(c, n);
  unsigned char *z = malloc(bound ? bound : 1);
  if (!z) return TS_ERR_NOMEM;
  size_t zn = libdeflate_zlib_compress(c, tmp->data, n, z, bound);
  ts_status st = TS_OK;
  if (zn == 0) {
    st = TS_ERR_INTERNAL;
    goto done;
  }
  st = pdf_stream_set(w, d, z, zn, 1, 0); /* z is the stream's now */
  z = NULL;
  if (st != TS_OK) goto done;
  d->filter = HPDF_STREAM_FILTER_NONE;
  d->write_fn = write_flate_filter;
done:
  free(z);
  return st;
}

ts_status pdf_deflate_streams(pdf_w *w) {
  ts_status st = TS_OK;
  ts_buf tmp;
  ts_buf_init(&tmp);
  struct libdeflate_compressor *c = libdeflate_alloc_compressor(PDF_CONTENT_LEVEL);
  if (!c) return TS_ERR_NOMEM;
  for (HPDF_Xref x = w->pdf->xref; x; x = x->prev) {
    for (HPDF_UINT i = 0; i < x->entries->count; i++) {
      HPDF_XrefEntry e = HPDF_Xref_GetEntry(x, i);
      if (!e || !e->obj) continue;
      HPDF_Obj_Header *h = e->obj;
      if ((h->obj_class & HPDF_OCLASS_ANY) != HPDF_OCLASS_DICT) continue;
      HPDF_Dict d = e->obj;
      if (!d->stream || d->filter != HPDF_STREAM_FILTER_FLATE_DECODE || d->write_fn ||
          d->filterParams || d->stream->size == 0)
        continue;
      TS_CHECK(deflate_dict(w, c, &tmp, d));
    }
  }
done:
  libdeflate_free_compressor(c);
  ts_buf_free(&tmp);
  return st;
}

/* ---- Locations for diagnostics --------------------------------------------*/

/* Source position and url of the figure or image whose url the resolved
 * path ends with (iterative walk: no recursion); *url NULL when none. */
static void image_pos(const ts_doc *doc, const char *path, uint32_t *line, uint32_t *col,
                      const char **url) {
  *line = *col = 0;
  *url = NULL;
  if (!doc || !doc->root || !path) return;
  size_t pl = strlen(path);
  const ts_node *n = doc->root;
  while (n) {
    if ((n->type == TS_NODE_FIGURE || n->type == TS_NODE_IMAGE) && n->url) {
      const char *u = n->url;
      while (u[0] == '.' && u[1] == '/') u += 2;
      size_t ul = strlen(u);
      if (ul > 0 && ul <= pl && strcmp(path + pl - ul, u) == 0 &&
          (ul == pl || path[pl - ul - 1] == '/')) {
        *line = n->line;
        *col = n->col;
        *url = n->url;
        return;
      }
    }
    if (n->first) { n = n->first; continue; }
    while (n && n != doc->root && !n->next) n = n->parent;
    if (!n || n == doc->root) break;
    n = n->next;
  }
}

/* An error about the image at the resolved path, located at the figure
 * that names it and worded as the layout's and the EPUB's are. */
static void image_report(pdf_w *w, const char *path, const char *why) {
  uint32_t line, col;
  const char *url;
  image_pos(w->doc, path, &line, &col, &url);
  ts_diag_report(w->d, TS_ERROR, w->file, line, col, "image '%s': %s",
                 url ? url : path ? path : "(image)", why);
}

/* ---- Images ------------------------------------------------------------------*/

enum { IMG_BAD = 0, IMG_PNG, IMG_JPEG, IMG_GIF };

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* 1 when every chunk of the PNG in fp, up to IEND or the end of the file,
 * lies inside the file.  libpng allocates (and clears) a chunk's declared
 * length before reading it: a 63-byte file declaring a 1.7 GB text chunk
 * cost 11 s and 1.6 GB in the decoders here (libpng's, libharu's), found
 * by fuzz_image.  The EPUB refuses such a file too (epub.c). */
static int png_chunks_fit(FILE *fp) {
  struct stat sb;
  if (fstat(fileno(fp), &sb) != 0 || sb.st_size < 8) return 0;
  uint64_t size = (uint64_t)sb.st_size, at = 8;
  while (at + 12 <= size) {
    unsigned char ch[8];
    if (fseek(fp, (long)at, SEEK_SET) != 0 || fread(ch, 1, 8, fp) != 8) return 0;
    uint64_t len = be32(ch);
    if (len > size - at - 12) return 0;
    if (memcmp(ch + 4, "IEND", 4) == 0) return 1;
    at += len + 12;
  }
  return at == size; /* no IEND: a truncated file, left to the decoders */
}

/* Reads an image header: its kind, pixel size and (PNG) whether it is
 * interlaced.  *why on failure. */
static int image_probe(const char *path, uint32_t *wd, uint32_t *ht, int *interlaced,
                       const char **why) {
  FILE *fp = fopen(path, "rb");
  unsigned char h[32];
  int kind = IMG_BAD;
  *wd = *ht = 0;
  if (!fp) { *why = "cannot be opened"; return IMG_BAD; }
  size_t got = fread(h, 1, sizeof h, fp);
  if (got >= 24 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp(h + 12, "IHDR", 4) == 0) {
    *wd = be32(h + 16);
    *ht = be32(h + 20);
    *interlaced = got >= 29 && h[28] != 0; /* IHDR's interlace method (Adam7) */
    kind = png_chunks_fit(fp) ? IMG_PNG : IMG_BAD;
    if (kind == IMG_BAD) *why = "a PNG chunk runs past the end of the file";
  } else if (got >= 4 && h[0] == 0xFF && h[1] == 0xD8) {
    /* Walk the JPEG markers to the start-of-frame segment. */
    long pos = 2;
    *why = "no JPEG frame header (SOF) found";
    for (int guard = 0; guard < 4096; guard++) {
      unsigned char m[9];
      if (fseek(fp, pos, SEEK_SET) != 0 || fread(m, 1, 4, fp) != 4) break;
      if (m[0] != 0xFF) break;
      if (m[1] == 0xFF) { pos++; continue; } /* fill byte */
      if (m[1] == 0x01 || (m[1] >= 0xD0 && m[1] <= 0xD8)) { pos += 2; continue; }
      unsigned seglen = (unsigned)m[2] << 8 | m[3];
      if (seglen < 2) break;
      if (m[1] >= 0xC0 && m[1] <= 0xCF && m[1] != 0xC4 && m[1] != 0xC8 && m[1] != 0xCC) {
        if (fread(m + 4, 1, 5, fp) != 5) break;
        *ht = (uint32_t)m[5] << 8 | m[6];
        *wd = (uint32_t)m[7] << 8 | m[8];
        kind = IMG_JPEG;
        break;
      }
      if (m[1] == 0xD9 || m[1] == 0xDA) break; /* end, or scan before any frame */
      pos += 2 + (long)seglen;
    }
  } else if (got >= 10 && (!memcmp(h, "GIF87a", 6) || !memcmp(h, "GIF89a", 6))) {
    *wd = (uint32_t)h[6] | (uint32_t)h[7] << 8; /* the logical screen */
    *ht = (uint32_t)h[8] | (uint32_t)h[9] << 8;
    kind = IMG_GIF;
  } else {
    *why = "not a PNG, JPEG or GIF image";
  }
  (void)fclose(fp); /* only read */
  if (kind != IMG_BAD) {
    if (*wd == 0 || *ht == 0) { *why = "no pixels (a side of 0)"; return IMG_BAD; }
    if (!TS_IMAGE_FITS(*wd, *ht)) {
      *why = TS_IMAGE_TOO_LARGE;
      return IMG_BAD;
    }
  }
  return kind;
}


/* ---- PNG data as it is ------------------------------------------------------
 * A PNG's IDAT stream is a zlib stream of filtered rows, which PDF reads as
 * it is with /DecodeParms << /Predictor 15 … >> (PDF 32000-1 §7.4.4.4).
 * For a non-interlaced grey or RGB PNG without transparency the image is
 * therefore embedded without decoding and compressing it again (libharu's
 * loader does both: a third of the writer's time on a paper with one
 * figure).  The data is still checked first: every chunk's CRC, and the
 * rows inflate to exactly height × (1 + row bytes) with valid filter types.
 * Other PNGs (alpha, palettes, interlacing, 16 bits) go through libharu. */
typedef struct png_direct {
  uint32_t w, h;
  int depth, colors;
  unsigned char *idat; /* owned: the concatenated IDAT data */
  size_t idat_len;
} png_direct;

/* 1: pd filled (free pd->idat); 0: not such a PNG, or damaged. */
static int png_direct_read(const char *path, png_direct *pd) {
  memset(pd, 0, sizeof *pd);
  size_t n = 0;
  unsigned char *d = (unsigned char *)ts_file_read(path, &n, 64u << 20);
  int ok = 0;
  ts_buf idat;
  ts_buf_init(&idat);
  if (!d || n < 8 + 25 || memcmp(d, "\x89PNG\r\n\x1a\n", 8) != 0) goto done;
  int seen_ihdr = 0, seen_iend = 0;
  for (size_t at = 8; at < n && !seen_iend;) {
    if (n - at < 12) goto done;
    uint32_t len = be32(d + at);
    if (len > n - at - 12) goto done;
    const unsigned char *type = d + at + 4, *data = d + at + 8;
    if (libdeflate_crc32(0, type, (size_t)len + 4) != be32(data + len)) goto done;
    if (!seen_ihdr) {
      if (memcmp(type, "IHDR", 4) != 0 || len != 13) goto done;
      pd->w = be32(data);
      pd->h = be32(data + 4);
      pd->depth = data[8];
      int ct = data[9];
      if (data[10] != 0 || data[11] != 0 || data[12] != 0) goto done; /* interlaced */
      if (ct == 0 && (pd->depth == 1 || pd->depth == 2 || pd->depth == 4 || pd->depth == 8))
        pd->colors = 1;
      else if (ct == 2 && pd->depth == 8)
        pd->colors = 3;
      else
        goto done;
      if (pd->w == 0 || pd->h == 0 || !TS_IMAGE_FITS(pd->w, pd->h))
        goto done;
      seen_ihdr = 1;
    } else if (!memcmp(type, "IDAT", 4)) {
      ts_buf_append(&idat, data, len);
    } else if (!memcmp(type, "tRNS", 4)) {
      goto done; /* transparency: an /SMask or /Mask, left to libharu */
    } else if (!memcmp(type, "IEND", 4)) {
      seen_iend = 1;
    }
    at += (size_t)len + 12;
  }
  if (!seen_iend || idat.oom || idat.len == 0) goto done;
  /* the rows must inflate to exactly their size, each with a known filter */
  size_t row = ((size_t)pd->w * (size_t)pd->colors * (size_t)pd->depth + 7) / 8;
  size_t want = (size_t)pd->h * (row + 1), got = 0;
  unsigned char *raw = malloc(want);
  struct libdeflate_decompressor *dc = libdeflate_alloc_decompressor();
  if (raw && dc &&
      libdeflate_zlib_decompress(dc, idat.data, idat.len, raw, want, &got) ==
          LIBDEFLATE_SUCCESS &&
      got == want) {
    ok = 1;
    for (size_t y = 0; y < pd->h && ok; y++) ok = raw[y * (row + 1)] <= 4;
  }
  if (dc) libdeflate_free_decompressor(dc);
  free(raw);
  if (ok) {
    pd->idat_len = idat.len;
    pd->idat = (unsigned char *)ts_buf_detach(&idat, NULL);
    ok = pd->idat != NULL;
  }
done:
  ts_buf_free(&idat);
  free(d);
  return ok;
}

/* The image XObject for pd, its data written as it is. */
static HPDF_Image png_direct_xobject(pdf_w *w, const png_direct *pd) {
  HPDF_Dict img = HPDF_DictStream_New(w->pdf->mmgr, w->pdf->xref);
  if (!img) return NULL;
  img->header.obj_class = HPDF_OSUBCLASS_XOBJECT | HPDF_OCLASS_DICT;
  img->filter = HPDF_STREAM_FILTER_NONE;
  img->write_fn = write_flate_filter; /* /Filter /FlateDecode: the data is zlib */
  HPDF_Dict parms = HPDF_Dict_New(w->pdf->mmgr);
  if (!parms || HPDF_Dict_AddName(img, "Type", "XObject") != HPDF_OK ||
      HPDF_Dict_AddName(img, "Subtype", "Image") != HPDF_OK ||
      HPDF_Dict_AddNumber(img, "Width", (HPDF_INT32)pd->w) != HPDF_OK ||
      HPDF_Dict_AddNumber(img, "Height", (HPDF_INT32)pd->h) != HPDF_OK ||
      HPDF_Dict_AddName(img, "ColorSpace", pd->colors == 3 ? "DeviceRGB" : "DeviceGray") !=
          HPDF_OK ||
      HPDF_Dict_AddNumber(img, "BitsPerComponent", pd->depth) != HPDF_OK ||
      HPDF_Dict_AddNumber(parms, "Predictor", 15) != HPDF_OK ||
      HPDF_Dict_AddNumber(parms, "Colors", pd->colors) != HPDF_OK ||
      HPDF_Dict_AddNumber(parms, "BitsPerComponent", pd->depth) != HPDF_OK ||
      HPDF_Dict_AddNumber(parms, "Columns", (HPDF_INT32)pd->w) != HPDF_OK ||
      HPDF_Dict_Add(img, "DecodeParms", parms) != HPDF_OK ||
      pdf_stream_set(w, img, pd->idat, pd->idat_len, 0, 0) != TS_OK)
    return NULL;
  return img;
}

/* Decodes a whole PNG with libpng's simplified API (its own error
 * recovery, no setjmp here) before libharu sees it: libharu's libpng error
 * callback returns instead of jumping, and libpng then aborts the process,
 * so a PNG with a broken data stream must never reach it. */
static int png_decodes(const char *path, const char **why) {
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path)) {
    *why = "cannot decode image";
    return 0;
  }
  img.format = PNG_FORMAT_GRAY; /* one byte per pixel is enough to check */
  size_t sz = PNG_IMAGE_SIZE(img);
  void *buf = malloc(sz ? sz : 1);
  if (!buf) {
    png_image_free(&img);
    *why = "out of memory decoding image";
    return 0;
  }
  int ok = png_image_finish_read(&img, NULL, buf, 0, NULL) != 0;
  free(buf);
  png_image_free(&img);
  if (!ok) *why = "cannot decode image";
  return ok;
}

/* 8-bit pixels (RGB, or grey when !color) as an image XObject, with the
 * alpha plane mask (when not NULL) as its soft mask.  libharu copies both. */
static HPDF_Image raw_image(pdf_w *w, const unsigned char *px, int color,
                            const unsigned char *mask, uint32_t wd, uint32_t ht) {
  HPDF_Image im = HPDF_LoadRawImageFromMem(w->pdf, px, wd, ht,
                                           color ? HPDF_CS_DEVICE_RGB : HPDF_CS_DEVICE_GRAY, 8);
  if (im && mask) {
    HPDF_Image sm = HPDF_LoadRawImageFromMem(w->pdf, mask, wd, ht, HPDF_CS_DEVICE_GRAY, 8);
    if (!sm || HPDF_Image_AddSMask(im, sm) != HPDF_OK) im = NULL;
  }
  return im;
}

/* ---- GIF ---------------------------------------------------------------------
 * A GIF's first image, drawn on its logical screen (GIF89a §18–§23) with
 * giflib read record by record: only that image is decoded, so an
 * animation's later frames cost nothing and allocate nothing.  Its colour
 * table (local, else global) gives RGB; the transparent index of the
 * graphic control extension before it, and the screen outside it, become
 * a soft mask.  The screen passed TS_IMAGE_FITS in image_probe; an image
 * larger than the limit is refused too (it would be decoded row by row
 * before being clipped). */
typedef struct gif_pixels {
  uint32_t w, h;        /* the logical screen */
  unsigned char *rgb;   /* owned: w × h × 3 */
  unsigned char *alpha; /* owned: w × h, or NULL when every pixel is opaque */
} gif_pixels;

static void gif_pixels_free(gif_pixels *g) {
  free(g->rgb);
  free(g->alpha);
  g->rgb = g->alpha = NULL;
}

/* Reads the first image's rows into g (placed and clipped on the screen). */
static int gif_rows(GifFileType *f, gif_pixels *g, int transparent, const char **why) {
  const GifImageDesc *d = &f->Image;
  const ColorMapObject *cm = d->ColorMap ? d->ColorMap : f->SColorMap;
  if (!cm || !cm->Colors || cm->ColorCount <= 0) {
    *why = "GIF without a colour table";
    return 0;
  }
  if (d->Width <= 0 || d->Height <= 0) {
    *why = "GIF image with no pixels";
    return 0;
  }
  if (!TS_IMAGE_FITS((uint32_t)d->Width, (uint32_t)d->Height)) {
    *why = TS_IMAGE_TOO_LARGE;
    return 0;
  }
  size_t n = (size_t)g->w * g->h;
  GifPixelType *line = malloc((size_t)d->Width);
  g->rgb = calloc(n, 3);
  g->alpha = malloc(n);
  if (!line || !g->rgb || !g->alpha) {
    free(line);
    *why = "out of memory decoding image";
    return 0;
  }
  /* the screen outside the image shows through (as browsers draw it) */
  memset(g->alpha, 0, n);
  /* interlaced rows come in four passes (GIF89a Appendix E) */
  static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
  int passes = d->Interlace ? 4 : 1, ok = 1, seen_clear = 0;
  for (int p = 0; p < passes && ok; p++) {
    int y0 = d->Interlace ? start[p] : 0, dy = d->Interlace ? step[p] : 1;
    for (int y = y0; y < d->Height && ok; y += dy) {
      if (DGifGetLine(f, line, d->Width) == GIF_ERROR) {
        ok = 0;
        break;
      }
      long row = (long)d->Top + y;
      if (row < 0 || row >= (long)g->h) continue;
      for (int x = 0; x < d->Width; x++) {
        long col = (long)d->Left + x;
        if (col < 0 || col >= (long)g->w) continue;
        size_t at = (size_t)row * g->w + (size_t)col;
        int k = line[x];
        if (k == transparent) {
          seen_clear = 1;
          continue;
        }
        /* an index past the table (decoders differ): its last colour */
        const GifColorType *c = &cm->Colors[k < cm->ColorCount ? k : cm->ColorCount - 1];
        g->rgb[at * 3] = c->Red;
        g->rgb[at * 3 + 1] = c->Green;
        g->rgb[at * 3 + 2] = c->Blue;
        g->alpha[at] = 255;
      }
    }
  }
  free(line);
  if (!ok) {
    *why = "cannot decode image (damaged GIF data)";
    return 0;
  }
  int covers = d->Left <= 0 && d->Top <= 0 && (long)d->Left + d->Width >= (long)g->w &&
               (long)d->Top + d->Height >= (long)g->h;
  if (!seen_clear && covers) { /* opaque: no mask */
    free(g->alpha);
    g->alpha = NULL;
  }
  return 1;
}

/* Decodes path's first image into g; 0 with *why when it cannot. */
static int gif_decode(const char *path, gif_pixels *g, const char **why) {
  memset(g, 0, sizeof *g);
  int err = 0;
  GifFileType *f = DGifOpenFileName(path, &err);
  if (!f) {
    *why = err == D_GIF_ERR_NOT_ENOUGH_MEM ? "out of memory decoding image"
                                           : "cannot decode image (damaged GIF header)";
    return 0;
  }
  g->w = (uint32_t)(f->SWidth > 0 ? f->SWidth : 0);
  g->h = (uint32_t)(f->SHeight > 0 ? f->SHeight : 0);
  int ok = 0, transparent = NO_TRANSPARENT_COLOR;
  *why = "GIF without an image";
  for (;;) {
    GifRecordType rt;
    if (DGifGetRecordType(f, &rt) == GIF_ERROR) {
      *why = "cannot decode image (damaged GIF data)";
      break;
    }
    if (rt == TERMINATE_RECORD_TYPE) break;
    if (rt == EXTENSION_RECORD_TYPE) {
      int code;
      GifByteType *ext = NULL;
      int bad = DGifGetExtension(f, &code, &ext) == GIF_ERROR;
      if (!bad && code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4) {
        GraphicsControlBlock gcb;
        if (DGifExtensionToGCB(ext[0], ext + 1, &gcb) == GIF_OK)
          transparent = gcb.TransparentColor;
      }
      while (!bad && ext)
        bad = DGifGetExtensionNext(f, &ext) == GIF_ERROR;
      if (bad) {
        *why = "cannot decode image (damaged GIF data)";
        break;
      }
      continue;
    }
    if (rt == IMAGE_DESC_RECORD_TYPE) {
      if (DGifGetImageDesc(f) == GIF_ERROR) {
        *why = "cannot decode image (damaged GIF data)";
        break;
      }
      ok = g->w && g->h && gif_rows(f, g, transparent, why);
      break; /* the first image only */
    }
    /* an unknown record type: giflib has already refused it */
  }
  (void)DGifCloseFile(f, &err); /* only read */
  if (!ok) gif_pixels_free(g);
  return ok;
}

static HPDF_Image gif_image(pdf_w *w, const char *path) {
  gif_pixels g;
  const char *why;
  if (!gif_decode(path, &g, &why)) return NULL;
  HPDF_Image im = raw_image(w, g.rgb, 1, g.alpha, g.w, g.h);
  gif_pixels_free(&g);
  return im;
}

/* An interlaced PNG, which libharu's loader refuses (libpng error): decoded
 * here with libpng's simplified API to 8-bit grey or RGB (palettes
 * expanded, 16 bits reduced, gamma to sRGB), its alpha channel, if any, as
 * a soft mask.  The caller checked the stream with png_decodes and the
 * size with image_probe (at most TS_IMAGE_MAX_PIXELS, 4 bytes each, and
 * one more for an alpha plane). */
static HPDF_Image png_decoded_image(pdf_w *w, const char *path) {
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path)) return NULL;
  int alpha = (img.format & PNG_FORMAT_FLAG_ALPHA) != 0;
  int color = (img.format & PNG_FORMAT_FLAG_COLOR) != 0;
  img.format = color ? (alpha ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB)
                     : (alpha ? PNG_FORMAT_GA : PNG_FORMAT_GRAY);
  size_t n = (size_t)img.width * img.height, cc = color ? 3 : 1;
  size_t sz = PNG_IMAGE_SIZE(img);
  unsigned char *px = malloc(sz ? sz : 1);
  unsigned char *mask = NULL; /* owned: the alpha plane */
  HPDF_Image im = NULL;
  if (!px || !png_image_finish_read(&img, NULL, px, 0, NULL)) goto done;
  if (alpha) {
    /* alpha out to its plane, colours packed in place (pixel i moves
     * down from i × (cc + 1) to i × cc: never over one not yet read) */
    mask = malloc(n ? n : 1);
    if (!mask) goto done;
    for (size_t i = 0; i < n; i++) {
      mask[i] = px[i * (cc + 1) + cc];
      memmove(px + i * cc, px + i * (cc + 1), cc);
    }
  }
  im = raw_image(w, px, color, mask, img.width, img.height);
done:
  png_image_free(&img);
  free(px);
  free(mask);
  return im;
}

/* Images that are decoded into memory to be written (a GIF; a PNG with a
 * palette, transparency, interlacing or 16 bits, which libpng or libharu
 * decode) take ~18 bytes a pixel at the peak (their pixels, libharu's copy,
 * the stream deflated): past this many pixels they are refused, though the
 * EPUB, which copies them as they are, takes them up to TS_IMAGE_MAX_PIXELS.
 * A 74-byte GIF naming a 5,190 x 18,544 screen took 20 s and 3.3 GB before
 * (found by fuzz_image); at the limit, 3 s and 450 MB. */
#define PDF_DECODE_MAX_PIXELS 25000000ull
#define PDF_DECODE_TOO_LARGE                                                                       \
  "too large to decode for the PDF (limit 25 megapixels for a GIF, or a PNG with a palette, "      \
  "transparency, interlacing or 16 bits)"

/* Checks every image before anything is built: all bad images are reported. */
static ts_status check_images(pdf_w *w) {
  ts_status st = TS_OK;
  for (size_t p = 0; p < w->layout->n_pages; p++) {
    const ts_page *pg = &w->layout->pages[p];
    for (size_t i = 0; i < pg->n; i++) {
      const ts_draw *it = &pg->items[i];
      if (it->kind != TS_DRAW_IMAGE) continue;
      const char *why = "no image path";
      uint32_t wd = 0, ht = 0;
      int interlaced = 0;
      int kind = it->image ? image_probe(it->image, &wd, &ht, &interlaced, &why) : IMG_BAD;
      if (kind == IMG_JPEG) continue;
      int decoded_fits = (uint64_t)wd * ht <= PDF_DECODE_MAX_PIXELS;
      if (kind == IMG_GIF) {
        gif_pixels g;
        if (!decoded_fits) {
          why = PDF_DECODE_TOO_LARGE;
        } else if (gif_decode(it->image, &g, &why)) {
          gif_pixels_free(&g);
          continue;
        }
      }
      if (kind == IMG_PNG) {
        png_direct pd;
        int direct = png_direct_read(it->image, &pd);
        free(pd.idat);
        if (direct) continue;
        if (!decoded_fits)
          why = PDF_DECODE_TOO_LARGE;
        else if (png_decodes(it->image, &why))
          continue;
      }
      image_report(w, it->image, why);
      st = TS_ERR_INPUT;
    }
  }
  return st;
}

static ts_status image_get(pdf_run *r, const char *path, HPDF_Image *out) {
  pdf_w *w = &r->w;
  for (size_t i = 0; i < r->n_imgs; i++)
    if (strcmp(r->imgs[i].path, path) == 0) { *out = r->imgs[i].img; return TS_OK; }
  uint32_t wd, ht;
  const char *why = "unreadable image";
  int interlaced = 0;
  int kind = image_probe(path, &wd, &ht, &interlaced, &why);
  HPDF_Image img = NULL;
  /* (PNG data streams were checked by check_images) */
  png_direct pd;
  if (kind == IMG_PNG && png_direct_read(path, &pd)) {
    img = png_direct_xobject(w, &pd);
    free(pd.idat);
  } else if (kind == IMG_PNG && interlaced) img = png_decoded_image(w, path);
  else if (kind == IMG_PNG) img = HPDF_LoadPngImageFromFile(w->pdf, path);
  else if (kind == IMG_JPEG) img = HPDF_LoadJpegImageFromFile(w->pdf, path);
  else if (kind == IMG_GIF) img = gif_image(w, path);
  if (!img) {
    if (kind != IMG_BAD) why = "cannot decode image";
    image_report(w, path, why);
    return TS_ERR_INPUT;
  }
  if (r->n_imgs == r->cap_imgs) {
    size_t nc = r->cap_imgs ? r->cap_imgs * 2 : 8;
    img_entry *ni = realloc(r->imgs, nc * sizeof *ni);
    if (!ni) return TS_ERR_NOMEM;
    r->imgs = ni;
    r->cap_imgs = nc;
  }
  r->imgs[r->n_imgs].path = path;
  r->imgs[r->n_imgs].img = img;
  r->n_imgs++;
  *out = img;
  return TS_OK;
}

/* ---- Destinations --------------------------------------------------------------*/

static int cmp_dest(const void *a, const void *b) {
  const dest_entry *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c) return c;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static ts_status collect_dests(pdf_run *r) {
  const ts_layout *l = r->w.layout;
  size_t n = 0;
  for (size_t p = 0; p < l->n_pages; p++)
    for (size_t i = 0; i < l->pages[p].n; i++)
      if (l->pages[p].items[i].kind == TS_DRAW_DEST && l->pages[p].items[i].dest) n++;
  if (n == 0) return TS_OK;
  r->dests = calloc(n, sizeof *r->dests);
  if (!r->dests) return TS_ERR_NOMEM;
  for (size_t p = 0; p < l->n_pages; p++) {
    for (size_t i = 0; i < l->pages[p].n; i++) {
      const ts_draw *it = &l->pages[p].items[i];
      if (it->kind != TS_DRAW_DEST || !it->dest) continue;
      dest_entry *e = &r->dests[r->n_dests];
      e->name = it->dest[0] == '#' ? it->dest + 1 : it->dest;
      e->page = p;
      e->seq = r->n_dests;
      e->x = it->x;
      e->y = it->y;
      r->n_dests++;
    }
  }
  qsort(r->dests, r->n_dests, sizeof *r->dests, cmp_dest);
  return TS_OK;
}

/* The first destination of that name; NULL if none. */
static const dest_entry *dest_find(const pdf_run *r, const char *name) {
  if (!name) return NULL;
  if (name[0] == '#') name++;
  size_t lo = 0, hi = r->n_dests;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (strcmp(r->dests[mid].name, name) < 0) lo = mid + 1; else hi = mid;
  }
  return lo < r->n_dests && strcmp(r->dests[lo].name, name) == 0 ? &r->dests[lo] : NULL;
}

static HPDF_Destination make_dest(pdf_run *r, const dest_entry *e) {
  HPDF_Page page = r->pages[e->page];
  HPDF_Destination dst = HPDF_Page_CreateDestination(page);
  if (!dst) return NULL;
  /* [page /XYZ left top null]: a null zoom keeps the reader's zoom, which
   * HPDF_Destination_SetXYZ cannot express (it refuses zoom 0). */
  HPDF_Array_Clear(dst);
  /* Inside the page (libharu refuses reals beyond 32767). */
  const ts_page *pg = &r->w.layout->pages[e->page];
  double x = isfinite(e->x) && e->x > 0 ? (e->x < pg->w ? e->x : pg->w) : 0;
  double y = isfinite(e->y) && e->y > 0 ? (e->y < pg->h ? e->y : pg->h) : 0;
  if (HPDF_Array_Add(dst, page) != HPDF_OK || HPDF_Array_AddName(dst, "XYZ") != HPDF_OK ||
      HPDF_Array_AddReal(dst, (HPDF_REAL)x) != HPDF_OK ||
      HPDF_Array_AddReal(dst, (HPDF_REAL)y) != HPDF_OK ||
      HPDF_Array_Add(dst, HPDF_Null_New(r->w.pdf->mmgr)) != HPDF_OK)
    return NULL;
  return dst;
}

/* ---- Drawing ------------------------------------------------------------------------*/

/* libharu's reals are limited to ±32767. */
static HPDF_REAL clamp_real(double v) {
  return (HPDF_REAL)(v < -32000 ? -32000 : v > 32000 ? 32000 : v);
}

static int finite4(const ts_draw *it) {
  return isfinite(it->x) && isfinite(it->y) && isfinite(it->w) && isfinite(it->h);
}

static void put_color(ts_buf *b, uint32_t c, const char *op) {
  ts_buf_num(b, ((c >> 16) & 255) / 255.0, 4);
  ts_buf_putc(b, ' ');
  ts_buf_num(b, ((c >> 8) & 255) / 255.0, 4);
  ts_buf_putc(b, ' ');
  ts_buf_num(b, (c & 255) / 255.0, 4);
  ts_buf_putc(b, ' ');
  ts_buf_puts(b, op);
  ts_buf_putc(b, '\n');
}

static void put_nums(ts_buf *b, const double *v, int n) {
  for (int i = 0; i < n; i++) {
    ts_buf_num(b, v[i], 3);
    ts_buf_putc(b, ' ');
  }
}

/* Closes the page's open text object, if any: paths and images are drawn
 * outside one. */
static void text_end(pdf_w *w) {
  if (w->in_text) ts_buf_puts(&w->cs, "ET\n");
  w->in_text = 0;
}

/* A new page's content starts with no text object, colour or font set. */
static void page_state_reset(pdf_w *w) {
  w->in_text = 0;
  w->have_fill = 0;
  w->fill = 0;
  w->tf = NULL;
  w->tf_size = 0;
}

/* The URI action of a link (ISO 32000-1 §12.6.4.7), made once for the
 * link's annotations — one a line the link is set on; each used to carry
 * the whole URI, so a long URL set on many lines grew the file with the
 * square of its length (a 13 KB paper, 29 MB of PDF).  A URI holds 7-bit
 * ASCII: other bytes and spaces are percent-encoded.  NULL when memory or
 * libharu failed. */
static HPDF_Dict uri_action(pdf_w *w, const char *uri) {
  if (w->act && (w->act_uri == uri || !strcmp(w->act_uri, uri))) return w->act;
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)uri; *p; p++)
    n += *p <= 0x20 || *p >= 0x7F ? 3 : 1;
  char *u = malloc(n + 1);
  if (!u) return NULL;
  char *q = u;
  for (const unsigned char *p = (const unsigned char *)uri; *p; p++) {
    if (*p <= 0x20 || *p >= 0x7F) {
      *q++ = '%';
      *q++ = hex[*p >> 4];
      *q++ = hex[*p & 15];
    } else {
      *q++ = (char)*p;
    }
  }
  *q = 0;
  HPDF_Dict act = HPDF_Dict_New(w->pdf->mmgr);
  HPDF_String s = act ? HPDF_String_New(w->pdf->mmgr, u, NULL) : NULL;
  free(u);
  /* an indirect object (the xref owns it from here), so that annotations
   * can refer to it */
  if (!act || HPDF_Xref_Add(w->pdf->xref, act) != HPDF_OK) {
    if (s) HPDF_Obj_Free(w->pdf->mmgr, s);
    return NULL;
  }
  if (!s || HPDF_Dict_AddName(act, "Type", "Action") != HPDF_OK ||
      HPDF_Dict_AddName(act, "S", "URI") != HPDF_OK || HPDF_Dict_Add(act, "URI", s) != HPDF_OK)
    return NULL;
  w->act = act;
  w->act_uri = uri;
  return act;
}

static ts_status draw_item(pdf_run *r, HPDF_Page page, const ts_draw *it) {
  pdf_w *w = &r->w;
  ts_buf *b = &w->cs;
  ts_status st = TS_OK;
  switch (it->kind) {
  case TS_DRAW_GLYPHS: {
    const ts_run *run = it->run;
    if (!run || !run->face || run->n == 0 || !run->glyphs || !(run->size > 0) ||
        !isfinite(run->size) || !isfinite(it->x) || !isfinite(it->y))
      break;
    pdf_face *pf;
    TS_CHECK(pdf_face_get(w, run->face, &pf));
    /* The item's colour wins; a zero (black) item colour defers to the run's. */
    uint32_t col = it->color ? it->color : run->color;
    if (!w->in_text) {
      ts_buf_puts(b, "BT\n");
      w->in_text = 1;
    }
    if (!w->have_fill || w->fill != col) {
      put_color(b, col, "rg");
      w->have_fill = 1;
      w->fill = col;
    }
    if (w->tf != pf || w->tf_size != run->size) {
      /* the name also puts the font in the page's resources */
      const char *fname = HPDF_Page_GetLocalFontName(page, pf->type0);
      if (!fname) { st = TS_ERR_INTERNAL; goto done; }
      ts_buf_putc(b, '/');
      ts_buf_puts(b, fname);
      ts_buf_putc(b, ' ');
      ts_buf_num(b, run->size, 3);
      ts_buf_puts(b, " Tf\n");
      w->tf = pf;
      w->tf_size = run->size;
    }
    /* font expansion: the text matrix scales glyphs and their positions
     * (glyph x is in the run's unexpanded text space) */
    double hs = (double)run->hscale;
    if (!(hs > 0) || !isfinite(hs) || fabs(hs - 1) <= 1e-5) hs = 1;
    if (hs != 1) {
      ts_buf_num(b, hs, 5);
      ts_buf_puts(b, " 0 0 1 ");
    } else {
      ts_buf_puts(b, "1 0 0 1 ");
    }
    double org[2] = {it->x, it->y};
    put_nums(b, org, 2);
    ts_buf_puts(b, "Tm\n");
    TS_CHECK(pdf_fonts_show(w, pf, run));
    break;
  }
  case TS_DRAW_RULE: {
    text_end(w);
    if (!finite4(it) || !isfinite(it->lw) || it->lw <= 0) break;
    double v[5] = {it->lw, it->x, it->y, it->x + it->w, it->y + it->h};
    ts_buf_puts(b, "q\n");
    put_color(b, it->color, "RG");
    put_nums(b, v, 1);
    ts_buf_puts(b, "w 0 J\n");
    put_nums(b, v + 1, 2);
    ts_buf_puts(b, "m ");
    put_nums(b, v + 3, 2);
    ts_buf_puts(b, "l S\nQ\n");
    break;
  }
  case TS_DRAW_RECT: {
    text_end(w);
    if (!finite4(it)) break;
    double v[4] = {it->x, it->y, it->w, it->h};
    ts_buf_puts(b, "q\n");
    put_color(b, it->color, "rg");
    put_nums(b, v, 4);
    ts_buf_puts(b, "re f\nQ\n");
    break;
  }
  case TS_DRAW_IMAGE: {
    text_end(w);
    if (!finite4(it) || !it->image) break;
    HPDF_Image img;
    TS_CHECK(image_get(r, it->image, &img));
    const char *iname = HPDF_Page_GetXObjectName(page, img);
    if (!iname) { st = TS_ERR_INTERNAL; goto done; }
    double v[6] = {it->w, 0, 0, it->h, it->x, it->y};
    ts_buf_puts(b, "q\n");
    put_nums(b, v, 6);
    ts_buf_printf(b, "cm\n/%s Do\nQ\n", iname);
    break;
  }
  case TS_DRAW_LINK: {
    if (!finite4(it)) break;
    HPDF_Rect rect = {clamp_real(it->x), clamp_real(it->y), clamp_real(it->x + it->w),
                      clamp_real(it->y + it->h)};
    HPDF_Annotation a = NULL;
    if (it->uri) {
      HPDF_Dict act = uri_action(w, it->uri);
      if (!act) { st = w->err ? TS_ERR_INTERNAL : TS_ERR_NOMEM; goto done; }
      /* the annotation libharu makes carries a URI action of its own:
       * replaced by the link's shared one */
      a = HPDF_Page_CreateURILinkAnnot(page, rect, "-"); /* libharu refuses "" */
      if (a && HPDF_Dict_Add(a, "A", act) != HPDF_OK) a = NULL;
    } else if (it->dest) {
      const dest_entry *e = dest_find(r, it->dest);
      if (!e) {
        ts_diag_report(w->d, TS_WARNING, w->file, 0, 0,
                       "link to unknown destination '%s' left inactive", it->dest);
        break;
      }
      HPDF_Destination dst = make_dest(r, e);
      if (!dst) { st = TS_ERR_INTERNAL; goto done; }
      a = HPDF_Page_CreateLinkAnnot(page, rect, dst);
    } else {
      break;
    }
    if (!a || HPDF_LinkAnnot_SetBorderStyle(a, 0, 0, 0) != HPDF_OK) {
      st = TS_ERR_INTERNAL;
      goto done;
    }
    break;
  }
  default: /* DEST: collected before drawing */
    break;
  }
  if (b->oom) { st = TS_ERR_NOMEM; goto done; }
done:
  /* the page's content stays in w->cs until flush_page */
  if (st != TS_OK) ts_buf_clear(b);
  return st;
}

/* ---- Page contents ------------------------------------------------------------
 * A page's content (all its items, drawn into w->cs) goes into its stream
 * deflated in one call: no uncompressed copy goes through libharu's
 * byte-by-byte stream writer, and pdf_deflate_streams leaves the stream
 * alone (its write hook is set).  The bytes are the ones pdf_deflate_streams
 * would have made of the same content.
 *
 * With a second thread allowed, page k is deflated on it while page k + 1
 * is drawn (deflating was an eighth of a long book's instructions): one
 * page in flight, its deflated bytes written into its stream, in page
 * order, before the next page is handed over, so the file is the same
 * whichever thread deflated what. */
typedef struct zpipe {
  pthread_t thread;
  int started;
  pthread_mutex_t lock;
  pthread_cond_t cv;
  struct libdeflate_compressor *c; /* the worker's (owned) */
  ts_buf job;            /* raw content handed over (owned; swapped with w->cs) */
  unsigned char *z;      /* its deflated bytes (owned), zn of them; 0: failed */
  size_t zcap, zn;
  HPDF_Page page;        /* whose content job is */
  int busy, quit;        /* under lock: a job is waiting or being deflated */
} zpipe;

static void *zpipe_main(void *arg) {
  zpipe *zp = arg;
  pthread_mutex_lock(&zp->lock);
  for (;;) {
    while (!zp->busy && !zp->quit) pthread_cond_wait(&zp->cv, &zp->lock);
    if (!zp->busy) break; /* quit with nothing left */
    pthread_mutex_unlock(&zp->lock);
    size_t bound = libdeflate_zlib_compress_bound(zp->c, zp->job.len);
    size_t zn = 0;
    if (bound > zp->zcap) {
      free(zp->z);
      zp->z = malloc(bound);
      zp->zcap = zp->z ? bound : 0;
    }
    if (zp->z) zn = libdeflate_zlib_compress(zp->c, zp->job.data, zp->job.len, zp->z, bound);
    pthread_mutex_lock(&zp->lock);
    zp->zn = zn;
    zp->busy = 0;
    pthread_cond_broadcast(&zp->cv);
  }
  pthread_mutex_unlock(&zp->lock);
  return NULL;
}

/* Starts the worker; 0 when it cannot (pages are then deflated inline). */
static int zpipe_start(zpipe *zp) {
  memset(zp, 0, sizeof *zp);
  ts_buf_init(&zp->job);
  zp->c = libdeflate_alloc_compressor(PDF_CONTENT_LEVEL);
  if (!zp->c) return 0;
  if (pthread_mutex_init(&zp->lock, NULL) != 0) goto fail_c;
  if (pthread_cond_init(&zp->cv, NULL) != 0) goto fail_m;
  if (pthread_create(&zp->thread, NULL, zpipe_main, zp) != 0) goto fail_cv;
  zp->started = 1;
  return 1;
fail_cv:
  pthread_cond_destroy(&zp->cv);
fail_m:
  pthread_mutex_destroy(&zp->lock);
fail_c:
  libdeflate_free_compressor(zp->c);
  zp->c = NULL;
  return 0;
}

static ts_status put_page(pdf_w *w, HPDF_Page page, const unsigned char *z, size_t zn) {
  HPDF_PageAttr attr = (HPDF_PageAttr)page->attr;
  if (TS_NEVER(attr->contents->stream != attr->stream)) return TS_ERR_INTERNAL;
  ts_status st = pdf_stream_put_deflated(w, attr->contents, z, zn, 0);
  attr->stream = attr->contents->stream; /* the page's view of its contents */
  return st;
}

/* Waits for the page in flight, if any, and writes its bytes. */
static ts_status zpipe_drain(pdf_w *w, zpipe *zp) {
  pthread_mutex_lock(&zp->lock);
  while (zp->busy) pthread_cond_wait(&zp->cv, &zp->lock);
  pthread_mutex_unlock(&zp->lock);
  if (!zp->page) return TS_OK;
  HPDF_Page page = zp->page;
  zp->page = NULL;
  if (zp->zn == 0) return TS_ERR_NOMEM; /* only an allocation can fail */
  return put_page(w, page, zp->z, zp->zn);
}

/* Ends the worker (after an error too: a job in flight is finished). */
static void zpipe_stop(zpipe *zp) {
  if (!zp->started) return;
  pthread_mutex_lock(&zp->lock);
  zp->quit = 1;
  pthread_cond_broadcast(&zp->cv);
  pthread_mutex_unlock(&zp->lock);
  pthread_join(zp->thread, NULL);
  pthread_cond_destroy(&zp->cv);
  pthread_mutex_destroy(&zp->lock);
  libdeflate_free_compressor(zp->c);
  ts_buf_free(&zp->job);
  free(zp->z);
  zp->started = 0;
}

/* Hands the page drawn into w->cs to the deflater: the worker when zp is
 * running (after writing the page before), else deflated here with zc. */
static ts_status flush_page(pdf_run *r, HPDF_Page page, struct libdeflate_compressor *zc,
                            zpipe *zp) {
  pdf_w *w = &r->w;
  ts_buf *b = &w->cs;
  ts_status st = TS_OK;
  unsigned char *z = NULL;
  if (b->oom) { st = TS_ERR_NOMEM; goto done; }
  if (zp->started) {
    TS_CHECK(zpipe_drain(w, zp));
    if (b->len == 0) goto done;
    ts_buf t = zp->job; /* the worker is idle: its buffer is free */
    zp->job = *b;
    *b = t;
    pthread_mutex_lock(&zp->lock);
    zp->page = page;
    zp->busy = 1;
    pthread_cond_broadcast(&zp->cv);
    pthread_mutex_unlock(&zp->lock);
    goto done;
  }
  if (b->len == 0) goto done;
  size_t bound = libdeflate_zlib_compress_bound(zc, b->len);
  z = malloc(bound ? bound : 1);
  if (!z) { st = TS_ERR_NOMEM; goto done; }
  size_t zn = libdeflate_zlib_compress(zc, b->data, b->len, z, bound);
  if (zn == 0) { st = TS_ERR_INTERNAL; goto done; }
  TS_CHECK(put_page(w, page, z, zn));
done:
  free(z);
  ts_buf_clear(b);
  return st;
}

/* ---- Outline, information, labels --------------------------------------------*/

static ts_status build_outline(pdf_run *r) {
  pdf_w *w = &r->w;
  const ts_layout *l = w->layout;
  if (l->n_outline == 0) return TS_OK;
  /* Titles are text strings in UTF-16BE with a byte-order mark, put in
   * place of the empty title libharu makes (its UTF-8 encoder did the same
   * but cost 1.4 M instructions to set up, a fiftieth of a paper's run). */
  ts_buf tb;
  ts_buf_init(&tb);
  ts_status st = TS_OK;
  /* readers open with the bookmarks shown */
  if (HPDF_SetPageMode(w->pdf, HPDF_PAGE_MODE_USE_OUTLINE) != HPDF_OK) {
    st = TS_ERR_INTERNAL;
    goto done;
  }
  HPDF_Outline stack[8];
  int levels[8], top = 0;
  for (size_t i = 0; i < l->n_outline; i++) {
    const ts_outline_entry *e = &l->outline[i];
    int level = e->level < 1 ? 1 : e->level > 6 ? 6 : e->level;
    while (top > 0 && levels[top - 1] >= level) top--;
    const char *t = e->title ? e->title : "";
    size_t tl = strlen(t);
    if (tl > 2000) tl = 2000; /* libharu strings hold 65,535 bytes; titles are short */
    size_t clean_len;
    unsigned bad;
    char *clean = ts_utf8_sanitize(t, tl, &clean_len, &bad);
    if (!clean) { st = TS_ERR_NOMEM; goto done; }
    /* A cut in the middle of a character became U+FFFD; drop it. */
    if (tl < strlen(t) && clean_len >= 3 && memcmp(clean + clean_len - 3, "\xEF\xBF\xBD", 3) == 0)
      clean_len -= 3;
    ts_buf_clear(&tb);
    ts_buf_append(&tb, "\xFE\xFF", 2);
    pdf_utf16be(&tb, clean, clean_len, (size_t)-1);
    free(clean);
    if (tb.oom) { st = TS_ERR_NOMEM; goto done; }
    HPDF_Outline o = HPDF_CreateOutline(w->pdf, top ? stack[top - 1] : NULL, "", NULL);
    HPDF_Binary title = o ? HPDF_Binary_New(w->pdf->mmgr, (HPDF_BYTE *)tb.data, (HPDF_UINT)tb.len)
                          : NULL;
    if (!title || HPDF_Dict_Add(o, "Title", title) != HPDF_OK) { st = TS_ERR_INTERNAL; goto done; }
    const dest_entry *d = dest_find(r, e->dest);
    if (d) {
      HPDF_Destination dst = make_dest(r, d);
      if (!dst || HPDF_Outline_SetDestination(o, dst) != HPDF_OK) { st = TS_ERR_INTERNAL; goto done; }
    }
    if (HPDF_Outline_SetOpened(o, level == 1 ? HPDF_TRUE : HPDF_FALSE) != HPDF_OK) {
      st = TS_ERR_INTERNAL;
      goto done;
    }
    if (top < 8) { stack[top] = o; levels[top] = level; top++; }
  }
done:
  ts_buf_free(&tb);
  return st;
}

/* A text string entry: UTF-16BE with a byte-order mark (hex string). */
static ts_status info_text(pdf_w *w, const char *key, const char *s, size_t n) {
  ts_buf b;
  ts_buf_init(&b);
  ts_buf_append(&b, "\xFE\xFF", 2);
  pdf_utf16be(&b, s, n, 30000);
  ts_status st = b.oom ? TS_ERR_NOMEM : TS_OK;
  if (st == TS_OK) {
    HPDF_Binary v = HPDF_Binary_New(w->pdf->mmgr, (HPDF_BYTE *)b.data, (HPDF_UINT)b.len);
    if (!v || HPDF_Dict_Add(w->pdf->info, key, v) != HPDF_OK) st = TS_ERR_INTERNAL;
  }
  ts_buf_free(&b);
  return st;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* "YYYY", "YYYY-MM" or "YYYY-MM-DD…" → seconds at midnight UTC; 0 if none. */
static int parse_meta_date(const char *s, int64_t *out) {
  if (!s) return 0;
  int y = 0, m = 1, d = 1, k = 0;
  for (; k < 4; k++) {
    if (s[k] < '0' || s[k] > '9') return 0;
    y = y * 10 + (s[k] - '0');
  }
  if (s[4] == '-' && s[5] >= '0' && s[5] <= '9' && s[6] >= '0' && s[6] <= '9') {
    m = (s[5] - '0') * 10 + (s[6] - '0');
    if (s[7] == '-' && s[8] >= '0' && s[8] <= '9' && s[9] >= '0' && s[9] <= '9')
      d = (s[8] - '0') * 10 + (s[9] - '0');
  }
  if (m < 1 || m > 12 || d < 1 || d > 31) return 0;
  *out = days_from_civil(y, (unsigned)m, (unsigned)d) * 86400;
  return 1;
}

static ts_status build_info(pdf_run *r) {
  pdf_w *w = &r->w;
  ts_status st = TS_OK;
  HPDF_MMgr mm = w->pdf->mmgr;
  ts_buf b;
  ts_buf_init(&b);
  /* Makes sure the Info dictionary exists, then replaces libharu's Producer. */
  if (HPDF_SetInfoAttr(w->pdf, HPDF_INFO_PRODUCER, "typeset") != HPDF_OK || !w->pdf->info) {
    st = TS_ERR_INTERNAL;
    goto done;
  }
  ts_buf_printf(&b, "typeset %s (libHaru %s, HarfBuzz %s)", TS_VERSION, HPDF_GetVersion(),
                hb_version_string());
  TS_CHECK(info_text(w, "Producer", b.data, b.len));
  ts_buf_clear(&b);
  ts_buf_printf(&b, "typeset %s", TS_VERSION);
  TS_CHECK(info_text(w, "Creator", b.data, b.len));
  const ts_meta *m = w->doc ? &w->doc->meta : NULL;
  if (m && m->title) {
    TS_CHECK(info_text(w, "Title", m->title, strlen(m->title)));
    /* window title from the document's title, not its file name */
    HPDF_Dict vp = HPDF_Dict_New(mm);
    if (!vp || HPDF_Dict_AddBoolean(vp, "DisplayDocTitle", HPDF_TRUE) != HPDF_OK ||
        HPDF_Dict_Add(w->pdf->catalog, "ViewerPreferences", vp) != HPDF_OK) {
      st = TS_ERR_INTERNAL;
      goto done;
    }
  }
  if (m && m->n_authors) {
    ts_buf_clear(&b);
    for (size_t i = 0; i < m->n_authors; i++) {
      if (!m->authors[i].name) continue;
      if (b.len) ts_buf_puts(&b, ", ");
      ts_buf_puts(&b, m->authors[i].name);
    }
    if (b.len) TS_CHECK(info_text(w, "Author", b.data, b.len));
  }
  if (m && m->abstract_text && m->abstract_text[0])
    TS_CHECK(info_text(w, "Subject", m->abstract_text, strlen(m->abstract_text)));
  if (m && m->n_keywords) {
    ts_buf_clear(&b);
    for (size_t i = 0; i < m->n_keywords; i++) {
      if (!m->keywords[i]) continue;
      if (b.len) ts_buf_puts(&b, ", ");
      ts_buf_puts(&b, m->keywords[i]);
    }
    if (b.len) TS_CHECK(info_text(w, "Keywords", b.data, b.len));
  }
  /* Dates only from SOURCE_DATE_EPOCH or the metadata: never the clock. */
  int64_t meta_t = 0, t;
  int from_meta = m && parse_meta_date(m->date, &meta_t), set = 0;
  t = ts_ctx_epoch(w->ctx, &set);
  if (!set) t = meta_t;
  if (set || from_meta) {
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400), y;
    int64_t secs = t - days * 86400;
    unsigned mo, dd;
    civil_from_days(days, &y, &mo, &dd);
    if (y < 0) y = 0;
    if (y > 9999) y = 9999;
    char ds[40];
    /* both fit: the year is clamped to 4 digits, secs < 86400 (22 and 20 bytes) */
    (void)snprintf(ds, sizeof ds, "D:%04d%02u%02u%02d%02d%02dZ", (int)y, mo, dd, (int)(secs / 3600),
             (int)(secs / 60 % 60), (int)(secs % 60));
    (void)snprintf(r->xmp_date, sizeof r->xmp_date, "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)y, mo, dd,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    if (HPDF_Dict_Add(w->pdf->info, "CreationDate", HPDF_String_New(mm, ds, NULL)) != HPDF_OK ||
        HPDF_Dict_Add(w->pdf->info, "ModDate", HPDF_String_New(mm, ds, NULL)) != HPDF_OK) {
      st = TS_ERR_INTERNAL;
      goto done;
    }
  }
  /* Catalog /Lang: a BCP 47 tag is ASCII letters, digits and hyphens. */
  const char *lang = m && m->lang ? m->lang : "en";
  int ok = lang[0] != 0 && strlen(lang) < 64;
  for (const char *p = lang; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '-'))
      ok = 0;
  if (ok) {
    if (HPDF_Dict_Add(w->pdf->catalog, "Lang", HPDF_String_New(mm, lang, NULL)) != HPDF_OK) {
      st = TS_ERR_INTERNAL;
      goto done;
    }
  }
  if (b.oom) st = TS_ERR_NOMEM;
done:
  ts_buf_free(&b);
  return st;
}

/* XMP metadata (ISO 16684-1) repeating the Info entries, so tools that
 * read only XMP find them; the document id derives from the content hash.
 * Left uncompressed so it can be found without a PDF parser. */
static void xmp_alt(ts_buf *b, const char *tag, const char *v) {
  ts_buf_printf(b, "   <%s><rdf:Alt><rdf:li xml:lang=\"x-default\">", tag);
  ts_buf_xml(b, v, strlen(v));
  ts_buf_printf(b, "</rdf:li></rdf:Alt></%s>\n", tag);
}

static void xmp_text(ts_buf *b, const char *tag, const char *v) {
  ts_buf_printf(b, "   <%s>", tag);
  ts_buf_xml(b, v, strlen(v));
  ts_buf_printf(b, "</%s>\n", tag);
}

static ts_status build_xmp(pdf_run *r) {
  pdf_w *w = &r->w;
  const ts_meta *m = w->doc ? &w->doc->meta : NULL;
  ts_buf b;
  ts_buf_init(&b);
  ts_buf_puts(&b, "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
                  "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
                  " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
                  "  <rdf:Description rdf:about=\"\"\n"
                  "    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
                  "    xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\"\n"
                  "    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n"
                  "    xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\">\n"
                  "   <dc:format>application/pdf</dc:format>\n");
  if (m && m->title) xmp_alt(&b, "dc:title", m->title);
  if (m && m->n_authors) {
    ts_buf_puts(&b, "   <dc:creator><rdf:Seq>");
    for (size_t i = 0; i < m->n_authors; i++) {
      if (!m->authors[i].name) continue;
      ts_buf_puts(&b, "<rdf:li>");
      ts_buf_xml(&b, m->authors[i].name, strlen(m->authors[i].name));
      ts_buf_puts(&b, "</rdf:li>");
    }
    ts_buf_puts(&b, "</rdf:Seq></dc:creator>\n");
  }
  if (m && m->abstract_text && m->abstract_text[0]) xmp_alt(&b, "dc:description", m->abstract_text);
  if (m && m->n_keywords) {
    ts_buf kw;
    ts_buf_init(&kw);
    ts_buf_puts(&b, "   <dc:subject><rdf:Bag>");
    for (size_t i = 0; i < m->n_keywords; i++) {
      if (!m->keywords[i]) continue;
      ts_buf_puts(&b, "<rdf:li>");
      ts_buf_xml(&b, m->keywords[i], strlen(m->keywords[i]));
      ts_buf_puts(&b, "</rdf:li>");
      if (kw.len) ts_buf_puts(&kw, ", ");
      ts_buf_puts(&kw, m->keywords[i]);
    }
    ts_buf_puts(&b, "</rdf:Bag></dc:subject>\n");
    ts_buf_putc(&kw, 0);
    if (!kw.oom) xmp_text(&b, "pdf:Keywords", kw.data);
    else b.oom = 1;
    ts_buf_free(&kw);
  }
  const char *lang = m && m->lang ? m->lang : "en";
  ts_buf_puts(&b, "   <dc:language><rdf:Bag><rdf:li>");
  ts_buf_xml(&b, lang, strlen(lang));
  ts_buf_puts(&b, "</rdf:li></rdf:Bag></dc:language>\n");
  char tool[64];
  (void)snprintf(tool, sizeof tool, "typeset %s", TS_VERSION); /* a short version string */
  xmp_text(&b, "xmp:CreatorTool", tool);
  {
    ts_buf pr;
    ts_buf_init(&pr);
    ts_buf_printf(&pr, "typeset %s (libHaru %s, HarfBuzz %s)", TS_VERSION, HPDF_GetVersion(),
                  hb_version_string());
    ts_buf_putc(&pr, 0);
    if (!pr.oom) xmp_text(&b, "pdf:Producer", pr.data);
    else b.oom = 1;
    ts_buf_free(&pr);
  }
  if (r->xmp_date[0]) {
    xmp_text(&b, "xmp:CreateDate", r->xmp_date);
    xmp_text(&b, "xmp:ModifyDate", r->xmp_date);
    xmp_text(&b, "xmp:MetadataDate", r->xmp_date);
  }
  ts_buf_puts(&b, "   <xmpMM:DocumentID>" XMP_UUID_HOLDER "</xmpMM:DocumentID>\n"
                  "   <xmpMM:InstanceID>" XMP_UUID_HOLDER "</xmpMM:InstanceID>\n");
  ts_buf_puts(&b, "  </rdf:Description>\n </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"r\"?>\n");
  ts_status st = b.oom ? TS_ERR_NOMEM : TS_OK;
  if (st == TS_OK) {
    HPDF_Dict md = HPDF_DictStream_New(w->pdf->mmgr, w->pdf->xref);
    if (!md || HPDF_Dict_AddName(md, "Type", "Metadata") != HPDF_OK ||
        HPDF_Dict_AddName(md, "Subtype", "XML") != HPDF_OK ||
        HPDF_Stream_Write(md->stream, (const HPDF_BYTE *)b.data, (HPDF_UINT)b.len) != HPDF_OK ||
        HPDF_Dict_Add(w->pdf->catalog, "Metadata", md) != HPDF_OK)
      st = TS_ERR_INTERNAL;
  }
  ts_buf_free(&b);
  return st;
}


/* Replaces the placeholders of the saved file by the hash of its bytes. */
static ts_status patch_ids(pdf_w *w, unsigned char *buf, size_t n) {
  static const char hx[] = "0123456789ABCDEF", lx[] = "0123456789abcdef";
  uint8_t dg[32];
  ts_hash_fast256(buf, n, dg);
  /* the trailer is at the end: search backwards */
  size_t hl = strlen(ID_HOLDER);
  unsigned char *id = NULL;
  for (size_t i = n >= hl ? n - hl + 1 : 0; i-- > 0;)
    if (buf[i] == '/' && memcmp(buf + i, ID_HOLDER, hl) == 0) { id = buf + i; break; }
  if (TS_NEVER(!id)) {
    ts_diag_report(w->d, TS_ERROR, w->file, 0, 0, "internal error: no /ID in the trailer");
    return TS_ERR_INTERNAL;
  }
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < 16; i++) {
      id[7 + k * 35 + 2 * i] = (unsigned char)hx[dg[i] >> 4];
      id[8 + k * 35 + 2 * i] = (unsigned char)hx[dg[i] & 15];
    }
  /* XMP ids: a version-5-style UUID from the hash's second half */
  size_t ul = strlen(XMP_UUID_HOLDER);
  for (int found = 0; found < 2;) {
    unsigned char *u = memmem(buf, n, XMP_UUID_HOLDER, ul);
    if (!u) break;
    size_t k = 5;
    for (int i = 0; i < 16; i++) {
      if (i == 4 || i == 6 || i == 8 || i == 10) k++; /* '-' */
      uint8_t v = dg[16 + i];
      if (i == 6) v = (uint8_t)((v & 0x0F) | 0x50);
      if (i == 8) v = (uint8_t)((v & 0x3F) | 0x80);
      u[k++] = (unsigned char)lx[v >> 4];
      u[k++] = (unsigned char)lx[v & 15];
    }
    found++;
  }
  return TS_OK;
}

/* Page labels: decimal from each page's folio; a new range where folios do
 * not follow on. */
static ts_status build_labels(pdf_run *r) {
  const ts_layout *l = r->w.layout;
  int prev = 0;
  for (size_t i = 0; i < l->n_pages; i++) {
    int num = l->pages[i].number > 0 ? l->pages[i].number : (int)i + 1;
    if (i == 0 || num != prev + 1) {
      if (HPDF_AddPageLabel(r->w.pdf, (HPDF_UINT)i, HPDF_PAGE_NUM_STYLE_DECIMAL, (HPDF_UINT)num,
                            NULL) != HPDF_OK)
        return TS_ERR_INTERNAL;
    }
    prev = num;
  }
  return TS_OK;
}

/* ---- The document ----------------------------------------------------------------*/

static ts_status render(pdf_run *r, unsigned char **data, size_t *len) {
  pdf_w *w = &r->w;
  const ts_layout *l = w->layout;
  ts_status st = TS_OK;
  unsigned char *out = NULL;
  struct libdeflate_compressor *zc = NULL; /* owned */
  zpipe zp; /* the page deflater's thread, when it runs (zpipe_stop) */
  memset(&zp, 0, sizeof zp);

  if (l->n_pages == 0 || !l->pages) {
    ts_diag_report(w->d, TS_ERROR, w->file, 0, 0, "nothing to write: the layout has no pages");
    st = TS_ERR_INPUT;
    goto done;
  }
  TS_CHECK(check_images(w));
  for (size_t p = 0; p < l->n_pages; p++) {
    double pw = l->pages[p].w, ph = l->pages[p].h;
    if (!(pw >= 3 && pw <= 14400 && ph >= 3 && ph <= 14400)) {
      /* ISO 32000-1 Annex C: page sides between 3 and 14,400 units. */
      ts_diag_report(w->d, TS_ERROR, w->file, 0, 0, "page %zu has an invalid size", p + 1);
      st = TS_ERR_INPUT;
      goto done;
    }
  }

  /* libharu's objects from an arena of the document (hpdf_alloc) */
  r->hpdf_prev = hpdf_arena;
  r->hpdf_a = ts_arena_create(32 * 1024);
  if (!r->hpdf_a) { st = TS_ERR_NOMEM; goto done; }
  hpdf_arena = r->hpdf_a;
  w->pdf = HPDF_NewEx(on_hpdf_error, hpdf_alloc, hpdf_free, 0, w);
  if (!w->pdf) { st = TS_ERR_NOMEM; goto done; }
  /* Before any page: libharu picks each page stream's filter when the page
   * is added. */
  if (HPDF_SetCompressionMode(w->pdf, HPDF_COMP_ALL) != HPDF_OK) { st = TS_ERR_INTERNAL; goto done; }
  w->compress = 1;
  /* Type 0 fonts with OpenType programs (FontFile3 /OpenType) need PDF 1.6. */
  w->pdf->pdf_version = HPDF_VER_17;

  r->pages = calloc(l->n_pages ? l->n_pages : 1, sizeof *r->pages);
  if (!r->pages) { st = TS_ERR_NOMEM; goto done; }
  for (size_t p = 0; p < l->n_pages; p++) {
    HPDF_Page pg = HPDF_AddPage(w->pdf);
    if (!pg || HPDF_Page_SetWidth(pg, (HPDF_REAL)l->pages[p].w) != HPDF_OK ||
        HPDF_Page_SetHeight(pg, (HPDF_REAL)l->pages[p].h) != HPDF_OK) {
      st = TS_ERR_INTERNAL;
      goto done;
    }
    r->pages[p] = pg;
  }
  TS_CHECK(collect_dests(r));

  /* Each glyph's text first, so drawing knows which clusters need ActualText. */
  for (size_t p = 0; p < l->n_pages; p++)
    for (size_t i = 0; i < l->pages[p].n; i++) {
      const ts_draw *it = &l->pages[p].items[i];
      if (it->kind == TS_DRAW_GLYPHS && it->run && it->run->face && it->run->glyphs)
        TS_CHECK(pdf_fonts_collect(w, it->run));
    }

  TS_CHECK(pdf_fonts_subset(w));

  zc = libdeflate_alloc_compressor(PDF_CONTENT_LEVEL);
  if (!zc) { st = TS_ERR_NOMEM; goto done; }
  if (l->n_pages > 1 && ts_ctx_threads(w->ctx) > 1) (void)zpipe_start(&zp);
  for (size_t p = 0; p < l->n_pages; p++) {
    HPDF_Page pg = r->pages[p];
    if (TS_NEVER(HPDF_Page_GetGMode(pg) != HPDF_GMODE_PAGE_DESCRIPTION)) {
      st = TS_ERR_INTERNAL;
      goto done;
    }
    page_state_reset(w);
    for (size_t i = 0; i < l->pages[p].n; i++) TS_CHECK(draw_item(r, pg, &l->pages[p].items[i]));
    text_end(w);
    TS_CHECK(flush_page(r, pg, zc, &zp));
  }
  if (zp.started) {
    TS_CHECK(zpipe_drain(w, &zp));
    zpipe_stop(&zp);
  }

  TS_CHECK(build_outline(r));
  TS_CHECK(build_info(r));
  TS_CHECK(build_labels(r));
  TS_CHECK(pdf_fonts_finish(w));

  /* Trailer /ID and XMP document id from the content: written as zero
   * placeholders, then the saved bytes (placeholders included) are hashed
   * and the placeholders overwritten in place (same length, so no offset
   * moves).  libharu writes no /ID unless encrypting, and its PDF/A ID
   * uses the clock. */
  {
    uint8_t zero[16] = {0};
    TS_CHECK(build_xmp(r));
    HPDF_Array id = HPDF_Array_New(w->pdf->mmgr);
    if (!id || HPDF_Dict_Add(w->pdf->trailer, "ID", id) != HPDF_OK ||
        HPDF_Array_Add(id, HPDF_Binary_New(w->pdf->mmgr, zero, 16)) != HPDF_OK ||
        HPDF_Array_Add(id, HPDF_Binary_New(w->pdf->mmgr, zero, 16)) != HPDF_OK) {
      st = TS_ERR_INTERNAL;
      goto done;
    }
  }

  TS_CHECK(pdf_deflate_streams(w));
  /* saved through a callback writer into w->out (see pdf_stream_set) */
  if (!w->pdf->stream) w->pdf->stream = HPDF_CallbackWriter_New(w->pdf->mmgr, out_write, &w->out);
  if (!w->pdf->stream) { st = TS_ERR_INTERNAL; goto done; }
  if (HPDF_SaveToStream(w->pdf) != HPDF_OK) {
    st = w->out.oom ? TS_ERR_NOMEM : TS_ERR_INTERNAL;
    goto done;
  }
  if (w->out.oom) { st = TS_ERR_NOMEM; goto done; }
  size_t size = w->out.len;
  if (size == 0) { st = TS_ERR_INTERNAL; goto done; }
  out = (unsigned char *)ts_buf_detach(&w->out, NULL);
  if (!out) { st = TS_ERR_NOMEM; goto done; }
  TS_CHECK(patch_ids(w, out, size));
  *data = out;
  *len = size;
  out = NULL;
done:
  if (st == TS_ERR_INTERNAL && pdf_failed(w)) {
    HPDF_STATUS e = w->err ? w->err : HPDF_GetError(w->pdf);
    if (e == HPDF_FAILD_TO_ALLOC_MEM) {
      st = TS_ERR_NOMEM;
    } else {
      ts_diag_report(w->d, TS_ERROR, w->file, 0, 0, "PDF library error 0x%04X (detail %u)",
                     (unsigned)e, (unsigned)w->err_detail);
    }
  } else if (st == TS_ERR_INTERNAL) {
    ts_diag_report(w->d, TS_ERROR, w->file, 0, 0, "internal error while writing the PDF");
  } else if (st == TS_ERR_NOMEM) {
    ts_diag_report(w->d, TS_ERROR, w->file, 0, 0, "out of memory while writing the PDF");
  }
  zpipe_stop(&zp);
  free(out);
  libdeflate_free_compressor(zc);
  return st;
}

static void run_free(pdf_run *r) {
  pdf_fonts_free(&r->w);
  if (r->w.pdf) HPDF_Free(r->w.pdf);
  r->w.pdf = NULL;
  if (r->hpdf_a) {
    ts_arena_destroy(r->hpdf_a);
    r->hpdf_a = NULL;
    hpdf_arena = r->hpdf_prev;
  }
  pdf_blobs_free(&r->w);
  ts_buf_free(&r->w.cs);
  ts_buf_free(&r->w.out);
  free(r->pages);
  free(r->dests);
  free(r->imgs);
}

ts_status ts_pdf_write_mem(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                           const ts_layout *layout, unsigned char **data, size_t *len,
                           ts_diag *d) {
  (void)style; /* everything the writer needs is in the layout */
  *data = NULL;
  *len = 0;
  if (!ctx || !layout || !d) return TS_ERR_USAGE;
  pdf_run r;
  memset(&r, 0, sizeof r);
  r.w.ctx = ctx;
  r.w.doc = doc;
  r.w.layout = layout;
  r.w.d = d;
  r.w.file = doc && doc->path ? doc->path : "(document)";
  const char *why = NULL;
  /* libharu is opened by the first PDF (and HarfBuzz by its layout) */
  if (!ts_hpdf_open(&why) || !ts_hb_open(&why)) {
    ts_diag_report(d, TS_ERROR, r.w.file, 0, 0, "%s", why);
    return TS_ERR_INTERNAL;
  }
  ts_buf_init(&r.w.cs);
  ts_buf_init(&r.w.out);
  ts_status st = render(&r, data, len);
  run_free(&r);
  return st;
}

void ts_pdf_prefetch(void) { (void)ts_hpdf_open(NULL); }

ts_status ts_pdf_write(ts_ctx *ctx, const ts_doc *doc, const ts_style *style,
                       const ts_layout *layout, const char *path, ts_diag *d) {
  unsigned char *data = NULL;
  size_t len = 0;
  if (!path) return TS_ERR_USAGE;
  ts_status st = ts_pdf_write_mem(ctx, doc, style, layout, &data, &len, d);
  if (st == TS_OK) {
    st = ts_write_file_atomic(path, data, len);
    if (st != TS_OK)
      ts_diag_report(d, TS_ERROR, path, 0, 0, "cannot write the PDF file");
  }
  free(data);
  return st;
}
