"""Tests for skepinet.strategies: modAL-style query strategies."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skepinet import (
    BaselineClassifier,
    EpinetClassifier,
    priorities,
    scoring,
    strategies,
)
from skepinet.strategies import (
    STRATEGIES,
    bald,
    batchbald,
    coreset,
    entropy,
    select_top,
    uncertain_diverse,
    uniform,
)

EPISTEMIC = ["bald", "variance", "batchbald", "epig"]
N_INDEX = 30  # enough index samples for stable scores, cheap to compute


class Wrapper:
    """A minimal active learner: the model sits in ``.estimator``."""

    def __init__(self, estimator, X_training=None):
        self.estimator = estimator
        self.X_training = X_training


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 4).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    X_pool = (2 * rng.randn(150, 4)).astype(np.float32)
    return X, y, X_pool


@pytest.fixture(scope="module")
def epinet(data):
    X, y, _ = data
    return EpinetClassifier(max_epochs=5, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def logreg(data):
    X, y, _ = data
    return LogisticRegression().fit(X, y)


def query(strategy, model, X_pool, n_instances=2, **kwargs):
    kwargs.setdefault("random_state", 0)
    if strategy not in (strategies.coreset, strategies.uniform):
        kwargs.setdefault("n_index", N_INDEX)
    return strategy(model, X_pool, n_instances, **kwargs)


# -- return contract ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_returns_indices_and_scores(name, epinet, data):
    X_pool = data[2]
    result = query(STRATEGIES[name], epinet, X_pool, n_instances=2)
    assert isinstance(result, tuple) and len(result) == 2
    indices, scores = result
    assert indices.dtype == np.int64 and indices.shape == (2,)
    assert scores.dtype == np.float64 and scores.shape == (2,)
    assert len(set(indices.tolist())) == 2
    assert ((indices >= 0) & (indices < len(X_pool))).all()


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_deterministic_given_random_state(name, epinet, data):
    first = query(STRATEGIES[name], epinet, data[2], n_instances=3)
    second = query(STRATEGIES[name], epinet, data[2], n_instances=3)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


@pytest.mark.parametrize("name", ["bald", "variance", "entropy", "margin", "least_confidence"])
def test_top_n_scores_match_priority(name, epinet, data):
    X_pool = data[2]
    indices, scores = query(STRATEGIES[name], epinet, X_pool, n_instances=3)
    expected = priorities.PRIORITIES[name](epinet.predict_proba_joint(X_pool, n_index=N_INDEX))
    np.testing.assert_allclose(scores, expected[indices], rtol=1e-5, atol=1e-7)
    # Best first, and nothing left in the pool beats the last pick.
    assert (np.diff(scores) <= 0).all()
    assert np.delete(expected, indices).max() <= scores[-1] + 1e-6


def test_epig_scores_each_row_by_the_joint_with_its_targets(epinet, data):
    X, _, X_pool = data
    targets = X[:20]
    indices, scores = query(strategies.epig, epinet, X_pool, n_instances=4, X_target=targets)
    expected = priorities.epig(epinet.predict_proba_joint(X_pool, n_index=N_INDEX),
                               epinet.predict_proba_joint(targets, n_index=N_INDEX))
    np.testing.assert_allclose(scores, expected[indices], rtol=1e-5, atol=1e-9)
    assert np.delete(expected, indices).max() <= scores[-1] + 1e-9
    # Without X_target, n_targets rows of the pool are the targets, drawn by random_state.
    a = query(strategies.epig, epinet, X_pool, n_instances=4, n_targets=10, random_state=1)
    b = query(strategies.epig, epinet, X_pool, n_instances=4, n_targets=10, random_state=2)
    assert not np.array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="X_target has no rows"):
        query(strategies.epig, epinet, X_pool, X_target=X[:0])
    with pytest.raises(ValueError, match="n_targets"):
        query(strategies.epig, epinet, X_pool, n_targets=0)


def test_epig_predicts_a_one_chunk_pool_once(epinet, data, monkeypatch):
    X_pool = data[2]
    calls = []
    original = epinet.predict_proba_joint
    monkeypatch.setattr(epinet, "predict_proba_joint",
                        lambda X, n_index: calls.append(len(X)) or original(X, n_index))
    one = query(strategies.epig, epinet, X_pool, n_instances=4, n_targets=10)
    assert calls == [len(X_pool)]  # the targets' predictions come from the pool's
    calls.clear()
    chunked = query(strategies.epig, epinet, X_pool, n_instances=4, n_targets=10, chunk_size=40)
    assert calls == [10, 40, 40, 40, 30]
    np.testing.assert_array_equal(chunked[0], one[0])
    np.testing.assert_allclose(chunked[1], one[1], rtol=1e-5)


def test_chunked_scoring_matches_single_pass(epinet, data):
    X_pool = data[2]
    whole = bald(epinet, X_pool, 5, n_index=N_INDEX, random_state=0)
    chunked = bald(epinet, X_pool, 5, n_index=N_INDEX, random_state=0, chunk_size=7)
    np.testing.assert_array_equal(chunked[0], whole[0])
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-5)


def test_pandas_and_list_pools(epinet, data):
    X_pool = data[2]
    expected = bald(epinet, X_pool, 2, n_index=N_INDEX, random_state=0)[0]
    frame = pd.DataFrame(X_pool, index=np.arange(len(X_pool)) + 1000)
    np.testing.assert_array_equal(
        bald(epinet, frame, 2, n_index=N_INDEX, random_state=0, chunk_size=64)[0], expected
    )
    np.testing.assert_array_equal(
        bald(epinet, X_pool.tolist(), 2, n_index=N_INDEX, random_state=0, chunk_size=64)[0],
        expected,
    )


# -- tie-breaking and selection -----------------------------------------------------------


def test_select_top_breaks_only_exact_ties():
    scores = np.array([0.1, 0.9, 0.5, 0.9, 0.2])
    np.testing.assert_array_equal(np.sort(select_top(scores, 2, 0)), [1, 3])
    assert select_top(scores, 3, 0)[2] == 2
    picks = {tuple(select_top(scores, 1, seed)) for seed in range(30)}
    assert picks == {(1,), (3,)}
    assert select_top([np.nan, 0.0, -1.0], 1, 0)[0] == 1


def test_all_equal_scores_pick_differently_per_seed(data):
    # BaselineClassifier has no epistemic uncertainty: bald is 0 everywhere.
    X, y, X_pool = data
    baseline = BaselineClassifier(max_epochs=1, random_state=0).fit(X, y)
    picks = [tuple(bald(baseline, X_pool, 2, random_state=seed)[0]) for seed in range(6)]
    assert len(set(picks)) > 1
    assert all(pick != (0, 1) for pick in picks)
    assert bald(baseline, X_pool, 2, random_state=0)[1].tolist() == [0.0, 0.0]


def test_uniform_strategy_ignores_model():
    X_pool = np.zeros((50, 3))
    indices, scores = uniform(None, X_pool, 5, random_state=0)
    assert len(set(indices.tolist())) == 5
    assert (np.diff(scores) <= 0).all()
    assert not np.array_equal(indices, uniform(None, X_pool, 5, random_state=1)[0])


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_n_instances_larger_than_pool(name, epinet, data):
    X_pool = data[2][:3]
    with pytest.raises(ValueError, match=r"n_instances=4 is larger than the pool \(3 rows\)"):
        query(STRATEGIES[name], epinet, X_pool, n_instances=4)


def test_bad_arguments(epinet, data):
    X_pool = data[2]
    with pytest.raises(ValueError, match="n_instances"):
        bald(epinet, X_pool, 0)
    with pytest.raises(TypeError, match="n_instances"):
        bald(epinet, X_pool, 2.0)
    with pytest.raises(ValueError, match="n_index"):
        bald(epinet, X_pool, 2, n_index=0)
    with pytest.raises(ValueError, match="chunk_size"):
        bald(epinet, X_pool, 2, chunk_size=0)
    with pytest.raises(ValueError, match="n_candidates=1 is smaller than n_instances=2"):
        uncertain_diverse(epinet, X_pool, 2, n_candidates=1)
    with pytest.raises(ValueError, match="n_candidates=1 is smaller than n_instances=2"):
        batchbald(epinet, X_pool, 2, n_candidates=1)
    with pytest.raises(ValueError, match="priority='nope'"):
        uncertain_diverse(epinet, X_pool, 2, priority="nope")


@pytest.mark.parametrize("name", EPISTEMIC)
def test_epistemic_strategy_needs_an_enn(name, logreg, data):
    with pytest.raises(TypeError, match="EpinetClassifier.*entropy"):
        STRATEGIES[name](logreg, data[2], 2)


def test_uncertain_diverse_with_epistemic_priority_needs_an_enn(logreg, data):
    with pytest.raises(TypeError, match="predict_proba_joint"):
        uncertain_diverse(logreg, data[2], 2)
    indices, _ = uncertain_diverse(logreg, data[2], 2, priority="entropy", random_state=0)
    assert len(set(indices.tolist())) == 2


# -- what `classifier` may be ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["entropy", "margin", "least_confidence"])
def test_marginal_strategies_on_plain_sklearn_classifier(name, logreg, data):
    X_pool = data[2]
    indices, scores = STRATEGIES[name](logreg, X_pool, 3, random_state=0)
    expected = priorities.PRIORITIES[name](logreg.predict_proba(X_pool)[None])
    np.testing.assert_allclose(scores, expected[indices])
    assert np.delete(expected, indices).max() <= scores[-1]


def test_pipeline_ending_in_enn(data):
    X, y, X_pool = data
    pipe = make_pipeline(StandardScaler(), EpinetClassifier(max_epochs=2, random_state=0))
    pipe.fit(X, y)
    indices, scores = bald(pipe, X_pool, 2, n_index=N_INDEX, random_state=0)
    proba = pipe[-1].predict_proba_joint(pipe[:-1].transform(X_pool), n_index=N_INDEX)
    expected = priorities.bald(proba)
    np.testing.assert_array_equal(indices, np.argsort(-expected, kind="stable")[:2])
    np.testing.assert_allclose(scores, expected[indices], rtol=1e-6)
    # coreset embeds the transformed inputs too.
    features = pipe[-1].embed(pipe[:-1].transform(X_pool))
    np.testing.assert_array_equal(
        coreset(pipe, X_pool, 3, random_state=0)[0],
        priorities.kcenter_greedy(features, 3, random_state=0)[0],
    )


def test_wrapper_with_estimator_attribute(epinet, data):
    X, _, X_pool = data
    direct = bald(epinet, X_pool, 2, n_index=N_INDEX, random_state=0)
    wrapped = bald(Wrapper(epinet), X_pool, 2, n_index=N_INDEX, random_state=0)
    np.testing.assert_array_equal(wrapped[0], direct[0])
    # The wrapper's labelled rows become initial centres of coreset.
    np.testing.assert_array_equal(
        coreset(Wrapper(epinet, X_training=X), X_pool, 3, random_state=0)[0],
        coreset(epinet, X_pool, 3, random_state=0, X_labelled=X)[0],
    )


def test_search_cv_template_is_not_unwrapped(data):
    X, y, X_pool = data
    search = GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=2).fit(X, y)
    indices, scores = entropy(search, X_pool, 2, random_state=0)
    expected = priorities.entropy(search.predict_proba(X_pool)[None])
    np.testing.assert_allclose(scores, expected[indices])


# -- batch-aware strategies --------------------------------------------------------------------


def test_batchbald_takes_fewer_duplicates_than_top_n_bald(epinet, data):
    distinct = data[2][:30]
    X_pool = np.repeat(distinct, 4, axis=0)  # rows 4k..4k+3 are copies of distinct[k]
    top, _ = bald(epinet, X_pool, 4, n_index=100, random_state=0)
    batch, gains = batchbald(epinet, X_pool, 4, n_index=100, random_state=0)
    assert len(set(batch // 4)) > len(set(top // 4))
    assert len(set(batch // 4)) >= 3
    best_bald = bald(epinet, X_pool, 1, n_index=100, random_state=0)[1][0]
    assert gains[0] == pytest.approx(best_bald, rel=1e-5)


def test_batchbald_candidate_prefilter(epinet, data):
    X_pool = data[2]
    scores = priorities.bald(epinet.predict_proba_joint(X_pool, n_index=N_INDEX))
    top = set(np.argsort(-scores)[:10].tolist())
    indices, _ = batchbald(epinet, X_pool, 3, n_index=N_INDEX, n_candidates=10, random_state=0)
    assert set(indices.tolist()) <= top


def test_coreset_spreads_points_across_clusters(logreg):
    # Without embed(), coreset works in input space.
    rng = np.random.RandomState(1)
    centres = np.array([[0, 0, 0, 0], [30, 0, 0, 0], [0, 30, 0, 0], [30, 30, 0, 0]], float)
    cluster = np.repeat(np.arange(4), 20)
    X_pool = centres[cluster] + rng.randn(80, 4)
    indices, distances = coreset(logreg, X_pool, 4, random_state=0)
    assert set(cluster[indices]) == {0, 1, 2, 3}
    assert np.isinf(distances[0]) and (distances[1:] > 20).all()
    # Labelled rows in clusters 0 and 1 push the picks to clusters 2 and 3.
    indices, _ = coreset(logreg, X_pool, 2, random_state=0, X_labelled=centres[:2])
    assert set(cluster[indices]) == {2, 3}


def test_coreset_uses_embedding(epinet, data):
    X_pool = data[2]
    features = epinet.embed(X_pool)
    np.testing.assert_array_equal(
        coreset(epinet, X_pool, 4, random_state=0)[0],
        priorities.kcenter_greedy(features, 4, random_state=0)[0],
    )


def test_uncertain_diverse_picks_among_uncertain_rows(epinet, data):
    distinct = data[2][:40]
    X_pool = np.repeat(distinct, 3, axis=0)
    scores = priorities.bald(epinet.predict_proba_joint(X_pool, n_index=N_INDEX))
    indices, chosen_scores = uncertain_diverse(
        epinet, X_pool, 3, n_index=N_INDEX, n_candidates=15, random_state=0
    )
    np.testing.assert_allclose(chosen_scores, scores[indices], rtol=1e-5)
    assert chosen_scores[0] == pytest.approx(scores.max(), rel=1e-5)
    assert (scores[indices] >= np.sort(scores)[-15] - 1e-6).all()
    # Top-3 bald takes the three copies of one row; diversity does not.
    assert len(set(indices // 3)) == 3


# -- modAL 0.4.2 -----------------------------------------------------------------------------


def counting(strategy, **fixed):
    def counted(classifier, X_pool, n_instances=1, **kwargs):
        counted.calls += 1
        return strategy(classifier, X_pool, n_instances, **fixed, **kwargs)

    counted.calls = 0
    return counted


def test_modal_active_learner_query(epinet, data):
    models = pytest.importorskip("modAL.models")
    X_pool = data[2]
    strategy = counting(bald, random_state=0, n_index=N_INDEX)
    # Without X_training modAL does not fit: it just holds the fitted estimator.
    learner = models.ActiveLearner(estimator=epinet, query_strategy=strategy)
    indices, rows = learner.query(X_pool, n_instances=2)
    assert strategy.calls == 1  # a strategy returning bare indices would run twice
    expected, expected_scores = bald(epinet, X_pool, 2, random_state=0, n_index=N_INDEX)
    np.testing.assert_array_equal(indices, expected)
    assert len(set(indices.tolist())) == 2
    np.testing.assert_array_equal(rows, X_pool[expected])

    indices, rows, metrics = learner.query(X_pool, n_instances=2, return_metrics=True)
    assert strategy.calls == 2
    np.testing.assert_array_equal(metrics, expected_scores)


def test_modal_learner_with_training_data_feeds_coreset(data):
    models = pytest.importorskip("modAL.models")
    X, y, X_pool = data
    # modAL's constructor calls estimator.fit(X_training, y_training) directly,
    # which works on current scikit-learn (teach() does not: force_all_finite).
    learner = models.ActiveLearner(
        estimator=EpinetClassifier(max_epochs=1, random_state=0),
        query_strategy=counting(coreset, random_state=0),
        X_training=X,
        y_training=y,
    )
    indices, _ = learner.query(X_pool, n_instances=3)
    np.testing.assert_array_equal(
        indices, coreset(learner.estimator, X_pool, 3, random_state=0, X_labelled=X)[0]
    )
    assert learner.query_strategy.calls == 1


# -- parallel pool scoring ----------------------------------------------------------

PRIORITY_STRATEGIES = [strategies.bald, strategies.variance, strategies.entropy,
                       strategies.margin, strategies.least_confidence, strategies.epig]


@pytest.fixture(scope="module")
def big_pool():
    return np.random.RandomState(1).randn(5000, 4).astype(np.float32)


@pytest.mark.parametrize("strategy", PRIORITY_STRATEGIES, ids=lambda s: s.__name__)
def test_scoring_on_two_workers_equals_one(strategy, epinet, big_pool):
    serial = query(strategy, epinet, big_pool, 10, chunk_size=700)
    parallel = query(strategy, epinet, big_pool, 10, chunk_size=700, n_jobs=2)
    np.testing.assert_array_equal(parallel[0], serial[0])
    np.testing.assert_array_equal(parallel[1], serial[1])


@pytest.mark.parametrize("strategy", [strategies.batchbald, strategies.uncertain_diverse],
                         ids=lambda s: s.__name__)
def test_two_stage_strategies_score_their_pool_on_workers_too(strategy, epinet, big_pool):
    serial = query(strategy, epinet, big_pool, 3, chunk_size=700, n_candidates=30)
    parallel = query(strategy, epinet, big_pool, 3, chunk_size=700, n_candidates=30, n_jobs=2)
    np.testing.assert_array_equal(parallel[0], serial[0])
    np.testing.assert_array_equal(parallel[1], serial[1])


def test_scoring_follows_joblibs_parallel_config(epinet, big_pool, monkeypatch):
    import joblib

    blocks = []
    original = scoring.score_block

    def spy(model, X_pool, *args):
        blocks.append(len(X_pool))
        return original(model, X_pool, *args)

    monkeypatch.setattr(scoring, "score_block", spy)
    serial = query(strategies.variance, epinet, big_pool, 10, chunk_size=1000)
    assert blocks == [5000]
    blocks.clear()
    with joblib.parallel_config(backend="threading", n_jobs=3):
        threaded = query(strategies.variance, epinet, big_pool, 10, chunk_size=1000)
    # One block per worker, on chunk boundaries.
    assert blocks == [2000, 2000, 1000]
    np.testing.assert_array_equal(threaded[0], serial[0])


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2"])
def test_a_bad_n_jobs_is_named(epinet, big_pool, n_jobs):
    with pytest.raises(ValueError, match=rf"n_jobs must be a non-zero integer or None, got "
                                         rf"{n_jobs!r}"):
        query(strategies.variance, epinet, big_pool, n_jobs=n_jobs)


def test_scoring_on_a_dask_cluster_of_two_worker_processes(epinet, big_pool):
    distributed = pytest.importorskip("distributed")
    import joblib

    serial = query(strategies.bald, epinet, big_pool, 10, chunk_size=1000)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as tasks, \
                joblib.parallel_config(backend="dask"):
            on_cluster = query(strategies.bald, epinet, big_pool, 10, chunk_size=1000)
    # The blocks ran as tasks on both worker processes.
    assert len({task["worker"] for task in tasks.data}) == 2
    np.testing.assert_array_equal(on_cluster[0], serial[0])
    np.testing.assert_array_equal(on_cluster[1], serial[1])


@pytest.mark.parametrize("strategy", [strategies.bald, strategies.margin],
                         ids=lambda s: s.__name__)
def test_a_dask_array_pool_is_scored_block_by_block(strategy, epinet, big_pool):
    da = pytest.importorskip("dask.array")
    serial = query(strategy, epinet, big_pool, 10, chunk_size=1000)
    lazy = da.from_array(big_pool, chunks=(1000, 2))  # split columns are joined per block
    scored = query(strategy, epinet, lazy, 10, chunk_size=1000)
    np.testing.assert_array_equal(scored[0], serial[0])
    np.testing.assert_array_equal(scored[1], serial[1])
