"""Architectures as JSON: every jaxnet layer is a frozen dataclass, so its fields are its configuration."""

from __future__ import annotations

import dataclasses
from typing import Any

from jaxnet import functional, layers, model, normalization, preprocessing

# The layer classes by name; type[Any], as their constructors take different arguments (checked at load).
CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        layers.Dense,
        layers.Conv2D,
        layers.MaxPooling2D,
        layers.AveragePooling2D,
        layers.Flatten,
        layers.Dropout,
        layers.Activation,
        layers.Identity,
        layers.Maxout,
        layers.Concatenate,
        layers.ZeroPadding2D,
        normalization.BatchNormalization,
        preprocessing.Rescaling,
        preprocessing.RandomFlip,
        preprocessing.RandomRotation,
        preprocessing.RandomZoom,
        preprocessing.RandomTranslation,
        model.Sequential,
        model.Branch,
        model.Parallel,
        functional.InputLayer,
    )
}


def to_config(layer: layers.Layer) -> dict:
    """The layer (or container) as a JSON-serialisable dict.

    Raises:
        ValueError: for a layer class or a function-valued option that cannot be named in JSON.
    """
    cls = type(layer).__name__
    if isinstance(layer, functional.Functional):
        return layer.to_config(to_config)
    if cls not in CLASSES:
        raise ValueError(f"cannot save a {cls} layer: only jaxnet's own layers can be serialised")
    if isinstance(layer, model._Container):
        return {"class": cls, "name": layer.name, "layers": [to_config(child) for child in layer.layers]}
    config = {}
    for f in dataclasses.fields(layer):
        value = getattr(layer, f.name)
        if callable(value):
            raise ValueError(
                f"cannot save {cls}.{f.name}={value!r}: use a registered name (e.g. 'relu') "
                "instead of a function to make the model saveable"
            )
        config[f.name] = list(value) if isinstance(value, tuple) else value
    return {"class": cls, "config": config}


def from_config(config: dict) -> layers.Layer:
    """Rebuild a layer from ``to_config``'s dict.

    Raises:
        ValueError: for a malformed config, an unknown class, or arguments the class does not take.
    """
    if not isinstance(config, dict):
        raise ValueError(f"a saved layer must be a JSON object, got {type(config).__name__}")
    if config.get("class") == "Functional":
        return functional.Functional.from_config(config, from_config)
    cls = CLASSES.get(config.get("class"))  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(
            f"unknown layer class {config.get('class')!r} in a saved architecture (known: {', '.join(sorted(CLASSES))})"
        )
    if "layers" in config:
        children = config["layers"]
        if not isinstance(children, list):
            raise ValueError(f"the saved {cls.__name__}'s layers must be a list, got {type(children).__name__}")
        return cls([from_config(child) for child in children], name=config.get("name"))
    arguments = config.get("config")
    if not isinstance(arguments, dict):
        raise ValueError(f"the saved {cls.__name__} has no argument object ('config')")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(arguments) - known)
    if unknown:
        raise ValueError(
            f"the saved {cls.__name__} has arguments {unknown} that it does not take (it takes {sorted(known)})"
        )
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in arguments.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ValueError(f"the saved {cls.__name__}{kwargs} cannot be built: {err}") from None
