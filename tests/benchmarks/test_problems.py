"""The testbed's problems: redrawn when degenerate, and an oracle that redraws labels."""

import numpy as np
import pytest

from skepinet.benchmarks import testbed
from skepinet.benchmarks.problems import make_problem, redraw_oracle


def test_degenerate_testbed_problems_are_redrawn():
    # seed 6 at temperature 0.1 labels 999 of 1,000 pool rows alike
    problem = make_problem(6, temperature=0.1, n_test=10)
    assert problem["seed"] == 10006
    assert min(np.bincount(problem["y_pool"])) >= 100
    assert make_problem(0, n_test=10)["seed"] == 0
    with pytest.raises(ValueError, match="lower min_class_fraction"):
        make_problem(0, n_pool=20, n_test=10, min_class_fraction=0.6)


def test_a_problem_holds_its_true_probabilities_and_the_oracle_draws_from_them():
    problem = make_problem(0, n_pool=20, n_test=10, temperature=0.5)
    assert problem["X_pool"].shape == (20, 10) and problem["X_test"].shape == (10, 10)
    np.testing.assert_allclose(problem["proba_pool"].sum(axis=1), 1.0)
    oracle = redraw_oracle(problem["proba_pool"], seed=0)
    first, again = oracle(None, np.full(2000, 3)), oracle(None, np.full(2000, 3))
    assert not np.array_equal(first, again)  # each ask is a fresh draw
    assert abs(np.r_[first, again].mean() - problem["proba_pool"][3, 1]) < 0.04


def test_the_testbed_module_still_offers_them():
    assert testbed.make_problem is make_problem and testbed.redraw_oracle is redraw_oracle
