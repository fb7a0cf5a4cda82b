/* pause: the pod sandbox's placeholder process. Sleeps until SIGTERM/SIGINT, reaping any child
   that gets reparented to it (it is pid 1 of the pod's pid namespace when one is shared). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void
on_terminate (int sig)
{
  (void) sig;
  _exit (0);
}

static void
on_child (int sig)
{
  int saved = errno;
  (void) sig;
  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;
  errno = saved;
}

int
main (void)
{
  struct sigaction term = { .sa_handler = on_terminate };
  struct sigaction chld = { .sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART };

  if (sigaction (SIGINT, &term, NULL) < 0 || sigaction (SIGTERM, &term, NULL) < 0
      || sigaction (SIGCHLD, &chld, NULL) < 0)
    {
      fprintf (stderr, "pause: sigaction: %s\n", strerror (errno));
      return 1;
    }
  for (;;)
    pause ();
}
