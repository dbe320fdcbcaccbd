"""BANANAS' predictor (White et al. 2021, "BANANAS: Bayesian Optimization with Neural
Architectures for Neural Architecture Search"): an ensemble of feed-forward networks on the
path encoding, each trained from its own random initialisation and batch order; the prediction
is the ensemble mean.

Defaults follow BANANAS: 5 networks of 10 fully-connected ReLU layers of width 20, Adam with
learning rate 0.01, 200 epochs of batches of 32, mean absolute error loss (on standardized
scores here). The members train together as one batched network (`torch.bmm`), so the ensemble
costs about as much as one member.
"""

from __future__ import annotations

import itertools
import math
from typing import ClassVar

import numpy as np
import torch

from spdbench.errors import InvalidInputError
from spdbench.predictors.base import Context
from spdbench.predictors.model_based import EncodedPredictor


class _Ensemble(torch.nn.Module):
    """`members` independent MLPs evaluated as one batched network."""

    def __init__(self, members: int, widths: list[int], generator: torch.Generator) -> None:
        super().__init__()
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for a, b in itertools.pairwise(widths):
            bound = 1.0 / math.sqrt(a)  # torch.nn.Linear's default initialisation
            w = (torch.rand(members, a, b, generator=generator) * 2 - 1) * bound
            bias = (torch.rand(members, 1, b, generator=generator) * 2 - 1) * bound
            self.weights.append(torch.nn.Parameter(w))
            self.biases.append(torch.nn.Parameter(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (members, batch, features) -> (members, batch)."""
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = torch.relu(x)
        return x.squeeze(-1)


def _adam(net: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    """Adam, fused where this torch has it on CPU (2.4+: about half the time per step)."""
    try:
        return torch.optim.Adam(net.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(net.parameters(), lr=lr)


class Bananas(EncodedPredictor):
    """An ensemble of MLPs on the path encoding, predicting the ensemble mean (BANANAS)."""

    name = "bananas"
    description = "BANANAS: ensemble of MLPs on the path encoding (White et al. 2021)"
    preferred_encodings: ClassVar[tuple[str, ...]] = ("path", "onehot", "adjacency")

    def __init__(
        self,
        encoding: str | None = None,
        members: int = 5,
        layers: int = 10,
        width: int = 20,
        lr: float = 0.01,
        epochs: int = 200,
        batch_size: int = 32,
        seed: int = 0,
    ) -> None:
        self.encoding = encoding
        self.members = members
        self.layers = layers
        self.width = width
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed

    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        if min(self.members, self.layers, self.width, self.epochs, self.batch_size) < 1:
            raise InvalidInputError(
                "bananas needs members, layers, width, epochs and batch_size of at least 1"
            )
        self.encoding_ = self.encoding_for(context.space)
        gen = torch.Generator().manual_seed(int(self.seed))
        x = torch.as_tensor(self._features(archs, context.space), dtype=torch.float32)
        std = scores.std()
        self.y_mean_, self.y_scale_ = float(scores.mean()), float(std) if std > 0 else 1.0
        y = torch.as_tensor((scores - self.y_mean_) / self.y_scale_, dtype=torch.float32)
        widths = [x.shape[1]] + [self.width] * (self.layers - 1) + [1]
        net = _Ensemble(self.members, widths, gen)
        opt = _adam(net, self.lr)
        n, m = len(y), self.members
        batch = min(self.batch_size, n)
        for _ in range(self.epochs):
            # each member its own batch order: (members, n) permutations
            order = torch.argsort(torch.rand(m, n, generator=gen), dim=1)
            for start in range(0, n, batch):
                idx = order[:, start : start + batch]
                loss = (net(x[idx]) - y[idx]).abs().mean() * m  # sum of the members' MAEs
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.net_ = net.eval()

    def _predict(self, archs: np.ndarray, context: Context) -> np.ndarray:
        x = torch.as_tensor(self._features(archs, context.space), dtype=torch.float32)
        with torch.no_grad():
            pred = self.net_(x.expand(self.members, -1, -1)).mean(dim=0)
        return pred.double().numpy() * self.y_scale_ + self.y_mean_
