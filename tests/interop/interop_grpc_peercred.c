/* Our grpc server refuses other users: its socket is 0600, and even through a socket opened to
   everyone (chmod 0666) a peer of another uid is dropped after SO_PEERCRED. Needs root. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grpc/kc_grpc.h"
#include "harness.h"
#include "version.pb-c.h"

#define PATH "/containerd.services.version.v1.Version/Version"

static void
h_version (kc_grpc_call *call, const uint8_t *p, size_t len, void *ud)
{
  Containerd__Services__Version__V1__VersionResponse resp = CONTAINERD__SERVICES__VERSION__V1__VERSION_RESPONSE__INIT;
  resp.version = "kc-test";
  kc_grpc_call_reply (call, &resp.base);
}

static void
on_term (evutil_socket_t fd, short what, void *arg)
{
  event_base_loopbreak (arg);
}

/* The server runs in its own process: grpc must not be initialised in a process that forks
   children which use grpc (they would share its epoll set). Exits 0 after a clean SIGTERM. */
static pid_t
spawn_server (const char *sock, int ready_fd)
{
  pid_t pid = fork ();

  if (pid == 0)
    {
      struct event_base *base = event_base_new ();
      struct event *term = evsignal_new (base, SIGTERM, on_term, base);
      kc_grpc_server *srv = kc_grpc_server_new (base);
      kc_error_t err = NULL;

      evsignal_add (term, NULL);
      if (kc_grpc_server_register (srv, PATH, h_version, NULL, &err) < 0 || kc_grpc_server_start (srv, sock, &err) < 0)
        {
          fprintf (stderr, "server: %s\n", err->msg);
          _exit (1);
        }
      if (write (ready_fd, "r", 1) != 1)
        _exit (1);
      close (ready_fd);
      event_base_dispatch (base);
      kc_grpc_server_free (srv);
      event_free (term);
      event_base_free (base);
      _exit (0);
    }
  return pid;
}

/* Calls the server from a child running as uid; returns the call's status code. */
static int
call_as (uid_t uid, const char *sock)
{
  Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
  pid_t pid = fork ();
  int status;

  if (pid == 0)
    {
      kc_error_t err = NULL;
      uint8_t *reply = NULL;
      size_t len = 0;
      if (uid != 0 && (setgid (uid) < 0 || setuid (uid) < 0))
        _exit (100);
      if (kc_grpc_call_sync (sock, PATH, &empty.base, NULL, 3000000000LL, &reply, &len, &err) == 0)
        _exit (0);
      fprintf (stderr, "uid %u: %s: %s\n", (unsigned) uid, kc_code_name (err->code), err->msg);
      _exit (err->code);
    }
  if (pid < 0 || waitpid (pid, &status, 0) != pid || !WIFEXITED (status))
    return -1;
  return WEXITSTATUS (status);
}

int
main (void)
{
  char dir[64] = "/tmp/kc-peercred-XXXXXX", sock[128];
  pid_t server = -1;
  int rc = 1, code, status, pfd[2] = { -1, -1 };
  char c;

  if (geteuid () != 0)
    {
      fprintf (stderr, "FAIL: this test switches to another uid and needs root (run as root)\n");
      return 1;
    }
  CHECK (mkdtemp (dir) != NULL, "mkdtemp");
  chmod (dir, 0755);
  snprintf (sock, sizeof sock, "%s/s.sock", dir);
  CHECK (pipe2 (pfd, O_CLOEXEC) == 0, "pipe");
  server = spawn_server (sock, pfd[1]);
  close (pfd[1]);
  CHECK (server > 0 && read (pfd[0], &c, 1) == 1, "server did not start");
  code = call_as (0, sock);
  CHECK (code == 0, "same uid: code %d", code);
  code = call_as (65534, sock);
  CHECK (code == KC_UNAVAILABLE, "other uid through the 0600 socket: code %d", code);
  CHECK (chmod (sock, 0666) == 0, "chmod");
  code = call_as (65534, sock);
  CHECK (code == KC_UNAVAILABLE, "other uid through a 0666 socket (SO_PEERCRED): code %d", code);
  code = call_as (0, sock);
  CHECK (code == 0, "same uid again: code %d", code);
  kill (server, SIGTERM);
  CHECK (waitpid (server, &status, 0) == server, "waitpid");
  server = -1;
  CHECK (WIFEXITED (status) && WEXITSTATUS (status) == 0, "server exit status %d", status);
  CHECK (access (sock, F_OK) != 0, "server left its socket behind");
  printf ("PASS\n");
  rc = 0;
fail:
  if (server > 0)
    {
      kill (server, SIGKILL);
      waitpid (server, &status, 0);
    }
  if (pfd[0] >= 0)
    close (pfd[0]);
  unlink (sock);
  rmdir (dir);
  return rc;
}
