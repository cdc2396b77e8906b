"""Audit, resources family: putting the data on the device costs at most one copy of it (none when the
array is 64-byte aligned and the device is the CPU, which then aliases it), never the three copies it took."""

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, resource, sys
    import jax, numpy as np
    from jaxnet import Dense, Sequential, evaluate, fit, predict

    def rss_gib():
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith("VmRSS")) / 2**20

    rows, aligned, calls = int(sys.argv[1]), sys.argv[2] == "aligned", sys.argv[3].split(",")
    model = Sequential([Dense(1)])
    params = model.init(jax.random.key(0), (256,))
    small = np.ones((8, 256), np.float32)
    fit(model, params, small, np.zeros(8, np.float32), loss="mse", epochs=1, verbose=0)  # compile paths warm
    before_data = rss_gib()
    if aligned:
        raw = np.empty(rows * 1024 + 64, np.uint8)
        x = raw[(-raw.ctypes.data) % 64:][:rows * 1024].view(np.float32).reshape(rows, 256)
        x[...] = 1.0
    else:
        x = np.ones((rows, 256), np.float32)
    y = np.zeros(rows, np.float32)
    before = rss_gib()
    if "fit" in calls:
        fit(model, params, x, y, loss="mse", optimizer="sgd", epochs=1, batch_size=8192, verbose=0)
    if "evaluate" in calls:
        evaluate(model, params, x, y, loss="mse", metrics=(), batch_size=8192)
    if "predict" in calls:
        predict(model, params, x, batch_size=8192)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(json.dumps({"data": (x.nbytes + y.nbytes) / 2**30, "before_data": before_data, "before": before,
                      "peak": peak}))
""")


def _measure(rows, layout, calls):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(rows), layout, calls], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_one_copy_at_most():
    # 512 MiB: each call took three copies (+1 GiB). One copy measures +0.6 GiB alone and up to +0.76 GiB beside
    # the rest of the suite (allocator slack), two copies +1.1 GiB: the bound tells one from two under load
    m = _measure(1 << 19, "numpy", "fit,evaluate,predict")
    assert m["peak"] - m["before"] <= m["data"] + 0.35, m


@pytest.mark.slow
def test_aligned_arrays_are_not_copied_on_cpu():
    m = _measure(1 << 18, "aligned", "fit,evaluate,predict")
    assert m["peak"] - m["before"] <= 0.2, m


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["numpy", "aligned"])
def test_a_gibibyte_of_data(layout):
    m = _measure(1 << 20, layout, "fit")
    # the goal, peak <= data + 1 GiB over the process without data, holds with one device copy
    # plus the compiled epoch's working memory; with an aligned array the copy is not made at all
    limit = m["data"] + (1.15 if layout == "numpy" else 0.25)
    assert m["peak"] - m["before_data"] <= limit, m
