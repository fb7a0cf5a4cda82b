/* Error values with a status code and a message that grows context as it travels up. */
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const code_names[] = {
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
  "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
  "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

const char *
kc_code_name (int code)
{
  if (code < 0 || code > KC_UNAUTHENTICATED)
    return "UNKNOWN";
  return code_names[code];
}

int
kc_code_from_errno (int errno_)
{
  switch (errno_)
    {
    case 0:
      return KC_UNKNOWN;
    case ENOENT:
    case ESRCH:
      return KC_NOT_FOUND;
    case EEXIST:
      return KC_ALREADY_EXISTS;
    case EINVAL:
    case ENAMETOOLONG:
    case ENOEXEC:
      return KC_INVALID_ARGUMENT;
    case EACCES:
    case EPERM:
      return KC_PERMISSION_DENIED;
    case ENOMEM:
    case ENOSPC:
    case EMFILE:
    case ENFILE:
    case E2BIG:
    case EMSGSIZE:
      return KC_RESOURCE_EXHAUSTED;
    case ETIMEDOUT:
      return KC_DEADLINE_EXCEEDED;
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case ENOTCONN:
    case EAGAIN:
      return KC_UNAVAILABLE;
    case ECANCELED:
      return KC_CANCELLED;
    case ENOSYS:
    case ENOTSUP:
      return KC_UNIMPLEMENTED;
    case EBUSY:
      return KC_FAILED_PRECONDITION;
    default:
      return KC_INTERNAL;
    }
}

static int
set_error (kc_error_t *err, int code, int errno_, const char *fmt, va_list ap)
{
  char *msg = NULL, *full = NULL;

  if (err == NULL)
    return -1;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  if (msg != NULL && errno_ != 0)
    {
      if (asprintf (&full, "%s: %s", msg, strerror (errno_)) < 0)
        full = NULL;
      free (msg);
      msg = full;
    }
  kc_error_free (err);
  *err = calloc (1, sizeof (**err));
  if (*err == NULL)
    {
      free (msg);
      return -1;
    }
  (*err)->code = code;
  (*err)->errno_ = errno_;
  (*err)->msg = msg ? msg : strdup ("out of memory");
  return -1;
}

int
kc_error (kc_error_t *err, int errno_, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  set_error (err, kc_code_from_errno (errno_), errno_, fmt, ap);
  va_end (ap);
  return -1;
}

int
kc_error_code (kc_error_t *err, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  set_error (err, code, 0, fmt, ap);
  va_end (ap);
  return -1;
}

int
kc_error_wrap (kc_error_t *err, const char *fmt, ...)
{
  char *ctx = NULL, *full = NULL;
  va_list ap;

  if (err == NULL || *err == NULL)
    return -1;
  va_start (ap, fmt);
  if (vasprintf (&ctx, fmt, ap) < 0)
    ctx = NULL;
  va_end (ap);
  if (ctx == NULL)
    return -1;
  if (asprintf (&full, "%s: %s", ctx, (*err)->msg) >= 0)
    {
      free ((*err)->msg);
      (*err)->msg = full;
    }
  free (ctx);
  return -1;
}

void
kc_error_free (kc_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}

void
kc_error_move (kc_error_t *to, kc_error_t *from)
{
  kc_error_free (to);
  *to = *from;
  *from = NULL;
}
