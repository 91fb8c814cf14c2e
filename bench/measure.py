"""The numbers every benchmark reports, defined once: percentiles and resident memory."""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Iterable

import psutil


def percentile(values: Iterable[float], percent: int) -> float:
    """The ``percent``-th percentile (1-99), interpolated between the nearest values (NumPy's default)."""
    values = list(values)
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def rss_mb(pid: int | None = None, children: bool = False) -> float:
    """Resident memory of a process (default: this one), with all its descendants if ``children``, in MB."""
    process = psutil.Process(pid)
    processes = [process, *process.children(recursive=True)] if children else [process]
    total = 0
    for each in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):  # a worker may end meanwhile
            total += each.memory_info().rss
    return total / 2**20
