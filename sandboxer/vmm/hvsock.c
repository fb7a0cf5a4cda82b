/* The vhost-device-vsock keeper of channel "hvsock" (hvsock.h). */
#include "hvsock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "helper.h"
#include "log.h"
#include "proc.h"
#include "vmm_channel.h"

#define HANDOFF_WAIT_MS 60000 /* the sandboxer spawns QEMU right after the socket appears */
#define TERM_GRACE_MS   1000

int
vmm_hvsock_start (const char *dir, const char *binary, int timeout_ms, const struct kc_pod_cgroup_join *cgroup,
                  int *handoff_fd, kc_error_t *err)
{
  char self[PATH_MAX], log_path[PATH_MAX], sock[PATH_MAX];
  struct timespec tick = { 0, 5 * 1000 * 1000 };
  int p[2];
  if (vmm_helper_self (self, sizeof (self), err) < 0)
    return -1;
  snprintf (log_path, sizeof (log_path), "%s/qemu.log", dir);
  snprintf (sock, sizeof (sock), "%s/%s", dir, VMM_VHOST_USER_SOCKET);
  unlink (sock);
  char *argv[] = { self, (char *) VMM_HVSOCK_FLAG, (char *) dir, (char *) binary, NULL };
  if (pipe2 (p, O_CLOEXEC) < 0)
    return kc_error (err, errno, "hvsock keeper pipe");
  /* The keeper reads the handoff on its fd 3 (KC_READY_FD): pass the read end there. */
  int ret = vmm_helper_spawn_in_cgroup (argv, log_path, p[0], cgroup, NULL, err);
  close (p[0]);
  if (ret < 0)
    {
      close (p[1]);
      return kc_error_wrap (err, "hvsock keeper");
    }
  for (int waited = 0; access (sock, F_OK) < 0; waited += 5)
    {
      if (waited >= timeout_ms)
        {
          close (p[1]); /* the keeper stops the daemon */
          return kc_error_code (err, KC_UNAVAILABLE, "%s did not create %s within %d ms (see %s/vhost-device-vsock.log)",
                                binary, sock, timeout_ms, dir);
        }
      nanosleep (&tick, NULL);
    }
  *handoff_fd = p[1];
  return 0;
}

int
vmm_hvsock_handoff (int fd, pid_t qemu, unsigned long long start_time, kc_error_t *err)
{
  char line[64];
  int len = snprintf (line, sizeof (line), "%d %llu\n", (int) qemu, start_time);
  ssize_t n = write (fd, line, (size_t) len);
  int e = errno;
  close (fd);
  if (n != len)
    return kc_error (err, n < 0 ? e : EPIPE, "hand QEMU's pid to the hvsock keeper");
  return 0;
}

/* In the forked child: the daemon, killed with us. */
static void __attribute__ ((noreturn)) exec_daemon (const char *dir, const char *binary, pid_t keeper)
{
  char sock[PATH_MAX], uds[PATH_MAX], log_path[PATH_MAX];
  snprintf (sock, sizeof (sock), "%s/%s", dir, VMM_VHOST_USER_SOCKET);
  snprintf (uds, sizeof (uds), "%s/%s", dir, VMM_HVSOCK_SOCKET);
  snprintf (log_path, sizeof (log_path), "%s/vhost-device-vsock.log", dir);
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != keeper)
    _exit (125);
  close (KC_READY_FD); /* the handoff pipe is the keeper's */
  int log_fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0 || dup2 (log_fd, 1) < 0 || dup2 (log_fd, 2) < 0)
    _exit (126);
  unlink (uds);
  /* The guest CID is private to this daemon (one VM per daemon): 3 as Cloud Hypervisor uses. */
  execlp (binary, binary, "--guest-cid", "3", "--socket", sock, "--uds-path", uds, (char *) NULL);
  _exit (127);
}

/* QEMU's pid and start time from the sandboxer; -1 when it gave up before starting QEMU. */
static int
read_handoff (int *qemu_pidfd)
{
  char line[64];
  size_t n = 0;
  unsigned long long start = 0;
  int pid = 0;
  struct pollfd pfd = { .fd = KC_READY_FD, .events = POLLIN };
  while (n < sizeof (line) - 1 && poll (&pfd, 1, HANDOFF_WAIT_MS) > 0)
    {
      ssize_t r = read (KC_READY_FD, line + n, sizeof (line) - 1 - n);
      if (r <= 0)
        break;
      n += (size_t) r;
    }
  line[n] = '\0';
  if (sscanf (line, "%d %llu", &pid, &start) != 2 || pid <= 0)
    return -1;
  return kc_proc_open_verified ((pid_t) pid, start, qemu_pidfd, NULL);
}

static void
stop_daemon (pid_t daemon, int daemon_pidfd)
{
  struct pollfd pfd = { .fd = daemon_pidfd, .events = POLLIN };
  pidfd_send_signal (daemon_pidfd, SIGTERM, NULL, 0);
  if (poll (&pfd, 1, TERM_GRACE_MS) <= 0)
    pidfd_send_signal (daemon_pidfd, SIGKILL, NULL, 0);
  waitpid (daemon, NULL, 0);
}

static void
remove_sockets (const char *dir)
{
  char path[PATH_MAX];
  snprintf (path, sizeof (path), "%s/%s", dir, VMM_VHOST_USER_SOCKET);
  unlink (path);
  snprintf (path, sizeof (path), "%s/%s", dir, VMM_HVSOCK_SOCKET);
  unlink (path);
}

int
vmm_hvsock_main (int argc, char **argv)
{
  cleanup_close int daemon_pidfd = -1, qemu_pidfd = -1;
  if (argc != 4)
    {
      fprintf (stderr, "usage: %s %s <sandbox-dir> <vhost-device-vsock>\n", argv[0], VMM_HVSOCK_FLAG);
      return 2;
    }
  const char *dir = argv[2];
  pid_t keeper = getpid ();
  pid_t daemon = fork ();
  if (daemon < 0)
    {
      kc_log_error ("hvsock keeper: fork: %s", strerror (errno));
      return 1;
    }
  if (daemon == 0)
    exec_daemon (dir, argv[3], keeper);
  daemon_pidfd = (int) pidfd_open (daemon, 0);
  if (daemon_pidfd < 0 || read_handoff (&qemu_pidfd) < 0)
    {
      kc_log_warn ("hvsock keeper: no QEMU for %s; stopping %s", dir, argv[3]);
      if (daemon_pidfd >= 0)
        stop_daemon (daemon, daemon_pidfd);
      else
        kill (daemon, SIGKILL), waitpid (daemon, NULL, 0);
      remove_sockets (dir);
      return 1;
    }
  kc_log_info ("hvsock keeper: %s pid %d serves the QEMU of %s", argv[3], (int) daemon, dir);
  struct pollfd pfds[2] = { { .fd = qemu_pidfd, .events = POLLIN }, { .fd = daemon_pidfd, .events = POLLIN } };
  while (poll (pfds, 2, -1) < 0 && errno == EINTR)
    ;
  if (pfds[1].revents != 0)
    kc_log_error ("hvsock keeper: %s of %s exited before its QEMU (see vhost-device-vsock.log)", argv[3], dir);
  stop_daemon (daemon, daemon_pidfd);
  remove_sockets (dir);
  return 0;
}
