"""Writing files so that nothing is ever half-written: a temporary file beside the target, then a rename.

The temporary file's name carries the writer's process id (``.NAME.PID-XXXXXXXX.SUFFIX``), so the
next save of the same target can remove the leftovers of writers that were killed mid-save.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pathlib
import re
import stat
import tempfile
from typing import Iterator


def _umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux's /proc)."""
    try:
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic read-and-restore
    os.umask(mask)
    return mask


def _writable(path: pathlib.Path) -> bool:
    """Writable by this process, and not marked read-only (root may write anywhere, but a 0444 file or a
    0555 folder says "do not write here": honour it)."""
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


def check_writable(path: str | os.PathLike, what: str = "a file") -> pathlib.Path:
    """Raise a clear ``OSError`` now if ``path`` cannot be written later (checked before long work).

    Arguments:
        path: the file that will be written (it may not exist yet; missing folders will be created).
        what: how to name it in messages ("a checkpoint", "a figure", ...).

    Returns:
        ``path`` as a ``pathlib.Path``.

    Raises:
        IsADirectoryError: the path is a folder.
        NotADirectoryError: a component of the path is a file.
        PermissionError: the file, or the folder that would hold it, is read-only.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {what} to {str(path)!r}: it is a folder; give a file name inside it")
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise NotADirectoryError(f"cannot write {what} to {str(path)!r}: {str(blocking)!r} is a file, not a folder")
    if path.exists() and not _writable(path):
        raise PermissionError(
            f"cannot write {what} to {str(path)!r}: the file is read-only; make it writable "
            "(chmod u+w) or choose another path"
        )
    folder = next(p for p in path.parents if p.exists())
    if not _writable(folder):
        raise PermissionError(
            f"cannot write {what} to {str(path)!r}: the folder {str(folder)!r} is read-only; choose another location"
        )
    return path


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be saving the same target
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


def remove_stale_temporaries(path: pathlib.Path, suffix: str) -> list[pathlib.Path]:
    """Delete the temporary files that killed writers left beside ``path``; returns those removed."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"(\d+)-[A-Za-z0-9_]{8}" + re.escape(suffix))
    removed = []
    for candidate in path.parent.glob(f".{glob.escape(path.name)}.*"):
        match = pattern.fullmatch(candidate.name)
        if match and not _pid_alive(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):  # another saver may have removed it first
                candidate.unlink()
                removed.append(candidate)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp", what: str = "a file") -> Iterator[pathlib.Path]:
    """Yield a temporary path in ``path``'s folder; rename it onto ``path`` when the block succeeds.

    If the block raises (even KeyboardInterrupt), the temporary file is removed and ``path`` keeps its
    previous content. The folder is created if needed. The written file gets the mode of the file it
    replaces, or for a new file the mode the umask gives (0644 under umask 022), not the temporary
    file's 0600. A read-only target is refused, not silently replaced.

    Arguments:
        path: the file to write.
        suffix: the temporary file's suffix (give the real one when a writer picks the format from it).
        what: how to name the file in messages ("a checkpoint", ...).

    Raises:
        OSError: see ``check_writable``; or the writer's own error.
    """
    path = check_writable(path, what)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path, suffix)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}-", suffix=suffix)
    os.close(fd)
    try:
        yield pathlib.Path(tmp)
        os.chmod(tmp, mode)
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
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> pathlib.Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_path(path, suffix=pathlib.Path(path).suffix) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return pathlib.Path(path)
