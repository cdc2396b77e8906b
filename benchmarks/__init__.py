"""Benchmarks: ``python -m benchmarks.grad_speed`` (numerical vs manual vs automatic gradients)."""
