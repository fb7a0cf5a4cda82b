/* wasm-sandboxer: the Controller for wasm sandboxes; everything is in sandboxer/common. */
#include "daemon.h"
#include "wasm_backend.h"

int
main (int argc, char **argv)
{
  return kc_sandboxer_main (argc, argv, &kc_wasm_backend);
}
