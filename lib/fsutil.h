/* File helpers every process shares: atomic writes (tmp, fsync, rename, fsync dir), whole-file
   reads, mkdir -p and rm -rf. */
#ifndef KC_FSUTIL_H
#define KC_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Writes data to "<path>.tmp.<pid>", fsyncs it, renames it over path and fsyncs the directory:
   a crash leaves either the old or the new content, never half a file. */
int kc_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode, kc_error_t *err);
/* Reads a whole regular file (at most 64 MiB) into a malloc'ed, NUL-terminated buffer. */
int kc_read_file (const char *path, char **buf, size_t *len, kc_error_t *err);
/* Creates path and its missing parents; an existing directory is fine. */
int kc_mkdir_p (const char *path, mode_t mode, kc_error_t *err);
/* Removes path and everything under it without following symlinks; a missing path is fine. */
int kc_rm_rf (const char *path, kc_error_t *err);

#endif
