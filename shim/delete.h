/* Our part of `delete` (the library unmounts the rootfs, removes a dead socket and prints the
   DeleteResponse): for the pod's own id, stop and shut it down and remove its CRI files. */
#ifndef SHIM_DELETE_H
#define SHIM_DELETE_H

#include "flavor.h"
#include "kc_shim.h"

/* Never fails: errors are logged (delete must be idempotent and fast). */
int shim_delete_pod (struct kc_shim *lib, const struct shim_flavor *flavor, kc_error_t *err);

#endif
