"""Functional models: a graph of jaxnet layers, built by calling layers on symbolic tensors (Keras' functional API).

    input_ = Input((8,))
    hidden = Dense(30, activation="relu")(input_)
    output = Dense(1)(Concatenate()([input_, hidden]))
    model = Functional(input_, output)          # a layer like any other
    params = model.init(jax.random.key(0), (8,))
    y = model.apply(params, x)

Calling a layer on a ``Tensor`` runs nothing: it records the call and returns a ``Tensor`` of the
output shape. ``Functional`` turns the calls between its inputs and outputs into a fixed list of
nodes in execution order and is itself a jaxnet layer (``init``/``output_shape``/``apply``), so
``jaxnet.fit``, the summary, ``plot_model`` and jaxpr graphs take it as they take a Sequential.
Its parameters are ``{layer_name: layer_params}``; a layer called twice is one set of weights.
A model with several inputs takes a tuple or list in the order of its inputs, or a dict keyed by
the inputs' names; one with several outputs returns a tuple.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, cast

import jax

from jaxnet import summary as summary_lib
from jaxnet.layers import Layer, Params, Shape, check_shape
from jaxnet.model import unique_names


@dataclass(frozen=True)
class InputLayer(Layer):
    """The placeholder a model's input comes from; ``Input(shape)`` makes one and returns its tensor."""

    shape: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "shape", check_shape(self.shape))

    def output_shape(self, input_shape):
        return self.shape

    def apply(self, params, x, *, key=None, training=False):
        return x


@dataclass(frozen=True)
class Ref:
    """A reference to the value of a node: its ``index``-th output when the layer returns a tuple."""

    node: int
    index: int | None = None


@dataclass(frozen=True, eq=False)
class _Call:
    """One call of a layer on tensors: ``args`` is a Tensor or a list/tuple of Tensors (None for an input)."""

    layer: Layer
    args: Any


@dataclass(frozen=True, eq=False)
class Tensor:
    """A symbolic tensor: one example's ``shape`` and the call that produces it (output ``index`` of a tuple)."""

    shape: tuple
    call: _Call
    index: int | None = None

    def __repr__(self) -> str:
        return f"<Tensor shape=(None, {', '.join(map(str, self.shape))}) from {type(self.call.layer).__name__}>"


def Input(shape: Sequence[int], name: str | None = None, dtype: Any = None) -> Tensor:  # noqa: N802 (Keras' name)
    """A model input: the tensor that layers are first called on.

    Arguments:
        shape: one example's shape, without the batch axis (``(784,)``, ``(28, 28, 1)``).
        name: the input's name (a multi-input model takes a dict keyed by these names).
        dtype: accepted for Keras' signature; the data's dtype is used.

    Returns:
        The input's ``Tensor``.
    """
    del dtype
    layer = InputLayer(shape=tuple(shape), name=name)
    return Tensor(layer.shape, _Call(layer, None))


def _map_args(fn: Callable, args: Any) -> Any:
    """Apply ``fn`` to each tensor of a call's arguments, keeping lists and tuples."""
    if isinstance(args, (list, tuple)):
        return type(args)(fn(a) for a in args)
    return fn(args)


def _tensors(args: Any) -> list:
    return list(args) if isinstance(args, (list, tuple)) else [args]


def call(layer: Layer, args: Any) -> Tensor | tuple[Tensor, ...]:
    """Record ``layer(args)`` on symbolic tensors (what ``Layer.__call__`` does).

    Arguments:
        layer: any jaxnet layer or model.
        args: a ``Tensor``, or a list/tuple of them (Concatenate, a Parallel, a multi-input model).

    Returns:
        The output ``Tensor``, or a tuple of them for a layer with several outputs.

    Raises:
        TypeError: if ``args`` holds anything but tensors (layers run on arrays through ``apply``).
        ValueError: if the layer does not accept the tensors' shapes.
    """
    for arg in _tensors(args):
        if not isinstance(arg, Tensor):
            raise TypeError(
                f"{type(layer).__name__} was called on {type(arg).__name__}; calling a layer builds a "
                "functional model and takes tensors from keras.Input(shape) or other layer calls. "
                "To run a layer on data, use layer.apply(params, x) or build a model"
            )
    shape = layer.output_shape(_map_args(lambda t: t.shape, args))
    node = _Call(layer, args)
    if shape and isinstance(shape[0], tuple):  # a layer with several outputs (Branch, Parallel, a model)
        return tuple(Tensor(s, node, i) for i, s in enumerate(shape))
    return Tensor(shape, node)


def _structure(tensors: Any) -> tuple[list, bool | str | tuple]:
    """The tensors of Keras' ``inputs=``/``outputs=`` (one, a list or a dict) and how to rebuild that form."""
    if isinstance(tensors, Tensor):
        return [tensors], True
    if isinstance(tensors, dict):
        return list(tensors.values()), tuple(tensors)
    return list(tensors), False


@dataclass(frozen=True, init=False, eq=False)
class Functional(Layer):
    """A directed acyclic graph of layers from input tensors to output tensors.

    Arguments:
        inputs: the input tensor(s) (``Input(...)``): one, a list, or a dict keyed by name.
        outputs: the output tensor(s): one or a list (the model then returns a tuple).
        name: the model's name.

    Attributes:
        layers, names: every layer (inputs first) and its unique name, in execution order.
        nodes: ``(layer index, arguments)`` per call; the arguments are a ``Ref`` or a list/tuple of them,
            None for an input node.
        outputs: the output ``Ref``s.
    """

    layers: tuple = field(default=())
    nodes: tuple = field(default=())
    outputs: tuple = field(default=())
    single_output: bool = True

    def __init__(self, inputs: Any = None, outputs: Any = None, *, name: str | None = None, graph: dict | None = None):
        object.__setattr__(self, "name", name)
        if graph is None:
            graph = _trace(inputs, outputs)
        for key, value in graph.items():
            object.__setattr__(self, key, value)
        self.names: tuple[str, ...]  # declared for type checkers; not dataclass fields (fields are the config)
        self.num_inputs: int
        object.__setattr__(self, "names", unique_names(self.layers))
        object.__setattr__(self, "num_inputs", sum(1 for _, args in self.nodes if args is None))

    @property
    def default_name(self) -> str:
        return "functional"

    @property
    def input_layers(self) -> list[InputLayer]:
        """The InputLayers, in the order the model takes its inputs."""
        return list(self.layers[: self.num_inputs])

    @property
    def input_names(self) -> list[str]:
        return list(self.names[: self.num_inputs])

    def _input_shapes(self) -> tuple:
        shapes = tuple(layer.shape for layer in self.input_layers)
        return shapes[0] if self.num_inputs == 1 else shapes

    def _check_input_shape(self, input_shape: Any) -> None:
        """Raise unless ``input_shape`` (one shape, a tuple of shapes, or a dict by input name) is the inputs'."""
        given = input_shape
        if isinstance(given, dict):
            given = tuple(given.get(n, ()) for n in self.input_names)
        given = check_shape(given) if given else given
        if self.num_inputs == 1 and given and isinstance(given[0], tuple) and len(given) == 1:
            given = given[0]
        if given != self._input_shapes():
            raise ValueError(
                f"{self.name or self.default_name} was built for input shape {self._input_shapes()}, "
                f"got {input_shape!r}"
            )

    def node_input_shapes(self) -> list:
        """The shape (tree) of each node's arguments, from the input shapes alone."""
        shapes: list = []
        for layer_index, args in self.nodes:
            shapes.append(None if args is None else _map_args(lambda r: self._shape_of(r, shapes), args))
        return shapes

    def _shape_of(self, ref: Ref, in_shapes: list):
        node, index = ref.node, ref.index
        layer_index, args = self.nodes[node]
        layer = self.layers[layer_index]
        shape = layer.shape if args is None else layer.output_shape(in_shapes[node])
        return shape if index is None else shape[index]

    def output_shape(self, input_shape):
        self._check_input_shape(input_shape)
        in_shapes = self.node_input_shapes()
        shapes = tuple(self._shape_of(ref, in_shapes) for ref in self.outputs)
        return shapes[0] if self.single_output else shapes

    def init(self, key: jax.Array, input_shape: Shape) -> Params:
        """Create ``{layer_name: params}``, each layer built for the shape of its first call.

        Arguments:
            key: a PRNG key.
            input_shape: the model's input shape (a tuple of shapes, or a dict by name, for several inputs).

        Returns:
            The parameter dict, in execution order.
        """
        self._check_input_shape(input_shape)
        in_shapes = self.node_input_shapes()
        first_call: dict[int, Any] = {}
        for node, (layer_index, args) in enumerate(self.nodes):
            if args is not None:
                first_call.setdefault(layer_index, in_shapes[node])
        keys = jax.random.split(key, len(self.layers))
        return {
            name: (layer.init(keys[i], first_call[i]) if i in first_call else {})
            for i, (name, layer) in enumerate(zip(self.names, self.layers))
        }

    def _ordered_inputs(self, x: Any) -> list:
        if isinstance(x, dict):
            missing = [n for n in self.input_names if n not in x]
            if missing:
                raise ValueError(f"the input dict lacks {missing}; this model's inputs are {self.input_names}")
            return [x[n] for n in self.input_names]
        if self.num_inputs == 1:
            return list(x) if isinstance(x, (tuple, list)) and len(x) == 1 else [x]
        if not isinstance(x, (tuple, list)) or len(x) != self.num_inputs:
            raise ValueError(
                f"this model takes {self.num_inputs} inputs ({', '.join(self.input_names)}): pass a "
                f"tuple or list of {self.num_inputs} arrays, or a dict keyed by those names; "
                f"got {type(x).__name__}"
            )
        return list(x)

    def apply(self, params, x, *, key=None, training=False):
        """Run the nodes in order (see ``apply_with_state``) and return the output(s) only."""
        return self.apply_with_state(params, x, key=key, training=training)[0]

    def apply_with_state(self, params, x, *, key=None, training=False, mask=None):
        """Run the nodes in order; each layer call gets its own split of ``key``.

        Returns:
            ``(outputs, state)``: the state (BatchNormalization's moving statistics, see ``jaxnet.state``) keyed
            by layer name; a layer called more than once keeps its last call's state.
        """
        values: list = []
        state: dict = {}
        inputs = iter(self._ordered_inputs(x))
        keys = [None] * len(self.nodes) if key is None else list(jax.random.split(key, len(self.nodes)))
        for (layer_index, args), k in zip(self.nodes, keys):
            if args is None:
                values.append(next(inputs))
                continue
            name, layer = self.names[layer_index], self.layers[layer_index]
            with jax.named_scope(name):  # groups the layer's operations in jaxprs and profiles
                y, layer_state = layer.apply_with_state(
                    params[name], _map_args(lambda r: _value(values, r), args), key=k, training=training, mask=mask
                )
            values.append(y)
            if layer_state:
                state[name] = layer_state
        outputs = tuple(_value(values, ref) for ref in self.outputs)
        return (outputs[0] if self.single_output else outputs), state

    def inbound(self, node: int) -> list[tuple[str, int, int]]:
        """Keras' "Connected to" of a node: ``(layer name, call index, output index)`` per argument."""
        calls: dict[int, int] = {}
        numbering = []  # the how-many-th call of its layer each node is
        for layer_index, _ in self.nodes:
            numbering.append(calls.get(layer_index, 0))
            calls[layer_index] = numbering[-1] + 1
        args = self.nodes[node][1]
        return [(self.names[self.nodes[r.node][0]], numbering[r.node], r.index or 0) for r in _tensors(args or [])]

    def summary(self) -> str:
        """The Keras-3-style summary table, with the "Connected to" column, as text."""
        return summary_lib.graph_table(self)

    def to_config(self, layer_config: Callable[[Layer], dict]) -> dict:
        """The graph as JSON-serialisable data, each layer written by ``layer_config``."""

        def refs(args):
            return None if args is None else _map_args(lambda r: [r.node, r.index], args)

        return {
            "class": "Functional",
            "name": self.name,
            "layers": [layer_config(child) for child in self.layers],
            "nodes": [[index, refs(args), isinstance(args, Ref)] for index, args in self.nodes],
            "outputs": [[r.node, r.index] for r in self.outputs],
            "single_output": self.single_output,
        }

    @classmethod
    def from_config(cls, config: dict, layer_from_config: Callable[[dict], Layer]) -> "Functional":
        """Rebuild the model that ``to_config`` wrote."""
        nodes = tuple(
            (index, None if args is None else Ref(*args) if single else [Ref(*r) for r in args])
            for index, args, single in config["nodes"]
        )
        graph = {
            "layers": tuple(layer_from_config(child) for child in config["layers"]),
            "nodes": nodes,
            "outputs": tuple(Ref(*r) for r in config["outputs"]),
            "single_output": config["single_output"],
        }
        return cls(name=config.get("name"), graph=graph)


def _value(values: list, ref: Ref) -> Any:
    return values[ref.node] if ref.index is None else values[ref.node][ref.index]


def _trace(inputs: Any, outputs: Any) -> dict:
    """Walk back from ``outputs`` to ``inputs`` and number every call in execution order.

    Raises:
        ValueError: for an input that is not a ``keras.Input`` tensor, or an output that depends on an
            input missing from ``inputs``.
    """
    input_tensors, _ = _structure(inputs)
    output_tensors, single = _structure(outputs)
    for t in [*input_tensors, *output_tensors]:
        if not isinstance(t, Tensor):
            raise TypeError(f"Model inputs and outputs must be tensors (from keras.Input and layer calls), got {t!r}")
    for t in input_tensors:
        if not isinstance(t.call.layer, InputLayer):
            raise ValueError(f"the model inputs must be keras.Input tensors, got the output of {t.call.layer!r}")
    order: dict[int, int] = {id(t.call): i for i, t in enumerate(input_tensors)}
    calls: list[_Call] = [t.call for t in input_tensors]

    def visit(call_: _Call) -> None:
        if id(call_) in order:
            return
        if call_.args is None:
            raise ValueError(
                f"an output depends on the input {call_.layer.name or '(unnamed)'} of shape "
                f"{cast(InputLayer, call_.layer).shape}, which is not among the model's inputs; add it to inputs="
            )
        for t in _tensors(call_.args):
            visit(t.call)
        order[id(call_)] = len(calls)
        calls.append(call_)

    for t in output_tensors:
        visit(t.call)
    layer_ids: dict[int, int] = {}
    layers: list[Layer] = []
    nodes = []
    for call_ in calls:
        if id(call_.layer) not in layer_ids:
            layer_ids[id(call_.layer)] = len(layers)
            layers.append(call_.layer)
        args = None if call_.args is None else _map_args(lambda t: Ref(order[id(t.call)], t.index), call_.args)
        nodes.append((layer_ids[id(call_.layer)], args))
    refs = tuple(Ref(order[id(t.call)], t.index) for t in output_tensors)
    return {
        "layers": tuple(layers),
        "nodes": tuple(nodes),
        "outputs": refs,
        "single_output": single is True or (single is False and len(refs) == 1),
    }
