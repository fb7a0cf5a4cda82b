/* CRI per-pod files of a shim-mode sandbox: containerd's CRI mounts hostname, hosts,
   resolv.conf from its sandbox root dir and /dev/shm from its volatile dir, and in shim mode
   nobody but the sandbox controller creates them (KUASAR-NOTES.md §1.4). */
#ifndef SHIM_POD_FILES_H
#define SHIM_POD_FILES_H

#include "cri_pod.pb-c.h"
#include "error.h"

struct shim_pod_dirs
{
  char *root_dir;  /* <containerd root>/io.containerd.grpc.v1.cri/sandboxes/<id> */
  char *state_dir; /* <containerd state>/io.containerd.grpc.v1.cri/sandboxes/<id> */
};

/* Derives containerd's root and state from the bundle (<state>/<plugin>/<ns>/<id>, and its
   work link <root>/<plugin>/<ns>/<id>), falling back to /var/lib/containerd, /run/containerd. */
int shim_pod_dirs_get (const char *bundle, const char *id, struct shim_pod_dirs *dirs, kc_error_t *err);
void shim_pod_dirs_free (struct shim_pod_dirs *dirs);
/* Writes hostname, hosts, resolv.conf and mounts the shm tmpfs. config may be NULL. */
int shim_pod_files_setup (const struct shim_pod_dirs *dirs, const Runtime__V1__PodSandboxConfig *config,
                          kc_error_t *err);
/* Unmounts shm and removes both dirs; idempotent. */
int shim_pod_files_cleanup (const struct shim_pod_dirs *dirs, kc_error_t *err);

#endif
