/* Where a pod's shim listens: containerd's socket naming (sha256 of address/namespace/group)
   and the checks `start` and `delete` make on it. */
#ifndef SHIM_SOCKET_ADDR_H
#define SHIM_SOCKET_ADDR_H

#include "error.h"

#define SHIM_SOCKET_DIR "/run/containerd/s"

/* *out = SHIM_SOCKET_DIR "/<sha256 hex of filepath.Join(address, ns, group)>" (malloc'ed). */
int shim_socket_path (const char *address, const char *ns, const char *group, char **out, kc_error_t *err);
/* 1 when something accepts connections on path, 0 otherwise. */
int shim_socket_alive (const char *path);
/* Strips "unix://" (and "ttrpc+"); returns NULL for an abstract or non-unix address. */
const char *shim_socket_path_of_address (const char *address);
/* Binds and listens on path (dir 0711, socket 0600). Returns the fd or -1 (EADDRINUSE kept in
   err->errno_ when a socket file is already there). */
int shim_socket_listen (const char *path, kc_error_t *err);

#endif
