#!/usr/bin/python3
"""Builds the e2e test images as OCI image-layout tars, without any registry.

    images/build.py --out DIR [NAME...]            build (cached: a tar is rebuilt only when its inputs change)
    images/build.py --out DIR --import --address SOCK [--ctr ctr] [NAME...]

Images (all linux/amd64, names under the non-resolvable test domain kc.test):
  kc.test/pause:1        static C pause (waits for SIGTERM/SIGINT, reaps children)
  kc.test/busybox:1      busybox-static with its applet symlinks
  kc.test/wasm-hello:1   /hello.wasm + /etc/hello.txt, Entrypoint ["/hello.wasm"]
  kc.test/wasm-sleeper:1 /sleeper.wasm (+ /hello.wasm, /etc/hello.txt to exec)
  kc.test/wasm-alloc:1   /alloc.wasm
  kc.test/wasm-trap:1    /trap.wasm (prints a line, then traps: `unreachable`)
  kc.test/wasm-loop:1    /loop.wasm (prints a line, then spins on the CPU forever)
Layers are reproducible: tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner, gzip -n.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DOMAIN = "kc.test"
HELLO_TXT = "hello from the image rootfs of kc.test/wasm-hello\n"
BUSYBOX = "/bin/busybox"


def image_ref(name):
    return f"{DOMAIN}/{name}:1"


IMAGES = {
    "pause": {"inputs": ["pause/pause.c"], "entrypoint": ["/pause"], "cmd": []},
    "busybox": {"inputs": [BUSYBOX], "entrypoint": [], "cmd": ["sh"]},
    "wasm-hello": {"inputs": ["wasm/hello.c"], "entrypoint": ["/hello.wasm"], "cmd": []},
    # The sleeper also carries /hello.wasm and /etc/hello.txt: a long-running container to ExecSync in.
    "wasm-sleeper": {"inputs": ["wasm/sleeper.c", "wasm/hello.c"], "entrypoint": ["/sleeper.wasm"], "cmd": []},
    "wasm-alloc": {"inputs": ["wasm/alloc.c"], "entrypoint": ["/alloc.wasm"], "cmd": []},
    "wasm-trap": {"inputs": ["wasm/trap.c"], "entrypoint": ["/trap.wasm"], "cmd": []},
    "wasm-loop": {"inputs": ["wasm/loop.c"], "entrypoint": ["/loop.wasm"], "cmd": []},
}


class BuildError(RuntimeError):
    pass


def run(cmd, **kw):
    try:
        return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)
    except FileNotFoundError:
        raise BuildError(f"`{cmd[0]}` not found: run scripts/setup.sh (it installs gcc, clang-14, "
                         "lld-14, wasi-libc, libclang-rt-14-dev-wasm32, busybox-static, tar, gzip)")
    except subprocess.CalledProcessError as e:
        raise BuildError(f"{' '.join(cmd)} failed ({e.returncode}):\n{e.stdout}{e.stderr}")


def need_file(path, package):
    if not os.path.exists(path):
        raise BuildError(f"{path} is missing: install {package} (scripts/setup.sh)")


def populate_rootfs(name, root):
    """Fills `root` with the files of image `name`."""
    if name == "pause":
        need_file("/usr/lib/x86_64-linux-gnu/libc.a", "libc6-dev (static libc)")
        run(["gcc", "-static", "-O2", "-Wall", "-Wextra", "-o", os.path.join(root, "pause"),
             os.path.join(HERE, "pause/pause.c")])
        run(["strip", os.path.join(root, "pause")])
    elif name == "busybox":
        need_file(BUSYBOX, "busybox-static")
        out = run(["file", "-L", BUSYBOX]).stdout if shutil.which("file") else "statically linked"
        if "statically linked" not in out and "static-pie" not in out:
            raise BuildError(f"{BUSYBOX} is not static: install busybox-static")
        for d in ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "proc", "sys", "dev", "root", "var"]:
            os.makedirs(os.path.join(root, d), exist_ok=True)
        os.chmod(os.path.join(root, "tmp"), 0o1777)
        shutil.copy2(BUSYBOX, os.path.join(root, "bin/busybox"))
        applets = run([BUSYBOX, "--list-full"]).stdout.split()
        for applet in applets:
            link = os.path.join(root, applet)
            if os.path.lexists(link) or applet == "bin/busybox":
                continue
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink("/bin/busybox", link)
        with open(os.path.join(root, "etc/passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        with open(os.path.join(root, "etc/group"), "w") as f:
            f.write("root:x:0:\nnogroup:x:65534:\n")
    elif name.startswith("wasm-"):
        prog = name[len("wasm-"):]
        progs = [prog] + (["hello"] if prog == "sleeper" else [])
        for p in progs:
            run(["clang-14", "--target=wasm32-wasi", "-O2", "-Wall", "-Wextra", "-o",
                 os.path.join(root, p + ".wasm"), os.path.join(HERE, "wasm", p + ".c")])
        if "hello" in progs:
            os.makedirs(os.path.join(root, "etc"))
            with open(os.path.join(root, "etc/hello.txt"), "w") as f:
                f.write(HELLO_TXT)
    else:
        raise BuildError(f"unknown image {name}")


def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def json_bytes(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def build_image(name, out_tar, work):
    spec = IMAGES[name]
    root = os.path.join(work, "rootfs")
    os.makedirs(root)
    populate_rootfs(name, root)

    layer_tar = os.path.join(work, "layer.tar")
    run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner",
         "--format=posix", "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
         "-C", root, "-cf", layer_tar, "."])
    with open(layer_tar, "rb") as f:
        layer_raw = f.read()
    layer_gz = subprocess.run(["gzip", "-n", "-9", "-c"], input=layer_raw, capture_output=True,
                              check=True).stdout

    layout = os.path.join(work, "layout")
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    layer_desc = blob(layout, layer_gz)
    layer_desc["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"

    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Entrypoint": spec["entrypoint"] or None,
            "Cmd": spec["cmd"] or None,
            "WorkingDir": "/",
            "Labels": {"org.opencontainers.image.title": name},
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_raw).hexdigest()]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "kuasar-c images/build.py"}],
    }
    config["config"] = {k: v for k, v in config["config"].items() if v is not None}
    config_desc = blob(layout, json_bytes(config))
    config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json"

    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_desc, "layers": [layer_desc]}
    manifest_desc = blob(layout, json_bytes(manifest))
    manifest_desc.update({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "platform": {"architecture": "amd64", "os": "linux"},
        "annotations": {"io.containerd.image.name": image_ref(name),
                        "org.opencontainers.image.ref.name": "1"},
    })
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [manifest_desc]}
    with open(os.path.join(layout, "index.json"), "wb") as f:
        f.write(json_bytes(index))
    with open(os.path.join(layout, "oci-layout"), "wb") as f:
        f.write(json_bytes({"imageLayoutVersion": "1.0.0"}))

    tmp_tar = out_tar + ".tmp"
    run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner",
         "-C", layout, "-cf", tmp_tar, "."])
    os.replace(tmp_tar, out_tar)
    return manifest_desc["digest"]


def input_stamp(name):
    h = hashlib.sha256()
    with open(os.path.abspath(__file__), "rb") as f:
        h.update(f.read())
    for rel in IMAGES[name]["inputs"]:
        path = rel if os.path.isabs(rel) else os.path.join(HERE, rel)
        need_file(path, "busybox-static" if path == BUSYBOX else "the kuasar-c source tree")
        with open(path, "rb") as f:
            h.update(rel.encode() + b"\0" + f.read())
    return h.hexdigest()


def build(out_dir, names=None):
    """Builds (or reuses) every image in `names`; returns {name: (ref, tar path)}."""
    os.makedirs(out_dir, exist_ok=True)
    result = {}
    for name in names or IMAGES:
        tar = os.path.join(out_dir, name + ".tar")
        stamp_path = tar + ".stamp"
        stamp = input_stamp(name)
        cached = os.path.exists(tar) and os.path.exists(stamp_path) and open(stamp_path).read() == stamp
        if not cached:
            with tempfile.TemporaryDirectory(prefix=f"kc-image-{name}-") as work:
                build_image(name, tar, work)
            with open(stamp_path, "w") as f:
                f.write(stamp)
        result[name] = (image_ref(name), tar)
    return result


def import_images(built, address, ctr="ctr"):
    for name, (ref, tar) in built.items():
        run([ctr, "--address", address, "-n", "k8s.io", "images", "import",
             "--platform", "linux/amd64", tar])
        listed = run([ctr, "--address", address, "-n", "k8s.io", "images", "ls", "-q"]).stdout.split()
        if ref not in listed:
            raise BuildError(f"ctr import of {tar} did not create {ref} (have: {listed})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory (a build dir, never the source tree)")
    ap.add_argument("--import", dest="do_import", action="store_true")
    ap.add_argument("--address", help="containerd gRPC socket for --import")
    ap.add_argument("--ctr", default="ctr")
    ap.add_argument("names", nargs="*", help="subset of: " + " ".join(IMAGES))
    args = ap.parse_args()
    unknown = [n for n in args.names if n not in IMAGES]
    if unknown:
        ap.error(f"unknown image(s) {unknown}; known: {list(IMAGES)}")
    try:
        built = build(args.out, args.names or None)
        if args.do_import:
            if not args.address:
                ap.error("--import needs --address")
            import_images(built, args.address, args.ctr)
    except BuildError as e:
        print(f"images/build.py: {e}", file=sys.stderr)
        return 1
    for name, (ref, tar) in built.items():
        print(f"{ref}\t{tar}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
