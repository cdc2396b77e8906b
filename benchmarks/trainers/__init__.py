"""The trainers ``benchmarks.train_speed`` compares; each runs in its own process.

Every trainer has ``train(workload, x, y, epochs) -> dict`` returning at least
``epoch_times`` (seconds per epoch, the first one including any compilation)
and ``threads`` (the thread setting it ran with).
"""
