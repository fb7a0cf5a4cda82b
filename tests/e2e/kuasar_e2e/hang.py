"""What to print when an ExecSync does not come back: containerd answers it only once it has seen the
exec's exit (Wait) AND EOF on its stdout/stderr FIFOs, so the dump names every process holding a FIFO
of the container (with its open mode and kernel stack: a blocked open(2) shows as fifo_open), the
pod's tasker and its children, the shim, the tasker log, and containerd's goroutines (SIGUSR1 makes
containerd 1.7 write them into its log). Written to <session tmp>/hang-<container>.log, which the
harness attaches to the failure report and keeps with the other logs."""
import os
import shutil
import signal
import subprocess
import threading
import time

from . import util
from .session import Proc, all_pids

ACCESS = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR"}
O_PATH = 0o10000000  # containerd's fifo package holds one per FIFO (not a reader or writer)


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError as e:
        return f"<{e.strerror}>"


def _proc_line(pid):
    try:
        p = Proc(pid)
    except OSError:
        return f"pid {pid}: gone"
    wchan = _read(f"/proc/{pid}/wchan").strip()
    return f"{p!r} wchan={wchan}"


def fifo_holders(io_root):
    """(pid, fd, path, access mode) of every open fd of any process under io_root."""
    found = []
    for pid in all_pids():
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if not target.startswith(io_root):
                continue
            flags = 0
            for line in _read(f"/proc/{pid}/fdinfo/{fd}").splitlines():
                if line.startswith("flags:"):
                    flags = int(line.split()[1], 8)
            mode = "O_PATH" if flags & O_PATH else ACCESS.get(flags & 3, oct(flags))
            found.append((pid, int(fd), target, mode))
    return found


def _descendants(pid):
    procs = []
    for p in all_pids():
        try:
            procs.append(Proc(p))
        except OSError:
            pass
    out, todo = [], [pid]
    while todo:
        cur = todo.pop()
        kids = [p.pid for p in procs if p.ppid == cur]
        out += kids
        todo += kids
    return out


def _gdb_backtrace(pid):
    if not shutil.which("gdb"):
        return "(no gdb)"
    try:
        r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "thread apply all bt"],
                           capture_output=True, text=True, timeout=30)
        frames = [line for line in r.stdout.splitlines() if line.startswith(("#", "Thread"))]
        return "\n".join(frames) if frames else f"(no frames; gdb said: {(r.stdout + r.stderr)[-500:]})"
    except (subprocess.TimeoutExpired, OSError) as e:
        return f"(gdb failed: {e})"


def dump(containerd, sandboxer_dir, pod_id, container_id, what):
    """Everything above, as text; also written to <tmp>/hang-<container id>.log."""
    out = [f"==== {what}: no answer; state at {time.strftime('%H:%M:%S')}"]
    io_root = os.path.join(containerd.state, "io.containerd.grpc.v1.cri", "containers", container_id, "io")
    out.append(f"-- FIFOs under {io_root}:")
    for dirpath, _dirs, files in os.walk(io_root):
        out += [f"   {os.path.join(dirpath, f)}" for f in sorted(files)]
    out.append("-- processes holding them (pid, fd, mode):")
    holders = fifo_holders(io_root)
    for pid, fd, target, mode in sorted(holders):
        out.append(f"   {pid} fd {fd} {mode} {os.path.basename(target)}  [{_proc_line(pid)}]")
    taskers = [p for p in all_pids() if _argv0(p) == "kuasar-wasm-tasker" and pod_id in _safe_cmdline(p)]
    shims = [p for p in all_pids() if "containerd-shim-kuasar" in _safe_cmdline(p) and pod_id in _safe_cmdline(p)]
    for label, pids in (("tasker", taskers), ("shim", shims)):
        for pid in pids:
            if Proc(pid).ppid in taskers:
                continue  # a container or exec process: listed as a child below
            out.append(f"-- {label} {_proc_line(pid)}")
            out.append("   fds: " + " ".join(f"{fd}->{_safe_readlink(pid, fd)}" for fd in _safe_fds(pid)))
            for kid in _descendants(pid):
                out.append(f"   child {_proc_line(kid)}")
                out.append("     fds: " + " ".join(f"{fd}->{_safe_readlink(kid, fd)}" for fd in _safe_fds(kid)))
                out.append("     kernel stack: " + " < ".join(
                    line.split()[-1] for line in _read(f"/proc/{kid}/stack").splitlines() if line.strip()))
            out.append(f"   threads:\n{_gdb_backtrace(pid)}")
    for pid in {h[0] for h in holders} - set(taskers) - set(shims):
        out.append(f"-- kernel stack of holder {pid}: " + " < ".join(
            line.split()[-1] for line in _read(f"/proc/{pid}/stack").splitlines() if line.strip()))
    log = os.path.join(sandboxer_dir, pod_id, "tasker.log")
    out.append(f"-- {log} (tail):\n{util.tail(log, 40)}")
    if containerd.proc is not None and containerd.proc.poll() is None:
        os.kill(containerd.proc.pid, signal.SIGUSR1)  # goroutine dump into containerd.log
        out.append(f"-- containerd {containerd.proc.pid}: goroutine dump requested (SIGUSR1), in {containerd.log_path}")
    text = "\n".join(out) + "\n"
    path = os.path.join(containerd.session.tmp, f"hang-{container_id[:12]}.log")
    with open(path, "a") as f:
        f.write(text)
    return text


def _safe_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _argv0(pid):
    return os.path.basename(_safe_cmdline(pid).split(" ", 1)[0])


def _safe_fds(pid):
    try:
        return sorted(int(fd) for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return []


def _safe_readlink(pid, fd):
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return "?"


_dumped = set()
_dumped_lock = threading.Lock()


def exec_sync_watched(containerd, sandboxer_dir, pod_id, container, cmd, timeout, watch_after):
    """container.exec_sync(cmd, timeout); if it has not answered after watch_after seconds, the
    dump above is printed and logged, once per container (it covers all its execs; the call itself
    goes on until its own deadline)."""
    def watchdog():
        with _dumped_lock:
            if container.id in _dumped:
                print(f"ExecSync {cmd} in {container.id[:12]}: no answer after {watch_after}s either", flush=True)
                return
            _dumped.add(container.id)
        try:
            print(dump(containerd, sandboxer_dir, pod_id, container.id,
                       f"ExecSync {cmd} in {container.id[:12]} after {watch_after}s"), flush=True)
        except Exception as e:  # noqa: BLE001 - a diagnostic must not hide the failure itself
            print(f"hang dump failed: {e!r}", flush=True)

    timer = threading.Timer(watch_after, watchdog)
    timer.daemon = True
    timer.start()
    try:
        return container.exec_sync(cmd, timeout=timeout)
    finally:
        timer.cancel()
