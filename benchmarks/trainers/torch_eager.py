"""PyTorch eager on the CPU, at its best thread setting (measured, not assumed)."""
from __future__ import annotations

import os
import time


def build(workload):
    from torch import nn

    if workload.name.startswith("mlp"):
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(), nn.Linear(1024, 64),
                         nn.ReLU(), nn.Linear(64, 10))


def _epoch(model, optimizer, x, y, batch_size, generator):
    import torch

    loss_fn = torch.nn.CrossEntropyLoss()  # softmax + cross entropy on logits, as the other trainers compute
    order = torch.randperm(len(x), generator=generator)
    start = time.perf_counter()
    for i in range(0, len(x), batch_size):
        idx = order[i:i + batch_size]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def train(workload, x, y, epochs: int) -> dict:
    import torch

    torch.manual_seed(0)
    xt = torch.from_numpy(x if workload.name.startswith("mlp") else x.transpose(0, 3, 1, 2).copy())
    yt = torch.from_numpy(y).long()
    generator = torch.Generator().manual_seed(0)
    # Measure each thread count on a slice of the data and keep the faster one.
    trial = {}
    probe = min(len(xt), 40 * workload.batch_size)
    for threads in sorted({1, os.cpu_count() or 1}):
        torch.set_num_threads(threads)
        model = build(workload)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        _epoch(model, optimizer, xt[:probe], yt[:probe], workload.batch_size, generator)
        trial[threads] = _epoch(model, optimizer, xt[:probe], yt[:probe], workload.batch_size, generator)
    best = min(trial, key=trial.get)
    torch.set_num_threads(best)
    model = build(workload)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = [_epoch(model, optimizer, xt, yt, workload.batch_size, generator) for _ in range(epochs)]
    return {"epoch_times": times, "threads": f"{best} (probe s: " + ", ".join(f"{t} threads {s:.3f}"
                                                                           for t, s in trial.items()) + ")",
            "version": torch.__version__}
