/* -info: RuntimeInfo {name = 1, version = 2 RuntimeVersion {version = 1}}, hand-encoded (the
   message is not in proto/); the runtime options on stdin are read and ignored. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "files.h"
#include "info.h"

static size_t
put_bytes (uint8_t *out, uint8_t field, const char *s)
{
  size_t n = strlen (s), i = 0;

  out[i++] = (uint8_t) (field << 3 | 2);
  out[i++] = (uint8_t) n; /* short strings only: < 128 bytes */
  memcpy (out + i, s, n);
  return i + n;
}

int
shim_info_main (const struct shim_flavor *flavor)
{
  uint8_t version[128], out[512];
  size_t vlen, len;
  cleanup_free char *ignored = NULL;
  kc_error_t err = NULL;

  if (!isatty (STDIN_FILENO) && shim_read_fd (STDIN_FILENO, &ignored, NULL, &err) < 0)
    kc_error_free (&err);
  vlen = put_bytes (version, 1, KC_VERSION);
  len = put_bytes (out, 1, flavor->runtime_name);
  out[len++] = 2 << 3 | 2;
  out[len++] = (uint8_t) vlen;
  memcpy (out + len, version, vlen);
  len += vlen;
  return fwrite (out, 1, len, stdout) == len && fflush (stdout) == 0 ? 0 : 1;
}
