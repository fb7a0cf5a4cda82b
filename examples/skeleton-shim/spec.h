/* The parts of an OCI config.json the skeleton shim runs: process.args, env and cwd. */
#ifndef SKEL_SPEC_H
#define SKEL_SPEC_H

#include "error.h"

struct skel_spec
{
  char **args; /* NULL-terminated */
  char **env;  /* NULL-terminated */
  char *cwd;
};

int skel_spec_load (const char *bundle, struct skel_spec *spec, kc_error_t *err);
void skel_spec_free (struct skel_spec *spec);

#endif
