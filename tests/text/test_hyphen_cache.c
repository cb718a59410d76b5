/* Tests for typeset/text/hyphen_cache.c: the automaton rebuilt from the
 * cache file is libhyphen's own, state for state, and hyphenates exactly as
 * a fresh load; a damaged, truncated or stale cache file is ignored and
 * rewritten; TYPESET_CACHE_DIR=off writes nothing. */
#include "text/hyphen_cache.h"

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static char dir[64];

static void setup(void)
{
  snprintf(dir, sizeof dir, "/tmp/ts-hycache-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  setenv("TYPESET_CACHE_DIR", dir, 1);
}

static void teardown(void)
{
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
      if (e->d_name[0] != '.') {
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
      }
    closedir(d);
  }
  rmdir(dir);
}

/* The one cache file in dir (its path into out); 0 when there is none. */
static int cache_file(char *out, size_t cap)
{
  DIR *d = opendir(dir);
  int n = 0;
  if (!d) return 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (!strncmp(e->d_name, "hyph-", 5) && strstr(e->d_name, ".bin")) {
      snprintf(out, cap, "%s/%s", dir, e->d_name);
      n++;
    }
  closedir(d);
  return n;
}

static int same_str(const char *a, const char *b)
{
  if (!a || !b) return a == b;
  return !strcmp(a, b);
}

/* Structural equality of two automata, level by level. */
static void assert_same_dict(const HyphenDict *a, const HyphenDict *b)
{
  int states = 0;
  for (; a || b; a = a->nextlevel, b = b->nextlevel) {
    ck_assert(a && b);
    ck_assert_int_eq(a->lhmin, b->lhmin);
    ck_assert_int_eq(a->rhmin, b->rhmin);
    ck_assert_int_eq(a->clhmin, b->clhmin);
    ck_assert_int_eq(a->crhmin, b->crhmin);
    ck_assert_int_eq(a->utf8, b->utf8);
    ck_assert_str_eq(a->cset, b->cset);
    ck_assert_int_eq(a->nohyphenl, b->nohyphenl);
    ck_assert_int_eq(!a->nohyphen, !b->nohyphen);
    ck_assert_int_eq(a->num_states, b->num_states);
    states += a->num_states;
    for (int i = 0; i < a->num_states; i++) {
      const HyphenState *x = &a->states[i], *y = &b->states[i];
      ck_assert(same_str(x->match, y->match));
      ck_assert(same_str(x->repl, y->repl));
      if (x->repl) { /* libhyphen leaves them uninitialised otherwise */
        ck_assert_int_eq(x->replindex, y->replindex);
        ck_assert_int_eq(x->replcut, y->replcut);
      }
      ck_assert_int_eq(x->fallback_state, y->fallback_state);
      ck_assert_int_eq(x->num_trans, y->num_trans);
      for (int k = 0; k < x->num_trans; k++) {
        ck_assert_int_eq(x->trans[k].ch, y->trans[k].ch);
        ck_assert_int_eq(x->trans[k].new_state, y->trans[k].new_state);
      }
    }
  }
  ck_assert_int_gt(states, 100); /* the patterns, not an empty shell */
}

static const char *const en_words[] = {
    "hyphenation", "typesetting", "international", "cooperation", "infrastructure",
    "responsibility", "misunderstanding", "characteristically", "photographic",
    "representatives", "organization", "environmental", "nevertheless", "unprecedented",
    "demonstration", "multilateralism", "geopolitical", "transportation"};

/* Hyphenation vectors of every word with a dictionary, concatenated. */
static void hyphens_of(HyphenDict *d, char *out, size_t cap)
{
  size_t k = 0;
  for (size_t i = 0; i < sizeof en_words / sizeof *en_words; i++) {
    const char *w = en_words[i];
    int n = (int)strlen(w);
    char hy[64];
    char **rep = NULL;
    int *pos = NULL, *cut = NULL;
    memset(hy, 0, sizeof hy);
    ck_assert_int_eq(hnj_hyphen_hyphenate2(d, w, n, hy, NULL, &rep, &pos, &cut), 0);
    ck_assert_ptr_null(rep);
    ck_assert(k + (size_t)n + 1 < cap);
    for (int j = 0; j < n; j++) out[k++] = (char)('0' + (hy[j] & 1));
    out[k++] = '|';
  }
  out[k] = 0;
}

#define EN "/usr/share/hyphen/hyph_en_US.dic"

START_TEST(cold_then_warm_is_the_same_automaton)
{
  int in_block = -1;
  char path[512];
  HyphenDict *cold = ts_hy_load_cached(EN, &in_block);
  ck_assert_ptr_nonnull(cold);
  ck_assert_int_eq(in_block, 0); /* nothing cached yet: libhyphen loaded it */
  ck_assert_int_eq(cache_file(path, sizeof path), 1);
  HyphenDict *warm = ts_hy_load_cached(EN, &in_block);
  ck_assert_ptr_nonnull(warm);
  ck_assert_int_eq(in_block, 1); /* rebuilt from the file */
  assert_same_dict(cold, warm);
  char a[1024], b[1024];
  hyphens_of(cold, a, sizeof a);
  hyphens_of(warm, b, sizeof b);
  ck_assert_str_eq(a, b);
  ck_assert(strchr(a, '1') != NULL); /* the words do hyphenate */
  ts_hy_release(cold, 0);
  ts_hy_release(warm, 1);
}
END_TEST

/* Every dictionary Debian ships for the tested languages (8-bit charsets
 * and NOHYPHEN/compound levels included) survives the round trip. */
START_TEST(round_trip_each_language)
{
  static const char *const dics[] = {"/usr/share/hyphen/hyph_de_DE.dic",
                                     "/usr/share/hyphen/hyph_ru_RU.dic",
                                     "/usr/share/hyphen/hyph_fr.dic",
                                     "/usr/share/hyphen/hyph_en_GB.dic"};
  const char *p = dics[_i];
  int in_block = -1;
  HyphenDict *cold = ts_hy_load_cached(p, &in_block);
  ck_assert_ptr_nonnull(cold);
  ck_assert_int_eq(in_block, 0);
  HyphenDict *warm = ts_hy_load_cached(p, &in_block);
  ck_assert_int_eq(in_block, 1);
  assert_same_dict(cold, warm);
  ts_hy_release(cold, 0);
  ts_hy_release(warm, 1);
}
END_TEST

static void damage(const char *path, long at, int truncate_here)
{
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  if (truncate_here) {
    ck_assert_int_eq(ftruncate(fileno(f), at), 0);
  } else {
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0x5A, f);
  }
  fclose(f);
}

/* 0: a byte of the payload flipped, 1: truncated, 2: a byte of the header,
 * 3: written by another build (the header's build identity, its last field,
 * differs in one character) */
START_TEST(damaged_cache_is_ignored_and_rewritten)
{
  int in_block = -1;
  char path[512];
  HyphenDict *ref = ts_hy_load_cached(EN, &in_block);
  ck_assert_int_eq(cache_file(path, sizeof path), 1);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  if (_i == 0) damage(path, (long)st.st_size / 2, 0);
  else if (_i == 1) damage(path, (long)st.st_size - 7, 1);
  else if (_i == 2) damage(path, 9, 0);
  else damage(path, (long)ts_hy_cache_header_size() - 72 + 3, 0);
  HyphenDict *again = ts_hy_load_cached(EN, &in_block);
  ck_assert_int_eq(in_block, 0); /* refused: loaded by libhyphen */
  assert_same_dict(ref, again);
  struct stat st2;
  ck_assert_int_eq(stat(path, &st2), 0);
  ck_assert_int_eq(st2.st_size, st.st_size); /* rewritten whole */
  HyphenDict *warm = ts_hy_load_cached(EN, &in_block);
  ck_assert_int_eq(in_block, 1);
  assert_same_dict(ref, warm);
  ts_hy_release(ref, 0);
  ts_hy_release(again, 0);
  ts_hy_release(warm, 1);
}
END_TEST

/* A cache file whose check matches but whose image points outside itself
 * (as only a forged file could) is refused and rewritten: 0 the first
 * state's transitions past the array, 1 its match string past the strings,
 * 2 a transition to a state that does not exist, 3 more states than the
 * block holds. */
START_TEST(forged_image_is_refused)
{
  int in_block = -1;
  char path[512];
  HyphenDict *ref = ts_hy_load_cached(EN, &in_block);
  ck_assert_int_eq(cache_file(path, sizeof path), 1);
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  long dicts = (long)ts_hy_cache_header_size();
  /* the dictionaries, then the states (a plain dictionary has one level
   * with states, hyph_en_US has two: the first level's first state) */
  int levels = 0;
  for (const HyphenDict *x = ref; x; x = x->nextlevel) levels++;
  long state0 = dicts + levels * (long)sizeof(HyphenDict);
  long trans_all = state0;
  int total_states = 0;
  for (const HyphenDict *x = ref; x; x = x->nextlevel) total_states += x->num_states;
  trans_all += total_states * (long)sizeof(HyphenState);
  uintptr_t big = (uintptr_t)1 << 40;
  if (_i == 0) {
    fseek(f, state0 + (long)offsetof(HyphenState, trans), SEEK_SET);
    fwrite(&big, sizeof big, 1, f);
  } else if (_i == 1) {
    fseek(f, state0 + (long)offsetof(HyphenState, match), SEEK_SET);
    fwrite(&big, sizeof big, 1, f);
  } else if (_i == 2) {
    int bad = 1 << 30;
    fseek(f, trans_all + (long)offsetof(HyphenTrans, new_state), SEEK_SET);
    fwrite(&bad, sizeof bad, 1, f);
  } else {
    int many = 1 << 28;
    fseek(f, dicts + (long)offsetof(HyphenDict, num_states), SEEK_SET);
    fwrite(&many, sizeof many, 1, f);
  }
  fclose(f);
  ck_assert_int_eq(ts_hy_cache_rehash(path), 0);
  HyphenDict *again = ts_hy_load_cached(EN, &in_block);
  ck_assert_int_eq(in_block, 0); /* refused: loaded by libhyphen */
  assert_same_dict(ref, again);
  HyphenDict *warm = ts_hy_load_cached(EN, &in_block);
  ck_assert_int_eq(in_block, 1); /* and the rewritten file serves again */
  assert_same_dict(ref, warm);
  char a[1024], b[1024];
  hyphens_of(ref, a, sizeof a);
  hyphens_of(warm, b, sizeof b);
  ck_assert_str_eq(a, b);
  ts_hy_release(ref, 0);
  ts_hy_release(again, 0);
  ts_hy_release(warm, 1);
}
END_TEST

/* A dictionary edited after it was cached is loaded afresh. */
START_TEST(stale_cache_follows_the_dictionary)
{
  char copy[128];
  snprintf(copy, sizeof copy, "%s/mini.dic", dir);
  FILE *f = fopen(copy, "w");
  ck_assert_ptr_nonnull(f);
  fputs("UTF-8\nLEFTHYPHENMIN 2\nRIGHTHYPHENMIN 2\n1ba\n", f);
  fclose(f);
  int in_block = -1;
  HyphenDict *a = ts_hy_load_cached(copy, &in_block);
  ck_assert_int_eq(in_block, 0);
  HyphenDict *b = ts_hy_load_cached(copy, &in_block);
  ck_assert_int_eq(in_block, 1);
  /* a different pattern, same size, an older time: still noticed */
  f = fopen(copy, "w");
  fputs("UTF-8\nLEFTHYPHENMIN 2\nRIGHTHYPHENMIN 2\n1ca\n", f);
  fclose(f);
  struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
  ck_assert_int_eq(utimes(copy, tv), 0);
  HyphenDict *c = ts_hy_load_cached(copy, &in_block);
  ck_assert_int_eq(in_block, 0);
  char hy[16] = {0};
  char **rep = NULL;
  int *pos = NULL, *cut = NULL;
  hnj_hyphen_hyphenate2(c, "caca", 4, hy, NULL, &rep, &pos, &cut);
  ck_assert_int_eq(hy[1] & 1, 1); /* "ca-ca" by the new pattern */
  ts_hy_release(a, 0);
  ts_hy_release(b, 1);
  ts_hy_release(c, 0);
  unlink(copy);
}
END_TEST

START_TEST(off_writes_nothing)
{
  setenv("TYPESET_CACHE_DIR", "off", 1);
  int in_block = -1;
  char path[512];
  HyphenDict *d = ts_hy_load_cached(EN, &in_block);
  ck_assert_ptr_nonnull(d);
  ck_assert_int_eq(in_block, 0);
  ck_assert_int_eq(cache_file(path, sizeof path), 0);
  ts_hy_release(d, 0);
  /* a folder that cannot be made is no error either */
  setenv("TYPESET_CACHE_DIR", "/proc/typeset-no-such-dir", 1);
  d = ts_hy_load_cached(EN, &in_block);
  ck_assert_ptr_nonnull(d);
  ts_hy_release(d, in_block);
  ck_assert_ptr_null(ts_hy_load_cached("/usr/share/hyphen/no-such.dic", &in_block));
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("hyphen-cache");
  TCase *tc = tcase_create("cache");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, cold_then_warm_is_the_same_automaton);
  tcase_add_loop_test(tc, round_trip_each_language, 0, 4);
  tcase_add_loop_test(tc, damaged_cache_is_ignored_and_rewritten, 0, 4);
  tcase_add_loop_test(tc, forged_image_is_refused, 0, 4);
  tcase_add_test(tc, stale_cache_follows_the_dictionary);
  tcase_add_test(tc, off_writes_nothing);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
