/* A pod cgroup that the sandboxer itself puts processes in (the vmm backend: QEMU and its per-pod
   daemons), laid out as the wasm tasker lays out its pod level: "<parent>/<sandbox-id>" (see
   kc_pod_cgroup_rel) under each of the v1 hierarchies memory, cpu, cpuacct, pids, freezer that are
   mounted, or the one v2 directory. No limits are set here: kubelet sets them on the parent. */
#ifndef KC_POD_CGROUP_H
#define KC_POD_CGROUP_H

#include <stddef.h>

#include "error.h"

#define KC_POD_CGROUP_MAX 8

/* The open cgroup.procs of every hierarchy of one pod cgroup (fds O_CLOEXEC, >= 10). */
struct kc_pod_cgroup_join
{
  int fds[KC_POD_CGROUP_MAX];
  size_t n;
};

/* Makes "<root>[/<controller>]/<rel>" (parents included; v2: the ancestors delegate memory, cpu
   and pids) and opens each cgroup.procs into *join. rel must be relative to the hierarchy (a
   leading '/' is fine) without "." or ".." components (INVALID_ARGUMENT). A host with none of the
   hierarchies gives an empty join (logged). On error nothing stays open. */
int kc_pod_cgroup_create (const char *root, const char *rel, struct kc_pod_cgroup_join *join, kc_error_t *err);
void kc_pod_cgroup_join_close (struct kc_pod_cgroup_join *join);
/* Moves the calling process into the pod cgroup (writes "0" to each cgroup.procs). Only
   async-signal-safe calls: run it in a forked child before exec. Returns -1 with errno set. */
int kc_pod_cgroup_join_self (const struct kc_pod_cgroup_join *join);
/* Removes the pod cgroup once its main process is gone: gives what is still listed in it (a
   helper winding down after QEMU) grace_ms to leave by itself, SIGKILLs the rest and waits up to
   2 s for them to leave, then rmdirs each hierarchy's directory (not the parents: kubelet's).
   Idempotent; returns how many processes it had to kill. */
int kc_pod_cgroup_remove (const char *root, const char *rel, int grace_ms);

#endif
