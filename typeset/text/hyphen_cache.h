/* hyphen_cache.h — libhyphen dictionaries loaded through an on-disk cache of
 * the built automaton (see hyphen_cache.c).  Internal to typeset/text. */
#ifndef TS_TEXT_HYPHEN_CACHE_H
#define TS_TEXT_HYPHEN_CACHE_H

#include <hyphen.h>

/* Loads the dictionary at path (a .dic file): from the cache when it
 * matches the file, else with hnj_hyphen_load (then writing the cache).
 * Returns owned (release with ts_hy_release(d, *in_block)) or NULL when the
 * file cannot be read or parsed. */
HyphenDict *ts_hy_load_cached(const char *path, int *in_block);
void ts_hy_release(HyphenDict *d, int in_block); /* accepts NULL */

/* For tests that forge a cache file: the size of its header (the payload,
 * the block's image, follows it) and a rewrite of its payload check after
 * the payload was edited.  0 on success. */
size_t ts_hy_cache_header_size(void);
int ts_hy_cache_rehash(const char *cache_file);

#endif
