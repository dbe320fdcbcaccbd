"""The Synthetic Petri Dish (Rawal, Lehman, Such, Clune, Stanley 2020).

Direction: ground truth reaches the predictor as higher-is-better scores; the dish works with
losses, L_true = -score (normalised, so accuracy and loss give the same targets up to sign).
A lower inner validation loss means a better predicted architecture; `predict` returns its
negative, so higher is better as everywhere in spdbench.

Hyperparameters left at None take the paper's setting for the benchmark's space: Table 2
(App. A.2.2, the sigmoid-slope experiment: motif-network 10 -> 1 -> 10, theta_init ~ N(0, 1),
20 synthetic samples, inner Adam lr 0.01 / L2 1e-5 / 250 steps, outer Adam lr 0.05 / L2 1e-5 /
60 steps, outer lr decay 0.4) unless the space's `motif_defaults` override it (the cell spaces
take Table 4, App. A.3.2). The paper does not say how often the decay applies; we multiply the
outer lr by it every `outer_decay_every` steps (20 for Table 2, 50 for Table 4: 3 and 4 decays).
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import torch
from scipy import stats

from spdbench.errors import ConfigError, InvalidInputError
from spdbench.oracles.base import Oracle
from spdbench.predictors.base import Context, Predictor
from spdbench.predictors.inner_loop import inner_valid_loss
from spdbench.spaces.motifs import MotifNetworks
from spdbench.torch_utils import resolve_device, torch_threads

# Table 2 (App. A.2.2): the setting of hyperparameters a space does not set itself.
TABLE_2: dict[str, Any] = {
    "hidden": 1,
    "samples": 20,
    "inner_steps": 250,
    "inner_lr": 0.01,
    "inner_l2": 1e-5,
    "outer_steps": 60,
    "outer_lr": 0.05,
    "outer_lr_decay": 0.4,
    "outer_decay_every": 20,
    "outer_l2": 1e-5,
}
# App. A.1 / Table 2 search ranges; the default grid is a subset that fits a few minutes.
DEFAULT_GRID: dict[str, list[Any]] = {"hidden": [1, 3, 5], "outer_steps": [20, 60]}
LARGE_BATCH = 2048  # motifs; from here on, prediction uses every torch thread
PREDICT_CHUNK = 4096  # motifs trained at once when predicting: bounds memory on large spaces


def normalise(v: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance (Sec. 3.1)."""
    return (v - v.mean()) / (v.std() + 1e-12)


def outer_loss(
    inner_losses: torch.Tensor, true_losses: torch.Tensor, objective: str = "mse"
) -> torch.Tensor:
    """The outer objective over a batch of motifs.

    - "mse": Eq. 2, mean squared error between normalised inner and ground-truth losses;
    - "pearson": 1 - Pearson correlation (Cassimon et al., Sec. 3.4: a linear relation between
      motif and ground-truth metric is enough);
    - "rank": a pairwise logistic ranking loss on the normalised losses (RankNet-style): only
      the order of each pair counts, which is what Kendall tau measures.
    """
    z, t = normalise(inner_losses), normalise(true_losses)
    if objective == "mse":
        return ((z - t) ** 2).mean()
    if objective == "pearson":
        return 1 - (z * t).sum() / (len(z) - 1)
    if objective == "rank":
        order = torch.sign(t[:, None] - t[None, :])  # +1 where motif i is worse than j
        pairs = order != 0
        if not pairs.any():  # a batch of tied motifs says nothing about order
            return (z * 0).sum()
        return torch.nn.functional.softplus(-order * (z[:, None] - z[None, :]))[pairs].mean()
    raise InvalidInputError(
        f"unknown outer objective {objective!r}; valid: {', '.join(OUTER_OBJECTIVES)}"
    )


OUTER_OBJECTIVES = ("mse", "pearson", "rank")


class PetriDish(Predictor):
    """Synthetic Petri Dish: motifs trained in tiny networks on learned synthetic data."""

    name = "petri-dish"
    family = "petri-dish"
    description = (
        "Synthetic Petri Dish (Rawal et al. 2020): motif-networks trained on learned synthetic data"
    )
    needs = frozenset({"space"})
    parallel = True

    @classmethod
    def requirements(cls) -> list[str]:
        return [
            "a space with motif-networks (sigmoid-slope, nb201, nb101, nas-bench-nlp-cells)",
            *super().requirements(),
        ]

    @classmethod
    def check_benchmark(cls, oracle: Oracle) -> None:
        if not oracle.space.has_motif_networks:
            raise ConfigError(
                f"{cls.name} needs motif-networks, and space {oracle.space.name!r} of benchmark "
                f"{oracle.name!r} has no motif-network builder; spaces with one: sigmoid-slope, "
                "nb201, nb101, nas-bench-nlp-cells"
            )
        # spaces of recorded cells check every cell once, before any job starts
        check_cells = getattr(oracle.space, "check_motif_cells", None)
        if check_cells is not None:
            check_cells(oracle.enumerate())

    @classmethod
    def warm_up(cls, oracle: Oracle | None) -> None:
        """A tiny fit and prediction on the space: compiles or loads its motif kernel where it
        has one (the slope space's: ~7 s to compile once per install, ~1.4 s to load once per
        process; NB201's prediction kernel ~20 s to compile), and pays the first call of its
        motif-networks' ops elsewhere."""
        if oracle is None or not oracle.space.has_motif_networks:
            return
        archs = oracle.space.sample(2, np.random.default_rng(0))
        context = Context(oracle.space)
        dish = cls(inner_steps=1, outer_steps=1).fit(archs, np.array([0.0, 1.0]), context)
        dish.predict(archs, context)

    def check_settings(self, oracle: Oracle) -> None:
        _dtype(self.precision)

    def __init__(
        self,
        hidden: int | None = None,
        in_width: int = 10,
        out_width: int = 10,
        samples: int | None = None,
        init_scale: float = 1.0,
        inner_steps: int | None = None,
        inner_lr: float | None = None,
        inner_l2: float | None = None,
        outer_steps: int | None = None,
        outer_lr: float | None = None,
        outer_lr_decay: float | None = None,
        outer_decay_every: int | None = None,
        outer_l2: float | None = None,
        motifs_per_step: int = 40,
        outer_objective: str = "mse",
        image_size: int = 4,
        time_steps: int = 10,
        select: bool = False,
        grid: dict[str, list[Any]] | None = None,
        precision: str = "float32",
        device: str = "cpu",
        seed: int = 0,
    ) -> None:
        self.hidden = hidden
        self.in_width = in_width
        self.out_width = out_width
        self.samples = samples
        self.init_scale = init_scale
        self.inner_steps = inner_steps
        self.inner_lr = inner_lr
        self.inner_l2 = inner_l2
        self.outer_steps = outer_steps
        self.outer_lr = outer_lr
        self.outer_lr_decay = outer_lr_decay
        self.outer_decay_every = outer_decay_every
        self.outer_l2 = outer_l2
        self.motifs_per_step = motifs_per_step
        self.outer_objective = outer_objective
        self.image_size = image_size
        self.time_steps = time_steps
        self.select = select
        self.grid = grid
        self.precision = precision
        self.device = device
        self.seed = seed

    def resolved_params(self, context: Context) -> dict[str, Any]:
        """The hyperparameters a fit uses: the set ones, else the space's paper setting."""
        paper = {**TABLE_2, **context.space.motif_defaults()}
        return {
            k: paper[k] if v is None and k in paper else v for k, v in self.get_params().items()
        }

    def selection_grid(self, context: Context) -> dict[str, list[Any]]:
        """What `select=True` searches: `grid` if set, else the space's (Table 4's search ranges
        for cells), else Table 2's."""
        return self.grid or context.space.motif_grid() or DEFAULT_GRID

    # ---- fitting ---------------------------------------------------------------------------
    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        if len(archs) < 2 or np.ptp(scores) == 0:
            raise InvalidInputError(
                "petri-dish needs at least 2 training architectures with different scores"
            )
        if self.outer_objective not in OUTER_OBJECTIVES:
            raise InvalidInputError(
                f"unknown outer objective {self.outer_objective!r}; valid: "
                f"{', '.join(OUTER_OBJECTIVES)}"
            )
        with torch_threads(1):
            self._fit_on_one_thread(archs, scores, context)

    def _fit_on_one_thread(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        params = self.resolved_params(context)
        if self.select:
            params = {**params, **self._select(archs, scores, context)}
        self.selected_params_ = (
            {k: params[k] for k in self.selection_grid(context)} if self.select else {}
        )
        self.dish_ = _train_dish(archs, scores, context, params)

    def fitted_info(self) -> dict[str, Any]:
        """Kendall tau between inner and true losses of each outer step's motifs (before its
        update; Cassimon et al.'s in-loop measure, None where undefined), and with `select`
        the grid point App. A.1 picked and every point's held-out loss."""
        info: dict[str, Any] = {}
        if getattr(self, "dish_", None) is not None and self.dish_.step_tau:
            info["step_tau"] = [None if np.isnan(t) else round(t, 4) for t in self.dish_.step_tau]
            if any(self.dish_.step_dropped):  # motifs left out of a step's Eq. 2 (diverged)
                info["step_dropped"] = self.dish_.step_dropped
        if getattr(self, "selected_params_", None):
            info |= {"selected_params": self.selected_params_, "selection": self.selection_}
        return info

    def _select(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> dict[str, Any]:
        """App. A.1: train on one half, pick the grid point with the smallest Eq. 2 loss on the
        other half; `fit` then refits on all data with it."""
        grid = self.selection_grid(context)
        unknown = set(grid) - set(self.param_names())
        if unknown:
            raise InvalidInputError(
                f"petri-dish grid names unknown hyperparameters {sorted(unknown)}"
            )
        if len(archs) < 4:
            raise InvalidInputError(
                "petri-dish hyperparameter selection needs at least 4 architectures"
            )
        order = np.random.default_rng(self.seed).permutation(len(archs))
        train, held = order[: len(order) // 2], order[len(order) // 2 :]
        best, best_loss = {}, np.inf
        self.selection_ = []
        for values in itertools.product(*grid.values()):
            candidate = dict(zip(grid, values, strict=True))
            params = {**self.resolved_params(context), **candidate}
            dish = _train_dish(archs[train], scores[train], context, params)
            predicted = torch.as_tensor(dish.predict(archs[held], context))
            loss = float(
                outer_loss(-predicted, torch.as_tensor(-scores[held]), params["outer_objective"])
            )
            self.selection_.append({**candidate, "validation_outer_loss": loss})
            if loss < best_loss:
                best, best_loss = candidate, loss
        return best

    def _predict(self, archs: np.ndarray, context: Context) -> np.ndarray:
        # One thread for small batches (op overhead dominates); all of them for thousands of motifs.
        with torch_threads(1 if len(archs) < LARGE_BATCH else torch.get_num_threads()):
            return self.dish_.predict(archs, context)


class PetriDishUntrained(PetriDish):
    """Ablation of Fig. 4: motif-networks trained on the random initial synthetic data."""

    name = "petri-dish-untrained"
    description = "Petri dish ablation (Fig. 4): no outer loop, synthetic data stays random"
    # without an outer loop nothing reads the training scores: its set-up costs no ground truth
    uses_train_scores = False

    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        self.selected_params_ = {}
        with torch_threads(1):
            self.dish_ = _train_dish(
                archs, scores, context, {**self.resolved_params(context), "outer_steps": 0}
            )


class _Dish:
    """A trained dish: theta_init, labels and the optimised synthetic inputs (CPU tensors)."""

    def __init__(
        self,
        params: dict[str, Any],
        theta0: torch.Tensor,
        labels: torch.Tensor,
        x_train: torch.Tensor,
        x_valid: torch.Tensor,
        history: list[float],
        step_tau: list[float] | None = None,
        step_dropped: list[int] | None = None,
    ) -> None:
        self.params, self.theta0, self.labels = params, theta0, labels
        self.x_train, self.x_valid, self.history = x_train, x_valid, history
        self.step_tau = step_tau or []
        self.step_dropped = step_dropped or []

    def predict(self, archs: np.ndarray, context: Context) -> np.ndarray:
        """Sec. 3.2: train each new motif on the optimised data; score = -inner valid loss.
        Motifs whose networks compute the same function (`SearchSpace.motif_form`) train
        identically, so each form trains once (9,445 runs for NB201's 15,625 cells)."""
        forms = context.space.motif_form(archs)
        _, first, inverse = np.unique(forms, axis=0, return_index=True, return_inverse=True)
        order = np.argsort(first)  # the forms in order of first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        return self._predict_forms(forms[first[order]], context)[rank[inverse.reshape(-1)]]

    def _predict_forms(self, archs: np.ndarray, context: Context) -> np.ndarray:
        p = self.params
        device = resolve_device(p["device"])
        theta0, x_train, x_valid, labels = (
            t.to(device) for t in (self.theta0, self.x_train, self.x_valid, self.labels)
        )
        losses = []
        for start in range(0, len(archs), PREDICT_CHUNK):
            nets = _nets(context, archs[start : start + PREDICT_CHUNK], p)
            with torch.no_grad():
                losses.append(
                    inner_valid_loss(
                        nets,
                        theta0,
                        x_train,
                        x_valid,
                        labels,
                        p["inner_steps"],
                        p["inner_lr"],
                        p["inner_l2"],
                    )
                )
        loss = torch.cat(losses).double().cpu().numpy()
        # A motif-network whose inner training diverges on the synthetic data (a non-finite
        # validation loss: seen on a few recurrent cells whose products compound) is predicted
        # the worst; the paper is silent. DIVERGED ranks below every finite loss and stays finite.
        return -np.where(np.isfinite(loss), loss, DIVERGED)


def _finite_step(loss: torch.Tensor, *inputs: torch.Tensor) -> bool:
    """Whether an outer step's loss and its gradients on the synthetic data are all finite."""
    return bool(torch.isfinite(loss)) and all(
        x.grad is None or bool(torch.isfinite(x.grad).all()) for x in inputs
    )


DIVERGED = float(np.finfo(np.float32).max)  # the inner loss given to a diverged motif-network
# the dtype of the motif-networks' parameters and the synthetic data (the paper is silent;
# the slope space's compiled inner loop on CPU computes in float64 either way)
PRECISIONS = {"float32": torch.float32, "float64": torch.float64}


def _dtype(precision: str) -> torch.dtype:
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    return PRECISIONS[precision]


MOTIF_OPTIONS = ("hidden", "in_width", "out_width", "image_size", "time_steps")


def _nets(context: Context, archs: np.ndarray, p: dict[str, Any]) -> MotifNetworks:
    """The space builds the motif-networks (each builder reads the MOTIF_OPTIONS it needs);
    they follow their parameters' device."""
    return context.space.motif_networks(archs, **{k: p[k] for k in MOTIF_OPTIONS})


def _train_dish(
    archs: np.ndarray, scores: np.ndarray, context: Context, p: dict[str, Any]
) -> _Dish:
    """Sec. 3.1: initialise theta_init and S_train = S_valid, then run the outer loop."""
    device = resolve_device(p["device"])
    gen = torch.Generator().manual_seed(int(p["seed"]))
    nets = _nets(context, archs, p)
    # drawn in float32 whatever the precision, so that precisions differ in rounding only
    dtype = _dtype(p["precision"])
    theta0 = nets.init_params(gen, p["init_scale"], torch.float32).to(device, dtype)
    x0 = torch.randn(p["samples"], *nets.input_shape, generator=gen).to(device, dtype)
    labels = (torch.rand(p["samples"], *nets.label_shape, generator=gen) < 0.5).to(device, dtype)
    x_train = x0.clone().requires_grad_()
    x_valid = x0.clone().requires_grad_()  # S_train = S_valid at the start
    true_losses = torch.as_tensor(-scores, dtype=dtype, device=device)
    optimizer = torch.optim.Adam([x_train, x_valid], lr=p["outer_lr"], weight_decay=p["outer_l2"])
    schedule = torch.optim.lr_scheduler.StepLR(
        optimizer, step_size=max(1, p["outer_decay_every"]), gamma=p["outer_lr_decay"]
    )
    history, step_tau, dropped = [], [], []
    n = len(archs)

    def valid_losses(sub: MotifNetworks) -> torch.Tensor:
        return inner_valid_loss(
            sub, theta0, x_train, x_valid, labels, p["inner_steps"], p["inner_lr"], p["inner_l2"]
        )

    for _ in range(p["outer_steps"]):
        # App. A.3.2: a fixed-size batch of motifs per outer step when there are more of them.
        sub, target = nets, true_losses
        if n > p["motifs_per_step"]:
            batch = torch.randperm(n, generator=gen)[: p["motifs_per_step"]].to(device)
            sub, target = nets.subset(batch), true_losses[batch]
        losses = valid_losses(sub)
        finite = torch.isfinite(losses.detach())
        diverged = int((~finite).sum())
        dropped.append(diverged if diverged and len(finite) - diverged >= 2 else 0)
        if dropped[-1]:
            # A motif-network that diverges in its inner loop (seen on recurrent cells whose
            # products compound) has no loss for Eq. 2 to match, and its NaN would reach every
            # gradient of the batch (0 x NaN); the paper is silent. This step's outer loss is
            # taken over the other motifs, rerun without it (networks are independent, so
            # their losses are unchanged). Such a step costs about twice as much.
            keep = torch.nonzero(finite).view(-1)
            sub, target = sub.subset(keep), target[keep]
            del losses  # free the first pass's graph before the second
            losses = valid_losses(sub)
        loss = outer_loss(losses, target, p["outer_objective"])  # Eq. 2 by default
        step_tau.append(_kendall_tau(losses.detach(), target))
        optimizer.zero_grad()
        loss.backward()  # Eqs. 3-4: through the unrolled inner loop into S_train and S_valid
        if _finite_step(loss, x_train, x_valid):
            optimizer.step()
            schedule.step()
        else:
            # a non-finite loss or gradient left (fewer than 2 motifs did not diverge, or the
            # reverse pass overflowed): the step would make the synthetic data NaN for good,
            # so it is skipped, its loss kept in `history` as NaN; the decay still counts it
            # (torch warns when a schedule steps before its optimizer has)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler")
                schedule.step()
        history.append(loss.item())
        # The motif-networks restart from theta_init at the next step (inner_train starts there).
    x_train, x_valid = x_train.detach().cpu(), x_valid.detach().cpu()
    return _Dish(dict(p), theta0.cpu(), labels.cpu(), x_train, x_valid, history, step_tau, dropped)


def _kendall_tau(inner_losses: torch.Tensor, true_losses: torch.Tensor) -> float:
    """Kendall tau between a step's inner validation losses and its motifs' true losses, the
    measure of Cassimon et al.'s Fig. 4 and table; NaN where undefined (tied or diverged)."""
    a, b = inner_losses.double().cpu().numpy(), true_losses.double().cpu().numpy()
    if not (np.isfinite(a).all() and np.ptp(a) > 0 and np.ptp(b) > 0):
        return float("nan")
    return float(stats.kendalltau(a, b).statistic)
