/* Sandbox ids become directory names under --dir: only plain names are accepted. */
#ifndef KC_SANDBOX_ID_H
#define KC_SANDBOX_ID_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define KC_SANDBOX_ID_MAX 128

/* len is the id's length on the wire (a NUL inside makes it differ from strlen). Errors are
   KC_INVALID_ARGUMENT. */
int kc_sandbox_id_validate (const char *id, size_t len, kc_error_t *err);

/* Length on the wire of the last occurrence of length-delimited field `field` in a protobuf
   message, or -1 when absent or the payload is malformed. protobuf-c stops decoded strings at a
   NUL, so this is how a request's id is checked for NUL bytes. */
long kc_pb_field_len (const uint8_t *payload, size_t len, uint32_t field);

/* Validates the sandbox_id field (number 1) of a raw request against its decoded value. */
int kc_sandbox_id_check_request (const char *decoded, const uint8_t *payload, size_t len, kc_error_t *err);

#endif
