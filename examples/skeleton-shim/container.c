/* A container process: fork at Create, chroot into the rootfs, stdio on containerd's FIFOs,
   wait on the start pipe, exec process.args at Start. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "rootfs.h"
#include "spec.h"

extern char **environ;

/* Puts path (or /dev/null) on fd. A FIFO opened for reading does not wait for its writer (then
   is made blocking); opened for writing it waits for containerd to read it. */
static int
redirect (const char *path, int fd, int flags)
{
  int opened = open (path && *path ? path : "/dev/null", flags == O_RDONLY ? flags | O_NONBLOCK : flags);

  if (opened < 0)
    return -1;
  fcntl (opened, F_SETFL, fcntl (opened, F_GETFL) & ~O_NONBLOCK);
  if (opened != fd && (dup2 (opened, fd) < 0 || close (opened) < 0))
    return -1;
  return 0;
}

/* The child: stdio, chroot, wait for Start, exec. Errors go to the container's stderr. */
static void __attribute__ ((noreturn)) run_child (struct skel_container *c, const struct skel_spec *spec, int start_rd)
{
  char go;
  char rootfs[4096];

  /* Only the read end of our start pipe stays: holding the write end (ours, or another held
     container's) would keep read() below from seeing EOF when the task is deleted unstarted. */
  if (start_rd < 3 || (start_rd > 3 && close_range (3, (unsigned) start_rd - 1, 0) < 0)
      || close_range ((unsigned) start_rd + 1, ~0U, 0) < 0)
    _exit (126);
  setsid ();
  signal (SIGPIPE, SIG_DFL);
  if (redirect (c->stdin_path, 0, O_RDONLY) < 0 || redirect (c->stdout_path, 1, O_WRONLY) < 0
      || redirect (c->stderr_path, 2, O_WRONLY) < 0)
    _exit (126);
  snprintf (rootfs, sizeof (rootfs), "%s/rootfs", c->bundle);
  if (chroot (rootfs) < 0 || chdir (spec->cwd) < 0)
    {
      fprintf (stderr, "skeleton: chroot `%s`: %s\n", rootfs, strerror (errno));
      _exit (126);
    }
  if (read (start_rd, &go, 1) != 1)
    _exit (0); /* deleted before Start */
  close (start_rd);
  environ = spec->env;
  execvp (spec->args[0], spec->args);
  fprintf (stderr, "skeleton: exec `%s`: %s\n", spec->args[0], strerror (errno));
  _exit (127);
}

static int
fork_process (struct skel_container *c, const struct skel_spec *spec, kc_error_t *err)
{
  int pipefd[2];

  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return kc_error (err, errno, "pipe");
  c->pid = fork ();
  if (c->pid < 0)
    {
      close (pipefd[0]);
      close (pipefd[1]);
      return kc_error (err, errno, "fork");
    }
  if (c->pid == 0)
    run_child (c, spec, pipefd[0]);
  close (pipefd[0]);
  c->start_fd = pipefd[1];
  return 0;
}

static struct skel_container *
container_new (const Containerd__Task__V2__CreateTaskRequest *req)
{
  struct skel_container *c = calloc (1, sizeof (*c));

  if (c == NULL)
    return NULL;
  c->start_fd = -1;
  c->status = CONTAINERD__V1__TYPES__STATUS__CREATED;
  c->id = strdup (req->id);
  c->bundle = strdup (req->bundle);
  c->stdin_path = strdup (req->stdin);
  c->stdout_path = strdup (req->stdout);
  c->stderr_path = strdup (req->stderr);
  if (!c->id || !c->bundle || !c->stdin_path || !c->stdout_path || !c->stderr_path)
    {
      skel_container_free (c);
      return NULL;
    }
  return c;
}

struct skel_container *
skel_container_create (const Containerd__Task__V2__CreateTaskRequest *req, kc_error_t *err)
{
  struct skel_container *c;
  struct skel_spec spec;

  if (req->terminal)
    return kc_error_code (err, KC_UNIMPLEMENTED, "terminal is not supported"), NULL;
  if (skel_spec_load (req->bundle, &spec, err) < 0)
    return NULL;
  c = container_new (req);
  if (c == NULL)
    {
      skel_spec_free (&spec);
      return kc_error (err, ENOMEM, "create"), NULL;
    }
  if (skel_rootfs_mount (c->bundle, req->rootfs, req->n_rootfs, err) == 0)
    {
      c->mounted = 1;
      fork_process (c, &spec, err);
    }
  skel_spec_free (&spec);
  if (c->pid <= 0)
    {
      skel_container_free (c);
      return NULL;
    }
  return c;
}

int
skel_container_start (struct skel_container *c, kc_error_t *err)
{
  if (c->start_fd < 0)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "container `%s` already started", c->id);
  if (write (c->start_fd, "x", 1) != 1)
    return kc_error (err, errno, "start `%s`", c->id);
  close (c->start_fd);
  c->start_fd = -1;
  c->status = CONTAINERD__V1__TYPES__STATUS__RUNNING;
  return 0;
}

void
skel_container_exited (struct skel_container *c, int wait_status)
{
  Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  struct timespec now;

  clock_gettime (CLOCK_REALTIME, &now);
  c->status = CONTAINERD__V1__TYPES__STATUS__STOPPED;
  c->exit_status
      = WIFEXITED (wait_status) ? (uint32_t) WEXITSTATUS (wait_status) : 128 + (uint32_t) WTERMSIG (wait_status);
  c->exited_sec = now.tv_sec;
  c->exited_nsec = (int32_t) now.tv_nsec;
  ts.seconds = c->exited_sec;
  ts.nanos = c->exited_nsec;
  resp.exit_status = c->exit_status;
  resp.exited_at = &ts;
  for (size_t i = 0; i < c->n_waiters; i++)
    kc_ttrpc_call_reply (c->waiters[i], &resp.base);
  free (c->waiters);
  c->waiters = NULL;
  c->n_waiters = 0;
}

void
skel_container_free (struct skel_container *c)
{
  if (c == NULL)
    return;
  if (c->start_fd >= 0)
    close (c->start_fd); /* a process never started reads EOF and exits */
  for (size_t i = 0; i < c->n_waiters; i++)
    kc_ttrpc_call_error (c->waiters[i], KC_NOT_FOUND, "container `%s` deleted", c->id);
  if (c->mounted)
    skel_rootfs_unmount (c->bundle);
  free (c->waiters);
  free (c->id);
  free (c->bundle);
  free (c->stdin_path);
  free (c->stdout_path);
  free (c->stderr_path);
  free (c);
}
