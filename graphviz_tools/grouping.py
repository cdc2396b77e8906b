"""Semantic collapse: group a jaxpr's equations into the nodes a person would draw.

A jaxpr lists primitives (``broadcast_in_dim``, ``select_n``, ``reduce_max`` ...), while the
person who wrote the function called ``x @ w + b``, ``jnp.where`` or ``losses.categorical_crossentropy``.
Every equation records the Python call stack that emitted it; equations emitted by one call
(one source position, one called function) form one *call unit*, named after that function,
so library internals (``jnp.where``, ``clip``, ``one_hot``, ``log_softmax``, RNG, im2col) fold
into one node. A call written in the traced function itself is one node per operator, as in the
book (``apple * apple_num * tax`` is two ``×`` nodes).

Equations under ``jax.named_scope`` (jaxnet runs each layer in one) keep their scope path: the
drawing makes a cluster of each scope, or one node of a scope deeper than ``depth``. Consecutive
units with the same structure, each feeding the next, fold into one unit drawn "×N".
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass, field
from typing import Any, Sequence

from jax.extend import core as jcore

from graphviz_tools.jaxpr import scope_segments

#: Packages whose code counts as a library: a call into one folds into one node.
LIBRARIES = ("jax", "jaxlib", "jaxnet", "flax", "optax", "equinox", "haiku")
#: Primitives that only move or reshape data; a unit is named after its other primitives.
PLUMBING = frozenset(
    {
        "broadcast_in_dim",
        "convert_element_type",
        "reshape",
        "squeeze",
        "expand_dims",
        "slice",
        "copy",
        "copy_p",
        "stop_gradient",
        "transpose",
        "concatenate",
        "pad",
        "select_n",
        "iota",
        "full",
        "dynamic_slice",
        "gather",
    }
)
#: The book's symbols for single primitives (the same as the Var drawings).
SYMBOLS = {
    "add": "+",
    "add_any": "+",
    "sub": "−",
    "mul": "×",
    "div": "/",
    "neg": "−x",
    "exp": "exp",
    "log": "log",
    "dot_general": "dot",
    "logistic": "sigmoid",
    "tanh": "tanh",
    "max": "max",
    "integer_pow": "**",
    "reduce_sum": "sum",
    "reduce_max": "max",
    "conv_general_dilated": "conv",
    "pow": "**",
    "sqrt": "√",
}
#: Names that mean the same operation whichever backend path computed it (jaxnet's Conv2D uses im2col
#: on the CPU and XLA's convolution elsewhere): the picture must not depend on the backend.
ALIASES = {"im2col_conv": "conv", "conv_general_dilated": "conv"}
#: Function names that say nothing about the operation (wrappers); the unit is named after its primitives.
WRAPPERS = frozenset({"apply", "__call__", "op", "meth", "cache_miss", "reraise_with_filtered_traceback"})
MAX_PERIOD = 8


@dataclass(frozen=True)
class Site:
    """One frame of a call stack: the file, the function's qualified name and the call's exact position."""

    file: str
    function: str
    line: int
    position: tuple  # (line, end_line, column, end_column): tells apart two calls on one line

    def where(self) -> str:
        """``package/file.py:line`` with no machine-specific prefix (pictures are committed to docs/)."""
        return f"{_short_path(self.file)}:{self.line}"


@dataclass
class Unit:
    """A node of the picture: consecutive equations of one call, one collapsed scope or one repeated block.

    Attributes:
        eqns: indices into the jaxpr's equations, consecutive.
        scope: the cluster path the node is drawn in.
        label: what the node shows.
        kind: "op" (one primitive, drawn as the book's round node), "call", "scope" or "repeat".
        site: where the call was written (for the tooltip), if known.
        repeat: how many identical blocks a "repeat" unit stands for.
    """

    eqns: list
    scope: tuple
    label: str
    kind: str
    site: Site | None = None
    repeat: int = 1
    signature: tuple = field(default=(), repr=False)


@functools.lru_cache(maxsize=None)
def _library_roots() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(every library's folders, JAX's own folders), found without importing the packages."""
    roots, jax_roots = [], []
    for name in LIBRARIES:
        spec = importlib.util.find_spec(name)
        for path in (spec.submodule_search_locations or []) if spec else []:
            roots.append(os.path.join(os.path.realpath(path), ""))
            if name in ("jax", "jaxlib"):
                jax_roots.append(roots[-1])
    return tuple(roots), tuple(jax_roots)


@functools.lru_cache(maxsize=None)
def _file_kind(file: str) -> int:
    """0 for the user's code, 1 for a library's, 2 for JAX's own."""
    real = os.path.realpath(file)
    roots, jax_roots = _library_roots()
    return 2 if real.startswith(jax_roots) else 1 if real.startswith(roots) else 0


def _short_path(file: str) -> str:
    real = os.path.realpath(file)
    for root in _library_roots()[0]:
        if real.startswith(root):
            return os.path.relpath(real, os.path.dirname(os.path.dirname(root)))
    return os.path.basename(file)


@functools.lru_cache(maxsize=4096)
def _positions(code) -> list:
    return list(code.co_positions())


def call_stack(eqn: jcore.JaxprEqn) -> tuple[Site, ...]:
    """The Python frames that emitted ``eqn``, outermost (the traced function) first, cut after JAX's first frame."""
    traceback = eqn.source_info.traceback
    if traceback is None:
        return ()
    codes, lastis = traceback.raw_frames()
    sites = []
    for code, lasti in zip(reversed(codes), reversed(lastis)):
        positions = _positions(code)
        position = positions[lasti // 2] if 0 <= lasti // 2 < len(positions) else (None,) * 4
        sites.append(Site(code.co_filename, code.co_qualname, position[0] or code.co_firstlineno, tuple(position)))
        if _file_kind(code.co_filename) == 2:
            break
    return tuple(sites)


def _is_library(site: Site) -> bool:
    return _file_kind(site.file) > 0


def _common_prefix(stacks: list[tuple[Site, ...]]) -> int:
    """How many leading frames all ``stacks`` share, leaving at least two frames (owner, callee) to each."""
    if not stacks:
        return 0
    limit = max(min(len(s) for s in stacks) - 2, 0)
    k = 0
    while k < limit and all(s[k] == stacks[0][k] for s in stacks):
        k += 1
    return k


def eqn_name(eqn: jcore.JaxprEqn) -> str:
    """A primitive's display name: the book's symbol, a jitted function's own name, else the primitive's."""
    name = eqn.params.get("name")
    if eqn.primitive.name == "integer_pow" and eqn.params.get("y") == -1:
        return "/"  # the book's reciprocal node
    if isinstance(name, str) and name:
        return ALIASES.get(name.lstrip("_"), name.lstrip("_"))
    return SYMBOLS.get(eqn.primitive.name, eqn.primitive.name)


def _call_label(eqns: Sequence[jcore.JaxprEqn], callee: Site | None) -> str:
    """Name a call unit: the library function called, else its one non-plumbing primitive, else JAX's function."""
    if callee is not None:
        short = callee.function.rsplit(".", 1)[-1]
        if _file_kind(callee.file) == 1 and short not in WRAPPERS and "<" not in short:
            name = short.lstrip("_")
            return ALIASES.get(name, name)
    main = [e for e in eqns if e.primitive.name not in PLUMBING] or list(eqns)
    names = list(dict.fromkeys(eqn_name(e) for e in main))
    if len(names) == 1 or callee is None:
        return names[0] if len(names) == 1 else " ".join(names[:2])
    short = callee.function.rsplit(".", 1)[-1].lstrip("_").removeprefix("operator_")
    return ALIASES.get(short, short) if short not in WRAPPERS and "<" not in short else " ".join(names[:2])


def _scopes(jaxpr: jcore.Jaxpr) -> list[tuple[str, ...]]:
    return [tuple(bare for bare, _ in scope_segments(str(e.source_info.name_stack))) for e in jaxpr.eqns]


def _call_keys(jaxpr: jcore.Jaxpr, scopes: list, stacks: list) -> list[tuple]:
    """For each equation, (key, owner frame, callee frame): equal keys in a row are one call.

    The owner is the first frame where the equations of the scope's siblings part ways: the
    traced function for top-level code, the layer's ``apply`` inside a layer scope.
    """
    prefix: dict[tuple | None, int] = {}  # None: top-level code
    for parent in {s[:-1] for s in scopes if s} | {None}:
        members = [
            stacks[i]
            for i, s in enumerate(scopes)
            if (not s if parent is None else len(s) > len(parent) and s[: len(parent)] == parent)
        ]
        prefix[parent] = _common_prefix(members)
    keys: list[tuple] = []
    for scope, stack in zip(scopes, stacks):
        k = prefix[scope[:-1] if scope else None]
        owner = stack[k] if k < len(stack) else None
        callee = stack[k + 1] if k + 1 < len(stack) else None
        if owner is not None and not scope and _is_library(owner) and k > 0:
            owner, callee = stack[k - 1], owner  # top-level code that called into a library: fold the call
        if owner is not None and _is_library(owner):
            # library code (a layer's apply) reads best one statement per node: `where(keep, x / p, 0)` is one
            keys.append(((scope, (owner.file, owner.line), None), owner, callee))
        else:
            keys.append(((scope, owner, None if callee is None else (callee.file, callee.function)), owner, callee))
    return keys


def _scope_classes(scopes: list, stacks: list) -> dict:
    """The layer class that ran each scope path ("Dense"), where the call stack shows one.

    The n-th ``Class.apply`` / ``Class.__call__`` frame ran the scope of depth n (the 0th is the
    model the traced function called, outside any scope).
    """
    classes: dict = {}
    for scope, stack in zip(scopes, stacks):
        applies = [
            s.function.rsplit(".", 2)[-2]
            for s in stack
            if s.function.rsplit(".", 1)[-1] in ("apply", "__call__") and "." in s.function
        ]
        for n in range(1, len(scope) + 1):
            if scope[:n] not in classes and n < len(applies) and "<" not in applies[n]:
                classes[scope[:n]] = applies[n]
    return classes


def _runs(keys: list) -> list[list[int]]:
    runs: list[list[int]] = []
    for i, key in enumerate(keys):
        if runs and keys[runs[-1][-1]] == key:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _signature(jaxpr: jcore.Jaxpr, unit: Unit) -> tuple:
    eqns = [jaxpr.eqns[i] for i in unit.eqns]
    return (
        unit.kind,
        unit.label if unit.kind != "scope" else unit.signature,
        tuple((e.primitive.name, tuple(str(v.aval) for v in e.outvars)) for e in eqns),
    )


def _feeds(jaxpr: jcore.Jaxpr, first: Sequence[Unit], second: Sequence[Unit]) -> bool:
    made = {v for u in first for i in u.eqns for v in jaxpr.eqns[i].outvars}
    return any(isinstance(v, jcore.Var) and v in made for u in second for i in u.eqns for v in jaxpr.eqns[i].invars)


def fold_repeats(jaxpr: jcore.Jaxpr, units: list[Unit]) -> list[Unit]:
    """Fold runs of identical consecutive blocks (same primitives and shapes, each feeding the next) into one unit.

    A block is up to ``MAX_PERIOD`` units in one cluster; the run must repeat it at least twice
    (three times for a single-primitive block, so ``x * 2 * 2`` stays as written).
    """
    sigs = [(u.scope, _signature(jaxpr, u)) for u in units]
    out, i = [], 0
    while i < len(units):
        best = (1, 1)
        for period in range(1, MAX_PERIOD + 1):
            n = 1
            while (
                i + (n + 1) * period <= len(units)
                and sigs[i + n * period : i + (n + 1) * period] == sigs[i : i + period]
                and _feeds(
                    jaxpr, units[i + (n - 1) * period : i + n * period], units[i + n * period : i + (n + 1) * period]
                )
            ):
                n += 1
            single_op = period == 1 and units[i].kind == "op"
            if n >= (3 if single_op else 2) and n * period > best[0] * best[1]:
                best = (period, n)
        period, n = best
        if n == 1:
            out.append(units[i])
            i += 1
            continue
        block = units[i : i + period * n]
        names = [u.label for u in block[:period]]
        label = (
            f"{block[0].label} … {block[-1].label}" if all(u.kind == "scope" for u in block) else " → ".join(names)
        ) + f"  ×{n}"
        out.append(Unit([e for u in block for e in u.eqns], block[0].scope, label, "repeat", block[0].site, n))
        i += period * n
    return out


@dataclass
class Grouping:
    """The jaxpr's equations grouped for drawing at some depth.

    Attributes:
        units: the nodes, in equation order.
        depth: how many levels of named scopes are drawn as clusters (deeper ones are one node each).
        scope_classes: the layer class of each scope path, where one was found ("Dense").
        max_depth: the deepest scope path in the jaxpr.
    """

    units: list[Unit]
    depth: int
    scope_classes: dict
    max_depth: int


def group(jaxpr: jcore.Jaxpr, depth: int | None = None, collapse: Sequence[str] = ()) -> Grouping:
    """Group ``jaxpr``'s top-level equations into units (sub-jaxprs stay inside their equation).

    Arguments:
        jaxpr: the traced function's jaxpr.
        depth: named-scope levels drawn as clusters; a deeper scope becomes one node (None: all levels).
        collapse: scope names drawn as one node wherever they occur.

    Returns:
        The Grouping.
    """
    scopes = _scopes(jaxpr)
    stacks = [call_stack(e) for e in jaxpr.eqns]
    max_depth = max((len(s) for s in scopes), default=0)
    depth = max_depth if depth is None else depth
    classes = _scope_classes(scopes, stacks)
    call_keys = _call_keys(jaxpr, scopes, stacks)
    keys: list[tuple[str, Any]] = []  # ("scope", scope) or ("call", call key)
    for scope, (call_key, _, _) in zip(scopes, call_keys):
        cut = min([depth] + [n for n, name in enumerate(scope) if name in collapse])
        keys.append(("scope", scope[: cut + 1]) if cut < len(scope) else ("call", call_key))
    units = []
    for run in _runs(keys):
        kind, key = keys[run[0]]
        eqns = [jaxpr.eqns[i] for i in run]
        if kind == "scope":
            cls = classes.get(key)
            unit = Unit(run, key[:-1], f"{key[-1]} ({cls})" if cls else key[-1], "scope", call_keys[run[0]][1])
            unit.signature = (cls, tuple((e.primitive.name, tuple(str(v.aval) for v in e.outvars)) for e in eqns))
        else:
            scope = key[0]
            owner = call_keys[run[0]][1]
            callee = call_keys[run[-1]][2]  # the outermost call of a statement runs last
            single = len(run) == 1 and not any(
                isinstance(v, (jcore.Jaxpr, jcore.ClosedJaxpr)) for v in eqns[0].params.values()
            )
            unit = Unit(run, scope, _call_label(eqns, callee), "op" if single else "call", owner)
        units.append(unit)
    return Grouping(fold_repeats(jaxpr, units), depth, classes, max_depth)
