/* The pod cgroup of a backend whose processes the sandboxer spawns itself (pod_cgroup.h). */
#include "pod_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"

/* The wasm tasker's list (sandboxer/wasm/tasker/cgroup.c): what Metrics reads, plus freezer. */
static const char *const v1_controllers[] = { "memory", "cpu", "cpuacct", "pids", "freezer" };
#define NCTL         (sizeof (v1_controllers) / sizeof (v1_controllers[0]))
#define DRAIN_TRIES  200 /* x 10 ms */
#define V2_DELEGATED "+memory +cpu +pids"

_Static_assert(NCTL <= KC_POD_CGROUP_MAX, "KC_POD_CGROUP_MAX too small");

static int
rel_is_plain (const char *rel)
{
  for (const char *s = rel; *s != '\0';)
    {
      size_t len = strcspn (s, "/");
      if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
      s += len;
      s += *s == '/';
    }
  return rel[strspn (rel, "/")] != '\0';
}

static int
is_v2 (const char *root)
{
  char probe[4096];
  snprintf (probe, sizeof (probe), "%s/cgroup.controllers", root);
  return access (probe, F_OK) == 0;
}

/* The pod's directory in each hierarchy present under root (malloc'ed; *n may be 0). */
static int
pod_dirs (const char *root, const char *rel, char *dirs[KC_POD_CGROUP_MAX], size_t *n)
{
  char path[4096];
  rel += strspn (rel, "/");
  *n = 0;
  if (is_v2 (root))
    {
      if (asprintf (&dirs[0], "%s/%s", root, rel) < 0)
        return -1;
      *n = 1;
      return 0;
    }
  for (size_t i = 0; i < NCTL; i++)
    {
      snprintf (path, sizeof (path), "%s/%s", root, v1_controllers[i]);
      if (access (path, F_OK) < 0)
        continue;
      if (asprintf (&dirs[*n], "%s/%s/%s", root, v1_controllers[i], rel) < 0)
        return -1;
      (*n)++;
    }
  return 0;
}

static void
free_dirs (char *dirs[], size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (dirs[i]);
}

/* v2: each ancestor of the pod directory hands memory, cpu and pids down (best effort: a
   parent kubelet made already does). The pod directory itself keeps its processes. */
static void
v2_delegate (const char *root, const char *rel)
{
  char path[4096];
  cleanup_free char *copy = strdup (rel + strspn (rel, "/"));
  if (copy == NULL)
    return;
  snprintf (path, sizeof (path), "%s", root);
  for (char *s = copy;; s++)
    {
      cleanup_close int fd = -1;
      size_t len = strlen (path);
      snprintf (path + len, sizeof (path) - len, "/cgroup.subtree_control");
      fd = open (path, O_WRONLY | O_CLOEXEC);
      if (fd >= 0 && write (fd, V2_DELEGATED, strlen (V2_DELEGATED)) < 0)
        kc_log_debug ("cgroup: `%s` %s: %s", V2_DELEGATED, path, strerror (errno));
      if ((s = strchr (s, '/')) == NULL)
        return;
      *s = '\0';
      snprintf (path, sizeof (path), "%s/%s", root, copy);
      *s = '/';
    }
}

void
kc_pod_cgroup_join_close (struct kc_pod_cgroup_join *join)
{
  for (size_t i = 0; i < join->n; i++)
    kc_closep (&join->fds[i]);
  join->n = 0;
}

int
kc_pod_cgroup_create (const char *root, const char *rel, struct kc_pod_cgroup_join *join, kc_error_t *err)
{
  char *dirs[KC_POD_CGROUP_MAX];
  size_t n = 0;
  int ret = 0;
  join->n = 0;
  if (!rel_is_plain (rel))
    return kc_error_code (err, KC_INVALID_ARGUMENT, "pod cgroup `%s`: not a plain relative path", rel);
  if (pod_dirs (root, rel, dirs, &n) < 0)
    {
      free_dirs (dirs, n);
      return kc_error (err, ENOMEM, "pod cgroup");
    }
  if (n == 0)
    kc_log_warn ("pod cgroup %s: no memory/cpu/cpuacct/pids/freezer hierarchy under %s", rel, root);
  if (n > 0 && is_v2 (root))
    v2_delegate (root, rel);
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      char procs[4096];
      snprintf (procs, sizeof (procs), "%s/cgroup.procs", dirs[i]);
      if (kc_mkdir_p (dirs[i], 0755, err) < 0)
        ret = kc_error_wrap (err, "create pod cgroup");
      else
        {
          int fd = open (procs, O_WRONLY | O_CLOEXEC);
          /* >= 10: a forked child dup2s onto its low fds after joining, never over these. */
          int high = fd >= 0 ? fcntl (fd, F_DUPFD_CLOEXEC, 10) : -1;
          if (high < 0)
            ret = kc_error (err, errno, "open `%s`", procs);
          else
            join->fds[join->n++] = high;
          kc_closep (&fd);
        }
    }
  free_dirs (dirs, n);
  if (ret < 0)
    kc_pod_cgroup_join_close (join);
  return ret;
}

int
kc_pod_cgroup_join_self (const struct kc_pod_cgroup_join *join)
{
  for (size_t i = 0; i < join->n; i++)
    if (write (join->fds[i], "0", 1) != 1)
      return -1;
  return 0;
}

/* SIGKILLs every pid listed in dir's cgroup.procs; returns how many it listed. */
static int
kill_listed (const char *dir, int do_kill)
{
  char path[4096];
  cleanup_free char *text = NULL;
  size_t len = 0;
  int n = 0;
  snprintf (path, sizeof (path), "%s/cgroup.procs", dir);
  if (kc_read_file (path, &text, &len, NULL) < 0)
    return 0;
  for (char *s = text, *end; *s != '\0'; s = end)
    {
      long pid = strtol (s, &end, 10);
      if (end == s)
        break;
      if (pid > 0)
        {
          n++;
          if (do_kill)
            kill ((pid_t) pid, SIGKILL);
        }
    }
  return n;
}

/* Polls until no hierarchy lists a process or tries x 10 ms passed; returns what is left. */
static int
wait_empty (char *dirs[], size_t n, int tries)
{
  struct timespec tick = { 0, 10 * 1000 * 1000 };
  for (int i = 0;; i++)
    {
      int left = 0;
      for (size_t d = 0; d < n; d++)
        left += kill_listed (dirs[d], 0);
      if (left == 0 || i >= tries)
        return left;
      nanosleep (&tick, NULL);
    }
}

int
kc_pod_cgroup_remove (const char *root, const char *rel, int grace_ms)
{
  char *dirs[KC_POD_CGROUP_MAX];
  size_t n = 0;
  int killed = 0;
  if (!rel_is_plain (rel) || pod_dirs (root, rel, dirs, &n) < 0)
    {
      free_dirs (dirs, n);
      return 0;
    }
  if (wait_empty (dirs, n, grace_ms / 10) > 0)
    {
      for (size_t i = 0; i < n; i++)
        {
          int listed = kill_listed (dirs[i], 1);
          if (listed > killed)
            killed = listed;
        }
      wait_empty (dirs, n, DRAIN_TRIES);
    }
  for (size_t i = 0; i < n; i++)
    if (rmdir (dirs[i]) < 0 && errno != ENOENT)
      kc_log_warn ("pod cgroup: rmdir `%s`: %s", dirs[i], strerror (errno));
  free_dirs (dirs, n);
  return killed;
}
