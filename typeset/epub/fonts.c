/* fonts.c — embedded fonts for the EPUB: the style's faces subset with
 * harfbuzz-subset to the characters the book uses.  (Placeholder until the
 * fonts stage lands: the book then uses the reader's fonts.) */
#include "epub_int.h"

ts_status epub_embed_fonts(epub *E) {
  (void)E;
  return TS_OK;
}
