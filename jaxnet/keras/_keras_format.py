"""Keras 3's ``.keras`` file for Sequential models: a zip of ``config.json`` and ``model.weights.h5``.

``write`` produces a file that ``keras.models.load_model`` (Keras 3) loads and that
predicts as the jaxnet model does; ``read`` loads such files back, whether jaxnet or
Keras 3 wrote them. Supported: Sequential models of Dense, Conv2D, MaxPooling2D,
AveragePooling2D, Flatten, Dropout and Activation with activations both libraries
define alike. The file holds the architecture and the weights; jaxnet also keeps
its compile settings in ``metadata.json`` (which Keras does not read). The
optimizer state is not written: save as ``.npz`` to resume training exactly.

Keras' layout: ``config.json`` is the model's serialized config (an InputLayer
first, then one entry per layer); in ``model.weights.h5`` layer i's variables are
the datasets ``layers/<name>/vars/0, 1, ...`` (kernel, then bias), where ``<name>``
is the layer class in snake case, numbered from the second of a class on
(``dense``, ``dense_1``; Keras does not use the layers' own names there).
"""

from __future__ import annotations

import datetime
import io
import json
import os
import pathlib
import re
import zipfile
from typing import Any

import numpy as np

from jaxnet import functional
from jaxnet import layers as jl
from jaxnet import model as model_lib
from jaxnet._src.atomic import atomic_path

#: Activations whose Keras 3 definition is jaxnet's too (so a saved model predicts the same in Keras).
ACTIVATIONS = frozenset(
    {"linear", "relu", "sigmoid", "softmax", "tanh", "elu", "selu", "softplus", "swish", "silu", "log_softmax"}
)
_POOL_FIELDS = ("pool_size", "strides", "padding")
#: jaxnet class -> (Keras class name, the fields both share).
_LAYERS = {
    jl.Dense: ("Dense", ("units", "activation", "use_bias")),
    jl.Conv2D: ("Conv2D", ("filters", "kernel_size", "strides", "padding", "activation", "use_bias")),
    jl.MaxPooling2D: ("MaxPooling2D", _POOL_FIELDS),
    jl.AveragePooling2D: ("AveragePooling2D", _POOL_FIELDS),
    jl.Flatten: ("Flatten", ()),
    jl.Dropout: ("Dropout", ("rate",)),
    jl.Activation: ("Activation", ("activation",)),
}
_CLASSES = {keras_name: (cls, fields) for cls, (keras_name, fields) in _LAYERS.items()}


def _h5py():
    try:
        import h5py
    except ImportError as err:  # an optional dependency: only the .keras format needs it
        raise ImportError(
            "saving or loading a .keras file needs h5py (pip install h5py); or save as .npz, jaxnet's own format"
        ) from err
    return h5py


def _snake_case(name: str) -> str:
    """Keras' ``naming.to_snake_case``: "MaxPooling2D" -> "max_pooling2d"."""
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", name))
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _weight_paths(class_names: list[str]) -> list[str]:
    """The h5 group of each layer's variables, named as Keras' saver names them."""
    used: dict[str, int] = {}
    paths = []
    for class_name in class_names:
        name = _snake_case(class_name)
        used[name] = used.get(name, -1) + 1
        paths.append(f"layers/{name}{'_' + str(used[name]) if used[name] else ''}/vars")
    return paths


def _layer_config(layer: jl.Layer, name: str) -> dict:
    cls = type(layer)
    if cls not in _LAYERS:
        raise ValueError(
            f"cannot write a {cls.__name__} layer to a .keras file (supported: "
            f"{', '.join(c.__name__ for c in _LAYERS)}); save as .npz, jaxnet's own format"
        )
    keras_name, fields = _LAYERS[cls]
    config: dict[str, Any] = {"name": name, "trainable": True, "dtype": "float32"}
    for f in fields:
        value = getattr(layer, f)
        if f == "activation":
            value = "linear" if value in (None, "identity") else value
            if value not in ACTIVATIONS:
                raise ValueError(
                    f"{name}: activation {value!r} cannot be written to a .keras file (Keras 3 "
                    f"defines these alike: {', '.join(sorted(ACTIVATIONS))}); save as .npz instead"
                )
        elif f in ("kernel_size", "pool_size", "strides"):
            value = value if value is None or isinstance(value, (tuple, list)) else (value, value)
            value = None if value is None else [int(v) for v in value]
        elif f == "padding" and value not in ("valid", "same"):
            raise ValueError(f"{name}: padding={value!r} has no Keras equivalent in a .keras file; save as .npz")
        config[f] = value
    if cls in (jl.MaxPooling2D, jl.AveragePooling2D) and config["strides"] is None:
        config["strides"] = config["pool_size"]  # Keras writes the strides out
    if cls in (jl.Conv2D, jl.MaxPooling2D, jl.AveragePooling2D, jl.Flatten):
        config["data_format"] = "channels_last"
    return {"module": "keras.layers", "class_name": keras_name, "config": config, "registered_name": None}


def _layer_weights(layer: jl.Layer, params: dict) -> list[np.ndarray]:
    return [np.asarray(params[k]) for k in ("w", "b") if k in params]  # Keras' order: kernel, bias


def write(
    path: str | os.PathLike,
    network: model_lib.Sequential | functional.Functional,  # a functional model is refused (its InputLayer)
    input_shape: tuple,
    params: dict,
    jaxnet_meta: dict | None = None,
) -> pathlib.Path:
    """Write a ``.keras`` file (atomically) that Keras 3 loads.

    Arguments:
        path: the file to write.
        network: a Sequential of supported layers (see the module doc).
        input_shape: one example's shape.
        params: its parameters.
        jaxnet_meta: JSON-serialisable extras kept in ``metadata.json`` (jaxnet's compile settings).

    Returns:
        The path written.

    Raises:
        ValueError: for a layer, activation or padding that Keras 3 would not read the same way.
    """
    h5py = _h5py()
    if any(isinstance(layer, model_lib._Container) for layer in network.layers):
        raise ValueError("only a flat Sequential model can be written to a .keras file; save as .npz instead")
    names = list(network.names)
    layer_configs = [_layer_config(layer, name) for layer, name in zip(network.layers, names)]
    batch_shape = [None, *map(int, input_shape)]
    model_name = network.name or "sequential"
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "registered_name": None,
        "config": {
            "name": model_name,
            "trainable": True,
            "dtype": "float32",
            "layers": [
                {
                    "module": "keras.layers",
                    "class_name": "InputLayer",
                    "registered_name": None,
                    "config": {"batch_shape": batch_shape, "dtype": "float32", "name": "input_layer"},
                },
                *layer_configs,
            ],
        },
        "build_config": {"input_shape": batch_shape},
    }
    weights = io.BytesIO()
    with h5py.File(weights, "w") as h5:
        h5.create_group("vars").attrs["name"] = model_name
        paths = _weight_paths([c["class_name"] for c in layer_configs])
        for group_path, layer, name in zip(paths, network.layers, names):
            group = h5.create_group(group_path)
            group.attrs["name"] = name
            for i, array in enumerate(_layer_weights(layer, params[name])):
                group.create_dataset(str(i), data=array)
    metadata = {
        "saved_by": "jaxnet",
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "jaxnet": jaxnet_meta or {},
    }
    path = pathlib.Path(path)
    with atomic_path(path, suffix=".keras") as tmp, zipfile.ZipFile(tmp, "w") as zf:
        zf.writestr("metadata.json", json.dumps(metadata))
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", weights.getvalue())
    return path


def _from_keras(entry: dict) -> jl.Layer:
    class_name, config = entry.get("class_name"), entry.get("config", {})
    if class_name not in _CLASSES:
        raise ValueError(
            f"a .keras file with a {class_name} layer cannot be loaded by jaxnet (supported: {', '.join(_CLASSES)})"
        )
    cls, fields = _CLASSES[class_name]
    kwargs = {f: config[f] for f in fields if f in config}
    if kwargs.get("activation") == "linear" and cls is not jl.Activation:
        kwargs["activation"] = None
    if kwargs.get("activation") not in (None, *ACTIVATIONS):
        raise ValueError(
            f"{config.get('name')}: activation {kwargs['activation']!r} is not one jaxnet reads the "
            "same way from a .keras file"
        )
    for f in ("kernel_size", "pool_size", "strides"):
        if isinstance(kwargs.get(f), list):
            kwargs[f] = tuple(kwargs[f])
    return cls(**kwargs, name=config.get("name"))


def read(path: str | os.PathLike) -> tuple[model_lib.Sequential, tuple, dict, dict]:
    """Read a ``.keras`` file of a Sequential model written by jaxnet or Keras 3.

    Returns:
        ``(network, input_shape, params, jaxnet_meta)``; ``jaxnet_meta`` is {} for a file Keras wrote.

    Raises:
        ValueError: for a file that is not a ``.keras`` zip, another model class, or an unsupported layer.
    """
    h5py = _h5py()
    try:
        with zipfile.ZipFile(path) as zf:
            config = json.loads(zf.read("config.json"))
            metadata = json.loads(zf.read("metadata.json")) if "metadata.json" in zf.namelist() else {}
            weights = zf.read("model.weights.h5")
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as err:
        raise ValueError(
            f"{os.fspath(path)!r} is not a .keras file (a zip of config.json and model.weights.h5): {err}"
        ) from err
    if config.get("class_name") != "Sequential":
        raise ValueError(
            f"{os.fspath(path)!r} holds a {config.get('class_name')} model; jaxnet reads Sequential "
            "models from .keras files"
        )
    entries = config["config"]["layers"]
    input_shape = None
    if entries and entries[0].get("class_name") == "InputLayer":
        input_shape = tuple(entries.pop(0)["config"]["batch_shape"][1:])
    input_shape = input_shape or tuple(config.get("build_config", {}).get("input_shape", [None])[1:])
    layers = [_from_keras(entry) for entry in entries]
    network = model_lib.Sequential(layers, name=config["config"].get("name"))
    params = {}
    with h5py.File(io.BytesIO(weights), "r") as h5:
        for group_path, name in zip(_weight_paths([e["class_name"] for e in entries]), network.names):
            group = h5[group_path] if group_path in h5 else {}
            arrays = [np.asarray(group[str(i)]) for i in range(len(group))]
            params[name] = dict(zip(("w", "b"), arrays))
    return network, input_shape, params, metadata.get("jaxnet", {})
