/* A container's durable record (../container_record.h): written before its first mount or cgroup,
   removed after its teardown, so a SIGKILLed tasker's leftovers can be found and undone. */
#ifndef KC_TASKER_RECORD_H
#define KC_TASKER_RECORD_H

#include <stddef.h>

#include "error.h"

/* Writes <dir>/containers/<id>.json naming nmounts mounts on rootfs and the cgroup directories
   (NULL-terminated, may be NULL); *path gets the record's path (malloc'ed). */
int kc_record_write (const char *dir, const char *id, const char *rootfs, size_t nmounts, char *const *cgroups,
                     char **path, kc_error_t *err);
/* Removes a record once what it names is gone (a missing file is fine). */
void kc_record_remove (const char *path);

#endif
