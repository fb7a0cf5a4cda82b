/* logrus-style text log lines on stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_level = KC_LOG_INFO;
static const char *log_ident = "kuasar";

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void
kc_log_init (const char *ident, int level)
{
  log_ident = ident;
  log_level = level;
}

int
kc_log_level_parse (const char *name)
{
  if (name == NULL)
    return -1;
  if (strcasecmp (name, "error") == 0 || strcasecmp (name, "fatal") == 0 || strcasecmp (name, "panic") == 0)
    return KC_LOG_ERROR;
  if (strcasecmp (name, "warn") == 0 || strcasecmp (name, "warning") == 0)
    return KC_LOG_WARN;
  if (strcasecmp (name, "info") == 0)
    return KC_LOG_INFO;
  if (strcasecmp (name, "debug") == 0 || strcasecmp (name, "trace") == 0)
    return KC_LOG_DEBUG;
  return -1;
}

void
kc_log_set_level (int level)
{
  log_level = level;
}

int
kc_log_get_level (void)
{
  return log_level;
}

/* Writes msg quoted as logrus does: backslash before " and \, newlines as \n. */
static size_t
quote_into (char *out, size_t size, const char *msg)
{
  size_t n = 0;
  for (const char *p = msg; *p && n + 3 < size; p++)
    {
      if (*p == '"' || *p == '\\')
        {
          out[n++] = '\\';
          out[n++] = *p;
        }
      else if (*p == '\n')
        {
          out[n++] = '\\';
          out[n++] = 'n';
        }
      else
        out[n++] = *p;
    }
  out[n] = '\0';
  return n;
}

void
kc_log (int level, const char *fmt, ...)
{
  char msg[4096], quoted[8192], stamp[64];
  struct timeval tv;
  struct tm tm;
  va_list ap;

  if (level > log_level)
    return;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  quote_into (quoted, sizeof quoted, msg);
  gettimeofday (&tv, NULL);
  gmtime_r (&tv.tv_sec, &tm);
  strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  /* One write per line so lines from several processes sharing the FIFO never interleave. */
  char line[8448];
  int len = snprintf (line, sizeof line, "time=\"%s.%06ldZ\" level=%s msg=\"%s\" component=%s pid=%d\n", stamp,
                      (long) tv.tv_usec, level_names[level < 0 ? 0 : level > 3 ? 3 : level], quoted, log_ident,
                      (int) getpid ());
  if (len < 0)
    return;
  if (len >= (int) sizeof line)
    {
      /* Truncated: snprintf kept sizeof line - 1 bytes; the line still ends with its newline. */
      len = sizeof line - 1;
      line[len - 1] = '\n';
    }
  if (write (STDERR_FILENO, line, len) < 0)
    return;
}
