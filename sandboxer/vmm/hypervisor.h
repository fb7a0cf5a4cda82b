/* The hypervisor driver of the vmm backend: what the backend and its helpers need from a VMM
   (QEMU is the only one). Everything is keyed by the sandbox directory, so a restarted
   sandboxer (or a detached helper) reaches a running VM again with no state but the dir. */
#ifndef KC_VMM_HYPERVISOR_H
#define KC_VMM_HYPERVISOR_H

#include "error.h"
#include "qemu.h"
#include "vmm_config.h"

struct kc_hypervisor
{
  const char *name;           /* "qemu" */
  const char *default_binary; /* "qemu-system-x86_64" */
  /* The command line for sandbox_dir and a resolved plan (vmm_plan_resolve). NULL-terminated,
     malloc'ed (free_argv); NULL when out of memory. */
  char **(*build_argv) (const struct vmm_config *cfg, const char *binary, const struct vmm_plan *plan,
                        const char *sandbox_dir);
  void (*free_argv) (char **argv);
  /* Sockets of an earlier run to remove before starting. NULL-terminated names in sandbox_dir. */
  const char *const *sockets;
  /* Resets the guest in the same process (the boot retry). */
  int (*reboot) (const char *sandbox_dir, kc_error_t *err);
  /* 1 when a host client holds the agent port (the shim), 0 when free, -1 on error. */
  int (*agent_attached) (const char *sandbox_dir, kc_error_t *err);
  /* Asks the hypervisor to exit now (guest not informed); its exit is observed by the caller. */
  int (*quit) (const char *sandbox_dir, kc_error_t *err);
};

extern const struct kc_hypervisor vmm_hypervisor_qemu;

#endif
