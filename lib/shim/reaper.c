/* The reaper: the shim is a child subreaper, so it waits for every child and orphan; a pid
   with a watcher gets its exit callback once. */
#include <stdlib.h>
#include <sys/wait.h>

#include "shim_priv.h"

struct kc_shim_watch
{
  struct kc_shim_watch *next;
  pid_t pid;
  kc_shim_exit_fn fn;
  void *userdata;
};

int
kc_shim_watch_pid (struct kc_shim *shim, pid_t pid, kc_shim_exit_fn fn, void *userdata)
{
  struct kc_shim_watch *w = calloc (1, sizeof (*w));

  if (w == NULL)
    return -1;
  w->pid = pid;
  w->fn = fn;
  w->userdata = userdata;
  w->next = shim->watches;
  shim->watches = w;
  return 0;
}

/* Unlinks and returns the watcher of pid, or NULL. */
static struct kc_shim_watch *
take_watch (struct kc_shim *shim, pid_t pid)
{
  for (struct kc_shim_watch **pw = &shim->watches; *pw; pw = &(*pw)->next)
    if ((*pw)->pid == pid)
      {
        struct kc_shim_watch *w = *pw;
        *pw = w->next;
        return w;
      }
  return NULL;
}

void
kc_shim_unwatch_pid (struct kc_shim *shim, pid_t pid)
{
  free (take_watch (shim, pid));
}

void
kc_shim_reap (struct kc_shim *shim)
{
  int status;
  pid_t pid;

  while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
    {
      struct kc_shim_watch *w = take_watch (shim, pid);
      if (w == NULL)
        continue;
      w->fn (shim, pid, status, w->userdata);
      free (w);
    }
}

void
kc_shim_watches_clear (struct kc_shim *shim)
{
  while (shim->watches)
    {
      struct kc_shim_watch *w = shim->watches;
      shim->watches = w->next;
      free (w);
    }
}
