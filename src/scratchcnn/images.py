"""Turn a picture of a digit into a 28x28 image that looks like an MNIST sample.

MNIST digits are white on black, their bounding box fits in 20x20 pixels (the longer
side is 20, the aspect ratio kept, edges anti-aliased), and they sit in a 28x28 frame with
the centre of mass of the pixel intensities at pixel (14, 14) (row, column; measured on
MNIST itself, the mean is 14.0 +- 0.3 on both axes). :func:`load_image_as_mnist` does the
same to any PNG or JPEG:

1. decode with Pillow (any mode: transparency is composited on white, palettes expanded,
   16-bit scaled), turn to grayscale with ITU-R 601 luma (what Pillow's ``"L"`` mode uses);
2. invert when the background is light: the background level is the median of the
   outermost ring of pixels, light when above mid-gray;
3. measure ink as the excess over the background level, scaled so the strongest stroke
   is 1; values below :data:`NOISE_FLOOR` (paper grain, JPEG ringing) become 0;
4. crop to the bounding box of the ink, leaving out stray specks (up to
   :data:`STRAY_INK` of the ink mass on each side), scale its longer side to 20 pixels
   (Pillow, bilinear, anti-aliased when shrinking) and rescale the strongest pixel to 255;
5. paste into 28x28 at the whole-pixel offset that brings the centre of mass nearest to
   (14, 14), shifted only as far as keeps the whole digit inside the frame.

Pillow is imported only when an image is read (``pip install 'scratchcnn[images]'``).
Photos with uneven lighting or shadows are not levelled: scans and drawings work best.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

import numpy as np

from scratchcnn.errors import ScratchCNNError

__all__ = [
    "DIGIT_SIZE",
    "FRAME_SIZE",
    "MIN_CONTRAST",
    "MIN_DIGIT_FRACTION",
    "NOISE_FLOOR",
    "STRAY_INK",
    "load_grayscale",
    "load_image_as_mnist",
    "mnist_from_grayscale",
    "require_pillow",
]

#: Side of the output image, in pixels.
FRAME_SIZE = 28
#: The longer side of the digit's bounding box after scaling.
DIGIT_SIZE = 20
#: Fraction of the ink range treated as background noise.
NOISE_FLOOR = 0.15
#: Fraction of the ink mass the bounding box may leave out on each side (stray specks).
STRAY_INK = 0.005
#: Smallest size of the digit's bounding box, as a fraction of the image's longer side.
MIN_DIGIT_FRACTION = 0.02
#: Smallest difference between ink and background (on a 0..1 scale) that counts as a digit.
MIN_CONTRAST = 0.1
#: Larger images are shrunk to this longer side before processing (speed and memory).
MAX_WORKING_SIZE = 1024

ImageSource = str | os.PathLike[str] | BinaryIO

# ITU-R 601-2 luma weights, as Pillow's RGB -> L conversion.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# Pillow modes with an alpha channel.
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})


def require_pillow() -> Any:
    """The ``PIL.Image`` module, or a clear error naming the optional extra."""
    try:
        from PIL import Image
    except ImportError:
        raise ScratchCNNError(
            "reading images needs Pillow, which is not installed",
            hint="pip install 'scratchcnn[images]'",
        ) from None
    return Image


def load_image_as_mnist(path: ImageSource) -> np.ndarray:
    """Read an image file (a path or a binary file object) and return the digit as
    MNIST-style ``uint8`` (28, 28), white on black."""
    return mnist_from_grayscale(load_grayscale(path), source=str(path))


def load_grayscale(path: ImageSource) -> np.ndarray:
    """Decode an image file to float32 gray levels in [0, 1] (0 black, 1 white).

    Transparent pixels are composited on white. Images larger than
    :data:`MAX_WORKING_SIZE` are shrunk (keeping the aspect ratio) first.
    """
    image_module = require_pillow()
    from PIL import ImageOps, UnidentifiedImageError

    if isinstance(path, (str, os.PathLike)) and os.path.isdir(path):
        raise ScratchCNNError(message_key="error.image.folder", path=path)
    try:
        with image_module.open(path) as image:
            image.draft("L", (MAX_WORKING_SIZE, MAX_WORKING_SIZE))
            image = ImageOps.exif_transpose(image)
            gray = _to_gray(image)
    except FileNotFoundError:
        raise ScratchCNNError(message_key="error.no_such_file", path=path) from None
    except UnidentifiedImageError:
        raise ScratchCNNError(message_key="error.image.unknown", path=path) from None
    except image_module.DecompressionBombError as exc:
        raise ScratchCNNError(message_key="error.image.too_large", path=path, reason=exc) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ScratchCNNError(message_key="error.image.damaged", path=path, reason=exc) from None
    if max(gray.shape) > MAX_WORKING_SIZE:
        factor = MAX_WORKING_SIZE / max(gray.shape)
        size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
        gray = _resize(gray, size)
    return gray


def _to_gray(image: Any) -> np.ndarray:
    """Any Pillow image as float32 gray in [0, 1], transparency composited on white."""
    mode = image.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float32)
        if mode.startswith("I;16"):
            top = 65535.0
        elif mode == "F" and values.size and float(values.max()) <= 1.0:
            top = 1.0
        else:
            top = 255.0 if not values.size or float(values.max()) <= 255 else 65535.0
        return np.clip(values / top, 0.0, 1.0)
    has_alpha = mode in _ALPHA_MODES or "transparency" in image.info
    if mode == "L" and not has_alpha:
        return np.asarray(image, dtype=np.float32) / np.float32(255)
    rgba = np.asarray(image.convert("RGBA"))
    gray = (rgba[..., :3] @ _LUMA) / np.float32(255)
    if has_alpha:
        alpha = rgba[..., 3] / np.float32(255)
        gray = gray * alpha + (1 - alpha)
    return gray.astype(np.float32)


def _resize(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float image to ``size`` = (width, height), bilinear, anti-aliased."""
    image_module = require_pillow()
    image = image_module.fromarray(np.ascontiguousarray(values, dtype=np.float32))
    resized = image.resize(size, image_module.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def mnist_from_grayscale(gray: np.ndarray, source: str = "image") -> np.ndarray:
    """MNIST-style ``uint8`` (28, 28) from gray levels in [0, 1] of any size (see module doc).

    ``source`` names the image in errors. Raises :class:`ScratchCNNError` when no digit
    stands out from the background.
    """
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or min(gray.shape) == 0:
        raise ScratchCNNError(f"{source}: expected a 2-D gray image, got shape {gray.shape}")
    border = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    background = float(np.median(border))
    if background > 0.5:
        gray = 1.0 - gray
        background = 1.0 - background
    ink = np.clip(gray - background, 0.0, None)
    contrast = float(ink.max())
    if contrast < MIN_CONTRAST:
        raise ScratchCNNError(
            f"{source}: no digit found: the image is blank (contrast {contrast:.3f})",
            hint="draw a dark digit on a light background or a light one on a dark background",
        )
    ink /= contrast
    ink[ink < NOISE_FLOOR] = 0.0
    digit = _crop_to_ink(ink)
    height, width = digit.shape
    if max(height, width) < MIN_DIGIT_FRACTION * max(ink.shape):
        raise ScratchCNNError(
            f"{source}: no digit found: only specks of {height}x{width} pixels "
            f"in a {ink.shape[0]}x{ink.shape[1]} image"
        )
    scale = DIGIT_SIZE / max(height, width)
    size = (
        min(DIGIT_SIZE, max(1, round(width * scale))),
        min(DIGIT_SIZE, max(1, round(height * scale))),
    )
    digit = np.clip(_resize(digit, size), 0.0, 1.0)
    peak = float(digit.max())
    if peak <= 0.0:
        raise ScratchCNNError(f"{source}: no digit found: the marks are too faint")
    digit /= peak
    return _centre(digit)


def _crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The ink's bounding box, leaving out up to :data:`STRAY_INK` of the ink on each side."""
    rows = _span(ink.sum(axis=1, dtype=np.float64))
    cols = _span(ink.sum(axis=0, dtype=np.float64))
    return ink[rows, cols]


def _span(profile: np.ndarray) -> slice:
    """Indices from where the cumulative ``profile`` passes ``STRAY_INK`` of its total to
    where it reaches ``1 - STRAY_INK`` of it."""
    cumulative = np.cumsum(profile)
    total = cumulative[-1]
    first = int(np.searchsorted(cumulative, STRAY_INK * total, side="right"))
    last = int(np.searchsorted(cumulative, (1.0 - STRAY_INK) * total, side="left"))
    return slice(first, max(first, last) + 1)


def _centre(digit: np.ndarray) -> np.ndarray:
    """Paste ``digit`` (values in [0, 1]) into the frame with its centre of mass at (14, 14)."""
    height, width = digit.shape
    total = float(digit.sum())
    com_row = float(np.arange(height) @ digit.sum(axis=1)) / total
    com_col = float(np.arange(width) @ digit.sum(axis=0)) / total
    centre = FRAME_SIZE / 2
    top = int(np.clip(np.floor(centre - com_row + 0.5), 0, FRAME_SIZE - height))
    left = int(np.clip(np.floor(centre - com_col + 0.5), 0, FRAME_SIZE - width))
    frame = np.zeros((FRAME_SIZE, FRAME_SIZE), dtype=np.uint8)
    frame[top : top + height, left : left + width] = np.rint(digit * 255).astype(np.uint8)
    return frame
