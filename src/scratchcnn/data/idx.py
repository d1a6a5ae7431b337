"""Reading and writing IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number (two zero bytes, a data type code, the number of
dimensions), one big-endian 32-bit size per dimension, then the values in C order,
big-endian. Files may be gzip-compressed; compression is recognised by its magic bytes,
not by the file name.

:func:`read_idx` checks everything the header claims against the data that is really
there before it builds an array, and reports any problem as a :class:`DataError` that
names the file. It never returns a partly read array and never allocates memory for
sizes the file does not hold.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from scratchcnn.errors import DataError
from scratchcnn.fileio import atomic_write

GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> (big-endian dtype as stored, name used in messages).
IDX_DTYPES: dict[int, tuple[np.dtype, str]] = {
    0x08: (np.dtype(">u1"), "ubyte"),
    0x09: (np.dtype(">i1"), "byte"),
    0x0B: (np.dtype(">i2"), "short"),
    0x0C: (np.dtype(">i4"), "int"),
    0x0D: (np.dtype(">f4"), "float"),
    0x0E: (np.dtype(">f8"), "double"),
}

MAX_DIMENSIONS = 255
_READ_CHUNK = 1 << 20


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a native-endian array."""
    array, _ = read_idx_with_digest(path)
    return array


def read_idx_with_digest(path: str | os.PathLike[str]) -> tuple[np.ndarray, str]:
    """Like :func:`read_idx`, also returning the SHA-256 of the uncompressed IDX bytes.

    The digest identifies the content whatever the compression, so a re-compressed copy
    of a canonical file can still be recognised.
    """
    path = Path(path)
    source = str(path)
    if path.is_dir():
        raise DataError(f"{source}: is a folder, not an IDX file")
    try:
        with open(path, "rb") as handle:
            return _read_handle(handle, source, named_gz=path.name.endswith(".gz"))
    except FileNotFoundError:
        raise DataError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{source}: is a folder, not an IDX file") from None
    except OSError as exc:
        raise DataError(f"{source}: cannot open: {exc.strerror or exc}") from None


def decode_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse IDX content held in memory (raw or gzip-compressed); ``source`` names it in errors."""
    array, _ = _read_handle(io.BytesIO(data), source, named_gz=source.endswith(".gz"))
    return array


def encode_idx(array: np.ndarray) -> bytes:
    """The uncompressed IDX bytes of ``array`` (header and big-endian values)."""
    array = np.asarray(array)
    code = _type_code(array.dtype)
    if not 1 <= array.ndim <= MAX_DIMENSIONS:
        raise ValueError(f"IDX holds 1 to {MAX_DIMENSIONS} dimensions, not {array.ndim}")
    if any(size >= 2**32 for size in array.shape):
        raise ValueError(f"IDX sizes must be below 2**32, got shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape
    )
    stored = IDX_DTYPES[code][0]
    return header + np.ascontiguousarray(array, dtype=stored).tobytes()


def write_idx(
    path: str | os.PathLike[str],
    array: np.ndarray,
    *,
    compress: bool | None = None,
    mtime: int = 0,
) -> None:
    """Write ``array`` as an IDX file, atomically.

    ``compress`` defaults to whether the name ends in ``.gz``. Gzip output is
    reproducible: the header's time is ``mtime`` and its name is the file name without
    ``.gz``, so the same array always gives the same bytes.
    """
    path = Path(path)
    content = encode_idx(array)
    if compress is None:
        compress = path.name.endswith(".gz")
    with atomic_write(path) as handle:
        if compress:
            inner_name = path.name.removesuffix(".gz")
            with gzip.GzipFile(
                filename=inner_name, mode="wb", fileobj=handle, compresslevel=9, mtime=mtime
            ) as packed:
                packed.write(content)
        else:
            handle.write(content)


def _type_code(dtype: np.dtype) -> int:
    """The IDX type code for a NumPy dtype of any byte order."""
    for code, (stored, _) in IDX_DTYPES.items():
        if dtype.kind == stored.kind and dtype.itemsize == stored.itemsize:
            return code
    known = ", ".join(str(stored.newbyteorder("=")) for stored, _ in IDX_DTYPES.values())
    raise ValueError(f"IDX cannot store dtype {dtype}; it stores {known}")


def _read_handle(handle: BinaryIO, source: str, *, named_gz: bool) -> tuple[np.ndarray, str]:
    """Detect compression, then read and check the IDX content of an open binary file."""
    try:
        magic = handle.read(2)
        handle.seek(0)
    except OSError as exc:
        raise DataError(f"{source}: cannot read: {exc.strerror or exc}") from None
    if not magic:
        raise DataError(f"{source}: the file is empty")
    if magic == GZIP_MAGIC:
        stream: BinaryIO = gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[assignment]
        try:
            return _read_stream(stream, source, compressed=True, named_gz=named_gz)
        except EOFError:
            raise DataError(f"{source}: the gzip data ends early: the file is truncated") from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise DataError(f"{source}: damaged gzip data ({exc})") from None
        except OSError as exc:
            raise DataError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        return _read_stream(handle, source, compressed=False, named_gz=named_gz)
    except OSError as exc:
        raise DataError(f"{source}: cannot read: {exc.strerror or exc}") from None


def _read_stream(
    stream: BinaryIO, source: str, *, compressed: bool, named_gz: bool
) -> tuple[np.ndarray, str]:
    """Parse the header, then read exactly the data it announces."""
    digest = hashlib.sha256()
    magic = _read_up_to(stream, 4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
        raise DataError(_bad_magic_message(source, magic, compressed, named_gz))
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} {name}" for c, (_, name) in IDX_DTYPES.items())
        raise DataError(f"{source}: unknown IDX data type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise DataError(f"{source}: the IDX header gives 0 dimensions")
    size_bytes = _read_up_to(stream, 4 * ndim)
    if len(size_bytes) < 4 * ndim:
        raise DataError(
            f"{source}: the header announces {ndim} dimensions but the file ends "
            f"after {4 + len(size_bytes)} bytes, inside the header"
        )
    digest.update(magic)
    digest.update(size_bytes)
    shape = tuple(int.from_bytes(size_bytes[i : i + 4], "big") for i in range(0, 4 * ndim, 4))
    stored, type_name = IDX_DTYPES[code]
    expected = stored.itemsize
    for size in shape:
        expected *= size

    if not compressed:
        stream.seek(0, io.SEEK_END)
        available = stream.tell() - 4 - 4 * ndim
        stream.seek(4 + 4 * ndim)
        if available != expected:
            raise DataError(_size_message(source, shape, type_name, expected, available))

    data = _read_up_to(stream, expected)
    if len(data) < expected:
        raise DataError(_size_message(source, shape, type_name, expected, len(data)))
    extra = _count_remaining(stream)
    if extra:
        raise DataError(_size_message(source, shape, type_name, expected, expected + extra))
    digest.update(data)
    array = np.frombuffer(data, dtype=stored, count=expected // stored.itemsize)
    array = array.reshape(shape).astype(stored.newbyteorder("="), copy=stored.itemsize > 1)
    if not array.flags.writeable:
        array = array.copy()
    return array, digest.hexdigest()


def _read_up_to(stream: BinaryIO, count: int) -> bytearray:
    """Read ``count`` bytes, or fewer if the stream ends first; memory grows with the data."""
    buffer = bytearray()
    while len(buffer) < count:
        chunk = stream.read(min(_READ_CHUNK, count - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return buffer


def _count_remaining(stream: BinaryIO) -> int:
    """Read to the end, keeping nothing; returns how many bytes were left."""
    remaining = 0
    while True:
        chunk = stream.read(_READ_CHUNK)
        if not chunk:
            return remaining
        remaining += len(chunk)


def _describe(shape: tuple[int, ...], type_name: str) -> str:
    """What a header announces, in words: "60000 images of 28x28"."""
    kind = "" if type_name == "ubyte" else f" {type_name}"
    if len(shape) == 1:
        return f"{shape[0]}{kind} values"
    inner = "x".join(str(size) for size in shape[1:])
    noun = "images" if len(shape) == 3 else "items"
    return f"{shape[0]} {noun} of {inner}{kind}"


def _size_message(
    source: str, shape: tuple[int, ...], type_name: str, expected: int, available: int
) -> str:
    return (
        f"{source}: header says {_describe(shape, type_name)} ({expected:,} bytes of data) "
        f"but the file holds {available:,} bytes of data"
    )


def _bad_magic_message(source: str, magic: bytes, compressed: bool, named_gz: bool) -> str:
    shown = " ".join(f"{byte:02x}" for byte in magic)
    if len(magic) < 4:
        return f"{source}: too short for an IDX header ({len(magic)} bytes: {shown})"
    if compressed and magic[:2] == GZIP_MAGIC:
        return f"{source}: not an IDX file: it is gzip-compressed twice"
    what = "its content starts" if compressed else "it starts"
    message = (
        f"{source}: not an IDX file: {what} with bytes {shown}, "
        "not 00 00 <type code> <dimension count>"
    )
    if named_gz and not compressed:
        message += " (and despite its .gz name it is not gzip-compressed)"
    return message
