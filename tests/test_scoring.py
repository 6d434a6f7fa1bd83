"""Pool scoring and the learner-strategy contract (skepinet.scoring)."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skepinet import ActiveLearner, QueryContext, priorities, scoring, strategies


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    return X, y


def test_every_public_name_is_exported():
    for name in scoring.__all__:
        assert hasattr(scoring, name)


def test_a_query_context_is_looked_through_to_its_estimator(data):
    X, y = data
    clf = LogisticRegression().fit(X, y)
    model = scoring.as_model(QueryContext(clf, X[:5]))
    assert model.final is clf and not model.is_enn
    np.testing.assert_array_equal(model.X_labelled, X[:5])


def test_the_learner_offers_its_context(data):
    X, y = data
    learner = ActiveLearner(LogisticRegression(), strategies.entropy, X_training=X[:10],
                            y_training=y[:10])
    context = learner.query_context()
    assert isinstance(context, QueryContext)
    assert context.estimator is learner.estimator
    model = scoring.as_model(learner)
    assert model.final is learner.estimator
    np.testing.assert_array_equal(model.X_labelled, X[:10])


def test_a_pipeline_inside_a_context_keeps_its_transform(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    model = scoring.as_model(QueryContext(pipe))
    assert model.final is pipe[-1] and model.transform is not None
    np.testing.assert_allclose(model.joint(X, 1)[0], pipe.predict_proba(X))


def test_chunked_and_parallel_scores_equal_one_pass(data):
    X, y = data
    model = scoring.as_model(LogisticRegression().fit(X, y))
    one = scoring.score_pool(model, X, priorities.entropy, 1, len(X), None)
    chunked = scoring.score_pool(model, X, priorities.entropy, 1, 7, None)
    parallel = scoring.score_pool(model, X, priorities.entropy, 1, 7, None, n_jobs=2)
    # A linear model's BLAS may round a float32 chunk differently; workers
    # get the serial path's chunks, so they match it exactly.
    np.testing.assert_allclose(chunked, one, rtol=1e-5)
    np.testing.assert_array_equal(parallel, chunked)


def test_joint_of_rows_stacks_the_chunks(data):
    X, y = data
    model = scoring.as_model(LogisticRegression().fit(X, y))
    joint = scoring.joint_of_rows(model, X, 1, 8)
    assert joint.shape == (1, len(X), 2) and joint.dtype == np.float32


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2"])
def test_a_bad_n_jobs_is_refused(n_jobs):
    with pytest.raises(ValueError, match="n_jobs"):
        scoring.check_n_jobs(n_jobs)


def test_is_fitted():
    assert not scoring.is_fitted(LogisticRegression())
    assert not scoring.is_fitted(object())


def test_dask_worker_config_reaches_the_worker_processes():
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    import os

    config = scoring.dask_worker_config()
    assert config == {"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 2 ** 26}
    with dask.config.set(config), distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        seen = client.run(lambda: os.environ.get("MALLOC_MMAP_THRESHOLD_"))
    assert list(seen.values()) == [str(2 ** 26)]
