"""A person's own labelled drawings: kept, exported as a zip, read back from a zip or a folder.

People correct wrong answers on the Draw page ("it's a 7") and teach the network their
own handwriting (``model.finetune``). Each correction is a ``Drawing``: the original
picture (PNG), the 28x28 input the network saw, the true digit, which model answered
and when. Drawings travel as a zip in the layout Keras' ``image_dataset_from_directory``
reads (``0/*.png`` ... ``9/*.png``) plus a small ``drawings.json`` manifest, so the same
files also work outside this app; the command line reads the same layout from a folder.

A zip comes from a stranger, so reading one is bounded at every step: the zip's size and
member count are checked before anything is decompressed; each member is read through a
bounded stream (the sizes in a zip's headers can lie); the decompressed bytes and the
decoded pixels of the whole zip have budgets; member paths must be ``<digit>/<file>``
(``..``, absolute paths and other folders are refused); nothing is ever written to disk.
One bad member is a problem reported by name; the other drawings still load.

No Streamlit and no TensorFlow here: the Draw page and the CLI both use it.
"""

from __future__ import annotations

import io
import json
import lzma
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from utils.errors import ImageError, LabError
from utils.i18n import _
from utils.image_io import FORMATS, MAX_FILE_BYTES, decode_image, read_image_file
from utils.mnist import IMAGE_SIDE, N_CLASSES, N_PIXELS
from utils.preprocess import PREPROCESSING_VERSION, preprocess_digit, to_luminance

MANIFEST = "drawings.json"
MANIFEST_FORMAT = "mnist-lab-drawings"
MAX_ZIP_BYTES = MAX_FILE_BYTES  # the upload cap: a zip of 1,000 canvas drawings is about 5 MB
MAX_DRAWINGS = 2000  # far more than anyone draws by hand; each one costs teaching time
MAX_MEMBERS = MAX_DRAWINGS + 64  # room for folder entries and the manifest
MAX_MEMBER_BYTES = 4 * 2**20  # one drawing, decompressed; a 280x280 canvas PNG is ~5 KB
MAX_TOTAL_BYTES = 64 * 2**20  # all members together, decompressed (the PNGs are kept)
MAX_DRAWING_PIXELS = 16_000_000  # per image, read from its header before decoding
MAX_TOTAL_PIXELS = 300_000_000  # all images together (2,000 canvases are 157 MP): bounds the decoding time
MAX_MANIFEST_BYTES = 1_000_000
MAX_TEXT = 200  # model names and times in a manifest
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_DIGITS = tuple(str(digit) for digit in range(N_CLASSES))
_JUNK = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")  # what zipping tools add on their own


class DrawingsError(LabError):
    """A drawings zip or folder that cannot be used at all; the message says why and what is expected."""


@dataclass(frozen=True, eq=False)
class Drawing:
    """One labelled drawing: the picture as drawn, the input the network saw, and its true digit.

    ``preprocessing`` names the version that made ``pixels``; a model fed through another
    version gets its input made afresh from ``png`` (``inputs_for``). Not comparable with
    ``==`` (it holds an array); compare fields.
    """

    png: bytes
    pixels: np.ndarray  # (28, 28) float32 in [0, 1], white ink on black
    label: int
    model: str = ""  # the model that answered when the drawing was made
    time: str = ""  # ISO 8601
    preprocessing: str = PREPROCESSING_VERSION

    def __post_init__(self) -> None:
        if isinstance(self.label, bool) or not isinstance(self.label, (int, np.integer)):
            raise DrawingsError(
                _("a drawing's label must be a digit 0-9, not {label}").format(label=f"{self.label!r:.40}")
            )
        if not 0 <= int(self.label) < N_CLASSES:
            raise DrawingsError(_("a drawing's label must be a digit 0-9, not {label}").format(label=self.label))
        pixels = np.array(self.pixels, dtype=np.float32)  # a private copy, frozen below
        if pixels.size != N_PIXELS or not np.isfinite(pixels).all():
            raise DrawingsError(
                _("a drawing's input must be {side}x{side} numbers, not shape {shape}").format(
                    side=IMAGE_SIDE, shape=pixels.shape
                )
            )
        pixels = pixels.reshape(IMAGE_SIDE, IMAGE_SIDE)
        pixels.flags.writeable = False
        object.__setattr__(self, "pixels", pixels)
        object.__setattr__(self, "label", int(self.label))

    def inputs_for(self, preprocessing: str) -> np.ndarray:
        """The 28x28 input for a model fed through ``preprocessing``: the stored one, or made again from the PNG."""
        if preprocessing == self.preprocessing:
            return self.pixels
        digit = preprocess_digit(decode_image(self.png, "drawing"), preprocessing)
        if digit is None:
            raise DrawingsError(_("a drawing has no ink left after preprocessing"))
        return digit


def drawing_from_image(
    image: np.ndarray, label: int, model: str = "", preprocessing: str = PREPROCESSING_VERSION, time: str | None = None
) -> Drawing:
    """A Drawing from a picture (a canvas array, a decoded upload); DrawingsError if nothing is drawn."""
    pixels = preprocess_digit(image, preprocessing)
    if pixels is None:
        raise DrawingsError(_("nothing is drawn, so there is nothing to learn from"))
    return Drawing(png_bytes(image), pixels, label, model, time or now_iso(), preprocessing)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def png_bytes(image: np.ndarray) -> bytes:
    """A decoded image as PNG bytes: 8-bit gray/RGB/RGBA as they are, anything else as 8-bit luminance."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        array = np.round(to_luminance(array) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array)).save(buffer, "PNG")
    return buffer.getvalue()


def labelled_inputs(drawings: Sequence[Drawing], preprocessing: str) -> tuple[np.ndarray, np.ndarray]:
    """(N, 784) float32 inputs for a model fed through ``preprocessing``, and (N,) int64 labels."""
    if not drawings:
        return np.zeros((0, N_PIXELS), np.float32), np.zeros(0, np.int64)
    rows = np.stack([drawing.inputs_for(preprocessing).reshape(N_PIXELS) for drawing in drawings])
    return rows.astype(np.float32), np.array([drawing.label for drawing in drawings], np.int64)


def count_by_digit(drawings: Iterable[Drawing]) -> list[int]:
    """How many drawings of each digit 0-9 (for "3 sevens, 1 four" on a page)."""
    counts = [0] * N_CLASSES
    for drawing in drawings:
        counts[drawing.label] += 1
    return counts


# -- writing --------------------------------------------------------------------


def drawings_to_zip(drawings: Sequence[Drawing]) -> bytes:
    """``0/*.png`` ... ``9/*.png`` (the original pictures) plus ``drawings.json`` (label, model, time per file)."""
    if len(drawings) > MAX_DRAWINGS:
        raise DrawingsError(
            _("{count} drawings are more than the {limit} one file may hold").format(
                count=f"{len(drawings):,}", limit=f"{MAX_DRAWINGS:,}"
            )
        )
    entries = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, drawing in enumerate(drawings, start=1):
            name = f"{drawing.label}/{index:04d}.png"
            archive.writestr(name, drawing.png)
            entries.append(
                {
                    "file": name,
                    "label": drawing.label,
                    "model": drawing.model,
                    "time": drawing.time,
                    "preprocessing": drawing.preprocessing,
                }
            )
        manifest = {"format": MANIFEST_FORMAT, "version": 1, "drawings": entries}
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
    return buffer.getvalue()


# -- reading a zip ----------------------------------------------------------------


@dataclass
class _Budget:
    """What a zip may still cost: decompressed bytes and decoded pixels, over all its members."""

    bytes_left: int
    pixels_left: int
    exhausted: list[str] = field(default_factory=list)


def drawings_from_zip(data: bytes, preprocessing: str) -> tuple[list[Drawing], list[str]]:
    """The drawings in a zip made by ``drawings_to_zip`` (or any zip of ``0/`` ... ``9/`` image folders).

    Returns the drawings and one problem line per member that was skipped; raises
    DrawingsError when the file as a whole cannot be used (not a zip, too large, too many
    members). The labels come from the folders; the manifest only adds model and time.
    """
    archive = _open_zip(data)
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        problems: list[str] = []
        named = _member_paths(members, problems)
        manifest = _zip_manifest(archive, named, problems)
        budget = _Budget(MAX_TOTAL_BYTES, MAX_TOTAL_PIXELS)
        drawings = []
        for path, info in named.items():
            if path == MANIFEST:
                continue
            drawing = _zip_drawing(archive, info, path, preprocessing, manifest, budget, problems)
            if drawing is not None:
                drawings.append(drawing)
        problems.extend(budget.exhausted[:1])
    return drawings, problems


def _open_zip(data: bytes) -> zipfile.ZipFile:
    if len(data) > MAX_ZIP_BYTES:
        raise DrawingsError(
            _("the zip is {size} MB, more than the {limit} MB limit; teach with fewer drawings at a time").format(
                size=f"{len(data) / 2**20:.1f}", limit=MAX_ZIP_BYTES // 2**20
            )
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, struct.error) as error:
        raise DrawingsError(
            _("not a readable zip file ({error}); export drawings from the Draw page").format(error=error)
        ) from error
    if len(archive.infolist()) > MAX_MEMBERS:
        count = len(archive.infolist())
        archive.close()
        raise DrawingsError(
            _("the zip holds {count} files, more than the {limit} allowed ({drawings} drawings)").format(
                count=f"{count:,}", limit=f"{MAX_MEMBERS:,}", drawings=f"{MAX_DRAWINGS:,}"
            )
        )
    return archive


def _member_paths(members: list[zipfile.ZipInfo], problems: list[str]) -> dict[str, zipfile.ZipInfo]:
    """Usable members by their path inside the layout (``3/0001.png``, ``drawings.json``).

    Zipping tools' own files are ignored; unsafe paths and files outside digit folders are
    problems. A single folder wrapping everything (zipping a folder makes one) is looked through.
    """
    safe = []
    for info in members:
        parts = _safe_parts(info.filename)
        if parts is None:
            problems.append(
                _("{path}: unsafe path (absolute, '..' or odd characters); skipped").format(
                    path=f"{info.filename!r:.120}"
                )
            )
        elif not any(part in _JUNK or part.startswith(".") for part in parts):
            safe.append((parts, info))
    tops = {parts[0] for parts, _info in safe}
    if len(tops) == 1 and all(len(parts) > 1 for parts, _info in safe) and next(iter(tops)) not in _DIGITS:
        safe = [(parts[1:], info) for parts, info in safe]
    named: dict[str, zipfile.ZipInfo] = {}
    for parts, info in safe:
        path = "/".join(parts)
        if path == MANIFEST or (len(parts) == 2 and parts[0] in _DIGITS):
            named.setdefault(path, info)  # a repeated name: the first copy counts
        else:
            problems.append(_("{path}: not inside a digit folder 0/ to 9/; skipped").format(path=info.filename[:120]))
    return named


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """The parts of a member path, or None when it is absolute, climbs out, or is not plain text."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or ":" in name:
        return None
    parts = PurePosixPath(name).parts
    if any(part in ("", ".", "..") for part in parts) or any(not part.isprintable() for part in parts):
        return None
    return parts


def _zip_manifest(
    archive: zipfile.ZipFile, named: dict[str, zipfile.ZipInfo], problems: list[str]
) -> dict[str, dict[str, str]]:
    """Model and time per file from ``drawings.json``; an unusable manifest is only a problem."""
    info = named.get(MANIFEST)
    if info is None:
        return {}
    try:
        data = _read_member(archive, info, MAX_MANIFEST_BYTES)
    except DrawingsError as error:
        problems.append(_("{file}: {error}; the drawings are read without it").format(file=MANIFEST, error=error))
        return {}
    return _parse_manifest(data, problems)


def _parse_manifest(data: bytes, problems: list[str]) -> dict[str, dict[str, str]]:
    try:
        record = json.loads(data)
        entries = record["drawings"]
        if not isinstance(entries, list):
            raise TypeError(_("'drawings' is not a list"))
    except (ValueError, TypeError, KeyError, RecursionError) as error:
        problems.append(
            _("{file}: unreadable ({error}); the drawings are read without it").format(
                file=MANIFEST, error=f"{error!s:.80}"
            )
        )
        return {}
    known = {}
    for entry in entries[:MAX_MEMBERS]:
        if isinstance(entry, dict) and isinstance(entry.get("file"), str):
            known[entry["file"]] = {
                key: entry[key][:MAX_TEXT] for key in ("model", "time") if isinstance(entry.get(key), str)
            }
    return known


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """At most ``limit`` decompressed bytes of a member, read through a bounded stream (headers can lie)."""
    try:
        with archive.open(info) as stream:
            data = stream.read(limit + 1)
    except (
        zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, ValueError, EOFError, zlib.error, lzma.LZMAError
    ) as error:  # fmt: skip
        raise DrawingsError(  # encrypted, damaged...
            _("cannot be read from the zip ({error})").format(error=f"{error!s:.120}")
        ) from error
    if len(data) > limit:
        raise DrawingsError(_("larger than {size} MB when unpacked").format(size=f"{limit / 2**20:.0f}"))
    return data


def _zip_drawing(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    path: str,
    preprocessing: str,
    manifest: dict[str, dict[str, str]],
    budget: _Budget,
    problems: list[str],
) -> Drawing | None:
    """One member as a Drawing, or None with the reason added to ``problems``."""
    if budget.exhausted:
        return None
    try:
        data = _read_member(archive, info, MAX_MEMBER_BYTES)
        budget.bytes_left -= len(data)
        pixels = _image_pixels(data)
        budget.pixels_left -= pixels
        if budget.bytes_left < 0 or budget.pixels_left < 0:
            budget.exhausted.append(
                _(
                    "the zip's images add up to more than {size} MB or {megapixels} megapixels; the rest were skipped"
                ).format(size=MAX_TOTAL_BYTES // 2**20, megapixels=MAX_TOTAL_PIXELS // 1_000_000)
            )
            return None
        image = decode_image(data, path)
    except DrawingsError as error:
        problems.append(_("{path}: {error}; skipped").format(path=path, error=error))
        return None
    except ImageError as error:  # its message starts with the path
        problems.append(_("{error}; skipped").format(error=error))
        return None
    known = manifest.get(path, {})
    time = known.get("time") or _zip_time(info)
    png = data if data.startswith(_PNG_SIGNATURE) else png_bytes(image)
    return _make_drawing(path, png, image, int(path[0]), known.get("model", ""), time, preprocessing, problems)


def _image_pixels(data: bytes) -> int:
    """Width x height from the image's header (0 when there is none: decoding will say why)."""
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            width, height = image.size
    except Exception:  # anything Pillow cannot parse is left to decode_image to explain
        return 0
    if width * height > MAX_DRAWING_PIXELS:
        raise DrawingsError(_("{width}x{height} pixels is too large for a drawing").format(width=width, height=height))
    return width * height


def _zip_time(info: zipfile.ZipInfo) -> str:
    """The member's date in the zip, or "" when it has none (zip's "no date" is 1980-01-01 00:00)."""
    if tuple(info.date_time) <= (1980, 1, 1, 0, 0, 0):
        return ""
    try:
        return datetime(*info.date_time).isoformat(timespec="seconds")
    except ValueError:
        return ""


def _make_drawing(
    label_text: str,
    png: bytes,
    image: np.ndarray,
    label: int,
    model: str,
    time: str,
    preprocessing: str,
    problems: list[str],
) -> Drawing | None:
    """Preprocess and wrap; a blank picture or pixels that are not an image become a problem."""
    try:
        pixels = preprocess_digit(image, preprocessing)
    except ImageError as error:
        problems.append(_("{path}: {error}; skipped").format(path=label_text, error=error))
        return None
    if pixels is None:
        problems.append(_("{path}: nothing drawn; skipped").format(path=label_text))
        return None
    return Drawing(png, pixels, label, model, time, preprocessing)


# -- reading a folder -------------------------------------------------------------


def read_digit_folder(path: str | os.PathLike[str], preprocessing: str) -> tuple[list[Drawing], list[str]]:
    """The drawings in ``path/0/*`` ... ``path/9/*`` (the same layout as the zip) and the problems met.

    Missing or empty digit folders are fine (teach only the digits you have); files that
    are not readable images are problems, and the rest still load. A ``drawings.json``
    beside the folders (an unpacked export) supplies model and time.
    """
    root = Path(path)
    if not root.is_dir():
        raise DrawingsError(f"{root}: not a folder; expected a folder with sub-folders 0 to 9 holding digit images")
    problems = [
        f"{entry}: not a digit folder 0 to 9; ignored"
        for entry in sorted(root.iterdir())
        if entry.name not in _DIGITS and entry.name != MANIFEST and not entry.name.startswith(".")
    ]
    manifest = _folder_manifest(root / MANIFEST, problems)
    files = [file for digit in _DIGITS if (root / digit).is_dir() for file in _visible_files(root / digit)]
    if len(files) > MAX_DRAWINGS:
        raise DrawingsError(f"{root} holds {len(files):,} files, more than the {MAX_DRAWINGS:,} drawings allowed")
    drawings = []
    for file in files:
        drawing = _folder_drawing(root, file, preprocessing, manifest, problems)
        if drawing is not None:
            drawings.append(drawing)
    return drawings, problems


def _visible_files(folder: Path) -> list[Path]:
    return sorted(entry for entry in folder.iterdir() if not entry.name.startswith(".") and entry.name not in _JUNK)


def _folder_manifest(path: Path, problems: list[str]) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_MANIFEST_BYTES + 1)
    except OSError as error:
        problems.append(f"{path}: unreadable ({error.strerror or error}); ignored")
        return {}
    if len(data) > MAX_MANIFEST_BYTES:
        problems.append(f"{path}: larger than {MAX_MANIFEST_BYTES // 1000} KB; ignored")
        return {}
    return _parse_manifest(data, problems)


def _folder_drawing(
    root: Path, file: Path, preprocessing: str, manifest: dict[str, dict[str, str]], problems: list[str]
) -> Drawing | None:
    try:
        image = read_image_file(file)
    except ImageError as error:  # its message names the file
        problems.append(f"{error}; skipped")
        return None
    relative = f"{file.parent.name}/{file.name}"
    known = manifest.get(relative, {})
    time = known.get("time") or _file_time(file)
    return _make_drawing(
        str(file), png_bytes(image), image, int(file.parent.name), known.get("model", ""), time, preprocessing, problems
    )


def _file_time(file: Path) -> str:
    try:
        return datetime.fromtimestamp(file.stat().st_mtime, UTC).isoformat(timespec="seconds")
    except (OSError, ValueError, OverflowError):
        return ""
