"""Downloading a published file: streamed to a temporary file, checked against its SHA-256, then renamed.

A file whose checksum differs from the published one is refused and removed, so a
cache never holds a truncated or substituted download.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import sys
import urllib.error
import urllib.request

from jaxnet._src.atomic import atomic_path

#: Seconds without progress before a download is abandoned (connecting or reading).
TIMEOUT_S = 60.0
CHUNK = 1 << 20


class ChecksumError(ValueError):
    """A downloaded file whose SHA-256 is not the published one."""


def sha256_of(path: str | os.PathLike) -> str:
    """The hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(
    url: str, target: str | os.PathLike, sha256: str, *, timeout: float = TIMEOUT_S, quiet: bool = False
) -> pathlib.Path:
    """Download ``url`` to ``target``, which appears only once complete and matching ``sha256``.

    Arguments:
        url: the address.
        target: the file to write (its folder is created).
        sha256: the published hex SHA-256 of the file.
        timeout: seconds without progress before giving up.
        quiet: do not print "Downloading ..." to stderr.

    Returns:
        ``target`` as a path.

    Raises:
        OSError: when the address cannot be reached or the transfer fails (``urllib.error.URLError``
            is an OSError), with nothing left on disk.
        ChecksumError: when the file's checksum is not ``sha256``; nothing is left on disk.
    """
    target = pathlib.Path(target)
    if not quiet:
        print(f"Downloading {url} to {target}", file=sys.stderr)
    with atomic_path(target, suffix=".part") as tmp:
        digest = hashlib.sha256()
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
            for chunk in iter(lambda: response.read(CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256.lower():
            raise ChecksumError(
                f"the file downloaded from {url} has SHA-256 {digest.hexdigest()}, not the published "
                f"{sha256}: it is corrupt or not the original, so it was not kept"
            )
    return target
