/* The QEMU micro-VM backend of the sandboxer core (docs/vmm.md, host section). */
#ifndef KC_VMM_BACKEND_H
#define KC_VMM_BACKEND_H

#include "backend.h"

extern const struct kc_backend kc_vmm_backend;

#endif
