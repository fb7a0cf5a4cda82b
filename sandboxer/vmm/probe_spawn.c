/* Spawns the boot probe (a detached helper) with the write end of a ready pipe on fd 3 and its
   output appended to <dir>/qemu.log. */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "helper.h"

int
vmm_probe_spawn (const char *sandbox_dir, const char *task_address, pid_t qemu, unsigned long long start_time, unsigned timeout_secs,
                 int *ready_fd, kc_error_t *err)
{
  char self[PATH_MAX], pid_s[32], start_s[32], timeout_s[32], log_path[PATH_MAX];
  int p[2];
  if (vmm_helper_self (self, sizeof (self), err) < 0)
    return -1;
  snprintf (log_path, sizeof (log_path), "%s/qemu.log", sandbox_dir);
  snprintf (pid_s, sizeof (pid_s), "%d", (int) qemu);
  snprintf (start_s, sizeof (start_s), "%llu", start_time);
  snprintf (timeout_s, sizeof (timeout_s), "%u", timeout_secs);
  char *argv[]
      = { self, (char *) VMM_PROBE_FLAG, (char *) sandbox_dir, (char *) task_address, pid_s, start_s, timeout_s, NULL };
  if (pipe2 (p, O_CLOEXEC) < 0)
    return kc_error (err, errno, "boot probe pipe");
  int ret = vmm_helper_spawn (argv, log_path, p[1], err);
  close (p[1]);
  if (ret < 0)
    {
      close (p[0]);
      return kc_error_wrap (err, "boot probe");
    }
  fcntl (p[0], F_SETFL, O_NONBLOCK);
  *ready_fd = p[0];
  return 0;
}
