/* containerd.task.v2.Task of the skeleton shim over its containers. */
#ifndef SKEL_TASK_SERVICE_H
#define SKEL_TASK_SERVICE_H

#include "kc_shim.h"

int skel_task_service_register (kc_ttrpc_server *server, struct kc_shim *shim, kc_error_t *err);
void skel_task_service_destroy (struct kc_shim *shim);

#endif
