"""Writing a benchmark's report files (JSON and any others) next to its terminal output."""

from __future__ import annotations

import argparse
import json
import pathlib
from typing import Callable, Sequence

from jaxnet._src.atomic import check_writable


def write_report_files(
    report: dict,
    json_path: pathlib.Path | None,
    others: Sequence[tuple[pathlib.Path | None, Callable[[pathlib.Path], object]]] = (),
) -> None:
    """Write the report as JSON and each (path, writer) pair whose path was given, saying where."""
    for path, write in ((json_path, lambda p: p.write_text(json.dumps(report, indent=2))), *others):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path)
            print(f"wrote {path}")


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (``--repeats 0`` or ``-1`` is a usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def check_report_paths(parser: argparse.ArgumentParser, **paths: pathlib.Path | None) -> None:
    """Refuse, before any timing, report paths that cannot be written (a folder, or under a file); exit 2.

    Arguments:
        parser: the benchmark's parser (its ``error`` prints usage and exits with status 2).
        paths: option name -> the path given (None when the option was not given).
    """
    for option, path in paths.items():
        if path is None:
            continue
        if path.is_dir():
            parser.error(f"--{option} {path} is a folder; give a file name, e.g. {path / ('report.' + option)}")
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            parser.error(f"--{option} {path}: {blocking} is a file, not a folder")
        try:
            check_writable(path, f"--{option}")  # a read-only file or folder
        except OSError as err:
            parser.error(str(err))
