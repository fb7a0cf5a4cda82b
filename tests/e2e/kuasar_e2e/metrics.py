"""A pod's cgroup and usage as our sandboxers report them: the pod cgroup directories
("<cgroup_parent>/<sandbox-id>" under each hierarchy, as sandboxer/common/pod_cgroup.c and the wasm
tasker lay them out), which of them a pid is in, and Controller.Metrics asked of the sandboxer
directly over gRPC, decoded from the raw protobuf (io.containerd.cgroups.v1.Metrics, or v2 on a
cgroup v2 host)."""
import os

import grpc

CGROUP_ROOT = "/sys/fs/cgroup"
V1_CONTROLLERS = ("memory", "cpu", "cpuacct", "pids", "freezer")
METRICS_METHOD = "/containerd.services.sandbox.v1.Controller/Metrics"


def cgroup_v2():
    return os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))


# What Controller.Metrics answers on this host.
METRICS_TYPE = "io.containerd.cgroups.v2.Metrics" if cgroup_v2() else "io.containerd.cgroups.v1.Metrics"


def pod_cgroup_rel(record, default_parent):
    """The pod cgroup of a sandbox.json record, relative to each hierarchy."""
    parent = record.get("cgroup_parent") or default_parent
    return f"{parent.strip('/')}/{record['id']}"


def pod_cgroup_dirs(rel):
    """The pod cgroup's directory in every hierarchy it would be made in (present or not)."""
    if cgroup_v2():
        return [os.path.join(CGROUP_ROOT, rel)]
    return [os.path.join(CGROUP_ROOT, c, rel) for c in V1_CONTROLLERS if os.path.isdir(os.path.join(CGROUP_ROOT, c))]


def cgroups_of(pid):
    """{controller or "" (v2): path} of /proc/<pid>/cgroup."""
    found = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _num, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(","):
                found[c] = path
    return found


def in_pod_cgroup(pid, rel):
    """True when pid is in the pod cgroup in every hierarchy that has one."""
    cg = cgroups_of(pid)
    if cgroup_v2():
        return cg.get("") == "/" + rel
    return all(cg.get(c) == "/" + rel for c in V1_CONTROLLERS if os.path.isdir(os.path.join(CGROUP_ROOT, c)))


# -- minimal protobuf --------------------------------------------------------------------------
def _varint(data, pos):
    n = shift = 0
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return n, pos


def pb_fields(data):
    """{field number: [values]}: varints as int, length-delimited as bytes (fixed types skipped)."""
    fields, pos = {}, 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            val, pos = data[pos:pos + size], pos + size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            continue
        else:
            raise ValueError(f"wire type {wire}")
        fields.setdefault(num, []).append(val)
    return fields


def _sub(fields, num):
    return pb_fields(fields.get(num, [b""])[0])


def _u64(fields, num):
    return fields.get(num, [0])[0]


def _pb_string(field, text):
    raw = text.encode()
    out, n = bytearray([field << 3 | 2]), len(raw)
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out) + raw


def controller_metrics(sandboxer_address, sandbox_id, namespace="k8s.io", timeout=30):
    """Controller.Metrics of the sandboxer at sandboxer_address (unix path):
    {"id", "type_url", "memory_usage", "memory_limit", "rss", "cpu_total", "cpu_user", "cpu_kernel",
    "pids"}. Raises grpc.RpcError as the call does."""
    with grpc.insecure_channel("unix:" + sandboxer_address) as ch:
        grpc.channel_ready_future(ch).result(timeout=timeout)
        raw = ch.unary_unary(METRICS_METHOD)(_pb_string(1, sandbox_id), timeout=timeout,
                                             metadata=[("containerd-namespace", namespace)])
    metric = _sub(pb_fields(raw), 1)
    any_ = _sub(metric, 3)
    m = pb_fields(any_.get(2, [b""])[0])
    out = {"id": metric.get(2, [b""])[0].decode(), "type_url": any_.get(1, [b""])[0].decode()}
    if out["type_url"].endswith(".v2.Metrics"):
        # proto/cgroups_v2_metrics.proto: pids=1, cpu=2 (usec), memory=4 (anon=1, usage=32, usage_limit=33)
        memory, cpu, pids = _sub(m, 4), _sub(m, 2), _sub(m, 1)
        out.update(memory_usage=_u64(memory, 32), memory_limit=_u64(memory, 33), rss=_u64(memory, 1),
                   cpu_total=_u64(cpu, 1) * 1000, cpu_user=_u64(cpu, 2) * 1000, cpu_kernel=_u64(cpu, 3) * 1000,
                   pids=_u64(pids, 1))
        return out
    memory, cpu, pids = _sub(m, 4), _sub(m, 3), _sub(m, 2)
    usage, cpu_usage = _sub(memory, 33), _sub(cpu, 1)
    out.update(memory_usage=_u64(usage, 2), memory_limit=_u64(usage, 1), rss=_u64(memory, 2),
               cpu_total=_u64(cpu_usage, 1), cpu_user=_u64(cpu_usage, 3), cpu_kernel=_u64(cpu_usage, 2),
               pids=_u64(pids, 1))
    return out
