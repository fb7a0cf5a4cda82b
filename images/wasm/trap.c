/* trap: prints "about to trap" to stdout, then executes the wasm `unreachable` instruction, so
   the runtime reports a trap (not a WASI exit). For the trap path of the tasker. */
#include <stdio.h>

int
main (void)
{
  printf ("about to trap\n");
  fflush (stdout);
  __builtin_trap ();
}
