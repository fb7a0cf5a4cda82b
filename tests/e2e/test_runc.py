"""runc pods through a private containerd (1.7 and 2.x): the reference behaviour kuasar pods are
compared with, and a check of the harness itself (CRI client, images, CNI, cleanup).

Run one flavor with KC_E2E_CONTAINERD=1.7 or =2 (meson registers both)."""
import time

import grpc
import pytest


def busybox(containerd):
    return containerd.images["busybox"]


@pytest.fixture(scope="module")
def pod(containerd):
    # containerd 2.1 panics on host-network pods with a *shim* sandboxer; runc pods use podsandbox,
    # but the main pod still follows the shape the kuasar tests will use on each flavor.
    p = containerd.cri.run_pod("runc-main", runtime_handler="runc", host_network=containerd.flavor == "1.7")
    yield p
    try:
        p.stop()
        p.remove()
    except grpc.RpcError:
        pass


def test_pod_is_ready(containerd, pod):
    st = pod.status().status
    assert st.state == containerd.cri.pb.PodSandboxState.Value("SANDBOX_READY")
    assert st.metadata.name == "runc-main"
    assert st.linux.namespaces.options.network == containerd.cri.pb.NamespaceMode.Value(
        "NODE" if containerd.flavor == "1.7" else "POD")
    if containerd.flavor != "1.7":
        assert st.network.ip.startswith("10.251."), st.network
    assert [p.id for p in containerd.cri.list_pods()] == [pod.id]


def test_container_log_and_exit_code(containerd, pod):
    c = pod.create_container("echo", busybox(containerd), command=["sh", "-c"],
                             args=["echo hello-stdout $GREETING; echo hello-stderr >&2; exit 7"],
                             env={"GREETING": "from-env"})
    c.start()
    st = c.wait("CONTAINER_EXITED", timeout=30)
    assert st.exit_code == 7
    assert st.reason == "Error"
    # containerd stamps started_at when the Start call returns: a process that exits at once can
    # finish a fraction of a millisecond "before" it. Both come after creation.
    assert st.finished_at >= st.created_at > 0 and st.started_at >= st.created_at
    # The exit can be reported before the last log line is copied: wait for the lines, then compare.
    c.wait_log("hello-stdout from-env\n", stream="stdout")
    c.wait_log("hello-stderr\n", stream="stderr")
    assert c.log("stdout") == "hello-stdout from-env\n"
    assert c.log("stderr") == "hello-stderr\n"
    c.remove()
    assert c.id not in [x.id for x in containerd.cri.list_containers()]


def test_exec_sync_stats_and_stop(containerd, pod):
    c = pod.create_container("long", busybox(containerd), command=["sh", "-c"],
                             args=["trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.2; done"])
    c.start()
    c.wait("CONTAINER_RUNNING", timeout=30)
    c.wait_log("ready")

    r = c.exec_sync(["sh", "-c", "echo exec-out; echo exec-err >&2; exit 3"])
    assert (r.exit_code, r.stdout, r.stderr) == (3, b"exec-out\n", b"exec-err\n")
    r = c.exec_sync(["cat", "/proc/1/cmdline"])
    assert r.exit_code == 0 and r.stdout.startswith(b"sh\0-c\0")

    stats = containerd.cri.container_stats(c.id)
    assert stats.attributes.id == c.id
    assert stats.memory.working_set_bytes.value > 0

    names = {x.metadata.name for x in containerd.cri.list_containers(pod_sandbox_id=pod.id)}
    assert "long" in names

    t0 = time.monotonic()
    c.stop(timeout=10)
    assert time.monotonic() - t0 < 8
    st = c.status()
    assert st.state == containerd.cri.pb.ContainerState.Value("CONTAINER_EXITED")
    assert st.exit_code == 0
    c.wait_log("got-term\n")
    c.remove()


def test_stop_exit_codes_like_runc(containerd):
    """What kuasar has to mimic: a process killed by SIGTERM reports 143; one that ignores SIGTERM
    is SIGKILLed after the grace period and reports 137. (In its own pid namespace the container's
    pid 1 ignores SIGTERM unless it handles it, so the 143 case shares the pod's pid namespace.)"""
    cri = containerd.cri
    p = cri.run_pod("runc-pidns", runtime_handler="runc", host_network=containerd.flavor == "1.7", pid_mode="POD")
    try:
        killed = p.create_container("killed-by-term", busybox(containerd), command=["sleep", "100000"]).start()
        ignoring = p.create_container("ignores-term", busybox(containerd), command=["sh", "-c"],
                                      args=["trap '' TERM; echo ready; while true; do sleep 0.2; done"]).start()
        killed.wait("CONTAINER_RUNNING")
        ignoring.wait_log("ready")

        t0 = time.monotonic()
        killed.stop(timeout=10)
        assert time.monotonic() - t0 < 9  # SIGTERM did it, not the SIGKILL after the grace period
        st = killed.status()
        assert (st.exit_code, st.reason) == (143, "Error")

        t0 = time.monotonic()
        ignoring.stop(timeout=2)
        elapsed = time.monotonic() - t0
        assert 1.5 < elapsed < 8, elapsed
        st = ignoring.status()
        assert (st.exit_code, st.reason) == (137, "Error")
    finally:
        p.stop()
        p.remove()


@pytest.mark.parametrize("host_network", [True, False], ids=["host-network", "pod-netns"])
def test_pod_network_modes(containerd, host_network):
    """Both network shapes work for runc pods on both flavors (2.x's host-network panic is specific
    to shim sandboxers)."""
    cri = containerd.cri
    p = cri.run_pod(f"runc-net-{'host' if host_network else 'pod'}", runtime_handler="runc",
                    host_network=host_network)
    try:
        st = p.status().status
        assert st.state == cri.pb.PodSandboxState.Value("SANDBOX_READY")
        c = p.create_container("ip", busybox(containerd), command=["ip", "-o", "addr"]).start()
        assert c.wait().exit_code == 0
        log = c.log()
        if host_network:
            assert st.network.ip == ""
            assert "10.251." not in log
        else:
            assert st.network.ip.startswith("10.251.")
            assert f"inet {st.network.ip}/16" in log
    finally:
        p.stop()
        p.remove()


def test_stop_and_remove_pod(containerd, pod):
    cri = containerd.cri
    c = pod.create_container("left-running", busybox(containerd), command=["sleep", "100000"]).start()
    c.wait("CONTAINER_RUNNING")
    pod.stop()
    assert pod.status().status.state == cri.pb.PodSandboxState.Value("SANDBOX_NOTREADY")
    assert c.status().state == cri.pb.ContainerState.Value("CONTAINER_EXITED")
    pod.remove()
    assert cri.list_pods() == []
    assert cri.list_containers() == []
    with pytest.raises(grpc.RpcError) as e:
        cri.pod_status(pod.id)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_zz_nothing_left(containerd, e2e_session):
    containerd.cri.remove_everything()
    left = e2e_session.leaks_besides_daemons()
    assert not left, "left behind after every pod was removed:\n" + "\n".join(left)
