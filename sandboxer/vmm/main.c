/* vmm-sandboxer: the Controller for QEMU micro-VM sandboxes (sandboxer/common + the vmm
   backend); re-executed with --boot-probe / --stop-helper it is one of its detached helpers. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "daemon.h"
#include "helper.h"
#include "hvsock.h"
#include "probe.h"
#include "vmm_backend.h"
#include "vmm_config.h"

int
main (int argc, char **argv)
{
  struct kc_daemon_opts opts;
  kc_error_t err = NULL;

  if (argc > 1 && strcmp (argv[1], VMM_PROBE_FLAG) == 0)
    return vmm_probe_main (argc, argv);
  if (argc > 1 && strcmp (argv[1], VMM_STOP_FLAG) == 0)
    return vmm_stop_main (argc, argv);
  if (argc > 1 && strcmp (argv[1], VMM_HVSOCK_FLAG) == 0)
    return vmm_hvsock_main (argc, argv);
  int rc = kc_daemon_parse_flags (argc, argv, &kc_vmm_backend, &opts);
  if (rc != 0)
    return rc == 1 ? 0 : rc;
  cleanup_free char *qemu = kc_daemon_find_tasker (opts.tasker, kc_vmm_backend.tasker_name);
  if (vmm_config_load (opts.config, &err) < 0 || vmm_config_default_qemu (qemu, &err) < 0)
    {
      fprintf (stderr, "%s: %s\n", argv[0], err->msg);
      kc_error_free (&err);
      return 1;
    }
  optind = 1;
  return kc_sandboxer_main (argc, argv, &kc_vmm_backend);
}
