"""The seeds' optimizers by name, all from Optax (nothing written by hand).

``get("adam", 1e-3)`` returns an ``optax.GradientTransformation``; any Optax
transformation (or chain) can be passed to ``fit`` directly instead. Learning
rates may be numbers or Optax schedules. Default rates are Keras' defaults.
"""

from __future__ import annotations

from typing import Callable

import optax

# name -> (builder of an Optax transformation from a learning rate, Keras' default learning rate)
REGISTRY: dict[str, tuple[Callable, float]] = {
    "sgd": (lambda lr: optax.sgd(lr), 0.01),
    "momentum": (lambda lr: optax.sgd(lr, momentum=0.9), 0.01),
    "nesterov": (lambda lr: optax.sgd(lr, momentum=0.9, nesterov=True), 0.01),
    "adagrad": (lambda lr: optax.adagrad(lr, initial_accumulator_value=0.1, eps=1e-7), 0.001),
    "rmsprop": (lambda lr: optax.rmsprop(lr, decay=0.9, eps=1e-7), 0.001),
    "adam": (lambda lr: optax.adam(lr, b1=0.9, b2=0.999, eps=1e-7), 0.001),
}


def get(
    optimizer: str | optax.GradientTransformation, learning_rate: float | optax.Schedule | None = None
) -> optax.GradientTransformation:
    """Resolve an optimizer by name, or return a given Optax transformation unchanged.

    Arguments:
        optimizer: "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", or an Optax transformation.
        learning_rate: a number or an Optax schedule; the name's Keras default when None.

    Returns:
        The ``optax.GradientTransformation``.

    Raises:
        ValueError: for an unknown name (the message lists the known ones), or a non-positive rate.
    """
    if isinstance(optimizer, optax.GradientTransformation):
        if learning_rate is not None:
            raise ValueError("learning_rate applies to optimizers given by name; an Optax transformation has its own")
        return optimizer
    if not isinstance(optimizer, str) or optimizer not in REGISTRY:
        raise ValueError(
            f"unknown optimizer {optimizer!r}; use an optax.GradientTransformation or one of: {', '.join(REGISTRY)}"
        )
    build, default = REGISTRY[optimizer]
    if learning_rate is None:
        learning_rate = default
    if not callable(learning_rate) and not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive (or an Optax schedule), got {learning_rate!r}")
    return build(learning_rate)
