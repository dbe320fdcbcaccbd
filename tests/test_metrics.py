import numpy as np
import pytest

from spdbench.errors import InvalidInputError
from spdbench.harness.metrics import mean_ci, ranking_metrics


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
    assert mean_ci(np.array([1.0])) == (1.0, 0.0)
    m, h = mean_ci(np.array([1.0, 2.0, 3.0]))
    assert m == 2.0 and h == pytest.approx(2.4841, rel=1e-3)  # t(0.975, 2) * 1/sqrt(3)
