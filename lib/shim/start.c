/* `start` (cwd = bundle): join the shim already serving the group's socket, or bind it and
   re-exec ourselves as the daemon with the listener on fd 3; print the address, write
   <bundle>/address (PROTOCOLS.md §2.3). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "cleanup.h"
#include "shim_priv.h"

#define SANDBOX_CONTROLLER_SHIM_DIR "io.containerd.sandbox.controller.v1.shim"
#define MAX_DAEMON_ARGS             (16 + 2 * KC_SHIM_MAX_EXTRA_FLAGS)

/* Hands the runtime options on stdin (a serialized Any, maybe empty) to ops->start. */
static int
run_start_hook (struct kc_shim *shim, kc_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  kc_error_t ignored = NULL;

  if (shim->ops->start == NULL)
    return 0;
  if (isatty (STDIN_FILENO) || kc_shim_read_fd (STDIN_FILENO, &data, &len, &ignored) < 0)
    kc_error_free (&ignored);
  return shim->ops->start (shim, (const uint8_t *) data, len, err);
}

static void
argv_free (char **v)
{
  for (int i = 1; v != NULL && v[i] != NULL; i++)
    free (v[i]);
  free (v);
}

static int
argv_add (char **v, int *n, const char *flag, const char *value)
{
  if (value == NULL)
    return 0;
  if (*n + 2 >= MAX_DAEMON_ARGS || asprintf (&v[*n], "-%s", flag) < 0 || (v[*n + 1] = strdup (value)) == NULL)
    return -1;
  *n += 2;
  return 0;
}

/* The daemon's argv: the same flags without the action, plus -bundle and -socket (v[0] is
   borrowed, the rest malloc'ed: argv_free). */
static char **
daemon_argv (struct kc_shim *shim, const char *socket_path)
{
  const struct kc_shim_flags *f = &shim->flags;
  const char *const *extra = shim->ops->extra_flags;
  char **v = calloc (MAX_DAEMON_ARGS, sizeof (char *));
  int n = 1, bad = 0;

  if (v == NULL)
    return NULL;
  v[0] = shim->argv[0];
  bad |= argv_add (v, &n, "namespace", f->namespace_);
  bad |= argv_add (v, &n, "id", f->id);
  bad |= argv_add (v, &n, "address", f->address);
  bad |= argv_add (v, &n, "publish-binary", f->publish_binary);
  bad |= argv_add (v, &n, "bundle", shim->bundle);
  bad |= argv_add (v, &n, "socket", socket_path);
  for (int i = 0; extra != NULL && extra[i] != NULL && i < KC_SHIM_MAX_EXTRA_FLAGS; i++)
    bad |= argv_add (v, &n, extra[i], f->extra[i]);
  if (f->debug && !bad)
    bad |= (v[n++] = strdup ("-debug")) == NULL;
  if (bad)
    {
      argv_free (v);
      return NULL;
    }
  return v;
}

/* Child side of the spawn: new session, listener on fd 3, stdio on /dev/null, exec. */
static void __attribute__ ((noreturn)) exec_daemon (int listen_fd, const char *bundle, char **argv)
{
  char self_path[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", self_path, sizeof (self_path) - 1);
  int null_fd;

  if (n <= 0)
    _exit (127);
  self_path[n] = '\0';
  setsid ();
  if (chdir (bundle) < 0)
    _exit (127);
  if (listen_fd == 3)
    fcntl (3, F_SETFD, 0);
  else if (dup2 (listen_fd, 3) < 0)
    _exit (127);
  null_fd = open ("/dev/null", O_RDWR);
  if (null_fd < 0)
    _exit (127);
  dup2 (null_fd, 0);
  dup2 (null_fd, 1);
  dup2 (null_fd, 2);
  /* Nothing else of our caller's (pipes of containerd, test harness fds) may stay open. */
  close_range (4, ~0U, 0);
  execv (self_path, argv);
  _exit (127);
}

static int
spawn_daemon (int listen_fd, const char *bundle, char **argv, kc_error_t *err)
{
  pid_t pid = fork ();

  if (pid < 0)
    return kc_error (err, errno, "fork");
  if (pid == 0)
    exec_daemon (listen_fd, bundle, argv);
  /* The daemon outlives us: it is reparented when we exit right after printing. */
  return 0;
}

/* Binds the socket; *joined = 1 when a live shim already serves it. Returns the fd or -1. */
static int
bind_or_join (const char *path, int *joined, kc_error_t *err)
{
  int fd;

  *joined = 0;
  fd = kc_shim_socket_listen (path, err);
  if (fd >= 0 || (*err)->errno_ != EADDRINUSE)
    return fd;
  if (kc_shim_socket_alive (path))
    {
      kc_error_free (err);
      *joined = 1;
      return -1;
    }
  kc_error_free (err);
  unlink (path);
  return kc_shim_socket_listen (path, err);
}

static int
spawn_on (struct kc_shim *shim, int fd, const char *path, kc_error_t *err)
{
  char **argv = daemon_argv (shim, path);
  int ret;

  if (argv == NULL)
    return kc_error (err, ENOMEM, "start");
  ret = spawn_daemon (fd, shim->bundle, argv, err);
  argv_free (argv);
  return ret;
}

/* 2.x sandbox bundles get the v3 Task API on the same socket: no per-container start/delete. */
static int
announce_address (struct kc_shim *shim, const char *group, const char *address, int joined, kc_error_t *err)
{
  cleanup_free char *json = NULL;
  int v3 = shim->ops->task_api_v3 && !joined && strcmp (group, shim->flags.id) == 0
           && strstr (shim->bundle, SANDBOX_CONTROLLER_SHIM_DIR) != NULL;

  if (!v3)
    return kc_shim_announce (shim->bundle, address, err);
  if (asprintf (&json, "{\"version\":3,\"address\":\"%s\",\"protocol\":\"ttrpc\"}", address) < 0)
    return kc_error (err, ENOMEM, "start");
  return kc_shim_announce (shim->bundle, json, err);
}

static int
run_start (struct kc_shim *shim, kc_error_t *err)
{
  const struct kc_shim_flags *f = &shim->flags;
  cleanup_free char *group = NULL;
  cleanup_free char *path = NULL;
  cleanup_free char *address = NULL;
  cleanup_close int fd = -1;
  int joined = 0;

  if (f->namespace_ == NULL || *f->namespace_ == '\0' || f->id == NULL || *f->id == '\0')
    return kc_error_code (err, KC_INVALID_ARGUMENT, "start needs -namespace and -id");
  if (run_start_hook (shim, err) < 0)
    return -1;
  group = kc_shim_group_id (shim->bundle, f->id);
  if (f->socket != NULL)
    path = strdup (f->socket);
  else if (kc_shim_socket_path (f->address, f->namespace_, group, &path, err) < 0)
    return -1;
  if (group == NULL || path == NULL || asprintf (&address, "unix://%s", path) < 0)
    return kc_error (err, ENOMEM, "start");
  fd = bind_or_join (path, &joined, err);
  if (fd < 0 && !joined)
    return -1;
  if (!joined && spawn_on (shim, fd, path, err) < 0)
    {
      unlink (path);
      return -1;
    }
  return announce_address (shim, group, address, joined, err);
}

int
kc_shim_start_main (struct kc_shim *shim)
{
  kc_error_t err = NULL;

  if (run_start (shim, &err) < 0)
    {
      /* containerd shows the combined output as the error: one line, nothing else. */
      fprintf (stderr, "%s start: %s\n", shim->ops->binary_name, err->msg);
      kc_error_free (&err);
      return 1;
    }
  return 0;
}
