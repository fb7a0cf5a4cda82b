/* -info: RuntimeInfo {name = 1, version = 2 RuntimeVersion {version = 1}}, hand-encoded (the
   message is not in proto/); the runtime options on stdin are read and ignored. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "shim_priv.h"

/* Appends a length-delimited field; s is at most 127 bytes (checked by the caller). */
static size_t
put_bytes (uint8_t *out, uint8_t field, const char *s)
{
  size_t n = strlen (s), i = 0;

  out[i++] = (uint8_t) (field << 3 | 2);
  out[i++] = (uint8_t) n;
  memcpy (out + i, s, n);
  return i + n;
}

int
kc_shim_info_main (struct kc_shim *shim)
{
  const char *name = shim->ops->runtime_name ? shim->ops->runtime_name : shim->ops->binary_name;
  const char *ver = shim->ops->version ? shim->ops->version : KC_VERSION;
  uint8_t version[128], out[512];
  size_t vlen, len;
  cleanup_free char *ignored = NULL;
  kc_error_t err = NULL;

  if (strlen (name) > 120 || strlen (ver) > 120)
    return 1;
  if (!isatty (STDIN_FILENO) && kc_shim_read_fd (STDIN_FILENO, &ignored, NULL, &err) < 0)
    kc_error_free (&err);
  vlen = put_bytes (version, 1, ver);
  len = put_bytes (out, 1, name);
  out[len++] = 2 << 3 | 2;
  out[len++] = (uint8_t) vlen;
  memcpy (out + len, version, vlen);
  len += vlen;
  return fwrite (out, 1, len, stdout) == len && fflush (stdout) == 0 ? 0 : 1;
}
