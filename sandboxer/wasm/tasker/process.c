/* Container processes: fork at Create (containerd needs a pid, like `runc create`), run the module
   at Start, in a child whose fds 0-2 are the container's streams (WasmEdge's WASI has no stdio
   hook). */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aot.h"
#include "cleanup.h"
#include "log.h"

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
          /* No reader yet: only a handle, the child opens it write-only itself, blocking until
             the reader is there (stdio_open_deferred). */
          if (fd < 0 && errno == ENXIO)
            {
              kc_log_debug ("stdio `%s`: no reader yet, the process opens it when one comes", p);
              fd = open (p, O_PATH | O_CLOEXEC);
              if (fd >= 0)
                return steal_fd (&fd);
            }
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

/* A logrus line on the tasker's log (the child's fd 2 is the container's stderr). */
static void __attribute__ ((format (printf, 3, 4))) child_log (int log_fd, const char *level, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;

  if (log_fd < 0)
    return;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof (msg), fmt, ap);
  va_end (ap);
  dprintf (log_fd, "level=%s msg=\"%s\" component=kuasar-wasm-tasker pid=%d\n", level, msg, (int) getpid ());
}

static double
elapsed_ms (const struct timespec *since)
{
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  return (double) (now.tv_sec - since->tv_sec) * 1e3 + (double) (now.tv_nsec - since->tv_nsec) / 1e6;
}

/* The cached AOT-compiled module (compiled now when missing), or NULL: interpret (warned). */
static char *
child_aot (const struct kc_spawn *sp, int log_fd)
{
  kc_error_t err = NULL;
  struct timespec t0;
  int compiled;
  char *path;

  clock_gettime (CLOCK_MONOTONIC, &t0);
  path = kc_aot_prepare (sp->engine, sp->aot_cache_dir, sp->module_fd, &compiled, &err);
  if (path == NULL)
    child_log (log_fd, "warning", "module %s: AOT compile failed, running it interpreted: %s", sp->args[0], err->msg);
  else if (compiled && kc_log_get_level () >= KC_LOG_INFO)
    child_log (log_fd, "info", "module %s AOT-compiled into %s in %.0f ms", sp->args[0], path, elapsed_ms (&t0));
  kc_error_free (&err);
  return path;
}

/* stdout/stderr FIFOs that had no reader at Create/Exec come as O_PATH handles (kc_stdio_open).
   They are opened write-only here, blocking until the reader is there. Holding them read-write
   instead loses output: a process that ends before the reader opens takes the buffered bytes and
   the last writer with it, and containerd, which opens its end later with a blocking open(2) in a
   goroutine, then waits for a writer forever and ExecSync never returns. Signals (Kill, the
   tasker's death) still end a child waiting here. */
static int
stdio_open_deferred (int log_fd)
{
  char path[64];
  int fd;

  for (int i = 1; i < 3; i++)
    {
      int fl = fcntl (i, F_GETFL);
      if (fl < 0 || !(fl & O_PATH))
        continue;
      snprintf (path, sizeof (path), "/proc/self/fd/%d", i);
      do
        fd = open (path, O_WRONLY);
      while (fd < 0 && errno == EINTR);
      if (fd < 0 || dup2 (fd, i) < 0)
        {
          child_log (log_fd, "error", "stdio fd %d: open the FIFO write-only: %s", i, strerror (errno));
          return -1;
        }
      close (fd);
    }
  return 0;
}

static void __attribute__ ((noreturn))
child_main (const struct kc_spawn *sp, pid_t parent, int stdio[3], int start_rd, int log_fd)
{
  kc_error_t err = NULL;
  char fd_path[64], c, *aot_path;
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
  if (stdio_open_deferred (log_fd) < 0)
    _exit (127);
  snprintf (fd_path, sizeof (fd_path), "/proc/self/fd/%d", sp->module_fd);
  aot_path = sp->aot_cache_dir != NULL ? child_aot (sp, log_fd) : NULL;
  run = (struct kc_wasm_run){ .module_path = aot_path != NULL ? aot_path : fd_path,
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
      child_log (log_fd, "error", "module %s failed: %s", sp->args[0], err->msg);
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
