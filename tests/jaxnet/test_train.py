import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxnet import Dense, Dropout, Sequential, datasets, zoo
from jaxnet.train import evaluate, fit, predict

KEY = jax.random.key(0)


@pytest.fixture(scope="module")
def digits():
    return datasets.load_digits()


def test_digits_mlp_reaches_097(digits):
    (x, y), (xt, yt) = digits
    model = zoo.mlp()
    params, history = fit(
        model,
        model.init(KEY, (8, 8)),
        x,
        y,
        metrics=["accuracy"],
        epochs=40,
        batch_size=32,
        validation_split=0.1,
        verbose=0,
    )
    assert evaluate(model, params, xt, yt, metrics=["accuracy"])["accuracy"] >= 0.97
    assert len(history.history["val_accuracy"]) == 40 and history.history["loss"][-1] < history.history["loss"][0]


def test_digits_cnn_reaches_098(digits):
    (x, y), (xt, yt) = digits
    model = zoo.small_cnn()
    params, _ = fit(
        model, model.init(KEY, (8, 8, 1)), x[..., None], y, metrics=["accuracy"], epochs=15, batch_size=32, verbose=0
    )
    assert evaluate(model, params, xt[..., None], yt, metrics=["accuracy"])["accuracy"] >= 0.98


def test_iris_reaches_095():
    (x, y), (xt, yt) = datasets.load_iris()
    model = Sequential([Dense(16, activation="relu"), Dense(3, activation="softmax")])
    params, _ = fit(
        model, model.init(KEY, (4,)), x, y, optimizer="adam", learning_rate=0.01, epochs=100, batch_size=16, verbose=0
    )
    assert evaluate(model, params, xt, yt, metrics=["accuracy"])["accuracy"] >= 0.95


def test_diabetes_regression_beats_the_mean_widely():
    (x, y), (xt, yt) = datasets.load_diabetes()
    model = zoo.regression_mlp()
    params, _ = fit(
        model,
        model.init(KEY, (10,)),
        x,
        y,
        loss="mse",
        metrics=["mae"],
        optimizer="adam",
        learning_rate=0.01,
        epochs=150,
        batch_size=32,
        verbose=0,
    )
    mse = evaluate(model, params, xt, yt, loss="mse", metrics=["mae"])["loss"]
    baseline = float(np.mean((yt - y.mean()) ** 2))
    assert mse < 0.7 * baseline, (mse, baseline)  # linear least squares reaches 0.66 of the baseline on this split


def test_same_seed_gives_bitwise_identical_parameters(digits):
    (x, y), _ = digits
    model = zoo.mlp()
    runs = [
        fit(model, model.init(KEY, (8, 8)), x[:300], y[:300], epochs=2, key=jax.random.key(7), verbose=0)[0]
        for _ in range(2)
    ]
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, b), *runs)
    other = fit(model, model.init(KEY, (8, 8)), x[:300], y[:300], epochs=2, key=jax.random.key(8), verbose=0)[0]
    assert not np.array_equal(other["dense"]["w"], runs[0]["dense"]["w"])


def test_last_partial_batch_counts_each_example_once(rng):
    model = Sequential([Dense(3, activation="softmax")])
    params = model.init(KEY, (4,))
    x, y = rng.normal(size=(10, 4)).astype(np.float32), rng.integers(0, 3, 10)
    frozen = optax.sgd(0.0)  # parameters stay put, so the epoch's loss is the data set's mean loss
    _, history = fit(model, params, x, y, optimizer=frozen, metrics=["accuracy"], batch_size=4, verbose=0)
    full = evaluate(model, params, x, y, metrics=["accuracy"], batch_size=10)
    assert history.history["loss"][0] == pytest.approx(full["loss"], rel=1e-6)
    assert history.history["accuracy"][0] == pytest.approx(full["accuracy"], rel=1e-6)


def test_evaluate_and_predict_match_a_single_full_batch(rng):
    model = Sequential([Dense(8, activation="relu"), Dense(3, activation="softmax")])
    params = model.init(KEY, (5,))
    x, y = rng.normal(size=(23, 5)).astype(np.float32), rng.integers(0, 3, 23)
    out = model.apply(params, jnp.asarray(x))
    np.testing.assert_allclose(predict(model, params, x, batch_size=4), out, rtol=1e-6)
    result = evaluate(model, params, x, y, metrics=["accuracy"], batch_size=4)
    assert list(result) == ["loss", "accuracy"]
    expected_loss = float(-jnp.mean(jnp.log(out[jnp.arange(23), y])))
    assert result["loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert result["accuracy"] == pytest.approx(float(np.mean(np.argmax(out, 1) == y)), rel=1e-6)


def test_train_step_compiles_once(rng):
    model = Sequential([Dense(3, activation="softmax")])
    traces = []

    def apply(params, x, *, key=None, training=False):
        traces.append(training)
        return model.apply(params, x, key=key, training=training)

    x, y = rng.normal(size=(50, 4)).astype(np.float32), rng.integers(0, 3, 50)
    fit(apply, model.init(KEY, (4,)), x, y, epochs=4, batch_size=16, validation_split=0.2, verbose=0)
    assert traces.count(True) == 1  # one trace of the training step for all epochs and batches


def test_dropout_gets_a_new_mask_each_step(rng):
    model = Sequential([Dropout(0.5), Dense(1)])
    params = model.init(KEY, (20,))
    masks = []

    def apply(p, x, *, key=None, training=False):
        if training:
            jax.debug.callback(lambda k: masks.append(np.asarray(jax.random.key_data(k))), key)
        return model.apply(p, x, key=key, training=training)

    fit(
        apply,
        params,
        np.ones((12, 20), np.float32),
        np.ones((12, 1), np.float32),
        loss="mse",
        epochs=2,
        batch_size=4,
        verbose=0,
    )
    assert len(masks) == 6 and len({m.tobytes() for m in masks}) == 6


def test_shuffle_false_and_one_hot_labels(rng):
    model = Sequential([Dense(3, activation="softmax")])
    x, labels = rng.normal(size=(30, 4)).astype(np.float32), rng.integers(0, 3, 30)
    y = datasets.one_hot(labels, 3)
    a = fit(
        model,
        model.init(KEY, (4,)),
        x,
        y,
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        shuffle=False,
        key=jax.random.key(1),
        verbose=0,
    )
    b = fit(
        model,
        model.init(KEY, (4,)),
        x,
        y,
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        shuffle=False,
        key=jax.random.key(2),
        verbose=0,
    )
    jax.tree.map(lambda u, v: np.testing.assert_array_equal(u, v), a[0], b[0])  # keys only shuffle and drop out
    assert a[1].history["accuracy"] == b[1].history["accuracy"] and a[1].history["loss"] == b[1].history["loss"]


@pytest.mark.parametrize("make_key", [jax.random.key, jax.random.PRNGKey, lambda s: jax.random.key(s, impl="rbg")])
def test_shuffled_order_is_a_uniform_permutation_fixed_by_the_key(make_key):
    from scipy import stats

    from jaxnet.train import shuffled_order

    first = shuffled_order(make_key(0), 1000)
    assert first.dtype == np.int32 and sorted(first.tolist()) == list(range(1000))
    np.testing.assert_array_equal(first, shuffled_order(make_key(0), 1000))
    assert not np.array_equal(first, shuffled_order(make_key(1), 1000))
    # each of the 24 orders of 4 items about equally often over 4,800 keys (chi-square against uniform)
    counts: dict = {}
    for seed in range(4800):
        order = tuple(shuffled_order(make_key(seed), 4).tolist())
        counts[order] = counts.get(order, 0) + 1
    assert len(counts) == 24 and stats.chisquare(list(counts.values())).pvalue > 1e-3


def test_the_key_alone_fixes_the_shuffle(rng):
    model = Sequential([Dense(3, activation="softmax")])  # no dropout: the key only shuffles
    x, y = rng.normal(size=(30, 4)).astype(np.float32), rng.integers(0, 3, 30)
    runs = [
        fit(model, model.init(KEY, (4,)), x, y, epochs=2, batch_size=8, key=jax.random.key(k), verbose=0)[0]
        for k in (1, 1, 2)
    ]
    jax.tree.map(np.testing.assert_array_equal, runs[0], runs[1])
    assert not np.array_equal(runs[0]["dense"]["w"], runs[2]["dense"]["w"])


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_every_named_optimizer_lowers_the_loss(name, rng):
    model = Sequential([Dense(3, activation="softmax")])
    x, y = rng.normal(size=(64, 4)).astype(np.float32), rng.integers(0, 3, 64)
    _, history = fit(model, model.init(KEY, (4,)), x, y, optimizer=name, learning_rate=0.05, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_schedule_and_optax_transformation(rng):
    model = Sequential([Dense(1)])
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    schedule = optax.exponential_decay(0.1, transition_steps=10, decay_rate=0.5)
    _, h1 = fit(
        model, model.init(KEY, (3,)), x, y, loss="mse", optimizer="sgd", learning_rate=schedule, epochs=10, verbose=0
    )
    _, h2 = fit(
        model,
        model.init(KEY, (3,)),
        x,
        y,
        loss="mse",
        optimizer=optax.chain(optax.clip(1.0), optax.adam(0.05)),
        epochs=10,
        verbose=0,
    )
    assert h1.history["loss"][-1] < h1.history["loss"][0] and h2.history["loss"][-1] < h2.history["loss"][0]


BAD = [
    (dict(x=np.ones((10, 4)), y=np.zeros(9)), "x has 10 examples but y has 9"),
    (dict(x=np.ones((0, 4)), y=np.zeros(0)), "empty"),
    (dict(x=np.full((5, 4), np.nan), y=np.zeros(5)), "20 NaN or infinite"),
    (
        dict(x=np.ones((5, 4)), y=np.array([0, 1, 2, 3, 7])),
        r"labels in \[0, 2\] for a model with 3 outputs, got labels from 0 to 7",
    ),
    (dict(x=np.ones((5, 4)), y=np.zeros(5), batch_size=0), "batch_size must be a positive integer"),
    (dict(x=np.ones((5, 4)), y=np.zeros(5), optimizer="adamw2"), "unknown optimizer 'adamw2'"),
    (dict(x=np.ones((5, 4)), y=np.zeros(5), loss="crossentropy"), "unknown loss 'crossentropy'"),
    (dict(x=np.ones((5, 4)), y=np.zeros(5), metrics=["precision"]), "unknown metric 'precision'"),
    (dict(x=np.ones((5, 4)), y=np.zeros(5), loss="cross_entropy_error"), "takes no sample_weight"),
    (dict(x=np.ones((5, 4)), y=np.zeros(5), validation_split=1.5), r"validation_split must be in \[0, 1\)"),
]


@pytest.mark.parametrize("kwargs,message", BAD, ids=[m for _, m in BAD])
def test_bad_input_is_a_clear_error(kwargs, message):
    model = Sequential([Dense(3, activation="softmax")])
    with pytest.raises(ValueError, match=message):
        fit(model, model.init(KEY, (4,)), verbose=0, **kwargs)


@pytest.mark.parametrize("argument", [{"verbose": "loud"}, {"steps_per_call": "many"}])
def test_a_string_other_than_auto_is_refused(argument):
    model = Sequential([Dense(2)])
    x, y = np.ones((8, 3), np.float32), np.zeros(8, np.int32)
    with pytest.raises(ValueError, match="auto"):
        fit(model, model.init(KEY, (3,)), x, y, epochs=1, **argument)
