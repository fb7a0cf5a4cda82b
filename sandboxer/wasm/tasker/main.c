/* kuasar-wasm-tasker: flags, network namespace, then the tasker daemon (tasker.c) until Shutdown
   or SIGTERM. The process contract is in docs/internals.md ("sandboxer → wasm tasker"). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"
#include "tasker.h"

static void
usage (FILE *out)
{
  fprintf (out, "Usage: kuasar-wasm-tasker --id ID --dir DIR --socket PATH [--netns PATH]\n"
                "                          [--cgroup-parent PATH] [--log-level LEVEL] [--ready-fd N]\n"
                "                          [--precompile --cache-dir DIR]\n"
                "Serves containerd's Task API for one pod; runs each container's WASI module with WasmEdge.\n"
                "  --id ID              sandbox id\n"
                "  --dir DIR            sandbox state directory\n"
                "  --socket PATH        unix socket to serve the Task API on (mode 0600)\n"
                "  --netns PATH         network namespace to join before anything else\n"
                "  --cgroup-parent P    cgroup parent of the containers (default kuasar-wasm)\n"
                "  --log-level LEVEL    error, warn, info (default), debug\n"
                "  --ready-fd N         write \"ready\\n\" to fd N once serving, then close it\n"
                "  --precompile         AOT-compile each module before its first run (WasmEdge compiler)\n"
                "  --cache-dir DIR      where compiled modules are cached by sha256 (needed by --precompile)\n"
                "  --help, --version\n");
}

static int
join_netns (const char *path, kc_error_t *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return kc_error (err, errno, "open netns `%s`", path);
  if (setns (fd, CLONE_NEWNET) < 0)
    return kc_error (err, errno, "setns `%s`", path);
  return 0;
}

static int
parse_fd (const char *s, int *fd)
{
  char *end;
  long v;

  errno = 0;
  v = strtol (s, &end, 10);
  if (errno != 0 || *s == '\0' || *end != '\0' || v < 0 || v > 65535)
    return -1;
  *fd = (int) v;
  return 0;
}

int
main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "id", required_argument, NULL, 'i' },
    { "dir", required_argument, NULL, 'd' },
    { "socket", required_argument, NULL, 's' },
    { "netns", required_argument, NULL, 'n' },
    { "cgroup-parent", required_argument, NULL, 'c' },
    { "log-level", required_argument, NULL, 'l' },
    { "ready-fd", required_argument, NULL, 'r' },
    { "precompile", no_argument, NULL, 'p' },
    { "cache-dir", required_argument, NULL, 'C' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'v' },
    { NULL, 0, NULL, 0 },
  };
  struct kc_tasker_options opts = { .ready_fd = -1 };
  const char *netns = NULL;
  cleanup_error kc_error_t err = NULL;
  struct kc_tasker t;
  int opt, level = KC_LOG_INFO, ret;

  kc_log_init ("kuasar-wasm-tasker", level);
  while ((opt = getopt_long (argc, argv, "", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'i':
        opts.id = optarg;
        break;
      case 'd':
        opts.dir = optarg;
        break;
      case 's':
        opts.socket_path = optarg;
        break;
      case 'n':
        netns = optarg;
        break;
      case 'c':
        opts.cgroup_parent = optarg;
        break;
      case 'l':
        if ((level = kc_log_level_parse (optarg)) < 0)
          {
            fprintf (stderr, "kuasar-wasm-tasker: unknown log level `%s`\n", optarg);
            return 2;
          }
        break;
      case 'r':
        if (parse_fd (optarg, &opts.ready_fd) < 0)
          {
            fprintf (stderr, "kuasar-wasm-tasker: bad --ready-fd `%s`\n", optarg);
            return 2;
          }
        break;
      case 'p':
        opts.precompile = 1;
        break;
      case 'C':
        opts.cache_dir = optarg;
        break;
      case 'h':
        usage (stdout);
        return 0;
      case 'v':
        printf ("kuasar-wasm-tasker %s\n", KC_VERSION);
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  if (opts.id == NULL || opts.socket_path == NULL || optind != argc || (opts.precompile && opts.cache_dir == NULL))
    {
      usage (stderr);
      return 2;
    }
  kc_log_set_level (level);
  if (opts.ready_fd >= 0)
    fcntl (opts.ready_fd, F_SETFD, FD_CLOEXEC);
  /* Before anything else, so every container child inherits the pod's network. */
  if (netns != NULL && join_netns (netns, &err) < 0)
    {
      kc_log_error ("%s", err->msg);
      return 1;
    }
  if (opts.dir != NULL && chdir (opts.dir) < 0)
    kc_log_warn ("chdir `%s`: %s", opts.dir, strerror (errno));
  ret = kc_tasker_init (&t, &opts, &err);
  if (ret == 0)
    ret = kc_tasker_run (&t, opts.ready_fd, &err);
  else if (opts.ready_fd >= 0)
    close (opts.ready_fd);
  if (ret < 0)
    kc_log_error ("%s", err->msg);
  kc_tasker_fini (&t);
  kc_log_info ("tasker %s exited", opts.id);
  return ret < 0 ? 1 : 0;
}
