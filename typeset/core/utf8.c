/* utf8.c — strict UTF-8 decoding (RFC 3629: no overlongs, no surrogates). */
#include "ts_core.h"

#include <stdlib.h>
#include <string.h>

size_t ts_utf8_decode(const char *str, size_t n, uint32_t *cp) {
  const unsigned char *s = (const unsigned char *)str;
  *cp = 0xFFFD;
  if (n == 0) return 0;
  unsigned char c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t v, min;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; v = c & 0x1F; min = 0x80; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; v = c & 0x0F; min = 0x800; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; v = c & 0x07; min = 0x10000; }
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    v = (v << 6) | (s[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

size_t ts_utf8_encode(uint32_t cp, char *o) {
  unsigned char *out = (unsigned char *)o;
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) { out[0] = (unsigned char)cp; return 1; }
  if (cp < 0x800) {
    out[0] = (unsigned char)(0xC0 | (cp >> 6));
    out[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (unsigned char)(0xE0 | (cp >> 12));
    out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (unsigned char)(0xF0 | (cp >> 18));
  out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

char *ts_utf8_sanitize(const char *s, size_t n, size_t *out_len, unsigned *bad_line) {
  *bad_line = 0;
  if (n > (SIZE_MAX - 1) / 3) return NULL;
  /* worst case: every byte becomes U+FFFD (3 bytes) */
  char *out = malloc(n * 3 + 1);
  if (!out) return NULL;
  size_t o = 0;
  size_t i = 0;
  while (i < n) {
    /* ASCII without NUL, eight bytes at a time: (w - 0x01..) | w has a
     * byte's high bit set where the byte is 0 or >= 0x80 (and at most
     * next to such a byte), which the byte loop then sorts out */
    size_t j = i;
    for (uint64_t w; j + 8 <= n; j += 8) {
      memcpy(&w, s + j, 8);
      if (((w - 0x0101010101010101ull) | w) & 0x8080808080808080ull) break;
    }
    while (j < n && (unsigned char)s[j] && (unsigned char)s[j] < 0x80) j++;
    memcpy(out + o, s + i, j - i);
    o += j - i;
    i = j;
    if (i >= n) break;
    unsigned char c = (unsigned char)s[i];
    uint32_t cp;
    size_t l = c ? ts_utf8_decode(s + i, n - i, &cp) : 0;
    if (l == 0) {
      if (!*bad_line) { /* the first bad byte's line */
        unsigned line = 1;
        for (size_t k = 0; k < i; k++) line += s[k] == '\n';
        *bad_line = line;
      }
      memcpy(out + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
      continue;
    }
    memcpy(out + o, s + i, l);
    o += l;
    i += l;
  }
  out[o] = 0;
  *out_len = o;
  return out;
}
