/* Errors that carry context upward (crun style): a fallible function takes a kc_error_t * and
   returns a negative value; callers add what they were doing with kc_error_wrap. */
#ifndef KC_ERROR_H
#define KC_ERROR_H

#include <stdarg.h>

/* google.rpc.Code values: the status an error becomes at an RPC boundary. */
enum kc_code
{
  KC_OK = 0,
  KC_CANCELLED = 1,
  KC_UNKNOWN = 2,
  KC_INVALID_ARGUMENT = 3,
  KC_DEADLINE_EXCEEDED = 4,
  KC_NOT_FOUND = 5,
  KC_ALREADY_EXISTS = 6,
  KC_PERMISSION_DENIED = 7,
  KC_RESOURCE_EXHAUSTED = 8,
  KC_FAILED_PRECONDITION = 9,
  KC_ABORTED = 10,
  KC_OUT_OF_RANGE = 11,
  KC_UNIMPLEMENTED = 12,
  KC_INTERNAL = 13,
  KC_UNAVAILABLE = 14,
  KC_DATA_LOSS = 15,
  KC_UNAUTHENTICATED = 16,
};

struct kc_error_s
{
  int code;   /* enum kc_code */
  int errno_; /* 0 when not from a system call */
  char *msg;
};
typedef struct kc_error_s *kc_error_t;

/* Sets *err from errno_ (its code derived from it: ENOENT -> NOT_FOUND, ...) and returns -1.
   The message gets ": strerror(errno_)" appended when errno_ != 0. */
int kc_error (kc_error_t *err, int errno_, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
/* Sets *err with an explicit status code and returns -1. */
int kc_error_code (kc_error_t *err, int code, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));
/* Prefixes the message of *err with "<context>: " and returns -1. */
int kc_error_wrap (kc_error_t *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void kc_error_free (kc_error_t *err);
/* Moves *from into *to (freeing any error in *to). */
void kc_error_move (kc_error_t *to, kc_error_t *from);
const char *kc_code_name (int code);
int kc_code_from_errno (int errno_);

#define cleanup_error __attribute__ ((cleanup (kc_error_free)))

#endif
