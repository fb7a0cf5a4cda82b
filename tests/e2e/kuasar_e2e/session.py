"""A test session: one temp dir holding every daemon's dirs, sockets and logs, and the cleanup
guarantee. Every process we start (and everything it starts) is found again by
  * the marker variable KC_E2E_SESSION=<tmp> in its environment (inherited by shims, sandboxers,
    taskers),
  * our temp dir in its command line (shims get `-address <tmp>/…/containerd.sock`),
  * its cgroup (every pod gets cgroup_parent <session.cgroup_parent>/pod<uid>),
  * being our child: this process is a child subreaper, so daemonised shims re-parent to us.
close() kills all of them, unmounts everything under the temp dir, removes the global files our
containerd instances made (/run/containerd/s/<hash>, /run/containerd/runc/k8s.io/<id>), keeps the
logs under $KC_BUILD_DIR/e2e-logs/ and deletes the temp dir."""
import ctypes
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time

from . import util

PR_SET_CHILD_SUBREAPER = 36
MNT_DETACH = 2
SHIM_SOCKET_DIR = "/run/containerd/s"
RUNC_STATE_DIR = "/run/containerd/runc/k8s.io"
CGROUP_ROOT = "/sys/fs/cgroup"
SETTLE_SECONDS = 5.0  # how long leak checks let processes finish exiting

ACTIVE = []  # sessions alive in this pytest process, for the failure report hook

_libc = ctypes.CDLL(None, use_errno=True)


def _set_subreaper():
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise util.HarnessError(f"prctl(PR_SET_CHILD_SUBREAPER): errno {ctypes.get_errno()}")


def _umount_detach(path):
    if _libc.umount2(path.encode(), MNT_DETACH) != 0:
        return ctypes.get_errno()
    return 0


def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return b"" if "b" in mode else ""


class Proc:
    def __init__(self, pid):
        self.pid = pid
        status = _read(f"/proc/{pid}/status")
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        self.name = fields.get("Name", "?").strip()
        self.state = fields.get("State", "?").strip()[:1]
        self.ppid = int(fields.get("PPid", "0").strip() or 0)
        self.cmdline = _read(f"/proc/{pid}/cmdline", "rb").replace(b"\0", b" ").decode(errors="replace").strip()
        self.environ = _read(f"/proc/{pid}/environ", "rb")
        self.cgroup = _read(f"/proc/{pid}/cgroup")

    def __repr__(self):
        return f"pid {self.pid} ({self.name}, state {self.state}, ppid {self.ppid}): {self.cmdline[:200]}"


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


class Session:
    def __init__(self, label="e2e"):
        util.require_root()
        base = os.environ.get("KC_E2E_TMPDIR", "/tmp")
        # Short on purpose: <tmp>/kuasar-wasm/<64 hex id>/task.sock must stay under 108 bytes.
        self.tmp = tempfile.mkdtemp(prefix="kce-", dir=base)
        os.chmod(self.tmp, 0o755)
        self.label = label
        self.tag = os.path.basename(self.tmp)
        self.marker = b"KC_E2E_SESSION=" + self.tmp.encode()
        self.cgroup_parent = f"/kc-e2e-{self.tag}"
        self.ids = set()                # pod and container ids created through CRI
        self.grpc_addresses = set()     # containerd gRPC sockets (shim socket hash input)
        self.daemons = []               # Popen of long-running daemons we started
        self._on_close = []             # (order, seq, fn): graceful steps run before the forced cleanup
        self.leftovers = []             # leaks() after the graceful steps, before any force
        self.closed = False
        _set_subreaper()
        ACTIVE.append(self)

    def on_close(self, fn, order):
        """Registers a graceful shutdown step; lower `order` runs first (0: pods through CRI,
        10: containerd, 20: sandboxers), same order in reverse registration."""
        self._on_close.append((order, -len(self._on_close), fn))

    # -- starting processes -------------------------------------------------------------------
    def env(self, extra=None):
        env = dict(os.environ)
        env["KC_E2E_SESSION"] = self.tmp
        env.update(extra or {})
        return env

    def spawn(self, argv, log_path, env=None, cwd=None):
        """Starts a daemon in its own session, stdout+stderr appended to log_path."""
        log = open(log_path, "ab")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                 env=env if env is not None else self.env(), cwd=cwd or self.tmp,
                                 start_new_session=True)
        finally:
            log.close()
        self.daemons.append(p)
        return p

    # -- finding what is ours -----------------------------------------------------------------
    def _is_ours(self, p):
        if p.pid == os.getpid():
            return False
        return (self.marker in p.environ.split(b"\0")
                or self.tmp in p.cmdline
                or f":{self.cgroup_parent}/" in p.cgroup or p.cgroup.rstrip().endswith(self.cgroup_parent)
                or p.ppid == os.getpid() and p.state != "Z")

    def processes(self, include_zombies=False):
        procs = []
        for pid in all_pids():
            p = Proc(pid)
            if not p.cmdline and p.state != "Z" and p.ppid != os.getpid():
                continue  # kernel thread or already gone
            if p.state == "Z" and not include_zombies:
                continue
            if self._is_ours(p):
                procs.append(p)
        return procs

    def reap_orphans(self):
        """Reaps zombies re-parented to us (subreaper), leaving the Popen children alone."""
        popen_pids = {d.pid for d in self.daemons if d.returncode is None}
        for pid in all_pids():
            if pid in popen_pids:
                continue
            p = Proc(pid)
            if p.ppid == os.getpid() and p.state == "Z":
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass

    def mounts(self):
        found = []
        for line in _read("/proc/self/mountinfo").splitlines():
            parts = line.split()
            if len(parts) > 4:
                mp = parts[4].replace("\\040", " ")
                if mp == self.tmp or mp.startswith(self.tmp + "/"):
                    found.append(mp)
        return found

    def _shim_socket_paths(self):
        paths = []
        for addr in self.grpc_addresses:
            for cid in self.ids:
                key = os.path.join(addr, "k8s.io", cid)
                for s in (key, key + "/debug"):
                    paths.append(os.path.join(SHIM_SOCKET_DIR, hashlib.sha256(s.encode()).hexdigest()))
        return paths

    def global_files(self):
        files = [p for p in self._shim_socket_paths() if os.path.lexists(p)]
        files += [os.path.join(RUNC_STATE_DIR, i) for i in self.ids
                  if os.path.lexists(os.path.join(RUNC_STATE_DIR, i))]
        return files

    def cgroups(self):
        found = []
        if not os.path.isdir(CGROUP_ROOT):
            return found
        for ctrl in sorted(os.listdir(CGROUP_ROOT)):
            top = os.path.join(CGROUP_ROOT, ctrl, self.cgroup_parent.lstrip("/"))
            if os.path.isdir(top):
                for dirpath, _dirs, _files in os.walk(top, topdown=False):
                    found.append(dirpath)
        return found

    def leaks(self, allow_pids=()):
        """Everything of ours still alive or mounted. An empty list is the goal."""
        self.reap_orphans()
        left = [f"process {p!r}" for p in self.processes() if p.pid not in allow_pids]
        left += [f"mount {m}" for m in self.mounts()]
        left += [f"global file {f}" for f in self.global_files()]
        for cg in self.cgroups():
            procs = _read(os.path.join(cg, "cgroup.procs")).split()
            if procs:
                left.append(f"cgroup {cg} with processes {procs}")
        return left

    def leaks_besides_daemons(self, settle=SETTLE_SECONDS):
        """leaks(), ignoring the daemons we started that are still running (containerd, sandboxers):
        what must be true once every pod has been removed through CRI. Processes get `settle`
        seconds to finish exiting (a shim leaves shortly after ShutdownSandbox, not during it)."""
        return self.settled_leaks(lambda: self.leaks(allow_pids={d.pid for d in self.daemons if d.poll() is None}),
                                  settle)

    def settled_leaks(self, check=None, settle=SETTLE_SECONDS):
        """Polls check() (default leaks()) until it is empty or `settle` seconds have passed."""
        check = check or self.leaks
        deadline = time.monotonic() + settle
        while True:
            left = check()
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(0.1)

    # -- cleanup --------------------------------------------------------------------------------
    def kill_all(self, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            procs = self.processes()
            for p in procs:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.reap_orphans()
            for d in self.daemons:
                try:
                    d.wait(timeout=0.1)
                except subprocess.TimeoutExpired:
                    pass
            if not procs or time.monotonic() > deadline:
                return [p for p in procs]
            time.sleep(0.1)

    def unmount_all(self):
        for _ in range(5):
            mps = self.mounts()
            if not mps:
                return
            for mp in sorted(mps, key=len, reverse=True):
                _umount_detach(mp)

    def remove_cgroups(self):
        for cg in self.cgroups():
            try:
                os.rmdir(cg)
            except OSError:
                pass

    def remove_global_files(self):
        for f in self.global_files():
            try:
                if os.path.isdir(f) and not os.path.islink(f):
                    shutil.rmtree(f, ignore_errors=True)
                else:
                    os.unlink(f)
            except OSError:
                pass

    def keep_logs(self):
        dest = os.path.join(util.build_dir(), "e2e-logs", f"{self.label}-{self.tag}")
        for dirpath, _dirs, files in os.walk(self.tmp):
            for name in files:
                if not name.endswith(".log") and name not in ("config.toml",):
                    continue
                src = os.path.join(dirpath, name)
                if not os.path.isfile(src):
                    continue
                rel = os.path.relpath(src, self.tmp)
                os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
                try:
                    shutil.copyfile(src, os.path.join(dest, rel))
                except OSError:
                    pass
        return dest

    def log_files(self):
        logs = []
        for dirpath, _dirs, files in os.walk(self.tmp):
            for name in files:
                if name.endswith(".log") and os.path.isfile(os.path.join(dirpath, name)):
                    logs.append(os.path.join(dirpath, name))
        return sorted(logs)

    def close(self):
        """Forced cleanup; always safe to call. Returns what had to be cleaned by force."""
        if self.closed:
            return []
        self.closed = True
        forced = []
        for _order, _seq, fn in sorted(self._on_close, key=lambda t: (t[0], t[1])):
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - best effort, the forced cleanup follows
                forced.append(f"graceful cleanup step failed: {e}")
        self._on_close.clear()
        self.leftovers = self.settled_leaks()
        forced += [f"killed {p!r}" for p in self.processes()]
        left = self.kill_all()
        forced += [f"could not kill {p!r}" for p in left]
        forced += [f"unmounted {m}" for m in self.mounts()]
        self.unmount_all()
        forced += [f"removed {f}" for f in self.global_files()]
        self.remove_global_files()
        self.remove_cgroups()
        self.keep_logs()
        if os.environ.get("KC_E2E_KEEP_TMP") != "1" and not self.mounts():
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self in ACTIVE:
            ACTIVE.remove(self)
        return forced
