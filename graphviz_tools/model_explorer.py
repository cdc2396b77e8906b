"""Export graphs too big for Graphviz to Google's Model Explorer (``pip install -e '.[explorer]'``).

Model Explorer lays out and draws graphs of tens of thousands of nodes in the browser (WebGL), opening
one layer at a time; its built-in JSON adapter reads a file of its graph format directly:
``model-explorer graph.json``. ``export_model_explorer`` writes that file for a JAX function (every
equation of its jaxpr a node, the layer scopes of ``jax.named_scope`` as Model Explorer's namespaces,
shape and dtype on every output, the equation's source line and parameters in its side panel) or for a
traced ``Var`` graph. The format is Model Explorer's ``GraphCollection`` (``model_explorer.graph_builder``):
``{"label", "graphs": [{"id", "nodes": [{"id", "label", "namespace", "subgraphIds", "attrs",
"incomingEdges", "outputsMetadata", "inputsMetadata"}]}]}``.
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Callable

import jax
import numpy as np
from jax._src import source_info_util
from jax.extend import core as jcore

from graphviz_tools.autograd import Var
from graphviz_tools.jaxpr import _arg_names, _leaf_labels, _unwrap, evaluate, scope_segments, sub_jaxprs
from graphviz_tools.render import summarize
from jaxnet._src.atomic import atomic_path

# calls whose body takes the equation's inputs and gives its outputs: drawn inline, inside a namespace
INLINE = frozenset(
    {
        "jit",
        "pjit",
        "closed_call",
        "core_call",
        "custom_jvp_call",
        "custom_vjp_call",
        "custom_vjp_call_jaxpr",
        "checkpoint",
        "remat",
    }
)
MAX_ATTR_CHARS = 200


def _kv(key: str, value) -> dict:
    text = str(value)
    return {"key": key, "value": text if len(text) <= MAX_ATTR_CHARS else text[:MAX_ATTR_CHARS] + "..."}


def _node(node_id: str, label: str, namespace: str = "", attrs=(), incoming=(), outputs=(), subgraphs=()) -> dict:
    """One node, with every field of Model Explorer's ``GraphNode`` that we fill."""
    return {
        "id": node_id,
        "label": label,
        "namespace": namespace,
        "subgraphIds": list(subgraphs),
        "attrs": list(attrs),
        "incomingEdges": list(incoming),
        "outputsMetadata": list(outputs),
        "inputsMetadata": [],
    }


def _edge(source: tuple[str, int], target_input: int) -> dict:
    return {"sourceNodeId": source[0], "sourceNodeOutputId": str(source[1]), "targetNodeInputId": str(target_input)}


class _JaxprExport:
    """Walks a closed jaxpr into Model Explorer graphs: the main one, and one per control-flow body."""

    def __init__(self, values: dict):
        self.values = values  # top-level variable -> its value, when the export shows values
        self.graphs: list[dict] = []
        self.count = 0

    def new_id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def outputs(self, outvars) -> list[dict]:
        items = []
        for j, var in enumerate(outvars):
            attrs = [_kv("tensor_shape", f"{var.aval.dtype}{list(var.aval.shape)}".replace(" ", ""))]
            if var in self.values:
                attrs.append(_kv("value", summarize(np.asarray(self.values[var]))))
            items.append({"id": str(j), "attrs": attrs})
        return items

    def graph(self, graph_id: str, closed, input_labels: list[str]) -> dict:
        """Model Explorer's ``Graph`` of ``closed``: its inputs, constants and equations as nodes."""
        jaxpr, consts = _unwrap(closed)
        nodes: list[dict] = []
        env: dict = {}  # variable -> (node id, output index)
        for var, label in zip(jaxpr.invars, input_labels):
            env[var] = (self.new_id("input"), 0)
            nodes.append(_node(env[var][0], label, attrs=[_kv("role", "input")], outputs=self.outputs([var])))
        for var, const in zip(jaxpr.constvars, consts):
            env[var] = (self.new_id("const"), 0)
            nodes.append(
                _node(
                    env[var][0],
                    "const",
                    attrs=[_kv("__value", summarize(np.asarray(const)))],
                    outputs=self.outputs([var]),
                )
            )
        self.equations(jaxpr, env, "", "", nodes)
        for j, out in enumerate(jaxpr.outvars):
            incoming = [] if isinstance(out, jcore.Literal) else [_edge(env[out], 0)]
            nodes.append(_node(self.new_id("output"), f"out{j}", attrs=[_kv("role", "output")], incoming=incoming))
        graph = {"id": graph_id, "nodes": nodes}
        self.graphs.append(graph)
        return graph

    def equations(self, jaxpr, env: dict, outer: str, call_source: str, nodes: list[dict]) -> None:
        """Add ``jaxpr``'s equations to ``nodes`` under the namespace ``outer``.

        ``call_source`` is the source line of the call whose body this is: JAX's own functions (jnp.clip)
        have no line of the user's in their equations, so theirs is the line that called them.
        """
        for eqn in jaxpr.eqns:
            source = source_info_util.summarize(eqn.source_info) or call_source
            scope = "/".join(label for _, label in scope_segments(str(eqn.source_info.name_stack)))
            namespace = "/".join(part for part in (outer, scope) if part)
            subs = sub_jaxprs(eqn.params)
            if eqn.primitive.name in INLINE and len(subs) == 1:
                inner, _ = _unwrap(subs[0][1])
                if len(inner.invars) == len(eqn.invars) and len(inner.outvars) == len(eqn.outvars):
                    self.inline(eqn, subs[0][1], env, namespace, source, nodes)
                    continue
            node_id = self.new_id("eqn")
            incoming, attrs = [], [_kv("source", source)]
            for i, var in enumerate(eqn.invars):
                if isinstance(var, jcore.Literal):
                    attrs.append(_kv(f"input {i}", f"literal {var.val}"))
                else:
                    incoming.append(_edge(env[var], i))
            attrs += [_kv(key, value) for key, value in eqn.params.items() if not sub_jaxprs({key: value})]
            bodies = [
                self.graph(
                    f"{node_id}: {eqn.primitive.name} {label}",
                    sub,
                    [v.aval.str_short(short_dtypes=True) for v in _unwrap(sub)[0].invars],
                )["id"]
                for label, sub in subs
            ]
            nodes.append(
                _node(node_id, eqn.primitive.name, namespace, attrs, incoming, self.outputs(eqn.outvars), bodies)
            )
            for j, var in enumerate(eqn.outvars):
                env[var] = (node_id, j)

    def inline(self, eqn, body, env: dict, namespace: str, source: str, nodes: list[dict]) -> None:
        """A call's body drawn in place, in a namespace named after the call (jit's function name)."""
        inner, consts = _unwrap(body)
        name = eqn.params.get("name")
        inner_env = {}
        for inner_var, outer_var in zip(inner.invars, eqn.invars):
            if isinstance(outer_var, jcore.Literal):  # a number passed into the call: a constant node inside
                inner_env[inner_var] = (self.new_id("const"), 0)
                nodes.append(
                    _node(
                        inner_env[inner_var][0],
                        "const",
                        namespace,
                        [_kv("__value", outer_var.val)],
                        outputs=self.outputs([inner_var]),
                    )
                )
            else:
                inner_env[inner_var] = env[outer_var]
        for var, const in zip(inner.constvars, consts):
            inner_env[var] = (self.new_id("const"), 0)
            nodes.append(
                _node(
                    inner_env[var][0],
                    "const",
                    namespace,
                    [_kv("__value", summarize(np.asarray(const)))],
                    outputs=self.outputs([var]),
                )
            )
        call = f"{eqn.primitive.name}({name})" if isinstance(name, str) else eqn.primitive.name
        self.equations(inner, inner_env, "/".join(p for p in (namespace, call) if p), source, nodes)
        for outer_var, inner_out in zip(eqn.outvars, inner.outvars):
            if isinstance(inner_out, jcore.Literal):  # the call returns a number (0.0 where a weight sum is 0)
                env[outer_var] = (self.new_id("const"), 0)
                nodes.append(
                    _node(
                        env[outer_var][0],
                        "const",
                        namespace,
                        [_kv("__value", inner_out.val)],
                        outputs=self.outputs([outer_var]),
                    )
                )
            else:
                env[outer_var] = inner_env[inner_out]


def _var_graph(root: Var) -> dict:
    """A traced Var graph as one Model Explorer graph, values and gradients in the side panel."""
    order = root.topological_order()
    ids = {id(v): f"v{i}" for i, v in enumerate(order)}
    nodes = []
    for v in order:
        attrs = [_kv("value", summarize(v.value)), _kv("grad", summarize(v.grad))]
        outputs = [
            {
                "id": "0",
                "attrs": [
                    _kv("tensor_shape", f"{v.value.dtype}{list(v.value.shape)}".replace(" ", "")),
                    _kv("value", summarize(v.value)),
                ],
            }
        ]
        incoming = [_edge((ids[id(p)], 0), i) for i, p in enumerate(v.parents)]
        nodes.append(_node(ids[id(v)], v.label.replace("\n", " "), attrs=attrs, incoming=incoming, outputs=outputs))
    return {"id": root.name or "graph", "nodes": nodes}


def export_model_explorer(
    graph_or_fn: Var | Callable, path: str | os.PathLike, *args, values: bool = False, label: str | None = None
) -> pathlib.Path:
    """Write ``graph_or_fn`` as a Model Explorer graph file (open it with ``model-explorer path``).

    Arguments:
        graph_or_fn: a JAX function (traced with ``args``) or a traced ``Var`` (after ``backward()``).
            Graphviz drawings are not taken: give the function itself, whose jaxpr holds the full structure.
        path: the ``.json`` file to write.
        *args: the function's example arguments (arrays or pytrees of arrays; only shapes matter unless
            ``values``).
        values: also record a summary of every top-level value (evaluates the function equation by equation).
        label: the graph collection's name (default: the function's name).

    Returns:
        The written path.

    Raises:
        ValueError: for a path not ending in .json, or a function given without arguments.
    """
    path = pathlib.Path(path)
    if path.suffix.lower() != ".json":
        raise ValueError(f"Model Explorer reads graphs from .json files, got {path.name!r}: name it e.g. graph.json")
    if isinstance(graph_or_fn, Var):
        graphs = [_var_graph(graph_or_fn)]
        name = label or graph_or_fn.name or "graph"
    elif callable(graph_or_fn):
        if not args:
            raise ValueError("give the function's example arguments: export_model_explorer(fn, path, *args)")
        closed = jax.make_jaxpr(graph_or_fn)(*args)
        env_values = evaluate(closed, jax.tree.leaves(args)) if values else {}
        fn_name: str = getattr(graph_or_fn, "__name__", "function")
        name = label or fn_name
        export = _JaxprExport(env_values)
        export.graph(name, closed, _leaf_labels(_arg_names(graph_or_fn, len(args)), args))
        graphs = export.graphs[-1:] + export.graphs[:-1]  # the main graph first: bodies are finished before it
    else:
        raise TypeError(f"export_model_explorer takes a JAX function or a Var, got {type(graph_or_fn).__name__}")
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"label": name, "graphs": graphs}))
    return path
