/* Startup recovery: reload every <root>/<id>/sandbox.json, re-attach live taskers (same pid and
   start time), mark dead ones exited and reclaim what they left. A bad record is logged and left
   on disk untouched. */
#include "sandboxer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "proc.h"

/* READY taskers that are still alive are watched again; others have exited while we were away. */
static void
reattach_ready (struct kc_sandbox *sb)
{
  int pidfd = -1;
  cleanup_error kc_error_t err = NULL;
  if (kc_proc_open_verified (sb->rec.pid, sb->rec.pid_start_time, &pidfd, &err) == 0)
    {
      if (kc_sandbox_watch (sb, pidfd, 0, &err) == 0)
        {
          kc_log_info ("sandbox %s: re-attached to tasker %d", sb->rec.id, (int) sb->rec.pid);
          return;
        }
      kc_log_error ("sandbox %s: %s; reporting it exited", sb->rec.id, err->msg);
    }
  else
    kc_log_warn ("sandbox %s: tasker %d is gone (%s)", sb->rec.id, (int) sb->rec.pid, err->msg);
  sb->rec.state = KC_SANDBOX_NOTREADY;
  sb->rec.exited_at_ns = kc_now_ns ();
  sb->rec.exit_status = 255;
}

/* A record left in CREATED with a pid: we died during its Start. The caller never got an
   answer, so the half-started tasker is killed and the start counts as failed. */
static void
settle_interrupted_start (struct kc_sandbox *sb)
{
  int pidfd = -1;
  cleanup_error kc_error_t err = NULL;
  if (kc_proc_open_verified (sb->rec.pid, sb->rec.pid_start_time, &pidfd, &err) == 0)
    {
      kc_log_warn ("sandbox %s: killing tasker %d left half-started", sb->rec.id, (int) sb->rec.pid);
      kc_proc_signal (pidfd, SIGKILL, NULL);
      close (pidfd);
    }
  sb->rec.state = KC_SANDBOX_NOTREADY;
  sb->rec.exited_at_ns = kc_now_ns ();
  sb->rec.exit_status = 128 + SIGKILL;
}

/* We died between mkdir and the first save of a Create (whose caller got no answer): the
   directory holds nothing or a temp file. Removed so the id can be created again; anything
   else in it is left alone. */
static void
remove_unborn (const char *dir)
{
  DIR *d = opendir (dir);
  if (d == NULL)
    return;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (strncmp (de->d_name, KC_STORE_FILE ".tmp.", strlen (KC_STORE_FILE ".tmp.")) == 0)
      unlinkat (dirfd (d), de->d_name, 0);
  closedir (d);
  if (rmdir (dir) == 0)
    kc_log_warn ("removed %s: a Create that never completed", dir);
  else
    kc_log_error ("skipping %s: no %s", dir, KC_STORE_FILE);
}

/* A Shutdown interrupted inside its removal: the sandbox is already forgotten, finish it. */
static void
remove_leftover (struct kc_sandboxer *sbx, const char *name)
{
  size_t len = strlen (name), slen = strlen (KC_REMOVING_SUFFIX);
  cleanup_free char *path = NULL;
  cleanup_error kc_error_t err = NULL;
  if (len <= slen + 1 || strcmp (name + len - slen, KC_REMOVING_SUFFIX) != 0
      || asprintf (&path, "%s/%s", sbx->root_dir, name) < 0)
    return;
  if (kc_rm_rf (path, &err) < 0)
    kc_log_error ("remove %s: %s", path, err->msg);
  else
    kc_log_warn ("removed %s: a Shutdown that never completed", path);
}

static void
recover_one (struct kc_sandboxer *sbx, const char *name)
{
  cleanup_free char *dir = NULL;
  struct kc_sandbox_record rec;
  cleanup_error kc_error_t err = NULL;
  if (asprintf (&dir, "%s/%s", sbx->root_dir, name) < 0)
    return;
  if (kc_store_load (dir, &rec, &err) < 0)
    {
      if (err->code == KC_NOT_FOUND)
        remove_unborn (dir);
      else
        kc_log_error ("skipping %s: %s", dir, err->msg);
      kc_sandbox_record_clear (&rec);
      return;
    }
  if (strcmp (rec.id, name) != 0 || kc_sandboxer_find (sbx, rec.id) != NULL)
    {
      kc_log_error ("skipping %s: its record is for sandbox `%s`", dir, rec.id);
      kc_sandbox_record_clear (&rec);
      return;
    }
  struct kc_sandbox *sb = kc_sandbox_new (sbx, &rec, &err);
  if (sb == NULL)
    {
      kc_log_error ("skipping %s: %s", dir, err->msg);
      kc_sandbox_record_clear (&rec);
      return;
    }
  int before = sb->rec.state;
  if (sb->rec.state == KC_SANDBOX_READY)
    reattach_ready (sb);
  else if (sb->rec.state == KC_SANDBOX_CREATED && sb->rec.pid > 0)
    settle_interrupted_start (sb);
  if (sb->rec.state != before && kc_sandbox_persist (sb, &err) < 0)
    kc_log_error ("%s", err->msg);
  if (sb->pidfd < 0)
    kc_sandbox_reclaim (sb); /* its tasker is dead: undo what it may have left */
  kc_log_info ("recovered sandbox %s (%s)", sb->rec.id, kc_sandbox_state_name (sb->rec.state));
}

int
kc_sandboxer_recover (struct kc_sandboxer *sbx, kc_error_t *err)
{
  DIR *d = opendir (sbx->root_dir);
  if (d == NULL)
    return kc_error (err, errno, "open `%s`", sbx->root_dir);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
        continue;
      if (de->d_name[0] == '.')
        remove_leftover (sbx, de->d_name);
      else
        recover_one (sbx, de->d_name);
    }
  closedir (d);
  return 0;
}
