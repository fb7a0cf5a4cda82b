/* Names the sandboxers and the shim agree on beyond containerd's API. */
#ifndef KC_SANDBOX_KEYS_H
#define KC_SANDBOX_KEYS_H

/* Start's label and Status's info entry naming the sandbox dir: where a vmm shim finds the pod's
   shared/ when the task address carries no path (kernel vsock). */
#define KC_SANDBOX_DIR_KEY "kuasar.io/sandbox-dir"

#endif
