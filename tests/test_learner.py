"""The ActiveLearner: modAL's interface, Algorithm 1, bookkeeping, checkpoints."""

import copy
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from skepinet import EpinetClassifier, strategies
from skepinet.learner import ActiveLearner, History


@pytest.fixture(scope="module")
def pool():
    X, y = make_classification(n_samples=700, n_features=6, n_informative=4, random_state=0)
    return X[:500], y[:500], X[500:], y[500:]


def epinet(**params):
    return EpinetClassifier(random_state=0, max_epochs=5, **params)


# -- modAL interface --------------------------------------------------------------


def test_construction_with_training_data_fits_and_query_returns_rows(pool):
    X, y, _, _ = pool
    learner = ActiveLearner(epinet(), strategies.bald, X_training=X[:20], y_training=y[:20],
                            random_state=0)
    indices, rows = learner.query(X[20:], n_instances=3)
    assert len(set(indices.tolist())) == 3
    np.testing.assert_array_equal(rows, X[20:][indices])
    again = ActiveLearner(epinet(), strategies.bald, X_training=X[:20], y_training=y[:20],
                          random_state=0).query(X[20:], n_instances=3)[0]
    np.testing.assert_array_equal(indices, again)
    _, _, scores = learner.query(X[20:], n_instances=3, return_metrics=True)
    assert scores.shape == (3,)


def test_teach_refits_or_trains_incrementally(pool):
    X, y, _, _ = pool
    learner = ActiveLearner(epinet(), X_training=X[:20], y_training=y[:20])
    module = learner.estimator.module_
    learner.teach(X[20:30], y[20:30], only_new=True)
    assert learner.estimator.module_ is module  # partial_fit: nothing re-initialised
    assert len(learner.X_training) == 30 and len(learner.y_training) == 30
    learner.teach(X[30:40], y[30:40])
    assert learner.estimator.module_ is not module  # refit from scratch on all 40
    assert len(learner.estimator.history) == learner.estimator.max_epochs


def test_teach_with_pandas_and_a_plain_sklearn_model(pool):
    X, y, _, _ = pool
    frame = pd.DataFrame(X)
    learner = ActiveLearner(LogisticRegression(), strategies.entropy,
                            X_training=frame.iloc[:20], y_training=y[:20])
    learner.teach(frame.iloc[20:30], y[20:30])
    assert len(learner.X_training) == 30
    indices, rows = learner.query(frame.iloc[30:], n_instances=2)
    assert isinstance(rows, pd.DataFrame) and len(rows) == 2
    with pytest.raises(TypeError, match="only_new=True needs an estimator with partial_fit"):
        learner.teach(frame.iloc[30:31], y[30:31], only_new=True)
    assert 0 <= learner.score(frame, y) <= 1


def test_learner_exposes_joint_predictions_and_features(pool):
    X, y, _, _ = pool
    learner = ActiveLearner(epinet(), X_training=X[:20], y_training=y[:20])
    assert learner.predict_proba_joint(X[:4], n_index=5).shape == (5, 4, 2)
    assert learner.embed(X[:4]).shape == (4, 50)
    plain = ActiveLearner(LogisticRegression(), X_training=X[:20], y_training=y[:20])
    with pytest.raises(TypeError, match="EpinetClassifier"):
        plain.predict_proba_joint(X[:4])


# -- Algorithm 1 ----------------------------------------------------------------------


def test_run_respects_the_budget_and_never_labels_a_row_twice(pool):
    X, y, X_eval, y_eval = pool
    learner = ActiveLearner(epinet(), random_state=0)
    history = learner.run(X, y, budget=47, candidate_size=30, acquisition_size=10,
                          X_eval=X_eval, y_eval=y_eval, eval_every=2, progress=False)
    labelled = learner.run_state_.labelled
    assert len(labelled) == 47 == len(set(labelled))
    assert learner.run_state_.unlabelled.sum() == 500 - 47
    assert not learner.run_state_.unlabelled[labelled].any()
    assert [r["labels"] for r in history] == [10, 20, 30, 40, 47]
    assert "accuracy" in history[1] and "accuracy" not in history[0] and "log_loss" in history[-1]
    np.testing.assert_array_equal(learner.y_training, y[labelled])


def test_a_replay_is_regularised_as_every_label_so_far(pool):
    X, y, _, _ = pool
    learner = ActiveLearner(EpinetClassifier(prior_precision=12.0, max_epochs=1, random_state=0),
                            random_state=0)
    learner.run(X, y, budget=60, candidate_size=30, acquisition_size=10, recipe="online",
                replay=5, progress=False)
    # The last step trained on 5 replayed + 10 new rows standing for all 60 labels.
    assert learner.estimator.n_train_ == 60
    assert learner.estimator.optimizer_.param_groups[0]["weight_decay"] == pytest.approx(0.2)


def test_no_n_train_reaches_a_model_that_does_not_name_it(pool):
    X, y, _, _ = pool
    seen = []

    class Spy(LogisticRegression):
        def partial_fit(self, X, y, classes=None, **kwargs):
            seen.append(sorted(kwargs))
            return self.fit(X, y)

    ActiveLearner(Spy(), strategies.uniform, random_state=0).run(
        X, y, budget=20, candidate_size=30, acquisition_size=10, recipe="online", replay=5,
        progress=False)
    assert seen and all("n_train" not in kwargs for kwargs in seen)


def test_modal_strategies_drive_the_learner(pool):
    """modAL's strategies take **kwargs and forward them to predict_proba: pass none."""
    uncertainty = pytest.importorskip("modAL.uncertainty")
    X, y, _, _ = pool
    learner = ActiveLearner(epinet(), uncertainty.uncertainty_sampling, random_state=0)
    history = learner.run(X, y, budget=30, candidate_size=40, acquisition_size=10,
                          progress=False)
    assert [r["labels"] for r in history] == [10, 20, 30]
    indices, rows = learner.query(X[:50], n_instances=3)
    assert len(indices) == 3 and len(rows) == 3


def test_run_stops_when_the_pool_is_exhausted(pool):
    X, y, _, _ = pool
    learner = ActiveLearner(epinet(), random_state=0)
    learner.run(X[:25], y[:25], budget=100, candidate_size=10, acquisition_size=10, progress=False)
    assert sorted(learner.run_state_.labelled) == list(range(25))


def test_run_is_reproducible_with_random_state(pool):
    X, y, X_eval, y_eval = pool

    def run():
        learner = ActiveLearner(epinet(), strategies.variance, random_state=3)
        learner.run(X, y, budget=40, candidate_size=50, acquisition_size=10, progress=False)
        return learner.run_state_.labelled, learner.predict_proba_joint(X_eval, n_index=5)

    (labels_a, joint_a), (labels_b, joint_b) = run(), run()
    assert labels_a == labels_b
    np.testing.assert_array_equal(joint_a, joint_b)


def test_prioritised_queries_differ_from_uniform_candidates(pool):
    X, y, _, _ = pool
    picked = {}
    for strategy in (strategies.variance, strategies.uniform):
        learner = ActiveLearner(epinet(), strategy, random_state=0)
        learner.run(X, y, budget=40, candidate_size=100, acquisition_size=10, progress=False)
        picked[strategy.__name__] = learner.run_state_.labelled
    # The first batch is uniform for both (nothing to score with yet); later ones differ.
    assert picked["variance"][:10] == picked["uniform"][:10]
    assert picked["variance"][10:] != picked["uniform"][10:]


def test_callable_oracle_is_asked_for_each_row_once(pool):
    X, y, _, _ = pool
    asked = []

    def person(rows, indices):
        asked.extend(indices.tolist())
        np.testing.assert_array_equal(rows, X[indices])
        return np.where(y[indices] == 1, "spam", "ham")

    learner = ActiveLearner(epinet(), random_state=0)
    learner.run(X, person, budget=30, acquisition_size=10, classes=["ham", "spam"], progress=False)
    assert len(asked) == 30 == len(set(asked))
    assert set(learner.estimator.classes_) == {"ham", "spam"}


@pytest.mark.parametrize("kwargs, match", [
    (dict(budget=0), "budget must be a positive integer, got 0"),
    (dict(budget=10, acquisition_size=20, candidate_size=10), "acquisition_size=20 exceeds candidate_size=10"),
    (dict(budget=10, candidate_size=2.5), "candidate_size must be a positive integer"),
])
def test_run_rejects_bad_settings(kwargs, match, pool):
    X, y, _, _ = pool
    with pytest.raises(ValueError, match=match):
        ActiveLearner(epinet()).run(X, y, progress=False, **kwargs)


def test_run_rejects_an_oracle_of_the_wrong_length(pool):
    X, y, _, _ = pool
    with pytest.raises(ValueError, match="oracle has 499 labels but X_pool has 500 rows"):
        ActiveLearner(epinet()).run(X, y[:-1], budget=10, progress=False)
    with pytest.raises(ValueError, match="returned 1 labels for 10 rows"):
        ActiveLearner(epinet()).run(X, lambda rows, idx: [0], budget=10, classes=[0, 1],
                                    progress=False)


def test_history_converts_to_a_frame_and_plots(pool):
    X, y, X_eval, y_eval = pool
    learner = ActiveLearner(epinet(), random_state=0)
    history = learner.run(X, y, budget=30, X_eval=X_eval, y_eval=y_eval, progress=False)
    frame = history.to_frame()
    assert list(frame["labels"]) == [10, 20, 30]
    assert {"accuracy", "log_loss", "wall_time"} <= set(frame.columns)
    ax = history.plot("accuracy", label="epinet")
    assert ax.get_xlabel() == "labels used" and len(ax.lines) == 1
    with pytest.raises(ValueError, match="no 'auroc' in this history"):
        history.plot("auroc")
    assert isinstance(history, History)


# -- checkpoints -------------------------------------------------------------------------

RUN_SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    import numpy as np
    from sklearn.datasets import make_classification
    from skepinet import EpinetClassifier, strategies
    from skepinet.learner import ActiveLearner

    checkpoint, log, kill_at = sys.argv[1], sys.argv[2], sys.argv[3]
    X, y = make_classification(n_samples=300, n_features=5, random_state=1)

    def oracle(rows, indices):
        with open(log, "a") as f:
            f.write(json.dumps(indices.tolist()) + "\\n")
        return y[indices]

    if kill_at.startswith("train:"):
        # Die in the middle of the n-th training step, after its labels were revealed.
        calls = {"n": 0}
        original = ActiveLearner._train_on
        def dying(self, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] == int(kill_at[6:]):
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, *args, **kwargs)
        ActiveLearner._train_on = dying
    elif kill_at.startswith("save:"):
        # Die while a checkpoint is being written, before it replaces the old one.
        calls = {"n": 0}
        original_replace = os.replace
        def dying_replace(src, dst):
            calls["n"] += 1
            if calls["n"] == int(kill_at[5:]):
                os.kill(os.getpid(), signal.SIGKILL)
            return original_replace(src, dst)
        os.replace = dying_replace

    if os.path.exists(checkpoint):
        learner = ActiveLearner.load(checkpoint)
    else:
        learner = ActiveLearner(EpinetClassifier(random_state=0, max_epochs=3),
                                strategies.bald, random_state=0)
    learner.run(X, oracle, budget=60, candidate_size=40, acquisition_size=10,
                classes=[0, 1], checkpoint=checkpoint, progress=False)
    np.save(checkpoint + ".joint.npy", learner.predict_proba_joint(X, n_index=8))
    with open(checkpoint + ".labelled.json", "w") as f:
        json.dump(learner.run_state_.labelled, f)
""")


def run_script(tmp_path, name, kill_at):
    script = tmp_path / "run.py"
    script.write_text(RUN_SCRIPT)
    checkpoint, log = tmp_path / f"{name}.skepinet", tmp_path / f"{name}.log"
    result = subprocess.run([sys.executable, str(script), str(checkpoint), str(log), kill_at],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    return result, checkpoint, log


def asked(log):
    return [i for line in log.read_text().splitlines() for i in json.loads(line)]


@pytest.mark.parametrize("kill_at", ["train:3", "save:4"])
def test_killed_run_resumes_without_losing_or_repeating_labels(kill_at, tmp_path):
    clean, clean_ckpt, clean_log = run_script(tmp_path, "clean", "never")
    assert clean.returncode == 0, clean.stderr

    killed, ckpt, log = run_script(tmp_path, "killed", kill_at)
    assert killed.returncode == -9  # SIGKILL: no chance to clean up
    assert ckpt.exists()
    resumed, _, _ = run_script(tmp_path, "killed", "never")
    assert resumed.returncode == 0, resumed.stderr
    assert not list(tmp_path.glob(".*.tmp")), "the killed write's temporary file is left"

    queried = asked(log)
    # Answers were journalled before the checkpoint was written: a kill in training or
    # mid-save loses none, and none is asked twice.
    assert len(queried) == len(set(queried)) == 60
    labelled = json.loads((tmp_path / "killed.skepinet.labelled.json").read_text())
    assert labelled == json.loads((tmp_path / "clean.skepinet.labelled.json").read_text())
    assert labelled == asked(clean_log)
    np.testing.assert_array_equal(
        np.load(tmp_path / "killed.skepinet.joint.npy"), np.load(tmp_path / "clean.skepinet.joint.npy")
    )


def test_save_and_load_round_trip(pool, tmp_path):
    X, y, _, _ = pool
    learner = ActiveLearner(epinet(), random_state=0)
    learner.run(X, y, budget=20, progress=False)
    learner.save(tmp_path / "learner.skepinet")
    loaded = ActiveLearner.load(tmp_path / "learner.skepinet")
    assert loaded.run_state_.labelled == learner.run_state_.labelled
    np.testing.assert_array_equal(loaded.predict_proba(X[:5]), learner.predict_proba(X[:5]))
    with pytest.raises(ValueError, match="pool of 500 rows, not 499"):
        loaded.run(X[:-1], y[:-1], budget=30, progress=False)


def test_run_with_a_plain_sklearn_incremental_model(pool):
    from sklearn.linear_model import SGDClassifier

    X, y, X_eval, y_eval = pool
    learner = ActiveLearner(SGDClassifier(loss="log_loss", random_state=0), strategies.entropy,
                            random_state=0)
    history = learner.run(X, y, budget=30, recipe="online", n_steps=3, X_eval=X_eval,
                          y_eval=y_eval, progress=False)
    assert history[-1]["labels"] == 30 and history[-1]["accuracy"] > 0.5


def test_run_explains_what_it_needs(pool):
    X, y, _, _ = pool
    with pytest.raises(ValueError, match=r"run\(\.\.\., classes=\[\.\.\.\]\)"):
        ActiveLearner(epinet()).run(X, lambda rows, idx: y[idx], budget=10, progress=False)
    with pytest.raises(TypeError, match="run\\(\\) trains online with partial_fit"):
        ActiveLearner(LogisticRegression()).run(X, y, budget=10, progress=False)
    with pytest.raises(ValueError, match="n_steps must be a positive integer"):
        ActiveLearner(epinet()).run(X, y, budget=10, n_steps=0, progress=False)


def test_a_pretrained_model_scores_the_first_batch(pool):
    X, y, _, _ = pool
    fitted = epinet().fit(X[:50], y[:50])
    first = {}
    for strategy in (strategies.variance, strategies.uniform):
        # Already trained, and no X_training given: the model still scores batch one.
        learner = ActiveLearner(copy.deepcopy(fitted), strategy, random_state=0)
        learner.run(X, y, budget=10, candidate_size=100, acquisition_size=10, progress=False)
        first[strategy.__name__] = learner.run_state_.labelled
    assert first["variance"] != first["uniform"]


# -- training recipes and the requery protocol ------------------------------------------


class RecordingEpinet(EpinetClassifier):
    """Records the rows of every partial_fit call."""

    def partial_fit(self, X, y, classes=None, n_train=None, **fit_params):
        vars(self).setdefault("calls_", []).append((len(y), n_train, fit_params.get("epochs")))
        return super().partial_fit(X, y, classes=classes, n_train=n_train, **fit_params)


def test_replay_recipe_takes_sgd_steps_in_proportion_to_labels(pool):
    X, y, _, _ = pool
    estimator = RecordingEpinet(random_state=0, batch_size=16)
    learner = ActiveLearner(estimator, random_state=0)
    learner.run(X, y, budget=45, candidate_size=30, acquisition_size=10, steps_per_label=0.5,
                progress=False)
    # floor(0.5 * labels) steps owed after each acquisition: 5, 10, 15, 20, 22 in total.
    assert [rows // 16 for rows, _, _ in estimator.calls_] == [5, 5, 5, 5, 2]
    assert all(rows % 16 == 0 and epochs == 1 for rows, _, epochs in estimator.calls_)
    # Each minibatch stands for every label so far (the fixed prior's weight decay).
    assert [n for _, n, _ in estimator.calls_] == [10, 20, 30, 40, 45]
    assert learner.run_state_.sgd_steps == 22


def test_refit_recipe_starts_afresh_on_every_label_each_step(pool):
    X, y, _, _ = pool
    estimator = RecordingEpinet(random_state=0, max_epochs=2)
    learner = ActiveLearner(estimator, random_state=0)
    learner.run(X, y, budget=20, candidate_size=30, acquisition_size=10, recipe="refit",
                progress=False)
    first = estimator.module_
    learner.run(X, y, budget=30, candidate_size=30, acquisition_size=10, recipe="refit",
                progress=False)
    assert estimator.module_ is not first  # re-initialised
    assert [(rows, epochs) for rows, _, epochs in estimator.calls_] == [(10, 2), (20, 2), (30, 2)]
    # From scratch means the same fit as a fresh estimator on the same 30 labels.
    rows = learner.run_state_.labelled
    fresh = EpinetClassifier(random_state=0, max_epochs=2).fit(X[rows], y[rows])
    np.testing.assert_allclose(estimator.predict_proba(X[:20]), fresh.predict_proba(X[:20]),
                               atol=1e-5)


def test_refit_growth_starts_afresh_when_the_labels_have_grown_by_the_factor(pool):
    X, y, _, _ = pool
    estimator = RecordingEpinet(random_state=0, batch_size=16, max_epochs=3)
    learner = ActiveLearner(estimator, random_state=0)
    run = dict(candidate_size=30, acquisition_size=10, steps_per_label=0.5, refit_growth=2,
               progress=False)
    learner.run(X, y, budget=80, **run)
    # The model at 80 labels is a fresh fit on them, not a continuation.
    rows = learner.run_state_.labelled
    fresh = EpinetClassifier(random_state=0, batch_size=16, max_epochs=3).fit(X[rows], y[rows])
    np.testing.assert_allclose(estimator.predict_proba(X[:50]), fresh.predict_proba(X[:50]),
                               atol=1e-5)
    learner.run(X, y, budget=100, **run)
    calls = [(rows, epochs) for rows, _, epochs in estimator.calls_]
    # The first training at 10 labels is a fresh start; refits at 20, 40 and 80 labels
    # train on every label for max_epochs, replay minibatches (0.5 steps per label) between.
    assert calls == [(16 * 5, 1), (20, 3), (16 * 5, 1), (40, 3), (16 * 5, 1), (16 * 5, 1),
                     (16 * 5, 1), (80, 3), (16 * 5, 1), (16 * 5, 1)]
    state = learner.run_state_
    assert state.refitted_at == 80 and state.sgd_steps == 50  # a refit's steps are not owed


def test_a_resumed_run_keeps_the_refit_schedule(pool, tmp_path):
    X, y, _, _ = pool
    whole = ActiveLearner(epinet(), random_state=0)
    whole.run(X, y, budget=60, candidate_size=30, acquisition_size=10, refit_growth=1.5,
              progress=False)
    path = tmp_path / "run.skepinet"
    first = ActiveLearner(epinet(), random_state=0)
    first.run(X, y, budget=30, candidate_size=30, acquisition_size=10, refit_growth=1.5,
              checkpoint=path, progress=False)
    resumed = ActiveLearner.load(path)
    assert resumed.run_state_.refitted_at == first.run_state_.refitted_at == 30
    resumed.run(X, y, budget=60, candidate_size=30, acquisition_size=10, refit_growth=1.5,
                progress=False)
    assert resumed.run_state_.labelled == whole.run_state_.labelled
    np.testing.assert_allclose(resumed.predict_proba(X[:20]), whole.predict_proba(X[:20]),
                               atol=1e-6)


def test_a_seeded_learner_keeps_learning_from_its_seed_labels(pool):
    X, y, _, _ = pool
    seed = np.arange(400, 440)
    learner = ActiveLearner(RecordingEpinet(random_state=0, max_epochs=2), random_state=0,
                            X_training=X[seed], y_training=y[seed])
    learner.run(X[:400], y[:400], budget=20, candidate_size=30, acquisition_size=10,
                recipe="refit", progress=False)
    # Budget and run state count the run's labels; the model is a fresh fit on all 60.
    rows = np.concatenate([seed, learner.run_state_.labelled])
    assert learner.run_state_.n_labelled == 20 and len(learner.y_training) == 60
    np.testing.assert_array_equal(learner.X_training, X[rows])
    assert [n for n, _, _ in learner.estimator.calls_[-2:]] == [50, 60]
    fresh = EpinetClassifier(random_state=0, max_epochs=2).fit(X[rows], y[rows])
    np.testing.assert_allclose(learner.predict_proba(X[:20]), fresh.predict_proba(X[:20]),
                               atol=1e-5)
    replaying = ActiveLearner(RecordingEpinet(random_state=0, batch_size=16), random_state=0,
                              X_training=X[seed], y_training=y[seed])
    replaying.run(X[:400], y[:400], budget=20, candidate_size=30, acquisition_size=10,
                  progress=False)
    # One step per label of the run, each minibatch standing for the seed's labels too.
    assert [(n, k) for n, k, _ in replaying.estimator.calls_[-2:]] == [(160, 50), (160, 60)]


def test_a_resumed_seeded_run_equals_an_uninterrupted_one(pool, tmp_path):
    X, y, _, _ = pool
    seed = np.arange(400, 420)
    run = dict(candidate_size=30, acquisition_size=10, refit_growth=1.5, progress=False)

    def seeded():
        return ActiveLearner(epinet(), random_state=0, X_training=X[seed], y_training=y[seed])

    whole = seeded()
    whole.run(X[:400], y[:400], budget=60, **run)
    path = tmp_path / "run.skepinet"
    seeded().run(X[:400], y[:400], budget=30, checkpoint=path, **run)
    resumed = ActiveLearner.load(path)
    resumed.run(X[:400], y[:400], budget=60, **run)
    assert resumed.run_state_.labelled == whole.run_state_.labelled
    assert resumed.run_state_.refitted_at == whole.run_state_.refitted_at == 80  # 20 + 60
    np.testing.assert_array_equal(resumed.X_training, whole.X_training)
    np.testing.assert_allclose(resumed.predict_proba(X[:20]), whole.predict_proba(X[:20]),
                               atol=1e-6)


class FailsOnce(EpinetClassifier):
    """Raises in its second partial_fit call, as a Ctrl-C during training would."""

    def partial_fit(self, X, y, classes=None, n_train=None, **fit_params):
        calls = vars(self).setdefault("calls_", [])
        calls.append(len(y))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return super().partial_fit(X, y, classes=classes, n_train=n_train, **fit_params)


def test_a_training_interrupted_and_retried_adds_its_labels_once(pool):
    X, y, _, _ = pool
    learner = ActiveLearner(FailsOnce(random_state=0, max_epochs=2), random_state=0)
    run = dict(budget=30, candidate_size=30, acquisition_size=10, progress=False)
    with pytest.raises(KeyboardInterrupt):
        learner.run(X, y, **run)
    assert learner.run_state_.pending and len(learner.y_training) == 10
    learner.run(X, y, **run)
    labelled = learner.run_state_.labelled
    assert len(labelled) == 30 and not learner.run_state_.pending
    np.testing.assert_array_equal(learner.X_training, X[labelled])
    np.testing.assert_array_equal(learner.y_training, y[labelled])


def test_requery_asks_again_about_rows_already_labelled(pool):
    X, y, _, _ = pool
    rng = np.random.default_rng(0)
    answers = []

    def noisy(rows, indices):
        labels = np.where(rng.random(len(indices)) < 0.8, y[indices], 1 - y[indices])
        answers.extend(zip(indices.tolist(), labels.tolist()))
        return labels

    learner = ActiveLearner(epinet(), strategies.variance, random_state=0)
    learner.run(X[:20], noisy, budget=100, candidate_size=20, acquisition_size=5, requery=True,
                classes=[0, 1], progress=False)
    labelled = learner.run_state_.labelled
    assert len(labelled) == 100 and len(set(labelled)) <= 20  # inputs chosen again
    assert learner.run_state_.labels == [label for _, label in answers]
    assert len(learner.y_training) == 100
    with pytest.raises(ValueError, match="requery=True asks the oracle again"):
        ActiveLearner(epinet()).run(X, y, budget=10, requery=True, progress=False)


def recording_oracle(y):
    """An oracle answering from ``y``, and the list of rows it was asked about."""
    asked = []

    def oracle(rows, indices):
        asked.extend(indices)
        return y[indices]

    return oracle, asked


@pytest.mark.parametrize("kwargs, message", [
    (dict(recipe="sgd"), "recipe='sgd' is not a training recipe"),
    (dict(n_steps=5), "n_steps and replay set the 'online' recipe"),
    (dict(recipe="refit", replay=3), "n_steps and replay set the 'online' recipe"),
    (dict(recipe="refit", refit_growth=2), "recipe='refit' already refits at every step"),
    (dict(refit_growth=1), "refit_growth must be None or a number above 1, got 1"),
    (dict(steps_per_label=0), "steps_per_label must be a positive number"),
    (dict(steps_per_label=float("nan")), "steps_per_label must be a positive number"),
])
def test_bad_recipes_are_refused_before_any_label_is_asked(pool, kwargs, message):
    X, y, _, _ = pool
    oracle, asked = recording_oracle(y)
    learner = ActiveLearner(epinet(), random_state=0)
    with pytest.raises(ValueError, match=message):
        learner.run(X, oracle, budget=10, classes=[0, 1], progress=False, **kwargs)
    assert asked == []


# -- nothing is asked before the inputs are checked; no wrong answer is recorded ---------------


@pytest.mark.parametrize("answer", [
    lambda idx: np.full(len(idx), 7),            # not a class
    lambda idx: np.array(["0"] * len(idx)),      # a class, but as text
    lambda idx: None,                            # no answer
    lambda idx: np.array([None] * len(idx)),     # no answer per row
    lambda idx: np.zeros(len(idx) - 1, int),     # one answer short
])
def test_a_wrong_answer_is_refused_unrecorded_and_the_run_goes_on(pool, tmp_path, answer):
    X, y, _, _ = pool
    checkpoint = tmp_path / "run.skepinet"
    learner = ActiveLearner(epinet(), random_state=0)
    learner.run(X, y, budget=10, candidate_size=30, acquisition_size=5, checkpoint=checkpoint,
                progress=False)
    before = copy.deepcopy(learner.run_state_)
    with pytest.raises(ValueError, match=r"pool row \d+|one label per requested row"):
        learner.run(X, lambda rows, idx: answer(idx), budget=20, candidate_size=30,
                    acquisition_size=5, checkpoint=checkpoint, progress=False)
    state = learner.run_state_
    assert state.labelled == before.labelled and state.labels == before.labels
    assert state.n_labelled == 10 and not state.pending
    # Neither the learner in memory nor its checkpoint is bricked.
    for resumed in (learner, ActiveLearner.load(checkpoint)):
        history = resumed.run(X, lambda rows, idx: y[idx], budget=20, candidate_size=30,
                              acquisition_size=5, progress=False)
        assert history[-1]["labels"] == 20
        assert all(label in (0, 1) for label in resumed.run_state_.labels)


def test_the_error_names_the_row_and_the_value(pool):
    X, y, _, _ = pool
    learner = ActiveLearner(epinet(), random_state=0)
    with pytest.raises(ValueError, match=r"answered 7 \(int\) for pool row \d+, which is not one "
                                         r"of the classes \[0, 1\]"):
        learner.run(X, lambda rows, idx: np.full(len(idx), 7), budget=10, classes=[0, 1],
                    progress=False)


def test_resuming_over_another_pool_of_the_same_size_is_refused(pool):
    X, y, _, _ = pool
    learner = ActiveLearner(epinet(), random_state=0)
    learner.run(X, y, budget=10, candidate_size=30, progress=False)
    with pytest.raises(ValueError, match=r"another pool of 500 rows \(fingerprint [0-9a-f]{16}"):
        learner.run(X[::-1], y[::-1], budget=20, candidate_size=30, progress=False)
    assert learner.run_state_.n_labelled == 10
    learner.run(X.copy(), y, budget=20, candidate_size=30, progress=False)  # same content
    assert learner.run_state_.n_labelled == 20


@pytest.mark.parametrize("kwargs, message", [
    (dict(checkpoint="/no/such/folder/run.skepinet"), "does not exist"),
    (dict(n_index=0), "n_index must be a positive integer"),
    (dict(X_eval=np.zeros((3, 6))), "pass both X_eval and y_eval"),
    (dict(recipe="online", replay=-1), "replay must be None or a non-negative integer"),
    (dict(pool_nan=True), "X_pool row 7 holds NaN"),
])
def test_inputs_are_checked_before_the_oracle_is_asked_and_no_run_state_is_left(
        pool, kwargs, message):
    X, y, _, _ = pool
    if kwargs.pop("pool_nan", False):
        X = X.copy()
        X[7, 2] = np.nan
    oracle, asked = recording_oracle(y)
    learner = ActiveLearner(epinet(), random_state=0)
    with pytest.raises(ValueError, match=message):
        learner.run(X, oracle, budget=10, classes=[0, 1], progress=False, **kwargs)
    assert asked == [] and learner.run_state_ is None
    # The next, correct call is not blocked by the rejected one.
    assert learner.run(pool[0], oracle, budget=10, classes=[0, 1], progress=False)[-1]["labels"] == 10


def test_a_resumed_learning_curve_keeps_the_step_pending_at_the_crash(pool, tmp_path,
                                                                      monkeypatch):
    X, y, X_eval, y_eval = pool
    checkpoint = tmp_path / "run.skepinet"
    learner = ActiveLearner(epinet(), random_state=0)
    original, calls = ActiveLearner._train_on, {"n": 0}

    def crash_on_third(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # after step 3's labels were checkpointed
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ActiveLearner, "_train_on", crash_on_third)
    run = dict(budget=50, candidate_size=30, acquisition_size=10, X_eval=X_eval, y_eval=y_eval,
               checkpoint=checkpoint, progress=False)
    with pytest.raises(KeyboardInterrupt):
        learner.run(X, y, **run)
    monkeypatch.setattr(ActiveLearner, "_train_on", original)
    history = ActiveLearner.load(checkpoint).run(X, y, **run)
    assert [r["labels"] for r in history] == [10, 20, 30, 40, 50]
    assert all("accuracy" in r for r in history)


def test_teach_refuses_rows_of_another_width_clearly(pool):
    X, y, _, _ = pool
    learner = ActiveLearner(epinet(), X_training=X[:20], y_training=y[:20])
    with pytest.raises(ValueError, match=r"teach\(\) got rows of shape \(3,\) but the learner "
                                         r"was taught rows of shape \(6,\)"):
        learner.teach(X[20:30, :3], y[20:30], only_new=True)
    assert len(learner.X_training) == 20


def test_checkpoints_get_the_users_file_mode(pool, tmp_path):
    X, y, _, _ = pool
    learner = ActiveLearner(epinet(), random_state=0)
    learner.run(X, y, budget=10, candidate_size=30, progress=False,
                checkpoint=tmp_path / "run.skepinet")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(tmp_path / "run.skepinet").st_mode & 0o777 == 0o666 & ~umask


def test_evaluate_is_the_benchmarks_evaluation_and_agrees_with_sklearn(pool):
    from sklearn.metrics import log_loss

    from skepinet.metrics import evaluate_enn

    X, y, X_eval, y_eval = pool
    learner = ActiveLearner(epinet(), X_training=X[:100], y_training=y[:100], random_state=0)
    metrics = learner.evaluate(X_eval, y_eval)
    assert metrics == evaluate_enn(learner.estimator, X_eval, y_eval)
    proba = learner.predict_proba(X_eval)
    assert metrics["log_loss"] == pytest.approx(log_loss(y_eval, proba), rel=1e-9)
    assert metrics["accuracy"] == pytest.approx(np.mean(learner.predict(X_eval) == y_eval))
