/* The shim daemon (no action): subreaper and reaper, log FIFO on stderr, SIGTERM/SIGINT,
   SIGPIPE ignored, the ttrpc server on the listener at fd 3 (or -socket), events publisher,
   and a clean exit once asked (connections closed, events sent, socket removed). */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "shim_priv.h"

#define LISTEN_FD      3
#define EXIT_TICK_MS   20
#define EXIT_MAX_TICKS 50
#define N_SIGNALS      3

static void
exit_tick (evutil_socket_t fd, short what, void *arg)
{
  struct kc_shim *shim = arg;
  struct timeval tv = { 0, EXIT_TICK_MS * 1000 };

  /* Leave once containerd closed its connections and the events went out, or after ~1 s
     whatever is still pending. */
  shim->exit_ticks++;
  if (shim->exit_ticks >= EXIT_MAX_TICKS
      || (kc_ttrpc_server_conn_count (shim->server) == 0 && kc_shim_events_count (shim->events) == 0))
    {
      event_base_loopbreak (shim->base);
      return;
    }
  evtimer_add (shim->exit_timer, &tv);
}

void
kc_shim_request_exit (struct kc_shim *shim)
{
  struct timeval tv = { 0, EXIT_TICK_MS * 1000 };

  if (shim->exiting || shim->exit_timer == NULL)
    return;
  shim->exiting = 1;
  evtimer_add (shim->exit_timer, &tv);
}

static void
signal_cb (evutil_socket_t sig, short what, void *arg)
{
  struct kc_shim *shim = arg;

  if (sig == SIGCHLD)
    {
      kc_shim_reap (shim);
      return;
    }
  kc_log_info ("signal %d: exiting", (int) sig);
  kc_shim_request_exit (shim);
}

/* containerd reads <bundle>/log (a FIFO it holds open) into its own log. */
static void
open_log_fifo (const char *bundle)
{
  char path[PATH_MAX];
  int fd;

  snprintf (path, sizeof (path), "%s/log", bundle);
  fd = open (path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return;
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
  dup2 (fd, STDERR_FILENO);
  close (fd);
}

static int
listen_fd_is_socket (void)
{
  struct stat st;
  return fstat (LISTEN_FD, &st) == 0 && S_ISSOCK (st.st_mode);
}

static int
serve_init (struct kc_shim *shim, kc_error_t *err)
{
  shim->base = event_base_new ();
  if (shim->base == NULL)
    return kc_error_code (err, KC_INTERNAL, "event_base_new");
  shim->exit_timer = evtimer_new (shim->base, exit_tick, shim);
  shim->events = kc_shim_events_new (shim->base, getenv ("TTRPC_ADDRESS"), shim->flags.namespace_);
  shim->server = kc_ttrpc_server_new (shim->base);
  if (shim->exit_timer == NULL || shim->events == NULL || shim->server == NULL)
    return kc_error_code (err, KC_INTERNAL, "shim daemon init");
  if (shim->ops->register_services (shim->server, shim, err) < 0)
    return -1;
  if (listen_fd_is_socket ())
    return kc_ttrpc_server_listen_fd (shim->server, LISTEN_FD, err);
  if (shim->flags.socket == NULL)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "no listener on fd 3 and no -socket");
  return kc_ttrpc_server_listen_path (shim->server, shim->flags.socket, err);
}

static void
serve_fini (struct kc_shim *shim)
{
  if (shim->server)
    kc_ttrpc_server_free (shim->server);
  if (shim->ops->destroy)
    shim->ops->destroy (shim);
  kc_shim_events_free (shim->events);
  kc_shim_watches_clear (shim);
  if (shim->exit_timer)
    event_free (shim->exit_timer);
  if (shim->flags.socket)
    unlink (shim->flags.socket);
  if (shim->base)
    event_base_free (shim->base);
}

static void
add_signals (struct kc_shim *shim, struct event **slots)
{
  static const int sigs[N_SIGNALS] = { SIGTERM, SIGINT, SIGCHLD };

  for (int i = 0; i < N_SIGNALS; i++)
    {
      slots[i] = evsignal_new (shim->base, sigs[i], signal_cb, shim);
      if (slots[i])
        event_add (slots[i], NULL);
    }
}

static int
serve_loop (struct kc_shim *shim)
{
  struct event *sigs[N_SIGNALS] = { NULL };
  int ret = 0;

  add_signals (shim, sigs);
  kc_log_info ("%s serving %s (namespace %s)", shim->ops->binary_name, shim->flags.id, shim->flags.namespace_);
  if (event_base_dispatch (shim->base) < 0)
    ret = 1;
  for (int i = 0; i < N_SIGNALS; i++)
    if (sigs[i])
      event_free (sigs[i]);
  kc_log_info ("%s for %s exiting", shim->ops->binary_name, shim->flags.id);
  return ret;
}

int
kc_shim_serve_main (struct kc_shim *shim)
{
  kc_error_t err = NULL;
  int ret;

  if (shim->flags.namespace_ == NULL || *shim->flags.namespace_ == '\0' || shim->flags.id == NULL
      || *shim->flags.id == '\0')
    {
      kc_log_error ("serve needs -namespace and -id");
      return 2;
    }
  open_log_fifo (shim->bundle);
  signal (SIGPIPE, SIG_IGN);
  prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  if (serve_init (shim, &err) < 0)
    {
      kc_log_error ("shim %s: %s", shim->flags.id, err->msg);
      kc_error_free (&err);
      serve_fini (shim);
      return 1;
    }
  ret = serve_loop (shim);
  serve_fini (shim);
  return ret;
}
