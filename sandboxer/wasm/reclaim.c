/* Reclaim after a tasker died by SIGKILL: read its container records, kill, unmount, rmdir. */
#include "reclaim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "cleanup.h"
#include "container_record.h"
#include "log.h"

#define DRAIN_TRIES 200 /* 10 ms each */

/* Every string of array key of j (NULL-terminated, the strings borrowed from j). */
static const char **
strings_of (json_object *j, const char *key, size_t *n)
{
  json_object *a = NULL;
  const char **v;

  *n = 0;
  if (!json_object_object_get_ex (j, key, &a) || !json_object_is_type (a, json_type_array))
    return calloc (1, sizeof (char *));
  v = calloc (json_object_array_length (a) + 1, sizeof (char *));
  for (size_t i = 0; v != NULL && i < json_object_array_length (a); i++)
    {
      const char *s = json_object_get_string (json_object_array_get_idx (a, i));
      if (s != NULL && s[0] == '/' && strstr (s, "/../") == NULL)
        v[(*n)++] = s;
      else
        kc_log_warn ("reclaim: ignoring `%s` in %s", s ? s : "", key);
    }
  return v;
}

/* Writes value into an existing control file (never creates one). */
static int
write_str (const char *dir, const char *file, const char *value)
{
  cleanup_free char *path = NULL;
  cleanup_close int fd = -1;
  size_t len = strlen (value);

  if (asprintf (&path, "%s/%s", dir, file) < 0 || (fd = open (path, O_WRONLY | O_CLOEXEC)) < 0)
    return -1;
  return write (fd, value, len) == (ssize_t) len ? 0 : -1;
}

/* Thaws dir (a frozen process cannot die) and SIGKILLs its processes; how many were listed. */
static int
kill_members (const char *dir)
{
  cleanup_free char *path = NULL;
  cleanup_file FILE *f = NULL;
  char line[32];
  int n = 0;

  write_str (dir, "freezer.state", "THAWED");
  write_str (dir, "cgroup.freeze", "0");
  if (asprintf (&path, "%s/cgroup.procs", dir) < 0 || (f = fopen (path, "re")) == NULL)
    return 0;
  while (fgets (line, sizeof (line), f) != NULL)
    {
      pid_t pid = (pid_t) atoi (line);
      if (pid > 0 && kill (pid, SIGKILL) == 0)
        kc_log_warn ("reclaim: killed process %d left in `%s`", (int) pid, dir);
      n++;
    }
  return n;
}

static void
kill_all (const char **cgroups, size_t n)
{
  for (int tries = 0; tries < DRAIN_TRIES; tries++)
    {
      int left = 0;
      for (size_t i = 0; i < n; i++)
        left += kill_members (cgroups[i]);
      if (left == 0)
        return;
      usleep (10000);
    }
  kc_log_warn ("reclaim: processes still listed in the pod's cgroups after %d ms", DRAIN_TRIES * 10);
}

static void
unmount_all (const char **mounts, size_t n)
{
  for (size_t i = n; i-- > 0;)
    if (umount2 (mounts[i], MNT_DETACH) == 0)
      kc_log_info ("reclaim: unmounted `%s`", mounts[i]);
    else if (errno != EINVAL && errno != ENOENT)
      kc_log_warn ("reclaim: unmount `%s`: %s", mounts[i], strerror (errno));
}

static size_t
depth (const char *p)
{
  size_t d = 0;

  for (; *p; p++)
    d += *p == '/';
  return d;
}

static int
deeper_first (const void *a, const void *b)
{
  size_t da = depth (*(const char *const *) a), db = depth (*(const char *const *) b);

  return da < db ? 1 : da > db ? -1 : 0;
}

static void
remove_cgroups (const char **cgroups, size_t n)
{
  qsort (cgroups, n, sizeof (char *), deeper_first);
  for (size_t i = 0; i < n; i++)
    if (rmdir (cgroups[i]) < 0 && errno != ENOENT)
      kc_log_warn ("reclaim: remove cgroup `%s`: %s", cgroups[i], strerror (errno));
}

/* 1 when a path has a "." or ".." component (or is relative): a record naming one is corrupt. */
static int
path_is_odd (const char *p)
{
  if (p[0] != '/')
    return 1;
  for (const char *c = p; (c = strchr (c, '/')) != NULL; c++)
    if ((c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
        || (c[1] == '.' && c[2] == '.' && (c[3] == '/' || c[3] == '\0')))
      return 1;
  return 0;
}

/* The pod's own cgroups only: "<root>/<pod_rel>/<x>" (v2) or "<root>/<controller>/<pod_rel>/<x>"
   (v1). A corrupt record must never make us kill in, or remove, anything else (a controller's
   root cgroup holds the whole host). */
static int
cgroup_is_pods (const char *path, const char *root, const char *pod_rel)
{
  size_t rlen = strlen (root), plen = strlen (pod_rel);
  const char *rest, *slash;

  if (path_is_odd (path) || strncmp (path, root, rlen) != 0 || path[rlen] != '/')
    return 0;
  rest = path + rlen + 1;
  if (strncmp (rest, pod_rel, plen) == 0 && rest[plen] == '/' && rest[plen + 1] != '\0')
    return 1;
  slash = strchr (rest, '/');
  if (slash == NULL)
    return 0;
  rest = slash + 1;
  return strncmp (rest, pod_rel, plen) == 0 && rest[plen] == '/' && rest[plen + 1] != '\0';
}

static size_t
keep_pod_cgroups (const char **v, size_t n, const char *root, const char *pod_rel)
{
  size_t kept = 0;

  for (size_t i = 0; i < n; i++)
    if (pod_rel != NULL && pod_rel[0] != '\0' && cgroup_is_pods (v[i], root, pod_rel))
      v[kept++] = v[i];
    else
      kc_log_warn ("reclaim: refusing cgroup `%s` (not under %s/[controller/]%s)", v[i], root,
                   pod_rel ? pod_rel : "");
  v[kept] = NULL;
  return kept;
}

/* A tasker only ever mounts a container's <bundle>/rootfs. */
static size_t
keep_rootfs_mounts (const char **v, size_t n)
{
  size_t kept = 0, len;

  for (size_t i = 0; i < n; i++)
    if (!path_is_odd (v[i]) && (len = strlen (v[i])) > 7 && strcmp (v[i] + len - 7, "/rootfs") == 0)
      v[kept++] = v[i];
    else
      kc_log_warn ("reclaim: refusing mount `%s` (not a container rootfs)", v[i]);
  v[kept] = NULL;
  return kept;
}

static void
reclaim_record (const char *path, const char *cgroup_root, const char *pod_rel)
{
  json_object *j = json_object_from_file (path);
  cleanup_free const char **mounts = NULL, **cgroups = NULL;
  size_t nm = 0, nc = 0;

  if (j == NULL)
    {
      kc_log_warn ("reclaim: unreadable container record `%s`: %s", path, json_util_get_last_err ());
      unlink (path);
      return;
    }
  mounts = strings_of (j, KC_RECORD_KEY_MOUNTS, &nm);
  cgroups = strings_of (j, KC_RECORD_KEY_CGROUPS, &nc);
  if (mounts != NULL && cgroups != NULL)
    {
      nc = keep_pod_cgroups (cgroups, nc, cgroup_root, pod_rel);
      nm = keep_rootfs_mounts (mounts, nm);
      kill_all (cgroups, nc);
      unmount_all (mounts, nm);
      remove_cgroups (cgroups, nc);
      kc_log_info ("reclaim: container record `%s` handled", path);
    }
  json_object_put (j);
  unlink (path);
}

/* The pod level directory of each hierarchy (v1: <root>/<c>/<pod_rel>; v2: <root>/<pod_rel>). */
static void
remove_pod_cgroups (const char *cgroup_root, const char *pod_rel)
{
  DIR *d;
  struct dirent *de;
  char path[4096];

  if (pod_rel == NULL || pod_rel[0] == '\0' || strstr (pod_rel, "..") != NULL)
    return;
  snprintf (path, sizeof (path), "%s/%s", cgroup_root, pod_rel);
  rmdir (path);
  if ((d = opendir (cgroup_root)) == NULL)
    return;
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] != '.' && (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN))
      {
        snprintf (path, sizeof (path), "%s/%s/%s", cgroup_root, de->d_name, pod_rel);
        if (rmdir (path) == 0)
          kc_log_info ("reclaim: removed pod cgroup `%s`", path);
      }
  closedir (d);
}

int
kc_wasm_reclaim (const char *sandbox_dir, const char *cgroup_root, const char *pod_rel)
{
  cleanup_free char *sub = NULL;
  DIR *d;
  struct dirent *de;
  int n = 0;

  if (asprintf (&sub, "%s/%s", sandbox_dir, KC_RECORD_SUBDIR) < 0)
    return 0;
  if ((d = opendir (sub)) != NULL)
    {
      while ((de = readdir (d)) != NULL)
        {
          size_t len = strlen (de->d_name);
          cleanup_free char *path = NULL;
          if (len <= 5 || strcmp (de->d_name + len - 5, ".json") != 0 || asprintf (&path, "%s/%s", sub, de->d_name) < 0)
            continue;
          reclaim_record (path, cgroup_root, pod_rel);
          n++;
        }
      closedir (d);
      rmdir (sub);
    }
  remove_pod_cgroups (cgroup_root, pod_rel);
  return n;
}
