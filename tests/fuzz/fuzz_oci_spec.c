/* libFuzzer target: the wasm tasker's OCI runtime spec parser (sandboxer/wasm/tasker/spec.c), which
   reads the bundle's config.json that containerd writes from the pod's and the image's config, and
   the Exec process / Update resources JSON of Task requests. Any input must give either a parsed
   spec that keeps the documented invariants or an INVALID_ARGUMENT error, never a crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "spec.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_process (const struct kc_oci_process *p)
{
  if (p->args == NULL || p->nargs == 0 || p->args[p->nargs] != NULL || p->args[0][0] == '\0')
    abort ();
  for (size_t i = 0; i < p->nargs; i++)
    if (p->args[i] == NULL)
      abort ();
  if (p->env == NULL || p->env[p->nenv] != NULL || p->cwd == NULL || p->cwd[0] == '\0')
    abort ();
}

static void
check_error (int ret, kc_error_t *err)
{
  if (ret == 0)
    {
      if (*err != NULL)
        abort ();
      return;
    }
  /* Out of memory is the only other failure, and the fuzzer's malloc limit is far above what a
     document of a few KiB needs. */
  if (*err == NULL || (*err)->msg == NULL || (*err)->code != KC_INVALID_ARGUMENT)
    abort ();
  kc_error_free (err);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static int initialised;
  if (!initialised)
    {
      kc_log_init ("fuzz", KC_LOG_ERROR);
      initialised = 1;
    }
  const char *json = (const char *) data;
  kc_error_t err = NULL;

  struct kc_oci_spec spec;
  int ret = kc_oci_spec_parse (json, size, &spec, &err);
  check_error (ret, &err);
  if (ret == 0)
    {
      check_process (&spec.process);
      if (spec.nmounts > 0 && spec.mounts == NULL)
        abort ();
      for (size_t i = 0; i < spec.nmounts; i++)
        if (spec.mounts[i].destination == NULL || spec.mounts[i].source == NULL)
          abort ();
      kc_oci_spec_free (&spec);
    }

  struct kc_oci_process proc;
  ret = kc_oci_process_parse (json, size, &proc, &err);
  check_error (ret, &err);
  if (ret == 0)
    {
      check_process (&proc);
      kc_oci_process_free (&proc);
    }

  struct kc_oci_resources res;
  memset (&res, 0, sizeof res);
  ret = kc_oci_resources_parse (json, size, &res, &err);
  check_error (ret, &err);
  return 0;
}
