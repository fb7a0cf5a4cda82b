"""Helpers shared by the kuasar-vmm e2e modules (test_vmm*.py): processes of a sandboxer's VMs,
the sandbox record, liveness and polling."""
import json
import os
import time


def alive(pid):
    """True while pid runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def processes_of(dir_, binary_part):
    """Live pids whose argv[0] contains binary_part (bytes) and whose argv mentions dir_."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        argv = cmdline(pid)
        if argv and binary_part in argv[0] and any(dir_.encode() in a for a in argv) and alive(pid):
            found.append(int(pid))
    return found


def record(sandboxer, pod_id):
    """The sandboxer's sandbox.json of a pod."""
    with open(os.path.join(sandboxer.dir, pod_id, "sandbox.json")) as f:
        return json.load(f)


def qemu_pid_of(sandboxer, pod_id):
    return record(sandboxer, pod_id)["pid"]


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def host_network(containerd):
    """Host-network pods on 1.7; a CNI netns on 2.x, where containerd 2.1 panics on a hostNetwork pod
    with a shim sandboxer (upstream bug). The VM then gets the pod network (pod_net.c)."""
    return containerd.flavor == "1.7"
