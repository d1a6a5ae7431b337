"""Photos of digits on paper: each preprocessing stage on synthetic pictures, bad files,
and generated photo-like pictures read as their clean MNIST digit."""

from __future__ import annotations

import io
import struct
import zlib
from collections import deque
from pathlib import Path

import numpy as np
import pytest

from scratchcnn import datasets
from scratchcnn.errors import ScratchCNNError
from scratchcnn.images import (
    _extend,
    _filter,
    _mean_filter,
    _paper_brightness,
    _percentiles,
    _run_lengths,
    _shrink,
    ink_darkness,
    label_components,
    load_image_as_mnist,
    mnist_from_grayscale,
    otsu_threshold,
    preprocess_grayscale,
    ruled_lines,
)

Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")

from scratchcnn.synthetic_photos import EXIF_ORIENTATION, make_photo, make_photos  # noqa: E402


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64).ravel() - a.mean()
    b = b.astype(np.float64).ravel() - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    rows, cols = np.indices(image.shape)
    weights = image.astype(np.float64)
    return np.array([(rows * weights).sum(), (cols * weights).sum()]) / weights.sum()


def two_ink(width: int = 400, height: int = 300) -> np.ndarray:
    """A "2" drawn with a thick pen, ink level 1 on 0, in a ``height`` x ``width`` frame."""
    image = Image.new("L", (width, height), 0)
    pen = ImageDraw.Draw(image)
    x, y, size = width // 2 - 45, height // 2 - 70, 140
    pen.arc([x, y, x + 90, y + 80], start=180, end=20, fill=255, width=14)
    pen.line([(x + 86, y + 52), (x + 5, y + size)], fill=255, width=14)
    pen.line([(x + 5, y + size), (x + 95, y + size)], fill=255, width=14)
    return np.asarray(image, dtype=np.float32) / 255


@pytest.fixture(scope="module")
def clean_two() -> np.ndarray:
    """The preprocessing of the "2" alone, black on white paper."""
    return mnist_from_grayscale(1 - 0.85 * two_ink())


def photo_of(ink: np.ndarray, paper: np.ndarray, ink_level: float = 0.15) -> np.ndarray:
    """Gray levels of ``ink`` (0..1) written on ``paper`` (its brightness per pixel)."""
    return (paper * (1 - (1 - ink_level) * ink)).astype(np.float32)


# --- filters -------------------------------------------------------------------------


def sliding(values: np.ndarray, window: int, reduce) -> np.ndarray:
    """The window filter written out: edges repeated, every window reduced directly."""
    half = window // 2
    padded = np.pad(values, half, mode="edge")
    views = np.lib.stride_tricks.sliding_window_view(padded, (window, window))
    return reduce(views[: values.shape[0], : values.shape[1]], axis=(2, 3))


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (17, 40), (64, 31)])
@pytest.mark.parametrize("window", [1, 3, 5, 9, 33])
def test_window_filters_match_every_window_reduced_directly(shape, window) -> None:
    rng = np.random.default_rng(window)
    values = rng.random(shape).astype(np.float32)
    assert np.array_equal(_filter(values, window, np.maximum), sliding(values, window, np.max))
    assert np.array_equal(_filter(values, window, np.minimum), sliding(values, window, np.min))
    mask = values > 0.8
    assert np.array_equal(_filter(mask, window, np.logical_or), sliding(mask, window, np.any))
    # Sums of up to 33 x 33 float32 values in [0, 1], in a different order.
    np.testing.assert_allclose(
        _filter(values, window, np.add), sliding(values.astype(np.float64), window, np.sum),
        rtol=window * window * 2e-7, atol=1e-6,
    )


def test_run_lengths_match_counting_along_each_row() -> None:
    rng = np.random.default_rng(0)
    for shape, density in [((1, 1), 1.0), ((3, 9), 0.5), ((40, 70), 0.7), ((5, 8), 0.0)]:
        mask = rng.random(shape) < density
        expected = np.zeros(shape, dtype=int)
        for row in range(shape[0]):
            column = 0
            while column < shape[1]:
                end = column
                while end < shape[1] and mask[row, end]:
                    end += 1
                expected[row, column:end] = end - column
                column = max(end, column + 1)
        assert np.array_equal(_run_lengths(mask), expected)


def test_percentiles_match_numpy() -> None:
    rng = np.random.default_rng(1)
    for size in (1, 2, 7, 1000):
        values = rng.random(size).astype(np.float32)
        np.testing.assert_allclose(
            _percentiles(values, (0.5, 50, 99.5)),
            np.percentile(values, [0.5, 50, 99.5]),
            rtol=0, atol=1e-7,
        )


def test_even_paper_takes_the_short_way_to_the_same_brightness() -> None:
    """A drawing on paper of one level skips the closing's second filter and the mean:
    they would give that level back."""
    paper = 1.0 - 0.9 * two_ink(200, 180)  # dark ink on white
    small, block, window = _shrink(paper)
    extended = _extend(small, window)
    closed = _filter(_filter(extended, window, np.maximum), window, np.minimum)
    long_way = _mean_filter(closed, window)[window:-window, window:-window]
    assert block == 1 and np.ptp(_filter(extended, window, np.maximum)) == 0
    np.testing.assert_allclose(_paper_brightness(paper), long_way, rtol=1e-6)


# --- stages --------------------------------------------------------------------------


def test_labels_match_a_flood_fill() -> None:
    rng = np.random.default_rng(0)
    for density in (0.2, 0.45, 0.6):
        mask = rng.random((37, 53)) < density
        labels, count = label_components(mask)
        expected = np.zeros(mask.shape, dtype=int)
        found = 0
        for start in zip(*np.nonzero(mask)):
            if expected[start]:
                continue
            found += 1
            expected[start] = found
            queue = deque([start])
            while queue:
                r, c = queue.popleft()
                for dr in (-1, 0, 1):
                    for dc in (-1, 0, 1):
                        rr, cc = r + dr, c + dc
                        inside = 0 <= rr < mask.shape[0] and 0 <= cc < mask.shape[1]
                        if inside and mask[rr, cc] and not expected[rr, cc]:
                            expected[rr, cc] = found
                            queue.append((rr, cc))
        assert count == found
        assert ((labels > 0) == mask).all()
        # The same partition: labels map one-to-one onto the flood fill's.
        pairs = {(int(a), int(b)) for a, b in zip(labels[mask], expected[mask])}
        assert len(pairs) == found


def test_otsu_matches_the_between_class_variance_by_brute_force() -> None:
    rng = np.random.default_rng(1)
    values = np.clip(np.concatenate([rng.normal(0.1, 0.05, 5000), rng.normal(0.7, 0.1, 500)]), 0, 1)
    threshold = otsu_threshold(values)

    def between(t: float) -> float:
        low, high = values[values < t], values[values >= t]
        if not len(low) or not len(high):
            return 0.0
        return len(low) * len(high) * (low.mean() - high.mean()) ** 2

    candidates = np.linspace(0, 1, 257)
    best = candidates[int(np.argmax([between(t) for t in candidates]))]
    assert abs(threshold - best) <= 2 / 256
    assert 0.2 < threshold < 0.6


def test_uneven_light_is_divided_out(clean_two: np.ndarray) -> None:
    height, width = 300, 400
    # Light falls from 1.0 on the left to 0.4 on the right: one threshold on the gray
    # levels (Otsu's) takes much of the dim paper for ink; the darkness does not.
    light = np.linspace(1.0, 0.4, width, dtype=np.float32)[None, :].repeat(height, axis=0)
    ink = np.roll(two_ink(), -120, axis=1)
    gray = photo_of(ink, light, ink_level=0.3)
    assert (gray < otsu_threshold(gray))[ink == 0].mean() > 0.1
    darkness = ink_darkness(gray)
    assert darkness[ink > 0.9].min() > 0.6  # 1 - 0.3, less the interpolation's error
    assert darkness[ink == 0].max() < 0.1
    out = mnist_from_grayscale(gray)
    assert correlation(out, clean_two) > 0.95


@pytest.mark.parametrize("side", ["left", "bottom", "corner"])
def test_a_shadow_is_not_taken_for_the_digit(clean_two: np.ndarray, side: str) -> None:
    height, width = 300, 400
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    inside = {
        "left": 70 - cols,
        "bottom": rows - (height - 60),
        "corner": 110 - np.hypot(rows, cols - width),
    }[side]
    # A hard-edged dark shadow: its edge stays dark after flattening.
    light = 1 - 0.55 / (1 + np.exp(-np.clip(inside / 3, -50, 50)))
    gray = photo_of(two_ink(), light)
    result = preprocess_grayscale(gray)
    top, left, bottom, right = result.box
    assert 70 <= left and right <= 330 and 70 <= top and bottom <= 240
    assert correlation(result.digit, clean_two) > 0.95


def test_a_desk_beyond_the_paper_edge_is_left_out(clean_two: np.ndarray) -> None:
    paper = np.full((300, 400), 0.8, dtype=np.float32)
    gray = photo_of(two_ink(), paper)
    gray[:, 360:] = 0.12  # dark desk along the right edge
    gray[:25] = 0.1  # and along the top
    out = mnist_from_grayscale(gray)
    assert correlation(out, clean_two) > 0.95


def test_ruled_lines_are_removed(clean_two: np.ndarray) -> None:
    height, width = 300, 400
    lines = np.zeros((height, width), dtype=np.float32)
    cols = np.arange(width)
    for start in range(15, height, 38):  # tilted by about 2 degrees, 3 px thick
        rows = np.round(start + 0.035 * cols).astype(int)
        for dy in range(3):
            ok = rows + dy < height
            lines[rows[ok] + dy, cols[ok]] = 1
    ink = two_ink()
    paper = 0.85 * (1 - 0.45 * lines)
    gray = photo_of(ink, paper)
    mask = ink_darkness(gray) > 0.3
    found = ruled_lines(mask)
    assert found[(lines > 0) & (ink < 0.5)].mean() > 0.9  # the lines away from the digit
    assert not found[ink > 0.5].any()  # and none of the digit
    out = mnist_from_grayscale(gray)
    assert correlation(out, clean_two) > 0.93


def broken_lines(height: int, width: int, start: int, slope: float) -> np.ndarray:
    """Darkness of tilted 3 px ruled lines, 38 px apart from row ``start``, from column 30
    (the desk's edge) to the right border, in pieces of 60 px 4 px apart, each dark (0.45)
    for 40 px then pale (0.2) for 20: no unbroken piece is longer than 15% of the width."""
    lines = np.zeros((height, width), dtype=np.float32)
    cols = np.arange(30, width)
    phase = (cols - 30) % 64
    level = np.select([phase < 40, phase < 60], [0.45, 0.2], 0.0).astype(np.float32)
    for first in range(start, height, 38):
        rows = np.round(first + slope * cols).astype(int)
        for dy in range(3):
            ok = (rows + dy >= 0) & (rows + dy < height)
            lines[rows[ok] + dy, cols[ok]] = level[ok]
    return lines


def test_broken_lines_ending_at_the_desk_are_found_by_position(clean_two: np.ndarray) -> None:
    height, width = 300, 400
    lines = broken_lines(height, width, 20, -0.05)
    mask = lines > 0.1
    assert not ruled_lines(mask).any()  # ending short of the left side: not a ruled line
    mask[:, :30] = True  # unless it ends at the desk
    found = ruled_lines(mask)
    assert found[lines > 0].mean() > 0.95  # every piece, dark or pale
    ink = two_ink()
    paper = np.full((height, width), 0.85, dtype=np.float32) * (1 - lines)
    gray = photo_of(ink, paper)
    gray[:, :30] = 0.12  # the desk along the left edge: no line touches the border
    out = mnist_from_grayscale(gray)
    assert correlation(out, clean_two) > 0.93


def test_a_long_thin_stroke_is_no_ruled_line() -> None:
    # A "7" drawn with a thin pen: its bar crosses 80% of the canvas but not the sides.
    image = Image.new("L", (400, 300), 0)
    pen = ImageDraw.Draw(image)
    pen.line([(40, 60), (360, 66)], fill=255, width=3)
    pen.line([(360, 66), (200, 260)], fill=255, width=3)
    mask = np.asarray(image) > 127
    assert not ruled_lines(mask).any()
    # The same bar reaching both sides is a line, and the diagonal stroke stays.
    pen.line([(0, 59), (400, 67)], fill=255, width=3)
    mask = np.asarray(image) > 127
    found = ruled_lines(mask)
    assert found[:, :30].sum() >= 2 * 30 and found[150:].sum() == 0


def test_a_digit_drawn_across_a_ruled_line_keeps_its_stroke() -> None:
    gray = np.full((200, 300), 0.9, dtype=np.float32)
    gray[98:101, :] = 0.5  # a line across the page
    gray[40:160, 145:160] = 0.1  # a "1" crossing it
    out = mnist_from_grayscale(gray)
    rows = np.flatnonzero(out.max(axis=1) > 127)
    assert rows[-1] - rows[0] + 1 >= 19  # the whole stroke, not cut at the line
    cols = np.flatnonzero(out.max(axis=0) > 127)
    assert cols[-1] - cols[0] + 1 <= 4  # and no stub of the line beside it


def test_an_off_centre_digit_is_centred(clean_two: np.ndarray) -> None:
    page = np.zeros((900, 1200), dtype=np.float32)
    page[40:340, 820:1220][:, :380] = two_ink()[:, :380]  # near the top right corner
    out = mnist_from_grayscale(photo_of(page, np.full(page.shape, 0.75, dtype=np.float32)))
    assert np.abs(centre_of_mass(out) - 14).max() <= 0.75
    assert correlation(out, clean_two) > 0.95


@pytest.mark.parametrize(("stored", "tag"), [(90, 6), (270, 8), (180, 3)])
def test_exif_orientation_is_applied(tmp_path: Path, stored: int, tag: int) -> None:
    upright = Image.fromarray(np.rint((1 - 0.85 * two_ink()) * 255).astype(np.uint8))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = tag
    path = tmp_path / "phone.jpg"
    upright.rotate(stored, expand=True).save(path, quality=92, exif=exif)
    reference = tmp_path / "upright.jpg"
    upright.save(reference, quality=92)
    out, expected = load_image_as_mnist(path), load_image_as_mnist(reference)
    assert correlation(out, expected) > 0.98


# --- bad files: one clear line each -------------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_decompression_bomb_is_refused(tmp_path: Path) -> None:
    # A valid PNG header announcing 100000 x 100000 pixels (10 gigapixels), no data.
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IEND", b""))
    with pytest.raises(ScratchCNNError, match="too large") as info:
        load_image_as_mnist(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_image_over_the_warning_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.png"
    Image.new("L", (300, 200), 255).save(path)
    # Between MAX_IMAGE_PIXELS and twice that, Pillow only warns: refused all the same.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40_000)
    with pytest.raises(ScratchCNNError, match="too large"):
        load_image_as_mnist(path)


def test_animated_gif_is_refused(tmp_path: Path) -> None:
    frames = [Image.new("L", (40, 40), level) for level in (0, 128, 255)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(ScratchCNNError, match="3 frames") as info:
        load_image_as_mnist(path)
    assert str(path) in str(info.value)


def test_cmyk_jpeg_is_converted(tmp_path: Path, clean_two: np.ndarray) -> None:
    rgb = Image.fromarray(np.rint((1 - 0.85 * two_ink()) * 255).astype(np.uint8)).convert("RGB")
    path = tmp_path / "print.jpg"
    rgb.convert("CMYK").save(path, quality=95)
    with Image.open(path) as reread:
        assert reread.mode == "CMYK"
    assert correlation(load_image_as_mnist(path), clean_two) > 0.98


def test_sixteen_bit_png_uses_its_whole_range(tmp_path: Path, clean_two: np.ndarray) -> None:
    levels = np.rint((1 - 0.85 * two_ink()) * 60000).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(levels).save(path)
    with Image.open(path) as reread:
        assert reread.mode.startswith("I")
    assert correlation(load_image_as_mnist(path), clean_two) > 0.98


def test_truncated_jpeg_says_so(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    jpeg, _ = make_photo(datasets.load("mnist-sample", "test")[0][0], np.random.default_rng(0))
    path.write_bytes(jpeg[: len(jpeg) // 2])
    with pytest.raises(ScratchCNNError, match="truncated") as info:
        load_image_as_mnist(path)
    assert str(path) in str(info.value)


def test_empty_page_photo_has_no_digit(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    height, width = 600, 800
    light = np.linspace(1.0, 0.6, width, dtype=np.float32)[None, :] * np.ones((height, 1))
    gray = 0.8 * light * (1 + 0.015 * rng.standard_normal((height, width)))
    path = tmp_path / "blank.jpg"
    Image.fromarray(np.rint(np.clip(gray, 0, 1) * 255).astype(np.uint8)).save(path, quality=60)
    with pytest.raises(ScratchCNNError, match="no digit found") as info:
        load_image_as_mnist(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


# --- generated photos ---------------------------------------------------------------


@pytest.fixture(scope="module")
def photos():
    images, labels = datasets.load("mnist-sample", "test")
    return images, make_photos(images, labels, 6, seed=1)


def test_generated_photos_are_deterministic(photos) -> None:
    images, made = photos
    again = make_photos(images, np.zeros(len(images), dtype=int), 2, seed=1)
    assert [p.jpeg for p in again] == [p.jpeg for p in made[:2]]
    effects = set().union(*(p.effects for p in made))
    assert {"ruled_lines", "shadow", "stored", "desk_edge"} <= effects
    assert {p.effects["ink"] for p in made} == {"black", "blue"}


def test_generated_photos_read_as_their_clean_digit(photos) -> None:
    """Each photo's 28x28 matches the preprocessing of its own MNIST digit better than any
    other photo's digit, and closely (the photo is turned by up to 6 degrees)."""
    images, made = photos
    clean = [mnist_from_grayscale(images[p.index].squeeze() / 255) for p in made]
    for i, photo in enumerate(made):
        out = load_image_as_mnist(io.BytesIO(photo.jpeg))
        scores = [correlation(out, reference) for reference in clean]
        assert scores[i] > 0.7, (i, photo.effects, scores[i])
        assert int(np.argmax(scores)) == i, (i, photo.effects, scores)
