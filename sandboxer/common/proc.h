/* Process helpers for taskers: spawning in a new session with a ready pipe, start times from
   /proc (to tell a recycled pid), pidfds, signalling, reaping. */
#ifndef KC_PROC_H
#define KC_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "pod_cgroup.h"

/* The fd number the child sees its ready pipe on (passed as --ready-fd). */
#define KC_READY_FD     3
#define KC_READY_FD_STR "3"
/* The fd number the child sees the optional passed fd on (kc_proc_spawn_with_fd). */
#define KC_PASS_FD      4
#define KC_PASS_FD_STR  "4"

struct kc_spawned
{
  pid_t pid;
  int pidfd;    /* O_CLOEXEC pidfd of the child */
  int ready_fd; /* read end of the ready pipe, O_CLOEXEC|O_NONBLOCK */
};

/* Forks and execs argv[0] in its own session: stdin /dev/null, stdout/stderr appended to
   log_path, the write end of a pipe on KC_READY_FD, default signal dispositions and mask. */
int kc_proc_spawn (char *const argv[], const char *log_path, struct kc_spawned *out, kc_error_t *err);
/* The same, handing pass_fd (when >= 0) to the child as KC_PASS_FD (a tap device for QEMU). */
int kc_proc_spawn_with_fd (char *const argv[], const char *log_path, int pass_fd, struct kc_spawned *out,
                           kc_error_t *err);
/* The same, the child joining the pod cgroup (when join is not NULL) before anything else, so
   all it ever allocates is charged there; a failed join fails its exec (status 127, logged). */
int kc_proc_spawn_in_cgroup (char *const argv[], const char *log_path, int pass_fd,
                             const struct kc_pod_cgroup_join *join, struct kc_spawned *out, kc_error_t *err);
/* Field 22 of /proc/<pid>/stat (start time in clock ticks since boot). NOT_FOUND when gone. */
int kc_proc_start_time (pid_t pid, unsigned long long *start_time, kc_error_t *err);
/* A pidfd for pid, verified to still be the process that started at start_time
   (start_time 0: not checked). NOT_FOUND when it is gone or was recycled. */
int kc_proc_open_verified (pid_t pid, unsigned long long start_time, int *pidfd, kc_error_t *err);
int kc_proc_signal (int pidfd, int sig, kc_error_t *err);
/* Reaps an exited child through its pidfd. Returns 1 with *status (exit code, or 128+signal),
   0 when it is not our child (after a restart) or not yet exited, -1 on error. */
int kc_proc_reap (int pidfd, pid_t pid, uint32_t *status, kc_error_t *err);
/* The last non-empty line of a file (at most max-1 bytes of it), "" when none. */
void kc_file_last_line (const char *path, char *out, size_t max);
/* Logs (error level) the last max_lines lines of path, each prefixed with `prefix: `. */
void kc_log_file_tail (const char *prefix, const char *path, int max_lines);

#endif
