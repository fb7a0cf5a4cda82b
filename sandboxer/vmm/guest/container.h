/* vmm-task's model of the containers of its VM: init and exec processes, their states, stdio
   registration with the relay, and the guest cgroup (or pid namespace) for Kill(all) and Pids. */
#ifndef KC_VMM_CONTAINER_H
#define KC_VMM_CONTAINER_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"
#include "spec.h"
#include "stdio_relay.h"

struct kc_vproc
{
  char *exec_id; /* NULL for the init */
  char *key;     /* stdio mux key */
  pid_t pid;
  int status; /* CONTAINERD__V1__TYPES__STATUS__* */
  int start_fd;
  uint32_t exit_status;
  struct timespec exited_at;
  char *stdin_path, *stdout_path, *stderr_path;
  struct kc_vmm_process exec_process; /* exec only */
  void *waiters;                      /* pending Wait calls, owned by service.c */
  struct kc_vproc *next;
};

struct kc_vcontainer
{
  char *id, *bundle, *rootfs;
  struct kc_vmm_spec spec;
  ino_t pidns;    /* inode of the init's pid namespace */
  int has_cgroup; /* kuasar/<id> exists in the guest's cgroup hierarchies */
  struct kc_vproc init;
  struct kc_vproc *execs;
  struct kc_vcontainer *next;
};

struct kc_vcreate
{
  const char *id;
  const char *shared_dir; /* the bundle is <shared_dir>/<id> */
  const char *stdin_path, *stdout_path, *stderr_path;
  int terminal;
};

int kc_vcontainer_create (const struct kc_vcreate *cfg, kc_stdio_relay *relay, struct kc_vcontainer **out,
                          kc_error_t *err);
int kc_vcontainer_exec (struct kc_vcontainer *c, kc_stdio_relay *relay, const char *exec_id, const char *spec_json,
                        size_t spec_len, const char *in, const char *out, const char *errp, int terminal,
                        kc_error_t *err);
struct kc_vproc *kc_vcontainer_proc (struct kc_vcontainer *c, const char *exec_id);
int kc_vproc_start (struct kc_vproc *p, kc_error_t *err);
int kc_vproc_kill (struct kc_vproc *p, int sig, kc_error_t *err);
/* Signals p of c; a SIGKILLed paused init is thawed so that it dies. */
int kc_vcontainer_kill (struct kc_vcontainer *c, struct kc_vproc *p, int sig, kc_error_t *err);
/* Signals every process of c's cgroup (its pid namespace without one). */
int kc_vcontainer_kill_all (struct kc_vcontainer *c, int sig, kc_error_t *err);
/* The pids (guest view) of c's cgroup (pid namespace); malloc'ed. */
int kc_vcontainer_pids (struct kc_vcontainer *c, pid_t **pids, size_t *n);
/* Freezes / thaws c's cgroup; the init goes PAUSED / RUNNING. */
int kc_vcontainer_pause (struct kc_vcontainer *c, int pause, kc_error_t *err);
void kc_vproc_exited (struct kc_vproc *p, int wstatus);
int kc_vcontainer_alive (const struct kc_vcontainer *c);
/* Removes a stopped exec (FAILED_PRECONDITION otherwise). */
int kc_vcontainer_exec_remove (struct kc_vcontainer *c, kc_stdio_relay *relay, struct kc_vproc *p, kc_error_t *err);
/* Processes must have been reaped. */
void kc_vcontainer_free (struct kc_vcontainer *c, kc_stdio_relay *relay);

#endif
