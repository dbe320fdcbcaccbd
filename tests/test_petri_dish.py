"""The Synthetic Petri Dish: masking, gradients, batching, learning (Rawal et al. 2020)."""

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

from spdbench.oracles.synthetic import SyntheticSlopeOracle
from spdbench.predictors import Context
from spdbench.predictors.inner_loop import inner_train, inner_valid_loss, unrolled_valid_loss
from spdbench.predictors.petri_dish import PetriDish, PetriDishUntrained, outer_loss
from spdbench.spaces.motifs import MotifNetworks
from spdbench.spaces.slope import SlopeSpace

SPACE = SlopeSpace()
FAST = dict(inner_steps=40, outer_steps=8)


def _setup(slopes, *, n_samples=6, width=4, hidden=2, dtype=torch.float64, seed=0):
    nets = SPACE.motif_networks(
        np.array(slopes)[:, None], hidden=hidden, in_width=width, out_width=width
    )
    gen = torch.Generator().manual_seed(seed)
    theta0 = nets.init_params(gen, 1.0, dtype)
    x = torch.randn(n_samples, width, generator=gen, dtype=dtype)
    labels = (torch.rand(n_samples, width, generator=gen) < 0.5).to(dtype)
    return nets, theta0, x, labels


def test_motif_network_count_and_shapes():
    nets, theta0, x, _ = _setup([0.1, 0.5, 1.0], width=10, hidden=1)
    assert theta0.shape == (nets.n_params,) and nets.n_params == 10 + 1 + 10 + 10  # W1, b1, W2, b2
    assert nets.forward(theta0.expand(3, -1), x).shape == (3, 6, 10)


def test_changing_one_motif_leaves_the_others_untouched():
    """The masking property (App. A.2.2): no activation or gradient crosses networks."""
    a_nets, theta0, x, labels = _setup([0.2, 0.7, 1.3])
    b_nets, *_ = _setup([0.2, 1.9, 1.3])
    results = []
    for nets in (a_nets, b_nets):
        xt = x.clone().requires_grad_()
        theta = inner_train(nets, theta0, xt, labels, steps=15, lr=0.01, l2=1e-5)
        others = nets.forward(theta, x)[[0, 2]]
        (grad,) = torch.autograd.grad(others.sum(), xt)
        results.append((theta[[0, 2]].detach(), others.detach(), grad))
    for before, after in zip(results[0], results[1], strict=True):
        torch.testing.assert_close(before, after, rtol=0, atol=1e-12)
    assert not torch.allclose(
        inner_train(a_nets, theta0, x, labels, 15, 0.01, 1e-5)[1],
        inner_train(b_nets, theta0, x, labels, 15, 0.01, 1e-5)[1],
    )


def test_super_network_equals_one_by_one():
    slopes = [0.05, 0.4, 0.9, 1.6]
    nets, theta0, x, labels = _setup(slopes, dtype=torch.float32)
    batched = inner_valid_loss(nets, theta0, x, x * 0.5, labels, 50, 0.01, 1e-5)
    alone = torch.cat(
        [
            inner_valid_loss(
                nets.subset(torch.tensor([i])), theta0, x, x * 0.5, labels, 50, 0.01, 1e-5
            )
            for i in range(len(slopes))
        ]
    )
    torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-6)


def test_closed_form_inner_gradient_matches_autograd():
    nets, theta0, x, labels = _setup([0.3, 1.1], hidden=3)
    theta = theta0.expand(2, -1) + 0.1 * torch.randn(2, nets.n_params, dtype=torch.float64)
    closed = nets.loss_grad(theta, x, labels)
    generic = MotifNetworks.loss_grad(nets, theta, x, labels)
    torch.testing.assert_close(closed, generic, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("objective", ["mse", "rank"])
def test_fused_kernel_equals_autograd_through_the_unrolled_loop(objective):
    """The slope networks' compiled inner loop and hand-written reverse pass (slope_kernel)
    give autograd's losses and gradients w.r.t. S_train and S_valid."""
    nets, theta0, x, labels = _setup([0.1, 0.6, 1.2, 1.8], n_samples=5, width=4, hidden=2)
    truth = torch.tensor([2.0, 0.5, 0.4, 0.8], dtype=torch.float64)
    results = []
    for valid_loss in (inner_valid_loss, unrolled_valid_loss):
        xt, xv = x.clone().requires_grad_(), (x + 0.1).clone().requires_grad_()
        losses = valid_loss(nets, theta0, xt, xv, labels, 30, 0.05, 1e-3)
        grads = torch.autograd.grad(outer_loss(losses, truth, objective), [xt, xv])
        results.append((losses, *grads))
    assert results[0][0].grad_fn.name().endswith("FusedInnerLoopBackward")
    for got, want in zip(*results, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


def test_fused_kernel_takes_float32_data_and_gives_autograds_gradient():
    """float32 synthetic data (the dish's default): the kernel computes in float64 and gives
    float32 losses and gradients, autograd's up to float32 rounding, also when only S_valid
    requires grad; where it cannot run (theta0 requiring grad) autograd does."""
    square, *_ = _setup([0.3, 0.9, 1.4], width=4, hidden=2, dtype=torch.float32)
    wide = SPACE.motif_networks(np.array([[0.3], [1.2]]), hidden=3, in_width=5, out_width=2)
    for nets, width in ((square, 4), (wide, 5)):
        gen = torch.Generator().manual_seed(3)
        theta0 = nets.init_params(gen, 1.0, torch.float32)
        x = torch.randn(6, width, generator=gen)
        labels = (torch.rand(6, nets.out_width, generator=gen) < 0.5).float()
        grads = []
        for valid_loss in (inner_valid_loss, unrolled_valid_loss):
            xv = x.clone().requires_grad_()  # S_train fixed: only S_valid's gradient is wanted
            losses = valid_loss(nets, theta0, x, xv, labels, 20, 0.05, 1e-5)
            grads.append((losses, *torch.autograd.grad(losses.sum(), [xv])))
        assert grads[0][0].grad_fn.name().endswith("FusedInnerLoopBackward")
        for got, want in zip(*grads, strict=True):
            assert got.dtype == torch.float32
            torch.testing.assert_close(got, want, rtol=2e-4, atol=1e-5)
    th = theta0.clone().requires_grad_()
    xt = x.clone().requires_grad_()
    assert inner_valid_loss(wide, th, xt, x, labels, 3, 0.05, 1e-5).grad_fn.name() != (
        "_FusedInnerLoopBackward"
    )


def test_warm_up_runs_the_kernel_before_any_timed_job(monkeypatch):
    """Workers call Predictor.warm_up once before their first job: for the slope dish it
    runs the kernel (compiling or loading it), so no job's fit time includes that."""
    from types import SimpleNamespace

    from spdbench.harness.executors import prepare_process
    from spdbench.spaces import slope_kernel

    calls, real = [], slope_kernel.train_and_score
    monkeypatch.setattr(slope_kernel, "train_and_score", lambda *a: calls.append(1) or real(*a))
    plan = SimpleNamespace(oracle=SyntheticSlopeOracle(), predictors={"petri-dish": PetriDish})
    prepare_process(plan)
    assert calls


def test_weights_whose_first_inner_gradient_vanishes_give_a_finite_outer_gradient():
    """theta_init = 0 with no L2: W1 and b1 get exactly 0 gradients at the first inner step
    (W2 = 0), so Adam's sqrt(v) is 0 there. The reverse takes the limit, 0 through v (m = 0
    too), where autograd's 0 * inf is NaN and once made the dish skip every outer step:
    kernel and tensor ops agree, with finite gradients, and the fit takes its steps."""
    nets, theta0, x, labels = _setup([0.3, 0.9, 1.4], n_samples=5, width=3, hidden=2)
    theta0 = torch.zeros_like(theta0)
    truth = torch.tensor([1.0, 0.2, 0.5], dtype=torch.float64)
    runs = []
    for valid_loss in (inner_valid_loss, unrolled_valid_loss):
        xt, xv = x.clone().requires_grad_(), (x + 0.1).clone().requires_grad_()
        losses = valid_loss(nets, theta0, xt, xv, labels, 6, 0.05, 0.0)
        runs.append((losses, *torch.autograd.grad(outer_loss(losses, truth), [xt, xv])))
    for got, want in zip(*runs, strict=True):
        assert torch.isfinite(want).all()
        torch.testing.assert_close(got, want, rtol=1e-7, atol=1e-10)
    oracle = SyntheticSlopeOracle()
    archs = np.array([[0.4], [0.8], [1.2], [1.6]])
    p = PetriDish(seed=0, init_scale=0.0, inner_l2=0.0, inner_steps=10, outer_steps=3)
    p.fit(archs, oracle.scores(archs), Context(space=oracle.space))
    assert np.isfinite(p.dish_.history).all() and torch.isfinite(p.dish_.x_train).all()


def test_outer_gradient_matches_finite_differences():
    """Eqs. 3-4: the gradient through the unrolled inner loop is the true gradient."""
    nets, theta0, x, labels = _setup([0.1, 0.6, 1.2, 1.8], n_samples=3, width=3, hidden=1)
    truth = torch.tensor([2.0, 0.5, 0.4, 0.8], dtype=torch.float64)

    def loss(xt, xv):
        return outer_loss(inner_valid_loss(nets, theta0, xt, xv, labels, 12, 0.05, 1e-5), truth)

    xt, xv = x.clone().requires_grad_(), (x + 0.1).clone().requires_grad_()
    g_train, g_valid = torch.autograd.grad(loss(xt, xv), [xt, xv])
    gen = torch.Generator().manual_seed(1)
    for grad, which in ((g_train, 0), (g_valid, 1)):
        d = torch.randn(x.shape, generator=gen, dtype=torch.float64)
        eps = 1e-6
        args_plus = [xt.detach(), xv.detach()]
        args_minus = [xt.detach(), xv.detach()]
        args_plus[which] = args_plus[which] + eps * d
        args_minus[which] = args_minus[which] - eps * d
        numeric = (loss(*args_plus) - loss(*args_minus)) / (2 * eps)
        assert float((grad * d).sum()) == pytest.approx(float(numeric), rel=1e-5, abs=1e-9)


def _slope_experiment(cls, **params):
    """Fig. 1 setting on the synthetic oracle: 15 training slopes in [0.37, 1.50], test on the rest."""
    oracle = SyntheticSlopeOracle()
    grid = np.round(np.arange(41) * 0.05 + 0.01, 2)
    inside = grid[(grid >= 0.37) & (grid <= 1.5)]
    train = np.random.default_rng(0).choice(inside, 15, replace=False)[:, None]
    test = np.setdiff1d(grid, train[:, 0])[:, None]
    predictor = cls(seed=0, **params).fit(train, oracle.scores(train), Context(space=oracle.space))
    return kendalltau(oracle.scores(test), predictor.predict(test)).statistic, predictor


def test_trained_dish_ranks_held_out_slopes_better_than_untrained():
    trained, predictor = _slope_experiment(PetriDish, inner_steps=200, outer_steps=20)
    untrained, _ = _slope_experiment(PetriDishUntrained, inner_steps=200)
    assert (
        predictor.dish_.history[-1] < 0.1 * predictor.dish_.history[0]
    )  # the outer loop converges
    assert trained > 0.6 and trained > untrained + 0.3, (trained, untrained)


def test_same_seed_same_predictions_other_seed_other_data():
    oracle = SyntheticSlopeOracle()
    archs = np.array([[0.4], [0.8], [1.2], [1.6]])
    ctx = Context(space=oracle.space)
    a = PetriDish(seed=3, **FAST).fit(archs, oracle.scores(archs), ctx)
    b = PetriDish(seed=3, **FAST).fit(archs, oracle.scores(archs), ctx)
    c = PetriDish(seed=4, **FAST).fit(archs, oracle.scores(archs), ctx)
    test = np.array([[0.1], [0.3], [2.0]])
    np.testing.assert_array_equal(a.predict(test), b.predict(test))
    assert not torch.equal(a.dish_.x_train, c.dish_.x_train)


def test_hyperparameter_selection_on_a_held_out_half():
    oracle = SyntheticSlopeOracle()
    archs = np.round(np.linspace(0.37, 1.5, 12), 2)[:, None]
    p = PetriDish(select=True, grid={"hidden": [1, 2]}, **FAST).fit(
        archs, oracle.scores(archs), Context(space=oracle.space)
    )
    assert [s["hidden"] for s in p.selection_] == [1, 2]
    best = min(p.selection_, key=lambda s: s["validation_outer_loss"])
    assert (
        p.selected_params_ == {"hidden": best["hidden"]}
        and p.dish_.params["hidden"] == best["hidden"]
    )


def test_petri_dish_needs_distinct_scores():
    from spdbench.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="different scores"):
        PetriDish(**FAST).fit([[0.5], [0.6]], [1.0, 1.0], Context(space=SPACE))


def test_outer_steps_sample_a_fixed_size_batch_of_motifs():
    """App. A.3.2: with more motifs than the super-network holds, each step takes a batch."""
    oracle = SyntheticSlopeOracle()
    archs = np.round(np.linspace(0.05, 2.0, 30), 2)[:, None]
    p = PetriDish(motifs_per_step=8, **FAST).fit(
        archs, oracle.scores(archs), Context(space=oracle.space)
    )
    assert len(p.dish_.history) == FAST["outer_steps"] and np.isfinite(p.dish_.history).all()
    assert p.predict(archs).shape == (30,)


@pytest.mark.parametrize("objective", ["mse", "pearson", "rank"])
def test_outer_objectives_reward_the_true_order(objective):
    truth = torch.tensor([0.3, 1.2, 0.7, 2.0], dtype=torch.float64)
    right = outer_loss(truth * 2 + 1, truth, objective)
    wrong = outer_loss(-truth, truth, objective)
    assert float(right) < float(wrong)
    if objective != "rank":
        assert float(right) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("objective", ["pearson", "rank"])
def test_outer_objective_gradients_match_finite_differences(objective):
    nets, theta0, x, labels = _setup([0.1, 0.6, 1.2, 1.8], n_samples=3, width=3, hidden=1)
    truth = torch.tensor([2.0, 0.5, 0.4, 0.8], dtype=torch.float64)

    def loss(xt):
        losses = inner_valid_loss(nets, theta0, xt, x, labels, 12, 0.05, 1e-5)
        return outer_loss(losses, truth, objective)

    xt = x.clone().requires_grad_()
    (grad,) = torch.autograd.grad(loss(xt), [xt])
    d = torch.randn(x.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    numeric = (loss(x + 1e-6 * d) - loss(x - 1e-6 * d)) / 2e-6
    assert float((grad * d).sum()) == pytest.approx(float(numeric), rel=1e-5, abs=1e-9)


def test_an_unknown_outer_objective_is_one_line():
    from spdbench.errors import InvalidInputError

    oracle = SyntheticSlopeOracle()
    archs = np.array([[0.4], [0.8], [1.2]])
    with pytest.raises(InvalidInputError, match="unknown outer objective 'l1'; valid: mse"):
        PetriDish(outer_objective="l1", **FAST).fit(
            archs, oracle.scores(archs), Context(space=oracle.space)
        )


def test_a_diverging_motif_network_is_predicted_worst_not_nan(monkeypatch):
    """A motif-network whose inner training diverges (NaN or inf validation loss, seen on a few
    recurrent cells) gets the worst finite prediction instead of failing the whole job."""
    from spdbench.predictors import petri_dish as pdm

    oracle = SyntheticSlopeOracle()
    archs = np.array([[0.4], [0.8], [1.2], [1.6]])
    p = PetriDish(seed=0, **FAST).fit(archs, oracle.scores(archs), Context(space=oracle.space))
    losses = torch.tensor([1.0, float("nan"), float("inf"), 2.0])
    monkeypatch.setattr(pdm, "inner_valid_loss", lambda *args: losses)
    predicted = p.predict(archs, Context(space=oracle.space))
    assert np.isfinite(predicted).all()
    assert predicted[0] > predicted[3] > predicted[1] == predicted[2]


def test_an_outer_step_with_a_non_finite_gradient_is_skipped(monkeypatch):
    """A motif-network that diverges inside an outer step makes that step's loss and gradient
    NaN; the step is skipped (the synthetic data stay finite) and recorded as NaN."""
    from spdbench.predictors import petri_dish as pdm

    real, calls = pdm.outer_loss, []

    def first_step_diverges(*args):
        calls.append(1)
        loss = real(*args)
        return loss * float("nan") if len(calls) == 1 else loss

    monkeypatch.setattr(pdm, "outer_loss", first_step_diverges)
    oracle = SyntheticSlopeOracle()
    archs = np.array([[0.4], [0.8], [1.2], [1.6]])
    p = PetriDish(seed=0, **FAST).fit(archs, oracle.scores(archs), Context(space=oracle.space))
    history = p.dish_.history
    assert np.isnan(history[0]) and np.isfinite(history[1:]).all()
    assert torch.isfinite(p.dish_.x_train).all() and torch.isfinite(p.dish_.x_valid).all()
    assert np.isfinite(p.predict(archs, Context(space=oracle.space))).all()


def test_a_diverging_motif_is_left_out_of_its_steps_not_the_steps_skipped(monkeypatch):
    """A motif-network whose inner loss is NaN in every outer step (as one recorded NAS-Bench-NLP
    cell's on some synthetic data) is left out of each step's Eq. 2: the other motifs still
    update the data at every step, as a fit without that motif would, and the dropped motifs
    are recorded."""
    from spdbench.predictors import petri_dish as pdm

    real = pdm.inner_valid_loss

    def slope_16_diverges(nets, *args):
        losses = real(nets, *args)
        bad = torch.as_tensor(np.asarray(nets.slopes).reshape(-1) == 1.6)
        return losses + torch.where(bad, float("nan"), 0.0).to(losses)

    oracle = SyntheticSlopeOracle()
    archs = np.array([[0.4], [0.8], [1.2], [1.6]])
    context = Context(space=oracle.space)
    without = PetriDish(seed=0, **FAST).fit(archs[:3], oracle.scores(archs[:3]), context)
    monkeypatch.setattr(pdm, "inner_valid_loss", slope_16_diverges)
    with_it = PetriDish(seed=0, **FAST).fit(archs, oracle.scores(archs), context)
    assert np.isfinite(with_it.dish_.history).all()  # no step skipped
    torch.testing.assert_close(with_it.dish_.x_train, without.dish_.x_train)
    assert with_it.fitted_info()["step_dropped"] == [1] * FAST["outer_steps"]
    assert all(t is not None for t in with_it.fitted_info()["step_tau"])
    assert "step_dropped" not in without.fitted_info()


def test_in_loop_tau_is_cassimons_measure_on_each_steps_motifs():
    """fitted_info's step_tau[0] is Kendall tau of the first outer step's motifs before any
    update: the untrained dish's ranking of those same training motifs (same seed, same x0)."""
    oracle = SyntheticSlopeOracle()
    archs = np.round(np.linspace(0.37, 1.5, 12), 2)[:, None]
    scores, context = oracle.scores(archs), Context(space=oracle.space)
    trained = PetriDish(seed=3, **FAST).fit(archs, scores, context)
    info = trained.fitted_info()
    assert len(info["step_tau"]) == FAST["outer_steps"]
    assert all(t is None or -1 <= t <= 1 for t in info["step_tau"])
    untrained = PetriDishUntrained(seed=3, **FAST).fit(archs, scores, context)
    expected = kendalltau(untrained.predict(archs, context), scores).statistic
    assert info["step_tau"][0] == pytest.approx(expected, abs=1e-4)
    assert "step_tau" not in untrained.fitted_info()  # no outer step, nothing measured


def test_eq2_on_normalised_losses_is_the_pearson_loss_times_a_constant():
    """Why the Pearson outer loss (Cassimon et al.) needs no run of its own: Eq. 2's MSE between
    normalised vectors equals 2 (n - 1) / n x (1 - r), so their gradients differ by a constant
    factor, which Adam's update divides out."""
    gen = torch.Generator().manual_seed(0)
    inner = torch.randn(40, generator=gen, dtype=torch.float64, requires_grad=True)
    truth = torch.randn(40, generator=gen, dtype=torch.float64)
    mse, pearson = outer_loss(inner, truth, "mse"), outer_loss(inner, truth, "pearson")
    assert mse.item() == pytest.approx(2 * 39 / 40 * pearson.item(), rel=1e-9)
    (g_mse,) = torch.autograd.grad(mse, inner)
    (g_pearson,) = torch.autograd.grad(outer_loss(inner, truth, "pearson"), inner)
    torch.testing.assert_close(g_mse, 2 * 39 / 40 * g_pearson)


def test_the_untrained_ablation_ignores_the_training_scores():
    """Fig. 4's ablation has no outer loop, so it charges no ground truth (uses_train_scores
    is False) and its predictions are the same whatever scores the training cells have."""
    oracle = SyntheticSlopeOracle()
    archs = np.round(np.linspace(0.37, 1.5, 12), 2)[:, None]
    test = np.round(np.linspace(0.05, 2.0, 9), 2)[:, None]
    scores, context = oracle.scores(archs), Context(space=oracle.space)
    a = PetriDishUntrained(seed=1, **FAST).fit(archs, scores, context).predict(test, context)
    b = PetriDishUntrained(seed=1, **FAST).fit(archs, scores[::-1], context).predict(test, context)
    assert not PetriDishUntrained.uses_train_scores and np.array_equal(a, b)
