"""limit_threads sets the engine's threads and caps BLAS's pool, restores both, and fails
clearly without threadpoolctl; the CLI runs on one thread per core unless told otherwise."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from scratchcnn.errors import ScratchCNNError
from scratchcnn.threads import blas_threads, limit_threads

pytest.importorskip("threadpoolctl", reason="threadpoolctl is not installed")


def test_limit_threads_caps_blas_inside_the_block_and_restores_it():
    before = blas_threads()
    assert before is not None, "NumPy's BLAS should be visible to threadpoolctl"
    with limit_threads(1):
        assert blas_threads() == 1
        a = np.arange(64 * 64, dtype=np.float32).reshape(64, 64) / 4096
        np.testing.assert_allclose(a @ a, (a.astype(np.float64) @ a), rtol=1e-5)
    assert blas_threads() == before


def test_limit_threads_as_a_call_lasts_until_restored():
    before = blas_threads()
    limit = limit_threads(1)
    try:
        assert blas_threads() == 1
    finally:
        limit.restore_original_limits()
    assert blas_threads() == before


@pytest.mark.parametrize("count", [0, -2, 1.5, "2", True])
def test_limit_threads_rejects_counts_that_are_not_positive_integers(count):
    with pytest.raises(ValueError, match="at least 1"):
        limit_threads(count)


def test_without_threadpoolctl_the_error_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # makes the import fail
    with pytest.raises(ScratchCNNError, match="threadpoolctl") as caught:
        limit_threads(2)
    assert "pip install threadpoolctl" in str(caught.value)
    assert blas_threads() is None


def test_threads_option_caps_blas_while_the_command_runs(tmp_path, monkeypatch, capsys):
    import scratchcnn.training
    from scratchcnn.cli import main
    from scratchcnn.persistence import save
    from scratchcnn.presets import build_model
    from scratchcnn.threads import blas_threads

    path = tmp_path / "m.npz"
    save(build_model("classic"), path)
    original = scratchcnn.training.evaluate
    seen = []

    def evaluate_and_count(*args, **kwargs):
        seen.append(blas_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(scratchcnn.training, "evaluate", evaluate_and_count)
    before = blas_threads()
    argv = ["evaluate", str(path), "--dataset", "mnist-sample", "--json", "--threads", "1"]
    assert main(argv) == 0
    assert seen == [1]
    assert blas_threads() == before  # restored after the command
    capsys.readouterr()
    assert main(["train", "--help"]) == 0
    assert "--threads" in capsys.readouterr().out


def evaluate_seeing_the_engine_threads(tmp_path, monkeypatch, argv_tail):
    """Run ``evaluate`` on a classic model; return the engine and BLAS thread counts seen
    while it evaluated."""
    import scratchcnn.training
    from scratchcnn.cli import main
    from scratchcnn.persistence import save
    from scratchcnn.presets import build_model
    from scratchcnn.threads import engine_threads

    path = tmp_path / "m.npz"
    save(build_model("classic"), path)
    original = scratchcnn.training.evaluate
    seen = []

    def evaluate_and_count(*args, **kwargs):
        seen.append((engine_threads(), blas_threads()))
        return original(*args, **kwargs)

    monkeypatch.setattr(scratchcnn.training, "evaluate", evaluate_and_count)
    argv = ["evaluate", str(path), "--dataset", "mnist-sample", "--json", *argv_tail]
    assert main(argv) == 0
    return seen


def test_the_command_line_runs_on_one_thread_per_usable_core_by_default(tmp_path, monkeypatch):
    from scratchcnn import machine
    from scratchcnn.threads import engine_threads

    monkeypatch.setattr(machine, "usable_cores", lambda: 3)
    assert evaluate_seeing_the_engine_threads(tmp_path, monkeypatch, []) == [(3, 1)]
    assert evaluate_seeing_the_engine_threads(tmp_path, monkeypatch, ["--threads", "2"]) == [(2, 1)]
    assert engine_threads() == 1  # restored after the command


def test_without_threadpoolctl_the_default_leaves_the_engine_as_it_is(tmp_path, monkeypatch):
    before = blas_threads()
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # makes the import fail
    assert evaluate_seeing_the_engine_threads(tmp_path, monkeypatch, []) == [(1, None)]
    monkeypatch.undo()
    assert blas_threads() == before
