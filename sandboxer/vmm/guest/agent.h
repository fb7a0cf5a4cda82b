/* The vmm-task daemon: event base, ttrpc server on the "agent" port, stdio relay on the "stdio"
   port, the containers, and PID 1's duty of reaping every process. */
#ifndef KC_VMM_AGENT_H
#define KC_VMM_AGENT_H

#include <event2/event.h>

#include "agent_port.h"
#include "container.h"
#include "error.h"
#include "stdio_relay.h"
#include "task_server.h"
#include "ttrpc/ttrpc.h"

struct kc_agent
{
  struct event_base *base;
  kc_ttrpc_server *srv;
  struct kc_task_server task_srv; /* the Task methods srv serves (service.c) */
  kc_agent_port *agent_port;
  kc_stdio_relay *relay;
  struct kc_vcontainer *containers;
  struct event *sig_chld;
  int power_off; /* set by Shutdown: power off once the loop ends */
};

/* agent_dev/stdio_dev: the virtio-serial ports; agent_dev NULL: the vsock channel (channel.h). */
int kc_agent_init (struct kc_agent *a, const char *agent_dev, const char *stdio_dev, kc_error_t *err);
/* Runs until Shutdown. */
int kc_agent_run (struct kc_agent *a, kc_error_t *err);
void kc_agent_fini (struct kc_agent *a);

struct kc_vcontainer *kc_agent_find (struct kc_agent *a, const char *id);
void kc_agent_remove (struct kc_agent *a, struct kc_vcontainer *c);
int kc_agent_any_alive (struct kc_agent *a);
/* Kills a created-not-started process and reaps it now (Delete of a created container). */
void kc_agent_kill_created (struct kc_agent *a, struct kc_vproc *p);
/* Leaves the loop shortly, once pending answers were written. */
void kc_agent_exit_soon (struct kc_agent *a);

/* service.c */
int kc_vmm_service_register (struct kc_agent *a, kc_error_t *err);
void kc_vmm_service_proc_exited (struct kc_vproc *p);
/* service_cgroup.c: Stats, Pause, Resume from the guest cgroup. */
void kc_vmm_service_stats (kc_ttrpc_call *call, const void *req, void *userdata);
void kc_vmm_service_pause (kc_ttrpc_call *call, const void *req, void *userdata);
void kc_vmm_service_resume (kc_ttrpc_call *call, const void *req, void *userdata);

#endif
