"""kuasar-c benchmarks through ONE private containerd 1.7 running both runtimes (kuasar-wasm and
runc), driven through CRI with the e2e harness (tests/e2e/kuasar_e2e). Run by bench/run.sh.

  1. pod start latency (serial and parallel), kuasar-wasm vs runc; hello-to-completion (wasm)
  2. PSS memory per pod with 1/10/50 pods running
  3. Task.State relay overhead: through the shim vs straight to the tasker (ttrpc)
  4. bench/ttrpc microbenchmark output (if built)
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


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def pct(values, p):
    """Nearest-rank percentile."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def summary(values):
    return {"n": len(values), "p50": pct(values, 50), "p99": pct(values, 99),
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

    def _wait_state(self, cid, state, timeout=120):
        want = self.cri.pb.ContainerState.Value(state)
        deadline = time.monotonic() + timeout
        while True:
            st = self.cri.container_status(cid)
            if st.state == want:
                return st
            if time.monotonic() > deadline:
                raise TimeoutError(f"container {cid[:12]} did not reach {state}")
            time.sleep(POLL)

    def start_pod(self, runtime, workload="sleep"):
        """RunPodSandbox + CreateContainer + StartContainer until RUNNING (or EXITED for hello).
        Returns (seconds, pod, container)."""
        if runtime == "kuasar-wasm":
            image = self.images["wasm-hello" if workload == "hello" else "wasm-sleeper"]
            kw = {}
        else:
            image = self.images["busybox"]
            kw = {"command": ["sleep", "3600"]}
        t0 = time.monotonic()
        pod = self.cri.run_pod(self._name("b" + runtime[0]), runtime_handler=runtime, host_network=True)
        c = pod.create_container("main", image, **kw).start()
        self._wait_state(c.id, "CONTAINER_EXITED" if workload == "hello" else "CONTAINER_RUNNING")
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
        res = {"serial": {}, "parallel": {}, "hello": None, "load": {"start": loadavg()}}
        # one warm-up pod per runtime (first use: image unpack caches, shim binary page-in)
        for rt in RUNTIMES:
            self.start_pod(rt)
        self.remove_all()
        for rt in RUNTIMES:
            lat = []
            for _ in range(a.serial):
                t, _p, _c = self.start_pod(rt)
                lat.append(t)
            res["serial"][rt] = {"samples": lat, **summary(lat)}
            log(f"serial {rt}: p50 {summary(lat)['p50'] * 1000:.0f} ms")
            self.remove_all()
        lat = []
        for _ in range(a.serial):
            t, _p, _c = self.start_pod("kuasar-wasm", "hello")
            lat.append(t)
        res["hello"] = {"samples": lat, **summary(lat)}
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
        for pid, (_pp, argv) in procs.items():
            if not argv:
                continue
            exe = os.path.basename(argv[0])
            pid_id = self._arg(argv, "-id")
            if runtime == "kuasar-wasm":
                if exe == "containerd-shim-kuasar-wasm-v2" and pid_id in ids:
                    add("shim", [pid])
                    found.add(("shim", pid_id))
                elif exe == "kuasar-wasm-tasker" and self._arg(argv, "--id") in ids:
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

    def bench_relay(self):
        import ttrpc_client as tc
        res = {"load": {"start": loadavg()}}
        _t, pod, c = self.start_pod("kuasar-wasm")
        targets = {"via shim": self._shim_address(pod.id),
                   "tasker direct": os.path.join(self.sandboxer.dir, pod.id, "task.sock")}
        res["addresses"] = targets
        n = self.args.relay_calls
        clients = {k: tc.Client(v) for k, v in targets.items()}
        for name, cl in clients.items():  # warm-up
            for _ in range(50):
                st = tc.task_state(cl, c.id)
        res["state_status"] = st.get(4, 0)
        lat = {k: [] for k in clients}
        # interleaved rounds so that load changes hit both paths alike
        rounds = 10
        for _ in range(rounds):
            for name, cl in clients.items():
                for _ in range(n // rounds):
                    t0 = time.perf_counter_ns()
                    tc.task_state(cl, c.id)
                    lat[name].append((time.perf_counter_ns() - t0) / 1000.0)
        for cl in clients.values():
            cl.close()
        res["results"] = {k: summary(v) for k, v in lat.items()}
        res["load"]["end"] = loadavg()
        self.remove_all()
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


def tables(r):
    out = []
    st = r.get("start")
    if st:
        out.append(f"### Pod start latency (load average {st['load']['start']} → {st['load']['end']})\n")
        out.append("RunPodSandbox + CreateContainer + StartContainer until the container is RUNNING "
                   "(hello: until EXITED), milliseconds.\n")
        out.append("| runtime | mode | pods | wall (ms) | p50 | p99 | mean | min | max |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for rt in RUNTIMES:
            s = st["serial"][rt]
            out.append(f"| {rt} | serial | {s['n']} | – | {ms(s['p50'])} | {ms(s['p99'])} | {ms(s['mean'])} "
                       f"| {ms(s['min'])} | {ms(s['max'])} |")
        h = st["hello"]
        out.append(f"| kuasar-wasm | serial, hello to completion | {h['n']} | – | {ms(h['p50'])} | {ms(h['p99'])} "
                   f"| {ms(h['mean'])} | {ms(h['min'])} | {ms(h['max'])} |")
        for n, per in st["parallel"].items():
            for rt in RUNTIMES:
                s = per[rt]
                out.append(f"| {rt} | {n} in parallel | {s['n']} | {ms(s['wall'])} | {ms(s['p50'])} "
                           f"| {ms(s['p99'])} | {ms(s['mean'])} | {ms(s['min'])} | {ms(s['max'])} |")
        out.append("")
    mem = r.get("memory")
    if mem:
        out.append(f"### Memory per pod, PSS in MiB (load average {mem['load']['start']} → {mem['load']['end']})\n")
        out.append("| runtime | pods | shim | tasker | containers | pause | pod total | node-wide (÷ pods) "
                   "| per pod incl. node share | all pods + node |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for level, per in mem["levels"].items():
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
                out.append(f"| {rt} | {n} | {cell('shim')} | {cell('tasker')} | {cell('containers')} "
                           f"| {cell('pause')} | {mib(pod_total / n)} | {node_cell} | {mib((pod_total + node) / n)} "
                           f"| {mib(pod_total + node)} |")
        out.append("\ncontainerd itself (shared by both, not counted above): "
                   + ", ".join(f"{lv} {rt} pods: {mib(m['node_kib']['containerd'])} MiB"
                               for lv, per in mem["levels"].items() for rt, m in per.items()) + "\n")
    rel = r.get("relay")
    if rel:
        out.append(f"### Task.State round trip, microseconds (load average {rel['load']['start']} → "
                   f"{rel['load']['end']})\n")
        out.append("| path | calls | p50 | p99 | mean | min |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for k, s in rel["results"].items():
            out.append(f"| {k} | {s['n']} | {s['p50']:.0f} | {s['p99']:.0f} | {s['mean']:.0f} | {s['min']:.0f} |")
        d50 = rel["results"]["via shim"]["p50"] - rel["results"]["tasker direct"]["p50"]
        d99 = rel["results"]["via shim"]["p99"] - rel["results"]["tasker direct"]["p99"]
        out.append(f"\nRelay cost (shim − direct): p50 {d50:.0f} µs, p99 {d99:.0f} µs.\n")
    tt = r.get("ttrpc")
    if tt:
        out.append("### ttrpc microbenchmark (bench/ttrpc)\n")
        out.append(f"`{tt.get('argv', 'bench-ttrpc')}` — {tt['status']}"
                   + (f", load average {tt['load']['start']} → {tt['load']['end']}" if "load" in tt else "")
                   + ".\n")
        if tt.get("output", "").strip():
            out.append("```\n" + tt["output"].rstrip() + "\n```\n")
    return "\n".join(out)


def plots(r, img_dir):
    os.makedirs(img_dir, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as td:
        st = r.get("start")
        if st:
            series = [("kuasar-wasm serial", st["serial"]["kuasar-wasm"]["samples"]),
                      ("runc serial", st["serial"]["runc"]["samples"])]
            big = max(st["parallel"], key=int) if st["parallel"] else None
            if big:
                series += [(f"kuasar-wasm {big} parallel", st["parallel"][big]["kuasar-wasm"]["samples"]),
                           (f"runc {big} parallel", st["parallel"][big]["runc"]["samples"])]
            plot_cmds = []
            for i, (title, samples) in enumerate(series):
                path = os.path.join(td, f"cdf{i}.dat")
                s = sorted(samples)
                with open(path, "w") as f:
                    for j, v in enumerate(s):
                        f.write(f"{v * 1000:.3f} {(j + 1) / len(s):.4f}\n")
                style = "lw 2" + (" dt 2" if "parallel" in title else "")
                color = "#1f77b4" if title.startswith("kuasar") else "#d62728"
                plot_cmds.append(f"'{path}' using 1:2 with steps {style} lc rgb '{color}' title '{title}'")
            out = os.path.join(img_dir, "bench-start-cdf.png")
            gp = ("set terminal pngcairo size 900,520 font ',11'\n"
                  f"set output '{out}'\nset title 'Pod start latency (RunPodSandbox + Create + Start → RUNNING)'\n"
                  "set xlabel 'latency (ms, log scale)'\nset ylabel 'fraction of pods'\nset logscale x\n"
                  "set grid\nset key center center box opaque\nset yrange [0:1.02]\n"
                  "plot " + ", \\\n  ".join(plot_cmds) + "\n")
            subprocess.run(["gnuplot"], input=gp, text=True, check=True)
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
        head = subprocess.run(["git", "-C", SRC, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001
        head = "?"
    return {"commit": head, "cpus": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem_kib / 1024 / 1024, 1),
            "kernel": platform.release(), "versions": versions}


def write_doc(r, path, img_dir):
    m = r["machine"]
    a = r["params"]
    rel_img = os.path.relpath(img_dir, os.path.dirname(path))
    with open(os.path.join(HERE, "reading.md")) as f:
        reading = f.read()
    doc = f"""# Benchmarks

Generated by `sudo bench/run.sh --update-docs` ({r['when']}, {'quick' if a['quick'] else 'full'} run,
{r['duration_s']:.0f} s). Do not edit by hand: the tables and plots are rewritten on every run; the
reading at the end comes from `bench/reading.md`. The raw results of the committed run are in
`bench/results/last-full-run.json`; `sudo bench/run.sh --no-build --from-json FILE --update-docs`
rewrites this page from such a file without measuring.

## Method

One private **containerd 1.7** (the e2e harness, `tests/e2e/kuasar_e2e`: its own root, state and
sockets under `/tmp/kce-*`, log level info) with both runtime handlers, `kuasar-wasm`
(`sandbox_mode = "shim"` → `containerd-shim-kuasar-wasm-v2` → `wasm-sandboxer` → one
`kuasar-wasm-tasker` per pod) and `runc` (`io.containerd.runc.v2`, pause container), driven through
CRI by a Python gRPC client, as kubelet would. The sandboxer runs with its default configuration
(`precompile = false`: modules are interpreted by WasmEdge). All pods use host networking (no CNI in the
measurement), images are imported beforehand, so nothing is pulled.

1. **Pod start latency**: the client clock from before `RunPodSandbox` to the first
   `ContainerStatus` that reports `CONTAINER_RUNNING` after `CreateContainer` + `StartContainer`
   (polled every {POLL * 1000:.0f} ms). kuasar-wasm runs the `wasm-sleeper` WASI module, runc runs
   busybox `sleep 3600`. One warm-up pod per runtime first, then {a['serial']} pods one after the
   other per runtime, then {', '.join(str(n) for n in a['parallel'])} pods started at once from as many
   threads (wall time until the last one runs, and each pod's own latency). "hello to completion"
   is the same sequence with the `wasm-hello` module, until `CONTAINER_EXITED`. Pods are stopped
   and removed between series (not timed).
2. **Memory**: with {', '.join(str(n) for n in a['mem_levels'])} sleeper pods running (3 s after the
   last start), the PSS (`Pss:` of `/proc/<pid>/smaps_rollup`) of each pod's processes — kuasar-wasm:
   the shim, the tasker and its children (the running module); runc: `containerd-shim-runc-v2`, pause
   and `sleep` — plus the node-wide `wasm-sandboxer` shared out over the pods. PSS charges shared
   pages (libraries, binaries) to the processes sharing them, so the per-pod figure drops as pods
   are added. containerd itself is listed separately.
3. **Relay overhead**: a small Python ttrpc client (`bench/ttrpc_client.py`, hand-encoded frames)
   calls `containerd.task.v2.Task/State` for the running container of one kuasar-wasm pod
   {a['relay_calls']} times on one connection to the shim's socket (from the pod bundle's `address`
   file) and as many times to the tasker's own `task.sock`, interleaved in 10 rounds. The difference
   is what the shim's relay adds; the absolute numbers include the Python client's own cost.
4. **ttrpc microbenchmark**: the output of `bench/ttrpc` (`bench-ttrpc`) when built.

**Noise**: the machine is shared with other engineers' builds and tests, so every section records
the load average (`/proc/loadavg`, 1/5/15 min) at its start and end; compare runtimes within one
run, not across runs.

## Machine

{m['cpus']} CPUs ({m['cpu']}), {m['mem_gib']} GiB RAM, Linux {m['kernel']}; {m['versions']['containerd']};
{m['versions']['runc']}; WasmEdge {m['versions']['wasmedge']}; kuasar-c built from the working tree at
commit {m['commit']} (optimized `-O2 -g`, meson's default buildtype). Load average at start {r['load']['start']},
at end {r['load']['end']}.

## Results

{tables(r)}
![pod start latency CDF]({rel_img}/bench-start-cdf.png)

![memory per pod]({rel_img}/bench-memory.png)

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
    ap.add_argument("--only", default="start,memory,relay,ttrpc")
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
    args.serial = 5 if args.quick else 20
    args.parallel = [5] if args.quick else [10, 50]
    args.mem_levels = [1, 5] if args.quick else [1, 10, 50]
    args.relay_calls = 500 if args.quick else 5000
    only = set(args.only.split(","))
    t_start = time.monotonic()
    r = {"when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
         "params": {"quick": args.quick, "serial": args.serial, "parallel": args.parallel,
                    "mem_levels": args.mem_levels, "relay_calls": args.relay_calls},
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
