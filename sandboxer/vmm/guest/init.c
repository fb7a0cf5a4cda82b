/* PID 1 setup of the guest (init.h). Everything here runs once, before the event loop. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cmdline.h"
#include "fsutil.h"
#include "log.h"
#include "modules.h"

void
kc_init_console (void)
{
  int fd;

  if (fcntl (0, F_GETFD) >= 0 && fcntl (2, F_GETFD) >= 0)
    return;
  fd = open ("/dev/console", O_RDWR | O_NOCTTY);
  if (fd < 0)
    fd = open ("/dev/null", O_RDWR);
  for (int i = 0; fd >= 0 && i < 3; i++)
    if (fd != i)
      dup2 (fd, i);
  if (fd > 2)
    close (fd);
}

struct basic_mount
{
  const char *source, *target, *type;
  unsigned long flags;
  const char *data;
};

static const struct basic_mount basic_mounts[] = {
  { "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
  { "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
  { "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
  { "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620" },
  { "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
  { "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
  { "tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755" },
};

static int
mount_one (const struct basic_mount *m, kc_error_t *err)
{
  if (kc_mkdir_p (m->target, 0755, err) < 0)
    return -1;
  if (mount (m->source, m->target, m->type, m->flags, m->data) < 0 && errno != EBUSY)
    return kc_error (err, errno, "mount %s on `%s`", m->type, m->target);
  return 0;
}

/* One v1 hierarchy per enabled controller of /proc/cgroups; failures only cost limits. */
static void
mount_cgroups (void)
{
  FILE *f = fopen ("/proc/cgroups", "re");
  char line[256], name[64], path[128];
  int hier, num, enabled;

  if (f == NULL)
    return;
  while (fgets (line, sizeof (line), f) != NULL)
    {
      if (line[0] == '#' || sscanf (line, "%63s %d %d %d", name, &hier, &num, &enabled) != 4 || !enabled)
        continue;
      snprintf (path, sizeof (path), "/sys/fs/cgroup/%s", name);
      if (mkdir (path, 0755) < 0 && errno != EEXIST)
        continue;
      if (mount ("cgroup", path, "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, name) < 0)
        kc_log_debug ("cgroup %s: %s", name, strerror (errno));
    }
  fclose (f);
}

int
kc_init_mount_basics (kc_error_t *err)
{
  for (size_t i = 0; i < sizeof (basic_mounts) / sizeof (basic_mounts[0]); i++)
    if (mount_one (&basic_mounts[i], err) < 0)
      return -1;
  mount_cgroups ();
  if (symlink ("/proc/self/fd", "/dev/fd") < 0 && errno != EEXIST)
    kc_log_debug ("/dev/fd: %s", strerror (errno));
  return 0;
}

int
kc_init_load_modules (kc_error_t *err)
{
  struct utsname u;
  char dir[512];

  if (uname (&u) < 0)
    return kc_error (err, errno, "uname");
  snprintf (dir, sizeof (dir), "/lib/modules/%s", u.release);
  if (access (dir, F_OK) < 0)
    {
      kc_log_warn ("no modules for kernel %s in the image: relying on built-in drivers", u.release);
      return 0;
    }
  return kc_modules_load_all (dir, err);
}

/* The share the host exported (kuasar.share= on the kernel command line, docs/vmm.md): 9p
   unless it says virtiofs. */
static int
share_kind (char *kind, size_t max, kc_error_t *err)
{
  int found = kc_cmdline_get ("kuasar.share", kind, max);
  if (found < 0 || (found == 1 && strcmp (kind, "9p") != 0 && strcmp (kind, "virtiofs") != 0))
    return kc_error_code (err, KC_INVALID_ARGUMENT, "kuasar.share= on the kernel command line must be 9p or virtiofs");
  if (found == 0)
    snprintf (kind, max, "9p");
  return 0;
}

int
kc_init_mount_shared (kc_error_t *err)
{
  const char *opts_9p = "trans=virtio,version=9p2000.L,msize=262144,cache=none,access=client";
  struct timespec tick = { 0, 10 * 1000 * 1000 };
  char kind[16];

  if (share_kind (kind, sizeof (kind), err) < 0 || kc_mkdir_p (KC_VMM_SHARED_DIR, 0755, err) < 0)
    return -1;
  int virtiofs = strcmp (kind, "virtiofs") == 0;
  /* The transport registers its tag when the virtio device probes, just after the module:
     until then 9p says ENOENT, virtiofs EINVAL (and ENODEV before the file system exists). */
  for (int i = 0; i < 300; i++)
    {
      if (mount (KC_VMM_SHARE_TAG, KC_VMM_SHARED_DIR, virtiofs ? "virtiofs" : "9p", MS_NOSUID | MS_NODEV,
                 virtiofs ? NULL : opts_9p)
          == 0)
        return 0;
      if (errno != ENOENT && errno != ENODEV && !(virtiofs && errno == EINVAL))
        break;
      nanosleep (&tick, NULL);
    }
  return kc_error (err, errno, "mount %s tag `%s` on %s", kind, KC_VMM_SHARE_TAG, KC_VMM_SHARED_DIR);
}

void
kc_init_power_off (void)
{
  sync ();
  reboot (RB_AUTOBOOT);
  for (;;)
    pause ();
}
