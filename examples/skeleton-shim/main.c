/* containerd-shim-kc-skeleton-v1: the smallest shim on libkcshim. It runs each container as a
   plain host process chrooted into its rootfs (no isolation): an example, not a runtime. */
#include "kc_shim.h"
#include "task_service.h"

static const struct kc_shim_ops ops = {
  .binary_name = "containerd-shim-kc-skeleton-v1",
  .runtime_name = "io.containerd.kc-skeleton.v1",
  .register_services = skel_task_service_register,
  .destroy = skel_task_service_destroy,
};

int
main (int argc, char **argv)
{
  return kc_shim_main (argc, argv, &ops);
}
