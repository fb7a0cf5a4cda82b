/* loop: prints "looping" and spins on the CPU forever, never calling into WASI again. WASI has
   no signals, so only the runtime's SIGKILL ends it. */
#include <stdio.h>

volatile unsigned long spins;

int
main (void)
{
  printf ("looping\n");
  fflush (stdout);
  for (;;)
    spins++;
}
