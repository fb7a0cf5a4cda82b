/* The stop helper (`vmm-sandboxer --stop-helper <dir> <task-address> <pid> <start-time>
   <grace-secs>`), run detached for a graceful Stop. Order:
   1. clean guest power-off: Task.Shutdown on a connection of our own; vmm-task then syncs and
      powers off if no container is alive. On virtio-serial only when no host client holds the
      agent port (QEMU serves one client per chardev: while the shim is attached our call could
      not get through); vsock and hvsock take any number of connections, so always. Wait a
      third of the grace (≤ 3 s) for QEMU to exit;
   2. QMP `quit` (SIGTERM when QMP does not answer): QEMU exits at once;
   3. the core SIGKILLs QEMU when the grace (the Stop timeout) runs out. */
#include "helper.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "hypervisor.h"
#include "log.h"
#include "proc.h"
#include "task.pb-c.h"
#include "ttrpc/ttrpc.h"

static int
exited_within (int pidfd, int ms)
{
  struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
  return poll (&pfd, 1, ms) > 0;
}

static void
guest_shutdown (const char *dir, const char *address, double budget_s)
{
  Containerd__Task__V2__ShutdownRequest req = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
  uint8_t *reply = NULL;
  size_t len = 0;
  kc_error_t err = NULL;
  const char *slash = strrchr (dir, '/');
  req.id = (char *) (slash ? slash + 1 : dir);
  if (kc_ttrpc_call_sync (address, "containerd.task.v2.Task", "Shutdown", &req.base, (int64_t) (budget_s * 1e9), &reply,
                          &len, &err)
      < 0)
    kc_log_warn ("stop helper: Task.Shutdown of %s: %s", dir, err->msg);
  free (reply);
  kc_error_free (&err);
}

/* vsock and hvsock carry many connections: no port for the shim to hold. */
static int
agent_port_free (const struct kc_hypervisor *hv, const char *dir, const char *address)
{
  if (strstr (address, "vsock://") != NULL)
    return 1;
  return hv->agent_attached (dir, NULL) == 0;
}

static int
stop_vm (const char *dir, const char *address, int pidfd, unsigned grace)
{
  const struct kc_hypervisor *hv = &vmm_hypervisor_qemu;
  kc_error_t err = NULL;
  int wait_ms = grace >= 9 ? 3000 : (int) grace * 1000 / 3;
  if (agent_port_free (hv, dir, address))
    {
      guest_shutdown (dir, address, wait_ms / 2000.0);
      if (exited_within (pidfd, wait_ms))
        {
          kc_log_info ("stop helper: guest of %s powered off", dir);
          return 0;
        }
    }
  if (hv->quit (dir, &err) < 0 && !exited_within (pidfd, 100))
    {
      kc_log_warn ("stop helper: %s; sending SIGTERM", err->msg);
      pidfd_send_signal (pidfd, SIGTERM, NULL, 0);
    }
  kc_error_free (&err);
  return 0;
}

int
vmm_stop_main (int argc, char **argv)
{
  kc_error_t err = NULL;
  int pidfd = -1;
  if (argc != 7)
    {
      fprintf (stderr, "usage: %s %s <sandbox-dir> <task-address> <pid> <start-time> <grace-secs>\n", argv[0],
               VMM_STOP_FLAG);
      return 2;
    }
  signal (SIGPIPE, SIG_IGN);
  if (kc_proc_open_verified ((pid_t) atoi (argv[4]), strtoull (argv[5], NULL, 10), &pidfd, &err) < 0)
    {
      kc_error_free (&err); /* already gone */
      return 0;
    }
  int ret = stop_vm (argv[2], argv[3], pidfd, (unsigned) strtoul (argv[6], NULL, 10));
  close (pidfd);
  return ret;
}

int
vmm_stop_spawn (const char *sandbox_dir, const char *task_address, int pid, unsigned long long start_time, unsigned grace_secs, kc_error_t *err)
{
  char self[PATH_MAX], pid_s[32], start_s[32], grace_s[32], log_path[PATH_MAX];
  if (vmm_helper_self (self, sizeof (self), err) < 0)
    return -1;
  snprintf (log_path, sizeof (log_path), "%s/qemu.log", sandbox_dir);
  snprintf (pid_s, sizeof (pid_s), "%d", pid);
  snprintf (start_s, sizeof (start_s), "%llu", start_time);
  snprintf (grace_s, sizeof (grace_s), "%u", grace_secs);
  char *argv[]
      = { self, (char *) VMM_STOP_FLAG, (char *) sandbox_dir, (char *) task_address, pid_s, start_s, grace_s, NULL };
  return vmm_helper_spawn (argv, log_path, -1, err);
}
