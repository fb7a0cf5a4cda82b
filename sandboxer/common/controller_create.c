/* Create and Update: turning containerd's request into the durable record. */
#include "controller.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cri_pod.pb-c.h"
#include "log.h"
#include "sandbox_id.h"

#define POD_CONFIG_TYPE "runtime.v1.PodSandboxConfig"

static int
dup_nonempty (char **out, const char *s, kc_error_t *err)
{
  if (s == NULL || s[0] == '\0')
    return 0;
  *out = strdup (s);
  if (*out == NULL)
    return kc_error (err, ENOMEM, "strdup");
  return 0;
}

static int
type_url_is (const char *url, const char *type)
{
  const char *slash = strrchr (url, '/');
  return strcmp (slash ? slash + 1 : url, type) == 0;
}

/* CRI leaves 0 for "no limit"; a negative value (-1 quota = unlimited) is kept as unset too. */
static int64_t
limit_or_unset (int64_t v)
{
  return v > 0 ? v : 0;
}

static void
apply_pod_resources (struct kc_sandbox_record *rec, const Runtime__V1__LinuxPodSandboxConfig *linux_cfg)
{
  const Runtime__V1__LinuxContainerResources *res = linux_cfg ? linux_cfg->resources : NULL;
  const Runtime__V1__LinuxContainerResources *ovh = linux_cfg ? linux_cfg->overhead : NULL;
  if (res != NULL)
    {
      rec->memory_limit_bytes = limit_or_unset (res->memory_limit_in_bytes);
      rec->cpu_quota = limit_or_unset (res->cpu_quota);
      rec->cpu_period = limit_or_unset (res->cpu_period);
    }
  if (ovh != NULL)
    rec->overhead_memory_limit_bytes = limit_or_unset (ovh->memory_limit_in_bytes);
}

/* Hostname, log directory, cgroup parent and the pod's resources (memory limit, cpu quota and
   period, overhead memory) from the CRI pod config; other types are ignored. */
static int
apply_pod_config (struct kc_sandbox_record *rec, const Google__Protobuf__Any *options, kc_error_t *err)
{
  if (options == NULL || options->type_url == NULL || !type_url_is (options->type_url, POD_CONFIG_TYPE))
    return 0;
  Runtime__V1__PodSandboxConfig *cfg
      = runtime__v1__pod_sandbox_config__unpack (NULL, options->value.len, options->value.data);
  if (cfg == NULL)
    {
      kc_log_warn ("sandbox %s: undecodable PodSandboxConfig ignored", rec->id);
      return 0;
    }
  int ret = 0;
  if (dup_nonempty (&rec->hostname, cfg->hostname, err) < 0
      || dup_nonempty (&rec->log_directory, cfg->log_directory, err) < 0
      || (cfg->linux && dup_nonempty (&rec->cgroup_parent, cfg->linux->cgroup_parent, err) < 0))
    ret = -1;
  apply_pod_resources (rec, cfg->linux);
  runtime__v1__pod_sandbox_config__free_unpacked (cfg, NULL);
  return ret;
}

static char *
hex_encode (const uint8_t *data, size_t len)
{
  static const char digits[] = "0123456789abcdef";
  char *out = malloc (len * 2 + 1);
  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < len; i++)
    {
      out[2 * i] = digits[data[i] >> 4];
      out[2 * i + 1] = digits[data[i] & 15];
    }
  out[len * 2] = '\0';
  return out;
}

static int
set_extension (struct kc_sandbox_record *rec, const Containerd__Types__Sandbox__ExtensionsEntry *e, kc_error_t *err)
{
  json_object *v = json_object_new_object ();
  const Google__Protobuf__Any *any = e->value;
  cleanup_free char *hex = hex_encode (any ? any->value.data : NULL, any ? any->value.len : 0);
  if (v == NULL || hex == NULL)
    {
      json_object_put (v);
      return kc_error (err, ENOMEM, "extension `%s`", e->key);
    }
  json_object_object_add (v, "type_url", json_object_new_string (any && any->type_url ? any->type_url : ""));
  json_object_object_add (v, "value", json_object_new_string (hex));
  json_object_object_add (rec->extensions, e->key, v);
  return 0;
}

int
kc_record_set_extensions (struct kc_sandbox_record *rec, const Containerd__Types__Sandbox *sandbox, const char *only,
                          kc_error_t *err)
{
  if (only == NULL)
    {
      json_object_put (rec->extensions);
      rec->extensions = json_object_new_object ();
    }
  else
    json_object_object_del (rec->extensions, only);
  for (size_t i = 0; sandbox && i < sandbox->n_extensions; i++)
    {
      const Containerd__Types__Sandbox__ExtensionsEntry *e = sandbox->extensions[i];
      if (only != NULL && strcmp (e->key, only) != 0)
        continue;
      if (set_extension (rec, e, err) < 0)
        return -1;
    }
  return 0;
}

int
kc_record_from_create (struct kc_sandbox_record *rec,
                       const Containerd__Services__Sandbox__V1__ControllerCreateRequest *req, kc_error_t *err)
{
  if (dup_nonempty (&rec->id, req->sandbox_id, err) < 0 || dup_nonempty (&rec->netns_path, req->netns_path, err) < 0)
    return -1;
  for (size_t i = 0; i < req->n_annotations; i++)
    json_object_object_add (rec->annotations, req->annotations[i]->key,
                            json_object_new_string (req->annotations[i]->value));
  if (kc_record_set_extensions (rec, req->sandbox, NULL, err) < 0)
    return -1;
  return apply_pod_config (rec, req->options, err);
}

void
kc_controller_create (kc_grpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  struct kc_sandboxer *sbx = userdata;
  cleanup_error kc_error_t err = NULL;
  Containerd__Services__Sandbox__V1__ControllerCreateRequest *req
      = containerd__services__sandbox__v1__controller_create_request__unpack (NULL, len, payload);
  if (req == NULL)
    {
      kc_grpc_call_error (call, KC_INVALID_ARGUMENT, "Create: undecodable request");
      return;
    }
  kc_controller_log_call (call, "Create", req->sandbox_id);
  struct kc_sandbox_record rec;
  kc_sandbox_record_init (&rec);
  if (kc_sandbox_id_check_request (req->sandbox_id, payload, len, &err) < 0
      || kc_record_from_create (&rec, req, &err) < 0 || kc_sandbox_create (sbx, &rec, NULL, &err) < 0)
    kc_grpc_call_fail (call, &err);
  else
    {
      Containerd__Services__Sandbox__V1__ControllerCreateResponse resp
          = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_CREATE_RESPONSE__INIT;
      resp.sandbox_id = req->sandbox_id;
      kc_grpc_call_reply (call, &resp.base);
    }
  kc_sandbox_record_clear (&rec);
  containerd__services__sandbox__v1__controller_create_request__free_unpacked (req, NULL);
}

/* Applies the requested fields; only extensions are kept (the shim registers its tasks there). */
static int
apply_update (struct kc_sandbox *sb, const Containerd__Services__Sandbox__V1__ControllerUpdateRequest *req,
              kc_error_t *err)
{
  int changed = 0;
  if (req->sandbox == NULL)
    return 0;
  if (req->n_fields == 0)
    {
      if (kc_record_set_extensions (&sb->rec, req->sandbox, NULL, err) < 0)
        return -1;
      changed = 1;
    }
  for (size_t i = 0; i < req->n_fields; i++)
    {
      const char *f = req->fields[i];
      if (strcmp (f, "extensions") == 0 && kc_record_set_extensions (&sb->rec, req->sandbox, NULL, err) < 0)
        return -1;
      if (strncmp (f, "extensions.", 11) == 0 && kc_record_set_extensions (&sb->rec, req->sandbox, f + 11, err) < 0)
        return -1;
      changed |= strncmp (f, "extensions", 10) == 0;
    }
  return changed ? kc_sandbox_persist (sb, err) : 0;
}

void
kc_controller_update (kc_grpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  struct kc_sandboxer *sbx = userdata;
  cleanup_error kc_error_t err = NULL;
  Containerd__Services__Sandbox__V1__ControllerUpdateRequest *req
      = containerd__services__sandbox__v1__controller_update_request__unpack (NULL, len, payload);
  if (req == NULL)
    {
      kc_grpc_call_error (call, KC_INVALID_ARGUMENT, "Update: undecodable request");
      return;
    }
  kc_controller_log_call (call, "Update", req->sandbox_id);
  struct kc_sandbox *sb = NULL;
  if (kc_sandbox_id_check_request (req->sandbox_id, payload, len, &err) < 0
      || (sb = kc_sandboxer_get (sbx, req->sandbox_id, &err)) == NULL || apply_update (sb, req, &err) < 0)
    kc_grpc_call_fail (call, &err);
  else
    {
      Containerd__Services__Sandbox__V1__ControllerUpdateResponse resp
          = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_UPDATE_RESPONSE__INIT;
      kc_grpc_call_reply (call, &resp.base);
    }
  containerd__services__sandbox__v1__controller_update_request__free_unpacked (req, NULL);
}
