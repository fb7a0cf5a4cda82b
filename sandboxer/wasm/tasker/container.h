/* The tasker's model of a container: its rootfs, spec, cgroup, init process and execs. No RPC
   here; service.c turns requests into these calls. */
#ifndef KC_TASKER_CONTAINER_H
#define KC_TASKER_CONTAINER_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "cgroup.h"
#include "engine.h"
#include "error.h"
#include "mount.h"
#include "spec.h"

struct kc_proc
{
  char *exec_id; /* NULL for the container's init process */
  pid_t pid;
  int status; /* CONTAINERD__V1__TYPES__STATUS__* */
  int start_fd;
  uint32_t exit_status;
  struct timespec exited_at;
  int oom_killed;
  char *stdin_path, *stdout_path, *stderr_path;
  struct kc_oci_process process;
  void *waiters; /* pending Wait calls, owned by service.c */
  struct kc_proc *next;
};

struct kc_container
{
  char *id, *bundle, *rootfs;
  size_t rootfs_mounts;      /* how many mounts we stacked on rootfs */
  char *record_path;         /* its durable record (record.h); NULL: none */
  const char *aot_cache_dir; /* the tasker's; NULL: interpret */
  struct kc_oci_spec spec;
  struct kc_cgroup cgroup;
  int has_cgroup;
  uint64_t oom_kills_seen;
  int paused;
  struct kc_proc init;
  struct kc_proc *execs;
  struct kc_container *next;
};

struct kc_container_config
{
  const char *id;
  const char *bundle;
  const struct kc_mount_spec *mounts;
  size_t nmounts;
  const char *stdin_path, *stdout_path, *stderr_path;
  int terminal;
  const char *cgroup_root; /* "/sys/fs/cgroup"; NULL: no cgroups */
  const char *cgroup_base; /* "<parent>/<sandbox-id>" */
  const struct kc_wasm_engine *engine;
  const char *aot_cache_dir; /* precompile into this cache (outlives the container); NULL: interpret */
  const char *record_dir;    /* the tasker's --dir: records go to <dir>/containers; NULL: none */
};

/* 0 when id can name a directory: non-empty, not "." or "..", no '/', at most 128 bytes. */

/* Parses, records (record.h), mounts, creates the cgroup, checks the module and forks the init
   (state CREATED). */
int kc_container_create (const struct kc_container_config *cfg, struct kc_container **out, kc_error_t *err);
/* Adds an exec process (forked, not started) from an OCI Process JSON. */
int kc_container_exec (struct kc_container *c, const struct kc_wasm_engine *engine, const char *exec_id,
                       const char *spec_json, size_t spec_len, const char *stdin_path, const char *stdout_path,
                       const char *stderr_path, int terminal, kc_error_t *err);
/* exec_id "" or NULL: the init. NULL when unknown. */
struct kc_proc *kc_container_proc (struct kc_container *c, const char *exec_id);
int kc_proc_start (struct kc_proc *p, kc_error_t *err);
/* NOT_FOUND "process already finished" once it exited. */
int kc_proc_kill (struct kc_proc *p, int sig, kc_error_t *err);
/* SIGKILLs a created-not-started process and records its exit (reaped now unless c is paused);
   1 when it did, 0 when p was not in the created state. */
int kc_proc_kill_created (struct kc_container *c, struct kc_proc *p);
/* Records an exit; c is checked for an OOM kill of its memory cgroup. */
void kc_proc_exited (struct kc_container *c, struct kc_proc *p, int wstatus);
/* Removes an exec that is not running (FAILED_PRECONDITION otherwise); frees it. */
int kc_container_exec_remove (struct kc_container *c, struct kc_proc *p, kc_error_t *err);
/* 1 while any process of c is created or running. */
int kc_container_alive (const struct kc_container *c);
/* Unmounts, removes the cgroup, then the record, frees. Processes must have been reaped. */
void kc_container_free (struct kc_container *c);

#endif
