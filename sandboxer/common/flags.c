/* Command line of a sandboxer and where its tasker binary is found. */
#include "daemon.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

static void
usage (FILE *out, const char *prog, const struct kc_backend *b)
{
  fprintf (out,
           "Usage: %s [OPTIONS]\n"
           "Serves containerd.services.sandbox.v1.Controller for %s sandboxes.\n\n"
           "  -l, --listen PATH     unix socket to serve on (default %s)\n"
           "  -d, --dir DIR         state directory (default %s)\n"
           "  -c, --config FILE     TOML config (default %s if it exists)\n"
           "      --log-level LVL   error, warn, info or debug (default: config, else info)\n"
           "      --tasker PATH     tasker binary (default: %s next to this binary, else on PATH)\n"
           "  -v, --version         print the version and exit\n"
           "  -h, --help            print this help and exit\n",
           prog, b->name, b->default_listen, b->default_dir, b->default_config, b->tasker_name);
}

static int
usage_error (const char *prog, const struct kc_backend *b, const char *what, const char *arg)
{
  fprintf (stderr, "%s: %s%s%s\n", prog, what, arg ? " " : "", arg ? arg : "");
  usage (stderr, prog, b);
  return 2;
}

int
kc_daemon_parse_flags (int argc, char **argv, const struct kc_backend *backend, struct kc_daemon_opts *opts)
{
  enum
  {
    OPT_LOG_LEVEL = 256,
    OPT_TASKER,
  };
  static const struct option longopts[] = {
    { "listen", required_argument, NULL, 'l' },
    { "dir", required_argument, NULL, 'd' },
    { "config", required_argument, NULL, 'c' },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "tasker", required_argument, NULL, OPT_TASKER },
    { "version", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *prog = argc > 0 ? argv[0] : "sandboxer";
  memset (opts, 0, sizeof (*opts));
  opts->listen = backend->default_listen;
  opts->dir = backend->default_dir;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long (argc, argv, ":l:d:c:vh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'l':
        opts->listen = optarg;
        break;
      case 'd':
        opts->dir = optarg;
        break;
      case 'c':
        opts->config = optarg;
        opts->config_explicit = 1;
        break;
      case OPT_LOG_LEVEL:
        if (kc_log_level_parse (optarg) < 0)
          return usage_error (prog, backend, "unknown log level", optarg);
        opts->log_level = optarg;
        break;
      case OPT_TASKER:
        opts->tasker = optarg;
        break;
      case 'v':
        printf ("%s-sandboxer (kuasar-c) %s\n", backend->name, KC_VERSION);
        return 1;
      case 'h':
        usage (stdout, prog, backend);
        return 1;
      case ':':
        return usage_error (prog, backend, "missing argument for", argv[optind - 1]);
      default:
        return usage_error (prog, backend, "unknown option", argv[optind - 1]);
      }
  if (optind < argc)
    return usage_error (prog, backend, "unexpected argument", argv[optind]);
  if (opts->listen[0] == '\0' || opts->dir[0] != '/')
    return usage_error (prog, backend, "--listen must be set and --dir must be absolute", NULL);
  if (!opts->config_explicit && access (backend->default_config, F_OK) == 0)
    opts->config = backend->default_config;
  return 0;
}

static char *
find_on_path (const char *name)
{
  const char *path = getenv ("PATH");
  cleanup_free char *copy = strdup (path ? path : "/usr/local/bin:/usr/bin:/bin");
  char *save = NULL;
  for (char *d = copy ? strtok_r (copy, ":", &save) : NULL; d; d = strtok_r (NULL, ":", &save))
    {
      char *candidate;
      if (asprintf (&candidate, "%s/%s", d, name) < 0)
        return NULL;
      if (access (candidate, X_OK) == 0)
        return candidate;
      free (candidate);
    }
  return NULL;
}

char *
kc_daemon_find_tasker (const char *explicit_path, const char *name)
{
  if (explicit_path != NULL)
    return realpath (explicit_path, NULL) ?: strdup (explicit_path);
  char self[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof (self) - 1);
  if (n > 0)
    {
      self[n] = '\0';
      char *slash = strrchr (self, '/');
      char *candidate;
      if (slash && asprintf (&candidate, "%.*s/%s", (int) (slash - self), self, name) >= 0)
        {
          if (access (candidate, X_OK) == 0)
            return candidate;
          free (candidate);
        }
    }
  char *found = find_on_path (name);
  return found ? found : strdup (name);
}
