/* Copying host files (hosts, resolv.conf) into a pod's files, on top of lib/fsutil. */
#include "files.h"

#include "cleanup.h"
#include "fsutil.h"

int
shim_copy_file (const char *from, const char *to, mode_t mode, kc_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;

  if (kc_read_file (from, &data, &len, err) < 0)
    return -1;
  return kc_write_file_atomic (to, data, len, mode, err);
}
