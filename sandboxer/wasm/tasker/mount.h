/* Container rootfs mounts: containerd's mount.Mount options → mount(2) flags + data, mount and
   unmount of <bundle>/rootfs. */
#ifndef KC_TASKER_MOUNT_H
#define KC_TASKER_MOUNT_H

#include <stddef.h>

#include "error.h"

struct kc_mount_spec
{
  const char *type;
  const char *source;
  char *const *options;
  size_t noptions;
};

/* Splits options as containerd does: known flag words set/clear bits in *flags (propagation
   words go to *propagation), everything else is joined with ',' into *data (malloc'ed, "" when
   none). */
int kc_mount_options_parse (char *const *options, size_t n, unsigned long *flags, unsigned long *propagation,
                            char **data, kc_error_t *err);
/* Mounts every entry onto target in order; on failure unmounts what it mounted. */
int kc_rootfs_mount (const struct kc_mount_spec *mounts, size_t n, const char *target, kc_error_t *err);
/* Unmounts the n mounts kc_rootfs_mount stacked on target (lazily). */
void kc_rootfs_unmount (const char *target, size_t n);

#endif
