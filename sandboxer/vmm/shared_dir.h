/* The sandbox's 9p shared directory on the host: <dir>/shared/<container-id>/rootfs mounts. */
#ifndef KC_VMM_SHARED_DIR_H
#define KC_VMM_SHARED_DIR_H

/* Unmounts (lazily) every <sandbox_dir>/shared/<cid>/rootfs still mounted; returns how many. */
int vmm_shared_dir_unmount_all (const char *sandbox_dir);

#endif
