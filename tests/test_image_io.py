from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from utils.image_io import decode_image, read_image_file
from utils.preprocess import ImageError


def _png(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def test_common_modes_decode_to_arrays():
    rgb = np.zeros((30, 40, 3), np.uint8)
    assert decode_image(_png(Image.fromarray(rgb))).shape == (30, 40, 3)
    assert decode_image(_png(Image.fromarray(rgb), "JPEG")).shape == (30, 40, 3)
    assert decode_image(_png(Image.fromarray(rgb).convert("P"))).shape == (30, 40, 3)
    assert decode_image(_png(Image.fromarray(rgb).convert("LA"))).shape == (30, 40, 4)
    sixteen = decode_image(_png(Image.fromarray(np.full((8, 8), 60000, np.uint16))))
    assert sixteen.dtype == np.uint16 and sixteen.max() == 60000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, I am a text file", "not a readable image"),
    ],
)
def test_bad_bytes_give_clear_errors(data, message):
    with pytest.raises(ImageError, match=message):
        decode_image(data, "upload.png")


def test_truncated_png_is_reported_as_damaged():
    noise = np.random.default_rng(0).integers(0, 255, (200, 200), np.uint8)
    data = _png(Image.fromarray(noise))
    with pytest.raises(ImageError, match=r"upload\.png"):
        decode_image(data[: len(data) // 2], "upload.png")


def test_huge_image_is_refused_before_decoding():
    data = _png(Image.new("1", (10_000, 10_000)))
    with pytest.raises(ImageError, match="10000x10000 pixels is too large"):
        decode_image(data)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(ImageError, match=r"absent\.png"):
        read_image_file(tmp_path / "absent.png")
