"""The user cache: downloaded files and decoded arrays.

Location: ``$SCRATCHCNN_CACHE`` if set, else ``$XDG_CACHE_HOME/scratchcnn`` (when that is
an absolute path, as the XDG spec asks), else ``~/.cache/scratchcnn``. Downloads go to
``<cache>/<data set>/<file>``; decoded arrays go to ``<cache>/decoded/``.

A decoded entry is an uncompressed ``.npz`` holding ``images`` and ``labels``. Its name
carries a key derived from the source files' resolved paths, sizes and modification times
(and their expected checksums), so an edited or replaced source file is never served from
a stale entry. Zip stores a CRC-32 per member, which NumPy's loader checks, so a damaged
entry is detected, deleted and rebuilt rather than trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from scratchcnn.fileio import atomic_write

CACHE_ENV = "SCRATCHCNN_CACHE"
DECODED_FOLDER = "decoded"
DECODED_FORMAT = 1


def cache_root() -> Path:
    """The scratchcnn cache folder (it may not exist yet)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "scratchcnn"
    return Path.home() / ".cache" / "scratchcnn"


def download_folder(name: str) -> Path:
    """Where downloads of data set ``name`` are kept."""
    return cache_root() / name


def decoded_key(sources: list[tuple[Path, str]]) -> str | None:
    """A key naming the exact state of the source files, or None if one cannot be read.

    ``sources`` pairs each file with the checksum it is expected to have, so a change of
    the registry also retires old entries.
    """
    parts: list[object] = [DECODED_FORMAT]
    for path, expected_sha256 in sources:
        try:
            resolved = path.resolve()
            info = resolved.stat()
        except OSError:
            return None
        parts += [str(resolved), info.st_size, info.st_mtime_ns, expected_sha256]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]


def decoded_path(name: str, split: str, key: str) -> Path:
    """The cache file for the decoded arrays of one split in one source state."""
    return cache_root() / DECODED_FOLDER / f"{name}-{split}-{key}.npz"


def load_decoded(
    path: Path, count: int, image_shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached (images, labels) if ``path`` holds a sound entry; otherwise None.

    Any defect (truncation, a CRC failure, an unexpected shape or dtype) deletes the
    entry so that the caller rebuilds it; a cache problem never fails a load.
    """
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            images = archive["images"]
            labels = archive["labels"]
    except Exception:
        _discard(path)
        return None
    sound = (
        images.dtype == np.uint8
        and labels.dtype == np.uint8
        and images.shape == (count, *image_shape)
        and labels.shape == (count,)
        and images.flags.c_contiguous
    )
    if not sound:
        _discard(path)
        return None
    return images, labels


def store_decoded(path: Path, images: np.ndarray, labels: np.ndarray) -> bool:
    """Write an entry atomically and retire older entries of the same split.

    Returns False (and leaves nothing behind) when the cache cannot be written, for
    instance on a read-only home folder; loading goes on without the cache.
    """
    try:
        with atomic_write(path) as handle:
            np.savez(handle, images=images, labels=labels)
    except OSError:
        return False
    prefix = path.name.rsplit("-", 1)[0] + "-"
    for other in path.parent.glob(f"{prefix}*.npz"):
        if other != path and other.name.rsplit("-", 1)[0] + "-" == prefix:
            _discard(other)
    return True


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
