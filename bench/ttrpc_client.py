"""A tiny blocking ttrpc client for the benchmarks (docs: shared design PROTOCOLS.md §1).

Frames: 10-byte big-endian header (data length u32, stream id u32, type u8, flags u8) + data.
Request  {service=1 string, method=2 string, payload=3 bytes, timeout_nano=4 int64}
Response {status=1 google.rpc.Status{code=1, message=2}, payload=2 bytes}
The few protobuf bytes are hand-encoded: no generated code needed."""
import socket
import struct

MSG_REQUEST = 0x01
MSG_RESPONSE = 0x02
HEADER = struct.Struct(">IIBB")


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field_bytes(num, data):
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def _field_varint(num, value):
    return _varint(num << 3) + _varint(value)


def _read_varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def parse_fields(buf):
    """{field number: last value} of a protobuf message (varints and length-delimited only)."""
    fields = {}
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            fields[num], i = _read_varint(buf, i)
        elif wire == 2:
            n, i = _read_varint(buf, i)
            fields[num] = bytes(buf[i:i + n])
            i += n
        elif wire == 1:
            fields[num] = bytes(buf[i:i + 8])
            i += 8
        elif wire == 5:
            fields[num] = bytes(buf[i:i + 4])
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return fields


class TtrpcError(Exception):
    def __init__(self, code, message):
        super().__init__(f"ttrpc status {code}: {message}")
        self.code = code


class Client:
    def __init__(self, address, timeout=10.0):
        path = address
        for prefix in ("ttrpc+unix://", "unix://"):
            if path.startswith(prefix):
                path = path[len(prefix):]
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if path.startswith("@"):
            path = "\0" + path[1:]
        self.sock.connect(path)
        self.stream_id = 1
        self.timeout_ns = int(timeout * 1e9)

    def close(self):
        self.sock.close()

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("ttrpc peer closed the connection")
            buf += chunk
        return bytes(buf)

    def call(self, service, method, payload):
        sid = self.stream_id
        self.stream_id += 2
        req = (_field_bytes(1, service.encode()) + _field_bytes(2, method.encode())
               + _field_bytes(3, payload) + _field_varint(4, self.timeout_ns))
        self.sock.sendall(HEADER.pack(len(req), sid, MSG_REQUEST, 0) + req)
        while True:
            length, rsid, mtype, _flags = HEADER.unpack(self._recv_exact(HEADER.size))
            data = self._recv_exact(length)
            if rsid == sid and mtype == MSG_RESPONSE:
                break
        resp = parse_fields(data)
        status = parse_fields(resp.get(1, b""))
        code = status.get(1, 0)
        if code:
            raise TtrpcError(code, status.get(2, b"").decode(errors="replace"))
        return resp.get(2, b"")


def task_state(client, container_id, exec_id=""):
    """containerd.task.v2.Task/State; returns the StateResponse fields (3: pid, 4: status)."""
    payload = _field_bytes(1, container_id.encode())
    if exec_id:
        payload += _field_bytes(2, exec_id.encode())
    return parse_fields(client.call("containerd.task.v2.Task", "State", payload))


def task_connect(client, task_id):
    """containerd.task.v2.Task/Connect; returns the ConnectResponse fields (1: shim_pid, 2: task_pid)."""
    return parse_fields(client.call("containerd.task.v2.Task", "Connect", _field_bytes(1, task_id.encode())))


def sandbox_status_payload(sandbox_id):
    """SandboxStatusRequest (ttrpc Sandbox API) and ControllerStatusRequest (gRPC Controller) share
    fields 1 (sandbox_id) and 2 (verbose): the same bytes serve both."""
    return _field_bytes(1, sandbox_id.encode())


def sandbox_status(client, sandbox_id):
    """containerd.runtime.sandbox.v1.Sandbox/SandboxStatus; returns the response fields (3: state)."""
    return parse_fields(client.call("containerd.runtime.sandbox.v1.Sandbox", "SandboxStatus",
                                    sandbox_status_payload(sandbox_id)))


def forward_payload(namespace="k8s.io", topic="/kuasar/bench", container_id="kuasar-bench", now=None):
    """containerd.services.events.ttrpc.v1.Events/Forward request: ForwardRequest{envelope=1:
    Envelope{timestamp=1, namespace=2, topic=3, event=4 Any}}; the event is a TaskOOM (bare type
    url, as containerd's Go side writes it) on a topic no CRI subscriber listens to."""
    import time
    now = time.time() if now is None else now
    ts = _field_varint(1, int(now)) + _field_varint(2, int((now % 1) * 1e9))
    event = _field_bytes(1, b"containerd.events.TaskOOM") + _field_bytes(2, _field_bytes(1, container_id.encode()))
    envelope = (_field_bytes(1, ts) + _field_bytes(2, namespace.encode()) + _field_bytes(3, topic.encode())
                + _field_bytes(4, event))
    return _field_bytes(1, envelope)
