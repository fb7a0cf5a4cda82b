/* The set of sandboxes: registry, creation, persistence, waiter lists. */
#include "sandboxer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"

int64_t
kc_now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
kc_sandboxer_init (struct kc_sandboxer *sbx, struct event_base *base, const struct kc_backend *backend,
                   const char *root_dir, const char *tasker_path, const char *log_level, struct kc_config *config,
                   kc_error_t *err)
{
  memset (sbx, 0, sizeof (*sbx));
  sbx->base = base;
  sbx->backend = backend;
  sbx->config = *config;
  kc_config_init (config);
  sbx->root_dir = strdup (root_dir);
  sbx->ctx.tasker_path = strdup (tasker_path);
  sbx->ctx.log_level = strdup (log_level);
  sbx->ctx.config = &sbx->config;
  sbx->ctx.root_dir = sbx->root_dir;
  if (sbx->root_dir == NULL || sbx->ctx.tasker_path == NULL || sbx->ctx.log_level == NULL)
    return kc_error (err, ENOMEM, "sandboxer init");
  return 0;
}

void
kc_sandboxer_free (struct kc_sandboxer *sbx)
{
  while (sbx->sandboxes != NULL)
    {
      struct kc_sandbox *sb = sbx->sandboxes;
      sbx->sandboxes = sb->next;
      kc_sandbox_free (sb);
    }
  kc_config_free (&sbx->config);
  free (sbx->root_dir);
  free ((char *) sbx->ctx.tasker_path);
  free ((char *) sbx->ctx.log_level);
  memset (sbx, 0, sizeof (*sbx));
}

struct kc_sandbox *
kc_sandboxer_find (struct kc_sandboxer *sbx, const char *id)
{
  for (struct kc_sandbox *sb = sbx->sandboxes; sb; sb = sb->next)
    if (strcmp (sb->rec.id, id) == 0)
      return sb;
  return NULL;
}

struct kc_sandbox *
kc_sandboxer_get (struct kc_sandboxer *sbx, const char *id, kc_error_t *err)
{
  struct kc_sandbox *sb = kc_sandboxer_find (sbx, id);
  if (sb == NULL)
    kc_error_code (err, KC_NOT_FOUND, "sandbox `%s` not found", id);
  return sb;
}

struct kc_sandbox *
kc_sandbox_new (struct kc_sandboxer *sbx, struct kc_sandbox_record *rec, kc_error_t *err)
{
  struct kc_sandbox *sb = calloc (1, sizeof (*sb));
  if (sb == NULL)
    {
      kc_error (err, ENOMEM, "calloc");
      return NULL;
    }
  if (asprintf (&sb->dir, "%s/%s", sbx->root_dir, rec->id) < 0)
    {
      free (sb);
      kc_error (err, ENOMEM, "asprintf");
      return NULL;
    }
  sb->owner = sbx;
  sb->rec = *rec;
  memset (rec, 0, sizeof (*rec));
  sb->pidfd = -1;
  sb->ready_fd = -1;
  sb->next = sbx->sandboxes;
  sbx->sandboxes = sb;
  return sb;
}

static void
free_waiters (struct kc_waiter *w)
{
  while (w != NULL)
    {
      struct kc_waiter *next = w->next;
      free (w);
      w = next;
    }
}

/* Frees memory, events and fds only: the tasker keeps running. */
void
kc_sandbox_free (struct kc_sandbox *sb)
{
  if (sb->exit_ev)
    event_free (sb->exit_ev);
  if (sb->ready_ev)
    event_free (sb->ready_ev);
  if (sb->kill_timer)
    event_free (sb->kill_timer);
  kc_closep (&sb->pidfd);
  kc_closep (&sb->ready_fd);
  kc_error_free (&sb->start_err);
  free_waiters (sb->start_waiters);
  free_waiters (sb->stop_waiters);
  free_waiters (sb->exit_waiters);
  free_waiters (sb->shutdown_waiters);
  kc_sandbox_record_clear (&sb->rec);
  free (sb->dir);
  free (sb);
}

void
kc_sandbox_unlink (struct kc_sandbox *sb)
{
  for (struct kc_sandbox **p = &sb->owner->sandboxes; *p; p = &(*p)->next)
    if (*p == sb)
      {
        *p = sb->next;
        return;
      }
}

int
kc_waiter_add (struct kc_waiter **list, kc_done_fn fn, void *userdata)
{
  struct kc_waiter *w = calloc (1, sizeof (*w));
  if (w == NULL)
    return -1;
  w->fn = fn;
  w->userdata = userdata;
  while (*list)
    list = &(*list)->next;
  *list = w;
  return 0;
}

/* Detaches the list first: a callback may add new waiters. */
void
kc_waiters_run (struct kc_waiter **list, struct kc_sandbox *sb, const kc_error_t *err)
{
  struct kc_waiter *w = *list;
  *list = NULL;
  while (w != NULL)
    {
      struct kc_waiter *next = w->next;
      w->fn (sb, err, w->userdata);
      free (w);
      w = next;
    }
}

int
kc_sandbox_persist (struct kc_sandbox *sb, kc_error_t *err)
{
  if (kc_store_save (sb->dir, &sb->rec, err) < 0)
    return kc_error_wrap (err, "save sandbox `%s`", sb->rec.id);
  return 0;
}

int
kc_sandbox_create (struct kc_sandboxer *sbx, struct kc_sandbox_record *rec, struct kc_sandbox **out, kc_error_t *err)
{
  if (kc_sandboxer_find (sbx, rec->id) != NULL)
    return kc_error_code (err, KC_ALREADY_EXISTS, "sandbox `%s` already exists", rec->id);
  cleanup_free char *dir = NULL;
  if (asprintf (&dir, "%s/%s", sbx->root_dir, rec->id) < 0)
    return kc_error (err, ENOMEM, "asprintf");
  if (mkdir (dir, 0711) < 0)
    {
      if (errno == EEXIST)
        return kc_error_code (err, KC_ALREADY_EXISTS, "sandbox directory `%s` already exists (unreadable record?)",
                              dir);
      return kc_error (err, errno, "mkdir `%s`", dir);
    }
  rec->state = KC_SANDBOX_CREATED;
  rec->created_at_ns = kc_now_ns ();
  if ((sbx->backend->create && sbx->backend->create (&sbx->ctx, rec, dir, err) < 0)
      || kc_store_save (dir, rec, err) < 0)
    {
      cleanup_error kc_error_t rm_err = NULL;
      if (kc_rm_rf (dir, &rm_err) < 0)
        kc_log_warn ("remove `%s`: %s", dir, rm_err->msg);
      return kc_error_wrap (err, "create sandbox `%s`", rec->id);
    }
  struct kc_sandbox *sb = kc_sandbox_new (sbx, rec, err);
  if (sb == NULL)
    return -1;
  kc_log_info ("sandbox %s created in %s", sb->rec.id, sb->dir);
  if (out)
    *out = sb;
  return 0;
}
