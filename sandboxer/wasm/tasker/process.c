/* Container processes: fork at Create (containerd needs a pid, like `runc create`), run the module
   at Start, in a child whose fds 0-2 are the container's streams (WasmEdge's WASI has no stdio
   hook). */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

uint32_t
kc_exit_status_from_wait (int wstatus)
{
  if (WIFEXITED (wstatus))
    return (uint32_t) WEXITSTATUS (wstatus);
  if (WIFSIGNALED (wstatus))
    return 128u + (uint32_t) WTERMSIG (wstatus);
  return 255;
}

static int
set_blocking (int fd, kc_error_t *err)
{
  int fl = fcntl (fd, F_GETFL);

  if (fl < 0 || fcntl (fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
    return kc_error (err, errno, "fcntl");
  return 0;
}

int
kc_stdio_open (const char *path, int for_write, kc_error_t *err)
{
  cleanup_close int fd = -1;

  if (path == NULL || *path == '\0')
    fd = open ("/dev/null", (for_write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
  else if (strncmp (path, "file://", 7) == 0 && for_write)
    fd = open (path + 7, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  else if (strstr (path, "://") != NULL && strncmp (path, "fifo://", 7) != 0)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "stdio `%s`: unsupported URI scheme", path);
  else
    {
      const char *p = strncmp (path, "fifo://", 7) == 0 ? path + 7 : path;
      if (!for_write)
        fd = open (p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      else
        {
          fd = open (p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
          /* No reader yet: hold the FIFO open read-write so the open cannot fail or block. */
          if (fd < 0 && errno == ENXIO)
            fd = open (p, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        }
    }
  if (fd < 0)
    return kc_error (err, errno, "open stdio `%s`", path);
  if (set_blocking (fd, err) < 0)
    return kc_error_wrap (err, "stdio `%s`", path);
  return steal_fd (&fd);
}

static int
cmp_int (const void *a, const void *b)
{
  return *(const int *) a - *(const int *) b;
}

/* Closes every fd >= 3 except keep[]: the child never execs, so O_CLOEXEC does not protect it
   from holding other containers' pipes or the server's sockets. */
static void
close_other_fds (int *keep, size_t n)
{
  int from = 3;

  qsort (keep, n, sizeof (int), cmp_int);
  for (size_t i = 0; i < n; i++)
    {
      if (keep[i] < from)
        continue;
      if (keep[i] > from)
        close_range ((unsigned) from, (unsigned) keep[i] - 1, 0);
      from = keep[i] + 1;
    }
  close_range ((unsigned) from, ~0u, 0);
}

static void
reset_signals (void)
{
  sigset_t all;

  for (int s = 1; s < NSIG; s++)
    signal (s, SIG_DFL);
  sigemptyset (&all);
  sigprocmask (SIG_SETMASK, &all, NULL);
}

static int
dup_onto (int fd, int target)
{
  if (fd == target)
    return fcntl (fd, F_SETFD, 0);
  return dup2 (fd, target);
}

static void __attribute__ ((noreturn))
child_main (const struct kc_spawn *sp, pid_t parent, int stdio[3], int start_rd, int log_fd)
{
  kc_error_t err = NULL;
  char module_path[64], c;
  struct kc_wasm_run run;
  ssize_t n;
  int code;

  reset_signals ();
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (137);
  /* stdio fds are >= 3 unless the tasker itself lacked 0-2; move them out of the way first. */
  for (int i = 0; i < 3; i++)
    if (stdio[i] < 3)
      stdio[i] = fcntl (stdio[i], F_DUPFD_CLOEXEC, 3);
  for (int i = 0; i < 3; i++)
    if (stdio[i] < 0 || dup_onto (stdio[i], i) < 0)
      _exit (127);
  {
    int keep[] = { sp->module_fd, start_rd, log_fd };
    close_other_fds (keep, 3);
  }
  do
    n = read (start_rd, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    _exit (137); /* never started: deleted or the tasker went away */
  close (start_rd);
  snprintf (module_path, sizeof (module_path), "/proc/self/fd/%d", sp->module_fd);
  run = (struct kc_wasm_run){ .module_path = module_path,
                              .args = sp->args,
                              .nargs = sp->nargs,
                              .env = sp->env,
                              .nenv = sp->nenv,
                              .preopens = sp->preopens,
                              .npreopens = sp->npreopens };
  code = sp->engine->run (&run, &err);
  if (code < 0)
    {
      dprintf (2, "kuasar-wasm-tasker: %s\n", err->msg);
      if (log_fd >= 0)
        dprintf (log_fd, "level=error msg=\"module %s failed: %s\" component=kuasar-wasm-tasker pid=%d\n", sp->args[0],
                 err->msg, (int) getpid ());
      _exit (1);
    }
  _exit (code);
}

int
kc_process_spawn (const struct kc_spawn *sp, pid_t *pid, int *start_fd, kc_error_t *err)
{
  cleanup_close int in = -1, out = -1, errfd = -1, log_fd = -1;
  int pipefd[2];
  pid_t parent = getpid (), child;

  in = kc_stdio_open (sp->stdin_path, 0, err);
  if (in < 0)
    return -1;
  out = kc_stdio_open (sp->stdout_path, 1, err);
  if (out < 0)
    return -1;
  errfd = kc_stdio_open (sp->stderr_path, 1, err);
  if (errfd < 0)
    return -1;
  log_fd = fcntl (2, F_DUPFD_CLOEXEC, 3);
  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return kc_error (err, errno, "pipe");
  child = fork ();
  if (child < 0)
    {
      close (pipefd[0]);
      close (pipefd[1]);
      return kc_error (err, errno, "fork");
    }
  if (child == 0)
    {
      int stdio[3] = { in, out, errfd };
      close (pipefd[1]);
      child_main (sp, parent, stdio, pipefd[0], log_fd);
    }
  close (pipefd[0]);
  *pid = child;
  *start_fd = pipefd[1];
  if (sp->cgroup != NULL && kc_cgroup_add_pid (sp->cgroup, child, err) < 0)
    {
      kill (child, SIGKILL);
      close (pipefd[1]);
      *start_fd = -1;
      return -1; /* the SIGCHLD handler reaps it */
    }
  return 0;
}

int
kc_process_start (int *start_fd, kc_error_t *err)
{
  ssize_t n;

  if (*start_fd < 0)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "process already started");
  do
    n = write (*start_fd, "s", 1);
  while (n < 0 && errno == EINTR);
  close (*start_fd);
  *start_fd = -1;
  if (n != 1)
    return kc_error (err, errno, "start process");
  return 0;
}
