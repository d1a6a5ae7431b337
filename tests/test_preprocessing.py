"""The pixel -> network-input mapping shared by training, evaluation and prediction."""

from __future__ import annotations

import numpy as np
import pytest

from scratchcnn.preprocessing import DEFAULT_PREPROCESSING, check_preprocessing, normalize


def pixels(shape: tuple[int, ...] = (3, 28, 28), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_default_maps_pixels_to_unit_range() -> None:
    images = pixels()
    x = normalize(images)
    assert x.shape == (3, 28, 28, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[..., 0], images / 255.0, rtol=1e-6)
    assert DEFAULT_PREPROCESSING == {"scale": 1 / 255, "mean": 0.0, "std": 1.0}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_formula_and_dtype(dtype: type) -> None:
    images = pixels()
    settings = {"scale": 1 / 255, "mean": 0.1307, "std": 0.3081}
    x = normalize(images, settings, dtype)
    assert x.dtype == np.dtype(dtype)
    expected = (images.astype(np.float64) / 255 - 0.1307) / 0.3081
    tolerance = 1e-6 if dtype is np.float32 else 1e-13
    np.testing.assert_allclose(x[..., 0], expected, rtol=tolerance, atol=tolerance)


def test_channels_and_per_channel_statistics() -> None:
    images = pixels((2, 4, 4, 3))
    settings = {"scale": 0.5, "mean": [1.0, 2.0, 3.0], "std": [1.0, 2.0, 4.0]}
    x = normalize(images, settings, np.float64)
    assert x.shape == (2, 4, 4, 3)
    for c, (mean, std) in enumerate([(1.0, 1.0), (2.0, 2.0), (3.0, 4.0)]):
        np.testing.assert_allclose(x[..., c], (images[..., c] * 0.5 - mean) / std)
    with pytest.raises(ValueError, match="3 values for images with 1 channels"):
        normalize(pixels(), settings)


def test_input_is_not_modified_and_results_repeat() -> None:
    images = pixels()
    copy = images.copy()
    first = normalize(images, {"mean": 0.5, "std": 0.25})
    np.testing.assert_array_equal(images, copy)
    np.testing.assert_array_equal(normalize(images, {"mean": 0.5, "std": 0.25}), first)


def test_missing_keys_take_defaults() -> None:
    assert check_preprocessing({"mean": 0.5}) == {"scale": 1 / 255, "mean": 0.5, "std": 1.0}
    settings = check_preprocessing(None)
    settings["mean"] = 9.0
    assert DEFAULT_PREPROCESSING["mean"] == 0.0


@pytest.mark.parametrize(
    ("settings", "phrase"),
    [
        ({"std": 0}, "'std' must be positive"),
        ({"std": -1.0}, "'std' must be positive"),
        ({"scale": 0.0}, "'scale' must be positive"),
        ({"scale": [1.0]}, "'scale' must be a finite number"),
        ({"mean": float("nan")}, "'mean' must be a finite number"),
        ({"mean": "0.5"}, "'mean' must be a finite number"),
        ({"std": True}, "'std' must be a finite number"),
        ({"mean": []}, "'mean' must be a finite number"),
        ({"centre": 1.0}, "unknown keys ['centre']"),
        ([0.5, 0.5], "must be a mapping"),
    ],
)
def test_invalid_settings(settings: object, phrase: str) -> None:
    with pytest.raises(ValueError) as info:
        normalize(pixels(), settings)
    assert phrase in str(info.value)


def test_invalid_images_and_dtype() -> None:
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        normalize(pixels((28, 28)))
    with pytest.raises(ValueError, match="float dtype"):
        normalize(pixels(), None, np.int32)
