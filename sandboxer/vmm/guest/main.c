/* vmm-task: PID 1 of a kuasar micro-VM. Early init (root switch, mounts, modules, the 9p share), then the
   Task API on the "agent" virtio-serial port (or vsock port 1024, kuasar.channel=vsock|hvsock)
   until Shutdown powers the VM off. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "channel.h"
#include "init.h"
#include "log.h"
#include "net.h"
#include "root_switch.h"
#include "vport.h"

#define KC_VMM_PORT_WAIT_MS 10000

static double
uptime_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_BOOTTIME, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
early_init (char **agent_dev, char **stdio_dev, kc_error_t *err)
{
  /* First: the copy must see the initramfs alone. Its error is logged once the console exists. */
  int switched = kc_init_switch_root (err);

  if (kc_init_mount_basics (switched < 0 ? NULL : err) < 0)
    return -1;
  kc_init_console ();
  if (switched < 0)
    return -1;
  if (kc_init_load_modules (err) < 0)
    return -1;
  if (kc_init_mount_shared (err) < 0 || kc_init_network (err) < 0)
    return -1;
  if (kc_channel_current () == KC_CHANNEL_VSOCK)
    return 0; /* no ports: kc_agent_init listens on vsock */
  if (kc_vport_find ("agent", KC_VMM_PORT_WAIT_MS, agent_dev, err) < 0
      || kc_vport_find ("stdio", KC_VMM_PORT_WAIT_MS, stdio_dev, err) < 0)
    return -1;
  return 0;
}

int
main (int argc, char **argv)
{
  kc_error_t err = NULL;
  char *agent_dev = NULL, *stdio_dev = NULL;
  struct kc_agent agent;
  int level = KC_LOG_INFO;

  kc_init_console ();
  if (getenv ("task.log_level") != NULL && kc_log_level_parse (getenv ("task.log_level")) >= 0)
    level = kc_log_level_parse (getenv ("task.log_level"));
  kc_log_init ("vmm-task", level);
  if (getpid () != 1)
    kc_log_warn ("not PID 1: orphans of the VM are not ours to reap");
  if (early_init (&agent_dev, &stdio_dev, &err) < 0 || kc_agent_init (&agent, agent_dev, stdio_dev, &err) < 0)
    {
      kc_log_error ("vmm-task: %s", err->msg);
      kc_init_power_off ();
    }
  if (agent_dev != NULL)
    kc_log_info ("vmm-task ready at %.3f s of uptime (agent %s, stdio %s)", uptime_s (), agent_dev, stdio_dev);
  else
    kc_log_info ("vmm-task ready at %.3f s of uptime (vsock ports %d task, %d stdio)", uptime_s (),
                 KC_VSOCK_TASK_PORT, KC_VSOCK_STDIO_PORT);
  if (kc_agent_run (&agent, &err) < 0)
    kc_log_error ("vmm-task: %s", err->msg);
  kc_agent_fini (&agent);
  free (agent_dev);
  free (stdio_dev);
  kc_init_power_off ();
}
