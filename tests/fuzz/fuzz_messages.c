/* libFuzzer target: every protobuf message the daemons decode from a peer. Input = one selector
   byte + the payload. The selector picks the message (modulo the table): each Task API request
   (shim and wasm tasker), each containerd.runtime.sandbox.v1 request (shim), each
   Controller request (sandboxer) and each Controller response the shim decodes, and the CRI
   PodSandboxConfig carried in their `options` Any. The payload is unpacked with the generated
   descriptor, as the handlers do; a decoded message is then
   - walked field by field through its descriptor (every string NUL-terminated and readable,
     repeated counts matching their arrays, sub-messages of the declared type), which gives the
     fuzzer coverage of the message shapes (libprotobuf-c itself is not instrumented);
   - packed again: the packed size must match, and unpack(pack(m)) must pack to the same bytes;
   - put through the validation the handlers run: kc_sandbox_id_check_request on `sandbox_id`
     (sandboxer), kc_task_id_check on `id`/`exec_id` (tasker), the options Any decoded as a
     PodSandboxConfig (shim, sandboxer), ExecProcessRequest.spec through kc_oci_process_parse and
     UpdateTaskRequest.resources through kc_oci_resources_parse (tasker).
   Never a crash, leak or sanitizer report; the checks abort on a broken invariant. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "cri_pod.pb-c.h"
#include "log.h"
#include "runtime_sandbox.pb-c.h"
#include "sandbox_controller.pb-c.h"
#include "sandbox_id.h"
#include "spec.h"
#include "task.pb-c.h"
#include "task_server.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define TASK(n) &containerd__task__v2__##n##__descriptor
#define RSB(n) &containerd__runtime__sandbox__v1__##n##__descriptor
#define CTL(n) &containerd__services__sandbox__v1__controller_##n##__descriptor

/* Append only: the committed seeds (tests/fuzz/corpus/messages) select by index. */
static const ProtobufCMessageDescriptor *const messages[] = {
  TASK (create_task_request),   TASK (delete_request),       TASK (exec_process_request),
  TASK (resize_pty_request),    TASK (state_request),        TASK (kill_request),
  TASK (close_iorequest),       TASK (pids_request),         TASK (checkpoint_task_request),
  TASK (update_task_request),   TASK (start_request),        TASK (wait_request),
  TASK (stats_request),         TASK (connect_request),      TASK (shutdown_request),
  TASK (pause_request),         TASK (resume_request),       RSB (create_sandbox_request),
  RSB (start_sandbox_request),  RSB (platform_request),      RSB (stop_sandbox_request),
  RSB (wait_sandbox_request),   RSB (sandbox_status_request), RSB (ping_request),
  RSB (shutdown_sandbox_request), RSB (sandbox_metrics_request), CTL (create_request),
  CTL (start_request),          CTL (platform_request),      CTL (stop_request),
  CTL (wait_request),           CTL (status_request),        CTL (shutdown_request),
  CTL (metrics_request),        CTL (update_request),        CTL (start_response),
  CTL (platform_response),      CTL (wait_response),         CTL (status_response),
  CTL (metrics_response),       &runtime__v1__pod_sandbox_config__descriptor,
};
#define N_MESSAGES (sizeof messages / sizeof messages[0])

static volatile size_t sink;
static size_t unknown_fields; /* seen by walk() in the current input */

static void
touch_string (const char *s)
{
  if (s == NULL)
    return;
  sink += strlen (s);
}

static void walk (const ProtobufCMessage *m, int depth);

static void
walk_value (const ProtobufCFieldDescriptor *f, const void *p, int depth)
{
  switch (f->type)
    {
    case PROTOBUF_C_TYPE_STRING:
      touch_string (*(char *const *) p);
      break;
    case PROTOBUF_C_TYPE_BYTES:
      {
        const ProtobufCBinaryData *b = p;
        if (b->len > 0 && b->data == NULL)
          abort ();
        for (size_t i = 0; i < b->len; i++)
          sink += b->data[i];
        break;
      }
    case PROTOBUF_C_TYPE_MESSAGE:
      {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *) p;
        if (sub != NULL)
          {
            if (sub->descriptor != f->descriptor)
              abort ();
            walk (sub, depth + 1);
          }
        break;
      }
    case PROTOBUF_C_TYPE_ENUM:
      sink += (size_t) * (const int *) p;
      break;
    default:
      break;
    }
}

static size_t
value_size (const ProtobufCFieldDescriptor *f)
{
  switch (f->type)
    {
    case PROTOBUF_C_TYPE_STRING:
      return sizeof (char *);
    case PROTOBUF_C_TYPE_BYTES:
      return sizeof (ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
      return sizeof (void *);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return 8;
    case PROTOBUF_C_TYPE_BOOL:
      return sizeof (protobuf_c_boolean);
    default:
      return 4;
    }
}

/* Every field reachable through the descriptor, as a handler reading the message would. */
static void
walk (const ProtobufCMessage *m, int depth)
{
  const ProtobufCMessageDescriptor *d = m->descriptor;
  if (depth > 100)
    abort (); /* protobuf-c caps nesting far below this */
  unknown_fields += m->n_unknown_fields;
  for (unsigned i = 0; i < d->n_fields; i++)
    {
      const ProtobufCFieldDescriptor *f = &d->fields[i];
      const char *base = (const char *) m;
      if (f->label == PROTOBUF_C_LABEL_REPEATED)
        {
          size_t n = *(const size_t *) (base + f->quantifier_offset);
          const char *arr = *(char *const *) (base + f->offset);
          if (n > 0 && arr == NULL)
            abort ();
          for (size_t k = 0; k < n; k++)
            walk_value (f, arr + k * value_size (f), depth);
          continue;
        }
      if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
        {
          uint32_t which = *(const uint32_t *) (base + f->quantifier_offset);
          if (which != f->id)
            continue;
        }
      walk_value (f, base + f->offset, depth);
    }
}

static const char *
string_field (const ProtobufCMessage *m, const char *name)
{
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name (m->descriptor, name);
  if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
    return NULL;
  return *(char *const *) ((const char *) m + f->offset);
}

static const Google__Protobuf__Any *
any_field (const ProtobufCMessage *m, const char *name)
{
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name (m->descriptor, name);
  if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE || f->descriptor != &google__protobuf__any__descriptor
      || f->label == PROTOBUF_C_LABEL_REPEATED)
    return NULL;
  return *(Google__Protobuf__Any *const *) ((const char *) m + f->offset);
}

static void
expect_error (int ret, kc_error_t *err)
{
  if (ret < 0)
    {
      if (*err == NULL || (*err)->msg == NULL)
        abort ();
      kc_error_free (err);
    }
  else if (*err != NULL)
    abort ();
}

/* pack(m) has the size get_packed_size promised, and re-decodes to something that packs the same. */
static void
round_trip (const ProtobufCMessage *m)
{
  size_t n = protobuf_c_message_get_packed_size (m);
  uint8_t *buf = malloc (n + 1);
  if (buf == NULL)
    abort ();
  if (protobuf_c_message_pack (m, buf) != n)
    abort ();
  ProtobufCMessage *again = protobuf_c_message_unpack (m->descriptor, NULL, n, buf);
  if (again == NULL)
    {
      /* libprotobuf-c keeps an unknown field whose tag is a non-minimal varint of field 0
         (80 00) and packs it back as a bare 00, which it then rejects: only that is tolerated.
         Our daemons never re-pack a message they received (the shim relays the raw bytes). */
      if (unknown_fields == 0)
        abort ();
      free (buf);
      return;
    }
  size_t n2 = protobuf_c_message_get_packed_size (again);
  uint8_t *buf2 = malloc (n2 + 1);
  if (buf2 == NULL || n2 != n || protobuf_c_message_pack (again, buf2) != n2 || memcmp (buf, buf2, n) != 0)
    abort ();
  free (buf2);
  protobuf_c_message_free_unpacked (again, NULL);
  free (buf);
}

static void
validate (const ProtobufCMessage *m, const uint8_t *payload, size_t len)
{
  kc_error_t err = NULL;
  const ProtobufCMessageDescriptor *d = m->descriptor;

  /* Sandboxer: every Controller request's sandbox_id, NUL check on the wire bytes included. */
  const char *sandbox_id = string_field (m, "sandbox_id");
  if (sandbox_id != NULL)
    {
      int ret = kc_sandbox_id_check_request (sandbox_id, payload, len, &err);
      expect_error (ret, &err);
      if (ret == 0 && (strlen (sandbox_id) == 0 || strlen (sandbox_id) > KC_SANDBOX_ID_MAX
                       || strchr (sandbox_id, '/') != NULL || strcmp (sandbox_id, "..") == 0))
        abort (); /* accepted an id that would escape --dir */
      expect_error (kc_sandbox_id_validate (sandbox_id, strlen (sandbox_id), &err), &err);
    }
  for (uint32_t field = 1; field <= 16; field++)
    sink += (size_t) kc_pb_field_len (payload, len, field);

  /* Tasker: container and exec ids become file and cgroup names. */
  if (d->package_name != NULL && strcmp (d->package_name, "containerd.task.v2") == 0)
    {
      const char *id = string_field (m, "id");
      if (id != NULL)
        {
          int ret = kc_task_id_check ("container id", id, &err);
          expect_error (ret, &err);
          if (ret == 0 && (*id == '\0' || strchr (id, '/') != NULL))
            abort ();
        }
      const char *exec_id = string_field (m, "exec_id");
      if (exec_id != NULL && *exec_id != '\0')
        expect_error (kc_task_id_check ("exec id", exec_id, &err), &err);
    }

  /* Shim and sandboxer: the CRI pod config in CreateSandbox / Controller.Create options. */
  const Google__Protobuf__Any *options = any_field (m, "options");
  if (options != NULL)
    {
      Runtime__V1__PodSandboxConfig *cfg
          = runtime__v1__pod_sandbox_config__unpack (NULL, options->value.len, options->value.data);
      if (cfg != NULL)
        {
          unknown_fields = 0;
          walk (&cfg->base, 0);
          round_trip (&cfg->base);
          runtime__v1__pod_sandbox_config__free_unpacked (cfg, NULL);
        }
    }

  /* Tasker: Exec's process spec and Update's resources are JSON inside an Any. */
  if (d == &containerd__task__v2__exec_process_request__descriptor)
    {
      const Containerd__Task__V2__ExecProcessRequest *r = (const void *) m;
      if (r->spec != NULL)
        {
          struct kc_oci_process p;
          int ret = kc_oci_process_parse ((const char *) r->spec->value.data, r->spec->value.len, &p, &err);
          expect_error (ret, &err);
          if (ret == 0)
            kc_oci_process_free (&p);
        }
    }
  if (d == &containerd__task__v2__update_task_request__descriptor)
    {
      const Containerd__Task__V2__UpdateTaskRequest *r = (const void *) m;
      if (r->resources != NULL)
        {
          struct kc_oci_resources res;
          expect_error (kc_oci_resources_parse ((const char *) r->resources->value.data, r->resources->value.len,
                                                &res, &err),
                        &err);
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static int initialized;
  if (!initialized)
    {
      kc_log_init ("fuzz", KC_LOG_ERROR);
      initialized = 1;
    }
  if (size < 1)
    return 0;
  const ProtobufCMessageDescriptor *d = messages[data[0] % N_MESSAGES];
  const uint8_t *payload = data + 1;
  size_t len = size - 1;

  ProtobufCMessage *m = protobuf_c_message_unpack (d, NULL, len, payload);
  if (m == NULL)
    return 0;
  if (m->descriptor != d)
    abort ();
  unknown_fields = 0;
  walk (m, 0);
  round_trip (m);
  validate (m, payload, len);
  protobuf_c_message_free_unpacked (m, NULL);
  return 0;
}
