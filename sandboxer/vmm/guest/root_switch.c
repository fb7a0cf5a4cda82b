/* The boot-time root switch (root_switch.h): a tree copy rootfs → tmpfs with nftw, then
   MS_MOVE + chroot as busybox switch_root does. */
#include "root_switch.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cleanup.h"

#define NEW_ROOT    "/kc-root"
#define RAMFS_MAGIC 0x858458f6
#define TMPFS_MAGIC 0x01021994

static int copy_errno;

static int
copy_file (const char *src, const char *dst, const struct stat *st)
{
  cleanup_close int in = open (src, O_RDONLY | O_CLOEXEC);
  cleanup_close int out = -1;
  off_t off = 0;

  if (in < 0 || (out = open (dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 07777)) < 0)
    return -1;
  while (off < st->st_size)
    if (sendfile (out, in, &off, (size_t) (st->st_size - off)) <= 0)
      return -1;
  return 0;
}

/* Pre-order: directories are created before their entries; files are unlinked once copied. */
static int
copy_one (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  char dst[4096], link[4096];
  ssize_t n;
  int r = 0;

  if (ftw->level == 0 || strcmp (path, "." NEW_ROOT) == 0)
    return 0;
  snprintf (dst, sizeof (dst), NEW_ROOT "%s", path + 1);
  if (type == FTW_D)
    r = mkdir (dst, st->st_mode & 07777);
  else if (type == FTW_SL)
    r = (n = readlink (path, link, sizeof (link) - 1)) < 0 ? -1 : (link[n] = '\0', symlink (link, dst));
  else if (S_ISREG (st->st_mode))
    r = copy_file (path, dst, st) < 0 ? -1 : unlink (path);
  else if (type == FTW_F)
    r = mknod (dst, st->st_mode, st->st_rdev);
  if (r < 0 && errno != EEXIST)
    {
      copy_errno = errno;
      return FTW_STOP;
    }
  return 0;
}

static int
on_initramfs (void)
{
  struct statfs fs;

  return getpid () == 1 && statfs ("/", &fs) == 0 && (fs.f_type == RAMFS_MAGIC || fs.f_type == TMPFS_MAGIC)
         && access ("/init", F_OK) == 0;
}

int
kc_init_switch_root (kc_error_t *err)
{
  if (!on_initramfs ())
    return 0;
  if (mkdir (NEW_ROOT, 0755) < 0 && errno != EEXIST)
    return kc_error (err, errno, "mkdir " NEW_ROOT);
  if (mount ("tmpfs", NEW_ROOT, "tmpfs", 0, "mode=0755") < 0)
    return kc_error (err, errno, "mount tmpfs on " NEW_ROOT);
  if (chdir ("/") < 0 || nftw (".", copy_one, 16, FTW_PHYS | FTW_MOUNT) != 0)
    return kc_error (err, copy_errno, "copy the initramfs to " NEW_ROOT);
  if (chdir (NEW_ROOT) < 0 || mount (".", "/", NULL, MS_MOVE, NULL) < 0)
    return kc_error (err, errno, "move " NEW_ROOT " to /");
  if (chroot (".") < 0 || chdir ("/") < 0)
    return kc_error (err, errno, "chroot into the new root");
  return 0;
}
