/* What both Task API servers (wasm tasker, vmm-task) share: one method table served as
   containerd.task.v2.Task and v3.Task with decoded requests, Wait bookkeeping, Stats answers. */
#ifndef KC_TASK_SERVER_H
#define KC_TASK_SERVER_H

#include <stdint.h>
#include <time.h>

#include "cgroup_stats.h"
#include "error.h"
#include "task.pb-c.h"
#include "ttrpc/ttrpc.h"

/* req is the decoded request (of the method's descriptor), freed once the handler returns. */
typedef void (*kc_task_handler_fn) (kc_ttrpc_call *call, const void *req, void *userdata);

struct kc_task_method
{
  const char *name;
  const ProtobufCMessageDescriptor *desc; /* NULL: no decoding, req is NULL */
  kc_task_handler_fn fn;
};

/* A table entry: the method name, its containerd.task.v2 request type in snake case, the handler. */
#define KC_TASK_METHOD(name, req, fn)                                                                                  \
  {                                                                                                                    \
    name, &containerd__task__v2__##req##__descriptor, fn                                                               \
  }

/* The caller keeps it (and the table) alive as long as srv serves. */
struct kc_task_server
{
  const struct kc_task_method *methods;
  size_t n_methods;
  void *userdata;
};

/* Registers every method of ts under both Task services. An undecodable request is answered
   INVALID_ARGUMENT ("cannot decode <request type>") without calling the handler. */
int kc_task_server_register (kc_ttrpc_server *srv, struct kc_task_server *ts, kc_error_t *err);
/* The same dispatch for any other ttrpc service (methods of any descriptors), under service only. */
int kc_task_server_register_service (kc_ttrpc_server *srv, const char *service, struct kc_task_server *ts,
                                     kc_error_t *err);
/* Logs err at level (kc_log_level), answers it and frees it. */
void kc_task_fail (kc_ttrpc_call *call, kc_error_t *err, int level);
/* waitpid status -> exit status as runc reports it: the code, or 128 + signal. */
/* A container or exec id usable as a path component: non-empty, at most 128 bytes, no '/', not
   "." or ".."; INVALID_ARGUMENT "invalid <what> `<id>`" otherwise. */
int kc_task_id_check (const char *what, const char *id, kc_error_t *err);
uint32_t kc_task_exit_status (int wstatus);
/* Lets a child blocked on its start pipe go: writes one byte and closes *start_fd. */
int kc_task_start_release (int *start_fd, kc_error_t *err);
/* ts filled with at when status is STOPPED, else NULL (still running: no exit time). */
Google__Protobuf__Timestamp *kc_task_exited_at (int status, const struct timespec *at, Google__Protobuf__Timestamp *ts);
/* Queues a Wait call on *waiters (0), or answers RESOURCE_EXHAUSTED (-1). */
int kc_task_wait_add (void **waiters, kc_ttrpc_call *call);
/* Answers and drops every queued Wait call with the process's exit. */
void kc_task_wait_answer (void **waiters, int status, uint32_t exit_status, const struct timespec *exited_at);
/* Answers a Stats call with m packed as the io.containerd.cgroups.v1.Metrics or .v2.Metrics Any. */
void kc_task_reply_metrics (kc_ttrpc_call *call, struct kc_cgroup_metrics *m);

#endif
