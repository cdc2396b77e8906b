"""Shared fixtures: float64 for gradient checks, a seeded NumPy generator."""
import os

import jax
import numpy as np
import pytest

# The tests never reach the network: a data set that is not on disk is an error, not a download
# (tests/jaxnet/test_datasets.py turns downloads on against a local server).
os.environ.setdefault("JAXNET_DOWNLOAD", "0")


@pytest.fixture
def x64():
    """Run the test body with JAX's 64-bit mode on (gradient checks need float64)."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
