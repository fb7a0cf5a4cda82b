"""pytest fixtures of the e2e suite. A test module asks for what it needs:

    containerd      a started private containerd with the test images imported, parametrised by
                    KC_E2E_CONTAINERD ("1.7", "2" or "1.7,2" = default); .cri is the CRI client
    containerd17    the same, always 1.7 (kuasar shim mode needs ENABLE_CRI_SANDBOXES, set for it)
    wasm_sandboxer  a started wasm-sandboxer on <tmp>/wasm-sandboxer.sock (fails if not built)
    e2e_session     the module's Session (temp dir, process tracking, cleanup guarantee)

Everything is module-scoped: one temp dir per test file. At module end the pods are removed
through CRI, the daemons get SIGTERM, and then anything still alive or mounted is a failure
(reported as a teardown error) and is killed/unmounted by force.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kuasar_e2e import session as e2e_session_mod  # noqa: E402
from kuasar_e2e import util  # noqa: E402
from kuasar_e2e.containerd import Containerd  # noqa: E402
from kuasar_e2e.sandboxer import Sandboxer  # noqa: E402


def _flavors():
    return [f.strip() for f in os.environ.get("KC_E2E_CONTAINERD", "1.7,2").split(",") if f.strip()]


@pytest.fixture(scope="module")
def e2e_session(request):
    s = e2e_session_mod.Session(label=request.module.__name__)
    try:
        yield s
    finally:
        forced = s.close()
        leftovers = s.leftovers
        if leftovers:
            pytest.fail("left behind after the graceful shutdown (then killed/unmounted by force):\n  "
                        + "\n  ".join(leftovers + forced), pytrace=False)


def _start_containerd(session, flavor):
    c = Containerd(session, flavor)
    session.on_close(c.shutdown, 10)
    c.start()
    c.images = c.import_images()
    return c


@pytest.fixture(scope="module", params=_flavors(), ids=lambda f: f"containerd-{f}")
def containerd(request, e2e_session):
    c = _start_containerd(e2e_session, request.param)
    yield c
    c.shutdown()


@pytest.fixture(scope="module")
def containerd17(e2e_session):
    c = _start_containerd(e2e_session, "1.7")
    yield c
    c.shutdown()


@pytest.fixture(scope="module")
def wasm_sandboxer(e2e_session):
    sb = Sandboxer(e2e_session, "wasm")
    e2e_session.on_close(sb.stop, 20)
    return sb.start()


@pytest.fixture(scope="module")
def vmm_sandboxer(request, e2e_session):
    """vmm-sandboxer with the guest kernel of scripts/setup-vmm.sh and the initramfs meson built;
    a module's VMM_CONFIG (more [vmm] lines, e.g. machine = "q35") is appended to its config."""
    kernel = "/opt/kuasar-c/guest-kernel/vmlinux"
    if not os.path.exists(kernel):
        pytest.fail(f"{kernel} missing: run scripts/setup-vmm.sh, then reconfigure the build")
    initrd = os.path.join(util.build_dir(), "sandboxer/vmm/guest/kuasar-guest.initrd")
    if not os.path.exists(initrd):
        pytest.fail(f"{initrd} missing: run scripts/setup-vmm.sh and reconfigure/rebuild (meson)")
    cfg = os.path.join(e2e_session.tmp, "vmm-sandboxer.toml")
    with open(cfg, "w") as f:
        f.write(f'[vmm]\nkernel = "{kernel}"\ninitrd = "{initrd}"\nboot_timeout_secs = 40\n')
        f.write(getattr(request.module, "VMM_CONFIG", ""))
    sb = Sandboxer(e2e_session, "vmm", extra_args=["--config", cfg])
    e2e_session.on_close(sb.stop, 20)
    return sb.start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    for s in list(e2e_session_mod.ACTIVE):
        for log in s.log_files():
            rel = os.path.relpath(log, s.tmp)
            lines = 15 if "pod-logs" in rel else 50
            rep.sections.append((f"{rel} (last {lines} lines)", util.tail(log, lines)))
        rep.sections.append(("e2e temp dir", f"{s.tmp} (logs are kept in {util.build_dir()}/e2e-logs/)"))
