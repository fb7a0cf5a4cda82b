/* Tasker processes: spawn, identify, signal, reap (see proc.h). */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

/* Only async-signal-safe calls from here on: the parent may have other threads. */
static void __attribute__ ((noreturn)) child_exec (char *const argv[], int null_fd, int log_fd, int ready_wr,
                                                   int pass_fd, const struct kc_pod_cgroup_join *join)
{
  sigset_t all;
  if (join != NULL && kc_pod_cgroup_join_self (join) < 0)
    {
      static const char msg[] = "kuasar sandboxer: joining the pod cgroup failed\n";
      ssize_t ignored = write (log_fd, msg, sizeof (msg) - 1);
      (void) ignored;
      _exit (127);
    }
  sigemptyset (&all);
  sigprocmask (SIG_SETMASK, &all, NULL);
  for (int sig = 1; sig < NSIG; sig++)
    signal (sig, SIG_DFL);
  if (setsid () < 0)
    _exit (127);
  if (dup2 (null_fd, 0) < 0 || dup2 (log_fd, 1) < 0 || dup2 (log_fd, 2) < 0 || dup2 (ready_wr, KC_READY_FD) < 0)
    _exit (127);
  if (pass_fd >= 0 && dup2 (pass_fd, KC_PASS_FD) < 0)
    _exit (127);
  /* Whatever the sandboxer inherited without O_CLOEXEC must not reach the tasker either. */
  close_range (pass_fd >= 0 ? KC_PASS_FD + 1 : KC_READY_FD + 1, ~0U, 0);
  execv (argv[0], argv);
  static const char msg[] = "kuasar sandboxer: exec of the tasker failed\n";
  ssize_t ignored = write (2, msg, sizeof (msg) - 1);
  (void) ignored;
  _exit (127);
}

/* Moves fd to >= 10 (O_CLOEXEC) so the child's dup2 onto 0..3 cannot clobber another source. */
static int
high_fd (int fd)
{
  if (fd < 0)
    return -1;
  int moved = fcntl (fd, F_DUPFD_CLOEXEC, 10);
  int saved = errno;
  close (fd);
  errno = saved;
  return moved;
}

int
kc_proc_spawn (char *const argv[], const char *log_path, struct kc_spawned *out, kc_error_t *err)
{
  return kc_proc_spawn_with_fd (argv, log_path, -1, out, err);
}

int
kc_proc_spawn_with_fd (char *const argv[], const char *log_path, int pass_fd, struct kc_spawned *out,
                       kc_error_t *err)
{
  return kc_proc_spawn_in_cgroup (argv, log_path, pass_fd, NULL, out, err);
}

int
kc_proc_spawn_in_cgroup (char *const argv[], const char *log_path, int pass_fd,
                         const struct kc_pod_cgroup_join *join, struct kc_spawned *out, kc_error_t *err)
{
  int pipefd[2];
  /* Not NOT_FOUND (that would read as an unknown sandbox): the host lacks the tasker. */
  if (access (argv[0], X_OK) < 0)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "tasker `%s`: %s", argv[0], strerror (errno));
  cleanup_close int null_fd = high_fd (open ("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null_fd < 0)
    return kc_error (err, errno, "open /dev/null");
  cleanup_close int log_fd = high_fd (open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (log_fd < 0)
    return kc_error (err, errno, "open `%s`", log_path);
  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return kc_error (err, errno, "pipe2");
  cleanup_close int ready_rd = pipefd[0];
  cleanup_close int ready_wr = high_fd (pipefd[1]);
  if (ready_wr < 0)
    return kc_error (err, errno, "dup ready pipe");
  cleanup_close int pass = pass_fd >= 0 ? fcntl (pass_fd, F_DUPFD_CLOEXEC, 10) : -1;
  if (pass_fd >= 0 && pass < 0)
    return kc_error (err, errno, "dup fd to pass");
  pid_t pid = fork ();
  if (pid < 0)
    return kc_error (err, errno, "fork");
  if (pid == 0)
    child_exec (argv, null_fd, log_fd, ready_wr, pass, join);
  int pidfd = pidfd_open (pid, 0);
  if (pidfd < 0)
    {
      int saved = errno;
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      return kc_error (err, saved, "pidfd_open %d", (int) pid);
    }
  fcntl (ready_rd, F_SETFL, O_NONBLOCK);
  out->pid = pid;
  out->pidfd = pidfd;
  out->ready_fd = steal_fd (&ready_rd);
  return 0;
}

int
kc_proc_start_time (pid_t pid, unsigned long long *start_time, kc_error_t *err)
{
  char path[64], buf[1024];
  snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return kc_error_code (err, errno == ENOENT ? KC_NOT_FOUND : KC_INTERNAL, "open `%s`: %s", path, strerror (errno));
  ssize_t n = read (fd, buf, sizeof (buf) - 1);
  if (n <= 0)
    return kc_error (err, n < 0 ? errno : EIO, "read `%s`", path);
  buf[n] = '\0';
  /* comm (field 2) may hold spaces and parens: fields 3.. start after the last ')'. */
  char *p = strrchr (buf, ')');
  if (p == NULL)
    return kc_error_code (err, KC_INTERNAL, "unexpected `%s`", path);
  p++;
  for (int field = 3; field < 22; field++)
    {
      p = strchr (p + 1, ' ');
      if (p == NULL)
        return kc_error_code (err, KC_INTERNAL, "unexpected `%s`", path);
    }
  *start_time = strtoull (p + 1, NULL, 10);
  return 0;
}

int
kc_proc_open_verified (pid_t pid, unsigned long long start_time, int *pidfd, kc_error_t *err)
{
  if (pid <= 0)
    return kc_error_code (err, KC_NOT_FOUND, "no pid");
  cleanup_close int fd = pidfd_open (pid, 0);
  if (fd < 0)
    return kc_error_code (err, errno == ESRCH ? KC_NOT_FOUND : KC_INTERNAL, "pidfd_open %d: %s", (int) pid,
                          strerror (errno));
  /* Checked after opening: the pidfd pins the process, so a match now cannot go stale. */
  unsigned long long now;
  if (kc_proc_start_time (pid, &now, err) < 0)
    return -1;
  if (start_time != 0 && now != start_time)
    return kc_error_code (err, KC_NOT_FOUND, "pid %d was recycled (start time %llu, recorded %llu)", (int) pid, now,
                          start_time);
  *pidfd = steal_fd (&fd);
  return 0;
}

int
kc_proc_signal (int pidfd, int sig, kc_error_t *err)
{
  if (pidfd_send_signal (pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
    return kc_error (err, errno, "pidfd_send_signal %d", sig);
  return 0;
}

int
kc_proc_reap (int pidfd, pid_t pid, uint32_t *status, kc_error_t *err)
{
  siginfo_t info;
  memset (&info, 0, sizeof (info));
  int ret = waitid (P_PIDFD, (id_t) pidfd, &info, WEXITED | WNOHANG);
  if (ret < 0 && errno == EINVAL)
    ret = waitid (P_PID, (id_t) pid, &info, WEXITED | WNOHANG);
  if (ret < 0)
    return errno == ECHILD ? 0 : kc_error (err, errno, "waitid %d", (int) pid);
  if (info.si_pid == 0)
    return 0;
  *status = info.si_code == CLD_EXITED ? (uint32_t) info.si_status : 128u + (uint32_t) info.si_status;
  return 1;
}

/* The last max-1 bytes of path into buf (NUL-terminated); their length, -1 when unreadable or
   empty. *from: the file offset they start at (> 0: the first line may be partial). */
static ssize_t
read_tail (const char *path, char *buf, size_t max, off_t *from)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  off_t size = lseek (fd, 0, SEEK_END);
  *from = size > (off_t) max - 1 ? size - (off_t) max + 1 : 0;
  ssize_t n = pread (fd, buf, max - 1, *from);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  return n;
}

void
kc_file_last_line (const char *path, char *out, size_t max)
{
  char buf[4096];
  off_t from;
  ssize_t n = read_tail (path, buf, sizeof (buf), &from);
  out[0] = '\0';
  if (n < 0)
    return;
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
    buf[--n] = '\0';
  char *start = strrchr (buf, '\n');
  start = start ? start + 1 : buf;
  snprintf (out, max, "%s", start);
}

void
kc_log_file_tail (const char *prefix, const char *path, int max_lines)
{
  char buf[8192];
  off_t from;
  ssize_t n = read_tail (path, buf, sizeof (buf), &from);
  if (n < 0)
    return;
  char *end = buf + n, *p = end;
  /* Back from the end to the start of the max_lines-th last line (a final newline ends the last). */
  for (int lines = 0; p > buf; p--)
    if (p[-1] == '\n' && p != end && ++lines == max_lines)
      break;
  if (p == buf && from > 0 && strchr (p, '\n') != NULL)
    p = strchr (p, '\n') + 1; /* a partial first line */
  for (char *line = strtok_r (p, "\n", &p); line != NULL; line = strtok_r (NULL, "\n", &p))
    kc_log_error ("%s: %s", prefix, line);
}
