"""jaxnet: *Deep Learning from Scratch* and the Keras chapters of the course, as pure JAX functions.

Layers are ``init`` / ``apply`` pairs, models are pytrees of parameters, gradients
come from ``jax.grad`` and training runs on Optax (``fit`` / ``evaluate`` /
``predict``), with a Keras-style face in ``jaxnet.keras``.

The names below are imported on first use (PEP 562), so that ``import jaxnet.layers``
(as the visualizer does) does not load Optax and the trainer.
"""

from __future__ import annotations

import importlib
from typing import Any

from jaxnet._src.prng import use_unrolled_threefry_on_cpu

__version__ = "0.1.0"

# Dropout masks: threefry without its 5-trip loop on XLA:CPU, the same bits (see jaxnet/_src/prng.py).
use_unrolled_threefry_on_cpu()

_SUBMODULES = (
    "activations",
    "callbacks",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "normalization",
    "optimizers",
    "preprocessing",
    "state",
    "zoo",
)
# public name -> the module that defines it
_NAMES = {
    **{
        name: "jaxnet.callbacks"
        for name in ("CSVLogger", "EarlyStopping", "ModelCheckpoint", "TensorBoard", "TerminateOnNaN")
    },
    "load_model": "jaxnet.keras",
    **{
        name: "jaxnet.layers"
        for name in (
            "Activation",
            "AveragePooling2D",
            "AvgPool2D",
            "Concatenate",
            "Conv2D",
            "Dense",
            "Dropout",
            "Flatten",
            "Identity",
            "Layer",
            "MaxPool2D",
            "MaxPooling2D",
            "Maxout",
            "ZeroPadding2D",
        )
    },
    "BatchNormalization": "jaxnet.normalization",
    **{
        name: "jaxnet.preprocessing"
        for name in ("RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom", "Rescaling")
    },
    **{name: "jaxnet.model" for name in ("Branch", "Parallel", "Sequential")},
    **{
        name: "jaxnet.per_example"
        for name in ("clipped_gradient_sum", "dp_sgd_aggregate", "per_example_gradient_norms", "per_example_gradients")
    },
    "count_params": "jaxnet.summary",
    **{name: "jaxnet.train" for name in ("History", "evaluate", "fit", "predict")},
}

__all__ = [*_SUBMODULES, *_NAMES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        value = importlib.import_module(f"jaxnet.{name}")
    elif name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
    else:
        raise AttributeError(f"module 'jaxnet' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
