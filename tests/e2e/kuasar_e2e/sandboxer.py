"""Our sandboxer daemons (wasm-sandboxer, vmm-sandboxer) as the tests run them: private socket and
state dir under the session's temp dir, debug log to a file, start/stop/kill -9/restart."""
import os
import signal
import subprocess

from . import util

BINARIES = {
    "wasm": ("sandboxer/wasm/wasm-sandboxer", ["sandboxer/wasm/tasker/kuasar-wasm-tasker"]),
    "vmm": ("sandboxer/vmm/vmm-sandboxer", []),
}


class Sandboxer:
    def __init__(self, session, kind="wasm", extra_args=()):
        if kind not in BINARIES:
            raise ValueError(f"kind must be one of {list(BINARIES)}")
        self.session = session
        self.kind = kind
        rel, helpers = BINARIES[kind]
        self.binary = util.built_binary(rel, f"{kind}-sandboxer")
        self.helpers = [util.built_binary(h, os.path.basename(h)) for h in helpers]
        self.address = os.path.join(session.tmp, f"{kind}-sandboxer.sock")
        self.dir = os.path.join(session.tmp, f"kuasar-{kind}")
        self.log_path = os.path.join(session.tmp, f"{kind}-sandboxer.log")
        self.extra_args = list(extra_args)
        self.proc = None

    @property
    def argv(self):
        return [self.binary, "--listen", self.address, "--dir", self.dir, "--log-level", "debug", *self.extra_args]

    def env(self):
        # The sandboxer finds its tasker next to itself or on PATH; give it both ways.
        helper_dirs = [os.path.dirname(h) for h in self.helpers]
        path = ":".join(helper_dirs + [os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")])
        extra = {"PATH": path}
        for h in self.helpers:
            if h.endswith("kuasar-wasm-tasker"):
                extra["KUASAR_WASM_TASKER"] = h
        return self.session.env(extra)

    def start(self, timeout=15):
        if self.running():
            return self
        os.makedirs(self.dir, exist_ok=True)
        with open(self.log_path, "ab") as f:
            f.write(f"==== kuasar-c e2e: starting {' '.join(self.argv)}\n".encode())
        self.proc = self.session.spawn(self.argv, self.log_path, env=self.env())

        def up():
            if self.proc.poll() is not None:
                raise util.HarnessError(f"{self.kind}-sandboxer exited with {self.proc.returncode}:\n"
                                        + util.tail(self.log_path, 30))
            return util.socket_accepts(self.address)
        try:
            util.wait_for(up, timeout, what=f"{self.kind}-sandboxer to accept on {self.address}")
        except TimeoutError as e:
            raise util.HarnessError(f"{e}\n--- {self.log_path}:\n{util.tail(self.log_path, 40)}")
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def stop(self, timeout=15):
        """SIGTERM (what systemd sends) and wait; returns the exit code."""
        if not self.running():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise util.HarnessError(f"{self.kind}-sandboxer ignored SIGTERM for {timeout}s:\n"
                                    + util.tail(self.log_path, 30))

    def kill9(self):
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)

    def restart(self, hard=False):
        self.kill9() if hard else self.stop()
        return self.start()
