"""Atomic writes leave either the old file or the new one, with sensible permissions."""

from __future__ import annotations

import os

import pytest

from scratchcnn.fileio import atomic_write, atomic_write_bytes


def test_success_replaces_the_file(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_failure_midway_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old contents")
    with pytest.raises(RuntimeError, match="disk on fire"), atomic_write(target) as handle:
        handle.write(b"half of the new")
        raise RuntimeError("disk on fire")
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_new_files_get_umask_permissions_and_old_files_keep_theirs(tmp_path):
    umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.bin"
        atomic_write_bytes(fresh, b"x")
        assert fresh.stat().st_mode & 0o777 == 0o644
        kept = tmp_path / "kept.bin"
        kept.write_bytes(b"x")
        kept.chmod(0o600)
        atomic_write_bytes(kept, b"y")
        assert kept.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(umask)


def test_creates_missing_folders(tmp_path):
    target = tmp_path / "a" / "b" / "c.bin"
    atomic_write_bytes(target, b"z")
    assert target.read_bytes() == b"z"
