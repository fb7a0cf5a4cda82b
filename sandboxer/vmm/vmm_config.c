/* [vmm] config keys and their defaults; accel "auto" picks KVM only on a usable, non-PVM host. */
#include "vmm_config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "toml.h"

static struct vmm_config config = { .memory_mib = 256, .vcpus = 1, .boot_timeout_secs = 30 };

const struct vmm_host_paths vmm_host_default_paths
    = { .kvm_dev = "/dev/kvm", .pvm_module = "/sys/module/kvm_pvm", .cpuinfo = "/proc/cpuinfo" };

void
vmm_config_init (struct vmm_config *cfg)
{
  *cfg = (struct vmm_config){ .memory_mib = 256, .vcpus = 1, .boot_timeout_secs = 30 };
}

void
vmm_config_clear (struct vmm_config *cfg)
{
  free (cfg->kernel);
  free (cfg->initrd);
  free (cfg->qemu);
  free (cfg->accel);
  free (cfg->machine);
  free (cfg->share);
  free (cfg->channel);
  free (cfg->vhost_device_vsock);
  free (cfg->virtiofsd);
  vmm_config_init (cfg);
}

const struct vmm_config *
vmm_config_get (void)
{
  return &config;
}

static int
set_string (char **slot, const char *key, const struct kc_toml_value *v, int line, kc_error_t *err)
{
  if (v->type != KC_TOML_STRING || v->str[0] == '\0')
    return kc_error_code (err, KC_INVALID_ARGUMENT, "line %d: [vmm] %s must be a non-empty string", line, key);
  free (*slot);
  *slot = strdup (v->str);
  return *slot ? 0 : kc_error (err, ENOMEM, "strdup");
}

static int
set_uint (unsigned *slot, const char *key, const struct kc_toml_value *v, int line, long max, kc_error_t *err)
{
  if (v->type != KC_TOML_INT || v->integer < 1 || v->integer > max)
    return kc_error_code (err, KC_INVALID_ARGUMENT, "line %d: [vmm] %s must be an integer from 1 to %ld", line, key,
                          max);
  *slot = (unsigned) v->integer;
  return 0;
}

/* A string key whose value must be one of choices (NULL-terminated). */
static int
set_choice (char **slot, const char *key, const struct kc_toml_value *v, int line, const char *const *choices,
            const char *expect, kc_error_t *err)
{
  if (set_string (slot, key, v, line, err) < 0)
    return -1;
  for (size_t i = 0; choices[i] != NULL; i++)
    if (strcmp (*slot, choices[i]) == 0)
      return 0;
  return kc_error_code (err, KC_INVALID_ARGUMENT, "line %d: [vmm] %s must be %s, not `%s`", line, key, expect, *slot);
}

static const char *const accel_choices[] = { "auto", "kvm", "tcg", NULL };
static const char *const machine_choices[] = { "auto", "microvm", "q35", NULL };
static const char *const share_choices[] = { "auto", "9p", "virtiofs", NULL };
static const char *const channel_choices[] = { "auto", "virtio-serial", "vsock", "hvsock", NULL };

static int
on_key (const char *table, const char *key, const struct kc_toml_value *v, int line, void *userdata, kc_error_t *err)
{
  struct vmm_config *c = userdata;
  if (strcmp (table, "vmm") != 0)
    return 0;
  if (strcmp (key, "kernel") == 0)
    return set_string (&c->kernel, key, v, line, err);
  if (strcmp (key, "initrd") == 0)
    return set_string (&c->initrd, key, v, line, err);
  if (strcmp (key, "qemu") == 0)
    return set_string (&c->qemu, key, v, line, err);
  if (strcmp (key, "accel") == 0)
    return set_choice (&c->accel, key, v, line, accel_choices, "auto, kvm or tcg", err);
  if (strcmp (key, "machine") == 0)
    return set_choice (&c->machine, key, v, line, machine_choices, "auto, microvm or q35", err);
  if (strcmp (key, "share") == 0)
    return set_choice (&c->share, key, v, line, share_choices, "auto, 9p or virtiofs", err);
  if (strcmp (key, "channel") == 0)
    return set_choice (&c->channel, key, v, line, channel_choices, "auto, virtio-serial, vsock or hvsock", err);
  if (strcmp (key, "vhost_device_vsock") == 0)
    return set_string (&c->vhost_device_vsock, key, v, line, err);
  if (strcmp (key, "virtiofsd") == 0)
    return set_string (&c->virtiofsd, key, v, line, err);
  if (strcmp (key, "memory_mib") == 0)
    return set_uint (&c->memory_mib, key, v, line, 65536, err);
  if (strcmp (key, "vcpus") == 0)
    return set_uint (&c->vcpus, key, v, line, 64, err);
  if (strcmp (key, "boot_timeout_secs") == 0)
    return set_uint (&c->boot_timeout_secs, key, v, line, 600, err);
  return 0; /* the core warns about keys neither of us knows */
}

const char *const vmm_config_keys[]
    = { "kernel", "initrd", "qemu", "accel", "machine", "share", "channel", "virtiofsd", "vhost_device_vsock", "memory_mib", "vcpus", "boot_timeout_secs",
        NULL };

/* The initramfs meson builds next to us (build tree), else an installed one. */
static char *
default_initrd (void)
{
  char self[PATH_MAX], *slash, *p = NULL;
  ssize_t n = readlink ("/proc/self/exe", self, sizeof (self) - 1);
  if (n > 0)
    {
      self[n] = '\0';
      if ((slash = strrchr (self, '/')) != NULL)
        *slash = '\0';
      if (asprintf (&p, "%s/guest/kuasar-guest.initrd", self) >= 0 && access (p, R_OK) == 0)
        return p;
      free (p);
      if (asprintf (&p, "%s/../share/kuasar/kuasar-guest.initrd", self) >= 0 && access (p, R_OK) == 0)
        return p;
      free (p);
    }
  return strdup ("/opt/kuasar-c/kuasar-guest.initrd");
}

int
vmm_config_parse (struct vmm_config *cfg, const char *buf, size_t len, kc_error_t *err)
{
  return kc_toml_parse (buf, len, on_key, cfg, err);
}

int
vmm_config_load (const char *path, kc_error_t *err)
{
  if (path != NULL)
    {
      cleanup_free char *buf = NULL;
      size_t len;
      if (kc_read_file (path, &buf, &len, err) < 0 || vmm_config_parse (&config, buf, len, err) < 0)
        return kc_error_wrap (err, "config `%s`", path);
    }
  if (config.kernel == NULL && (config.kernel = strdup (VMM_DEFAULT_KERNEL)) == NULL)
    return kc_error (err, ENOMEM, "strdup");
  if (config.initrd == NULL && (config.initrd = default_initrd ()) == NULL)
    return kc_error (err, ENOMEM, "initrd path");
  if (config.virtiofsd == NULL && (config.virtiofsd = strdup (VMM_DEFAULT_VIRTIOFSD)) == NULL)
    return kc_error (err, ENOMEM, "strdup");
  if (config.vhost_device_vsock == NULL && (config.vhost_device_vsock = strdup (VMM_DEFAULT_VHOST_VSOCK)) == NULL)
    return kc_error (err, ENOMEM, "strdup");
  char **autos[] = { &config.accel, &config.machine, &config.share, &config.channel };
  for (size_t i = 0; i < sizeof (autos) / sizeof (autos[0]); i++)
    if (*autos[i] == NULL && (*autos[i] = strdup ("auto")) == NULL)
      return kc_error (err, ENOMEM, "strdup");
  return 0;
}

int
vmm_config_default_qemu (const char *path, kc_error_t *err)
{
  if (config.qemu != NULL || path == NULL)
    return 0;
  config.qemu = strdup (path);
  return config.qemu ? 0 : kc_error (err, ENOMEM, "strdup");
}

static int
cpu_has_virt (const char *cpuinfo)
{
  cleanup_free char *buf = NULL;
  size_t len;
  if (kc_read_file (cpuinfo, &buf, &len, NULL) < 0)
    return 0;
  return strstr (buf, " vmx") != NULL || strstr (buf, " svm") != NULL;
}

const char *
vmm_accel_resolve_at (const char *accel, const struct vmm_host_paths *paths)
{
  if (strcmp (accel, "auto") != 0)
    return accel;
  int fd = open (paths->kvm_dev, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return "tcg";
  close (fd);
  if (access (paths->pvm_module, F_OK) == 0 || !cpu_has_virt (paths->cpuinfo))
    return "tcg";
  return "kvm";
}

const char *
vmm_accel_resolve (const char *accel)
{
  return vmm_accel_resolve_at (accel, &vmm_host_default_paths);
}
