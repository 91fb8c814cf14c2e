"""Once Keras is loaded in the server, its objects stay out of every later garbage collection."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import PROJECT_ROOT

SCRIPT = """
import gc, sys
from ui.gc_tuning import freeze_imported_frameworks
assert not freeze_imported_frameworks()  # nothing to do before Keras is imported
import keras
assert freeze_imported_frameworks() and gc.get_freeze_count() > 100_000
assert not freeze_imported_frameworks()  # no new modules since: no second freeze
class Node: pass
a, b = Node(), Node()
a.other, b.other = b, a
del a, b
print(gc.collect() >= 2)  # garbage made afterwards is still collected
"""


@pytest.mark.slow
def test_keras_objects_are_frozen_and_new_garbage_is_still_collected():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True"


@pytest.mark.slow
def test_the_app_freezes_after_a_page_imports_keras():
    script = (
        "import gc\n"
        "from streamlit.testing.v1 import AppTest\n"
        "app = AppTest.from_file('app.py', default_timeout=120)\n"
        "app.run()\n"
        "app.switch_page('pages/train.py').run()\n"
        "before = gc.get_freeze_count()\n"
        "app.toggle(key='augment').set_value(True).run()  # the preview imports Keras\n"
        "assert not app.exception, app.exception\n"
        "print(before, gc.get_freeze_count() > 100_000)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "0 True"
