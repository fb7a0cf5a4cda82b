/* The AOT cache: sha256 of a module (libcrypto), lookup of <cache>/<sha256>.so, compile into a
   temporary file and rename into place. */
#include "aot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cleanup.h"

static int
sha256_update_fd (EVP_MD_CTX *md, int fd, kc_error_t *err)
{
  unsigned char buf[65536];
  off_t off = 0;
  ssize_t n;

  for (;;)
    {
      n = pread (fd, buf, sizeof (buf), off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return kc_error (err, errno, "read module");
      if (n == 0)
        return 0;
      if (EVP_DigestUpdate (md, buf, (size_t) n) != 1)
        return kc_error_code (err, KC_INTERNAL, "sha256 update");
      off += n;
    }
}

int
kc_sha256_fd (int fd, char hex[KC_SHA256_HEX_LEN + 1], kc_error_t *err)
{
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  unsigned char digest[32];
  unsigned int len = 0;
  int ret = -1;

  if (md == NULL)
    return kc_error (err, ENOMEM, "sha256");
  if (EVP_DigestInit_ex (md, EVP_sha256 (), NULL) != 1)
    kc_error_code (err, KC_INTERNAL, "sha256 init");
  else if (sha256_update_fd (md, fd, err) == 0)
    {
      if (EVP_DigestFinal_ex (md, digest, &len) != 1 || len != sizeof (digest))
        kc_error_code (err, KC_INTERNAL, "sha256 final");
      else
        ret = 0;
    }
  EVP_MD_CTX_free (md);
  for (unsigned int i = 0; ret == 0 && i < len; i++)
    snprintf (hex + 2 * i, 3, "%02x", digest[i]);
  return ret;
}

/* Compiles the module into a fresh temporary file next to dst, then renames it onto dst. */
static int
compile_into (const struct kc_wasm_engine *engine, int module_fd, const char *dst, kc_error_t *err)
{
  cleanup_free char *tmp = NULL;
  char in[64];
  int fd;

  if (asprintf (&tmp, "%s.tmp.XXXXXX", dst) < 0)
    return kc_error (err, ENOMEM, "aot");
  fd = mkostemp (tmp, O_CLOEXEC);
  if (fd < 0)
    return kc_error (err, errno, "create `%s`", tmp);
  close (fd);
  snprintf (in, sizeof (in), "/proc/self/fd/%d", module_fd);
  if (engine->compile (in, tmp, err) < 0)
    {
      unlink (tmp);
      return -1;
    }
  if (rename (tmp, dst) < 0)
    {
      int e = errno;
      unlink (tmp);
      return kc_error (err, e, "rename `%s` to `%s`", tmp, dst);
    }
  return 0;
}

char *
kc_aot_prepare (const struct kc_wasm_engine *engine, const char *cache_dir, int module_fd, int *compiled,
                kc_error_t *err)
{
  char hex[KC_SHA256_HEX_LEN + 1];
  cleanup_free char *path = NULL;
  struct stat st;

  *compiled = 0;
  if (engine->compile == NULL)
    {
      kc_error_code (err, KC_UNIMPLEMENTED, "engine %s cannot compile ahead of time", engine->name);
      return NULL;
    }
  if (kc_sha256_fd (module_fd, hex, err) < 0)
    return NULL;
  if (asprintf (&path, "%s/%s.so", cache_dir, hex) < 0)
    {
      kc_error (err, ENOMEM, "aot");
      return NULL;
    }
  if (stat (path, &st) == 0 && S_ISREG (st.st_mode))
    return steal_pointer (&path);
  if (compile_into (engine, module_fd, path, err) < 0)
    return NULL;
  *compiled = 1;
  return steal_pointer (&path);
}
