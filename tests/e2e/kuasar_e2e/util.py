"""Small helpers shared by the harness: paths, required binaries, waiting, log tails."""
import os
import shutil
import socket
import time

SRC_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
E2E_DIR = os.path.join(SRC_DIR, "tests", "e2e")
CONTAINERD2_BIN = "/opt/kuasar-c/containerd-2/usr/bin"
CRI_PROTO = "/usr/local/share/kuasar-c/cri-api/api.proto"


class HarnessError(AssertionError):
    """Something the test needs is missing or broken: the message says what to install or build."""


def build_dir():
    return os.path.abspath(os.environ.get("KC_BUILD_DIR", os.path.join(SRC_DIR, "build")))


def built_binary(rel, what):
    """Path of a binary of ours in the meson build dir; fails loudly when it is not built."""
    path = os.path.join(build_dir(), rel)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise HarnessError(f"{what} is not built: {path} is missing (KC_BUILD_DIR={build_dir()}); "
                           f"run `ninja -C {build_dir()} {rel}`")
    return path


def system_binary(name, package, path=None):
    found = path if path and os.access(path, os.X_OK) else shutil.which(name)
    if not found:
        raise HarnessError(f"`{name}` not found: install {package} (scripts/setup.sh)")
    return found


def require_root():
    if os.geteuid() != 0:
        raise HarnessError("the e2e tests must run as root (containerd, mounts, netns)")


def wait_for(predicate, timeout, interval=0.05, what="condition"):
    """Polls `predicate` until it returns a truthy value; returns it, or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - retried until the deadline, then reported
            last_exc = e
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}"
                               + (f" (last error: {last_exc})" if last_exc else ""))
        time.sleep(interval)


def socket_accepts(path):
    if not os.path.exists(path):
        return False
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(1)
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def tail(path, lines=60):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode(errors="replace")
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return "\n".join(l if len(l) <= 500 else l[:500] + " …" for l in data.splitlines()[-lines:])
