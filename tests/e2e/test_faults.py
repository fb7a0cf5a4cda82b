"""Faults of a kuasar-wasm pod, on each containerd flavor (KC_E2E_CONTAINERD): kill -9 of the
shim, of the tasker and of the sandboxer (while running, during RunPodSandbox, CreateContainer and
StopPodSandbox), a container process SIGKILLed from outside, an OOM kill under a memory limit, and
containerd restarted with a pod running. After each, containerd must see what happened (pod
NOTREADY, container EXITED with the right code and reason) or the pod must carry on,
StopPodSandbox/RemovePodSandbox must work and nothing may be left behind. Last, fd and zombie
hygiene of the daemons after 20 pods and 50 ExecSync calls."""
import json
import os
import signal
import threading
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


class InFlight:
    """A CRI call run on another thread while the test injects a fault; .join() gives its result
    or the exception it raised."""

    def __init__(self, fn, *args):
        self.result = self.error = None
        self.thread = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self.thread.start()

    def _run(self, fn, args):
        try:
            self.result = fn(*args)
        except Exception as e:  # noqa: BLE001 - handed to the test
            self.error = e

    def done(self):
        return not self.thread.is_alive()

    def join(self, timeout=90):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the CRI call did not return"
        return self


def pod_dirs(wasm_sandboxer):
    """Sandbox state directories of the sandboxer (one per sandbox it knows)."""
    if not os.path.isdir(wasm_sandboxer.dir):
        return set()
    return {d for d in os.listdir(wasm_sandboxer.dir)
            if os.path.isfile(os.path.join(wasm_sandboxer.dir, d, "sandbox.json"))
            or len(d) == 64}


def shim_bundles(wasm):
    ids = set()
    for sub in ("io.containerd.runtime.v2.task/k8s.io", "io.containerd.sandbox.controller.v1.shim/k8s.io"):
        d = os.path.join(wasm.state, sub)
        if os.path.isdir(d):
            ids.update(os.listdir(d))
    return ids


def wait_shim_cleaned_up(wasm, wasm_sandboxer, pod_id, timeout=20):
    util.wait_for(lambda: pod_id not in pod_dirs(wasm_sandboxer) and pod_id not in shim_bundles(wasm), timeout,
                  what=f"containerd to clean up after the lost shim of {pod_id[:12]}")
    time.sleep(0.5)  # the bundle goes before containerd forgets the shim


def settle_and_check(wasm, wasm_sandboxer, e2e_session):
    """Every pod still listed stops and is removed through CRI (both must succeed), then nothing
    is left: processes, mounts, shim sockets, cgroups (leaks_besides_daemons), sandbox dirs,
    bundles."""
    cri = wasm.cri
    e2e_session.ids.update(wasm.known_ids())
    for p in cri.list_pods():
        e2e_session.ids.add(p.id)
        cri.stop_pod(p.id)
        cri.remove_pod(p.id)
    assert cri.list_pods() == []
    assert cri.list_containers() == []
    left = e2e_session.leaks_besides_daemons()
    assert not left, "left behind:\n" + "\n".join(left)
    util.wait_for(lambda: not pod_dirs(wasm_sandboxer), 10,
                  what=f"sandbox dirs under {wasm_sandboxer.dir} to go: {pod_dirs(wasm_sandboxer)}")
    assert not (wasm.known_ids() & e2e_session.ids), wasm.known_ids()


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


# kill -9 of the sandboxer between the tasker's fork and the persisting of its pid in
# sandbox.json: the tasker's `ready` write then fails (nobody reads the pipe) and the tasker
# exits instead of serving on as an orphan nobody would ever stop.
def test_sandboxer_kill9_during_run_pod_create(wasm, wasm_sandboxer, e2e_session):
    """kill -9 of the sandboxer as Controller.Create reaches it (its sandbox dir appears):
    RunPodSandbox fails cleanly or gives a usable pod once the sandboxer is back."""
    _sandboxer_kill9_during_run_pod(wasm, wasm_sandboxer, e2e_session, "fault-run-create",
                                    lambda new: bool(new))


def test_sandboxer_kill9_during_run_pod_start(wasm, wasm_sandboxer, e2e_session):
    """The same, as Controller.Start spawns the tasker."""
    _sandboxer_kill9_during_run_pod(
        wasm, wasm_sandboxer, e2e_session, "fault-run-start",
        lambda new: any(find_pids("kuasar-wasm-tasker", i) for i in new))


def _sandboxer_kill9_during_run_pod(wasm, wasm_sandboxer, e2e_session, name, point):
    cri = wasm.cri
    before = pod_dirs(wasm_sandboxer)
    call = InFlight(run_pod, wasm, name)
    util.wait_for(lambda: point(pod_dirs(wasm_sandboxer) - before) or call.done(), 30,
                  what="RunPodSandbox to reach the sandboxer")
    wasm_sandboxer.kill9()
    time.sleep(0.5)
    wasm_sandboxer.start()
    call.join()
    e2e_session.ids.update(wasm.known_ids())
    if call.error is None:
        pod = call.result
        # Not failed: the pod must work (the sandboxer recovered it from its state dir).
        if pod_state(wasm, pod) == "SANDBOX_READY":
            c = pod.create_container("hello", wasm.images["wasm-hello"]).start()
            assert c.wait("CONTAINER_EXITED", timeout=30).exit_code == 0
            c.remove()
    else:
        import grpc
        assert isinstance(call.error, grpc.RpcError), call.error
        assert call.error.code() != grpc.StatusCode.OK
    settle_and_check(wasm, wasm_sandboxer, e2e_session)


def _stop_pod_in_flight(wasm, name):
    """A pod with a running sleeper; StopPodSandbox started on another thread; returns once the
    container process is gone (CRI stops containers first, then the sandbox)."""
    pod = run_pod(wasm, name)
    c = running_sleeper(wasm, pod)
    cpid = container_pid(wasm, c)
    call = InFlight(wasm.cri.stop_pod, pod.id)
    wait_gone([cpid], timeout=20)
    return pod, call


def test_shim_kill9_during_stop_pod(wasm, wasm_sandboxer, e2e_session):
    """kill -9 of the shim while StopPodSandbox is in flight (its containers just stopped): the
    stop may fail, but a second StopPodSandbox and RemovePodSandbox succeed and nothing is left."""
    pod, call = _stop_pod_in_flight(wasm, "fault-stop-shim")
    for pid in find_pids("containerd-shim-kuasar-wasm-v2", "-id " + pod.id):
        os.kill(pid, signal.SIGKILL)
    call.join()
    # containerd cleans up after a lost shim asynchronously (`shim delete`, which shuts the
    # sandbox down in the sandboxer, then the bundle); a RemovePodSandbox racing that cleanup
    # fails in containerd with "ttrpc: closed" (kubelet would retry), so wait for it.
    wait_shim_cleaned_up(wasm, wasm_sandboxer, pod.id)
    settle_and_check(wasm, wasm_sandboxer, e2e_session)


def test_sandboxer_kill9_during_stop_pod(wasm, wasm_sandboxer, e2e_session):
    """kill -9 of the sandboxer while StopPodSandbox is in flight, restarted 0.5 s later."""
    pod, call = _stop_pod_in_flight(wasm, "fault-stop-sandboxer")
    wasm_sandboxer.kill9()
    time.sleep(0.5)
    wasm_sandboxer.start()
    call.join()
    settle_and_check(wasm, wasm_sandboxer, e2e_session)


def test_tasker_kill9_during_create_container(wasm, wasm_sandboxer, e2e_session):
    """kill -9 of the tasker as CreateContainer reaches it (its container record appears): the
    call fails or the container cannot run; the pod goes NOTREADY and is stopped and removed."""
    pod = run_pod(wasm, "fault-create-tasker")
    tasker = one_pid("kuasar-wasm-tasker", pod.id)
    records = os.path.join(wasm_sandboxer.dir, pod.id, "containers")
    call = InFlight(pod.create_container, "sleeper", wasm.images["wasm-sleeper"])
    util.wait_for(lambda: (os.path.isdir(records) and os.listdir(records)) or call.done(), 30,
                  what="CreateContainer to reach the tasker")
    os.kill(tasker, signal.SIGKILL)
    call.join()
    wait_pod_state(wasm, pod, "SANDBOX_NOTREADY")
    if call.error is None:
        c = call.result
        st = c.status()
        assert st.state != wasm.cri.pb.CONTAINER_RUNNING, st
    settle_and_check(wasm, wasm_sandboxer, e2e_session)


def test_containerd_restart_with_pod_running(wasm, wasm_sandboxer, e2e_session):
    """containerd restarted with a kuasar-wasm pod running: it reconnects to the shim (Connect +
    Pids, which must not be empty or the shim counts as leaked), the pod stays READY, its
    container RUNNING, ExecSync works; then it is stopped and removed and nothing is left."""
    pod = run_pod(wasm, "fault-restart")
    c = running_sleeper(wasm, pod)
    shim = one_pid("containerd-shim-kuasar-wasm-v2", "-id " + pod.id)
    tasker = one_pid("kuasar-wasm-tasker", pod.id)
    cpid = container_pid(wasm, c)
    wasm.restart()
    cri = wasm.cri
    assert cri.pb.PodSandboxState.Name(cri.pod_status(pod.id).status.state) == "SANDBOX_READY"
    st = cri.container_status(c.id)
    assert cri.pb.ContainerState.Name(st.state) == "CONTAINER_RUNNING", st
    for pid in (shim, tasker, cpid):
        assert os.path.exists(f"/proc/{pid}") and Proc(pid).state != "Z", f"pid {pid} gone after the restart"
    r = cri.exec_sync(c.id, ["/hello.wasm", "after-containerd-restart"], timeout=30)
    assert r.exit_code == 0 and b"arg[1]=after-containerd-restart\n" in r.stdout, r
    # Still the pod's events path: a stop is seen as an exit.
    cri.stop_container(c.id, 10)
    assert cri.container_status(c.id).exit_code in (143, 137)
    cri.remove_container(c.id)
    cri.stop_pod(pod.id)
    cri.remove_pod(pod.id)
    settle_and_check(wasm, wasm_sandboxer, e2e_session)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def zombie_children(*parents):
    out = []
    for pid in all_pids():
        try:
            p = Proc(pid)
        except OSError:
            continue
        if p.state == "Z" and p.ppid in parents:
            out.append(p)
    return out


def test_hygiene_fds_and_zombies(wasm, wasm_sandboxer, e2e_session):
    """After 20 pods created and removed and 50 ExecSync calls into a long-lived pod, the fd
    counts of the sandboxer and of that pod's tasker and shim are back to their start value (± 5)
    and none of them has zombie children."""
    cri = wasm.cri
    pod = run_pod(wasm, "hygiene-long")
    c = running_sleeper(wasm, pod)
    r = c.exec_sync(["/hello.wasm", "warm-up"], timeout=30)
    assert r.exit_code == 0
    daemons = {"sandboxer": wasm_sandboxer.pid,
               "tasker": one_pid("kuasar-wasm-tasker", pod.id),
               "shim": one_pid("containerd-shim-kuasar-wasm-v2", "-id " + pod.id)}
    start = {k: fd_count(p) for k, p in daemons.items()}
    for i in range(20):
        p = run_pod(wasm, f"hygiene-{i}")
        if i % 4 == 0:
            h = p.create_container("hello", wasm.images["wasm-hello"]).start()
            assert h.wait("CONTAINER_EXITED", timeout=30).exit_code == 0
        remove_pod(p)
    for i in range(50):
        r = c.exec_sync(["/hello.wasm", f"n{i}"], timeout=30)
        assert r.exit_code == 0 and f"arg[1]=n{i}\n".encode() in r.stdout, r

    def settled():
        now = {k: fd_count(p) for k, p in daemons.items()}
        bad = {k: (start[k], now[k]) for k in daemons if abs(now[k] - start[k]) > 5}
        return None if bad else now
    try:
        util.wait_for(settled, 10, interval=0.2, what="fd counts to settle")
    except TimeoutError:
        now = {k: fd_count(p) for k, p in daemons.items()}
        listing = {k: sorted(os.readlink(f"/proc/{p}/fd/{fd}") for fd in os.listdir(f"/proc/{p}/fd"))
                   for k, p in daemons.items()}
        pytest.fail(f"fd counts start {start}, now {now}:\n{json.dumps(listing, indent=1)}")
    util.wait_for(lambda: not zombie_children(*daemons.values()), 10,
                  what=f"no zombie children of {daemons}: {zombie_children(*daemons.values())}")
    c.stop(timeout=10)
    c.remove()
    remove_pod(pod)
    settle_and_check(wasm, wasm_sandboxer, e2e_session)


def test_zz_nothing_left(wasm, e2e_session):
    wasm.cri.remove_everything()
    left = e2e_session.leaks_besides_daemons()
    assert not left, "left behind after every pod was removed:\n" + "\n".join(left)
