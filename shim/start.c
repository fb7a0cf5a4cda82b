/* `start` (cwd = bundle): join the pod's live shim or bind its socket and re-exec ourselves as
   the daemon with the listener on fd 3, then print the address and write <bundle>/address. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "files.h"
#include "runtime_opts.h"
#include "socket_addr.h"
#include "start.h"

#define CRI_SANDBOX_ID_ANNOTATION   "io.kubernetes.cri.sandbox-id"
#define SANDBOX_CONTROLLER_SHIM_DIR "io.containerd.sandbox.controller.v1.shim"

char *
shim_group_id (const char *bundle, const char *id)
{
  cleanup_free char *path = NULL;
  cleanup_free char *data = NULL;
  kc_error_t err = NULL;
  json_object *root, *ann, *v;
  char *group = NULL;

  if (asprintf (&path, "%s/config.json", bundle) < 0)
    return strdup (id);
  if (shim_read_file (path, &data, NULL, &err) < 0)
    {
      kc_error_free (&err);
      return strdup (id);
    }
  root = json_tokener_parse (data);
  if (root != NULL && json_object_object_get_ex (root, "annotations", &ann)
      && json_object_object_get_ex (ann, CRI_SANDBOX_ID_ANNOTATION, &v) && json_object_is_type (v, json_type_string)
      && json_object_get_string_len (v) > 0)
    group = strdup (json_object_get_string (v));
  json_object_put (root);
  return group ? group : strdup (id);
}

static void
read_stdin_options (struct shim_runtime_opts *opts)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  kc_error_t err = NULL;

  memset (opts, 0, sizeof (*opts));
  if (isatty (STDIN_FILENO) || shim_read_fd (STDIN_FILENO, &data, &len, &err) < 0)
    {
      kc_error_free (&err);
      return;
    }
  shim_runtime_opts_parse ((const uint8_t *) data, len, opts);
}

/* Builds the daemon's argv: same flags, no action, plus -bundle, -socket and -sandboxer-address. */
static char **
daemon_argv (const struct shim_flags *f, const char *bundle, const char *socket_path, const char *sandboxer,
             char *argv0)
{
  char **v = calloc (24, sizeof (char *));
  int n = 0;

  if (v == NULL)
    return NULL;
  v[n++] = argv0;
#define ADD(flag, val)                                                                                                 \
  do                                                                                                                   \
    if ((val) != NULL)                                                                                                 \
      {                                                                                                                \
        v[n++] = (char *) (flag);                                                                                      \
        v[n++] = (char *) (val);                                                                                       \
      }                                                                                                                \
  while (0)
  ADD ("-namespace", f->namespace_);
  ADD ("-id", f->id);
  ADD ("-address", f->address);
  ADD ("-publish-binary", f->publish_binary);
  ADD ("-bundle", bundle);
  ADD ("-socket", socket_path);
  ADD ("-sandboxer-address", sandboxer);
#undef ADD
  if (f->debug)
    v[n++] = (char *) "-debug";
  v[n] = NULL;
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

/* Binds the pod socket; *joined = 1 when a live shim already serves it. Returns the fd or -1. */
static int
bind_or_join (const char *path, int *joined, kc_error_t *err)
{
  int fd;

  *joined = 0;
  fd = shim_socket_listen (path, err);
  if (fd >= 0 || (*err)->errno_ != EADDRINUSE)
    return fd;
  if (shim_socket_alive (path))
    {
      kc_error_free (err);
      *joined = 1;
      return -1;
    }
  kc_error_free (err);
  unlink (path);
  return shim_socket_listen (path, err);
}

static int
announce (const char *bundle, const char *text, kc_error_t *err)
{
  cleanup_free char *path = NULL;

  if (asprintf (&path, "%s/address", bundle) < 0)
    return kc_error (err, ENOMEM, "address file");
  if (shim_write_file_atomic (path, text, strlen (text), 0644, err) < 0)
    return -1;
  fputs (text, stdout);
  return fflush (stdout) == 0 ? 0 : kc_error (err, errno, "write stdout");
}

static int
run_start (const struct shim_flags *f, const char *bundle, char **argv, kc_error_t *err)
{
  struct shim_runtime_opts opts;
  cleanup_free char *group = NULL;
  cleanup_free char *path = NULL;
  cleanup_free char *address = NULL;
  cleanup_free char **dargv = NULL;
  cleanup_close int fd = -1;
  int joined = 0, v3;

  if (f->namespace_ == NULL || *f->namespace_ == '\0' || f->id == NULL || *f->id == '\0')
    return kc_error_code (err, KC_INVALID_ARGUMENT, "start needs -namespace and -id");
  read_stdin_options (&opts);
  group = shim_group_id (bundle, f->id);
  if (f->socket != NULL)
    path = strdup (f->socket);
  else if (shim_socket_path (f->address, f->namespace_, group, &path, err) < 0)
    goto fail;
  if (path == NULL || asprintf (&address, "unix://%s", path) < 0)
    {
      kc_error (err, ENOMEM, "start");
      goto fail;
    }
  fd = bind_or_join (path, &joined, err);
  if (fd < 0 && !joined)
    goto fail;
  if (!joined)
    {
      dargv = daemon_argv (f, bundle, path, opts.sandboxer_address ? opts.sandboxer_address : f->sandboxer, argv[0]);
      if (dargv == NULL || spawn_daemon (fd, bundle, dargv, err) < 0)
        {
          unlink (path);
          goto fail;
        }
    }
  shim_runtime_opts_free (&opts);
  /* 2.x sandbox bundles get the v3 Task API on the same socket: no per-container start/delete. */
  v3 = !joined && strcmp (group, f->id) == 0 && strstr (bundle, SANDBOX_CONTROLLER_SHIM_DIR) != NULL;
  if (v3)
    {
      cleanup_free char *json = NULL;
      if (asprintf (&json, "{\"version\":3,\"address\":\"%s\",\"protocol\":\"ttrpc\"}", address) < 0)
        return kc_error (err, ENOMEM, "start");
      return announce (bundle, json, err);
    }
  return announce (bundle, address, err);
fail:
  shim_runtime_opts_free (&opts);
  return -1;
}

int
shim_start_main (const struct shim_flavor *flavor, const struct shim_flags *flags, char **argv)
{
  char cwd[PATH_MAX];
  const char *bundle = flags->bundle;
  kc_error_t err = NULL;

  if (bundle == NULL)
    {
      if (getcwd (cwd, sizeof (cwd)) == NULL)
        {
          fprintf (stderr, "%s: getcwd: %s\n", flavor->binary_name, strerror (errno));
          return 1;
        }
      bundle = cwd;
    }
  if (run_start (flags, bundle, argv, &err) < 0)
    {
      /* containerd shows the combined output as the error: one line, nothing else. */
      fprintf (stderr, "%s start: %s\n", flavor->binary_name, err->msg);
      kc_error_free (&err);
      return 1;
    }
  return 0;
}
