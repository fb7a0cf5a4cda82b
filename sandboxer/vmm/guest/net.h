/* The guest's network: lo up always; with kuasar.ip= on the kernel command line, the VM's NIC
   (the pod interface mirrored by the host, pod_net.c) gets that address, the MTU of kuasar.mtu=
   and a default route through kuasar.gw= (unless "none"). */
#ifndef KC_VMM_NET_H
#define KC_VMM_NET_H

#include "error.h"

int kc_init_network (kc_error_t *err);

#endif
