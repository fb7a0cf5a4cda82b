/* One container of the skeleton shim: a plain host process chrooted into <bundle>/rootfs (no
   isolation), created stopped on a start pipe like runc create, released by Start. */
#ifndef SKEL_CONTAINER_H
#define SKEL_CONTAINER_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "task.pb-c.h"
#include "ttrpc/ttrpc.h"

struct skel_container
{
  struct skel_container *next;
  char *id;
  char *bundle;
  char *stdin_path, *stdout_path, *stderr_path;
  pid_t pid;
  int start_fd; /* write end of the start pipe until Start; -1 after */
  int mounted;
  Containerd__V1__Types__Status status;
  uint32_t exit_status;
  int64_t exited_sec;
  int32_t exited_nsec;
  kc_ttrpc_call **waiters; /* Wait calls answered at exit */
  size_t n_waiters;
};

/* Mounts req->rootfs on <bundle>/rootfs and forks the process, held before exec. */
struct skel_container *skel_container_create (const Containerd__Task__V2__CreateTaskRequest *req, kc_error_t *err);
/* Lets the process exec its config.json args. */
int skel_container_start (struct skel_container *c, kc_error_t *err);
/* Records the exit (wait(2) status) and answers the pending Wait calls. */
void skel_container_exited (struct skel_container *c, int wait_status);
/* Kills a process still held, unmounts the rootfs and frees c. */
void skel_container_free (struct skel_container *c);

#endif
