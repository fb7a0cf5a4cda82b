/* CRI per-pod files (hostname, hosts, resolv.conf, shm tmpfs) where containerd's CRI looks for
   them, as containerd's own pod sandbox controller writes them. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "cleanup.h"
#include "files.h"
#include "fsutil.h"
#include "pod_files.h"

#define CRI_PLUGIN_DIR "io.containerd.grpc.v1.cri/sandboxes"
#define SHM_SIZE_OPTS  "mode=1777,size=65536k"

/* dirname applied three times: <x>/<plugin>/<ns>/<id> -> <x>. */
static char *
up3 (const char *path)
{
  cleanup_free char *copy = strdup (path);
  char *p = copy;

  if (copy == NULL)
    return NULL;
  for (int i = 0; i < 3; i++)
    {
      char *slash = strrchr (p, '/');
      if (slash == NULL || slash == p)
        return NULL;
      *slash = '\0';
    }
  return strdup (copy);
}

int
shim_pod_dirs_get (const char *bundle, const char *id, struct shim_pod_dirs *dirs, kc_error_t *err)
{
  cleanup_free char *work = NULL;
  cleanup_free char *state = bundle ? up3 (bundle) : NULL;
  cleanup_free char *root = NULL;
  char target[PATH_MAX];
  ssize_t n;

  memset (dirs, 0, sizeof (*dirs));
  if (bundle != NULL && asprintf (&work, "%s/work", bundle) >= 0
      && (n = readlink (work, target, sizeof (target) - 1)) > 0)
    {
      target[n] = '\0';
      root = up3 (target);
    }
  if (asprintf (&dirs->root_dir, "%s/%s/%s", root ? root : "/var/lib/containerd", CRI_PLUGIN_DIR, id) < 0
      || asprintf (&dirs->state_dir, "%s/%s/%s", state ? state : "/run/containerd", CRI_PLUGIN_DIR, id) < 0)
    return kc_error (err, ENOMEM, "pod dirs");
  return 0;
}

void
shim_pod_dirs_free (struct shim_pod_dirs *dirs)
{
  free (dirs->root_dir);
  free (dirs->state_dir);
  memset (dirs, 0, sizeof (*dirs));
}

static int
write_in (const char *dir, const char *name, const char *text, kc_error_t *err)
{
  cleanup_free char *path = NULL;

  if (asprintf (&path, "%s/%s", dir, name) < 0)
    return kc_error (err, ENOMEM, "write %s", name);
  return kc_write_file_atomic (path, text, strlen (text), 0644, err);
}

static int
write_hostname (const char *dir, const Runtime__V1__PodSandboxConfig *config, kc_error_t *err)
{
  char host[HOST_NAME_MAX + 1] = "";
  cleanup_free char *text = NULL;

  if (config != NULL && config->hostname != NULL && *config->hostname)
    snprintf (host, sizeof (host), "%s", config->hostname);
  else if (gethostname (host, sizeof (host) - 1) < 0)
    host[0] = '\0';
  if (asprintf (&text, "%s\n", host) < 0)
    return kc_error (err, ENOMEM, "hostname");
  return write_in (dir, "hostname", text, err);
}

static int
append_list (char **text, const char *prefix, char **items, size_t n, const char *sep)
{
  char *out;

  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++)
    {
      if (asprintf (&out, "%s%s%s", *text, i == 0 ? prefix : sep, items[i]) < 0)
        return -1;
      free (*text);
      *text = out;
    }
  if (asprintf (&out, "%s\n", *text) < 0)
    return -1;
  free (*text);
  *text = out;
  return 0;
}

/* resolv.conf from the pod's DNSConfig as containerd writes it, else the host's. */
static int
write_resolv (const char *dir, const Runtime__V1__PodSandboxConfig *config, kc_error_t *err)
{
  const Runtime__V1__DNSConfig *dns = config ? config->dns_config : NULL;
  cleanup_free char *path = NULL;
  char *text;
  int ret;

  if (dns == NULL || (dns->n_servers == 0 && dns->n_searches == 0 && dns->n_options == 0))
    {
      if (asprintf (&path, "%s/resolv.conf", dir) < 0)
        return kc_error (err, ENOMEM, "resolv.conf");
      if (shim_copy_file ("/etc/resolv.conf", path, 0644, err) == 0)
        return 0;
      kc_error_free (err);
      return write_in (dir, "resolv.conf", "", err);
    }
  text = strdup ("");
  if (text == NULL || append_list (&text, "search ", dns->searches, dns->n_searches, " ") < 0)
    goto oom;
  for (size_t i = 0; i < dns->n_servers; i++)
    if (append_list (&text, "nameserver ", &dns->servers[i], 1, "") < 0)
      goto oom;
  if (append_list (&text, "options ", dns->options, dns->n_options, " ") < 0)
    goto oom;
  ret = write_in (dir, "resolv.conf", text, err);
  free (text);
  return ret;
oom:
  free (text);
  return kc_error (err, ENOMEM, "resolv.conf");
}

static int
mount_shm (const char *state_dir, kc_error_t *err)
{
  cleanup_free char *shm = NULL;

  if (asprintf (&shm, "%s/shm", state_dir) < 0)
    return kc_error (err, ENOMEM, "shm");
  if (kc_mkdir_p (shm, 0700, err) < 0)
    return -1;
  umount2 (shm, MNT_DETACH); /* a retried CreateSandbox must not stack mounts */
  if (mount ("shm", shm, "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV, SHM_SIZE_OPTS) < 0)
    return kc_error (err, errno, "mount shm on `%s`", shm);
  return 0;
}

int
shim_pod_files_setup (const struct shim_pod_dirs *dirs, const Runtime__V1__PodSandboxConfig *config, kc_error_t *err)
{
  cleanup_free char *hosts = NULL;

  if (kc_mkdir_p (dirs->root_dir, 0755, err) < 0 || kc_mkdir_p (dirs->state_dir, 0755, err) < 0)
    return kc_error_wrap (err, "pod dirs");
  if (write_hostname (dirs->root_dir, config, err) < 0)
    return -1;
  if (asprintf (&hosts, "%s/hosts", dirs->root_dir) < 0)
    return kc_error (err, ENOMEM, "hosts");
  if (shim_copy_file ("/etc/hosts", hosts, 0644, err) < 0)
    {
      kc_error_free (err);
      if (write_in (dirs->root_dir, "hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", err)
          < 0)
        return -1;
    }
  if (write_resolv (dirs->root_dir, config, err) < 0)
    return -1;
  return mount_shm (dirs->state_dir, err);
}

int
shim_pod_files_cleanup (const struct shim_pod_dirs *dirs, kc_error_t *err)
{
  cleanup_free char *shm = NULL;

  if (asprintf (&shm, "%s/shm", dirs->state_dir) < 0)
    return kc_error (err, ENOMEM, "shm");
  while (umount2 (shm, MNT_DETACH) == 0)
    ;
  if (kc_rm_rf (dirs->state_dir, err) < 0 || kc_rm_rf (dirs->root_dir, err) < 0)
    return kc_error_wrap (err, "remove pod files");
  return 0;
}
