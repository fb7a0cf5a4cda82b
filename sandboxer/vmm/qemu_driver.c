/* The QEMU hypervisor driver: the docs/vmm.md command line (qemu.c) and the QMP operations on
   <dir>/qmp.sock (one session per operation, so nothing to reconnect after a restart). */
#include "hypervisor.h"

#include <stdio.h>
#include <string.h>

#include "qemu.h"
#include "qmp.h"
#include "vmm_channel.h"

#define QMP_TIMEOUT_MS 2000

static const char *const qemu_sockets[] = { "agent.sock",          "stdio.sock",          "qmp.sock", VMM_VIRTIOFSD_SOCKET,
                                             VMM_HVSOCK_SOCKET,     VMM_VHOST_USER_SOCKET, NULL };

static void
qmp_path (char *buf, size_t max, const char *dir)
{
  snprintf (buf, max, "%s/qmp.sock", dir);
}

/* -no-reboot would turn a reboot into an exit, so the reboot action is reset around it. */
static int
qemu_reboot (const char *dir, kc_error_t *err)
{
  static const char *const cmds[]
      = { "{\"execute\":\"set-action\",\"arguments\":{\"reboot\":\"reset\"}}", "{\"execute\":\"system_reset\"}",
          "{\"execute\":\"set-action\",\"arguments\":{\"reboot\":\"shutdown\"}}", NULL };
  char path[4096];
  qmp_path (path, sizeof (path), dir);
  return vmm_qmp_run (path, cmds, QMP_TIMEOUT_MS, err);
}

/* query-chardev names a socket chardev without a client "disconnected:unix:...". */
static int
qemu_agent_attached (const char *dir, kc_error_t *err)
{
  char path[4096], reply[16384];
  qmp_path (path, sizeof (path), dir);
  if (vmm_qmp_query (path, "{\"execute\":\"query-chardev\"}", reply, sizeof (reply), QMP_TIMEOUT_MS, err) < 0)
    return -1;
  return vmm_qmp_chardev_attached (reply, "agent");
}

static int
qemu_quit (const char *dir, kc_error_t *err)
{
  static const char *const cmds[] = { "{\"execute\":\"quit\"}", NULL };
  char path[4096];
  qmp_path (path, sizeof (path), dir);
  return vmm_qmp_run (path, cmds, QMP_TIMEOUT_MS, err);
}

const struct kc_hypervisor vmm_hypervisor_qemu = {
  .name = "qemu",
  .default_binary = "qemu-system-x86_64",
  .build_argv = vmm_qemu_argv,
  .free_argv = vmm_qemu_argv_free,
  .sockets = qemu_sockets,
  .reboot = qemu_reboot,
  .agent_attached = qemu_agent_attached,
  .quit = qemu_quit,
};
