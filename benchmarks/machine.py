"""The machine a benchmark runs on, in one line, and the BLAS it measures.

Figures from different machines can only be read side by side when each run says where it
ran: the CPU model, the logical cores, NumPy, the BLAS library with the kernel family
OpenBLAS chose for this CPU, and the load average (other jobs on a shared machine slow
every figure). The scripts in this folder import this module as ``import machine``: Python
puts the folder of the script it runs first on ``sys.path``.

Nothing heavy is imported at module level, so a script can call :func:`use_the_users_blas`
before NumPy, and with it OpenBLAS, is first imported.
"""

from __future__ import annotations

import os

from scratchcnn.machine import cpu_model, numpy_blas

FORCED_KERNEL_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def use_the_users_blas() -> None:
    """Remove the variables that force OpenBLAS's kernels from this process's environment.

    OpenBLAS reads them once, when NumPy first loads it, so call this before importing
    NumPy. Some machines (CI runners, shared development machines) set them, often to
    kernels older than the CPU supports; users do not, so a benchmark measures the kernels
    OpenBLAS picks for the CPU by itself.
    """
    for variable in FORCED_KERNEL_VARIABLES:
        os.environ.pop(variable, None)


def blas_core() -> str:
    """The kernel family ("architecture") OpenBLAS chose, as threadpoolctl reports it."""
    pool = numpy_blas()
    if pool is None:
        forced = os.environ.get("OPENBLAS_CORETYPE")
        return f"{forced} (asked for)" if forced else "unknown (no threadpoolctl)"
    return str(pool.get("architecture") or "unknown")


def describe() -> str:
    """One line: CPU model, logical cores, NumPy, BLAS (library, version, kernel family,
    threads) and the load average over the last 1, 5 and 15 minutes."""
    import numpy as np

    pool = numpy_blas()
    if pool is None:
        blas = f"kernels {blas_core()}"
    elif not pool:
        blas = "not found"
    else:
        threads = pool.get("num_threads")
        blas = (
            f"{pool.get('internal_api')} {pool.get('version')}"
            f" {pool.get('architecture') or 'unknown'},"
            f" {threads} thread{'' if threads == 1 else 's'}"
        )
    try:
        load = "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())
    except (AttributeError, OSError):  # no load average on this system
        load = "load average unknown"
    return (
        f"CPU {cpu_model()}, {os.cpu_count()} logical cores; NumPy {np.__version__};"
        f" BLAS {blas}; {load}"
    )
