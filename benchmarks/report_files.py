"""Writing a benchmark's report files (JSON and any others) next to its terminal output."""
from __future__ import annotations

import json
import pathlib
from typing import Callable, Sequence


def write_report_files(report: dict, json_path: pathlib.Path | None,
                       others: Sequence[tuple[pathlib.Path | None, Callable[[pathlib.Path], None]]] = ()) -> None:
    """Write the report as JSON and each (path, writer) pair whose path was given, saying where."""
    for path, write in ((json_path, lambda p: p.write_text(json.dumps(report, indent=2))), *others):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path)
            print(f"wrote {path}")
