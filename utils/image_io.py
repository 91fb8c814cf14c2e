"""Decode uploaded or on-disk images (PNG, JPG, GIF, ...) into arrays for preprocessing.

Everything here may come from a stranger, so each step is bounded before it is taken:
a file is read through the trust boundary (``utils.untrusted``: a regular file of at most
the upload cap, in one bounded read); Pillow reads the header first, so the
pixel count is checked before any pixel is decoded; only common image formats are
opened (Pillow's other plugins include Ghostscript for EPS); float images must hold
numbers.

Large images are decoded at reduced size: the preprocessing crops to the ink and
scales the digit to 20x20, so a long side of ``DECODE_LONG_SIDE`` keeps far more than
a digit needs, while a 40-megapixel photo at full size cost seconds and gigabytes in
the float conversions downstream (bench/RESULTS.md, "Large images"). JPEGs are scaled
inside the decoder (DCT scaling, ``Image.draft``); other formats are box-averaged by an
integer factor right after decoding, before anything turns them into floats. Photos
are turned upright by their EXIF orientation.
"""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError

from utils.errors import ImageError
from utils.i18n import N_, Message, num
from utils.untrusted import read_file

MAX_UPLOAD_MB = 10  # .streamlit/config.toml server.maxUploadSize (tested to agree)
MAX_FILE_BYTES = MAX_UPLOAD_MB * 2**20  # Streamlit's MB is 2**20 bytes; a file may be exactly this long
MAX_IMAGE_PIXELS = 40_000_000  # a 12 MP phone photo is fine; a 10,000 x 10,000 bomb is not
MAX_WEBP_PIXELS = 20_000_000  # Pillow decodes WebP through full-size RGBA canvases: ~16 bytes a pixel (bench)
DECODE_LONG_SIDE = 1000  # large images are decoded down to at least this long side (measured: bench)
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM")  # JPEG includes cameras' MPO
_HIGH_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_AVERAGEABLE_MODES = {"L", "LA", "La", "RGB", "RGBA", "RGBa", "CMYK", "YCbCr"}  # box-averaging means something
_BAND_PIXELS = 2**21  # images are reduced this many pixels at a time, to bound the copies


def decode_image(data: bytes, label: str = "image", *, long_side: int | None = DECODE_LONG_SIDE) -> np.ndarray:
    """Bytes of an image file to an (H, W) or (H, W, 3|4) array; ImageError says what is wrong.

    The array is uint8, uint16 (16-bit grayscale), int32 or float32 (32-bit images). An
    image whose long side exceeds ``long_side`` comes back reduced, never below it;
    ``long_side=None`` decodes at full size (for comparisons).
    """
    if not data:
        raise ImageError(Message(N_("{label}: the file is empty"), label=label))
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(label)
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            _check_pixel_count(image, label)
            image.seek(0)  # the first frame of an animation
            return _decode_frame(image, label, long_side)
    except ImageError:
        raise
    except Image.DecompressionBombError as error:
        raise ImageError(Message(N_("{label}: the image is too large ({error})"), label=label, error=error)) from error
    except UnidentifiedImageError as error:
        raise ImageError(
            Message(
                N_("{label}: not a readable image (not a PNG, JPEG, GIF, BMP, TIFF, WebP or PPM file)"), label=label
            )
        ) from error
    except (OSError, ValueError, SyntaxError, EOFError) as error:  # truncated or corrupt data
        raise ImageError(
            Message(N_("{label}: the image data is damaged ({error})"), label=label, error=error)
        ) from error


def read_image_file(path: str | os.PathLike[str], *, long_side: int | None = DECODE_LONG_SIDE) -> np.ndarray:
    """Read and decode an image file; ImageError (or UntrustedFileError, refused at the boundary) names it."""
    label = os.fsdecode(path)
    return decode_image(read_file(path, MAX_FILE_BYTES, label), label, long_side=long_side)


def _too_large(label: str) -> ImageError:
    return ImageError(
        Message(
            N_("{label}: the file is larger than the {size} MB limit ({bytes} bytes)"),
            label=label,
            size=num(MAX_UPLOAD_MB),
            bytes=num(MAX_FILE_BYTES),
        )
    )


def _check_pixel_count(image: Image.Image, label: str) -> None:
    """Refuse from the header what would cost too much to decode (WebP can't be decoded at reduced size)."""
    width, height = image.size
    webp = image.format == "WEBP"
    limit = MAX_WEBP_PIXELS if webp else MAX_IMAGE_PIXELS
    if width * height > limit:
        if webp:
            msgid = N_("{label}: {width}x{height} pixels is too large (limit {megapixels} megapixels for WebP)")
        else:
            msgid = N_("{label}: {width}x{height} pixels is too large (limit {megapixels} megapixels)")
        raise ImageError(Message(msgid, label=label, width=width, height=height, megapixels=num(limit // 1_000_000)))


def _decode_frame(image: Image.Image, label: str, long_side: int | None) -> np.ndarray:
    """The opened image's current frame, reduced and upright, as an array."""
    if long_side is not None and image.format in ("JPEG", "MPO"):
        _draft_jpeg(image, long_side)
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)  # before reducing: reduce() drops TIFF tags
    image.load()
    factor = max(1, max(image.size) // long_side) if long_side is not None else 1
    if image.mode in _HIGH_DEPTH_MODES:
        array = _high_depth_array(image, factor, label)
    elif image.mode in _AVERAGEABLE_MODES:  # reduce first: the conversions are then cheap
        array = np.asarray(_normalise_mode(_reduce(image, factor)))
    else:  # palettes and bilevel images must become colours before they can be averaged
        array = np.asarray(_reduce(_normalise_mode(image), factor))
    return np.ascontiguousarray(_upright(array, orientation))


def _draft_jpeg(image: Image.Image, long_side: int) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale, the smallest whose long side stays >= long_side.

    DCT scaling skips most of the decoding work and never holds the full-size image.
    """
    width, height = image.size
    if max(width, height) <= long_side:
        return
    scale = long_side / max(width, height)
    image.draft(None, (max(1, int(np.ceil(width * scale))), max(1, int(np.ceil(height * scale)))))


def _reduce(image: Image.Image, factor: int) -> Image.Image:
    """Box-average by ``factor`` (Pillow's reduce), a band of rows at a time.

    Pillow reduces RGBA and LA by first converting the whole image to premultiplied
    alpha: a second full-size copy (160 MB at 40 MP). Bands whose height is a multiple
    of ``factor`` give the same boxes, with copies of one band only.
    """
    if factor == 1:
        return image
    width, height = image.size
    reduced = Image.new(image.mode, (-(-width // factor), -(-height // factor)))
    for top, bottom in _bands(width, height, factor):
        reduced.paste(image.crop((0, top, width, bottom)).reduce(factor), (0, top // factor))
    return reduced


def _bands(width: int, height: int, factor: int) -> list[tuple[int, int]]:
    """Rows (top, bottom) in bands of about _BAND_PIXELS pixels, each a whole number of boxes tall."""
    rows = factor * max(1, _BAND_PIXELS // (width * factor))
    return [(top, min(top + rows, height)) for top in range(0, height, rows)]


def _normalise_mode(image: Image.Image) -> Image.Image:
    """L, RGB or RGBA: the modes the preprocessing reads (alpha kept where there is any)."""
    if image.mode in ("L", "RGB", "RGBA"):
        return image
    if image.mode == "1":
        return image.convert("L")
    has_alpha = image.mode in ("LA", "PA", "RGBa", "La") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _high_depth_array(image: Image.Image, factor: int, label: str) -> np.ndarray:
    """A 16/32-bit image as a native-order array, box-averaged by ``factor``, in bands.

    Pillow cannot reduce 16-bit images and sums float ones in float32 (huge values
    overflow to infinity), so the averaging is done here in float64, a band of rows at a
    time so no full-size float64 copy is ever made. Float pixels must be numbers: NaN or
    infinity would only fail later, with a less clear message.
    """
    width, height = image.size
    bands = []
    for top, bottom in _bands(width, height, factor):
        band = np.asarray(image.crop((0, top, width, bottom)))
        band = band.astype(band.dtype.newbyteorder("="), copy=False)
        if band.dtype.kind == "f" and not np.isfinite(band).all():
            raise ImageError(
                Message(N_("{label}: the image has pixels that are not numbers (NaN or infinity)"), label=label)
            )
        bands.append(_box_mean(band, factor))
    return np.concatenate(bands)


def _box_mean(band: np.ndarray, factor: int) -> np.ndarray:
    """Mean of each factor x factor box (the last row and column of boxes may be partial)."""
    if factor == 1:
        return band
    rows = np.arange(0, band.shape[0], factor)
    cols = np.arange(0, band.shape[1], factor)
    sums = np.add.reduceat(np.add.reduceat(band, rows, axis=0, dtype=np.float64), cols, axis=1)
    counts = np.outer(np.diff(rows, append=band.shape[0]), np.diff(cols, append=band.shape[1]))
    means = sums / counts
    if band.dtype.kind == "f":
        return means.astype(band.dtype)
    return np.rint(means).astype(band.dtype)


_ORIENTATIONS = {  # EXIF orientation -> how to turn the stored pixels upright (as ImageOps.exif_transpose)
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def _upright(array: np.ndarray, orientation: object) -> np.ndarray:
    """Apply an EXIF orientation to the decoded array (after reducing, where it is cheap)."""
    turn = _ORIENTATIONS.get(orientation) if isinstance(orientation, int) else None
    return array if turn is None else turn(array)
