/* Moves PID 1 off the initramfs (switch_root style) so that containers can pivot_root: the
   initramfs root cannot be pivoted away from, a tmpfs mounted over it can. */
#ifndef KC_VMM_ROOT_SWITCH_H
#define KC_VMM_ROOT_SWITCH_H

#include "error.h"

/* Copies the initramfs into a tmpfs (freeing the originals), moves the tmpfs onto / and
   chroots into it. Runs first, before any other mount; a no-op unless PID 1 on a rootfs. */
int kc_init_switch_root (kc_error_t *err);

#endif
