"""graphviz_tools: draw how neural networks compute their gradients.

- ``Var`` (``graphviz_tools.autograd``): a miniature tracing autograd;
- ``examples``: the book's apple / orange / sigmoid / affine / softmax-with-loss graphs;
- ``to_digraph`` / ``render``: the book's drawing style, written to SVG, PNG, PDF or DOT;
- ``jaxpr_graph``: the jaxpr of any JAX function;
- ``backprop_graph``: the book's backward picture of any JAX function (``examples_jax``: the book's
  figures from plain ``jax.numpy``); ``grad_graph`` is its deprecated name;
- ``plot_model``: Keras-style plots of jaxnet models;
- ``export_model_explorer``: graphs too big for Graphviz, for Google's Model Explorer.
"""

from graphviz_tools import examples, examples_jax
from graphviz_tools.autograd import Var, exp, log, relu, sigmoid, tanh
from graphviz_tools.backprop_graph import backprop_graph
from graphviz_tools.examples import EXAMPLES, affine, apple, apple_orange, softmax_loss, two_layer
from graphviz_tools.jaxpr import grad_graph, jaxpr_graph
from graphviz_tools.model_explorer import export_model_explorer
from graphviz_tools.model_plot import plot_model
from graphviz_tools.render import GraphvizNotInstalled, render, require_dot, to_digraph

__all__ = [
    "affine",
    "apple",
    "apple_orange",
    "backprop_graph",
    "EXAMPLES",
    "examples",
    "examples_jax",
    "exp",
    "export_model_explorer",
    "grad_graph",
    "GraphvizNotInstalled",
    "jaxpr_graph",
    "log",
    "plot_model",
    "relu",
    "render",
    "require_dot",
    "sigmoid",
    "softmax_loss",
    "tanh",
    "to_digraph",
    "two_layer",
    "Var",
]
