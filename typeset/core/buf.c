/* buf.c — growable heap buffer with a sticky out-of-memory flag. */
#include "ts_core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ts_buf_init(ts_buf *b) { memset(b, 0, sizeof *b); }

void ts_buf_free(ts_buf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

void ts_buf_clear(ts_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = 0;
}

static int grow(ts_buf *b, size_t extra) {
  if (b->oom) return 0;
  if (extra > SIZE_MAX - b->len - 1) {
    b->oom = 1;
    return 0;
  }
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return 1;
  size_t ncap = b->cap ? b->cap : 256;
  while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
  char *nd = realloc(b->data, ncap);
  if (!nd) {
    b->oom = 1;
    return 0;
  }
  b->data = nd;
  b->cap = ncap;
  return 1;
}

void ts_buf_append(ts_buf *b, const void *p, size_t n) {
  if (!n || !grow(b, n)) return;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = 0;
}

void ts_buf_puts(ts_buf *b, const char *s) { ts_buf_append(b, s, strlen(s)); }

void ts_buf_putc(ts_buf *b, char c) { ts_buf_append(b, &c, 1); }

void ts_buf_put_u32(ts_buf *b, uint32_t v) { ts_buf_append(b, &v, sizeof v); }

void ts_buf_put_u64(ts_buf *b, uint64_t v) { ts_buf_append(b, &v, sizeof v); }

void ts_buf_put_str(ts_buf *b, const char *s) {
  size_t n = strlen(s);
  ts_buf_put_u32(b, (uint32_t)n);
  ts_buf_append(b, s, n);
}

uint32_t ts_rd_u32(ts_rd *r) {
  uint32_t v = 0;
  if (r->bad || (size_t)(r->end - r->p) < sizeof v) { r->bad = 1; return 0; }
  memcpy(&v, r->p, sizeof v);
  r->p += sizeof v;
  return v;
}

uint64_t ts_rd_u64(ts_rd *r) {
  uint64_t v = 0;
  if (r->bad || (size_t)(r->end - r->p) < sizeof v) { r->bad = 1; return 0; }
  memcpy(&v, r->p, sizeof v);
  r->p += sizeof v;
  return v;
}

char *ts_rd_str(ts_rd *r) {
  uint32_t n = ts_rd_u32(r);
  if (r->bad || (size_t)(r->end - r->p) < n || memchr(r->p, 0, n)) { r->bad = 1; return NULL; }
  char *s = malloc((size_t)n + 1);
  if (!s) { r->bad = 1; return NULL; }
  memcpy(s, r->p, n);
  s[n] = 0;
  r->p += n;
  return s;
}

void ts_buf_printf(ts_buf *b, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n > 0 && grow(b, (size_t)n)) {
    (void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2); /* sized by the first call */
    b->len += (size_t)n;
  }
  va_end(ap2);
}

void ts_buf_num(ts_buf *b, double v, int prec) {
  char tmp[64];
  if (!isfinite(v)) v = 0;
  if (prec < 0) prec = 0;
  if (prec > 9) prec = 9;
  double scale = 1;
  for (int i = 0; i < prec; i++) scale *= 10;
  if (fabs(v) > 1e15) v = v < 0 ? -1e15 : 1e15;
  double r = round(fabs(v) * scale);
  int neg = v < 0 && r != 0;
  /* integer arithmetic: no locale, no exponent */
  unsigned long long iv = (unsigned long long)r;
  unsigned long long ip = iv / (unsigned long long)scale;
  unsigned long long fp = iv % (unsigned long long)scale;
  /* the integer part by hand: snprintf was 5 % of a book's instructions */
  char digits[24];
  int nd = 0;
  do {
    digits[nd++] = (char)('0' + ip % 10);
    ip /= 10;
  } while (ip);
  int n = 0;
  if (neg) tmp[n++] = '-';
  while (nd) tmp[n++] = digits[--nd];
  if (fp && prec) {
    char frac[16];
    for (int i = prec - 1; i >= 0; i--) {
      frac[i] = (char)('0' + fp % 10);
      fp /= 10;
    }
    int len = prec;
    while (len > 0 && frac[len - 1] == '0') len--;
    tmp[n++] = '.';
    memcpy(tmp + n, frac, (size_t)len);
    n += len;
  }
  ts_buf_append(b, tmp, (size_t)n);
}

void ts_buf_json_str(ts_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  ts_buf_putc(b, '"');
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char u[7];
    switch (c) {
    case '"': esc = "\\\""; break;
    case '\\': esc = "\\\\"; break;
    case '\n': esc = "\\n"; break;
    case '\r': esc = "\\r"; break;
    case '\t': esc = "\\t"; break;
    case '\b': esc = "\\b"; break;
    case '\f': esc = "\\f"; break;
    default:
      if (c < 0x20) {
        u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
        u[4] = hex[c >> 4]; u[5] = hex[c & 15]; u[6] = 0;
        esc = u;
      }
    }
    if (esc) {
      ts_buf_append(b, s + i - run, run);
      run = 0;
      ts_buf_puts(b, esc);
    } else {
      run++;
    }
  }
  ts_buf_append(b, s + n - run, run);
  ts_buf_putc(b, '"');
}

/* Bytes that pass unchanged are appended a run at a time (a byte at a time
 * cost ~60 instructions each: 0.7 M of a 2-page paper's EPUB). */
void ts_buf_xml(ts_buf *b, const char *s, size_t n) {
  size_t i = 0, run = 0; /* s[i - run, i) passes unchanged */
  if (n && !grow(b, n)) return; /* most text needs no more than itself */
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    size_t skip = 0; /* bytes dropped or replaced */
    if (c < 0x80) {
      switch (c) {
      case '&': esc = "&amp;"; break;
      case '<': esc = "&lt;"; break;
      case '>': esc = "&gt;"; break;
      case '"': esc = "&quot;"; break;
      case '\'': esc = "&#39;"; break;
      default:
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') skip = 1; /* not in XML 1.0 */
        break;
      }
      if (esc) skip = 1;
      if (!skip) {
        run++;
        i++;
        continue;
      }
    } else {
      uint32_t cp;
      size_t l = ts_utf8_decode(s + i, n - i, &cp);
      if (l == 0) {
        esc = "\xEF\xBF\xBD";
        skip = 1;
      } else if (cp == 0xFFFE || cp == 0xFFFF || (cp >= 0x80 && cp <= 0x9F)) {
        skip = l; /* U+FFFE/U+FFFF and C1 controls are not allowed / discouraged in XML */
      } else {
        run += l;
        i += l;
        continue;
      }
    }
    ts_buf_append(b, s + i - run, run);
    run = 0;
    if (esc) ts_buf_puts(b, esc);
    i += skip;
  }
  ts_buf_append(b, s + n - run, run);
}

char *ts_buf_detach(ts_buf *b, size_t *len) {
  char *d = b->data;
  if (len) *len = b->len;
  if (!d) d = calloc(1, 1);
  memset(b, 0, sizeof *b);
  return d;
}
