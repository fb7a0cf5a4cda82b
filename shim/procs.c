/* Per-pod process records: a short list, one entry per container init or exec. */
#include <stdlib.h>
#include <string.h>

#include "procs.h"

static const char *
nz (const char *s)
{
  return s ? s : "";
}

struct shim_proc *
shim_procs_find (struct shim_procs *ps, const char *container_id, const char *exec_id)
{
  for (struct shim_proc *p = ps->head; p; p = p->next)
    if (strcmp (p->container_id, nz (container_id)) == 0 && strcmp (p->exec_id, nz (exec_id)) == 0)
      return p;
  return NULL;
}

struct shim_proc *
shim_procs_add (struct shim_procs *ps, const char *container_id, const char *exec_id)
{
  struct shim_proc *p = shim_procs_find (ps, container_id, exec_id);

  if (p != NULL)
    return p;
  p = calloc (1, sizeof (*p));
  if (p == NULL)
    return NULL;
  p->container_id = strdup (nz (container_id));
  p->exec_id = strdup (nz (exec_id));
  if (p->container_id == NULL || p->exec_id == NULL)
    {
      free (p->container_id);
      free (p->exec_id);
      free (p);
      return NULL;
    }
  p->next = ps->head;
  ps->head = p;
  return p;
}

void
shim_procs_remove (struct shim_procs *ps, const char *container_id, const char *exec_id)
{
  struct shim_proc **pp = &ps->head;
  int all = exec_id == NULL || *exec_id == '\0';

  while (*pp)
    {
      struct shim_proc *p = *pp;
      if (strcmp (p->container_id, nz (container_id)) == 0 && (all || strcmp (p->exec_id, exec_id) == 0))
        {
          *pp = p->next;
          free (p->container_id);
          free (p->exec_id);
          free (p);
          continue;
        }
      pp = &p->next;
    }
}

void
shim_procs_clear (struct shim_procs *ps)
{
  while (ps->head)
    {
      struct shim_proc *p = ps->head;
      ps->head = p->next;
      free (p->container_id);
      free (p->exec_id);
      free (p);
    }
}
