"""Faults of a kuasar-wasm pod, on each containerd flavor (KC_E2E_CONTAINERD): kill -9 of the
shim, of the tasker and of the sandboxer, a container process SIGKILLed from outside, and an OOM
kill under a memory limit. After each, containerd must see what happened (pod NOTREADY, container
EXITED with the right code and reason), StopPodSandbox/RemovePodSandbox must work and nothing may
be left behind."""
import json
import os
import signal
import time

import pytest

from kuasar_e2e import util
from kuasar_e2e.session import Proc, all_pids

HANDLER = "kuasar-wasm"
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def wasm(wasm_sandboxer, containerd):
    containerd.require_kuasar("wasm")
    return containerd


def run_pod(wasm, name):
    # A CNI netns on 2.x: containerd 2.1 panics on host-network pods with a shim sandboxer.
    return wasm.cri.run_pod(name, runtime_handler=HANDLER, host_network=wasm.flavor == "1.7")


def find_pids(*needles):
    """Live processes whose command line holds every needle."""
    found = []
    for pid in all_pids():
        p = Proc(pid)
        if p.state != "Z" and p.cmdline and all(n in p.cmdline for n in needles):
            found.append(pid)
    return found


def one_pid(*needles):
    """The one process with every needle in its command line, not counting its own children (a
    tasker's container processes are forks of it, with the same command line)."""
    pids = find_pids(*needles)
    top = [p for p in pids if Proc(p).ppid not in pids]
    assert len(top) == 1, f"expected one process with {needles}, found {pids}"
    return top[0]


def container_pid(wasm, c):
    cri = wasm.cri
    r = cri.runtime.ContainerStatus(cri.pb.ContainerStatusRequest(container_id=c.id, verbose=True), timeout=30)
    info = json.loads(r.info["info"])
    assert info.get("pid", 0) > 0, info
    return info["pid"]


def pod_state(wasm, pod):
    return wasm.cri.pb.PodSandboxState.Name(pod.status().status.state)


def wait_pod_state(wasm, pod, state, timeout=20):
    return util.wait_for(lambda: pod_state(wasm, pod) == state, timeout, what=f"pod {pod.id[:12]} {state}")


def wait_gone(pids, timeout=10):
    util.wait_for(lambda: not [p for p in pids if os.path.exists(f"/proc/{p}") and Proc(p).state != "Z"],
                  timeout, what=f"processes {pids} to exit")


def running_sleeper(wasm, pod, name="sleeper"):
    c = pod.create_container(name, wasm.images["wasm-sleeper"]).start()
    c.wait("CONTAINER_RUNNING", timeout=30)
    c.wait_log("started\n")
    return c


def remove_pod(pod):
    pod.stop()
    pod.remove()


def test_container_sigkill_from_outside(wasm):
    """SIGKILL from outside is exit 137, reason Error (no OOM: the shim asks Stats and finds none)."""
    pod = run_pod(wasm, "fault-sigkill")
    c = running_sleeper(wasm, pod)
    os.kill(container_pid(wasm, c), signal.SIGKILL)
    st = c.wait("CONTAINER_EXITED", timeout=20)
    assert (st.exit_code, st.reason) == (137, "Error")
    assert pod_state(wasm, pod) == "SANDBOX_READY"
    c.remove()
    remove_pod(pod)


def test_oom_kill_is_reported(wasm):
    """alloc.wasm grows until the 64 MiB memory cgroup limit: the kernel kills it, containerd
    reports 137 and reason OOMKilled (from the shim's /tasks/oom event)."""
    pod = run_pod(wasm, "fault-oom")
    c = pod.create_container("alloc", wasm.images["wasm-alloc"], memory_limit=64 * MIB).start()
    st = c.wait("CONTAINER_EXITED", timeout=60)
    assert (st.exit_code, st.reason) == (137, "OOMKilled"), c.log()
    assert "allocated 1 MiB\n" in c.log("stdout")
    c.remove()
    remove_pod(pod)


def test_shim_kill9(wasm, wasm_sandboxer):
    """kill -9 of the pod's shim: containerd runs `shim delete`, which stops and removes the
    sandbox in the sandboxer (tasker gone, state dir gone); the pod goes NOTREADY."""
    pod = run_pod(wasm, "fault-shim")
    c = running_sleeper(wasm, pod)
    tasker = one_pid("kuasar-wasm-tasker", pod.id)
    os.kill(one_pid("containerd-shim-kuasar-wasm-v2", "-id " + pod.id), signal.SIGKILL)
    wait_pod_state(wasm, pod, "SANDBOX_NOTREADY")
    wait_gone([tasker])
    util.wait_for(lambda: not os.path.exists(os.path.join(wasm_sandboxer.dir, pod.id)), 10,
                  what="the sandboxer to forget the sandbox")
    assert c.wait("CONTAINER_EXITED", timeout=20).exit_code in (137, 143, 255)
    remove_pod(pod)
    assert wasm.cri.list_pods() == []


def test_tasker_kill9(wasm):
    """kill -9 of the tasker: WaitSandbox returns (pod NOTREADY), the container is reported
    exited, and the pod can be stopped and removed."""
    pod = run_pod(wasm, "fault-tasker")
    c = running_sleeper(wasm, pod)
    cpid = container_pid(wasm, c)
    os.kill(one_pid("kuasar-wasm-tasker", pod.id), signal.SIGKILL)
    wait_pod_state(wasm, pod, "SANDBOX_NOTREADY")
    wait_gone([cpid])
    st = c.wait("CONTAINER_EXITED", timeout=20)
    assert st.exit_code == 137, st
    remove_pod(pod)
    assert wasm.cri.list_pods() == []


def test_sandboxer_kill9_pod_lives_on(wasm, wasm_sandboxer):
    """kill -9 and restart of the sandboxer: the pod stays READY, its container can be exec'd,
    stopped and removed, and a new container can be started in it."""
    cri = wasm.cri
    pod = run_pod(wasm, "fault-sandboxer")
    c = running_sleeper(wasm, pod)
    wasm_sandboxer.kill9()
    time.sleep(1.5)  # long enough for the shim's Wait to be in its retry loop
    wasm_sandboxer.start()
    assert pod_state(wasm, pod) == "SANDBOX_READY"
    r = c.exec_sync(["/hello.wasm", "after-restart"], timeout=30)
    assert r.exit_code == 0 and b"arg[1]=after-restart\n" in r.stdout
    c.stop(timeout=10)
    assert c.status().exit_code in (143, 137)
    c.remove()
    c2 = pod.create_container("hello", wasm.images["wasm-hello"]).start()
    assert c2.wait("CONTAINER_EXITED", timeout=30).exit_code == 0
    c2.remove()
    remove_pod(pod)
    assert cri.list_pods() == []


def test_zz_nothing_left(wasm, e2e_session):
    wasm.cri.remove_everything()
    left = e2e_session.leaks_besides_daemons()
    assert not left, "left behind after every pod was removed:\n" + "\n".join(left)
