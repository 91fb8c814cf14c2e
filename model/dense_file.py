"""A saved feed-forward ``.keras`` file read straight into NumPy arrays.

The Draw page needs only a few matrix products per answer. Loading the model through
Keras would import TensorFlow first (about 3 s of a cold start on a small CPU, and a few
hundred MB); reading the archive's JSON config and HDF5 weights takes milliseconds, and
runs no code from the file at all. Networks this reader does not know (other layer types,
other shapes) are left to Keras' safe-mode loader.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from utils.mnist import N_CLASSES, N_PIXELS

IGNORED_AT_INFERENCE = {"InputLayer", "Dropout"}
WEIGHTS = "model.weights.h5"
MAX_WEIGHTS_BYTES = 512 * 2**20  # the largest network the app trains (8 x 2048 units) has 140 MB


class NotPlainDense(ValueError):
    """The file is not (readable as) a plain stack of Dense layers."""


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0, out=x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # the tanh form never overflows


def _softmax(x: np.ndarray) -> np.ndarray:
    x = np.exp(x - x.max(axis=-1, keepdims=True))
    return x / x.sum(axis=-1, keepdims=True)


ACTIVATIONS = {"linear": lambda x: x, "relu": _relu, "sigmoid": _sigmoid, "tanh": np.tanh, "softmax": _softmax}


@dataclass(frozen=True, eq=False)
class DenseNetwork:
    """Dense layers as (kernel, bias, activation); called like ``inference.forward``'s functions."""

    name: str
    layers: tuple[tuple[np.ndarray, np.ndarray, str], ...]

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        """(N, 784) float32 rows to (N, 10) probabilities."""
        values = np.asarray(rows, dtype=np.float32)
        for kernel, bias, activation in self.layers:
            values = ACTIVATIONS[activation](values @ kernel + bias)
        return values

    @property
    def architecture(self) -> str:
        return "-".join(str(size) for size in [N_PIXELS, *(kernel.shape[1] for kernel, _, _ in self.layers)])


def read_dense_network(path: str | os.PathLike) -> DenseNetwork:
    """The network in a ``.keras`` file, or ``NotPlainDense`` saying why it cannot be read this way."""
    try:
        return _read(path)
    except NotPlainDense:
        raise
    except Exception as error:  # zip, zlib, JSON and HDF5 raise many types for damaged files
        raise NotPlainDense(f"unreadable: {type(error).__name__}: {error}") from error


def _read(path: str | os.PathLike) -> DenseNetwork:
    with zipfile.ZipFile(path) as archive:
        if archive.getinfo(WEIGHTS).file_size > MAX_WEIGHTS_BYTES:
            raise NotPlainDense(f"weights over {MAX_WEIGHTS_BYTES // 2**20} MB")
        config = json.loads(archive.read("config.json"))
        weights = archive.read(WEIGHTS)
    dense_configs = _dense_layer_configs(config)
    with h5py.File(io.BytesIO(weights), "r") as store:
        variables = _variables_by_layer_name(store)
        layers = tuple(_dense_layer(layer, variables) for layer in dense_configs)
    _check_shapes(layers)
    return DenseNetwork(name=str(config["config"].get("name", "")), layers=layers)


def _dense_layer_configs(config: dict[str, Any]) -> list[dict[str, Any]]:
    if config.get("class_name") != "Sequential":
        raise NotPlainDense(f"a {config.get('class_name')!r} model, not a Sequential one")
    dense = []
    for layer in config.get("config", {}).get("layers", []):
        kind = layer.get("class_name")
        if kind == "Dense":
            activation = layer["config"].get("activation")
            if not isinstance(activation, str) or activation not in ACTIVATIONS:
                raise NotPlainDense(f"layer {layer['config'].get('name')!r} uses activation {activation!r}")
            if layer["config"].get("quantization_config"):
                raise NotPlainDense(f"layer {layer['config'].get('name')!r} is quantized")
            dense.append(layer["config"])
        elif kind not in IGNORED_AT_INFERENCE:
            raise NotPlainDense(f"has a {kind!r} layer")
    if not dense:
        raise NotPlainDense("has no Dense layer")
    return dense


def _variables_by_layer_name(store: h5py.File) -> dict[str, list[np.ndarray]]:
    """Keras 3 stores each layer's variables under layers/<path>/vars, named in an attribute."""
    found = {}
    for group in store["layers"].values():
        variables = group.get("vars")
        if variables is not None and "name" in variables.attrs:
            found[str(variables.attrs["name"])] = [variables[str(i)][()] for i in range(len(variables))]
    return found


def _dense_layer(config: dict[str, Any], variables: dict[str, list[np.ndarray]]) -> tuple[np.ndarray, np.ndarray, str]:
    arrays = variables[config["name"]]
    use_bias = config.get("use_bias", True)
    if len(arrays) != 1 + use_bias or not all(np.issubdtype(array.dtype, np.floating) for array in arrays):
        stored = [str(array.dtype) for array in arrays]
        raise NotPlainDense(f"layer {config['name']!r} stores {stored}, not a float kernel and bias")
    kernel = np.ascontiguousarray(arrays[0], dtype=np.float32)
    bias = np.asarray(arrays[1], np.float32) if use_bias else np.zeros(kernel.shape[1], np.float32)
    if kernel.ndim != 2 or bias.shape != (kernel.shape[1],):
        raise NotPlainDense(f"layer {config['name']!r} has weights of shape {kernel.shape} and {bias.shape}")
    kernel.setflags(write=False)  # one copy is shared by every session
    bias.setflags(write=False)
    return kernel, bias, config["activation"]


def _check_shapes(layers: tuple[tuple[np.ndarray, np.ndarray, str], ...]) -> None:
    sizes = [N_PIXELS, *(kernel.shape[1] for kernel, _, _ in layers)]
    if any(kernel.shape[0] != size for (kernel, _, _), size in zip(layers, sizes[:-1], strict=True)):
        raise NotPlainDense(f"layer sizes do not chain: {[kernel.shape for kernel, _, _ in layers]}")
    if sizes[-1] != N_CLASSES or layers[-1][2] != "softmax":
        raise NotPlainDense(f"ends in {sizes[-1]} {layers[-1][2]} outputs, not {N_CLASSES} softmax probabilities")
