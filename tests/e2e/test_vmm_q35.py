"""kuasar-vmm pods on the q35 machine with the virtiofs share (docs/vmm.md), through a private
containerd 1.7: the same chain as test_vmm.py, with [vmm] machine = "q35", share = "virtiofs", so
QEMU gets PCI devices and a vhost-user-fs device served by a per-pod virtiofsd.

Covers: pod ready (q35 QEMU + its virtiofsd), a container's echo in the log and its exit code
(its rootfs is mounted by the shim after virtiofsd started), ExecSync, a sandboxer kill -9 and
restart, a QEMU kill -9 (virtiofsd follows it), and that stop+remove leave no QEMU, virtiofsd,
socket, mount or dir."""
import os
import signal
import time

import grpc
import pytest

from kuasar_e2e.vmm import alive, cmdline, processes_of, qemu_pid_of, wait_until
from kuasar_e2e.metrics import controller_metrics, in_pod_cgroup, pod_cgroup_rel
from kuasar_e2e.vmm import record

HANDLER = "kuasar-vmm"
VMM_CONFIG = 'machine = "q35"\nshare = "virtiofs"\n'


@pytest.fixture(scope="module")
def vmm(vmm_sandboxer, containerd17):
    containerd17.require_kuasar("vmm")
    return containerd17


@pytest.fixture(scope="module")
def pod(vmm):
    t0 = time.monotonic()
    p = vmm.cri.run_pod("vmm-q35", runtime_handler=HANDLER, host_network=True)
    print(f"q35+virtiofs RunPodSandbox -> READY: {time.monotonic() - t0:.2f} s")
    yield p
    try:
        p.stop()
        p.remove()
    except grpc.RpcError:
        pass


def sandbox_dir(vmm_sandboxer, pod_id):
    return os.path.join(vmm_sandboxer.dir, pod_id)


def virtiofsd_pid_of(vmm_sandboxer, pod_id):
    with open(os.path.join(sandbox_dir(vmm_sandboxer, pod_id), "virtiofsd.pid")) as f:
        return int(f.read().split()[0])


def assert_pod_gone(vmm_sandboxer, pod_id, qemu_pid, virtiofsd_pid):
    d = sandbox_dir(vmm_sandboxer, pod_id)
    wait_until(lambda: not alive(virtiofsd_pid), 10, "virtiofsd to exit")
    assert not alive(qemu_pid)
    assert processes_of(d, b"virtiofsd") == [] and processes_of(d, b"qemu-system") == []
    with open("/proc/self/mountinfo") as f:
        assert d not in f.read()
    assert not os.path.exists(d)
    # virtiofsd gets its socket as --fd: it keeps no pid file of its own under /run/virtiofsd.
    pid_files = os.listdir("/run/virtiofsd") if os.path.isdir("/run/virtiofsd") else []
    assert not [n for n in pid_files if pod_id in n]


def test_pod_is_ready_on_q35_with_virtiofsd(vmm, pod, vmm_sandboxer):
    st = pod.status(verbose=True).status
    assert st.state == vmm.cri.pb.PodSandboxState.Value("SANDBOX_READY")
    d = sandbox_dir(vmm_sandboxer, pod.id)
    qemu = qemu_pid_of(vmm_sandboxer, pod.id)
    argv = cmdline(qemu)
    assert b"q35,sata=off,smbus=off,vmport=off,hpet=off" in argv
    assert b"vhost-user-fs-pci,chardev=virtiofs,tag=kuasar" in argv and b"virtio-serial-pci" in argv
    assert processes_of(d, b"virtiofsd") == [virtiofsd_pid_of(vmm_sandboxer, pod.id)]
    with open(vmm_sandboxer.log_path) as f:
        assert "machine q35, share virtiofs" in f.read()


def test_virtiofsd_in_the_pod_cgroup(vmm, pod, vmm_sandboxer):
    """virtiofsd joins the pod cgroup before its exec, as QEMU does: Metrics counts both."""
    rel = pod_cgroup_rel(record(vmm_sandboxer, pod.id), "kuasar-vmm")
    qemu, virtiofsd = qemu_pid_of(vmm_sandboxer, pod.id), virtiofsd_pid_of(vmm_sandboxer, pod.id)
    assert in_pod_cgroup(qemu, rel) and in_pod_cgroup(virtiofsd, rel), rel
    m = controller_metrics(vmm_sandboxer.address, pod.id)
    threads = sum(len(os.listdir(f"/proc/{pid}/task")) for pid in (qemu, virtiofsd))
    assert m["memory_usage"] > 0 and m["cpu_total"] > 0 and m["pids"] >= 2, m
    print(f"q35 + virtiofsd pod Metrics: {m}; threads of QEMU + virtiofsd now {threads}")


def test_echo_log_and_exit_code(vmm, pod):
    t0 = time.monotonic()
    c = pod.create_container("hello", vmm.images["busybox"], command=["sh", "-c"],
                             args=["echo hello from q35; exit 7"]).start()
    print(f"CreateContainer+Start: {time.monotonic() - t0:.2f} s")
    st = c.wait("CONTAINER_EXITED", timeout=60)
    assert st.exit_code == 7
    c.wait_log("hello from q35\n", stream="stdout", timeout=20)
    c.remove()


def test_exec_sync_and_sandboxer_kill9(vmm, pod, vmm_sandboxer):
    c = pod.create_container("sleeper", vmm.images["busybox"], command=["sleep", "1000"]).start()
    c.wait("CONTAINER_RUNNING", timeout=60)
    r = c.exec_sync(["echo", "hi"], timeout=30)
    assert r.exit_code == 0 and r.stdout == b"hi\n"
    qemu, vfsd = qemu_pid_of(vmm_sandboxer, pod.id), virtiofsd_pid_of(vmm_sandboxer, pod.id)
    vmm_sandboxer.kill9()
    assert alive(qemu) and alive(vfsd), "QEMU and virtiofsd must survive a sandboxer crash"
    vmm_sandboxer.start()
    wait_until(lambda: pod.status().status.state == vmm.cri.pb.PodSandboxState.Value("SANDBOX_READY"), 30,
               "the pod READY after the sandboxer restart")
    r = c.exec_sync(["cat", "/proc/self/mounts"], timeout=30)
    assert r.exit_code == 0
    assert alive(qemu) and alive(vfsd)
    c.stop(timeout=5)
    st = c.wait("CONTAINER_EXITED", timeout=30)
    assert st.exit_code == 137
    c.remove()


def test_qemu_kill9_takes_virtiofsd_along(vmm, vmm_sandboxer):
    p = vmm.cri.run_pod("vmm-q35-qkill", runtime_handler=HANDLER, host_network=True)
    qemu, vfsd = qemu_pid_of(vmm_sandboxer, p.id), virtiofsd_pid_of(vmm_sandboxer, p.id)
    os.kill(qemu, signal.SIGKILL)
    wait_until(lambda: not alive(vfsd), 15, "virtiofsd to exit after its QEMU was killed")
    wait_until(lambda: p.status().status.state == vmm.cri.pb.PodSandboxState.Value("SANDBOX_NOTREADY"), 30,
               "the pod NOTREADY after QEMU was killed")
    p.stop()
    p.remove()
    assert_pod_gone(vmm_sandboxer, p.id, qemu, vfsd)


def test_stop_remove_pod_leaves_nothing(vmm, pod, vmm_sandboxer):
    qemu, vfsd = qemu_pid_of(vmm_sandboxer, pod.id), virtiofsd_pid_of(vmm_sandboxer, pod.id)
    pod.stop()
    wait_until(lambda: not alive(qemu), 30, "QEMU to exit after StopPodSandbox")
    pod.remove()
    assert_pod_gone(vmm_sandboxer, pod.id, qemu, vfsd)


def test_zz_nothing_left(vmm, e2e_session):
    vmm.cri.remove_everything()
    left = e2e_session.leaks_besides_daemons()
    assert not left, "left behind after every pod was removed:\n" + "\n".join(left)
