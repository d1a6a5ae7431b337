"""What scratchcnn.machine says of this machine: facts the OS and threadpoolctl also give."""

from __future__ import annotations

import os

import pytest

from scratchcnn.machine import blas_description, cpu_model, numpy_blas, usable_cores


def test_the_cores_are_the_ones_this_process_may_use():
    cores = usable_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert cores == len(os.sched_getaffinity(0))


def test_the_cpu_is_named():
    name = cpu_model()
    assert isinstance(name, str) and name.strip() == name and name
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as cpuinfo:
            assert name in cpuinfo.read()


def test_the_blas_is_numpys_with_its_kernels_and_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    pool = numpy_blas()
    assert pool, "NumPy's BLAS not found"
    assert pool in threadpoolctl.threadpool_info()
    text = blas_description()
    assert text.startswith(f"{pool['internal_api']} {pool['version']}")
    assert text.endswith(f"{pool['num_threads']} thread" + ("s" if pool["num_threads"] != 1 else ""))
    with threadpoolctl.threadpool_limits(1):
        assert blas_description().endswith(", 1 thread")
