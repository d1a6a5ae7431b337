"""The demo's explainer: inputs checked, answers equal to the library's own computations."""

from __future__ import annotations

import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

import numpy as np
import pytest
from serve_helpers import bundled_model

from scratchcnn.explain import (
    BadInputError,
    DigitExplainer,
    decode_feature_map,
    encode_feature_map,
)
from scratchcnn.images import load_image_as_mnist
from scratchcnn.inspection import layer_outputs, saliency_map
from scratchcnn.preprocessing import normalize
from scratchcnn.presets import build_model


@pytest.fixture(scope="module")
def explainer():
    model = build_model("lenet", seed=3)
    model.metadata["preprocessing"] = {"scale": 1 / 255, "mean": 0.13, "std": 0.31}
    return DigitExplainer(model, "lenet")


def random_digit(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)


def test_answer_matches_the_model_and_inspection(explainer):
    pixels = random_digit()
    answer = explainer.explain(pixels)
    x = normalize(pixels[None], explainer.model.metadata["preprocessing"])
    probabilities = explainer.model.predict_proba(x)[0]
    # float32 logits through softmax: a few float32 ulps of the largest probability.
    np.testing.assert_allclose(answer["probabilities"], probabilities, atol=1e-6)
    assert answer["digit"] == int(np.argmax(probabilities))
    assert abs(sum(answer["probabilities"]) - 1) < 1e-5
    assert answer["input"] == pixels.tolist()
    np.testing.assert_allclose(answer["saliency"], saliency_map(explainer.model, x)[0], atol=5e-5)
    outputs = dict(layer_outputs(explainer.model, x))
    # lenet: conv+relu, pool, conv+relu, pool.
    names = [stage["name"] for stage in answer["feature_maps"]]
    assert names == [
        "Conv2D(1 -> 6, 5x5, padding 'same') + ReLU",
        "MaxPool2D(2x2)",
        "Conv2D(6 -> 16, 5x5) + ReLU",
        "MaxPool2D(2x2)",
    ]
    relu = next(value for name, value in outputs.items() if name.startswith("1 "))[0]
    decoded = decode_feature_map(answer["feature_maps"][0])
    step = (relu.max(axis=(0, 1)) - relu.min(axis=(0, 1))) / 255
    # Quantised to 256 levels per channel: within half a level (plus float rounding).
    assert np.all(np.abs(decoded - relu.transpose(2, 0, 1)) <= step[:, None, None] / 2 + 1e-5)


def test_concurrent_requests_run_as_batches_with_the_answers_of_single_runs(explainer):
    digits = [random_digit(seed) for seed in range(24)]
    alone = [explainer.explain(d) for d in digits]
    start = threading.Barrier(len(digits))

    def ask(index):
        start.wait()
        return explainer.explain(digits[index])

    with ThreadPoolExecutor(len(digits)) as pool:
        together = list(pool.map(ask, range(len(digits))))
    for a, b in zip(alone, together):
        assert a["digit"] == b["digit"] and a["input"] == b["input"]
        np.testing.assert_allclose(a["probabilities"], b["probabilities"], atol=3e-6)
        np.testing.assert_allclose(a["saliency"], b["saliency"], atol=1.5e-4)
    assert explainer._queue == []


def test_feature_maps_send_at_most_32_channels():
    output = np.random.default_rng(1).normal(size=(3, 3, 128)).astype(np.float32)
    encoded = encode_feature_map("x", output)
    assert (encoded["channels"], encoded["shown"]) == (128, 32)
    np.testing.assert_allclose(
        decode_feature_map(encoded), output[..., :32].transpose(2, 0, 1), atol=np.ptp(output) / 255
    )
    constant = encode_feature_map("flat", np.ones((2, 2, 1), np.float32))
    assert np.array_equal(decode_feature_map(constant), np.ones((1, 2, 2)))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("x", "list of 784"),
        ([0] * 10, "784 numbers"),
        ([0] * 783 + [float("nan")], "outside 0..255"),
        ([0] * 783 + [float("inf")], "outside 0..255"),
        ([0] * 783 + [255.5], "outside 0..255"),
        ([0] * 783 + [10**400], "outside 0..255"),
        ([0] * 783 + ["1"], "a string"),
        ([0] * 783 + [False], "a boolean"),
        ([0] * 783 + [[1]], "a list"),
    ],
)
def test_bad_pixels_are_named(value, message):
    with pytest.raises(BadInputError, match=message):
        DigitExplainer.pixels_from_json(value)


def test_pixels_are_rounded_to_levels():
    pixels = DigitExplainer.pixels_from_json([0.4, 0.6, 254.5, 255] + [0] * 780)
    assert pixels.dtype == np.uint8 and pixels.shape == (28, 28)
    assert pixels.ravel()[:4].tolist() == [0, 1, 254, 255]


def test_images_go_through_the_predict_preprocessing():
    Image = pytest.importorskip("PIL.Image")
    from PIL import ImageDraw

    image = Image.new("RGB", (120, 90), "white")
    ImageDraw.Draw(image).ellipse((40, 15, 80, 75), outline="black", width=8)
    for kind in ("PNG", "JPEG"):
        buffer = io.BytesIO()
        image.save(buffer, kind)
        data = buffer.getvalue()
        expected = load_image_as_mnist(io.BytesIO(data))
        assert np.array_equal(DigitExplainer.pixels_from_image(data), expected)
    buffer = io.BytesIO()
    image.save(buffer, "GIF")
    with pytest.raises(BadInputError, match="GIF"):
        DigitExplainer.pixels_from_image(buffer.getvalue())
    with pytest.raises(BadInputError, match="uploaded image: no digit"):
        blank = io.BytesIO()
        Image.new("L", (50, 50), 255).save(blank, "PNG")
        DigitExplainer.pixels_from_image(blank.getvalue())


def test_a_model_that_is_not_a_digit_classifier_is_refused():
    from scratchcnn.errors import ScratchCNNError
    from scratchcnn.layers import Conv2D
    from scratchcnn.model import Sequential

    model = Sequential([Conv2D(1, 2, 3)], input_shape=(28, 28, 1))
    with pytest.raises(ScratchCNNError, match="not class scores"):
        DigitExplainer(model)


def test_a_batch_of_requests_gets_one_answer_each(explainer):
    pixels = random_digit(5)
    good = ("application/json", json.dumps({"pixels": pixels.ravel().tolist()}).encode())
    answers = explainer.respond_batch(
        [good, ("application/json", b"{"), ("image/png", b"\x89PNG broken"), good]
    )
    assert [status for status, _ in answers] == [200, 400, 400, 200]
    single = json.loads(explainer.respond(*good)[1])
    for _, payload in answers[::3]:
        answer = json.loads(payload)
        assert answer["digit"] == single["digit"] and answer["input"] == single["input"]
    assert "bad JSON" in json.loads(answers[1][1])["error"]
    assert explainer.respond_batch([]) == []


def test_a_drawing_sent_at_112_pixels_reads_as_at_280():
    """The page sends its 280x280 pad scaled to 112x112 (SEND_SIZE in web/app.js): the
    network must see nearly the same digit and give the same answer."""
    from PIL import Image

    from scratchcnn import datasets

    bundled = DigitExplainer(bundled_model(), "bundled")
    digits, _ = datasets.load("mnist-sample", "test", limit=100)

    def as_png(image) -> io.BytesIO:
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return io.BytesIO(buffer.getvalue())

    full, sent = [], []
    for digit in digits:  # white ink on black, as on the pad
        pad = Image.fromarray(digit).resize((280, 280), Image.Resampling.BICUBIC)
        full.append(load_image_as_mnist(as_png(pad)))
        sent.append(load_image_as_mnist(as_png(pad.resize((112, 112), Image.Resampling.BILINEAR))))
    difference = np.abs(np.array(full, float) - np.array(sent, float)).mean(axis=(1, 2))
    assert difference.mean() < 8  # gray levels of 255
    agree = [
        a["digit"] == b["digit"]
        for a, b in zip(bundled.explain_batch(full), bundled.explain_batch(sent))
    ]
    assert sum(agree) >= 99
    app = (resources.files("scratchcnn") / "web" / "app.js").read_text()
    assert "const SEND_SIZE = 112;" in app
