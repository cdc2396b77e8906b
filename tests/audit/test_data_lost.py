"""Audit, data-lost family: a run killed with SIGKILL keeps what it logged for every finished epoch."""

import signal
import struct
import subprocess
import sys
import textwrap

import pytest
from tensorboardX.proto import event_pb2

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import jax, numpy as np
    from jaxnet import Dense, Sequential, callbacks, fit

    class KillAfter(callbacks.Callback):
        def on_epoch_end(self, epoch, logs, state):
            if epoch + 1 == int(sys.argv[2]):
                os.kill(os.getpid(), signal.SIGKILL)

    model = Sequential([Dense(1)])
    x, y = np.ones((8, 3), np.float32), np.zeros(8, np.float32)
    fit(model, model.init(jax.random.key(0), (3,)), x, y, loss="mse", epochs=50, verbose=0, validation_split=0.25,
        callbacks=[callbacks.TensorBoard(sys.argv[1]), callbacks.CSVLogger(sys.argv[1] + "/log.csv"), KillAfter()])
""")


def _scalars(folder):
    """(tag, step) of every scalar in the event files of ``folder``, read record by record."""
    found = []
    for path in folder.glob("events.out.tfevents.*"):
        data, offset = path.read_bytes(), 0
        while offset + 12 <= len(data):
            (length,) = struct.unpack("<Q", data[offset : offset + 8])
            event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
            offset += 12 + length + 4
            found += [(value.tag, event.step) for value in event.summary.value]
    return found


@pytest.mark.parametrize("epochs", [1, 3])
def test_sigkill_keeps_every_finished_epoch(tmp_path, epochs):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), str(epochs)], capture_output=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    steps = list(range(epochs))
    assert _scalars(tmp_path / "train") == [("epoch_loss", s) for s in steps]
    assert _scalars(tmp_path / "validation") == [("epoch_loss", s) for s in steps]
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 1 + epochs
