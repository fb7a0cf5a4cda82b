"""A private containerd (1.7 with ENABLE_CRI_SANDBOXES=1 and config v2, or 2.x with config v3)
with its own root, state, sockets, CNI dirs and shim PATH, all under the session's temp dir."""
import os
import signal
import subprocess

from . import images, util

FLAVORS = ("1.7", "2")
KUASAR_KINDS = ("wasm", "vmm")
SANDBOX_IMAGE = "kc.test/pause:1"
CNI_SUBNET = "10.251.0.0/16"


def shim_binary(kind):
    return util.built_binary(f"shim/containerd-shim-kuasar-{kind}-v2", f"containerd-shim-kuasar-{kind}-v2")


def _toml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Containerd:
    def __init__(self, session, flavor="1.7", name=None):
        if flavor not in FLAVORS:
            raise ValueError(f"flavor must be one of {FLAVORS}")
        self.session = session
        self.flavor = flavor
        self.name = name or ("c17" if flavor == "1.7" else "c2")
        if flavor == "1.7":
            self.bin_dir = os.path.dirname(util.system_binary("containerd", "containerd (1.7, from trixie)"))
        else:
            self.bin_dir = util.CONTAINERD2_BIN
            util.system_binary("containerd", "containerd 2.x unpacked by scripts/setup.sh into /opt/kuasar-c",
                               path=os.path.join(self.bin_dir, "containerd"))
        self.binary = os.path.join(self.bin_dir, "containerd")
        self.ctr = util.system_binary("ctr", "containerd", path=os.path.join(self.bin_dir, "ctr"))
        util.system_binary("runc", "runc")
        util.system_binary("nsenter", "util-linux")
        self.base = os.path.join(session.tmp, self.name)
        self.root = os.path.join(self.base, "root")
        self.state = os.path.join(self.base, "state")
        self.address = os.path.join(self.base, "containerd.sock")
        self.ttrpc_address = self.address + ".ttrpc"
        self.shim_path_dir = os.path.join(self.base, "bin")
        self.cni_bin_dir = os.path.join(self.base, "cni", "bin")
        self.cni_conf_dir = os.path.join(self.base, "cni", "conf")
        self.config_path = os.path.join(self.base, "config.toml")
        self.log_path = os.path.join(self.base, "containerd.log")
        self.sandboxer_addresses = {k: os.path.join(session.tmp, f"{k}-sandboxer.sock") for k in KUASAR_KINDS}
        self.proc = None
        self._cri = None
        for d in (self.root, self.state, self.shim_path_dir, self.cni_bin_dir, self.cni_conf_dir):
            os.makedirs(d, exist_ok=True)
        session.grpc_addresses.add(self.address)
        self._install_cni()
        self._link_shims()
        with open(self.config_path, "w") as f:
            f.write(self.config_text())

    # -- files -----------------------------------------------------------------------------------
    def _install_cni(self):
        plugin = os.path.join(util.E2E_DIR, "cni", "kc-test-cni")
        for name in ("kc-test-cni", "loopback"):
            dst = os.path.join(self.cni_bin_dir, name)
            if not os.path.lexists(dst):
                os.symlink(plugin, dst)
        with open(os.path.join(self.cni_conf_dir, "10-kc-test.conflist"), "w") as f:
            f.write('{"cniVersion": "1.0.0", "name": "kc-test", "plugins": '
                    f'[{{"type": "kc-test-cni", "subnet": "{CNI_SUBNET}"}}]}}\n')

    def _link_shims(self):
        """Symlinks to whatever kuasar shims are built; require_kuasar() fails if one is missing."""
        for kind in KUASAR_KINDS:
            target = os.path.join(util.build_dir(), "shim", f"containerd-shim-kuasar-{kind}-v2")
            link = os.path.join(self.shim_path_dir, f"containerd-shim-kuasar-{kind}-v2")
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(target, link)

    def require_kuasar(self, kind):
        shim_binary(kind)

    def config_text(self):
        t = []
        if self.flavor == "1.7":
            cri = 'plugins."io.containerd.grpc.v1.cri"'
            t += ["version = 2", f"root = {_toml_str(self.root)}", f"state = {_toml_str(self.state)}",
                  'disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.nri.v1.nri",'
                  ' "io.containerd.tracing.processor.v1.otlp", "io.containerd.snapshotter.v1.btrfs",'
                  ' "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",'
                  ' "io.containerd.snapshotter.v1.aufs"]', "",
                  f"[grpc]\n  address = {_toml_str(self.address)}",
                  f"[ttrpc]\n  address = {_toml_str(self.ttrpc_address)}",
                  '[debug]\n  level = "debug"', '[metrics]\n  address = ""', "",
                  f"[{cri}]",
                  f"  sandbox_image = {_toml_str(SANDBOX_IMAGE)}",
                  "  restrict_oom_score_adj = true", "  disable_apparmor = true",
                  "  netns_mounts_under_state_dir = true",
                  '  stream_server_address = "127.0.0.1"', '  stream_server_port = "0"',
                  f"[{cri}.cni]", f"  bin_dir = {_toml_str(self.cni_bin_dir)}",
                  f"  conf_dir = {_toml_str(self.cni_conf_dir)}", "  max_conf_num = 1",
                  f"[{cri}.containerd]", '  default_runtime_name = "runc"', '  snapshotter = "overlayfs"',
                  f"[{cri}.containerd.runtimes.runc]", '  runtime_type = "io.containerd.runc.v2"',
                  f"[{cri}.containerd.runtimes.runc.options]", "  SystemdCgroup = false"]
            for kind in KUASAR_KINDS:
                t += [f"[{cri}.containerd.runtimes.kuasar-{kind}]",
                      f'  runtime_type = "io.containerd.kuasar-{kind}.v2"', '  sandbox_mode = "shim"']
        else:
            images = "plugins.'io.containerd.cri.v1.images'"
            runtime = "plugins.'io.containerd.cri.v1.runtime'"
            t += ["version = 3", f"root = {_toml_str(self.root)}", f"state = {_toml_str(self.state)}",
                  "disabled_plugins = ['io.containerd.internal.v1.opt', 'io.containerd.nri.v1.nri',"
                  " 'io.containerd.tracing.processor.v1.otlp', 'io.containerd.snapshotter.v1.btrfs',"
                  " 'io.containerd.snapshotter.v1.zfs', 'io.containerd.snapshotter.v1.devmapper',"
                  " 'io.containerd.snapshotter.v1.erofs', 'io.containerd.snapshotter.v1.blockfile']", "",
                  f"[grpc]\n  address = {_toml_str(self.address)}",
                  f"[ttrpc]\n  address = {_toml_str(self.ttrpc_address)}",
                  "[debug]\n  level = 'debug'", "[metrics]\n  address = ''", "",
                  f"[{images}]", "  snapshotter = 'overlayfs'",
                  f"[{images}.pinned_images]", f"  sandbox = {_toml_str(SANDBOX_IMAGE)}",
                  f"[{runtime}]", "  restrict_oom_score_adj = true", "  disable_apparmor = true",
                  "  netns_mounts_under_state_dir = true", "  enable_cdi = false",
                  f"[{runtime}.cni]", f"  bin_dirs = [{_toml_str(self.cni_bin_dir)}]",
                  f"  conf_dir = {_toml_str(self.cni_conf_dir)}", "  max_conf_num = 1",
                  f"[{runtime}.containerd]", "  default_runtime_name = 'runc'",
                  f"[{runtime}.containerd.runtimes.runc]", "  runtime_type = 'io.containerd.runc.v2'",
                  f"[{runtime}.containerd.runtimes.runc.options]", "  SystemdCgroup = false"]
            for kind in KUASAR_KINDS:
                t += [f"[{runtime}.containerd.runtimes.kuasar-{kind}]",
                      f"  runtime_type = 'io.containerd.kuasar-{kind}.v2'", "  sandboxer = 'shim'"]
            t += ["[plugins.'io.containerd.grpc.v1.cri']", "  stream_server_address = '127.0.0.1'",
                  "  stream_server_port = '0'"]
        return "\n".join(t) + "\n"

    def env(self):
        path = ":".join([self.shim_path_dir, self.bin_dir, "/usr/local/sbin", "/usr/local/bin",
                         "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
        extra = {"PATH": path,
                 "KUASAR_WASM_SANDBOXER_ADDRESS": self.sandboxer_addresses["wasm"],
                 "KUASAR_VMM_SANDBOXER_ADDRESS": self.sandboxer_addresses["vmm"]}
        if self.flavor == "1.7":
            extra["ENABLE_CRI_SANDBOXES"] = "1"
        return self.session.env(extra)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, timeout=20):
        if self.proc and self.proc.poll() is None:
            return self
        with open(self.log_path, "ab") as f:
            f.write(f"==== kuasar-c e2e: starting containerd {self.flavor} ({self.binary})\n".encode())
        self.proc = self.session.spawn([self.binary, "--config", self.config_path], self.log_path,
                                       env=self.env(), cwd=self.base)

        def up():
            if self.proc.poll() is not None:
                raise util.HarnessError(f"containerd {self.flavor} exited with {self.proc.returncode}:\n"
                                        + util.tail(self.log_path, 30))
            return util.socket_accepts(self.address)
        try:
            util.wait_for(up, timeout, what=f"containerd {self.flavor} socket {self.address}")
            util.wait_for(lambda: self.cri.version(), timeout, what="the CRI plugin to answer")
        except TimeoutError as e:
            raise util.HarnessError(f"{e}\n--- {self.log_path}:\n{util.tail(self.log_path, 40)}")
        return self

    def stop(self, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def restart(self):
        self.stop()
        self._cri = None
        return self.start()

    @property
    def cri(self):
        if self._cri is None:
            from .cri import CRI
            self._cri = CRI(self.address, self.session)
        return self._cri

    # -- images ----------------------------------------------------------------------------------
    def import_images(self, names=None):
        """Builds (cached in $KC_BUILD_DIR/e2e-images) and imports the test images."""
        image_build = images.builder()
        try:
            built = image_build.build(os.path.join(util.build_dir(), "e2e-images"), names)
            image_build.import_images(built, self.address, self.ctr)
        except image_build.BuildError as e:
            raise util.HarnessError(f"test images: {e}")
        return {name: ref for name, (ref, _tar) in built.items()}

    def ctr_cmd(self, *args):
        return subprocess.run([self.ctr, "--address", self.address, "-n", "k8s.io", *args],
                              capture_output=True, text=True, timeout=60)

    def known_ids(self):
        """Ids of every sandbox/task bundle containerd has on disk (for the leak bookkeeping)."""
        ids = set()
        for sub in ("io.containerd.runtime.v2.task/k8s.io", "io.containerd.sandbox.controller.v1.shim/k8s.io"):
            d = os.path.join(self.state, sub)
            if os.path.isdir(d):
                ids.update(os.listdir(d))
        for sub in ("io.containerd.grpc.v1.cri/sandboxes", "io.containerd.grpc.v1.cri/containers"):
            d = os.path.join(self.root, sub)
            if os.path.isdir(d):
                ids.update(os.listdir(d))
        return ids

    def shutdown(self):
        """Graceful end: every pod through CRI, then containerd itself."""
        self.session.ids.update(self.known_ids())
        if self.proc and self.proc.poll() is None:
            try:
                self.cri.remove_everything()
            finally:
                self.session.ids.update(self.known_ids())
                self.stop()
