"""Optimisers and schedules: closed-form checks, and PyTorch as a reference where present."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scratchcnn.optim import SGD, Adam, AdamW, CosineLR, OneCycleLR, StepLR
from scratchcnn.parameter import Parameter


def make_params(seed: int = 0) -> list[Parameter]:
    rng = np.random.default_rng(seed)
    return [
        Parameter("0.weight", rng.standard_normal((3, 4)), np.zeros((3, 4)), decay=True),
        Parameter("0.bias", rng.standard_normal(4), np.zeros(4), decay=False),
    ]


def run(optimizer, params, grads_per_step):
    for grads in grads_per_step:
        for p, g in zip(params, grads):
            p.grad[...] = g
        optimizer.step()


def random_grads(params, steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(p.value.shape) for p in params] for _ in range(steps)]


def test_plain_sgd_is_p_minus_lr_g():
    params = make_params()
    start = [p.value.copy() for p in params]
    grads = random_grads(params, 1)
    run(SGD(params, lr=0.1), params, grads)
    for p, s, g in zip(params, start, grads[0]):
        np.testing.assert_allclose(p.value, s - 0.1 * g)


def test_optimisers_update_in_place_the_arrays_layers_hold():
    params = make_params()
    held = [p.value for p in params]
    run(Adam(params, lr=0.01), params, random_grads(params, 2))
    assert all(p.value is h for p, h in zip(params, held))


def test_state_dict_round_trip_resumes_identically():
    grads = random_grads(make_params(), 6)
    params_a = make_params()
    opt_a = Adam(params_a, lr=0.01, weight_decay=0.1)
    run(opt_a, params_a, grads)

    params_b = make_params()
    opt_b = Adam(params_b, lr=0.01, weight_decay=0.1)
    run(opt_b, params_b, grads[:3])
    saved_state = {k: v.copy() for k, v in opt_b.state_dict().items()}
    saved_values = [p.value.copy() for p in params_b]
    params_c = make_params()
    for p, v in zip(params_c, saved_values):
        p.value[...] = v
    opt_c = Adam(params_c, lr=0.01, weight_decay=0.1)
    opt_c.load_state_dict(saved_state)
    run(opt_c, params_c, grads[3:])
    for a, c in zip(params_a, params_c):
        np.testing.assert_array_equal(a.value, c.value)


@pytest.mark.parametrize("lr", [0.0, -1.0])
def test_bad_learning_rate_is_refused(lr):
    with pytest.raises(ValueError, match="learning rate must be positive"):
        SGD(make_params(), lr=lr)


def test_step_and_cosine_schedules_closed_form():
    step = StepLR(0.1, step_size=10, gamma=0.5)
    assert [step(t) for t in (0, 9, 10, 25)] == [0.1, 0.1, 0.05, 0.025]
    cosine = CosineLR(1.0, total_steps=100, min_lr=0.0, warmup_steps=10)
    assert cosine(0) == pytest.approx(0.1)
    assert cosine(9) == pytest.approx(1.0)
    assert cosine(10) == pytest.approx(1.0)
    assert cosine(55) == pytest.approx(0.5)
    assert cosine(100) == pytest.approx(0.0, abs=1e-12)


torch = pytest.importorskip("torch", reason="PyTorch is not installed; `pip install torch==2.13.0`")


def torch_run(make_optimizer, params, grads_per_step, weight_decay_mask):
    tensors = [torch.tensor(p.value.copy(), requires_grad=True) for p in params]
    groups = [
        {"params": [t for t, d in zip(tensors, weight_decay_mask) if d]},
        {"params": [t for t, d in zip(tensors, weight_decay_mask) if not d], "weight_decay": 0.0},
    ]
    optimizer = make_optimizer(groups)
    for grads in grads_per_step:
        for t, g in zip(tensors, grads):
            t.grad = torch.tensor(g)
        optimizer.step()
    return [t.detach().numpy() for t in tensors]


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda p: SGD(p, lr=0.1), lambda g: torch.optim.SGD(g, lr=0.1)),
        (
            lambda p: SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01),
            lambda g: torch.optim.SGD(g, lr=0.05, momentum=0.9, weight_decay=0.01),
        ),
        (
            lambda p: SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
            lambda g: torch.optim.SGD(g, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
        ),
        (
            lambda p: Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.05),
            lambda g: torch.optim.Adam(g, lr=0.01, betas=(0.8, 0.99), weight_decay=0.05),
        ),
        (
            lambda p: AdamW(p, lr=0.01, weight_decay=0.1),
            lambda g: torch.optim.AdamW(g, lr=0.01, weight_decay=0.1),
        ),
    ],
    ids=["sgd", "momentum", "nesterov", "adam", "adamw"],
)
def test_optimisers_match_torch(ours, theirs):
    params = make_params()
    grads = random_grads(params, 8)
    expected = torch_run(theirs, params, grads, [p.decay for p in params])
    run(ours(params), params, grads)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.value, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("pct_start", [0.25, 0.3, 0.5])
def test_one_cycle_matches_torch(pct_start):
    total = 50
    ours = OneCycleLR(0.4, total, pct_start=pct_start)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=0.4,
        total_steps=total,
        pct_start=pct_start,
        anneal_strategy="cos",
        cycle_momentum=False,
    )
    theirs = []
    for _ in range(total):
        theirs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose([ours(t) for t in range(total)], theirs, rtol=1e-9)


def test_cosine_matches_torch_cosine_annealing():
    total = 40
    ours = CosineLR(0.3, total, min_lr=0.01)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, eta_min=0.01)
    theirs = []
    for _ in range(total):
        theirs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose([ours(t) for t in range(total)], theirs, rtol=1e-9)
    assert math.isclose(ours(total), 0.01)
