"""syne-tune's simulator backend on the same NB201 table spdbench replays: random search and
regularized evolution (population 10, sample 3), evaluations per second and the final
200-epoch test accuracy of the incumbent (mean +- std over seeds), to set beside
`spdbench search -b nb201-cifar10 -s random,regularized-evolution --seeds 10` (12,000 s, 1 worker).

syne-tune has its own dependencies, so it runs in its own environment:

    python benchmarks/bench_search_synetune.py export /tmp/nb201.parquet      # spdbench's venv
    python -m venv /tmp/st && /tmp/st/bin/pip install syne-tune huggingface_hub pyarrow
    /tmp/st/bin/python benchmarks/bench_search_synetune.py run /tmp/nb201.parquet 12000 1 10
"""

import json
import logging
import sys
import time

import numpy as np
import pandas as pd


def export(path: str) -> None:
    """The table spdbench searches: 12-epoch validation accuracy and training time, 200-epoch
    test accuracy, per NB201 cell (genotype columns x0..x5)."""
    from spdbench.oracles.catalog import load_oracle

    o = load_oracle("nb201-cifar10")
    pool = o.enumerate()
    q12, q200 = o.query(pool, 12), o.query(pool, 200)
    df = pd.DataFrame(pool, columns=[f"x{i}" for i in range(6)])
    df["valid_acc"], df["cost"] = q12.metrics["valid_acc"], q12.cost
    df["test_acc"] = q200.metrics["test_acc"]
    df.to_parquet(path)


def run(table: str, budget: float, workers: int, seeds: int) -> None:
    logging.disable(logging.WARNING)
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository.blackbox_tabular import BlackboxTabular
    from syne_tune.blackbox_repository.simulated_tabular_backend import UserBlackboxBackend
    from syne_tune.config_space import choice, randint
    from syne_tune.experiments import load_experiment
    from syne_tune.optimizer.baselines import RandomSearch, RegularizedEvolution
    from syne_tune.optimizer.schedulers.single_objective_scheduler import (
        SingleObjectiveScheduler,
    )

    df = pd.read_parquet(table)
    cols = [f"x{i}" for i in range(6)]
    cs = {c: choice([0, 1, 2, 3, 4]) for c in cols}
    ev = np.stack([df["valid_acc"], df["cost"], df["test_acc"]], -1)[:, None, None, :]
    bb = BlackboxTabular(
        hyperparameters=df[cols].astype(int),
        configuration_space=cs,
        fidelity_space={"epoch": randint(1, 1)},
        objectives_evaluations=ev,
        fidelity_values=np.array([1]),
        objectives_names=["valid_acc", "time", "test_acc"],
    )
    out = {}
    for name in ("random", "regularized-evolution"):
        finals, rates = [], []
        for seed in range(seeds):
            if name == "random":
                sched = RandomSearch(cs, metrics=["valid_acc"], do_minimize=False, random_seed=seed)
            else:
                rea = RegularizedEvolution(cs, population_size=10, sample_size=3, random_seed=seed)
                sched = SingleObjectiveScheduler(
                    cs, metric="valid_acc", do_minimize=False, random_seed=seed, searcher=rea
                )
            tuner = Tuner(
                trial_backend=UserBlackboxBackend(blackbox=bb, elapsed_time_attr="time"),
                scheduler=sched,
                stop_criterion=StoppingCriterion(max_wallclock_time=budget),
                n_workers=workers,
                sleep_time=0,
                callbacks=[SimulatorCallback()],
                save_tuner=False,
                tuner_name=f"st-{name}-{seed}",
                print_update_interval=1e9,
            )
            t0 = time.perf_counter()
            tuner.run()
            wall = time.perf_counter() - t0
            r = load_experiment(tuner.name).results
            finals.append(float(r.loc[r["valid_acc"].idxmax(), "test_acc"]))
            rates.append(len(r) / wall)
        out[name] = {
            "final_mean": float(np.mean(finals)),
            "final_std": float(np.std(finals, ddof=1)),
            "evals_per_s": float(np.mean(rates)),
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    if sys.argv[1] == "export":
        export(sys.argv[2])
    else:
        run(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
