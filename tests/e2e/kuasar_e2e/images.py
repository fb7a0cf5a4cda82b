"""The test images: images/build.py (built and cached in $KC_BUILD_DIR/e2e-images)."""
import importlib.util
import os

from . import util

_builder = None


def builder():
    global _builder
    if _builder is None:
        path = os.path.join(util.SRC_DIR, "images", "build.py")
        spec = importlib.util.spec_from_file_location("kc_images_build", path)
        _builder = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_builder)
    return _builder


HELLO_TXT = builder().HELLO_TXT
