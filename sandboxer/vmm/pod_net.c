/* The pod's netns seen from a short-lived thread that joins it (setns affects only that thread,
   and what it spawns): the interface to mirror, a tap beside it, tc redirects between the two. */
#include "pod_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "log.h"

extern char **environ;

struct net_job
{
  const char *netns_path;
  struct vmm_pod_net *net;
  kc_error_t err;
  int ret;
};

static unsigned
prefix_len (const struct sockaddr *mask)
{
  uint32_t m = ntohl (((const struct sockaddr_in *) mask)->sin_addr.s_addr);
  return (unsigned) __builtin_popcount (m);
}

/* The first interface but lo with an IPv4 address: its name and address/prefix. */
static int
find_interface (struct vmm_pod_net *net, kc_error_t *err)
{
  struct ifaddrs *list = NULL;
  int found = 0;
  if (getifaddrs (&list) < 0)
    return kc_error (err, errno, "getifaddrs");
  for (struct ifaddrs *i = list; i != NULL && !found; i = i->ifa_next)
    {
      char ip[INET_ADDRSTRLEN];
      if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK)
          || i->ifa_netmask == NULL || strlen (i->ifa_name) >= sizeof (net->ifname))
        continue;
      inet_ntop (AF_INET, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, ip, sizeof (ip));
      snprintf (net->address, sizeof (net->address), "%s/%u", ip, prefix_len (i->ifa_netmask));
      strcpy (net->ifname, i->ifa_name);
      found = 1;
    }
  freeifaddrs (list);
  return found;
}

int
vmm_pod_net_route_gateway (const char *text, const char *ifname, char *gw, size_t max)
{
  const char *line = strchr (text, '\n'); /* skip the header */
  gw[0] = '\0';
  while (line != NULL && *++line != '\0')
    {
      char iface[IFNAMSIZ + 1];
      unsigned dest, gateway, flags;
      if (sscanf (line, "%16s %x %x %x", iface, &dest, &gateway, &flags) != 4)
        return -1;
      if (dest == 0 && gateway != 0 && strcmp (iface, ifname) == 0)
        {
          struct in_addr a = { .s_addr = gateway }; /* /proc/net/route prints network order as host int */
          return inet_ntop (AF_INET, &a, gw, (socklen_t) max) != NULL ? 0 : -1;
        }
      line = strchr (line, '\n');
    }
  return 0;
}

static int
read_link_info (struct vmm_pod_net *net, kc_error_t *err)
{
  cleanup_close int sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr = { 0 };
  const unsigned char *m;
  if (sock < 0)
    return kc_error (err, errno, "socket");
  strcpy (ifr.ifr_name, net->ifname);
  if (ioctl (sock, SIOCGIFHWADDR, &ifr) < 0)
    return kc_error (err, errno, "MAC of %s", net->ifname);
  m = (const unsigned char *) ifr.ifr_hwaddr.sa_data;
  snprintf (net->mac, sizeof (net->mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  if (ioctl (sock, SIOCGIFMTU, &ifr) < 0)
    return kc_error (err, errno, "MTU of %s", net->ifname);
  net->mtu = (unsigned) ifr.ifr_mtu;
  return 0;
}

static int
read_gateway (struct vmm_pod_net *net, kc_error_t *err)
{
  cleanup_free char *text = NULL;
  size_t len;
  /* thread-self: /proc/self/net is the netns of the thread group leader, not this thread's. */
  if (kc_read_file ("/proc/thread-self/net/route", &text, &len, err) < 0)
    return -1;
  if (vmm_pod_net_route_gateway (text, net->ifname, net->gateway, sizeof (net->gateway)) < 0)
    return kc_error_code (err, KC_INTERNAL, "unexpected /proc/net/route");
  return 0;
}

/* A tap (no persistence: it goes with the last fd, QEMU's), up, with the pod interface's MTU. */
static int
create_tap (struct vmm_pod_net *net, kc_error_t *err)
{
  cleanup_close int fd = open ("/dev/net/tun", O_RDWR | O_CLOEXEC);
  cleanup_close int sock = -1;
  struct ifreq ifr = { 0 };
  if (fd < 0)
    return kc_error_code (err, KC_FAILED_PRECONDITION, "open /dev/net/tun: %s", strerror (errno));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  strcpy (ifr.ifr_name, "kctap%d");
  if (ioctl (fd, TUNSETIFF, &ifr) < 0)
    return kc_error (err, errno, "create a tap device");
  snprintf (net->tap, sizeof (net->tap), "%s", ifr.ifr_name);
  sock = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return kc_error (err, errno, "socket");
  ifr.ifr_mtu = (int) net->mtu;
  if (ioctl (sock, SIOCSIFMTU, &ifr) < 0)
    return kc_error (err, errno, "MTU %u on %s", net->mtu, net->tap);
  if (ioctl (sock, SIOCGIFFLAGS, &ifr) < 0)
    return kc_error (err, errno, "flags of %s", net->tap);
  ifr.ifr_flags |= IFF_UP;
  if (ioctl (sock, SIOCSIFFLAGS, &ifr) < 0)
    return kc_error (err, errno, "bring %s up", net->tap);
  net->tap_fd = steal_fd (&fd);
  return 0;
}

static const char *
tc_binary (void)
{
  static const char *const paths[] = { "/usr/sbin/tc", "/sbin/tc", "/usr/bin/tc", NULL };
  for (size_t i = 0; paths[i] != NULL; i++)
    if (access (paths[i], X_OK) == 0)
      return paths[i];
  return NULL;
}

/* Runs tc with args (from this thread, so in the pod's netns); its stderr goes to ours unless
   may_fail (a delete of what may not exist). */
static int
run_tc (const char *tc, const char *const *args, int may_fail, kc_error_t *err)
{
  char *argv[32];
  size_t n = 0;
  pid_t pid;
  int status, e;
  posix_spawn_file_actions_t fa;
  argv[n++] = (char *) tc;
  for (; args[n - 1] != NULL && n < 31; n++)
    argv[n] = (char *) args[n - 1];
  argv[n] = NULL;
  posix_spawn_file_actions_init (&fa);
  if (may_fail)
    posix_spawn_file_actions_addopen (&fa, 2, "/dev/null", O_WRONLY, 0);
  e = posix_spawn (&pid, tc, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  if (e != 0)
    return kc_error (err, e, "spawn %s", tc);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return kc_error (err, errno, "wait for %s", tc);
  if (may_fail || (WIFEXITED (status) && WEXITSTATUS (status) == 0))
    return 0;
  return kc_error_code (err, KC_INTERNAL, "`tc %s %s %s %s` failed (status %d)", args[0], args[1], args[2], args[3],
                        status);
}

/* Every frame arriving on from leaves through to, both ways. */
static int
redirect (const char *tc, const char *from, const char *to, kc_error_t *err)
{
  const char *del[] = { "qdisc", "del", "dev", from, "ingress", NULL };
  const char *add[] = { "qdisc", "add", "dev", from, "ingress", NULL };
  const char *filter[] = { "filter", "add", "dev", from, "parent", "ffff:", "protocol", "all", "u32", "match",
                           "u8", "0", "0", "action", "mirred", "egress", "redirect", "dev", to, NULL };
  if (run_tc (tc, del, 1, err) < 0 || run_tc (tc, add, 0, err) < 0 || run_tc (tc, filter, 0, err) < 0)
    return -1;
  return 0;
}

static int
setup_in_netns (struct net_job *job)
{
  struct vmm_pod_net *net = job->net;
  const char *tc;
  cleanup_close int ns = open (job->netns_path, O_RDONLY | O_CLOEXEC);
  int found;
  if (ns < 0)
    return kc_error_code (&job->err, errno == ENOENT ? KC_FAILED_PRECONDITION : KC_INTERNAL, "netns `%s`: %s",
                          job->netns_path, strerror (errno));
  if (setns (ns, CLONE_NEWNET) < 0)
    return kc_error (&job->err, errno, "enter netns `%s`", job->netns_path);
  found = find_interface (net, &job->err);
  if (found <= 0)
    return found;
  if (read_link_info (net, &job->err) < 0 || read_gateway (net, &job->err) < 0 || create_tap (net, &job->err) < 0)
    return -1;
  if ((tc = tc_binary ()) == NULL)
    return kc_error_code (&job->err, KC_FAILED_PRECONDITION, "tc not found: install iproute2");
  if (redirect (tc, net->ifname, net->tap, &job->err) < 0 || redirect (tc, net->tap, net->ifname, &job->err) < 0)
    return -1;
  return 0;
}

static void *
job_thread (void *arg)
{
  struct net_job *job = arg;
  job->ret = setup_in_netns (job);
  return NULL;
}

void
vmm_pod_net_close (struct vmm_pod_net *net)
{
  if (net->tap_fd >= 0)
    close (net->tap_fd);
  net->tap_fd = -1;
}

int
vmm_pod_net_open (const char *netns_path, struct vmm_pod_net *net, kc_error_t *err)
{
  struct net_job job = { .netns_path = netns_path, .net = net };
  pthread_t thread;
  int e;
  *net = (struct vmm_pod_net){ .tap_fd = -1 };
  if (netns_path == NULL || netns_path[0] == '\0')
    return 0;
  if ((e = pthread_create (&thread, NULL, job_thread, &job)) != 0)
    return kc_error (err, e, "pod network thread");
  pthread_join (thread, NULL);
  if (job.ret < 0)
    {
      vmm_pod_net_close (net);
      *err = job.err;
      return kc_error_wrap (err, "pod network");
    }
  return 0;
}
