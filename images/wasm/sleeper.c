/* sleeper: prints "started" and sleeps forever. WASI has no signals, so the runtime has to
   kill it (a runc container ignoring SIGTERM behaves the same way). */
#include <stdio.h>
#include <time.h>

int
main (void)
{
  printf ("started\n");
  fflush (stdout);
  for (;;)
    {
      struct timespec ts = { .tv_sec = 1, .tv_nsec = 0 };
      nanosleep (&ts, NULL);
    }
}
