/* Turns the [vmm] config's "auto" choices into a concrete vmm_plan for this host, once at
   startup, with a log line per choice that was not given explicitly. */
#ifndef KC_VMM_PLAN_H
#define KC_VMM_PLAN_H

#include "error.h"
#include "qemu.h"
#include "vmm_config.h"

/* Fills plan (static strings) from cfg; accel is already resolved ("kvm"/"tcg"). An explicit
   choice this host or build cannot honour is an error (FAILED_PRECONDITION) naming the fix. */
int vmm_plan_resolve (const struct vmm_config *cfg, const char *accel, struct vmm_plan *plan, kc_error_t *err);

#endif
