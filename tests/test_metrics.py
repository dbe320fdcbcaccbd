import numpy as np
import pytest

from spdbench.errors import InvalidInputError
from spdbench.harness.metrics import mean_ci, mean_pm, ranking_metrics


def test_perfect_reversed_and_constant_rankings():
    truth = np.arange(20.0)
    perfect = ranking_metrics(truth, truth * 3 + 1)
    assert perfect["kendall_tau"] == pytest.approx(1.0)
    assert perfect["top_k_precision"] == 1.0 and perfect["regret"] == 0.0
    reversed_ = ranking_metrics(truth, -truth)
    assert reversed_["kendall_tau"] == pytest.approx(-1.0)
    assert reversed_["regret"] == 19.0 and reversed_["top_k_precision"] == 0.0
    assert ranking_metrics(truth, np.zeros(20))["kendall_tau"] == 0.0


def test_metrics_reject_bad_input():
    with pytest.raises(InvalidInputError):
        ranking_metrics(np.arange(3.0), np.arange(4.0))


def test_mean_ci():
    m, h = mean_ci(np.array([1.0]))
    assert m == 1.0 and np.isnan(h)  # one run: no interval
    assert mean_pm(m, h) == "1.000" and mean_pm(0.5, 0.25, ".2f") == "0.50 ± 0.25"
    m, h = mean_ci(np.array([1.0, 2.0, 3.0]))
    assert m == 2.0 and h == pytest.approx(2.4841, rel=1e-3)  # t(0.975, 2) * 1/sqrt(3)


def test_in_loop_table_reports_undefined_steps_and_left_out_motifs():
    """The in-loop tau table counts an undefined step as 0 and shows the share of steps that
    left a diverged motif-network out of Eq. 2 (from fitted_info's step_dropped)."""
    import json

    import pandas as pd

    from spdbench.report.compare_report import in_loop_tau_table

    infos = [
        {"step_tau": [0.5, None, 0.7, 0.2], "step_dropped": [0, 0, 1, 2]},
        {"step_tau": [0.1, 0.3, 0.5, 0.3]},
    ]
    rows = pd.DataFrame(
        {
            "predictor": ["petri-dish"] * 2,
            "train_size": [20, 20],
            "kendall_tau": [0.2, 0.4],
            "fitted_info": [json.dumps(i) for i in infos],
        }
    )
    lines = in_loop_tau_table(rows)
    row = next(line for line in lines if line.startswith("| petri-dish | 20 |"))
    assert row.split(" | ")[2].startswith("0.325 ± ")  # undefined counts as 0: 0.35, 0.3
    assert row.endswith("| 12% | 25% | 0.300 ± 1.271 |")


def test_paired_table_compares_each_predictor_with_the_best_on_common_replicates():
    """Paired by replicate: a constant gap with split noise common to both is 'below' even
    though the two intervals overlap; alternating differences are 'level'; identical rows
    are 'same'; a predictor missing a replicate is paired on the others only."""
    import pandas as pd

    from spdbench.report.paired import paired_table

    split = np.array([0.1, 0.5, 0.2, 0.6, 0.3])  # what each split does to every predictor
    taus = {
        "best": split + 0.3,
        "behind": split + 0.25 + np.array([0.0, 0.001, -0.001, 0.0, 0.002]),
        "noisy": split + 0.3 + np.array([0.05, -0.05, 0.04, -0.04, 0.0]) - 0.001,
        "copy": split + 0.3,
        "partial": split + 0.1,
    }
    rows = pd.DataFrame(
        [
            {"predictor": name, "train_size": 10, "replicate": r, "kendall_tau": t[r]}
            for name, t in taus.items()
            for r in range(5)
            if not (name == "partial" and r == 4)
        ]
    )
    lines = {line.split(" | ")[0][2:]: line.split(" | ") for line in paired_table(rows)[6:-1]}
    assert lines["behind"][2] == "best" and lines["behind"][-1] == "below |"
    assert lines["behind"][4] == "0 / 5 of 5"
    assert lines["noisy"][-1] == "level |" and lines["noisy"][4] == "2 / 3 of 5"
    assert lines["copy"][-1] == "same |" and lines["copy"][5] == "-"
    assert lines["partial"][4] == "0 / 4 of 4" and lines["partial"][3].startswith("-0.200")
    # against a chosen predictor: every other one, 'above' where it is
    against = {
        line.split(" | ")[0][2:]: line.split(" | ")
        for line in paired_table(rows, reference="behind")[6:-1]
    }
    assert against["best"][2] == "behind" and against["best"][-1] == "above |"
    # one predictor, or one common replicate: nothing to pair
    assert paired_table(rows[rows["predictor"] == "best"]) == []
    assert paired_table(rows[rows["replicate"] == 0]) == []
