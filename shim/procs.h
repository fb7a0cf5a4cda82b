/* Per-pod process records (container init and execs) that order task events. */
#ifndef SHIM_PROCS_H
#define SHIM_PROCS_H

#include <stdint.h>

struct shim_proc
{
  struct shim_proc *next;
  char *container_id;
  char *exec_id; /* "" for the init process */
  uint32_t pid;
  int started;
  int exited;
  /* An init exit with 137 waits for a Stats call telling whether it was an OOM kill
     (task_oom.c); its exit event, and a Delete answered meanwhile, are held until then. */
  int oom_checking;
  uint32_t exit_status;
  int64_t exited_sec;
  int32_t exited_nsec;
  int delete_pending;
  uint32_t delete_pid;
};

struct shim_procs
{
  struct shim_proc *head;
};

struct shim_proc *shim_procs_find (struct shim_procs *ps, const char *container_id, const char *exec_id);
/* Finds or adds the record. NULL only when out of memory. */
struct shim_proc *shim_procs_add (struct shim_procs *ps, const char *container_id, const char *exec_id);
/* Removes one record, or every record of the container when exec_id is "" (init deleted). */
void shim_procs_remove (struct shim_procs *ps, const char *container_id, const char *exec_id);
void shim_procs_clear (struct shim_procs *ps);

#endif
