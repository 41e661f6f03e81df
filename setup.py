"""The package's one native module: the stage's SRTP sender (``_sendout.c``).

Everything else about the package is in pyproject.toml. The module is optional: where it
cannot be built (no C compiler, or not a POSIX system) the build goes on without it and
the stage sends from Python instead (``sidestage/realtime/media/accel/sendout.py``), slower.
"""

import os

from setuptools import Extension, setup

NATIVE = [
    Extension(
        "sidestage.realtime.media.accel._sendout",
        ["sidestage/realtime/media/accel/_sendout.c"],
        optional=True,
        extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    )
]

setup(ext_modules=NATIVE if os.name == "posix" else [])
