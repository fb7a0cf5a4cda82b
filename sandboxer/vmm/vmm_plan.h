/* Turns the [vmm] config's "auto" choices into a concrete vmm_plan for this host, once at
   startup, with a log line per choice that was not given explicitly. */
#ifndef KC_VMM_PLAN_H
#define KC_VMM_PLAN_H

#include "error.h"
#include "qemu.h"
#include "vmm_channel.h"
#include "vmm_config.h"

/* What "auto" looks at on this host (vmm_plan_host_probe; tests fill in their own). */
struct vmm_plan_host
{
  const char *machine_help; /* the output of `<qemu> -machine help`; NULL: QEMU could not be asked */
  int virtiofsd_ok;         /* [vmm] virtiofsd is executable */
  struct vmm_channel_host channel; /* vhost-vsock / vhost-device-vsock (vmm_channel.h) */
};

/* Fills plan (static strings) from cfg; accel is already resolved ("kvm"/"tcg"). An explicit
   choice this host or build cannot honour is an error (FAILED_PRECONDITION) naming the fix. */
int vmm_plan_resolve (const struct vmm_config *cfg, const char *accel, struct vmm_plan *plan, kc_error_t *err);
/* The same against a given host. */
int vmm_plan_resolve_for (const struct vmm_config *cfg, const char *accel, const struct vmm_plan_host *host,
                          struct vmm_plan *plan, kc_error_t *err);
/* Runs `<qemu> -machine help` (malloc'ed into host->machine_help, NULL on failure: logged) and
   checks cfg->virtiofsd. Free host->machine_help afterwards. */
void vmm_plan_host_probe (const struct vmm_config *cfg, const char *qemu, struct vmm_plan_host *host);

#endif
