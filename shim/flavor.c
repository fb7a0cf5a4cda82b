/* The sandboxer address of a flavor: -sandboxer-address, then the environment, then the default. */
#include <stdlib.h>

#include "flavor.h"

const char *
shim_sandboxer_address (const struct shim_flavor *flavor, const char *flag)
{
  const char *v;

  if (flag != NULL && *flag)
    return flag;
  v = getenv (flavor->sandboxer_env);
  if (v != NULL && *v)
    return v;
  v = getenv ("KUASAR_SANDBOXER_ADDRESS");
  if (v != NULL && *v)
    return v;
  return flavor->default_sandboxer;
}
