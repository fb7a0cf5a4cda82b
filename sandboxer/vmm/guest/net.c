/* Interface configuration with the classic ioctls (address, netmask, MTU, flags, a route):
   enough for one NIC, without a netlink library in a static PID 1. */
#include "net.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "cmdline.h"
#include "log.h"

#define NIC_WAIT_MS 5000

static int
set_flags_up (int sock, const char *ifname, kc_error_t *err)
{
  struct ifreq ifr = { 0 };
  snprintf (ifr.ifr_name, sizeof (ifr.ifr_name), "%s", ifname);
  if (ioctl (sock, SIOCGIFFLAGS, &ifr) < 0)
    return kc_error (err, errno, "flags of %s", ifname);
  ifr.ifr_flags |= IFF_UP;
  if (ioctl (sock, SIOCSIFFLAGS, &ifr) < 0)
    return kc_error (err, errno, "bring %s up", ifname);
  return 0;
}

/* The first interface but lo, as the virtio-net driver registers it. */
static int
find_nic (char *name, size_t max, kc_error_t *err)
{
  struct timespec tick = { 0, 10 * 1000 * 1000 };
  for (int waited = 0; waited < NIC_WAIT_MS; waited += 10)
    {
      DIR *d = opendir ("/sys/class/net");
      struct dirent *e;
      int found = 0;
      while (d != NULL && (e = readdir (d)) != NULL && !found)
        if (e->d_name[0] != '.' && strcmp (e->d_name, "lo") != 0 && strlen (e->d_name) < max)
          {
            strcpy (name, e->d_name);
            found = 1;
          }
      if (d != NULL)
        closedir (d);
      if (found)
        return 0;
      nanosleep (&tick, NULL);
    }
  return kc_error_code (err, KC_FAILED_PRECONDITION, "kuasar.ip given but no network interface appeared");
}

static void
set_sockaddr (struct sockaddr *sa, struct in_addr a)
{
  struct sockaddr_in *in = (struct sockaddr_in *) sa;
  memset (in, 0, sizeof (*in));
  in->sin_family = AF_INET;
  in->sin_addr = a;
}

/* "a.b.c.d/len" into address and netmask. */
static int
parse_cidr (const char *text, struct in_addr *addr, struct in_addr *mask)
{
  char ip[INET_ADDRSTRLEN];
  const char *slash = strchr (text, '/');
  char *end;
  long len;
  if (slash == NULL || (size_t) (slash - text) >= sizeof (ip))
    return -1;
  memcpy (ip, text, (size_t) (slash - text));
  ip[slash - text] = '\0';
  len = strtol (slash + 1, &end, 10);
  if (*end != '\0' || end == slash + 1 || len < 0 || len > 32 || inet_pton (AF_INET, ip, addr) != 1)
    return -1;
  mask->s_addr = len == 0 ? 0 : htonl (~0U << (32 - len));
  return 0;
}

static int
configure_nic (int sock, const char *nic, const char *cidr, unsigned mtu, kc_error_t *err)
{
  struct ifreq ifr = { 0 };
  struct in_addr addr, mask;
  if (parse_cidr (cidr, &addr, &mask) < 0)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "kuasar.ip=%s: not a.b.c.d/len", cidr);
  snprintf (ifr.ifr_name, sizeof (ifr.ifr_name), "%s", nic);
  if (mtu > 0)
    {
      ifr.ifr_mtu = (int) mtu;
      if (ioctl (sock, SIOCSIFMTU, &ifr) < 0)
        return kc_error (err, errno, "MTU %u on %s", mtu, nic);
    }
  set_sockaddr (&ifr.ifr_addr, addr);
  if (ioctl (sock, SIOCSIFADDR, &ifr) < 0)
    return kc_error (err, errno, "address %s on %s", cidr, nic);
  set_sockaddr (&ifr.ifr_netmask, mask);
  if (ioctl (sock, SIOCSIFNETMASK, &ifr) < 0)
    return kc_error (err, errno, "netmask of %s on %s", cidr, nic);
  return set_flags_up (sock, nic, err);
}

static int
add_default_route (int sock, const char *nic, const char *gw_text, kc_error_t *err)
{
  struct rtentry rt = { 0 };
  struct in_addr gw, any = { 0 };
  if (inet_pton (AF_INET, gw_text, &gw) != 1)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "kuasar.gw=%s: not an IPv4 address", gw_text);
  set_sockaddr (&rt.rt_dst, any);
  set_sockaddr (&rt.rt_genmask, any);
  set_sockaddr (&rt.rt_gateway, gw);
  rt.rt_flags = RTF_UP | RTF_GATEWAY;
  rt.rt_dev = (char *) nic;
  if (ioctl (sock, SIOCADDRT, &rt) < 0)
    return kc_error (err, errno, "default route via %s on %s", gw_text, nic);
  return 0;
}

int
kc_init_network (kc_error_t *err)
{
  char cidr[64], gw[64] = "none", mtu_text[16] = "0", nic[IF_NAMESIZE];
  cleanup_close int sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return kc_error (err, errno, "socket");
  if (set_flags_up (sock, "lo", err) < 0)
    return -1;
  if (kc_cmdline_get ("kuasar.ip", cidr, sizeof (cidr)) != 1)
    return 0; /* no pod network: loopback only */
  kc_cmdline_get ("kuasar.gw", gw, sizeof (gw));
  kc_cmdline_get ("kuasar.mtu", mtu_text, sizeof (mtu_text));
  if (find_nic (nic, sizeof (nic), err) < 0
      || configure_nic (sock, nic, cidr, (unsigned) strtoul (mtu_text, NULL, 10), err) < 0)
    return -1;
  if (strcmp (gw, "none") != 0 && add_default_route (sock, nic, gw, err) < 0)
    return -1;
  kc_log_info ("network: %s %s, gateway %s, mtu %s", nic, cidr, gw, mtu_text);
  return 0;
}
