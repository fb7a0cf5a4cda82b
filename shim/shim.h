/* The state of a serving shim daemon: one pod, its sandboxer client, its tasker client, the
   process records that drive task events. Everything runs on one libevent loop. */
#ifndef SHIM_SHIM_H
#define SHIM_SHIM_H

#include <stdint.h>

#include <event2/event.h>

#include "flavor.h"
#include "grpc/kc_grpc.h"
#include "kc_shim.h"
#include "procs.h"
#include "task_server.h"
#include "ttrpc/ttrpc.h"

struct sb_call;

struct shim
{
  struct kc_shim *lib; /* the library's daemon: events, exit, flags */
  struct event_base *base;
  const struct shim_flavor *flavor;
  const char *ns;     /* borrowed from lib */
  const char *id;     /* borrowed from lib */
  const char *bundle; /* borrowed from lib */
  char *sandboxer_address;
  kc_ttrpc_server *server;
  kc_grpc_client *sandboxer;
  struct shim_procs procs;
  char *task_address; /* learned from Start, or lazily from Status */
  char *sandbox_dir;  /* the sandboxer's dir of the pod (Start label / Status info), or NULL */
  uint32_t task_version;
  kc_ttrpc_client *tasker;
  int sandbox_seen;                  /* a sandbox call succeeded: the pod lives in this shim */
  struct sb_call *waits;             /* WaitSandbox calls in flight or waiting to be retried */
  struct kc_task_server sandbox_srv; /* the Sandbox methods server serves (sandbox_service.c) */
  struct event *orphan_watch;        /* armed once a sandbox call failed (orphan.c) */
};

/* Default deadline of the short sandboxer calls. */
#define SHIM_DEFAULT_TIMEOUT_NS (30LL * 1000000000LL)

/* Schedules the daemon's exit once answers are flushed (or after about a second). */
void shim_request_exit (struct shim *shim);

/* kc_shim_ops callbacks of the daemon (daemon.c): our state, our services, and their end. */
int shim_daemon_register (kc_ttrpc_server *server, struct kc_shim *lib, const struct shim_flavor *flavor,
                          kc_error_t *err);
void shim_daemon_destroy (struct kc_shim *lib);

/* Registers containerd.runtime.sandbox.v1.Sandbox on shim->server. */
int shim_sandbox_service_register (struct shim *shim, kc_error_t *err);
/* Registers containerd.task.v2.Task and containerd.task.v3.Task on shim->server. */
int shim_task_service_register (struct shim *shim, kc_error_t *err);

/* Calls done(code, message, userdata) once the task address is known: at once when it is,
   otherwise after asking the sandboxer's Status (never from within this function then). */
typedef void (*shim_address_fn) (struct shim *shim, int code, const char *message, void *userdata);
void shim_task_address_resolve (struct shim *shim, shim_address_fn done, void *userdata);
void shim_set_task_address (struct shim *shim, const char *address, uint32_t version);
/* Keeps the sandbox dir the sandboxer names in a Start label or Status info entry (dir may be NULL). */
void shim_set_sandbox_dir (struct shim *shim, const char *dir);

/* The tasker connection, dialed (or redialed) on demand. NULL with *err when unreachable. */
kc_ttrpc_client *shim_tasker (struct shim *shim, kc_error_t *err);

#endif
