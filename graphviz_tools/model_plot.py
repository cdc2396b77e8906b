"""``plot_model`` for jaxnet models, in the manner of Keras' ``keras.utils.plot_model``."""
from __future__ import annotations

import html

import graphviz

from graphviz_tools.render import check_rankdir
from jaxnet import activations
from jaxnet.layers import Layer, Shape
from jaxnet.model import Branch, Parallel, Sequential
from jaxnet.summary import count_params, format_shape, param_shapes


class _ModelPlot:
    def __init__(self, show_shapes: bool, show_layer_names: bool, show_activations: bool):
        self.show_shapes, self.show_layer_names, self.show_activations = show_shapes, show_layer_names, show_activations
        self.dot = graphviz.Digraph(name="model")
        self.count = 0
        self.top = None  # the model being drawn; Sequentials inside it are nested ones

    def box(self, title: list[str], input_shape, output_shape, params: int | None) -> str:
        """One layer's node: a table with its name (class), shapes and parameter count.

        Each fact is its own table row: a "\n" inside an HTML-like label is dropped by Graphviz.
        """
        self.count += 1
        node_id = f"layer{self.count}"
        rows = [f'<tr><td colspan="2" bgcolor="#dde6f5"><b>{html.escape(title[0])}</b></td></tr>']
        rows += [f'<tr><td colspan="2">{html.escape(line)}</td></tr>' for line in title[1:]]
        if self.show_shapes:
            if input_shape is not None:
                rows.append(f"<tr><td>Input shape</td><td>{html.escape(format_shape(input_shape))}</td></tr>")
            rows.append(f"<tr><td>Output shape</td><td>{html.escape(format_shape(output_shape))}</td></tr>")
        if params is not None:
            rows.append(f"<tr><td>Params</td><td>{params:,}</td></tr>")
        table = f'<<table border="0" cellborder="1" cellspacing="0" cellpadding="4">{"".join(rows)}</table>>'
        self.dot.node(node_id, table, shape="plaintext")
        return node_id

    def title(self, name: str, layer: Layer) -> list[str]:
        """The rows naming a layer: "name (Class)", then its activation if asked for."""
        rows = [f"{name} ({type(layer).__name__})" if self.show_layer_names else type(layer).__name__]
        activation = getattr(layer, "activation", None)
        if self.show_activations and activation is not None:
            rows.append(f"activation: {activations.name_of(activation)}")
        return rows

    def draw(self, name: str, layer: Layer, shape: Shape, inputs: list[str],
             prefix: str = "") -> tuple[list[str], Shape]:
        """Draw ``layer`` fed by the nodes ``inputs``; returns its output nodes and output shape.

        ``prefix`` is the path of the nested models around it ("deep/"), so that two
        layers called "dense" in different models do not draw as the same name.
        """
        if isinstance(layer, Sequential):
            if not prefix and self.top is None:  # the model itself: its layers are drawn bare
                self.top = layer
                for child_name, child in zip(layer.names, layer.layers):
                    inputs, shape = self.draw(child_name, child, shape, inputs)
                return inputs, shape
            # a nested model: a labelled cluster around its layers, whose names carry its own
            outer = self.dot
            with outer.subgraph(name=f"cluster_{self.count}") as sub:
                sub.attr(label=f"{prefix}{name} ({type(layer).__name__})", style="rounded,dashed", fontname="Helvetica")
                self.dot = sub
                for child_name, child in zip(layer.names, layer.layers):
                    inputs, shape = self.draw(child_name, child, shape, inputs, f"{prefix}{name}/")
                self.dot = outer
            return inputs, shape
        if isinstance(layer, (Branch, Parallel)):
            outputs, shapes = [], []
            child_shapes = layer.child_input_shapes(shape)
            for i, (child_name, child, child_shape) in enumerate(zip(layer.names, layer.layers, child_shapes)):
                child_inputs = inputs if isinstance(layer, Branch) else [inputs[i]]
                out, out_shape = self.draw(child_name, child, child_shape, child_inputs, prefix)
                outputs += out
                shapes.append(out_shape)
            return outputs, tuple(shapes)
        out_shape = layer.output_shape(shape)
        node = self.box(self.title(prefix + name, layer), shape, out_shape, count_params(param_shapes(layer, shape)))
        for src in inputs:
            self.dot.edge(src, node)
        return [node], out_shape


def plot_model(model: Sequential, input_shape: Shape, *, show_shapes: bool = True, show_layer_names: bool = True,
               show_activations: bool = False, rankdir: str = "TB") -> graphviz.Digraph:
    """Draw a jaxnet model: one box per layer with its name, class, input/output shapes and parameter count.

    Arguments:
        model: a Sequential (Branch and Parallel inside it are drawn as forks).
        input_shape: one example's shape without the batch axis; a tuple of shapes for several inputs.
        show_shapes: print input and output shapes in each box.
        show_layer_names: print the layer names beside their classes.
        show_activations: print each layer's activation.
        rankdir: "TB" (Keras' default) or "LR".

    Returns:
        The ``graphviz.Digraph`` (inline in Jupyter; write it with ``graphviz_tools.render``).
    """
    check_rankdir(rankdir)
    input_shape = tuple(input_shape)
    plot = _ModelPlot(show_shapes, show_layer_names, show_activations)
    plot.dot.attr(rankdir=rankdir, fontname="Helvetica")
    plot.dot.attr("node", fontname="Helvetica", fontsize="11")
    several = isinstance(model.layers[0], Parallel) if model.layers else False
    shapes = input_shape if several else (input_shape,)
    inputs = []
    for i, shape in enumerate(shapes):
        plot.count += 1
        node_id = f"input{i}"
        plot.dot.node(node_id, f"input_{i} (InputLayer)\n{format_shape(shape)}" if show_shapes
                      else f"input_{i} (InputLayer)", shape="box", style="rounded")
        inputs.append(node_id)
    plot.draw(model.name or "sequential", model, input_shape, inputs)
    return plot.dot
