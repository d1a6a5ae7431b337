"""How many threads the engine runs on.

Left alone, the engine runs each step on the whole batch and hands its matrix products to
NumPy's BLAS (OpenBLAS in NumPy's wheels), which starts one thread per core for a large
product. Most of a convolutional network's step is not one large product, though: it is
gathers, maxima, masks and products of a few columns, which BLAS runs on one thread or
not at all.

:func:`limit_threads` with ``count`` threads runs the engine the other way round: every
stretch of per-sample layers (:mod:`scratchcnn.parallel`) cuts its batch into up to
``count`` parts that ``count`` threads compute side by side, and BLAS runs each product on
one thread. With ``count=1`` the batch stays whole, on one BLAS thread: the remedy when a
machine is shared, because a BLAS thread that waits for a busy core stalls the others at
every product.

Setting BLAS's thread count after NumPy has loaded needs ``threadpoolctl``, an optional
package (the engine itself needs only NumPy).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from scratchcnn.errors import ScratchCNNError
from scratchcnn.i18n import tr

_engine_threads = 1


def engine_threads() -> int:
    """How many parts a batch may be cut into (1: the engine runs every batch whole)."""
    return _engine_threads


class ThreadLimit:
    """The thread settings :func:`limit_threads` made; restores the earlier ones on
    ``restore_original_limits()`` or at the end of a ``with`` block."""

    def __init__(self, count: int, blas_limit: Any) -> None:
        global _engine_threads
        self.count = count
        self._blas_limit = blas_limit
        self._previous = _engine_threads
        _engine_threads = count

    def restore_original_limits(self) -> None:
        """Put back the engine's and BLAS's thread counts of before."""
        global _engine_threads
        _engine_threads = self._previous
        self._blas_limit.restore_original_limits()

    def __enter__(self) -> ThreadLimit:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.restore_original_limits()


def limit_threads(count: int) -> ThreadLimit:
    """Run the engine on ``count`` threads: batches cut into up to ``count`` parts computed
    side by side, every matrix product on one BLAS thread.

    Takes effect at once, for the whole process, and lasts until
    ``restore_original_limits()`` is called on the returned object; used as a context
    manager (``with limit_threads(2): ...``) it restores the earlier counts on leaving the
    block. The weight gradients of a batch cut in parts are summed part by part, so a run
    on another number of threads may differ in the last float32 digits; the same count
    gives the same digits every time. Raises :class:`ScratchCNNError` when
    ``threadpoolctl`` is not installed and ``ValueError`` for a count below 1.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(tr("threads.invalid", value=count))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as error:
        raise ScratchCNNError(tr("threads.unavailable"), tr("threads.install_hint")) from error
    return ThreadLimit(count, threadpool_limits(limits=1))


def blas_threads() -> int | None:
    """The BLAS thread count now in force, or ``None`` when it cannot be read (no
    ``threadpoolctl``, or no BLAS library found)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return min(counts) if counts else None
