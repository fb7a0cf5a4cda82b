/* A sandbox's tasker over time: start and the asynchronous ready wait, the pidfd exit watch,
   stop with SIGKILL escalation, wait, shutdown. Everything runs on the event loop. */
#include "sandboxer.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "proc.h"

/* Exit status reported when the tasker is not our child (after a sandboxer restart) and died
   without a Stop: its real status is unknowable. */
#define KC_EXIT_UNKNOWN 255
#define START_LOG_LINES 20 /* per log, copied into ours when a Start fails */

static void on_exit_event (evutil_socket_t fd, short what, void *arg);
static void finish_removal (struct kc_sandbox *sb);
static void record_exit (struct kc_sandbox *sb);
static void notify_exited (struct kc_sandbox *sb);

static unsigned
ready_timeout (const struct kc_sandbox *sb)
{
  const struct kc_backend *b = sb->owner->backend;
  unsigned secs = b->ready_timeout_secs ? b->ready_timeout_secs () : 0;
  return secs ? secs : KC_READY_TIMEOUT_SECS;
}

int
kc_sandbox_is_ready (const struct kc_sandbox *sb)
{
  return sb->rec.state == KC_SANDBOX_READY;
}

int
kc_sandbox_watch (struct kc_sandbox *sb, int pidfd, int is_child, kc_error_t *err)
{
  sb->exit_ev = event_new (sb->owner->base, pidfd, EV_READ, on_exit_event, sb);
  if (sb->exit_ev == NULL || event_add (sb->exit_ev, NULL) < 0)
    {
      close (pidfd);
      return kc_error_code (err, KC_INTERNAL, "watch tasker %d of `%s`", (int) sb->rec.pid, sb->rec.id);
    }
  sb->pidfd = pidfd;
  sb->is_child = is_child;
  return 0;
}

static void
log_persist_failure (struct kc_sandbox *sb)
{
  cleanup_error kc_error_t err = NULL;
  if (kc_sandbox_persist (sb, &err) < 0)
    kc_log_error ("%s", err->msg);
}

/* Ends the watch of the ready fd, whichever way the start went. */
static void
stop_ready_wait (struct kc_sandbox *sb)
{
  if (sb->ready_ev)
    event_free (sb->ready_ev);
  sb->ready_ev = NULL;
  kc_closep (&sb->ready_fd);
  sb->ready_fd = -1;
}

/* The tasker was killed or failed: the start fails once its exit has been observed. */
static void
abort_start (struct kc_sandbox *sb, kc_error_t *why)
{
  if (sb->start_err == NULL)
    kc_error_move (&sb->start_err, why);
  kc_error_free (why);
  stop_ready_wait (sb);
  cleanup_error kc_error_t err = NULL;
  if (sb->pidfd >= 0 && kc_proc_signal (sb->pidfd, SIGKILL, &err) < 0)
    kc_log_error ("kill tasker of `%s`: %s", sb->rec.id, err->msg);
  sb->kill_sent = 1;
}

static void
start_succeeded (struct kc_sandbox *sb)
{
  stop_ready_wait (sb);
  sb->rec.state = KC_SANDBOX_READY;
  cleanup_error kc_error_t err = NULL;
  if (kc_sandbox_persist (sb, &err) < 0)
    {
      abort_start (sb, &err);
      return;
    }
  sb->starting = 0;
  kc_log_info ("sandbox %s ready: tasker pid %d, %s", sb->rec.id, (int) sb->rec.pid, sb->rec.address);
  kc_waiters_run (&sb->start_waiters, sb, NULL);
}

static void
on_ready_event (evutil_socket_t fd, short what, void *arg)
{
  struct kc_sandbox *sb = arg;
  cleanup_error kc_error_t err = NULL;
  if (what & EV_TIMEOUT)
    {
      kc_error_code (&err, KC_DEADLINE_EXCEEDED, "tasker not ready after %u s", ready_timeout (sb));
      abort_start (sb, &err);
      return;
    }
  ssize_t n = read (fd, sb->ready_buf + sb->ready_len, sizeof (sb->ready_buf) - 1 - sb->ready_len);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n > 0)
    {
      sb->ready_len += (size_t) n;
      sb->ready_buf[sb->ready_len] = '\0';
      if (strcmp (sb->ready_buf, "ready\n") == 0)
        start_succeeded (sb);
      else if (strncmp ("ready\n", sb->ready_buf, sb->ready_len) != 0)
        {
          kc_error_code (&err, KC_UNKNOWN, "tasker wrote `%s` instead of `ready` on its ready fd", sb->ready_buf);
          abort_start (sb, &err);
        }
      return;
    }
  kc_error_code (&err, KC_UNKNOWN, "tasker closed its ready fd without writing `ready`");
  abort_start (sb, &err);
}

static int
begin_ready_wait (struct kc_sandbox *sb, int ready_fd, kc_error_t *err)
{
  struct timeval tv = { (time_t) ready_timeout (sb), 0 };
  sb->ready_fd = ready_fd;
  sb->ready_len = 0;
  sb->ready_ev = event_new (sb->owner->base, ready_fd, EV_READ | EV_PERSIST, on_ready_event, sb);
  if (sb->ready_ev == NULL || event_add (sb->ready_ev, &tv) < 0)
    return kc_error_code (err, KC_INTERNAL, "watch ready fd of `%s`", sb->rec.id);
  return 0;
}

int
kc_sandbox_start (struct kc_sandbox *sb, kc_done_fn fn, void *userdata, kc_error_t *err)
{
  struct kc_sandboxer *sbx = sb->owner;
  if (sb->starting || sb->removing || sb->rec.state != KC_SANDBOX_CREATED)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "sandbox `%s` is %s, not created", sb->rec.id,
                          sb->starting ? "starting" : kc_sandbox_state_name (sb->rec.state));
  struct kc_spawned child = { .pid = -1, .pidfd = -1, .ready_fd = -1 };
  if (sbx->backend->start (&sbx->ctx, &sb->rec, sb->dir, &child, err) < 0)
    return kc_error_wrap (err, "start sandbox `%s`", sb->rec.id);
  sb->rec.pid = child.pid;
  sb->rec.pid_start_time = 0;
  kc_proc_start_time (child.pid, &sb->rec.pid_start_time, NULL);
  sb->starting = 1;
  sb->stop_requested = sb->kill_sent = 0;
  if (kc_waiter_add (&sb->start_waiters, fn, userdata) < 0)
    kc_log_error ("out of memory adding a start waiter for `%s`", sb->rec.id);
  /* Recorded before it is ready, so a restarted sandboxer can kill a half-started tasker. */
  log_persist_failure (sb);
  cleanup_error kc_error_t watch_err = NULL;
  if (kc_sandbox_watch (sb, child.pidfd, 1, &watch_err) < 0)
    {
      /* Without a watch the exit would go unnoticed: kill, reap and fail now. */
      kc_closep (&child.ready_fd);
      kill (child.pid, SIGKILL);
      waitpid (child.pid, NULL, 0);
      kc_error_move (&sb->start_err, &watch_err);
      sb->kill_sent = 1;
      record_exit (sb);
      notify_exited (sb);
      return 0;
    }
  if (begin_ready_wait (sb, child.ready_fd, &watch_err) < 0)
    abort_start (sb, &watch_err);
  return 0;
}

static uint32_t
exit_status_of (struct kc_sandbox *sb)
{
  uint32_t status = KC_EXIT_UNKNOWN;
  cleanup_error kc_error_t err = NULL;
  int reaped = sb->is_child ? kc_proc_reap (sb->pidfd, sb->rec.pid, &status, &err) : 0;
  if (reaped < 0)
    kc_log_error ("reap tasker of `%s`: %s", sb->rec.id, err->msg);
  if (reaped > 0)
    return status;
  /* Not our child: infer from what we asked for. */
  if (sb->kill_sent)
    return 128 + SIGKILL;
  return sb->stop_requested ? 0 : KC_EXIT_UNKNOWN;
}

static const char *const default_start_logs[] = { "tasker.log", NULL };

/* The last lines of the backend's logs into ours: the sandbox dir goes away with the failed start. */
static void
log_start_logs (struct kc_sandbox *sb, const char *const *names)
{
  for (size_t i = 0; names[i] != NULL; i++)
    {
      cleanup_free char *path = NULL, *prefix = NULL;
      if (asprintf (&path, "%s/%s", sb->dir, names[i]) < 0 || asprintf (&prefix, "sandbox %s: %s", sb->rec.id, names[i]) < 0)
        return;
      kc_log_file_tail (prefix, path, START_LOG_LINES);
    }
}

static void
fail_start_after_exit (struct kc_sandbox *sb)
{
  char last[256];
  cleanup_free char *log_path = NULL, *why = NULL;
  cleanup_error kc_error_t err = NULL;
  int code = KC_UNKNOWN;
  const char *const *logs = sb->owner->backend->start_logs ? sb->owner->backend->start_logs : default_start_logs;
  log_start_logs (sb, logs);
  if (asprintf (&log_path, "%s/%s", sb->dir, logs[0]) < 0)
    log_path = NULL;
  kc_file_last_line (log_path ? log_path : "", last, sizeof (last));
  if (sb->start_err != NULL)
    {
      code = sb->start_err->code;
      why = strdup (sb->start_err->msg);
      kc_error_free (&sb->start_err);
    }
  else if (asprintf (&why, "tasker exited with status %u before it was ready", sb->rec.exit_status) < 0)
    why = NULL;
  kc_error_code (&err, code, "start sandbox `%s`: %s; see %s: \"%s\"", sb->rec.id, why ? why : "tasker failed",
                 log_path ? log_path : "tasker.log", last);
  sb->starting = 0;
  stop_ready_wait (sb);
  kc_log_error ("%s", err->msg);
  kc_waiters_run (&sb->start_waiters, sb, &err);
}

static void
record_exit (struct kc_sandbox *sb)
{
  sb->rec.exit_status = exit_status_of (sb);
  sb->rec.exited_at_ns = kc_now_ns ();
  sb->rec.state = KC_SANDBOX_NOTREADY;
  if (sb->exit_ev)
    event_free (sb->exit_ev);
  sb->exit_ev = NULL;
  kc_closep (&sb->pidfd);
  sb->pidfd = -1;
  if (sb->kill_timer)
    {
      event_free (sb->kill_timer);
      sb->kill_timer = NULL;
    }
  log_persist_failure (sb);
  kc_log_info ("sandbox %s: tasker %d exited with status %u", sb->rec.id, (int) sb->rec.pid, sb->rec.exit_status);
  /* Before any waiter hears of the exit: a SIGKILLed tasker left its containers' mounts and cgroups. */
  kc_sandbox_reclaim (sb);
}

/* Runs every waiter of a sandbox that has just become NOTREADY, then a pending removal. */
static void
notify_exited (struct kc_sandbox *sb)
{
  if (sb->starting)
    fail_start_after_exit (sb);
  kc_waiters_run (&sb->exit_waiters, sb, NULL);
  kc_waiters_run (&sb->stop_waiters, sb, NULL);
  if (sb->removing)
    finish_removal (sb);
}

static void
on_exit_event (evutil_socket_t fd, short what, void *arg)
{
  struct kc_sandbox *sb = arg;
  record_exit (sb);
  notify_exited (sb);
}

void
kc_sandbox_wait (struct kc_sandbox *sb, kc_done_fn fn, void *userdata)
{
  if (sb->rec.state == KC_SANDBOX_NOTREADY)
    {
      fn (sb, NULL, userdata);
      return;
    }
  if (kc_waiter_add (&sb->exit_waiters, fn, userdata) < 0)
    {
      cleanup_error kc_error_t err = NULL;
      kc_error (&err, ENOMEM, "wait");
      fn (sb, &err, userdata);
    }
}

static void
on_kill_timer (evutil_socket_t fd, short what, void *arg)
{
  struct kc_sandbox *sb = arg;
  cleanup_error kc_error_t err = NULL;
  kc_log_warn ("sandbox %s: tasker %d did not stop in time, killing it", sb->rec.id, (int) sb->rec.pid);
  sb->kill_sent = 1;
  if (sb->pidfd >= 0 && sb->owner->backend->stop (&sb->owner->ctx, &sb->rec, sb->pidfd, 1, &err) < 0)
    kc_log_error ("%s", err->msg);
}

static int
signal_tasker (struct kc_sandbox *sb, unsigned timeout_secs, int force, kc_error_t *err)
{
  struct kc_sandboxer *sbx = sb->owner;
  sb->stop_requested = 1;
  if (force)
    sb->kill_sent = 1;
  if (sbx->backend->stop (&sbx->ctx, &sb->rec, sb->pidfd, force, err) < 0)
    return kc_error_wrap (err, "stop sandbox `%s`", sb->rec.id);
  if (force || sb->kill_timer != NULL)
    return 0;
  struct timeval tv = { timeout_secs ? timeout_secs : sbx->config.stop_timeout_secs, 0 };
  sb->kill_timer = evtimer_new (sbx->base, on_kill_timer, sb);
  if (sb->kill_timer == NULL || evtimer_add (sb->kill_timer, &tv) < 0)
    return kc_error_code (err, KC_INTERNAL, "arm stop timer of `%s`", sb->rec.id);
  return 0;
}

/* A sandbox with no tasker (never started) becomes NOTREADY at once. */
static void
stop_without_tasker (struct kc_sandbox *sb)
{
  if (sb->rec.state == KC_SANDBOX_NOTREADY)
    return;
  sb->rec.state = KC_SANDBOX_NOTREADY;
  sb->rec.exited_at_ns = kc_now_ns ();
  sb->rec.exit_status = 0;
  log_persist_failure (sb);
  kc_waiters_run (&sb->exit_waiters, sb, NULL);
}

int
kc_sandbox_stop (struct kc_sandbox *sb, unsigned timeout_secs, int force, kc_done_fn fn, void *userdata,
                 kc_error_t *err)
{
  if (sb->pidfd < 0)
    {
      stop_without_tasker (sb);
      fn (sb, NULL, userdata);
      return 0;
    }
  if (signal_tasker (sb, timeout_secs, force, err) < 0)
    return -1;
  if (kc_waiter_add (&sb->stop_waiters, fn, userdata) < 0)
    return kc_error (err, ENOMEM, "stop");
  return 0;
}

/* Renamed to <root>/.<id>.removing first, so a sandboxer killed halfway through the removal
   leaves no half-deleted <root>/<id> (no record, so neither recoverable nor re-creatable):
   recovery finishes the job (KC_REMOVING_SUFFIX). */
static int
remove_sandbox_dir (struct kc_sandbox *sb, kc_error_t *err)
{
  cleanup_free char *trash = NULL;
  if (asprintf (&trash, "%s/.%s" KC_REMOVING_SUFFIX, sb->owner->root_dir, sb->rec.id) < 0
      || rename (sb->dir, trash) < 0)
    return kc_rm_rf (sb->dir, err); /* e.g. an older leftover of that name: remove in place */
  if (kc_rm_rf (trash, err) == 0)
    return 0;
  if (rename (trash, sb->dir) < 0)
    kc_log_warn ("sandbox %s: `%s` left for the next start to remove", sb->rec.id, trash);
  return -1;
}

static void
finish_removal (struct kc_sandbox *sb)
{
  struct kc_sandboxer *sbx = sb->owner;
  cleanup_error kc_error_t err = NULL;
  kc_sandbox_reclaim (sb); /* its records live in sb->dir, about to be removed */
  if (sbx->backend->cleanup && sbx->backend->cleanup (&sbx->ctx, &sb->rec, sb->dir, &err) < 0)
    kc_log_warn ("cleanup of `%s`: %s", sb->rec.id, err->msg);
  kc_error_free (&err);
  if (remove_sandbox_dir (sb, &err) < 0)
    {
      /* Keep the sandbox known so a retry can finish the job. */
      sb->removing = 0;
      kc_error_wrap (&err, "shutdown sandbox `%s`", sb->rec.id);
      kc_waiters_run (&sb->shutdown_waiters, sb, &err);
      return;
    }
  kc_log_info ("sandbox %s removed", sb->rec.id);
  kc_sandbox_unlink (sb);
  kc_waiters_run (&sb->shutdown_waiters, sb, NULL);
  kc_sandbox_free (sb);
}

int
kc_sandbox_shutdown (struct kc_sandbox *sb, kc_done_fn fn, void *userdata, kc_error_t *err)
{
  if (kc_waiter_add (&sb->shutdown_waiters, fn, userdata) < 0)
    return kc_error (err, ENOMEM, "shutdown");
  if (sb->removing)
    return 0;
  sb->removing = 1;
  if (sb->pidfd >= 0)
    {
      if (signal_tasker (sb, 0, 1, err) < 0)
        {
          sb->removing = 0;
          struct kc_waiter *w = sb->shutdown_waiters;
          sb->shutdown_waiters = NULL;
          free (w);
          return -1;
        }
      return 0;
    }
  stop_without_tasker (sb);
  finish_removal (sb);
  return 0;
}
