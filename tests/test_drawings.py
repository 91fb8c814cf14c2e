"""A person's drawings: kept, zipped and read back, and hostile zips and folders refused piece by piece."""

from __future__ import annotations

import io
import pickle
import struct
import time
import tracemalloc
import zipfile

import cv2
import numpy as np
import pytest

import utils.drawings as drawings_module
from tests.helpers import draw_canvas
from utils.drawings import (
    MANIFEST,
    MAX_MEMBER_BYTES,
    MAX_MEMBERS,
    MAX_ZIP_BYTES,
    Drawing,
    DrawingsError,
    count_by_digit,
    drawing_from_image,
    drawings_from_zip,
    drawings_to_zip,
    labelled_inputs,
    png_bytes,
    read_digit_folder,
)
from utils.errors import LabError
from utils.preprocess import LEGACY_PREPROCESSING, PREPROCESSING_VERSION

STROKES = {
    0: [[(140 + 60 * np.sin(t), 140 - 90 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 30)]],
    1: [[(140, 50), (140, 230)]],
    7: [[(80, 60), (200, 60), (120, 230)]],
    4: [[(170, 230), (170, 50), (80, 170), (210, 170)]],
}


def canvas(digit: int) -> np.ndarray:
    return draw_canvas(strokes=STROKES[digit], width=18)


def png_of(digit: int) -> bytes:
    return png_bytes(canvas(digit))


def some_drawings() -> list[Drawing]:
    return [
        drawing_from_image(canvas(digit), digit, model="default", time=f"2026-01-0{index + 1}T10:00:00+00:00")
        for index, digit in enumerate((0, 1, 7, 4, 7))
    ]


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# -- the Drawing record ------------------------------------------------------------


def test_drawing_keeps_a_frozen_copy_of_its_input_and_checks_its_label():
    pixels = np.zeros((28, 28), np.float32)
    pixels[10:18, 12:16] = 1.0
    drawing = Drawing(b"png", pixels, 3, "default", "2026-01-01T00:00:00")
    pixels[:] = 0.5  # the caller's array changing later must not change the drawing
    assert drawing.pixels.max() == 1.0 and not drawing.pixels.flags.writeable
    for wrong in (10, -1, True, "3"):
        with pytest.raises(DrawingsError, match="digit 0-9"):
            Drawing(b"png", pixels, wrong)
    with pytest.raises(DrawingsError, match="28x28"):
        Drawing(b"png", np.zeros((10, 10)), 3)


def test_a_drawing_survives_pickling_for_a_worker_process():
    drawing = drawing_from_image(canvas(7), 7, model="default")
    copy = pickle.loads(pickle.dumps(drawing))
    assert (copy.label, copy.model, copy.time, copy.png) == (7, "default", drawing.time, drawing.png)
    np.testing.assert_array_equal(copy.pixels, drawing.pixels)


def test_drawing_from_a_blank_canvas_is_refused_with_a_message():
    with pytest.raises(DrawingsError, match="nothing is drawn"):
        drawing_from_image(np.zeros((280, 280, 4), np.uint8), 3)


def test_inputs_are_made_again_for_a_model_with_another_preprocessing():
    drawing = drawing_from_image(canvas(7), 7, preprocessing=PREPROCESSING_VERSION)
    assert drawing.inputs_for(PREPROCESSING_VERSION) is drawing.pixels
    legacy = drawing.inputs_for(LEGACY_PREPROCESSING)
    assert legacy.shape == (28, 28) and not np.array_equal(legacy, drawing.pixels)
    x, y = labelled_inputs(some_drawings(), PREPROCESSING_VERSION)
    assert x.shape == (5, 784) and x.dtype == np.float32 and y.tolist() == [0, 1, 7, 4, 7]
    assert count_by_digit(some_drawings()) == [1, 1, 0, 0, 1, 0, 0, 2, 0, 0]


# -- zip round trip ----------------------------------------------------------------


def test_zip_round_trip_keeps_labels_inputs_model_and_time():
    original = some_drawings()
    data = drawings_to_zip(original)
    back, problems = drawings_from_zip(data, PREPROCESSING_VERSION)
    assert problems == []
    assert [d.label for d in back] == [d.label for d in original]
    for before, after in zip(original, back, strict=True):
        np.testing.assert_array_equal(after.pixels, before.pixels)
        assert (after.model, after.time, after.png) == (before.model, before.time, before.png)


def test_zip_is_the_keras_folder_layout_of_the_original_pictures_plus_a_manifest():
    original = some_drawings()
    with zipfile.ZipFile(io.BytesIO(drawings_to_zip(original))) as archive:
        names = archive.namelist()
        assert MANIFEST in names
        pictures = sorted(name for name in names if name != MANIFEST)
        assert [name.split("/")[0] for name in pictures] == ["0", "1", "4", "7", "7"]
        picture = cv2.imdecode(np.frombuffer(archive.read(pictures[1]), np.uint8), cv2.IMREAD_UNCHANGED)
        assert picture.shape == (280, 280, 4)  # the canvas as drawn, not the 28x28 input
        manifest = archive.read(MANIFEST).decode()
    assert '"model": "default"' in manifest and "2026-01-02T10:00:00" in manifest


def test_a_zip_without_manifest_or_with_a_damaged_one_still_loads():
    members = {"3/a.png": png_of(7), "1/b.png": png_of(1)}
    back, problems = drawings_from_zip(zip_of(members), PREPROCESSING_VERSION)
    assert sorted(d.label for d in back) == [1, 3] and problems == []
    back, problems = drawings_from_zip(zip_of({**members, MANIFEST: b"{not json"}), PREPROCESSING_VERSION)
    assert len(back) == 2 and any(MANIFEST in str(p) for p in problems)


def test_a_folder_wrapping_everything_and_zipping_tools_files_are_looked_through():
    members = {"mine/7/a.png": png_of(7), "__MACOSX/mine/7/._a.png": b"junk", "mine/.DS_Store": b"junk"}
    back, problems = drawings_from_zip(zip_of(members), PREPROCESSING_VERSION)
    assert [d.label for d in back] == [7] and problems == []


# -- hostile zips ------------------------------------------------------------------


def test_a_zip_bomb_member_is_skipped_quickly_and_the_rest_loads():
    bomb = bytes(200 * 2**20)  # 200 MB of zeros: about 200 KB deflated
    data = zip_of({"1/bomb.png": bomb, "7/fine.png": png_of(7)})
    assert len(data) < MAX_ZIP_BYTES
    started = time.perf_counter()
    tracemalloc.start()
    try:
        back, problems = drawings_from_zip(data, PREPROCESSING_VERSION)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 5
    assert peak < 4 * MAX_MEMBER_BYTES  # never the 200 MB the member unpacks to
    assert [d.label for d in back] == [7]
    assert any("1/bomb.png would unpack to 209.7 MB, more than the 4.2 MB" in str(p) for p in problems)


def lie_about_size(data: bytes, name: str, size: int) -> bytes:
    """The zip with ``name``'s uncompressed size in both headers replaced by ``size``."""
    patched = bytearray(data)
    encoded = name.encode()
    local = patched.find(b"PK\x03\x04" + b"")  # first local header; find the one for ``name``
    while local != -1 and patched[local + 30 : local + 30 + len(encoded)] != encoded:
        local = patched.find(b"PK\x03\x04", local + 4)
    struct.pack_into("<I", patched, local + 22, size)
    central = patched.find(b"PK\x01\x02")
    while central != -1 and patched[central + 46 : central + 46 + len(encoded)] != encoded:
        central = patched.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", patched, central + 24, size)
    return bytes(patched)


def test_a_member_whose_header_understates_its_size_is_read_through_a_bounded_stream():
    data = lie_about_size(zip_of({"1/liar.png": bytes(50 * 2**20), "7/fine.png": png_of(7)}), "1/liar.png", 100)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.getinfo("1/liar.png").file_size == 100  # the header lies
    back, problems = drawings_from_zip(data, PREPROCESSING_VERSION)
    assert [d.label for d in back] == [7]
    assert any("1/liar.png" in str(p) for p in problems)


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_bzip2_and_lzma_members_are_skipped_before_they_unpack(method):
    """zipfile cannot stop these mid-chunk: a 917-byte bzip2 member took the server from 275 MB to 2.3 GB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("1/bomb.png", bytes(100 * 2**20), compress_type=method)
        archive.writestr("7/fine.png", png_of(7), compress_type=zipfile.ZIP_DEFLATED)
    tracemalloc.start()
    try:
        back, problems = drawings_from_zip(buffer.getvalue(), PREPROCESSING_VERSION)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_MEMBER_BYTES  # never the 100 MB the member unpacks to
    assert [d.label for d in back] == [7]
    assert any(f"1/bomb.png is compressed with method {method}" in str(p) for p in problems)


def test_what_refused_members_unpack_is_charged_to_the_zip():
    """Members over the cap cost their cap each, uncounted: an 8.6 MB zip cost 27-33 s of CPU per upload."""
    members = {f"1/liar{index:02d}.png": bytes(2 * MAX_MEMBER_BYTES) for index in range(24)}
    data = zip_of(members)
    for name in members:  # each header claims exactly the cap; the data runs on past it
        data = lie_about_size(data, name, MAX_MEMBER_BYTES)
    back, problems = drawings_from_zip(data, PREPROCESSING_VERSION)
    assert back == [] and "the rest were skipped" in str(problems[-1])
    refused = [p for p in problems if "damaged or forged" in str(p)]
    assert len(refused) == drawings_module.MAX_TOTAL_BYTES // MAX_MEMBER_BYTES - 1  # then the budget is spent


@pytest.mark.parametrize("name", ["../7/evil.png", "/7/evil.png", "7/../../evil.png", "C:/7/evil.png", "7\\evil.png"])
def test_unsafe_member_paths_are_problems(name):
    back, problems = drawings_from_zip(zip_of({name: png_of(7), "1/fine.png": png_of(1)}), PREPROCESSING_VERSION)
    assert [d.label for d in back] == [1]
    assert any("unsafe path" in str(p) for p in problems)


def test_too_many_members_is_refused_before_anything_is_read():
    data = zip_of({f"1/{index}.png": b"" for index in range(MAX_MEMBERS + 1)})
    with pytest.raises(DrawingsError, match="more than the"):
        drawings_from_zip(data, PREPROCESSING_VERSION)


def test_not_a_zip_and_too_large_a_zip_are_refused_with_a_message():
    with pytest.raises(LabError, match=r"mine\.zip: not a readable zip"):
        drawings_from_zip(b"this is not a zip", PREPROCESSING_VERSION, "mine.zip")
    with pytest.raises(LabError, match=r"zip: the file is larger than the 10\.5 MB limit"):
        drawings_from_zip(bytes(MAX_ZIP_BYTES + 1), PREPROCESSING_VERSION)
    assert issubclass(DrawingsError, LabError)


def test_non_images_wrong_folders_and_blank_pictures_are_problems_naming_the_file():
    members = {
        "3/notes.txt": b"not an image",
        "10/a.png": png_of(1),
        "seven/b.png": png_of(7),
        "2/blank.png": png_bytes(np.zeros((50, 50), np.uint8)),
        "7/fine.png": png_of(7),
        "9/": b"",
    }
    back, problems = drawings_from_zip(zip_of(members), PREPROCESSING_VERSION)
    assert [d.label for d in back] == [7]
    text = "\n".join(map(str, problems))
    assert "3/notes.txt" in text and "not a readable image" in text
    assert "10/a.png: not inside a digit folder" in text and "seven/b.png: not inside a digit folder" in text
    assert "2/blank.png: nothing drawn" in text
    assert len(problems) == 4


def test_the_whole_zip_has_a_decoding_budget(monkeypatch):
    monkeypatch.setattr(drawings_module, "MAX_TOTAL_PIXELS", 2 * 280 * 280)
    data = zip_of({f"7/{index}.png": png_of(7) for index in range(5)})
    back, problems = drawings_from_zip(data, PREPROCESSING_VERSION)
    assert len(back) == 2
    assert len(problems) == 1 and "the rest were skipped" in str(problems[0])


def test_member_size_cap_is_far_above_a_canvas():
    assert len(png_of(0)) * 100 < MAX_MEMBER_BYTES


# -- a folder for the command line -------------------------------------------------


def test_read_digit_folder_takes_missing_and_empty_folders_and_reports_unreadable_files(tmp_path):
    (tmp_path / "0").mkdir()
    (tmp_path / "0" / "a.png").write_bytes(png_of(0))
    cv2.imwrite(str(tmp_path / "0" / "b.jpg"), cv2.cvtColor(canvas(0), cv2.COLOR_RGBA2BGR))
    (tmp_path / "3").mkdir()  # empty
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "c.png").write_bytes(png_of(7))
    (tmp_path / "7" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "7" / "blank.png").write_bytes(png_bytes(np.full((40, 40), 255, np.uint8)))
    (tmp_path / "7" / ".hidden.png").write_bytes(b"ignored")
    (tmp_path / "notes").mkdir()
    found, problems = read_digit_folder(tmp_path, PREPROCESSING_VERSION)
    assert [d.label for d in found] == [0, 0, 7]
    assert all(d.png.startswith(b"\x89PNG") and d.time for d in found)  # the JPEG is kept as PNG too
    text = "\n".join(map(str, problems))
    assert "broken.png" in text and "blank.png: nothing drawn" in text and "notes: not a digit folder" in text
    assert len(problems) == 3


def test_read_digit_folder_of_an_unpacked_export_uses_its_manifest(tmp_path):
    with zipfile.ZipFile(io.BytesIO(drawings_to_zip(some_drawings()))) as archive:
        archive.extractall(tmp_path)  # our own zip, from a trusted source
    found, problems = read_digit_folder(tmp_path, PREPROCESSING_VERSION)
    assert problems == [] and sorted(d.label for d in found) == [0, 1, 4, 7, 7]
    assert {d.model for d in found} == {"default"} and all(d.time.startswith("2026-01-0") for d in found)


def test_read_digit_folder_refuses_what_is_not_a_folder(tmp_path):
    with pytest.raises(DrawingsError, match="not a folder"):
        read_digit_folder(tmp_path / "missing", PREPROCESSING_VERSION)


def test_damaged_zips_give_problems_or_a_clear_error_never_a_crash():
    data = bytearray(drawings_to_zip(some_drawings()[:2]))
    rng = np.random.default_rng(0)
    for _ in range(300):
        damaged = bytearray(data)
        for at in rng.integers(0, len(damaged), int(rng.integers(1, 8))):
            damaged[at] = int(rng.integers(0, 256))
        try:
            back, problems = drawings_from_zip(bytes(damaged), PREPROCESSING_VERSION)
        except LabError:
            continue
        assert len(back) + len(problems) >= 1
