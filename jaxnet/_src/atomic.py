"""Writing files so that nothing is ever half-written: a temporary file beside the target, then a rename."""
from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[pathlib.Path]:
    """Yield a temporary path in ``path``'s folder; rename it onto ``path`` when the block succeeds.

    If the block raises (even KeyboardInterrupt), the temporary file is removed and ``path`` keeps its
    previous content. The folder is created if needed.

    Arguments:
        path: the file to write.
        suffix: the temporary file's suffix (give the real one when a writer picks the format from it).
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield pathlib.Path(tmp)
        # Flush the data to disk before the rename, and the rename itself after, so a crash
        # cannot leave an empty or missing file where the previous save was.
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        os.unlink(tmp)
        raise
