"""Parameter counting and the Keras-3-style model summary table."""
from __future__ import annotations

import jax
import numpy as np

from jaxnet.layers import Layer, Params, Shape
from jaxnet.state import state_shapes

_WIDTHS = (33, 26, 15)


def count_params(params: Params) -> int:
    """Number of scalar parameters in a pytree (of arrays or ShapeDtypeStructs)."""
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(params))


def param_shapes(layer: Layer, input_shape: Shape) -> Params:
    """A layer's parameter pytree as ShapeDtypeStructs, computed without allocating any array."""
    return jax.eval_shape(lambda key: layer.init(key, input_shape), jax.random.key(0))


def format_shape(shape) -> str:
    """Keras' notation with the batch axis as None: (None, 28, 28, 1); tuples of shapes for multi-output layers."""
    if shape and isinstance(shape[0], tuple):
        return "[" + ", ".join(format_shape(s) for s in shape) + "]"
    return "(" + ", ".join(["None", *map(str, shape)]) + ")"


def _format_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _row(cells, left="│", mid="│", right="│") -> str:
    name, shape, count = cells
    return (f"{left} {name:<{_WIDTHS[0] - 2}} {mid} {shape:<{_WIDTHS[1] - 2}} {mid} "
            f"{count:>{_WIDTHS[2] - 2}} {right}")


def _rule(left: str, mid: str, right: str, fill: str) -> str:
    return left + mid.join(fill * w for w in _WIDTHS) + right


def layer_table(model, input_shape: Shape) -> list[tuple[str, Layer, Shape, int]]:
    """One row per child of ``model``: (name, layer, output shape, parameter count), without allocating."""
    rows = []
    for name, layer, shape in zip(model.names, model.layers, model.child_input_shapes(input_shape)):
        rows.append((name, layer, layer.output_shape(shape), count_params(param_shapes(layer, shape))))
    return rows


def summary_table(model, input_shape: Shape) -> str:
    """The summary text of a container model, in the layout of Keras 3's ``model.summary()``.

    Arguments:
        model: a Sequential (anything with ``names``, ``layers`` and ``child_input_shapes``).
        input_shape: one example's shape, without the batch axis.

    Returns:
        The table, then Total / Trainable / Non-trainable params with thousands separators and sizes.
    """
    rows = layer_table(model, input_shape)
    total = sum(r[3] for r in rows)
    shapes = param_shapes(model, input_shape)
    frozen = count_params(state_shapes(model, shapes, input_shape))  # BatchNormalization's moving statistics
    dtype_bytes = max((leaf.dtype.itemsize for leaf in jax.tree.leaves(shapes)), default=4)
    lines = [f'Model: "{model.name or model.default_name}"',
             _rule("┏", "┳", "┓", "━"),
             _row(("Layer (type)", "Output Shape", "Param #"), "┃", "┃", "┃"),
             _rule("┡", "╇", "┩", "━")]
    for name, layer, shape, count in rows:
        lines.append(_row((f"{name} ({type(layer).__name__})", format_shape(shape), f"{count:,}")))
    lines.append(_rule("└", "┴", "┘", "─"))
    lines += [f" Total params: {total:,} ({_format_bytes(total * dtype_bytes)})",
              f" Trainable params: {total - frozen:,} ({_format_bytes((total - frozen) * dtype_bytes)})",
              f" Non-trainable params: {frozen:,} ({_format_bytes(frozen * dtype_bytes)})"]
    return "\n".join(lines)
