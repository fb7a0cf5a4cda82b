/* alloc: allocates memory 1 MiB at a time, touches every page and prints progress, forever (or
   until allocation fails, then it sleeps). For memory limits and OOM reporting. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define STEP (1024 * 1024)

/* Kept reachable from a global and read back so the allocations cannot be optimised away. */
static volatile unsigned char *volatile chunks[4096];
volatile unsigned long checksum;

int
main (void)
{
  for (unsigned long mib = 1;; mib++)
    {
      unsigned char *p = malloc (STEP);
      if (p == NULL || mib >= sizeof chunks / sizeof chunks[0])
        {
          printf ("allocation failed at %lu MiB\n", mib);
          fflush (stdout);
          for (;;)
            {
              struct timespec ts = { .tv_sec = 1 };
              nanosleep (&ts, NULL);
            }
        }
      volatile unsigned char *v = p;
      for (size_t off = 0; off < STEP; off += 4096)
        v[off] = (unsigned char) (mib + off);
      chunks[mib] = v;
      checksum += v[STEP - 4096];
      printf ("allocated %lu MiB\n", mib);
      fflush (stdout);
      struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
}
