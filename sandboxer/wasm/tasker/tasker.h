/* The tasker daemon: one per pod. Owns the event base, the ttrpc server, the containers, signal
   handling (SIGCHLD reaping, SIGTERM stop) and the cleanup at exit. */
#ifndef KC_TASKER_TASKER_H
#define KC_TASKER_TASKER_H

#include <event2/event.h>

#include "container.h"
#include "engine.h"
#include "error.h"
#include "task_server.h"
#include "ttrpc/ttrpc.h"

#define KC_TASKER_STOP_GRACE_SEC 10

struct kc_tasker_options
{
  const char *id;
  const char *dir;
  const char *socket_path;
  const char *cgroup_parent; /* NULL: "kuasar-wasm" */
  const char *cgroup_root;   /* NULL: "/sys/fs/cgroup" */
  int ready_fd;              /* -1: none */
  int precompile;            /* AOT-compile modules into cache_dir */
  const char *cache_dir;     /* required with precompile */
};

struct kc_tasker
{
  struct event_base *base;
  kc_ttrpc_server *srv;
  struct kc_task_server task_srv; /* the Task methods srv serves (service.c) */
  char *id, *socket_path, *cgroup_base;
  char *dir;               /* --dir: container records go under it (record.h); NULL: none */
  char *aot_cache_dir;     /* NULL: modules are interpreted */
  const char *cgroup_root; /* NULL when cgroups are unusable */
  const struct kc_wasm_engine *engine;
  struct kc_container *containers;
  struct event *sig_chld, *sig_term, *sig_int, *kill_timer;
  int stopping;
};

int kc_tasker_init (struct kc_tasker *t, const struct kc_tasker_options *opts, kc_error_t *err);
/* Runs until Shutdown or SIGTERM; then cleans up everything it created. */
int kc_tasker_run (struct kc_tasker *t, int ready_fd, kc_error_t *err);
void kc_tasker_fini (struct kc_tasker *t);

struct kc_container *kc_tasker_find (struct kc_tasker *t, const char *id);
void kc_tasker_add (struct kc_tasker *t, struct kc_container *c);
/* Unlinks c from the tasker and frees it. */
void kc_tasker_remove (struct kc_tasker *t, struct kc_container *c);
int kc_tasker_any_alive (struct kc_tasker *t);
/* Leaves the loop shortly (after pending answers were written). */
void kc_tasker_exit_soon (struct kc_tasker *t);
/* Kills a created-not-started process and reaps it now (Delete of a created container). */
void kc_tasker_kill_created (struct kc_tasker *t, struct kc_container *c, struct kc_proc *p);

/* service.c */
int kc_service_register (struct kc_tasker *t, kc_error_t *err);
/* Answers every pending Wait of p. */
void kc_service_proc_exited (struct kc_proc *p);

#endif
