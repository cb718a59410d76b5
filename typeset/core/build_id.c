/* build_id.c — which build of typeset is running, for the keys of what is
 * kept between runs.
 *
 * A result taken from a cache (a font subset kept on disk, a series paper
 * left unchanged) must be the bytes this build would make.  Keys held only
 * TS_VERSION, so a typeset rebuilt with a fix (a `git pull`) reused the
 * previous build's subsets and left the series' papers as they were.  The
 * identity is the GNU build ID the linker writes into the executable (a
 * hash of its contents, so any change of code, including the libraries
 * linked into it statically, gives another one), read from the note of the
 * loaded object that holds this code; without one, that file's size and
 * modification time. */
#include "ts_core.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* 20 bytes for ld's default SHA-1 build ID; up to 64 read */
static char build_id[2 * 64 + 8]; /* set once by find_id */
static pthread_once_t build_id_once = PTHREAD_ONCE_INIT;

static void hex(const unsigned char *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  if (n > 64) n = 64;
  for (size_t i = 0; i < n; i++) {
    build_id[2 * i] = digits[p[i] >> 4];
    build_id[2 * i + 1] = digits[p[i] & 15];
  }
  build_id[2 * n] = 0;
}

/* The NT_GNU_BUILD_ID note of a PT_NOTE segment (notes padded to the
 * segment's alignment, 4 or 8); 1 when found. */
static int note_id(const unsigned char *p, size_t size, size_t align) {
  size_t at = 0;
  if (align < 4) align = 4;
  while (size - at >= sizeof(ElfW(Nhdr))) {
    ElfW(Nhdr) nh;
    memcpy(&nh, p + at, sizeof nh);
    size_t name = (nh.n_namesz + align - 1) / align * align;
    size_t desc = (nh.n_descsz + align - 1) / align * align;
    at += sizeof nh;
    if (name > size - at || desc > size - at - name) return 0;
    if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(p + at, "GNU", 4) == 0 &&
        nh.n_descsz > 0) {
      hex(p + at + name, nh.n_descsz);
      return 1;
    }
    at += name + desc;
  }
  return 0;
}

/* dl_iterate_phdr callback: the object whose loaded segments hold `data`. */
static int in_object(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  uintptr_t want = (uintptr_t)data;
  int inside = 0;
  for (int i = 0; i < info->dlpi_phnum && !inside; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t a = info->dlpi_addr + ph->p_vaddr;
    inside = ph->p_type == PT_LOAD && want >= a && want - a < ph->p_memsz;
  }
  if (!inside) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the loader gives segments as addresses
    const unsigned char *seg = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
    if (ph->p_type == PT_NOTE && note_id(seg, ph->p_memsz, ph->p_align))
      return 1;
  }
  return 1; /* the object, without a build ID */
}

static void find_id(void) {
  (void)dl_iterate_phdr(in_object, build_id); /* the object holding this file's data */
  if (build_id[0]) return;
  /* no build ID: the file's size and modification time */
  Dl_info dl;
  struct stat st;
  const char *file = dladdr(build_id, &dl) && dl.dli_fname && dl.dli_fname[0]
                         ? dl.dli_fname
                         : "/proc/self/exe";
  if (stat(file, &st) == 0)
    (void)snprintf(build_id, sizeof build_id, "file-%llx-%llx.%09ld",
                   (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec,
                   (long)st.st_mtim.tv_nsec);
  else
    (void)snprintf(build_id, sizeof build_id, "unknown");
}

const char *ts_build_id(void) {
  pthread_once(&build_id_once, find_id);
  return build_id;
}
