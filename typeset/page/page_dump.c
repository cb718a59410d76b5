/* page_dump.c — --dump pages: one line per display-list item, stable (fixed
 * two-decimal coordinates, no pointers, image paths by file name). */
#include "page_int.h"

#include <math.h>
#include <string.h>

static void fix2(ts_buf *b, double v) {
  long long c = llround(v * 100.0);
  if (c < 0) {
    ts_buf_putc(b, '-');
    c = -c;
  }
  ts_buf_printf(b, "%lld.%02lld", c / 100, c % 100);
}

static void kv(ts_buf *b, const char *k, double v) {
  ts_buf_printf(b, " %s=", k);
  fix2(b, v);
}

static void text(ts_buf *b, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\n') ts_buf_puts(b, "\\n");
    else if (c == '\\') ts_buf_puts(b, "\\\\");
    else if (c < 0x20) ts_buf_printf(b, "\\x%02x", c);
    else ts_buf_putc(b, (char)c);
  }
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

void ts_page_dump(const ts_layout *l, ts_buf *out) {
  if (!l || !out) return;
  for (size_t p = 0; p < l->n_pages; p++) {
    const ts_page *pg = &l->pages[p];
    ts_buf_printf(out, "page %d size", pg->number);
    kv(out, "w", pg->w);
    kv(out, "h", pg->h);
    ts_buf_putc(out, '\n');
    for (size_t i = 0; i < pg->n; i++) {
      const ts_draw *d = &pg->items[i];
      ts_buf_printf(out, "page %d ", pg->number);
      switch (d->kind) {
      case TS_DRAW_GLYPHS:
        ts_buf_puts(out, "glyphs");
        kv(out, "x", d->x);
        kv(out, "y", d->y);
        ts_buf_puts(out, " size=");
        ts_buf_num(out, d->run ? d->run->size : 0, 2);
        if (d->color) ts_buf_printf(out, " color=#%06x", (unsigned)(d->color & 0xffffff));
        ts_buf_puts(out, " text=");
        if (d->run && d->run->text) text(out, d->run->text, d->run->text_len);
        break;
      case TS_DRAW_RULE:
        ts_buf_puts(out, "rule");
        kv(out, "x", d->x);
        kv(out, "y", d->y);
        kv(out, "w", d->w);
        kv(out, "h", d->h);
        kv(out, "lw", d->lw);
        ts_buf_printf(out, " color=#%06x", (unsigned)(d->color & 0xffffff));
        break;
      case TS_DRAW_RECT:
        ts_buf_puts(out, "rect");
        kv(out, "x", d->x);
        kv(out, "y", d->y);
        kv(out, "w", d->w);
        kv(out, "h", d->h);
        ts_buf_printf(out, " color=#%06x", (unsigned)(d->color & 0xffffff));
        break;
      case TS_DRAW_IMAGE:
        ts_buf_puts(out, "image");
        kv(out, "x", d->x);
        kv(out, "y", d->y);
        kv(out, "w", d->w);
        kv(out, "h", d->h);
        ts_buf_puts(out, " file=");
        if (d->image) text(out, base_name(d->image), strlen(base_name(d->image)));
        break;
      case TS_DRAW_LINK:
        ts_buf_puts(out, "link");
        kv(out, "x", d->x);
        kv(out, "y", d->y);
        kv(out, "w", d->w);
        kv(out, "h", d->h);
        if (d->uri) {
          ts_buf_puts(out, " uri=");
          text(out, d->uri, strlen(d->uri));
        }
        if (d->dest) {
          ts_buf_puts(out, " dest=");
          text(out, d->dest, strlen(d->dest));
        }
        break;
      case TS_DRAW_DEST:
        ts_buf_puts(out, "dest");
        kv(out, "x", d->x);
        kv(out, "y", d->y);
        ts_buf_puts(out, " name=");
        if (d->dest) text(out, d->dest, strlen(d->dest));
        break;
      default:
        ts_buf_printf(out, "unknown kind=%d", d->kind);
        break;
      }
      ts_buf_putc(out, '\n');
    }
  }
  for (size_t i = 0; i < l->n_outline; i++) {
    const ts_outline_entry *e = &l->outline[i];
    ts_buf_printf(out, "outline level=%d dest=", e->level);
    if (e->dest) text(out, e->dest, strlen(e->dest));
    ts_buf_puts(out, " title=");
    if (e->title) text(out, e->title, strlen(e->title));
    ts_buf_putc(out, '\n');
  }
}
