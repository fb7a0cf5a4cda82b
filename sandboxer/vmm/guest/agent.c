/* vmm-task's life after early init (agent.h): serving, SIGCHLD reaping of containers and of every
   orphan of the VM, and the end of the loop on Shutdown. */
#include "agent.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel.h"
#include "containerd_task_types.pb-c.h"
#include "log.h"

struct kc_vcontainer *
kc_agent_find (struct kc_agent *a, const char *id)
{
  for (struct kc_vcontainer *c = a->containers; c != NULL; c = c->next)
    if (id != NULL && strcmp (c->id, id) == 0)
      return c;
  return NULL;
}

void
kc_agent_remove (struct kc_agent *a, struct kc_vcontainer *c)
{
  for (struct kc_vcontainer **pp = &a->containers; *pp != NULL; pp = &(*pp)->next)
    if (*pp == c)
      {
        *pp = c->next;
        break;
      }
  kc_vcontainer_free (c, a->relay);
}

int
kc_agent_any_alive (struct kc_agent *a)
{
  for (struct kc_vcontainer *c = a->containers; c != NULL; c = c->next)
    if (kc_vcontainer_alive (c))
      return 1;
  return 0;
}

static struct kc_vproc *
proc_by_pid (struct kc_agent *a, pid_t pid)
{
  for (struct kc_vcontainer *c = a->containers; c != NULL; c = c->next)
    {
      if (c->init.pid == pid)
        return &c->init;
      for (struct kc_vproc *e = c->execs; e != NULL; e = e->next)
        if (e->pid == pid)
          return e;
    }
  return NULL;
}

static void
dispatch_exit (struct kc_agent *a, pid_t pid, int wstatus)
{
  struct kc_vproc *p = proc_by_pid (a, pid);

  if (p == NULL || p->status == CONTAINERD__V1__TYPES__STATUS__STOPPED)
    return; /* an orphan of the VM: reaping it is all init owes it */
  kc_vproc_exited (p, wstatus);
  kc_log_info ("process %d exited with %u", (int) pid, p->exit_status);
  kc_vmm_service_proc_exited (p);
}

void
kc_agent_kill_created (struct kc_agent *a, struct kc_vproc *p)
{
  int wstatus;

  if (p->status != CONTAINERD__V1__TYPES__STATUS__CREATED)
    return;
  kill (p->pid, SIGKILL);
  while (waitpid (p->pid, &wstatus, 0) < 0)
    if (errno != EINTR)
      {
        wstatus = SIGKILL;
        break;
      }
  kc_vproc_exited (p, wstatus);
  kc_vmm_service_proc_exited (p);
}

static void
on_sigchld (evutil_socket_t sig, short what, void *arg)
{
  struct kc_agent *a = arg;
  int wstatus;
  pid_t pid;

  while ((pid = waitpid (-1, &wstatus, WNOHANG)) > 0)
    dispatch_exit (a, pid, wstatus);
}

static void
exit_now_cb (evutil_socket_t fd, short what, void *arg)
{
  struct kc_agent *a = arg;
  event_base_loopbreak (a->base);
}

void
kc_agent_exit_soon (struct kc_agent *a)
{
  struct timeval tv = { 0, 100 * 1000 };
  event_base_once (a->base, -1, EV_TIMEOUT, exit_now_cb, a, &tv);
}

/* vsock: each host connection to the task port is a fresh ttrpc server connection (no relay:
   a reconnect is a new connection); the stdio mux has a port of its own. */
static int
serve_vsock (struct kc_agent *a, kc_error_t *err)
{
  int fd = kc_vsock_listen (KC_VSOCK_STDIO_PORT, err);

  if (fd < 0 || (a->relay = kc_stdio_relay_open_listener (a->base, fd, "the vsock stdio port", err))
                    == NULL)
    return kc_error_wrap (err, "stdio");
  fd = kc_vsock_listen (KC_VSOCK_TASK_PORT, err);
  if (fd < 0 || kc_ttrpc_server_listen_fd (a->srv, fd, err) < 0)
    return kc_error_wrap (err, "task API");
  return 0;
}

int
kc_agent_init (struct kc_agent *a, const char *agent_dev, const char *stdio_dev, kc_error_t *err)
{
  memset (a, 0, sizeof (*a));
  signal (SIGPIPE, SIG_IGN);
  a->base = event_base_new ();
  if (a->base == NULL)
    return kc_error_code (err, KC_INTERNAL, "event_base_new");
  a->sig_chld = evsignal_new (a->base, SIGCHLD, on_sigchld, a);
  if (a->sig_chld == NULL || evsignal_add (a->sig_chld, NULL) < 0)
    return kc_error_code (err, KC_INTERNAL, "SIGCHLD handler");
  a->srv = kc_ttrpc_server_new (a->base);
  if (a->srv == NULL)
    return kc_error_code (err, KC_INTERNAL, "ttrpc server");
  kc_ttrpc_server_set_require_same_user (a->srv, 0);
  if (kc_vmm_service_register (a, err) < 0)
    return -1;
  if (agent_dev == NULL)
    return serve_vsock (a, err);
  a->relay = kc_stdio_relay_open (a->base, stdio_dev, err);
  if (a->relay == NULL)
    return -1;
  a->agent_port = kc_agent_port_open (a->base, agent_dev, a->srv, err);
  if (a->agent_port == NULL)
    return -1;
  return 0;
}

int
kc_agent_run (struct kc_agent *a, kc_error_t *err)
{
  if (event_base_dispatch (a->base) < 0)
    return kc_error_code (err, KC_INTERNAL, "event loop failed");
  return 0;
}

void
kc_agent_fini (struct kc_agent *a)
{
  while (a->containers != NULL)
    kc_agent_remove (a, a->containers);
  kc_agent_port_free (a->agent_port);
  kc_stdio_relay_free (a->relay);
  if (a->srv != NULL)
    kc_ttrpc_server_free (a->srv);
  if (a->sig_chld != NULL)
    event_free (a->sig_chld);
  if (a->base != NULL)
    event_base_free (a->base);
}
