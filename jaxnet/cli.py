"""The ``python -m jaxnet`` command line."""
from __future__ import annotations

import argparse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m jaxnet", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("tour", help="print the seeds' examples (gates, activations, losses, gradients, ...)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.command == "tour":
        from jaxnet import tour

        tour.run()
    return 0
