"""Model and checkpoint files: exact round trips, atomic writes, clear errors, no pickle."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import scratchcnn
from scratchcnn.errors import ModelFileError
from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU
from scratchcnn.losses import softmax_cross_entropy
from scratchcnn.model import Sequential
from scratchcnn.optim import Adam
from scratchcnn.persistence import (
    CHECKPOINT_FORMAT,
    FORMAT_VERSION,
    HEADER_KEY,
    MODEL_FORMAT,
    load,
    load_checkpoint,
    read_header,
    save,
    save_checkpoint,
)


def make_model(dtype: type = np.float32, seed: int = 0) -> Sequential:
    """A model using every layer type, with non-trivial BatchNorm statistics."""
    rng = np.random.default_rng(seed)
    model = Sequential(
        [
            Conv2D(1, 4, 3, padding="same", rng=rng),
            BatchNorm2D(4),
            ReLU(),
            MaxPool2D(),
            Flatten(),
            Dropout(0.25, rng=seed),
            Dense(4 * 4 * 4, 5, rng=rng),
        ],
        input_shape=(8, 8, 1),
    ).astype(dtype)
    bn = model[1]
    bn.params["weight"][...] = rng.uniform(0.5, 1.5, 4)
    bn.params["bias"][...] = rng.normal(size=4)
    for _ in range(3):
        model.forward(rng.normal(2.0, 3.0, (6, 8, 8, 1)).astype(dtype), training=True)
    model.metadata = {
        "class_names": ["zero", "un", "二", "three", "four"],
        "preprocessing": {"scale": 1 / 255, "mean": 0.1307, "std": 0.3081},
    }
    return model


def batch(seed: int = 1, n: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 8, 8, 1))


def write_npz(path: Path, header: object, arrays: dict[str, np.ndarray]) -> None:
    """A file in the documented layout, built by hand with NumPy."""
    raw = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    with open(path, "wb") as handle:
        np.savez(handle, **{HEADER_KEY: raw}, **arrays)


def model_entries(model: Sequential) -> tuple[dict, dict[str, np.ndarray]]:
    header = {
        "format": MODEL_FORMAT,
        "version": FORMAT_VERSION,
        "config": model.get_config(),
        "metadata": {},
    }
    return header, {f"model/{k}": v for k, v in model.state_dict().items()}


# --- round trips -------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_gives_identical_state_and_predictions(tmp_path: Path, dtype: type) -> None:
    model = make_model(dtype)
    path = tmp_path / "model.npz"
    save(model, path)
    loaded = load(path)
    assert isinstance(loaded, Sequential)
    assert loaded.get_config() == model.get_config()
    assert loaded.dtype == np.dtype(dtype)
    assert loaded.input_shape == (8, 8, 1)
    assert loaded.metadata == model.metadata
    state, original = loaded.state_dict(), model.state_dict()
    assert state.keys() == original.keys()
    for key in original:
        assert state[key].dtype == original[key].dtype, key
        np.testing.assert_array_equal(state[key], original[key], err_msg=key)
    assert not np.allclose(original["1.running_mean"], 0)
    x = batch()
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))


def test_path_without_npz_suffix_is_used_as_given(tmp_path: Path) -> None:
    path = tmp_path / "weights.model"
    save(make_model(), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.model"]
    assert load(path).num_params() == make_model().num_params()


def test_file_is_a_plain_npz_with_a_json_header(tmp_path: Path) -> None:
    model = make_model()
    path = tmp_path / "model.npz"
    save(model, path)
    with np.load(path, allow_pickle=False) as archive:
        names = set(archive.files)
        raw = archive[HEADER_KEY]
        weight = archive["model/0.weight"]
    assert names == {HEADER_KEY} | {f"model/{k}" for k in model.state_dict()}
    assert raw.dtype == np.uint8 and raw.ndim == 1
    header = json.loads(raw.tobytes().decode("utf-8"))
    assert header["format"] == MODEL_FORMAT
    assert header["version"] == FORMAT_VERSION
    assert header["config"] == model.get_config()
    assert header["metadata"]["class_names"][2] == "二"
    np.testing.assert_array_equal(weight, model[0].params["weight"])
    with zipfile.ZipFile(path) as archive:
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
    assert read_header(path) == header


def test_a_compressed_npz_in_the_same_layout_loads(tmp_path: Path) -> None:
    model = make_model()
    header, arrays = model_entries(model)
    raw = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    path = tmp_path / "compressed.npz"
    np.savez_compressed(path, **{HEADER_KEY: raw}, **arrays)
    x = batch()
    np.testing.assert_array_equal(load(path).predict_proba(x), model.predict_proba(x))


def test_package_exports_save_load_and_sequential(tmp_path: Path) -> None:
    assert scratchcnn.save is save and scratchcnn.load is load
    assert scratchcnn.Sequential is Sequential
    path = tmp_path / "m.npz"
    scratchcnn.save(make_model(), path)
    assert isinstance(scratchcnn.load(path), scratchcnn.Sequential)


def test_importing_the_package_does_not_import_pillow() -> None:
    code = "import sys, scratchcnn; sys.exit('PIL' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_metadata_that_is_not_json_is_refused(tmp_path: Path) -> None:
    model = make_model()
    model.metadata = {"when": object()}
    with pytest.raises(TypeError, match="when"):
        save(model, tmp_path / "m.npz")
    model.metadata = {1: "int key"}
    with pytest.raises(TypeError, match="keys must be strings"):
        save(model, tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_destination_gives_model_file_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    target = blocker / "model.npz"
    with pytest.raises(ModelFileError, match="cannot write") as info:
        save(make_model(), target)
    assert str(target) in str(info.value)


# --- checkpoints ---------------------------------------------------------------------------
def train_steps(model: Sequential, optimizer: Adam, rng: np.random.Generator, steps: int) -> None:
    for _ in range(steps):
        x = rng.normal(size=(4, 8, 8, 1))
        y = rng.integers(0, 5, 4)
        _, grad = softmax_cross_entropy(model.forward(x, training=True), y)
        model.backward(grad)
        optimizer.step()


def test_checkpoint_round_trip_resumes_exactly(tmp_path: Path) -> None:
    model = make_model()
    optimizer = Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(12345)
    train_steps(model, optimizer, rng, 3)
    state = {
        "epoch": 3,
        "history": [{"loss": 1.25, "acc": 0.5}, {"loss": math.nan, "acc": np.float32(0.75)}],
        "rng": rng.bit_generator.state,
        "hyper": {"lr": 0.01, "batch_size": np.int64(4), "note": "café"},
    }
    assert state["rng"]["state"]["state"] > 2**64
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model, optimizer.state_dict(), state)

    train_steps(model, optimizer, rng, 2)
    expected = model.state_dict()

    checkpoint = load_checkpoint(path)
    restored = checkpoint.training_state
    assert restored["rng"] == state["rng"]
    assert restored["epoch"] == 3
    assert restored["hyper"] == {"lr": 0.01, "batch_size": 4, "note": "café"}
    assert type(restored["hyper"]["batch_size"]) is int
    assert math.isnan(restored["history"][1]["loss"])
    assert restored["history"][1]["acc"] == 0.75
    assert checkpoint.optimizer_state.keys() == optimizer.state_dict().keys()
    for key, value in optimizer.state_dict().items():
        if key not in ("steps", "lr"):
            continue
        assert checkpoint.optimizer_state[key].shape == value.shape == ()
    assert checkpoint.optimizer_state["steps"] == 3

    resumed = checkpoint.model
    saved_optim = Adam(resumed.parameters(), lr=0.5)
    saved_optim.load_state_dict(checkpoint.optimizer_state)
    assert saved_optim.lr == 0.01
    new_rng = np.random.default_rng()
    new_rng.bit_generator.state = restored["rng"]
    train_steps(resumed, saved_optim, new_rng, 2)
    for key, value in expected.items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)


def test_generator_states_with_128_bit_ints_round_trip_exactly(tmp_path: Path) -> None:
    kinds = (np.random.PCG64, np.random.PCG64DXSM, np.random.Philox, np.random.MT19937)
    generators = [np.random.Generator(kind(2**100 + 7)) for kind in kinds]
    for g in generators:
        g.random(3)
    states = [g.bit_generator.state for g in generators]
    assert max(states[0]["state"].values()) >= 2**127
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, make_model(), {}, {"generators": states})
    restored = load_checkpoint(path).training_state["generators"]
    for g, state in zip(generators, restored):
        twin = np.random.Generator(type(g.bit_generator)())
        twin.bit_generator.state = state
        np.testing.assert_array_equal(twin.integers(0, 2**63, 5), g.integers(0, 2**63, 5))
    assert restored[0] == states[0]
    assert restored[1] == states[1]


def test_layer_generators_keep_their_type_and_sharing(tmp_path: Path) -> None:
    shared = np.random.Generator(np.random.Philox(3))
    model = Sequential(
        [Flatten(), Dropout(0.5, rng=shared), Dense(4, 4), Dropout(0.5, rng=shared)],
        input_shape=(2, 2, 1),
    )
    shared.random(5)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, model, {}, {})
    restored = load_checkpoint(path).model
    assert restored[1].rng is restored[3].rng
    assert isinstance(restored[1].rng.bit_generator, np.random.Philox)
    np.testing.assert_array_equal(restored[1].rng.random(4), shared.random(4))
    assert read_header(path)["layer_generators"][0]["layers"] == [1, 3]


@pytest.mark.parametrize(
    "groups",
    [
        {"1": {}},
        [{"layers": [1], "state": {"bit_generator": "NotAGenerator"}}],
        [{"layers": [1], "state": {"bit_generator": "Generator"}}],
        [{"layers": [7], "state": np.random.PCG64(1).state}],
        [{"layers": [0], "state": np.random.PCG64(1).state}],
        [{"layers": [1], "state": {"bit_generator": "PCG64", "state": "x"}}],
    ],
)
def test_damaged_layer_generators(tmp_path: Path, groups: object) -> None:
    model = Sequential([Flatten(), Dropout(0.5), Dense(4, 2)], input_shape=(2, 2, 1))
    header, arrays = model_entries(model)
    header.update(format=CHECKPOINT_FORMAT, training_state={}, layer_generators=groups)
    path = tmp_path / "c.npz"
    write_npz(path, header, arrays)
    with pytest.raises(ModelFileError, match="layer_generators") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_load_accepts_a_checkpoint_and_load_checkpoint_refuses_a_model(tmp_path: Path) -> None:
    model = make_model()
    checkpoint = tmp_path / "ckpt.npz"
    save_checkpoint(checkpoint, model, Adam(model.parameters()).state_dict(), {"epoch": 1})
    assert read_header(checkpoint)["format"] == CHECKPOINT_FORMAT
    x = batch()
    np.testing.assert_array_equal(load(checkpoint).predict_proba(x), model.predict_proba(x))
    plain = tmp_path / "model.npz"
    save(model, plain)
    with pytest.raises(ModelFileError, match="not a training checkpoint") as info:
        load_checkpoint(plain)
    assert str(plain) in str(info.value)


# --- atomic writes -------------------------------------------------------------------------
@pytest.mark.parametrize("failure", [RuntimeError("crash"), KeyboardInterrupt()])
def test_failure_while_writing_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    path = tmp_path / "model.npz"
    old = make_model(seed=0)
    save(old, path)
    before = path.read_bytes()

    def broken_savez(handle, **arrays):
        handle.write(b"PK\x03\x04" + b"\0" * 1000)
        raise failure

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(type(failure)):
        save(make_model(seed=1), path)
    with pytest.raises(type(failure)):
        save_checkpoint(path, make_model(seed=1), {}, {})
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    assert path.read_bytes() == before
    monkeypatch.undo()
    x = batch()
    np.testing.assert_array_equal(load(path).predict_proba(x), old.predict_proba(x))


# --- damaged and foreign files ---------------------------------------------------------------
@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "good.npz"
    save(make_model(), path)
    return path


def assert_model_file_error(path: Path, *phrases: str) -> str:
    with pytest.raises(ModelFileError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    for phrase in phrases:
        assert phrase in message
    assert "\n" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    assert_model_file_error(tmp_path / "absent.npz", "no such file")


def test_folder(tmp_path: Path) -> None:
    assert_model_file_error(tmp_path, "folder")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    assert_model_file_error(path, "empty")


def test_png_file(tmp_path: Path) -> None:
    path = tmp_path / "digit.npz"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert_model_file_error(path, "PNG image", "not a scratchcnn model file")


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.npz"
    path.write_text("these are not weights\n")
    assert_model_file_error(path, "not a scratchcnn model file")


def test_single_npy_file(tmp_path: Path) -> None:
    path = tmp_path / "array.npz"
    with open(path, "wb") as handle:
        np.save(handle, np.arange(4))
    assert_model_file_error(path, ".npy")


def test_truncated_file(saved: Path) -> None:
    data = saved.read_bytes()
    for length in (len(data) // 2, len(data) - 1, 30, 4):
        saved.write_bytes(data[:length])
        assert_model_file_error(saved)
    saved.write_bytes(data[: len(data) // 2])
    assert_model_file_error(saved, "damaged or truncated")


def test_flipped_bytes_in_the_weights_are_detected(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    start = data.index(b"model/6.weight.npy")
    position = start + 200
    data[position : position + 8] = bytes(b ^ 0xFF for b in data[position : position + 8])
    saved.write_bytes(bytes(data))
    assert_model_file_error(saved, "damaged", "CRC")


def test_random_damage_is_detected_or_harmless(saved: Path) -> None:
    data = saved.read_bytes()
    reference = make_model().state_dict()
    rng = np.random.default_rng(7)
    outcomes = {"error": 0, "harmless": 0}
    for position in rng.choice(len(data), size=250, replace=False):
        damaged = bytearray(data)
        damaged[position] ^= 1 << int(rng.integers(8))
        saved.write_bytes(bytes(damaged))
        try:
            state = load(saved).state_dict()
        except ModelFileError as exc:
            assert str(saved) in str(exc)
            outcomes["error"] += 1
        else:
            for key, value in reference.items():
                np.testing.assert_array_equal(state[key], value)
            outcomes["harmless"] += 1
    assert outcomes["error"] > 200


def test_npz_without_header(tmp_path: Path) -> None:
    path = tmp_path / "foreign.npz"
    np.savez(path, weights=np.ones(3))
    assert_model_file_error(path, "not a scratchcnn model file", "header")


def test_zip_of_other_files(tmp_path: Path) -> None:
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert_model_file_error(path, "not a scratchcnn model file")


def test_pytorch_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    assert_model_file_error(path, "PyTorch")


def test_header_of_another_format(tmp_path: Path) -> None:
    header, arrays = model_entries(make_model())
    header["format"] = "keras-weights"
    path = tmp_path / "m.npz"
    write_npz(path, header, arrays)
    assert_model_file_error(path, "not a scratchcnn model file", "keras-weights")


def test_newer_version_asks_for_an_upgrade(tmp_path: Path) -> None:
    header, arrays = model_entries(make_model())
    header["version"] = FORMAT_VERSION + 1
    path = tmp_path / "m.npz"
    write_npz(path, header, arrays)
    message = assert_model_file_error(path, "newer", f"version {FORMAT_VERSION + 1}", "upgrade")
    header["scratchcnn_version"] = "9.1.0"
    write_npz(path, header, arrays)
    message = assert_model_file_error(path, "scratchcnn 9.1.0", "upgrade")
    assert "reads versions up to 1" in message


@pytest.mark.parametrize("bad", [0, -1, "1", 1.0, True, None])
def test_bad_version_field(tmp_path: Path, bad: object) -> None:
    header, arrays = model_entries(make_model())
    header["version"] = bad
    path = tmp_path / "m.npz"
    write_npz(path, header, arrays)
    assert_model_file_error(path, "version")


@pytest.mark.parametrize(
    "raw",
    [
        np.frombuffer(b"{not json", dtype=np.uint8),
        np.frombuffer(b"[1, 2]", dtype=np.uint8),
        np.frombuffer(b"\xff\xfe", dtype=np.uint8),
        np.array('{"format": "scratchcnn-model"}'),
        np.zeros((2, 2), dtype=np.uint8),
    ],
)
def test_damaged_header(tmp_path: Path, raw: np.ndarray) -> None:
    path = tmp_path / "m.npz"
    np.savez(path, **{HEADER_KEY: raw})
    assert_model_file_error(path, "header")


def test_unknown_layer_type(tmp_path: Path) -> None:
    header, arrays = model_entries(make_model())
    header["config"]["layers"][2]["type"] = "Transformer"
    path = tmp_path / "m.npz"
    write_npz(path, header, arrays)
    assert_model_file_error(path, "'Transformer'", "does not know", "Conv2D")


def test_invalid_layer_arguments(tmp_path: Path) -> None:
    header, arrays = model_entries(make_model())
    header["config"]["layers"][0]["wings"] = 2
    path = tmp_path / "m.npz"
    write_npz(path, header, arrays)
    assert_model_file_error(path, "cannot be rebuilt", "wings")


def test_missing_array(tmp_path: Path) -> None:
    header, arrays = model_entries(make_model())
    del arrays["model/1.running_var"]
    path = tmp_path / "m.npz"
    write_npz(path, header, arrays)
    assert_model_file_error(path, "'model/1.running_var'", "missing")


def test_array_of_the_wrong_shape(tmp_path: Path) -> None:
    header, arrays = model_entries(make_model())
    arrays["model/6.weight"] = np.zeros((64, 4), dtype=np.float32)
    path = tmp_path / "m.npz"
    write_npz(path, header, arrays)
    assert_model_file_error(path, "'model/6.weight'", "(64, 4)", "(64, 5)")


def test_array_of_the_wrong_dtype(tmp_path: Path) -> None:
    header, arrays = model_entries(make_model())
    arrays["model/0.bias"] = arrays["model/0.bias"].astype(np.float64)
    path = tmp_path / "m.npz"
    write_npz(path, header, arrays)
    assert_model_file_error(path, "'model/0.bias'", "float64", "float32")


def test_big_endian_arrays_are_accepted(tmp_path: Path) -> None:
    model = make_model()
    header, arrays = model_entries(model)
    arrays = {k: v.astype(v.dtype.newbyteorder(">")) for k, v in arrays.items()}
    path = tmp_path / "m.npz"
    write_npz(path, header, arrays)
    x = batch()
    np.testing.assert_array_equal(load(path).predict_proba(x), model.predict_proba(x))


def test_extra_arrays(tmp_path: Path) -> None:
    header, arrays = model_entries(make_model())
    arrays["model/9.weight"] = np.zeros(3, dtype=np.float32)
    path = tmp_path / "m.npz"
    write_npz(path, header, arrays)
    assert_model_file_error(path, "'model/9.weight'", "do not belong")
    del arrays["model/9.weight"]
    arrays["optim/steps"] = np.asarray(3)
    write_npz(path, header, arrays)
    assert_model_file_error(path, "'optim/steps.npy'", "unexpected")


_UNPICKLED: list[str] = []


def _record_unpickling(tag: str) -> str:
    _UNPICKLED.append(tag)
    return tag


class Booby:
    """Unpickling this object calls ``_record_unpickling``."""

    def __reduce__(self):
        return (_record_unpickling, ("unpickled",))


def test_object_arrays_are_never_unpickled(tmp_path: Path) -> None:
    header, arrays = model_entries(make_model())
    arrays["model/0.bias"] = np.array([Booby()] * 4, dtype=object)
    path = tmp_path / "m.npz"
    write_npz(path, header, arrays)
    assert_model_file_error(path, "'model/0.bias.npy'", "pickle")
    header_only = tmp_path / "h.npz"
    np.savez(header_only, **{HEADER_KEY: np.array([Booby()], dtype=object)})
    assert_model_file_error(header_only, "pickle")
    with pytest.raises(ModelFileError, match="pickle"):
        read_header(header_only)
    assert _UNPICKLED == []


def test_errors_from_read_header_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "foreign.npz"
    np.savez(path, x=np.ones(2))
    with pytest.raises(ModelFileError) as info:
        read_header(path)
    assert str(path) in str(info.value)


def test_checkpoint_without_training_state_is_damaged(tmp_path: Path) -> None:
    header, arrays = model_entries(make_model())
    header["format"] = CHECKPOINT_FORMAT
    path = tmp_path / "c.npz"
    write_npz(path, header, arrays)
    with pytest.raises(ModelFileError, match="training_state"):
        load_checkpoint(path)


@pytest.mark.parametrize("where", ["zipfile.ZipFile.read", "numpy.lib.format.read_magic"])
def test_a_bug_in_a_reader_is_not_reported_as_a_damaged_file(
    saved: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    # Only what the readers raise on damaged bytes becomes ModelFileError; anything else
    # (here a KeyError, as a bug would raise; it once read "damaged file") keeps its
    # traceback.
    def bug(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(where, bug)
    with pytest.raises(KeyError, match="a bug"):
        load(saved)
