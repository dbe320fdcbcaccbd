"""The NN-based surrogate of Rawal et al. 2020 (Sec. 4.1, App. A.2.3, Table 3): a small
feed-forward network from the architecture's encoding (the slope itself for the sigmoid space)
to its normalised ground truth, trained with MSE."""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn

from spdbench.predictors.base import Context, Predictor


class NNSurrogate(Predictor):
    """2 hidden layers of 10 (ReLU), Adam lr 0.01 (x0.97 every 100 steps), L2 1e-4, 150 steps, batch 15."""

    name = "nn-surrogate"
    family = "model-based"
    description = "feed-forward surrogate on the encoding (Rawal et al. 2020, Table 3)"

    def __init__(
        self,
        hidden: int = 10,
        layers: int = 2,
        lr: float = 0.01,
        lr_decay: float = 0.97,
        lr_decay_steps: int = 100,
        l2: float = 1e-4,
        steps: int = 150,
        batch_size: int = 15,
        init_scale: float = 0.1,
        seed: int = 0,
    ) -> None:
        self.hidden = hidden
        self.layers = layers
        self.lr = lr
        self.lr_decay = lr_decay
        self.lr_decay_steps = lr_decay_steps
        self.l2 = l2
        self.steps = steps
        self.batch_size = batch_size
        self.init_scale = init_scale
        self.seed = seed

    @classmethod
    def requirements(cls) -> list[str]:
        return ["encoding (the space's features)", *super().requirements()]

    def _fit(self, archs: np.ndarray, scores: np.ndarray, context: Context) -> None:
        gen = torch.Generator().manual_seed(int(self.seed))
        x = torch.as_tensor(context.space.encode(archs), dtype=torch.float32)
        std = scores.std()
        # Targets normalised to zero mean and unit variance, as for the Petri dish (App. A.2.3).
        y = torch.as_tensor(
            (scores - scores.mean()) / (std if std > 0 else 1.0), dtype=torch.float32
        )
        widths = [x.shape[1]] + [self.hidden] * self.layers
        mods: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            mods += [nn.Linear(a, b), nn.ReLU()]
        mods.append(nn.Linear(widths[-1], 1))
        net = nn.Sequential(*mods)
        with torch.no_grad():
            for p in net.parameters():  # "scale of initial random weights (0.1)", Sec. 4.1
                p.copy_(torch.randn(p.shape, generator=gen) * self.init_scale)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.l2)
        sched = torch.optim.lr_scheduler.StepLR(
            opt, step_size=self.lr_decay_steps, gamma=self.lr_decay
        )
        n = len(y)
        for _ in range(self.steps):
            idx = torch.randperm(n, generator=gen)[: self.batch_size]
            loss = nn.functional.mse_loss(net(x[idx]).squeeze(1), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        self.net_ = net.eval()

    def _predict(self, archs: np.ndarray, context: Context) -> np.ndarray:
        x = torch.as_tensor(context.space.encode(archs), dtype=torch.float32)
        with torch.no_grad():
            return self.net_(x).squeeze(1).double().numpy()
