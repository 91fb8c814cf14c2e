"""Keep TensorFlow's native start-up chatter out of the terminal, and nothing else.

TensorFlow 2.21 writes its C++ log lines (oneDNN notices, "Could not find cuda drivers",
"failed call to cuInit" on a machine without a GPU) straight to file descriptor 2, and
ignores ``TF_CPP_MIN_LOG_LEVEL`` for them. ``native_log_filtered`` routes fd 2 through a
thread that drops exactly those absl-formatted lines and passes every other line on, so
Python tracebacks and real messages still reach the user.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

NATIVE_LOG_LINE = re.compile(
    rb"^(?:[IWE]\d{4} [\d:.]+ +\d+ \S+:\d+\]"  # absl's "I0000 00:00:17.5 671 port.cc:153]" prefix
    rb"|WARNING: All log messages before absl::"
    rb"|To enable the following instructions: )"  # the second line of the CPU-features notice
)


def _forward(reader: int, target: int) -> None:
    with os.fdopen(reader, "rb") as lines:
        for line in lines:
            if not NATIVE_LOG_LINE.match(line):
                os.write(target, line)


@contextlib.contextmanager
def native_log_filtered() -> Iterator[None]:
    """While inside, lines TensorFlow's C++ runtime logs to stderr are dropped; the rest goes through."""
    sys.stderr.flush()
    original = os.dup(2)
    reader, writer = os.pipe()
    os.dup2(writer, 2)
    os.close(writer)
    forwarder = threading.Thread(target=_forward, args=(reader, original), name="stderr-filter", daemon=True)
    forwarder.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last writer: the forwarder drains and ends
        forwarder.join(timeout=5)
        os.close(original)
