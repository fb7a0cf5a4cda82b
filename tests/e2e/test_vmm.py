"""kuasar-vmm pods through a private containerd 1.7 (sandbox_mode = "shim") or 2.x (sandboxer = "shim":
JSON v3 start, Task v3), as KC_E2E_CONTAINERD selects: containerd -> containerd-shim-kuasar-vmm-v2 ->
vmm-sandboxer -> QEMU micro-VM (TCG here) -> vmm-task. Host-network pods on 1.7 (pods in a CNI netns on
2.x, where 2.1 panics on host-network shim-sandboxer pods), and one with a pod network on both (the
guest's NIC mirrors the CNI's interface).

Needs scripts/setup-vmm.sh (guest kernel) and, in $KC_BUILD_DIR, shim/containerd-shim-kuasar-vmm-v2,
sandboxer/vmm/vmm-sandboxer and sandboxer/vmm/guest/kuasar-guest.initrd."""
import json
import os
import signal
import subprocess
import time

import grpc
import pytest

from kuasar_e2e.vmm import alive, host_network, processes_of, qemu_pid_of, wait_until
from kuasar_e2e.metrics import METRICS_TYPE, cgroups_of, controller_metrics, in_pod_cgroup, pod_cgroup_dirs, pod_cgroup_rel
from kuasar_e2e.vmm import record

HANDLER = "kuasar-vmm"


@pytest.fixture(scope="module")
def vmm(vmm_sandboxer, containerd):
    containerd.require_kuasar("vmm")
    return containerd


@pytest.fixture(scope="module")
def pod(vmm):
    t0 = time.monotonic()
    p = vmm.cri.run_pod("vmm-main", runtime_handler=HANDLER, host_network=host_network(vmm))
    print(f"RunPodSandbox -> READY: {time.monotonic() - t0:.2f} s")
    yield p
    try:
        p.stop()
        p.remove()
    except grpc.RpcError:
        pass


def qemu_pids(vmm_sandboxer):
    return processes_of(vmm_sandboxer.dir, b"qemu-system")


def test_pod_is_ready(vmm, pod, vmm_sandboxer):
    st = pod.status(verbose=True).status
    assert st.state == vmm.cri.pb.PodSandboxState.Value("SANDBOX_READY")
    assert len(qemu_pids(vmm_sandboxer)) == 1


def test_echo_log_and_exit_code(vmm, pod):
    t0 = time.monotonic()
    c = pod.create_container("hello", vmm.images["busybox"], command=["sh", "-c"],
                             args=["echo hello from vmm; exit 7"]).start()
    print(f"CreateContainer+Start: {time.monotonic() - t0:.2f} s")
    st = c.wait("CONTAINER_EXITED", timeout=60)
    assert st.exit_code == 7
    c.wait_log("hello from vmm\n", stream="stdout", timeout=20)
    c.remove()


def test_exec_sync_and_stop(vmm, pod):
    c = pod.create_container("sleeper", vmm.images["busybox"], command=["sleep", "1000"]).start()
    c.wait("CONTAINER_RUNNING", timeout=60)
    r = c.exec_sync(["echo", "hi"], timeout=30)
    assert r.exit_code == 0
    assert r.stdout == b"hi\n"
    c.stop(timeout=5)
    st = c.wait("CONTAINER_EXITED", timeout=30)
    assert st.exit_code == 137
    c.remove()


def assert_pod_gone(vmm_sandboxer, pod_id, qemu_pid):
    assert not alive(qemu_pid)
    with open("/proc/self/mountinfo") as f:
        assert os.path.join(vmm_sandboxer.dir, pod_id) not in f.read()
    assert not os.path.exists(os.path.join(vmm_sandboxer.dir, pod_id))


def test_sandboxer_kill9_and_restart_keeps_pod(vmm, pod, vmm_sandboxer):
    c = pod.create_container("survivor", vmm.images["busybox"], command=["sleep", "1000"]).start()
    c.wait("CONTAINER_RUNNING", timeout=60)
    qemu = qemu_pid_of(vmm_sandboxer, pod.id)
    vmm_sandboxer.kill9()
    assert alive(qemu), "QEMU must survive a sandboxer crash (own session)"
    vmm_sandboxer.start()
    wait_until(lambda: pod.status().status.state == vmm.cri.pb.PodSandboxState.Value("SANDBOX_READY"), 30,
               "the pod READY after the sandboxer restart")
    r = c.exec_sync(["echo", "still here"], timeout=30)
    assert r.exit_code == 0 and r.stdout == b"still here\n"
    assert qemu_pid_of(vmm_sandboxer, pod.id) == qemu and alive(qemu)
    c.stop(timeout=5)
    c.wait("CONTAINER_EXITED", timeout=30)
    c.remove()


def test_qemu_kill9_pod_notready_then_removed(vmm, vmm_sandboxer):
    p = vmm.cri.run_pod("vmm-qkill", runtime_handler=HANDLER, host_network=host_network(vmm))
    c = p.create_container("victim", vmm.images["busybox"], command=["sleep", "1000"]).start()
    c.wait("CONTAINER_RUNNING", timeout=60)
    qemu = qemu_pid_of(vmm_sandboxer, p.id)
    os.kill(qemu, signal.SIGKILL)
    wait_until(lambda: p.status().status.state == vmm.cri.pb.PodSandboxState.Value("SANDBOX_NOTREADY"), 30,
               "the pod NOTREADY after QEMU was killed")
    st = c.wait("CONTAINER_EXITED", timeout=60)
    assert st.exit_code == 137
    with open(os.path.join(vmm_sandboxer.dir, p.id, "sandbox.json")) as f:
        rec = json.load(f)
    assert rec["state"] == "notready" and rec["exit_status"] == 137
    c.remove()
    p.stop()
    p.remove()
    assert_pod_gone(vmm_sandboxer, p.id, qemu)


def netns_run(netns, *cmd):
    return subprocess.run(["nsenter", f"--net={netns}", *cmd], check=True, capture_output=True, text=True)


def test_pod_network_reaches_the_guest(vmm, vmm_sandboxer, tmp_path):
    """A pod with its own netns (the test CNI: eth0 with an address, its veth peer kc-peer0 in the same
    netns): the guest's NIC takes eth0's MAC and address, and tc redirects carry frames both ways.
    kc-peer0 moves to a peer netns holding the gateway address and an HTTP server, which a container
    in the VM reaches with wget."""
    p = vmm.cri.run_pod("vmm-net", runtime_handler=HANDLER)
    peer = f"kc-vmm-peer-{os.getpid()}"
    server = None
    try:
        pod_ip = p.status().status.network.ip
        with open(os.path.join(vmm_sandboxer.dir, p.id, "sandbox.json")) as f:
            netns = json.load(f)["netns_path"]
        assert pod_ip and netns, (pod_ip, netns)
        gateway = ".".join(pod_ip.split(".")[:2] + ["0", "1"])  # kc-test-cni: 10.251.0.0/16, gateway .1
        subprocess.run(["ip", "netns", "add", peer], check=True)
        netns_run(netns, "ip", "link", "set", "kc-peer0", "netns", peer)
        peer_ns = f"/run/netns/{peer}"
        netns_run(peer_ns, "ip", "addr", "add", f"{gateway}/16", "dev", "kc-peer0")
        netns_run(peer_ns, "ip", "link", "set", "kc-peer0", "up")
        (tmp_path / "ping.txt").write_text("pong from the peer\n")
        server = subprocess.Popen(["nsenter", f"--net={peer_ns}", "/usr/bin/python3", "-m", "http.server", "8080",
                                   "--bind", gateway, "--directory", str(tmp_path)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        c = p.create_container("net", vmm.images["busybox"], command=["sleep", "1000"]).start()
        c.wait("CONTAINER_RUNNING", timeout=60)
        r = c.exec_sync(["ip", "-4", "addr", "show"], timeout=30)
        assert r.exit_code == 0 and f"inet {pod_ip}/16" in r.stdout.decode(), r.stdout
        r = None
        for _ in range(20):  # the server may still be starting (no -T: Debian's busybox wget -T segfaults)
            r = c.exec_sync(["wget", "-q", "-O", "-", f"http://{gateway}:8080/ping.txt"], timeout=30)
            if r.exit_code == 0:
                break
            time.sleep(0.5)
        assert r.exit_code == 0 and r.stdout == b"pong from the peer\n", (r.exit_code, r.stdout, r.stderr)
        qemu = qemu_pid_of(vmm_sandboxer, p.id)
        c.stop(timeout=5)
        c.wait("CONTAINER_EXITED", timeout=30)
        c.remove()
        p.stop()
        p.remove()
        assert_pod_gone(vmm_sandboxer, p.id, qemu)
    finally:
        if server is not None:
            server.kill()
            server.wait()
        subprocess.run(["ip", "netns", "del", peer], capture_output=True)


def rss_anon_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def test_pod_cgroup_holds_qemu_and_gives_metrics(vmm, vmm_sandboxer):
    """QEMU runs in the pod cgroup <CRI cgroup_parent>/<sandbox id> from before its exec (its anonymous
    memory is all charged there); Controller.Metrics asked of the sandboxer, and CRI PodSandboxStats
    (containerd reads the cgroup_parent, our pod cgroup's parent), report memory and cpu; a sandboxer
    kill -9 + restart changes nothing; Stop removes the pod cgroup."""
    p = vmm.cri.run_pod("vmm-cgroup", runtime_handler=HANDLER, host_network=host_network(vmm))
    rec = record(vmm_sandboxer, p.id)
    qemu = rec["pid"]
    rel = pod_cgroup_rel(rec, "kuasar-vmm")
    assert rec.get("cgroup_parent"), rec
    assert in_pod_cgroup(qemu, rel), (rel, cgroups_of(qemu))
    dirs = pod_cgroup_dirs(rel)
    assert dirs and all(os.path.isdir(d) for d in dirs), dirs

    m = controller_metrics(vmm_sandboxer.address, p.id)
    rss = rss_anon_bytes(qemu)
    print(f"idle vmm pod Metrics: {m}; QEMU RssAnon {rss}")
    assert m["id"] == p.id and m["type_url"] == METRICS_TYPE, m
    assert m["memory_usage"] > 0 and m["cpu_total"] > 0 and m["pids"] >= 1, m
    # Joined before exec: everything QEMU allocated since is charged here (a later move would not
    # carry the charge along on v1), so usage covers its anonymous memory (with slack for the gap
    # between the two reads).
    assert m["memory_usage"] >= rss * 0.9, (m, rss)

    pb = vmm.cri.pb
    st = vmm.cri.runtime.PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=p.id), timeout=30).stats
    print(f"CRI PodSandboxStats: memory working set {st.linux.memory.working_set_bytes.value}, "
          f"cpu {st.linux.cpu.usage_core_nano_seconds.value} ns")
    assert st.attributes.id == p.id
    assert st.linux.memory.working_set_bytes.value > 0 and st.linux.cpu.usage_core_nano_seconds.value > 0

    # Nothing to redo after a sandboxer restart: QEMU stays in its cgroup and Metrics still answers.
    vmm_sandboxer.kill9()
    vmm_sandboxer.start()
    wait_until(lambda: p.status().status.state == pb.PodSandboxState.Value("SANDBOX_READY"), 30,
               "the pod READY after the sandboxer restart")
    assert in_pod_cgroup(qemu, rel)
    m2 = controller_metrics(vmm_sandboxer.address, p.id)
    assert m2["memory_usage"] > 0 and m2["cpu_total"] >= m["cpu_total"], (m, m2)

    p.stop()
    wait_until(lambda: not alive(qemu), 30, "QEMU gone after StopPodSandbox")
    wait_until(lambda: not any(os.path.exists(d) for d in dirs), 10, f"the pod cgroup {rel} removed")
    p.remove()
    assert_pod_gone(vmm_sandboxer, p.id, qemu)
    assert not any(os.path.exists(d) for d in dirs)


def test_stop_remove_pod_leaves_nothing(vmm, pod, vmm_sandboxer):
    pod.stop()
    deadline = time.monotonic() + 30
    while qemu_pids(vmm_sandboxer) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert qemu_pids(vmm_sandboxer) == []
    pod.remove()
    with open("/proc/self/mountinfo") as f:
        assert vmm_sandboxer.dir not in f.read()
    assert not os.path.exists(os.path.join(vmm_sandboxer.dir, pod.id))


def test_zz_nothing_left(vmm, e2e_session):
    vmm.cri.remove_everything()
    left = e2e_session.leaks_besides_daemons()
    assert not left, "left behind after every pod was removed:\n" + "\n".join(left)
