"""kuasar-vmm pods over the vsock channel ([vmm] channel = "hvsock": vhost-user-vsock served by a
per-VM vhost-device-vsock, docs/vmm.md "Channels") through a private containerd 1.7: readiness,
stdio through the guest's vsock stdio port, exec, a sandboxer kill -9 + restart, a QEMU kill -9,
and nothing left behind (no QEMU, no vhost-device-vsock, no socket or dir).

Kernel vhost-vsock (channel = "vsock") needs /dev/vhost-vsock, absent here: unit-tested only."""
import os
import shutil
import signal
import time

import pytest

from kuasar_e2e.vmm import alive, processes_of, record, wait_until
from kuasar_e2e.metrics import in_pod_cgroup, pod_cgroup_rel
from kuasar_e2e.vmm import cmdline

HANDLER = "kuasar-vmm"


@pytest.fixture(scope="module")
def hvsock_sandboxer(vmm_sandboxer, e2e_session):
    if shutil.which("vhost-device-vsock") is None:
        pytest.fail("vhost-device-vsock missing: run scripts/setup-vmm.sh")
    with open(os.path.join(e2e_session.tmp, "vmm-sandboxer.toml"), "a") as f:
        f.write('channel = "hvsock"\n')
    vmm_sandboxer.stop()
    return vmm_sandboxer.start()


@pytest.fixture(scope="module")
def vmm(hvsock_sandboxer, containerd17):
    containerd17.require_kuasar("vmm")
    return containerd17


@pytest.fixture(scope="module")
def pod(vmm):
    t0 = time.monotonic()
    p = vmm.cri.run_pod("vsock-main", runtime_handler=HANDLER, host_network=True)
    print(f"hvsock: RunPodSandbox -> READY: {time.monotonic() - t0:.2f} s")
    return p


def procs(sb, name):
    """pids of processes named name whose command line mentions the sandboxer's dir."""
    return processes_of(sb.dir, name)


def assert_nothing_left(sb, pod_id):
    wait_until(lambda: not procs(sb, b"qemu-system") and not procs(sb, b"vhost-device-vsock"), 30,
               "QEMU and vhost-device-vsock to be gone")
    with open("/proc/self/mountinfo") as f:
        assert os.path.join(sb.dir, pod_id) not in f.read()
    assert not os.path.exists(os.path.join(sb.dir, pod_id))


def test_pod_ready_on_hvsock(vmm, pod, hvsock_sandboxer):
    st = pod.status().status
    assert st.state == vmm.cri.pb.PodSandboxState.Value("SANDBOX_READY")
    d = os.path.join(hvsock_sandboxer.dir, pod.id)
    assert record(hvsock_sandboxer, pod.id)["address"] == f"ttrpc+hvsock://{d}/vsock.sock:1024"
    assert len(procs(hvsock_sandboxer, b"qemu-system")) == 1
    assert len(procs(hvsock_sandboxer, b"vhost-device-vsock")) == 1
    assert os.path.getsize(os.path.join(d, "vhost-device-vsock.log")) >= 0


def test_hvsock_daemon_and_keeper_in_the_pod_cgroup(vmm, pod, hvsock_sandboxer):
    """The keeper joins the pod cgroup before its exec; vhost-device-vsock, its child, is born there."""
    rel = pod_cgroup_rel(record(hvsock_sandboxer, pod.id), "kuasar-vmm")
    keeper = [pid for pid in procs(hvsock_sandboxer, b"vmm-sandboxer")
              if b"--hvsock-keeper" in cmdline(pid)]
    daemon = procs(hvsock_sandboxer, b"vhost-device-vsock")
    qemu = record(hvsock_sandboxer, pod.id)["pid"]
    assert len(keeper) == 1 and len(daemon) == 1, (keeper, daemon)
    for pid in (qemu, keeper[0], daemon[0]):
        assert in_pod_cgroup(pid, rel), (pid, rel)


@pytest.fixture(scope="module")
def sleeper(vmm, pod):
    s = pod.create_container("sleeper", vmm.images["busybox"], command=["sleep", "1000"]).start()
    s.wait("CONTAINER_RUNNING", timeout=60)
    return s


def test_echo_log_exit_code_and_exec(vmm, pod, sleeper):
    c = pod.create_container("hello", vmm.images["busybox"], command=["sh", "-c"],
                             args=["echo hello over vsock; exit 7"]).start()
    assert c.wait("CONTAINER_EXITED", timeout=60).exit_code == 7
    c.wait_log("hello over vsock\n", stream="stdout", timeout=20)
    c.remove()
    r = sleeper.exec_sync(["echo", "hi"], timeout=30)
    assert r.exit_code == 0 and r.stdout == b"hi\n"


def test_sandboxer_kill9_and_restart_keeps_pod(vmm, pod, sleeper, hvsock_sandboxer):
    sb = hvsock_sandboxer
    qemu = record(sb, pod.id)["pid"]
    daemons = procs(sb, b"vhost-device-vsock")
    sb.kill9()
    assert alive(qemu) and all(alive(p) for p in daemons)
    sb.start()
    wait_until(lambda: pod.status().status.state == vmm.cri.pb.PodSandboxState.Value("SANDBOX_READY"), 30,
               "the pod READY after the sandboxer restart")
    r = sleeper.exec_sync(["echo", "still here"], timeout=30)
    assert r.exit_code == 0 and r.stdout == b"still here\n"
    assert procs(sb, b"vhost-device-vsock") == daemons


def test_stop_remove_leaves_nothing(vmm, pod, sleeper, hvsock_sandboxer):
    sleeper.stop(timeout=5)
    sleeper.wait("CONTAINER_EXITED", timeout=30)
    sleeper.remove()
    pod.stop()
    pod.remove()
    assert_nothing_left(hvsock_sandboxer, pod.id)


def test_qemu_kill9_takes_vhost_device_vsock_along(vmm, hvsock_sandboxer):
    sb = hvsock_sandboxer
    p = vmm.cri.run_pod("vsock-qkill", runtime_handler=HANDLER, host_network=True)
    qemu = record(sb, p.id)["pid"]
    assert len(procs(sb, b"vhost-device-vsock")) == 1
    os.kill(qemu, signal.SIGKILL)
    wait_until(lambda: not procs(sb, b"vhost-device-vsock"), 20, "vhost-device-vsock to follow QEMU")
    p.stop()
    p.remove()
    assert_nothing_left(sb, p.id)


def test_zz_nothing_left(vmm, e2e_session):
    vmm.cri.remove_everything()
    left = e2e_session.leaks_besides_daemons()
    assert not left, "left behind after every pod was removed:\n" + "\n".join(left)
