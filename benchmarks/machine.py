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
import platform
from typing import Any

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


def cpu_model() -> str:
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _numpy_blas() -> dict[str, Any] | None:
    """threadpoolctl's record of the BLAS NumPy uses (NumPy's own if several are loaded),
    ``{}`` when none is found; ``None`` without threadpoolctl."""
    import numpy  # noqa: F401  (loads the BLAS, so that threadpoolctl can see it)

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    own = [pool for pool in pools if "numpy" in str(pool.get("filepath", ""))]
    return (own or pools or [{}])[0]


def blas_core() -> str:
    """The kernel family ("architecture") OpenBLAS chose, as threadpoolctl reports it."""
    pool = _numpy_blas()
    if pool is None:
        forced = os.environ.get("OPENBLAS_CORETYPE")
        return f"{forced} (asked for)" if forced else "unknown (no threadpoolctl)"
    return str(pool.get("architecture") or "unknown")


def describe() -> str:
    """One line: CPU model, logical cores, NumPy, BLAS (library, version, kernel family,
    threads) and the load average over the last 1, 5 and 15 minutes."""
    import numpy as np

    pool = _numpy_blas()
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
