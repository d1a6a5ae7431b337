"""This machine as the engine sees it: the CPU, the cores this process may use, the BLAS.

Used by the report (its "machine" table), the web demo (how many worker processes to
start) and the benchmarks (the line every run prints). Nothing heavy is imported at
module level: a benchmark can import this before it lets NumPy load OpenBLAS, and a worker
process before it caps the BLAS threads.
"""

from __future__ import annotations

import os
import platform
from typing import Any


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


def usable_cores() -> int:
    """The number of cores this process may run on (its CPU affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def numpy_blas() -> dict[str, Any] | None:
    """threadpoolctl's record of the BLAS NumPy uses (NumPy's own if several are loaded):
    library, version, kernel family ("architecture"), threads. ``{}`` when none is found,
    ``None`` without threadpoolctl. Imports NumPy, which loads its BLAS."""
    import numpy  # noqa: F401  (loads the BLAS, so that threadpoolctl can see it)

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    own = [pool for pool in pools if "numpy" in str(pool.get("filepath", ""))]
    return (own or pools or [{}])[0]


def blas_description() -> str:
    """The BLAS in a few words: "openblas 0.3.31 SkylakeX, 2 threads", or NumPy's build
    record of it when threadpoolctl cannot say."""
    pool = numpy_blas()
    if pool:
        parts = [pool.get("internal_api"), pool.get("version"), pool.get("architecture")]
        threads = pool.get("num_threads")
        return " ".join(str(p) for p in parts if p) + f", {threads} thread{'s' * (threads != 1)}"
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # an old NumPy without the dict form
        return "unknown"
