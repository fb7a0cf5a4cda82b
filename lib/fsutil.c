/* Atomic writes, whole-file reads, mkdir -p and rm -rf (see fsutil.h). */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#define KC_READ_FILE_MAX (64u << 20)

static int
write_all (int fd, const char *data, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      data += n;
      len -= (size_t) n;
    }
  return 0;
}

static int
fsync_parent_dir (const char *path, kc_error_t *err)
{
  cleanup_free char *dir = strdup (path);
  if (dir == NULL)
    return kc_error (err, ENOMEM, "strdup");
  char *slash = strrchr (dir, '/');
  if (slash == NULL)
    strcpy (dir, ".");
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  cleanup_close int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return kc_error (err, errno, "open directory `%s`", dir);
  if (fsync (fd) < 0)
    return kc_error (err, errno, "fsync directory `%s`", dir);
  return 0;
}

int
kc_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode, kc_error_t *err)
{
  cleanup_free char *tmp = NULL;
  if (asprintf (&tmp, "%s.tmp.%d", path, (int) getpid ()) < 0)
    return kc_error (err, ENOMEM, "asprintf");
  cleanup_close int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return kc_error (err, errno, "open `%s`", tmp);
  if (fchmod (fd, mode) < 0 || write_all (fd, data, len) < 0 || fsync (fd) < 0)
    {
      int saved = errno;
      unlink (tmp);
      return kc_error (err, saved, "write `%s`", tmp);
    }
  if (rename (tmp, path) < 0)
    {
      int saved = errno;
      unlink (tmp);
      return kc_error (err, saved, "rename `%s` to `%s`", tmp, path);
    }
  return fsync_parent_dir (path, err);
}

int
kc_read_file (const char *path, char **buf, size_t *len, kc_error_t *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return kc_error (err, errno, "open `%s`", path);
  struct stat st;
  if (fstat (fd, &st) < 0)
    return kc_error (err, errno, "stat `%s`", path);
  if (!S_ISREG (st.st_mode))
    return kc_error_code (err, KC_INVALID_ARGUMENT, "`%s` is not a regular file", path);
  size_t cap = st.st_size > 0 ? (size_t) st.st_size + 1 : 4096, used = 0;
  cleanup_free char *data = NULL;
  for (;;)
    {
      if (cap > KC_READ_FILE_MAX + 1)
        return kc_error_code (err, KC_OUT_OF_RANGE, "`%s` is larger than %u bytes", path, KC_READ_FILE_MAX);
      char *grown = realloc (data, cap);
      if (grown == NULL)
        return kc_error (err, ENOMEM, "read `%s`", path);
      data = grown;
      ssize_t n = read (fd, data + used, cap - used - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return kc_error (err, errno, "read `%s`", path);
      if (n == 0)
        break;
      used += (size_t) n;
      if (used + 1 == cap)
        cap *= 2;
    }
  data[used] = '\0';
  *buf = steal_pointer (&data);
  if (len)
    *len = used;
  return 0;
}

int
kc_mkdir_p (const char *path, mode_t mode, kc_error_t *err)
{
  if (*path == '\0')
    return kc_error_code (err, KC_INVALID_ARGUMENT, "mkdir: empty path");
  cleanup_free char *copy = strdup (path);
  if (copy == NULL)
    return kc_error (err, ENOMEM, "strdup");
  for (char *p = copy + 1;; p++)
    {
      if (*p != '/' && *p != '\0')
        continue;
      char saved = *p;
      *p = '\0';
      if (mkdir (copy, mode) < 0 && errno != EEXIST)
        return kc_error (err, errno, "mkdir `%s`", copy);
      *p = saved;
      if (saved == '\0')
        break;
    }
  struct stat st;
  if (stat (path, &st) < 0)
    return kc_error (err, errno, "stat `%s`", path);
  if (!S_ISDIR (st.st_mode))
    return kc_error (err, ENOTDIR, "mkdir `%s`", path);
  return 0;
}

static int rm_rf_at (int dirfd, const char *name, kc_error_t *err);

static int
rm_dir_contents (int fd, const char *name, kc_error_t *err)
{
  DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return kc_error (err, errno, "opendir `%s`", name);
    }
  int ret = 0;
  struct dirent *de;
  while (ret == 0 && (de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      ret = rm_rf_at (dirfd (d), de->d_name, err);
    }
  closedir (d);
  return ret;
}

static int
rm_rf_at (int dirfd, const char *name, kc_error_t *err)
{
  if (unlinkat (dirfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return kc_error (err, errno, "unlink `%s`", name);
  int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return kc_error (err, errno, "open `%s`", name);
  if (rm_dir_contents (fd, name, err) < 0)
    return kc_error_wrap (err, "remove `%s`", name);
  if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return kc_error (err, errno, "rmdir `%s`", name);
  return 0;
}

int
kc_rm_rf (const char *path, kc_error_t *err)
{
  return rm_rf_at (AT_FDCWD, path, err);
}
