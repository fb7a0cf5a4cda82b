/* Paths inside a container's rootfs resolved as if it were / (openat2 RESOLVE_IN_ROOT, runc's
   securejoin), so a symlink in an image cannot send a mount point out of it; root.path check. */
#ifndef KC_VMM_SAFE_PATH_H
#define KC_VMM_SAFE_PATH_H

#include <stddef.h>

#include "error.h"

/* An O_PATH fd of path (absolute or not, taken inside rootfd) that exists; -1 with err. */
int kc_safe_open (int rootfd, const char *path, kc_error_t *err);

/* An O_PATH fd of path inside rootfd, creating what is missing: directories (mode 0755), and
   the last component as an empty file (0644) when is_file and it does not exist. */
int kc_safe_target (int rootfd, const char *path, int is_file, kc_error_t *err);

/* "/proc/self/fd/<fd>" in buf (at least 32 bytes): a name of what fd refers to for mount(2). */
const char *kc_safe_fd_path (char *buf, size_t size, int fd);

/* The container's rootfs from its bundle (/run/kuasar/shared/<cid>) and the spec's root.path:
   relative -> <bundle>/<path>, absolute and present -> itself, absolute and absent (a host path)
   -> <bundle>/rootfs; resolved (realpath), it must be a directory strictly under the bundle, else
   INVALID_ARGUMENT. Malloc'ed in *out. */
int kc_safe_rootfs_path (const char *bundle, const char *root_path, char **out, kc_error_t *err);

#endif
