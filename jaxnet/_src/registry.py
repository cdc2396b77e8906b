"""Name lookup shared by the activation, loss, initializer, metric and optimizer registries."""

from __future__ import annotations

from typing import Callable, Mapping, TypeVar

T = TypeVar("T", bound=Callable)


def resolve(kind: str, value: str | T, registry: Mapping[str, T]) -> T:
    """Return ``value`` if it is callable, else the registry entry named ``value``.

    Arguments:
        kind: what is looked up ("activation", "loss", ...), used in the error message.
        value: a callable or a registered name.
        registry: the names and their callables.

    Returns:
        The callable.

    Raises:
        ValueError: for an unknown name; the message lists the known names.
    """
    if callable(value):
        return value
    if isinstance(value, str) and value in registry:
        return registry[value]
    raise ValueError(f"unknown {kind} {value!r}; use a function or one of: {', '.join(sorted(registry))}")
