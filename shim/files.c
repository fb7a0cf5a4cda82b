/* Small file helpers of the shim: atomic writes, whole-file reads, mkdir -p, rm -rf. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "files.h"
#include "shim_priv.h" /* kc_shim_read_fd */

static int
write_all (int fd, const void *data, size_t len)
{
  const char *p = data;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
shim_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode, kc_error_t *err)
{
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;

  if (asprintf (&tmp, "%s.tmp.%d", path, (int) getpid ()) < 0)
    return kc_error (err, ENOMEM, "write `%s`", path);
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return kc_error (err, errno, "open `%s`", tmp);
  if (write_all (fd, data, len) < 0 || fsync (fd) < 0)
    {
      int saved = errno;
      unlink (tmp);
      return kc_error (err, saved, "write `%s`", tmp);
    }
  if (fchmod (fd, mode) < 0 || rename (tmp, path) < 0)
    {
      int saved = errno;
      unlink (tmp);
      return kc_error (err, saved, "rename `%s` to `%s`", tmp, path);
    }
  return 0;
}

/* libkcshim's reader (lib/shim/read_fd.c), under the name files.h gives it. */
int
shim_read_fd (int fd, char **out, size_t *len, kc_error_t *err)
{
  return kc_shim_read_fd (fd, out, len, err);
}

int
shim_read_file (const char *path, char **out, size_t *len, kc_error_t *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return kc_error (err, errno, "open `%s`", path);
  if (shim_read_fd (fd, out, len, err) < 0)
    return kc_error_wrap (err, "read `%s`", path);
  return 0;
}

int
shim_mkdir_p (const char *path, mode_t mode, kc_error_t *err)
{
  cleanup_free char *copy = strdup (path);
  char *p;

  if (copy == NULL)
    return kc_error (err, ENOMEM, "mkdir `%s`", path);
  for (p = copy + 1; *p; p++)
    {
      if (*p != '/')
        continue;
      *p = '\0';
      if (mkdir (copy, mode) < 0 && errno != EEXIST)
        return kc_error (err, errno, "mkdir `%s`", copy);
      *p = '/';
    }
  if (mkdir (copy, mode) < 0 && errno != EEXIST)
    return kc_error (err, errno, "mkdir `%s`", copy);
  return 0;
}

static int
rm_rf_at (int parent_fd, const char *name, kc_error_t *err)
{
  struct stat st;
  cleanup_close int fd = -1;
  DIR *dir;
  struct dirent *de;

  if (fstatat (parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : kc_error (err, errno, "stat `%s`", name);
  if (!S_ISDIR (st.st_mode))
    {
      if (unlinkat (parent_fd, name, 0) < 0 && errno != ENOENT)
        return kc_error (err, errno, "unlink `%s`", name);
      return 0;
    }
  fd = openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return kc_error (err, errno, "open `%s`", name);
  dir = fdopendir (fd);
  if (dir == NULL)
    return kc_error (err, errno, "opendir `%s`", name);
  fd = -1; /* the DIR owns it now */
  while ((de = readdir (dir)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (rm_rf_at (dirfd (dir), de->d_name, err) < 0)
        {
          closedir (dir);
          return kc_error_wrap (err, "remove in `%s`", name);
        }
    }
  closedir (dir);
  if (unlinkat (parent_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return kc_error (err, errno, "rmdir `%s`", name);
  return 0;
}

int
shim_rm_rf (const char *path, kc_error_t *err)
{
  return rm_rf_at (AT_FDCWD, path, err);
}

int
shim_copy_file (const char *from, const char *to, mode_t mode, kc_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;

  if (shim_read_file (from, &data, &len, err) < 0)
    return -1;
  return shim_write_file_atomic (to, data, len, mode, err);
}
