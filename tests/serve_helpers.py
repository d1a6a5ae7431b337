"""Shared pieces of the serve tests: the bundled model and digits drawn with Pillow."""

from __future__ import annotations

import io
from importlib import resources

import numpy as np

from scratchcnn.images import load_image_as_mnist
from scratchcnn.persistence import load

# Pen strokes of a 200x200 drawing, as polylines of (x, y) points.
STROKES = {
    "1": [[(100, 25), (100, 175)]],
    "7": [[(45, 30), (155, 30), (80, 175)]],
}


def bundled_model():
    with resources.as_file(resources.files("scratchcnn") / "models/demo.npz") as path:
        return load(path)


def digit_png(digit: str | None, ink: int = 20, paper: int = 245) -> bytes:
    """A 200x200 PNG of ``digit`` drawn dark on light paper (``None``: blank paper)."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (200, 200), paper)
    draw = ImageDraw.Draw(image)
    for line in STROKES.get(digit, []) if digit else []:
        draw.line(line, fill=ink, width=16, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def one_pixels() -> np.ndarray:
    """An MNIST-style 28x28 ``uint8`` digit 1."""
    return load_image_as_mnist(io.BytesIO(digit_png("1")))
