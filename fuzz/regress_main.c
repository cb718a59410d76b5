/* regress_main.c — runs a fuzz target's LLVMFuzzerTestOneInput over saved
 * inputs without libFuzzer (any compiler), so crash inputs stay regression
 * tests in the ordinary suite.  Arguments: files or folders (every regular
 * file in a folder, in sorted order).  Exit 0 when every input ran; a bug
 * shows as a crash, a sanitizer report or an abort in the target. */
#include "fuzz_common.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path) {
  size_t n = 0;
  char *data = ts_file_read(path, &n, 0);
  if (!data) {
    fprintf(stderr, "fuzz_regress: cannot read %s\n", path);
    return 1;
  }
  /* an exact-size copy so ASan sees reads past the end of the input */
  uint8_t *copy = malloc(n ? n : 1);
  if (!copy) {
    free(data);
    return 1;
  }
  memcpy(copy, data, n);
  free(data);
  fprintf(stderr, "fuzz_regress: %s (%zu bytes)\n", path, n);
  LLVMFuzzerTestOneInput(copy, n);
  free(copy);
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, size_t *count) {
  DIR *dp = opendir(dir);
  if (!dp) {
    fprintf(stderr, "fuzz_regress: cannot open %s\n", dir);
    return 1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  int bad = 0;
  struct dirent *e;
  while ((e = readdir(dp)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 64;
      char **t = realloc(names, nc * sizeof *t);
      if (!t) {
        bad = 1;
        break;
      }
      names = t;
      cap = nc;
    }
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    names[n] = malloc(len);
    if (!names[n]) {
      bad = 1;
      break;
    }
    snprintf(names[n], len, "%s/%s", dir, e->d_name);
    n++;
  }
  closedir(dp);
  if (n) qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    struct stat sb;
    if (!bad && stat(names[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
      bad |= run_file(names[i]);
      (*count)++;
    }
    free(names[i]);
  }
  free(names);
  return bad;
}

int main(int argc, char **argv) {
  size_t count = 0;
  int bad = 0;
  for (int i = 1; i < argc; i++) {
    struct stat sb;
    if (stat(argv[i], &sb) != 0) {
      fprintf(stderr, "fuzz_regress: no such input %s\n", argv[i]);
      bad = 1;
    } else if (S_ISDIR(sb.st_mode)) {
      bad |= run_dir(argv[i], &count);
    } else {
      bad |= run_file(argv[i]);
      count++;
    }
  }
  if (count == 0) {
    fprintf(stderr, "fuzz_regress: no inputs\n");
    bad = 1;
  }
  fprintf(stderr, "fuzz_regress: %zu inputs\n", count);
  return bad;
}
