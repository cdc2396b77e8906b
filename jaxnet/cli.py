"""``python -m jaxnet``: the tour of the seeds' examples, and training from the command line.

Examples:
  python -m jaxnet tour
  python -m jaxnet train --model mlp --dataset digits --epochs 30 --out out/mlp
  python -m jaxnet train --model cnn --dataset digits --epochs 15 --optimizer adam --lr 0.001 --out out/cnn
  python -m jaxnet train --model regression_mlp --dataset diabetes --optimizer sgd --lr 0.01 --out out/reg
  python -m jaxnet train --coordinator 10.0.0.1:1234 --num-processes 2 --process-id 0   # on each host, its id
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

REGRESSION = {"diabetes", "boston_housing", "california_housing"}


#: The data sets that ship with scikit-learn (no files, so no --data-dir).
PACKAGED = {"digits", "iris", "diabetes"}


class UsageError(Exception):
    """A command-line mistake: reported as one line on stderr with exit status 2."""


def _number(kind: type, low: float, high: float | None = None, *, low_open: bool = False):
    """argparse type: a ``kind`` number >= ``low`` (> with ``low_open``) and < ``high``; ``--lr -1`` exits 2."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a{'n integer' if kind is int else ' number'}, got {text!r}"
            ) from None
        if not (value > low if low_open else value >= low) or (high is not None and not value < high):
            bounds = f"in [{low}, {high})" if high is not None else "positive"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    from jaxnet import datasets, optimizers, zoo

    parser = argparse.ArgumentParser(
        prog="python -m jaxnet", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("tour", help="print the seeds' examples (gates, activations, losses, gradients, ...)")
    tr = commands.add_parser(
        "train",
        help="train a zoo model on a data set; writes curves, checkpoint, history",
        description="Prints the model summary, per-epoch progress and the test metrics; writes "
        "OUT/learning_curves.png, OUT/model.npz (load with jaxnet.load_model) and "
        "OUT/history.json.",
    )
    tr.add_argument("--model", choices=sorted(zoo.MODELS), default="mlp", help="architecture (default mlp)")
    tr.add_argument(
        "--dataset",
        choices=sorted(datasets.LOADERS),
        default="digits",
        help="digits, iris and diabetes ship with scikit-learn; the others are read from --data-dir, "
        "$JAXNET_DATA, ~/.jaxnet/datasets or Keras' cache, else downloaded from Keras' addresses",
    )
    tr.add_argument(
        "--data-dir",
        type=pathlib.Path,
        help=f"folder holding the data set's files (not for {', '.join(sorted(PACKAGED))})",
    )
    tr.add_argument("--epochs", type=_number(int, 1), default=10)
    tr.add_argument("--batch-size", type=_number(int, 1), default=32)
    tr.add_argument("--optimizer", choices=sorted(optimizers.REGISTRY), default="adam")
    tr.add_argument(
        "--lr",
        type=_number(float, 0, low_open=True),
        help="learning rate > 0 (default: Keras' default for the optimizer)",
    )
    tr.add_argument(
        "--validation-split",
        type=_number(float, 0, 1),
        default=0.1,
        help="fraction in [0, 1) held out for validation (default 0.1)",
    )
    tr.add_argument(
        "--patience",
        type=_number(int, 1),
        help="stop early after this many epochs without val_loss improving (and restore the best weights)",
    )
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out/train"), help="output folder")
    dist = tr.add_argument_group("several processes (jax.distributed; process 0 writes the outputs)")
    dist.add_argument(
        "--distributed",
        action="store_true",
        help="start JAX's distributed runtime, detecting the processes (Cloud TPU, SLURM, Open MPI, "
        "Kubernetes); implied by --coordinator",
    )
    dist.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0's coordinator")
    dist.add_argument("--num-processes", type=int, help="how many processes take part")
    dist.add_argument("--process-id", type=int, help="this process's rank, 0 to num-processes - 1")
    dist.add_argument(
        "--cpu-collectives",
        choices=["gloo", "mpi"],
        help="collectives between CPU processes (not needed on GPUs and TPUs)",
    )
    return parser


OUTPUTS = ("learning_curves.png", "model.npz", "history.json")


def _check_arguments(args) -> None:
    """Usage errors that depend on several options, found before any data is read or any training."""
    from jaxnet._src.atomic import check_writable

    if args.data_dir is not None and args.dataset in PACKAGED:
        raise UsageError(
            f"--data-dir is for data sets read from files; {args.dataset!r} ships with scikit-learn (drop --data-dir)"
        )
    if args.data_dir is not None and not args.data_dir.is_dir():
        raise UsageError(f"--data-dir {args.data_dir}: no such folder")
    if args.patience is not None and args.validation_split == 0:
        raise UsageError("--patience watches val_loss, so it needs --validation-split > 0")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file; give a folder (it will hold {', '.join(OUTPUTS)})")
    try:
        for name in OUTPUTS:
            check_writable(args.out / name, f"--out's {name}")
    except OSError as err:
        raise UsageError(str(err)) from None


def _load_data(args):
    from jaxnet import datasets

    loader = datasets.LOADERS[args.dataset]
    (x, y), (x_test, y_test) = loader(args.data_dir) if args.data_dir else loader()
    if x.dtype == "uint8":
        x, x_test = datasets.scale_pixels(x), datasets.scale_pixels(x_test)
    if y.ndim == 2 and y.shape[1] == 1 and args.dataset not in REGRESSION:
        y, y_test = y.ravel(), y_test.ravel()  # CIFAR labels come as (n, 1)
    return x, y, x_test, y_test


def _head(network) -> str | None:
    """The activation of the network's last layer that has one (None for a linear head)."""
    for layer in reversed(network.layers):
        if hasattr(layer, "activation"):
            activation = layer.activation
            return None if activation in (None, "linear") else str(activation)
    return None


def _check_pairing(args, network) -> None:
    """Refuse a classifier's softmax head on a regression set, and a linear head where probabilities are needed."""
    head = _head(network)
    if args.dataset in REGRESSION and head == "softmax":
        raise UsageError(
            f"--model {args.model} ends in a softmax (a classifier) but {args.dataset!r} is a regression "
            "set: its one softmax output is always 1; use --model regression_mlp or wide_and_deep"
        )
    if args.dataset not in REGRESSION and head != "softmax":
        raise UsageError(
            f"--model {args.model} has a {head or 'linear'} output, but {args.dataset!r} is a "
            "classification set trained with cross entropy on probabilities; use a classifier "
            "(mlp, mlp_300_100, two_layer, cnn, small_cnn)"
        )


def _build_model(args, x, y):
    from jaxnet import keras, zoo

    regression = args.dataset in REGRESSION
    outputs = 1 if regression else int(y.max()) + 1
    convolutional = args.model in ("cnn", "small_cnn")
    if convolutional and x.ndim == 3:
        x = x[..., None]  # grey images: add the channel axis Conv2D expects
    if convolutional and x.ndim != 4:
        raise UsageError(f"model {args.model!r} needs image data; {args.dataset!r} has examples of shape {x.shape[1:]}")
    network = zoo.get(args.model, outputs)
    _check_pairing(args, network)
    if args.model == "cnn" and min(x.shape[1:3]) < 32:
        network = zoo.cnn(outputs, padding="same")  # three valid 3x3 convolutions do not fit small images
        print(f"note: {x.shape[1]}x{x.shape[2]} images are small for the CIFAR CNN: using padding='same'")
    model = keras.Sequential(network.layers, input_shape=x.shape[1:], seed=args.seed)
    loss, metrics = ("mse", ["mae"]) if regression else ("sparse_categorical_crossentropy", ["accuracy"])
    model.compile(optimizer=args.optimizer, loss=loss, metrics=metrics, learning_rate=args.lr)
    return model, x


def train_command(args) -> int:
    """Train, evaluate on the test split, write the outputs; returns the exit status."""
    from jaxnet import callbacks, datasets, plots
    from jaxnet._src import distributed
    from jaxnet._src.atomic import write_text

    if args.distributed or args.coordinator:
        distributed.initialize(args.coordinator, args.num_processes, args.process_id, args.cpu_collectives)
    try:
        _check_arguments(args)
        x, y, x_test, y_test = _load_data(args)
        if int(len(x) * args.validation_split) == 0 and args.validation_split:
            raise UsageError(f"--validation-split {args.validation_split} leaves no validation example out of {len(x)}")
        model, x = _build_model(args, x, y)
    except (UsageError, FileNotFoundError, datasets.DatasetError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if x_test.ndim == x.ndim - 1:
        x_test = x_test[..., None]
    model.summary()
    extra = []
    if args.patience is not None:
        extra.append(callbacks.EarlyStopping(patience=args.patience, restore_best_weights=True))
    history = model.fit(
        x,
        y,
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_split=args.validation_split,
        callbacks=extra,
        verbose=1 if sys.stderr.isatty() else 2,
    )
    results = model.evaluate(x_test, y_test, return_dict=True)
    print("test: " + ", ".join(f"{k} {v:.4f}" for k, v in results.items()))
    if not distributed.is_main_process():
        return 0  # every process holds the same model and logs; process 0 writes them
    paths = [args.out / name for name in OUTPUTS]
    plots.plot_history(history, paths[0], title=f"{args.model} on {args.dataset}")
    model.save(paths[1])
    write_text(paths[2], json.dumps({"history": history.history, "test": results}, indent=2))
    print(f"wrote {', '.join(map(str, paths))}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the exit status (2 for a usage error)."""
    args = build_parser().parse_args(argv)
    if args.command == "tour":
        from jaxnet.book import tour

        tour.run()
        return 0
    return train_command(args)
