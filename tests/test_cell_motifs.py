"""Motif-network builders of cell spaces: the properties that made the slope dish trustworthy,
checked for every builder (Rawal et al. 2020, App. A.2.2), plus each builder against a plain
one-network reference written with torch.nn ops."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from spdbench.errors import ArchitectureError, ConfigError
from spdbench.predictors.inner_loop import inner_train, inner_valid_loss
from spdbench.predictors.petri_dish import outer_loss
from spdbench.spaces.motif_settings import CELL_TABLE_4
from spdbench.spaces.nb101 import N_BITS, NB101Space
from spdbench.spaces.nb101_motifs import NB101MotifNetworks, vertex_channels
from spdbench.spaces.nb201 import EDGES, NB201Space
from spdbench.spaces.nlp_cells import FIRST_NODE, OPS, PAD, NLPCellSpace, X


def _nb101_row(edges, ops):
    """An NB101 genotype: the 21 upper-triangle bits (row-major) of `edges`, then `ops`."""
    a = np.zeros((7, 7), dtype=np.int64)
    for i, j in edges:
        a[i, j] = 1
    return np.concatenate([a[np.triu_indices(7, k=1)], ops])


# NAS-Bench-NLP cells: an RNN, an LSTM, a GRU (blend) and one with leaky ReLU, sums and a
# 3-input linear node (graph strings: spdbench.spaces.nlp_cells)
NLP_GRAPHS = [
    "L(x,h0);T(0)->1",
    "L(x,h0);T(0);L(x,h0);S(2);L(x,h0);S(4);L(x,h0);T(6);*(5,h1);*(1,3);+(8,9);T(10);*(11,7)->12,10",
    "L(x,h0);S(0);L(x,h0);S(2);*(1,h0);L(x,4);T(5);B(3,h0,6)->7",
    "L(h0,x);R(0);+(0,1);L(1,h0);S(3);L(4,x,1);+(5,3);+(2,6)->7",
]
NLP_SPACE = NLPCellSpace(
    [0, 1, 2, 3], [[0.0], [1.0], [2.0], [3.0]], prefix="nlp-", graphs=NLP_GRAPHS
)

# name -> (space, build options, rows to build, a row that differs from rows[1])
BUILDERS = {
    "nb201": (
        NB201Space(),
        {"hidden": 2, "image_size": 3, "out_width": 3},
        np.array([[3, 2, 4, 1, 3, 0], [2, 3, 1, 4, 0, 3], [1, 1, 3, 2, 4, 2]]),
        np.array([2, 3, 1, 4, 3, 3]),
    ),
    "nb101": (
        NB101Space(),
        {"hidden": 1, "image_size": 3, "out_width": 3},
        np.array(
            [
                # an input->output edge; nodes 4 and 5 unused
                _nb101_row([(0, 1), (0, 2), (1, 3), (2, 3), (3, 6), (0, 6)], [0, 1, 2, 0, 2]),
                # node 3 a dead end (pruned); two nodes feed the output
                _nb101_row([(0, 1), (1, 2), (1, 6), (2, 6), (0, 3)], [2, 0, 1, 1, 1]),
                # the chain 0->1->2->3->4->5->6
                _nb101_row([(i, i + 1) for i in range(6)], [1, 2, 0, 0, 1]),
            ]
        ),
        # row 1 with node 2 a max-pool fed by the input too
        _nb101_row([(0, 1), (1, 2), (1, 6), (2, 6), (0, 2), (0, 3)], [2, 2, 1, 1, 1]),
    ),
    "nlp": (
        NLP_SPACE,
        {"hidden": 2, "in_width": 3, "out_width": 3, "time_steps": 3},
        np.array([[0], [1], [2]]),
        np.array([3]),
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


# ---- NB101 against a one-network reference (Ying et al. 2019; NASBench's model_builder) -------
def _nb101_prune(matrix, ops):
    """NB101's ModelSpec pruning: keep the vertices on some input->output path, in order."""
    n = len(matrix)
    fwd, bwd = {0}, {n - 1}
    for j in range(1, n):
        if any(matrix[i][j] and i in fwd for i in range(j)):
            fwd.add(j)
    for i in range(n - 2, -1, -1):
        if any(matrix[i][j] and j in bwd for j in range(i + 1, n)):
            bwd.add(i)
    kept = sorted(fwd & bwd)
    return [[matrix[i][j] for j in kept] for i in kept], [ops[v] for v in kept], kept


def _nb101_channels(c_in, c_out, m):
    """compute_vertex_channels, written the plain way."""
    n = len(m)
    ch = [0] * n
    ch[0], ch[-1] = c_in, c_out
    if n == 2:
        return ch
    fan_in = sum(m[v][-1] for v in range(1, n - 1))
    correction = c_out % fan_in
    for v in range(1, n - 1):
        if m[v][-1]:
            ch[v] = c_out // fan_in + (1 if correction else 0)
            correction -= 1 if correction else 0
    for v in range(n - 3, 0, -1):
        if not m[v][-1]:
            ch[v] = max(ch[dst] for dst in range(v + 1, n - 1) if m[v][dst])
    return ch


def _nb101_reference(row, theta, x, hidden, out_width):
    """One NB101 cell (motif C) written the plain way: conv2d, max_pool2d, batch_norm."""
    c = 4 * hidden
    full = np.zeros((7, 7), dtype=int)
    full[np.triu_indices(7, k=1)] = row[:N_BITS]
    ops = [None, *row[N_BITS:], None]
    m, ops, kept = _nb101_prune(full.tolist(), ops)
    sizes = [c * 27, 6 * c * c, 5 * c * c * 9, c * out_width, out_width]
    stem, proj, kern, head_w, head_b = torch.split(theta, sizes)
    stem, proj, kern = stem.view(c, 3, 3, 3), proj.view(6, c, c), kern.view(5, c, c, 3, 3)

    def projection(h, node, channels):  # 1x1 conv-bn-relu of the input
        return F.relu(_bn(F.conv2d(h, proj[node - 1][:channels, :, None, None])))

    ch = _nb101_channels(c, c, m)
    tensors = [F.relu(_bn(F.conv2d(x, stem, padding=1)))]  # the stem is the cell's input
    concat = []
    for t in range(1, len(m) - 1):
        node = kept[t]  # parameters are indexed by the unpruned vertex
        add_in = [tensors[src][:, : ch[t]] for src in range(1, t) if m[src][t]]
        if m[0][t]:
            add_in.append(projection(tensors[0], node, ch[t]))
        h = sum(add_in[1:], add_in[0])
        if ops[t] == 2:
            h = F.max_pool2d(h, 3, 1, 1)
        else:
            k = kern[node - 1][: ch[t], : ch[t]]
            k = k if ops[t] == 0 else k[:, :, 1:2, 1:2]
            h = F.relu(_bn(F.conv2d(h, k, padding=1 if ops[t] == 0 else 0)))
        tensors.append(h)
        if m[t][-1]:
            concat.append(h)
    out = torch.cat(concat, dim=1) if concat else 0
    if m[0][-1]:
        out = out + projection(tensors[0], 6, c)
    return out.mean(dim=(2, 3)) @ head_w.view(c, out_width) + head_b


def test_nb101_cells_compute_what_nb101_defines():
    space = NB101Space()
    cells = np.concatenate([space.sample(9, np.random.default_rng(0)), BUILDERS["nb101"][2]])
    a = np.zeros((len(cells), 7, 7), dtype=bool)
    a[:, *np.triu_indices(7, k=1)] = cells[:, :N_BITS] == 1
    assert a[:, 0, 6].any() and (cells[:, N_BITS:] == 2).any()  # input->output edge, max-pool
    nets = space.motif_networks(cells, hidden=2, image_size=4, out_width=5)
    gen = torch.Generator().manual_seed(0)
    theta = torch.randn(len(cells), nets.n_params, generator=gen, dtype=torch.float64)
    x = torch.randn(6, 3, 4, 4, generator=gen, dtype=torch.float64)
    theta.requires_grad_()
    batched = nets.forward(theta, x)
    weights = torch.randn(batched.shape, generator=gen, dtype=torch.float64)
    (grad,) = torch.autograd.grad((batched * weights).sum(), theta)
    for k, row in enumerate(cells):
        reference = _nb101_reference(row, theta[k], x, 2, 5)
        torch.testing.assert_close(batched[k], reference, rtol=0, atol=1e-10)
        # the same gradient, so exactly zero on the weights the cell does not use
        (expected,) = torch.autograd.grad((reference * weights[k]).sum(), theta)
        torch.testing.assert_close(grad[k], expected[k], rtol=0, atol=1e-9)
        assert torch.equal(grad[k] == 0, expected[k] == 0)


def test_nb101_pruned_cells_equal_their_pruned_form():
    """Nodes off every input->output path change nothing (NB101 prunes them)."""
    row = BUILDERS["nb101"][2][1]
    bare = _nb101_row([(0, 1), (1, 2), (1, 6), (2, 6)], row[N_BITS:])  # without 0->3
    nets = NB101Space().motif_networks(np.stack([row, bare]), hidden=1, image_size=3)
    theta = nets.init_params(torch.Generator().manual_seed(0), 1.0, torch.float64).expand(2, -1)
    y = nets.forward(theta, torch.randn(4, 3, 3, 3, dtype=torch.float64))
    torch.testing.assert_close(y[0], y[1], rtol=0, atol=0)


def test_nb101_cell_without_a_path_is_refused_in_one_line():
    row = np.zeros(N_BITS + 5, dtype=np.int64)
    row[0] = 1  # 0->1 only: the output is unreachable
    for build in (
        lambda: NB101Space().motif_networks(row[None]),
        lambda: NB101MotifNetworks(row[None], hidden=3, image_size=4, out_width=10),
    ):
        with pytest.raises(ArchitectureError) as err:
            build()
        assert "\n" not in str(err.value)


def test_nb101_channels_follow_compute_vertex_channels():
    cells = NB101Space().sample(300, np.random.default_rng(1))
    for width in (4, 12, 13):
        _, channels = vertex_channels(cells, width)
        for row, got in zip(cells, channels, strict=True):
            full = np.zeros((7, 7), dtype=int)
            full[np.triu_indices(7, k=1)] = row[:N_BITS]
            m, _, kept = _nb101_prune(full.tolist(), [None] * 7)
            expected = np.zeros(7, dtype=int)
            expected[kept] = _nb101_channels(width, width, m)
            np.testing.assert_array_equal(got, expected[1:-1])


def test_nb101_dish_takes_table_4():
    space = NB101Space()
    assert space.has_motif_networks and space.motif_defaults() == CELL_TABLE_4


def test_cell_dish_selects_over_table_4_ranges_by_default():
    """App. A.1 on NB201 cells: without a grid, select=True searches Table 4's listed sets of
    hidden size and synthetic samples, on half the cells, and refits with the winner."""
    from spdbench.predictors.base import Context
    from spdbench.predictors.petri_dish import PetriDish

    space = NB201Space()
    cells = space.sample(8, np.random.default_rng(0), unique=True)
    scores = np.linspace(0.1, 0.9, 8)
    fast = dict(inner_steps=2, outer_steps=1, motifs_per_step=4)
    p = PetriDish(select=True, **fast).fit(cells, scores, Context(space=space))
    tried = [(s["hidden"], s["samples"]) for s in p.selection_]
    assert tried == [(h, n) for h in (1, 3, 5) for n in (10, 20)]
    best = min(p.selection_, key=lambda s: s["validation_outer_loss"])
    assert p.selected_params_ == {"hidden": best["hidden"], "samples": best["samples"]}
    assert p.dish_.params["hidden"] == best["hidden"]


def test_cell_dish_in_float64_differs_from_float32_in_rounding_only(monkeypatch):
    """precision="float64" runs the same dish (same theta_init, synthetic data and labels,
    drawn in float32) in float64: before any outer step the two rank alike and their
    inner losses agree to float32 rounding. NB201's prediction kernel computes in float64
    whatever the precision, so it predicts the same for both (rounded to float32 for
    float32), what the float64 tensor ops predict."""
    from spdbench.predictors.base import Context
    from spdbench.predictors.petri_dish import PetriDishUntrained
    from spdbench.spaces.nb201_motifs import NB201MotifNetworks

    space = NB201Space()
    cells = space.sample(12, np.random.default_rng(0), unique=True)
    scores = np.linspace(0.1, 0.9, 12)
    fits = {
        precision: PetriDishUntrained(precision=precision, inner_steps=5).fit(
            cells, scores, Context(space=space)
        )
        for precision in ("float32", "float64")
    }
    assert fits["float64"].dish_.x_train.dtype == torch.float64
    torch.testing.assert_close(fits["float64"].dish_.x_train.float(), fits["float32"].dish_.x_train)
    kernel = [fits[p].predict(cells, Context(space=space)) for p in ("float32", "float64")]
    assert np.array_equal(kernel[0], kernel[1].astype(np.float32))  # float32 losses out
    monkeypatch.setattr(NB201MotifNetworks, "kernel", lambda self: None)  # the tensor ops
    single, double = (fits[p].predict(cells, Context(space=space)) for p in ("float32", "float64"))
    np.testing.assert_allclose(single, double, rtol=1e-4)
    assert not np.array_equal(single, double)
    np.testing.assert_allclose(double, kernel[1], rtol=1e-8)  # Adam's 1/sqrt(v) amplifies


def test_nb201_motif_form_drops_only_ops_off_every_live_path():
    space = NB201Space()
    forms = space.motif_form(space.enumerate())
    assert len(np.unique(forms, axis=0)) == 9445
    # 0->1 conv feeds node 1, which feeds nothing (1->2, 1->3 none): dropped; 0->3 kept
    assert space.motif_form(np.array([[3, 0, 0, 2, 0, 0]])).tolist() == [[0, 0, 0, 2, 0, 0]]
    # 1->3 reads node 1, which nothing feeds (0->1 none): dropped; 0->2 feeds node 2: 2->3 kept
    assert space.motif_form(np.array([[0, 1, 0, 0, 3, 4]])).tolist() == [[0, 1, 0, 0, 0, 4]]
    assert np.array_equal(space.motif_form(forms), forms)  # a form is its own form


def test_nb201_cells_and_their_forms_train_to_the_same_loss_bit_for_bit():
    space = NB201Space()
    cells = space.sample(200, np.random.default_rng(3), unique=True)
    forms = space.motif_form(cells)
    assert (forms != cells).any(axis=1).sum() > 40
    options = {"hidden": 2, "image_size": 3, "out_width": 3}
    gen = torch.Generator().manual_seed(0)
    theta0 = space.motif_networks(cells, **options).init_params(gen, 1.0, torch.float32)
    x = torch.randn(6, 3, 3, 3, generator=gen)
    labels = (torch.rand(6, 3, generator=gen) < 0.5).float()
    a, b = (
        inner_valid_loss(space.motif_networks(g, **options), theta0, x, x, labels, 4, 0.05, 1e-5)
        for g in (cells, forms)
    )
    assert torch.equal(a, b)


def test_the_dish_trains_each_motif_form_once_when_predicting(monkeypatch):
    from spdbench.predictors import petri_dish
    from spdbench.predictors.base import Context

    space = NB201Space()
    cells = space.sample(10, np.random.default_rng(0), unique=True)
    dish = petri_dish.PetriDishUntrained(inner_steps=3).fit(
        cells, np.linspace(0.1, 0.9, 10), Context(space=space)
    )
    # three cells with a dead branch and their forms, then the first one again
    dead = np.array([[3, 0, 0, 2, 0, 0], [0, 1, 0, 0, 3, 4], [4, 2, 0, 1, 0, 3]])
    queries = np.concatenate([dead, space.motif_form(dead), dead[:1], cells[:4]])
    built = []
    real_nets = petri_dish._nets
    monkeypatch.setattr(
        petri_dish, "_nets", lambda c, a, p: built.append(len(a)) or real_nets(c, a, p)
    )
    scores = dish.predict(queries, Context(space=space))
    assert built == [len(np.unique(space.motif_form(queries), axis=0))]
    assert np.array_equal(scores[:3], scores[3:6]) and scores[6] == scores[0]
    monkeypatch.undo()
    assert np.array_equal(scores[7:], dish.predict(cells[:4], Context(space=space)))


def test_an_unknown_precision_is_one_line_at_planning_and_at_fit(cli, tmp_path):
    from spdbench.predictors.base import Context
    from spdbench.predictors.petri_dish import PetriDish, PetriDishUntrained

    space = NB201Space()
    cells = space.sample(4, np.random.default_rng(0), unique=True)
    for cls in (PetriDish, PetriDishUntrained):
        with pytest.raises(ConfigError, match="unknown precision 'half'; valid: float32, float64"):
            cls(precision="half").fit(cells, np.arange(4.0), Context(space=space))
    config = tmp_path / "c.toml"
    config.write_text(
        '[compare]\nbenchmark = "nb201-cifar10"\npredictors = ["half"]\nseeds = 1\n'
        '[compare.variants.half]\npredictor = "petri-dish"\nprecision = "half"\n'
    )
    r = cli("compare", "--config", str(config), "--out", str(tmp_path / "out"))
    assert r.code == 2 and "unknown precision 'half'" in r.err, r.err
    assert not (tmp_path / "out" / "results.parquet").exists()


# ---- NAS-Bench-NLP against a one-network reference (NAS-Bench-NLP's CustomRNNCell) -------------
def _nlp_reference(ops, sources, outputs, theta, x, hidden, out_width, max_nodes):
    """One recurrent cell written the plain way: node by node, step by step, one weight per
    linear input, states zero at the start, h_new_0 decoded at every step."""
    h, a, in_width = hidden, 3, x.shape[2]
    sizes = [max_nodes * a * h * in_width, max_nodes * a * h * h, max_nodes * h, h * out_width]
    wx, wh, b, wd, bd = torch.split(theta, [*sizes, out_width])
    wx, wh = wx.view(max_nodes, a, h, in_width), wh.view(max_nodes, a, h, h)
    b, wd = b.view(max_nodes, h), wd.view(h, out_width)
    names = list(OPS)
    states = [torch.zeros(x.shape[0], h, dtype=x.dtype) for _ in range(3)]
    logits = []
    for t in range(x.shape[1]):
        vals = []

        def value(code, states=states, vals=vals, t=t):
            if code == X:
                return x[:, t]
            return states[code - 1] if code < FIRST_NODE else vals[code - FIRST_NODE]

        for j, op in enumerate(ops):
            if op < 0:
                break
            ins = [int(c) for c in sources[j] if c != PAD]
            name = names[op]
            if name == "linear":
                v = b[j] + sum(
                    value(c) @ (wx[j, k] if c == X else wh[j, k]).T for k, c in enumerate(ins)
                )
            elif name == "activation_tanh":
                v = torch.tanh(value(ins[0]))
            elif name == "activation_sigm":
                v = torch.sigmoid(value(ins[0]))
            elif name == "activation_leaky_relu":
                v = F.leaky_relu(value(ins[0]))
            elif name == "elementwise_sum":
                v = value(ins[0]) + value(ins[1])
            elif name == "elementwise_prod":
                v = value(ins[0]) * value(ins[1])
            else:  # blend
                z = value(ins[0])
                v = z * value(ins[1]) + (1 - z) * value(ins[2])
            vals.append(v)
        states = [vals[o] if o >= 0 else torch.zeros_like(states[0]) for o in outputs]
        logits.append(states[0] @ wd + bd)
    return torch.stack(logits, dim=1)  # (S, T, O)


def test_nlp_cells_compute_what_nas_bench_nlp_defines():
    nets = NLP_SPACE.motif_networks(np.array([[0], [1], [2], [3]]), hidden=3, time_steps=4)
    gen = torch.Generator().manual_seed(0)
    theta = torch.randn(4, nets.n_params, generator=gen, dtype=torch.float64) * 0.5
    x = torch.randn(5, 4, 10, generator=gen, dtype=torch.float64)
    theta.requires_grad_()
    batched = nets.forward(theta, x)
    assert batched.shape == (4, 5, 4, 10)
    weights = torch.randn(batched.shape, generator=gen, dtype=torch.float64)
    (grad,) = torch.autograd.grad((batched * weights).sum(), theta)
    for k in range(4):
        reference = _nlp_reference(
            NLP_SPACE.ops[k], NLP_SPACE.sources[k], NLP_SPACE.outputs[k], theta[k], x, 3, 10,
            NLP_SPACE.ops.shape[1],
        )  # fmt: skip
        torch.testing.assert_close(batched[k], reference, rtol=0, atol=1e-10)
        (expected,) = torch.autograd.grad((reference * weights[k]).sum(), theta)
        torch.testing.assert_close(grad[k], expected[k], rtol=0, atol=1e-9)
        assert torch.equal(grad[k] == 0, expected[k] == 0)  # unused weights get no gradient


@pytest.mark.parametrize(
    ("graph", "problem"),
    [
        ("L(x,h0);T(0);S(0)->1", "node 2 (activation_sigm) feeds no new state h_new_k"),
        ("L(x,?);T(0)->1", "reads an input that is no node"),
        ("L(x,h0);T(2);+(1,0)->1", "not computed before it"),
        ("L(x,h0);T(x)->1", "reads x, which only linear nodes can"),
        ("L(x,h1);T(0)->1", "h_prev_k of a state the cell does not produce"),
        ("L(x,h0);+(0)->1", "node 1 (elementwise_sum) has 1 inputs"),
        ("L(x,h0);T(0)->", "no output h_new_0"),
    ],
)
def test_nlp_cells_the_builder_cannot_instantiate_are_refused_in_one_line(graph, problem):
    space = NLPCellSpace([5, 6], [[0.0], [1.0]], prefix="nlp-", graphs=[NLP_GRAPHS[0], graph])
    space.motif_networks(np.array([[5]]))  # the good cell builds
    with pytest.raises(ConfigError) as err:
        space.motif_networks(np.array([[5], [6]]))
    assert "nlp-6 cannot be instantiated" in str(err.value) and problem in str(err.value)
    assert "\n" not in str(err.value)


def test_nlp_dish_takes_table_4():
    assert NLP_SPACE.has_motif_networks and NLP_SPACE.motif_defaults() == CELL_TABLE_4
    nets = NLP_SPACE.motif_networks(np.array([[0]]), **{"image_size": 4})  # unused options pass
    assert nets.input_shape == (10, 10) and nets.label_shape == (10, 10) and nets.hidden == 3


# ---- the NLP dish's compiled inner loop (spdbench.spaces.nlp_kernel) ---------------------------
def _nlp_losses_and_grads(valid_loss, nets, theta0, x, labels, truth):
    xt, xv = x.clone().requires_grad_(), (x + 0.1).clone().requires_grad_()
    losses = valid_loss(nets, theta0, xt, xv, labels, 6, 0.05, 1e-3)
    return losses, *torch.autograd.grad(outer_loss(losses, truth), [xt, xv])


def test_nlp_kernel_equals_autograd_through_the_unrolled_loop():
    """Forward-over-reverse by hand (every op: linear with x, states and nodes, tanh,
    sigmoid, leaky ReLU, sum, product, blend; two and three states) gives autograd's losses
    and gradients w.r.t. S_train and S_valid."""
    from spdbench.predictors.inner_loop import unrolled_valid_loss

    nets = NLP_SPACE.motif_networks(
        np.array([[0], [1], [2], [3]]), hidden=2, in_width=3, out_width=2, time_steps=4
    )
    gen = torch.Generator().manual_seed(5)
    theta0 = nets.init_params(gen, 1.0, torch.float64)
    x = torch.randn(5, *nets.input_shape, generator=gen, dtype=torch.float64)
    labels = (torch.rand(5, *nets.label_shape, generator=gen) < 0.5).double()
    truth = torch.tensor([0.3, 1.0, -0.5, 2.0], dtype=torch.float64)
    fused = _nlp_losses_and_grads(inner_valid_loss, nets, theta0, x, labels, truth)
    assert fused[0].grad_fn.name().endswith("FusedInnerLoopBackward")
    reference = _nlp_losses_and_grads(unrolled_valid_loss, nets, theta0, x, labels, truth)
    for got, want in zip(fused, reference, strict=True):
        assert float(want.detach().abs().max()) > 1e-6  # every gradient is alive
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-13)


def test_nlp_kernel_takes_float32_data_and_keeps_cells_apart():
    """float32 data in, float32 out (computed in float64); one cell's loss does not depend
    on which cells share its batch."""
    nets, theta0, x, labels = _setup("nlp", dtype=torch.float32, samples=4)
    xt = x.clone().requires_grad_()
    batched = inner_valid_loss(nets, theta0, xt, x, labels, 5, 0.01, 1e-5)
    assert batched.dtype == torch.float32 and batched.grad_fn.name().endswith("Backward")
    alone = inner_valid_loss(nets.subset(torch.tensor([2])), theta0, xt, x, labels, 5, 0.01, 1e-5)
    assert float(batched[2].detach()) == float(alone[0].detach())
    (grad,) = torch.autograd.grad(batched.sum(), [xt])
    assert grad.dtype == torch.float32 and torch.isfinite(grad).all()


def test_nlp_kernel_predicts_without_a_tape_and_any_thread_count_gives_the_same_numbers():
    """Predicting (no gradient wanted) runs the kernel without a tape: the losses of fitting;
    split over 2 threads, losses and gradients are bit-identical to 1 thread."""
    from spdbench.predictors.inner_loop import unrolled_valid_loss

    nets, theta0, x, labels = _setup("nlp", samples=4)
    threads = torch.get_num_threads()
    runs = []
    try:
        for k in (1, 2):
            torch.set_num_threads(k)
            xt = x.clone().requires_grad_()
            losses = inner_valid_loss(nets, theta0, xt, x, labels, 5, 0.01, 1e-5)
            runs.append((losses.detach(), *torch.autograd.grad(losses.sum(), [xt])))
    finally:
        torch.set_num_threads(threads)
    for one, two in zip(*runs, strict=True):
        assert torch.equal(one, two)
    with torch.no_grad():
        predicted = inner_valid_loss(nets, theta0, x, x, labels, 5, 0.01, 1e-5)
        tensor_ops = unrolled_valid_loss(nets, theta0, x, x, labels, 5, 0.01, 1e-5)
    assert torch.equal(predicted, runs[0][0])
    torch.testing.assert_close(predicted, tensor_ops, rtol=1e-10, atol=1e-12)


def test_a_cell_whose_output_is_always_zero_gives_a_finite_outer_gradient():
    """A recorded NAS-Bench-NLP cell has h_new_0 = 0 at every step: on labels with as many
    ones as zeros per output its zero-initialised decoder bias gets exactly 0 gradients, so
    Adam's v stays 0. Its contribution to the outer gradient is 0, not 0 * inf = NaN, in the
    kernel and in the tensor ops alike (a NaN made the dish skip every outer step whose
    batch held the cell)."""
    from spdbench.predictors.inner_loop import unrolled_valid_loss

    space = NLPCellSpace(
        [0, 1],
        [[0.0], [1.0]],
        graphs=["L(x,h1);S(0);B(h0,0,h1);*(2,1);L(1,h0);+(3,2);*(4,3)->5,6", NLP_GRAPHS[2]],
    )
    nets = space.motif_networks(np.array([[0], [1]]), hidden=2, in_width=3, time_steps=2)
    gen = torch.Generator().manual_seed(0)
    theta0 = nets.init_params(gen, 1.0, torch.float64)
    x = torch.randn(4, *nets.input_shape, generator=gen, dtype=torch.float64)
    s, t, o = np.indices((4, *nets.label_shape))
    labels = torch.as_tensor((s + t + o) % 2, dtype=torch.float64)  # balanced per output
    truth = torch.tensor([1.0, 2.0], dtype=torch.float64)
    runs = [
        _nlp_losses_and_grads(f, nets, theta0, x, labels, truth)
        for f in (inner_valid_loss, unrolled_valid_loss)
    ]
    for got, want in zip(*runs, strict=True):
        assert torch.isfinite(want).all()
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-13)


def test_the_kernel_refuses_data_of_the_wrong_shape():
    """The kernel reads without bounds checks: data that do not fit the networks (fewer time
    steps, S_valid with other sample counts than the labels) are refused before it runs."""
    nets, theta0, x, labels = _setup("nlp", samples=4)
    xt = x.clone().requires_grad_()
    for args in ((xt[:, :2], x), (xt, x[:3]), (xt, torch.cat([x, x]))):
        with pytest.raises(ValueError, match="shape"):
            inner_valid_loss(nets, theta0, *args, labels, 3, 0.01, 1e-5)


# ---- the NB201 dish's compiled prediction loop (spdbench.spaces.nb201_kernel) -----------------
def _every_op_on_every_edge(n_random):
    """The five cells with one op on every edge, then random ones."""
    uniform = np.repeat(np.arange(5)[:, None], len(EDGES), axis=1)
    return np.concatenate([uniform, NB201Space().sample(n_random, np.random.default_rng(1))])


@pytest.mark.parametrize("options", [{}, {"hidden": 2, "image_size": 3, "out_width": 3}])
def test_nb201_kernel_predicts_what_the_tensor_ops_compute(options):
    """Predicting (no gradient wanted) runs the kernel: its losses after 50 inner steps equal
    the tensor ops' in float64 to rounding, for every op (stem, skip, pooling with its border
    divisors, both convolutions, BatchNorm, the classifier, Adam with L2)."""
    from spdbench.predictors.inner_loop import unrolled_valid_loss
    from spdbench.spaces.fused_loop import fused_valid_loss

    space = NB201Space()
    nets = space.motif_networks(_every_op_on_every_edge(30), **options)
    kernel = nets.kernel()
    assert kernel.predicts and not kernel.fits
    gen = torch.Generator().manual_seed(2)
    theta0 = nets.init_params(gen, 1.0, torch.float64)
    x = torch.randn(7, *nets.input_shape, generator=gen, dtype=torch.float64)
    labels = (torch.rand(7, *nets.label_shape, generator=gen) < 0.5).double()
    args = (theta0, x, x + 0.1, labels, 50, 0.01, 1e-5)
    with torch.no_grad():
        predicted = inner_valid_loss(nets, *args)
        fused = fused_valid_loss(kernel, nets, *args, (0.9, 0.999, 1e-8))
        tensor_ops = unrolled_valid_loss(nets, *args)
    assert torch.equal(predicted, fused)
    assert float(tensor_ops.std()) > 1e-3  # the cells train to different losses
    torch.testing.assert_close(predicted, tensor_ops, rtol=1e-11, atol=1e-13)


def test_nb201_kernel_keeps_cells_apart_and_any_thread_count_gives_the_same_numbers():
    """Each cell's loss is computed alone: the same bits in any batch and on 1 or 2 threads;
    float32 data in, float32 losses out."""
    space = NB201Space()
    cells = _every_op_on_every_edge(11)
    gen = torch.Generator().manual_seed(0)
    theta0 = space.motif_networks(cells).init_params(gen, 1.0, torch.float32)
    x = torch.randn(20, 3, 4, 4, generator=gen)
    labels = (torch.rand(20, 10, generator=gen) < 0.5).float()
    threads = torch.get_num_threads()
    runs = []
    try:
        for k, rows in ((1, cells), (2, cells), (2, cells[::-1])):
            torch.set_num_threads(k)
            with torch.no_grad():
                runs.append(
                    inner_valid_loss(
                        space.motif_networks(rows), theta0, x, x, labels, 5, 0.01, 1e-5
                    )
                )
    finally:
        torch.set_num_threads(threads)
    assert runs[0].dtype == torch.float32
    assert torch.equal(runs[0], runs[1]) and torch.equal(runs[0], runs[2].flip(0))


def test_nb201_fit_runs_the_tensor_ops_and_the_kernel_refuses_a_tape():
    """The kernel has no reverse pass: wanting gradients takes the tensor ops (autograd), and
    asking the kernel itself for a tape is an error, not a silent wrong gradient."""
    from spdbench.spaces import nb201_kernel

    nets, theta0, x, labels = _setup("nb201")
    xt = x.clone().requires_grad_()
    losses = inner_valid_loss(nets, theta0, xt, x, labels, 3, 0.01, 1e-5)
    assert "Fused" not in losses.grad_fn.name()
    (grad,) = torch.autograd.grad(losses.sum(), [xt])
    assert float(grad.abs().max()) > 0
    kernel = nets.kernel()
    with pytest.raises(ValueError, match="only predicts"):
        nb201_kernel.train_and_score(
            theta0.numpy(),
            *kernel.cells,
            *(kernel.to_layout(t.numpy()) for t in (x, x, labels)),
            kernel.dims,
            3,
            0.01,
            1e-5,
            (0.9, 0.999, 1e-8),
            np.empty((3, 3, 4, nets.n_params)),
            np.empty((3, nets.n_params)),
        )
