"""Bad input to every daemon of the kuasar-wasm chain, through containerd 1.7 (shim mode):
  * the wasm-sandboxer's gRPC Controller socket (hand-encoded protobuf through grpcio's generic
    unary calls): unknown ids, non-plain ids, a double Create, undecodable payloads, unknown methods;
  * a running pod's tasker socket and its shim's socket, with raw ttrpc frames (PROTOCOLS.md §1):
    oversized frames, even stream ids, undecodable envelopes and payloads, unknown services and
    methods, bad Task.Create requests, Kill of an unknown id, truncated frames then a hang-up;
  * CRI: a kuasar-wasm container whose module does not exist, one whose module traps (exit 1,
    the trap on its stderr) and one that spins on the CPU forever (StopContainer ends it);
Each answer must carry the expected status code, and afterwards every daemon must still serve:
the pod created first is still READY with its sleeper running and exec-able, and a new hello pod
runs normally."""
import hashlib
import json
import os
import random
import socket
import struct
import time

import grpc
import pytest

from kuasar_e2e import util

HANDLER = "kuasar-wasm"
NS = "k8s.io"
CONTROLLER = "/containerd.services.sandbox.v1.Controller/"
TASK = "containerd.task.v2.Task"
MIB = 1024 * 1024

# google.rpc.Code
OK, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS = 0, 3, 5, 6
RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL = 8, 12, 13
CODE_NAMES = {OK: "OK", INVALID_ARGUMENT: "INVALID_ARGUMENT", NOT_FOUND: "NOT_FOUND",
              ALREADY_EXISTS: "ALREADY_EXISTS", RESOURCE_EXHAUSTED: "RESOURCE_EXHAUSTED",
              UNIMPLEMENTED: "UNIMPLEMENTED", INTERNAL: "INTERNAL", 2: "UNKNOWN", 9: "FAILED_PRECONDITION"}


# -- protobuf by hand ----------------------------------------------------------------------------
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data


def pb_varint(field, n):
    return varint(field << 3) + varint(n)


def pb_decode(data):
    """{field: [values]} of one message level (varints as int, length-delimited as bytes)."""
    fields, pos = {}, 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _read_varint(data, pos)
        elif wire == 2:
            n, pos = _read_varint(data, pos)
            val, pos = data[pos:pos + n], pos + n
        elif wire == 1:
            val, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            val, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"wire type {wire}")
        fields.setdefault(field, []).append(val)
    return fields


def _read_varint(data, pos):
    shift = n = 0
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, pos


# -- raw ttrpc -----------------------------------------------------------------------------------
REQUEST, RESPONSE = 1, 2


def ttrpc_request(service, method, payload=b"", timeout_nano=30 * 10**9):
    return (pb_bytes(1, service) + pb_bytes(2, method) + pb_bytes(3, payload) + pb_varint(4, timeout_nano)
            + pb_bytes(5, pb_bytes(1, "containerd-namespace-ttrpc") + pb_bytes(2, NS)))


class TtrpcConn:
    def __init__(self, path, timeout=60):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.next_sid = 1

    def close(self):
        self.sock.close()

    def send_frame(self, sid, mtype, data, flags=0, length=None):
        hdr = struct.pack(">IIBB", len(data) if length is None else length, sid, mtype, flags)
        self.sock.sendall(hdr + data)

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
            buf += chunk
        return bytes(buf)

    def recv_response(self):
        """(sid, code, message, payload) of the next Response frame."""
        while True:
            length, sid, mtype, _flags = struct.unpack(">IIBB", self._recv_exact(10))
            data = self._recv_exact(length)
            if mtype != RESPONSE:
                continue
            f = pb_decode(data)
            code, msg = OK, ""
            if 1 in f:
                st = pb_decode(f[1][0])
                code = st.get(1, [OK])[0]
                msg = st.get(2, [b""])[0].decode(errors="replace")
            return sid, code, msg, f.get(2, [b""])[0]

    def sid(self):
        s = self.next_sid
        self.next_sid += 2
        return s

    def call_raw(self, request_bytes, sid=None):
        sid = self.sid() if sid is None else sid
        self.send_frame(sid, REQUEST, request_bytes)
        rsid, code, msg, payload = self.recv_response()
        assert rsid == sid, f"answer on stream {rsid}, asked on {sid}"
        return code, msg, payload

    def call(self, service, method, payload=b""):
        return self.call_raw(ttrpc_request(service, method, payload))


def expect(got, want, what):
    code, msg = got[0], got[1]
    want = want if isinstance(want, (tuple, list, set)) else (want,)
    assert code in want, (f"{what}: got {CODE_NAMES.get(code, code)} {msg!r}, want "
                          + " or ".join(CODE_NAMES.get(w, str(w)) for w in want))
    return msg


def kill_req(cid, exec_id="", signal=9):
    return pb_bytes(1, cid) + (pb_bytes(2, exec_id) if exec_id else b"") + pb_varint(3, signal)


def probe(path):
    """A fresh connection still gets a proper answer: Kill of an unknown id is NOT_FOUND."""
    c = TtrpcConn(path)
    try:
        expect(c.call(TASK, "Kill", kill_req("kcbad-probe-nonexistent")), NOT_FOUND, f"probe of {path}")
    finally:
        c.close()


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def wasm(wasm_sandboxer, containerd17):
    containerd17.require_kuasar("wasm")
    return containerd17


@pytest.fixture(scope="module")
def pod(wasm):
    p = wasm.cri.run_pod("bad-input", runtime_handler=HANDLER, host_network=True)
    yield p
    try:
        p.stop()
        p.remove()
    except grpc.RpcError:
        pass


@pytest.fixture(scope="module")
def sleeper(wasm, pod):
    c = pod.create_container("sleeper", wasm.images["wasm-sleeper"]).start()
    c.wait("CONTAINER_RUNNING", timeout=60)
    c.wait_log("started\n", timeout=60)
    return c


@pytest.fixture(scope="module")
def controller(wasm_sandboxer):
    ch = grpc.insecure_channel("unix:" + wasm_sandboxer.address)
    grpc.channel_ready_future(ch).result(timeout=30)
    yield ch
    ch.close()


def ctl_call(ch, method, payload, timeout=30):
    """(code, details) of a Controller call with raw protobuf bytes."""
    fn = ch.unary_unary(method if method.startswith("/") else CONTROLLER + method)
    try:
        fn(payload, timeout=timeout, metadata=[("containerd-namespace", NS)])
        return OK, ""
    except grpc.RpcError as e:
        return e.code().value[0], e.details() or ""


def task_socket(wasm_sandboxer, pod):
    return os.path.join(wasm_sandboxer.dir, pod.id, "task.sock")


def shim_socket(wasm, pod):
    addr_file = os.path.join(wasm.state, "io.containerd.runtime.v2.task", NS, pod.id, "address")
    if os.path.isfile(addr_file):
        with open(addr_file) as f:
            addr = f.read().strip()
        for prefix in ("unix://", "ttrpc+unix://"):
            if addr.startswith(prefix):
                return addr[len(prefix):]
    return os.path.join("/run/containerd/s",
                        hashlib.sha256(os.path.join(wasm.address, NS, pod.id).encode()).hexdigest())


# -- the sandboxer's Controller ------------------------------------------------------------------
# Platform is left out on purpose: it answers for any id (containerd 1.7 calls it with an empty one).
LOOKUP_METHODS = ["Start", "Stop", "Wait", "Status", "Shutdown", "Metrics"]
BAD_IDS = {"dotdot": b"..", "slash": b"a/b", "empty": b"", "long300": b"a" * 300, "nul": b"x\0y",
           "dot": b".", "space": b"a b"}


def test_sandboxer_unknown_id_is_not_found(controller, sleeper):
    for m in LOOKUP_METHODS:
        expect(ctl_call(controller, m, pb_bytes(1, "kcbad-unknown-sandbox")), NOT_FOUND, f"{m} of an unknown id")


@pytest.mark.parametrize("name", sorted(BAD_IDS))
def test_sandboxer_bad_id_is_invalid_argument(controller, name):
    for m in ["Create"] + LOOKUP_METHODS:
        expect(ctl_call(controller, m, pb_bytes(1, BAD_IDS[name])), INVALID_ARGUMENT, f"{m} with id {name}")


def test_sandboxer_double_create(controller, wasm_sandboxer):
    sid = "kcbad-dup"
    expect(ctl_call(controller, "Create", pb_bytes(1, sid)), OK, "first Create")
    try:
        msg = expect(ctl_call(controller, "Create", pb_bytes(1, sid)), ALREADY_EXISTS, "second Create")
        assert sid in msg, msg
        expect(ctl_call(controller, "Status", pb_bytes(1, sid)), OK, "Status of the created sandbox")
    finally:
        expect(ctl_call(controller, "Shutdown", pb_bytes(1, sid)), OK, "Shutdown of the created sandbox")
    expect(ctl_call(controller, "Status", pb_bytes(1, sid)), NOT_FOUND, "Status after Shutdown")
    assert not os.path.exists(os.path.join(wasm_sandboxer.dir, sid))


GARBAGE = {"ff": b"\xff\xff\xff\xff", "overlong_len": b"\x0a\xff\xff\xff\xff\x0f", "truncated_varint": b"\x08",
           "truncated_string": b"\x0a\x10abc", "bad_wire_type": b"\x0f\x01", "zero_tag": b"\x00\x01"}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_sandboxer_garbage_payload(controller, name):
    for m in ["Create", "Update"] + LOOKUP_METHODS:
        expect(ctl_call(controller, m, GARBAGE[name]), (INVALID_ARGUMENT, INTERNAL), f"{m} with {name} bytes")


def test_sandboxer_unknown_method(controller):
    for path in (CONTROLLER + "Nope", "/containerd.services.sandbox.v1.Store/List", "/kc.bad.Service/Create"):
        expect(ctl_call(controller, path, b""), UNIMPLEMENTED, path)


def test_sandboxer_still_serves(controller, wasm_sandboxer, pod):
    assert wasm_sandboxer.running(), util.tail(wasm_sandboxer.log_path, 40)
    r = controller.unary_unary(CONTROLLER + "Status")(pb_bytes(1, pod.id), timeout=30,
                                                      metadata=[("containerd-namespace", NS)])
    st = pb_decode(r)
    assert st[3][0] == b"SANDBOX_READY", st


# -- raw ttrpc against the tasker and the shim ---------------------------------------------------
TARGETS = pytest.mark.parametrize("target", ["tasker", "shim"])


@pytest.fixture
def ttrpc_target(target, wasm, wasm_sandboxer, pod, sleeper):
    """The socket of the pod's tasker or shim (a plain parametrize keeps the file's test order)."""
    path = task_socket(wasm_sandboxer, pod) if target == "tasker" else shim_socket(wasm, pod)
    assert os.path.exists(path), f"{target} socket {path} is missing"
    return path


@TARGETS
def test_ttrpc_oversized_frame(ttrpc_target):
    c = TtrpcConn(ttrpc_target)
    try:
        c.send_frame(1, REQUEST, b"\0" * (5 * MIB))
        sid, code, msg, _ = c.recv_response()
        assert sid == 1
        expect((code, msg), RESOURCE_EXHAUSTED, "5 MiB frame")
        c.next_sid = 3
        expect(c.call(TASK, "Kill", kill_req("kcbad-nonexistent")), NOT_FOUND, "call after the oversized frame")
    finally:
        c.close()


@TARGETS
def test_ttrpc_even_stream_id(ttrpc_target):
    c = TtrpcConn(ttrpc_target)
    try:
        expect(c.call_raw(ttrpc_request(TASK, "Kill", kill_req("kcbad-x")), sid=2), INVALID_ARGUMENT, "even stream id")
        c.next_sid = 5
        expect(c.call(TASK, "Kill", kill_req("kcbad-nonexistent")), NOT_FOUND, "call after the even stream id")
    finally:
        c.close()


@TARGETS
@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_ttrpc_garbage_request(ttrpc_target, name):
    c = TtrpcConn(ttrpc_target)
    try:
        expect(c.call_raw(GARBAGE[name]), INVALID_ARGUMENT, f"Request envelope of {name} bytes")
        expect(c.call(TASK, "Kill", GARBAGE[name]), (INVALID_ARGUMENT, INTERNAL), f"Kill payload of {name} bytes")
        expect(c.call(TASK, "Kill", kill_req("kcbad-nonexistent")), NOT_FOUND, "call after garbage")
    finally:
        c.close()


@TARGETS
def test_ttrpc_unknown_service_and_method(ttrpc_target):
    c = TtrpcConn(ttrpc_target)
    try:
        msg = expect(c.call("kc.bad.Nope", "Create"), UNIMPLEMENTED, "unknown service")
        assert msg == "service kc.bad.Nope", msg
        msg = expect(c.call(TASK, "NoSuchMethod"), UNIMPLEMENTED, "unknown method")
        assert "NoSuchMethod" in msg, msg
    finally:
        c.close()


@TARGETS
def test_ttrpc_kill_unknown_id(ttrpc_target):
    c = TtrpcConn(ttrpc_target)
    try:
        expect(c.call(TASK, "Kill", kill_req("kcbad-nonexistent")), NOT_FOUND, "Kill of an unknown id")
        expect(c.call(TASK, "Kill", kill_req("kcbad-nonexistent", exec_id="e1")), NOT_FOUND,
               "Kill of an unknown exec id")
        expect(c.call(TASK, "State", pb_bytes(1, "kcbad-nonexistent")), NOT_FOUND, "State of an unknown id")
    finally:
        c.close()


@TARGETS
def test_ttrpc_truncated_frames_then_close(ttrpc_target):
    rng = random.Random(1)
    good = ttrpc_request(TASK, "Kill", kill_req("kcbad-nonexistent"))
    for i in range(40):
        c = TtrpcConn(ttrpc_target)
        try:
            kind = i % 4
            if kind == 0:    # part of a header
                c.sock.sendall(struct.pack(">IIBB", len(good), 1, REQUEST, 0)[:rng.randrange(1, 10)])
            elif kind == 1:  # a header promising more than follows
                c.sock.sendall(struct.pack(">IIBB", len(good), 1, REQUEST, 0) + good[:rng.randrange(0, len(good))])
            elif kind == 2:  # random bytes
                c.sock.sendall(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
            else:            # a complete call, then the peer leaves without reading the answer
                c.send_frame(1, REQUEST, good)
                c.sock.sendall(struct.pack(">IIBB", 4 * MIB, 3, REQUEST, 0) + b"\0" * 1000)
        except OSError:
            pass  # the server may close first on garbage
        finally:
            c.close()
    probe(ttrpc_target)


@TARGETS
def test_ttrpc_targets_still_serve(ttrpc_target):
    probe(ttrpc_target)


# -- Task.Create straight to the tasker ----------------------------------------------------------
def create_req(cid, bundle, terminal=False):
    return (pb_bytes(1, cid) + pb_bytes(2, bundle) + (pb_varint(4, 1) if terminal else b"")
            + pb_bytes(6, "/dev/null") + pb_bytes(7, "/dev/null"))


def make_bundle(root, name, args, files=()):
    bundle = os.path.join(root, name)
    os.makedirs(os.path.join(bundle, "rootfs"), exist_ok=True)
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump({"ociVersion": "1.0.2", "process": {"args": args, "cwd": "/", "env": ["PATH=/"]},
                   "root": {"path": "rootfs"}}, f)
    for rel, content in files:
        p = os.path.join(bundle, "rootfs", rel)
        with open(p, "wb") as f:
            f.write(content)
        os.chmod(p, 0o755)
    return bundle


def test_tasker_bad_creates(wasm_sandboxer, pod, sleeper, e2e_session):
    root = os.path.join(e2e_session.tmp, "bad-bundles")
    not_wasm = make_bundle(root, "notwasm", ["/run.sh"], [("run.sh", b"#!/bin/sh\necho hi\n")])
    missing = make_bundle(root, "missing", ["/does-not-exist.wasm"])
    bad_json = make_bundle(root, "badjson", ["/x.wasm"])
    with open(os.path.join(bad_json, "config.json"), "w") as f:
        f.write('{"process": {"args": [1, 2')
    no_args = make_bundle(root, "noargs", [])
    ok = make_bundle(root, "ok", ["/x.wasm"], [("x.wasm", b"\0asm\1\0\0\0")])
    cases = [
        ("bundle that does not exist", create_req("kcbad-c1", os.path.join(root, "nope")), (NOT_FOUND,), None),
        ("relative bundle", create_req("kcbad-c2", "relative/bundle"), (INVALID_ARGUMENT,), "absolute"),
        ("non-wasm module", create_req("kcbad-c3", not_wasm), (INVALID_ARGUMENT,), "wasm"),
        ("missing module", create_req("kcbad-c4", missing), (NOT_FOUND, INVALID_ARGUMENT), "does-not-exist.wasm"),
        ("bad config.json", create_req("kcbad-c5", bad_json), (INVALID_ARGUMENT,), "config.json"),
        ("no process args", create_req("kcbad-c6", no_args), (INVALID_ARGUMENT,), None),
        ("terminal", create_req("kcbad-c7", ok, terminal=True), (INVALID_ARGUMENT,), "terminal"),
        ("bad container id", create_req("../x", ok), (INVALID_ARGUMENT,), None),
        ("empty container id", create_req("", ok), (INVALID_ARGUMENT,), None),
    ]
    c = TtrpcConn(task_socket(wasm_sandboxer, pod))
    try:
        for what, req, codes, needle in cases:
            msg = expect(c.call(TASK, "Create", req), codes, f"Create with a {what}")
            if needle:
                assert needle in msg, f"Create with a {what}: {msg!r} does not mention {needle!r}"
        for i in range(1, 8):  # none of them may have been registered
            expect(c.call(TASK, "State", pb_bytes(1, f"kcbad-c{i}")), NOT_FOUND, f"State of kcbad-c{i}")
    finally:
        c.close()
    probe(task_socket(wasm_sandboxer, pod))


# -- through CRI ---------------------------------------------------------------------------------
def test_cri_missing_module_fails_at_start(wasm, pod):
    c = pod.create_container("missing-module", wasm.images["wasm-hello"], command=["/does-not-exist.wasm"])
    with pytest.raises(grpc.RpcError) as e:
        c.start()
    details = e.value.details() or ""
    assert "/does-not-exist.wasm" in details, details
    assert "not found" in details.lower() or "no such file" in details.lower(), details
    assert c.status().state != wasm.cri.pb.ContainerState.Value("CONTAINER_RUNNING")
    c.remove()


def sleeper_untouched(wasm, pod, sleeper, tag):
    """The module's first pod is still READY, its sleeper RUNNING and exec-able."""
    cri = wasm.cri
    assert pod.status().status.state == cri.pb.PodSandboxState.Value("SANDBOX_READY")
    assert sleeper.status().state == cri.pb.ContainerState.Value("CONTAINER_RUNNING")
    r = sleeper.exec_sync(["/hello.wasm", tag], timeout=60)
    assert r.exit_code == 0 and f"arg[1]={tag}\n".encode() in r.stdout, r


def test_cri_trapping_module(wasm, pod, sleeper):
    """A module that traps (`unreachable`) exits 1, reason Error, with what it printed before on
    stdout and the trap named on its stderr; no other pod notices."""
    cri = wasm.cri
    p = cri.run_pod("bad-input-trap", runtime_handler=HANDLER, host_network=True)
    c = p.create_container("trap", wasm.images["wasm-trap"]).start()
    st = c.wait("CONTAINER_EXITED", timeout=60)
    assert (st.exit_code, st.reason) == (1, "Error"), st
    c.wait_log("about to trap\n", stream="stdout")
    c.wait_log("kuasar-wasm-tasker: wasmedge: unreachable\n", stream="stderr")
    assert p.status().status.state == cri.pb.PodSandboxState.Value("SANDBOX_READY")
    sleeper_untouched(wasm, pod, sleeper, "after-trap")
    # The trapping pod itself still runs containers.
    h = p.create_container("hello", wasm.images["wasm-hello"], args=["after-trap"]).start()
    assert h.wait("CONTAINER_EXITED", timeout=60).exit_code == 0
    h.wait_log("arg[1]=after-trap\n", stream="stdout")
    c.remove()
    h.remove()
    p.stop()
    p.remove()


def test_cri_looping_module_is_stopped(wasm, pod, sleeper):
    """A module spinning on the CPU (never calling WASI) is ended by StopContainer within its grace
    period: WASI has no signal handlers, so SIGTERM's default action kills it (143); its pod stays
    READY and runs the next container."""
    cri = wasm.cri
    p = cri.run_pod("bad-input-loop", runtime_handler=HANDLER, host_network=True)
    c = p.create_container("loop", wasm.images["wasm-loop"]).start()
    c.wait("CONTAINER_RUNNING", timeout=60)
    c.wait_log("looping\n", stream="stdout", timeout=60)
    time.sleep(1)
    assert c.status().state == cri.pb.ContainerState.Value("CONTAINER_RUNNING")
    t = time.monotonic()
    c.stop(timeout=10)
    took = time.monotonic() - t
    st = c.status()
    assert st.state == cri.pb.ContainerState.Value("CONTAINER_EXITED"), st
    assert (st.exit_code, st.reason) == (143, "Error"), st
    assert took < 10, f"StopContainer of a spinning module took {took:.1f}s"
    assert p.status().status.state == cri.pb.PodSandboxState.Value("SANDBOX_READY")
    sleeper_untouched(wasm, pod, sleeper, "after-loop")
    h = p.create_container("hello", wasm.images["wasm-hello"], args=["after-loop"]).start()
    assert h.wait("CONTAINER_EXITED", timeout=60).exit_code == 0
    h.wait_log("arg[1]=after-loop\n", stream="stdout")
    c.remove()
    h.remove()
    p.stop()
    p.remove()


def test_everything_still_serves(wasm, wasm_sandboxer, pod, sleeper):
    cri = wasm.cri
    assert wasm_sandboxer.running(), util.tail(wasm_sandboxer.log_path, 40)
    assert pod.status().status.state == cri.pb.PodSandboxState.Value("SANDBOX_READY")
    assert sleeper.status().state == cri.pb.ContainerState.Value("CONTAINER_RUNNING")
    r = sleeper.exec_sync(["/hello.wasm", "after-bad-input"], timeout=60)
    assert r.exit_code == 0 and b"arg[1]=after-bad-input\n" in r.stdout, r
    probe(task_socket(wasm_sandboxer, pod))
    probe(shim_socket(wasm, pod))

    p = cri.run_pod("bad-input-after", runtime_handler=HANDLER, host_network=True)
    h = p.create_container("hello", wasm.images["wasm-hello"], args=["fine"]).start()
    st = h.wait("CONTAINER_EXITED", timeout=60)
    assert (st.exit_code, st.reason) == (0, "Completed")
    h.wait_log("arg[1]=fine\n", stream="stdout")
    h.remove()
    p.stop()
    p.remove()

    sleeper.stop(timeout=10)
    assert sleeper.status().exit_code in (143, 137)
    sleeper.remove()
    pod.stop()
    pod.remove()


def test_zz_nothing_left(wasm, e2e_session):
    wasm.cri.remove_everything()
    left = e2e_session.leaks_besides_daemons()
    assert not left, "left behind after every pod was removed:\n" + "\n".join(left)
