"""Data handling: IDX files, the data-set registry, verified downloads and the cache.

Most code wants :func:`scratchcnn.datasets.load`; this package holds its parts.
"""

from __future__ import annotations

from scratchcnn.data.idx import decode_idx, encode_idx, read_idx, write_idx

__all__ = ["decode_idx", "encode_idx", "read_idx", "write_idx"]
