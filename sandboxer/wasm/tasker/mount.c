/* Rootfs mounts of a container: option parsing like containerd's mount.Mount, then mount(2). */
#include "mount.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "log.h"

struct flag_word
{
  const char *name;
  int clear;
  unsigned long flag;
};

static const struct flag_word flag_words[] = {
  { "async", 1, MS_SYNCHRONOUS },
  { "atime", 1, MS_NOATIME },
  { "bind", 0, MS_BIND },
  { "defaults", 0, 0 },
  { "dev", 1, MS_NODEV },
  { "diratime", 1, MS_NODIRATIME },
  { "dirsync", 0, MS_DIRSYNC },
  { "exec", 1, MS_NOEXEC },
  { "mand", 0, MS_MANDLOCK },
  { "noatime", 0, MS_NOATIME },
  { "nodev", 0, MS_NODEV },
  { "nodiratime", 0, MS_NODIRATIME },
  { "noexec", 0, MS_NOEXEC },
  { "nomand", 1, MS_MANDLOCK },
  { "norelatime", 1, MS_RELATIME },
  { "nostrictatime", 1, MS_STRICTATIME },
  { "nosuid", 0, MS_NOSUID },
  { "rbind", 0, MS_BIND | MS_REC },
  { "relatime", 0, MS_RELATIME },
  { "remount", 0, MS_REMOUNT },
  { "ro", 0, MS_RDONLY },
  { "rw", 1, MS_RDONLY },
  { "strictatime", 0, MS_STRICTATIME },
  { "suid", 1, MS_NOSUID },
  { "sync", 0, MS_SYNCHRONOUS },
};

static const struct flag_word propagation_words[] = {
  { "private", 0, MS_PRIVATE },       { "rprivate", 0, MS_PRIVATE | MS_REC },
  { "shared", 0, MS_SHARED },         { "rshared", 0, MS_SHARED | MS_REC },
  { "slave", 0, MS_SLAVE },           { "rslave", 0, MS_SLAVE | MS_REC },
  { "unbindable", 0, MS_UNBINDABLE }, { "runbindable", 0, MS_UNBINDABLE | MS_REC },
};

static const struct flag_word *
lookup (const struct flag_word *words, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (words[i].name, name) == 0)
      return &words[i];
  return NULL;
}

static int
append_data (char **data, size_t *len, const char *opt)
{
  size_t olen = strlen (opt);
  char *p = realloc (*data, *len + olen + 2);

  if (p == NULL)
    return -1;
  if (*len > 0)
    p[(*len)++] = ',';
  memcpy (p + *len, opt, olen + 1);
  *len += olen;
  *data = p;
  return 0;
}

int
kc_mount_options_parse (char *const *options, size_t n, unsigned long *flags, unsigned long *propagation, char **data,
                        kc_error_t *err)
{
  size_t len = 0;
  char *d = calloc (1, 1);

  *flags = 0;
  *propagation = 0;
  if (d == NULL)
    return kc_error (err, ENOMEM, "parse mount options");
  for (size_t i = 0; i < n; i++)
    {
      const char *o = options[i];
      const struct flag_word *w;

      if (o == NULL || *o == '\0')
        continue;
      if ((w = lookup (flag_words, sizeof (flag_words) / sizeof (flag_words[0]), o)) != NULL)
        {
          if (w->clear)
            *flags &= ~w->flag;
          else
            *flags |= w->flag;
        }
      else if ((w = lookup (propagation_words, sizeof (propagation_words) / sizeof (propagation_words[0]), o)) != NULL)
        *propagation |= w->flag;
      else if (strcmp (o, "loop") == 0)
        {
          free (d);
          return kc_error_code (err, KC_INVALID_ARGUMENT, "mount option `loop` is not supported");
        }
      else if (append_data (&d, &len, o) < 0)
        {
          free (d);
          return kc_error (err, ENOMEM, "parse mount options");
        }
    }
  *data = d;
  return 0;
}

static int
mount_one (const struct kc_mount_spec *m, const char *target, kc_error_t *err)
{
  unsigned long flags, propagation;
  char *data = NULL;
  const char *type = m->type != NULL && *m->type != '\0' ? m->type : NULL;
  int ret;

  if (kc_mount_options_parse (m->options, m->noptions, &flags, &propagation, &data, err) < 0)
    return -1;
  if (type != NULL && strcmp (type, "bind") == 0)
    flags |= MS_BIND;
  ret = mount (m->source, target, type, flags, *data ? data : NULL);
  if (ret < 0)
    {
      kc_error (err, errno, "mount %s `%s` on `%s` (options `%s`)", type ? type : "bind", m->source, target, data);
      free (data);
      return -1;
    }
  free (data);
  /* A read-only bind mount needs a remount: the first mount(2) ignores MS_RDONLY with MS_BIND. */
  if ((flags & MS_BIND) && (flags & MS_RDONLY) && mount (NULL, target, NULL, (flags & ~MS_REC) | MS_REMOUNT, NULL) < 0)
    {
      int saved = errno;
      umount2 (target, MNT_DETACH);
      return kc_error (err, saved, "remount `%s` read-only", target);
    }
  if (propagation != 0 && mount (NULL, target, NULL, propagation, NULL) < 0)
    {
      int saved = errno;
      umount2 (target, MNT_DETACH);
      return kc_error (err, saved, "set propagation of `%s`", target);
    }
  return 0;
}

int
kc_rootfs_mount (const struct kc_mount_spec *mounts, size_t n, const char *target, kc_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    if (mount_one (&mounts[i], target, err) < 0)
      {
        for (size_t j = 0; j < i; j++)
          umount2 (target, MNT_DETACH);
        return kc_error_wrap (err, "mount rootfs");
      }
  return 0;
}

void
kc_rootfs_unmount (const char *target, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (umount2 (target, MNT_DETACH) < 0)
      {
        if (errno != EINVAL && errno != ENOENT)
          kc_log_warn ("unmount `%s`: %s", target, strerror (errno));
        return;
      }
}
