"""Shared test fixtures.

Every test runs with its own empty cache folder (``SCRATCHCNN_CACHE``), so no test reads
or writes the user's real cache. Tests that need the canonical data sets ask for the
``shared_data_dir`` fixture, which points at ``SCRATCHCNN_DATA`` (``.ci/run`` sets it) and
skips with a reason where that folder is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CANONICAL_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Give each test an empty cache folder of its own."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("SCRATCHCNN_CACHE", str(cache))
    return cache


@pytest.fixture(autouse=True)
def english_by_default(monkeypatch: pytest.MonkeyPatch):
    """Every test starts in English whatever the machine's locale, and leaves it so."""
    from scratchcnn import i18n

    for variable in i18n.LANGUAGE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    i18n.set_language("en")
    yield
    i18n.set_language("en")


def _shared_data_dir(name: str) -> Path:
    root = os.environ.get("SCRATCHCNN_DATA")
    if not root:
        pytest.skip("SCRATCHCNN_DATA is not set: the canonical data sets are not available")
    folder = Path(root)
    missing = [f for f in CANONICAL_FILES if not (folder / name / f).is_file()]
    if missing:
        pytest.skip(f"SCRATCHCNN_DATA={folder} lacks {name}/{missing[0]}")
    return folder


@pytest.fixture
def shared_data_dir() -> Path:
    """The folder holding ``mnist/`` and ``fashion-mnist/`` with the original IDX files."""
    return _shared_data_dir("mnist")


@pytest.fixture
def shared_fashion_dir() -> Path:
    """Like ``shared_data_dir`` but requires ``fashion-mnist/`` too."""
    return _shared_data_dir("fashion-mnist")
