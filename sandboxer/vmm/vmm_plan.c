/* [vmm] machine/share/channel "auto" resolved against this host. */
#include "vmm_plan.h"

#include <string.h>

static int
unsupported (kc_error_t *err, const char *key, const char *value)
{
  return kc_error_code (err, KC_FAILED_PRECONDITION, "[vmm] %s = \"%s\" is not supported by this vmm-sandboxer", key,
                        value);
}

int
vmm_plan_resolve (const struct vmm_config *cfg, const char *accel, struct vmm_plan *plan, kc_error_t *err)
{
  *plan = (struct vmm_plan){ .accel = accel, .machine = "microvm", .share = "9p", .channel = "virtio-serial" };
  if (strcmp (cfg->machine, "auto") != 0 && strcmp (cfg->machine, "microvm") != 0)
    return unsupported (err, "machine", cfg->machine);
  if (strcmp (cfg->share, "auto") != 0 && strcmp (cfg->share, "9p") != 0)
    return unsupported (err, "share", cfg->share);
  if (strcmp (cfg->channel, "auto") != 0 && strcmp (cfg->channel, "virtio-serial") != 0)
    return unsupported (err, "channel", cfg->channel);
  return 0;
}
