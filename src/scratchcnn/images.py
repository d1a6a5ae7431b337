"""Turn a picture of a digit (a drawing, a scan, a phone photo of paper) into a 28x28 image
that looks like an MNIST sample.

MNIST digits are white on black, their bounding box fits in 20x20 pixels (the longer
side is 20, the aspect ratio kept, edges anti-aliased), and they sit in a 28x28 frame with
the centre of mass of the pixel intensities at pixel (14, 14) (row, column; measured on
MNIST itself, the mean is 14.0 +- 0.3 on both axes). :func:`load_image_as_mnist` does the
same to any PNG or JPEG:

1. decode with Pillow: EXIF orientation applied (phone photos), transparency composited
   on white, palettes expanded, 16-bit scaled, CMYK converted; gray is ITU-R 601 luma
   (what Pillow's ``"L"`` mode uses); images over :data:`MAX_WORKING_SIZE` are shrunk;
2. make the paper light: the image is inverted when its lightest pixels lie further
   from its median (the paper, which covers most of it) than its darkest (the ink is
   the rarer extreme);
3. flatten the light: the paper's brightness ``B`` is estimated at a large scale (a
   gray-level closing, max then min over :data:`BACKGROUND_WINDOW` of the longer side,
   which erases strokes but keeps shadows and light gradients), and the ink's darkness is
   ``1 - gray / B``: the fraction of the local paper's light that the ink absorbs;
4. threshold the darkness with Otsu's method (the level that best splits the histogram
   in two classes), never below :data:`MIN_INK`;
5. remove ruled lines: thin, straight, parallel lines that cross the whole picture,
   found by their fitted position (a slope and an offset) on ink fainter than the
   threshold, so that a line broken into pieces (pale, cut by the digit, in a shadow)
   or ending at the desk beyond the paper is found all the same;
6. keep the digit: the connected ink components that do not touch the picture's border
   (shadows, ruled lines and paper edges do) and are thicker than a ruled line (pieces
   of lines are left over where a line meets the digit), leaving out specks smaller than
   :data:`MIN_PART` of the largest; when no component passes a test (a digit drawn to
   the edge of a canvas, or with a thin pen), that test is waived;
7. ink = the darkness inside the kept components (grown by a pixel or two for the
   anti-aliased edges), scaled so the strongest stroke is 1; values below
   :data:`NOISE_FLOOR` (paper grain, JPEG ringing) become 0;
8. crop to the bounding box of the ink, leaving out stray specks (up to
   :data:`STRAY_INK` of the ink mass on each side), scale its longer side to 20 pixels
   (Pillow, bilinear, anti-aliased when shrinking) and rescale the strongest pixel to 255;
9. paste into 28x28 at the whole-pixel offset that brings the centre of mass nearest to
   (14, 14), shifted only as far as keeps the whole digit inside the frame.

Connected components and morphology are plain NumPy. Pillow is imported only when an
image is read or resized (``pip install 'scratchcnn[images]'``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from scratchcnn.errors import ScratchCNNError

__all__ = [
    "BACKGROUND_WINDOW",
    "DIGIT_SIZE",
    "FRAME_SIZE",
    "MAX_WORKING_SIZE",
    "MIN_CONTRAST",
    "MIN_DIGIT_FRACTION",
    "MIN_INK",
    "MIN_PART",
    "NOISE_FLOOR",
    "STRAY_INK",
    "Preprocessed",
    "ink_darkness",
    "input_sheet",
    "label_components",
    "load_grayscale",
    "load_image_as_mnist",
    "mnist_from_grayscale",
    "otsu_threshold",
    "preprocess_grayscale",
    "preprocess_image",
    "require_pillow",
    "ruled_lines",
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
#: Smallest darkness of the ink (on a 0..1 scale) that counts as a digit.
MIN_CONTRAST = 0.1
#: Larger images are shrunk to this longer side before processing (speed and memory).
MAX_WORKING_SIZE = 1024
#: Window of the closing that estimates the paper's brightness, as a fraction of the
#: longer side: wider than any stroke, narrower than the shadows and light gradients.
BACKGROUND_WINDOW = 0.25
#: The dimmest lit paper, as a fraction of the brightest: darker regions are ink, however
#: large (a filled bar), not shadow.
DARKEST_PAPER = 0.3
#: The lowest threshold on the darkness (JPEG noise and paper grain stay below it).
MIN_INK = 0.2
#: Components smaller than this fraction of the largest one are specks, not the digit.
MIN_PART = 0.08
#: Thickest ruled line, as a fraction of the shorter side (digit strokes are thicker).
LINE_THICKNESS = 0.012
#: Ruled lines are traced on the ink darker than this fraction of the threshold.
FAINT_LINE = 0.5
#: The steepest ruled line looked for, in rows per column (about 10 degrees).
LINE_TILT = 0.18
#: How much of the picture's width a ruled line's thin pixels cover (it may be broken).
LINE_THIN = 0.4
#: How much of the width the line holds ink across: its own, or ink it runs into (a
#: digit's stroke, the desk beyond the paper's edge).
LINE_SPAN = 0.9
#: A ruled line reaches the picture's sides: it holds ink within this fraction of the
#: width from each (a digit's long stroke stops short of the sides).
LINE_END = 0.03

ImageSource = str | os.PathLike[str] | BinaryIO

# ITU-R 601-2 luma weights, as Pillow's RGB -> L conversion.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# Pillow modes with an alpha channel.
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
# The paper's brightness is estimated on a copy shrunk to about this longer side.
_BACKGROUND_SIZE = 128
# The EXIF tag saying how to turn the stored pixels upright (1: they are).
_ORIENTATION = 0x0112


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


@dataclass(frozen=True)
class Preprocessed:
    """What preprocessing made of one picture.

    ``gray``: the decoded picture, float32 in [0, 1] (0 black), EXIF orientation applied
    and shrunk to :data:`MAX_WORKING_SIZE`; ``box``: the digit's crop in ``gray`` as
    (top, left, bottom, right), bottom and right exclusive; ``digit``: the MNIST-style
    ``uint8`` (28, 28) the network sees.
    """

    gray: np.ndarray
    box: tuple[int, int, int, int]
    digit: np.ndarray

    def shrunk(self, height: int) -> Preprocessed:
        """The same result with ``gray`` scaled to ``height`` rows (and ``box`` with it),
        to keep many results in memory for :func:`input_sheet`."""
        rows, cols = self.gray.shape
        if rows <= height:
            return self
        scale = height / rows
        gray = np.clip(_resize(self.gray, (max(1, round(cols * scale)), height)), 0.0, 1.0)
        box = tuple(round(v * scale) for v in self.box)
        return Preprocessed(gray=gray, box=box, digit=self.digit)  # type: ignore[arg-type]


def load_image_as_mnist(path: ImageSource) -> np.ndarray:
    """Read an image file (a path or a binary file object) and return the digit as
    MNIST-style ``uint8`` (28, 28), white on black."""
    return preprocess_image(path).digit


def preprocess_image(path: ImageSource) -> Preprocessed:
    """Read an image file and preprocess it (see the module doc), keeping the steps."""
    return preprocess_grayscale(load_grayscale(path), source=str(path))


def mnist_from_grayscale(gray: np.ndarray, source: str = "image") -> np.ndarray:
    """MNIST-style ``uint8`` (28, 28) from gray levels in [0, 1] of any size (see module doc).

    ``source`` names the image in errors. Raises :class:`ScratchCNNError` when no digit
    stands out from the background.
    """
    return preprocess_grayscale(gray, source).digit


# --- decoding -------------------------------------------------------------------------


def load_grayscale(path: ImageSource) -> np.ndarray:
    """Decode an image file to float32 gray levels in [0, 1] (0 black, 1 white).

    EXIF orientation is applied and transparent pixels are composited on white. Images
    larger than :data:`MAX_WORKING_SIZE` are shrunk (keeping the aspect ratio) first.
    Animated images, images too large to decode safely (Pillow's decompression-bomb
    limit) and truncated files are refused with a :class:`ScratchCNNError`.
    """
    image_module = require_pillow()
    from PIL import ImageOps, UnidentifiedImageError

    if isinstance(path, (str, os.PathLike)) and os.path.isdir(path):
        raise ScratchCNNError(message_key="error.image.folder", path=path)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that: refuse those too.
            warnings.simplefilter("error", image_module.DecompressionBombWarning)
            with image_module.open(path) as image:
                frames = getattr(image, "n_frames", 1)
                if frames > 1:
                    raise ScratchCNNError(message_key="images.frames", source=path, frames=frames)
                file_format = image.format
                image.draft("L", (MAX_WORKING_SIZE, MAX_WORKING_SIZE))
                if image.getexif().get(_ORIENTATION, 1) != 1:
                    image = ImageOps.exif_transpose(image)
                gray = _to_gray(image, file_format)
    except FileNotFoundError:
        raise ScratchCNNError(message_key="error.no_such_file", path=path) from None
    except UnidentifiedImageError:
        raise ScratchCNNError(message_key="error.image.unknown", path=path) from None
    except (image_module.DecompressionBombError, image_module.DecompressionBombWarning):
        limit = image_module.MAX_IMAGE_PIXELS
        raise ScratchCNNError(message_key="images.too_large", source=path, limit=limit) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        if "truncated" in str(exc) or isinstance(exc, EOFError):
            raise ScratchCNNError(message_key="images.truncated", source=path) from None
        raise ScratchCNNError(message_key="error.image.damaged", path=path, reason=exc) from None
    if max(gray.shape) > MAX_WORKING_SIZE:
        factor = MAX_WORKING_SIZE / max(gray.shape)
        size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
        gray = _resize(gray, size)
    return gray


def _to_gray(image: Any, file_format: str | None = None) -> np.ndarray:
    """Any Pillow image as float32 gray in [0, 1], transparency composited on white.

    32-bit integer pixels (mode ``I``) are 16-bit when they come from a PNG (older Pillow
    reads 16-bit gray PNGs so), else 8-bit unless some value exceeds 255.
    """
    mode = image.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float32)
        if mode.startswith("I;16") or (mode == "I" and file_format == "PNG"):
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
    red, green, blue = (rgba[..., channel].astype(np.float32) for channel in range(3))
    gray = (red * _LUMA[0] + green * _LUMA[1] + blue * _LUMA[2]) / np.float32(255)
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


# --- from gray levels to the digit ---------------------------------------------------


def preprocess_grayscale(gray: np.ndarray, source: str = "image") -> Preprocessed:
    """Steps 2-9 of the module doc on gray levels in [0, 1]; ``source`` names the image in
    errors. Raises :class:`ScratchCNNError` when no digit stands out from the paper."""
    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or min(gray.shape) == 0:
        raise ScratchCNNError(message_key="images.not_2d", source=source, shape=gray.shape)
    darkness = ink_darkness(gray)
    # Strokes are wider than a pixel, noise is not: the contrast is measured on 3x3 means.
    contrast = float(_mean_filter(darkness, 3).max())
    if contrast < MIN_CONTRAST:
        raise ScratchCNNError(
            f"{source}: no digit found: the image is blank (contrast {contrast:.3f})",
            hint="draw a dark digit on a light background or a light one on a dark background",
        )
    threshold = max(otsu_threshold(darkness), min(MIN_INK, contrast / 2))
    mask = darkness > threshold
    # Pale ruled lines are partly lighter than the threshold: they are traced on fainter ink.
    lines = ruled_lines(darkness > FAINT_LINE * threshold)
    mask &= ~lines
    digit_mask = _digit_components(mask)
    if not digit_mask.any():
        raise ScratchCNNError(message_key="images.no_ink", source=source)
    keep = _dilate(digit_mask, 2) & ~_dilate(lines, 1)
    ink = np.where(keep, darkness, np.float32(0))
    ink /= float(ink.max())
    ink[ink < NOISE_FLOOR] = 0.0
    rows, cols = _crop_to_ink(ink)
    digit = ink[rows, cols]
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
        raise ScratchCNNError(message_key="images.too_faint", source=source)
    digit /= peak
    box = (rows.start, cols.start, rows.stop, cols.stop)
    return Preprocessed(gray=gray, box=box, digit=_centre(digit))


def ink_darkness(gray: np.ndarray) -> np.ndarray:
    """How dark each pixel is against the paper around it, in [0, 1] (steps 2 and 3).

    The paper is made light (see :func:`_ink_is_light`), its brightness ``B`` estimated by a large-scale closing,
    and the darkness is ``1 - gray / B``: even light, shadows and gradients divide out.
    """
    gray = np.asarray(gray, dtype=np.float32)
    if _ink_is_light(gray):
        gray = 1.0 - gray
    paper = _paper_brightness(gray)
    return np.clip(1.0 - gray / paper, 0.0, 1.0).astype(np.float32)


def _ink_is_light(gray: np.ndarray) -> bool:
    """Whether the ink is lighter than the paper: the paper covers most of the picture, so
    it is the median gray level, and the ink the extreme (0.5% or 99.5% percentile) that
    lies further from it; ties (blank pictures) go by the median."""
    step = max(1, round((gray.size / 65536) ** 0.5))  # statistics of ~65k pixels
    low, middle, high = _percentiles(gray[::step, ::step], (0.5, 50, 99.5))
    if np.isclose(high - middle, middle - low, atol=1e-3):
        return float(middle) <= 0.5
    return high - middle > middle - low


def _percentiles(values: np.ndarray, percents: tuple[float, ...]) -> np.ndarray:
    """``np.percentile(values, percents)``, to rounding (linear interpolation between the order
    statistics at ``p / 100 * (n - 1)``) from one partial sort, without its overheads."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    positions = np.asarray(percents, dtype=np.float64) / 100 * (flat.size - 1)
    below = np.floor(positions).astype(np.intp)
    above = np.minimum(below + 1, flat.size - 1)
    ordered = np.partition(flat, np.union1d(below, above))
    low, high, fraction = ordered[below], ordered[above], positions - below
    # NumPy's interpolation, from whichever end is nearer.
    return np.where(
        fraction < 0.5, low + (high - low) * fraction, high - (high - low) * (1 - fraction)
    )


def _smooth_paper(small: np.ndarray, window: int) -> np.ndarray:
    """Closing then box mean over ``window`` of a shrunk image, past its edges by odd
    reflection; at least :data:`DARKEST_PAPER` of its maximum."""
    dilated = _filter(_extend(small, window), window, np.maximum)
    if dilated.min() == dilated.max():
        # Even paper (a drawing, a clean scan): every window holds the paper's level, so
        # the closing and its mean are that level; the two filters would change nothing.
        smooth = dilated[window:-window, window:-window]
    else:
        closed = _filter(dilated, window, np.minimum)
        smooth = _mean_filter(closed, window)[window:-window, window:-window]
    return np.maximum(smooth, max(DARKEST_PAPER * float(smooth.max()), 1e-3))


def _shrink(gray: np.ndarray) -> tuple[np.ndarray, int, int]:
    """``gray`` shrunk by block maxima to about ``_BACKGROUND_SIZE`` pixels: (small image,
    block side, odd window of :data:`BACKGROUND_WINDOW` of its longer side)."""
    height, width = gray.shape
    block = max(1, max(height, width) // _BACKGROUND_SIZE)
    padded = gray
    if height % block or width % block:
        padded = np.pad(gray, ((0, -height % block), (0, -width % block)), mode="edge")
    # A block's maximum, one strided slice at a time (a reduction over the reshaped
    # block axes would walk tiny inner loops and cost ten times more).
    rows = padded[0::block].copy()
    for offset in range(1, block):
        np.maximum(rows, padded[offset::block], out=rows)
    small = rows[:, 0::block].copy()
    for offset in range(1, block):
        np.maximum(small, rows[:, offset::block], out=small)
    window = max(3, round(BACKGROUND_WINDOW * max(small.shape)) | 1)
    return small.astype(np.float32, copy=False), block, window


def _extend(small: np.ndarray, window: int) -> np.ndarray:
    """``small`` continued past its edges by ``window`` pixels by odd reflection, so that
    filters see a linear gradient as linear up to the border."""
    return np.clip(np.pad(small, window, mode="reflect", reflect_type="odd"), 0.0, 1.0)


def _stretch(small: np.ndarray, block: int, shape: tuple[int, ...]) -> np.ndarray:
    """A shrunk image stretched back (bilinear) to ``shape``."""
    height, width = shape
    if block == 1:
        return small[:height, :width]
    return _resize(small, (small.shape[1] * block, small.shape[0] * block))[:height, :width]


def _paper_brightness(gray: np.ndarray) -> np.ndarray:
    """The paper's brightness under each pixel: a closing (max, then min filter) over a
    window of :data:`BACKGROUND_WINDOW` of the longer side, smoothed by a box filter.

    Computed on a copy shrunk by block maxima to about 128 pixels (a block maximum is
    itself a small max filter) and extended past its edges by odd reflection (gradients
    continue), then stretched back bilinearly. Kept at or above
    :data:`DARKEST_PAPER` of the brightest paper, so that large dark areas stay ink.
    """
    small, block, window = _shrink(gray)
    return _stretch(_smooth_paper(small, window), block, gray.shape)


def _filter(values: np.ndarray, window: int, combine: np.ufunc) -> np.ndarray:
    """Combine (``np.maximum``, ``np.minimum``, ``np.logical_or``, ``np.add``) the pixels of
    a ``window`` x ``window`` square around each pixel, separably (rows, then columns),
    edges repeated."""
    half = window // 2
    for axis in (0, 1):
        lines = np.moveaxis(values, axis, 0)
        # The lines along `axis`, with the first and last repeated `half` times each side.
        padded = np.empty((len(lines) + 2 * half, *lines.shape[1:]), dtype=values.dtype)
        padded[half : half + len(lines)] = lines
        padded[:half] = lines[:1]
        padded[half + len(lines) :] = lines[-1:]
        combined = _window_combine(padded, window, combine)[: len(lines)]
        values = np.ascontiguousarray(np.moveaxis(combined, 0, axis))
    return values


def _window_combine(values: np.ndarray, window: int, combine: np.ufunc) -> np.ndarray:
    """``combine`` of ``values[i : i + window]`` along the first axis, for every ``i``, in
    about log2(window) passes: a span of ``2w`` values combines two spans of ``w``. An
    idempotent ``combine`` (max, min, or) ends with two overlapping spans that cover the
    window; a sum adds the spans of ``window``'s binary digits, laid end to end.

    Two buffers take turns holding the spans: fresh arrays for every pass cost more in
    page faults than the passes themselves."""
    count = values.shape[0] - window + 1
    buffers = (np.empty_like(values), np.empty_like(values))
    span, width, turn = values, 1, 0
    total, start = None, 0
    while True:
        if combine is np.add and window & width:
            part = span[start : start + count]
            total = part.copy() if total is None else np.add(total, part, out=total)
            start += width
        if 2 * width > window:
            break
        out = buffers[turn][: len(span) - width]
        combine(span[:-width], span[width:], out=out)
        span, width, turn = out, 2 * width, 1 - turn
    if total is not None:
        return total
    tail = window - width
    return combine(span[:count], span[tail : tail + count], out=buffers[turn][:count])


def _mean_filter(values: np.ndarray, window: int) -> np.ndarray:
    """The mean over a ``window`` x ``window`` square around each pixel, edges repeated."""
    return _filter(values.astype(np.float32), window, np.add) / np.float32(window * window)


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of values in [0, 1]: the level ``t`` that maximises the
    between-class variance ``w0 w1 (m0 - m1)^2`` of the two classes it makes."""
    bin_of = np.clip((np.asarray(values).ravel() * bins).astype(np.intp), 0, bins - 1)
    counts = np.bincount(bin_of, minlength=bins)
    edges = np.linspace(0.0, 1.0, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    weight0 = np.cumsum(counts, dtype=np.float64)
    weight1 = weight0[-1] - weight0
    mass0 = np.cumsum(counts * centres)
    mean0 = mass0 / np.maximum(weight0, 1)
    mean1 = (mass0[-1] - mass0) / np.maximum(weight1, 1)
    between = weight0 * weight1 * (mean0 - mean1) ** 2
    return float(edges[int(np.argmax(between)) + 1])


# --- connected components and morphology ---------------------------------------------


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Label the 8-connected components of a boolean image: ``(labels, count)``, labels
    ``int32`` with 0 for background and 1..count for the components.

    Works on runs of ``True`` along the rows: runs in neighbouring rows that touch
    (diagonally included) are joined by union-find, hooking roots onto the smaller root
    and halving paths until every pair of touching runs shares its root.
    """
    mask = np.asarray(mask, dtype=bool)
    run_of = _runs(mask)
    n_runs = int(run_of.max())
    if n_runs == 0:
        return np.zeros(mask.shape, dtype=np.int32), 0
    upper, lower = run_of[:-1], run_of[1:]
    pairs = [
        (upper, lower),
        (upper[:, 1:], lower[:, :-1]),
        (upper[:, :-1], lower[:, 1:]),
    ]
    touching = [((a > 0) & (b > 0), a, b) for a, b in pairs]
    keys = np.concatenate(
        [a[both].astype(np.int64) * (n_runs + 1) + b[both] for both, a, b in touching]
    )
    keys = np.unique(keys)
    first, second = keys // (n_runs + 1), keys % (n_runs + 1)
    parent = np.arange(n_runs + 1)
    while True:
        root_a, root_b = parent[first], parent[second]
        if np.array_equal(root_a, root_b):
            break
        low = np.minimum(root_a, root_b)
        np.minimum.at(parent, root_a, low)
        np.minimum.at(parent, root_b, low)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    roots, component = np.unique(parent[1:], return_inverse=True)
    component_of_run = np.concatenate([[0], component.ravel() + 1]).astype(np.int32)
    return component_of_run[run_of], len(roots)


def _runs(mask: np.ndarray) -> np.ndarray:
    """Number each run of ``True`` along the rows 1, 2, ... (0 outside runs)."""
    height, width = mask.shape
    padded = np.zeros((height, width + 1), dtype=bool)
    padded[:, :width] = mask  # a False column ends every row's last run
    flat = padded.ravel()
    starts = flat.copy()
    starts[1:] &= ~flat[:-1]
    run_of = np.cumsum(starts, dtype=np.int32)
    run_of[~flat] = 0
    return run_of.reshape(height, width + 1)[:, :width]


def _run_lengths(mask: np.ndarray) -> np.ndarray:
    """For each ``True`` pixel, the length of the run along its row it belongs to."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask  # a False column each side starts and ends every run
    steps = np.diff(padded.ravel())
    starts, stops = np.flatnonzero(steps == 1), np.flatnonzero(steps == -1)
    lengths = np.zeros(mask.shape, dtype=np.intp)
    lengths[mask] = np.repeat(stops - starts, stops - starts)
    return lengths


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grow a boolean image by ``radius`` pixels (a square structuring element)."""
    if radius <= 0 or not mask.any():
        return mask.copy()
    return _filter(mask, 2 * radius + 1, np.logical_or)


def ruled_lines(mask: np.ndarray) -> np.ndarray:
    """The pixels of ``mask`` that belong to ruled lines, horizontal or vertical.

    A ruled line is thin (at most :data:`LINE_THICKNESS` of the shorter side across, but
    longer along), straight, and crosses the picture. The lines of a page are parallel:
    their common slope (up to :data:`LINE_TILT`) is the one along which the thin pixels
    pile up most; each band of offsets along it whose thin pixels cover
    :data:`LINE_THIN` of the width is a line, refitted on its own pixels, and kept when it
    crosses the picture (:data:`LINE_SPAN`, :data:`LINE_END`). The line may be broken
    (faint, or cut by a digit or a shadow): it is found by its position, not by a
    connected piece. Where a digit's stroke crosses the line the stroke is thick, so it
    stays.
    """
    thickest = _line_thickness(mask)
    return _horizontal_lines(mask, thickest) | _horizontal_lines(mask.T, thickest).T


def _line_thickness(mask: np.ndarray) -> int:
    """The thickest a ruled line may be in this picture, in pixels."""
    return max(3, round(LINE_THICKNESS * min(mask.shape)))


def _horizontal_lines(mask: np.ndarray, thickest: int) -> np.ndarray:
    """The ruled lines of :func:`ruled_lines` that run along the rows of ``mask``."""
    width = mask.shape[1]
    # Thin across (vertical run) but long along (horizontal run): a crossing vertical line
    # (a margin) does not join the horizontal ones.
    thin = mask & (_run_lengths(mask.T).T <= thickest) & (_run_lengths(mask) > thickest)
    lines = np.zeros_like(mask)
    rows, cols = np.nonzero(thin)
    if len(rows) < LINE_THIN * width:
        return lines
    slope = _dominant_slope(rows, cols, width)
    offsets = np.rint(rows - slope * cols).astype(np.intp)
    offsets -= offsets.min()
    # Which columns hold thin ink in each band of `thickest` offsets along that slope.
    occupied = np.zeros((int(offsets.max()) + thickest, width), dtype=bool)
    occupied[offsets, cols] = True
    band = occupied.copy()
    for shift in range(1, thickest):
        band[:-shift] |= occupied[shift:]
    candidate = np.concatenate([[False], band.sum(axis=1) >= LINE_THIN * width, [False]])
    starts = np.flatnonzero(candidate[1:] & ~candidate[:-1])
    stops = np.flatnonzero(~candidate[1:] & candidate[:-1])
    half = thickest / 2 + 1
    for start, stop in zip(starts, stops):
        mine = (offsets >= start) & (offsets < stop + thickest - 1)
        line_slope, intercept = np.polyfit(cols[mine], rows[mine], 1)
        distance = np.abs(rows - (line_slope * cols + intercept))
        # As wide as the line's own pixels lie from its centre (a few strays aside).
        reach = min(half, float(np.quantile(distance[mine], 0.95)) + 0.5)
        along = distance <= reach
        if _crosses(mask, line_slope, intercept, reach):
            lines[rows[along], cols[along]] = True
    return lines


def _dominant_slope(rows: np.ndarray, cols: np.ndarray, width: int) -> float:
    """The slope (rows per column, at most :data:`LINE_TILT`) along which the points
    (``rows``, ``cols``) pile up most: the one whose offsets ``row - slope * col`` have the
    peakiest histogram (largest sum of squared counts). Searched coarse (4-pixel bins,
    slopes 4/width apart), then fine (1-pixel bins, slopes 1/width apart: the offset moves
    by at most a pixel across the picture)."""

    def peakiness(slope: float, bin_size: int) -> float:
        offsets = rows - slope * cols
        bins = np.floor((offsets - offsets.min()) / bin_size).astype(np.intp)
        counts = np.bincount(bins)
        return float(counts @ counts)

    step = 1.0 / width
    coarse = np.arange(-LINE_TILT, LINE_TILT + step, 4 * step)
    best = coarse[np.argmax([peakiness(s, 4) for s in coarse])]
    fine = best + step * np.arange(-4, 5)
    return float(fine[np.argmax([peakiness(s, 1) for s in fine])])


def _crosses(mask: np.ndarray, slope: float, intercept: float, half: float) -> bool:
    """Whether the band of ``half`` rows either side of the line ``row = slope * col +
    intercept`` crosses the picture: it holds ink (the line's own, or ink it runs into:
    strokes, the desk beyond the paper) in :data:`LINE_SPAN` of the columns, and its
    first and last :data:`LINE_END` of the columns are not blank. Where the line leaves the
    picture through the top or bottom, it counts as continuing."""
    height, width = mask.shape
    cols = np.arange(width)
    centre = slope * cols + intercept
    reach = int(np.ceil(half))
    inked = np.zeros(width, dtype=bool)
    inside = np.zeros(width, dtype=bool)
    for shift in range(-reach, reach + 1):
        row = np.rint(centre + shift).astype(np.intp)
        ok = (row >= 0) & (row < height)
        inside |= ok
        inked[ok] |= mask[row[ok], cols[ok]]
    inked |= ~inside
    end = max(1, round(LINE_END * width))
    return bool(inked.mean() >= LINE_SPAN and inked[:end].any() and inked[-end:].any())


def _digit_components(mask: np.ndarray) -> np.ndarray:
    """The components of ``mask`` that make the digit (step 6 of the module doc)."""
    labels, count = label_components(mask)
    if count == 0:
        return mask
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    candidates = np.ones(count + 1, dtype=bool)
    candidates[0] = False
    on_border = np.zeros(count + 1, dtype=bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        on_border[edge] = True
    if (candidates & ~on_border).any():
        candidates &= ~on_border
    # Pieces of ruled lines left over are thin: at most _line_thickness() across (the
    # shorter of a pixel's horizontal and vertical runs) for most of their pixels.
    across = np.minimum(_run_lengths(mask), _run_lengths(mask.T).T)
    thick = np.bincount(labels.ravel(), weights=(across > _line_thickness(mask)).ravel())
    thick = thick >= 0.5 * np.maximum(areas, 1)
    # In small pictures strokes are as thin as lines: the test is for photos only.
    photo = min(mask.shape) * LINE_THICKNESS >= 3
    if photo and (candidates & thick).any():
        candidates &= thick
    return (candidates & (areas >= MIN_PART * areas[candidates].max()))[labels]


def _crop_to_ink(ink: np.ndarray) -> tuple[slice, slice]:
    """The ink's bounding box, leaving out up to :data:`STRAY_INK` of the ink on each side."""
    rows = _span(ink.sum(axis=1, dtype=np.float64))
    cols = _span(ink.sum(axis=0, dtype=np.float64))
    return rows, cols


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


# --- showing what the network saw ----------------------------------------------------


def input_sheet(results: list[Preprocessed], row_height: int = 112) -> Any:
    """A Pillow RGB image with one row per picture: the picture (gray, as decoded) with the
    digit's crop outlined in red, then the 28x28 input enlarged to ``row_height``."""
    image_module = require_pillow()
    from PIL import ImageDraw

    gap = 8
    photos = []
    for result in results:
        height, width = result.gray.shape
        scale = row_height / height
        top, left, bottom, right = result.box
        size = (max(1, round(width * scale)), row_height)
        photo = image_module.fromarray(np.rint(result.gray * 255).astype(np.uint8)).convert("RGB")
        photo = photo.resize(size, image_module.Resampling.BILINEAR)
        box = [left * scale, top * scale, right * scale - 1, bottom * scale - 1]
        ImageDraw.Draw(photo).rectangle(box, outline=(220, 30, 30), width=2)
        photos.append(photo)
    photo_width = max((p.width for p in photos), default=row_height)
    sheet = image_module.new(
        "RGB",
        (photo_width + row_height + 3 * gap, len(results) * (row_height + gap) + gap),
        (255, 255, 255),
    )
    for i, (result, photo) in enumerate(zip(results, photos)):
        y = gap + i * (row_height + gap)
        sheet.paste(photo, (gap, y))
        seen = image_module.fromarray(result.digit).resize(
            (row_height, row_height), image_module.Resampling.NEAREST
        )
        sheet.paste(seen.convert("RGB"), (photo_width + 2 * gap, y))
    return sheet
