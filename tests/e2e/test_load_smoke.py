"""A seconds-long run of the load test (bench/load_test.py): several sessions, one training, no errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.e2e.helpers import require_browser
from tests.helpers import PROJECT_ROOT


@pytest.mark.slow
def test_sessions_draw_while_another_trains_without_errors():
    require_browser()
    command = [sys.executable, "-m", "bench.load_test", "--sessions", "3", "--seconds", "20"]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "errors: 0" in done.stdout and "p95" in done.stdout
    assert "Epoch" in done.stdout  # the training session was training while the others drew
