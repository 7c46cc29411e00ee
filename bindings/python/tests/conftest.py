"""Loads the generated module (bindings/python/beat_ffi.py) with the library under test.

BEAT_FFI_LIB names the built cdylib (scripts/bindings.sh sets it); the module and the
library are copied side by side into a temporary directory, as a wheel would lay them out.
"""

import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_configure(config):
    lib = os.environ.get("BEAT_FFI_LIB")
    if not lib or not os.path.exists(lib):
        raise RuntimeError("set BEAT_FFI_LIB to the built libbeat_ffi.so (scripts/bindings.sh does)")
    where = tempfile.mkdtemp(prefix="beat-ffi-py-")
    shutil.copy(os.path.join(HERE, "..", "beat_ffi.py"), where)
    shutil.copy(lib, os.path.join(where, "libbeat_ffi.so"))
    sys.path.insert(0, where)
