"""CRI client generated at test time from the CRI api.proto (runtime.v1) with grpc_tools.protoc
into $KC_BUILD_DIR/e2e-cri/<sha of the proto>/ (never committed), plus the pod and container
configs kubelet would send and helpers to wait on states and read CRI log files."""
import hashlib
import importlib
import os
import shutil
import sys
import time
import uuid

from . import util

_api = None


def api():
    """The generated (api_pb2, api_pb2_grpc) modules."""
    global _api
    if _api is not None:
        return _api
    try:
        import grpc  # noqa: F401 - checked here so the message names the packages
        from grpc_tools import protoc
    except ImportError as e:
        raise util.HarnessError(f"{e}: run the e2e tests with /usr/bin/python3 and install python3-grpcio "
                                "python3-grpc-tools python3-protobuf (scripts/setup.sh)")
    if not os.path.isfile(util.CRI_PROTO):
        raise util.HarnessError(f"{util.CRI_PROTO} is missing: run scripts/setup.sh (it installs the CRI api.proto)")
    with open(util.CRI_PROTO, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    out = os.path.join(util.build_dir(), "e2e-cri", digest)
    if not os.path.isfile(os.path.join(out, "api_pb2_grpc.py")):
        tmp = f"{out}.tmp{os.getpid()}"
        os.makedirs(tmp, exist_ok=True)
        shutil.copy(util.CRI_PROTO, os.path.join(tmp, "api.proto"))
        well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
        args = ["protoc", f"-I{tmp}", f"--python_out={tmp}", f"--grpc_python_out={tmp}", "api.proto"]
        if os.path.isdir(well_known):
            args.insert(1, f"-I{well_known}")
        if protoc.main(args) != 0:
            raise util.HarnessError(f"grpc_tools.protoc failed on {util.CRI_PROTO}")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        try:
            os.rename(tmp, out)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # a concurrent run won the race
    sys.path.insert(0, out)
    try:
        pb2 = importlib.import_module("api_pb2")
        pb2_grpc = importlib.import_module("api_pb2_grpc")
    finally:
        sys.path.remove(out)
    _api = (pb2, pb2_grpc)
    return _api


# kubelet's defaults (pkg/securitycontext): what it masks and makes read-only in every container.
DEFAULT_MASKED_PATHS = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                        "/sys/firmware", "/sys/devices/virtual/powercap"]
DEFAULT_READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


class Pod:
    """A pod created through CRI: its id and the exact config it was created with (CreateContainer
    needs it again, as kubelet sends it)."""

    def __init__(self, cri, pod_id, config, runtime_handler):
        self.cri = cri
        self.id = pod_id
        self.config = config
        self.runtime_handler = runtime_handler

    @property
    def log_directory(self):
        return self.config.log_directory

    def create_container(self, name, image, **kw):
        return self.cri.create_container(self, name, image, **kw)

    def status(self, verbose=False):
        return self.cri.pod_status(self.id, verbose)

    def stop(self):
        self.cri.stop_pod(self.id)

    def remove(self):
        self.cri.remove_pod(self.id)


class Container:
    def __init__(self, cri, pod, container_id, config):
        self.cri = cri
        self.pod = pod
        self.id = container_id
        self.config = config
        self.log_file = os.path.join(pod.log_directory, config.log_path)

    def start(self):
        self.cri.start_container(self.id)
        return self

    def status(self):
        return self.cri.container_status(self.id)

    def wait(self, state="CONTAINER_EXITED", timeout=30):
        return self.cri.wait_container_state(self.id, state, timeout)

    def log(self, stream=None):
        return read_cri_log(self.log_file, stream)

    def wait_log(self, text, timeout=30, stream=None):
        return util.wait_for(lambda: text in self.log(stream), timeout, what=f"{text!r} in {self.log_file}")

    def exec_sync(self, cmd, timeout=30):
        return self.cri.exec_sync(self.id, cmd, timeout)

    def stop(self, timeout=10):
        self.cri.stop_container(self.id, timeout)

    def remove(self):
        self.cri.remove_container(self.id)


def read_cri_log(path, stream=None):
    """Content of a CRI log file: lines `<RFC3339 time> <stdout|stderr> <F|P> <text>`, prefix stripped,
    partial (P) lines joined with their continuation. `stream` keeps only "stdout" or "stderr"."""
    try:
        with open(path, "r", errors="replace") as f:
            raw = f.read()
    except FileNotFoundError:
        return ""
    out = []
    for line in raw.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 3:
            continue
        strm, tag = parts[1], parts[2]
        text = parts[3] if len(parts) > 3 else ""
        if stream and strm != stream:
            continue
        out.append(text if tag == "P" else text + "\n")
    return "".join(out)


class CRI:
    def __init__(self, address, session=None, default_timeout=60):
        import grpc
        pb2, pb2_grpc = api()
        self.pb = pb2
        self.session = session
        self.timeout = default_timeout
        self.channel = grpc.insecure_channel("unix://" + address)
        self.runtime = pb2_grpc.RuntimeServiceStub(self.channel)
        self.images = pb2_grpc.ImageServiceStub(self.channel)

    def _track(self, ident):
        if self.session is not None:
            self.session.ids.add(ident)

    # -- raw RPCs --------------------------------------------------------------------------------
    def version(self):
        return self.runtime.Version(self.pb.VersionRequest(version="v1"), timeout=5)

    def run_pod_sandbox(self, config, runtime_handler=""):
        r = self.runtime.RunPodSandbox(self.pb.RunPodSandboxRequest(config=config, runtime_handler=runtime_handler),
                                       timeout=self.timeout)
        self._track(r.pod_sandbox_id)
        return r.pod_sandbox_id

    def pod_status(self, pod_id, verbose=False):
        return self.runtime.PodSandboxStatus(self.pb.PodSandboxStatusRequest(pod_sandbox_id=pod_id, verbose=verbose),
                                             timeout=self.timeout)

    def stop_pod(self, pod_id):
        self.runtime.StopPodSandbox(self.pb.StopPodSandboxRequest(pod_sandbox_id=pod_id), timeout=self.timeout)

    def remove_pod(self, pod_id):
        self.runtime.RemovePodSandbox(self.pb.RemovePodSandboxRequest(pod_sandbox_id=pod_id), timeout=self.timeout)

    def list_pods(self, **filter_kw):
        f = self.pb.PodSandboxFilter(**filter_kw) if filter_kw else None
        return list(self.runtime.ListPodSandbox(self.pb.ListPodSandboxRequest(filter=f), timeout=self.timeout).items)

    def create_container_raw(self, pod_id, config, sandbox_config):
        r = self.runtime.CreateContainer(self.pb.CreateContainerRequest(
            pod_sandbox_id=pod_id, config=config, sandbox_config=sandbox_config), timeout=self.timeout)
        self._track(r.container_id)
        return r.container_id

    def start_container(self, cid):
        self.runtime.StartContainer(self.pb.StartContainerRequest(container_id=cid), timeout=self.timeout)

    def container_status(self, cid, verbose=False):
        return self.runtime.ContainerStatus(self.pb.ContainerStatusRequest(container_id=cid, verbose=verbose),
                                            timeout=self.timeout).status

    def stop_container(self, cid, timeout=10):
        self.runtime.StopContainer(self.pb.StopContainerRequest(container_id=cid, timeout=timeout),
                                   timeout=self.timeout + timeout)

    def remove_container(self, cid):
        self.runtime.RemoveContainer(self.pb.RemoveContainerRequest(container_id=cid), timeout=self.timeout)

    def exec_sync(self, cid, cmd, timeout=30):
        return self.runtime.ExecSync(self.pb.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=timeout),
                                     timeout=timeout + 10)

    def list_containers(self, **filter_kw):
        f = self.pb.ContainerFilter(**filter_kw) if filter_kw else None
        return list(self.runtime.ListContainers(self.pb.ListContainersRequest(filter=f), timeout=self.timeout).containers)

    def container_stats(self, cid):
        return self.runtime.ContainerStats(self.pb.ContainerStatsRequest(container_id=cid), timeout=self.timeout).stats

    def list_images(self):
        return list(self.images.ListImages(self.pb.ListImagesRequest(), timeout=self.timeout).images)

    # -- kubelet-like configs --------------------------------------------------------------------
    def pod_config(self, name, *, host_network=False, namespace="e2e", uid=None, attempt=0,
                   labels=None, annotations=None, hostname=None, log_root=None, pid_mode="CONTAINER"):
        pb = self.pb
        uid = uid or str(uuid.uuid4())
        log_root = log_root or os.path.join(self.session.tmp if self.session else "/tmp", "pod-logs")
        log_dir = os.path.join(log_root, f"{namespace}_{name}_{uid}")
        os.makedirs(log_dir, exist_ok=True)
        ns_mode = pb.NamespaceMode.Value
        cgroup_parent = (f"{self.session.cgroup_parent}/pod{uid}" if self.session else f"/kc-e2e/pod{uid}")
        return pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace=namespace, attempt=attempt),
            hostname="" if host_network else (hostname or name),
            log_directory=log_dir,
            dns_config=pb.DNSConfig(servers=[], searches=[], options=[]),
            labels={"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace,
                    "io.kubernetes.pod.uid": uid, **(labels or {})},
            annotations={"kubernetes.io/config.source": "api", "kc.test/case": name, **(annotations or {})},
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=cgroup_parent,
                security_context=pb.LinuxSandboxSecurityContext(
                    namespace_options=pb.NamespaceOption(
                        network=ns_mode("NODE") if host_network else ns_mode("POD"),
                        pid=ns_mode(pid_mode), ipc=ns_mode("POD")),
                    seccomp=pb.SecurityProfile(profile_type=pb.SecurityProfile.ProfileType.Value("Unconfined")),
                ),
                sysctls={},
            ),
        )

    def container_config(self, pod_config, name, image, *, command=None, args=None, env=None,
                         attempt=0, labels=None, annotations=None, working_dir="", memory_limit=0):
        pb = self.pb
        os.makedirs(os.path.join(pod_config.log_directory, name), exist_ok=True)
        pod_ns = pod_config.linux.security_context.namespace_options
        host_network = pod_ns.network == pb.NamespaceMode.Value("NODE")
        ns_mode = pb.NamespaceMode.Value
        return pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name, attempt=attempt),
            image=pb.ImageSpec(image=image),
            command=command or [], args=args or [], working_dir=working_dir,
            envs=[pb.KeyValue(key=k, value=v) for k, v in (env or {}).items()],
            labels={"io.kubernetes.container.name": name, **(labels or {})},
            annotations={"io.kubernetes.container.restartCount": str(attempt),
                         "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
                         **(annotations or {})},
            log_path=f"{name}/{attempt}.log",
            linux=pb.LinuxContainerConfig(
                resources=pb.LinuxContainerResources(cpu_shares=2, cpu_period=100000,
                                                     memory_limit_in_bytes=memory_limit, oom_score_adj=1000),
                security_context=pb.LinuxContainerSecurityContext(
                    namespace_options=pb.NamespaceOption(
                        network=ns_mode("NODE") if host_network else ns_mode("POD"),
                        pid=pod_ns.pid, ipc=ns_mode("POD")),
                    run_as_user=pb.Int64Value(value=0),
                    masked_paths=DEFAULT_MASKED_PATHS, readonly_paths=DEFAULT_READONLY_PATHS,
                    seccomp=pb.SecurityProfile(profile_type=pb.SecurityProfile.ProfileType.Value("Unconfined")),
                ),
            ),
        )

    # -- high level --------------------------------------------------------------------------------
    def run_pod(self, name, runtime_handler="runc", **kw):
        config = self.pod_config(name, **kw)
        pod_id = self.run_pod_sandbox(config, runtime_handler)
        return Pod(self, pod_id, config, runtime_handler)

    def create_container(self, pod, name, image, **kw):
        config = self.container_config(pod.config, name, image, **kw)
        cid = self.create_container_raw(pod.id, config, pod.config)
        return Container(self, pod, cid, config)

    def wait_container_state(self, cid, state="CONTAINER_EXITED", timeout=30):
        want = self.pb.ContainerState.Value(state)
        return util.wait_for(lambda: (lambda s: s if s.state == want else None)(self.container_status(cid)),
                             timeout, what=f"container {cid[:12]} to reach {state}")

    def wait_pod_state(self, pod_id, state="SANDBOX_NOTREADY", timeout=30):
        want = self.pb.PodSandboxState.Value(state)
        return util.wait_for(lambda: (lambda s: s if s.status.state == want else None)(self.pod_status(pod_id)),
                             timeout, what=f"pod {pod_id[:12]} to reach {state}")

    def remove_everything(self, timeout=60):
        """What a node drain does: stop and remove every pod (and so every container)."""
        errors = []
        deadline = time.monotonic() + timeout
        for c in self.list_containers():
            self._track(c.id)
        for p in self.list_pods():
            self._track(p.id)
            for step in (self.stop_pod, self.remove_pod):
                try:
                    step(p.id)
                except Exception as e:  # noqa: BLE001 - collected and reported
                    errors.append(f"{step.__name__}({p.id[:12]}): {e}")
            if time.monotonic() > deadline:
                break
        for c in self.list_containers():
            try:
                self.remove_container(c.id)
            except Exception as e:  # noqa: BLE001
                errors.append(f"remove_container({c.id[:12]}): {e}")
        if errors:
            raise util.HarnessError("CRI cleanup failed: " + "; ".join(errors))
