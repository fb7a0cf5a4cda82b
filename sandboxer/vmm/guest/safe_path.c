/* Symlink-safe paths inside a container rootfs (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
   and the root.path check (safe_path.h). */
#include "safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

static int
open_in_root (int rootfd, const char *path, int flags)
{
  struct open_how how = { .flags = (unsigned) (flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };

  while (*path == '/')
    path++;
  return (int) syscall (SYS_openat2, rootfd, *path ? path : ".", &how, sizeof (how));
}

int
kc_safe_open (int rootfd, const char *path, kc_error_t *err)
{
  int fd = open_in_root (rootfd, path, O_PATH);

  if (fd < 0)
    return kc_error (err, errno, "open `%s` in the rootfs", path);
  return fd;
}

/* The directory prefix (resolved in rootfd) whose parent is already open as parent; a missing
   last component is created there, never through a symlink (mkdirat does not follow one). */
static int
step_dir (int rootfd, int parent, const char *prefix, const char *name)
{
  int fd = open_in_root (rootfd, prefix, O_PATH | O_DIRECTORY);

  if (fd >= 0 || errno != ENOENT)
    return fd;
  if (mkdirat (parent, name, 0755) < 0 && errno != EEXIST)
    return -1;
  return open_in_root (rootfd, prefix, O_PATH | O_DIRECTORY);
}

static int
safe_mkdir_p (int rootfd, char *path, kc_error_t *err)
{
  int fd = open_in_root (rootfd, ".", O_PATH | O_DIRECTORY);
  char *p = path;

  while (fd >= 0 && *p != '\0')
    {
      char *name, *end, saved;
      int next;

      while (*p == '/')
        p++;
      name = p;
      end = name + strcspn (name, "/");
      if (end == name)
        break;
      saved = *end;
      *end = '\0';
      next = step_dir (rootfd, fd, path, name);
      *end = saved;
      close (fd);
      fd = next;
      p = end;
    }
  if (fd < 0)
    return kc_error (err, errno, "mkdir `%s` in the rootfs", path);
  return fd;
}

static int
safe_file (int rootfd, char *path, kc_error_t *err)
{
  char *slash = strrchr (path, '/');
  const char *name = slash != NULL ? slash + 1 : path;
  int fd = open_in_root (rootfd, path, O_PATH), parent, created;
  char top[1] = "";

  if (fd >= 0 || errno != ENOENT || *name == '\0')
    return fd >= 0 ? fd : kc_error (err, errno, "open `%s` in the rootfs", path);
  if (slash != NULL)
    *slash = '\0';
  parent = safe_mkdir_p (rootfd, slash != NULL ? path : top, err);
  if (slash != NULL)
    *slash = '/';
  if (parent < 0)
    return -1;
  created = openat (parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (created < 0)
    {
      kc_error (err, errno, "create `%s` in the rootfs", path);
      close (parent);
      return -1;
    }
  close (created);
  fd = openat (parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  close (parent);
  return fd >= 0 ? fd : kc_error (err, errno, "open `%s` in the rootfs", path);
}

int
kc_safe_target (int rootfd, const char *path, int is_file, kc_error_t *err)
{
  cleanup_free char *copy = strdup (path);

  if (copy == NULL)
    return kc_error (err, ENOMEM, "mount point");
  return is_file ? safe_file (rootfd, copy, err) : safe_mkdir_p (rootfd, copy, err);
}

const char *
kc_safe_fd_path (char *buf, size_t size, int fd)
{
  snprintf (buf, size, "/proc/self/fd/%d", fd);
  return buf;
}

int
kc_safe_rootfs_path (const char *bundle, const char *root_path, char **out, kc_error_t *err)
{
  cleanup_free char *path = NULL, *real = NULL, *real_bundle = NULL;
  struct stat st;
  size_t n;

  if (root_path != NULL && root_path[0] == '/' && access (root_path, F_OK) == 0)
    path = strdup (root_path);
  else if (asprintf (&path, "%s/%s", bundle, root_path != NULL && root_path[0] != '/' ? root_path : "rootfs") < 0)
    path = NULL;
  if (path == NULL)
    return kc_error (err, ENOMEM, "rootfs path");
  real = realpath (path, NULL);
  real_bundle = realpath (bundle, NULL);
  if (real == NULL || real_bundle == NULL || stat (real, &st) < 0 || !S_ISDIR (st.st_mode))
    return kc_error_code (err, KC_INVALID_ARGUMENT, "rootfs `%s` is not a directory in the guest", path);
  n = strlen (real_bundle);
  if (strncmp (real, real_bundle, n) != 0 || real[n] != '/')
    return kc_error_code (err, KC_INVALID_ARGUMENT, "rootfs `%s` is not under the container's share `%s`", path,
                          bundle);
  *out = real;
  real = NULL;
  return 0;
}
