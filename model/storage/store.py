"""Saved models: a ``.keras`` file plus a JSON metadata file per model, in one folder.

A model is listed only once its metadata file exists, and both files are written to a
temporary name and renamed into place, so a crash mid-save never leaves a half-written
model in the list. Reading the list needs no TensorFlow; loading does.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import logging
import os
import re
import stat
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from model.net.config import TrainingConfig
from model.storage.metadata import MetadataError, ModelMetadata, read_metadata
from utils.errors import LabError, ModelStorageError
from utils.i18n import N_, Message, num
from utils.mnist import N_CLASSES, N_PIXELS
from utils.settings import read_settings
from utils.untrusted import ArraySpec, UntrustedFileError, load_npz, read_file

if TYPE_CHECKING:
    import keras

    from model.storage.dense_file import DenseNetwork

_LOGGER = logging.getLogger(__name__)

PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
DEFAULT_MODEL_NAME = "default"
MAX_NAME_LENGTH = 64
_ACTIVE_FILE = "active.txt"
DRAWINGS_FOLDER = "drawings"  # sets of people's drawings, kept for teaching
LEFTOVER_AGE_S = 3600.0  # a temporary file this old belongs to a save that was killed
MAX_EXTRAS_BYTES = 20_000_000  # packed and unpacked: a 100-epoch projection of 1,000 digits is about 0.8 MB
EXTRAS = {"projection": ArraySpec("f", 3), "projection_labels": ArraySpec("iu", 1)}  # what may be saved beside
MAX_REASON_CHARS = 600  # Keras' load errors put the reason after a first line of context
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


class ModelNotFoundError(ModelStorageError, LookupError):
    pass


class ModelExistsError(ModelStorageError):
    pass


class ModelLoadError(ModelStorageError):
    """A file that is corrupt, not a Keras model, unsafe, or not an MNIST network."""


@dataclass(frozen=True)
class ModelInfo:
    """One listed model: where it is, what its metadata says, and why it cannot be used (if known)."""

    name: str
    path: Path
    metadata: ModelMetadata
    builtin: bool = False
    problem: Message | None = None  # known without loading the weights: damaged metadata or archive

    @property
    def usable(self) -> bool:
        return self.problem is None


def safe_name(raw: str) -> str:
    """A file-system-safe model name: letters, digits, '.', '_', '+' and '-' only, never a path.

    '../../etc/passwd' becomes 'etc-passwd'; a name with nothing usable raises ModelStorageError.
    """
    name = _UNSAFE.sub("-", str(raw).replace("\x00", "")).strip(".-_")
    name = re.sub(r"\.{2,}", ".", name)[:MAX_NAME_LENGTH].strip(".-_")
    if not name:
        raise ModelStorageError(
            Message(
                N_("model name {name} has no usable characters (use letters, digits, '.', '_', '+', '-')"),
                name=repr(raw),
            )
        )
    return name


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ModelStore:
    """The user's saved models in ``root`` plus the pretrained default shipped with the code."""

    def __init__(
        self, root: str | os.PathLike | None = None, pretrained_dir: str | os.PathLike = PRETRAINED_DIR
    ) -> None:
        self.root = Path(root) if root is not None else read_settings().models_dir
        self.pretrained_dir = Path(pretrained_dir)

    @property
    def _root_is_pretrained(self) -> bool:
        return self.root.resolve() == self.pretrained_dir.resolve()

    # -- reading -----------------------------------------------------------------

    def list(self) -> list[ModelInfo]:
        """User models newest first, then the pretrained default."""
        user = [] if self._root_is_pretrained else self._scan(self.root, builtin=False)
        user = [info for info in user if info.name != DEFAULT_MODEL_NAME]
        user.sort(key=lambda info: info.metadata.created_at, reverse=True)
        builtin = [info for info in self._scan(self.pretrained_dir, builtin=True) if info.name == DEFAULT_MODEL_NAME]
        return user + builtin

    def _scan(self, folder: Path, builtin: bool) -> builtins.list[ModelInfo]:
        if not folder.is_dir():
            return []
        found = []
        for meta_path in sorted(folder.glob("*.json")):
            name = meta_path.stem
            model_path = folder / f"{name}.keras"
            if name.startswith(".") or not model_path.is_file():
                continue
            found.append(_info(name, model_path, builtin))
        return found

    def get(self, name: str) -> ModelInfo:
        for info in self.list():
            if info.name == name:
                return info
        raise ModelNotFoundError(
            Message(
                N_("no saved model named {name}; known: {known}"),
                name=repr(name),
                known=[i.name for i in self.list()] or Message(N_("none")),
            )
        )

    def latest(self) -> ModelInfo:
        """The most recently trained usable model, else the pretrained default; never a damaged one."""
        usable = [info for info in self.list() if info.usable]
        if not usable:
            raise ModelNotFoundError(
                Message(
                    N_("no usable model in {folder} and no pretrained default in {pretrained}"),
                    folder=self.root,
                    pretrained=self.pretrained_dir,
                )
            )
        return usable[0]

    def active(self) -> ModelInfo:
        """The model chosen with ``set_active`` if it is still usable, else the latest usable one."""
        try:
            chosen = self.get(self._active_name())
        except ModelNotFoundError:
            return self.latest()
        return chosen if chosen.usable else self.latest()

    def _active_name(self) -> str:
        path = self.root / _ACTIVE_FILE
        try:
            return read_file(path, 4 * MAX_NAME_LENGTH).decode("utf-8", "replace").strip()
        except UntrustedFileError:  # none chosen, or not a name (a pipe would block): the latest model answers
            return ""

    # -- writing -----------------------------------------------------------------

    def check_new_name(self, name: str) -> str:
        """The safe form of ``name`` if a model may be saved under it; raises before any work is done."""
        name = safe_name(name)
        if name == DEFAULT_MODEL_NAME and not self._root_is_pretrained:
            raise ModelExistsError(
                Message(
                    N_("{name} is reserved for the pretrained model; choose another name"),
                    name=repr(DEFAULT_MODEL_NAME),
                )
            )
        if (self.root / f"{name}.json").exists() or (self.root / f"{name}.keras").exists():
            raise ModelExistsError(
                Message(
                    N_("a model named {name} already exists; choose another name or delete it first"), name=repr(name)
                )
            )
        return name

    def check_writable(self) -> None:
        """Raise ModelStorageError now if models cannot be saved, rather than after a training."""
        probe = self.root / f".write-check.{uuid.uuid4().hex}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise ModelStorageError(
                Message(N_("models cannot be saved in {folder}: {reason}"), folder=self.root, reason=_reason(error))
            ) from error

    def save(
        self,
        network: keras.Model,
        name: str,
        metadata: ModelMetadata,
        extras: Mapping[str, np.ndarray] | None = None,
        *,
        as_default: bool = True,
    ) -> ModelInfo:
        """Write model then metadata atomically; the new model becomes the server default unless ``as_default``
        is False (what the app saves: each session chooses its own model, ``ui.workspace``).

        A failed save (read-only or full disk) leaves the folder as it was and raises
        ModelStorageError with the reason.
        """
        name = self.check_new_name(name)
        if not as_default:
            self._keep_default()
        model_path, meta_path, extras_path = (self.root / f"{name}{suffix}" for suffix in (".keras", ".json", ".npz"))
        metadata = metadata.with_(name=name, created_at=metadata.created_at or utc_now())
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.remove_leftovers()
            _atomic_write(model_path, network.save)
            try:
                if extras:
                    _atomic_write(extras_path, lambda tmp: np.savez_compressed(tmp, allow_pickle=False, **extras))
                _atomic_write(meta_path, lambda tmp: Path(tmp).write_text(metadata.to_json(), "utf-8"))
            except BaseException:
                model_path.unlink(missing_ok=True)  # no model without its metadata, no name left taken
                extras_path.unlink(missing_ok=True)
                raise
        except OSError as error:
            raise ModelStorageError(
                Message(
                    N_("could not save model {name} in {folder}: {reason}; the models saved before are untouched"),
                    name=repr(name),
                    folder=self.root,
                    reason=_reason(error),
                )
            ) from error
        if as_default:
            self.set_active(name)
        return ModelInfo(name, model_path, metadata, self._root_is_pretrained)

    def remove_leftovers(self, folder: Path | None = None, older_than_s: float = LEFTOVER_AGE_S) -> builtins.list[Path]:
        """Delete temporary files of saves that were killed midway (never those of a save in progress)."""
        now, removed = time.time(), []
        for path in (folder or self.root).glob(".*.tmp*"):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > older_than_s:
                    path.unlink()
                    removed.append(path)
        return removed

    def name_for(self, config: TrainingConfig, requested: str | None) -> str:
        """The name a new model will be saved under, checked before any work: the one asked for,
        or a free one that says what the model is and when it was made ('2x512-relu-1127-1530')."""
        if requested and requested.strip():
            return self.check_new_name(requested)
        return self.unique_name(f"{config.short_name}-{datetime.now():%m%d-%H%M}")

    def unique_name(self, base: str) -> str:
        """``base``, or ``base-2``, ``base-3``... whichever may be saved, shortened so the number fits the limit."""
        base, counter = safe_name(base), 1
        while True:
            suffix = f"-{counter}" if counter > 1 else ""
            with contextlib.suppress(ModelExistsError):
                return self.check_new_name(base[: MAX_NAME_LENGTH - len(suffix)] + suffix)
            counter += 1

    def set_active(self, name: str) -> None:
        """Make ``name`` the model that answers; ModelStorageError says why not (damaged, read-only...)."""
        info = self.get(name)
        if not info.usable:
            raise ModelStorageError(
                Message(N_("{name} cannot be made active: {problem}"), name=repr(name), problem=info.problem)
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            _atomic_write(self.root / _ACTIVE_FILE, lambda tmp: Path(tmp).write_text(name, encoding="utf-8"))
        except OSError as error:
            raise ModelStorageError(
                Message(
                    N_("could not make {name} active in {folder}: {reason}"),
                    name=repr(name),
                    folder=self.root,
                    reason=_reason(error),
                )
            ) from error

    def _keep_default(self) -> None:
        """Name the current default in ``active.txt`` if nothing usable is named there, so that a model saved
        now does not become the default by being the latest."""
        try:
            current = self.active()
        except ModelNotFoundError:
            return
        if current.name != self._active_name():
            self.set_active(current.name)

    def delete(self, name: str) -> None:
        """Remove a user model (metadata first, so it leaves the list before its file goes)."""
        info = self.get(name)
        if info.builtin:
            raise ModelStorageError(
                Message(N_("{name} is the pretrained default and cannot be deleted"), name=repr(name))
            )
        try:
            info.path.with_suffix(".json").unlink(missing_ok=True)
            info.path.unlink(missing_ok=True)
            info.path.with_suffix(".npz").unlink(missing_ok=True)
        except OSError as error:
            raise ModelStorageError(
                Message(
                    N_("could not delete {name} from {folder}: {reason}"),
                    name=repr(name),
                    folder=self.root,
                    reason=_reason(error),
                )
            ) from error

    # -- drawings kept for teaching -------------------------------------------------

    @property
    def drawings_dir(self) -> Path:
        return self.root / DRAWINGS_FOLDER

    def drawing_sets(self) -> builtins.list[str]:
        """Names of the saved sets of someone's drawings that can be loaded, newest first.

        Only regular files named as ``safe_name`` leaves them: not a save in progress (hidden),
        a dangling link, a pipe, or a hand-copied ``my set.zip`` that no name leads to.
        """
        found = []
        for path in self.drawings_dir.glob("*.zip"):
            with contextlib.suppress(OSError, ModelStorageError):  # gone meanwhile, a dangling link, no usable name
                status = path.stat()
                if stat.S_ISREG(status.st_mode) and safe_name(path.stem) == path.stem:
                    found.append((status.st_mtime, path.stem))
        return [name for _time, name in sorted(found, reverse=True)]

    def save_drawing_set(self, name: str, data: bytes) -> str:
        """Keep a zip of drawings (``utils.drawings.drawings_to_zip``) under a new ``name``; never replaces a set."""
        name = safe_name(name)
        try:
            self.drawings_dir.mkdir(parents=True, exist_ok=True)
            self.remove_leftovers(self.drawings_dir)
            _atomic_write(self.drawings_dir / f"{name}.zip", lambda tmp: Path(tmp).write_bytes(data), replace=False)
        except FileExistsError as error:
            raise ModelExistsError(
                Message(N_("a set of drawings named {name} already exists; choose another name"), name=repr(name))
            ) from error
        except OSError as error:
            raise ModelStorageError(
                Message(
                    N_("could not save the drawings in {folder}: {reason}"),
                    folder=self.drawings_dir,
                    reason=_reason(error),
                )
            ) from error
        return name

    def drawing_set(self, name: str, max_bytes: int) -> bytes:
        path = self.drawings_dir / f"{safe_name(name)}.zip"
        try:
            return read_file(path, max_bytes, path.name)
        except UntrustedFileError as error:
            raise ModelStorageError(
                Message(N_("the saved drawings {name} cannot be loaded: {reason}"), name=repr(name), reason=error)
            ) from error

    # -- loading -----------------------------------------------------------------

    def extras(self, info: ModelInfo) -> dict[str, np.ndarray]:
        """The per-epoch projection saved beside a model ({} when there is none); ModelStorageError says why
        it cannot be used. The model itself is fine either way."""
        path = info.path.with_suffix(".npz")
        if not os.path.lexists(path):
            return {}
        try:
            arrays = load_npz(path, EXTRAS, MAX_EXTRAS_BYTES, path.name)
            _check_projection(arrays["projection"], arrays["projection_labels"])
        except LabError as error:
            raise ModelStorageError(
                Message(N_("the projection saved with {name} cannot be shown: {reason}"), name=info.name, reason=error)
            ) from error
        return arrays

    def resolve(self, name_or_path: str | None) -> ModelInfo:
        """The model a user means: None is the active model; a saved model's name is that model;
        anything else is a path to a ``.keras`` file (with the ``.json`` beside it, if any).

        Names win: ``--model a.keras`` is the saved model called ``a.keras`` if there is one,
        and the file ``a.keras`` otherwise; write ``./a.keras`` to mean the file.
        """
        if name_or_path is None:
            return self.active()
        if not any(sep in name_or_path for sep in ("/", os.sep)):
            with contextlib.suppress(ModelNotFoundError):
                return self.get(name_or_path)
        candidate = Path(name_or_path)
        if candidate.suffix != ".keras":
            return self.get(name_or_path)  # not a name, not a .keras path: the error lists the names
        if not candidate.is_file():
            raise ModelNotFoundError(
                Message(
                    N_("no saved model named {name} and no model file at {path}"),
                    name=repr(name_or_path),
                    path=candidate,
                )
            )
        return _info(candidate.stem, candidate, builtin=False)

    def load(self, name_or_path: str | None = None) -> keras.Model:
        info = self.resolve(name_or_path)
        return load_network(info.path, label=info.name)


def load_for_inference(path: str | os.PathLike, label: str | None = None) -> DenseNetwork | keras.Model:
    """The network for predictions: plain Dense stacks (every model this app trains) as NumPy arrays,
    with no TensorFlow import; anything else through Keras' safe mode and its checks.
    """
    from model.storage.dense_file import NotPlainDense

    label = label or Path(path).stem
    try:
        return _checked_read(path, label)
    except NotPlainDense as reason:
        _LOGGER.info("%s: read through Keras (%s)", path, reason)
        return _keras_load(path, label)


def load_network(path: str | os.PathLike, label: str | None = None) -> keras.Model:
    """A ``.keras`` file as a Keras model (to train or fine-tune), after the NumPy reader's hostile-file checks."""
    from model.storage.dense_file import NotPlainDense

    label = label or Path(path).stem
    with contextlib.suppress(NotPlainDense):  # another kind of network: Keras' safe mode decides
        _checked_read(path, label)
    return _keras_load(path, label)


def _checked_read(path: str | os.PathLike, label: str) -> DenseNetwork:
    """A file the NumPy reader finds hostile (weights stored outside it, a shape bomb, a zip bomb)
    is refused outright, never handed to Keras to try."""
    from model.storage.dense_file import UnsafeModelFile, read_dense_network

    try:
        return read_dense_network(path)
    except UnsafeModelFile as error:
        raise ModelLoadError(
            Message(N_("model {name} ({path}) is refused: {reason}"), name=repr(label), path=path, reason=error)
        ) from error


def _keras_load(path: str | os.PathLike, label: str) -> keras.Model:
    """Load a ``.keras`` file in Keras' safe mode and check it is a 784-in, 10-out network."""
    import keras

    try:
        network = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for corrupt, foreign or unsafe files
        reason = " ".join(str(error).split())[:MAX_REASON_CHARS] or type(error).__name__
        raise ModelLoadError(
            Message(N_("cannot load model {name} from {path}: {reason}"), name=repr(label), path=path, reason=reason)
        ) from error
    input_shape, output_shape = tuple(network.input_shape), tuple(network.output_shape)
    if input_shape[1:] != (N_PIXELS,) or output_shape[1:] != (N_CLASSES,):
        raise ModelLoadError(
            Message(
                N_(
                    "model {name} ({path}) takes {inputs} and gives {outputs}; "
                    "an MNIST network takes {mnist_inputs} and gives {mnist_outputs}"
                ),
                name=repr(label),
                path=path,
                inputs=input_shape[1:],
                outputs=output_shape[1:],
                mnist_inputs=(N_PIXELS,),
                mnist_outputs=(N_CLASSES,),
            )
        )
    return network


def _reason(error: OSError) -> Message | str:
    """An OSError for people: 'the disk is full', 'the folder is read-only', or its own words."""
    if error.errno == errno.ENOSPC:
        return Message(N_("the disk is full"))
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return Message(N_("the folder is read-only"))
    return error.strerror or str(error)


def _check_projection(projection: np.ndarray, labels: np.ndarray) -> None:
    """(snapshots, digits, 2) finite points for at least one snapshot, and a digit label for each point."""
    snapshots, digits, sides = projection.shape
    if snapshots < 1 or digits < 1 or sides != 2:
        raise ModelStorageError(
            Message(N_("its points have shape {shape}, not (epochs + 1, digits, 2)"), shape=str(projection.shape))
        )
    if labels.shape != (digits,):
        raise ModelStorageError(
            Message(N_("it has {labels} labels for {digits} digits"), labels=num(len(labels)), digits=num(digits))
        )
    if not np.isfinite(projection).all() or labels.min() < 0 or labels.max() >= N_CLASSES:
        raise ModelStorageError(Message(N_("it holds points that are not numbers or labels that are not digits 0-9")))


def _info(name: str, model_path: Path, builtin: bool) -> ModelInfo:
    """A listed model; damaged metadata or archive makes it listed with the reason, never an exception."""
    meta_path = model_path.with_suffix(".json")
    try:
        metadata = read_metadata(meta_path) if meta_path.is_file() else ModelMetadata(name=name)
    except MetadataError as error:
        return ModelInfo(name, model_path, ModelMetadata(name=name), builtin, error.message)
    return ModelInfo(name, model_path, metadata, builtin, _archive_problem(model_path))


def _archive_problem(path: Path) -> Message | None:
    """A cheap look inside the .keras zip (no TensorFlow, no weights read): a safe archive with a model's files?"""
    from model.storage.dense_file import CONFIG, WEIGHTS, open_archive

    try:
        with open_archive(path) as archive:
            missing = sorted({CONFIG, WEIGHTS} - set(archive.names()))
    except LabError as error:
        return Message(N_("model file damaged: {reason}"), reason=error)
    if len(missing) == 2:
        return Message(N_("model file damaged: no {first} or {second} inside"), first=missing[0], second=missing[1])
    if missing:
        return Message(N_("model file damaged: no {file} inside"), file=missing[0])
    return None


def _atomic_write(target: Path, write: Callable[[str], Any], replace: bool = True) -> None:
    """Write through ``write(temp_path)`` next to ``target``, fsync, then rename over it; or, with
    ``replace=False``, link it in only if ``target`` does not exist (FileExistsError otherwise)."""
    suffix = "".join(target.suffixes) or ".tmp"
    temp = target.parent / f".{target.stem}.{uuid.uuid4().hex}.tmp{suffix}"
    try:
        write(str(temp))
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        (os.replace if replace else os.link)(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
