"""ONNX export and import, checked by the reference runtime (ONNX Runtime) and by PyTorch.

Tolerance. ONNX Runtime and scratchcnn both compute in float32 but sum in different
orders (MLAS kernels against NumPy's BLAS). A float32 sum of ``n`` products is off by
about ``sqrt(n) * u`` (``u = 6e-8``) times the sum of the magnitudes, at most a few 1e-6
relative for the sums here (n <= 1152); a probability moves by at most half the largest
logit error (``dp_i/dz_j = p_i (delta_ij - p_j)``). So probabilities must agree to 1e-5
absolute, and logits to 1e-5 relative to the largest logit (plus 1e-5 absolute).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scratchcnn
from scratchcnn import functional as F
from scratchcnn.cli import main
from scratchcnn.export import ExportError, ir_version_for, to_onnx
from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, ReLU
from scratchcnn.model import Sequential
from scratchcnn.persistence import save
from scratchcnn.preprocessing import normalize
from scratchcnn.presets import PRESETS, build_model

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

DOC = Path(__file__).resolve().parents[1] / "docs" / "export.md"
PREPROCESSING = {"scale": 1 / 255, "mean": 0.1307, "std": 0.3081}


def randomise_batch_norm(model: Sequential, rng: np.random.Generator) -> Sequential:
    """BatchNorm with statistics far from the defaults (0 and 1), so using them is tested."""
    for layer in model.layers:
        if isinstance(layer, BatchNorm2D):
            c = layer.channels
            layer.buffers["running_mean"][...] = rng.normal(0, 0.5, c)
            layer.buffers["running_var"][...] = rng.uniform(0.3, 3.0, c)
            layer.params["weight"][...] = rng.uniform(0.5, 1.5, c)
            layer.params["bias"][...] = rng.normal(0, 0.2, c)
    return model


def run_onnx(path: Path, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    probabilities, logits = session.run(["probabilities", "logits"], {"pixels": pixels})
    return probabilities, logits


def assert_agrees(model: Sequential, path: Path, pixels: np.ndarray) -> None:
    """ONNX Runtime on raw pixels against the engine on normalised inputs."""
    x = normalize(pixels, model.metadata.get("preprocessing"))
    expected_logits = model.predict_logits(x)
    probabilities, logits = run_onnx(path, pixels.astype(np.float32))
    np.testing.assert_allclose(probabilities, model.predict_proba(x), rtol=0, atol=1e-5)
    scale = max(1.0, float(np.abs(expected_logits).max()))
    np.testing.assert_allclose(logits, expected_logits, rtol=0, atol=1e-5 * scale)


def random_pixels(rng: np.random.Generator, n: int, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, 256, size=(n, *shape)).astype(np.float32)


# --- presets --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_runs_in_onnx_runtime_as_in_scratchcnn(name, tmp_path):
    rng = np.random.default_rng(1)
    model = randomise_batch_norm(build_model(name, seed=3), rng)
    model.metadata["preprocessing"] = PREPROCESSING
    path = scratchcnn.export_onnx(model, tmp_path / f"{name}.onnx")
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert_agrees(model, path, random_pixels(rng, 9, (28, 28, 1)))
    ops = [node.op_type for node in proto.graph.node]
    assert "Dropout" not in ops
    props = {p.key: json.loads(p.value) for p in proto.metadata_props}
    assert props["preset"] == name and props["preprocessing"]["std"] == 0.3081


def test_the_graph_takes_raw_nhwc_pixels_with_a_free_batch_size(tmp_path):
    model = build_model("lenet", seed=0)
    path = scratchcnn.export_onnx(model, tmp_path / "lenet.onnx")
    proto = onnx.load(str(path))
    (graph_input,) = proto.graph.input
    dims = graph_input.type.tensor_type.shape.dim
    assert graph_input.name == "pixels"
    assert dims[0].dim_param == "N" and [d.dim_value for d in dims[1:]] == [28, 28, 1]
    assert [o.name for o in proto.graph.output] == ["probabilities", "logits"]
    rng = np.random.default_rng(0)
    for batch in (1, 5, 300):  # 300: more than predict's batch of 256
        assert_agrees(model, path, random_pixels(rng, batch, (28, 28, 1)))


def test_the_default_preprocessing_is_used_when_the_model_records_none(tmp_path):
    model = build_model("classic", seed=0)
    assert "preprocessing" not in model.metadata
    path = scratchcnn.export_onnx(model, tmp_path / "m.onnx")
    assert_agrees(model, path, random_pixels(np.random.default_rng(0), 4, (28, 28, 1)))


def test_per_channel_preprocessing_on_colour_images(tmp_path):
    rng = np.random.default_rng(2)
    model = Sequential(
        [Conv2D(3, 4, 3, rng=rng), ReLU(), Flatten(), Dense(6 * 6 * 4, 5, rng=rng)],
        input_shape=(8, 8, 3),
    )
    model.metadata["preprocessing"] = {
        "scale": 1 / 255,
        "mean": [0.4, 0.5, 0.6],
        "std": [0.2, 0.25, 0.3],
    }
    path = scratchcnn.export_onnx(model, tmp_path / "rgb.onnx")
    assert_agrees(model, path, random_pixels(rng, 6, (8, 8, 3)))
    back = scratchcnn.import_onnx(path)
    assert back.metadata["preprocessing"]["mean"] == pytest.approx([0.4, 0.5, 0.6], rel=1e-7)


# --- the format's traps ---------------------------------------------------------------------


def test_conv_kernels_are_written_out_in_kh_kw(tmp_path):
    model = Sequential([Conv2D(2, 3, (2, 4), rng=0), Flatten()], input_shape=(5, 6, 2))
    proto = to_onnx(model)
    weight = next(t for t in proto.graph.initializer if t.name == "layer0_weight")
    stored = onnx.numpy_helper.to_array(weight)
    assert stored.shape == (3, 2, 2, 4)
    np.testing.assert_array_equal(stored, model.layers[0].params["weight"].transpose(3, 2, 0, 1))


def test_asymmetric_same_padding_becomes_explicit_pads(tmp_path):
    # 3x3, stride 2 on 28: 14 outputs need (13*2 + 3) - 28 = 1 extra row: bottom, not top.
    rng = np.random.default_rng(4)
    model = Sequential(
        [
            Conv2D(1, 4, 3, stride=2, padding="same", rng=rng),
            Flatten(),
            Dense(14 * 14 * 4, 10, rng=rng),
        ],
        input_shape=(28, 28, 1),
    )
    assert F.resolve_padding("same", (3, 3), (2, 2), (28, 28)) == (0, 1, 0, 1)
    path = scratchcnn.export_onnx(model, tmp_path / "same.onnx")
    conv = next(n for n in onnx.load(str(path)).graph.node if n.op_type == "Conv")
    pads = next(a for a in conv.attribute if a.name == "pads").ints
    assert list(pads) == [0, 0, 1, 1]  # top, left, bottom, right
    assert not any(a.name == "auto_pad" for a in conv.attribute)
    assert_agrees(model, path, random_pixels(rng, 5, (28, 28, 1)))


def test_flatten_sees_nhwc_order_so_dense_weights_keep_theirs(tmp_path):
    # Several channels and a non-square map: any NCHW flatten would scramble the features.
    rng = np.random.default_rng(5)
    model = Sequential(
        [Conv2D(1, 3, 3, rng=rng), Flatten(), Dense(4 * 5 * 3, 7, rng=rng)], input_shape=(6, 7, 1)
    )
    proto = to_onnx(model)
    ops = [
        (n.op_type, [list(a.ints) for a in n.attribute if a.name == "perm"])
        for n in proto.graph.node
    ]
    flatten_at = [op for op, _ in ops].index("Flatten")
    assert ops[flatten_at - 1] == ("Transpose", [[0, 2, 3, 1]])
    path = tmp_path / "order.onnx"
    scratchcnn.export_onnx(model, path)
    assert_agrees(model, path, random_pixels(rng, 5, (6, 7, 1)))


@pytest.mark.parametrize(("opset", "ir_version"), [(13, 7), (17, 8), (21, 10)])
def test_the_ir_version_is_the_oldest_that_knows_the_opset(opset, ir_version, tmp_path):
    assert ir_version_for(opset) == ir_version
    model = build_model("classic", seed=0)
    path = scratchcnn.export_onnx(model, tmp_path / f"opset{opset}.onnx", opset=opset)
    proto = onnx.load(str(path))
    assert proto.ir_version == ir_version < onnx.IR_VERSION
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", opset)]
    onnx.checker.check_model(proto, full_check=True)
    assert_agrees(model, path, random_pixels(np.random.default_rng(0), 3, (28, 28, 1)))


# --- random architectures -------------------------------------------------------------------


@st.composite
def architectures(draw: st.DrawFn) -> Sequential:
    """Convolution stacks with strides, all paddings, odd sizes, BatchNorm and Dropout,
    followed by one to three dense layers."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (draw(st.integers(3, 17)), draw(st.integers(3, 17)), draw(st.integers(1, 3)))
    input_shape = shape
    layers: list[Layer] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["conv", "conv", "pool", "batchnorm", "relu", "dropout"]))
        h, w, c = shape
        if kind == "conv":
            kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
            stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
            padding = draw(
                st.sampled_from(["same", "valid"])
                | st.integers(0, 2)
                | st.tuples(st.integers(0, 2), st.integers(0, 2))
            )
            layer: Layer = Conv2D(c, draw(st.integers(1, 5)), kernel, stride, padding,
                                  bias=draw(st.booleans()), rng=rng)  # fmt: skip
            top, bottom, left, right = F.resolve_padding(padding, kernel, stride, (h, w))
            if h + top + bottom < kernel[0] or w + left + right < kernel[1]:
                continue
        elif kind == "pool":
            pool = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
            if pool[0] > h or pool[1] > w:
                continue
            stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
            layer = MaxPool2D(pool, stride)
        elif kind == "batchnorm":
            layer = BatchNorm2D(c, eps=draw(st.sampled_from([1e-5, 1e-3])))
        elif kind == "relu":
            layer = ReLU()
        else:
            layer = Dropout(0.5, rng=rng)
        shape = layer.output_shape(shape)
        layers.append(layer)
    layers.append(Flatten())
    features = int(np.prod(shape))
    for _ in range(draw(st.integers(0, 2))):
        hidden = draw(st.integers(1, 12))
        layers += [Dense(features, hidden, bias=draw(st.booleans()), rng=rng), ReLU()]
        if draw(st.booleans()):
            layers.append(Dropout(0.2, rng=rng))
        features = hidden
    layers.append(Dense(features, draw(st.integers(2, 10)), rng=rng))
    model = randomise_batch_norm(Sequential(layers, input_shape=input_shape), rng)
    per_channel = draw(st.booleans())
    channels = input_shape[2]
    model.metadata["preprocessing"] = {
        "scale": 1 / 255,
        "mean": [0.5] * channels if per_channel else 0.2,
        "std": [0.25] * channels if per_channel else 0.3,
    }
    return model


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(model=architectures(), seed=st.integers(0, 2**16))
def test_random_architectures_agree_with_onnx_runtime_and_round_trip(model, seed, tmp_path):
    path = tmp_path / "random.onnx"
    scratchcnn.export_onnx(model, path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    pixels = random_pixels(np.random.default_rng(seed), 4, model.input_shape)
    assert_agrees(model, path, pixels)
    back = scratchcnn.import_onnx(path)
    assert back.input_shape == model.input_shape
    # The same layers with the same float32 weights: the very same numbers.
    np.testing.assert_array_equal(
        back.predict_logits(normalize(pixels, back.metadata["preprocessing"])),
        model.predict_logits(normalize(pixels, model.metadata["preprocessing"])),
    )


# --- import ---------------------------------------------------------------------------------


def test_import_round_trip_keeps_layers_weights_and_metadata(tmp_path):
    rng = np.random.default_rng(6)
    model = randomise_batch_norm(build_model("best", seed=2), rng)
    model.metadata.update(
        {"preprocessing": PREPROCESSING, "dataset": "mnist", "class_names": list("0123456789")}
    )
    path = scratchcnn.export_onnx(model, tmp_path / "best.onnx")
    back = scratchcnn.import_onnx(path)
    no_dropout = [type(layer) for layer in model.layers if not isinstance(layer, Dropout)]
    assert [type(layer) for layer in back.layers] == no_dropout
    for key in ("preset", "dataset", "class_names"):
        assert back.metadata[key] == model.metadata[key]
    pixels = random_pixels(rng, 6, (28, 28, 1))
    np.testing.assert_array_equal(
        back.predict_proba(normalize(pixels, back.metadata["preprocessing"])),
        model.predict_proba(normalize(pixels, PREPROCESSING)),
    )
    # Saved as a scratchcnn model file, it is an ordinary model for report and serve.
    save(back, tmp_path / "back.npz")
    assert scratchcnn.load(tmp_path / "back.npz").metadata["preset"] == "best"


def torch_reference_net(torch, with_softmax: bool):
    """A PyTorch CNN on NCHW pixels with its own normalisation, every op we import."""
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # 28 -> 14
                # BatchNorm right after a Conv would be folded into it by the exporter.
                nn.BatchNorm2d(6), nn.Conv2d(6, 16, 3, stride=2, bias=False), nn.ReLU(),  # -> 6
                nn.Dropout(0.3), nn.Flatten(),
                nn.Linear(6 * 6 * 16, 32), nn.ReLU(), nn.Linear(32, 10),
            )  # fmt: skip

        def forward(self, x):
            x = (x / 255.0 - 0.1307) / 0.3081
            x = self.features(x)
            return torch.softmax(x, dim=1) if with_softmax else x

    torch.manual_seed(0)
    net = Net()
    with torch.no_grad():
        bn = net.features[3]
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    return net.eval()


@pytest.mark.parametrize("with_softmax", [False, True])
def test_a_pytorch_nchw_graph_imports_and_predicts_like_pytorch(with_softmax, tmp_path):
    torch = pytest.importorskip("torch")
    net = torch_reference_net(torch, with_softmax)
    path = tmp_path / "torch.onnx"
    with contextlib.redirect_stderr(io.StringIO()), pytest.warns(DeprecationWarning):
        torch.onnx.export(
            net, (torch.zeros(1, 1, 28, 28),), str(path), dynamo=False, opset_version=17,
            input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "N"}},
        )  # fmt: skip
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"Conv", "MaxPool", "BatchNormalization", "Flatten", "Gemm", "Div", "Sub"} <= ops
    model = scratchcnn.import_onnx(path)
    assert model.input_shape == (28, 28, 1)
    rng = np.random.default_rng(7)
    pixels_nhwc = random_pixels(rng, 8, (28, 28, 1))
    with torch.no_grad():
        out = net(torch.from_numpy(pixels_nhwc.transpose(0, 3, 1, 2).copy())).numpy()
        expected = out if with_softmax else torch.softmax(torch.from_numpy(out), 1).numpy()
    ours = model.predict_proba(normalize(pixels_nhwc, model.metadata["preprocessing"]))
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-5)
    # And back out again: our export of the imported model agrees with ONNX Runtime too.
    assert_agrees(model, scratchcnn.export_onnx(model, tmp_path / "again.onnx"), pixels_nhwc)


def hand_built_graph(nodes, initializers, input_shape=(None, 1, 4, 4), output="y", **graph_kw):
    helper = onnx.helper
    graph = helper.make_graph(
        nodes,
        "hand",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", *input_shape[1:]])],
        [helper.make_tensor_value_info(output, onnx.TensorProto.FLOAT, None)],
        [
            onnx.numpy_helper.from_array(np.asarray(v, np.float32), k)
            for k, v in initializers.items()
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_reshape_and_matmul_plus_add_import_as_flatten_and_dense(tmp_path):
    rng = np.random.default_rng(8)
    weight, bias = rng.normal(size=(2 * 3 * 3, 4)), rng.normal(size=4)
    kernel = rng.normal(size=(2, 1, 2, 2))
    h = onnx.helper
    proto = hand_built_graph(
        [
            h.make_node("Conv", ["x", "k"], ["c"], name="conv", kernel_shape=[2, 2]),
            h.make_node("Reshape", ["c", "shape"], ["f"], name="flat"),
            h.make_node("MatMul", ["f", "w"], ["m"], name="matmul"),
            h.make_node("Add", ["b", "m"], ["y"], name="bias"),
        ],
        {"k": kernel, "w": weight, "b": bias},
    )
    proto.graph.initializer.append(
        onnx.numpy_helper.from_array(np.array([-1, 18], np.int64), "shape")
    )
    path = tmp_path / "hand.onnx"
    onnx.save(proto, str(path))
    model = scratchcnn.import_onnx(path)
    assert [type(layer) for layer in model.layers] == [Conv2D, Flatten, Dense]
    assert "bias" in model.layers[2].params
    x_nchw = rng.uniform(0, 255, size=(3, 1, 4, 4)).astype(np.float32)
    (expected,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"x": x_nchw}
    )
    ours = model.predict_logits(
        normalize(x_nchw.transpose(0, 2, 3, 1), model.metadata["preprocessing"])
    )
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


@pytest.mark.parametrize(
    ("node", "fragment"),
    [
        (("AveragePool", {"kernel_shape": [2, 2]}), "'pool' uses AveragePool"),
        (("Conv", {"kernel_shape": [1, 1], "group": 1, "dilations": [2, 2]}), "dilations"),
        (("Conv", {"kernel_shape": [1, 1], "pads": [1, 0, 0, 0]}), "asymmetric pads"),
        (("MaxPool", {"kernel_shape": [2, 2], "ceil_mode": 1}), "ceil_mode"),
        (("Softmax", {"axis": 1}), "Softmax"),
    ],
)
def test_unsupported_operations_name_the_operation_and_node(node, fragment, tmp_path):
    op, attributes = node
    inputs = ["x", "k"] if op == "Conv" else ["x"]
    proto = hand_built_graph(
        [onnx.helper.make_node(op, inputs, ["y"], name="pool", **attributes)],
        {"k": np.ones((1, 1, 1, 1))},
    )
    path = tmp_path / "bad.onnx"
    onnx.save(proto, str(path))
    with pytest.raises(ExportError, match=re.escape(fragment)) as info:
        scratchcnn.import_onnx(path)
    assert "bad.onnx" in str(info.value) and op in str(info.value)


def test_a_branching_graph_is_refused(tmp_path):
    h = onnx.helper
    proto = hand_built_graph(
        [
            h.make_node("Relu", ["x"], ["a"], name="left"),
            h.make_node("Relu", ["x"], ["b"], name="right"),
            h.make_node("Add", ["a", "b"], ["y"], name="join"),
        ],
        {},
    )
    path = tmp_path / "branch.onnx"
    onnx.save(proto, str(path))
    with pytest.raises(ExportError, match=r"'right'.*single chain"):
        scratchcnn.import_onnx(path)


def test_a_file_that_is_not_onnx_gets_a_clear_error(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x00\xffnot a protobuf at all" * 10)
    with pytest.raises(ExportError, match=re.escape("junk.onnx is not a readable ONNX model")):
        scratchcnn.import_onnx(path)


# --- export errors --------------------------------------------------------------------------


class Squash(Layer):
    """A user's own layer, which ONNX export cannot know."""

    def forward(self, x, training=False):
        return np.tanh(x)


def test_a_layer_of_ones_own_gets_an_error_naming_it(tmp_path):
    model = Sequential([Flatten(), Squash(), Dense(784, 10, rng=0)], input_shape=(28, 28, 1))
    with pytest.raises(ExportError, match=r"layer 1 \(Squash\(\)\) has no ONNX equivalent"):
        scratchcnn.export_onnx(model, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_a_model_that_does_not_end_in_class_scores_is_refused(tmp_path):
    model = Sequential([Conv2D(1, 2, 3, rng=0)], input_shape=(28, 28, 1))
    with pytest.raises(ExportError, match="not one score per class"):
        scratchcnn.export_onnx(model, tmp_path / "x.onnx")


@pytest.mark.parametrize("opset", [12, 999])
def test_an_opset_out_of_range_is_refused(opset, tmp_path):
    with pytest.raises(ExportError, match=f"opset {opset}: choose an opset from 13 to"):
        scratchcnn.export_onnx(build_model("classic"), tmp_path / "x.onnx", opset=opset)


def test_without_onnx_the_error_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    for call in (
        lambda: scratchcnn.export_onnx(build_model("classic"), tmp_path / "x.onnx"),
        lambda: scratchcnn.import_onnx(tmp_path / "x.onnx"),
    ):
        with pytest.raises(ExportError, match=re.escape("pip install 'scratchcnn[onnx]'")):
            call()


def test_importing_scratchcnn_does_not_import_onnx():
    code = "import sys, scratchcnn; scratchcnn.export_onnx; scratchcnn.import_onnx; print('onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- command line ---------------------------------------------------------------------------


def test_cli_export_writes_next_to_the_model_by_default(tmp_path, capsys):
    model = build_model("lenet", seed=1)
    save(model, tmp_path / "digits.npz")
    assert main(["export", str(tmp_path / "digits.npz")]) == 0
    assert "digits.onnx" in capsys.readouterr().out
    assert_agrees(
        model, tmp_path / "digits.onnx", random_pixels(np.random.default_rng(0), 3, (28, 28, 1))
    )
    elsewhere = tmp_path / "out" / "m.onnx"
    assert (
        main(["export", str(tmp_path / "digits.npz"), "-o", str(elsewhere), "--opset", "13"]) == 0
    )
    assert onnx.load(str(elsewhere)).opset_import[0].version == 13
    written = sorted(p.name for p in tmp_path.rglob("*"))
    assert written == ["digits.npz", "digits.onnx", "m.onnx", "out"]  # no temporary files left


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["{d}/missing.npz"], "missing.npz"),
        (["{d}/digits.npz", "--opset", "12"], "opset 12"),
        (["{d}/digits.npz", "--opset", "zero"], "--opset"),
    ],
)
def test_cli_export_errors_are_one_line(args, fragment, tmp_path, capsys):
    save(build_model("classic"), tmp_path / "digits.npz")
    status = main(["export", *[a.format(d=tmp_path) for a in args]])
    err = capsys.readouterr().err
    assert status in (1, 2) and fragment in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "digits.onnx").exists()


# --- the documentation's example ------------------------------------------------------------


def test_the_docs_onnx_runtime_example_runs(tmp_path, monkeypatch):
    from PIL import Image

    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    example = next(b for b in blocks if "onnxruntime" in b)
    assert len(example.strip().splitlines()) == 5
    from scratchcnn import datasets

    images, labels = datasets.load("mnist-sample", "test", limit=50)
    seven = images[int(np.flatnonzero(labels == 7)[0])]
    Image.fromarray(seven).save(tmp_path / "seven.png")
    model = build_model("lenet", seed=5)
    model.metadata["preprocessing"] = PREPROCESSING
    scratchcnn.export_onnx(model, tmp_path / "digits.onnx")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, str(DOC), "exec"), {})
    expected = model.predict(normalize(seven[None], PREPROCESSING))
    assert out.getvalue().strip() == str(expected)


# --- MNIST --------------------------------------------------------------------------------


@pytest.mark.slow
def test_mnist_test_accuracy_through_onnx_runtime_equals_evaluate(shared_data_dir, tmp_path):
    from scratchcnn import datasets
    from scratchcnn.training import TrainConfig, Trainer, evaluate

    train_images, train_labels = datasets.load("mnist", "train", shared_data_dir, limit=6000)
    test_images, test_labels = datasets.load("mnist", "test", shared_data_dir)
    model = build_model("classic", seed=0)
    config = TrainConfig(epochs=1, batch_size=32, lr=0.01, optimizer="sgd", momentum=0.9)
    Trainer(model, config).fit(train_images, train_labels)
    result = evaluate(model, test_images, test_labels)
    path = scratchcnn.export_onnx(model, tmp_path / "mnist.onnx")
    probabilities, _ = run_onnx(path, test_images[..., None].astype(np.float32))
    onnx_accuracy = float(np.mean(probabilities.argmax(axis=1) == test_labels))
    assert result.accuracy > 0.9
    assert onnx_accuracy == result.accuracy
