"""The HTML report: its numbers equal ``evaluate --json``, and it renders offline in Chromium.

The browser test drives Debian's Chromium through Selenium with every network route
closed (a proxy to a closed port, no background services) and checks, from Chromium's
own network log, that the page asks for nothing but itself and ``data:`` URIs.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scratchcnn import datasets
from scratchcnn.cli import main
from scratchcnn.errors import ScratchCNNError
from scratchcnn.i18n import tr
from scratchcnn.metrics import precision_recall_f1
from scratchcnn.persistence import save
from scratchcnn.preprocessing import normalize
from scratchcnn.presets import PRESETS, build_model
from scratchcnn.report import (
    analyse,
    build_report,
    most_confident_mistakes,
    render_html,
    report_figures,
    write_report,
)
from scratchcnn.training import TrainConfig, Trainer

DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def report_numbers(page: str) -> dict:
    """The JSON block of numbers a report embeds."""
    found = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S
    )
    assert found, "the report holds no report-data block"
    return json.loads(found.group(1).replace("<\\/", "</"))


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    """The bundled sample's test split (1,000 digits)."""
    return datasets.load("mnist-sample", "test")


@pytest.fixture(scope="module")
def trained_classic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebook's network trained two short epochs with a validation split, saved."""
    images, labels = datasets.load("mnist-sample", "train", limit=1200)
    model = build_model("classic", seed=1)
    config = TrainConfig(
        epochs=2, batch_size=32, lr=0.01, optimizer="sgd", validation_split=0.2, seed=1
    )
    trainer = Trainer(model, config)
    history = trainer.fit(images, labels)
    model.metadata.update(
        {
            "dataset": "mnist-sample",
            "class_names": datasets.class_names("mnist-sample"),
            "history": [dataclasses.asdict(log) for log in history],
        }
    )
    path = tmp_path_factory.mktemp("model") / "classic.npz"
    save(model, path)
    return path


@pytest.fixture(scope="module")
def classic_report(trained_classic: Path) -> Path:
    """``scratchcnn report`` of the trained model on the sample's test split."""
    out = trained_classic.with_name("report.html")
    assert main(["report", str(trained_classic), "-o", str(out), "--images", "2"]) == 0
    return out


def test_report_numbers_equal_evaluate_json(
    trained_classic: Path, classic_report: Path, sample, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", str(trained_classic), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    numbers = report_numbers(classic_report.read_text(encoding="utf-8"))

    # The same batches through the same evaluate(): the same numbers. The loss is a float
    # sum over batches; the tolerance only allows a BLAS that splits a product differently.
    for key in ("dataset", "split", "images", "accuracy", "per_class_accuracy", "confusion_matrix"):
        assert numbers[key] == evaluated[key], key
    assert numbers["loss"] == pytest.approx(evaluated["loss"], rel=1e-6)
    assert 0.3 < numbers["accuracy"] < 1.0  # trained: neither chance nor perfect

    # Precision, recall and F1 recounted from the model's own predictions, image by image.
    from scratchcnn.persistence import load

    model = load(trained_classic)
    images, labels = sample
    predicted = model.predict(normalize(images, model.metadata["preprocessing"]))
    for k, name in enumerate(numbers["precision"]):  # class names, in class order
        hits = int(np.sum((predicted == k) & (labels == k)))
        precision = hits / max(1, int(np.sum(predicted == k)))
        recall = hits / int(np.sum(labels == k))
        assert numbers["precision"][name] == pytest.approx(precision, rel=1e-12, abs=0)
        assert numbers["recall"][name] == pytest.approx(recall, rel=1e-12)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        assert numbers["f1"][name] == pytest.approx(f1, rel=1e-12, abs=1e-15)
        assert numbers["support"][name] == int(np.sum(labels == k))


def test_precision_recall_f1_of_absent_and_never_predicted_classes() -> None:
    confusion = np.array([[3, 1, 0], [2, 0, 0], [0, 0, 0]])  # class 2 absent, 2 never predicted
    precision, recall, f1 = precision_recall_f1(confusion)
    np.testing.assert_allclose(precision[:2], [3 / 5, 0.0])
    np.testing.assert_allclose(recall[:2], [3 / 4, 0.0])
    np.testing.assert_allclose(f1[:2], [2 * 0.6 * 0.75 / 1.35, 0.0])
    assert np.isnan(precision[2]) and np.isnan(recall[2]) and np.isnan(f1[2])


def test_most_confident_mistakes_are_the_wrong_answers_surest_first() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    predictions = np.where(rng.random(500) < 0.3, rng.integers(0, 10, 500), labels)
    confidence = rng.random(500)
    chosen = most_confident_mistakes(labels, predictions, confidence, 7)
    wrong = [i for i in range(500) if predictions[i] != labels[i]]
    assert list(chosen) == sorted(wrong, key=lambda i: -confidence[i])[:7]


def test_model_without_history_gets_the_note_and_one_with_gets_curves(sample) -> None:
    images, labels = sample[0][:100], sample[1][:100]
    model = build_model("classic", seed=0)
    page = build_report(model, images, labels, examples=0, mistakes=4, language="en")
    assert 'id="no-history"' in page and tr("report.no_history", "en") in page
    assert 'id="img-curves"' not in page
    # --images 0: no feature-map or saliency section at all.
    assert "img-features" not in page and "img-saliency" not in page
    assert tr("report.saliency", "en") not in page
    model.metadata["history"] = [
        {"epoch": 1, "loss": 1.0, "accuracy": 0.7, "lr": 1e-3, "seconds": 2.0,
         "val_loss": None, "val_accuracy": None},
        {"epoch": 2, "loss": 0.5, "accuracy": 0.8, "lr": 5e-4, "seconds": 2.0,
         "val_loss": 0.6, "val_accuracy": 0.79},
    ]  # fmt: skip
    page = build_report(model, images, labels, examples=1, mistakes=4, language="zh")
    assert 'id="img-curves"' in page and 'id="no-history"' not in page
    assert tr("report.curves", "zh") in page and 'lang="zh-Hans"' in page


@pytest.mark.parametrize(
    "preset",
    [name if name == "classic" else pytest.param(name, marks=pytest.mark.slow) for name in PRESETS],
)
def test_every_preset_draws_every_section(preset: str, sample) -> None:
    images, labels = sample[0][:100], sample[1][:100]
    model = build_model(preset, seed=0)
    data = analyse(model, images, labels, examples=3, mistakes=4)
    figures = report_figures(data, "en")
    # One feature-map figure and one saliency row (input, saliency, overlay) per image.
    assert len(figures["features"]) == 3
    assert len(figures["saliency"].axes) == 3 * 3
    page = render_html(data, figures, "en")
    for name in ("confusion", "mistakes", "filters", "features-0", "features-2", "saliency"):
        assert f'id="img-{name}"' in page, name
    rows = re.search(r'<table id="layer-table">(.*?)</table>', page, re.S).group(1)
    assert rows.count("<tr>") == len(model) + 1
    assert f"{model.num_params():,}" in page


def test_bad_labels_leave_an_existing_report_untouched(tmp_path: Path, sample) -> None:
    out = tmp_path / "report.html"
    out.write_text("old report", encoding="utf-8")
    labels = sample[1][:50].astype(np.int64) + 10  # beyond the model's 10 classes
    with pytest.raises(ScratchCNNError, match="10 classes but the labels go up to"):
        write_report(out, build_model("classic"), sample[0][:50], labels)
    assert out.read_text(encoding="utf-8") == "old report"
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_images_of_the_wrong_size_are_a_clear_error(sample) -> None:
    with pytest.raises(ScratchCNNError, match="takes 28x28 images but the data set's are 20x20"):
        build_report(build_model("classic"), sample[0][:5, :20, :20], sample[1][:5])


def test_missing_matplotlib_names_the_extra(
    trained_classic: Path, tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    out = tmp_path / "report.html"
    assert main(["report", str(trained_classic), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'scratchcnn[plot]'" in err
    assert not out.exists()


# --- in a real browser -------------------------------------------------------------------
def chromium(tmp_path: Path):
    """Headless Debian Chromium whose every network route leads nowhere."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        pytest.skip("Debian's chromium and chromedriver are not installed (.ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,900",
        # Any request that tried to leave would meet a closed port.
        "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def requested_urls(driver) -> list[str]:
    """Every URL the page asked for, from Chromium's DevTools network log."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


@pytest.mark.slow
def test_report_renders_offline_in_chromium(classic_report: Path, tmp_path: Path) -> None:
    page_path = classic_report
    page = page_path.read_text(encoding="utf-8")

    # Every picture is a PNG data URI that Pillow decodes.
    encoded = DATA_URI.findall(page)
    assert len(encoded) >= 7  # curves, confusion, mistakes, filters, 2 feature maps, saliency
    for data in encoded:
        with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as picture:
            picture.load()
            assert picture.format == "PNG" and min(picture.size) > 20

    # A control page with one external image: the network log must show its request.
    control = tmp_path / "control.html"
    control.write_text('<img src="http://example.invalid/x.png">', encoding="utf-8")
    driver = chromium(tmp_path)
    try:
        driver.get(control.as_uri())
        assert any(url.startswith("http://example.invalid") for url in requested_urls(driver))

        driver.get(page_path.as_uri())
        driver.get_log("performance")  # nothing in the log before this page's own load
        driver.refresh()
        state = driver.execute_script(
            "return {ready: document.readyState,"
            " images: Array.from(document.images).map(i => i.complete && i.naturalWidth > 0),"
            " resources: performance.getEntriesByType('resource').map(r => r.name),"
            " title: document.title}"
        )
        urls = requested_urls(driver)
        shot = driver.get_screenshot_as_png()
    finally:
        driver.quit()
    assert state["ready"] == "complete" and state["title"].startswith("scratchcnn report")
    assert len(state["images"]) == len(encoded) and all(state["images"])
    assert all(name.startswith("data:") for name in state["resources"])
    assert urls and all(u == page_path.as_uri() or u.startswith("data:") for u in urls), urls
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=np.float64)
    assert pixels.std() > 10  # text and pictures, not a blank page
