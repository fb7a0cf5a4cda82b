"""kuasar-wasm pods through a private containerd 1.7 (sandbox_mode = "shim", ENABLE_CRI_SANDBOXES=1)
or 2.x (sandboxer = "shim"), as KC_E2E_CONTAINERD selects:
containerd -> containerd-shim-kuasar-wasm-v2 -> wasm-sandboxer -> kuasar-wasm-tasker -> WasmEdge.
Exit codes, logs and stop behaviour are checked against what a runc container reports
(tests/e2e/test_runc.py::test_stop_exit_codes_like_runc).

Needs, in $KC_BUILD_DIR: shim/containerd-shim-kuasar-wasm-v2, sandboxer/wasm/wasm-sandboxer and
sandboxer/wasm/tasker/kuasar-wasm-tasker (the fixtures fail naming what is missing)."""
import time

import grpc
import pytest

from kuasar_e2e.images import HELLO_TXT

HANDLER = "kuasar-wasm"


@pytest.fixture(scope="module")
def wasm(wasm_sandboxer, containerd):
    """containerd (each flavor) whose kuasar-wasm runtime reaches our wasm-sandboxer."""
    containerd.require_kuasar("wasm")
    return containerd


def host_network(c):
    """Host network on 1.7 (covers the tasker without --netns); a CNI netns on 2.x, where
    containerd 2.1 panics on host-network pods with a shim sandboxer."""
    return c.flavor == "1.7"


@pytest.fixture(scope="module")
def pod(wasm):
    p = wasm.cri.run_pod("wasm-main", runtime_handler=HANDLER, host_network=host_network(wasm))
    yield p
    try:
        p.stop()
        p.remove()
    except grpc.RpcError:
        pass


def test_pod_is_ready(wasm, pod):
    st = pod.status(verbose=True).status
    assert st.state == wasm.cri.pb.PodSandboxState.Value("SANDBOX_READY")
    assert st.metadata.name == "wasm-main"
    assert st.created_at > 0
    assert [p.id for p in wasm.cri.list_pods()] == [pod.id]
    assert [p.runtime_handler for p in wasm.cri.list_pods()] == [HANDLER]


def test_hello_log_and_exit_code(wasm, pod):
    c = pod.create_container("hello", wasm.images["wasm-hello"], args=["a1", "two words"],
                             env={"GREETING": "hi there", "EXIT_CODE": "3"})
    c.start()
    st = c.wait("CONTAINER_EXITED", timeout=30)
    c.wait_log(f"file:{HELLO_TXT}", stream="stdout")
    c.wait_log("hello: this line goes to stderr\n", stream="stderr")
    out = c.log("stdout")
    assert "arg[0]=/hello.wasm\n" in out
    assert "arg[1]=a1\n" in out
    assert "arg[2]=two words\n" in out
    assert "env:GREETING=hi there\n" in out
    assert "env:EXIT_CODE=3\n" in out
    assert f"file:{HELLO_TXT}" in out
    assert c.log("stderr") == "hello: this line goes to stderr\n"
    assert (st.exit_code, st.reason) == (3, "Error")
    # containerd stamps started_at when the Start call returns: a process that exits at once can
    # finish a fraction of a millisecond "before" it. Both come after creation.
    assert st.finished_at >= st.created_at > 0 and st.started_at >= st.created_at
    c.remove()


def test_hello_exit_zero_is_completed(wasm, pod):
    c = pod.create_container("hello-ok", wasm.images["wasm-hello"]).start()
    st = c.wait("CONTAINER_EXITED", timeout=30)
    assert (st.exit_code, st.reason) == (0, "Completed")
    c.wait_log("arg[0]=/hello.wasm\n", stream="stdout")
    c.remove()


def test_stop_sleeper_like_runc(wasm, pod):
    """WASI has no signals: SIGTERM ends the module at once, which runc reports as 128+15 = 143.
    Only a process that survives the grace period is SIGKILLed and reports 137 (as runc does)."""
    c = pod.create_container("sleeper", wasm.images["wasm-sleeper"]).start()
    c.wait("CONTAINER_RUNNING", timeout=30)
    c.wait_log("started\n")
    grace = 10
    t0 = time.monotonic()
    c.stop(timeout=grace)
    elapsed = time.monotonic() - t0
    st = c.status()
    assert st.state == wasm.cri.pb.ContainerState.Value("CONTAINER_EXITED")
    # SIGTERM ends a wasm module at once: well inside the grace period, with 143.
    assert elapsed < grace - 1, f"StopContainer took {elapsed:.1f}s: SIGTERM should end a wasm module at once"
    assert (st.exit_code, st.reason) == (143, "Error"), f"stopped after {elapsed:.1f}s"
    c.remove()


def test_two_containers_in_one_pod_and_exec(wasm, pod):
    cri = wasm.cri
    sleeper = pod.create_container("sleeper2", wasm.images["wasm-sleeper"]).start()
    hello = pod.create_container("hello2", wasm.images["wasm-hello"], env={"WHO": "second"}).start()
    sleeper.wait_log("started\n")
    assert hello.wait("CONTAINER_EXITED").exit_code == 0
    hello.wait_log("env:WHO=second\n", stream="stdout")
    assert sleeper.status().state == cri.pb.ContainerState.Value("CONTAINER_RUNNING")
    names = sorted(c.metadata.name for c in cri.list_containers(pod_sandbox_id=pod.id))
    assert names == ["hello2", "sleeper2"]

    r = sleeper.exec_sync(["/hello.wasm", "from-exec"], timeout=30)
    assert r.exit_code == 0, r.stderr
    assert b"arg[0]=/hello.wasm\n" in r.stdout
    assert b"arg[1]=from-exec\n" in r.stdout
    assert f"file:{HELLO_TXT}".encode() in r.stdout  # the sleeper image carries hello.txt too
    assert b"hello: this line goes to stderr\n" == r.stderr

    stats = cri.container_stats(sleeper.id)
    assert stats.attributes.id == sleeper.id

    sleeper.stop(timeout=10)
    assert sleeper.status().exit_code in (143, 137)
    hello.remove()
    sleeper.remove()


def test_non_wasm_image_is_refused(wasm, pod):
    """CRI's CreateContainer only records the container; the runtime first sees it at
    StartContainer (Task.Create), which must fail with INVALID_ARGUMENT and say why (not a wasm
    module), as crun/runc say "executable file not found"."""
    c = pod.create_container("not-wasm", wasm.images["busybox"], command=["sh", "-c", "echo no"])
    with pytest.raises(grpc.RpcError) as e:
        c.start()
    details = e.value.details() or ""
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, details
    assert "wasm" in details.lower(), details
    assert c.status().state != wasm.cri.pb.ContainerState.Value("CONTAINER_RUNNING")
    c.remove()


def test_pod_survives_sandboxer_restart(wasm, wasm_sandboxer):
    """The taskers live outside the sandboxer: kill -9 of the sandboxer must not kill the pod."""
    cri = wasm.cri
    p = cri.run_pod("wasm-restart", runtime_handler=HANDLER, host_network=host_network(wasm))
    try:
        c = p.create_container("sleeper", wasm.images["wasm-sleeper"]).start()
        c.wait_log("started\n")
        wasm_sandboxer.kill9()
        wasm_sandboxer.start()
        assert p.status().status.state == cri.pb.PodSandboxState.Value("SANDBOX_READY")
        assert c.status().state == cri.pb.ContainerState.Value("CONTAINER_RUNNING")
        r = c.exec_sync(["/hello.wasm", "after-restart"], timeout=30)
        assert r.exit_code == 0 and b"arg[1]=after-restart\n" in r.stdout
        c.stop(timeout=10)
        assert c.status().exit_code in (143, 137)
    finally:
        p.stop()
        p.remove()


def test_stop_and_remove_pod(wasm, pod):
    cri = wasm.cri
    c = pod.create_container("left-running", wasm.images["wasm-sleeper"]).start()
    c.wait_log("started\n")
    pod.stop()
    assert pod.status().status.state == cri.pb.PodSandboxState.Value("SANDBOX_NOTREADY")
    assert c.status().state == cri.pb.ContainerState.Value("CONTAINER_EXITED")
    pod.remove()
    assert cri.list_pods() == []
    assert cri.list_containers() == []


def test_zz_nothing_left(wasm, e2e_session):
    wasm.cri.remove_everything()
    left = e2e_session.leaks_besides_daemons()
    assert not left, "left behind after every pod was removed:\n" + "\n".join(left)
