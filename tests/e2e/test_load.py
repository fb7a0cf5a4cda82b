"""Load through containerd 1.7 (shim mode): KC_E2E_LOAD_PODS (default 100) kuasar-wasm pods, started
in batches of 20 concurrent RunPodSandbox+CreateContainer+StartContainer (a wasm sleeper each); all
must be READY with their sleeper RUNNING. Then one ExecSync per pod, 10 at a time, each with its
own argument that must come back in its output. Then PARALLEL_EXECS (100) ExecSync calls at once
(all in flight together, one thread each) into ONE pod's sleeper, each with its own output; after
them the fd counts of the sandboxer and of that pod's tasker and shim are back to their start (± 5)
and none has zombie children. Last every pod is stopped and removed (20 at a time) and nothing may
be left: no pod, container, tasker, shim, mount, cgroup or sandbox dir.
Timings of each phase are printed (pytest -s, or the test log). An ExecSync still unanswered after
HANG_DUMP_AFTER seconds (they take well under one) dumps the FIFO holders, tasker, shim and
containerd goroutines (kuasar_e2e/hang.py) into the output and <tmp>/hang-<container>.log."""
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from kuasar_e2e import util
from kuasar_e2e.hang import exec_sync_watched
from kuasar_e2e.session import Proc, all_pids

HANDLER = "kuasar-wasm"
PODS = int(os.environ.get("KC_E2E_LOAD_PODS", "100"))
BATCH = 20
EXEC_WORKERS = int(os.environ.get("KC_E2E_LOAD_EXEC_WORKERS", "10"))
PARALLEL_EXECS = int(os.environ.get("KC_E2E_LOAD_PARALLEL_EXECS", "100"))
EXEC_TIMEOUT = 120
HANG_DUMP_AFTER = 30


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


def test_exec_sync_everywhere(wasm, wasm_sandboxer):
    assert STATE["pods"], "no pods (the start test failed)"

    def one(i_pc):
        i, (pod, c) = i_pc
        r = exec_sync_watched(wasm, wasm_sandboxer.dir, pod.id, c, ["/hello.wasm", f"exec-{i:03d}"],
                              EXEC_TIMEOUT, HANG_DUMP_AFTER)
        return i, r

    t = time.monotonic()
    with ThreadPoolExecutor(EXEC_WORKERS) as ex:
        results = list(ex.map(one, enumerate(STATE["pods"])))
    T.phase(f"{len(results)} ExecSync, {EXEC_WORKERS} concurrent", t, len(results))
    for i, r in results:
        assert r.exit_code == 0, (i, r.stderr)
        assert f"arg[1]=exec-{i:03d}\n".encode() in r.stdout, (i, r.stdout)
        assert r.stderr == b"hello: this line goes to stderr\n", (i, r.stderr)


def procs():
    out = []
    for pid in all_pids():
        try:
            out.append(Proc(pid))
        except OSError:
            pass
    return out


def top_pid(*needles):
    """The one live process with every needle in its command line, not counting its children (a
    tasker's container and exec processes are forks of it, with the same command line)."""
    found = [p for p in procs() if p.state != "Z" and p.cmdline and all(n in p.cmdline for n in needles)]
    pids = {p.pid for p in found}
    top = [p.pid for p in found if p.ppid not in pids]
    assert len(top) == 1, f"expected one process with {needles}, found {found}"
    return top[0]


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def zombie_children(parents):
    return [p for p in procs() if p.state == "Z" and p.ppid in parents]


def test_parallel_exec_sync_in_one_pod(wasm, wasm_sandboxer):
    """PARALLEL_EXECS ExecSync calls released together into one pod's sleeper: every one answers
    with its own output; then no fd of the sandboxer, the pod's tasker or its shim is left over
    (± 5 of the count before) and none has a zombie child."""
    assert STATE["pods"], "no pods (the start test failed)"
    pod, c = STATE["pods"][0]
    r = exec_sync_watched(wasm, wasm_sandboxer.dir, pod.id, c, ["/hello.wasm", "warm-up"], 60, HANG_DUMP_AFTER)
    assert r.exit_code == 0, r
    daemons = {"sandboxer": wasm_sandboxer.pid,
               "tasker": top_pid("kuasar-wasm-tasker", pod.id),
               "shim": top_pid("containerd-shim-kuasar-wasm-v2", "-id " + pod.id)}
    start = {k: fd_count(p) for k, p in daemons.items()}
    peak = dict(start)
    barrier = threading.Barrier(PARALLEL_EXECS)
    stop_sampling = threading.Event()

    def sample():
        while not stop_sampling.wait(0.05):
            for k, p in daemons.items():
                try:
                    peak[k] = max(peak[k], fd_count(p))
                except OSError:
                    pass

    def one(i):
        barrier.wait(timeout=60)
        t = time.monotonic()
        r = exec_sync_watched(wasm, wasm_sandboxer.dir, pod.id, c, ["/hello.wasm", f"par-{i:03d}"],
                              EXEC_TIMEOUT, HANG_DUMP_AFTER)
        return i, r, time.monotonic() - t

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t = time.monotonic()
    try:
        with ThreadPoolExecutor(PARALLEL_EXECS) as ex:
            results = list(ex.map(one, range(PARALLEL_EXECS)))
    finally:
        stop_sampling.set()
        sampler.join()
    T.phase(f"{PARALLEL_EXECS} ExecSync in one pod, all in flight together", t, PARALLEL_EXECS)
    lat = sorted(dt for _, _, dt in results)
    print(f"load: parallel ExecSync latency p50 {lat[len(lat) // 2]:.2f}s max {lat[-1]:.2f}s; "
          f"fds at start {start}, peak {peak}", flush=True)
    for i, r, _ in results:
        assert r.exit_code == 0, (i, r.stderr)
        assert f"arg[1]=par-{i:03d}\n".encode() in r.stdout, (i, r.stdout)
        assert b"file:hello from the image rootfs" in r.stdout, (i, r.stdout)
        assert r.stderr == b"hello: this line goes to stderr\n", (i, r.stderr)

    def settled():
        now = {k: fd_count(p) for k, p in daemons.items()}
        return None if any(abs(now[k] - start[k]) > 5 for k in daemons) else now
    try:
        util.wait_for(settled, 20, interval=0.2, what="fd counts to settle")
    except TimeoutError:
        now = {k: fd_count(p) for k, p in daemons.items()}
        listing = {k: sorted(os.readlink(f"/proc/{p}/fd/{fd}") for fd in os.listdir(f"/proc/{p}/fd"))
                   for k, p in daemons.items()}
        pytest.fail(f"fd counts start {start}, now {now}:\n{json.dumps(listing, indent=1)}")
    parents = set(daemons.values())
    util.wait_for(lambda: not zombie_children(parents), 10,
                  what=f"no zombie children of {daemons}: {zombie_children(parents)}")
    assert c.status().state == wasm.cri.pb.ContainerState.Value("CONTAINER_RUNNING")


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
