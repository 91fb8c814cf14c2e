"""Hostile model files are refused before they cost memory or time, or open another file (issue 11).

Each attack file is built as an attacker would: a real model saved by the app, unzipped,
its weights or config rewritten, zipped back. Every read of one runs in a child process
whose address space is capped and whose time is limited, so a regression fails the test
instead of taking gigabytes or hanging the suite.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from model.net.config import TrainingConfig
from model.net.network import build_network
from model.storage.dense_file import (
    MAX_CONFIG_BYTES,
    MAX_WEIGHTS_BYTES,
    NotPlainDense,
    UnsafeModelFile,
    read_dense_network,
)
from tests.helpers import PROJECT_ROOT
from utils.errors import LabError

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="caps the child's memory through /proc and rlimits")

HEADROOM = 256 * 2**20  # address space a reading child may add to what its imports took
KERNEL = "layers/dense/vars/0"  # the first Dense layer's kernel, (784, 8) float32 in the saved model
Members = dict[str, bytes]
_BUILT: dict[str, bytes] = {}  # attack archives that are slow to build, by name

_CHILD = r"""
import json, resource, sys, time
import numpy as np
from model.storage.dense_file import read_dense_network

pages, resident = map(int, open("/proc/self/statm").read().split()[:2])
imported = resident * resource.getpagesize()
limit = pages * resource.getpagesize() + int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
outcomes = {}
for path in sys.argv[2:]:
    start = time.perf_counter()
    try:
        network = read_dense_network(path)
        network(np.zeros((1, 784), np.float32))
        outcome = ["read", network.architecture]
    except Exception as error:
        outcome = [type(error).__name__, str(error)]
    outcomes[path] = [*outcome, time.perf_counter() - start]
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
peak = int(status["VmHWM"].split()[0]) * 1024  # ru_maxrss would count the parent's pages from before exec
print(json.dumps({"outcomes": outcomes, "peak_rss": peak, "imported_rss": imported}))
"""


def _read_in_child(paths: list[Path], timeout: float = 60) -> dict:
    """Read each file in a child capped at HEADROOM more memory; a hang fails after ``timeout``."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(HEADROOM), *map(str, paths)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


# Building attack files from a real saved model.


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Members:
    """The members of a model the app trains and saves (784-8-10), where an attacker starts."""
    path = tmp_path_factory.mktemp("saved") / "real.keras"
    build_network(TrainingConfig(hidden_layers=1, units=8)).save(path)  # what ModelStore.save writes
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(path: Path, members: Members, compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _with_weights(members: Members, edit: Callable[[h5py.File], None]) -> Members:
    """The members with model.weights.h5 rewritten by ``edit``, as h5py lets anyone do."""
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "a") as store:
        edit(store)
    return {**members, "model.weights.h5": buffer.getvalue()}


def _with_config(members: Members, edit: Callable[[dict], None]) -> Members:
    config = json.loads(members["config.json"])
    edit(config)
    return {**members, "config.json": json.dumps(config).encode()}


def _replace_kernel(**dataset: object) -> Callable[[h5py.File], None]:
    """An edit that swaps the first kernel for a dataset made with ``dataset`` as options."""

    def edit(store: h5py.File) -> None:
        del store[KERNEL]
        store.create_dataset(KERNEL, **dataset)

    return edit


def _link_kernel(link: object) -> Callable[[h5py.File], None]:
    def edit(store: h5py.File) -> None:
        del store[KERNEL]
        store[KERNEL] = link

    return edit


def _dense_configs(config: dict) -> list[dict]:
    return [layer["config"] for layer in config["config"]["layers"] if layer["class_name"] == "Dense"]


def _set_hidden_units(units: int) -> Callable[[dict], None]:
    def edit(config: dict) -> None:
        _dense_configs(config)[0]["units"] = units

    return edit


def _nine_hidden_layers(config: dict) -> None:
    layers = config["config"]["layers"]
    hidden = next(layer for layer in layers if layer["class_name"] == "Dense")
    copies = [json.loads(json.dumps(hidden)) for _ in range(8)]
    for number, copy in enumerate(copies, start=2):
        copy["config"]["name"] = f"hidden_{number}"
    layers[layers.index(hidden) + 1 : layers.index(hidden) + 1] = copies


def _wide_input(config: dict) -> None:
    config["config"]["layers"][0]["config"]["batch_shape"] = [None, 100_000_000]


def _a_lambda_network(config: dict) -> None:
    """Another network, which the reader leaves to Keras: but never with hostile weights."""
    lambda_layer = {"class_name": "Lambda", "config": {"name": "code", "function": "?"}}
    config["config"]["layers"].insert(1, lambda_layer)


def _hard_link_cycle(store: h5py.File) -> None:
    store["layers/dense/loop"] = store["/"]  # a group inside itself: a walk that never ends


def _extra_megabytes(store: h5py.File) -> None:
    store.create_dataset("junk", data=np.zeros(3 * 2**20, np.uint8))


def _config_bomb(path: Path, members: Members) -> Path:
    """config.json padded with 1 GiB of spaces (still valid JSON), deflated to about 4.7 MB.

    Written in 1 MiB chunks, so building it never holds the gigabyte; built once (1.5 s), then copied.
    """
    if "bomb" not in _BUILT:
        spaces = b" " * 2**20
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for name, data in members.items():
                if name != "config.json":
                    archive.writestr(name, data)
            with archive.open("config.json", "w") as member:
                member.write(members["config.json"])
                for _ in range(1024):
                    member.write(spaces)
        _BUILT["bomb"] = path.read_bytes()
    path.write_bytes(_BUILT["bomb"])
    return path


def _lie_about_size(path: Path, name: str, start: bytes) -> Path:
    """Make the directory say ``name`` holds only ``start`` (its size and checksum), as a hand-made archive may.

    zipfile then hands a reader just those bytes, checksum correct, but only after
    unpacking everything an unbounded read() fetched: Keras' loader would take 2 GB for it.
    """
    data = bytearray(path.read_bytes())
    entry = len(data)  # the directory entries come last: search back from the end
    while True:
        entry = data.rfind(b"PK\x01\x02", 0, entry)
        if data[entry + 46 : entry + 46 + len(name)] == name.encode():
            break
    data[entry + 16 : entry + 20] = zlib.crc32(start).to_bytes(4, "little")
    data[entry + 24 : entry + 28] = len(start).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def _npz(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, array)
    return buffer.getvalue()


def _many_entries(path: Path, members: Members) -> Path:
    """A zip directory of 20,000 entries (1.1 MB): zipfile would build an object for each."""
    _zip(path, members)
    with zipfile.ZipFile(path, "a") as archive:
        for number in range(20_000):
            archive.writestr(f"x{number}", b"")
    return path


def _virtual_kernel(store: h5py.File) -> None:
    layout = h5py.VirtualLayout(shape=(784, 8), dtype="f4")
    layout[:] = h5py.VirtualSource("/tmp/other.h5", "weights", shape=(784, 8))
    del store[KERNEL]
    store.create_virtual_dataset(KERNEL, layout)


# name: (how to build it from the saved members in a folder, refusal type, reason)
ATTACKS: dict[str, tuple[Callable[[Path, Members], Path], type[Exception], str]] = {
    "external storage": (
        lambda folder, members: _zip(
            folder / "a.keras",
            _with_weights(members, _replace_kernel(shape=(784, 8), dtype="f4", external=[("/etc/passwd", 0, 25088)])),
        ),
        UnsafeModelFile,
        r"keeps its numbers in another file \(/etc/passwd\)",
    ),
    "external link": (
        lambda folder, members: _zip(
            folder / "a.keras", _with_weights(members, _link_kernel(h5py.ExternalLink("/tmp/stolen.h5", "/weights")))
        ),
        UnsafeModelFile,
        "an external link at /layers/dense/vars/0",
    ),
    "soft link": (
        lambda folder, members: _zip(
            folder / "a.keras", _with_weights(members, _link_kernel(h5py.SoftLink("/layers/dense_1/vars/0")))
        ),
        UnsafeModelFile,
        "a soft link at /layers/dense/vars/0",
    ),
    "virtual dataset": (
        lambda folder, members: _zip(folder / "a.keras", _with_weights(members, _virtual_kernel)),
        UnsafeModelFile,
        "virtual dataset",
    ),
    "shape bomb, chunked and compressed": (
        lambda folder, members: _zip(
            folder / "a.keras",
            _with_weights(members, _replace_kernel(shape=(26000, 26000), dtype="f4", chunks=True, compression="gzip")),
        ),
        UnsafeModelFile,
        r"declares \(26000, 26000\) float32 numbers \(2.7 GB\)",
    ),
    "shape bomb, fill value only": (
        lambda folder, members: _zip(
            folder / "a.keras", _with_weights(members, _replace_kernel(shape=(26000, 26000), dtype="f4", fillvalue=1))
        ),
        UnsafeModelFile,
        r"declares \(26000, 26000\) float32 numbers \(2.7 GB\)",
    ),
    "shape bomb that chains": (
        lambda folder, members: _zip(
            folder / "a.keras",
            _with_config(
                _with_weights(members, _replace_kernel(shape=(784, 26000), dtype="f4", compression="gzip")),
                _set_hidden_units(26000),
            ),
        ),
        UnsafeModelFile,
        "declares 26,000 units; this app trains at most 2,048",
    ),
    "shape unlike the config": (
        lambda folder, members: _zip(
            folder / "a.keras", _with_weights(members, _replace_kernel(data=np.ones((784, 9), np.float32)))
        ),
        UnsafeModelFile,
        r"declares a kernel of shape \(784, 9\) where its config says \(784, 8\)",
    ),
    "chunked weights of the right shape": (
        lambda folder, members: _zip(
            folder / "a.keras",
            _with_weights(members, _replace_kernel(data=np.ones((784, 8), np.float32), compression="gzip")),
        ),
        UnsafeModelFile,
        "stored in chunks and compressed",
    ),
    "4096 units": (
        lambda folder, members: _zip(folder / "a.keras", _with_config(members, _set_hidden_units(4096))),
        UnsafeModelFile,
        "declares 4,096 units",
    ),
    "9 hidden layers": (
        lambda folder, members: _zip(folder / "a.keras", _with_config(members, _nine_hidden_layers)),
        UnsafeModelFile,
        "9 hidden layers; this app trains at most 8",
    ),
    "100 million inputs": (
        lambda folder, members: _zip(folder / "a.keras", _with_config(members, _wide_input)),
        UnsafeModelFile,
        "takes 100,000,000 inputs",
    ),
    "hard-link cycle": (
        lambda folder, members: _zip(folder / "a.keras", _with_weights(members, _hard_link_cycle)),
        UnsafeModelFile,
        "over 1,000 groups and datasets",
    ),
    "weights far bigger than the architecture": (
        lambda folder, members: _zip(folder / "a.keras", _with_weights(members, _extra_megabytes)),
        UnsafeModelFile,
        r"model.weights.h5 would unpack to 3.2 MB, more than the 1.1 MB it may have",
    ),
    "config.json of 1 GiB of spaces": (
        lambda folder, members: _config_bomb(folder / "a.keras", members),
        UnsafeModelFile,
        r"config.json would unpack to 1.1 GB, more than the largest model this app saves",
    ),
    "config.json whose header lies": (
        lambda folder, members: _lie_about_size(
            _config_bomb(folder / "a.keras", members), "config.json", members["config.json"].ljust(3000)
        ),
        UnsafeModelFile,  # zipfile would stop at 3000 bytes, but only after unpacking all it read
        "config.json is damaged or forged: it fails its checksum or runs past the 3,000 bytes",
    ),
    "weights as .npz": (
        lambda folder, members: _zip(
            folder / "a.keras", {**members, "model.weights.npz": _npz(np.ones((784, 8), np.float32))}
        ),
        UnsafeModelFile,
        "model.weights.npz, which this app never writes",
    ),
    "bzip2 member": (
        lambda folder, members: _zip(folder / "a.keras", members, compression=zipfile.ZIP_BZIP2),
        UnsafeModelFile,
        "compressed with method 12",
    ),
    "zip directory of 20,000 entries": (
        lambda folder, members: _many_entries(folder / "a.keras", members),
        UnsafeModelFile,
        r"its zip directory is 1.\d MB",
    ),
    "another network with hostile weights": (
        lambda folder, members: _zip(
            folder / "a.keras",
            _with_config(
                _with_weights(
                    members, _replace_kernel(shape=(784, 8), dtype="f4", external=[("/etc/passwd", 0, 25088)])
                ),
                _a_lambda_network,
            ),
        ),
        UnsafeModelFile,
        "keeps its numbers in another file",
    ),
    "integer weights": (
        lambda folder, members: _zip(
            folder / "a.keras", _with_weights(members, _replace_kernel(data=np.ones((784, 8), np.int32)))
        ),
        NotPlainDense,  # harmless (the shape is checked), just not what this reader computes with
        "stores int32 numbers, not a float kernel and bias",
    ),
}


@pytest.fixture(scope="module")
def outcomes(saved, tmp_path_factory) -> dict:
    """Every attack file, read in one capped child: name -> [type, message, seconds]; its RSS after imports and peak."""
    paths = {}
    for name, (build, _, _) in ATTACKS.items():
        paths[name] = build(tmp_path_factory.mktemp("attack"), saved)
    report = _read_in_child(list(paths.values()))
    memory = {key: report[key] for key in ("peak_rss", "imported_rss")}
    return {**memory, **{name: report["outcomes"][str(path)] for name, path in paths.items()}}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_each_hostile_file_is_refused_quickly_with_a_reason(attack, outcomes):
    _, expected, reason = ATTACKS[attack]
    kind, message, seconds = outcomes[attack]
    assert kind == expected.__name__, message
    assert re.search(reason, message), message
    assert seconds < 1.0


def test_refusing_them_all_takes_little_memory(outcomes):
    """The shape bombs declare 2.7 GB and the config bomb 1 GiB; reading them all adds a few MB to the imports."""
    assert outcomes["peak_rss"] - outcomes["imported_rss"] < 32 * 2**20, outcomes


def test_a_pipe_never_blocks_the_reader(saved, tmp_path):
    """External storage, an external link, or the model file itself on a FIFO: refused at once, never waited on.

    Before, the external-storage file hung the Draw page for every visitor.
    """
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "pipe.keras").symlink_to(fifo)
    storage = _replace_kernel(shape=(784, 8), dtype="f4", external=[(str(fifo), 0, 25088)])
    paths = [
        _zip(tmp_path / "storage.keras", _with_weights(saved, storage)),
        _zip(tmp_path / "link.keras", _with_weights(saved, _link_kernel(h5py.ExternalLink(str(fifo), "/w")))),
        tmp_path / "pipe.keras",
    ]
    found = _read_in_child(paths, timeout=30)["outcomes"]
    reasons = ["keeps its numbers in another file", "an external link", "not a regular file"]
    for path, reason in zip(paths, reasons, strict=True):
        kind, message, seconds = found[str(path)]
        assert kind == "UnsafeModelFile" and reason in message and seconds < 1.0, (path.name, message)


def test_unsafe_files_are_not_handed_to_keras():
    """Callers fall back to Keras on NotPlainDense only; an UnsafeModelFile is a message for the user."""
    assert not issubclass(UnsafeModelFile, NotPlainDense)
    assert not issubclass(NotPlainDense, UnsafeModelFile)
    assert issubclass(UnsafeModelFile, LabError)


def test_the_limits_fit_every_network_the_app_trains(saved, tmp_path):
    """The caps hold the largest network the sliders allow; the deepest one and 16/64-bit weights still read."""
    float32_8x2048 = 4 * (784 * 2048 + 7 * 2048 * 2048 + 2048 * 10 + 8 * 2048 + 10)
    assert float32_8x2048 * 2 < MAX_WEIGHTS_BYTES < 300 * 10**6  # float64 fits; nothing like the bombs does
    deepest = build_network(TrainingConfig(hidden_layers=8, units=8))
    deepest.save(tmp_path / "deep.keras")
    config_bytes = zipfile.ZipFile(tmp_path / "deep.keras").getinfo("config.json").file_size
    assert config_bytes * 50 < MAX_CONFIG_BYTES
    assert read_dense_network(tmp_path / "deep.keras").architecture == "784-8-8-8-8-8-8-8-8-10"
    rows = np.random.default_rng(0).random((5, 784), np.float32)
    expected = read_dense_network(_zip(tmp_path / "real.keras", saved))(rows)
    for dtype in (np.float16, np.float64):
        members = _with_weights(saved, lambda store, dtype=dtype: _convert_all(store, dtype))
        network = read_dense_network(_zip(tmp_path / f"{dtype.__name__}.keras", members))
        assert all(
            array.dtype == np.float32 and not array.flags.writeable
            for layer in network.layers
            for array in (layer.kernel, layer.bias)
        )
        np.testing.assert_allclose(network(rows), expected, atol=2e-3 if dtype == np.float16 else 1e-6)


def _convert_all(store: h5py.File, dtype: type) -> None:
    for group in ("dense", "dense_1"):
        for index in ("0", "1"):
            name = f"layers/{group}/vars/{index}"
            data = store[name][()].astype(dtype)
            del store[name]
            store[name] = data
