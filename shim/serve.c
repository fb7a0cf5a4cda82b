/* The shim daemon: subreaper, log FIFO on stderr, signals, the ttrpc server on fd 3 with the
   Sandbox and Task services, and a clean exit after ShutdownSandbox (socket removed). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "serve.h"
#include "shim.h"

#define LISTEN_FD      3
#define EXIT_TICK_MS   20
#define EXIT_MAX_TICKS 50

static void
exit_tick (evutil_socket_t fd, short what, void *arg)
{
  struct shim *shim = arg;
  struct timeval tv = { 0, EXIT_TICK_MS * 1000 };

  /* Leave once containerd closed its connections and the events went out, or after ~1 s
     whatever is still pending (a WaitSandbox waiting for the sandboxer is cancelled on exit). */
  shim->exit_ticks++;
  if (shim->exit_ticks >= EXIT_MAX_TICKS
      || (kc_ttrpc_server_conn_count (shim->server) == 0 && shim_events_pending (shim->events) == 0))
    {
      event_base_loopbreak (shim->base);
      return;
    }
  evtimer_add (shim->exit_timer, &tv);
}

void
shim_request_exit (struct shim *shim)
{
  struct timeval tv = { 0, EXIT_TICK_MS * 1000 };

  if (shim->shutting_down)
    return;
  shim->shutting_down = 1;
  evtimer_add (shim->exit_timer, &tv);
}

static void
signal_cb (evutil_socket_t sig, short what, void *arg)
{
  struct shim *shim = arg;

  if (sig == SIGCHLD)
    {
      while (waitpid (-1, NULL, WNOHANG) > 0)
        ;
      return;
    }
  kc_log_info ("signal %d: exiting", (int) sig);
  shim_request_exit (shim);
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
shim_init (struct shim *shim, const struct shim_flavor *flavor, const struct shim_flags *f, kc_error_t *err)
{
  char cwd[PATH_MAX];

  shim->flavor = flavor;
  shim->ns = strdup (f->namespace_);
  shim->id = strdup (f->id);
  shim->bundle = strdup (f->bundle ? f->bundle : (getcwd (cwd, sizeof (cwd)) ? cwd : "."));
  shim->socket_path = f->socket ? strdup (f->socket) : NULL;
  shim->sandboxer_address = strdup (shim_sandboxer_address (flavor, f));
  if (!shim->ns || !shim->id || !shim->bundle || !shim->sandboxer_address)
    return kc_error (err, ENOMEM, "init");
  shim->base = event_base_new ();
  if (shim->base == NULL)
    return kc_error_code (err, KC_INTERNAL, "event_base_new");
  shim->exit_timer = evtimer_new (shim->base, exit_tick, shim);
  shim->events = shim_events_new (shim->base, getenv ("TTRPC_ADDRESS"), shim->ns);
  shim->sandboxer = kc_grpc_client_new (shim->base, shim->sandboxer_address, err);
  if (shim->sandboxer == NULL)
    return kc_error_wrap (err, "sandboxer client `%s`", shim->sandboxer_address);
  shim->server = kc_ttrpc_server_new (shim->base);
  if (shim->server == NULL)
    return kc_error_code (err, KC_INTERNAL, "ttrpc server");
  if (shim_sandbox_service_register (shim, err) < 0 || shim_task_service_register (shim, err) < 0)
    return -1;
  if (listen_fd_is_socket ())
    return kc_ttrpc_server_listen_fd (shim->server, LISTEN_FD, err);
  if (shim->socket_path == NULL)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "no listener on fd 3 and no -socket");
  return kc_ttrpc_server_listen_path (shim->server, shim->socket_path, err);
}

static void
shim_fini (struct shim *shim)
{
  if (shim->server)
    kc_ttrpc_server_free (shim->server);
  if (shim->tasker)
    kc_ttrpc_client_free (shim->tasker);
  if (shim->sandboxer)
    kc_grpc_client_free (shim->sandboxer);
  shim_events_free (shim->events);
  shim_procs_clear (&shim->procs);
  if (shim->exit_timer)
    event_free (shim->exit_timer);
  if (shim->socket_path)
    unlink (shim->socket_path);
  if (shim->base)
    event_base_free (shim->base);
  free (shim->ns);
  free (shim->id);
  free (shim->bundle);
  free (shim->socket_path);
  free (shim->sandboxer_address);
  free (shim->task_address);
}

static void
add_signal (struct shim *shim, struct event **slot, int sig)
{
  *slot = evsignal_new (shim->base, sig, signal_cb, shim);
  if (*slot)
    event_add (*slot, NULL);
}

int
shim_serve_main (const struct shim_flavor *flavor, const struct shim_flags *flags)
{
  struct shim shim;
  struct event *sigs[3] = { NULL, NULL, NULL };
  kc_error_t err = NULL;
  int ret = 0;

  memset (&shim, 0, sizeof (shim));
  if (flags->namespace_ == NULL || *flags->namespace_ == '\0' || flags->id == NULL || *flags->id == '\0')
    {
      kc_log_error ("serve needs -namespace and -id");
      return 2;
    }
  open_log_fifo (flags->bundle ? flags->bundle : ".");
  signal (SIGPIPE, SIG_IGN);
  prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  if (shim_init (&shim, flavor, flags, &err) < 0)
    {
      kc_log_error ("shim %s: %s", flags->id, err->msg);
      kc_error_free (&err);
      shim_fini (&shim);
      return 1;
    }
  add_signal (&shim, &sigs[0], SIGTERM);
  add_signal (&shim, &sigs[1], SIGINT);
  add_signal (&shim, &sigs[2], SIGCHLD);
  kc_log_info ("shim %s serving sandbox %s (namespace %s, sandboxer %s)", flavor->binary_name, shim.id, shim.ns,
               shim.sandboxer_address);
  if (event_base_dispatch (shim.base) < 0)
    ret = 1;
  for (int i = 0; i < 3; i++)
    if (sigs[i])
      event_free (sigs[i]);
  kc_log_info ("shim for sandbox %s exiting", shim.id);
  shim_fini (&shim);
  return ret;
}
