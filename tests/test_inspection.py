"""Feature maps and saliency come from the engine's own forward and backward passes."""

from __future__ import annotations

import numpy as np
from gradcheck import numerical_gradient, relative_error

from scratchcnn.inspection import layer_outputs, outputs_and_saliency_map, saliency, saliency_map
from scratchcnn.layers import BatchNorm2D, Conv2D, Dense, Flatten, MaxPool2D, ReLU
from scratchcnn.model import Sequential


def small_model(rng: np.random.Generator) -> Sequential:
    return Sequential(
        [
            Conv2D(1, 4, 3, padding="same", rng=rng, dtype=np.float64),
            BatchNorm2D(4, dtype=np.float64),
            ReLU(),
            MaxPool2D(2),
            Flatten(),
            Dense(4 * 4 * 4, 3, rng=rng, dtype=np.float64),
        ],
        input_shape=(8, 8, 1),
    )


def test_layer_outputs_are_each_layers_forward_and_end_in_the_logits():
    rng = np.random.default_rng(0)
    model = small_model(rng)
    x = rng.standard_normal((2, 8, 8, 1))
    outputs = layer_outputs(model, x)
    assert [name.split()[0] for name, _ in outputs] == [str(i) for i in range(len(model))]
    assert [out.shape[1:] for _, out in outputs] == [tuple(s) for s in model.output_shapes()]
    np.testing.assert_array_equal(outputs[-1][1], model.forward(x))


def test_saliency_is_the_input_gradient_of_the_class_score_at_inference():
    rng = np.random.default_rng(1)
    model = small_model(rng)
    bn = model[1]
    bn.buffers["running_mean"][...] = rng.standard_normal(4)
    bn.buffers["running_var"][...] = rng.uniform(0.5, 2.0, 4)
    x = rng.standard_normal((1, 8, 8, 1))
    grad, classes = saliency(model, x, target=2)
    assert classes.tolist() == [2]
    assert model.input_grad is False  # restored

    numeric = numerical_gradient(lambda: float(model.forward(x)[0, 2]), x)
    assert relative_error(grad, numeric) < 1e-6


def test_saliency_is_largest_on_the_pixels_the_answer_depends_on():
    # A linear model that reads only a 3x3 block: its class scores ignore every other pixel,
    # so the map must be zero outside the block and peak inside it.
    rng = np.random.default_rng(2)
    dense = Dense(8 * 8, 2, rng=rng)
    dense.params["weight"][...] = 0
    block = np.zeros((8, 8), dtype=bool)
    block[2:5, 5:8] = True
    dense.params["weight"][block.reshape(-1), 1] = rng.uniform(0.5, 1.0, 9)
    model = Sequential([Flatten(), dense], input_shape=(8, 8, 1))
    x = rng.uniform(0, 1, (3, 8, 8, 1)).astype(np.float32)
    maps = saliency_map(model, x, target=1)
    assert maps.shape == (3, 8, 8)
    assert np.all(maps[:, ~block] == 0)
    assert np.all(maps[:, block] > 0)
    assert np.allclose(maps.reshape(3, -1).max(axis=1), 1.0)


def test_one_pass_gives_the_layer_outputs_and_saliency_of_two():
    """The explainer's single forward pass: the same outputs and saliency as
    layer_outputs and saliency_map, each with its own forward pass (fused Conv-ReLU-Pool
    steps in the latter), in float64."""
    rng = np.random.default_rng(4)
    model = Sequential(
        [
            Conv2D(1, 4, 3, padding="same", rng=rng, dtype=np.float64),
            ReLU(),
            MaxPool2D(2),
            BatchNorm2D(4, dtype=np.float64),
            Flatten(),
            Dense(4 * 4 * 4, 3, rng=rng, dtype=np.float64),
        ],
        input_shape=(8, 8, 1),
    )
    model.layers[3].buffers["running_mean"][:] = rng.standard_normal(4)
    x = rng.standard_normal((3, 8, 8, 1))
    outputs, saliency_one_pass = outputs_and_saliency_map(model, x)
    for (name, out), (expected_name, expected) in zip(outputs, layer_outputs(model, x)):
        assert name == expected_name
        np.testing.assert_array_equal(out, expected)
    np.testing.assert_allclose(saliency_one_pass, saliency_map(model, x), rtol=1e-12, atol=1e-15)
    assert not model.input_grad  # put back as it was
