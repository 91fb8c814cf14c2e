"""Keep TensorFlow's objects out of the server's garbage collections.

When ``keras`` is imported in the server (the Train page's augmentation preview, a
model upload on the Models page, a network the Draw page cannot read into NumPy),
Streamlit calls ``keras.backend.clear_session()`` after every script run, and that runs
a full garbage collection over TensorFlow's ~400,000 objects: 150-200 ms of CPU on every
rerun, for every user, on every stroke (measured: a server that had shown one
augmentation preview answered drawings 8x slower). ``gc.freeze()`` moves the objects
alive at that moment into a generation that later collections skip; garbage made
afterwards is collected as before. It runs again only when more modules have been
imported since.
"""

from __future__ import annotations

import gc
import sys
import threading

_lock = threading.Lock()
_modules_when_frozen = 0


def freeze_imported_frameworks() -> bool:
    """Collect, then freeze everything alive, if Keras is loaded and modules were imported since last time."""
    global _modules_when_frozen
    with _lock:
        if "keras" not in sys.modules or len(sys.modules) <= _modules_when_frozen:
            return False
        gc.collect()  # garbage frozen now could never be collected
        gc.freeze()
        _modules_when_frozen = len(sys.modules)
        return True
