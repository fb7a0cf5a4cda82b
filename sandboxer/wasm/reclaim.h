/* Undoing what a dead wasm tasker left on the host, from its container records
   (container_record.h): processes in the cgroups, rootfs mounts, cgroup directories. */
#ifndef KC_WASM_RECLAIM_H
#define KC_WASM_RECLAIM_H

/* For each <sandbox_dir>/containers/<cid>.json: thaw and SIGKILL every process of its cgroups
   (waiting up to 2 s for them to leave), umount2(MNT_DETACH) its mounts, rmdir its cgroups
   (deepest first), remove the record. Then rmdir the pod's cgroup "<cgroup_root>[/<c>]/<pod_rel>"
   of every hierarchy. Only the pod's own cgroups ("<root>[/<c>]/<pod_rel>/...") and mounts of a
   ".../rootfs" are acted on; anything else a (corrupt) record names is refused and logged.
   Best effort, idempotent; returns how many records it handled. */
int kc_wasm_reclaim (const char *sandbox_dir, const char *cgroup_root, const char *pod_rel);

#endif
