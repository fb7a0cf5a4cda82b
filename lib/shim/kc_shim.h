/* libkcshim: containerd runtime v2 shim plumbing (flags, start, delete, serve, events, reaper)
   behind a small API; a shim supplies its services and callbacks (docs/shim-library.md). */
#ifndef KC_SHIM_H
#define KC_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>

#include "error.h"
#include "task.pb-c.h"
#include "ttrpc/ttrpc.h"

#define KC_SHIM_SOCKET_DIR      "/run/containerd/s"
#define KC_SHIM_MAX_EXTRA_FLAGS 8

struct kc_shim;

/* The command line (Go `flag` style: -name value, -name=value, --name). Strings point into argv. */
struct kc_shim_flags
{
  const char *namespace_;
  const char *address;
  const char *publish_binary;
  const char *id;
  const char *bundle;
  const char *socket;
  const char *extra[KC_SHIM_MAX_EXTRA_FLAGS]; /* values of kc_shim_ops.extra_flags, same order */
  int debug;
  int version;
  int info;
  int help;
  const char *action; /* "start", "delete" or NULL (serve) */
};

struct kc_shim_ops
{
  const char *binary_name;  /* containerd-shim-kc-skeleton-v1: logs, usage, -version */
  const char *runtime_name; /* io.containerd.kc-skeleton.v1: -version, -info */
  const char *version;      /* NULL = the kuasar-c version */
  /* Extra string flags (names without '-', NULL-terminated), forwarded by start to the daemon. */
  const char *const *extra_flags;
  const char *usage_extra; /* appended to the usage text */
  /* start: answer containerd 2.x sandbox bundles with the version 3 (JSON) bootstrap address. */
  int task_api_v3;
  /* start, before the daemon is spawned: options = the serialized runtime options containerd
     wrote on stdin (may be empty). May call kc_shim_set_flag. Optional. */
  int (*start) (struct kc_shim *shim, const uint8_t *options, size_t len, kc_error_t *err);
  /* delete (shim dead or gone): clean up and fill resp (preset: pid 0, exit 137, now). Optional. */
  int (*delete_) (struct kc_shim *shim, Containerd__Task__V2__DeleteResponse *resp, kc_error_t *err);
  /* serve: register the ttrpc services (e.g. containerd.task.v2.Task). Required. */
  int (*register_services) (kc_ttrpc_server *server, struct kc_shim *shim, kc_error_t *err);
  /* serve, after the server is freed and before the loop is: free what register_services made. */
  void (*destroy) (struct kc_shim *shim);
};

/* Parses argv, runs -help/-version/-info, start, delete or the daemon; returns the exit code. */
int kc_shim_main (int argc, char **argv, const struct kc_shim_ops *ops);

/* ---- state of the running verb ---- */
const struct kc_shim_flags *kc_shim_flags (struct kc_shim *shim);
const char *kc_shim_namespace (struct kc_shim *shim);
const char *kc_shim_id (struct kc_shim *shim);
const char *kc_shim_bundle (struct kc_shim *shim); /* -bundle, else the working directory */
/* Value of an extra flag (NULL when unset). kc_shim_set_flag copies value (start: for the daemon). */
const char *kc_shim_flag (struct kc_shim *shim, const char *name);
int kc_shim_set_flag (struct kc_shim *shim, const char *name, const char *value);
void kc_shim_set_data (struct kc_shim *shim, void *data);
void *kc_shim_data (struct kc_shim *shim);

/* ---- serve only ---- */
struct event_base *kc_shim_base (struct kc_shim *shim);
/* Exit once containerd's connections closed and events went out (at most about 1 s later). */
void kc_shim_request_exit (struct kc_shim *shim);
int kc_shim_exiting (struct kc_shim *shim);
/* Queues topic ("/tasks/exit") with event in an Any of type_url ("containerd.events.TaskExit"):
   Events/Forward on $TTRPC_ADDRESS, in order, retried; never blocks. 0, or -1 when not queued. */
int kc_shim_publish (struct kc_shim *shim, const char *topic, const char *type_url, const ProtobufCMessage *event);
size_t kc_shim_events_pending (struct kc_shim *shim);
/* Reaper: fn runs once when pid (a child of the shim, or an orphan it inherited as subreaper)
   exits. Register right after fork, in the same loop callback. */
typedef void (*kc_shim_exit_fn) (struct kc_shim *shim, pid_t pid, int wait_status, void *userdata);
int kc_shim_watch_pid (struct kc_shim *shim, pid_t pid, kc_shim_exit_fn fn, void *userdata);
void kc_shim_unwatch_pid (struct kc_shim *shim, pid_t pid);

/* ---- helpers ---- */
/* KC_SHIM_SOCKET_DIR "/<sha256 hex of address/ns/group>" (containerd's naming), malloc'ed. */
int kc_shim_socket_path (const char *address, const char *ns, const char *group, char **out, kc_error_t *err);
/* io.kubernetes.cri.sandbox-id of <bundle>/config.json, else id (malloc'ed). */
char *kc_shim_group_id (const char *bundle, const char *id);
/* 1 when something accepts connections on the unix socket path. */
int kc_shim_socket_alive (const char *path);
/* "unix:///p" or "ttrpc+unix:///p" -> "/p"; NULL for other schemes. */
const char *kc_shim_socket_path_of_address (const char *address);
/* Go-style flag parsing (extra_flags as in kc_shim_ops). -1 with INVALID_ARGUMENT on a bad flag. */
int kc_shim_flags_parse (struct kc_shim_flags *f, const char *const *extra_flags, int argc, char **argv,
                         kc_error_t *err);

#endif
