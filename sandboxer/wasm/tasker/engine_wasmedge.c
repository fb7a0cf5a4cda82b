/* The WasmEdge engine (C API 0.14): a VM with WASI host registration, run `_start`, report the
   WASI exit code; its AOT compiler (universal wasm output: the module plus native code). */
#include "engine.h"

#include <stdint.h>

#include <wasmedge/wasmedge.h>

/* WasmEdge's "terminated" code: proc_exit ended the module, which is a normal exit. */
#define KC_WASMEDGE_TERMINATED 0x01

static int
wasmedge_run (const struct kc_wasm_run *run, kc_error_t *err)
{
  WasmEdge_ConfigureContext *conf = WasmEdge_ConfigureCreate ();
  WasmEdge_VMContext *vm = NULL;
  WasmEdge_ModuleInstanceContext *wasi;
  WasmEdge_String start;
  WasmEdge_Result res;
  int ret = -1;

  if (conf == NULL)
    return kc_error_code (err, KC_INTERNAL, "wasmedge: cannot create a configuration");
  /* Its log goes to stdout, i.e. the container's: errors come back to us through *err instead. */
  WasmEdge_LogOff ();
  WasmEdge_ConfigureAddHostRegistration (conf, WasmEdge_HostRegistration_Wasi);
  vm = WasmEdge_VMCreate (conf, NULL);
  if (vm == NULL)
    {
      WasmEdge_ConfigureDelete (conf);
      return kc_error_code (err, KC_INTERNAL, "wasmedge: cannot create a VM");
    }
  wasi = WasmEdge_VMGetImportModuleContext (vm, WasmEdge_HostRegistration_Wasi);
  if (wasi == NULL)
    {
      kc_error_code (err, KC_INTERNAL, "wasmedge: no WASI module");
      goto out;
    }
  WasmEdge_ModuleInstanceInitWASI (wasi, (const char *const *) run->args, (uint32_t) run->nargs,
                                   (const char *const *) run->env, (uint32_t) run->nenv,
                                   (const char *const *) run->preopens, (uint32_t) run->npreopens);
  start = WasmEdge_StringCreateByCString ("_start");
  res = WasmEdge_VMRunWasmFromFile (vm, run->module_path, start, NULL, 0, NULL, 0);
  WasmEdge_StringDelete (start);
  if (WasmEdge_ResultOK (res)
      || (WasmEdge_ResultGetCategory (res) == WasmEdge_ErrCategory_WASM
          && WasmEdge_ResultGetCode (res) == KC_WASMEDGE_TERMINATED))
    ret = (int) (WasmEdge_ModuleInstanceWASIGetExitCode (wasi) & 0xff);
  else
    kc_error_code (err, KC_ABORTED, "wasmedge: %s", WasmEdge_ResultGetMessage (res));
out:
  WasmEdge_VMDelete (vm);
  WasmEdge_ConfigureDelete (conf);
  return ret;
}

/* Universal wasm: the file stays a valid module, so a WasmEdge that cannot use its native
   section (another version, another CPU) still runs it, interpreted. */
static int
wasmedge_compile (const char *in, const char *out, kc_error_t *err)
{
  WasmEdge_ConfigureContext *conf = WasmEdge_ConfigureCreate ();
  WasmEdge_CompilerContext *cc = NULL;
  WasmEdge_Result res;

  if (conf == NULL)
    return kc_error_code (err, KC_INTERNAL, "wasmedge: cannot create a configuration");
  WasmEdge_LogOff ();
  WasmEdge_ConfigureCompilerSetOutputFormat (conf, WasmEdge_CompilerOutputFormat_Wasm);
  WasmEdge_ConfigureCompilerSetOptimizationLevel (conf, WasmEdge_CompilerOptimizationLevel_O2);
  cc = WasmEdge_CompilerCreate (conf);
  if (cc == NULL)
    {
      WasmEdge_ConfigureDelete (conf);
      return kc_error_code (err, KC_INTERNAL, "wasmedge: cannot create a compiler");
    }
  res = WasmEdge_CompilerCompile (cc, in, out);
  WasmEdge_CompilerDelete (cc);
  WasmEdge_ConfigureDelete (conf);
  if (!WasmEdge_ResultOK (res))
    return kc_error_code (err, KC_INTERNAL, "wasmedge compiler: %s", WasmEdge_ResultGetMessage (res));
  return 0;
}

const struct kc_wasm_engine kc_wasm_engine_wasmedge = {
  .name = "wasmedge",
  .run = wasmedge_run,
  .compile = wasmedge_compile,
};
