/* fuzz_image — bytes as an image file.  They are written to fig.png and
 * fig.jpg in a folder of the process's own (the name does not decide the
 * format: typeset reads the signature), and two fixed documents there use
 * them: one as figures, through ts_page_layout, ts_pdf_write_mem and
 * ts_epub_write_mem, one as its cover image, through ts_epub_write_mem.
 * This reaches what the Markdown targets cannot make: the PNG, JPEG and
 * GIF header readers (page size, PDF probe, the PNG stream check and direct
 * embedding, libharu's, libpng's and giflib's decoders) and the EPUB's
 * image and cover handling.  Every refusal must be a located error; an output must
 * look like a PDF or a ZIP. */
#include "fuzz_render.h"

#include <unistd.h>

static const char figures_md[] = "---\ntitle: Figures\n---\n\n"
                                 "![A figure read as PNG](fig.png \"The caption\")\n\n"
                                 "A paragraph between the figures.\n\n"
                                 "![A figure read as JPEG](fig.jpg)\n";
static const char cover_md[] = "---\ntitle: Cover\ncover-image: fig.png\n---\n\nText.\n";

/* The folder, made once per process (a harness-only global) and removed
 * with its files at exit. */
static char fuzz_dir_name[64];

static void fuzz_dir_remove(void) {
  static const char *const names[] = {"fig.png", "fig.jpg"};
  char path[128];
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    (void)snprintf(path, sizeof path, "%s/%s", fuzz_dir_name, names[i]);
    (void)unlink(path);
  }
  (void)rmdir(fuzz_dir_name);
}

static const char *fuzz_dir(void) {
  if (!fuzz_dir_name[0]) {
    const char *tmp = getenv("TMPDIR");
    (void)snprintf(fuzz_dir_name, sizeof fuzz_dir_name, "%s/typeset-fuzz-image-XXXXXX",
                   tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    if (!mkdtemp(fuzz_dir_name)) abort();
    if (atexit(fuzz_dir_remove) != 0) abort();
  }
  return fuzz_dir_name;
}

static void put(const char *dir, const char *name, const uint8_t *data, size_t size) {
  char path[128];
  (void)snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if ((size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ts_ctx *ctx = fuzz_ctx();
  const char *dir = fuzz_dir();
  put(dir, "fig.png", data, size);
  put(dir, "fig.jpg", data, size);
  char path[128];
  (void)snprintf(path, sizeof path, "%s/paper.md", dir);
  fuzz_render(ctx, path, figures_md, strlen(figures_md), 1);
  fuzz_render(ctx, path, cover_md, strlen(cover_md), 0);
  return 0;
}
