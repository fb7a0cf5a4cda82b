/* Container cgroups, v1 hybrid or v2 unified: create, join, limit, freeze, list, OOM, remove. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "log.h"

/* cpuacct: only for Stats (a separate hierarchy on some hosts, the same as cpu on others). */
static const char *const v1_controllers[] = { "memory", "cpu", "cpuacct", "pids", "freezer" };
#define NCTL (sizeof (v1_controllers) / sizeof (v1_controllers[0]))

int
kc_cgroup_init (struct kc_cgroup *cg, const char *root, const char *rel, kc_error_t *err)
{
  char probe[4096];

  memset (cg, 0, sizeof (*cg));
  snprintf (probe, sizeof (probe), "%s/cgroup.controllers", root);
  cg->v2 = access (probe, F_OK) == 0;
  cg->root = strdup (root);
  cg->rel = strdup (rel);
  if (cg->root == NULL || cg->rel == NULL)
    {
      kc_cgroup_release (cg);
      return kc_error (err, ENOMEM, "cgroup");
    }
  return 0;
}

void
kc_cgroup_release (struct kc_cgroup *cg)
{
  free (cg->root);
  free (cg->rel);
  cg->root = cg->rel = NULL;
}

char *
kc_cgroup_dir (const struct kc_cgroup *cg, const char *controller)
{
  char *p = NULL;

  if (cg->v2 || controller == NULL)
    return asprintf (&p, "%s/%s", cg->root, cg->rel) < 0 ? NULL : p;
  return asprintf (&p, "%s/%s/%s", cg->root, controller, cg->rel) < 0 ? NULL : p;
}

static int
mkdir_p (char *path)
{
  for (char *s = path + 1; *s; s++)
    if (*s == '/')
      {
        *s = '\0';
        int r = mkdir (path, 0755);
        *s = '/';
        if (r < 0 && errno != EEXIST)
          return -1;
      }
  return mkdir (path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

static int
write_file (const char *dir, const char *file, const char *value, kc_error_t *err)
{
  char path[4096];
  cleanup_close int fd = -1;
  size_t len = strlen (value);

  snprintf (path, sizeof (path), "%s/%s", dir, file);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return kc_error (err, errno, "open `%s`", path);
  if (write (fd, value, len) != (ssize_t) len)
    return kc_error (err, errno, "write `%s` to `%s`", value, path);
  return 0;
}

static int
read_file (const char *dir, const char *file, char *buf, size_t len)
{
  char path[4096];
  cleanup_close int fd = -1;
  ssize_t n;

  snprintf (path, sizeof (path), "%s/%s", dir, file);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  n = read (fd, buf, len - 1);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  return (int) n;
}

static int
v1_controller_present (const struct kc_cgroup *cg, const char *controller)
{
  char path[4096];

  snprintf (path, sizeof (path), "%s/%s", cg->root, controller);
  return access (path, F_OK) == 0;
}

static int
v2_enable_controllers (const struct kc_cgroup *cg)
{
  /* Each ancestor must delegate memory, cpu and pids to its children; failures are not fatal
     (the limits will fail later with a clear error). */
  char *rel = strdup (cg->rel), path[4096];

  if (rel == NULL)
    return -1;
  snprintf (path, sizeof (path), "%s", cg->root);
  write_file (path, "cgroup.subtree_control", "+memory +cpu +pids", NULL);
  for (char *s = rel; (s = strchr (s, '/')) != NULL; s++)
    {
      *s = '\0';
      snprintf (path, sizeof (path), "%s/%s", cg->root, rel);
      write_file (path, "cgroup.subtree_control", "+memory +cpu +pids", NULL);
      *s = '/';
    }
  free (rel);
  return 0;
}

int
kc_cgroup_create (const struct kc_cgroup *cg, kc_error_t *err)
{
  for (size_t i = 0; i < (cg->v2 ? 1 : NCTL); i++)
    {
      if (!cg->v2 && !v1_controller_present (cg, v1_controllers[i]))
        continue;
      cleanup_free char *dir = kc_cgroup_dir (cg, v1_controllers[i]);
      if (dir == NULL)
        return kc_error (err, ENOMEM, "cgroup");
      if (mkdir_p (dir) < 0)
        return kc_error (err, errno, "create cgroup `%s`", dir);
    }
  if (cg->v2)
    v2_enable_controllers (cg);
  return 0;
}

void
kc_strv_free (char **v)
{
  for (size_t i = 0; v != NULL && v[i] != NULL; i++)
    free (v[i]);
  free (v);
}

char **
kc_cgroup_dirs (const struct kc_cgroup *cg)
{
  char **v = calloc (NCTL + 1, sizeof (char *));
  size_t n = 0;

  for (size_t i = 0; v != NULL && i < (cg->v2 ? 1 : NCTL); i++)
    {
      if (!cg->v2 && !v1_controller_present (cg, v1_controllers[i]))
        continue;
      if ((v[n++] = kc_cgroup_dir (cg, v1_controllers[i])) == NULL)
        {
          kc_strv_free (v);
          return NULL;
        }
    }
  return v;
}

int
kc_cgroup_add_pid (const struct kc_cgroup *cg, pid_t pid, kc_error_t *err)
{
  char buf[32];

  snprintf (buf, sizeof (buf), "%d", (int) pid);
  for (size_t i = 0; i < (cg->v2 ? 1 : NCTL); i++)
    {
      if (!cg->v2 && !v1_controller_present (cg, v1_controllers[i]))
        continue;
      cleanup_free char *dir = kc_cgroup_dir (cg, v1_controllers[i]);
      if (dir == NULL)
        return kc_error (err, ENOMEM, "cgroup");
      if (write_file (dir, "cgroup.procs", buf, err) < 0)
        return kc_error_wrap (err, "join cgroup");
    }
  return 0;
}

int
kc_cgroup_format_limit (int64_t v, int v2, char *buf, size_t len)
{
  if (v < 0)
    return snprintf (buf, len, "%s", v2 ? "max" : "-1");
  return snprintf (buf, len, "%" PRId64, v);
}

static int
apply_v1 (const struct kc_cgroup *cg, const struct kc_oci_resources *res, kc_error_t *err)
{
  cleanup_free char *mem = kc_cgroup_dir (cg, "memory");
  cleanup_free char *cpu = kc_cgroup_dir (cg, "cpu");
  char buf[64];

  if (mem == NULL || cpu == NULL)
    return kc_error (err, ENOMEM, "cgroup");
  if (res->has_memory_limit)
    {
      kc_cgroup_format_limit (res->memory_limit, 0, buf, sizeof (buf));
      if (write_file (mem, "memory.limit_in_bytes", buf, err) < 0)
        return -1;
    }
  if (res->has_cpu_period && res->cpu_period > 0)
    {
      snprintf (buf, sizeof (buf), "%" PRIu64, res->cpu_period);
      if (write_file (cpu, "cpu.cfs_period_us", buf, err) < 0)
        return -1;
    }
  if (res->has_cpu_quota)
    {
      kc_cgroup_format_limit (res->cpu_quota == 0 ? -1 : res->cpu_quota, 0, buf, sizeof (buf));
      if (write_file (cpu, "cpu.cfs_quota_us", buf, err) < 0)
        return -1;
    }
  if (res->has_cpu_shares && res->cpu_shares > 0)
    {
      snprintf (buf, sizeof (buf), "%" PRIu64, res->cpu_shares);
      if (write_file (cpu, "cpu.shares", buf, err) < 0)
        return -1;
    }
  return 0;
}

static int
apply_v2 (const struct kc_cgroup *cg, const struct kc_oci_resources *res, kc_error_t *err)
{
  cleanup_free char *dir = kc_cgroup_dir (cg, NULL);
  char buf[96], quota[48];

  if (dir == NULL)
    return kc_error (err, ENOMEM, "cgroup");
  if (res->has_memory_limit)
    {
      kc_cgroup_format_limit (res->memory_limit, 1, buf, sizeof (buf));
      if (write_file (dir, "memory.max", buf, err) < 0)
        return -1;
    }
  if (res->has_cpu_quota || res->has_cpu_period)
    {
      kc_cgroup_format_limit (res->has_cpu_quota && res->cpu_quota > 0 ? res->cpu_quota : -1, 1, quota, sizeof (quota));
      snprintf (buf, sizeof (buf), "%s %" PRIu64, quota, res->cpu_period > 0 ? res->cpu_period : 100000);
      if (write_file (dir, "cpu.max", buf, err) < 0)
        return -1;
    }
  if (res->has_cpu_shares && res->cpu_shares > 0)
    {
      /* The OCI conversion runc uses: [2, 262144] → [1, 10000]. */
      uint64_t shares = res->cpu_shares < 2 ? 2 : res->cpu_shares > 262144 ? 262144 : res->cpu_shares;
      snprintf (buf, sizeof (buf), "%" PRIu64, 1 + ((shares - 2) * 9999) / 262142);
      if (write_file (dir, "cpu.weight", buf, err) < 0)
        return -1;
    }
  return 0;
}

int
kc_cgroup_apply (const struct kc_cgroup *cg, const struct kc_oci_resources *res, kc_error_t *err)
{
  int ret = cg->v2 ? apply_v2 (cg, res, err) : apply_v1 (cg, res, err);

  return ret < 0 ? kc_error_wrap (err, "apply resources") : 0;
}

int
kc_cgroup_freeze (const struct kc_cgroup *cg, int frozen, kc_error_t *err)
{
  cleanup_free char *dir = kc_cgroup_dir (cg, "freezer");

  if (dir == NULL)
    return kc_error (err, ENOMEM, "cgroup");
  if (cg->v2)
    return write_file (dir, "cgroup.freeze", frozen ? "1" : "0", err);
  if (write_file (dir, "freezer.state", frozen ? "FROZEN" : "THAWED", err) < 0)
    return -1;
  /* v1 freezing is asynchronous: wait (briefly) until the state settles. */
  for (int i = 0; i < 1000; i++)
    {
      char state[64];
      if (read_file (dir, "freezer.state", state, sizeof (state)) < 0)
        break;
      if (strncmp (state, frozen ? "FROZEN" : "THAWED", 6) == 0)
        return 0;
      usleep (1000);
    }
  return 0;
}

int
kc_cgroup_pids (const struct kc_cgroup *cg, pid_t **pids, size_t *n, kc_error_t *err)
{
  cleanup_free char *dir = kc_cgroup_dir (cg, "pids");
  char path[4096], line[64];
  cleanup_file FILE *f = NULL;
  size_t cap = 0;

  *pids = NULL;
  *n = 0;
  if (dir == NULL)
    return kc_error (err, ENOMEM, "cgroup");
  snprintf (path, sizeof (path), "%s/cgroup.procs", dir);
  f = fopen (path, "re");
  if (f == NULL)
    return kc_error (err, errno, "open `%s`", path);
  while (fgets (line, sizeof (line), f) != NULL)
    {
      if (*n == cap)
        {
          pid_t *p = realloc (*pids, (cap = cap ? cap * 2 : 8) * sizeof (pid_t));
          if (p == NULL)
            {
              free (*pids);
              *pids = NULL;
              return kc_error (err, ENOMEM, "read `%s`", path);
            }
          *pids = p;
        }
      (*pids)[(*n)++] = (pid_t) atoi (line);
    }
  return 0;
}

uint64_t
kc_cgroup_oom_kills (const struct kc_cgroup *cg)
{
  cleanup_free char *dir = kc_cgroup_dir (cg, "memory");
  char buf[1024];
  const char *key;

  if (dir == NULL || read_file (dir, cg->v2 ? "memory.events" : "memory.oom_control", buf, sizeof (buf)) < 0)
    return 0;
  key = strstr (buf, "oom_kill ");
  return key != NULL ? strtoull (key + strlen ("oom_kill "), NULL, 10) : 0;
}

void
kc_cgroup_destroy (const struct kc_cgroup *cg)
{
  for (size_t i = 0; i < (cg->v2 ? 1 : NCTL); i++)
    {
      cleanup_free char *dir = kc_cgroup_dir (cg, v1_controllers[i]);
      if (dir != NULL && rmdir (dir) < 0 && errno != ENOENT)
        kc_log_warn ("remove cgroup `%s`: %s", dir, strerror (errno));
    }
}

void
kc_cgroup_remove_dir (const char *root, const char *dir)
{
  char path[4096], probe[4096];

  snprintf (probe, sizeof (probe), "%s/cgroup.controllers", root);
  if (access (probe, F_OK) == 0)
    {
      snprintf (path, sizeof (path), "%s/%s", root, dir);
      rmdir (path);
      return;
    }
  for (size_t i = 0; i < NCTL; i++)
    {
      snprintf (path, sizeof (path), "%s/%s/%s", root, v1_controllers[i], dir);
      rmdir (path);
    }
}
