/* The boot probe process: Task.Connect on the task address until the guest answers, then `ready\n` on
   the ready fd; one guest reset (hypervisor reboot) after a first boot timeout (not on hvsock:
   vmm_probe_may_reset), QEMU killed after a second. The core's ready timeout (vmm_ready_timeout_secs) covers both rounds. */
#include "probe.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "hypervisor.h"
#include "task.pb-c.h"
#include "ttrpc/ttrpc.h"

#define RETRY_SLEEP_MS 100
#define CALL_BUDGET_S  5.0

struct probe
{
  const char *dir;
  int pidfd; /* QEMU */
};

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
qemu_alive (struct probe *p)
{
  struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };
  return poll (&pfd, 1, 0) == 0;
}

/* 1: the guest answered (vmm-task answers Connect OK for any id), 0: not yet. */
static int
try_connect (const char *address, const char *id, double budget)
{
  Containerd__Task__V2__ConnectRequest req = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
  uint8_t *reply = NULL;
  size_t len = 0;
  kc_error_t err = NULL;
  req.id = (char *) id;
  int ret = kc_ttrpc_call_sync (address, "containerd.task.v2.Task", "Connect", &req.base, (int64_t) (budget * 1e9),
                                &reply, &len, &err);
  free (reply);
  kc_error_free (&err);
  return ret == 0;
}

/* Returns 1 when the guest answered before deadline, 0 on timeout, -1 when QEMU or the core
   went away. */
static int
wait_boot (struct probe *p, const char *address, const char *id, double deadline)
{
  while (now_s () < deadline)
    {
      if (!qemu_alive (p))
        return -1;
      double budget = CALL_BUDGET_S;
      if (budget > deadline - now_s ())
        budget = deadline - now_s ();
      if (budget < 0.2)
        budget = 0.2;
      double t0 = now_s ();
      if (try_connect (address, id, budget))
        return 1;
      if (now_s () - t0 < 0.05)
        usleep (RETRY_SLEEP_MS * 1000); /* refused: QEMU not listening yet */
    }
  return 0;
}

int
vmm_probe_may_reset (const char *address)
{
  /* Measured: after a QMP system_reset, vhost-device-vsock 0.3 times out every CONNECT although
     the rebooted guest listens again; the other channels and shares come back. */
  return strstr (address, "hvsock://") == NULL;
}

static int
finish (struct probe *p, int booted)
{
  if (booted > 0)
    {
      if (write (KC_READY_FD, "ready\n", 6) != 6)
        return 1; /* the core gave up on this start */
      kc_log_info ("boot probe: guest of %s answered Connect", p->dir);
      return 0;
    }
  if (booted == 0)
    {
      kc_log_error ("boot probe: guest of %s did not answer in time; killing QEMU", p->dir);
      pidfd_send_signal (p->pidfd, SIGKILL, NULL, 0);
    }
  return 1;
}

int
vmm_probe_main (int argc, char **argv)
{
  kc_error_t err = NULL;
  if (argc != 7)
    {
      fprintf (stderr, "usage: %s %s <sandbox-dir> <task-address> <qemu-pid> <start-time> <timeout-secs>\n", argv[0],
               VMM_PROBE_FLAG);
      return 2;
    }
  signal (SIGPIPE, SIG_IGN);
  struct probe p = { .dir = argv[2], .pidfd = -1 };
  double timeout = strtod (argv[6], NULL);
  const char *id = strrchr (p.dir, '/') ? strrchr (p.dir, '/') + 1 : p.dir;
  const char *address = argv[3];
  if (kc_proc_open_verified ((pid_t) atoi (argv[4]), strtoull (argv[5], NULL, 10), &p.pidfd, &err) < 0)
    {
      kc_log_error ("boot probe: %s", err->msg);
      return 1;
    }
  int booted = wait_boot (&p, address, id, now_s () + timeout);
  if (booted == 0 && !vmm_probe_may_reset (address))
    kc_log_error ("boot probe: guest of %s not up after %.0f s; not resetting it: vhost-device-vsock (channel "
                  "hvsock) does not survive a guest reset",
                  p.dir, timeout);
  else if (booted == 0)
    {
      kc_log_warn ("boot probe: guest of %s not up after %.0f s; rebooting it once", p.dir, timeout);
      if (vmm_hypervisor_qemu.reboot (p.dir, &err) < 0)
        kc_log_error ("boot probe: %s", err->msg);
      else
        booted = wait_boot (&p, address, id, now_s () + timeout);
    }
  kc_error_free (&err);
  return finish (&p, booted);
}
