"""The trust boundary (issue 21 §1): files and zips from outside are read without waiting and within caps.

Format rules are tested with their formats (test_dense_file_hostile.py, test_drawings.py,
test_image_io.py, test_storage.py); here, what every caller gets from ``utils.untrusted``.
"""

from __future__ import annotations

import contextlib
import io
import os
import tracemalloc
import zipfile

import numpy as np
import pytest

from tests.helpers import in_a_thread
from utils.errors import LabError
from utils.untrusted import (
    ArraySpec,
    UnreadableFile,
    UntrustedFileError,
    check_regular,
    load_npz,
    open_zip,
    read_file,
)

MB = 2**20


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(
        buffer, "w", compression, compresslevel=1 if compression == zipfile.ZIP_DEFLATED else None
    ) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def release(fifo) -> None:
    """Let a reader blocked on ``fifo`` go (open the other end and close it): a failing test must not leak a thread."""
    with contextlib.suppress(OSError):  # no reader waiting: nothing to release
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


# -- files -------------------------------------------------------------------------


def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "active.txt"
    os.mkfifo(fifo)
    try:
        outcome = in_a_thread(lambda: read_file(fifo, 100))
    finally:
        release(fifo)
    assert not outcome["blocked"]
    assert isinstance(outcome["error"], UntrustedFileError)
    assert "active.txt: this is a named pipe (FIFO), not a regular file" in str(outcome["error"])


def test_files_are_read_up_to_their_cap_and_refused_beyond(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"x" * 10)
    assert read_file(path, 10) == b"x" * 10
    with pytest.raises(UntrustedFileError, match=r"a\.txt: the file is larger than the 9 bytes limit"):
        read_file(path, 9)
    with pytest.raises(UntrustedFileError, match="cannot read the file"):
        read_file(tmp_path / "missing.txt", 10)
    with pytest.raises(UntrustedFileError, match="this is a directory"):
        check_regular(tmp_path, 10)
    assert issubclass(UntrustedFileError, LabError)


# -- zips --------------------------------------------------------------------------


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_members_compressed_but_by_deflate_are_refused_before_unpacking(method):
    """zipfile unpacks a bzip2 or LZMA chunk whole: a 917-byte bzip2 member took the server to 2.3 GB."""
    data = _zip({"1/bomb.png": bytes(64 * MB)}, method)
    assert len(data) < 64 * 1024
    tracemalloc.start()
    try:
        with (
            open_zip(data, max_bytes=MB, max_unpacked=128 * MB) as archive,
            pytest.raises(UntrustedFileError) as caught,
        ):
            archive.read("1/bomb.png", 100 * MB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert f"compressed with method {method}" in str(caught.value)
    assert peak < 8 * MB


def test_a_lying_header_is_refused_after_one_byte_more_and_charged():
    data = _zip({"liar": bytes(10 * MB)})
    patched = bytearray(data)
    for header, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # the uncompressed size, in both headers
        at = patched.find(header)
        patched[at + offset : at + offset + 4] = (1000).to_bytes(4, "little")
    forged = r"liar is damaged or forged: it fails its checksum or runs past the 1,000 bytes"
    with open_zip(bytes(patched), max_bytes=MB, max_unpacked=1500) as archive:
        with pytest.raises(UntrustedFileError, match=forged):
            archive.read("liar", 4000)
        assert archive.unpacked_left == 1500 - 1001
        with pytest.raises(UntrustedFileError, match=r"more than the 499 bytes zip may still unpack to"):
            archive.read("liar", 4000)  # what was unpacked for a refused member counts too


def test_a_member_over_its_cap_is_refused_from_its_header():
    with open_zip(_zip({"big": bytes(MB)}), max_bytes=MB, max_unpacked=8 * MB) as archive:
        with pytest.raises(UntrustedFileError, match=r"big would unpack to 1\.0 MB, more than the 1\.0 KB it may have"):
            archive.read("big", 1000)
        assert archive.unpacked_left == 8 * MB  # nothing unpacked, nothing charged


def test_not_a_zip_and_a_missing_member_are_unreadable_not_hostile():
    with (
        pytest.raises(UnreadableFile, match=r"upload\.zip: not a readable zip file"),
        open_zip(b"not a zip", max_bytes=MB, max_unpacked=MB, label="upload.zip"),
    ):
        pass
    with (
        open_zip(_zip({"a": b"1"}), max_bytes=MB, max_unpacked=MB) as archive,
        pytest.raises(UnreadableFile, match="holds no b"),
    ):
        archive.read("b", 10)


# -- NumPy arrays ------------------------------------------------------------------

SPECS = {"points": ArraySpec("f", 2), "labels": ArraySpec("iu", 1)}


def _npz(path, **arrays) -> None:
    np.savez_compressed(path, **arrays)


def test_an_npz_gives_the_arrays_asked_for(tmp_path):
    _npz(tmp_path / "a.npz", points=np.ones((3, 2), np.float32), labels=np.arange(3), other=np.zeros(5))
    arrays = load_npz(tmp_path / "a.npz", SPECS, MB)
    assert set(arrays) == {"points", "labels"} and arrays["points"].shape == (3, 2)
    assert arrays["labels"].tolist() == [0, 1, 2]


def test_an_npz_that_unpacks_far_beyond_its_cap_is_refused_cheaply(tmp_path):
    """A 195 KB file beside a model unpacked to 200 MB on every Models page run."""
    path = tmp_path / "bomb.npz"
    _npz(path, points=np.zeros((50 * MB // 8, 2), np.float32), labels=np.arange(3))
    assert path.stat().st_size < MB
    tracemalloc.start()
    try:
        with pytest.raises(UntrustedFileError, match=r"points.npy would unpack to 52.4 MB, more than"):
            load_npz(path, SPECS, 20 * MB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MB


@pytest.mark.parametrize(
    ("arrays", "reason"),
    [
        ({"points": np.ones((3, 2), np.float32)}, "holds no labels.npy"),
        ({"points": np.ones(3, np.float32), "labels": np.arange(3)}, "float32 numbers in 1 dimensions, not float"),
        ({"points": np.array([["a", "b"]]), "labels": np.arange(3)}, "<U1 numbers in 2 dimensions"),
        ({"points": np.float32(1), "labels": np.arange(3)}, "in 0 dimensions"),
        ({"points": np.array([[None, 1]], object), "labels": np.arange(3)}, "object numbers"),
    ],
    ids=["missing", "1-D", "strings", "scalar", "pickled objects"],
)
def test_arrays_of_another_kind_or_shape_are_refused_with_the_reason(tmp_path, arrays, reason):
    np.savez(tmp_path / "a.npz", **arrays)
    with pytest.raises(UntrustedFileError, match=reason):
        load_npz(tmp_path / "a.npz", SPECS, MB)


def test_an_npy_header_that_lies_about_its_shape_is_refused(tmp_path):
    buffer = io.BytesIO()
    np.save(buffer, np.ones((3, 2), np.float32))
    forged = buffer.getvalue().replace(b"(3, 2)", b"(9, 2)")  # the header now claims three times the data
    with zipfile.ZipFile(tmp_path / "a.npz", "w") as archive:
        archive.writestr("points.npy", forged)
        archive.writestr("labels.npy", _npy(np.arange(3)))
    with pytest.raises(UntrustedFileError, match=r"declares \(9, 2\) float32 numbers \(72 bytes\) but holds 24"):
        load_npz(tmp_path / "a.npz", SPECS, MB)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()
