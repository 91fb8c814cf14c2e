"""Saved models: a ``.keras`` file plus a JSON metadata file per model, in one folder.

A model is listed only once its metadata file exists, and both files are written to a
temporary name and renamed into place, so a crash mid-save never leaves a half-written
model in the list. Reading the list needs no TensorFlow; loading does.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model.config import TrainingConfig
from utils.mnist import N_CLASSES, N_PIXELS
from utils.preprocess import LEGACY_PREPROCESSING

if TYPE_CHECKING:
    import keras

MODELS_DIR_ENV = "MNIST_MODELS_DIR"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODELS_DIR = PROJECT_ROOT / "saved_models"
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
DEFAULT_MODEL_NAME = "default"
MAX_NAME_LENGTH = 64
_ACTIVE_FILE = "active.txt"
LEFTOVER_AGE_S = 3600.0  # a temporary file this old belongs to a save that was killed
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ModelStorageError(Exception):
    """Base for storage problems; the message is written for the user."""


class ModelNotFoundError(ModelStorageError, LookupError):
    pass


class ModelExistsError(ModelStorageError):
    pass


class ModelLoadError(ModelStorageError):
    """A file that is corrupt, not a Keras model, unsafe, or not an MNIST network."""


@dataclass(frozen=True)
class ModelInfo:
    """One listed model: where it is and what its metadata says."""

    name: str
    path: Path
    metadata: dict[str, Any]
    builtin: bool = False
    problem: str | None = None  # why it cannot be used, when that is known without loading it

    @property
    def config(self) -> TrainingConfig | None:
        try:
            return TrainingConfig.from_dict(self.metadata["config"])
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def test_accuracy(self) -> float | None:
        return self.metadata.get("test_accuracy")

    @property
    def accuracy_label(self) -> str:
        """Test accuracy for people: '98.16%', or 'not scored'."""
        return f"{self.test_accuracy:.2%}" if self.test_accuracy is not None else "not scored"

    @property
    def created_at(self) -> str:
        return str(self.metadata.get("created_at", ""))

    @property
    def history(self) -> dict[str, list[float]]:
        return self.metadata.get("history", {})

    @property
    def preprocessing(self) -> str:
        """How inputs must be prepared for this network: the version it was trained with."""
        return str(self.metadata.get("preprocessing", LEGACY_PREPROCESSING))

    @property
    def architecture(self) -> str:
        config = self.config
        return config.architecture if config else "unknown"


def safe_name(raw: str) -> str:
    """A file-system-safe model name: letters, digits, '.', '_' and '-' only, never a path.

    '../../etc/passwd' becomes 'etc-passwd'; a name with nothing usable raises ValueError.
    """
    name = _UNSAFE.sub("-", str(raw).replace("\x00", "")).strip(".-_")
    name = re.sub(r"\.{2,}", ".", name)[:MAX_NAME_LENGTH].strip(".-_")
    if not name:
        raise ValueError(f"model name {raw!r} has no usable characters (use letters, digits, '.', '_', '-')")
    return name


def models_dir_from_env() -> Path:
    value = os.environ.get(MODELS_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else DEFAULT_MODELS_DIR


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ModelStore:
    """The user's saved models in ``root`` plus the pretrained default shipped with the code."""

    def __init__(
        self, root: str | os.PathLike | None = None, pretrained_dir: str | os.PathLike = PRETRAINED_DIR
    ) -> None:
        self.root = Path(root) if root is not None else models_dir_from_env()
        self.pretrained_dir = Path(pretrained_dir)

    @property
    def _root_is_pretrained(self) -> bool:
        return self.root.resolve() == self.pretrained_dir.resolve()

    # -- reading -----------------------------------------------------------------

    def list(self) -> list[ModelInfo]:
        """User models newest first, then the pretrained default."""
        user = [] if self._root_is_pretrained else self._scan(self.root, builtin=False)
        user = [info for info in user if info.name != DEFAULT_MODEL_NAME]
        user.sort(key=lambda info: info.created_at, reverse=True)
        builtin = [info for info in self._scan(self.pretrained_dir, builtin=True) if info.name == DEFAULT_MODEL_NAME]
        return user + builtin

    def _scan(self, folder: Path, builtin: bool) -> list[ModelInfo]:
        if not folder.is_dir():
            return []
        found = []
        for meta_path in sorted(folder.glob("*.json")):
            name = meta_path.stem
            model_path = folder / f"{name}.keras"
            if name.startswith(".") or not model_path.is_file():
                continue
            metadata = _read_metadata(meta_path)
            problem = metadata.get("problem") or _archive_problem(model_path)
            found.append(ModelInfo(name, model_path, metadata, builtin, problem))
        return found

    def get(self, name: str) -> ModelInfo:
        for info in self.list():
            if info.name == name:
                return info
        raise ModelNotFoundError(
            f"no saved model named {name!r}; known: {', '.join(i.name for i in self.list()) or 'none'}"
        )

    def latest(self) -> ModelInfo:
        """The most recently trained model, else the pretrained default."""
        models = self.list()
        if not models:
            raise ModelNotFoundError(f"no models in {self.root} and no pretrained default in {self.pretrained_dir}")
        return models[0]

    def active(self) -> ModelInfo:
        """The model chosen with ``set_active``, else the latest one."""
        try:
            chosen = (self.root / _ACTIVE_FILE).read_text(encoding="utf-8").strip()
            return self.get(chosen)
        except (OSError, ModelNotFoundError):
            return self.latest()

    # -- writing -----------------------------------------------------------------

    def check_new_name(self, name: str) -> str:
        """The safe form of ``name`` if a model may be saved under it; raises before any work is done."""
        name = safe_name(name)
        if name == DEFAULT_MODEL_NAME and not self._root_is_pretrained:
            raise ModelExistsError(f"{DEFAULT_MODEL_NAME!r} is reserved for the pretrained model; choose another name")
        if (self.root / f"{name}.json").exists() or (self.root / f"{name}.keras").exists():
            raise ModelExistsError(f"a model named {name!r} already exists; choose another name or delete it first")
        return name

    def check_writable(self) -> None:
        """Raise ModelStorageError now if models cannot be saved, rather than after a training."""
        probe = self.root / f".write-check.{uuid.uuid4().hex}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise ModelStorageError(f"models cannot be saved in {self.root}: {_reason(error)}") from error

    def save(self, network: keras.Model, name: str, metadata: dict[str, Any]) -> ModelInfo:
        """Write model then metadata atomically; the new model becomes the active one.

        A failed save (read-only or full disk) leaves the folder as it was and raises
        ModelStorageError with the reason.
        """
        name = self.check_new_name(name)
        model_path, meta_path = self.root / f"{name}.keras", self.root / f"{name}.json"
        metadata = {**metadata, "name": name}
        metadata.setdefault("created_at", utc_now())
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.remove_leftovers()
            _atomic_write(model_path, network.save)
            try:
                _atomic_write(meta_path, lambda tmp: Path(tmp).write_text(json.dumps(metadata, indent=2), "utf-8"))
            except BaseException:
                model_path.unlink(missing_ok=True)  # no model without its metadata, no name left taken
                raise
        except OSError as error:
            raise ModelStorageError(
                f"could not save model {name!r} in {self.root}: {_reason(error)}; the models saved before are untouched"
            ) from error
        self._clear_active()
        return ModelInfo(name, model_path, metadata, self._root_is_pretrained)

    def remove_leftovers(self, older_than_s: float = LEFTOVER_AGE_S) -> list[Path]:
        """Delete temporary files of saves that were killed midway (never those of a save in progress)."""
        now, removed = time.time(), []
        for path in self.root.glob(".*.tmp*"):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > older_than_s:
                    path.unlink()
                    removed.append(path)
        return removed

    def unique_name(self, base: str) -> str:
        """``base``, or ``base-2``, ``base-3``... whichever is free."""
        base = safe_name(base)
        taken = {info.name for info in self.list()} | {path.stem for path in self.root.glob("*.keras")}
        candidate, counter = base, 2
        while candidate in taken:
            candidate, counter = f"{base}-{counter}", counter + 1
        return candidate

    def set_active(self, name: str) -> None:
        self.get(name)  # raises if unknown
        self.root.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.root / _ACTIVE_FILE, lambda tmp: Path(tmp).write_text(name, encoding="utf-8"))

    def _clear_active(self) -> None:
        (self.root / _ACTIVE_FILE).unlink(missing_ok=True)

    def delete(self, name: str) -> None:
        """Remove a user model (metadata first, so it leaves the list before its file goes)."""
        info = self.get(name)
        if info.builtin:
            raise ModelStorageError(f"{name!r} is the pretrained default and cannot be deleted")
        info.path.with_suffix(".json").unlink(missing_ok=True)
        info.path.unlink(missing_ok=True)

    # -- loading -----------------------------------------------------------------

    def resolve(self, name_or_path: str | None) -> ModelInfo:
        """A model name, a path to a ``.keras`` file (metadata from the ``.json`` beside it,
        if any), or None for the active model."""
        if name_or_path is None:
            return self.active()
        candidate = Path(name_or_path)
        if candidate.suffix == ".keras":
            if not candidate.is_file():
                raise ModelNotFoundError(f"no model file at {candidate}")
            beside = candidate.with_suffix(".json")
            return ModelInfo(candidate.stem, candidate, _read_metadata(beside) if beside.is_file() else {})
        return self.get(name_or_path)

    def load(self, name_or_path: str | None = None) -> keras.Model:
        info = self.resolve(name_or_path)
        return load_network(info.path, label=info.name)


def load_network(path: str | os.PathLike, label: str | None = None) -> keras.Model:
    """Load a ``.keras`` file in Keras' safe mode and check it is a 784-in, 10-out network."""
    import keras

    label = label or Path(path).stem
    try:
        network = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # Keras raises many types for corrupt, foreign or unsafe files
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelLoadError(f"cannot load model {label!r} from {path}: {reason}") from error
    input_shape, output_shape = tuple(network.input_shape), tuple(network.output_shape)
    if input_shape[1:] != (N_PIXELS,) or output_shape[1:] != (N_CLASSES,):
        raise ModelLoadError(
            f"model {label!r} ({path}) takes {input_shape[1:]} and gives {output_shape[1:]}; "
            f"an MNIST network takes ({N_PIXELS},) and gives ({N_CLASSES},)"
        )
    return network


def _reason(error: OSError) -> str:
    """An OSError for people: 'the disk is full', 'the folder is read-only', or its own words."""
    if error.errno == errno.ENOSPC:
        return "the disk is full"
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "the folder is read-only"
    return error.strerror or str(error)


def _read_metadata(path: Path) -> dict[str, Any]:
    """The metadata JSON object, or one whose "problem" says why it could not be read."""
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(metadata, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as error:
        return {"problem": f"metadata unreadable: {error}"}
    return metadata


def _archive_problem(path: Path) -> str | None:
    """A cheap look inside the .keras zip (no TensorFlow): is it an archive with a model config?"""
    try:
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                return "model file damaged: no config.json inside"
    except (OSError, zipfile.BadZipFile) as error:
        return f"model file damaged: {error}"
    return None


def _atomic_write(target: Path, write: Callable[[str], Any]) -> None:
    """Write through ``write(temp_path)`` next to ``target``, fsync, then rename over it."""
    suffix = "".join(target.suffixes) or ".tmp"
    temp = target.parent / f".{target.stem}.{uuid.uuid4().hex}.tmp{suffix}"
    try:
        write(str(temp))
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
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
