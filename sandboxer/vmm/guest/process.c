/* Container processes of the guest (process.h). The child reports its setup result on a sync
   pipe ("ok" or the error text) so that Create and Exec fail like runc's do. */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "rootfs.h"

#define KC_VSPAWN_STACK (256 * 1024)

struct child_ctx
{
  const struct kc_vspawn *sp;
  int sync_wr, start_rd;
  int ns_fds[3]; /* ipc, uts, mnt of the joined container */
  int root_fd;
};

static const char *
env_path (char *const *env)
{
  for (char *const *e = env; e != NULL && *e != NULL; e++)
    if (strncmp (*e, "PATH=", 5) == 0)
      return *e + 5;
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

char *
kc_vmm_find_exec (const char *args0, char *const *env)
{
  cleanup_free char *path = NULL;
  char *save = NULL, *found = NULL;
  struct stat st;

  if (strchr (args0, '/') != NULL)
    return access (args0, X_OK) == 0 ? strdup (args0) : NULL;
  path = strdup (env_path (env));
  for (char *dir = strtok_r (path, ":", &save); path != NULL && dir != NULL; dir = strtok_r (NULL, ":", &save))
    {
      if (asprintf (&found, "%s/%s", *dir ? dir : ".", args0) < 0)
        return NULL;
      if (stat (found, &st) == 0 && S_ISREG (st.st_mode) && access (found, X_OK) == 0)
        return found;
      free (found);
      found = NULL;
    }
  return NULL;
}

static int
apply_user (const struct kc_vmm_process *p, kc_error_t *err)
{
  if (setgroups (p->n_additional_gids, p->additional_gids) < 0)
    return kc_error (err, errno, "setgroups");
  if (setgid (p->gid) < 0)
    return kc_error (err, errno, "setgid %u", (unsigned) p->gid);
  if (setuid (p->uid) < 0)
    return kc_error (err, errno, "setuid %u", (unsigned) p->uid);
  return 0;
}

static int
join_container (struct child_ctx *c, kc_error_t *err)
{
  static const int types[3] = { CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNS };

  for (int i = 0; i < 3; i++)
    if (setns (c->ns_fds[i], types[i]) < 0)
      return kc_error (err, errno, "setns");
  if (fchdir (c->root_fd) < 0 || chroot (".") < 0 || chdir ("/") < 0)
    return kc_error (err, errno, "enter the container root");
  return 0;
}

static int
stdio_install (int stdio[3])
{
  for (int i = 0; i < 3; i++)
    if (stdio[i] < 3 && (stdio[i] = fcntl (stdio[i], F_DUPFD_CLOEXEC, 3)) < 0)
      return -1;
  for (int i = 0; i < 3; i++)
    if (dup2 (stdio[i], i) < 0)
      return -1;
  return 0;
}

static void
reset_signals (void)
{
  sigset_t none;

  for (int s = 1; s < NSIG; s++)
    signal (s, SIG_DFL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
}

/* Everything up to the exec; the caller reports failures on the sync pipe. */
static char *
child_prepare (struct child_ctx *c, kc_error_t *err)
{
  const struct kc_vspawn *sp = c->sp;
  int stdio[3] = { sp->stdio[0], sp->stdio[1], sp->stdio[2] };
  char *exe;

  if (setsid () < 0 || stdio_install (stdio) < 0)
    return kc_error (err, errno, "stdio"), NULL;
  if (sp->join_pid > 0 ? join_container (c, err) < 0 : kc_rootfs_enter (sp->rootfs, sp->bundle, sp->spec, err) < 0)
    return NULL;
  if (apply_user (sp->process, err) < 0)
    return NULL;
  if (chdir (sp->process->cwd) < 0)
    return kc_error (err, errno, "chdir to cwd `%s`", sp->process->cwd), NULL;
  exe = kc_vmm_find_exec (sp->process->args[0], sp->process->env);
  if (exe == NULL)
    kc_error_code (err, KC_FAILED_PRECONDITION, "exec: `%s`: executable file not found in $PATH", sp->process->args[0]);
  return exe;
}

/* The child must not hold other processes' pipes (a stdin's EOF) while it waits for Start. */
static void
close_other_fds (int a, int b)
{
  int lo = a < b ? a : b, hi = a < b ? b : a;

  if (lo > 3)
    close_range (3, (unsigned) lo - 1, 0);
  if (hi > lo + 1)
    close_range ((unsigned) lo + 1, (unsigned) hi - 1, 0);
  close_range ((unsigned) hi + 1, ~0u, 0);
}

static int
child_main (void *arg)
{
  struct child_ctx *c = arg;
  kc_error_t err = NULL;
  char *exe, go;
  ssize_t n;

  reset_signals ();
  exe = child_prepare (c, &err);
  if (exe == NULL)
    {
      dprintf (c->sync_wr, "%s", err->msg);
      _exit (1);
    }
  close_other_fds (c->sync_wr, c->start_rd);
  if (write (c->sync_wr, "ok", 2) != 2)
    _exit (1);
  close (c->sync_wr);
  do
    n = read (c->start_rd, &go, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    _exit (137); /* deleted before Start */
  execve (exe, c->sp->process->args, c->sp->process->env);
  dprintf (2, "vmm-task: exec `%s`: %s\n", exe, strerror (errno));
  _exit (127);
}

/* Exec: the container's namespaces and root, opened before the clone. */
static int
open_join_fds (struct child_ctx *c, pid_t pid, int *pidns_fd, kc_error_t *err)
{
  static const char *const names[3] = { "ipc", "uts", "mnt" };
  char path[64];

  for (int i = 0; i < 3; i++)
    {
      snprintf (path, sizeof (path), "/proc/%d/ns/%s", (int) pid, names[i]);
      if ((c->ns_fds[i] = open (path, O_RDONLY | O_CLOEXEC)) < 0)
        return kc_error (err, errno, "open `%s`", path);
    }
  snprintf (path, sizeof (path), "/proc/%d/root", (int) pid);
  if ((c->root_fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    return kc_error (err, errno, "open `%s`", path);
  snprintf (path, sizeof (path), "/proc/%d/ns/pid", (int) pid);
  if ((*pidns_fd = open (path, O_RDONLY | O_CLOEXEC)) < 0)
    return kc_error (err, errno, "open `%s`", path);
  return 0;
}

static void
close_join_fds (struct child_ctx *c)
{
  for (int i = 0; i < 3; i++)
    if (c->ns_fds[i] >= 0)
      close (c->ns_fds[i]);
  if (c->root_fd >= 0)
    close (c->root_fd);
}

/* clone() into new namespaces (init) or, for an exec, with our pid_ns_for_children pointed at
   the container's so the child is both in its pid namespace and our child (we reap it). */
static pid_t
clone_child (struct child_ctx *c, int pidns_fd, kc_error_t *err)
{
  cleanup_free char *stack = malloc (KC_VSPAWN_STACK);
  cleanup_close int self_ns = -1;
  int flags = SIGCHLD;
  pid_t pid;

  if (stack == NULL)
    return kc_error (err, ENOMEM, "clone stack");
  if (pidns_fd < 0)
    flags |= CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
  else if ((self_ns = open ("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)) < 0 || setns (pidns_fd, CLONE_NEWPID) < 0)
    return kc_error (err, errno, "join the container's pid namespace");
  pid = clone (child_main, stack + KC_VSPAWN_STACK, flags, c);
  if (pid < 0)
    kc_error (err, errno, "clone");
  if (self_ns >= 0 && setns (self_ns, CLONE_NEWPID) < 0)
    kc_log_error ("cannot restore our pid namespace: %s", strerror (errno));
  return pid;
}

/* "ok", or the child's error text (it exits; the SIGCHLD handler reaps it). */
static int
sync_wait (int sync_rd, pid_t pid, kc_error_t *err)
{
  char msg[1024];
  ssize_t n, used = 0;

  while ((n = read (sync_rd, msg + used, sizeof (msg) - 1 - (size_t) used)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return kc_error (err, errno, "read from process %d", (int) pid);
      used += n;
      if (used == (ssize_t) sizeof (msg) - 1)
        break;
    }
  msg[used] = '\0';
  if (strcmp (msg, "ok") == 0)
    return 0;
  return kc_error_code (err, strstr (msg, "not found") ? KC_FAILED_PRECONDITION : KC_INTERNAL, "%s",
                        used > 0 ? msg : "the container process died during setup");
}

int
kc_vspawn_run (const struct kc_vspawn *sp, pid_t *pid, int *start_fd, kc_error_t *err)
{
  struct child_ctx c = { .sp = sp, .ns_fds = { -1, -1, -1 }, .root_fd = -1 };
  cleanup_close int pidns_fd = -1, sync_rd = -1, start_wr = -1;
  int syncp[2], startp[2];
  pid_t child = -1;

  if (sp->join_pid > 0 && open_join_fds (&c, sp->join_pid, &pidns_fd, err) < 0)
    return close_join_fds (&c), -1;
  if (pipe2 (syncp, O_CLOEXEC) < 0)
    return close_join_fds (&c), kc_error (err, errno, "pipe");
  if (pipe2 (startp, O_CLOEXEC) < 0)
    return close (syncp[0]), close (syncp[1]), close_join_fds (&c), kc_error (err, errno, "pipe");
  c.sync_wr = syncp[1];
  c.start_rd = startp[0];
  sync_rd = syncp[0];
  start_wr = startp[1];
  child = clone_child (&c, pidns_fd, err);
  close (syncp[1]);
  close (startp[0]);
  close_join_fds (&c);
  if (child < 0)
    return -1;
  if (sync_wait (sync_rd, child, err) < 0)
    return -1;
  *pid = child;
  *start_fd = steal_fd (&start_wr);
  return 0;
}
