"""Decoding images: every format and mode to the arrays preprocessing takes, and every hostile file to a message.

The attacks of issue 11 are reproduced here (a FIFO, /dev/zero, a directory, a file
over the upload cap, a float TIFF of NaNs); the 40-megapixel worst cases are timed by
``python -m bench.large_images`` instead, too slow for a unit test.
"""

from __future__ import annotations

import io
import os
import stat
import tomllib

import numpy as np
import pytest
from PIL import Image, ImageOps

from bench.large_images import photo_of_digit
from tests.helpers import PROJECT_ROOT, in_a_thread
from utils import image_io, untrusted
from utils.errors import ImageError, LabError
from utils.image_io import DECODE_LONG_SIDE, MAX_FILE_BYTES, MAX_UPLOAD_MB, decode_image, read_image_file
from utils.untrusted import UntrustedFileError


def _encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


# ---- formats and modes ------------------------------------------------------------------------------


def test_common_modes_decode_to_arrays():
    rgb = np.zeros((30, 40, 3), np.uint8)
    assert decode_image(_encode(Image.fromarray(rgb))).shape == (30, 40, 3)
    assert decode_image(_encode(Image.fromarray(rgb), "JPEG")).shape == (30, 40, 3)
    assert decode_image(_encode(Image.fromarray(rgb).convert("P"))).shape == (30, 40, 3)
    assert decode_image(_encode(Image.fromarray(rgb).convert("LA"))).shape == (30, 40, 4)
    sixteen = decode_image(_encode(Image.fromarray(np.full((8, 8), 60000, np.uint16))))
    assert sixteen.dtype == np.uint16 and sixteen.max() == 60000


def test_bilevel_images_decode_to_grayscale():
    bits = np.zeros((20, 30), bool)
    bits[5:10, 5:25] = True
    decoded = decode_image(_encode(Image.fromarray(bits)))
    assert decoded.dtype == np.uint8 and decoded.shape == (20, 30)
    assert set(np.unique(decoded)) == {0, 255} and (decoded[5:10, 5:25] == 255).all()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, I am a text file", "not a readable image"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "not a readable image"),  # Ghostscript's
    ],
)
def test_bad_bytes_give_clear_errors(data, message):
    with pytest.raises(ImageError, match=message):
        decode_image(data, "upload.png")


def test_formats_outside_the_list_are_not_opened():
    data = _encode(Image.new("RGB", (16, 16), "white"), "PCX")  # Pillow reads it, the app need not
    with pytest.raises(ImageError, match=r"upload\.pcx: not a readable image"):
        decode_image(data, "upload.pcx")


def test_truncated_png_is_reported_as_damaged():
    noise = np.random.default_rng(0).integers(0, 255, (200, 200), np.uint8)
    data = _encode(Image.fromarray(noise))
    with pytest.raises(ImageError, match=r"upload\.png"):
        decode_image(data[: len(data) // 2], "upload.png")


def test_huge_image_is_refused_before_decoding():
    data = _encode(Image.new("1", (10_000, 10_000)))
    with pytest.raises(ImageError, match="10000x10000 pixels is too large"):
        decode_image(data)


def test_webp_has_its_own_lower_pixel_limit(monkeypatch):
    """WebP is decoded through full-size RGBA canvases (~16 bytes a pixel), so fewer pixels are accepted."""
    monkeypatch.setattr(image_io, "MAX_WEBP_PIXELS", 1_000_000)  # the real one (20 MP) takes seconds to encode
    image = Image.new("RGB", (1001, 1000), "white")
    with pytest.raises(ImageError, match=r"big\.webp: 1001x1000 pixels is too large \(limit 1 megapixels for WebP\)"):
        decode_image(_encode(image, "WEBP", lossless=True), "big.webp")
    assert decode_image(_encode(image, "PNG"), long_side=None).shape == (1000, 1001, 3)


@pytest.mark.filterwarnings("ignore:Tag data larger than file")  # Pillow's TIFF reader says so, then goes on
def test_corrupted_files_give_an_image_error_or_an_image():
    """Random byte flips in every format: a message or an array, never another exception."""
    rng = np.random.default_rng(0)
    picture = Image.fromarray(rng.integers(0, 255, (40, 50, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6
    originals = [
        _encode(picture, "PNG"),
        _encode(picture, "JPEG", exif=exif),
        _encode(picture, "GIF"),
        _encode(picture, "BMP"),
        _encode(picture, "WEBP"),
        _encode(picture.convert("F"), "TIFF"),
    ]
    for data in originals:
        for _ in range(40):
            broken = bytearray(data)
            for position in rng.integers(0, len(broken), 4):
                broken[position] = rng.integers(0, 256)
            try:
                decoded = decode_image(bytes(broken), "fuzz")
            except ImageError:
                continue
            assert decoded.ndim in (2, 3)


# ---- files that are not images, or too large ---------------------------------------------------------


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(LabError, match=r"absent\.png"):
        read_image_file(tmp_path / "absent.png")


def test_directory_is_refused(tmp_path):
    with pytest.raises(UntrustedFileError, match=rf"{tmp_path.name}: this is a directory, not a regular file"):
        read_image_file(tmp_path)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_is_refused_without_reading():
    """`predict /dev/zero other.png` read /dev/zero until MemoryError and never got to other.png."""
    with pytest.raises(UntrustedFileError, match="/dev/zero: this is a character device, not a regular file"):
        read_image_file("/dev/zero")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "digit.png"
    os.mkfifo(fifo)
    outcome = in_a_thread(lambda: read_image_file(fifo))
    assert not outcome["blocked"]
    assert isinstance(outcome.get("error"), UntrustedFileError)
    assert "digit.png: this is a named pipe (FIFO), not a regular file" in str(outcome["error"])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_swapped_in_after_the_check_neither_blocks_nor_is_read(tmp_path, monkeypatch):
    """A path that was a regular file when checked and is a FIFO when opened: the descriptor is checked too."""
    fifo = tmp_path / "digit.png"
    os.mkfifo(fifo)
    regular = os.stat(PROJECT_ROOT / "README.md")
    real_stat = os.stat
    monkeypatch.setattr(
        untrusted.os, "stat", lambda path, *a, **k: regular if path == fifo else real_stat(path, *a, **k)
    )
    outcome = in_a_thread(lambda: read_image_file(fifo))
    assert not outcome["blocked"]
    assert "named pipe" in str(outcome.get("error"))


def test_file_over_the_cap_is_refused_before_reading(tmp_path, monkeypatch):
    big = tmp_path / "big.png"
    with open(big, "wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    monkeypatch.setattr(untrusted, "read_stream", lambda *a, **k: pytest.fail("read a file over the cap"))
    with pytest.raises(UntrustedFileError, match=r"big\.png: the file is larger than the 10\.5 MB limit \(10,485,760"):
        read_image_file(big)


def test_file_exactly_at_the_cap_is_read(tmp_path):
    edge = tmp_path / "edge.png"
    with open(edge, "wb") as file:
        file.truncate(MAX_FILE_BYTES)
    with pytest.raises(ImageError, match=r"edge\.png: not a readable image"):  # read, then found not an image
        read_image_file(edge)


def test_a_file_growing_while_read_is_cut_at_the_cap():
    assert untrusted.read_stream(io.BytesIO(b"x" * 10), 10, "f") == b"x" * 10
    with pytest.raises(UntrustedFileError, match=r"growing\.png: the file is larger than"):
        untrusted.read_stream(io.BytesIO(b"x" * 11), 10, "growing.png")


def test_bytes_over_the_cap_are_refused():
    with pytest.raises(ImageError, match=r"upload\.png: the file is larger than"):
        decode_image(bytes(MAX_FILE_BYTES + 1), "upload.png")


def test_cap_is_streamlits_upload_limit():
    """The CLI's cap and the page's (Streamlit's maxUploadSize, in MB of 2**20 bytes) are one number."""
    with open(PROJECT_ROOT / ".streamlit" / "config.toml", "rb") as file:
        config = tomllib.load(file)
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB
    assert MAX_UPLOAD_MB * 2**20 == MAX_FILE_BYTES


def test_regular_file_is_read(tmp_path):
    path = tmp_path / "seven.png"
    path.write_bytes(_encode(Image.new("L", (12, 10), 200)))
    assert read_image_file(path).shape == (10, 12)
    assert stat.S_ISREG(os.stat(path).st_mode)


# ---- float images -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float_tiff_with_non_numbers_is_refused(tmp_path, bad):
    pixels = np.full((40, 60), 0.5, np.float32)
    pixels[10, 20] = bad
    path = tmp_path / "nan.tiff"
    path.write_bytes(_encode(Image.fromarray(pixels, "F"), "TIFF"))
    with pytest.raises(ImageError, match=r"nan\.tiff: the image has pixels that are not numbers"):
        read_image_file(path)
    with pytest.raises(ImageError, match="not numbers"):  # also where it is reduced, band by band
        decode_image(path.read_bytes(), long_side=6)


def test_huge_finite_floats_stay_finite_when_reduced():
    """Pillow's reduce() sums floats in float32, where 3e38 + 3e38 is infinity; ours does not."""
    pixels = np.full((40, 60), 3e38, np.float32)
    decoded = decode_image(_encode(Image.fromarray(pixels, "F"), "TIFF"), long_side=10)
    assert decoded.dtype == np.float32 and decoded.shape == (7, 10)
    assert np.isfinite(decoded).all() and np.allclose(decoded, 3e38)


# ---- reduced decoding -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "channels", "dtype"),
    [("L", None, np.uint8), ("RGB", 3, np.uint8), ("RGBA", 4, np.uint8), ("LA", 4, np.uint8), ("P", 3, np.uint8),
     ("1", None, np.uint8), ("I;16", None, np.uint16), ("I", None, np.int32), ("F", None, np.float32)],
)  # fmt: skip
def test_large_images_are_reduced_keeping_the_output_contract(mode, channels, dtype):
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (400, 602, 3), np.uint8)).convert(mode if mode != "I;16" else "L")
    if mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65535, (400, 602), np.uint16))
    fmt = "TIFF" if mode in ("I", "F") else "PNG"
    decoded = decode_image(_encode(image, fmt), long_side=100)
    assert decoded.shape == ((67, 101) if channels is None else (67, 101, channels))  # 6x, the last box partial
    assert decoded.dtype == dtype and decoded.flags.c_contiguous
    full = decode_image(_encode(image, fmt), long_side=None)
    assert full.shape[:2] == (400, 602)


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA"])
def test_reducing_in_bands_equals_reducing_at_once(mode, monkeypatch):
    """Bands only bound the memory (RGBA: no full-size premultiplied copy); the pixels are Pillow's reduce()."""
    rng = np.random.default_rng(2)
    image = Image.fromarray(rng.integers(0, 255, (203, 301, 4), np.uint8), "RGBA").convert(mode)
    reduced = image.reduce(5)  # Pillow's, the whole image at once
    expected = np.asarray(reduced.convert("RGBA") if mode == "LA" else reduced)
    monkeypatch.setattr(image_io, "_BAND_PIXELS", 301 * 7)  # bands of 5 rows: 41 of them, the last one partial
    decoded = decode_image(_encode(image), long_side=60)
    assert decoded.shape == expected.shape and np.array_equal(decoded, expected)


def test_sixteen_bit_reduction_is_the_box_mean():
    pixels = np.random.default_rng(1).integers(0, 65535, (60, 90), np.uint16)
    decoded = decode_image(_encode(Image.fromarray(pixels)), long_side=30)
    expected = pixels.reshape(20, 3, 30, 3).astype(np.float64).mean(axis=(1, 3))
    assert decoded.dtype == np.uint16 and np.abs(decoded - expected).max() <= 0.5


def test_images_within_the_long_side_are_not_reduced():
    image = Image.new("RGB", (DECODE_LONG_SIDE, 700), "white")
    assert decode_image(_encode(image)).shape == (700, DECODE_LONG_SIDE, 3)
    assert decode_image(_encode(image, "JPEG")).shape == (700, DECODE_LONG_SIDE, 3)


def test_jpeg_is_scaled_inside_the_decoder():
    """DCT scaling: a 1600x1200 JPEG asked for a long side of 200 decodes at 1/8, never at full size."""
    gradient = np.tile(np.linspace(0, 255, 1600, dtype=np.float32), (1200, 1)).astype(np.uint8)
    data = _encode(Image.fromarray(gradient).convert("RGB"), "JPEG", quality=95)
    decoded = decode_image(data, long_side=200)
    assert decoded.shape == (150, 200, 3)
    full = decode_image(data, long_side=None).astype(np.float32)
    expected = full.reshape(150, 8, 200, 8, 3).mean(axis=(1, 3))
    assert np.abs(decoded - expected).max() < 4
    assert decode_image(data, long_side=201).shape == (300, 400, 3)  # 1/8 would be under 201: 1/4


def test_camera_mpo_jpegs_are_scaled_too():
    """Many cameras write MPO (JPEG frames with an index): Pillow names the format MPO, not JPEG."""
    first, second = Image.new("RGB", (2400, 1600), "white"), Image.new("RGB", (2400, 1600), "black")
    data = _encode(first, "MPO", save_all=True, append_images=[second])
    decoded = decode_image(data, long_side=500)
    assert decoded.shape == (400, 600, 3) and decoded.min() > 250  # 1/4 scale, the first frame


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_exif_orientation_is_applied_to_the_reduced_image(orientation, fmt):
    """Reduce-then-turn must equal turn-then-reduce, as Pillow's exif_transpose does it, for all eight."""
    pixels = np.full((160, 240), 255, np.uint8)
    pixels[:40, :80] = 0  # a dark block in the top-left corner of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _encode(Image.fromarray(pixels), fmt, exif=exif, **({"quality": 100} if fmt == "JPEG" else {}))
    with Image.open(io.BytesIO(data)) as opened:
        upright = ImageOps.exif_transpose(opened)
        expected = np.asarray(upright.reduce(4), np.float32)
        assert np.array_equal(decode_image(data, long_side=None), np.asarray(upright))
    decoded = decode_image(data, long_side=60)
    assert decoded.shape == expected.shape
    assert np.abs(decoded - expected).mean() < 3  # JPEG: DCT scaling against a box mean


def test_reduced_decode_classifies_like_the_full_decode():
    """A photo-like digit classifies the same from a reduced decode as from the full image.

    The 28x28 inputs are compared by their mean change, not by their largest pixel:
    centring and fitting to 20x20 round to whole pixels, so moving the paper by half a
    pixel at full size already changes single pixels by up to 0.99 (bench/large_images.py
    --equivalence, bench/RESULTS.md), while the probabilities barely move.
    """
    from model.net.inference import predict_probabilities
    from model.storage.dense_file import read_dense_network
    from model.storage.store import ModelStore
    from utils.preprocess import preprocess_digit

    network = read_dense_network(ModelStore().get("default").path)
    cases = [("7", 0.5, 0.08, "PNG"), ("4", 0.3, 0.05, "JPEG"), ("0", 0.15, 0.1, "PNG"), ("2", 0.7, 0.04, "JPEG")]
    for digit, size, stroke, fmt in cases:
        paper = photo_of_digit(1800, 1350, digit, size, stroke)
        data = _encode(Image.fromarray(paper), fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        full = preprocess_digit(decode_image(data, long_side=None))
        p_full = predict_probabilities(network, full)
        assert int(p_full.argmax()) == int(digit)
        for long_side in (DECODE_LONG_SIDE // 2, 300):  # 1800 px reduced by 3 and by 6 (JPEG: 1/2 and 1/4)
            reduced = preprocess_digit(decode_image(data, long_side=long_side))
            p_reduced = predict_probabilities(network, reduced)
            case = (digit, fmt, long_side)
            assert int(p_reduced.argmax()) == int(digit), case
            assert np.abs(p_reduced - p_full).max() < 0.02, case
            assert np.abs(reduced - full).mean() < 0.1, case
