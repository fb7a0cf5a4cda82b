/* Guest container cgroups (guest_cgroup.h): v1 files written directly; the hierarchies are
   mounted by init.c, one per controller. */
#include "guest_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

static const char *const controllers[] = { "pids", "memory", "freezer", "cpu", "cpuacct" };
#define NCTL (sizeof (controllers) / sizeof (controllers[0]))

char *
kc_gcg_rel (const char *cid)
{
  char *rel = NULL;

  return asprintf (&rel, KC_GCG_PARENT "/%s", cid) < 0 ? NULL : rel;
}

static int
mounted (const char *controller)
{
  char path[256];

  snprintf (path, sizeof (path), KC_GCG_ROOT "/%s/cgroup.procs", controller);
  return access (path, F_OK) == 0;
}

static void
dir_of (char *buf, size_t len, const char *controller, const char *cid)
{
  snprintf (buf, len, KC_GCG_ROOT "/%s/" KC_GCG_PARENT "/%s", controller, cid);
}

static int
write_value (const char *controller, const char *cid, const char *file, const char *value, kc_error_t *err)
{
  char path[512];
  cleanup_close int fd = -1;
  size_t len = strlen (value);

  dir_of (path, sizeof (path), controller, cid);
  snprintf (path + strlen (path), sizeof (path) - strlen (path), "/%s", file);
  if ((fd = open (path, O_WRONLY | O_CLOEXEC)) < 0)
    return kc_error (err, errno, "open `%s`", path);
  if (write (fd, value, len) != (ssize_t) len)
    return kc_error (err, errno, "write `%s` to `%s`", value, path);
  return 0;
}

static int
write_i64 (const char *controller, const char *cid, const char *file, int64_t v, kc_error_t *err)
{
  char buf[32];

  snprintf (buf, sizeof (buf), "%" PRId64, v < 0 ? -1 : v);
  if (!mounted (controller))
    return kc_error_code (err, KC_FAILED_PRECONDITION, "%s: the %s controller is not available in the guest", file,
                          controller);
  return write_value (controller, cid, file, buf, err);
}

static int
apply (const char *cid, const struct kc_vmm_resources *res, kc_error_t *err)
{
  if (res->has_memory_limit && write_i64 ("memory", cid, "memory.limit_in_bytes", res->memory_limit, err) < 0)
    return -1;
  if (res->cpu_period > 0 && write_i64 ("cpu", cid, "cpu.cfs_period_us", (int64_t) res->cpu_period, err) < 0)
    return -1;
  if (res->has_cpu_quota
      && write_i64 ("cpu", cid, "cpu.cfs_quota_us", res->cpu_quota == 0 ? -1 : res->cpu_quota, err) < 0)
    return -1;
  if (res->cpu_shares > 0 && write_i64 ("cpu", cid, "cpu.shares", (int64_t) res->cpu_shares, err) < 0)
    return -1;
  return 0;
}

int
kc_gcg_create (const char *cid, const struct kc_vmm_resources *res, int *created, kc_error_t *err)
{
  char path[512];

  *created = 0;
  for (size_t i = 0; i < NCTL; i++)
    {
      if (!mounted (controllers[i]))
        continue;
      snprintf (path, sizeof (path), KC_GCG_ROOT "/%s/" KC_GCG_PARENT, controllers[i]);
      if (mkdir (path, 0755) < 0 && errno != EEXIST)
        return kc_error (err, errno, "create cgroup `%s`", path);
      dir_of (path, sizeof (path), controllers[i], cid);
      if (mkdir (path, 0755) < 0 && errno != EEXIST)
        return kc_error (err, errno, "create cgroup `%s`", path);
      *created = 1;
    }
  if (!*created)
    kc_log_warn ("no cgroup controller in the guest: container %s runs without limits", cid);
  if (apply (cid, res, err) < 0)
    return kc_gcg_remove (cid), kc_error_wrap (err, "cgroup limits of `%s`", cid);
  return 0;
}

int
kc_gcg_add (const char *cid, pid_t pid, kc_error_t *err)
{
  char buf[32];

  snprintf (buf, sizeof (buf), "%d", (int) pid);
  for (size_t i = 0; i < NCTL; i++)
    if (mounted (controllers[i]) && write_value (controllers[i], cid, "cgroup.procs", buf, err) < 0)
      return kc_error_wrap (err, "join cgroup");
  return 0;
}

int
kc_gcg_pids (const char *cid, pid_t **pids, size_t *n)
{
  char path[512];
  cleanup_file FILE *f = NULL;
  size_t cap = 16;
  int pid;

  *n = 0;
  *pids = NULL;
  for (size_t i = 0; i < NCTL && f == NULL; i++)
    if (mounted (controllers[i]))
      {
        dir_of (path, sizeof (path), controllers[i], cid);
        strcat (path, "/cgroup.procs");
        f = fopen (path, "re");
      }
  if (f == NULL || (*pids = malloc (cap * sizeof (pid_t))) == NULL)
    return -1;
  while (fscanf (f, "%d", &pid) == 1)
    {
      if (*n == cap)
        {
          pid_t *grown = realloc (*pids, (cap *= 2) * sizeof (pid_t));
          if (grown == NULL)
            break;
          *pids = grown;
        }
      (*pids)[(*n)++] = (pid_t) pid;
    }
  return 0;
}

static int
freezer_state_is (const char *cid, const char *want)
{
  char path[512], state[32] = "";
  cleanup_file FILE *f = NULL;

  dir_of (path, sizeof (path), "freezer", cid);
  strcat (path, "/freezer.state");
  if ((f = fopen (path, "re")) == NULL || fgets (state, sizeof (state), f) == NULL)
    return 0;
  return strncmp (state, want, strlen (want)) == 0;
}

int
kc_gcg_freeze (const char *cid, int frozen, kc_error_t *err)
{
  const char *want = frozen ? "FROZEN" : "THAWED";
  struct timespec tick = { 0, 5 * 1000 * 1000 };

  if (!mounted ("freezer"))
    return kc_error_code (err, KC_UNIMPLEMENTED, "no freezer cgroup in the guest");
  if (write_value ("freezer", cid, "freezer.state", want, err) < 0)
    return -1;
  for (int i = 0; i < 400; i++) /* v1 freezing is asynchronous: up to 2 s */
    {
      if (freezer_state_is (cid, want))
        return 0;
      nanosleep (&tick, NULL);
    }
  return kc_error_code (err, KC_DEADLINE_EXCEEDED, "cgroup of `%s` did not reach %s", cid, want);
}

void
kc_gcg_remove (const char *cid)
{
  struct timespec tick = { 0, 5 * 1000 * 1000 };
  char path[512];

  for (size_t i = 0; i < NCTL; i++)
    {
      if (!mounted (controllers[i]))
        continue;
      dir_of (path, sizeof (path), controllers[i], cid);
      for (int tries = 0; rmdir (path) < 0 && errno == EBUSY && tries < 40; tries++)
        nanosleep (&tick, NULL);
      if (access (path, F_OK) == 0)
        kc_log_warn ("cannot remove cgroup `%s`: %s", path, strerror (errno));
    }
}
