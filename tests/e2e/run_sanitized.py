"""Runs e2e pytest files with the daemons of an ASan+UBSan build and fails on any sanitizer report.

    cd tests/e2e && KC_BUILD_DIR=$PWD/../../build-ci-asan KC_E2E_CONTAINERD=1.7 \\
        /usr/bin/python3 run_sanitized.py -m pytest -x -v -p no:cacheprovider test_wasm.py

Everything after the script name is handed to /usr/bin/python3 as is. The harness starts our shim,
sandboxer and tasker from $KC_BUILD_DIR with this process's environment (containerd passes it on
to the shims, the sandboxer to its taskers), so setting ASAN_OPTIONS / UBSAN_OPTIONS here reaches
every sanitized daemon. Each writes its reports to <report dir>/{asan,ubsan}.<pid> instead of the
daemon log; the run fails if pytest fails, if the binaries are not sanitized, or if any report
file is non-empty (each is printed). Leak checking is off (grpc/libevent keep global state until
exit); every other ASan error and every UBSan error stops the process (halt_on_error).
Report dir: $KC_BUILD_DIR/e2e-sanitizer/<pid>/ (kept when it holds reports)."""
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kuasar_e2e import util  # noqa: E402

DAEMONS = ["shim/containerd-shim-kuasar-wasm-v2", "sandboxer/wasm/wasm-sandboxer",
           "sandboxer/wasm/tasker/kuasar-wasm-tasker"]


def is_sanitized(path):
    with open(path, "rb") as f:
        data = f.read()
    return b"__asan_init" in data and b"__ubsan_handle" in data


class EnvWatcher(threading.Thread):
    """Checks, while the tests run, that every live daemon of ours got the sanitizer options (so a
    harness change that stops passing the environment on cannot make this run pass silently).
    Ours: the e2e session's marker variable KC_E2E_SESSION is in its environment (the same binary
    may run meanwhile outside the e2e session, e.g. under a unit test). Each of the shim, the
    sandboxer and the tasker must have been seen at least once."""

    def __init__(self, binaries, options):
        super().__init__(daemon=True)
        self.binaries = {os.path.realpath(b): os.path.basename(b) for b in binaries}
        self.options = options.encode()
        self.seen = {}      # daemon name -> pids seen with the options
        self.without = []   # (name, pid) seen without them
        self.stop = threading.Event()

    def scan(self):
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                exe = os.readlink(f"/proc/{d}/exe")
                name = self.binaries.get(exe)
                if name is None:
                    continue
                with open(f"/proc/{d}/environ", "rb") as f:
                    environ = f.read().split(b"\0")
            except OSError:
                continue
            if b"ASAN_OPTIONS=" + self.options in environ:
                self.seen.setdefault(name, set()).add(int(d))
            elif environ == [b""] or not os.path.exists(f"/proc/{d}/exe"):
                continue  # exited between the two reads: an exiting process shows an empty environ
            elif not any(e.startswith(b"KC_E2E_SESSION=") for e in environ):
                continue  # not an e2e daemon: e.g. a unit test running the same sanitized binary
            elif (name, int(d)) not in self.without:
                self.without.append((name, int(d)))

    def run(self):
        while not self.stop.wait(0.25):
            self.scan()


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    build = util.build_dir()
    for rel in DAEMONS:
        path = util.built_binary(rel, os.path.basename(rel))
        if not is_sanitized(path):
            print(f"run_sanitized: {path} is not built with -Db_sanitize=address,undefined "
                  f"(KC_BUILD_DIR={build})", file=sys.stderr)
            return 1
    reports = os.path.join(build, "e2e-sanitizer", str(os.getpid()))
    shutil.rmtree(reports, ignore_errors=True)
    os.makedirs(reports)
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join([f"log_path={reports}/asan", "detect_leaks=0", "halt_on_error=1",
                                    "abort_on_error=0", "print_summary=1", "detect_stack_use_after_return=0"])
    env["UBSAN_OPTIONS"] = ":".join([f"log_path={reports}/ubsan", "print_stacktrace=1", "halt_on_error=1",
                                     "print_summary=1"])
    env["KC_E2E_SANITIZER_REPORTS"] = reports
    print(f"run_sanitized: reports go to {reports}", flush=True)
    watcher = EnvWatcher([os.path.join(build, rel) for rel in DAEMONS], env["ASAN_OPTIONS"])
    watcher.start()
    rc = subprocess.call(["/usr/bin/python3", *argv], env=env)
    watcher.stop.set()
    watcher.join()

    found = []
    for name in sorted(os.listdir(reports)):
        path = os.path.join(reports, name)
        if os.path.isfile(path) and os.path.getsize(path) > 0:
            found.append(path)
    for path in found:
        print(f"\n===== sanitizer report {path}", flush=True)
        with open(path, errors="replace") as f:
            sys.stdout.write(f.read())
    if found:
        print(f"\nrun_sanitized: FAIL: {len(found)} sanitizer report(s) in {reports}", flush=True)
        return 1
    shutil.rmtree(reports, ignore_errors=True)
    print("run_sanitized: sanitized daemons seen: "
          + ", ".join(f"{n} x{len(p)}" for n, p in sorted(watcher.seen.items())), flush=True)
    if watcher.without:
        print(f"run_sanitized: FAIL: daemons without the sanitizer options: {watcher.without}", flush=True)
        return 1
    missing = sorted(set(os.path.basename(d) for d in DAEMONS) - set(watcher.seen))
    if rc == 0 and missing:
        print(f"run_sanitized: FAIL: never saw {missing} running with the sanitizer options "
              "(wrong KC_BUILD_DIR, or the environment is not passed on?)", flush=True)
        return 1
    if rc != 0:
        print(f"run_sanitized: FAIL: pytest exited with {rc} (no sanitizer report)", flush=True)
        return rc
    print("run_sanitized: OK: no sanitizer report", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
