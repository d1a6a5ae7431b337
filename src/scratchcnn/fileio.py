"""Crash-safe file writing.

Every file scratchcnn writes (models, checkpoints, cached data) goes through
:func:`atomic_write`: the bytes go to a temporary file in the destination folder, are
flushed and fsynced, and the temporary file is then renamed over the destination. A
rename within one folder is atomic on POSIX and Windows, so a crash at any moment leaves
either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a binary file that replaces ``path`` only if the ``with`` block succeeds."""
    import tempfile  # here, not at the top: programs that only read need not import it

    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp_name, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_folder(folder)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path) as handle:
        handle.write(data)


def _mode_for(path: Path) -> int:
    """Permissions for the new file: the old file's, else what ``open()`` would give.

    ``mkstemp`` creates files readable by their owner only; a model or data file written
    into a shared folder should get the usual ``0o666 & ~umask`` instead.
    """
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
