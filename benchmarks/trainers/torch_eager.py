"""PyTorch on the CPU at its best: fused Adam, the faster of 1 and all threads (measured, not assumed),
channels_last for the CNN, and optionally ``torch.compile``."""

from __future__ import annotations

import os
import time


def build(workload):
    from torch import nn

    if workload.name.startswith("mlp"):
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(3, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(1024, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def _prepared(workload, compiled: bool):
    """The model (channels_last for images), its fused Adam and the step (compiled when asked)."""
    import torch

    model = build(workload)
    if not workload.name.startswith("mlp"):
        model = model.to(memory_format=torch.channels_last)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    loss_fn = torch.nn.CrossEntropyLoss()  # softmax + cross entropy on logits, as the other trainers compute
    forward = torch.compile(model) if compiled else model
    layout = torch.contiguous_format if workload.name.startswith("mlp") else torch.channels_last

    def step(xb, yb):
        xb = xb.contiguous(memory_format=layout)  # a no-op when the gathered batch is already laid out so
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(forward(xb), yb)
        loss.backward()
        optimizer.step()
        return loss

    return step


def _epoch(step, x, y, batch_size, generator):
    import torch

    order = torch.randperm(len(x), generator=generator)
    start = time.perf_counter()
    for i in range(0, len(x), batch_size):
        idx = order[i : i + batch_size]
        step(x[idx], y[idx])
    return time.perf_counter() - start


def train(workload, x, y, epochs: int, compiled: bool = False) -> dict:
    import torch

    torch.manual_seed(0)
    xt = torch.from_numpy(x)
    if not workload.name.startswith("mlp"):  # NHWC data seen as NCHW in channels_last memory: no copy per batch
        xt = xt.permute(0, 3, 1, 2)
    yt = torch.from_numpy(y).long()
    generator = torch.Generator().manual_seed(0)
    trial, probe = {}, min(len(xt), 40 * workload.batch_size)
    for threads in sorted({1, os.cpu_count() or 1}):  # warm each setting, then time it on a slice of the data
        torch.set_num_threads(threads)
        step = _prepared(workload, compiled)
        _epoch(step, xt[:probe], yt[:probe], workload.batch_size, generator)
        trial[threads] = _epoch(step, xt[:probe], yt[:probe], workload.batch_size, generator)
    best = min(trial, key=lambda threads: trial[threads])
    torch.set_num_threads(best)
    step = _prepared(workload, compiled)
    times = [_epoch(step, xt, yt, workload.batch_size, generator) for _ in range(epochs)]
    config = "fused Adam" + (", channels_last" if not workload.name.startswith("mlp") else "")
    return {
        "epoch_times": times,
        "threads": f"{best} (probe s: " + ", ".join(f"{t} threads {s:.3f}" for t, s in trial.items()) + ")",
        "version": torch.__version__,
        "config": config + (", torch.compile(model)" if compiled else ""),
    }


def train_compiled(workload, x, y, epochs: int) -> dict:
    """The same with ``torch.compile`` (Inductor's C++ code on the CPU; it needs a C++ compiler)."""
    import shutil

    if shutil.which(os.environ.get("CXX", "c++")) is None:
        return {"skipped": "torch.compile needs a C++ compiler on the CPU and none was found"}
    return train(workload, x, y, epochs, compiled=True)
