"""Loading the image data sets scratchcnn trains on.

``load(name, split)`` returns ``(images, labels)``: C-contiguous ``uint8`` arrays of shape
``(N, 28, 28)`` and ``(N,)``. The files of a data set are looked for, in order, in:

1. the ``data_dir`` argument (``--data-dir``): ``<data_dir>/<name>/`` if that folder
   exists, else ``<data_dir>`` itself;
2. ``$SCRATCHCNN_DATA/<name>/``;
3. the user cache, ``<cache>/<name>/`` (see :mod:`scratchcnn.data.cache`);
4. system folders the registry names (Debian's ``/usr/share/datasets/fashion-mnist``);
5. otherwise they are downloaded into the cache, verified by SHA-256.

``mnist-sample`` ships inside the package and is always loaded from there. Every file is
checked by the IDX parser and its uncompressed content by SHA-256 against the registry;
the decoded arrays are then cached, so later loads skip both the gzip decoding and the
checksum until a source file changes.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from scratchcnn.data.cache import decoded_key, decoded_path, download_folder, load_decoded
from scratchcnn.data.cache import store_decoded as _store_decoded
from scratchcnn.data.idx import read_idx_with_digest
from scratchcnn.data.registry import (
    DATASETS,
    IMAGE_SHAPE,
    SPLITS,
    DataFile,
    DataSet,
    get_dataset,
    identify_content,
)
from scratchcnn.errors import DataError

if TYPE_CHECKING:
    # Downloading and verifying import HTTP and hashing machinery; loading data that is
    # already here should not pay for them (``scratchcnn classic`` starts in a blink).
    from scratchcnn.data.download import Fetched
    from scratchcnn.data.verify import FileCheck

DATA_ENV = "SCRATCHCNN_DATA"
NAMES: tuple[str, ...] = tuple(DATASETS)

__all__ = [
    "DATA_ENV",
    "NAMES",
    "SPLITS",
    "Location",
    "class_names",
    "download",
    "load",
    "locate",
    "verify",
]


@dataclass(frozen=True)
class Location:
    """Where one split was found: ``source`` says which lookup step found it."""

    source: str
    folder: Path
    images: Path
    labels: Path


def class_names(name: str) -> list[str]:
    """The class names of data set ``name``, indexed by label."""
    return list(get_dataset(name).class_names)


def candidate_folders(
    name: str, data_dir: str | os.PathLike[str] | None = None
) -> list[tuple[str, Path]]:
    """The folders searched for data set ``name``, in lookup order, with their source labels.

    A ``data_dir`` or ``$SCRATCHCNN_DATA`` that is not a folder is an error rather than
    silently skipped, since it is almost always a typo.
    """
    dataset = get_dataset(name)
    if dataset.bundled_dir is not None:
        return [("package", dataset.bundled_dir)]
    folders: list[tuple[str, Path]] = []
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise DataError(
                message_key="error.data.no_data_dir",
                hint_key="error.data.no_data_dir.hint",
                root=root,
                name=name,
            )
        nested = root / name
        folders.append(("--data-dir", nested if nested.is_dir() else root))
    env_root = os.environ.get(DATA_ENV)
    if env_root:
        root = Path(env_root).expanduser()
        if not root.is_dir():
            raise DataError(
                message_key="error.data.no_env_dir",
                hint_key="error.data.no_env_dir.hint",
                variable=DATA_ENV,
                root=env_root,
            )
        folders.append((DATA_ENV, root / name))
    folders.append(("cache", download_folder(name)))
    folders += [("system", folder) for folder in dataset.system_dirs]
    return folders


def find_file(folder: Path, data_file: DataFile) -> Path | None:
    """The file in ``folder`` under its published name, or gunzipped; None if absent."""
    for file_name in (data_file.name, data_file.uncompressed_name):
        path = folder / file_name
        if path.is_file():
            return path
    return None


def locate(
    name: str, split: str, data_dir: str | os.PathLike[str] | None = None
) -> Location | None:
    """The first folder in lookup order holding both files of ``split``; None if none does."""
    files = get_dataset(name).split_files(split)
    for source, folder in candidate_folders(name, data_dir):
        images = find_file(folder, files.images)
        labels = find_file(folder, files.labels)
        if images is not None and labels is not None:
            return Location(source, folder, images, labels)
    return None


def load(
    name: str,
    split: str = "train",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Images ``uint8 (N, 28, 28)`` and labels ``uint8 (N,)`` of one split of a data set.

    Looks for the files in the lookup order above and downloads them into the cache when
    none holds them. With ``limit``, only the first ``limit`` images and labels are
    returned (from the decoded cache, only those are read). Raises :class:`DataError` for
    unknown names or splits and for files that are damaged or are not the published data.
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be a number of images, 0 or more, got {limit}")
    dataset = get_dataset(name)
    files = dataset.split_files(split)
    location = locate(name, split, data_dir)
    if location is None:
        if dataset.bundled_dir is not None:
            raise DataError(
                message_key="error.data.bundled_missing",
                hint_key="error.reinstall",
                name=name,
                folder=dataset.bundled_dir,
            )
        from scratchcnn.data.download import download_files

        destination = download_folder(name)
        download_files(dataset, files.files, destination, report=_report)
        location = Location(
            "cache", destination, destination / files.images.name, destination / files.labels.name
        )
    return _load_location(dataset, split, location, limit)


def download(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    mirrors: list[str] | None = None,
    progress: bool | None = None,
) -> list[Fetched]:
    """Fetch every file of ``name`` into ``<data_dir>/<name>/`` (default: the cache).

    Files already present with the published checksum are kept. Bundled data sets need
    no download and return an empty list.
    """
    from scratchcnn.data.download import download_files

    dataset = get_dataset(name)
    if dataset.bundled:
        return []
    destination = Path(data_dir).expanduser() / name if data_dir else download_folder(name)
    return download_files(
        dataset, dataset.files(), destination, mirrors=mirrors, progress=progress, report=_report
    )


def verify(name: str, data_dir: str | os.PathLike[str] | None = None) -> list[FileCheck]:
    """Check the SHA-256 of every file of ``name`` found in lookup order (no download)."""
    from scratchcnn.data.verify import check_file

    dataset = get_dataset(name)
    folders = candidate_folders(name, data_dir)
    checks = []
    for data_file in dataset.files():
        for source, folder in folders:
            path = find_file(folder, data_file)
            if path is not None:
                checks.append(check_file(data_file, path, source))
                break
        else:
            checks.append(check_file(data_file, None))
    return checks


def _load_location(
    dataset: DataSet, split: str, location: Location, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Decoded arrays of one split from ``location``, through the decoded-array cache."""
    files = dataset.split_files(split)
    key = decoded_key(
        [
            (location.images, files.images.content_sha256),
            (location.labels, files.labels.content_sha256),
        ]
    )
    cache_file = decoded_path(dataset.name, split, key) if key else None
    if cache_file is not None:
        cached = load_decoded(cache_file, files.images.count, IMAGE_SHAPE, limit)
        if cached is not None:
            return cached
    images = _read_checked(dataset, split, location, location.images, files.images, 3)
    labels = _read_checked(dataset, split, location, location.labels, files.labels, 1)
    if labels.max(initial=0) >= len(dataset.class_names):
        raise DataError(
            f"{location.labels}: holds labels outside 0..{len(dataset.class_names) - 1}"
        )
    images = np.ascontiguousarray(images)
    labels = np.ascontiguousarray(labels)
    if cache_file is not None:
        _store_decoded(cache_file, images, labels)
    return images[:limit], labels[:limit]


def _read_checked(
    dataset: DataSet,
    split: str,
    location: Location,
    path: Path,
    data_file: DataFile,
    ndim: int,
) -> np.ndarray:
    """Parse one file and make sure it is the published one, naming the problem otherwise."""
    array, content_sha256 = read_idx_with_digest(path)
    expected_shape = (data_file.count, *IMAGE_SHAPE) if ndim == 3 else (data_file.count,)
    kind = "images" if ndim == 3 else "labels"
    if array.dtype != np.uint8 or array.shape != expected_shape:
        raise DataError(
            f"{path}: holds {array.dtype} data of shape {array.shape}, but {dataset.name} "
            f"{split} {kind} are uint8 of shape {expected_shape}",
            hint=_fix_hint(dataset, location),
        )
    if content_sha256 != data_file.content_sha256:
        known = identify_content(content_sha256)
        if known is not None:
            what = f"it holds {known[0]}'s {known[2]}"
        else:
            what = (
                f"SHA-256 of its uncompressed content is {content_sha256}, "
                f"expected {data_file.content_sha256}"
            )
        raise DataError(
            f"{path}: not the published {dataset.name} {split} {kind} file ({what})",
            hint=_fix_hint(dataset, location),
        )
    return array


def _fix_hint(dataset: DataSet, location: Location) -> str:
    """How to replace a wrong file, depending on where it was found."""
    if location.source == "cache":
        return f"delete it, or run `scratchcnn data download {dataset.name}` to fetch it again"
    if location.source == "package":
        return "the installation is damaged: reinstall scratchcnn"
    return (
        f"replace it with the published file, or remove it to fall back on the cache; "
        f"`scratchcnn data verify {dataset.name}` checks every file"
    )


def _report(message: str) -> None:
    print(f"scratchcnn: {message}", file=sys.stderr)
