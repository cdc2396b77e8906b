"""Two processes on 127.0.0.1 (JAX's distributed runtime, CPU collectives through gloo) train as one process does."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from jaxnet import checkpoint

N = 203  # not a multiple of the batch size nor of the process count: padding and masking are exercised

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import jax
    import numpy as np
    nproc, pid, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if nproc > 1:
        from jaxnet._src.distributed import initialize
        initialize(f"127.0.0.1:{port}", nproc, pid, cpu_collectives="gloo")
    from jaxnet import Dense, Sequential, CSVLogger, EarlyStopping, ModelCheckpoint
    from jaxnet.train import evaluate, fit, predict

    n = %d
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (np.arange(n, dtype=np.float32) / n)[:, None]  # each example's id, scaled: the metrics below sum them
    def seen(y_pred, y_true):
        return y_true[:, 0]
    def seen_squared(y_pred, y_true):
        return y_true[:, 0] ** 2
    model = Sequential([Dense(8, activation="tanh"), Dense(1)])
    params = model.init(jax.random.key(1), (5,))
    tag = f"{nproc}-{pid}"
    callbacks = [CSVLogger(os.path.join(out, f"log-{tag}.csv")),
                 ModelCheckpoint(os.path.join(out, f"ckpt-{nproc}.npz")),
                 EarlyStopping(monitor="loss", min_delta=0.05, patience=1)]
    params, history = fit(model, params, x, y, loss="mse", optimizer="sgd", learning_rate=0.1,
                          metrics=[seen, seen_squared], epochs=8, batch_size=16, key=jax.random.key(7),
                          callbacks=callbacks, verbose=2)
    result = {"history": history.history, "w": np.asarray(params["dense_1"]["w"]).tolist(),
              "evaluate": evaluate(model, params, x, y, loss="mse", metrics=["mae"]),
              "predict": np.asarray(predict(model, params, x[:7])).tolist(), "devices": jax.device_count()}
    print("RESULT " + json.dumps(result))
"""
    % N
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(nproc: int, out) -> list[dict]:
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    port = str(_free_port())
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(nproc), str(pid), port, str(out)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for pid in range(nproc)
    ]
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=240)
        assert proc.returncode == 0, stderr[-3000:]
        results.append(json.loads(next(line[7:] for line in stdout.splitlines() if line.startswith("RESULT "))))
    return results


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("distributed")
    return out, _run(1, out)[0], _run(2, out)


def test_two_processes_train_as_one(runs):
    _, single, pair = runs
    assert [r["devices"] for r in pair] == [2, 2]
    assert pair[0]["history"] == pair[1]["history"]  # the logs are global: identical in both processes
    assert len(single["history"]["loss"]) < 8  # EarlyStopping stopped the run early, and both processes with it
    for key in single["history"]:
        assert pair[0]["history"][key] == pytest.approx(single["history"][key], rel=1e-5, abs=1e-7), key
    np.testing.assert_allclose(pair[0]["w"], single["w"], rtol=1e-5, atol=1e-6)
    for r in pair:
        assert r["evaluate"] == pytest.approx(single["evaluate"], rel=1e-5)
        np.testing.assert_allclose(r["predict"], single["predict"], rtol=1e-5, atol=1e-6)


def test_every_example_is_seen_once_per_epoch(runs):
    _, _, pair = runs
    ids = np.arange(N) / N  # the metrics average y (the ids) and y**2 over what the epoch saw
    history = pair[0]["history"]
    epochs = len(history["loss"])
    assert history["seen"] == pytest.approx([ids.mean()] * epochs, rel=1e-6)
    assert history["seen_squared"] == pytest.approx([(ids**2).mean()] * epochs, rel=1e-6)


def test_process_zero_writes_and_the_checkpoint_restores_in_one_process(runs):
    out, single, pair = runs
    assert (out / "log-2-0.csv").exists() and not (out / "log-2-1.csv").exists()
    rows = (out / "log-2-0.csv").read_text().splitlines()
    assert len(rows) == 1 + len(pair[0]["history"]["loss"])
    leaves, meta = checkpoint.load(out / "ckpt-2.npz")
    assert meta["epoch"] == len(pair[0]["history"]["loss"]) - 1
    reference, _ = checkpoint.load(out / "ckpt-1.npz")
    for a, b in zip(leaves["params"], reference["params"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert all(
        isinstance(leaf, jax.Array)
        for leaf in jax.tree.leaves(checkpoint.restore(reference["params"], leaves["params"], "parameters"))
    )


@pytest.mark.slow
def test_the_command_line_trains_on_two_processes(tmp_path):
    port = str(_free_port())
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jaxnet",
                "train",
                "--model",
                "mlp",
                "--dataset",
                "digits",
                "--epochs",
                "2",
                "--out",
                str(tmp_path / f"out{pid}"),
                "--coordinator",
                f"127.0.0.1:{port}",
                "--num-processes",
                "2",
                "--process-id",
                str(pid),
                "--cpu-collectives",
                "gloo",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for pid in range(2)
    ]
    outs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outs[0][1][-2000:] + outs[1][1][-2000:]
    tests = [next(line for line in out.splitlines() if line.startswith("test: ")) for out, _ in outs]
    assert tests[0] == tests[1]  # the same model in both processes
    history = json.loads((tmp_path / "out0" / "history.json").read_text())
    assert len(history["history"]["loss"]) == 2
    assert not (tmp_path / "out1").exists()  # process 0 alone writes
