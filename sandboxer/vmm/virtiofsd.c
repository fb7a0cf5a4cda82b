/* Spawning and reclaiming a sandbox's virtiofsd (virtiofsd.h).
   - We bind and listen on <dir>/fs.sock and hand it over as --fd: QEMU can connect as
     soon as it starts, and virtiofsd makes no pid file of its own (with --socket-path it leaves
     /run/virtiofsd/<path>.pid behind, one per sandbox).
   - sandbox=chroot: it chroots into <dir>/shared inside the sandboxer's mount namespace, so the
     rootfs the shim mounts there later are visible to it at once, as they are to QEMU's 9p
     (sandbox=namespace pivots into a slave copy of the mount tree, which sees later mounts only
     when <dir>/shared is on a shared mount). */
#include "virtiofsd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "helper.h"
#include "proc.h"
#include "qemu.h"

#define ARGS 12

char **
vmm_virtiofsd_argv (const char *binary, const char *dir)
{
  char **argv = calloc (ARGS + 1, sizeof (char *));
  int n = 0, bad = 0;
  if (argv == NULL)
    return NULL;
  bad |= (argv[n++] = strdup (binary)) == NULL;
  bad |= (argv[n++] = strdup ("--fd=" KC_READY_FD_STR)) == NULL; /* the listening socket */
  bad |= (argv[n++] = strdup ("-o")) == NULL;
  bad |= asprintf (&argv[n++], "source=%s/shared", dir) < 0;
  /* cache=none: the host writes config.json and mounts rootfs right before the guest reads them. */
  static const char *const opts[] = { "-o", "sandbox=chroot", "-o", "cache=none", "-o", "log_level=info", NULL };
  for (size_t i = 0; opts[i] != NULL && !bad; i++)
    bad |= (argv[n++] = strdup (opts[i])) == NULL;
  if (bad)
    {
      vmm_qemu_argv_free (argv);
      return NULL;
    }
  return argv;
}

static int
write_pid_file (const char *dir, pid_t pid, kc_error_t *err)
{
  char path[4096], text[64];
  unsigned long long start_time = 0;
  if (kc_proc_start_time (pid, &start_time, err) < 0)
    return -1;
  snprintf (path, sizeof (path), "%s/%s", dir, VMM_VIRTIOFSD_PID);
  int len = snprintf (text, sizeof (text), "%d %llu\n", (int) pid, start_time);
  return kc_write_file_atomic (path, text, (size_t) len, 0600, err);
}

static void
sleep_ms (int ms)
{
  struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000 };
  nanosleep (&ts, NULL);
}

static int
startup_error (const char *dir, const char *what, kc_error_t *err)
{
  char log[4096], last[512];
  snprintf (log, sizeof (log), "%s/%s", dir, VMM_VIRTIOFSD_LOG);
  kc_file_last_line (log, last, sizeof (last));
  return kc_error_code (err, KC_FAILED_PRECONDITION, "virtiofsd %s (%s: %s)", what, log, last);
}

/* 1 when pid sits in accept(2) (/proc/<pid>/syscall), 0 when not (yet), -1 when unreadable. */
static int
in_accept (pid_t pid)
{
  char path[64], buf[64];
  long nr;
  snprintf (path, sizeof (path), "/proc/%d/syscall", (int) pid);
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read (fd, buf, sizeof (buf) - 1) : -1;
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  if (sscanf (buf, "%ld", &nr) != 1)
    return 0; /* "running" */
  return nr == SYS_accept || nr == SYS_accept4;
}

/* Ready = blocked in accept on our socket, past its option, source and capability checks. A
   kernel without /proc/<pid>/syscall leaves that to QEMU (which fails at once if it died). */
static int
wait_accepting (const char *dir, pid_t pid, int pidfd, int timeout_ms, kc_error_t *err)
{
  for (int waited = 0;; waited += 5)
    {
      struct pollfd p = { .fd = pidfd, .events = POLLIN };
      if (poll (&p, 1, 0) > 0)
        return startup_error (dir, "exited at startup", err);
      int state = in_accept (pid);
      if (state != 0)
        return 0;
      if (waited >= timeout_ms)
        return startup_error (dir, "did not get ready in time", err);
      sleep_ms (5);
    }
}

/* <dir>/fs.sock, listening (an earlier run's file replaced). */
static int
listen_socket (const char *dir, kc_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if ((size_t) snprintf (addr.sun_path, sizeof (addr.sun_path), "%s/%s", dir, VMM_VIRTIOFSD_SOCKET)
      >= sizeof (addr.sun_path))
    return kc_error_code (err, KC_INVALID_ARGUMENT, "socket path too long in `%s`", dir);
  cleanup_close int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return kc_error (err, errno, "socket");
  unlink (addr.sun_path);
  if (bind (fd, (struct sockaddr *) &addr, sizeof (addr)) < 0 || listen (fd, 1) < 0)
    return kc_error (err, errno, "listen on `%s`", addr.sun_path);
  return steal_fd (&fd);
}

int
vmm_virtiofsd_start (const char *binary, const char *dir, int timeout_ms, const struct kc_pod_cgroup_join *cgroup,
                     kc_error_t *err)
{
  char log[4096];
  pid_t pid;
  if (access (binary, X_OK) < 0)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "virtiofsd `%s` is not executable: %s", binary,
                          strerror (errno));
  char **argv = vmm_virtiofsd_argv (binary, dir);
  if (argv == NULL)
    return kc_error (err, ENOMEM, "virtiofsd argv");
  snprintf (log, sizeof (log), "%s/%s", dir, VMM_VIRTIOFSD_LOG);
  cleanup_close int sock = listen_socket (dir, err);
  int ret = sock < 0 ? -1 : vmm_helper_spawn_in_cgroup (argv, log, sock, cgroup, &pid, err);
  vmm_qemu_argv_free (argv);
  if (ret < 0)
    return kc_error_wrap (err, "spawn virtiofsd");
  cleanup_close int pidfd = -1;
  if (kc_proc_open_verified (pid, 0, &pidfd, NULL) < 0)
    return startup_error (dir, "exited at startup", err);
  if (write_pid_file (dir, pid, err) < 0 || wait_accepting (dir, pid, pidfd, timeout_ms, err) < 0)
    {
      kc_proc_signal (pidfd, SIGKILL, NULL);
      return kc_error_wrap (err, "virtiofsd for %s/shared", dir);
    }
  return 0;
}

int
vmm_virtiofsd_kill (const char *dir)
{
  char path[4096];
  cleanup_free char *text = NULL;
  cleanup_close int pidfd = -1;
  size_t len;
  int pid;
  unsigned long long start_time;
  snprintf (path, sizeof (path), "%s/%s", dir, VMM_VIRTIOFSD_PID);
  if (kc_read_file (path, &text, &len, NULL) < 0 || sscanf (text, "%d %llu", &pid, &start_time) != 2 || pid <= 0)
    return 0;
  if (kc_proc_open_verified (pid, start_time, &pidfd, NULL) < 0)
    return 0; /* exited when QEMU disconnected: the usual case */
  struct pollfd p = { .fd = pidfd, .events = POLLIN };
  if (poll (&p, 1, 0) > 0 || kc_proc_signal (pidfd, SIGKILL, NULL) < 0)
    return 0;
  poll (&p, 1, 1000); /* readable once it exited: not ours to reap */
  return 1;
}
