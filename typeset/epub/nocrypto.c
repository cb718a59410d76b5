/* nocrypto.c — a stand-in for the cryptography library libzip links.
 *
 * Debian's libzip links OpenSSL's libcrypto for one feature: WinZip AES
 * encryption (and the random salt it needs).  typeset never encrypts or
 * decrypts an archive, yet loading libzip loaded libcrypto too: ~4,000
 * relocations bound at load and ~110 page faults, 2.4 ms of the CPU time
 * of every fresh process that writes an EPUB (zip.c opens libzip with
 * dlopen on first use).
 *
 * This module is built only when the libzip found imports exactly the
 * functions below from libcrypto.so.3 (meson.build checks its symbol
 * table).  Its soname is libcrypto.so.3 and its functions carry
 * OpenSSL's version node (nocrypto.map), so zip.c can load it first and
 * libzip then takes it for the library it needs.  The encryption functions
 * report failure, which libzip handles as an error (HMAC/AES/PBKDF2: only
 * reached when encrypting; AES_encrypt only after AES_set_encrypt_key
 * succeeded, which it never does); RAND_bytes gives the kernel's random
 * bytes (getrandom), as OpenSSL would.  The prototypes are OpenSSL 3's,
 * written here so that the OpenSSL headers are not needed to build it.
 *
 * Ownership: none; nothing here allocates. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/types.h>

#define NC_EXPORT __attribute__((visibility("default")))

typedef struct nc_opaque nc_opaque; /* EVP_MD, HMAC_CTX, ENGINE, AES_KEY */

NC_EXPORT int AES_set_encrypt_key(const unsigned char *key, const int bits, nc_opaque *k);
NC_EXPORT void AES_encrypt(const unsigned char *in, unsigned char *out, const nc_opaque *k);
NC_EXPORT const nc_opaque *EVP_sha1(void);
NC_EXPORT nc_opaque *HMAC_CTX_new(void);
NC_EXPORT void HMAC_CTX_free(nc_opaque *ctx);
NC_EXPORT int HMAC_Init_ex(nc_opaque *ctx, const void *key, int len, const nc_opaque *md,
                           nc_opaque *impl);
NC_EXPORT int HMAC_Update(nc_opaque *ctx, const unsigned char *data, size_t len);
NC_EXPORT int HMAC_Final(nc_opaque *ctx, unsigned char *md, unsigned int *len);
NC_EXPORT int PKCS5_PBKDF2_HMAC_SHA1(const char *pass, int passlen, const unsigned char *salt,
                                     int saltlen, int iter, int keylen, unsigned char *out);
NC_EXPORT int RAND_bytes(unsigned char *buf, int num);

int AES_set_encrypt_key(const unsigned char *key, const int bits, nc_opaque *k) {
  (void)key, (void)bits, (void)k;
  return -1; /* OpenSSL: negative on failure */
}

void AES_encrypt(const unsigned char *in, unsigned char *out, const nc_opaque *k) {
  (void)in, (void)out, (void)k;
  abort(); /* unreachable: no key was ever set */
}

const nc_opaque *EVP_sha1(void) { return NULL; }

nc_opaque *HMAC_CTX_new(void) { return NULL; }

void HMAC_CTX_free(nc_opaque *ctx) { (void)ctx; }

int HMAC_Init_ex(nc_opaque *ctx, const void *key, int len, const nc_opaque *md, nc_opaque *impl) {
  (void)ctx, (void)key, (void)len, (void)md, (void)impl;
  return 0;
}

int HMAC_Update(nc_opaque *ctx, const unsigned char *data, size_t len) {
  (void)ctx, (void)data, (void)len;
  return 0;
}

int HMAC_Final(nc_opaque *ctx, unsigned char *md, unsigned int *len) {
  (void)ctx, (void)md, (void)len;
  return 0;
}

int PKCS5_PBKDF2_HMAC_SHA1(const char *pass, int passlen, const unsigned char *salt, int saltlen,
                           int iter, int keylen, unsigned char *out) {
  (void)pass, (void)passlen, (void)salt, (void)saltlen, (void)iter, (void)keylen, (void)out;
  return 0;
}

/* Random bytes as OpenSSL gives them (libzip names its temporary files
 * with them when it writes an archive to a path, which typeset does not):
 * the kernel's, so that a caller never falls back to reseeding random()
 * from the clock. */
int RAND_bytes(unsigned char *buf, int num) {
  if (num < 0) return 0;
  size_t n = (size_t)num, got = 0;
  while (got < n) {
    ssize_t r = getrandom(buf + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    got += (size_t)r;
  }
  return 1;
}
