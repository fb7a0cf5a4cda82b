/* `<qemu> -machine help`: running it (stdout captured, bounded in size and time) and looking a
   machine up in its text ("Supported machines are:" then one "<name>  <description>" a line). */
#include "machine_help.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define HELP_MAX (256 * 1024)

int
vmm_machine_help_has (const char *text, const char *name)
{
  size_t len = strlen (name);
  for (const char *line = text; line != NULL && *line != '\0';)
    {
      if (strncmp (line, name, len) == 0 && (line[len] == ' ' || line[len] == '\t'))
        return 1;
      line = strchr (line, '\n');
      if (line != NULL)
        line++;
    }
  return 0;
}

/* In the child: only async-signal-safe calls. */
static void __attribute__ ((noreturn)) exec_help (const char *qemu, int out_w)
{
  int null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0 || dup2 (null_fd, 0) < 0 || dup2 (out_w, 1) < 0 || dup2 (null_fd, 2) < 0)
    _exit (126);
  execlp (qemu, qemu, "-machine", "help", (char *) NULL);
  _exit (127);
}

static long long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads fd to EOF into buf (NUL-terminated); -1 on timeout, overflow or a read error. */
static int
read_all (int fd, char *buf, size_t max, int timeout_ms)
{
  size_t len = 0;
  long long deadline = now_ms () + timeout_ms;
  for (;;)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      long long left = deadline - now_ms ();
      if (left <= 0 || poll (&p, 1, (int) left) == 0)
        return -1;
      ssize_t n = read (fd, buf + len, max - 1 - len);
      if (n == 0)
        break;
      if (n < 0 && errno != EINTR && errno != EAGAIN)
        return -1;
      if (n > 0 && (len += (size_t) n) >= max - 1)
        return -1;
    }
  buf[len] = '\0';
  return 0;
}

int
vmm_machine_help_run (const char *qemu, int timeout_ms, char **text, kc_error_t *err)
{
  int p[2], status = 0;
  cleanup_free char *buf = malloc (HELP_MAX);
  if (buf == NULL)
    return kc_error (err, ENOMEM, "malloc");
  if (pipe2 (p, O_CLOEXEC) < 0)
    return kc_error (err, errno, "pipe");
  pid_t pid = fork ();
  if (pid == 0)
    exec_help (qemu, p[1]);
  close (p[1]);
  if (pid < 0)
    {
      close (p[0]);
      return kc_error (err, errno, "fork");
    }
  int ret = read_all (p[0], buf, HELP_MAX, timeout_ms);
  close (p[0]);
  if (ret < 0)
    kill (pid, SIGKILL);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (ret < 0)
    return kc_error_code (err, KC_DEADLINE_EXCEEDED, "`%s -machine help`: no complete answer in %d ms", qemu,
                          timeout_ms);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "`%s -machine help` failed (wait status %d)", qemu, status);
  *text = steal_pointer (&buf);
  return 0;
}
