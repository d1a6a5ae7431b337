"""scratchcnn: a convolutional neural network library written from scratch in NumPy.

The names below are imported on first use, so ``import scratchcnn`` (and the command
line's start-up) stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Sequential", "__version__", "export_onnx", "import_onnx", "load", "save"]

_LAZY = {
    "Sequential": "scratchcnn.model",
    "export_onnx": "scratchcnn.export",
    "import_onnx": "scratchcnn.onnx_import",
    "load": "scratchcnn.persistence",
    "save": "scratchcnn.persistence",
}

if TYPE_CHECKING:
    from scratchcnn.export import export_onnx
    from scratchcnn.model import Sequential
    from scratchcnn.onnx_import import import_onnx
    from scratchcnn.persistence import load, save


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'scratchcnn' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
