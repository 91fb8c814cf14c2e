"""A person's own labelled drawings: kept, exported as a zip, read back from a zip or a folder.

People correct wrong answers on the Draw page ("it's a 7") and teach the network their
own handwriting (``model.jobs.finetune``). Each correction is a ``Drawing``: the original
picture (PNG), the 28x28 input the network saw, the true digit, which model answered
and when. Drawings travel as a zip in the layout Keras' ``image_dataset_from_directory``
reads (``0/*.png`` ... ``9/*.png``) plus a small ``drawings.json`` manifest, so the same
files also work outside this app; the command line reads the same layout from a folder.

A zip comes from a stranger, so it is read through the trust boundary (``utils.untrusted``:
its size and directory bounded, members stored or deflated only, each read through a
bounded stream within a per-member cap, all it unpacks charged to one budget). The rules
here are the layout's: at most ``MAX_MEMBERS`` files, a budget of decoded pixels checked
from each image's header before it is decoded; member paths must be ``<digit>/<file>``
(``..``, absolute paths and other folders are refused); nothing is ever written to disk.
One bad member is a problem reported by name; the other drawings still load.

No Streamlit and no TensorFlow here: the Draw page and the CLI both use it.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from utils.errors import ImageError, LabError
from utils.i18n import N_, Message, num
from utils.image_io import FORMATS, MAX_FILE_BYTES, decode_image, read_image_file
from utils.mnist import IMAGE_SIDE, N_CLASSES, N_PIXELS
from utils.preprocess import PREPROCESSING_VERSION, preprocess_digit, to_luminance
from utils.untrusted import UntrustedFileError, UntrustedZip, open_zip, read_file

MANIFEST = "drawings.json"
MANIFEST_FORMAT = "mnist-lab-drawings"
MAX_ZIP_BYTES = MAX_FILE_BYTES  # the upload cap: a zip of 1,000 canvas drawings is about 5 MB
MAX_DRAWINGS = 2000  # far more than anyone draws by hand; each one costs teaching time
MAX_MEMBERS = MAX_DRAWINGS + 64  # room for folder entries and the manifest
MAX_DIRECTORY_BYTES = MAX_MEMBERS * 256  # an entry with its name and extra fields: about 100 bytes
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
                Message(N_("a drawing's label must be a digit 0-9, not {label}"), label=f"{self.label!r:.40}")
            )
        if not 0 <= int(self.label) < N_CLASSES:
            raise DrawingsError(
                Message(N_("a drawing's label must be a digit 0-9, not {label}"), label=num(int(self.label)))
            )
        pixels = np.array(self.pixels, dtype=np.float32)  # a private copy, frozen below
        if pixels.size != N_PIXELS or not np.isfinite(pixels).all():
            raise DrawingsError(
                Message(
                    N_("a drawing's input must be {side}x{side} numbers, not shape {shape}"),
                    side=num(IMAGE_SIDE),
                    shape=pixels.shape,
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
            raise DrawingsError(Message(N_("a drawing has no ink left after preprocessing")))
        return digit


def drawing_from_image(
    image: np.ndarray, label: int, model: str = "", preprocessing: str = PREPROCESSING_VERSION, time: str | None = None
) -> Drawing:
    """A Drawing from a picture (a canvas array, a decoded upload); DrawingsError if nothing is drawn."""
    pixels = preprocess_digit(image, preprocessing)
    if pixels is None:
        raise DrawingsError(Message(N_("nothing is drawn, so there is nothing to learn from")))
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
            Message(
                N_("{count} drawings are more than the {limit} one file may hold"),
                count=num(len(drawings)),
                limit=num(MAX_DRAWINGS),
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


def drawings_from_zip(data: bytes, preprocessing: str, label: str = "zip") -> tuple[list[Drawing], list[Message]]:
    """The drawings in a zip made by ``drawings_to_zip`` (or any zip of ``0/`` ... ``9/`` image folders).

    Returns the drawings and one problem line per member that was skipped; raises a
    LabError naming ``label`` when the file as a whole cannot be used (not a zip, too
    large, too many members). The labels come from the folders; the manifest only adds
    model and time.
    """
    with open_zip(
        data,
        max_bytes=MAX_ZIP_BYTES,
        max_unpacked=MAX_TOTAL_BYTES,
        max_directory_bytes=MAX_DIRECTORY_BYTES,
        label=label,
    ) as archive:
        if len(archive.members()) > MAX_MEMBERS:
            raise DrawingsError(
                Message(
                    N_("{name} holds {count} files, more than the {limit} allowed ({drawings} drawings)"),
                    name=label,
                    count=num(len(archive.members())),
                    limit=num(MAX_MEMBERS),
                    drawings=num(MAX_DRAWINGS),
                )
            )
        problems: list[Message] = []
        named = _member_paths([info for info in archive.members() if not info.is_dir()], problems)
        manifest = _zip_manifest(archive, named, problems)
        pixels_left, drawings = MAX_TOTAL_PIXELS, []
        for path, info in named.items():
            if path == MANIFEST:
                continue
            if min(info.file_size, MAX_MEMBER_BYTES) >= archive.unpacked_left:  # unpacked, kept or not, is charged
                problems.append(_exhausted())
                break
            try:
                data = archive.read(info, MAX_MEMBER_BYTES)
                pixels_left -= _image_pixels(data, path)
            except LabError as error:  # the message names the member
                problems.append(Message(N_("{error}; skipped"), error=error))
                continue
            if pixels_left < 0:  # checked from the header, before decoding
                problems.append(_exhausted())
                break
            drawing = _zip_drawing(data, info, path, preprocessing, manifest, problems)
            if drawing is not None:
                drawings.append(drawing)
    return drawings, problems


def _exhausted() -> Message:
    return Message(
        N_("the zip's images add up to more than {size} MB or {megapixels} megapixels; the rest were skipped"),
        size=num(MAX_TOTAL_BYTES // 2**20),
        megapixels=num(MAX_TOTAL_PIXELS // 1_000_000),
    )


def _member_paths(members: list[zipfile.ZipInfo], problems: list[Message]) -> dict[str, zipfile.ZipInfo]:
    """Usable members by their path inside the layout (``3/0001.png``, ``drawings.json``).

    Zipping tools' own files are ignored; unsafe paths and files outside digit folders are
    problems. A single folder wrapping everything (zipping a folder makes one) is looked through.
    """
    safe = []
    for info in members:
        parts = _safe_parts(info.filename)
        if parts is None:
            problems.append(
                Message(
                    N_("{path}: unsafe path (absolute, '..' or odd characters); skipped"),
                    path=f"{info.filename!r:.120}",
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
            problems.append(
                Message(N_("{path}: not inside a digit folder 0/ to 9/; skipped"), path=info.filename[:120])
            )
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
    archive: UntrustedZip, named: dict[str, zipfile.ZipInfo], problems: list[Message]
) -> dict[str, dict[str, str]]:
    """Model and time per file from ``drawings.json``; an unusable manifest is only a problem."""
    info = named.get(MANIFEST)
    if info is None:
        return {}
    try:
        data = archive.read(info, MAX_MANIFEST_BYTES)
    except UntrustedFileError as error:
        problems.append(Message(N_("{file}: {error}; the drawings are read without it"), file=MANIFEST, error=error))
        return {}
    return _parse_manifest(data, problems)


def _parse_manifest(data: bytes, problems: list[Message]) -> dict[str, dict[str, str]]:
    try:
        record = json.loads(data)
        entries = record["drawings"]
        reason: Message | str | None = None if isinstance(entries, list) else Message(N_("'drawings' is not a list"))
    except (ValueError, TypeError, KeyError, RecursionError) as error:
        reason = f"{error!s:.80}"
    if reason is not None:
        problems.append(
            Message(N_("{file}: unreadable ({error}); the drawings are read without it"), file=MANIFEST, error=reason)
        )
        return {}
    known = {}
    for entry in entries[:MAX_MEMBERS]:
        if isinstance(entry, dict) and isinstance(entry.get("file"), str):
            known[entry["file"]] = {
                key: entry[key][:MAX_TEXT] for key in ("model", "time") if isinstance(entry.get(key), str)
            }
    return known


def _zip_drawing(
    data: bytes,
    info: zipfile.ZipInfo,
    path: str,
    preprocessing: str,
    manifest: dict[str, dict[str, str]],
    problems: list[Message],
) -> Drawing | None:
    """One member's bytes as a Drawing, or None with the reason added to ``problems``."""
    try:
        image = decode_image(data, path)
    except ImageError as error:  # its message starts with the path
        problems.append(Message(N_("{error}; skipped"), error=error))
        return None
    known = manifest.get(path, {})
    time = known.get("time") or _zip_time(info)
    png = data if data.startswith(_PNG_SIGNATURE) else png_bytes(image)
    return _make_drawing(path, png, image, int(path[0]), known.get("model", ""), time, preprocessing, problems)


def _image_pixels(data: bytes, path: str) -> int:
    """Width x height from the image's header (0 when there is none: decoding will say why)."""
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            width, height = image.size
    except Exception:  # anything Pillow cannot parse is left to decode_image to explain
        return 0
    if width * height > MAX_DRAWING_PIXELS:
        raise DrawingsError(
            Message(
                N_("{path}: {width}x{height} pixels is too large for a drawing"), path=path, width=width, height=height
            )
        )
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
    problems: list[Message],
) -> Drawing | None:
    """Preprocess and wrap; a blank picture or pixels that are not an image become a problem."""
    try:
        pixels = preprocess_digit(image, preprocessing)
    except ImageError as error:
        problems.append(Message(N_("{path}: {error}; skipped"), path=label_text, error=error))
        return None
    if pixels is None:
        problems.append(Message(N_("{path}: nothing drawn; skipped"), path=label_text))
        return None
    return Drawing(png, pixels, label, model, time, preprocessing)


# -- reading a folder -------------------------------------------------------------


def read_digit_folder(path: str | os.PathLike[str], preprocessing: str) -> tuple[list[Drawing], list[Message]]:
    """The drawings in ``path/0/*`` ... ``path/9/*`` (the same layout as the zip) and the problems met.

    Missing or empty digit folders are fine (teach only the digits you have); files that
    are not readable images are problems, and the rest still load. A ``drawings.json``
    beside the folders (an unpacked export) supplies model and time.
    """
    root = Path(path)
    if not root.is_dir():
        raise DrawingsError(
            Message(
                N_("{path}: not a folder; expected a folder with sub-folders 0 to 9 holding digit images"), path=root
            )
        )
    problems = [
        Message(N_("{path}: not a digit folder 0 to 9; ignored"), path=entry)
        for entry in sorted(root.iterdir())
        if entry.name not in _DIGITS and entry.name != MANIFEST and not entry.name.startswith(".")
    ]
    manifest = _folder_manifest(root / MANIFEST, problems)
    files = [file for digit in _DIGITS if (root / digit).is_dir() for file in _visible_files(root / digit)]
    if len(files) > MAX_DRAWINGS:
        raise DrawingsError(
            Message(
                N_("{path} holds {count} files, more than the {limit} drawings allowed"),
                path=root,
                count=num(len(files)),
                limit=num(MAX_DRAWINGS),
            )
        )
    drawings = []
    for file in files:
        drawing = _folder_drawing(root, file, preprocessing, manifest, problems)
        if drawing is not None:
            drawings.append(drawing)
    return drawings, problems


def _visible_files(folder: Path) -> list[Path]:
    return sorted(entry for entry in folder.iterdir() if not entry.name.startswith(".") and entry.name not in _JUNK)


def _folder_manifest(path: Path, problems: list[Message]) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    try:
        data = read_file(path, MAX_MANIFEST_BYTES)
    except UntrustedFileError as error:
        problems.append(Message(N_("{error}; ignored"), error=error))
        return {}
    return _parse_manifest(data, problems)


def _folder_drawing(
    root: Path, file: Path, preprocessing: str, manifest: dict[str, dict[str, str]], problems: list[Message]
) -> Drawing | None:
    try:
        image = read_image_file(file)
    except LabError as error:  # its message names the file
        problems.append(Message(N_("{error}; skipped"), error=error))
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
