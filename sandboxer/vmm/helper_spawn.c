/* Spawning a detached helper: fork, setsid, fork, exec, with fds 0-2 (and the ready pipe) set up
   in the grandchild; the intermediate child is reaped here at once. */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "proc.h"

/* In the grandchild: only async-signal-safe calls. */
static void __attribute__ ((noreturn))
exec_helper (char *const argv[], int null_fd, int log_fd, int ready_w, const struct kc_pod_cgroup_join *join)
{
  sigset_t none;
  if (join != NULL && kc_pod_cgroup_join_self (join) < 0)
    {
      static const char msg[] = "vmm-sandboxer: joining the pod cgroup failed\n";
      ssize_t ignored = write (log_fd, msg, sizeof (msg) - 1);
      (void) ignored;
      _exit (125);
    }
  int n = fcntl (null_fd, F_DUPFD_CLOEXEC, 10), l = fcntl (log_fd, F_DUPFD_CLOEXEC, 10);
  int r = ready_w >= 0 ? fcntl (ready_w, F_DUPFD_CLOEXEC, 10) : -1;
  if (n < 0 || l < 0 || dup2 (n, 0) < 0 || dup2 (l, 1) < 0 || dup2 (l, 2) < 0)
    _exit (126);
  if (ready_w >= 0 && (r < 0 || dup2 (r, KC_READY_FD) < 0))
    _exit (126);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGPIPE, SIG_DFL);
  execv (argv[0], argv);
  _exit (127);
}

/* In the intermediate child: the grandchild's pid goes up pid_w (when asked for). */
static void __attribute__ ((noreturn))
fork_helper (char *const argv[], int null_fd, int log_fd, int ready_w, int pid_w, const struct kc_pod_cgroup_join *join)
{
  setsid ();
  pid_t grandchild = fork ();
  if (grandchild == 0)
    exec_helper (argv, null_fd, log_fd, ready_w, join);
  if (grandchild > 0 && pid_w >= 0 && write (pid_w, &grandchild, sizeof (grandchild)) != sizeof (grandchild))
    _exit (1);
  _exit (grandchild < 0 ? 1 : 0);
}

int
vmm_helper_spawn_pid (char *const argv[], const char *log_path, int ready_w, pid_t *helper_pid, kc_error_t *err)
{
  return vmm_helper_spawn_in_cgroup (argv, log_path, ready_w, NULL, helper_pid, err);
}

int
vmm_helper_spawn_in_cgroup (char *const argv[], const char *log_path, int ready_w,
                            const struct kc_pod_cgroup_join *join, pid_t *helper_pid, kc_error_t *err)
{
  int status, p[2] = { -1, -1 };
  cleanup_close int null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  cleanup_close int log_fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (null_fd < 0 || log_fd < 0)
    return kc_error (err, errno, "helper fds (%s)", log_path);
  if (helper_pid != NULL && pipe2 (p, O_CLOEXEC) < 0)
    return kc_error (err, errno, "pipe");
  cleanup_close int pid_r = p[0];
  pid_t pid = fork ();
  if (pid == 0)
    fork_helper (argv, null_fd, log_fd, ready_w, p[1], join);
  if (p[1] >= 0)
    close (p[1]);
  if (pid < 0)
    return kc_error (err, errno, "fork %s", argv[1]);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return kc_error_code (err, KC_INTERNAL, "fork %s: intermediate child failed", argv[1]);
  if (helper_pid != NULL && read (pid_r, helper_pid, sizeof (*helper_pid)) != sizeof (*helper_pid))
    return kc_error_code (err, KC_INTERNAL, "fork %s: no pid from the intermediate child", argv[1]);
  return 0;
}

int
vmm_helper_spawn (char *const argv[], const char *log_path, int ready_w, kc_error_t *err)
{
  return vmm_helper_spawn_pid (argv, log_path, ready_w, NULL, err);
}

int
vmm_helper_self (char *buf, size_t max, kc_error_t *err)
{
  ssize_t len = readlink ("/proc/self/exe", buf, max - 1);
  if (len <= 0)
    return kc_error (err, errno, "readlink /proc/self/exe");
  buf[len] = '\0';
  return 0;
}
