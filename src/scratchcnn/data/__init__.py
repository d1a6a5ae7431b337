"""Data handling: IDX files, the data-set registry, verified downloads and the cache.

Most code wants :func:`scratchcnn.data.datasets.load` (also importable as
``scratchcnn.datasets``); the other modules are its parts.
"""

from __future__ import annotations

from scratchcnn.data.idx import decode_idx, encode_idx, read_idx, write_idx

__all__ = ["decode_idx", "encode_idx", "read_idx", "write_idx"]
