"""Parameter counting and the Keras-3-style model summary table."""

from __future__ import annotations

import jax
import numpy as np

from jaxnet.layers import Layer, Params, Shape
from jaxnet.state import state_shapes

_WIDTHS = (33, 26, 15)
#: Keras 3's column widths for functional models, which add "Connected to".
_GRAPH_WIDTHS = (21, 19, 12, 19)


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


def _row(cells, left="│", mid="│", right="│", widths=_WIDTHS) -> str:
    """One line of the table; the parameter count (third column) is right-aligned."""
    padded = [f"{c:>{w - 2}}" if i == 2 else f"{c:<{w - 2}}" for i, (c, w) in enumerate(zip(cells, widths))]
    return left + " " + f" {mid} ".join(padded) + " " + right


def _rule(left: str, mid: str, right: str, fill: str, widths=_WIDTHS) -> str:
    return left + mid.join(fill * w for w in widths) + right


def _wrap(text: str, width: int) -> list[str]:
    """Words filled into lines of ``width``, a word too long for a line cut with "…" (as Keras' rich tables)."""
    lines: list[str] = []
    for word in text.split(" "):
        word = word if len(word) <= width else word[: width - 1] + "…"
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _totals(total: int, dtype_bytes: int, frozen: int = 0) -> list[str]:
    """Keras' three closing lines; ``frozen`` counts the non-trainable state (BatchNormalization's statistics)."""
    return [
        f" Total params: {total:,} ({_format_bytes(total * dtype_bytes)})",
        f" Trainable params: {total - frozen:,} ({_format_bytes((total - frozen) * dtype_bytes)})",
        f" Non-trainable params: {frozen:,} ({_format_bytes(frozen * dtype_bytes)})",
    ]


def _dtype_bytes(model, input_shape: Shape) -> int:
    return max((leaf.dtype.itemsize for leaf in jax.tree.leaves(param_shapes(model, input_shape))), default=4)


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
    lines = [
        f'Model: "{model.name or model.default_name}"',
        _rule("┏", "┳", "┓", "━"),
        _row(("Layer (type)", "Output Shape", "Param #"), "┃", "┃", "┃"),
        _rule("┡", "╇", "┩", "━"),
    ]
    for name, layer, shape, count in rows:
        lines.append(_row((f"{name} ({type(layer).__name__})", format_shape(shape), f"{count:,}")))
    lines.append(_rule("└", "┴", "┘", "─"))
    frozen = count_params(state_shapes(model, param_shapes(model, input_shape), input_shape))  # moving statistics
    return "\n".join(lines + _totals(total, _dtype_bytes(model, input_shape), frozen))


def graph_table(model) -> str:
    """The summary text of a functional model, in the layout of Keras 3's, with its "Connected to" column.

    Arguments:
        model: a ``jaxnet.functional.Functional``.

    Returns:
        One row per layer: name (type), output shape (of its first call), parameter count, and every
        ``layer[call][output]`` it was called on (a shared layer lists all its calls).
    """
    widths = _GRAPH_WIDTHS
    in_shapes, total = model.node_input_shapes(), 0
    lines = [
        f'Model: "{model.name or model.default_name}"',
        _rule("┏", "┳", "┓", "━", widths),
        _row(("Layer (type)", "Output Shape", "Param #", "Connected to"), "┃", "┃", "┃", widths),
        _rule("┡", "╇", "┩", "━", widths),
    ]
    for layer_index, (name, layer) in enumerate(zip(model.names, model.layers)):
        calls = [node for node, (index, _) in enumerate(model.nodes) if index == layer_index]
        args = model.nodes[calls[0]][1]
        shape = layer.shape if args is None else layer.output_shape(in_shapes[calls[0]])
        count = 0 if args is None else count_params(param_shapes(layer, in_shapes[calls[0]]))
        total += count
        links = [f"{source}[{call}][{index}]" for node in calls for source, call, index in model.inbound(node)]
        cells = [
            _wrap(f"{name} ({type(layer).__name__})", widths[0] - 2),
            _wrap(format_shape(shape), widths[1] - 2),
            [f"{count:,}"],
            _wrap(", ".join(links) or "-", widths[3] - 2),
        ]
        if layer_index:
            lines.append(_rule("├", "┼", "┤", "─", widths))
        for i in range(max(map(len, cells))):
            lines.append(_row([c[i] if i < len(c) else "" for c in cells], widths=widths))
    lines.append(_rule("└", "┴", "┘", "─", widths))
    input_shapes = tuple(layer.shape for layer in model.input_layers)
    return "\n".join(
        lines + _totals(total, _dtype_bytes(model, input_shapes[0] if len(input_shapes) == 1 else input_shapes))
    )
