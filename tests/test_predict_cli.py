"""``scratchcnn predict``: a hand-built model, PNGs drawn in the test, known answers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tolerances import dot_bound, softmax_relative_bound

from scratchcnn.cli import main
from scratchcnn.images import load_image_as_mnist
from scratchcnn.layers import Dense, Flatten
from scratchcnn.losses import softmax
from scratchcnn.model import Sequential
from scratchcnn.optim import SGD
from scratchcnn.persistence import save, save_checkpoint
from scratchcnn.preprocessing import DEFAULT_PREPROCESSING, normalize

Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")

CLASSES = ["one", "seven", "dash"]
PREPROCESSING = {"scale": 1 / 255, "mean": 0.2, "std": 0.5}


def draw(kind: str, path: Path) -> Path:
    """A black-on-white drawing of a "1", a "7" or a "-" saved as PNG."""
    image = Image.new("RGB", (160, 200), "white")
    pen = ImageDraw.Draw(image)
    if kind == "one":
        pen.line([(80, 30), (80, 170)], fill="black", width=18)
    elif kind == "seven":
        pen.line([(30, 40), (130, 40)], fill="black", width=18)
        pen.line([(130, 40), (60, 170)], fill="black", width=18)
    else:
        pen.line([(20, 100), (140, 100)], fill="black", width=18)
    image.save(path)
    return path


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    return {kind: draw(kind, tmp_path / f"{kind}.png") for kind in CLASSES}


def template_weights(images: dict[str, Path], preprocessing: dict) -> np.ndarray:
    """Dense weights whose columns are the centred, preprocessed drawings: template matching."""
    columns = []
    for kind in CLASSES:
        x = normalize(load_image_as_mnist(images[kind])[None], preprocessing)[0].ravel()
        columns.append((x - x.mean()) * 0.02)
    return np.stack(columns, axis=1)


def make_model(weights: np.ndarray, metadata: dict | None = None) -> Sequential:
    model = Sequential([Flatten(), Dense(784, weights.shape[1])], input_shape=(28, 28, 1))
    model[1].params["weight"][...] = weights
    model.metadata = metadata or {}
    return model


@pytest.fixture
def model_path(tmp_path: Path, images: dict[str, Path]) -> Path:
    weights = template_weights(images, PREPROCESSING)
    model = make_model(weights, {"class_names": CLASSES, "preprocessing": PREPROCESSING})
    path = tmp_path / "model.npz"
    save(model, path)
    return path


def expected_probabilities(model_weights: np.ndarray, image: Path, preprocessing: dict):
    x = normalize(load_image_as_mnist(image)[None], preprocessing).reshape(1, -1)
    return softmax(x @ model_weights)[0]


def probability_tolerance(model_weights: np.ndarray, image: Path, preprocessing: dict) -> float:
    """Relative tolerance between two float32 computations of the model's probabilities.

    Each logit is a float32 sum of 784 products; the BLAS kernel (which varies with the CPU
    and the batch size) chooses the order, so two computations may differ by twice the
    bound of such a sum (see tests/tolerances.py), and the softmax turns that into a
    relative difference of the probabilities.
    """
    x = normalize(load_image_as_mnist(image)[None], preprocessing).reshape(1, -1)
    return softmax_relative_bound(2 * dot_bound(x, model_weights))


def run(argv: list[object], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["predict", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_table_shows_class_and_top_probabilities(
    model_path: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run([model_path, images["one"], images["seven"], images["dash"]], capsys)
    assert code == 0 and err == ""
    header, *rows = out.rstrip("\n").split("\n")
    assert header.split() == ["image", "class", "top", "3"]
    column = header.index("class")
    weights = template_weights(images, PREPROCESSING)
    for row, kind in zip(rows, CLASSES):
        assert row.startswith(str(images[kind]))
        assert row[column:].split()[0] == kind
        p = expected_probabilities(weights, images[kind], PREPROCESSING)
        order = np.argsort(-p)
        assert order[0] == CLASSES.index(kind)
        cells = row[column:].split()[1:]
        assert cells[0::2] == [CLASSES[i] for i in order]
        assert cells[1::2] == [f"{p[i]:.2%}" for i in order]
    assert len(rows) == 3
    assert len({row.index("%") for row in rows}) == 1


@pytest.mark.parametrize(("top", "shown"), [(1, 1), (2, 2), (10, 3)])
def test_top_k(
    model_path: Path,
    images: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    top: int,
    shown: int,
) -> None:
    code, out, _ = run([model_path, images["seven"], "--top", top], capsys)
    assert code == 0
    header, row = out.rstrip("\n").split("\n")
    assert header.endswith(f"top {shown}")
    assert row.count("%") == shown


def test_json_output_uses_the_models_preprocessing(
    model_path: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run([model_path, images["dash"], images["one"], "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["model"] == str(model_path) and report["errors"] == []
    weights = template_weights(images, PREPROCESSING)
    for result, kind in zip(report["predictions"], ["dash", "one"]):
        assert result["image"] == str(images[kind])
        assert result["class"] == kind and result["index"] == CLASSES.index(kind)
        p = expected_probabilities(weights, images[kind], PREPROCESSING)
        tolerance = probability_tolerance(weights, images[kind], PREPROCESSING)
        assert tolerance < 1e-3  # small enough to tell the two preprocessings apart
        got = [entry["probability"] for entry in result["top"]]
        assert got == sorted(got, reverse=True)
        for entry in result["top"]:
            assert entry["class"] == CLASSES[entry["index"]]
            assert entry["probability"] == pytest.approx(p[entry["index"]], rel=tolerance)
        unnormalised = expected_probabilities(weights, images[kind], DEFAULT_PREPROCESSING)
        assert not np.allclose(sorted(got), sorted(unnormalised), rtol=10 * tolerance)


def test_batch_size_does_not_change_results(
    model_path: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [images[k] for k in CLASSES] * 2
    _, whole, _ = run([model_path, *paths, "--json"], capsys)
    _, single, _ = run([model_path, *paths, "--json", "--batch-size", 1], capsys)
    batched, alone = json.loads(whole)["predictions"], json.loads(single)["predictions"]
    assert [r["image"] for r in batched] == [r["image"] for r in alone] == list(map(str, paths))
    weights = template_weights(images, PREPROCESSING)
    for a, b in zip(batched, alone):
        assert [e["class"] for e in a["top"]] == [e["class"] for e in b["top"]]
        # A batch of 1 and a batch of 6 may run different BLAS kernels (gemv, gemm).
        tolerance = probability_tolerance(weights, Path(a["image"]), PREPROCESSING)
        for x, y in zip(a["top"], b["top"]):
            assert x["probability"] == pytest.approx(y["probability"], rel=tolerance)


def test_images_are_read_and_normalised_one_batch_at_a_time(
    model_path: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    import scratchcnn.preprocessing as preprocessing

    sizes = []
    original = preprocessing.normalize

    def spy(pixels, *args, **kwargs):
        sizes.append(len(pixels))
        return original(pixels, *args, **kwargs)

    monkeypatch.setattr(preprocessing, "normalize", spy)
    paths = [images[k] for k in CLASSES] * 3
    code, out, _ = run([model_path, *paths, "--batch-size", 4], capsys)
    assert code == 0
    assert max(sizes) == 4 and sum(sizes) == len(paths)
    assert out.count("\n") == len(paths) + 1  # a header, then one row per image


def test_model_without_metadata_uses_digits_and_default_preprocessing(
    tmp_path: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    templates = template_weights(images, DEFAULT_PREPROCESSING)
    weights = np.zeros((784, 10), dtype=np.float32)
    weights[:, [1, 7, 4]] = templates
    path = tmp_path / "digits.npz"
    save(make_model(weights), path)
    code, out, _ = run([path, images["seven"], "--json", "--top", 10], capsys)
    assert code == 0
    result = json.loads(out)["predictions"][0]
    assert result["class"] == "7" and len(result["top"]) == 10
    p = expected_probabilities(weights, images["seven"], DEFAULT_PREPROCESSING)
    tolerance = probability_tolerance(weights, images["seven"], DEFAULT_PREPROCESSING)
    assert result["top"][0]["probability"] == pytest.approx(p[7], rel=tolerance)


def test_float64_model_and_checkpoint_file(
    tmp_path: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    weights = template_weights(images, PREPROCESSING)
    model = make_model(weights, {"class_names": CLASSES, "preprocessing": PREPROCESSING})
    model.astype(np.float64)
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, model, SGD(model.parameters(), lr=0.1).state_dict(), {"epoch": 2})
    code, out, _ = run([path, images["one"]], capsys)
    assert code == 0
    assert out.split("\n")[1].split()[1] == "one"


def test_missing_image_is_reported_and_the_rest_predicted(
    model_path: Path, images: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "absent.png"
    code, out, err = run([model_path, missing, images["one"]], capsys)
    assert code == 1
    assert err == f"scratchcnn: error: {missing}: no such file\n"
    assert out.split("\n")[1].startswith(str(images["one"]))


def test_bad_images(model_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "note.png"
    text.write_text("a text file")
    blank = tmp_path / "blank.png"
    Image.new("L", (50, 50), 255).save(blank)
    code, out, err = run([model_path, text, blank, "--json"], capsys)
    assert code == 1 and err == ""
    report = json.loads(out)
    assert report["predictions"] == []
    assert [e["image"] for e in report["errors"]] == [str(text), str(blank)]
    assert "not an image" in report["errors"][0]["error"]
    assert "no digit found" in report["errors"][1]["error"]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing"])
def test_corrupt_or_missing_model(
    model_path: Path,
    images: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    damage: str,
) -> None:
    if damage == "garbage":
        model_path.write_bytes(b"\x00\x01not a model" * 50)
    elif damage == "truncated":
        model_path.write_bytes(model_path.read_bytes()[:1000])
    else:
        model_path.unlink()
    code, out, err = run([model_path, images["one"]], capsys)
    assert code == 1 and out == ""
    assert err.startswith(f"scratchcnn: error: {model_path}: ")
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--top", "0"],
        ["--top", "two"],
        ["--top", "-1"],
        ["--batch-size", "0"],
        ["--colour"],
    ],
)
def test_bad_options_exit_2(
    model_path: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str], argv: list
) -> None:
    assert main(["predict", str(model_path), str(images["one"]), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("scratchcnn") and ": error: " in err and err.count("\n") == 1
    assert "--help')" in err


def test_no_image_given_exits_2(model_path: Path) -> None:
    assert main(["predict", str(model_path)]) == 2


def test_model_for_other_inputs_is_refused(
    tmp_path: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cifar.npz"
    save(Sequential([Flatten(), Dense(32 * 32 * 3, 10)], input_shape=(32, 32, 3)), path)
    code, _, err = run([path, images["one"]], capsys)
    assert code == 1
    assert str(path) in err and "(32, 32, 3)" in err


@pytest.mark.parametrize(
    ("metadata", "phrase"),
    [
        ({"class_names": ["a", "b"]}, "2 classes"),
        ({"class_names": "one seven dash"}, "not a list of strings"),
        ({"preprocessing": {"std": 0.0}}, "preprocessing"),
    ],
)
def test_bad_metadata(
    tmp_path: Path,
    images: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    metadata: dict,
    phrase: str,
) -> None:
    path = tmp_path / "model.npz"
    save(make_model(np.zeros((784, 3), dtype=np.float32), metadata), path)
    code, _, err = run([path, images["one"]], capsys)
    assert code == 1
    assert str(path) in err and phrase in err


def test_missing_pillow(
    model_path: Path,
    images: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)
    code, out, err = run([model_path, images["one"]], capsys)
    assert code == 1 and out == ""
    assert "pip install 'scratchcnn[images]'" in err


def test_command_line_entry_point(model_path: Path, images: dict[str, Path]) -> None:
    command = [sys.executable, "-m", "scratchcnn", "predict", str(model_path), str(images["one"])]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[1].split()[1] == "one"


def test_show_input_writes_each_picture_beside_what_the_network_saw(
    model_path: Path, images: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "absent.png"
    sheet_path = tmp_path / "seen" / "sheet.png"
    argv = [model_path, images["one"], missing, images["seven"], "--show-input", sheet_path]
    code, _, err = run(argv, capsys)
    assert code == 1 and str(missing) in err  # the unreadable file is reported, not drawn
    assert [p.name for p in sheet_path.parent.iterdir()] == ["sheet.png"]  # no temporary left
    with Image.open(sheet_path) as sheet:
        pixels = np.asarray(sheet.convert("L"), dtype=np.int64)
    # Two rows of 112 px with 8 px gaps; the 28x28 input sits at the right, enlarged 4x.
    assert pixels.shape[0] == 2 * (112 + 8) + 8
    for row, kind in enumerate(["one", "seven"]):
        top = 8 + row * 120
        shown = pixels[top : top + 112, -(112 + 8) : -8]
        expected = np.kron(load_image_as_mnist(images[kind]), np.ones((4, 4), dtype=np.int64))
        assert np.abs(shown - expected).max() <= 1


def test_show_input_to_an_unwritable_place_is_one_line(
    model_path: Path, images: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run([model_path, images["one"], "--show-input", blocker / "x.png"], capsys)
    assert code == 1 and "cannot write" in err and err.count("\n") == 1
