/* The sandboxer's main: config, recovery, gRPC server, signals, sd_notify, the loop. */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "cleanup.h"
#include "controller.h"
#include "fsutil.h"
#include "log.h"
#include "sandboxer.h"

struct daemon
{
  struct event_base *base;
  struct kc_sandboxer sbx;
  kc_grpc_server *server;
  struct event *sigterm_ev, *sigint_ev, *watchdog_ev;
};

static void
notify (const char *state)
{
#ifdef HAVE_SYSTEMD
  sd_notify (0, state);
#else
  (void) state;
#endif
}

static void
on_signal (evutil_socket_t sig, short what, void *arg)
{
  struct daemon *d = arg;
  kc_log_info ("signal %d: stopping (taskers keep running)", (int) sig);
  notify ("STOPPING=1");
  event_base_loopbreak (d->base);
}

static void
on_watchdog (evutil_socket_t fd, short what, void *arg)
{
  notify ("WATCHDOG=1");
}

/* WATCHDOG=1 every WatchdogSec/2 when systemd asked for it. */
static int
arm_watchdog (struct daemon *d)
{
  const char *usec = getenv ("WATCHDOG_USEC");
  unsigned long long us = usec ? strtoull (usec, NULL, 10) : 0;
  if (us == 0)
    return 0;
  struct timeval tv = { (time_t) (us / 2 / 1000000), (suseconds_t) (us / 2 % 1000000) };
  d->watchdog_ev = event_new (d->base, -1, EV_PERSIST, on_watchdog, d);
  return d->watchdog_ev ? event_add (d->watchdog_ev, &tv) : -1;
}

static int
setup_signals (struct daemon *d)
{
  signal (SIGPIPE, SIG_IGN);
  d->sigterm_ev = evsignal_new (d->base, SIGTERM, on_signal, d);
  d->sigint_ev = evsignal_new (d->base, SIGINT, on_signal, d);
  if (d->sigterm_ev == NULL || d->sigint_ev == NULL || event_add (d->sigterm_ev, NULL) < 0
      || event_add (d->sigint_ev, NULL) < 0)
    return -1;
  return 0;
}

static int
load_config (const struct kc_daemon_opts *opts, const struct kc_backend *backend, struct kc_config *cfg,
             kc_error_t *err)
{
  kc_config_init (cfg);
  cfg->backend_keys = backend->config_keys;
  if (opts->config == NULL)
    return 0;
  if (kc_config_load (cfg, backend->name, opts->config, err) < 0)
    return -1;
  kc_log_info ("config %s loaded", opts->config);
  return 0;
}

static const char *
effective_log_level (const struct kc_daemon_opts *opts, const struct kc_config *cfg)
{
  static const char *const names[] = { "error", "warn", "info", "debug" };
  if (opts->log_level)
    return opts->log_level;
  return cfg->log_level >= 0 ? names[cfg->log_level] : "info";
}

static int
start_daemon (struct daemon *d, const struct kc_daemon_opts *opts, const struct kc_backend *backend, kc_error_t *err)
{
  struct kc_config cfg;
  if (load_config (opts, backend, &cfg, err) < 0)
    return -1;
  const char *level = effective_log_level (opts, &cfg);
  kc_log_set_level (kc_log_level_parse (level));
  if (backend->init && backend->init (&cfg, err) < 0)
    {
      kc_config_free (&cfg);
      return -1;
    }
  cleanup_free char *tasker = kc_daemon_find_tasker (opts->tasker, backend->tasker_name);
  if (access (tasker, X_OK) < 0)
    kc_log_warn ("tasker `%s` is not executable: sandboxes will fail to start", tasker);
  if (kc_mkdir_p (opts->dir, 0711, err) < 0
      || kc_sandboxer_init (&d->sbx, d->base, backend, opts->dir, tasker, level, &cfg, err) < 0)
    {
      kc_config_free (&cfg);
      return -1;
    }
  if (kc_sandboxer_recover (&d->sbx, err) < 0)
    return kc_error_wrap (err, "recover");
  d->server = kc_grpc_server_new (d->base);
  if (d->server == NULL)
    return kc_error_code (err, KC_INTERNAL, "grpc server");
  if (kc_controller_register (d->server, &d->sbx, err) < 0 || kc_grpc_server_start (d->server, opts->listen, err) < 0)
    return kc_error_wrap (err, "listen on `%s`", opts->listen);
  chmod (opts->listen, 0600);
  return 0;
}

static void
stop_daemon (struct daemon *d)
{
  if (d->server)
    kc_grpc_server_free (d->server);
  kc_sandboxer_free (&d->sbx);
  if (d->sigterm_ev)
    event_free (d->sigterm_ev);
  if (d->sigint_ev)
    event_free (d->sigint_ev);
  if (d->watchdog_ev)
    event_free (d->watchdog_ev);
  event_base_free (d->base);
}

int
kc_sandboxer_main (int argc, char **argv, const struct kc_backend *backend)
{
  struct kc_daemon_opts opts;
  int parsed = kc_daemon_parse_flags (argc, argv, backend, &opts);
  if (parsed != 0)
    return parsed == 1 ? 0 : 2;
  char ident[64];
  snprintf (ident, sizeof (ident), "%s-sandboxer", backend->name);
  kc_log_init (ident, opts.log_level ? kc_log_level_parse (opts.log_level) : KC_LOG_INFO);
  struct daemon d;
  memset (&d, 0, sizeof (d));
  d.base = event_base_new ();
  cleanup_error kc_error_t err = NULL;
  if (d.base == NULL || setup_signals (&d) < 0)
    {
      kc_log_error ("cannot set up the event loop");
      return 1;
    }
  if (start_daemon (&d, &opts, backend, &err) < 0)
    {
      kc_log_error ("%s", err->msg);
      stop_daemon (&d);
      return 1;
    }
  kc_log_info ("serving on %s, state in %s", opts.listen, opts.dir);
  notify ("READY=1");
  arm_watchdog (&d);
  event_base_dispatch (d.base);
  stop_daemon (&d);
  return 0;
}
