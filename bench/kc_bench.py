"""kuasar-c benchmarks through ONE private containerd 1.7 running every runtime (kuasar-wasm, runc
and, when it works here, kuasar-vmm), driven through CRI with the e2e harness
(tests/e2e/kuasar_e2e). Run by bench/run.sh. Every figure is reported with its ratio against its
peer measured in the same run.

  1. pod start latency (serial and parallel), kuasar-wasm vs runc; hello-to-completion (wasm vs
     runc `true`); kuasar-vmm vs a raw QEMU boot of the same guest (when available)
  2. PSS memory per pod with 1/10/50 pods running, vs runc; the sandboxer's total vs Kuasar's ~15 MB
  3. relay overhead: Task.State and Sandbox Status through the shim vs straight to the tasker
     (ttrpc) and the sandboxer (gRPC); our ttrpc servers vs containerd's Go ttrpc (Events/Forward)
  4. throughput: 200 short-lived containers in one pod, serial and 10 at a time, wasm vs runc
  5. bench/ttrpc microbenchmark output (if built)
Prints markdown tables; --json writes the raw results; --update-docs writes docs/benchmarks.md
and docs/img/bench-*.png."""
import argparse
import concurrent.futures as cf
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
sys.path.insert(0, HERE)

RUNTIMES = ("kuasar-wasm", "runc")
POLL = 0.002  # CRI status polling interval while waiting for a state
TPUT_POLL = 0.01  # the same in the throughput runs (10 pollers at 2 ms would load containerd)
KUASAR_SANDBOXER_MB = 15  # Kuasar's published sandboxer memory at 50 pods (~15 MB)
GUEST_KERNEL = "/opt/kuasar-c/guest-kernel/vmlinux"


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def reason_of(e):
    """One line saying why e happened (gRPC errors: code and details)."""
    if hasattr(e, "code") and hasattr(e, "details"):
        try:
            return f"{e.code().name}: {e.details()}"[:300]
        except Exception:  # noqa: BLE001
            pass
    text = str(e).strip()
    return (text.splitlines()[0][:300] if text else type(e).__name__)


def pct(values, p):
    """Nearest-rank percentile."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def summary(values):
    return {"n": len(values), "p50": pct(values, 50), "p90": pct(values, 90), "p99": pct(values, 99),
            "mean": statistics.fmean(values) if values else float("nan"),
            "min": min(values) if values else float("nan"), "max": max(values) if values else float("nan")}


class Bench:
    def __init__(self, args):
        from kuasar_e2e.containerd import Containerd
        from kuasar_e2e.sandboxer import Sandboxer
        from kuasar_e2e.session import Session
        self.args = args
        self.session = Session(label="bench")
        self.sandboxer = Sandboxer(self.session, "wasm", extra_args=["--log-level", "info"])
        self.session.on_close(self.sandboxer.stop, 20)
        self.sandboxer.start()
        self.containerd = Containerd(self.session, "1.7")
        self._quiet_containerd()
        self.session.on_close(self.containerd.shutdown, 10)
        self.containerd.start()
        self.containerd.require_kuasar("wasm")
        self.images = self.containerd.import_images(["pause", "busybox", "wasm-hello", "wasm-sleeper"])
        self.cri = self.containerd.cri
        self.seq = 0

    def _quiet_containerd(self):
        # The harness runs containerd at debug level; benchmarks want info (less logging cost).
        with open(self.containerd.config_path) as f:
            text = f.read().replace('level = "debug"', 'level = "info"')
        with open(self.containerd.config_path, "w") as f:
            f.write(text)

    def close(self):
        self.session.close()
        return self.session.leftovers

    # -- pods ------------------------------------------------------------------------------------
    def _name(self, prefix):
        self.seq += 1
        return f"{prefix}-{self.seq}"

    def _wait_state(self, cid, state, timeout=120, poll=POLL):
        want = self.cri.pb.ContainerState.Value(state)
        deadline = time.monotonic() + timeout
        while True:
            st = self.cri.container_status(cid)
            if st.state == want:
                return st
            if time.monotonic() > deadline:
                raise TimeoutError(f"container {cid[:12]} did not reach {state}")
            time.sleep(poll)

    def _workload(self, runtime, workload):
        """(image, CreateContainer keywords) of a runtime's sleeper ("sleep") or hello ("hello") container."""
        if runtime == "kuasar-wasm":
            return self.images["wasm-hello" if workload == "hello" else "wasm-sleeper"], {}
        return self.images["busybox"], {"command": ["true"] if workload == "hello" else ["sleep", "3600"]}

    def start_pod(self, runtime, workload="sleep", timeout=120):
        """RunPodSandbox + CreateContainer + StartContainer until RUNNING (or EXITED for hello).
        Returns (seconds, pod, container)."""
        image, kw = self._workload(runtime, workload)
        t0 = time.monotonic()
        pod = self.cri.run_pod(self._name("b" + runtime.split("-")[-1][0]), runtime_handler=runtime,
                               host_network=True)
        c = pod.create_container("main", image, **kw).start()
        self._wait_state(c.id, "CONTAINER_EXITED" if workload == "hello" else "CONTAINER_RUNNING", timeout)
        return time.monotonic() - t0, pod, c

    def remove_all(self, threads=8):
        pods = self.cri.list_pods()

        def rm(p):
            self.cri.stop_pod(p.id)
            self.cri.remove_pod(p.id)
        with cf.ThreadPoolExecutor(threads) as ex:
            list(ex.map(rm, pods))
        left = self.cri.list_pods()
        if left:
            raise RuntimeError(f"{len(left)} pods left after remove_all")

    # -- 1. start latency -----------------------------------------------------------------------
    def bench_start(self):
        a = self.args
        res = {"serial": {}, "parallel": {}, "hello": {}, "load": {"start": loadavg()}}
        # one warm-up pod per runtime (first use: image unpack caches, shim binary page-in)
        for rt in RUNTIMES:
            self.start_pod(rt)
        self.remove_all()
        # serial series: the runtimes alternate sample by sample, so that load changes from other
        # work on the machine hit both alike (pods stay up until the end of the series)
        for key, workload in (("serial", "sleep"), ("hello", "hello")):
            lat = {rt: [] for rt in RUNTIMES}
            for _ in range(a.serial):
                for rt in RUNTIMES:
                    t, _p, _c = self.start_pod(rt, workload)
                    lat[rt].append(t)
            for rt in RUNTIMES:
                res[key][rt] = {"samples": lat[rt], **summary(lat[rt])}
                log(f"{key} {rt}: p50 {summary(lat[rt])['p50'] * 1000:.0f} ms")
            self.remove_all()
        for n in a.parallel:
            res["parallel"][n] = {}
            for rt in RUNTIMES:
                t0 = time.monotonic()
                with cf.ThreadPoolExecutor(n) as ex:
                    lat = [r[0] for r in ex.map(lambda _i: self.start_pod(rt), range(n))]
                wall = time.monotonic() - t0
                res["parallel"][n][rt] = {"wall": wall, "samples": lat, **summary(lat)}
                log(f"parallel {n} {rt}: wall {wall:.2f} s")
                self.remove_all()
        res["load"]["end"] = loadavg()
        return res

    # -- 2. memory --------------------------------------------------------------------------------
    @staticmethod
    def _procs():
        procs = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    stat = f.read()
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            ppid = int(stat[stat.rfind(")") + 2:].split()[1])
            procs[int(d)] = (ppid, [x.decode(errors="replace") for x in argv if x])
        return procs

    @staticmethod
    def pss_kib(pid):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    @staticmethod
    def _descendants(procs, root):
        children = {}
        for pid, (ppid, _a) in procs.items():
            children.setdefault(ppid, []).append(pid)
        out, todo = [], list(children.get(root, []))
        while todo:
            p = todo.pop()
            out.append(p)
            todo.extend(children.get(p, []))
        return out

    @staticmethod
    def _arg(argv, flag):
        for i, a in enumerate(argv[:-1]):
            if a == flag:
                return argv[i + 1]
        return None

    def measure_memory(self, runtime, pod_ids):
        """PSS (KiB) of every process of each pod, by component, summed over the pods."""
        procs = self._procs()
        comp = {}
        nproc = 0

        def add(key, pids):
            nonlocal nproc
            comp[key] = comp.get(key, 0) + sum(self.pss_kib(p) for p in pids)
            nproc += len(pids)
        ids = set(pod_ids)
        found = set()
        for pid, (ppid, argv) in procs.items():
            if not argv:
                continue
            exe = os.path.basename(argv[0])
            pid_id = self._arg(argv, "-id")
            if runtime == "kuasar-wasm":
                if exe == "containerd-shim-kuasar-wasm-v2" and pid_id in ids:
                    add("shim", [pid])
                    found.add(("shim", pid_id))
                # A container/exec is a fork of the tasker with the same argv: count it once, under
                # containers (as its parent's descendant), not as a second tasker.
                elif (exe == "kuasar-wasm-tasker" and self._arg(argv, "--id") in ids
                      and procs.get(ppid, (0, []))[1] != argv):
                    add("tasker", [pid])
                    add("containers", self._descendants(procs, pid))
                    found.add(("tasker", self._arg(argv, "--id")))
            else:
                if exe == "containerd-shim-runc-v2" and pid_id in ids:
                    add("shim", [pid])
                    found.add(("shim", pid_id))
                    for d in self._descendants(procs, pid):
                        name = os.path.basename(procs[d][1][0]) if procs[d][1] else "?"
                        add("pause" if name == "pause" else "containers", [d])
        kinds = ("shim", "tasker") if runtime == "kuasar-wasm" else ("shim",)
        missing = [(k, i[:12]) for k in kinds for i in ids if (k, i) not in found]
        if missing:
            raise RuntimeError(f"memory: processes not found for {missing[:5]}")
        node = {}
        if runtime == "kuasar-wasm":
            node["wasm-sandboxer"] = self.pss_kib(self.sandboxer.pid)
        node["containerd"] = self.pss_kib(self.containerd.proc.pid)
        return {"pods": len(ids), "components_kib": comp, "node_kib": node, "processes": nproc}

    def bench_memory(self):
        res = {"levels": {}, "load": {"start": loadavg()}}
        for rt in RUNTIMES:
            running = []
            for level in self.args.mem_levels:
                need = level - len(running)
                with cf.ThreadPoolExecutor(min(8, max(1, need))) as ex:
                    running += [r[1].id for r in ex.map(lambda _i: self.start_pod(rt), range(need))]
                time.sleep(3)  # let lazily touched pages and the first State polls settle
                m = self.measure_memory(rt, running)
                res["levels"].setdefault(level, {})[rt] = m
                per = sum(m["components_kib"].values()) / level
                log(f"memory {rt} x{level}: {per / 1024:.1f} MiB/pod (+ node {m['node_kib']})")
            self.remove_all()
        res["load"]["end"] = loadavg()
        return res

    # -- 3. relay overhead -----------------------------------------------------------------------
    def _shim_address(self, pod_id):
        for sub in ("io.containerd.runtime.v2.task/k8s.io", "io.containerd.sandbox.controller.v1.shim/k8s.io"):
            p = os.path.join(self.containerd.state, sub, pod_id, "address")
            if os.path.isfile(p):
                with open(p) as f:
                    return f.read().strip()
        raise RuntimeError(f"no address file for pod {pod_id}")

    @staticmethod
    def _timed_rounds(calls, n, rounds=10):
        """Runs each {name: fn} n times in interleaved rounds (load changes hit every path alike);
        returns {name: [µs]}."""
        lat = {k: [] for k in calls}
        for _ in range(rounds):
            for name, fn in calls.items():
                for _ in range(max(1, n // rounds)):
                    t0 = time.perf_counter_ns()
                    fn()
                    lat[name].append((time.perf_counter_ns() - t0) / 1000.0)
        return lat

    def bench_relay(self):
        import grpc
        import ttrpc_client as tc
        res = {"load": {"start": loadavg()}}
        _t, pod, c = self.start_pod("kuasar-wasm")
        shim = self._shim_address(pod.id)
        task_sock = os.path.join(self.sandboxer.dir, pod.id, "task.sock")
        res["addresses"] = {"shim": shim, "tasker": task_sock, "sandboxer": self.sandboxer.address,
                            "containerd ttrpc": self.containerd.ttrpc_address}
        n = self.args.relay_calls
        cl = {"shim": tc.Client(shim), "tasker": tc.Client(task_sock),
              "containerd": tc.Client(self.containerd.ttrpc_address)}
        # straight to the sandboxer: grpcio generic unary call, hand-encoded ControllerStatusRequest
        channel = grpc.insecure_channel("unix://" + self.sandboxer.address)
        ctl_status = channel.unary_unary("/containerd.services.sandbox.v1.Controller/Status")
        status_req = tc.sandbox_status_payload(pod.id)
        md = [("containerd-namespace", "k8s.io")]
        fwd = tc.forward_payload()
        groups = {
            "task_state": {"via shim": lambda: tc.task_state(cl["shim"], c.id),
                           "tasker direct": lambda: tc.task_state(cl["tasker"], c.id)},
            "sandbox_status": {"via shim": lambda: tc.sandbox_status(cl["shim"], pod.id),
                               "sandboxer direct (gRPC)": lambda: ctl_status(status_req, metadata=md, timeout=10)},
            "ttrpc": {"containerd Events/Forward (Go ttrpc)":
                      lambda: cl["containerd"].call("containerd.services.events.ttrpc.v1.Events", "Forward", fwd),
                      "tasker Task.Connect (our ttrpc)": lambda: tc.task_connect(cl["tasker"], c.id),
                      "shim Task.Connect (our ttrpc, relayed)": lambda: tc.task_connect(cl["shim"], c.id)},
        }
        # sanity: each call answers as expected before timing it
        st = tc.task_state(cl["shim"], c.id)
        res["state_status"] = st.get(4, 0)
        ss = tc.sandbox_status(cl["shim"], pod.id)
        direct = tc.parse_fields(ctl_status(status_req, metadata=md, timeout=10))
        res["sandbox_state"] = {"via shim": ss.get(3, b"").decode(), "direct": direct.get(3, b"").decode()}
        for calls in groups.values():
            for fn in calls.values():
                for _ in range(50):  # warm-up
                    fn()
        res["groups"] = {}
        for g, calls in groups.items():
            lat = self._timed_rounds(calls, n)
            res["groups"][g] = {k: summary(v) for k, v in lat.items()}
            log(f"relay {g}: " + ", ".join(f"{k} p50 {v['p50']:.0f} µs" for k, v in res["groups"][g].items()))
        for x in cl.values():
            x.close()
        channel.close()
        res["load"]["end"] = loadavg()
        self.remove_all()
        return res

    # -- 4. throughput ---------------------------------------------------------------------------
    def _one_task(self, pod, runtime):
        image, kw = self._workload(runtime, "hello")
        cont = pod.create_container(self._name("t"), image, **kw).start()
        self._wait_state(cont.id, "CONTAINER_EXITED", 120, poll=TPUT_POLL)
        cont.remove()

    def bench_throughput(self):
        res = {"load": {"start": loadavg()}, "count": self.args.tput_count, "results": {}}
        for rt in RUNTIMES:
            res["results"][rt] = {}
            _t, pod, c = self.start_pod(rt)  # the pod keeps its sleeper; the tasks come and go
            self._one_task(pod, rt)  # warm-up
            for conc in (1, 10):
                t0 = time.monotonic()
                if conc == 1:
                    for _ in range(self.args.tput_count):
                        self._one_task(pod, rt)
                else:
                    with cf.ThreadPoolExecutor(conc) as ex:
                        list(ex.map(lambda _i: self._one_task(pod, rt), range(self.args.tput_count)))
                wall = time.monotonic() - t0
                res["results"][rt][conc] = {"wall": wall, "per_s": self.args.tput_count / wall}
                log(f"throughput {rt} x{conc}: {self.args.tput_count / wall:.1f} tasks/s")
            left = [x for x in self.cri.list_containers() if x.pod_sandbox_id == pod.id and x.id != c.id]
            res["results"][rt]["left"] = len(left)
            self.remove_all()
        res["load"]["end"] = loadavg()
        return res

    # -- 5. kuasar-vmm vs raw QEMU ---------------------------------------------------------------
    def vmm_check(self):
        """None when the vmm path works here, else the reason it does not."""
        from kuasar_e2e import util
        from kuasar_e2e.containerd import shim_binary
        from kuasar_e2e.sandboxer import Sandboxer
        try:
            shim_binary("vmm")
            initrd = os.path.join(util.build_dir(), "sandboxer", "vmm", "guest", "kuasar-guest.initrd")
            if not os.path.isfile(initrd):
                return f"guest initrd not built ({os.path.relpath(initrd, SRC)})"
            if not os.path.isfile(GUEST_KERNEL):
                return f"no guest kernel {GUEST_KERNEL} (scripts/setup-vmm.sh)"
            self.vmm_initrd = initrd
            self.vmm_sandboxer = Sandboxer(self.session, "vmm", extra_args=["--log-level", "info"])
            self.session.on_close(self.vmm_sandboxer.stop, 20)
            self.vmm_sandboxer.start()
        except Exception as e:  # noqa: BLE001
            return reason_of(e)
        try:
            t, _p, _c = self.start_pod("kuasar-vmm", timeout=90)
            log(f"kuasar-vmm probe pod running after {t:.1f} s")
        except Exception as e:  # noqa: BLE001
            return f"probe pod failed: {reason_of(e)}"
        finally:
            try:
                self.remove_all()
            except Exception as e:  # noqa: BLE001
                log(f"vmm probe cleanup: {e}")
        return None

    @staticmethod
    def qemu_accel():
        """kvm only when /dev/kvm is usable and not KVM-PVM (docs/vmm.md), else tcg."""
        try:
            with open("/proc/cpuinfo") as f:
                hw = any(w in f.read() for w in (" vmx", " svm"))
        except OSError:
            hw = False
        ok = os.path.exists("/dev/kvm") and not os.path.exists("/sys/module/kvm_pvm") and hw
        return "kvm" if ok else "tcg"

    def qemu_argv(self, d):
        """The command line the vmm sandboxer uses (docs/vmm.md, sandboxer/vmm/qemu.c)."""
        kvm = self.qemu_accel() == "kvm"
        append = "console=ttyS0 quiet panic=-1 reboot=t"
        if not kvm:
            append += " tsc_early_khz=1000000 tsc=reliable no_timer_check lpj=1000000"
        return ["qemu-system-x86_64", "-M", "microvm,pit=on,pic=on,rtc=on", "-accel", "kvm" if kvm else "tcg",
                "-cpu", "host" if kvm else "max", "-m", "256", "-smp", "1", "-nodefaults", "-no-user-config",
                "-nographic", "-serial", f"file:{d}/console.log", "-kernel", GUEST_KERNEL,
                "-initrd", self.vmm_initrd, "-append", append,
                "-device", "virtio-serial-device",
                "-chardev", f"socket,id=agent,path={d}/agent.sock,server=on,wait=off",
                "-device", "virtserialport,chardev=agent,name=agent",
                "-chardev", f"socket,id=stdio,path={d}/stdio.sock,server=on,wait=off",
                "-device", "virtserialport,chardev=stdio,name=stdio",
                "-fsdev", f"local,id=shared,path={d}/shared,security_model=none",
                "-device", "virtio-9p-device,fsdev=shared,mount_tag=kuasar",
                "-qmp", f"unix:{d}/qmp.sock,server=on,wait=off", "-no-reboot"]

    def qemu_boot(self, timeout=60):
        """Starts a raw QEMU with the guest; returns (seconds until Task.Connect answers on the
        agent socket, process). Any ttrpc answer counts (the guest has no task yet)."""
        import ttrpc_client as tc
        self.seq += 1
        d = os.path.join(self.session.tmp, f"q{self.seq}")
        os.makedirs(os.path.join(d, "shared"), exist_ok=True)
        t0 = time.monotonic()
        proc = self.session.spawn(self.qemu_argv(d), os.path.join(d, "qemu.log"))
        sock = os.path.join(d, "agent.sock")
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"qemu exited with {proc.returncode} before the agent answered")
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"guest agent did not answer within {timeout} s")
            # as the sandboxer's boot probe does: one connection waits up to 8 s for the answer
            # (reconnecting often makes the guest restart its side of the port each time)
            try:
                cl = tc.Client(sock, timeout=max(0.2, min(8.0, timeout - (time.monotonic() - t0))))
            except OSError:
                time.sleep(0.1)  # refused: QEMU not listening yet
                continue
            try:
                tc.task_connect(cl, "bench")
                return time.monotonic() - t0, proc
            except tc.TtrpcError:
                return time.monotonic() - t0, proc
            except (OSError, ConnectionError):
                pass
            finally:
                cl.close()

    @staticmethod
    def _kill(procs):
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs:
            p.wait(10)

    def measure_vmm_memory(self):
        procs = self._procs()
        qemu, shims = [], []
        for pid, (_pp, argv) in procs.items():
            if not argv:
                continue
            exe = os.path.basename(argv[0])
            if exe.startswith("qemu-system") and any(self.vmm_sandboxer.dir in a for a in argv):
                qemu.append(pid)
                self.vmm_qemu_argv = argv
            elif exe == "containerd-shim-kuasar-vmm-v2":
                shims.append(pid)
        return {"qemu": len(qemu), "qemu_kib": sum(self.pss_kib(p) for p in qemu),
                "shim": len(shims), "shim_kib": sum(self.pss_kib(p) for p in shims),
                "sandboxer_kib": self.pss_kib(self.vmm_sandboxer.pid)}

    def bench_vmm(self):
        res = self.vmm_res = {"load": {"start": loadavg()}}  # partial results survive a failure
        reason = self.vmm_check()
        res["available"] = reason is None
        res["accel"] = self.qemu_accel()
        if reason:
            res["reason"] = reason
            print(f"kuasar-vmm: not available ({reason})", flush=True)
            res["load"]["end"] = loadavg()
            return res
        n, par = self.args.vmm_serial, self.args.vmm_parallel
        # serial: a raw QEMU boot to an answering agent and a kuasar-vmm pod, alternately (load
        # changes hit both alike); then par raw QEMUs at once (memory while all run), then par pods
        lat, mem, vlat = [], [], []
        for _ in range(n):
            t, p = self.qemu_boot()
            lat.append(t)
            mem.append(self.pss_kib(p.pid))
            self._kill([p])
            t, _p, _c = self.start_pod("kuasar-vmm", timeout=120)
            vlat.append(t)
            self.remove_all()
        res["qemu_serial"] = {"samples": lat, **summary(lat)}
        res["vmm_serial"] = {"samples": vlat, **summary(vlat)}
        log(f"serial: raw qemu p50 {summary(lat)['p50']:.2f} s, kuasar-vmm p50 {summary(vlat)['p50']:.2f} s")
        t0 = time.monotonic()
        with cf.ThreadPoolExecutor(par) as ex:
            boots = list(ex.map(lambda _i: self.qemu_boot(timeout=180), range(par)))
        wall = time.monotonic() - t0
        res["qemu_parallel"] = {"wall": wall, "samples": [b[0] for b in boots], **summary([b[0] for b in boots])}
        res["qemu_memory"] = {"vms": par, "qemu_kib": sum(self.pss_kib(b[1].pid) for b in boots),
                              "serial_single_kib": statistics.fmean(mem)}
        self._kill([b[1] for b in boots])
        log(f"raw qemu {par} parallel: wall {wall:.1f} s")
        t0 = time.monotonic()
        with cf.ThreadPoolExecutor(par) as ex:
            lat = [r[0] for r in ex.map(lambda _i: self.start_pod("kuasar-vmm", timeout=240), range(par))]
        wall = time.monotonic() - t0
        res["vmm_parallel"] = {"wall": wall, "samples": lat, **summary(lat)}
        log(f"kuasar-vmm {par} parallel: wall {wall:.1f} s")
        time.sleep(3)
        res["vmm_memory"] = {"pods": par, **self.measure_vmm_memory()}
        res["qemu_argv"] = {"kuasar-vmm": getattr(self, "vmm_qemu_argv", None), "raw": self.qemu_argv("<dir>")}
        self.remove_all()
        res["load"]["end"] = loadavg()
        return res


def run_ttrpc_micro(build, quick):
    exe = os.path.join(build, "bench", "ttrpc", "bench-ttrpc")
    if not os.access(exe, os.X_OK):
        return {"status": f"not built ({os.path.relpath(exe, SRC)} missing)", "output": ""}
    la0 = loadavg()
    argv = [exe] + (["10000"] if quick else [])
    limit = 60 if quick else 120
    # own process group: on a timeout its forked echo server goes too
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = p.communicate(timeout=limit)
        status = f"exit {p.returncode}"
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        stdout, stderr = p.communicate()
        status = f"timed out after {limit} s (killed)"
    out = stdout + (("\n" + stderr) if stderr.strip() else "")
    return {"status": status, "argv": " ".join([os.path.relpath(exe, SRC)] + argv[1:]), "output": out,
            "load": {"start": la0, "end": loadavg()}}


# -- output -----------------------------------------------------------------------------------
def ms(x):
    return f"{x * 1000:.0f}"


def mib(kib):
    return f"{kib / 1024:.1f}"


def ratio(x, peer):
    try:
        return f"{x / peer:.2f}×" if peer else "–"
    except TypeError:
        return "–"


def _lat_row(label, mode, s, peer, scale=1000.0, fmt="{:.0f}", key="p50"):
    """One latency row: wall (parallel only), percentiles, ratio of p50 (or wall) to the peer's."""
    f = lambda v: fmt.format(v * scale)  # noqa: E731
    wall = f(s["wall"]) if "wall" in s else "–"
    rk = "wall" if "wall" in s else key
    rat = ratio(s[rk], peer[rk]) if peer is not None else "1 (peer)"
    return (f"| {label} | {mode} | {s['n']} | {wall} | {f(s['p50'])} | {f(s['p90'])} | {f(s['p99'])} "
            f"| {f(s['mean'])} | {f(s['min'])} | {f(s['max'])} | {rat} |")


def tables(r):
    out = []
    st = r.get("start")
    if st:
        out.append(f"### Pod start latency (load average {st['load']['start']} → {st['load']['end']})\n")
        out.append("RunPodSandbox + CreateContainer + StartContainer until the container is RUNNING "
                   "(hello: until EXITED), milliseconds. Ratio: kuasar-wasm ÷ runc, of the p50 for serial "
                   "series and of the wall time of the whole batch for parallel ones (< 1: kuasar-wasm faster).\n")
        out.append("| runtime | mode | pods | wall | p50 | p90 | p99 | mean | min | max | ratio vs runc |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for rt in RUNTIMES:
            out.append(_lat_row(rt, "serial", st["serial"][rt],
                                st["serial"]["runc"] if rt != "runc" else None))
        hello = st["hello"]
        if "kuasar-wasm" not in hello:  # older results: wasm only
            hello = {"kuasar-wasm": hello}
        for rt in RUNTIMES:
            if rt in hello:
                out.append(_lat_row(rt, "serial, hello to completion" + (" (busybox `true`)" if rt == "runc" else ""),
                                    hello[rt], hello.get("runc") if rt != "runc" else None))
        for n, per in st["parallel"].items():
            for rt in RUNTIMES:
                out.append(_lat_row(rt, f"{n} in parallel", per[rt], per["runc"] if rt != "runc" else None))
        out.append("")
    vm = r.get("vmm")
    if vm:
        out.append(f"### kuasar-vmm pod start vs raw QEMU boot (load average {vm['load']['start']} → "
                   f"{vm['load']['end']})\n")
        if not vm["available"]:
            out.append(f"kuasar-vmm: not available ({vm['reason']}).\n")
        else:
            out.append(f"QEMU accelerator: {vm['accel']}. Seconds. raw QEMU: start `qemu-system-x86_64` with the "
                       "vmm sandboxer's command line until `Task.Connect` answers on the guest agent socket; "
                       "kuasar-vmm: RunPodSandbox + CreateContainer (busybox) + StartContainer until RUNNING. "
                       "Ratio: kuasar-vmm ÷ raw QEMU (p50 serial, wall parallel).\n")
            out.append("| path | mode | pods | wall | p50 | p90 | p99 | mean | min | max | ratio vs raw QEMU |")
            out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            sec = dict(scale=1.0, fmt="{:.2f}")
            if "qemu_serial" in vm:
                out.append(_lat_row("raw QEMU boot", "serial", vm["qemu_serial"], None, **sec))
            if "vmm_serial" in vm:
                out.append(_lat_row("kuasar-vmm", "serial", vm["vmm_serial"], vm["qemu_serial"], **sec))
            if "qemu_parallel" in vm:
                par = vm["qemu_parallel"]["n"]
                out.append(_lat_row("raw QEMU boot", f"{par} in parallel", vm["qemu_parallel"], None, **sec))
                if "vmm_parallel" in vm:
                    out.append(_lat_row("kuasar-vmm", f"{par} in parallel", vm["vmm_parallel"],
                                        vm["qemu_parallel"], **sec))
            if vm.get("error"):
                out.append(f"\nThe section stopped early: {vm['error']}. The series above were measured before.")
            qm, km = vm.get("qemu_memory"), vm.get("vmm_memory")
            if qm and km:
                q_per = qm["qemu_kib"] / qm["vms"]
                k_q = km["qemu_kib"] / max(1, km["qemu"])
                k_all = (km["qemu_kib"] + km["shim_kib"] + km["sandboxer_kib"]) / km["pods"]
                out.append(f"\nMemory with {km['pods']} VMs running, PSS in MiB:\n")
                out.append("| what | per pod / VM | total | ratio vs raw QEMU per VM |")
                out.append("|---|---:|---:|---:|")
                out.append(f"| raw QEMU ({qm['vms']} VMs) | {mib(q_per)} | {mib(qm['qemu_kib'])} | 1 (peer) |")
                out.append(f"| kuasar-vmm: QEMU ({km['qemu']} found) | {mib(k_q)} | {mib(km['qemu_kib'])} "
                           f"| {ratio(k_q, q_per)} |")
                out.append(f"| kuasar-vmm: shim ({km['shim']} found) | {mib(km['shim_kib'] / max(1, km['shim']))} "
                           f"| {mib(km['shim_kib'])} | – |")
                out.append(f"| kuasar-vmm: vmm-sandboxer (node-wide) | {mib(km['sandboxer_kib'] / km['pods'])} "
                           f"| {mib(km['sandboxer_kib'])} | – |")
                out.append(f"| kuasar-vmm: QEMU + shim + sandboxer share | {mib(k_all)} "
                           f"| {mib(k_all * km['pods'])} | {ratio(k_all, q_per)} |")
            elif qm:
                out.append(f"\nraw QEMU PSS with {qm['vms']} VMs running: {mib(qm['qemu_kib'] / qm['vms'])} MiB per VM "
                           "(no kuasar-vmm figure to compare with).")
            out.append("")
    mem = r.get("memory")
    if mem:
        out.append(f"### Memory per pod, PSS in MiB (load average {mem['load']['start']} → {mem['load']['end']})\n")
        out.append("Ratios on the kuasar-wasm rows: our shim ÷ `containerd-shim-runc-v2`, and the per-pod total "
                   "including the node-wide sandboxer's share ÷ runc's per-pod total, at the same number of pods.\n")
        out.append("| runtime | pods | shim | tasker | containers | pause | pod total | node-wide (÷ pods) "
                   "| per pod incl. node share | all pods + node | shim ÷ runc shim | per pod ÷ runc |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for level, per in mem["levels"].items():
            runc = per.get("runc")
            runc_per = sum(runc["components_kib"].values()) / runc["pods"] if runc else None
            runc_shim = runc["components_kib"].get("shim", 0) / runc["pods"] if runc else None
            for rt in RUNTIMES:
                m = per.get(rt)
                if not m:
                    continue
                n = m["pods"]
                c = m["components_kib"]
                pod_total = sum(c.values())
                node = m["node_kib"].get("wasm-sandboxer", 0)
                cell = lambda k: mib(c[k] / n) if k in c else "–"  # noqa: E731
                node_cell = f"{mib(node)} sandboxer ({mib(node / n)})" if rt == "kuasar-wasm" else "–"
                if rt == "runc":
                    rats = "1 (peer) | 1 (peer)"
                else:
                    rats = f"{ratio(c.get('shim', 0) / n, runc_shim)} | {ratio((pod_total + node) / n, runc_per)}"
                out.append(f"| {rt} | {n} | {cell('shim')} | {cell('tasker')} | {cell('containers')} "
                           f"| {cell('pause')} | {mib(pod_total / n)} | {node_cell} | {mib((pod_total + node) / n)} "
                           f"| {mib(pod_total + node)} | {rats} |")
        out.append("\ncontainerd itself (shared by both, not counted above): "
                   + ", ".join(f"{lv} {rt} pods: {mib(m['node_kib']['containerd'])} MiB"
                               for lv, per in mem["levels"].items() for rt, m in per.items()) + "\n")
        out.append("**wasm-sandboxer against Kuasar's published figure** (Kuasar's sandboxer: ~15 MB at 50 pods):\n")
        out.append("| pods | wasm-sandboxer PSS (MiB) | MB (10^6 bytes) | ratio vs ~15 MB |")
        out.append("|---:|---:|---:|---:|")
        for level, per in mem["levels"].items():
            m = per.get("kuasar-wasm")
            if m:
                kib = m["node_kib"].get("wasm-sandboxer", 0)
                mb = kib * 1024 / 1e6
                out.append(f"| {level} | {mib(kib)} | {mb:.1f} | {ratio(mb, KUASAR_SANDBOXER_MB)} |")
        out.append("")
    rel = r.get("relay")
    if rel:
        out.append(f"### Relay overhead and ttrpc round trips, microseconds (load average {rel['load']['start']} → "
                   f"{rel['load']['end']})\n")
        groups = rel.get("groups") or {"task_state": {"via shim": rel["results"]["via shim"],
                                                      "tasker direct": rel["results"]["tasker direct"]}}
        titles = {"task_state": ("`containerd.task.v2.Task/State`", "tasker direct"),
                  "sandbox_status": ("Sandbox Status: ttrpc `containerd.runtime.sandbox.v1.Sandbox/SandboxStatus` "
                                     "on the shim vs gRPC `containerd.services.sandbox.v1.Controller/Status` on the "
                                     "sandboxer", "sandboxer direct (gRPC)"),
                  "ttrpc": ("ttrpc servers, one unary call per round trip from the same Python client loop: "
                            "containerd's Go ttrpc (`Events/Forward`, a valid Envelope) vs ours (`Task.Connect`)",
                            "containerd Events/Forward (Go ttrpc)")}
        out.append("| call | path | calls | p50 | p90 | p99 | mean | min | p50 ratio | p99 ratio |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for g, res in groups.items():
            title, peer_name = titles.get(g, (g, None))
            peer = res.get(peer_name)
            for k, s in res.items():
                rp = "1 (peer)" if k == peer_name else ratio(s["p50"], peer["p50"] if peer else None)
                rq = "1 (peer)" if k == peer_name else ratio(s["p99"], peer["p99"] if peer else None)
                short = {"task_state": "Task.State", "sandbox_status": "Sandbox Status", "ttrpc": "ttrpc unary"}
                out.append(f"| {short.get(g, g)} | {k} | {s['n']} "
                           f"| {s['p50']:.0f} | {s.get('p90', float('nan')):.0f} | {s['p99']:.0f} "
                           f"| {s['mean']:.0f} | {s['min']:.0f} | {rp} | {rq} |")
        out.append("")
        for g, res in groups.items():
            title, peer_name = titles.get(g, (g, None))
            if g == "ttrpc" or peer_name not in res or "via shim" not in res:
                continue
            d50 = res["via shim"]["p50"] - res[peer_name]["p50"]
            d99 = res["via shim"]["p99"] - res[peer_name]["p99"]
            out.append(f"- {title}: through the shim costs {d50:.0f} µs more at p50, {d99:.0f} µs more at p99.")
        if "ttrpc" in groups:
            out.append("- " + titles["ttrpc"][0] + ".")
        out.append("")
    tp = r.get("throughput")
    if tp:
        out.append(f"### Throughput: {tp['count']} short-lived containers in one pod (load average "
                   f"{tp['load']['start']} → {tp['load']['end']})\n")
        out.append("Each task: CreateContainer + StartContainer + wait until EXITED (ContainerStatus polled every "
                   f"{TPUT_POLL * 1000:.0f} ms) + RemoveContainer; kuasar-wasm runs `wasm-hello`, runc busybox "
                   "`true`. Ratio: kuasar-wasm ÷ runc tasks/s (> 1: kuasar-wasm faster).\n")
        out.append("| runtime | concurrency | tasks | wall (s) | tasks/s | ratio vs runc |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for conc in ("1", "10"):
            for rt in RUNTIMES:
                x = tp["results"][rt].get(conc) or tp["results"][rt].get(int(conc))
                peer = tp["results"]["runc"].get(conc) or tp["results"]["runc"].get(int(conc))
                rat = "1 (peer)" if rt == "runc" else ratio(x["per_s"], peer["per_s"])
                out.append(f"| {rt} | {conc} | {tp['count']} | {x['wall']:.1f} | {x['per_s']:.1f} | {rat} |")
        out.append("")
    tt = r.get("ttrpc")
    if tt:
        out.append("### ttrpc microbenchmark (bench/ttrpc)\n")
        out.append(f"`{tt.get('argv', 'bench-ttrpc')}` — {tt['status']}"
                   + (f", load average {tt['load']['start']} → {tt['load']['end']}" if "load" in tt else "")
                   + ". C client against the C server in one process pair; no peer to compare with here "
                   "(the Go comparison is the ttrpc rows of the relay table).\n")
        if tt.get("output", "").strip():
            out.append("```\n" + tt["output"].rstrip() + "\n```\n")
    return "\n".join(out)


def _cdf_plot(td, out, title, series, xlabel, scale):
    """series: [(title, samples in seconds, colour, dashed)] → a step CDF PNG with gnuplot."""
    plot_cmds = []
    for i, (name, samples, color, dashed) in enumerate(series):
        path = os.path.join(td, f"{os.path.basename(out)}-{i}.dat")
        s = sorted(samples)
        with open(path, "w") as f:
            for j, v in enumerate(s):
                f.write(f"{v * scale:.3f} {(j + 1) / len(s):.4f}\n")
        style = "lw 2" + (" dt 2" if dashed else "")
        plot_cmds.append(f"'{path}' using 1:2 with steps {style} lc rgb '{color}' title '{name}'")
    gp = ("set terminal pngcairo size 900,520 font ',11'\n"
          f"set output '{out}'\nset title '{title}'\n"
          f"set xlabel '{xlabel}'\nset ylabel 'fraction of pods'\nset logscale x\n"
          "set grid\nset key center center box opaque\nset yrange [0:1.02]\n"
          "plot " + ", \\\n  ".join(plot_cmds) + "\n")
    subprocess.run(["gnuplot"], input=gp, text=True, check=True)


def plots(r, img_dir):
    os.makedirs(img_dir, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as td:
        st = r.get("start")
        if st:
            blue, red = "#1f77b4", "#d62728"
            series = [(f"kuasar-wasm serial (n={st['serial']['kuasar-wasm']['n']})",
                       st["serial"]["kuasar-wasm"]["samples"], blue, False),
                      (f"runc serial (n={st['serial']['runc']['n']})", st["serial"]["runc"]["samples"], red, False)]
            big = max(st["parallel"], key=int) if st["parallel"] else None
            if big:
                series += [(f"kuasar-wasm {big} parallel", st["parallel"][big]["kuasar-wasm"]["samples"], blue, True),
                           (f"runc {big} parallel", st["parallel"][big]["runc"]["samples"], red, True)]
            out = os.path.join(img_dir, "bench-start-cdf.png")
            _cdf_plot(td, out, "Pod start latency (RunPodSandbox + Create + Start → RUNNING)", series,
                      "latency (ms, log scale)", 1000.0)
            made.append(out)
        vm = r.get("vmm")
        if vm and vm.get("available") and "vmm_serial" in vm:
            blue, red = "#1f77b4", "#2ca02c"
            par = vm["qemu_parallel"]["n"] if "qemu_parallel" in vm else "?"
            series = [(name, vm[k]["samples"], col, dashed) for name, k, col, dashed in (
                ("kuasar-vmm serial", "vmm_serial", blue, False), ("raw QEMU boot serial", "qemu_serial", red, False),
                (f"kuasar-vmm {par} parallel", "vmm_parallel", blue, True),
                (f"raw QEMU boot {par} parallel", "qemu_parallel", red, True)) if k in vm]
            out = os.path.join(img_dir, "bench-vmm-start-cdf.png")
            _cdf_plot(td, out, f"kuasar-vmm pod start vs raw QEMU boot to agent ({vm['accel']})", series,
                      "latency (s, log scale)", 1.0)
            made.append(out)
        mem = r.get("memory")
        if mem:
            path = os.path.join(td, "mem.dat")
            with open(path, "w") as f:
                f.write("# pods kuasar runc\n")
                ymax = 0.0
                for level, per in mem["levels"].items():
                    vals = []
                    for rt in RUNTIMES:
                        m = per[rt]
                        tot = sum(m["components_kib"].values()) + m["node_kib"].get("wasm-sandboxer", 0)
                        vals.append(f"{tot / m['pods'] / 1024:.2f}")
                        ymax = max(ymax, tot / m['pods'] / 1024)
                    f.write(f"{level} {' '.join(vals)}\n")
            out = os.path.join(img_dir, "bench-memory.png")
            gp = ("set terminal pngcairo size 800,480 font ',11'\n"
                  f"set output '{out}'\nset title 'PSS per pod (MiB), node-wide sandboxer shared out'\n"
                  "set style data histogram\nset style histogram clustered gap 1\nset style fill solid 0.85 border -1\n"
                  "set boxwidth 0.9\nset grid ytics\nset ylabel 'MiB per pod'\nset xlabel 'pods running'\n"
                  f"set yrange [0:{ymax * 1.3:.1f}]\nset xrange [-0.6:{len(mem['levels']) - 0.4}]\nset key top right\n"
                  f"plot '{path}' using 2:xtic(1) title 'kuasar-wasm (shim + tasker + module)' lc rgb '#1f77b4', \\\n"
                  f"  '' using 3 title 'runc (shim + pause + sleep)' lc rgb '#d62728', \\\n"
                  f"  '' using ($0-0.15):2:(sprintf('%.1f',$2)) with labels offset 0,0.7 notitle, \\\n"
                  f"  '' using ($0+0.15):3:(sprintf('%.1f',$3)) with labels offset 0,0.7 notitle\n")
            subprocess.run(["gnuplot"], input=gp, text=True, check=True)
            made.append(out)
    return made


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    versions = {}
    for name, argv in (("containerd", ["containerd", "--version"]), ("runc", ["runc", "--version"])):
        try:
            versions[name] = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.splitlines()[0]
        except Exception:  # noqa: BLE001
            versions[name] = "?"
    try:
        versions["wasmedge"] = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libwasmedge0"],
                                              capture_output=True, text=True, timeout=10).stdout.strip() or "?"
    except Exception:  # noqa: BLE001
        versions["wasmedge"] = "?"
    try:
        versions["qemu"] = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True,
                                          timeout=10).stdout.splitlines()[0]
    except Exception:  # noqa: BLE001
        versions["qemu"] = "QEMU ?"
    try:
        head = subprocess.run(["git", "-C", SRC, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001
        head = "?"
    try:
        import grpc
        grpcio = grpc.__version__
    except Exception:  # noqa: BLE001
        grpcio = "?"
    return {"commit": head, "python": platform.python_version(), "grpcio": grpcio, "cpus": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem_kib / 1024 / 1024, 1),
            "kernel": platform.release(), "versions": versions}


def write_doc(r, path, img_dir):
    m = r["machine"]
    a = r["params"]
    rel_img = os.path.relpath(img_dir, os.path.dirname(path))
    vm = r.get("vmm")
    vmm_img = (f"\n![kuasar-vmm vs raw QEMU start CDF]({rel_img}/bench-vmm-start-cdf.png)\n"
               if vm and vm.get("available") and "vmm_serial" in vm else "")
    with open(os.path.join(HERE, "reading.md")) as f:
        reading = f.read()
    doc = f"""# Benchmarks

Generated by `{r.get('command', 'sudo bench/run.sh --update-docs')}` ({r['when']}, {'quick' if a['quick'] else 'full'} run,
{r['duration_s']:.0f} s). Do not edit by hand: the tables and plots are rewritten on every run; the
reading at the end comes from `bench/reading.md`. The raw results of the committed run are in
`bench/results/last-full-run.json`; `sudo bench/run.sh --no-build --from-json FILE --update-docs`
rewrites this page from such a file without measuring.

## Method

One command, as root: `sudo bench/run.sh` (`--quick` for a short smoke run, `--update-docs` to
rewrite this page). One private **containerd 1.7** (the e2e harness, `tests/e2e/kuasar_e2e`: its own
root, state and sockets under `/tmp/kce-*`, log level info) with every runtime handler:
`kuasar-wasm` (`sandbox_mode = "shim"` → `containerd-shim-kuasar-wasm-v2` → `wasm-sandboxer` → one
`kuasar-wasm-tasker` per pod), `runc` (`io.containerd.runc.v2` = `containerd-shim-runc-v2`, pause
container) and `kuasar-vmm` (`containerd-shim-kuasar-vmm-v2` → `vmm-sandboxer` → one QEMU micro-VM
per pod), driven through CRI by a Python gRPC client, as kubelet would. The wasm sandboxer runs with
its default configuration (`precompile = false`: modules are interpreted by WasmEdge). All pods use
host networking (no CNI in the measurement), images are imported beforehand, nothing is pulled.
**Every figure comes with its ratio against its peer measured in the same run** (kuasar-wasm vs
runc, kuasar-vmm vs raw QEMU, through the shim vs straight to the tasker/sandboxer, our ttrpc vs
containerd's Go ttrpc); compare ratios, not absolute numbers across runs.

1. **Pod start latency**: the client clock from before `RunPodSandbox` to the first
   `ContainerStatus` that reports `CONTAINER_RUNNING` after `CreateContainer` + `StartContainer`
   (polled every {POLL * 1000:.0f} ms). kuasar-wasm runs the `wasm-sleeper` WASI module, runc runs
   busybox `sleep 3600`. One warm-up pod per runtime first, then {a['serial']} pods one after the
   other per runtime, the runtimes alternating pod by pod (p50/p90/p99 by nearest rank), then {', '.join(str(n) for n in a['parallel'])} pods
   started at once from as many threads (wall time until the last one runs, and each pod's own
   latency). "hello to completion" is the same sequence until `CONTAINER_EXITED`, with the
   `wasm-hello` module against busybox `true`. Pods are stopped and removed between series (not timed).
2. **kuasar-vmm vs raw QEMU** (only when the vmm path works on the machine: the vmm shim,
   `vmm-sandboxer`, the guest kernel and initrd exist and a probe pod reaches RUNNING; otherwise
   the section says why it is not available). Raw QEMU: `qemu-system-x86_64` started with the
   vmm sandboxer's command line (docs/vmm.md, same kernel, initrd, devices, accelerator), timed
   until a ttrpc `Task.Connect` answers on the guest agent's socket; kuasar-vmm: the CRI sequence
   of 1. with busybox `sleep`. {a.get('vmm_serial', 10)} serially (alternating with the raw boots), then {a.get('vmm_parallel', 10)} at once;
   PSS of QEMU, the vmm shims and `vmm-sandboxer` with the parallel batch running.
3. **Memory**: with {', '.join(str(n) for n in a['mem_levels'])} sleeper pods running (3 s after the
   last start), the PSS (`Pss:` of `/proc/<pid>/smaps_rollup`) of each pod's processes — kuasar-wasm:
   the shim, the tasker and its children (the running module); runc: `containerd-shim-runc-v2`, pause
   and `sleep` — plus the node-wide `wasm-sandboxer` shared out over the pods, and the sandboxer's
   total against Kuasar's published ~15 MB at 50 pods. PSS charges shared pages (libraries,
   binaries) to the processes sharing them, so the per-pod figure drops as pods are added.
   containerd itself is listed separately.
4. **Relay overhead and ttrpc**: a small Python ttrpc client (`bench/ttrpc_client.py`,
   hand-encoded frames, one connection per target) runs each call {a['relay_calls']} times per path,
   interleaved in 10 rounds so that load changes hit every path alike, against one running
   kuasar-wasm pod: `containerd.task.v2.Task/State` on the shim's socket (from the pod bundle's
   `address` file) vs the tasker's own `task.sock`; `containerd.runtime.sandbox.v1.Sandbox/SandboxStatus`
   on the shim's socket vs `containerd.services.sandbox.v1.Controller/Status` straight to the
   sandboxer's gRPC socket (grpcio generic unary call, the same hand-encoded request bytes,
   metadata `containerd-namespace: k8s.io`); and `containerd.services.events.ttrpc.v1.Events/Forward`
   (a valid Envelope: timestamp, namespace `k8s.io`, topic `/kuasar/bench`, a `TaskOOM` event Any)
   on containerd's own ttrpc socket (Go ttrpc) vs `Task.Connect` on the tasker's and the shim's
   sockets (our C ttrpc), from the same client loop. The absolute numbers include the Python
   client's own cost, which is the same on every path.
5. **Throughput**: in one pod (a running sleeper keeps it up), {a.get('tput_count', 200)} short-lived
   containers one after the other, then {a.get('tput_count', 200)} more 10 at a time: `CreateContainer`
   + `StartContainer` + wait until `CONTAINER_EXITED` + `RemoveContainer`; `wasm-hello` vs busybox `true`.
6. **ttrpc microbenchmark**: the output of `bench/ttrpc` (`bench-ttrpc`) when built.

**Noise**: the machine is shared with other engineers' builds and tests, so every section records
the load average (`/proc/loadavg`, 1/5/15 min) at its start and end; compare runtimes within one
run, not across runs.

## Machine

{m['cpus']} CPUs ({m['cpu']}), {m['mem_gib']} GiB RAM, Linux {m['kernel']}; {m['versions']['containerd']};
{m['versions']['runc']}; WasmEdge {m['versions']['wasmedge']}; {m['versions'].get('qemu', 'QEMU ?')};
Python {m.get('python', '?')}, grpcio {m.get('grpcio', '?')}. Command: `{r.get('command', 'sudo bench/run.sh --update-docs')}`. kuasar-c built from the working tree at
commit {m['commit']} (optimized `-O2 -g`, meson's default buildtype). Load average at start {r['load']['start']},
at end {r['load']['end']}.

## Results

{tables(r)}
![pod start latency CDF]({rel_img}/bench-start-cdf.png)

![memory per pod]({rel_img}/bench-memory.png)
{vmm_img}
## Reading

{reading}"""
    with open(path, "w") as f:
        f.write(doc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--update-docs", action="store_true")
    ap.add_argument("--no-build", action="store_true", help="(handled by run.sh)")
    ap.add_argument("--json", help="write the raw results here")
    ap.add_argument("--only", default="start,memory,relay,throughput,ttrpc,vmm",
                    help="comma-separated sections (default: all)")
    ap.add_argument("--from-json", help="no measurement: print (and with --update-docs write) a saved --json run")
    args = ap.parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            r = json.load(f)
        print(tables(r))
        if args.update_docs:
            img = os.path.join(SRC, "docs", "img")
            plots(r, img)
            write_doc(r, os.path.join(SRC, "docs", "benchmarks.md"), img)
        return 0
    os.environ["KC_BUILD_DIR"] = os.path.abspath(args.build)
    args.serial = 5 if args.quick else 30
    args.parallel = [5] if args.quick else [10, 50]
    args.mem_levels = [1, 5] if args.quick else [1, 10, 50]
    args.relay_calls = 500 if args.quick else 5000
    args.tput_count = 20 if args.quick else 200
    args.vmm_serial = 3 if args.quick else 10
    args.vmm_parallel = 3 if args.quick else 10
    if args.update_docs and not args.quick and not args.json:
        args.json = os.path.join(HERE, "results", "last-full-run.json")
    only = set(args.only.split(","))
    t_start = time.monotonic()
    r = {"when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
         "params": {"quick": args.quick, "serial": args.serial, "parallel": args.parallel,
                    "mem_levels": args.mem_levels, "relay_calls": args.relay_calls, "tput_count": args.tput_count,
                    "vmm_serial": args.vmm_serial, "vmm_parallel": args.vmm_parallel},
         "command": "sudo bench/run.sh" + "".join(f" {x}" for x in sys.argv[1:] if not x.startswith("--build")
                                                  and x != args.build),
         "machine": machine(), "load": {"start": loadavg()}}
    log(f"load average {r['load']['start']}")
    bench = Bench(args)
    try:
        if "start" in only:
            r["start"] = bench.bench_start()
        if "memory" in only:
            r["memory"] = bench.bench_memory()
        if "relay" in only:
            r["relay"] = bench.bench_relay()
        if "throughput" in only:
            r["throughput"] = bench.bench_throughput()
        if "vmm" in only:
            try:
                r["vmm"] = bench.bench_vmm()
            except Exception as e:  # noqa: BLE001  the vmm host side is young: report, keep the rest
                reason = f"measurement failed: {reason_of(e)}"
                part = getattr(bench, "vmm_res", None) or {"load": {"start": "?"}}
                part["load"]["end"] = loadavg()
                part.setdefault("accel", bench.qemu_accel())
                if part.get("available"):
                    part["error"] = reason  # some series done: keep them, say where it stopped
                    print(f"kuasar-vmm: {reason}", flush=True)
                else:
                    part.update({"available": False, "reason": reason})
                    print(f"kuasar-vmm: not available ({reason})", flush=True)
                r["vmm"] = part
                try:
                    bench.remove_all()
                except Exception as e2:  # noqa: BLE001
                    log(f"vmm cleanup: {e2}")
    finally:
        left = bench.close()
        if left:
            log("left behind (cleaned by force): " + "; ".join(left))
    if "ttrpc" in only:
        r["ttrpc"] = run_ttrpc_micro(args.build, args.quick)
    r["load"]["end"] = loadavg()
    r["duration_s"] = time.monotonic() - t_start
    print(f"# kuasar-c benchmarks ({'quick' if args.quick else 'full'}), load average "
          f"{r['load']['start']} → {r['load']['end']}\n")
    print(tables(r))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=1, default=str)
    if args.update_docs:
        img = os.path.join(SRC, "docs", "img")
        for p in plots(r, img):
            log(f"wrote {os.path.relpath(p, SRC)}")
        write_doc(r, os.path.join(SRC, "docs", "benchmarks.md"), img)
        log("wrote docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
