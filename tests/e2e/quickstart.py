"""The README's quickstart: a private containerd 1.7 and wasm-sandboxer, one kuasar-wasm pod
running the `hello` WASI module, its log printed, then everything removed again.
Run by scripts/quickstart.sh (needs root and a build in $KC_BUILD_DIR)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kuasar_e2e.containerd import Containerd  # noqa: E402
from kuasar_e2e.sandboxer import Sandboxer  # noqa: E402
from kuasar_e2e.session import Session  # noqa: E402


def say(msg):
    print(f"quickstart: {msg}", flush=True)


def run_hello(containerd):
    cri = containerd.cri
    pod = cri.run_pod("quickstart", runtime_handler="kuasar-wasm", host_network=True)
    say(f"pod {pod.id[:12]} is {cri.pb.PodSandboxState.Name(cri.pod_status(pod.id).status.state)}")
    c = pod.create_container("hello", containerd.images["wasm-hello"], args=["from", "kuasar-c"],
                             env={"GREETING": "hi"}).start()
    status = c.wait("CONTAINER_EXITED", timeout=60)
    say(f"container hello exited with code {status.exit_code} ({status.reason})")
    say("its log:")
    sys.stdout.write(c.log())
    c.remove()
    pod.stop()
    pod.remove()
    say("pod stopped and removed")
    return status.exit_code


def main():
    session = Session(label="quickstart")
    code = 1
    try:
        sandboxer = Sandboxer(session, "wasm")
        session.on_close(sandboxer.stop, 20)
        sandboxer.start()
        say(f"wasm-sandboxer listening on {sandboxer.address}")
        containerd = Containerd(session, "1.7")
        session.on_close(containerd.shutdown, 10)
        containerd.start()
        containerd.images = containerd.import_images(["pause", "wasm-hello"])
        say(f"containerd 1.7 running on {containerd.address}")
        code = run_hello(containerd)
    finally:
        session.close()
        left = session.leftovers
        if left:
            say("left behind: " + "; ".join(left))
            code = 1
    say("done" if code == 0 else "FAILED")
    return code


if __name__ == "__main__":
    sys.exit(main())
