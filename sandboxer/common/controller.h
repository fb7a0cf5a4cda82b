/* containerd.services.sandbox.v1.Controller over kc_grpc: decode, validate, call the core,
   answer. Error codes come from the core's kc_error_t. */
#ifndef KC_CONTROLLER_H
#define KC_CONTROLLER_H

#include "grpc/kc_grpc.h"
#include "sandbox_controller.pb-c.h"
#include "sandboxer.h"

#define KC_CONTROLLER_PATH(m) "/containerd.services.sandbox.v1.Controller/" m
#define KC_TASK_API_VERSION   2

int kc_controller_register (kc_grpc_server *srv, struct kc_sandboxer *sbx, kc_error_t *err);

/* internal to the controller files */
void kc_controller_create (kc_grpc_call *call, const uint8_t *payload, size_t len, void *userdata);
void kc_controller_update (kc_grpc_call *call, const uint8_t *payload, size_t len, void *userdata);
void kc_controller_log_call (kc_grpc_call *call, const char *method, const char *id);
/* Builds a record from a Create request: id, netns, annotations, extensions, PodSandboxConfig. */
int kc_record_from_create (struct kc_sandbox_record *rec,
                           const Containerd__Services__Sandbox__V1__ControllerCreateRequest *req, kc_error_t *err);
/* Stores the Any values of a containerd Sandbox's extensions (hex-encoded) into rec. only: a
   single extension name to set/remove, NULL for all (replacing the set). */
int kc_record_set_extensions (struct kc_sandbox_record *rec, const Containerd__Types__Sandbox *sandbox,
                              const char *only, kc_error_t *err);

#endif
