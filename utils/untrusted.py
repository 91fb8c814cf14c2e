"""The one trust boundary: every byte that comes from outside is read here, bounded.

Data from outside is anything a stranger could have written: the whole models folder
(models, metadata, ``active.txt``, the arrays beside a model, the saved drawing sets),
uploads, zips, and the files the CLI is given. Reading it must never block, never take
more memory or time than the caller allows, and never be fooled by what a header claims.
So, here and only here:

- a path is opened without waiting (``O_NONBLOCK``: a named pipe would block forever,
  ``O_NOCTTY``: a terminal would become ours) and must be a regular file, checked on the
  path before opening and on the descriptor after (``/dev/zero``, FIFOs and folders are
  refused); it is read in one bounded read (``limit + 1`` bytes show a file over its cap,
  even one growing while read);
- a zip's directory is read only if it is small (zipfile builds an object per entry);
  members are read only when stored or deflated (zipfile cannot stop bzip2 or LZMA
  before they unpack a few KB into gigabytes), only if their declared size is within the
  caller's cap, and through a stream that may run one byte past it, so a header that lies
  is refused; all that a zip unpacks, members kept or refused, is charged to one budget;
- an ``.npz`` gives only the arrays the caller names, each with the dtype kind and number
  of dimensions it expects, its ``.npy`` header checked against its size; nothing is
  unpickled.

Callers pass the caps; every refusal is an ``UntrustedFileError`` whose message names the
file (or member) and says why. Each format keeps its own rules in its own module (model
archives: ``model.storage.dense_file``; drawings: ``utils.drawings``; images: ``utils.image_io``).
"""

from __future__ import annotations

import copy
import io
import math
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from utils.errors import LabError
from utils.i18n import N_, Message, num

COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # zipfile bounds these by read(n), not bzip2 or LZMA
MIN_DIRECTORY_BYTES = 2**17  # zipfile reads up to 64 KB from the end to find the directory
MAX_NPY_HEADER_BYTES = 10_000  # NumPy's own default
_KIND_NAMES = {"f": "float", "i": "int", "u": "uint", "b": "bool"}  # NumPy's dtype kinds, as dtypes are named
_NO_WAIT = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
_FILE_KINDS = {
    stat.S_ISDIR: N_("a directory"),
    stat.S_ISFIFO: N_("a named pipe (FIFO)"),
    stat.S_ISCHR: N_("a character device"),
    stat.S_ISBLK: N_("a block device"),
    stat.S_ISSOCK: N_("a socket"),
}
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, ValueError, EOFError, zlib.error)
Source = str | os.PathLike[str]


class UntrustedFileError(LabError):
    """Data from outside that is refused or cannot be read; the message names it and says why."""


class UnreadableFile(UntrustedFileError):
    """Not in the expected format at all (not a zip, a member missing): harmless, any reader notices at once."""


def byte_size(count: float) -> Message:
    """Bytes for people: 2.5 KB, 1.1 GB."""
    for unit, scale in ((N_("{value} GB"), 10**9), (N_("{value} MB"), 10**6), (N_("{value} KB"), 10**3)):
        if count >= scale:
            return Message(unit, value=num(count / scale, 1))
    return Message(N_("{value} bytes"), value=num(count))


# -- files -------------------------------------------------------------------------


def check_regular(path: Source, limit: int, label: str | None = None) -> os.stat_result:
    """The path's status if it is a regular file of at most ``limit`` bytes; nothing is opened."""
    label = label or os.fsdecode(path)
    try:
        status = os.stat(path)
    except OSError as error:
        raise _unreadable(label, error) from error
    _require_regular(status, limit, label)
    return status


@contextmanager
def open_regular(path: Source, limit: int, label: str | None = None) -> Iterator[BinaryIO]:
    """A regular file of at most ``limit`` bytes, opened without waiting; OSError while reading is refused too.

    The path is checked before it is opened (opening some devices has effects of its own)
    and the descriptor after, since that is what is read: a FIFO swapped in meanwhile
    neither blocks nor is read.
    """
    label = label or os.fsdecode(path)
    check_regular(path, limit, label)
    try:
        with os.fdopen(os.open(path, _NO_WAIT), "rb") as file:
            _require_regular(os.fstat(file.fileno()), limit, label)
            yield file
    except OSError as error:
        raise _unreadable(label, error) from error


def read_file(path: Source, limit: int, label: str | None = None) -> bytes:
    """All of a regular file of at most ``limit`` bytes, in one bounded read."""
    label = label or os.fsdecode(path)
    with open_regular(path, limit, label) as file:
        return read_stream(file, limit, label)


def read_stream(stream: BinaryIO, limit: int, label: str) -> bytes:
    """At most ``limit`` bytes of ``stream``; refused if there are more (a file still growing)."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise _too_large(label, limit)
    return data


def _require_regular(status: os.stat_result, limit: int, label: str) -> None:
    if not stat.S_ISREG(status.st_mode):
        kind = next((words for is_kind, words in _FILE_KINDS.items() if is_kind(status.st_mode)), N_("a special file"))
        raise UntrustedFileError(
            Message(
                N_("{name}: this is {kind}, not a regular file; reading it could block or never end"),
                name=label,
                kind=Message(kind),
            )
        )
    if status.st_size > limit:
        raise _too_large(label, limit)


def _too_large(label: str, limit: int) -> UntrustedFileError:
    return UntrustedFileError(
        Message(
            N_("{name}: the file is larger than the {size} limit ({limit} bytes)"),
            name=label,
            size=byte_size(limit),
            limit=num(limit),
        )
    )


def _unreadable(label: str, error: OSError) -> UntrustedFileError:
    return UntrustedFileError(
        Message(N_("{name}: cannot read the file ({reason})"), name=label, reason=error.strerror or str(error))
    )


# -- zips --------------------------------------------------------------------------


class UntrustedZip:
    """An open zip from outside: members read one by one within their caps and the zip's budget."""

    def __init__(self, archive: zipfile.ZipFile, label: str, unpacked_left: int) -> None:
        self.archive = archive
        self.label = label
        self.unpacked_left = unpacked_left  # what the zip may still unpack, members kept or refused

    def members(self) -> list[zipfile.ZipInfo]:
        return self.archive.infolist()

    def names(self) -> list[str]:
        return self.archive.namelist()

    def require_plain_members(self) -> None:
        """Refuse the whole zip if any member is compressed in a way a reader cannot stop (for other readers)."""
        for info in self.members():
            _require_plain(info)

    def read(self, member: str | zipfile.ZipInfo, cap: int) -> bytes:
        """The member's bytes, never more than ``cap`` unpacked; refused if its header lies about their size.

        zipfile stops at the size the header gives, but only after unpacking what it read:
        an unbounded ``read()`` of a member whose header says 3 KB unpacks all of its
        gigabyte. Here the stream may run one byte past the header, so a lie shows, as a
        longer read or a failed checksum.
        """
        info = member if isinstance(member, zipfile.ZipInfo) else self._info(member)
        name = info.filename
        _require_plain(info)
        if info.file_size > cap:
            raise UntrustedFileError(
                Message(
                    N_("{file} would unpack to {size}, more than the {limit} it may have"),
                    file=name,
                    size=byte_size(info.file_size),
                    limit=byte_size(cap),
                )
            )
        if info.file_size + 1 > self.unpacked_left:
            raise UntrustedFileError(
                Message(
                    N_("{file} would unpack to {size}, more than the {left} {name} may still unpack to"),
                    file=name,
                    size=byte_size(info.file_size),
                    left=byte_size(self.unpacked_left),
                    name=self.label,
                )
            )
        self.unpacked_left -= info.file_size + 1  # the most that is unpacked, whatever comes of it
        one_more = copy.copy(info)
        one_more.file_size = info.file_size + 1
        try:
            with self.archive.open(one_more) as stream:
                data = stream.read(info.file_size + 1)
        except zipfile.BadZipFile as error:  # a reader could only fail on it too, after unpacking it all
            raise UntrustedFileError(
                Message(
                    N_(
                        "{file} is damaged or forged: it fails its checksum or runs past the {count} bytes its "
                        "header gives ({reason})"
                    ),
                    file=name,
                    count=num(info.file_size),
                    reason=error,
                )
            ) from error
        except _ZIP_ERRORS as error:  # encrypted, damaged
            raise UntrustedFileError(
                Message(N_("{file} cannot be read from the zip ({reason})"), file=name, reason=f"{error!s:.120}")
            ) from error
        if len(data) != info.file_size:
            raise UntrustedFileError(
                Message(
                    N_("{file} unpacks to {count} bytes where its header says {expected}"),
                    file=name,
                    count=num(len(data)),
                    expected=num(info.file_size),
                )
            )
        return data

    def _info(self, name: str) -> zipfile.ZipInfo:
        try:
            return self.archive.getinfo(name)
        except KeyError as error:
            raise UnreadableFile(Message(N_("{name} holds no {file}"), name=self.label, file=name)) from error


@contextmanager
def open_zip(
    source: bytes | Source,
    *,
    max_bytes: int,
    max_unpacked: int,
    max_directory_bytes: int = MIN_DIRECTORY_BYTES,
    label: str | None = None,
) -> Iterator[UntrustedZip]:
    """A zip (bytes, or a path to a regular file) of at most ``max_bytes``, whose directory is at most
    ``max_directory_bytes`` and whose members may unpack to ``max_unpacked`` in all."""
    if isinstance(source, bytes):
        label = label or "zip"
        if len(source) > max_bytes:
            raise _too_large(label, max_bytes)
        opened: AbstractContextManager[BinaryIO] = nullcontext(io.BytesIO(source))
    else:
        label = label or os.fsdecode(source)
        opened = open_regular(source, max_bytes, label)
    with opened as stream:
        capped = _DirectoryCapped(stream, label, max(max_directory_bytes, MIN_DIRECTORY_BYTES))
        try:
            archive = zipfile.ZipFile(capped)
        except (*_ZIP_ERRORS, struct.error) as error:
            raise UnreadableFile(
                Message(N_("{name}: not a readable zip file ({reason})"), name=label, reason=f"{error!s:.120}")
            ) from error
        capped.read_limit = None
        with archive:
            yield UntrustedZip(archive, label, max_unpacked)


class _DirectoryCapped:
    """The zip's bytes; while zipfile parses the directory, no single read may exceed ``read_limit``.

    zipfile reads the whole central directory at once and builds an object per entry
    (about 10 bytes of memory per byte), so a limit here bounds that, whatever the end
    record claims.
    """

    def __init__(self, stream: BinaryIO, label: str, read_limit: int) -> None:
        self._stream = stream
        self._size = stream.seek(0, io.SEEK_END)
        stream.seek(0)
        self.label = label
        self.read_limit: int | None = read_limit

    def read(self, size: int = -1) -> bytes:
        if self.read_limit is not None:
            wanted = size if size >= 0 else self._size - self._stream.tell()
            if wanted > self.read_limit:
                raise UntrustedFileError(
                    Message(
                        N_("{name}: its zip directory is {size}, more than {limit}"),
                        name=self.label,
                        size=byte_size(wanted),
                        limit=byte_size(self.read_limit),
                    )
                )
        return self._stream.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def seekable(self) -> bool:
        return True


def _require_plain(info: zipfile.ZipInfo) -> None:
    if info.compress_type not in COMPRESSIONS:
        raise UntrustedFileError(
            Message(
                N_(
                    "{file} is compressed with method {method}; only stored or deflated members are read, "
                    "as other methods can unpack a few KB into gigabytes before a reader can stop them"
                ),
                file=info.filename,
                method=info.compress_type,
            )
        )


# -- NumPy arrays ------------------------------------------------------------------


@dataclass(frozen=True)
class ArraySpec:
    """What an array read from outside must be: its dtype kinds (``"f"``, ``"iu"``) and number of dimensions."""

    kinds: str
    ndim: int


def load_npz(
    path: Source, arrays: Mapping[str, ArraySpec], max_bytes: int, label: str | None = None
) -> dict[str, np.ndarray]:
    """The named arrays of an ``.npz`` file of at most ``max_bytes`` (packed and unpacked), each as specified.

    Each member's declared size is checked against what is left of ``max_bytes`` before
    it is unpacked; its ``.npy`` header (dtype, shape) against the spec and the member's
    size before an array is made. Object arrays (pickles) are never read.
    """
    label = label or os.fsdecode(path)
    with open_zip(path, max_bytes=max_bytes, max_unpacked=max_bytes, label=label) as archive:
        return {
            name: _npy(archive.read(f"{name}.npy", archive.unpacked_left - 1), f"{label}: {name}", spec)
            for name, spec in arrays.items()
        }


def _npy(data: bytes, label: str, spec: ArraySpec) -> np.ndarray:
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"format version {version}")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(stream, max_header_size=MAX_NPY_HEADER_BYTES)
    except (ValueError, TypeError, SyntaxError, EOFError) as error:
        raise UntrustedFileError(
            Message(N_("{name} is not a NumPy array ({reason})"), name=label, reason=f"{error!s:.120}")
        ) from error
    if dtype.hasobject or dtype.kind not in spec.kinds or len(shape) != spec.ndim:
        raise UntrustedFileError(
            Message(
                N_("{name} holds {dtype} numbers in {ndim} dimensions, not {kinds} numbers in {expected}"),
                name=label,
                dtype=str(dtype),
                ndim=len(shape),
                kinds="/".join(_KIND_NAMES.get(kind, kind) for kind in spec.kinds),
                expected=spec.ndim,
            )
        )
    expected = math.prod(shape) * dtype.itemsize
    if len(data) - stream.tell() != expected:
        raise UntrustedFileError(
            Message(
                N_("{name} declares {shape} {dtype} numbers ({size}) but holds {count} bytes of them"),
                name=label,
                shape=str(shape),
                dtype=str(dtype),
                size=byte_size(expected),
                count=num(len(data) - stream.tell()),
            )
        )
    array = np.frombuffer(data, dtype, offset=stream.tell(), count=math.prod(shape))
    return array.reshape(shape, order="F" if fortran else "C")
