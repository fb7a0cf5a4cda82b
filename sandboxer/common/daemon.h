/* The sandboxer process: flags, config, recovery, the gRPC server, signals and systemd
   notification around the libevent loop. A backend's main() is one call to kc_sandboxer_main. */
#ifndef KC_DAEMON_H
#define KC_DAEMON_H

#include "backend.h"

struct kc_daemon_opts
{
  const char *listen;
  const char *dir;
  const char *config; /* NULL: the backend default if that file exists */
  int config_explicit;
  const char *log_level; /* NULL: from the config, else info */
  const char *tasker;    /* NULL: next to our binary, else on PATH */
};

/* Returns 0 to run, 1 when --help/--version was served, 2 on a usage error (usage printed). */
int kc_daemon_parse_flags (int argc, char **argv, const struct kc_backend *backend, struct kc_daemon_opts *opts);
/* Malloc'ed path of the tasker binary: explicit, next to /proc/self/exe, on PATH, or the bare
   name when nothing is found (Start will then fail with a clear error). */
char *kc_daemon_find_tasker (const char *explicit_path, const char *name);
/* Process exit code. */
int kc_sandboxer_main (int argc, char **argv, const struct kc_backend *backend);

#endif
