/* Controller RPCs other than Create/Update: Start, Platform, Stop, Wait, Status, Shutdown,
   Metrics; and their registration. */
#include "controller.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "cleanup.h"
#include "log.h"
#include "sandbox_keys.h"
#include "sandbox_id.h"

void
kc_controller_log_call (kc_grpc_call *call, const char *method, const char *id)
{
  const char *ns = kc_grpc_call_metadata (call, "containerd-namespace");
  kc_log_debug ("Controller.%s sandbox=%s namespace=%s", method, id ? id : "", ns ? ns : "");
}

static void
set_timestamp (Google__Protobuf__Timestamp *ts, int64_t ns)
{
  ts->seconds = ns / 1000000000;
  ts->nanos = (int32_t) (ns % 1000000000);
}

/* Every request but Create/Update is {sandbox_id = 1, ...}: decode, log, validate, look up. */
#define LOOKUP(call, payload, len, sbx, type, name, method, req, sb)                                                   \
  type *req = containerd__services__sandbox__v1__controller_##name##__unpack (NULL, len, payload);                     \
  struct kc_sandbox *sb = NULL;                                                                                        \
  if (req == NULL)                                                                                                     \
    {                                                                                                                  \
      kc_grpc_call_error (call, KC_INVALID_ARGUMENT, "%s: undecodable request", method);                               \
      return;                                                                                                          \
    }                                                                                                                  \
  kc_controller_log_call (call, method, req->sandbox_id);                                                              \
  {                                                                                                                    \
    cleanup_error kc_error_t lookup_err = NULL;                                                                        \
    if (kc_sandbox_id_check_request (req->sandbox_id, payload, len, &lookup_err) < 0                                   \
        || (sb = kc_sandboxer_get (sbx, req->sandbox_id, &lookup_err)) == NULL)                                        \
      {                                                                                                                \
        kc_grpc_call_fail (call, &lookup_err);                                                                         \
        containerd__services__sandbox__v1__controller_##name##__free_unpacked (req, NULL);                             \
        return;                                                                                                        \
      }                                                                                                                \
  }

#define PFX(name) containerd__services__sandbox__v1__controller_##name

static void
on_started (struct kc_sandbox *sb, const kc_error_t *err, void *userdata)
{
  kc_grpc_call *call = userdata;
  if (err != NULL)
    {
      kc_grpc_call_fail (call, err);
      return;
    }
  Containerd__Services__Sandbox__V1__ControllerStartResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_START_RESPONSE__INIT;
  Containerd__Services__Sandbox__V1__ControllerStartResponse__LabelsEntry label
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_START_RESPONSE__LABELS_ENTRY__INIT;
  Containerd__Services__Sandbox__V1__ControllerStartResponse__LabelsEntry *labels[1] = { &label };
  Google__Protobuf__Timestamp created = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  set_timestamp (&created, sb->rec.created_at_ns);
  label.key = KC_SANDBOX_DIR_KEY;
  label.value = sb->dir;
  resp.n_labels = 1;
  resp.labels = labels;
  resp.sandbox_id = sb->rec.id;
  resp.pid = (uint32_t) sb->rec.pid;
  resp.created_at = &created;
  resp.address = sb->rec.address ? sb->rec.address : "";
  resp.version = KC_TASK_API_VERSION;
  kc_grpc_call_reply (call, &resp.base);
}

static void
handle_start (kc_grpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  LOOKUP (call, payload, len, userdata, Containerd__Services__Sandbox__V1__ControllerStartRequest, start_request,
          "Start", req, sb);
  cleanup_error kc_error_t err = NULL;
  if (kc_sandbox_start (sb, on_started, call, &err) < 0)
    kc_grpc_call_fail (call, &err);
  PFX (start_request__free_unpacked) (req, NULL);
}

static const char *
goarch (const char *machine)
{
  static const char *const map[][2] = { { "x86_64", "amd64" },    { "aarch64", "arm64" }, { "i686", "386" },
                                        { "riscv64", "riscv64" }, { "s390x", "s390x" },   { "ppc64le", "ppc64le" } };
  for (size_t i = 0; i < sizeof (map) / sizeof (map[0]); i++)
    if (strcmp (machine, map[i][0]) == 0)
      return map[i][1];
  return machine;
}

/* The platform is the host's whatever the id: containerd asks it per sandbox, but it is the same. */
static void
handle_platform (kc_grpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  struct utsname u;
  uname (&u);
  Containerd__Types__Platform platform = CONTAINERD__TYPES__PLATFORM__INIT;
  platform.os = "linux";
  platform.architecture = (char *) goarch (u.machine);
  Containerd__Services__Sandbox__V1__ControllerPlatformResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_PLATFORM_RESPONSE__INIT;
  resp.platform = &platform;
  kc_controller_log_call (call, "Platform", NULL);
  kc_grpc_call_reply (call, &resp.base);
}

static void
on_stopped (struct kc_sandbox *sb, const kc_error_t *err, void *userdata)
{
  kc_grpc_call *call = userdata;
  if (err != NULL)
    {
      kc_grpc_call_fail (call, err);
      return;
    }
  Containerd__Services__Sandbox__V1__ControllerStopResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STOP_RESPONSE__INIT;
  kc_grpc_call_reply (call, &resp.base);
}

static void
handle_stop (kc_grpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  LOOKUP (call, payload, len, userdata, Containerd__Services__Sandbox__V1__ControllerStopRequest, stop_request, "Stop",
          req, sb);
  cleanup_error kc_error_t err = NULL;
  if (kc_sandbox_stop (sb, req->timeout_secs, 0, on_stopped, call, &err) < 0)
    kc_grpc_call_fail (call, &err);
  PFX (stop_request__free_unpacked) (req, NULL);
}

static void
on_waited (struct kc_sandbox *sb, const kc_error_t *err, void *userdata)
{
  kc_grpc_call *call = userdata;
  if (err != NULL)
    {
      kc_grpc_call_fail (call, err);
      return;
    }
  Containerd__Services__Sandbox__V1__ControllerWaitResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_WAIT_RESPONSE__INIT;
  Google__Protobuf__Timestamp exited = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  set_timestamp (&exited, sb->rec.exited_at_ns);
  resp.exit_status = sb->rec.exit_status;
  resp.exited_at = &exited;
  kc_grpc_call_reply (call, &resp.base);
}

static void
handle_wait (kc_grpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  LOOKUP (call, payload, len, userdata, Containerd__Services__Sandbox__V1__ControllerWaitRequest, wait_request, "Wait",
          req, sb);
  kc_sandbox_wait (sb, on_waited, call);
  PFX (wait_request__free_unpacked) (req, NULL);
}

/* Verbose info: where the sandbox lives; nothing secret. */
static char *
verbose_info (const struct kc_sandbox *sb)
{
  json_object *j = json_object_new_object ();
  json_object_object_add (j, "dir", json_object_new_string (sb->dir));
  json_object_object_add (j, "netns", json_object_new_string (sb->rec.netns_path ? sb->rec.netns_path : ""));
  json_object_object_add (j, "state", json_object_new_string (kc_sandbox_state_name (sb->rec.state)));
  json_object_object_add (j, "exit_status", json_object_new_int64 (sb->rec.exit_status));
  char *out = strdup (json_object_to_json_string_ext (j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (j);
  return out;
}

static void
handle_status (kc_grpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  LOOKUP (call, payload, len, userdata, Containerd__Services__Sandbox__V1__ControllerStatusRequest, status_request,
          "Status", req, sb);
  Containerd__Services__Sandbox__V1__ControllerStatusResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_RESPONSE__INIT;
  Containerd__Services__Sandbox__V1__ControllerStatusResponse__InfoEntry dir_entry
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_RESPONSE__INFO_ENTRY__INIT;
  Containerd__Services__Sandbox__V1__ControllerStatusResponse__InfoEntry entry
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_STATUS_RESPONSE__INFO_ENTRY__INIT;
  Containerd__Services__Sandbox__V1__ControllerStatusResponse__InfoEntry *entries[2] = { &dir_entry, &entry };
  Google__Protobuf__Timestamp created = GOOGLE__PROTOBUF__TIMESTAMP__INIT, exited = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  cleanup_free char *info = req->verbose ? verbose_info (sb) : NULL;
  int ready = kc_sandbox_is_ready (sb);
  resp.sandbox_id = sb->rec.id;
  resp.pid = ready ? (uint32_t) sb->rec.pid : 0;
  resp.state = ready ? "SANDBOX_READY" : "SANDBOX_NOTREADY";
  set_timestamp (&created, sb->rec.created_at_ns);
  resp.created_at = &created;
  if (sb->rec.exited_at_ns)
    {
      set_timestamp (&exited, sb->rec.exited_at_ns);
      resp.exited_at = &exited;
    }
  resp.address = sb->rec.address && sb->rec.state != KC_SANDBOX_CREATED ? sb->rec.address : "";
  resp.version = KC_TASK_API_VERSION;
  dir_entry.key = KC_SANDBOX_DIR_KEY;
  dir_entry.value = sb->dir;
  entry.key = "info";
  entry.value = info;
  resp.n_info = info != NULL ? 2 : 1;
  resp.info = entries;
  kc_grpc_call_reply (call, &resp.base);
  PFX (status_request__free_unpacked) (req, NULL);
}

static void
on_shutdown (struct kc_sandbox *sb, const kc_error_t *err, void *userdata)
{
  kc_grpc_call *call = userdata;
  if (err != NULL)
    {
      kc_grpc_call_fail (call, err);
      return;
    }
  Containerd__Services__Sandbox__V1__ControllerShutdownResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_SHUTDOWN_RESPONSE__INIT;
  kc_grpc_call_reply (call, &resp.base);
}

static void
handle_shutdown (kc_grpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  LOOKUP (call, payload, len, userdata, Containerd__Services__Sandbox__V1__ControllerShutdownRequest, shutdown_request,
          "Shutdown", req, sb);
  cleanup_error kc_error_t err = NULL;
  if (kc_sandbox_shutdown (sb, on_shutdown, call, &err) < 0)
    kc_grpc_call_fail (call, &err);
  PFX (shutdown_request__free_unpacked) (req, NULL);
}

/* Metric{timestamp now, id, data = Any io.containerd.cgroups.v1.Metrics or .v2.Metrics of the pod
   cgroup}. */
static void
reply_metrics (kc_grpc_call *call, const char *id, struct kc_cgroup_metrics *m)
{
  Containerd__Services__Sandbox__V1__ControllerMetricsResponse resp
      = CONTAINERD__SERVICES__SANDBOX__V1__CONTROLLER_METRICS_RESPONSE__INIT;
  Containerd__Types__Metric metric = CONTAINERD__TYPES__METRIC__INIT;
  Google__Protobuf__Timestamp now = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  size_t len;
  cleanup_free uint8_t *buf = kc_cgroup_metrics_pack (m, &len);

  if (buf == NULL)
    {
      kc_grpc_call_error (call, KC_RESOURCE_EXHAUSTED, "Metrics: out of memory");
      return;
    }
  any.type_url = (char *) kc_cgroup_metrics_type_url (m);
  any.value.len = len;
  any.value.data = buf;
  set_timestamp (&now, kc_now_ns ());
  metric.timestamp = &now;
  metric.id = (char *) id;
  metric.data = &any;
  resp.metrics = &metric;
  kc_grpc_call_reply (call, &resp.base);
}

static void
handle_metrics (kc_grpc_call *call, const uint8_t *payload, size_t len, void *userdata)
{
  LOOKUP (call, payload, len, userdata, Containerd__Services__Sandbox__V1__ControllerMetricsRequest, metrics_request,
          "Metrics", req, sb);
  cleanup_error kc_error_t err = NULL;
  struct kc_cgroup_metrics m;
  if (kc_sandbox_metrics (sb, &m, &err) < 0)
    kc_grpc_call_fail (call, &err);
  else
    reply_metrics (call, sb->rec.id, &m);
  kc_cgroup_metrics_release (&m);
  PFX (metrics_request__free_unpacked) (req, NULL);
}

int
kc_controller_register (kc_grpc_server *srv, struct kc_sandboxer *sbx, kc_error_t *err)
{
  static const struct
  {
    const char *path;
    kc_grpc_handler_fn fn;
  } routes[] = {
    { KC_CONTROLLER_PATH ("Create"), kc_controller_create },
    { KC_CONTROLLER_PATH ("Start"), handle_start },
    { KC_CONTROLLER_PATH ("Platform"), handle_platform },
    { KC_CONTROLLER_PATH ("Stop"), handle_stop },
    { KC_CONTROLLER_PATH ("Wait"), handle_wait },
    { KC_CONTROLLER_PATH ("Status"), handle_status },
    { KC_CONTROLLER_PATH ("Shutdown"), handle_shutdown },
    { KC_CONTROLLER_PATH ("Metrics"), handle_metrics },
    { KC_CONTROLLER_PATH ("Update"), kc_controller_update },
  };
  for (size_t i = 0; i < sizeof (routes) / sizeof (routes[0]); i++)
    if (kc_grpc_server_register (srv, routes[i].path, routes[i].fn, sbx, err) < 0)
      return kc_error_wrap (err, "register %s", routes[i].path);
  return 0;
}
