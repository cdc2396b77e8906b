"""The ``python -m graphviz_tools`` command line: the book's graphs, jaxprs of any function, model plots.

Examples:
  python -m graphviz_tools apple --format svg --out out/graphs
  python -m graphviz_tools apple_orange --format dot              # DOT on standard output
  python -m graphviz_tools jaxpr mypkg.mod:loss --shapes 3 3,4 --grad --out out/graphs
  python -m graphviz_tools backprop apple_orange --format png --out out/graphs   # the book's figure, from JAX
  python -m graphviz_tools backprop mlp --format svg --out out/graphs            # the seeds' MLP loss gradient
  python -m graphviz_tools backprop mypkg.mod:loss --shapes 3 3,4 --local-derivatives
  python -m graphviz_tools model --model cnn --input-shape 32,32,3 --format png --out out/graphs
"""

from __future__ import annotations

import argparse
import importlib
import pathlib
import sys

import graphviz
import jax
import jax.numpy as jnp

from graphviz_tools import examples_jax
from graphviz_tools.backprop_graph import EDGE_WIDTHS, backprop_graph
from graphviz_tools.examples import EXAMPLES
from graphviz_tools.jaxpr import jaxpr_graph
from graphviz_tools.model_plot import plot_model
from graphviz_tools.render import (
    FORMATS,
    RANKDIRS,
    GraphvizNotInstalled,
    check_number_format,
    render,
    require_dot,
    to_digraph,
)
from jaxnet._src.atomic import check_writable


def _shape(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a shape is comma-separated integers such as 3,4 (or '' for a scalar), got {text!r}"
        ) from None


def _at_least(low: int):
    """argparse type: an integer >= ``low`` (``--num-outputs 0`` is a usage error, exit 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="svg", help="output format (default svg)")
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        help="output folder; with --format dot and no --out, the DOT source goes to standard output",
    )
    parser.add_argument("--rankdir", choices=RANKDIRS, help="layout direction")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m graphviz_tools", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, fn in EXAMPLES.items():
        sub = commands.add_parser(name, help=(fn.__doc__ or "").strip().splitlines()[0])
        _output_options(sub)
        sub.add_argument("--no-grad", action="store_true", help="draw forward values only")
        sub.add_argument("--number-format", default="{:.4g}", help="Python format of the numbers (default {:.4g})")
    jx = commands.add_parser("jaxpr", help="draw the jaxpr of a JAX function (or of its gradient with --grad)")
    jx.add_argument("function", help="MODULE:FUNCTION, e.g. jaxnet.activations:softmax")
    jx.add_argument(
        "--shapes",
        nargs="*",
        type=_shape,
        default=[()],
        help="one shape per positional argument, e.g. --shapes 3 3,4 ('' for a scalar); "
        "the arguments are filled with seeded random normals",
    )
    jx.add_argument("--grad", action="store_true", help="draw the book's backward picture (as the backprop command)")
    jx.add_argument("--collapse", nargs="*", default=[], help="named scopes to draw as one node each")
    jx.add_argument("--max-depth", type=_at_least(0), help="levels of nested jaxprs to expand")
    _output_options(jx)
    bp = commands.add_parser("backprop", help="the book's backward picture of a JAX function, from JAX's numbers")
    names = ", ".join([*examples_jax.BOOK, *examples_jax.MODELS])
    bp.add_argument("function", help=f"MODULE:FUNCTION, or an example: {names}")
    bp.add_argument(
        "--shapes",
        nargs="*",
        type=_shape,
        default=[()],
        help="for MODULE:FUNCTION, one shape per positional argument (seeded random normals)",
    )
    bp.add_argument("--collapse", nargs="*", default=[], help="named scopes to draw as one node each")
    bp.add_argument("--max-depth", type=int, help="levels of named scopes drawn as clusters")
    bp.add_argument("--max-nodes", type=int, default=30, help="node budget; scopes collapse to fit (default 30)")
    bp.add_argument("--local-derivatives", action="store_true", help="write the book's local derivatives (×1, ×y ...)")
    bp.add_argument(
        "--edge-width",
        choices=[w for w in EDGE_WIDTHS if w],
        help="pen width by |cotangent| ('grad', the default) or |cotangent|/|value| ('relative')",
    )
    _output_options(bp)
    mp = commands.add_parser("model", help="plot one of jaxnet's zoo models (Keras' plot_model)")
    from jaxnet.zoo import MODELS

    mp.add_argument("--model", choices=sorted(MODELS), default="mlp")
    mp.add_argument("--input-shape", type=_shape, default=(28, 28), help="one example's shape, e.g. 32,32,3")
    mp.add_argument("--num-outputs", type=_at_least(1), default=10)
    mp.add_argument("--show-activations", action="store_true")
    _output_options(mp)
    return parser


def _load(spec: str):
    module_name, _, attr = spec.partition(":")
    if not attr:  # ValueError: main reports it as a usage error (exit 2)
        raise ValueError(f"expected MODULE:FUNCTION, got {spec!r}")
    try:
        fun = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"cannot load {spec!r}: {err}") from None
    if not callable(fun):
        raise ValueError(f"{spec!r} is a {type(fun).__name__}, not a function")
    return fun


def _build(args) -> tuple[str, graphviz.Digraph]:
    """The file stem and the Digraph for the chosen command."""
    layout = {"rankdir": args.rankdir} if args.rankdir else {}
    if args.command == "backprop" and ":" not in args.function:
        options = dict(
            collapse=args.collapse,
            max_depth=args.max_depth,
            max_nodes=args.max_nodes,
            local_derivatives=args.local_derivatives,
            edge_width=args.edge_width or "grad",
            **layout,
        )
        return f"{args.function}_backprop", examples_jax.draw(args.function, **options)
    if args.command in ("jaxpr", "backprop"):
        fun = _load(args.function)
        keys = jax.random.split(jax.random.key(0), max(len(args.shapes), 1))
        arrays = [jax.random.normal(k, s, jnp.float32) for k, s in zip(keys, args.shapes)]
        stem = args.function.split(":")[1]
        extra = (
            {}
            if args.command == "jaxpr"
            else dict(
                max_nodes=args.max_nodes, local_derivatives=args.local_derivatives, edge_width=args.edge_width or "grad"
            )
        )
        try:
            if args.command == "jaxpr" and not args.grad:
                return stem, jaxpr_graph(fun, collapse=args.collapse, max_depth=args.max_depth, **layout)(*arrays)
            graph = backprop_graph(fun, collapse=args.collapse, max_depth=args.max_depth, **extra, **layout)(*arrays)
        except TypeError as err:  # wrong argument count, shapes that do not fit: the user's inputs
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            shapes = " ".join(",".join(map(str, s)) or "''" for s in args.shapes)
            raise ValueError(f"{args.function} cannot be traced with --shapes {shapes}: {first}") from None
        return stem + ("_grad" if args.command == "jaxpr" else "_backprop"), graph
    if args.command == "model":
        from jaxnet import zoo

        model = zoo.get(args.model, args.num_outputs)
        return f"model_{args.model}", plot_model(
            model,
            args.input_shape,
            show_shapes=True,
            show_params=True,
            show_layer_activations=args.show_activations,
            **layout,
        )
    check_number_format(args.number_format)  # before drawing: '{}{}' or 'abc' would fail or print no numbers
    root = EXAMPLES[args.command]()
    return args.command, to_digraph(root, show_grad=not args.no_grad, number_format=args.number_format, **layout)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} is a file; give a folder to write into")
    if args.format != "dot":
        try:
            require_dot()  # before any work: say how to install it, never a raw traceback
        except GraphvizNotInstalled as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    try:
        stem, graph = _build(args)
    except ValueError as err:  # bad shapes, number formats, modules, non-scalar --grad functions: one line, exit 2
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.format == "dot" and args.out is None:
        sys.stdout.write(graph.source)
        return 0
    try:
        path = check_writable((args.out or pathlib.Path(".")) / f"{stem}.{args.format}", "a graph")
    except OSError as err:  # a read-only folder, a folder in the way: the user's --out
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        render(graph, path)
    except ValueError as err:  # more nodes than the budget: the message names the options that help
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as err:  # dot missing its permissions, crashing or timing out
        print(f"error: cannot lay out the graph with dot: {err}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0
