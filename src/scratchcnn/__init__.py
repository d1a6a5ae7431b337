"""scratchcnn: a convolutional neural network library written from scratch in NumPy."""

from __future__ import annotations

__version__ = "0.1.0"
