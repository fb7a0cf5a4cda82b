/* Starts and stops a private containerd (the one on PATH) for the interop tests. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int
write_config (struct containerd *c, const char *path)
{
  FILE *f = fopen (path, "we");

  if (f == NULL)
    return -1;
  fprintf (f,
           "version = 2\n"
           "root = \"%s/root\"\n"
           "state = \"%s/state\"\n"
           "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
           "[grpc]\n  address = \"%s\"\n"
           "[ttrpc]\n  address = \"%s\"\n"
           "[debug]\n  address = \"%s/debug.sock\"\n  level = \"debug\"\n"
           "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"%s/opt\"\n",
           c->dir, c->dir, c->grpc_sock, c->ttrpc_sock, c->dir, c->dir);
  return fclose (f);
}

static void
exec_containerd (struct containerd *c, const char *config)
{
  int fd = open (c->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (fd >= 0)
    {
      dup2 (fd, 1);
      dup2 (fd, 2);
    }
  if (null >= 0)
    dup2 (null, 0);
  execlp ("containerd", "containerd", "--config", config, (char *) NULL);
  fprintf (stderr, "exec containerd: %s (install containerd 1.7 on PATH)\n", strerror (errno));
  _exit (127);
}

static int
wait_socket (struct containerd *c)
{
  struct stat st;
  int status;

  for (int i = 0; i < 200; i++)
    {
      if (stat (c->grpc_sock, &st) == 0 && S_ISSOCK (st.st_mode) && stat (c->ttrpc_sock, &st) == 0)
        return 0;
      if (waitpid (c->pid, &status, WNOHANG) == c->pid)
        {
          c->pid = -1;
          fprintf (stderr, "containerd exited (status %d) before its socket appeared\n", status);
          return -1;
        }
      usleep (50000);
    }
  fprintf (stderr, "containerd socket %s did not appear within 10 s\n", c->grpc_sock);
  return -1;
}

int
harness_start (struct containerd *c)
{
  char config[160];

  memset (c, 0, sizeof *c);
  c->pid = -1;
  if (geteuid () != 0)
    {
      fprintf (stderr, "FAIL: interop tests start a private containerd and need root (run as root)\n");
      return -1;
    }
  snprintf (c->dir, sizeof c->dir, "/tmp/kc-interop-XXXXXX");
  if (mkdtemp (c->dir) == NULL)
    {
      fprintf (stderr, "mkdtemp: %s\n", strerror (errno));
      c->dir[0] = '\0';
      return -1;
    }
  snprintf (c->grpc_sock, sizeof c->grpc_sock, "%s/containerd.sock", c->dir);
  snprintf (c->ttrpc_sock, sizeof c->ttrpc_sock, "%s/containerd.sock.ttrpc", c->dir);
  snprintf (c->log, sizeof c->log, "%s/containerd.log", c->dir);
  snprintf (config, sizeof config, "%s/config.toml", c->dir);
  if (write_config (c, config) < 0)
    {
      fprintf (stderr, "write %s: %s\n", config, strerror (errno));
      return -1;
    }
  c->pid = fork ();
  if (c->pid < 0)
    return -1;
  if (c->pid == 0)
    exec_containerd (c, config);
  if (wait_socket (c) < 0)
    {
      harness_dump_log (c);
      return -1;
    }
  return 0;
}

void
harness_dump_log (struct containerd *c)
{
  char line[1024];
  FILE *f = c->log[0] ? fopen (c->log, "re") : NULL;

  if (f == NULL)
    return;
  fprintf (stderr, "---- containerd log ----\n");
  while (fgets (line, sizeof line, f) != NULL)
    fputs (line, stderr);
  fclose (f);
}

static int
rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  if (remove (path) < 0)
    fprintf (stderr, "remove %s: %s\n", path, strerror (errno));
  return 0;
}

void
harness_stop (struct containerd *c)
{
  int status;

  if (c->pid > 0)
    {
      kill (c->pid, SIGTERM);
      for (int i = 0; i < 100 && waitpid (c->pid, &status, WNOHANG) == 0; i++)
        usleep (50000);
      if (kill (c->pid, SIGKILL) == 0)
        waitpid (c->pid, &status, 0);
      c->pid = -1;
    }
  if (c->dir[0] != '\0')
    {
      umount2 (c->dir, MNT_DETACH);
      nftw (c->dir, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
      c->dir[0] = '\0';
    }
}
