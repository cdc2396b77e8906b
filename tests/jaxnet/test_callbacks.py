import csv

import jax
import numpy as np
import pytest

from jaxnet import CSVLogger, Dense, EarlyStopping, ModelCheckpoint, Sequential, TensorBoard, TerminateOnNaN, checkpoint
from jaxnet.callbacks import TrainingState
from jaxnet.train import evaluate, fit

KEY = jax.random.key(0)


@pytest.fixture
def problem(rng):
    x = rng.normal(size=(120, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32) + (x[:, 2] > 1).astype(np.int32)
    model = Sequential([Dense(16, activation="relu"), Dense(3, activation="softmax")])
    return model, model.init(KEY, (4,)), x, y


def test_early_stopping_restores_best_weights(problem):
    model, params, x, y = problem
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    # a learning rate this high makes val_loss bounce, so the run stops before 200 epochs
    trained, history = fit(
        model,
        params,
        x,
        y,
        optimizer="sgd",
        learning_rate=3.0,
        epochs=200,
        validation_split=0.25,
        callbacks=[stop],
        verbose=0,
    )
    val = history.history["val_loss"]
    assert len(val) < 200 and stop.stopped_epoch == len(val) - 1
    assert "early stopping" in history.stop_reason
    best = evaluate(model, trained, x[90:], y[90:])["loss"]
    assert best == pytest.approx(min(val), rel=1e-5)


def _state(*log_names):
    return TrainingState(params={}, opt_state={}, epoch=0, epochs=5, log_names=log_names, save=None)


def test_early_stopping_min_delta_and_mode():
    stop = EarlyStopping(monitor="val_accuracy", patience=1, min_delta=0.1)
    state = _state("loss", "val_accuracy")
    stop.on_train_begin(state)
    actions = [stop.on_epoch_end(epoch, {"val_accuracy": acc}, state) for epoch, acc in enumerate([0.5, 0.55])]
    # +0.05 is below min_delta: the second epoch is no improvement, and patience 1 stops there
    assert actions[0] is None and "val_accuracy has not improved for 1 epochs" in actions[1].stop
    assert stop.best == 0.5 and actions[1].params is None


def test_callbacks_check_their_log_keys_before_training(problem, tmp_path):
    model, params, x, y = problem
    with pytest.raises(ValueError, match="monitors 'val_loss', which this run does not log"):
        EarlyStopping(monitor="val_loss").on_train_begin(_state("loss"))
    for filepath, message in [
        ("{val_loss}.npz", "names \\['val_loss'\\]"),
        ("{epoch:xyz}.npz", "cannot be formatted"),
        ("{epoch.npz", "not a valid format string"),
    ]:
        with pytest.raises(ValueError, match=message):
            fit(model, params, x, y, epochs=1, callbacks=[ModelCheckpoint(tmp_path / filepath)], verbose=0)
    assert not any(tmp_path.iterdir())  # refused before the first epoch: nothing written


def test_model_checkpoint_save_best_only(problem, tmp_path):
    model, params, x, y = problem
    path = tmp_path / "best.npz"
    saved_epochs = []

    class Spy(ModelCheckpoint):
        def on_epoch_end(self, epoch, logs, state):
            before = path.stat().st_mtime_ns if path.exists() else None
            super().on_epoch_end(epoch, logs, state)
            if path.exists() and path.stat().st_mtime_ns != before:
                saved_epochs.append(epoch)

    trained, history = fit(
        model,
        params,
        x,
        y,
        epochs=6,
        validation_split=0.25,
        callbacks=[Spy(path, monitor="val_loss", save_best_only=True)],
        verbose=0,
    )
    val = history.history["val_loss"]
    improving = [e for e in range(len(val)) if val[e] == min(val[: e + 1])]
    assert saved_epochs == improving
    leaves, meta = checkpoint.load(path)
    assert meta["epoch"] == improving[-1] and "opt_state" in leaves
    every = tmp_path / "every" / "epoch{epoch:02d}.npz"
    fit(model, params, x, y, epochs=3, callbacks=[ModelCheckpoint(every)], verbose=0)
    assert sorted(p.name for p in (tmp_path / "every").iterdir()) == ["epoch01.npz", "epoch02.npz", "epoch03.npz"]


def test_terminate_on_nan_keeps_last_good_weights(rng):
    model = Sequential([Dense(1)])
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    # plain SGD on MSE with far too large a step diverges to inf and then NaN
    trained, history = fit(
        model,
        model.init(KEY, (4,)),
        x,
        y,
        loss="mse",
        optimizer="sgd",
        learning_rate=50.0,
        epochs=100,
        callbacks=[TerminateOnNaN()],
        verbose=0,
    )
    assert not np.isfinite(history.history["loss"][-1]) and len(history.history["loss"]) < 100
    assert "TerminateOnNaN" in history.stop_reason and "lower learning rate" in history.stop_reason
    assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree.leaves(trained))


def test_csv_logger(problem, tmp_path):
    model, params, x, y = problem
    fit(
        model,
        params,
        x,
        y,
        metrics=["accuracy"],
        epochs=3,
        validation_split=0.2,
        callbacks=[CSVLogger(tmp_path / "log.csv")],
        verbose=0,
    )
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])


def test_tensorboard_event_files_read_by_tensorboard(problem, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    model, params, x, y = problem
    _, history = fit(
        model,
        params,
        x,
        y,
        metrics=["accuracy"],
        epochs=3,
        validation_split=0.2,
        callbacks=[TensorBoard(tmp_path / "logs")],
        verbose=0,
    )
    train = EventAccumulator(str(tmp_path / "logs" / "train")).Reload()
    val = EventAccumulator(str(tmp_path / "logs" / "validation")).Reload()
    assert {"epoch_loss", "epoch_accuracy"} <= set(train.Tags()["scalars"])
    losses = [e.value for e in train.Scalars("epoch_loss")]
    np.testing.assert_allclose(losses, history.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([e.value for e in val.Scalars("epoch_loss")], history.history["val_loss"], rtol=1e-6)


def test_progress_line_per_epoch(problem, capsys):
    model, params, x, y = problem
    fit(model, params, x, y, metrics=["accuracy"], epochs=2, verbose=2)
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err and "accuracy:" in err
    fit(model, params, x, y, epochs=2, verbose=0)
    assert capsys.readouterr().err == ""
