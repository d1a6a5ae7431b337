"""The user cache: downloaded files and decoded arrays.

Location: ``$SCRATCHCNN_CACHE`` if set, else ``$XDG_CACHE_HOME/scratchcnn`` (when that is
an absolute path, as the XDG spec asks), else ``~/.cache/scratchcnn``. Downloads go to
``<cache>/<data set>/<file>``; decoded arrays go to ``<cache>/decoded/``.

A decoded entry (``.decoded``) holds one split's labels and images as raw ``uint8``
bytes behind a small header, with a CRC-32 of the labels and one of every block of
:data:`BLOCK_IMAGES` images. A load that needs only the first images (``limit``) reads and
checks only the blocks that hold them, so ``scratchcnn classic`` reads 1,000 of MNIST's
60,000 training images. The entry's name carries a key derived from the source files'
resolved paths, sizes and modification times (and their expected checksums), so an edited
or replaced source file is never served from a stale entry; a damaged or truncated entry
is detected by its checksums and sizes, deleted and rebuilt rather than trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from scratchcnn.fileio import atomic_write

CACHE_ENV = "SCRATCHCNN_CACHE"
DECODED_FOLDER = "decoded"
DECODED_FORMAT = 2
DECODED_SUFFIX = ".decoded"
#: Images per checksummed block of a decoded entry.
BLOCK_IMAGES = 1000
# Header: magic, number of images, image height and width, images per block (little-endian).
_HEADER = struct.Struct("<8s4q")
_MAGIC = b"SCNNDEC" + str(DECODED_FORMAT).encode()


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
    return cache_root() / DECODED_FOLDER / f"{name}-{split}-{key}{DECODED_SUFFIX}"


def load_decoded(
    path: Path, count: int, image_shape: tuple[int, int], limit: int | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached (images, labels) if ``path`` holds a sound entry; otherwise None.

    With ``limit``, only the first ``limit`` images and labels are read and returned.
    Any defect found (truncation, a checksum failure, an unexpected header) deletes the
    entry so that the caller rebuilds it; a cache problem never fails a load.
    """
    if not path.is_file():
        return None
    wanted = count if limit is None else min(limit, count)
    try:
        with open(path, "rb") as handle:
            return _read_entry(handle, count, image_shape, wanted)
    except (OSError, ValueError, struct.error):
        _discard(path)
        return None


def _read_entry(
    handle: BinaryIO, count: int, image_shape: tuple[int, int], wanted: int
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``wanted`` images and labels of an open entry; ValueError if unsound."""
    magic, stored, height, width, block = _HEADER.unpack(handle.read(_HEADER.size))
    if magic != _MAGIC or stored != count or (height, width) != image_shape or block < 1:
        raise ValueError("not an entry for this split")
    blocks = -(-count // block)
    checksums = np.frombuffer(_read_exactly(handle, 4 * (blocks + 1)), dtype="<u4")
    labels = _read_exactly(handle, count)
    if zlib.crc32(labels) != checksums[0]:
        raise ValueError("labels damaged")
    image_bytes = height * width
    images = _read_exactly(handle, wanted * image_bytes)
    view = memoryview(images)
    for b in range(-(-wanted // block)):
        data = view[b * block * image_bytes : (b + 1) * block * image_bytes]
        whole = min(block, count - b * block) * image_bytes
        if len(data) < whole:  # the block is only partly wanted: check all of it
            data = bytes(data) + _read_exactly(handle, whole - len(data))
        if zlib.crc32(data) != checksums[b + 1]:
            raise ValueError("images damaged")
    image_array = np.frombuffer(images, dtype=np.uint8).reshape(wanted, height, width)
    return image_array, np.frombuffer(labels, dtype=np.uint8)[:wanted]


def _read_exactly(handle: BinaryIO, size: int) -> bytearray:
    """``size`` bytes from ``handle``, in a writable buffer; ValueError if the file ends first."""
    data = bytearray(size)
    if handle.readinto(data) != size:
        raise ValueError("entry truncated")
    return data


def store_decoded(path: Path, images: np.ndarray, labels: np.ndarray) -> bool:
    """Write an entry atomically and retire older entries of the same split.

    Returns False (and leaves nothing behind) when the cache cannot be written, for
    instance on a read-only home folder; loading goes on without the cache.
    """
    count, height, width = images.shape
    image_bytes = memoryview(np.ascontiguousarray(images, dtype=np.uint8)).cast("B")
    label_bytes = np.ascontiguousarray(labels, dtype=np.uint8).tobytes()
    block_bytes = BLOCK_IMAGES * height * width
    checksums = [zlib.crc32(label_bytes)] + [
        zlib.crc32(image_bytes[start : start + block_bytes])
        for start in range(0, len(image_bytes), block_bytes)
    ]
    try:
        with atomic_write(path) as handle:
            handle.write(_HEADER.pack(_MAGIC, count, height, width, BLOCK_IMAGES))
            handle.write(np.array(checksums, dtype="<u4").tobytes())
            handle.write(label_bytes)
            handle.write(image_bytes)
    except OSError:
        return False
    prefix = path.name.rsplit("-", 1)[0] + "-"
    for other in path.parent.glob(f"{prefix}*"):
        if other != path and other.name.rsplit("-", 1)[0] + "-" == prefix:
            _discard(other)
    return True


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
