/* The sandboxer core: the set of sandboxes and their lifecycle (create, start with an async
   ready wait, exit watch by pidfd, stop with escalation, shutdown, recovery). No gRPC here:
   completions are callbacks, so tests can drive it without a server. */
#ifndef KC_SANDBOXER_H
#define KC_SANDBOXER_H

#include <event2/event.h>

#include "backend.h"
#include "cgroup_stats.h"
#include "config.h"
#include "error.h"
#include "store.h"

#define KC_READY_TIMEOUT_SECS 10 /* default of kc_backend.ready_timeout_secs */
#define KC_CGROUP_ROOT        "/sys/fs/cgroup"
/* <root>/.<id>.removing: the directory of a sandbox that Shutdown is removing. */
#define KC_REMOVING_SUFFIX ".removing"

struct kc_sandbox;
/* err is NULL on success; sb stays valid during the call only. */
typedef void (*kc_done_fn) (struct kc_sandbox *sb, const kc_error_t *err, void *userdata);

struct kc_waiter
{
  struct kc_waiter *next;
  kc_done_fn fn;
  void *userdata;
};

struct kc_sandboxer;

struct kc_sandbox
{
  struct kc_sandbox *next;
  struct kc_sandboxer *owner;
  struct kc_sandbox_record rec;
  char *dir; /* <root>/<id> */

  int pidfd; /* -1 when no tasker is watched */
  int is_child;
  struct event *exit_ev;

  int starting;
  int ready_fd;
  struct event *ready_ev;
  char ready_buf[8];
  size_t ready_len;
  kc_error_t start_err; /* why a start is being aborted */
  struct kc_waiter *start_waiters;

  int stop_requested;
  int kill_sent;
  struct event *kill_timer;
  struct kc_waiter *stop_waiters;
  struct kc_waiter *exit_waiters;

  int removing;
  struct kc_waiter *shutdown_waiters;
};

struct kc_sandboxer
{
  struct event_base *base;
  const struct kc_backend *backend;
  struct kc_backend_ctx ctx;
  struct kc_config config;
  char *root_dir;
  struct kc_sandbox *sandboxes;
};

/* Takes ownership of *config (moved out); copies the strings. */
int kc_sandboxer_init (struct kc_sandboxer *sbx, struct event_base *base, const struct kc_backend *backend,
                       const char *root_dir, const char *tasker_path, const char *log_level, struct kc_config *config,
                       kc_error_t *err);
/* Forgets every sandbox without touching taskers or files (they outlive the daemon). */
void kc_sandboxer_free (struct kc_sandboxer *sbx);
struct kc_sandbox *kc_sandboxer_find (struct kc_sandboxer *sbx, const char *id);
/* NOT_FOUND error unless the id is known. */
struct kc_sandbox *kc_sandboxer_get (struct kc_sandboxer *sbx, const char *id, kc_error_t *err);

/* Loads every <root>/<id>/sandbox.json: live taskers are re-attached, dead ones marked exited,
   corrupted records logged and skipped. */
int kc_sandboxer_recover (struct kc_sandboxer *sbx, kc_error_t *err);

/* rec is moved in (its id already validated). ALREADY_EXISTS for a known id or directory. */
int kc_sandbox_create (struct kc_sandboxer *sbx, struct kc_sandbox_record *rec, struct kc_sandbox **out,
                       kc_error_t *err);
/* Spawns the tasker; fn runs once it is ready (or failed). FAILED_PRECONDITION unless CREATED. */
int kc_sandbox_start (struct kc_sandbox *sb, kc_done_fn fn, void *userdata, kc_error_t *err);
/* SIGTERM, SIGKILL after timeout_secs (0: config default; force: SIGKILL at once); fn runs when
   the tasker has exited (at once when nothing runs). */
int kc_sandbox_stop (struct kc_sandbox *sb, unsigned timeout_secs, int force, kc_done_fn fn, void *userdata,
                     kc_error_t *err);
/* fn runs when the sandbox is NOTREADY (at once if it is). */
void kc_sandbox_wait (struct kc_sandbox *sb, kc_done_fn fn, void *userdata);
/* Force-stops, then removes <root>/<id> and forgets the sandbox; fn runs before sb is freed. */
int kc_sandbox_shutdown (struct kc_sandbox *sb, kc_done_fn fn, void *userdata, kc_error_t *err);
int kc_sandbox_persist (struct kc_sandbox *sb, kc_error_t *err);
/* Watches an already open pidfd (ownership moves in) for the tasker's exit. */
int kc_sandbox_watch (struct kc_sandbox *sb, int pidfd, int is_child, kc_error_t *err);
/* READY, or CREATED while a start runs (reported as not ready). */
int kc_sandbox_is_ready (const struct kc_sandbox *sb);

int64_t kc_now_ns (void);

/* metrics.c. "<rec's cgroup_parent, else dflt_parent>/<id>", malloc'ed; NULL when out of memory. */
char *kc_pod_cgroup_rel (const char *dflt_parent, const struct kc_sandbox_record *rec);
/* The pod cgroup's usage (v1 Metrics). FAILED_PRECONDITION unless READY; UNIMPLEMENTED without a
   pod cgroup (backend) or on a v2 host. m is always safe to release. */
int kc_sandbox_metrics (struct kc_sandbox *sb, struct kc_cgroup_metrics *m, kc_error_t *err);
/* Runs the backend's reclaim hook (after the tasker is gone). */
void kc_sandbox_reclaim (struct kc_sandbox *sb);

/* internal to sandboxer/common */
struct kc_sandbox *kc_sandbox_new (struct kc_sandboxer *sbx, struct kc_sandbox_record *rec, kc_error_t *err);
void kc_sandbox_free (struct kc_sandbox *sb);
void kc_sandbox_unlink (struct kc_sandbox *sb);
int kc_waiter_add (struct kc_waiter **list, kc_done_fn fn, void *userdata);
void kc_waiters_run (struct kc_waiter **list, struct kc_sandbox *sb, const kc_error_t *err);

#endif
