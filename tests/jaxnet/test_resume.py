"""Exact resume: a run killed with SIGKILL at a random moment and started again ends bitwise as an uninterrupted one."""

import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import textwrap
import time

import jax
import numpy as np
import pytest

from jaxnet import zoo
from jaxnet.orbax_checkpoint import BackupAndRestore, restore, save

EPOCHS = 4

SCRIPT = textwrap.dedent("""
    import json, sys
    import jax, numpy as np
    from jaxnet import zoo
    from jaxnet.callbacks import Callback
    from jaxnet.orbax_checkpoint import BackupAndRestore
    from jaxnet.train import fit

    class Announce(Callback):
        def on_epoch_end(self, epoch, logs, state):
            print(f"epoch {epoch}", flush=True)

    backup, out, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6000, 8, 8)).astype(np.float32), rng.integers(0, 10, 6000)
    model = zoo.mlp()  # with Dropout: the resumed run must also draw the same dropout masks
    params = model.init(jax.random.key(0), (8, 8))
    params, history = fit(model, params, x, y, metrics=["accuracy"], epochs=epochs, batch_size=16,
                          key=jax.random.key(5), callbacks=[BackupAndRestore(backup), Announce()], verbose=0)
    np.savez(out, *[np.asarray(leaf) for leaf in jax.tree.leaves(params)])
    print("HISTORY " + json.dumps(history.history), flush=True)
""")


def _start(backup, out):
    # JAX's persistent compilation cache, filled by the uninterrupted reference run: the killed and resumed
    # runs load the same compiled programs instead of compiling again (half the time of each trial)
    cache = pathlib.Path(backup).parent / "jax_cache"
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(backup), str(out), str(EPOCHS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(
            os.environ,
            JAX_PLATFORMS="cpu",
            JAX_COMPILATION_CACHE_DIR=str(cache),
            JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
            JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
        ),
    )


def _finish(proc) -> tuple[list[np.ndarray], dict]:
    stdout, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0
    history = json.loads(next(line[8:] for line in stdout.splitlines() if line.startswith("HISTORY ")))
    return history


def _killed_and_resumed(tmp_path, trial: int, rng: random.Random):
    backup, out = tmp_path / f"backup{trial}", tmp_path / f"params{trial}.npz"
    proc = _start(backup, out)
    proc.stdout.readline()  # "epoch 0": one epoch done, its backup being written in the background
    started = time.perf_counter()
    proc.stdout.readline()  # "epoch 1": now the length of an epoch is known
    time.sleep(rng.uniform(0, time.perf_counter() - started))  # a random moment of epoch 2 (or of its save)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    history = _finish(_start(backup, out))
    return [np.load(out)[k] for k in sorted(np.load(out).files, key=lambda k: int(k.split("_")[1]))], history


def _check_resumes_exactly(tmp_path, trials: int):
    reference_out = tmp_path / "reference.npz"
    reference_history = _finish(_start(tmp_path / "reference", reference_out))
    with np.load(reference_out) as data:
        reference = [data[k] for k in sorted(data.files, key=lambda k: int(k.split("_")[1]))]
    rng = random.Random(0)
    for trial in range(trials):
        params, history = _killed_and_resumed(tmp_path, trial, rng)
        assert history == reference_history  # every epoch's logs, bit for bit
        for a, b in zip(params, reference):
            np.testing.assert_array_equal(a, b)


def test_killed_runs_resume_exactly_ten_times(tmp_path):
    _check_resumes_exactly(tmp_path, trials=10)


def test_save_and_restore_a_tree_and_backup_layout(tmp_path):
    model = zoo.mlp()
    params = model.init(jax.random.key(0), (8, 8))
    path = save(tmp_path / "ckpt", {"params": params}, {"epoch": 3})
    template = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), {"params": params})
    restored, meta = restore(path, template)
    assert meta == {"epoch": 3}
    for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(params)):
        np.testing.assert_array_equal(a, b)
    assert BackupAndRestore(tmp_path / "b").directory.is_absolute()


def test_model_checkpoint_writes_orbax_folders(tmp_path):
    from jaxnet import ModelCheckpoint
    from jaxnet.train import fit

    model = zoo.mlp()
    params = model.init(jax.random.key(0), (8, 8))
    x, y = np.random.default_rng(0).normal(size=(64, 8, 8)).astype(np.float32), np.arange(64) % 10
    trained, history = fit(
        model,
        params,
        x,
        y,
        epochs=2,
        verbose=0,
        callbacks=[ModelCheckpoint(tmp_path / "ckpt", monitor="loss", backend="orbax")],
    )
    template = {"params": params, "opt_state": history.opt_state}
    restored, meta = restore(tmp_path / "ckpt", template)  # the same folder, written twice: the last epoch's
    assert meta == {"epoch": 1}
    for a, b in zip(jax.tree.leaves(restored["params"]), jax.tree.leaves(trained)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="backend must be"):
        ModelCheckpoint(tmp_path / "x", backend="h5")
