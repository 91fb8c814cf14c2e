"""A saved feed-forward ``.keras`` file read straight into NumPy arrays, refusing hostile files.

The Draw page needs only a few matrix products per answer. Loading the model through
Keras would import TensorFlow first (about 3 s of a cold start on a small CPU, and a few
hundred MB); reading the archive's JSON config and HDF5 weights takes milliseconds, and
runs no code from the file at all.

A model file is data from outside (a shared models folder), so reading one is bounded in
time and memory, and never touches another file. The archive is read through the trust
boundary, ``utils.untrusted`` (a regular file opened without waiting, members unpacked
through bounded streams that show a lying header), with this format's caps: a model's
size for the archive and its directory, the weights capped by the architecture the config
declares. The HDF5 file is opened from memory, and every group and dataset in it is checked before any
number is read (hard links only, data inside the file and stored whole, shapes and types
exactly what the config says). The largest network accepted is the largest the app's
sliders train (``model.net.config.LIMITS``), 784 pixels in and 10 digits out.

Two refusals, and what a caller does with each:

- ``NotPlainDense``: a file within those bounds that is not a plain stack of Dense layers
  this reader knows (other layer types or activations, quantized or integer weights,
  another input or output size), or one damaged in a way any reader notices at once.
  Callers may fall back to Keras' safe-mode loader, which reads it or explains why not.
- ``UnsafeModelFile`` (a ``ModelStorageError``, deliberately *not* a ``NotPlainDense``):
  a file that would make a reader block, read other files, or allocate far more than it
  stores: not a regular file; an oversized archive, zip directory or member; a member
  compressed other than stored/deflate, or whose header lies (size or checksum); weights
  in ``.npz``; HDF5 soft or external links, external storage, virtual or chunked datasets,
  more than a model's number of objects; declared shapes unlike the config; more layers,
  units or inputs than the app trains. Callers must NOT fall back to Keras (that would
  hand it the bomb: its loader reads members and datasets whole); they show the message.
  The archive and the weights are checked for this even when the config names another
  kind of network, so such a file never reaches Keras through this module.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from model.net.config import LIMITS
from model.net.numpy_network import ACTIVATIONS, Dense, DenseNetwork
from utils.errors import ModelStorageError
from utils.i18n import N_, Message, num
from utils.mnist import N_CLASSES, N_PIXELS
from utils.untrusted import UnreadableFile, UntrustedFileError, UntrustedZip, byte_size, open_zip

IGNORED_AT_INFERENCE = {"InputLayer", "Dropout"}
CONFIG = "config.json"
WEIGHTS = "model.weights.h5"
WEIGHTS_NPZ = "model.weights.npz"  # another format Keras loads
MAX_HIDDEN_LAYERS = int(LIMITS["hidden_layers"][1])
MAX_UNITS = int(LIMITS["units"][1])
MAX_ITEM_BYTES = 8  # float64, the widest weight accepted (float16/32/64)
MAX_CONFIG_BYTES = 2**20  # a real config.json has 2.5 KB (1 hidden layer) to 10.4 KB (8)
HDF5_OVERHEAD_BYTES = 2**20  # groups, headers and names: 14 KB to 47 KB in the app's files
MAX_DIRECTORY_BYTES = 2**17  # the zip directory: about 200 bytes for a model's 3 files
MAX_HDF5_OBJECTS = 1000  # groups and datasets: about 50 in the deepest network the app trains
WHOLE_LAYOUTS = (h5py.h5d.CONTIGUOUS, h5py.h5d.COMPACT)  # how Keras stores every weight
LINK_REFUSALS = {  # UnsafeModelFile's words for a link in the weights; other link types name their class
    h5py.SoftLink: N_("the weights hold a soft link at {where}; a model's weights are all inside its own file"),
    h5py.ExternalLink: N_(
        "the weights hold an external link at {where}; a model's weights are all inside its own file"
    ),
}
SHAPE_REFUSALS = {
    "kernel": N_("layer {name} declares a kernel of shape {shape} where its config says {expected}"),
    "bias": N_("layer {name} declares a bias of shape {shape} where its config says {expected}"),
}


class NotPlainDense(ValueError):
    """Not (readable as) a plain stack of Dense layers, but harmless: Keras' safe mode may try it."""


class UnsafeModelFile(ModelStorageError):
    """A hostile or out-of-bounds file that no loader may read: callers must not fall back to Keras."""


def _weights_cap(sizes: Sequence[int]) -> int:
    """The most bytes a weights file of these layer sizes needs: every number in float64, plus headers."""
    parameters = sum(fan_in * units + units for fan_in, units in itertools.pairwise(sizes))
    return MAX_ITEM_BYTES * parameters + HDF5_OVERHEAD_BYTES


# the largest network the sliders allow (8 x 2048 units) has 124 MB of float32 weights
MAX_WEIGHTS_BYTES = _weights_cap([N_PIXELS, *[MAX_UNITS] * MAX_HIDDEN_LAYERS, N_CLASSES])
MAX_ARCHIVE_BYTES = MAX_WEIGHTS_BYTES + 2 * MAX_CONFIG_BYTES + MAX_DIRECTORY_BYTES


@dataclass(frozen=True)
class _DenseLayer:
    """One Dense layer as its config declares it: what its stored weights must look like."""

    name: str
    fan_in: int
    units: int
    activation: str
    use_bias: bool

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        return [(self.fan_in, self.units), (self.units,)][: 1 + self.use_bias]


def read_dense_network(path: str | os.PathLike) -> DenseNetwork:
    """The network in a ``.keras`` file.

    Raises ``NotPlainDense`` (Keras' safe mode may try the file) or ``UnsafeModelFile``
    (nothing may read it), each saying why.
    """
    try:
        return _read(path)
    except (NotPlainDense, UnsafeModelFile):
        raise
    except UnreadableFile as error:  # not a zip, a member missing: Keras' loader says so too
        reason = error.__cause__ or error
        raise NotPlainDense(f"unreadable: {type(reason).__name__}: {reason}") from error
    except UntrustedFileError as error:  # refused at the trust boundary: no reader may have it
        raise UnsafeModelFile(error.message) from error
    except Exception as error:  # zip, zlib, JSON and HDF5 raise many types for damaged files
        raise NotPlainDense(f"unreadable: {type(error).__name__}: {error}") from error


def _read(path: str | os.PathLike) -> DenseNetwork:
    with open_archive(path) as archive:
        config = json.loads(archive.read(CONFIG, MAX_CONFIG_BYTES))
        try:
            dense = _dense_layers(config)
        except UnsafeModelFile:
            raise
        except Exception:
            _refuse_hostile_weights(archive)  # another network may go to Keras, a hostile file may not
            raise
        weights = archive.read(WEIGHTS, _weights_cap([N_PIXELS, *(layer.units for layer in dense)]))
    with _open_hdf5(weights) as store:
        _check_objects(store)
        found = _variables_by_layer_name(store)
        datasets = [_layer_datasets(found.get(layer.name), layer) for layer in dense]  # all checked before any read
        layers = tuple(_read_layer(layer, stored) for layer, stored in zip(dense, datasets, strict=True))
    return DenseNetwork(name=str(config["config"].get("name", "")), layers=layers)


# The archive: a regular file of a model's size whose members are all a model's size (utils.untrusted reads it).


@contextmanager
def open_archive(path: str | os.PathLike) -> Iterator[UntrustedZip]:
    """The model archive, refused (``UntrustedFileError``) unless every member is safe for any reader."""
    with open_zip(
        path, max_bytes=MAX_ARCHIVE_BYTES, max_unpacked=MAX_ARCHIVE_BYTES, max_directory_bytes=MAX_DIRECTORY_BYTES
    ) as archive:
        _check_members(archive)
        yield archive


def _check_members(archive: UntrustedZip) -> None:
    """Every member unpacks through a bounded stream, and all stay a model's size: also those only Keras reads."""
    if WEIGHTS_NPZ in archive.names():
        raise UnsafeModelFile(
            Message(
                N_("its weights are in {file}, which this app never writes and whose arrays Keras unpacks unchecked"),
                file=WEIGHTS_NPZ,
            )
        )
    archive.require_plain_members()
    members = archive.members()
    if sum(info.file_size for info in members) > MAX_ARCHIVE_BYTES:
        biggest = max(members, key=lambda info: info.file_size)
        raise UnsafeModelFile(
            Message(
                N_("{file} would unpack to {size}, more than the largest model this app saves unpacks to ({limit})"),
                file=biggest.filename,
                size=byte_size(biggest.file_size),
                limit=byte_size(MAX_ARCHIVE_BYTES),
            )
        )


# The config: a Sequential stack of Dense layers no bigger than the app trains.


def _dense_layers(config: dict[str, Any]) -> list[_DenseLayer]:
    """The Dense layers the config declares, or why it is another network or an out-of-bounds one."""
    if config.get("class_name") != "Sequential":
        raise NotPlainDense(f"a {config.get('class_name')!r} model, not a Sequential one")
    layers = config.get("config", {}).get("layers", [])
    _check_bounds(layers)  # first: a network refused here is not handed to Keras to build either
    width, settings = None, []
    for layer in layers:
        kind = layer.get("class_name")
        if kind == "InputLayer":
            width = _input_width(layer["config"].get("batch_shape", layer["config"].get("batch_input_shape")))
        elif kind == "Dense":
            _check_kind(layer["config"])
            settings.append(layer)
        elif kind not in IGNORED_AT_INFERENCE:
            raise NotPlainDense(f"has a {kind!r} layer")
    if not settings:
        raise NotPlainDense("has no Dense layer")
    if width is None:  # no InputLayer: the first Dense layer records what it was built for
        width = _input_width(settings[0].get("build_config", {}).get("input_shape"))
    if width is None:
        raise NotPlainDense("does not say how many inputs it takes")
    if width != N_PIXELS:
        raise NotPlainDense(f"layer sizes do not chain: it takes {width} inputs, not the {N_PIXELS} pixels of a digit")
    dense: list[_DenseLayer] = []
    for layer in settings:
        dense.append(_dense_layer(layer["config"], fan_in=dense[-1].units if dense else width))
    if dense[-1].units != N_CLASSES or dense[-1].activation != "softmax":
        raise NotPlainDense(
            f"ends in {dense[-1].units} {dense[-1].activation} outputs, not {N_CLASSES} softmax probabilities"
        )
    return dense


def _check_bounds(layers: list[dict[str, Any]]) -> None:
    """Refuse more hidden layers, units or inputs than the app trains, whatever else the config holds."""
    dense = [layer.get("config", {}) for layer in layers if layer.get("class_name") == "Dense"]
    if len(dense) > MAX_HIDDEN_LAYERS + 1:
        raise UnsafeModelFile(
            Message(
                N_("it has {count} hidden layers; this app trains at most {limit}"),
                count=num(len(dense) - 1),
                limit=num(MAX_HIDDEN_LAYERS),
            )
        )
    for settings in dense:
        units = settings.get("units")
        if isinstance(units, int | float) and units > MAX_UNITS:
            raise UnsafeModelFile(_too_many_units(settings.get("name"), units))
    for layer in layers:
        if layer.get("class_name") == "InputLayer":
            settings = layer.get("config", {})
            shape = settings.get("batch_shape", settings.get("batch_input_shape"))
            if not isinstance(shape, list):
                continue
            inputs = math.prod(size for size in shape if isinstance(size, int | float))
            if inputs > N_PIXELS:
                raise UnsafeModelFile(
                    Message(
                        N_("it takes {count} inputs at a time; a digit has {pixels} pixels"),
                        count=num(inputs),
                        pixels=num(N_PIXELS),
                    )
                )


def _input_width(shape: object) -> int | None:
    """The width of the rows a network takes, from a Keras batch shape such as [null, 784]."""
    if shape is None:
        return None
    if not isinstance(shape, list) or len(shape) != 2:
        raise NotPlainDense(f"takes inputs of shape {shape!r}, not rows of {N_PIXELS} pixels")
    return _whole_number(shape[1], "its input width")


def _check_kind(settings: dict[str, Any]) -> None:
    """A Dense layer this reader computes exactly as Keras does."""
    name, activation = settings.get("name"), settings.get("activation")
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise NotPlainDense(f"layer {name!r} uses activation {activation!r}")
    if settings.get("quantization_config"):
        raise NotPlainDense(f"layer {name!r} is quantized")


def _dense_layer(settings: dict[str, Any], fan_in: int) -> _DenseLayer:
    name, activation = settings.get("name"), settings["activation"]
    units = _whole_number(settings.get("units"), f"layer {name!r}'s units")
    if units > MAX_UNITS:
        raise UnsafeModelFile(_too_many_units(name, units))
    use_bias = settings.get("use_bias", True)
    if not isinstance(use_bias, bool):
        raise NotPlainDense(f"layer {name!r} has use_bias {use_bias!r}")
    return _DenseLayer(str(name), fan_in, units, activation, use_bias)


def _too_many_units(name: object, units: float) -> Message:
    return Message(
        N_("layer {name} declares {units} units; this app trains at most {limit} a layer"),
        name=repr(name),
        units=num(units),
        limit=num(MAX_UNITS),
    )


def _whole_number(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise NotPlainDense(f"{what} is {value!r}, not a whole number of at least 1")
    return value


# The weights: an HDF5 file in memory, every object checked before any number is read.


def _open_hdf5(weights: bytes) -> h5py.File:
    """From memory, so HDF5 opens no file by name; external data and links are refused by the checks."""
    return h5py.File(io.BytesIO(weights), "r", driver="fileobj", locking=False)


def _refuse_hostile_weights(archive: UntrustedZip) -> None:
    """Raise if the weights would be unsafe for any reader; other trouble is Keras' to report."""
    try:
        weights = archive.read(WEIGHTS, MAX_WEIGHTS_BYTES)
        with _open_hdf5(weights) as store:
            _check_objects(store)
    except UnreadableFile:  # absent: Keras' loader fails on it too, and says so
        return
    except (UnsafeModelFile, UntrustedFileError):
        raise
    except Exception:  # damaged: Keras' loader fails on it too, and says so
        return


def _check_objects(store: h5py.File) -> None:
    """Everything reachable is a hard-linked group or a plain, whole, in-file dataset; all of it a model's size."""
    budget, declared, pending = MAX_HDF5_OBJECTS, 0, [store]
    while pending:
        group = pending.pop()
        if len(group) > budget:
            raise UnsafeModelFile(
                Message(
                    N_("the weights hold over {limit} groups and datasets (or a loop); a model's hold about 50"),
                    limit=num(MAX_HDF5_OBJECTS),
                )
            )
        budget -= len(group)
        for name in itertools.islice(group, len(group)):  # a lying count cannot stretch the walk
            item = _hard_linked(group, name)
            if isinstance(item, h5py.Group):
                pending.append(item)
            elif isinstance(item, h5py.Dataset):
                declared += _check_dataset(item)
                if declared > MAX_WEIGHTS_BYTES:
                    raise _too_big(
                        N_(
                            "{dataset} declares {shape} {dtype} numbers, which with the rest make "
                            "{size}: more than the largest network this app trains ({limit})"
                        ),
                        item,
                        declared,
                    )


def _too_big(msgid: str, dataset: h5py.Dataset, declared: int) -> UnsafeModelFile:
    """A refusal naming the dataset, what it declares, and the largest network the app trains."""
    return UnsafeModelFile(
        Message(
            msgid,
            dataset=dataset.name,
            shape=dataset.shape,
            dtype=dataset.dtype,
            size=byte_size(declared),
            limit=byte_size(MAX_WEIGHTS_BYTES),
        )
    )


def _hard_linked(group: h5py.Group, name: str) -> object:
    """The object, if ``name`` is a hard link; soft and external links may point anywhere, even at a pipe."""
    link = group.get(name, getlink=True)
    if not isinstance(link, h5py.HardLink):
        where = f"{group.name.rstrip('/')}/{name}"
        refusal = LINK_REFUSALS.get(type(link))
        if refusal is None:
            raise UnsafeModelFile(
                Message(
                    N_("the weights hold a {kind} at {where}; a model's weights are all inside its own file"),
                    kind=type(link).__name__,
                    where=where,
                )
            )
        raise UnsafeModelFile(Message(refusal, where=where))
    return group[name]


def _check_dataset(dataset: h5py.Dataset) -> int:
    """The bytes the dataset declares, after refusing data kept elsewhere or stored in any way but whole."""
    if dataset.is_virtual:
        raise UnsafeModelFile(
            Message(N_("{dataset} is a virtual dataset, made of other files' data"), dataset=dataset.name)
        )
    if dataset.external:
        raise UnsafeModelFile(
            Message(
                N_(
                    "{dataset} keeps its numbers in another file ({file}); a model's weights are all inside its own "
                    "file"
                ),
                dataset=dataset.name,
                file=dataset.external[0][0],
            )
        )
    declared = math.prod(dataset.shape or (0,)) * dataset.dtype.itemsize
    if declared > MAX_WEIGHTS_BYTES:
        raise _too_big(
            N_(
                "{dataset} declares {shape} {dtype} numbers ({size}), more than the "
                "largest network this app trains ({limit})"
            ),
            dataset,
            declared,
        )
    if dataset.id.get_create_plist().get_layout() not in WHOLE_LAYOUTS:
        chunked = (
            N_(
                "{dataset} is stored in chunks and compressed; Keras stores "
                "weights whole, so this file was made some other way and its data is not unpacked"
            )
            if dataset.compression
            else N_(
                "{dataset} is stored in chunks; Keras stores "
                "weights whole, so this file was made some other way and its data is not unpacked"
            )
        )
        raise UnsafeModelFile(Message(chunked, dataset=dataset.name))
    return declared


def _variables_by_layer_name(store: h5py.File) -> dict[str, h5py.Group]:
    """Keras 3 stores each layer's variables under layers/<path>/vars, named in an attribute."""
    layers = store.get("layers")
    if not isinstance(layers, h5py.Group):
        raise NotPlainDense("its weights have no 'layers' group")
    found = {}
    for group in layers.values():
        variables = group.get("vars") if isinstance(group, h5py.Group) else None
        if isinstance(variables, h5py.Group) and "name" in variables.attrs:
            found[str(variables.attrs["name"])] = variables
    return found


def _layer_datasets(variables: h5py.Group | None, layer: _DenseLayer) -> list[h5py.Dataset]:
    """The layer's kernel (and bias) datasets, refused unless they declare what the config says."""
    if variables is None:
        raise NotPlainDense(f"its weights hold nothing for layer {layer.name!r}")
    expected = [str(index) for index in range(len(layer.shapes))]
    if sorted(variables) != expected:
        raise NotPlainDense(f"layer {layer.name!r} stores variables {sorted(variables)}, not a kernel and a bias")
    datasets = [variables[name] for name in expected]
    for role, dataset, shape in zip(("kernel", "bias"), datasets, layer.shapes, strict=False):
        if not isinstance(dataset, h5py.Dataset):
            raise NotPlainDense(f"layer {layer.name!r} stores its {role} as a {type(dataset).__name__}")
        if dataset.shape != shape:
            raise UnsafeModelFile(
                Message(SHAPE_REFUSALS[role], name=repr(layer.name), shape=dataset.shape, expected=shape)
            )
        if dataset.dtype.kind != "f" or dataset.dtype.itemsize not in (2, 4, MAX_ITEM_BYTES):
            raise NotPlainDense(
                f"layer {layer.name!r} stores {dataset.dtype} numbers, not a float kernel and bias (float16/32/64)"
            )
    return datasets


def _read_layer(layer: _DenseLayer, datasets: list[h5py.Dataset]) -> Dense:
    """Read straight into float32 arrays of the checked shapes; one copy is shared by every session."""
    arrays = [np.empty(shape, np.float32) for shape in layer.shapes]
    for dataset, array in zip(datasets, arrays, strict=True):
        dataset.read_direct(array)  # HDF5 converts float16/64 on the way
    if not layer.use_bias:
        arrays.append(np.zeros(layer.units, np.float32))
    for array in arrays:
        array.setflags(write=False)
    return Dense(arrays[0], arrays[1], ACTIVATIONS[layer.activation])
