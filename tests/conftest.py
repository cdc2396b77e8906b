"""Shared fixtures: float64 for gradient checks, a seeded NumPy generator."""

import os
import shutil

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


def pytest_collection_modifyitems(config, items):
    """Skip the tests marked ``needs_dot`` where Graphviz's ``dot`` is missing (``make test`` installs it)."""
    if shutil.which("dot") is None:
        skip = pytest.mark.skip(reason="Graphviz's dot is not installed (make graphviz, or apt-get install graphviz)")
        for item in items:
            if "needs_dot" in item.keywords:
                item.add_marker(skip)
