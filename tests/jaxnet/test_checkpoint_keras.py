import os

import jax
import numpy as np
import pytest

from jaxnet import Conv2D, Dense, Dropout, Flatten, MaxPooling2D, checkpoint, datasets, keras, load_model
from jaxnet.checkpoint import CheckpointError


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    (x, y), (xt, yt) = datasets.load_digits()
    model = keras.Sequential([Flatten(), Dense(32, activation="relu"), Dropout(0.2), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, validation_split=0.2, verbose=0)
    return model, history, (x, y), (xt, yt)


def test_the_seeds_keras_flow(trained, capsys):
    model, history, (x, y), (xt, yt) = trained
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    loss, acc = model.evaluate(xt, yt)
    assert 0 < loss < 1 and acc > 0.85
    probs = model.predict(xt)
    assert probs.shape == (len(xt), 10)
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
    assert [w.shape for w in model.get_weights()] == [(64, 32), (32,), (32, 10), (10,)]
    assert model.summary() is None  # it prints, as Keras
    assert "Total params: 2,410" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["digits.npz", "digits.orbax"])  # jaxnet's file, an Orbax checkpoint folder
def test_save_and_load_predict_identically_and_resume(trained, tmp_path, name):
    model, _, (x, y), (xt, yt) = trained
    path = model.save(tmp_path / name)
    again = load_model(path)
    np.testing.assert_array_equal(again.predict(xt), model.predict(xt))
    jax.tree.map(np.testing.assert_array_equal, again.opt_state, model.opt_state)
    assert again.evaluate(xt, yt) == model.evaluate(xt, yt)
    # Resuming carries on from the saved optimizer state: two restored copies trained one more epoch agree
    # bit for bit, their Adam step count continues from the saved one, and the weights moved.
    twin = load_model(path)
    steps_before = int(again.opt_state[0].count)
    again.fit(x, y, epochs=1, verbose=0)
    twin.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(again.predict(xt), twin.predict(xt))
    assert int(again.opt_state[0].count) == steps_before + -(-len(x) // 32)
    assert not np.array_equal(again.predict(xt), model.predict(xt))


def test_cnn_architecture_round_trip(tmp_path):
    model = keras.Sequential(
        [
            Conv2D(4, (3, 3), padding="same", activation="relu"),
            MaxPooling2D(2),
            Flatten(),
            Dense(3, activation="softmax"),
        ],
        input_shape=(6, 6, 1),
    )
    model.save(tmp_path / "cnn")
    again = load_model(tmp_path / "cnn.npz")
    assert again.network == model.network
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 1)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


def test_corrupt_and_truncated_files(trained, tmp_path):
    model = trained[0]
    path = model.save(tmp_path / "m.npz")
    data = path.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file at all")
    for name in ("truncated.npz", "garbage.npz"):
        with pytest.raises(CheckpointError, match="corrupt or truncated"):
            load_model(tmp_path / name)
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_model(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", a=np.ones(3))
    with pytest.raises(CheckpointError, match="not a jaxnet checkpoint"):
        load_model(tmp_path / "other.npz")


def test_unwritable_path_names_it(trained, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError, match="cannot write a checkpoint to .*file/sub/m.npz"):
        trained[0].save(tmp_path / "file" / "sub" / "m.npz")


def test_crashed_save_keeps_the_previous_checkpoint(trained, tmp_path, monkeypatch):
    model = trained[0]
    path = model.save(tmp_path / "m.npz")
    before = path.read_bytes()

    def crash(file, **arrays):
        file.write(b"partial")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(checkpoint.np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.npz"]


def test_mismatched_weights_and_uncompiled_use(tmp_path):
    small = keras.Sequential([Dense(2)], input_shape=(3,))
    path = checkpoint.save(
        tmp_path / "w.npz",
        {"params": {"dense": {"w": np.ones((4, 2)), "b": np.ones(2)}}},
        {
            "architecture": {
                "class": "Sequential",
                "name": None,
                "layers": [{"class": "Dense", "config": {"units": 2, "name": None}}],
            },
            "input_shape": [3],
        },
    )
    with pytest.raises(CheckpointError, match="does not match the model"):
        load_model(path)
    with pytest.raises(ValueError, match="call compile"):
        small.fit(np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="use a registered name"):
        keras.Sequential([Dense(2, activation=lambda v: v)], input_shape=(3,)).save(tmp_path / "f.npz")
