/* page_image.c — an image's size from its file header, read in bounded
 * steps: PNG (IHDR, and pHYs for the resolution: PNG spec §11.2.2, §11.3.5.3)
 * and JPEG (the first SOFn marker, and the JFIF APP0 density: ITU T.81
 * Annex B, JFIF 1.02) and GIF (the logical screen, GIF89a §18).  Images
 * without a resolution (every GIF) are taken at 150 dpi. */
#include "page_int.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_DPI 150.0

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

static int png_size(FILE *fp, double *w, double *h, const char **why) {
  unsigned char hd[33];
  if (fread(hd, 1, 33, fp) != 33 || memcmp(hd + 12, "IHDR", 4)) {
    *why = "truncated PNG header";
    return -1;
  }
  uint32_t pw = be32(hd + 16), ph = be32(hd + 20);
  if (!pw || !ph) {
    *why = "PNG with zero dimensions";
    return -1;
  }
  if (!TS_IMAGE_FITS(pw, ph)) {
    *why = TS_IMAGE_TOO_LARGE;
    return -1;
  }
  double dpx = DEFAULT_DPI, dpy = DEFAULT_DPI;
  /* look for pHYs among the next chunks (it must come before IDAT) */
  for (int i = 0; i < 64; i++) {
    unsigned char ch[8];
    if (fread(ch, 1, 8, fp) != 8) break;
    uint32_t len = be32(ch);
    if (!memcmp(ch + 4, "IDAT", 4) || !memcmp(ch + 4, "IEND", 4)) break;
    if (!memcmp(ch + 4, "pHYs", 4) && len == 9) {
      unsigned char ph9[9];
      if (fread(ph9, 1, 9, fp) != 9) break;
      uint32_t x = be32(ph9), y = be32(ph9 + 4);
      if (ph9[8] == 1 && x > 0 && y > 0) { /* pixels per metre */
        dpx = x * 0.0254;
        dpy = y * 0.0254;
        if (dpx < 30 || dpx > 5000) dpx = DEFAULT_DPI;
        if (dpy < 30 || dpy > 5000) dpy = DEFAULT_DPI;
      }
      break;
    }
    if (len > (1u << 30) || fseek(fp, (long)len + 4, SEEK_CUR) != 0) break;
  }
  *w = pw * 72.0 / dpx;
  *h = ph * 72.0 / dpy;
  return 0;
}

static int jpeg_size(FILE *fp, double *w, double *h, const char **why) {
  double dpx = DEFAULT_DPI, dpy = DEFAULT_DPI;
  /* after SOI: segments FF xx [len16] ... */
  for (int seg = 0; seg < 4096; seg++) {
    int c = fgetc(fp);
    while (c == 0xFF) c = fgetc(fp); /* fill bytes */
    if (c == EOF) break;
    if (c == 0xD8 || (c >= 0xD0 && c <= 0xD7) || c == 0x01) continue; /* no length */
    unsigned char l2[2];
    if (fread(l2, 1, 2, fp) != 2) break;
    unsigned len = be16(l2);
    if (len < 2) break;
    if (c == 0xE0 && len >= 16) { /* JFIF density */
      unsigned char j[14];
      if (fread(j, 1, 14, fp) != 14) break;
      if (!memcmp(j, "JFIF", 5) && j[7] != 0) {
        unsigned xd = be16(j + 8), yd = be16(j + 10);
        double f = j[7] == 2 ? 2.54 : 1.0; /* dots per cm → per inch */
        if (xd && yd) {
          dpx = xd * f;
          dpy = yd * f;
          if (dpx < 30 || dpx > 5000) dpx = DEFAULT_DPI;
          if (dpy < 30 || dpy > 5000) dpy = DEFAULT_DPI;
        }
      }
      if (fseek(fp, (long)len - 16, SEEK_CUR) != 0) break;
      continue;
    }
    if (c >= 0xC0 && c <= 0xCF && c != 0xC4 && c != 0xC8 && c != 0xCC) {
      unsigned char sof[5];
      if (len < 7 || fread(sof, 1, 5, fp) != 5) break;
      unsigned ph = be16(sof + 1), pw = be16(sof + 3);
      if (!pw || !ph) {
        *why = "JPEG with zero dimensions";
        return -1;
      }
      if (!TS_IMAGE_FITS(pw, ph)) {
        *why = TS_IMAGE_TOO_LARGE;
        return -1;
      }
      /* a JPEG cut short has no end-of-image marker near its end (tools
       * may pad after it, so look through the last bytes) */
      unsigned char tail[256];
      long sz;
      if (fseek(fp, 0, SEEK_END) != 0 || (sz = ftell(fp)) < 4) break;
      long from = sz > (long)sizeof tail ? sz - (long)sizeof tail : 0;
      if (fseek(fp, from, SEEK_SET) != 0) break;
      size_t n = fread(tail, 1, (size_t)(sz - from), fp);
      int eoi = 0;
      for (size_t k = 0; k + 1 < n; k++)
        if (tail[k] == 0xFF && tail[k + 1] == 0xD9) eoi = 1;
      if (!eoi) {
        *why = "truncated JPEG (no end-of-image marker)";
        return -1;
      }
      *w = pw * 72.0 / dpx;
      *h = ph * 72.0 / dpy;
      return 0;
    }
    if (c == 0xD9 || c == 0xDA) break; /* end of image / start of scan before SOF */
    if (fseek(fp, (long)len - 2, SEEK_CUR) != 0) break;
  }
  *why = "no JPEG frame header (SOF) found";
  return -1;
}

/* The logical screen's size (little-endian 16-bit width and height after
 * the 6-byte signature); the PDF draws the first image on it. */
static int gif_size(const unsigned char *sig, size_t n, FILE *fp, double *w, double *h,
                    const char **why) {
  unsigned char hd[10];
  memcpy(hd, sig, n);
  if (fread(hd + n, 1, sizeof hd - n, fp) != sizeof hd - n) {
    *why = "truncated GIF header";
    return -1;
  }
  uint32_t gw = (uint32_t)hd[6] | (uint32_t)hd[7] << 8, gh = (uint32_t)hd[8] | (uint32_t)hd[9] << 8;
  if (!gw || !gh) {
    *why = "GIF with zero dimensions";
    return -1;
  }
  if (!TS_IMAGE_FITS(gw, gh)) {
    *why = TS_IMAGE_TOO_LARGE;
    return -1;
  }
  *w = gw * 72.0 / DEFAULT_DPI;
  *h = gh * 72.0 / DEFAULT_DPI;
  return 0;
}

int pg_image_size(const char *path, double *w, double *h, const char **why) {
  *why = NULL;
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    *why = "cannot be opened";
    return -1;
  }
  unsigned char sig[8];
  int rc = -1;
  size_t n = fread(sig, 1, 8, fp);
  if (n == 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8)) {
    rewind(fp);
    rc = png_size(fp, w, h, why);
  } else if (n >= 3 && sig[0] == 0xFF && sig[1] == 0xD8 && sig[2] == 0xFF) {
    if (fseek(fp, 2, SEEK_SET) != 0) *why = "cannot be read";
    else rc = jpeg_size(fp, w, h, why);
  } else if (n >= 6 && (!memcmp(sig, "GIF87a", 6) || !memcmp(sig, "GIF89a", 6))) {
    rc = gif_size(sig, n, fp, w, h, why);
  } else {
    *why = "not a PNG, JPEG or GIF image";
  }
  (void)fclose(fp); /* only read */
  return rc;
}
