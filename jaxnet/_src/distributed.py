"""Several processes, one training run: who writes files, and starting JAX's multi-controller runtime.

Under ``jax.distributed.initialize`` every process runs the same ``fit``: the logs
are global values, identical in every process, so EarlyStopping and TerminateOnNaN
decide alike everywhere and all processes stop together. Only what writes to the
outside world is left to process 0: the progress output, CSV and TensorBoard logs,
and ``.npz`` checkpoints (Orbax checkpoints are written by all processes together).
"""

from __future__ import annotations

from typing import Sequence

import jax

from jaxnet import callbacks as cb

#: Callbacks that only write (files or the terminal) and never change the run: process 0 runs them alone.
WRITERS = (cb.CSVLogger, cb.TensorBoard, cb.ProgressBar)


def is_main_process() -> bool:
    """Whether this is process 0 (always true without ``jax.distributed``)."""
    return jax.process_index() == 0


def callbacks_for_this_process(callbacks: Sequence[cb.Callback]) -> list[cb.Callback]:
    """``callbacks`` without the pure writers (``WRITERS``) on processes other than 0."""
    if is_main_process():
        return list(callbacks)
    return [c for c in callbacks if not isinstance(c, WRITERS)]


def initialize(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    cpu_collectives: str | None = None,
) -> None:
    """Start JAX's distributed runtime (``jax.distributed.initialize``), once, before any computation.

    Arguments:
        coordinator: "host:port" of process 0; None lets JAX detect it (Cloud TPU, SLURM, Open MPI, Kubernetes).
        num_processes: how many processes take part (None: detected).
        process_id: this process's rank, 0 to num_processes - 1 (None: detected).
        cpu_collectives: "gloo" (or "mpi") for collectives between CPU processes; None keeps JAX's default,
            which is right for GPUs and TPUs.
    """
    if cpu_collectives is not None:
        jax.config.update("jax_cpu_collectives_implementation", cpu_collectives)
    jax.distributed.initialize(coordinator, num_processes, process_id)
