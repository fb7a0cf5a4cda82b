/* The wasm tasker's durable record of what one container made on the host, read back by the
   sandboxer to undo it when the tasker died without cleaning up (docs/internals.md). */
#ifndef KC_WASM_CONTAINER_RECORD_H
#define KC_WASM_CONTAINER_RECORD_H

/* <sandbox dir>/containers/<container-id>.json, 0600, written atomically:
   {"version": 1, "id": "<cid>", "mounts": ["<bundle>/rootfs", ...], "cgroups":
   ["/sys/fs/cgroup/memory/<p>/<sid>/<cid>", ...]} mounts: one entry per mount stacked on the target; cgroups: absolute
   directories. */
#define KC_RECORD_SUBDIR      "containers"
#define KC_RECORD_VERSION     1
#define KC_RECORD_KEY_ID      "id"
#define KC_RECORD_KEY_MOUNTS  "mounts"
#define KC_RECORD_KEY_CGROUPS "cgroups"

#endif
