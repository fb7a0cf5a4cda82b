/* Spawns the boot probe detached (fork, setsid, fork, exec /proc/self/exe --boot-probe ...) with
   the write end of a ready pipe on fd 3 and its output appended to <dir>/qemu.log. */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "proc.h"

/* In the grandchild: only async-signal-safe calls. */
static void __attribute__ ((noreturn))
exec_probe (char *const argv[], int null_fd, int log_fd, int ready_w)
{
  sigset_t none;
  int n = fcntl (null_fd, F_DUPFD_CLOEXEC, 10), l = fcntl (log_fd, F_DUPFD_CLOEXEC, 10),
      r = fcntl (ready_w, F_DUPFD_CLOEXEC, 10);
  if (n < 0 || l < 0 || r < 0 || dup2 (n, 0) < 0 || dup2 (l, 1) < 0 || dup2 (l, 2) < 0
      || dup2 (r, KC_READY_FD) < 0)
    _exit (126);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGPIPE, SIG_DFL);
  execv (argv[0], argv);
  _exit (127);
}

static int
fork_detached (char *const argv[], int null_fd, int log_fd, int ready_w, kc_error_t *err)
{
  int status;
  pid_t pid = fork ();
  if (pid < 0)
    return kc_error (err, errno, "fork boot probe");
  if (pid == 0)
    {
      setsid ();
      pid_t grandchild = fork ();
      if (grandchild == 0)
        exec_probe (argv, null_fd, log_fd, ready_w);
      _exit (grandchild < 0 ? 1 : 0);
    }
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return kc_error_code (err, KC_INTERNAL, "fork boot probe: intermediate child failed");
  return 0;
}

int
vmm_probe_spawn (const char *sandbox_dir, pid_t qemu, unsigned long long start_time, unsigned timeout_secs,
                 int *ready_fd, kc_error_t *err)
{
  char self[PATH_MAX], pid_s[32], start_s[32], timeout_s[32];
  cleanup_free char *log_path = NULL;
  ssize_t len = readlink ("/proc/self/exe", self, sizeof (self) - 1);
  if (len <= 0 || asprintf (&log_path, "%s/qemu.log", sandbox_dir) < 0)
    return kc_error (err, errno ? errno : ENOMEM, "boot probe paths");
  self[len] = '\0';
  snprintf (pid_s, sizeof (pid_s), "%d", (int) qemu);
  snprintf (start_s, sizeof (start_s), "%llu", start_time);
  snprintf (timeout_s, sizeof (timeout_s), "%u", timeout_secs);
  char *argv[] = { self, (char *) VMM_PROBE_FLAG, (char *) sandbox_dir, pid_s, start_s, timeout_s, NULL };
  cleanup_close int null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  cleanup_close int log_fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int p[2];
  if (null_fd < 0 || log_fd < 0 || pipe2 (p, O_CLOEXEC) < 0)
    return kc_error (err, errno, "boot probe fds");
  int ret = fork_detached (argv, null_fd, log_fd, p[1], err);
  close (p[1]);
  if (ret < 0)
    {
      close (p[0]);
      return -1;
    }
  fcntl (p[0], F_SETFL, O_NONBLOCK);
  *ready_fd = p[0];
  return 0;
}
