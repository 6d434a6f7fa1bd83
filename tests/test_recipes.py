"""Tests of skepinet.recipes: which labels a step of a run trains on."""

import numpy as np
import pytest

from skepinet import EpinetClassifier
from skepinet.datasets import make_testbed_classification
from skepinet.recipes import check_recipe, partial_fit, refit_is_due, training_rows
from skepinet.runs import RunState


def state_with(n_old, n_new):
    state = RunState.start(100)
    if n_old:
        state.record(np.arange(n_old), np.zeros(n_old, dtype=int))
    state.record(np.arange(n_old, n_old + n_new), np.ones(n_new, dtype=int))
    return state


class Recorder:
    batch_size = 4
    max_epochs = 7

    def __init__(self):
        self.calls = []

    def partial_fit(self, X, y, classes=None, n_train=None):
        self.calls.append((len(X), n_train))


def test_replay_owes_steps_per_label_and_carries_fractions():
    rng = np.random.default_rng(0)
    state = state_with(0, 5)
    positions, epochs = training_rows(Recorder(), state, rng, recipe="replay",
                                      steps_per_label=0.5, n_steps=1, replay=None)
    assert epochs == 1 and len(positions) == 2 * 4 and state.sgd_steps == 2
    state.record(np.arange(5, 8), np.ones(3, dtype=int))  # 8 labels: 4 steps owed in all
    positions, _ = training_rows(Recorder(), state, rng, recipe="replay", steps_per_label=0.5,
                                 n_steps=1, replay=None)
    assert len(positions) == 2 * 4 and state.sgd_steps == 4 and positions.max() < 8


def test_online_trains_on_the_new_batch_and_a_replay_sample():
    state = state_with(20, 5)
    rng = np.random.default_rng(0)
    positions, epochs = training_rows(Recorder(), state, rng, recipe="online",
                                      steps_per_label=1.0, n_steps=3, replay=4)
    assert epochs == 3 and len(positions) == 9
    assert positions[-5:].tolist() == list(range(20, 25)) and positions[:4].max() < 20
    positions, _ = training_rows(Recorder(), state, rng, recipe="online", steps_per_label=1.0,
                                 n_steps=1, replay=0)
    assert positions.tolist() == list(range(20, 25))


def test_refit_reinitialises_and_trains_on_every_label():
    X, y = make_testbed_classification(60, n_features=3, random_state=0)
    estimator = EpinetClassifier(hidden_sizes=(8,), max_epochs=2, random_state=0).fit(X, y)
    trained = [p.detach().clone() for p in estimator.module_.parameters()]
    positions, epochs = training_rows(estimator, state_with(10, 5), np.random.default_rng(0),
                                      recipe="refit", steps_per_label=1.0, n_steps=1,
                                      replay=None)
    assert positions.tolist() == list(range(15)) and epochs == 2
    assert any(not np.allclose(a, b.detach()) for a, b in
               zip(trained, estimator.module_.parameters()))


def test_refit_growth_refits_on_a_geometric_schedule_of_labels():
    rng = np.random.default_rng(0)
    state, refits = RunState.start(100), []
    for step in range(10):
        state.record(np.arange(5 * step, 5 * step + 5), np.zeros(5, dtype=int))
        positions, epochs = training_rows(Recorder(), state, rng, recipe="online",
                                          steps_per_label=1.0, n_steps=1, replay=0,
                                          refit_growth=1.5)
        if epochs == Recorder.max_epochs:
            assert positions.tolist() == list(range(len(state.labelled)))
            refits.append(len(state.labelled))
        else:
            assert len(positions) == 5
    # A fresh start at 5 labels, then each time the labels reach 1.5x the last refit's.
    assert refits == [10, 15, 25, 40]
    assert state.refitted_at == 40


def test_without_refit_growth_nothing_refits():
    state = state_with(0, 5)
    for _ in range(5):
        state.record(np.arange(5, 10), np.zeros(5, dtype=int))
        assert not refit_is_due(state, None)
        _, epochs = training_rows(Recorder(), state, np.random.default_rng(0), recipe="online",
                                  steps_per_label=1.0, n_steps=1, replay=0)
        assert epochs == 1


def test_labels_held_before_the_run_are_trained_on_but_owe_no_steps():
    # 30 labels held before the run, then the run's 10 (5 of them new): 40 in all.
    rng = np.random.default_rng(0)
    state = state_with(5, 5)
    positions, _ = training_rows(Recorder(), state, rng, recipe="replay", steps_per_label=1.0,
                                 n_steps=1, replay=None, n_train=40)
    assert state.sgd_steps == 10 and len(positions) == 10 * 4  # owed for the run's 10
    assert positions.max() < 40 and positions.min() >= 0
    assert (positions < 30).mean() > 0.5  # the draws cover the held labels too
    positions, _ = training_rows(Recorder(), state_with(5, 5), rng, recipe="online",
                                 steps_per_label=1.0, n_steps=1, replay=None, n_train=40)
    assert positions.tolist() == list(range(40))  # the new 5 are the last
    positions, _ = training_rows(Recorder(), state_with(5, 5), rng, recipe="online",
                                 steps_per_label=1.0, n_steps=1, replay=0, n_train=40)
    assert positions.tolist() == list(range(35, 40))
    refit_state = state_with(5, 5)
    positions, _ = training_rows(Recorder(), refit_state, rng, recipe="refit",
                                 steps_per_label=1.0, n_steps=1, replay=None, n_train=40)
    assert positions.tolist() == list(range(40)) and refit_state.refitted_at == 40
    # Growth counts every label: 40 -> 60 is 1.5x, though the run's grew 10 -> 30.
    refit_state.record(np.arange(10, 30), np.zeros(20, dtype=int))
    assert not refit_is_due(refit_state, 1.5, n_train=59)
    assert refit_is_due(refit_state, 1.5, n_train=60)


def test_partial_fit_passes_n_train_only_where_it_is_named():
    recorder = Recorder()
    partial_fit(recorder, np.zeros((3, 2)), np.zeros(3), 2, n_train=30)
    assert recorder.calls == [(3, 30), (3, 30)]

    class Plain:
        calls = 0

        def partial_fit(self, X, y):
            Plain.calls += 1

    partial_fit(Plain(), np.zeros((3, 2)), np.zeros(3), 3, n_train=30)
    assert Plain.calls == 3


@pytest.mark.parametrize("args, message", [
    (("fast", 1.0, 1, None), "not a training recipe"),
    (("replay", 1.0, 2, None), "n_steps and replay set the 'online' recipe"),
    (("replay", 0, 1, None), "steps_per_label must be a positive number"),
    (("online", 1.0, 1, -1), "replay must be None or a non-negative integer"),
    (("online", 1.0, 1, True), "replay must be None"),
    (("replay", 1.0, 1, None, 1.0), "refit_growth must be None or a number above 1"),
    (("replay", 1.0, 1, None, float("inf")), "refit_growth must be None or a number above 1"),
    (("replay", 1.0, 1, None, True), "refit_growth must be None or a number above 1"),
    (("refit", 1.0, 1, None, 2.0), "already refits at every step"),
])
def test_bad_recipes_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        check_recipe(*args)
