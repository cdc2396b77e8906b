"""`python -m jaxnet tour` prints the seeds' numbers: parsed from its output and compared with SEEDS.md's values."""

import re
import subprocess
import sys

import numpy as np

NUMBER = r"-?\d+(?:\.\d+)?(?:e-?\d+)?"


def numbers_after(out: str, label: str, count: int) -> list[float]:
    """The first ``count`` numbers printed after ``label``."""
    tail = out[out.index(label) + len(label) :]
    return [float(v) for v in re.findall(NUMBER, tail)[:count]]


def test_tour_prints_the_seed_numbers():
    out = subprocess.run([sys.executable, "-m", "jaxnet", "tour"], capture_output=True, text=True, check=True).stdout
    # The seeds' values (SEEDS.md), float32 tolerance.
    np.testing.assert_allclose(
        numbers_after(out, "sigmoid([-1, 1, 2]) =", 3), [0.26894142, 0.73105858, 0.88079708], rtol=1e-6
    )
    np.testing.assert_allclose(
        numbers_after(out, "softmax([0.3, 2.9, 4.0]) =", 3), [0.01821127, 0.24519181, 0.73659691], rtol=1e-6
    )
    np.testing.assert_allclose(numbers_after(out, "y =", 2), [0.31682708, 0.69627909], rtol=1e-6)
    np.testing.assert_allclose(numbers_after(out, "t=2:", 2), [0.0975, 0.510825457], rtol=1e-5)
    np.testing.assert_allclose(numbers_after(out, "t=7:", 2), [0.5975, 2.302584093], rtol=1e-5)
    np.testing.assert_allclose(numbers_after(out, "gradient at (3, 4):", 2), [6, 8], atol=1e-3)
    np.testing.assert_allclose(numbers_after(out, "100 steps:", 2), [0, 0], atol=1e-3)
    # The book's gradient check: backprop agrees with the numerical gradient to ~1e-10 or better.
    errors = [float(v) for v in re.findall(r"mean \|backprop - numerical\| = (" + NUMBER + ")", out)]
    assert len(errors) == 4 and max(errors) < 1e-9
    assert numbers_after(out, "normalized filter ==", 7)[6] == 0.852  # row 2, column 2 of the similarity map
    assert "Total params: 101,770" in out
