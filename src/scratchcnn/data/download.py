"""Verified downloads from a list of mirrors.

HTTP is left to pooch (its :class:`pooch.HTTPDownloader`, built on requests, with a tqdm
progress bar); pooch is imported only when a download is needed, so numpy stays the only
hard dependency. Each file is streamed through a SHA-256 hasher into
:func:`scratchcnn.fileio.atomic_write`: it reaches its final name only when its size
and checksum match the registry. A mismatch discards the temporary file and the next
mirror is tried; a mirror that cannot be reached is skipped for the remaining files.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from scratchcnn.data.registry import DataFile, DataSet
from scratchcnn.errors import DataError, DownloadError
from scratchcnn.fileio import atomic_write

MIRRORS_ENV = "SCRATCHCNN_MIRRORS"
DEFAULT_TIMEOUT_S = 30.0
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Fetched:
    """The outcome for one file: its path and where it came from (None: already there)."""

    data_file: DataFile
    path: Path
    url: str | None


class _ChecksumMismatchError(Exception):
    """The bytes received are not the published file."""


class _WriteFailedError(Exception):
    """Writing into the destination failed (disk full, permissions): not the mirror's fault."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _HashingWriter:
    """A write-only file object that hashes and counts bytes, refusing more than expected."""

    def __init__(self, handle: BinaryIO, expected_size: int) -> None:
        self._handle = handle
        self._expected_size = expected_size
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        if self.size > self._expected_size:
            raise _ChecksumMismatchError(f"larger than the expected {self._expected_size:,} bytes")
        self.digest.update(chunk)
        try:
            return self._handle.write(chunk)
        except OSError as exc:
            raise _WriteFailedError(exc) from exc

    def flush(self) -> None:
        try:
            self._handle.flush()
        except OSError as exc:
            raise _WriteFailedError(exc) from exc


def mirrors_for(dataset: DataSet, mirrors: Sequence[str] | None = None) -> list[str]:
    """Base URLs to try in order: ``mirrors``, else ``$SCRATCHCNN_MIRRORS``, else the registry's.

    ``{name}`` in a URL stands for the data set name, so one variable can serve several
    data sets whose files share names.
    """
    if mirrors is None:
        configured = os.environ.get(MIRRORS_ENV, "").strip()
        mirrors = re.split(r"[\s,]+", configured) if configured else list(dataset.mirrors)
    bases = []
    for base in mirrors:
        if not base:
            continue
        base = base.replace("{name}", dataset.name)
        bases.append(base if base.endswith("/") else base + "/")
    return bases


def download_files(
    dataset: DataSet,
    files: Sequence[DataFile],
    destination: Path,
    *,
    mirrors: Sequence[str] | None = None,
    progress: bool | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    report: Callable[[str], None] | None = None,
) -> list[Fetched]:
    """Make sure each of ``files`` is in ``destination`` with its published checksum.

    Files already there with the right checksum are kept; others are fetched from the
    mirrors in order. Raises :class:`DownloadError` naming every file that could not be
    fetched, with the ways to provide them.
    """
    if progress is None:
        progress = sys.stderr.isatty()
    bases = mirrors_for(dataset, mirrors)
    results: list[Fetched] = []
    pending: list[DataFile] = []
    for data_file in files:
        target = destination / data_file.name
        if _holds(target, data_file):
            results.append(Fetched(data_file, target, None))
        else:
            pending.append(data_file)
    if not pending:
        return results

    downloader = _make_downloader(dataset, pending, progress, timeout)
    unreachable: set[str] = set()
    missing: list[str] = []
    attempts: list[str] = []
    for data_file in pending:
        target = destination / data_file.name
        for base in bases:
            if base in unreachable:
                continue
            url = base + data_file.name
            if report is not None:
                report(f"downloading {url}")
            outcome = _fetch_one(downloader, url, data_file, target)
            if outcome is None:
                results.append(Fetched(data_file, target, url))
                break
            reason, reachable = outcome
            attempts.append(f"{url}: {reason}")
            if not reachable:
                unreachable.add(base)
        else:
            missing.append(data_file.name)
    if missing:
        offline = bool(bases) and unreachable.issuperset(bases)
        raise _download_error(dataset, missing, attempts, offline)
    return results


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _holds(path: Path, data_file: DataFile) -> bool:
    """Whether ``path`` is already the published file (an unreadable one is not)."""
    try:
        return path.is_file() and file_sha256(path) == data_file.sha256
    except OSError:
        return False


def _make_downloader(
    dataset: DataSet, pending: Sequence[DataFile], progress: bool, timeout: float
) -> Callable[..., None]:
    """A pooch HTTP downloader, or a DownloadError saying how to install pooch."""
    try:
        import pooch
    except ImportError:
        missing = ", ".join(f.name for f in pending)
        raise DownloadError(
            message_key="error.download.needs_pooch",
            hint_key="error.download.needs_pooch.hint",
            name=dataset.name,
            missing=missing,
        ) from None
    try:
        return pooch.HTTPDownloader(progressbar=progress, chunk_size=_CHUNK, timeout=timeout)
    except ValueError:
        return pooch.HTTPDownloader(progressbar=False, chunk_size=_CHUNK, timeout=timeout)


def _fetch_one(
    downloader: Callable[..., None], url: str, data_file: DataFile, target: Path
) -> tuple[str, bool] | None:
    """Fetch one URL into ``target``; None on success, else (reason, mirror reachable)."""
    import requests

    try:
        with atomic_write(target) as handle:
            writer = _HashingWriter(handle, data_file.size)
            downloader(url, writer, None)
            actual = writer.digest.hexdigest()
            if writer.size != data_file.size or actual != data_file.sha256:
                raise _ChecksumMismatchError(
                    f"checksum mismatch: got {writer.size:,} bytes with SHA-256 {actual}, "
                    f"expected {data_file.size:,} bytes with SHA-256 {data_file.sha256}"
                )
    except _ChecksumMismatchError as exc:
        return f"rejected, {exc}", True
    except _WriteFailedError as exc:
        raise DataError(
            f"{target}: cannot write the download: {exc.error.strerror or exc}"
        ) from None
    except requests.exceptions.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "error"
        return f"HTTP {status}", True
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        return f"unreachable ({_short_reason(exc)})", False
    except requests.exceptions.RequestException as exc:
        return f"failed ({_short_reason(exc)})", False
    except OSError as exc:
        raise DataError(f"{target}: cannot write the download: {exc.strerror or exc}") from None
    return None


def _short_reason(exc: BaseException) -> str:
    """A one-line reason for a network failure."""
    text = str(exc)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "timed out",
        "Temporary failure in name resolution",
        "No route to host",
        "Network is unreachable",
        "certificate verify failed",
    ):
        if marker.lower() in text.lower():
            return marker.lower()
    return type(exc).__name__


def _download_error(
    dataset: DataSet, missing: list[str], attempts: list[str], offline: bool = False
) -> DownloadError:
    """The error for files no mirror delivered: what is missing, the fixes, what was tried.

    When no mirror could be reached at all the machine is offline, so the way that needs no
    network (the bundled sample) comes first and the long list of attempts is left out.
    """
    values = {"name": dataset.name, "count": len(missing), "files": ", ".join(missing)}
    if offline:
        return DownloadError(
            message_key="error.download.offline", hint_key="error.download.offline.hint", **values
        )
    tried = "; ".join(attempts) if attempts else "no mirror is configured"
    return DownloadError(
        message_key="error.download.failed",
        hint_key="error.download.failed.hint",
        tried=tried,
        **values,
    )
