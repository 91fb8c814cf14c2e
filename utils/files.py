"""Reading files that may be hostile: never more than a known number of bytes."""

from __future__ import annotations

import os

from utils.errors import LabError


class FileTooLarge(LabError):
    """A file over its cap; only ``limit + 1`` bytes of it were read."""


def read_capped(path: str | os.PathLike, limit: int) -> bytes:
    """The file's bytes, read in one bounded call (a size checked first could change before the read).

    OSError when it cannot be read; FileTooLarge when it holds more than ``limit`` bytes.
    """
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(f"{os.fspath(path)} is larger than {limit:,} bytes")
    return data
