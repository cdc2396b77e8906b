"""Architectures as JSON: every jaxnet layer is a frozen dataclass, so its fields are its configuration."""
from __future__ import annotations

import dataclasses

from jaxnet import functional, layers, model

CLASSES = {cls.__name__: cls for cls in (
    layers.Dense, layers.Conv2D, layers.MaxPooling2D, layers.AveragePooling2D, layers.Flatten, layers.Dropout,
    layers.Activation, layers.Identity, layers.Maxout, layers.Concatenate,
    model.Sequential, model.Branch, model.Parallel, functional.InputLayer)}


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
            raise ValueError(f"cannot save {cls}.{f.name}={value!r}: use a registered name (e.g. 'relu') "
                             "instead of a function to make the model saveable")
        config[f.name] = list(value) if isinstance(value, tuple) else value
    return {"class": cls, "config": config}


def from_config(config: dict) -> layers.Layer:
    """Rebuild a layer from ``to_config``'s dict."""
    if config.get("class") == "Functional":
        return functional.Functional.from_config(config, from_config)
    cls = CLASSES.get(config.get("class"))
    if cls is None:
        raise ValueError(f"unknown layer class {config.get('class')!r} in a saved architecture")
    if "layers" in config:
        return cls([from_config(child) for child in config["layers"]], name=config.get("name"))
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in config["config"].items()}
    return cls(**kwargs)
