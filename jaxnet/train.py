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
from jaxnet._src import inputs
from jaxnet._src.labels import check_labels
from jaxnet._src.loops import batch_loop, default_steps_per_call
from jaxnet._src.parallel import DataParallel

ApplyFn = Callable[..., jax.Array]


@dataclass
class History:
    """Per-epoch logs, as Keras' History: ``history.history["val_accuracy"]``, ``history.epoch``.

    ``opt_state`` is the optimizer state at the end of training (to resume or to save).
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)
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
        raise ValueError(f"loss {name!r} takes no sample_weight, which training needs to mask the padded examples "
                         "of the last batch; use a Keras-style loss such as 'categorical_crossentropy' or 'mse', or "
                         "give yours a sample_weight=None argument (see jaxnet.losses)")
    return fn


def metric_functions(metrics: Sequence) -> dict[str, Callable]:
    """Metric names or functions as ``{log name: per-example function}``."""
    return {metrics_lib.name_of(m): metrics_lib.get(m) for m in metrics}


def check_data(x, y, what: str = "training"):
    """Validate one data set: same length, not empty, finite numbers.

    ``x`` and ``y`` are arrays, or tuples, lists or dicts of arrays (several inputs or outputs) that
    share the batch axis (see ``jaxnet._src.inputs``).

    Returns:
        ``(x, y)`` with NumPy arrays as leaves.

    Raises:
        ValueError: naming the problem.
    """
    x, y = inputs.as_arrays(x), inputs.as_arrays(y)
    n_x, n_y = inputs.check(x, "x", what), inputs.check(y, "y", what)
    if n_x != n_y:
        raise ValueError(f"{what} x has {n_x} examples but y has {n_y}; they must match")
    if n_x == 0:
        raise ValueError(f"the {what} data set is empty")
    return x, y


def _batches(n: int, batch_size: int) -> tuple[int, int]:
    if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    batch_size = min(int(batch_size), n)
    return batch_size, math.ceil(n / batch_size)


def _masked_order(order: jax.Array, n: int, batch_size: int, num_batches: int):
    """Pad an index order to num_batches * batch_size (repeating index 0) and mark the real examples."""
    total = num_batches * batch_size
    order = jnp.concatenate([order, jnp.zeros(total - n, order.dtype)])
    mask = (jnp.arange(total) < n).astype(jnp.float32)
    return order.reshape(num_batches, batch_size), mask.reshape(num_batches, batch_size)


def _metric_sums(metric_fns, y_pred, yb, mask) -> dict:
    return {name: jnp.sum(fn(y_pred, yb) * mask) for name, fn in metric_fns.items()}


def make_train_epoch(apply: ApplyFn, loss_fn: Callable, optimizer: optax.GradientTransformation,
                     metric_fns: dict[str, Callable], n: int, batch_size: int, shuffle: bool = True,
                     parallel: DataParallel = DataParallel(None), steps_per_call: int | None = None) -> Callable:
    """Build the epoch: ``epoch(params, opt_state, key, x, y) -> (params, opt_state, sums)``.

    ``sums`` holds the loss and each metric summed over the epoch's examples (divide by n for means).
    Batches are gathered once per epoch on the device; the steps run ``steps_per_call`` at a time in
    compiled calls (None: the whole epoch in one ``lax.scan``), with parameters and optimizer state
    donated. With several devices each batch is split over them.
    """
    batch_size, num_batches = _batches(n, batch_size)

    def step(carry, batch, data):
        params, opt_state, sums = carry
        idx, mask, key = batch
        x, y = data
        # Each step gathers its own rows: no shuffled copy of the whole data set is ever made.
        xb, yb, mask = parallel.shard_batch((inputs.take(x, idx), inputs.take(y, idx), mask))

        def objective(p):
            y_pred = apply(p, xb, key=key, training=True)
            return loss_fn(y_pred, yb, sample_weight=mask), y_pred

        (loss, y_pred), grads = jax.value_and_grad(objective, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        count = jnp.sum(mask)
        new = {"loss": loss * count, **_metric_sums(metric_fns, y_pred, yb, mask)}
        return (params, opt_state, jax.tree.map(jnp.add, sums, new)), None

    @jax.jit
    def plan(key):
        shuffle_key, dropout_key = jax.random.split(key)
        order = jax.random.permutation(shuffle_key, n) if shuffle else jnp.arange(n)
        order, mask = _masked_order(order, n, batch_size, num_batches)
        zeros = {name: jnp.zeros((), jnp.float32) for name in ["loss", *metric_fns]}
        return (order, mask, jax.random.split(dropout_key, num_batches)), zeros

    run = batch_loop(step, num_batches, steps_per_call)

    def epoch(params, opt_state, key, x, y):
        batches, zeros = plan(key)
        (params, opt_state, sums), _ = run((params, opt_state, zeros), batches, (x, y))
        return params, opt_state, sums

    return epoch


def make_evaluate(apply: ApplyFn, loss_fn: Callable | None, metric_fns: dict[str, Callable], n: int,
                  batch_size: int, parallel: DataParallel = DataParallel(None),
                  steps_per_call: int | None = None) -> Callable:
    """Build the evaluation: ``run(params, x, y) -> {"loss": mean, metric: mean}`` over n examples."""
    batch_size, _ = _batches(n, batch_size)
    batch_size = -(-batch_size // parallel.size) * parallel.size  # a small set's batch still splits evenly
    num_batches = math.ceil(n / batch_size)
    names = (["loss"] if loss_fn is not None else []) + list(metric_fns)

    def body(carry, batch, data):
        params, sums = carry
        idx, m = batch
        x, y = data
        xb, yb, m = parallel.shard_batch((inputs.take(x, idx), inputs.take(y, idx), m))
        y_pred = apply(params, xb, key=None, training=False)
        new = {} if loss_fn is None else {"loss": loss_fn(y_pred, yb, sample_weight=m) * jnp.sum(m)}
        new.update(_metric_sums(metric_fns, y_pred, yb, m))
        return (params, jax.tree.map(jnp.add, sums, new)), None

    batches = _masked_order(jnp.arange(n), n, batch_size, num_batches)
    zeros = {k: jnp.zeros((), jnp.float32) for k in names}
    loop = batch_loop(body, num_batches, steps_per_call, donate_carry=False)

    def run(params, x, y):
        (_, sums), _ = loop((params, zeros), batches, (x, y))
        return {k: v / n for k, v in sums.items()}

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


def evaluate(model, params, x, y, *, loss="sparse_categorical_crossentropy", metrics: Sequence = ("accuracy",),
             batch_size: int = 32) -> dict[str, float]:
    """Mean loss and metrics over a data set, in fixed-size masked batches.

    Arguments:
        model: a jaxnet model (anything with ``apply``) or an apply function.
        params: its parameters.
        x, y: the data.
        loss: a loss name or function (with ``sample_weight``), or None for metrics only.
        metrics: metric names or per-example functions.
        batch_size: examples per compiled batch.

    Returns:
        ``{"loss": ..., "accuracy": ...}`` as Python floats.
    """
    x, y = check_data(x, y, "evaluation")
    metric_fns, apply = metric_functions(metrics), _apply_fn(model)
    loss_fn = None if loss is None else training_loss(loss)
    _check_labels(loss_fn, y, _output_shape(apply, params, x), "evaluation labels")
    steps = default_steps_per_call(apply, params, inputs.take(x, slice(None, 1)))
    model_key, alive = _identity(model)
    n = inputs.num_examples(x)
    key = ("evaluate", model_key, id(loss_fn), _fns_key(metric_fns), n, batch_size, steps)
    run = _cached(key, (alive, loss_fn, metric_fns),
                  lambda: make_evaluate(apply, loss_fn, metric_fns, n, batch_size, steps_per_call=steps))
    return _host_logs(run(params, inputs.to_device(x), inputs.to_device(y)), metric_fns)


def predict(model, params, x, *, batch_size: int = 32) -> jax.Array:
    """The model's outputs for every example of ``x`` (inference mode), in fixed-size batches."""
    x = inputs.as_arrays(x)
    if inputs.check(x, "x", "prediction") == 0:
        raise ValueError("predict needs a non-empty batch of inputs")
    apply = _apply_fn(model)
    steps = default_steps_per_call(apply, params, inputs.take(x, slice(None, 1)))
    model_key, alive, n = *_identity(model), inputs.num_examples(x)
    run = _cached(("predict", model_key, n, batch_size, steps), alive,
                  lambda: make_predict(apply, n, batch_size, steps))
    return run(params, inputs.to_device(x))


def _fns_key(metric_fns: dict) -> tuple:
    return tuple((name, id(fn)) for name, fn in metric_fns.items())


def _output_shape(apply: ApplyFn, params, x) -> Any:
    """One example's output shape (a tree of shapes for several outputs), by abstract evaluation on one example."""
    out = jax.eval_shape(lambda p, xb: apply(p, xb, key=None, training=False), params, inputs.take(x, slice(None, 1)))
    return jax.tree.map(lambda a: a.shape[1:], out)


def _check_labels(loss_fn, y, output_shape, what: str) -> None:
    """``check_labels`` for one output; a multi-output loss checks its own targets."""
    if not inputs.is_tree(y) and not (output_shape and isinstance(output_shape[0], tuple)):
        check_labels(loss_fn, y, output_shape, what)


def _host_logs(values: dict, metric_fns: dict, scale: float = 1.0, prefix: str = "") -> dict[str, float]:
    """Device values to Python floats in Keras' order, loss first (pytrees come back with sorted keys)."""
    values = jax.device_get(values)
    return {prefix + k: float(values[k]) * scale for k in ["loss", *metric_fns] if k in values}


def _split_validation(x, y, validation_split: float):
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    n_val = int(inputs.num_examples(x) * validation_split)
    if validation_split and n_val == 0:
        raise ValueError(f"validation_split={validation_split} leaves no validation example out of "
                         f"{inputs.num_examples(x)}")
    if n_val == 0:
        return x, y, None
    cut = inputs.num_examples(x) - n_val  # Keras takes the last examples, before any shuffling
    head, tail = slice(None, cut), slice(cut, None)
    return inputs.take(x, head), inputs.take(y, head), (inputs.take(x, tail), inputs.take(y, tail))


def fit(model, params, x, y, *, loss="sparse_categorical_crossentropy",
        optimizer: str | optax.GradientTransformation = "adam", learning_rate=None, metrics: Sequence = (),
        epochs: int = 1, batch_size: int = 32, validation_split: float = 0.0, validation_data=None,
        shuffle: bool = True, key: jax.Array | None = None, callbacks: Sequence[cb.Callback] = (),
        verbose: int | str = "auto", opt_state=None, initial_epoch: int = 0,
        save_fn: Callable | None = None, devices: Sequence[jax.Device] | None = None,
        steps_per_call: int | None | str = "auto") -> tuple[Any, History]:
    """Train ``params`` with an Optax optimizer.

    Arguments:
        model: a jaxnet model (anything with ``apply``) or an apply function
            ``apply(params, x, *, key=None, training=False)``.
        params: initial parameters (not modified: buffers are copied before donation).
        x, y: training inputs and targets (batch axis first).
        loss: a loss name or function with ``sample_weight``.
        optimizer: a name ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam") or an Optax transformation.
        learning_rate: a number or Optax schedule, for optimizers given by name.
        metrics: names ("accuracy", "mae", "mse") or per-example functions.
        epochs: the epoch to stop after (counting from 0, as Keras with ``initial_epoch``).
        batch_size: examples per step; the last partial batch is masked, not dropped.
        validation_split: the fraction of the data, taken from the end, held out for validation.
        validation_data: ``(x_val, y_val)``, instead of validation_split.
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

    Returns:
        ``(params, history)``: the trained parameters and the History (with ``history.opt_state``).

    Raises:
        ValueError: for mismatched or empty data, NaN/inf values, labels out of range, a bad
            batch size, or an unknown optimizer, loss or metric name.
    """
    apply, loss_fn, metric_fns = _apply_fn(model), training_loss(loss), metric_functions(metrics)
    tx = _get_optimizer(optimizer, learning_rate)
    x, y = check_data(x, y)
    if validation_data is not None:
        validation = check_data(*validation_data, what="validation")
    else:
        x, y, validation = _split_validation(x, y, validation_split)
    n = inputs.num_examples(x)
    batch_size, _ = _batches(n, batch_size)
    parallel = DataParallel.over(devices)
    parallel.check_batch_size(batch_size)
    output_shape = _output_shape(apply, params, x)
    _check_labels(loss_fn, y, output_shape, "training labels")
    if validation is not None:
        _check_labels(loss_fn, validation[1], output_shape, "validation labels")

    key = jax.random.key(0) if key is None else key
    params = parallel.replicate(cb.copy_tree(params))  # the caller's arrays stay valid: only copies are donated
    opt_state = parallel.replicate(tx.init(params) if opt_state is None else cb.copy_tree(opt_state))
    x_dev, y_dev = parallel.replicate((x, y))
    if steps_per_call == "auto":
        steps_per_call = default_steps_per_call(apply, params, inputs.take(x, slice(None, 1)))
    model_key, alive = _identity(model)
    common = (model_key, id(loss_fn), _fns_key(metric_fns), batch_size, parallel, steps_per_call)
    alive = (alive, loss_fn, metric_fns)
    train_epoch = _cached(("epoch", id(tx), n, shuffle, *common), (alive, tx),
                          lambda: make_train_epoch(apply, loss_fn, tx, metric_fns, n, batch_size, shuffle,
                                                   parallel, steps_per_call))
    val_run = None
    if validation is not None:
        val_x, val_y = parallel.replicate(validation)
        n_val = inputs.num_examples(val_x)
        val_run = _cached(("evaluate", n_val, *common), alive,
                          lambda: make_evaluate(apply, loss_fn, metric_fns, n_val, batch_size, parallel,
                                                steps_per_call))

    callbacks = list(callbacks)
    verbose = (1 if sys.stderr.isatty() else 0) if verbose == "auto" else verbose
    if verbose:
        callbacks.append(cb.ProgressBar(verbose))
    log_names = ("loss", *metric_fns)
    log_names += tuple("val_" + name for name in log_names) if val_run is not None else ()
    save = save_fn or (lambda path, p, s, e: checkpoint.save(path, {"params": p, "opt_state": s}, {"epoch": e}))
    state = cb.TrainingState(params, opt_state, initial_epoch, epochs, log_names,
                             save=lambda path: save(path, state.params, state.opt_state, state.epoch))

    def act(action: cb.Action | None) -> None:
        nonlocal state
        if action is not None:
            state = dataclasses.replace(
                state, stop_reason=action.stop or state.stop_reason,
                params=state.params if action.params is None else action.params,
                opt_state=state.opt_state if action.opt_state is None else action.opt_state)

    history = History()
    for callback in callbacks:
        callback.on_train_begin(state)
    for epoch in range(initial_epoch, epochs):
        state = dataclasses.replace(state, epoch=epoch)
        for callback in callbacks:
            callback.on_epoch_begin(epoch, state)
        start = time.perf_counter()
        params, opt_state, sums = train_epoch(state.params, state.opt_state, jax.random.fold_in(key, epoch),
                                              x_dev, y_dev)
        state = dataclasses.replace(state, params=params, opt_state=opt_state)
        logs = _host_logs(sums, metric_fns, 1.0 / n)  # the one host sync of the epoch
        if val_run is not None:
            logs.update(_host_logs(val_run(state.params, val_x, val_y), metric_fns, prefix="val_"))
        history.append(epoch, logs, time.perf_counter() - start)
        for callback in callbacks:
            act(callback.on_epoch_end(epoch, logs, state))
        if state.stop_reason:
            break
    for callback in callbacks:
        act(callback.on_train_end(state))
    history.opt_state, history.stop_reason = state.opt_state, state.stop_reason
    return state.params, history
