"""Fit + predict time of every model-based predictor at n = 200 training cells on
nb201-cifar10, predicting all 15,425 remaining cells (issue 18's target: under 5 s each on 2
cores), with the fit / predict split and Kendall tau for a sanity check.

As in a compare job: default hyperparameters, torch on one thread after warm-up, the
predictor's own models single-threaded. Median of `--repeats` runs (different seeds).

    python benchmarks/bench_model_based.py [--n 200] [--repeats 3] [PREDICTOR ...]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy.stats import kendalltau

from spdbench.oracles.catalog import load_oracle
from spdbench.predictors.base import Context, resolve
from spdbench.torch_utils import torch_threads, warm_up_torch

PREDICTORS = [
    "gp",
    "random-forest",
    "xgboost",
    "lightgbm",
    "bananas",
    "sklearn:sklearn.ensemble.ExtraTreesRegressor",
    "knn",
    "nn-surrogate",
]
TARGET_S = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("predictors", nargs="*", default=PREDICTORS)
    parser.add_argument("--benchmark", default="nb201-cifar10")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    oracle = load_oracle(args.benchmark)
    every = oracle.enumerate()
    metric = oracle.default_metric
    truth = oracle.metric().sign * oracle.scores(every, metric)
    with torch_threads(1):
        warm_up_torch()
        print(f"{args.benchmark}: n = {args.n} train, {len(every) - args.n:,} test cells")
        print(f"{'predictor':<48}{'fit s':>8}{'predict s':>11}{'total s':>9}{'tau':>7}  target")
        for name in args.predictors:
            cls, kwargs = resolve(name)
            missing = cls.missing_packages()
            if missing:
                print(f"{name:<48}  skipped: {', '.join(missing)} not installed")
                continue
            fits, predicts, taus = [], [], []
            for rep in range(args.repeats):
                order = np.random.default_rng(rep).permutation(len(every))
                train, test = order[: args.n], order[args.n :]
                context = Context(oracle.space, metric=metric)
                predictor = cls(**kwargs, seed=rep)
                t0 = time.perf_counter()
                predictor.fit(every[train], truth[train], context)
                t1 = time.perf_counter()
                pred = predictor.predict(every[test], context)
                t2 = time.perf_counter()
                fits.append(t1 - t0)
                predicts.append(t2 - t1)
                taus.append(kendalltau(pred, truth[test]).statistic)
            fit, predict = statistics.median(fits), statistics.median(predicts)
            total = fit + predict
            verdict = "ok" if total < TARGET_S else f"OVER {TARGET_S:g} s"
            print(
                f"{name:<48}{fit:>8.3f}{predict:>11.3f}{total:>9.3f}"
                f"{statistics.median(taus):>7.3f}  {verdict}"
            )


if __name__ == "__main__":
    main()
