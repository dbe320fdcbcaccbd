"""Motif-network builders of cell spaces: the properties that made the slope dish trustworthy,
checked for every builder (Rawal et al. 2020, App. A.2.2), plus each builder against a plain
one-network reference written with torch.nn ops."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from spdbench.predictors.petri_dish import inner_train, inner_valid_loss, outer_loss
from spdbench.spaces.nb201 import EDGES, NB201Space

# name -> (space, build options, rows to build, a row that differs from rows[1])
BUILDERS = {
    "nb201": (
        NB201Space(),
        {"hidden": 2, "image_size": 3, "out_width": 3},
        np.array([[3, 2, 4, 1, 3, 0], [2, 3, 1, 4, 0, 3], [1, 1, 3, 2, 4, 2]]),
        np.array([2, 3, 1, 4, 3, 3]),
    ),
}


def _setup(name, rows=None, *, dtype=torch.float64, samples=4, seed=0):
    space, options, default_rows, _ = BUILDERS[name]
    nets = space.motif_networks(default_rows if rows is None else rows, **options)
    gen = torch.Generator().manual_seed(seed)
    theta0 = nets.init_params(gen, 1.0, dtype)
    x = torch.randn(samples, *nets.input_shape, generator=gen, dtype=dtype)
    labels = (torch.rand(samples, *nets.label_shape, generator=gen) < 0.5).to(dtype)
    return nets, theta0, x, labels


@pytest.mark.parametrize("name", BUILDERS)
def test_shapes(name):
    nets, theta0, x, _ = _setup(name)
    assert theta0.shape == (nets.n_params,)
    assert nets.forward(theta0.expand(len(nets), -1), x).shape == (len(nets), 4, *nets.label_shape)


@pytest.mark.parametrize("name", BUILDERS)
def test_changing_one_cell_leaves_the_others_untouched(name):
    """Masking: no activation or gradient crosses networks in the super-network."""
    rows = BUILDERS[name][2]
    other = rows.copy()
    other[1] = BUILDERS[name][3]
    results = []
    for r in (rows, other):
        nets, theta0, x, labels = _setup(name, r)
        xt = x.clone().requires_grad_()
        theta = inner_train(nets, theta0, xt, labels, steps=6, lr=0.01, l2=1e-5)
        kept = nets.forward(theta, x)[[0, 2]]
        (grad,) = torch.autograd.grad(kept.sum(), xt)
        results.append((theta[[0, 2]].detach(), kept.detach(), grad))
    for before, after in zip(results[0], results[1], strict=True):
        torch.testing.assert_close(before, after, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", BUILDERS)
def test_super_network_equals_one_by_one(name):
    nets, theta0, x, labels = _setup(name, dtype=torch.float32)
    batched = inner_valid_loss(nets, theta0, x, x * 0.5, labels, 10, 0.01, 1e-5)
    alone = torch.cat(
        [
            inner_valid_loss(
                nets.subset(torch.tensor([i])), theta0, x, x * 0.5, labels, 10, 0.01, 1e-5
            )
            for i in range(len(nets))
        ]
    )
    torch.testing.assert_close(batched, alone, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", BUILDERS)
def test_outer_gradient_matches_finite_differences(name):
    """Eqs. 3-4 through the unrolled inner loop, in float64."""
    nets, theta0, x, labels = _setup(name, samples=3)
    truth = torch.tensor([2.0, 0.5, 0.9], dtype=torch.float64)

    def loss(xt, xv):
        return outer_loss(inner_valid_loss(nets, theta0, xt, xv, labels, 4, 0.05, 1e-5), truth)

    xt, xv = x.clone().requires_grad_(), (x + 0.1).clone().requires_grad_()
    grads = torch.autograd.grad(loss(xt, xv), [xt, xv])
    gen = torch.Generator().manual_seed(1)
    for which, grad in enumerate(grads):
        d = torch.randn(x.shape, generator=gen, dtype=torch.float64)
        plus, minus = [xt.detach(), xv.detach()], [xt.detach(), xv.detach()]
        plus[which], minus[which] = plus[which] + 1e-6 * d, minus[which] - 1e-6 * d
        numeric = (loss(*plus) - loss(*minus)) / 2e-6
        assert float((grad * d).sum()) == pytest.approx(float(numeric), rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("name", BUILDERS)
def test_same_seed_same_weights(name):
    a, b, c = (_setup(name, seed=s)[1] for s in (3, 3, 4))
    assert torch.equal(a, b) and not torch.equal(a, c)


# ---- NB201 against a one-network reference (Dong & Yang 2020, Sec. 2) ----------------------------
def _bn(z):
    return F.batch_norm(z, None, None, training=True, eps=1e-5)


def _nb201_reference(cell, theta, x, hidden, out_width):
    """One NB201 cell written the plain way: conv2d, avg_pool2d, batch_norm."""
    c = hidden
    stem_n, kern_n = c * 27, len(EDGES) * c * c * 9
    stem = theta[:stem_n].view(c, 3, 3, 3)
    kernels = theta[stem_n : stem_n + kern_n].view(len(EDGES), c, c, 3, 3)
    head_w = theta[stem_n + kern_n : stem_n + kern_n + c * out_width].view(c, out_width)
    head_b = theta[-out_width:]
    nodes = [_bn(F.conv2d(x, stem, padding=1))]
    for j in (1, 2, 3):
        total = 0
        for e, (i, to) in enumerate(EDGES):
            if to != j:
                continue
            h, op = nodes[i], cell[e]
            if op == 1:
                total = total + h
            elif op == 2:
                total = total + _bn(F.conv2d(F.relu(h), kernels[e][:, :, 1:2, 1:2]))
            elif op == 3:
                total = total + _bn(F.conv2d(F.relu(h), kernels[e], padding=1))
            elif op == 4:
                total = total + F.avg_pool2d(h, 3, 1, 1, count_include_pad=False)
            else:
                total = total + 0 * h
        nodes.append(total)
    z = F.relu(_bn(nodes[3])).mean(dim=(2, 3))
    return z @ head_w + head_b


def test_nb201_cells_compute_what_nb201_defines():
    space = NB201Space()
    cells = space.sample(12, np.random.default_rng(0))
    nets = space.motif_networks(cells, hidden=3, image_size=4, out_width=5)
    gen = torch.Generator().manual_seed(0)
    theta = torch.randn(len(cells), nets.n_params, generator=gen, dtype=torch.float64)
    x = torch.randn(6, 3, 4, 4, generator=gen, dtype=torch.float64)
    batched = nets.forward(theta, x)
    for k, cell in enumerate(cells):
        torch.testing.assert_close(batched[k], _nb201_reference(cell, theta[k], x, 3, 5))
