"""How many threads the engine's matrix products may use.

NumPy hands matrix products to a BLAS library (OpenBLAS in NumPy's wheels), which starts
one thread per core by default. On a machine shared with other work, or when several
trainings run side by side, fewer threads can be faster: a BLAS thread that waits for a
busy core stalls the others at every product. :func:`limit_threads` caps them through
``threadpoolctl``, an optional package (the engine itself needs only NumPy).
"""

from __future__ import annotations

from typing import Any

from scratchcnn.errors import ScratchCNNError
from scratchcnn.i18n import tr


def limit_threads(count: int) -> Any:
    """Cap the BLAS and OpenMP thread pools of this process at ``count`` threads.

    Takes effect at once and lasts until ``restore_original_limits()`` is called on the returned object;
    used as a context manager (``with limit_threads(1): ...``) it restores the previous
    counts on leaving the block. Raises :class:`ScratchCNNError` when ``threadpoolctl``
    is not installed and ``ValueError`` for a count below 1.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(tr("threads.invalid", value=count))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as error:
        raise ScratchCNNError(tr("threads.unavailable"), tr("threads.install_hint")) from error
    return threadpool_limits(limits=count)


def blas_threads() -> int | None:
    """The BLAS thread count now in force, or ``None`` when it cannot be read (no
    ``threadpoolctl``, or no BLAS library found)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return min(counts) if counts else None
