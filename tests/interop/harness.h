/* A private containerd 1.7 for interop tests: own config, root, state and sockets in a temp dir;
   stopped and removed again by harness_stop (also after a failed check). */
#ifndef KC_INTEROP_HARNESS_H
#define KC_INTEROP_HARNESS_H

#include <stdio.h>
#include <sys/types.h>

struct containerd
{
  char dir[64];
  char grpc_sock[160];
  char ttrpc_sock[160];
  char log[160];
  pid_t pid;
};

/* Fails (message on stderr, -1) when not root, containerd is missing or does not come up. */
int harness_start (struct containerd *c);
void harness_stop (struct containerd *c);
/* Prints containerd's log to stderr (after a failure). */
void harness_dump_log (struct containerd *c);

#define CHECK(cond, ...)                                                                                             \
  do                                                                                                                 \
    {                                                                                                                \
      if (!(cond))                                                                                                   \
        {                                                                                                            \
          fprintf (stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                           \
          fprintf (stderr, __VA_ARGS__);                                                                             \
          fputc ('\n', stderr);                                                                                      \
          goto fail;                                                                                                 \
        }                                                                                                            \
    }                                                                                                                \
  while (0)

#endif
