/* Candidate paths of a process's args[0], as runc finds them: PATH lookup for a bare name, cwd for
   a relative path; pure string work, the rootfs is opened by module.c. */
#ifndef KC_TASKER_MODULE_PATH_H
#define KC_TASKER_MODULE_PATH_H

#include <stddef.h>

#define KC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* In place: runs of '/' become one, "." components go, a trailing '/' goes ("/" stays "/").
   ".." is kept (the kernel resolves it inside the root). */
void kc_path_normalize (char *path);
/* Absolute, normalised "<dir>/<name>"; a relative dir (or "" = ".") is taken against cwd (NULL or
   "": "/"). NULL on ENOMEM. */
char *kc_path_join (const char *cwd, const char *dir, const char *name);
/* The value of the first PATH= in env, or KC_DEFAULT_PATH when there is none. */
const char *kc_env_path (const char *const *env, size_t nenv);

#endif
