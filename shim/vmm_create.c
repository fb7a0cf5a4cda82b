/* Create for a vmm pod: the rootfs mounted at <shared>/<cid>/rootfs, config.json and the CRI's
   hostname/hosts/resolv.conf copied next to it, the request re-encoded with
   bundle=/run/kuasar/shared/<cid> and rootfs=[] (docs/vmm.md). */
#include "vmm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"
#include "mount.h"
#include "task.pb-c.h"
#include "vmm_address.h"

#define GUEST_SHARED "/run/kuasar/shared"

static int
copy_file (const char *from, const char *to, kc_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len;
  if (kc_read_file (from, &buf, &len, err) < 0 || kc_write_file_atomic (to, buf, len, 0644, err) < 0)
    return kc_error_wrap (err, "copy `%s`", from);
  return 0;
}

/* Copies the sources of the spec's /etc/{hostname,hosts,resolv.conf} bind mounts (CRI's). */
static void
copy_etc_files (const char *config, const char *cdir)
{
  static const char *const names[] = { "hostname", "hosts", "resolv.conf" };
  json_object *spec = json_object_from_file (config), *mounts;
  if (spec == NULL || !json_object_object_get_ex (spec, "mounts", &mounts))
    {
      json_object_put (spec);
      return;
    }
  for (size_t i = 0; i < json_object_array_length (mounts); i++)
    {
      json_object *m = json_object_array_get_idx (mounts, i), *dst, *src;
      if (!json_object_object_get_ex (m, "destination", &dst) || !json_object_object_get_ex (m, "source", &src))
        continue;
      for (size_t k = 0; k < sizeof (names) / sizeof (names[0]); k++)
        {
          char want[64], to[4096 + 64];
          kc_error_t err = NULL;
          snprintf (want, sizeof (want), "/etc/%s", names[k]);
          snprintf (to, sizeof (to), "%s/%s", cdir, names[k]);
          if (strcmp (json_object_get_string (dst), want) == 0
              && copy_file (json_object_get_string (src), to, &err) < 0)
            {
              kc_log_warn ("vmm create: %s", err->msg);
              kc_error_free (&err);
            }
        }
    }
  json_object_put (spec);
}

/* The request's mounts, or a bind of <bundle>/rootfs when containerd sent none. */
static int
mount_rootfs (const Containerd__Task__V2__CreateTaskRequest *req, const char *target, kc_error_t *err)
{
  if (kc_mkdir_p (target, 0755, err) < 0)
    return -1;
  if (req->n_rootfs == 0)
    {
      char src[4096];
      snprintf (src, sizeof (src), "%s/rootfs", req->bundle);
      if (mount (src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
        return kc_error (err, errno, "bind `%s` on `%s`", src, target);
      return 0;
    }
  struct kc_mount_spec *specs = calloc (req->n_rootfs, sizeof (*specs));
  if (specs == NULL)
    return kc_error (err, ENOMEM, "mounts");
  for (size_t i = 0; i < req->n_rootfs; i++)
    specs[i] = (struct kc_mount_spec){ req->rootfs[i]->type, req->rootfs[i]->source, req->rootfs[i]->options,
                                       req->rootfs[i]->n_options };
  int ret = kc_rootfs_mount (specs, req->n_rootfs, target, err);
  free (specs);
  return ret;
}

static int
prepare (Containerd__Task__V2__CreateTaskRequest *req, const char *shared, kc_error_t *err)
{
  char cdir[4096], path[4096 + 32], config[4096 + 32];
  if (!shim_vmm_cid_ok (req->id))
    return kc_error_code (err, KC_INVALID_ARGUMENT, "bad container id");
  snprintf (cdir, sizeof (cdir), "%s/%s", shared, req->id);
  snprintf (path, sizeof (path), "%s/rootfs", cdir);
  snprintf (config, sizeof (config), "%s/config.json", req->bundle);
  if (mount_rootfs (req, path, err) < 0)
    return kc_error_wrap (err, "mount rootfs of `%s`", req->id);
  snprintf (path, sizeof (path), "%s/config.json", cdir);
  if (copy_file (config, path, err) < 0)
    return -1;
  copy_etc_files (config, cdir);
  return 0;
}

static int
reencode (Containerd__Task__V2__CreateTaskRequest *req, uint8_t **payload, size_t *len, kc_error_t *err)
{
  cleanup_free char *bundle = NULL;
  if (asprintf (&bundle, GUEST_SHARED "/%s", req->id) < 0)
    return kc_error (err, ENOMEM, "asprintf");
  char *old_bundle = req->bundle;
  size_t old_n = req->n_rootfs;
  req->bundle = bundle;
  req->n_rootfs = 0;
  size_t n = protobuf_c_message_get_packed_size (&req->base);
  uint8_t *buf = malloc (n ? n : 1);
  if (buf != NULL)
    protobuf_c_message_pack (&req->base, buf);
  req->bundle = old_bundle; /* the unpacked message owns these */
  req->n_rootfs = old_n;
  if (buf == NULL)
    return kc_error (err, ENOMEM, "pack Create");
  free (*payload);
  *payload = buf;
  *len = n;
  return 0;
}

int
shim_vmm_create_prepare (const char *shared, uint8_t **payload, size_t *len, kc_error_t *err)
{
  Containerd__Task__V2__CreateTaskRequest *req
      = containerd__task__v2__create_task_request__unpack (NULL, *len, *payload);
  if (req == NULL)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "malformed CreateTaskRequest");
  int ret = prepare (req, shared, err);
  if (ret == 0)
    ret = shim_vmm_stdio_add (req->id, req->stdin, req->stdout, req->stderr, err);
  if (ret == 0)
    ret = reencode (req, payload, len, err);
  /* Not relayed: nothing of it may stay (streams, mounted rootfs, files). */
  if (ret < 0 && shim_vmm_cid_ok (req->id))
    {
      shim_vmm_stdio_remove (req->id);
      shim_vmm_container_remove (shared, req->id);
    }
  containerd__task__v2__create_task_request__free_unpacked (req, NULL);
  return ret;
}

void
shim_vmm_container_remove (const char *shared, const char *cid)
{
  char cdir[4096], rootfs[4096 + 8];
  kc_error_t err = NULL;
  snprintf (cdir, sizeof (cdir), "%s/%s", shared, cid);
  snprintf (rootfs, sizeof (rootfs), "%s/rootfs", cdir);
  struct stat a, b;
  while (umount2 (rootfs, MNT_DETACH) == 0)
    ;
  if (stat (rootfs, &a) == 0 && stat (cdir, &b) == 0 && a.st_dev != b.st_dev)
    {
      kc_log_error ("vmm: `%s` is still a mount point; not removing `%s`", rootfs, cdir);
      return;
    }
  if (kc_rm_rf (cdir, &err) < 0)
    {
      kc_log_warn ("vmm: remove `%s`: %s", cdir, err->msg);
      kc_error_free (&err);
    }
}
