"""Photo-like pictures of handwritten digits: MNIST digits as a phone would see them on paper.

Each picture is drawn from one 28x28 digit and a seeded random generator, so the same seed
gives the same pictures (JPEG bytes) on every machine with the same Pillow:

- the digit, enlarged to 30-50% of the picture's height (strokes stay as thick as MNIST's,
  relative to the digit), written in black or blue ink, off-centre;
- grey, slightly tinted paper with grain; ruled lines on half the pages (thin, pale blue,
  crossing the page) and sometimes a red margin line;
- the whole sheet turned by up to 6 degrees;
- uneven light (a gradient and a bright spot), a soft shadow band along an edge or across
  a corner, sometimes the dark desk beyond the paper's edge;
- sensor noise and JPEG compression (quality 55-90);
- for a third of the pictures, the pixels stored sideways or upside down with the EXIF
  orientation tag that turns them upright, as phones do.

Every effect keeps the digit readable by a person: the ink absorbs at least two thirds of
the light falling on it, and the shadows and light gradient together leave the paper at
least 38% of its brightest. Used by the tests and ``benchmarks/bench_photos.py`` to check that
:mod:`scratchcnn.images` reads photos of paper; needs Pillow (``scratchcnn[images]``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scratchcnn.images import require_pillow

__all__ = ["EXIF_ORIENTATION", "Photo", "make_photo", "make_photos"]

#: EXIF tag 0x0112: how to turn the stored pixels upright.
EXIF_ORIENTATION = 0x0112

# Ink colours (RGB, 0..1): how much of each channel the ink lets through.
_INKS = {"black": (0.12, 0.12, 0.14), "blue": (0.12, 0.18, 0.55)}
# Stored orientation -> (how the upright picture is turned for storage, EXIF tag value).
_STORED = {"rotated-left": (90, 6), "rotated-right": (270, 8), "upside-down": (180, 3)}


@dataclass(frozen=True)
class Photo:
    """One picture: ``jpeg`` bytes, the digit's ``label``, its ``index`` in the source
    images, and the ``effects`` drawn (names and values, for reports and debugging)."""

    jpeg: bytes
    label: int
    index: int
    effects: dict[str, Any] = field(default_factory=dict)


def make_photos(images: np.ndarray, labels: np.ndarray, count: int, seed: int = 0) -> list[Photo]:
    """``count`` photos of digits picked at random from ``images`` (N, 28, 28) ``uint8``.

    Photo ``i`` depends only on ``seed`` and ``i``, so a longer list starts with the same
    photos as a shorter one.
    """
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[..., 0]
    picks = np.random.default_rng(seed).permutation(len(images))[:count]
    photos = []
    for i, index in enumerate(picks):
        jpeg, effects = make_photo(images[index], np.random.default_rng([seed, i]))
        photos.append(Photo(jpeg, int(labels[index]), int(index), effects))
    return photos


def make_photo(digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, dict[str, Any]]:
    """One photo-like JPEG of a 28x28 ``uint8`` digit (white on black); returns its bytes
    and the effects drawn."""
    image_module = require_pillow()
    portrait = rng.random() < 0.5
    long_side = int(rng.integers(560, 900))
    width, height = (
        (round(long_side * 0.75), long_side) if portrait else (long_side, round(long_side * 0.75))
    )
    effects: dict[str, Any] = {"size": (width, height)}

    # The sheet, drawn larger than the picture so that turning it leaves no empty corners.
    margin = round(0.1 * max(width, height))
    sheet_w, sheet_h = width + 2 * margin, height + 2 * margin
    paper_level = rng.uniform(0.62, 0.85)
    tint = 1.0 + rng.uniform(-0.04, 0.04, size=3)
    grain = 0.015 * rng.standard_normal((sheet_h, sheet_w), dtype=np.float32)
    paper = (paper_level * tint).astype(np.float32) * (1 + grain[..., None])
    transmit = np.ones((sheet_h, sheet_w, 3), dtype=np.float32)

    if rng.random() < 0.5:
        spacing = rng.uniform(0.1, 0.16) * height
        thickness = int(rng.integers(2, 4))
        first = rng.uniform(0, spacing)
        line_colour = np.array([0.62, 0.72, 0.92], dtype=np.float32)
        for y in np.arange(first, sheet_h, spacing):
            row = int(y)
            transmit[row : row + thickness] *= line_colour
        effects["ruled_lines"] = round(float(spacing), 1)
        if rng.random() < 0.3:
            x = margin + int(rng.uniform(0.04, 0.12) * width)
            transmit[:, x : x + thickness] *= np.array([0.95, 0.55, 0.55], dtype=np.float32)
            effects["margin_line"] = True

    digit_height = round(rng.uniform(0.3, 0.5) * height)
    ink_name = "blue" if rng.random() < 0.5 else "black"
    effects["ink"] = ink_name
    glyph = image_module.fromarray(np.asarray(digit, dtype=np.uint8)).resize(
        (digit_height, digit_height), image_module.Resampling.BICUBIC
    )
    alpha = np.clip(np.asarray(glyph, dtype=np.float32) / 255 * rng.uniform(1.0, 1.3), 0, 1)
    # Off-centre, but the digit's 28x28 frame stays inside the picture with room to turn.
    room_x = (width - digit_height) / 2 - 0.06 * width
    room_y = (height - digit_height) / 2 - 0.06 * height
    dx, dy = rng.uniform(-1, 1) * room_x, rng.uniform(-1, 1) * room_y
    effects["offset"] = (round(float(dx)), round(float(dy)))
    top = round(sheet_h / 2 + dy - digit_height / 2)
    left = round(sheet_w / 2 + dx - digit_height / 2)
    ink = np.array(_INKS[ink_name], dtype=np.float32)
    patch = transmit[top : top + digit_height, left : left + digit_height]
    patch *= 1 - alpha[..., None] * (1 - ink)

    angle = float(rng.uniform(-6, 6))
    effects["rotation"] = round(angle, 1)
    scene = paper * transmit
    channels = [
        image_module.fromarray(np.ascontiguousarray(scene[..., c])).rotate(
            angle, resample=image_module.Resampling.BILINEAR, fillcolor=float(paper_level)
        )
        for c in range(3)
    ]
    scene = np.stack([np.asarray(ch, dtype=np.float32) for ch in channels], axis=-1)
    scene = scene[margin : margin + height, margin : margin + width]

    light = _uneven_light(width, height, rng)
    kind = rng.choice(["edge", "corner", "none"], p=[0.4, 0.35, 0.25])
    if kind != "none":
        light *= _shadow(width, height, str(kind), rng)
        effects["shadow"] = str(kind)
    scene = scene * light[..., None]
    if rng.random() < 0.3:
        scene = _desk_edge(scene, rng)
        effects["desk_edge"] = True
    scene += rng.uniform(0.008, 0.02) * rng.standard_normal(scene.shape, dtype=np.float32)
    picture = image_module.fromarray(np.rint(np.clip(scene, 0, 1) * 255).astype(np.uint8), "RGB")

    exif = image_module.Exif()
    if rng.random() < 1 / 3:
        stored = str(rng.choice(sorted(_STORED)))
        turn, tag = _STORED[stored]
        picture = picture.rotate(turn, expand=True)
        exif[EXIF_ORIENTATION] = tag
        effects["stored"] = stored
    quality = int(rng.integers(55, 91))
    effects["jpeg_quality"] = quality
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality, exif=exif)
    return buffer.getvalue(), effects


def _uneven_light(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A light falling off linearly in a random direction, plus a soft bright spot:
    values in [0.7, 1]."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    rows, cols = rows / height, cols / width
    direction = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(direction) * (cols - 0.5) + np.sin(direction) * (rows - 0.5)
    spot_r, spot_c = rng.uniform(0, 1, size=2)
    spot = np.exp(-((rows - spot_r) ** 2 + (cols - spot_c) ** 2) / (2 * 0.3**2))
    light = 1 + rng.uniform(0.15, 0.35) * ramp + rng.uniform(0.0, 0.15) * spot
    lo, hi = float(light.min()), float(light.max())
    return (0.7 + 0.3 * (light - lo) / max(hi - lo, 1e-6)).astype(np.float32)


def _shadow(width: int, height: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """A soft shadow (a hand or the phone): a band along one edge or a disc over a corner,
    dimming the light to 55-75% with an edge blurred over 2-5% of the picture."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    softness = rng.uniform(0.02, 0.05) * min(width, height)
    if kind == "edge":
        side = rng.integers(4)
        extent = rng.uniform(0.08, 0.2)
        tilt = rng.uniform(-0.15, 0.15)
        if side < 2:  # top or bottom
            reach = extent * height + tilt * (cols - width / 2)
            inside = reach - (rows if side == 0 else height - 1 - rows)
        else:  # left or right
            reach = extent * width + tilt * (rows - height / 2)
            inside = reach - (cols if side == 2 else width - 1 - cols)
    else:
        corner_r = 0 if rng.random() < 0.5 else height - 1
        corner_c = 0 if rng.random() < 0.5 else width - 1
        radius = rng.uniform(0.2, 0.35) * min(width, height)
        inside = radius - np.hypot(rows - corner_r, cols - corner_c)
    depth = rng.uniform(0.25, 0.45)
    shade = 1 / (1 + np.exp(-inside / softness))
    return (1 - depth * shade).astype(np.float32)


def _desk_edge(scene: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The dark desk beyond the paper's edge along one side, 4-10% of the picture."""
    height, width = scene.shape[:2]
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    side = rng.integers(4)
    extent = rng.uniform(0.04, 0.1)
    tilt = rng.uniform(-0.05, 0.05)
    if side < 2:
        edge = extent * height + tilt * (cols - width / 2)
        beyond = edge > (rows if side == 0 else height - 1 - rows)
    else:
        edge = extent * width + tilt * (rows - height / 2)
        beyond = edge > (cols if side == 2 else width - 1 - cols)
    desk = np.array([0.22, 0.17, 0.13], dtype=np.float32) * rng.uniform(0.6, 1.2)
    return np.where(beyond[..., None], desk, scene)
