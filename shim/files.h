/* Small file helpers of the shim: atomic writes, whole-file reads, mkdir -p, rm -rf. */
#ifndef SHIM_FILES_H
#define SHIM_FILES_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Writes data to path.tmp, fsyncs and renames it into place. */
int shim_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode, kc_error_t *err);
/* Reads a whole file (NUL-terminated, *len without the NUL). */
int shim_read_file (const char *path, char **out, size_t *len, kc_error_t *err);
/* Reads all of fd until EOF. */
int shim_read_fd (int fd, char **out, size_t *len, kc_error_t *err);
int shim_mkdir_p (const char *path, mode_t mode, kc_error_t *err);
/* Removes a tree without following symlinks (callers unmount what is mounted inside first).
   ENOENT is success. */
int shim_rm_rf (const char *path, kc_error_t *err);
int shim_copy_file (const char *from, const char *to, mode_t mode, kc_error_t *err);

#endif
