/* SIGPIPE and a libevent writer: a hung-up peer must give EPIPE, not kill the process. */
#include "ttrpc-internal.h"

#include <signal.h>
#include <string.h>

static void
sigpipe_noop (int sig)
{
}

void
kc_ttrpc_disarm_sigpipe (void)
{
  struct sigaction old, sa;

  /* libevent writes with plain writev: a peer that hung up would kill us with SIGPIPE. A no-op
     handler (not SIG_IGN) turns that into EPIPE and, unlike SIG_IGN, is reset by exec, so the
     containers and tools we start still get the default SIGPIPE. A disposition the program
     chose itself is left alone. */
  if (sigaction (SIGPIPE, NULL, &old) < 0 || old.sa_handler != SIG_DFL)
    return;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = sigpipe_noop;
  sa.sa_flags = SA_RESTART;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGPIPE, &sa, NULL);
}
