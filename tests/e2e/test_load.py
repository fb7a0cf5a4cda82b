"""Load through containerd 1.7 (shim mode): KC_E2E_LOAD_PODS (default 100) kuasar-wasm pods, started
in batches of 20 concurrent RunPodSandbox+CreateContainer+StartContainer (a wasm sleeper each); all
must be READY with their sleeper RUNNING. Then one ExecSync per pod, 10 at a time, each with its
own argument that must come back in its output; then every pod is stopped and removed (20 at a
time) and nothing may be left: no pod, container, tasker, shim, mount, cgroup or sandbox dir.
Timings of each phase are printed (pytest -s, or the test log)."""
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from kuasar_e2e import util

HANDLER = "kuasar-wasm"
PODS = int(os.environ.get("KC_E2E_LOAD_PODS", "100"))
BATCH = 20
EXEC_WORKERS = 10


@pytest.fixture(scope="module")
def wasm(wasm_sandboxer, containerd17):
    containerd17.require_kuasar("wasm")
    return containerd17


class Timings:
    def __init__(self):
        self.t0 = time.monotonic()
        self.rows = []

    def phase(self, name, t_start, n=None):
        dt = time.monotonic() - t_start
        self.rows.append((name, dt, n))
        rate = f" ({n / dt:.1f}/s)" if n and dt > 0 else ""
        print(f"load: {name}: {dt:.1f}s{rate}", flush=True)


T = Timings()
STATE = {"pods": []}


def start_one(wasm, i):
    t = time.monotonic()
    pod = wasm.cri.run_pod(f"load-{i:03d}", runtime_handler=HANDLER, host_network=True)
    c = pod.create_container("sleeper", wasm.images["wasm-sleeper"]).start()
    c.wait("CONTAINER_RUNNING", timeout=120)
    c.wait_log("started\n", timeout=120)
    return pod, c, time.monotonic() - t


def test_start_pods_in_batches(wasm):
    print(f"load: {PODS} pods, batches of {BATCH}", flush=True)
    t_all = time.monotonic()
    latencies = []
    with ThreadPoolExecutor(BATCH) as ex:
        for b in range(0, PODS, BATCH):
            t = time.monotonic()
            results = list(ex.map(lambda i: start_one(wasm, i), range(b, min(b + BATCH, PODS))))
            STATE["pods"] += [(p, c) for p, c, _ in results]
            latencies += [dt for _, _, dt in results]
            T.phase(f"batch {b // BATCH + 1} ({len(results)} pods ready with a running sleeper)", t, len(results))
    T.phase(f"all {PODS} pods started", t_all, PODS)
    latencies.sort()
    print(f"load: per-pod start latency p50 {latencies[len(latencies) // 2]:.2f}s "
          f"max {latencies[-1]:.2f}s", flush=True)
    assert len(STATE["pods"]) == PODS


def test_all_ready_and_running(wasm):
    cri = wasm.cri
    ready = cri.pb.PodSandboxState.Value("SANDBOX_READY")
    running = cri.pb.ContainerState.Value("CONTAINER_RUNNING")
    pods = cri.list_pods()
    assert len(pods) == PODS
    assert all(p.state == ready and p.runtime_handler == HANDLER for p in pods)
    containers = cri.list_containers()
    assert len(containers) == PODS
    assert all(c.state == running for c in containers), [c for c in containers if c.state != running]
    assert {c.pod_sandbox_id for c in containers} == {p.id for p in pods}


def test_exec_sync_everywhere(wasm):
    assert STATE["pods"], "no pods (the start test failed)"

    def one(i_pc):
        i, (_pod, c) = i_pc
        r = c.exec_sync(["/hello.wasm", f"exec-{i:03d}"], timeout=120)
        return i, r

    t = time.monotonic()
    with ThreadPoolExecutor(EXEC_WORKERS) as ex:
        results = list(ex.map(one, enumerate(STATE["pods"])))
    T.phase(f"{len(results)} ExecSync, {EXEC_WORKERS} concurrent", t, len(results))
    for i, r in results:
        assert r.exit_code == 0, (i, r.stderr)
        assert f"arg[1]=exec-{i:03d}\n".encode() in r.stdout, (i, r.stdout)
        assert r.stderr == b"hello: this line goes to stderr\n", (i, r.stderr)


def test_stop_and_remove_all(wasm, wasm_sandboxer):
    cri = wasm.cri

    def one(pc):
        pod, _c = pc
        pod.stop()
        pod.remove()

    t = time.monotonic()
    with ThreadPoolExecutor(BATCH) as ex:
        list(ex.map(one, STATE["pods"]))
    T.phase(f"{len(STATE['pods'])} pods stopped and removed, {BATCH} concurrent", t, len(STATE["pods"]))
    assert cri.list_pods() == []
    assert cri.list_containers() == []
    util.wait_for(lambda: not os.listdir(wasm_sandboxer.dir), 30, what="the sandboxer's state dir to empty")


def test_zz_nothing_left(wasm, e2e_session):
    wasm.cri.remove_everything()
    left = e2e_session.leaks_besides_daemons()
    assert not left, "left behind after every pod was removed:\n" + "\n".join(left)
    print("load: " + ", ".join(f"{n} {dt:.1f}s" for n, dt, _ in T.rows[-3:]), flush=True)
    print(f"load: total {time.monotonic() - T.t0:.1f}s", flush=True)
