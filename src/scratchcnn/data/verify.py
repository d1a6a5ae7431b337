"""Checking data files against their published SHA-256 checksums."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

from scratchcnn.data.download import file_sha256
from scratchcnn.data.idx import GZIP_MAGIC
from scratchcnn.data.registry import DataFile

OK = "OK"
OK_RECOMPRESSED = "OK (recompressed)"
MISMATCH = "MISMATCH"
MISSING = "missing"


@dataclass(frozen=True)
class FileCheck:
    """The verdict on one file: ``status`` is one of OK, OK (recompressed), MISMATCH, missing."""

    data_file: DataFile
    path: Path | None
    source: str | None
    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (OK, OK_RECOMPRESSED)


def check_file(data_file: DataFile, path: Path | None, source: str | None = None) -> FileCheck:
    """Compare ``path`` with the published file.

    OK: the bytes are the published ``.gz`` (or exactly its uncompressed content).
    OK (recompressed): a different gzip wrapping of the same content, as Debian ships.
    MISMATCH: anything else, including unreadable or damaged files.
    """
    if path is None:
        return FileCheck(data_file, None, source, MISSING)
    try:
        digest = file_sha256(path)
        if digest in (data_file.sha256, data_file.content_sha256):
            return FileCheck(data_file, path, source, OK)
        content_digest = _gunzipped_sha256(path)
    except OSError as exc:
        return FileCheck(data_file, path, source, MISMATCH, f"cannot read: {exc}")
    except (EOFError, zlib.error) as exc:
        return FileCheck(data_file, path, source, MISMATCH, f"damaged gzip data: {exc}")
    if content_digest == data_file.content_sha256:
        return FileCheck(data_file, path, source, OK_RECOMPRESSED)
    return FileCheck(
        data_file,
        path,
        source,
        MISMATCH,
        f"SHA-256 {digest}, expected {data_file.sha256}",
    )


def _gunzipped_sha256(path: Path) -> str | None:
    """SHA-256 of the decompressed bytes of a gzip file; None if it is not gzip."""
    with open(path, "rb") as raw:
        if raw.read(2) != GZIP_MAGIC:
            return None
        raw.seek(0)
        digest = hashlib.sha256()
        with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
