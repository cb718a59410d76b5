/* cache_files.h — for tests of the files kept in typeset's cache folder
 * (core/dcache.c): counts the regular files of dir whose names start with
 * prefix, copies the first max names into names (when given) and the
 * oldest modification time into *oldest (when given; 0 for none). */
#ifndef TS_TEST_CACHE_FILES_H
#define TS_TEST_CACHE_FILES_H

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static inline size_t ts_test_cache_files(const char *dir, const char *prefix, char names[][64],
                                         size_t max, time_t *oldest) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  size_t n = 0, pl = strlen(prefix);
  if (oldest) *oldest = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (strncmp(e->d_name, prefix, pl) != 0) continue;
    if (n < max && names) snprintf(names[n], 64, "%.63s", e->d_name);
    struct stat st;
    char p[600];
    snprintf(p, sizeof p, "%.500s/%.63s", dir, e->d_name);
    ck_assert_int_eq(stat(p, &st), 0);
    if (oldest && (*oldest == 0 || st.st_mtime < *oldest)) *oldest = st.st_mtime;
    n++;
  }
  closedir(d);
  return n;
}

/* Sets every such file's times to 2001-01-01 (978307200), so a test can
 * tell which ones a run touched. */
static inline void ts_test_cache_age(const char *dir, const char *prefix) {
  char names[64][64];
  size_t n = ts_test_cache_files(dir, prefix, names, 64, NULL);
  ck_assert_uint_le(n, 64);
  struct timespec t[2] = {{978307200, 0}, {978307200, 0}};
  for (size_t i = 0; i < n; i++) {
    char p[600];
    snprintf(p, sizeof p, "%.500s/%.63s", dir, names[i]);
    ck_assert_int_eq(utimensat(AT_FDCWD, p, t, 0), 0);
  }
}

/* Changes the 7th byte from the end of the file at path. */
static inline void ts_test_flip_byte(const char *path) {
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fseek(f, -7, SEEK_END), 0);
  int c = fgetc(f);
  ck_assert_int_eq(fseek(f, -7, SEEK_END), 0);
  fputc(c ^ 0x55, f);
  fclose(f);
}

#endif
