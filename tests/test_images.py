"""MNIST-style preprocessing of digit pictures drawn in the tests."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from scratchcnn import datasets
from scratchcnn.errors import ScratchCNNError
from scratchcnn.images import load_image_as_mnist, mnist_from_grayscale

Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")


def draw_one(size: tuple[int, int] = (120, 200), ink: str = "black", paper: str = "white"):
    """A thick vertical "1" with a flag, drawn on an RGB canvas of ``size`` (width, height)."""
    width, height = size
    image = Image.new("RGB", size, paper)
    draw = ImageDraw.Draw(image)
    x = width // 2
    draw.line([(x, height * 0.15), (x, height * 0.85)], fill=ink, width=max(2, width // 8))
    draw.line([(x, height * 0.15), (x - width * 0.2, height * 0.3)], fill=ink, width=width // 10)
    return image


def draw_seven(size: tuple[int, int] = (120, 200), ink: str = "black", paper: str = "white"):
    """A thick "7": a bar on top and a diagonal down to the bottom left."""
    width, height = size
    image = Image.new("RGB", size, paper)
    draw = ImageDraw.Draw(image)
    stroke = max(2, width // 8)
    top_left, top_right = (width * 0.2, height * 0.2), (width * 0.8, height * 0.2)
    draw.line([top_left, top_right], fill=ink, width=stroke)
    draw.line([top_right, (width * 0.4, height * 0.8)], fill=ink, width=stroke)
    return image


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    weights = image.astype(np.float64)
    rows, cols = np.indices(image.shape)
    return np.array([(rows * weights).sum(), (cols * weights).sum()]) / weights.sum()


def ink_box(image: np.ndarray, level: int = 0) -> tuple[int, int, int, int]:
    rows = np.flatnonzero((image > level).any(axis=1))
    cols = np.flatnonzero((image > level).any(axis=0))
    return rows[0], rows[-1], cols[0], cols[-1]


def assert_mnist_like(image: np.ndarray, central: bool = True) -> None:
    """28x28 uint8, dark background, digit fitting 20x20, centre of mass at (14, 14).

    With ``central``, the digit lies in rows and columns 4..24: the central 20x20 box
    shifted by up to one pixel, as centring the mass on pixel 14 (not 13.5) may do.
    """
    assert image.dtype == np.uint8 and image.shape == (28, 28)
    assert image.max() == 255
    top, bottom, left, right = ink_box(image)
    assert max(bottom - top + 1, right - left + 1) == 20
    if central:
        assert top >= 4 and left >= 4 and bottom <= 24 and right <= 24
    assert np.abs(centre_of_mass(image) - 14.0).max() <= 1.0
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    assert border.max() == 0


def save(image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


@pytest.fixture
def one_reference(tmp_path: Path) -> np.ndarray:
    return load_image_as_mnist(save(draw_one(), tmp_path / "one.png"))


def test_black_on_white_rgb_png(one_reference: np.ndarray) -> None:
    assert_mnist_like(one_reference)
    top, bottom, left, right = ink_box(one_reference)
    assert bottom - top + 1 == 20
    assert right - left + 1 < 12
    assert one_reference[14, 10:19].max() == 255


def test_seven_is_centred_by_mass_not_by_box(tmp_path: Path) -> None:
    seven = load_image_as_mnist(save(draw_seven(), tmp_path / "seven.png"))
    assert_mnist_like(seven, central=False)
    top, bottom, left, right = ink_box(seven)
    assert 0 <= top and bottom <= 27 and 0 <= left and right <= 27
    box_centre = np.array([(top + bottom) / 2, (left + right) / 2])
    assert np.abs(box_centre - 13.5).max() >= 1.0
    assert np.abs(centre_of_mass(seven) - 14.0).max() <= 0.6


def test_white_on_black_grayscale(tmp_path: Path, one_reference: np.ndarray) -> None:
    image = draw_one(ink="white", paper="black").convert("L")
    out = load_image_as_mnist(save(image, tmp_path / "inverse.png"))
    assert_mnist_like(out)
    assert np.abs(out.astype(int) - one_reference).max() <= 2


def test_rgba_with_transparent_background(tmp_path: Path, one_reference: np.ndarray) -> None:
    rgb = np.asarray(draw_one())
    alpha = 255 - rgb[..., 0]
    colours = np.zeros_like(rgb)
    rgba = Image.fromarray(np.dstack([colours, alpha]).astype(np.uint8), "RGBA")
    out = load_image_as_mnist(save(rgba, tmp_path / "transparent.png"))
    assert_mnist_like(out)
    assert np.abs(out.astype(int) - one_reference).max() <= 2


def test_jpeg(tmp_path: Path, one_reference: np.ndarray) -> None:
    out = load_image_as_mnist(save(draw_one(), tmp_path / "one.jpg", quality=70))
    assert_mnist_like(out)
    assert np.abs(out.astype(int) - one_reference).mean() < 4


def test_jpeg_exif_orientation_is_applied(tmp_path: Path, one_reference: np.ndarray) -> None:
    lying = draw_one().transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    out = load_image_as_mnist(save(lying, tmp_path / "phone.jpg", quality=90, exif=exif))
    top, bottom, left, right = ink_box(out, level=127)
    assert bottom - top > 2 * (right - left)
    assert np.abs(out.astype(int) - one_reference).mean() < 4


@pytest.mark.parametrize("mode", ["P", "L", "1", "LA", "CMYK"])
def test_other_pillow_modes(tmp_path: Path, one_reference: np.ndarray, mode: str) -> None:
    image = draw_one().convert(mode)
    suffix = ".tiff" if mode == "CMYK" else ".png"
    out = load_image_as_mnist(save(image, tmp_path / f"one{suffix}"))
    assert_mnist_like(out)
    assert np.abs(out.astype(int) - one_reference).mean() < 3


def test_palette_with_transparency(tmp_path: Path, one_reference: np.ndarray) -> None:
    image = draw_one().convert("P")
    white = image.getpixel((0, 0))
    image.info["transparency"] = white
    path = tmp_path / "palette.png"
    image.save(path, transparency=white)
    with Image.open(path) as reread:
        assert reread.mode == "P" and "transparency" in reread.info
    out = load_image_as_mnist(path)
    assert np.abs(out.astype(int) - one_reference).max() <= 2


def test_sixteen_bit_grayscale(tmp_path: Path, one_reference: np.ndarray) -> None:
    levels = np.asarray(draw_one().convert("L")).astype(np.uint16) * 257
    image = Image.fromarray(levels)
    path = save(image, tmp_path / "deep.png")
    with Image.open(path) as reread:
        assert reread.mode.startswith("I")
    out = load_image_as_mnist(path)
    assert np.abs(out.astype(int) - one_reference).max() <= 2


def test_position_size_and_contrast_do_not_matter(one_reference: np.ndarray) -> None:
    small = np.asarray(draw_one((60, 100)).convert("L"), dtype=np.float32) / 255
    canvas = np.full((400, 500), 0.7, dtype=np.float32)
    canvas[250:350, 30:90] = 0.7 - 0.35 * (1 - small)
    out = mnist_from_grayscale(canvas)
    assert_mnist_like(out)
    assert np.abs(out.astype(int) - one_reference).mean() < 4


def test_isolated_specks_are_ignored(one_reference: np.ndarray) -> None:
    gray = np.asarray(draw_one((240, 400)).convert("L"), dtype=np.float32) / 255
    for row, col in [(5, 5), (390, 230), (20, 200)]:
        gray[row : row + 2, col : col + 2] = 0.0
    out = mnist_from_grayscale(gray)
    assert_mnist_like(out)
    assert np.abs(out.astype(int) - one_reference).mean() < 3


def test_paper_noise_is_ignored(one_reference: np.ndarray) -> None:
    gray = np.asarray(draw_one().convert("L"), dtype=np.float32) / 255
    noisy = np.clip(gray * 0.8 + 0.1 + np.random.default_rng(0).normal(0, 0.03, gray.shape), 0, 1)
    out = mnist_from_grayscale(noisy)
    assert_mnist_like(out)
    assert np.abs(out.astype(int) - one_reference).mean() < 6


def test_top_heavy_digit_stays_whole_inside_the_frame() -> None:
    gray = np.ones((100, 100), dtype=np.float32)
    gray[0:30, 0:100] = 0.0
    gray[30:100, 48:52] = 0.0
    out = mnist_from_grayscale(gray)
    top, bottom, left, right = ink_box(out)
    assert bottom == 27 and bottom - top + 1 >= 19
    assert centre_of_mass(out)[0] < 13
    assert right - left + 1 == 20 and left in (4, 5)
    assert out[27].max() > 0


def test_wide_digit_keeps_its_aspect_ratio() -> None:
    gray = np.ones((50, 200), dtype=np.float32)
    gray[20:30, 10:190] = 0.0
    out = mnist_from_grayscale(gray)
    top, bottom, left, right = ink_box(out, level=127)
    assert right - left + 1 == 20
    assert 1 <= bottom - top + 1 <= 2


def test_output_matches_mnist_for_mnist_digits(tmp_path: Path) -> None:
    digits = datasets.load("mnist-sample", "test")[0][:40]
    outputs = []
    for i, digit in enumerate(digits):
        outputs.append(load_image_as_mnist(save(Image.fromarray(digit), tmp_path / f"{i}.png")))
    difference = np.abs(np.stack(outputs).astype(int) - digits)
    assert difference.mean() < 2.5
    centres = np.array([centre_of_mass(d) for d in outputs])
    assert np.abs(centres - 14).max() <= 0.75


@pytest.mark.parametrize("level", [255, 128, 0])
def test_blank_image_is_an_error(tmp_path: Path, level: int) -> None:
    path = save(Image.new("L", (64, 64), level), tmp_path / "blank.png")
    with pytest.raises(ScratchCNNError, match="no digit found") as info:
        load_image_as_mnist(path)
    assert str(path) in str(info.value)


def test_only_specks_is_an_error() -> None:
    gray = np.ones((300, 300), dtype=np.float32)
    gray[100:102, 100:102] = 0.0
    with pytest.raises(ScratchCNNError, match="no digit found") as info:
        mnist_from_grayscale(gray, source="specks.png")
    assert "specks.png" in str(info.value)


def test_faint_noise_alone_is_blank() -> None:
    gray = 0.9 + np.random.default_rng(0).normal(0, 0.01, (80, 80)).astype(np.float32)
    with pytest.raises(ScratchCNNError, match="blank"):
        mnist_from_grayscale(gray)


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "digit.png"
    path.write_text("not really a picture")
    with pytest.raises(ScratchCNNError, match="not an image") as info:
        load_image_as_mnist(path)
    assert str(path) in str(info.value)


def test_truncated_png(tmp_path: Path) -> None:
    path = save(draw_one(), tmp_path / "cut.png")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ScratchCNNError) as info:
        load_image_as_mnist(path)
    assert str(path) in str(info.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ScratchCNNError, match="no such file"):
        load_image_as_mnist(tmp_path / "absent.png")
    with pytest.raises(ScratchCNNError, match="folder"):
        load_image_as_mnist(tmp_path)


def test_missing_pillow_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save(draw_one(), tmp_path / "one.png")
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ScratchCNNError) as info:
        load_image_as_mnist(path)
    assert "pip install 'scratchcnn[images]'" in str(info.value)


def test_large_images_are_shrunk_first(tmp_path: Path, one_reference: np.ndarray) -> None:
    path = save(draw_one((1800, 3000)), tmp_path / "big.png")
    out = load_image_as_mnist(path)
    assert_mnist_like(out)
    assert np.abs(out.astype(int) - one_reference).mean() < 3
