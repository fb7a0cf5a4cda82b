/* Our ttrpc client publishes a containerd.events.TaskExit through
   containerd.services.events.ttrpc.v1.Events/Forward to a real containerd 1.7, and
   `ctr events` (subscribed over gRPC) sees it. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events.pb-c.h"
#include "events_service.pb-c.h"
#include "harness.h"
#include "ttrpc/ttrpc.h"

static pid_t
spawn_ctr_events (struct containerd *c, const char *out)
{
  pid_t pid = fork ();

  if (pid == 0)
    {
      int fd = open (out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (fd < 0 || dup2 (fd, 1) < 0)
        _exit (127);
      execlp ("ctr", "ctr", "--address", c->grpc_sock, "events", (char *) NULL);
      fprintf (stderr, "exec ctr: %m (install containerd's ctr on PATH)\n");
      _exit (127);
    }
  return pid;
}

static int
forward_exit (struct containerd *c, const char *id, kc_error_t *err)
{
  Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  Containerd__Services__Events__Ttrpc__V1__Envelope env = CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
  Containerd__Services__Events__Ttrpc__V1__ForwardRequest req
      = CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
  uint8_t buf[512], *reply = NULL;
  size_t len = 0;
  char addr[200];
  int ret;

  ts.seconds = time (NULL);
  ev.container_id = (char *) id;
  ev.id = (char *) id;
  ev.pid = 4242;
  ev.exit_status = 7;
  ev.exited_at = &ts;
  any.type_url = "containerd.events.TaskExit";
  any.value.len = containerd__events__task_exit__pack (&ev, buf);
  any.value.data = buf;
  env.timestamp = &ts;
  env.namespace_ = "default";
  env.topic = "/tasks/exit";
  env.event = &any;
  req.envelope = &env;
  snprintf (addr, sizeof addr, "unix://%s", c->ttrpc_sock);
  ret = kc_ttrpc_call_sync (addr, "containerd.services.events.ttrpc.v1.Events", "Forward", &req.base, 5000000000LL,
                            &reply, &len, err);
  free (reply);
  return ret;
}

static int
file_has (const char *path, const char *a, const char *b)
{
  char line[4096];
  FILE *f = fopen (path, "re");
  int found = 0;

  if (f == NULL)
    return 0;
  while (!found && fgets (line, sizeof line, f) != NULL)
    found = strstr (line, a) != NULL && strstr (line, b) != NULL;
  fclose (f);
  return found;
}

int
main (void)
{
  struct containerd c;
  kc_error_t err = NULL;
  char out[200], id[64];
  pid_t ctr = -1;
  int rc = 1, seen = 0, status;

  if (harness_start (&c) < 0)
    goto fail;
  snprintf (out, sizeof out, "%s/events.txt", c.dir);
  snprintf (id, sizeof id, "kc-interop-%d", (int) getpid ());
  ctr = spawn_ctr_events (&c, out);
  CHECK (ctr > 0, "fork");
  /* ctr subscribes asynchronously: publish until it reports the event (10 s at most) */
  for (int i = 0; i < 50 && !seen; i++)
    {
      CHECK (forward_exit (&c, id, &err) == 0, "Forward: %s", err->msg);
      usleep (200000);
      seen = file_has (out, "/tasks/exit", id);
      CHECK (waitpid (ctr, &status, WNOHANG) == 0, "ctr events exited (status %d)", status);
    }
  CHECK (seen, "`ctr events` never showed /tasks/exit for %s", id);
  CHECK (file_has (out, id, "4242"), "the event lost its pid");
  printf ("PASS\n");
  rc = 0;
fail:
  if (ctr > 0)
    {
      kill (ctr, SIGKILL);
      waitpid (ctr, &status, 0);
    }
  if (rc != 0 && c.pid > 0)
    harness_dump_log (&c);
  kc_error_free (&err);
  harness_stop (&c);
  return rc;
}
