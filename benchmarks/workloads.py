"""The two training workloads of ``benchmarks.train_speed``, with their synthetic data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Workload:
    """A model of the seeds, its input shape, batch size and how many synthetic examples an epoch has."""

    name: str
    input_shape: tuple
    batch_size: int
    examples: int
    quick_examples: int

    def data(self, quick: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Synthetic float32 inputs in [0, 1) and integer labels 0..9 (the same in every process)."""
        n = self.quick_examples if quick else self.examples
        rng = np.random.default_rng(seed)
        return rng.random((n, *self.input_shape), dtype=np.float32), rng.integers(0, 10, n).astype(np.int32)


WORKLOADS = {
    # The seeds' MNIST MLP: Flatten, Dense(128, relu), Dropout(0.2), Dense(10, softmax); Adam, batch 32.
    "mlp": Workload("mlp", (28, 28), 32, 60_000, 12_000),
    # The same MLP with batch 256, where matrix multiplies are large enough to approach the machine's limit.
    "mlp_b256": Workload("mlp_b256", (28, 28), 256, 60_000, 12_000),
    # The seeds' CIFAR-10 CNN (122,570 parameters); Adam, batch 64.
    "cnn": Workload("cnn", (32, 32, 3), 64, 5_000, 1_024),
}
