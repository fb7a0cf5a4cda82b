/* [vmm] machine/share/channel "auto" resolved against this host. */
#include "vmm_plan.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "machine_help.h"

#define HELP_TIMEOUT_MS 10000

/* auto: microvm (virtio-mmio, no PCI or ACPI: the faster boot) when this QEMU has it, else q35. */
static int
resolve_machine (const struct vmm_config *cfg, const struct vmm_plan_host *host, struct vmm_plan *plan, kc_error_t *err)
{
  if (strcmp (cfg->machine, "auto") != 0)
    {
      plan->machine = strcmp (cfg->machine, "q35") == 0 ? "q35" : "microvm";
      if (host->machine_help != NULL && !vmm_machine_help_has (host->machine_help, plan->machine))
        return kc_error_code (err, KC_FAILED_PRECONDITION,
                              "[vmm] machine = \"%s\": this QEMU lacks that machine (`-machine help`)", plan->machine);
      return 0;
    }
  if (host->machine_help == NULL || vmm_machine_help_has (host->machine_help, "microvm"))
    {
      plan->machine = "microvm";
      kc_log_info ("[vmm] machine auto: microvm (%s)",
                   host->machine_help ? "this QEMU has it" : "QEMU could not be asked: assumed");
      return 0;
    }
  plan->machine = "q35";
  kc_log_info ("[vmm] machine auto: q35 (this QEMU has no microvm machine)");
  return 0;
}

/* auto: virtiofs only where it works here — q35 with virtiofsd present; else 9p. */
static int
resolve_share (const struct vmm_config *cfg, const struct vmm_plan_host *host, struct vmm_plan *plan, kc_error_t *err)
{
  int q35 = strcmp (plan->machine, "q35") == 0;
  if (strcmp (cfg->share, "9p") == 0)
    return 0;
  if (strcmp (cfg->share, "virtiofs") == 0)
    {
      if (!q35)
        return kc_error_code (err, KC_FAILED_PRECONDITION,
                              "[vmm] share = \"virtiofs\" needs machine = \"q35\" (vhost-user-fs fails on microvm)");
      if (!host->virtiofsd_ok)
        return kc_error_code (err, KC_FAILED_PRECONDITION,
                              "[vmm] share = \"virtiofs\": virtiofsd `%s` is not executable (install "
                              "qemu-system-common or set [vmm] virtiofsd)",
                              cfg->virtiofsd ? cfg->virtiofsd : "(unset)");
      plan->share = "virtiofs";
      return 0;
    }
  if (q35 && host->virtiofsd_ok)
    plan->share = "virtiofs";
  kc_log_info ("[vmm] share auto: %s (%s)", plan->share,
               !q35                 ? "virtiofs works on q35 only"
               : host->virtiofsd_ok ? "q35 with virtiofsd present"
                                    : "virtiofsd missing");
  return 0;
}

int
vmm_plan_resolve_for (const struct vmm_config *cfg, const char *accel, const struct vmm_plan_host *host,
                      struct vmm_plan *plan, kc_error_t *err)
{
  *plan = (struct vmm_plan){ .accel = accel, .machine = "microvm", .share = "9p", .channel = "virtio-serial" };
  if (resolve_machine (cfg, host, plan, err) < 0 || resolve_share (cfg, host, plan, err) < 0)
    return -1;
  return vmm_channel_resolve (cfg, &host->channel, plan, err);
}

int
vmm_plan_resolve (const struct vmm_config *cfg, const char *accel, struct vmm_plan *plan, kc_error_t *err)
{
  struct vmm_plan_host host;
  vmm_plan_host_probe (cfg, cfg->qemu ? cfg->qemu : VMM_DEFAULT_QEMU, &host);
  int ret = vmm_plan_resolve_for (cfg, accel, &host, plan, err);
  free ((char *) host.machine_help);
  return ret;
}

void
vmm_plan_host_probe (const struct vmm_config *cfg, const char *qemu, struct vmm_plan_host *host)
{
  cleanup_error kc_error_t err = NULL;
  char *help = NULL;
  if (vmm_machine_help_run (qemu, HELP_TIMEOUT_MS, &help, &err) < 0)
    kc_log_warn ("[vmm] %s", err->msg);
  host->machine_help = help;
  host->virtiofsd_ok = cfg->virtiofsd != NULL && access (cfg->virtiofsd, X_OK) == 0;
  vmm_channel_host_probe (cfg, VMM_VHOST_VSOCK_DEV, &host->channel);
}
