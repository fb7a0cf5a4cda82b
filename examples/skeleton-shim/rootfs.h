/* <bundle>/rootfs: the mounts containerd hands to Create (overlay, bind), and their removal. */
#ifndef SKEL_ROOTFS_H
#define SKEL_ROOTFS_H

#include <stddef.h>

#include "containerd_types.pb-c.h"
#include "error.h"

int skel_rootfs_mount (const char *bundle, Containerd__Types__Mount **mounts, size_t n, kc_error_t *err);
void skel_rootfs_unmount (const char *bundle);

#endif
