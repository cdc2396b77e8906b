"""Training on Optax: one compiled epoch, evaluate and predict in fixed-size masked batches.

The data live on the device. An epoch is a single ``jax.jit``-compiled ``lax.scan``
over mini-batches (see ``jaxnet._src.loops`` for the one exception): gathering each
batch by the epoch's shuffled order (from a PRNG key), the forward
pass, ``jax.grad``, the Optax update and the metric sums all run inside it, with
parameters and optimizer state donated. The last partial batch is padded to the
full batch size and masked, so every epoch has the same shapes (nothing
recompiles) and every example counts exactly once. Logs reach the host once per
epoch.

``apply`` is any ``apply(params, x, *, key=None, training=False)``: a jaxnet layer
or model (pass the object), or a function with that signature.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxnet import callbacks as cb
from jaxnet import checkpoint, losses, optimizers
from jaxnet import metrics as metrics_lib
from jaxnet._src import distributed, inputs, streaming
from jaxnet._src.checks import check_data, check_fit_arguments, check_inputs, warn_if_diverged
from jaxnet._src.labels import check_labels
from jaxnet._src.loops import batch_loop, default_steps_per_call
from jaxnet._src.parallel import DataParallel
from jaxnet._src.weights import (
    WEIGHT_SUM,
    example_weights,
    loss_weights,
    means,
    metric_sums,
    or_ones,
    split_validation,
    weighted,
)
from jaxnet.state import merge as merge_state

ApplyFn = Callable[..., jax.Array]


@dataclass
class History:
    """Per-epoch logs, as Keras' History: ``history.history["val_accuracy"]``, ``history.epoch``.

    ``opt_state`` is the optimizer state at the end of training (to resume or to save); ``params`` holds
    Keras' ``{"verbose", "epochs", "steps"}`` (steps per epoch).
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    epoch_times: list[float] = field(default_factory=list)  # seconds per epoch, kept out of the logs as Keras does
    opt_state: Any = None
    stop_reason: str | None = None

    def append(self, epoch: int, logs: dict[str, float], seconds: float) -> None:
        self.epoch.append(epoch)
        self.epoch_times.append(seconds)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)


#: Compiled epochs, evaluations and predictions, most recently used last. Building one makes fresh
#: jitted closures, and a fresh closure recompiles (seconds) even for the same model and shapes, so
#: repeated fit/evaluate/predict calls reuse them. Keys hold the identity of the model, loss, metric
#: and optimizer objects; each entry keeps those objects alive so that their ids cannot be reused.
_CACHE: OrderedDict = OrderedDict()
CACHE_SIZE = 32


def _cached(key: tuple, keep_alive: tuple, build: Callable[[], Callable]) -> Callable:
    """The function built for ``key`` (``build()`` on a miss), in a bounded LRU cache."""
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key][0]
    fn = build()
    _CACHE[key] = (fn, keep_alive)
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return fn


def clear_cache() -> None:
    """Forget every cached compiled epoch, evaluation and prediction."""
    _CACHE.clear()


def _identity(model) -> tuple[tuple, tuple]:
    """A cache key part and the objects to keep alive for a model or apply function.

    ``model.apply`` is a new bound-method object at every access, so a model is keyed by itself.
    """
    return (id(model),), (model,)


def _get_optimizer(optimizer, learning_rate) -> optax.GradientTransformation:
    """``optimizers.get``, returning the same transformation for the same name and number rate.

    A name builds a new transformation (new function objects) each time, which would defeat the
    identity-keyed cache; schedules and array rates (unhashable) are not memoised.
    """
    if isinstance(optimizer, str) and (learning_rate is None or isinstance(learning_rate, (int, float))):
        key = ("optimizer", optimizer, learning_rate)
        return _cached(key, (), lambda: optimizers.get(optimizer, learning_rate))
    return optimizers.get(optimizer, learning_rate)


def _apply_fn(model) -> ApplyFn:
    return model.apply if hasattr(model, "apply") else model


def stateful_apply(model) -> Callable:
    """``model.apply_with_state`` (see ``jaxnet.state``); for a plain apply function, one with no state."""
    if hasattr(model, "apply_with_state"):
        return model.apply_with_state
    apply = _apply_fn(model)
    return lambda p, x, *, key=None, training=False, mask=None: (apply(p, x, key=key, training=training), {})


def training_loss(loss) -> Callable:
    """Resolve a loss for training, which needs it to accept ``sample_weight`` (to mask padding).

    Raises:
        ValueError: for an unknown name, or a loss without ``sample_weight``.
    """
    fn = losses.get(loss)
    try:
        accepts = "sample_weight" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        accepts = False
    if not accepts:
        name = loss if isinstance(loss, str) else getattr(fn, "__name__", repr(fn))
        raise ValueError(
            f"loss {name!r} takes no sample_weight, which training needs to mask the padded examples "
            "of the last batch; use a Keras-style loss such as 'categorical_crossentropy' or 'mse', or "
            "give yours a sample_weight=None argument (see jaxnet.losses)"
        )
    return fn


def metric_functions(metrics: Sequence, weighted_metrics: Sequence = ()) -> dict[str, Callable]:
    """Metric names or functions as ``{log name: per-example function}``.

    ``weighted_metrics`` are weighted by the sample weights (plain ``metrics`` are not, as in Keras 3); one
    whose name a plain metric already has is logged as "weighted_<name>", as Keras names it.
    """
    fns = {metrics_lib.name_of(m): metrics_lib.get(m) for m in metrics}
    for m in weighted_metrics:
        name = metrics_lib.name_of(m)
        fns["weighted_" + name if name in fns else name] = weighted(metrics_lib.get(m))
    return fns


def _batches(n: int, batch_size: int) -> tuple[int, int]:
    if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    batch_size = min(int(batch_size), n)
    return batch_size, math.ceil(n / batch_size)


def shuffled_order(key: jax.Array, n: int) -> np.ndarray:
    """A uniformly random permutation of ``range(n)``, the same for the same ``key``, drawn on the host.

    ``jax.random.permutation`` sorts (random key, index) pairs in two rounds, which XLA:CPU does with a
    generic comparator: 28-40 ms for 60,000 rows on 2 cores, 10-15% of an MNIST epoch at batch 256.
    NumPy's Fisher-Yates shuffle, seeded with the key's bits, takes about 1 ms.

    Arguments:
        key: a JAX PRNG key (typed or raw); only its bits are read.
        n: the number of examples.

    Returns:
        An int32 array of the n indices in shuffled order.
    """
    seed = np.asarray(jax.random.key_data(key), np.uint32).ravel()
    return np.random.default_rng(seed).permutation(n).astype(np.int32)


def _masked_order(order: jax.Array, n: int, batch_size: int, num_batches: int):
    """Pad an index order to num_batches * batch_size (repeating index 0) and mark the real examples."""
    total = num_batches * batch_size
    order = jnp.concatenate([order, jnp.zeros(total - n, order.dtype)])
    mask = (jnp.arange(total) < n).astype(jnp.float32)
    return order.reshape(num_batches, batch_size), mask.reshape(num_batches, batch_size)


def make_train_epoch(
    apply: ApplyFn,
    loss_fn: Callable,
    optimizer: optax.GradientTransformation,
    metric_fns: dict[str, Callable],
    n: int,
    batch_size: int,
    shuffle: bool = True,
    parallel: DataParallel = DataParallel(None),
    steps_per_call: int | None = None,
) -> Callable:
    """Build the epoch: ``epoch(params, opt_state, key, x, y, w) -> (params, opt_state, sums)``.

    ``apply`` is a model's ``apply_with_state`` (``stateful_apply(model)``): the state it returns in
    training replaces those entries of the parameters after each step (see ``jaxnet.state``).

    ``w`` holds one weight per example (ones for none). ``sums`` holds the loss and each metric summed over
    the epoch's examples, and the weight sum (see ``jaxnet._src.weights.means``).
    Batches are gathered once per epoch on the device; the steps run ``steps_per_call`` at a time in
    compiled calls (None: the whole epoch in one ``lax.scan``), with parameters and optimizer state
    donated. With several devices each batch is split over them.
    """
    batch_size, num_batches = _batches(n, batch_size)

    def step(carry, batch, data):
        params, opt_state, sums = carry
        idx, mask, key = batch
        x, y, w = data
        # Each step gathers its own rows: no shuffled copy of the whole data set is ever made.
        xb, yb, wb, mask = parallel.shard_batch((inputs.take(x, idx), inputs.take(y, idx), w[idx], mask))

        def objective(p):
            y_pred, state = apply(p, xb, key=key, training=True, mask=mask)
            return loss_fn(y_pred, yb, sample_weight=loss_weights(mask, wb)), (y_pred, state)

        (loss, (y_pred, state)), grads = jax.value_and_grad(objective, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        # the non-trainable state (BatchNormalization's moving statistics) comes from the forward pass
        params = merge_state(optax.apply_updates(params, updates), state)
        count = jnp.sum(mask)
        new = {"loss": loss * count, **metric_sums(metric_fns, y_pred, yb, mask, wb)}
        return (params, opt_state, jax.tree.map(jnp.add, sums, new)), None

    @functools.partial(jax.jit, out_shardings=parallel.replicated)
    def place(order, dropout_key):
        order, mask = _masked_order(order, n, batch_size, num_batches)
        zeros = {name: jnp.zeros((), jnp.float32) for name in ["loss", *metric_fns, WEIGHT_SUM]}
        return (order, mask, jax.random.split(dropout_key, num_batches)), zeros

    def plan(key):
        shuffle_key, dropout_key = jax.random.split(key)
        return place(shuffled_order(shuffle_key, n) if shuffle else np.arange(n, dtype=np.int32), dropout_key)

    run = batch_loop(step, num_batches, steps_per_call)

    def unweighted_step(carry, batch, data):  # a streamed chunk is (x, y): every example weighs 1
        x, y = data
        return step(carry, batch, (x, y, jnp.ones(len(x), jnp.float32)))

    chunk_loops: dict = {}  # streamed input: a compiled loop per chunk length, kept across epochs

    def epoch(params, opt_state, key, x, y, w):
        batches, zeros = plan(key)
        if isinstance(x, streaming.Stream):  # the same step, fed chunk by chunk from the host (unweighted)
            params, opt_state, sums = streaming.run_epoch(
                unweighted_step,
                steps_per_call,
                chunk_loops,
                (params, opt_state, zeros),
                batches,
                x,
                batch_size,
                parallel,
            )
        else:
            (params, opt_state, sums), _ = run((params, opt_state, zeros), batches, (x, y, w))
        return params, opt_state, sums

    return epoch


def make_evaluate(
    apply: ApplyFn,
    loss_fn: Callable | None,
    metric_fns: dict[str, Callable],
    n: int,
    batch_size: int,
    parallel: DataParallel = DataParallel(None),
    steps_per_call: int | None = None,
) -> Callable:
    """Build the evaluation: ``run(params, x, y, w) -> sums`` over n examples weighted by w (as the epoch's)."""
    batch_size, _ = _batches(n, batch_size)
    batch_size = -(-batch_size // parallel.size) * parallel.size  # a small set's batch still splits evenly
    num_batches = math.ceil(n / batch_size)
    names = (["loss"] if loss_fn is not None else []) + [*metric_fns, WEIGHT_SUM]

    def body(carry, batch, data):
        params, sums = carry
        idx, m = batch
        x, y, w = data
        xb, yb, wb, m = parallel.shard_batch((inputs.take(x, idx), inputs.take(y, idx), w[idx], m))
        y_pred = apply(params, xb, key=None, training=False)
        new = {} if loss_fn is None else {"loss": loss_fn(y_pred, yb, sample_weight=loss_weights(m, wb)) * jnp.sum(m)}
        new.update(metric_sums(metric_fns, y_pred, yb, m, wb))
        return (params, jax.tree.map(jnp.add, sums, new)), None

    batches = parallel.replicate(_masked_order(jnp.arange(n), n, batch_size, num_batches))
    zeros = parallel.replicate({k: jnp.zeros((), jnp.float32) for k in names})
    loop = batch_loop(body, num_batches, steps_per_call, donate_carry=False)

    def run(params, x, y, w):
        (_, sums), _ = loop((params, zeros), batches, (x, y, w))
        return sums

    return run


def make_predict(apply: ApplyFn, n: int, batch_size: int, steps_per_call: int | None = None) -> Callable:
    """Build the prediction: ``run(params, x) -> outputs`` for n examples, in fixed-size batches."""
    batch_size, num_batches = _batches(n, batch_size)

    def body(params, idx, x):
        return params, apply(params, inputs.take(x, idx), key=None, training=False)

    order, _ = _masked_order(jnp.arange(n), n, batch_size, num_batches)
    loop = batch_loop(body, num_batches, steps_per_call, donate_carry=False)

    def run(params, x):
        _, outputs = loop(params, order, x)
        outputs = jax.tree.map(lambda *chunks: jnp.concatenate(chunks), *outputs)  # one array per model output
        return jax.tree.map(lambda a: a.reshape(num_batches * batch_size, *a.shape[2:])[:n], outputs)

    return run


def evaluate(
    model,
    params,
    x,
    y,
    *,
    loss="sparse_categorical_crossentropy",
    metrics: Sequence = ("accuracy",),
    batch_size: int = 32,
    sample_weight=None,
    weighted_metrics: Sequence = (),
) -> dict[str, float]:
    """Mean loss and metrics over a data set, in fixed-size masked batches.

    Arguments:
        model: a jaxnet model (anything with ``apply``) or an apply function.
        params: its parameters.
        x, y: the data.
        loss: a loss name or function (with ``sample_weight``), or None for metrics only.
        metrics: metric names or per-example functions (not weighted, as Keras' ``metrics``).
        batch_size: examples per compiled batch.
        sample_weight: one weight per example for the loss (Keras' reduction: ``sum(w * l) / n``)
            and for ``weighted_metrics``.
        weighted_metrics: metrics weighted by ``sample_weight``.

    Returns:
        ``{"loss": ..., "accuracy": ...}`` as Python floats.
    """
    x, y = check_data(x, y, "evaluation")
    w = or_ones(example_weights(y, sample_weight, what="evaluation"), inputs.num_examples(x))
    metric_fns, apply = metric_functions(metrics, weighted_metrics), _apply_fn(model)
    loss_fn = None if loss is None else training_loss(loss)
    _check_labels(loss_fn, y, _output_shape(apply, params, x), "evaluation labels")
    steps = default_steps_per_call(apply, params, inputs.take(x, slice(None, 1)))
    model_key, alive = _identity(model)
    n = inputs.num_examples(x)
    key = ("evaluate", model_key, id(loss_fn), _fns_key(metric_fns), n, batch_size, steps)
    run = _cached(
        key,
        (alive, loss_fn, metric_fns),
        lambda: make_evaluate(apply, loss_fn, metric_fns, n, batch_size, steps_per_call=steps),
    )
    return _host_logs(run(params, *jax.device_put((x, y, w))), metric_fns, n)


def predict(model, params, x, *, batch_size: int = 32) -> jax.Array:
    """The model's outputs for every example of ``x`` (inference mode), in fixed-size batches."""
    x = check_inputs(x)
    apply = _apply_fn(model)
    _output_shape(apply, params, x)  # a clear error, naming x's shape, before anything is compiled
    steps = default_steps_per_call(apply, params, inputs.take(x, slice(None, 1)))
    model_key, alive, n = *_identity(model), inputs.num_examples(x)
    run = _cached(
        ("predict", model_key, n, batch_size, steps), alive, lambda: make_predict(apply, n, batch_size, steps)
    )
    return run(params, jax.device_put(x))


def _fns_key(metric_fns: dict) -> tuple:
    return tuple((name, id(fn)) for name, fn in metric_fns.items())


def _output_shape(apply: ApplyFn, params, x) -> Any:
    """One example's output shape (a tree of shapes for several outputs), by abstract evaluation on one example.

    Raises:
        ValueError: naming the user's input shape when the model cannot run on it (or on these parameters).
    """
    try:
        out = jax.eval_shape(
            lambda p, xb: apply(p, xb, key=None, training=False), params, inputs.take(x, slice(None, 1))
        )
    except (ValueError, TypeError, KeyError) as err:
        shapes = jax.tree.map(lambda a: tuple(a.shape), x)
        examples = jax.tree.map(lambda a: tuple(a.shape[1:]), x)
        hint = "; for a single example pass x[None]" if not inputs.is_tree(x) and x.ndim == 1 else ""
        raise ValueError(
            f"the model cannot run on x of shape {shapes} (batch axis first, so one example is {examples}{hint}): {err}"
        ) from None
    return jax.tree.map(lambda a: a.shape[1:], out)


def _check_labels(loss_fn, y, output_shape, what: str) -> None:
    """``check_labels`` for one output; a multi-output loss checks its own targets."""
    if not inputs.is_tree(y) and not (output_shape and isinstance(output_shape[0], tuple)):
        check_labels(loss_fn, y, output_shape, what)


def _host_logs(sums: dict, metric_fns: dict, n: int, prefix: str = "") -> dict[str, float]:
    """Device sums over n examples to the logged means, as Python floats in Keras' order, loss first."""
    return {prefix + k: v for k, v in means(jax.device_get(sums), metric_fns, n).items()}


def fit(
    model,
    params,
    x,
    y,
    *,
    loss="sparse_categorical_crossentropy",
    optimizer: str | optax.GradientTransformation = "adam",
    learning_rate=None,
    metrics: Sequence = (),
    epochs: int = 1,
    batch_size: int = 32,
    validation_split: float = 0.0,
    validation_data=None,
    shuffle: bool = True,
    key: jax.Array | None = None,
    callbacks: Sequence[cb.Callback] = (),
    verbose: int | str = "auto",
    opt_state=None,
    initial_epoch: int = 0,
    save_fn: Callable | None = None,
    devices: Sequence[jax.Device] | None = None,
    steps_per_call: int | None | str = "auto",
    sample_weight=None,
    class_weight=None,
    weighted_metrics: Sequence = (),
) -> tuple[Any, History]:
    """Train ``params`` with an Optax optimizer.

    Arguments:
        model: a jaxnet model (anything with ``apply``) or an apply function
            ``apply(params, x, *, key=None, training=False)``.
        params: initial parameters (not modified: buffers are copied before donation).
        x, y: training inputs and targets (batch axis first), in memory; or streamed from the host in
            chunks read ahead of the device (for data larger than memory): ``x`` a NumPy memmap (``y`` an
            array or memmap), or a Grain ``MapDataset`` / random-access data source of ``(x, y)`` pairs
            with ``y=None`` (needs the ``stream`` extra; see ``jaxnet._src.streaming``).
        loss: a loss name or function with ``sample_weight``.
        optimizer: a name ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam") or an Optax transformation.
        learning_rate: a number or Optax schedule, for optimizers given by name.
        metrics: names ("accuracy", "mae", "mse") or per-example functions (not weighted, as Keras' ``metrics``).
        epochs: the epoch to stop after (counting from 0, as Keras with ``initial_epoch``).
        batch_size: examples per step; the last partial batch is masked, not dropped.
        validation_split: the fraction of the data, taken from the end, held out for validation (with
            their sample weights); training keeps ``x[:floor(n * (1 - validation_split))]``, as Keras.
        validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``, instead of validation_split.
        shuffle: reshuffle the training data every epoch (from ``key``).
        key: PRNG key for shuffling and dropout (``jax.random.key(0)`` when None).
        callbacks: EarlyStopping, ModelCheckpoint, TerminateOnNaN, CSVLogger, TensorBoard, ...
        verbose: 0 quiet, 1 a progress bar, 2 one line per epoch; "auto" is 1 on a terminal, else 0.
        opt_state: optimizer state to resume from (e.g. ``history.opt_state`` of an earlier run).
        initial_epoch: the epoch to start at, when resuming.
        save_fn: how ModelCheckpoint saves ``(path, params, opt_state, epoch)``; a plain
            parameters-and-optimizer checkpoint when None.
        devices: the devices to train on (default: all that JAX sees). With more than one, each
            batch is split over them (data parallel; batch_size must be a multiple of their number).
        steps_per_call: training steps per compiled call; None runs each epoch as one ``lax.scan``;
            "auto" does that except for convolutional models on the CPU, which run one compiled step
            per call (see ``jaxnet._src.loops``).
        sample_weight: one weight per training example, weighing the loss (Keras' reduction: each batch's
            loss is ``sum(w * l) / batch size``) and ``weighted_metrics``.
        class_weight: ``{class index: weight}``, turned into sample weights of the training examples
            (not of the validation data), as Keras does; not together with sample_weight.
        weighted_metrics: metrics weighted by the sample weights.

    Returns:
        ``(params, history)``: the trained parameters and the History (with ``history.opt_state``).

    Raises:
        ValueError: for mismatched or empty data, NaN/inf values, labels out of range, a bad
            batch size, bad weights, or an unknown optimizer, loss or metric name.
    """
    check_fit_arguments(
        epochs=epochs,
        initial_epoch=initial_epoch,
        batch_size=batch_size,
        learning_rate=learning_rate,
        validation_split=validation_split,
        validation_data=validation_data,
        key=key,
        devices=devices,
    )
    apply, loss_fn, metric_fns = _apply_fn(model), training_loss(loss), metric_functions(metrics, weighted_metrics)
    tx = _get_optimizer(optimizer, learning_rate)
    stream = streaming.Stream(x, y) if streaming.is_stream(x) else None
    if stream is not None:  # read chunk by chunk, never whole: no whole-set checks, split or weights
        if validation_split:
            raise ValueError(
                "validation_split needs the data in memory; with a streamed x pass validation_data=(x_val, y_val)"
            )
        if sample_weight is not None or class_weight is not None:
            raise ValueError(
                "sample_weight and class_weight need the data in memory; with a streamed x, "
                "weight the examples in the loss instead"
            )
        x, y = stream, stream.labels
    else:
        x, y = check_data(x, y)
        if sample_weight is not None:
            sample_weight = example_weights(y, sample_weight)
    validation: tuple | None
    if validation_data is not None:
        if len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight_val)")
        val_x, val_y = check_data(validation_data[0], validation_data[1], what="validation")
        val_w = example_weights(val_y, validation_data[2], what="validation") if len(validation_data) == 3 else None
        validation = (val_x, val_y, val_w)
    elif stream is None:
        (x, y, sample_weight), validation = split_validation((x, y, sample_weight), validation_split)
    else:
        validation = None
    n = len(x) if stream is not None else inputs.num_examples(x)
    # class weights: training data only
    w = None if stream is not None else or_ones(example_weights(y, sample_weight, class_weight), n)
    batch_size, num_batches = _batches(n, batch_size)
    parallel = DataParallel.over(devices)
    parallel.check_batch_size(batch_size)
    output_shape = _output_shape(apply, params, x if stream is None else stream.example[0])
    if y is not None:
        _check_labels(loss_fn, y, output_shape, "training labels")
    if validation is not None:
        _check_labels(loss_fn, validation[1], output_shape, "validation labels")

    key = jax.random.key(0) if key is None else key
    params = parallel.replicate(cb.copy_tree(params))  # the caller's arrays stay valid: only copies are donated
    opt_state = parallel.replicate(tx.init(params) if opt_state is None else cb.copy_tree(opt_state))
    # each device (and process) holds only its rows; a stream stays on the host until each chunk is read
    x_dev, y_dev, w_dev = parallel.shard_rows((x, y, w)) if stream is None else (stream, None, None)
    if isinstance(steps_per_call, str):
        if steps_per_call != "auto":
            raise ValueError(f"steps_per_call must be a positive int, None or 'auto', got {steps_per_call!r}")
        first = inputs.take(x, slice(None, 1)) if stream is None else stream.example[0]
        steps_per_call = default_steps_per_call(apply, params, first)
    model_key, alive = _identity(model)
    common = (model_key, id(loss_fn), _fns_key(metric_fns), batch_size, parallel, steps_per_call)
    alive = (alive, loss_fn, metric_fns)
    train_epoch = _cached(
        ("epoch", id(tx), n, shuffle, *common),
        (alive, tx),
        lambda: make_train_epoch(
            stateful_apply(model), loss_fn, tx, metric_fns, n, batch_size, shuffle, parallel, steps_per_call
        ),
    )
    val_run = None
    if validation is not None:
        n_val = inputs.num_examples(validation[0])
        val_x, val_y, val_w = parallel.shard_rows((*validation[:2], or_ones(validation[2], n_val)))
        val_run = _cached(
            ("evaluate", n_val, *common),
            alive,
            lambda: make_evaluate(apply, loss_fn, metric_fns, n_val, batch_size, parallel, steps_per_call),
        )

    callbacks = list(callbacks)
    params_log = {"verbose": verbose, "epochs": epochs, "steps": num_batches}  # Keras keeps verbose as given
    if isinstance(verbose, str):
        if verbose != "auto":
            raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
        verbose = 1 if sys.stderr.isatty() else 0
    if verbose:
        callbacks.append(cb.ProgressBar(verbose))
    log_names = ("loss", *metric_fns)
    log_names += tuple("val_" + name for name in log_names) if val_run is not None else ()
    callbacks = distributed.callbacks_for_this_process(callbacks)  # process 0 alone writes logs
    save = save_fn or (lambda path, p, s, e: checkpoint.save(path, {"params": p, "opt_state": s}, {"epoch": e}))

    def save_state(path):
        if distributed.is_main_process():  # every process holds the same values: one writes them
            return save(path, state.params, state.opt_state, state.epoch)
        return None

    state = cb.TrainingState(params, opt_state, initial_epoch, epochs, log_names, save=save_state)

    def act(action: cb.Action | None) -> None:
        nonlocal state
        if action is not None:
            state = dataclasses.replace(
                state,
                stop_reason=action.stop or state.stop_reason,
                params=state.params if action.params is None else action.params,
                opt_state=state.opt_state if action.opt_state is None else action.opt_state,
            )

    history, warned = History(params=params_log), False
    for callback in callbacks:
        callback.on_train_begin(state)
    # jaxnet.orbax_checkpoint.BackupAndRestore: go on from an interrupted run's last saved epoch
    backups = [c for c in callbacks if hasattr(c, "backup") and hasattr(c, "resume")]
    resumed = backups[0].resume(state, key) if backups else None
    if resumed is not None:
        key, initial_epoch, history = resumed.key, resumed.epoch, History(**resumed.history)
        state = dataclasses.replace(state, params=resumed.params, opt_state=resumed.opt_state, epoch=initial_epoch)
    for epoch in range(initial_epoch, epochs):
        state = dataclasses.replace(state, epoch=epoch)
        for callback in callbacks:
            callback.on_epoch_begin(epoch, state)
        start = time.perf_counter()
        params, opt_state, sums = train_epoch(
            state.params, state.opt_state, jax.random.fold_in(key, epoch), x_dev, y_dev, w_dev
        )
        state = dataclasses.replace(state, params=params, opt_state=opt_state)
        logs = _host_logs(sums, metric_fns, n)  # the one host sync of the epoch
        if val_run is not None:
            logs.update(_host_logs(val_run(state.params, val_x, val_y, val_w), metric_fns, n_val, prefix="val_"))
        history.append(epoch, logs, time.perf_counter() - start)
        for callback in callbacks:
            act(callback.on_epoch_end(epoch, logs, state))
        if not (warned or state.stop_reason):  # a callback (TerminateOnNaN) that stops has said why
            warned = warn_if_diverged(logs["loss"], epoch, state.params)
        for backup in backups:
            backup.backup(
                epoch,
                state,
                key,
                {"history": history.history, "epoch": history.epoch, "epoch_times": history.epoch_times},
            )
        if state.stop_reason:
            break
    for callback in callbacks:
        act(callback.on_train_end(state))
    history.opt_state, history.stop_reason = state.opt_state, state.stop_reason
    return state.params, history
