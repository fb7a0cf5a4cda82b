/* A container process (init or exec): its stdio opened in the tasker, a forked child that waits on
   a start pipe and then runs the module with a wasm engine. */
#ifndef KC_TASKER_PROCESS_H
#define KC_TASKER_PROCESS_H

#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "engine.h"
#include "error.h"

struct kc_spawn
{
  const struct kc_wasm_engine *engine;
  int module_fd;             /* checked module, from kc_wasm_module_open */
  const char *aot_cache_dir; /* run the module AOT-compiled, cached here (aot.h); NULL: interpret */
  const char *const *args;
  size_t nargs;
  const char *const *env;
  size_t nenv;
  const char *const *preopens;
  size_t npreopens;
  const char *stdin_path; /* "" or NULL: /dev/null */
  const char *stdout_path;
  const char *stderr_path;
  const struct kc_cgroup *cgroup; /* NULL: stay in ours */
};

/* Forks the child (blocked until kc_task_start_release, task_server.h) and joins it to its cgroup.
   *start_fd is the write end of its start pipe (O_CLOEXEC). */
int kc_process_spawn (const struct kc_spawn *sp, pid_t *pid, int *start_fd, kc_error_t *err);
/* Opens one stdio stream of a container without blocking: "" → /dev/null, a FIFO or file path,
   or file://path. for_write 0 = stdin. An output FIFO with no reader yet comes back as an O_PATH
   handle: the child opens it write-only once it is started, waiting for the reader. */
int kc_stdio_open (const char *path, int for_write, kc_error_t *err);

#endif
