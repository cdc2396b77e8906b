"""``plot_model`` for jaxnet models, with the arguments, rows and look of Keras 3's ``keras.utils.plot_model``.

Each layer is a box: a black title row "name (Class)", then one row per fact asked for ("Activation: relu",
"Input shape: (None, 784)", "Output shape: (None, 128)", "Output dtype: float32"), as Keras writes them.
Nested Sequential / Branch / Parallel containers are one box each, or, with ``expand_nested=True``, a dashed
cluster named after them around their own layers. Boxes inside containers are titled with their parameter
path ("deep/dense"), so that two layers named "dense" in different containers never read the same.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from graphviz_tools.render import Digraph, check_rankdir
from jaxnet import activations
from jaxnet.functional import Functional
from jaxnet.layers import Layer, Shape
from jaxnet.model import Branch, Parallel, Sequential
from jaxnet.summary import count_params, format_shape, param_shapes

CONTAINERS = (Sequential, Branch, Parallel, Functional)
SPLINES = ("ortho", "curved", "polyline", "spline", "line", "true", "false", "none")


@dataclass(frozen=True)
class _Facts:
    """Which rows the boxes show."""

    show_shapes: bool
    show_dtype: bool
    show_layer_names: bool
    show_layer_activations: bool
    show_params: bool


def _box_label(title: str, rows: list[str]) -> str:
    """Keras' box: a black header with the white, bold title, then one white row per fact."""
    header = f'<font color="white" point-size="14"><b>{html.escape(title)}</b></font>'
    cells = [f'<tr><td bgcolor="black">{header}</td></tr>']
    cells += [f'<tr><td bgcolor="white">{html.escape(row)}</td></tr>' for row in rows]
    return f'<<table border="0" cellborder="1" cellspacing="0" cellpadding="6">{"".join(cells)}</table>>'


def _output_dtype(layer: Layer, shape: Shape, dtype):
    """The dtype ``layer`` returns for inputs of ``dtype`` (a tuple of them for several inputs), traced, not run."""
    several = bool(shape) and isinstance(shape[0], tuple)
    inputs = (
        tuple(jax.ShapeDtypeStruct((1, *s), d) for s, d in zip(shape, dtype))
        if several
        else jax.ShapeDtypeStruct((1, *shape), dtype)
    )
    out = jax.eval_shape(lambda p, x: layer.apply(p, x), param_shapes(layer, shape), inputs)
    dtypes = tuple(leaf.dtype for leaf in jax.tree.leaves(out))
    return dtypes[0] if not isinstance(out, tuple) else dtypes


def _dtype_text(dtype) -> str:
    return f"[{', '.join(str(d) for d in dtype)}]" if isinstance(dtype, tuple) else str(dtype)


class _ModelPlot:
    def __init__(self, facts: _Facts, expand_nested: bool):
        self.facts, self.expand_nested = facts, expand_nested
        self.dot = Digraph(name="model")
        self.count = 0

    def box(self, graph, title: str, rows: list[str], tooltip: str) -> str:
        self.count += 1
        node_id = f"layer{self.count}"
        graph.node(node_id, _box_label(title, rows), shape="plaintext", tooltip=tooltip)
        return node_id

    def input_box(self, graph, name: str, shape: Shape, dtype) -> str:
        """Keras' InputLayer box: only an output shape (and dtype)."""
        rows = [f"Output shape: {format_shape(shape)}"] if self.facts.show_shapes else []
        rows += [f"Output dtype: {jnp.dtype(dtype)}"] if self.facts.show_dtype else []
        title = f"{name} (InputLayer)" if self.facts.show_layer_names else "InputLayer"
        return self.box(graph, title, rows, "\\n".join([f"{name} (InputLayer)", *rows]))

    def rows(self, layer: Layer, shape, out_shape, dtype, out_dtype) -> list[str]:
        """One row per fact, worded as Keras 3 words them."""
        rows = []
        if self.facts.show_layer_activations and hasattr(layer, "activation"):
            rows.append(f"Activation: {activations.name_of(layer.activation)}")
        if self.facts.show_shapes:
            if shape is not None:
                rows.append(f"Input shape: {format_shape(shape)}")
            rows.append(f"Output shape: {format_shape(out_shape)}")
        if self.facts.show_dtype:
            rows.append(f"Output dtype: {_dtype_text(out_dtype)}")
        if self.facts.show_params and shape is not None:
            rows.append(f"Params: {count_params(param_shapes(layer, shape)):,}")
        return rows

    def draw(self, graph, path: str, layer: Layer, shape: Shape, dtype, inputs: list[str]):
        """Draw ``layer`` (called ``path``) fed by the nodes ``inputs``; returns (output nodes, shape, dtype)."""
        kind = type(layer).__name__
        title = f"{path} ({kind})" if self.facts.show_layer_names else kind
        if isinstance(layer, CONTAINERS) and self.expand_nested:
            with graph.subgraph(name="cluster_" + path.replace("/", "__")) as sub:
                sub.attr(label=title, style="dashed", labeljust="l", fontname="Helvetica")
                return self.children(sub, path + "/", layer, shape, dtype, inputs)
        out_shape = layer.output_shape(shape)
        out_dtype = _output_dtype(layer, shape, dtype) if self.facts.show_dtype else None
        rows = self.rows(layer, shape, out_shape, dtype, out_dtype)
        node = self.box(graph, title, rows, "\\n".join([f"{path} ({kind})", *rows]))
        for src in inputs:  # in the top graph: a node named in a cluster's edge would join that cluster
            self.dot.edge(src, node)
        return [node], out_shape, out_dtype

    def children(self, graph, prefix: str, container, shape, dtype, inputs: list[str]):
        """A container's layers: chained for a Sequential, side by side for a Branch or Parallel, as called
        for a functional model."""
        if isinstance(container, Functional):
            return self.graph(graph, prefix, container, dtype, inputs)
        if isinstance(container, Sequential):
            for name, child in zip(container.names, container.layers):
                inputs, shape, dtype = self.draw(graph, prefix + name, child, shape, dtype, inputs)
            return inputs, shape, dtype
        outputs, shapes, dtypes = [], [], []
        child_dtypes = dtype if isinstance(container, Parallel) else [dtype] * len(container.layers)
        for i, (name, child, child_shape) in enumerate(
            zip(container.names, container.layers, container.child_input_shapes(shape))
        ):
            child_inputs = inputs if isinstance(container, Branch) else [inputs[i]]
            out, out_shape, out_dtype = self.draw(
                graph,
                prefix + name,
                child,
                child_shape,
                child_dtypes[i] if self.facts.show_dtype else None,
                child_inputs,
            )
            outputs += out
            shapes.append(out_shape)
            dtypes.append(out_dtype)
        return outputs, tuple(shapes), tuple(dtypes)

    def graph(self, graph, prefix: str, model: Functional, dtype, inputs: list[str]):
        """A functional model's calls, each fed by the boxes of its arguments; its InputLayers are drawn as
        Keras' input boxes unless ``inputs`` feeds them. Returns (output nodes, shapes, dtypes)."""
        in_shapes, values, dtypes = model.node_input_shapes(), [], []
        feed, input_dtypes = iter(inputs), iter(dtype if model.num_inputs > 1 else (dtype,))
        for node, (layer_index, args) in enumerate(model.nodes):
            name, layer = model.names[layer_index], model.layers[layer_index]
            if args is None:
                fed, input_dtype = next(feed, None), next(input_dtypes)
                values.append([fed or self.input_box(graph, prefix + name, layer.shape, input_dtype)])
                dtypes.append(input_dtype)
                continue
            refs = list(args) if isinstance(args, (list, tuple)) else [args]
            sources = [src for r in refs for src in _pick(values, r)]
            arg_dtypes = [_pick_dtype(dtypes, r) for r in refs]
            out, _, out_dtype = self.draw(
                graph,
                prefix + name,
                layer,
                in_shapes[node],
                tuple(arg_dtypes) if isinstance(args, (list, tuple)) else arg_dtypes[0],
                sources,
            )
            values.append(out)
            dtypes.append(out_dtype)
        outputs = [src for r in model.outputs for src in _pick(values, r)]
        out_dtypes = tuple(_pick_dtype(dtypes, r) for r in model.outputs)
        shape = model.output_shape(
            tuple(layer.shape for layer in model.input_layers) if model.num_inputs > 1 else model.input_layers[0].shape
        )
        return outputs, shape, out_dtypes[0] if model.single_output else out_dtypes


def _pick(values: list, ref) -> list:
    """The boxes a reference reads: one output of a layer drawn as several boxes, else all its boxes."""
    boxes = values[ref.node]
    return [boxes[ref.index]] if ref.index is not None and len(boxes) > 1 else boxes


def _pick_dtype(dtypes: list, ref):
    dtype = dtypes[ref.node]
    return dtype[ref.index] if ref.index is not None and isinstance(dtype, tuple) else dtype


def plot_model(
    model: Sequential | Functional,
    input_shape: Shape,
    *,
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = True,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    show_layer_activations: bool = False,
    show_params: bool = False,
    splines: str = "ortho",
    input_dtype=jnp.float32,
) -> Digraph:
    """Draw a jaxnet model as Keras 3's ``plot_model`` draws a Keras one, and return the graph.

    Arguments:
        model: a Sequential (Branch, Parallel and Sequential may nest inside it) or a functional model.
        input_shape: one example's shape without the batch axis; a tuple of shapes when the first layer is
            a Parallel taking several inputs.
        show_shapes: rows "Input shape: (None, ...)" and "Output shape: (None, ...)".
        show_dtype: a row "Output dtype: float32" (traced with ``jax.eval_shape``, nothing is computed).
        show_layer_names: title the boxes "name (Class)" rather than "Class".
        rankdir: "TB" (Keras' default) or "LR", "BT", "RL".
        expand_nested: draw nested containers as clusters around their layers (else one box each).
        dpi: resolution of PNG output (Keras' default 200); SVG, PDF and HTML are drawn at scale.
        show_layer_activations: a row "Activation: relu" for layers with an activation.
        show_params: a row "Params: 1,234" (not in Keras' plot, which leaves counts to ``summary``).
        splines: how edges are drawn: "ortho" (Keras' right angles), "curved", "polyline", "spline", "line".
        input_dtype: the dtype of the input, for ``show_dtype``.

    Returns:
        The Digraph (inline in Jupyter; ``graphviz_tools.render`` writes it to .png, .svg, .html ...).
    """
    check_rankdir(rankdir)
    if splines not in SPLINES:
        raise ValueError(f"splines must be one of {', '.join(SPLINES)}, got {splines!r}")
    if not isinstance(dpi, (int, float)) or dpi <= 0:
        raise ValueError(f"dpi must be a positive number, got {dpi!r}")
    if not isinstance(model, (Sequential, Functional)):
        raise TypeError(
            f"plot_model draws a jaxnet Sequential or functional model, got {type(model).__name__}: "
            "wrap the layer in Sequential([...])"
        )
    input_shape = tuple(input_shape)
    plot = _ModelPlot(
        _Facts(show_shapes, show_dtype, show_layer_names, show_layer_activations, show_params), expand_nested
    )
    plot.dot.dpi = dpi  # PNG resolution, given to dot by render (see render.Digraph)
    plot.dot.attr(rankdir=rankdir, splines=splines, concentrate="true", fontname="Helvetica")
    plot.dot.attr("node", fontname="Helvetica", fontsize="12")
    plot.dot.attr("edge", penwidth="2")
    if isinstance(model, Functional):  # its InputLayers are drawn with their own names
        dtypes = tuple(jnp.dtype(input_dtype) for _ in model.input_layers)
        plot.graph(plot.dot, "", model, dtypes if model.num_inputs > 1 else dtypes[0], [])
        return plot.dot
    several = bool(model.layers) and isinstance(model.layers[0], Parallel)
    shapes = input_shape if several else (input_shape,)
    inputs = []
    for i, shape in enumerate(shapes):  # Keras' InputLayer boxes: only an output shape
        inputs.append(plot.input_box(plot.dot, "input_layer" + (f"_{i}" if i else ""), shape, input_dtype))
    dtype = tuple([jnp.dtype(input_dtype)] * len(shapes)) if several else jnp.dtype(input_dtype)
    plot.children(plot.dot, "", model, input_shape, dtype, inputs)
    return plot.dot
