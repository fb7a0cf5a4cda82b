/* containerd-shim-kuasar-vmm-v2 only: what the relay does around Task calls for a QEMU pod
   (task address "ttrpc+unix://<dir>/<id>/agent.sock" or "ttrpc+hvsock://<dir>/<id>/vsock.sock:1024",
   vmm_address.h): stdio mux, Create rewrite, cleanup. */
#ifndef SHIM_VMM_H
#define SHIM_VMM_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "error.h"

struct shim;

/* Before relaying method: a no-op unless the pod is a vmm one. Connects the stdio socket,
   registers the process's FIFOs (Create, Exec) and rewrites Create's payload (replacing
   *payload, malloc'ed) after mounting its rootfs in the shared directory. */
int shim_vmm_before (struct shim *shim, const char *method, uint8_t **payload, size_t *len, kc_error_t *err);
/* After the answer (code): Delete/failed Create/Exec drop streams, unmount and remove files. */
void shim_vmm_after (struct shim *shim, const char *method, const uint8_t *payload, size_t len, int code);

/* vmm_stdio.c: the stdio mux connection (address: shim_vmm_stdio_address) and the per-process
   FIFOs. */
int shim_vmm_stdio_connect (struct event_base *base, const char *address, kc_error_t *err);
int shim_vmm_stdio_add (const char *key, const char *in, const char *out, const char *errp, kc_error_t *err);
void shim_vmm_stdio_remove (const char *key);
/* CloseIO{stdin} of key: what its stdin FIFO holds goes out as stdin frames, then the close
   frame, and the FIFO is closed (our own writer too). 1 when the guest gets (or got) that close
   through the mux after every byte, so CloseIO must not close stdin there; 0 when there is no
   stdin stream or no connection (the relayed CloseIO has to do it). */
int shim_vmm_stdio_close_stdin (const char *key);

/* vmm_create.c: <shared>/<cid>/{rootfs,config.json,hostname,hosts,resolv.conf}. */
int shim_vmm_create_prepare (const char *shared, uint8_t **payload, size_t *len, kc_error_t *err);
void shim_vmm_container_remove (const char *shared, const char *cid);

#endif
