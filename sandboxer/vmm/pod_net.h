/* The guest NIC of a pod with its own network namespace (the CNI already configured it): a tap
   device created inside the netns, tied to the pod's interface both ways with tc mirred redirects
   (the Kata "tcfilter" model), handed to QEMU as an fd. The guest takes the interface's MAC,
   address, gateway and MTU, so the pod's network configuration reaches the VM unchanged. */
#ifndef KC_VMM_POD_NET_H
#define KC_VMM_POD_NET_H

#include <net/if.h>

#include "error.h"

struct vmm_pod_net
{
  int tap_fd;            /* -1: no guest NIC (no netns, or no IPv4 interface in it) */
  char ifname[IFNAMSIZ]; /* the pod interface mirrored (eth0) */
  char tap[IFNAMSIZ];    /* the tap device next to it */
  char mac[18];          /* the pod interface's MAC, given to the guest NIC */
  char address[32];      /* a.b.c.d/prefix */
  char gateway[16];      /* the default route's gateway through ifname, "" when none */
  unsigned mtu;
};

/* Inspects netns_path (NULL or "": none) and sets up the tap; net->tap_fd = -1 when the netns has
   no interface with an IPv4 address but lo (nothing to give the guest). */
int vmm_pod_net_open (const char *netns_path, struct vmm_pod_net *net, kc_error_t *err);
void vmm_pod_net_close (struct vmm_pod_net *net);

/* Parsers, exposed for unit tests. The gateway of /proc/net/route's default route through
   ifname ("" when none); 0 or -1 when the text is malformed. */
int vmm_pod_net_route_gateway (const char *route_text, const char *ifname, char *gw, size_t max);

#endif
