/* The one file helper the shim needs beyond lib/fsutil.h: copying a host file into the pod's files. */
#ifndef SHIM_FILES_H
#define SHIM_FILES_H

#include <sys/types.h>

#include "error.h"

/* Copies from into to atomically (lib/fsutil's write: tmp, fsync, rename). */
int shim_copy_file (const char *from, const char *to, mode_t mode, kc_error_t *err);

#endif
