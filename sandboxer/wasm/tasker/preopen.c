/* WASI preopens: the rootfs as "/" and the directory bind mounts of the spec. */
#include "preopen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "log.h"

static int
is_directory (const char *path)
{
  struct stat st;

  return path != NULL && stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

void
kc_preopens_free (char **preopens)
{
  for (size_t i = 0; preopens != NULL && preopens[i] != NULL; i++)
    free (preopens[i]);
  free (preopens);
}

int
kc_preopens_build (const char *rootfs, const struct kc_oci_mount *mounts, size_t nmounts, char ***out, size_t *n,
                   kc_error_t *err)
{
  char **pre = calloc (nmounts + 2, sizeof (char *));
  size_t k = 0;

  *out = NULL;
  *n = 0;
  if (pre == NULL || asprintf (&pre[k++], "/:%s", rootfs) < 0)
    {
      free (pre);
      return kc_error (err, ENOMEM, "preopens");
    }
  for (size_t i = 0; i < nmounts; i++)
    {
      if (!is_directory (mounts[i].source))
        {
          kc_log_debug ("mount %s: source `%s` is not a directory, not preopened", mounts[i].destination,
                        mounts[i].source);
          continue;
        }
      if (asprintf (&pre[k], "%s:%s", mounts[i].destination, mounts[i].source) < 0)
        {
          pre[k] = NULL;
          kc_preopens_free (pre);
          return kc_error (err, ENOMEM, "preopens");
        }
      k++;
    }
  *out = pre;
  *n = k;
  return 0;
}
