"""Bad input, across the package: the right error, a message naming the problem, nothing changed.

Every case is one wrong call. Each asserts the exception type, that the
message names the parameter or value and the way out, and that the
objects involved (estimator parameters and predictions, the learner's
labels, run state and history, files on disk) are exactly as before.
"""

import copy
import json
import os
import zipfile

import joblib
import numpy as np
import pytest
import scipy.sparse as scipy_sparse
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from skepinet import (
    ActiveLearner,
    BaselineClassifier,
    CheckpointError,
    DropoutClassifier,
    EnsembleClassifier,
    EpinetClassifier,
    persistence,
    priorities,
    strategies,
)
from skepinet.datasets import load_glue, make_testbed_classification

X, y = make_testbed_classification(200, n_features=4, random_state=1)
X_NAN = X.copy()
X_NAN[3, 1] = np.nan
X_INF = X.copy()
X_INF[0, 0] = np.inf
RUN = dict(candidate_size=20, acquisition_size=5, classes=[0, 1], progress=False)


def small(cls=EpinetClassifier, **params):
    return cls(hidden_sizes=(8,), max_epochs=2, random_state=0, **params)


@pytest.fixture(scope="module")
def fitted():
    return small().fit(X, y)


def joint(model):
    return model.predict_proba_joint(X[:20], n_index=4)


# -- estimators: parameters and training data ---------------------------------------------

FIT_CASES = [
    ("prior_scale-nan", lambda: small(prior_scale=float("nan")), ValueError,
     r"prior_scale must be a finite non-negative number, got nan"),
    ("prior_scale-negative", lambda: small(prior_scale=-1.0), ValueError,
     r"prior_scale must be a finite non-negative number, got -1.0"),
    ("index_dim-0", lambda: small(index_dim=0), ValueError, r"index_dim must be a positive integer, got 0"),
    ("n_index_train-0", lambda: small(n_index_train=0), ValueError,
     r"n_index_train must be a positive integer, got 0"),
    ("dropout-hidden_sizes-empty", lambda: DropoutClassifier(hidden_sizes=(), max_epochs=1),
     ValueError, r"hidden_sizes must not be empty for MC dropout"),
    ("dropout-1.5", lambda: small(DropoutClassifier, dropout=1.5), ValueError,
     r"dropout must be in \[0, 1\), got 1.5"),
    ("n_members-0", lambda: small(EnsembleClassifier, n_members=0), ValueError,
     r"n_members must be a positive integer, got 0"),
    ("backbone-unknown", lambda: small(backbone="gpt"), ValueError,
     r"backbone='gpt' is not supported; choose one of \('mlp', 'bert'\)"),
    ("prior-unknown", lambda: small(prior="gauss"), ValueError,
     r"prior='gauss' is not supported; choose one of"),
    ("prior_input-unknown", lambda: small(prior_input="labels"), ValueError,
     r"prior_input='labels' is not supported"),
    ("weight_decay-negative", lambda: small(weight_decay=-1), ValueError,
     r"weight_decay must be a finite non-negative number, got -1"),
    ("prior_precision-negative", lambda: small(prior_precision=-3), ValueError,
     r"prior_precision must be a finite non-negative number, got -3"),
    ("device-unknown", lambda: small(device="tpu"), ValueError,
     r"device='tpu' is not a torch device; pass 'auto'"),
]
DATA_CASES = [  # (id, X, y, error, message, also refused by partial_fit of a fitted model)
    ("X-nan", X_NAN, y, ValueError, r"Input X contains NaN", True),
    ("X-inf", X_INF, y, ValueError, r"Input X contains infinity", True),
    ("y-one-class", X, np.zeros(len(y), int), ValueError,
     r"y has only 1 class \(\[0\]\).*at least 2 classes.*classes=\[\.\.\.\]", False),
    ("X-y-lengths", X, y[:-1], ValueError, r"inconsistent numbers of samples: \[200, 199\]",
     True),
    ("y-nan", X, np.where(np.arange(len(y)) == 0, np.nan, y), ValueError,
     r"Input y contains NaN", True),
    ("X-1d", X[:, 0], y, ValueError, r"Expected 2D array, got 1D array", True),
    ("X-empty", X[:0], y[:0], ValueError, r"Found array with 0 sample\(s\)", True),
]


@pytest.mark.parametrize("make, error, message", [c[1:] for c in FIT_CASES],
                         ids=[c[0] for c in FIT_CASES])
def test_a_bad_parameter_is_named_at_fit_and_nothing_is_fitted(make, error, message):
    estimator = make()
    params = repr(sorted(estimator.get_params(deep=False).items()))
    with pytest.raises(error, match=message):
        estimator.fit(X, y)
    assert repr(sorted(estimator.get_params(deep=False).items())) == params
    assert not estimator.__sklearn_is_fitted__()


@pytest.mark.parametrize("X_bad, y_bad, error, message, incremental",
                         [c[1:] for c in DATA_CASES], ids=[c[0] for c in DATA_CASES])
def test_bad_training_data_is_named_and_a_fitted_model_is_untouched(fitted, X_bad, y_bad, error,
                                                                    message, incremental):
    fresh = small()
    with pytest.raises(error, match=message):
        fresh.fit(X_bad, y_bad)
    assert not fresh.__sklearn_is_fitted__()
    if not incremental:  # e.g. one class is fine for a model that knows both
        return
    model = copy.deepcopy(fitted)
    before, history = joint(model), len(model.history_)
    with pytest.raises(error, match=message):
        model.partial_fit(X_bad, y_bad)
    np.testing.assert_array_equal(joint(model), before)
    assert len(model.history_) == history


# -- estimators: prediction and incremental training -------------------------------------

MODEL_CASES = [
    ("n_index-0", lambda m: m.predict_proba_joint(X, n_index=0), ValueError,
     r"n_index must be a positive integer, got 0 \(int\); pass e.g. n_index=100"),
    ("n_index-negative", lambda m: m.predict_proba_joint(X, n_index=-1), ValueError,
     r"n_index must be a positive integer, got -1"),
    ("n_index-float", lambda m: m.predict_proba_joint(X, n_index=2.5), TypeError,
     r"n_index must be a positive integer, got 2.5 \(float\)"),
    ("n_index-bool", lambda m: m.predict_proba_joint(X, n_index=True), TypeError,
     r"n_index must be a positive integer, got True \(bool\)"),
    ("n_index-str", lambda m: m.predict_proba_joint(X, n_index="10"), TypeError,
     r"n_index must be a positive integer, got '10' \(str\)"),
    ("n_index-too-big-for-memory",
     lambda m: m.predict_proba_joint(np.repeat(X, 50, axis=0), n_index=10**7), MemoryError,
     r"shape \(10000000, 10000, 2\) needs 745.1 GiB.*smaller n_index"),
    ("predict-width", lambda m: m.predict(X[:, :3]), ValueError,
     r"X has 3 features, but EpinetClassifier is expecting 4"),
    ("joint-width", lambda m: m.predict_proba_joint(X[:, :2], n_index=3), ValueError,
     r"X has 2 features, but EpinetClassifier is expecting 4"),
    ("predict-nan", lambda m: m.predict_proba(X_NAN), ValueError, r"Input X contains NaN"),
    ("partial_fit-unseen-label", lambda m: m.partial_fit(X[:5], np.full(5, 7)), ValueError,
     r"y contains labels \[7\] that EpinetClassifier was not fitted on \(classes_=\[0, 1\]\)"),
    ("partial_fit-n_train-0", lambda m: m.partial_fit(X[:5], y[:5], n_train=0), ValueError,
     r"n_train must be a positive integer, got 0"),
    ("partial_fit-width", lambda m: m.partial_fit(X[:5, :3], y[:5]), ValueError,
     r"X has 3 features, but EpinetClassifier is expecting 4"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in MODEL_CASES],
                         ids=[c[0] for c in MODEL_CASES])
def test_a_bad_call_on_a_fitted_model_changes_nothing(fitted, call, error, message):
    model = copy.deepcopy(fitted)
    params = repr(sorted(model.get_params(deep=False).items()))
    before, history, rng_state = joint(model), len(model.history_), model.rng_state_.clone()
    with pytest.raises(error, match=message):
        call(model)
    np.testing.assert_array_equal(joint(model), before)
    assert repr(sorted(model.get_params(deep=False).items())) == params
    assert len(model.history_) == history
    assert bool((model.rng_state_ == rng_state).all())


def test_predicting_before_fitting_says_so():
    with pytest.raises(NotFittedError, match=r"EpinetClassifier instance is not fitted yet"):
        small().predict(X)


# -- strategies ------------------------------------------------------------------------------

STRATEGY_CASES = [
    ("n_instances-0", lambda m: strategies.variance(m, X, 0),
     ValueError, r"n_instances must be a positive integer"),
    ("n_instances-over-pool", lambda m: strategies.variance(m, X, 201), ValueError,
     r"n_instances=201 is larger than the pool \(200 rows\)"),
    ("n_instances-float", lambda m: strategies.bald(m, X, 2.5), TypeError,
     r"n_instances must be a positive integer, got 2.5"),
    ("n_index-0", lambda m: strategies.bald(m, X, 2, n_index=0),
     ValueError, r"n_index must be a positive integer"),
    ("chunk_size-0", lambda m: strategies.margin(m, X, 2, chunk_size=0), ValueError,
     r"chunk_size must be a positive integer, got 0"),
    ("n_jobs-0", lambda m: strategies.entropy(m, X, 2, n_jobs=0), ValueError,
     r"n_jobs must be a non-zero integer or None, got 0"),
    ("pool-nan", lambda m: strategies.variance(m, X_NAN, 2), ValueError, r"Input X contains NaN"),
    ("pool-width", lambda m: strategies.variance(m, X[:, :3], 2), ValueError, r"X has 3 features"),
    ("epistemic-without-enn", lambda m: strategies.variance(LogisticRegression().fit(X, y), X, 2),
     TypeError, r"'variance' strategy .* LogisticRegression has no predict_proba_joint"),
    ("unfitted-model", lambda m: strategies.bald(small(), X, 2), NotFittedError, r"not fitted yet"),
    ("batchbald-n_instances-0", lambda m: strategies.batchbald(m, X, 0), ValueError,
     r"n_instances must be a positive integer"),
    ("coreset-over-pool", lambda m: strategies.coreset(m, X, 500), ValueError,
     r"n_instances=500 is larger than the pool"),
    ("uniform-n_instances-0", lambda m: strategies.uniform(m, X, 0), ValueError,
     r"n_instances must be a positive integer"),
    ("select_top-over-scores", lambda m: strategies.select_top(np.zeros(3), 4), ValueError,
     r"n_instances=4 is larger than the pool \(3 rows\)"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in STRATEGY_CASES],
                         ids=[c[0] for c in STRATEGY_CASES])
def test_a_bad_query_is_named_and_the_model_is_untouched(fitted, call, error, message):
    model = copy.deepcopy(fitted)
    before = joint(model)
    with pytest.raises(error, match=message):
        call(model)
    np.testing.assert_array_equal(joint(model), before)


# -- the learner ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def taught(fitted):
    """A learner that has been taught 10 rows."""
    learner = ActiveLearner(copy.deepcopy(fitted), strategies.variance, random_state=0)
    learner.teach(X[:10], y[:10], only_new=True)
    return learner


def snapshot(learner):
    state = learner.run_state_
    return {"X": np.array(learner.X_training, copy=True), "y": np.array(learner.y_training),
            "history": len(learner.history_), "joint": joint(learner.estimator),
            # A run begun by a call whose answer was refused holds no label: the same.
            "labelled": [] if state is None else list(state.labelled),
            "rng": learner.rng_.bit_generator.state}


def assert_same(before, after):
    assert before.keys() == after.keys()
    for key in before:
        if isinstance(before[key], np.ndarray):
            np.testing.assert_array_equal(after[key], before[key], err_msg=key)
        else:
            assert after[key] == before[key], key


def never(rows, indices):
    raise AssertionError("the oracle was asked before the input was checked")


LEARNER_CASES = [
    # Checked before anyone is asked: the oracle must not be called, no run state made.
    ("budget-0", lambda l, t: l.run(X, never, 0, **RUN), ValueError,
     r"budget must be a positive integer, got 0"),
    ("budget-negative", lambda l, t: l.run(X, never, -5, **RUN), ValueError,
     r"budget must be a positive integer, got -5"),
    ("candidates-below-acquisition", lambda l, t: l.run(X, never, 20, **{**RUN, "candidate_size": 3}),
     ValueError, r"acquisition_size=5 exceeds candidate_size=3"),
    ("acquisition_size-0", lambda l, t: l.run(X, never, 20, **{**RUN, "acquisition_size": 0}),
     ValueError, r"acquisition_size must be a positive integer, got 0"),
    ("replay-negative", lambda l, t: l.run(X, never, 20, recipe="online", replay=-1, **RUN),
     ValueError, r"replay must be None or a non-negative integer, got -1"),
    ("recipe-unknown", lambda l, t: l.run(X, never, 20, recipe="sgd", **RUN), ValueError,
     r"recipe='sgd' is not a training recipe; choose one of"),
    ("steps_per_label-0", lambda l, t: l.run(X, never, 20, steps_per_label=0, **RUN), ValueError,
     r"steps_per_label must be a positive number, got 0"),
    ("n_steps-without-online", lambda l, t: l.run(X, never, 20, n_steps=3, **RUN), ValueError,
     r"n_steps and replay set the 'online' recipe, but recipe='replay'"),
    ("X_eval-without-y_eval", lambda l, t: l.run(X, never, 20, X_eval=X, **RUN), ValueError,
     r"pass both X_eval and y_eval, or neither"),
    ("eval-lengths", lambda l, t: l.run(X, never, 20, X_eval=X, y_eval=y[:5], **RUN), ValueError,
     r"X_eval has 200 rows but y_eval has 5 labels"),
    ("eval_every-0", lambda l, t: l.run(X, never, 20, X_eval=X, y_eval=y, eval_every=0, **RUN),
     ValueError, r"eval_every must be a positive integer, got 0"),
    ("n_index-0", lambda l, t: l.run(X, never, 20, n_index=0, **RUN), ValueError,
     r"n_index must be a positive integer, got 0"),
    ("checkpoint_every-0", lambda l, t: l.run(X, never, 20, checkpoint_every=0, **RUN),
     ValueError, r"checkpoint_every must be a positive integer, got 0"),
    ("pool-nan", lambda l, t: l.run(X_NAN, never, 20, **RUN), ValueError,
     r"X_pool row 3 holds NaN or infinity"),
    ("oracle-length", lambda l, t: l.run(X, y[:10], 20, **RUN), ValueError,
     r"oracle has 10 labels but X_pool has 200 rows"),
    ("classes-one", lambda l, t: l.run(X, never, 20, **{**RUN, "classes": [0]}), ValueError,
     r"classes must list every label once, at least 2 of them; got \[0\]"),
    ("classes-duplicated", lambda l, t: l.run(X, never, 20, **{**RUN, "classes": [0, 1, 1]}),
     ValueError, r"classes must list every label once"),
    ("requery-with-array", lambda l, t: l.run(X, y, 20, requery=True, **RUN), ValueError,
     r"requery=True asks the oracle again.*Pass a callable oracle"),
    ("checkpoint-folder-missing",
     lambda l, t: l.run(X, never, 20, checkpoint=os.path.join(t, "no", "run.skepinet"), **RUN),
     ValueError, r"checkpoint=.*run.skepinet': the folder .* does not exist; create it first"),
    ("journal-folder-missing",
     lambda l, t: l.run(X, never, 20, journal=os.path.join(t, "no", "a.jsonl"), **RUN),
     ValueError, r"journal=.*a.jsonl': the folder .* does not exist"),
    ("disk-full", "disk-full", OSError, r"has 0.0 MB free.*Nothing was asked"),
    # The oracle was asked; a bad answer is refused and nothing of the step is recorded.
    ("answer-not-a-class", lambda l, t: l.run(X, lambda r, i: np.full(len(i), 7), 20, **RUN),
     ValueError, r"the oracle answered 7 \(int\) for pool row \d+, which is not one of the "
                 r"classes \[0, 1\]. Nothing was recorded"),
    ("answer-str-for-int-classes",
     lambda l, t: l.run(X, lambda r, i: np.array(["0"] * len(i)), 20, **RUN), ValueError,
     r"the oracle answered '0' \(str\) for pool row \d+"),
    ("answer-None", lambda l, t: l.run(X, lambda r, i: [None] * len(i), 20, **RUN), ValueError,
     r"the oracle answered None \(NoneType\)"),
    ("answer-count", lambda l, t: l.run(X, lambda r, i: [0], 20, **RUN), ValueError,
     r"the oracle returned 1 labels for 5 rows; return exactly one label per requested row"),
    ("answer-2d", lambda l, t: l.run(X, lambda r, i: np.zeros((len(i), 2), int), 20, **RUN),
     ValueError, r"returned an array of shape \(5, 2\) for 5 rows"),
    # The modAL interface.
    ("teach-width", lambda l, t: l.teach(X[:5, :3], y[:5], only_new=True), ValueError,
     r"teach\(\) got rows of shape \(3,\) but the learner was taught rows of shape \(4,\)"),
    ("teach-lengths", lambda l, t: l.teach(X[:5], y[:4]), ValueError,
     r"teach\(\) got 5 rows and 4 labels"),
    ("teach-nan", lambda l, t: l.teach(X_NAN[:5], y[:5], only_new=True), ValueError,
     r"Input X contains NaN"),
    ("query-n_instances-0", lambda l, t: l.query(X, n_instances=0), ValueError,
     r"n_instances must be a positive integer"),
    ("query-width", lambda l, t: l.query(X[:, :3], n_instances=2), ValueError,
     r"X has 3 features"),
    ("strategy-not-callable", lambda l, t: ActiveLearner(small(), "variance"), TypeError,
     r"query_strategy must be a strategy function, got 'variance' \(str\)"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in LEARNER_CASES],
                         ids=[c[0] for c in LEARNER_CASES])
def test_bad_learner_input_is_named_and_the_learner_is_as_it_was(taught, tmp_path, monkeypatch,
                                                                  call, error, message):
    learner = copy.deepcopy(taught)
    if call == "disk-full":
        import shutil

        monkeypatch.setattr(shutil, "disk_usage",
                            lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))

        def call(l, t):
            return l.run(X, never, 20, checkpoint=os.path.join(t, "run.skepinet"), **RUN)
    before = snapshot(learner)
    with pytest.raises(error, match=message):
        call(learner, str(tmp_path))
    assert_same(before, snapshot(learner))
    if learner.run_state_ is not None:  # a bad answer: the run began, no label was recorded
        assert learner.run_state_.n_labelled == 0
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_resuming_over_another_pool_names_both_fingerprints(taught):
    learner = copy.deepcopy(taught)
    learner.run(X, y, 10, **RUN)
    before = snapshot(learner)
    with pytest.raises(ValueError, match=r"another pool of 200 rows \(fingerprint \w+, this "
                                         r"X_pool's is \w+\)"):
        learner.run(X[::-1], never, 20, **RUN)
    assert_same(before, snapshot(learner))


def test_a_fresh_learner_will_not_overwrite_a_run(taught, tmp_path):
    checkpoint = tmp_path / "run.skepinet"
    copy.deepcopy(taught).run(X, y, 10, checkpoint=checkpoint, **RUN)
    data = checkpoint.read_bytes()
    fresh = copy.deepcopy(taught)
    before = snapshot(fresh)
    with pytest.raises(ValueError, match=r"already holds a run with 10 labels"):
        fresh.run(X, never, 20, checkpoint=checkpoint, **RUN)
    assert_same(before, snapshot(fresh))
    assert checkpoint.read_bytes() == data


# -- checkpoints ---------------------------------------------------------------------------------


def _truncate(path):
    path.write_bytes(path.read_bytes()[:-200])


def _noise(path):
    path.write_bytes(np.random.default_rng(0).bytes(3000).replace(b"\x80", b"\x01"))


def _flip(path):
    blob = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("tensors.safetensors")
    start = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    for i in range(40):
        blob[start + i] ^= 0xFF
    path.write_bytes(bytes(blob))


def _pickle(path):
    joblib.dump({"a": 1}, path)


def _empty(path):
    path.write_bytes(b"")


CHECKPOINT_CASES = [
    ("truncated", _truncate, persistence.load_estimator, CheckpointError,
     r"m.skepinet is not a readable skepinet checkpoint.*truncated or corrupted"),
    ("random-bytes", _noise, persistence.load_estimator, CheckpointError, r"m.skepinet is not a readable"),
    ("flipped-bytes", _flip, persistence.load_estimator, CheckpointError, r"m.skepinet.*(SHA-256|CRC)"),
    ("empty-file", _empty, persistence.load_estimator, CheckpointError, r"m.skepinet is not a readable"),
    ("a-pickle", _pickle, persistence.load_estimator, CheckpointError,
     r"m.skepinet is a pickle.*migrate_checkpoint"),
    ("a-pickle-as-learner", _pickle, ActiveLearner.load, CheckpointError,
     r"m.skepinet is a pickle.*trust_pickle=True"),
    ("estimator-as-learner", lambda path: None, ActiveLearner.load, CheckpointError,
     r"m.skepinet holds a estimator, not an ActiveLearner"),
    ("missing-file", lambda path: path.unlink(), persistence.load_estimator, FileNotFoundError,
     r"m.skepinet"),
]


@pytest.mark.parametrize("damage, load, error, message", [c[1:] for c in CHECKPOINT_CASES],
                         ids=[c[0] for c in CHECKPOINT_CASES])
def test_a_bad_checkpoint_is_named_and_left_as_it_is(fitted, tmp_path, damage, load, error,
                                                     message):
    path = tmp_path / "m.skepinet"
    persistence.save_estimator(fitted, path)
    damage(path)
    data = path.read_bytes() if path.exists() else None
    with pytest.raises(error, match=message):
        load(path)
    assert (path.read_bytes() if path.exists() else None) == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if data is None else ["m.skepinet"])


def test_saving_into_a_missing_folder_leaves_nothing(fitted, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no/m.skepinet|no"):
        persistence.save_estimator(fitted, tmp_path / "no" / "m.skepinet")
    assert list(tmp_path.iterdir()) == []


# -- load_glue ---------------------------------------------------------------------------------


@pytest.fixture
def glue(tmp_path):
    (tmp_path / "SST-2").mkdir()
    (tmp_path / "SST-2" / "train.tsv").write_text("sentence\tlabel\ngood movie\t1\nbad\t0\n")
    (tmp_path / "RTE").mkdir()
    (tmp_path / "RTE" / "train.tsv").write_text("index\tsentence1\tlabel\n0\ta\tentailment\n")
    (tmp_path / "CoLA").mkdir()
    (tmp_path / "CoLA" / "train.tsv").write_bytes(b"src\t1\t\tgood \xff\xfe\n")
    (tmp_path / "MRPC").mkdir()
    (tmp_path / "MRPC" / "train.tsv").write_text("Quality\t#1 String\t#2 String\n1\ta\n")
    return tmp_path


GLUE_CASES = [
    ("task-unknown", lambda d: load_glue("imdb", d), ValueError,
     r"task='imdb' is not a GLUE classification task; use one of SST-2"),
    ("task-not-a-name", lambda d: load_glue(2, d), ValueError, r"task=2 is not a GLUE"),
    ("data_dir-missing", lambda d: load_glue("sst2", d / "nope"), FileNotFoundError,
     r"GLUE file not found: .*nope/SST-2.*expected layout <data_dir>/SST-2/"),
    ("task-folder-missing", lambda d: load_glue("qnli", d), FileNotFoundError,
     r"GLUE file not found: .*QNLI"),
    ("split-file-missing", lambda d: load_glue("sst2", d, split="validation"), FileNotFoundError,
     r"GLUE file not found: .*SST-2/dev.tsv"),
    ("split-unknown", lambda d: load_glue("sst2", d, split="test"), ValueError,
     r"split='test' is not a split of GLUE SST-2; use one of 'train', 'validation'"),
    ("column-missing", lambda d: load_glue("rte", d), ValueError,
     r"RTE/train.tsv, line 1: header lacks column\(s\) \['sentence2'\]"),
    ("invalid-utf8", lambda d: load_glue("cola", d), ValueError,
     r"CoLA/train.tsv: line 1 is not valid UTF-8"),
    ("short-row", lambda d: load_glue("mrpc", d), ValueError,
     r"MRPC/train.tsv, line 2: 2 tab-separated field\(s\), expected 3"),
    ("source-unknown", lambda d: load_glue("sst2", d, source="web"), ValueError,
     r"source='web' is not valid; use one of"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in GLUE_CASES],
                         ids=[c[0] for c in GLUE_CASES])
def test_a_bad_glue_folder_is_named_by_file_and_line(glue, call, error, message):
    files = {p: p.read_bytes() for p in glue.rglob("*") if p.is_file()}
    with pytest.raises(error, match=message):
        call(glue)
    assert {p: p.read_bytes() for p in glue.rglob("*") if p.is_file()} == files


# ==============================================================================================
# Further cases: the other estimator classes, rejected refits of fitted models, the priorities,
# the learner mid-run, more checkpoint and GLUE damage. Each asserts the error type, a message
# naming the problem, and deep-compared state (get_params(), attributes and joint predictions;
# X_training, y_training, run_state_, history_, the learner's RNG and predictions; the bytes of
# every file in the folder). ``xfail(strict=True)`` cases are known defects, said in the reason.
# ==============================================================================================

X_POOL = X[40:]  # 160 rows for the strategies
X_NAN2, X_INF2 = X.copy(), X.copy()
X_NAN2[2, 1], X_INF2[2, 1] = np.nan, np.inf
TEXTS, TEXT_Y = ["a good film", "a bad film", "fine", "awful"], np.array([1, 0, 1, 0])
RUN2 = dict(candidate_size=30, acquisition_size=10, progress=False)
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_non_root = pytest.mark.skipif(IS_ROOT, reason="root writes into read-only folders")


def xfail(reason):
    return pytest.mark.xfail(strict=True, reason=reason)


def same(a, b):
    """Deep equality over dicts, sequences, arrays (NaN == NaN) and plain values."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(same(u, v) for u, v in zip(a, b)))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        try:
            return bool(np.array_equal(a, b, equal_nan=True))
        except TypeError:  # object or string arrays
            return bool(np.array_equal(a, b))
    return a is b or a == b


def assert_unchanged(after, before, what):
    if isinstance(before, dict) and isinstance(after, dict) and before.keys() == after.keys():
        changed = [k for k in before if not same(after[k], before[k])]
        assert not changed, f"{what} changed by the failed call: {changed}"
    else:
        assert same(after, before), f"{what} changed by the failed call"


def estimator_params(est):
    """``get_params()``, skorch's callback objects (rebuilt at every call) by their params."""
    def plain(value):
        if hasattr(value, "get_params") and not isinstance(value, type):
            return (type(value).__name__, {k: plain(v) for k, v in value.get_params().items()})
        return value

    return {k: plain(v) for k, v in est.get_params().items()}


def model_outputs(est):
    """Predictions of ``X[:20]``: joint (4 index samples) and labels; or 'unfitted'."""
    if hasattr(est, "predict_proba_joint"):
        if not est.__sklearn_is_fitted__():
            return "unfitted"
        return {"joint": est.predict_proba_joint(X[:20], n_index=4), "labels": est.predict(X[:20])}
    try:
        check_is_fitted(est)
    except NotFittedError:
        return "unfitted"
    return {"proba": est.predict_proba(X[:20])}


def learner_state(learner):
    return {
        "X_training": copy.deepcopy(learner.X_training),
        "y_training": copy.deepcopy(learner.y_training),
        "run_state_": None if learner.run_state_ is None else learner.run_state_.to_dict(),
        "history_": copy.deepcopy(list(learner.history_)),
        "rng_": copy.deepcopy(learner.rng_.bit_generator.state),
        "predictions": model_outputs(learner.estimator),
    }


def folder_bytes(folder):
    """Every file under ``folder`` (hidden temporary files too) and its bytes."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = f.read()
    return out


@pytest.fixture(scope="module")
def fitted_models():
    return {
        "epinet": small().fit(X, y),
        "dropout": small(DropoutClassifier).fit(X, y),
        "ensemble": small(EnsembleClassifier, n_members=3).fit(X, y),
        "baseline": small(BaselineClassifier).fit(X, y),
    }


@pytest.fixture(scope="module")
def learners():
    running = ActiveLearner(small(), strategies.bald, random_state=0)
    running.run(X, y, budget=20, **RUN2)  # mid-run: 20 labels, a run state, a history
    taught = ActiveLearner(small(), strategies.bald, X_training=X[:40], y_training=y[:40], random_state=0)
    return {"running": running, "taught": taught}


# -- estimators ---------------------------------------------------------------------------------


def fit(X_, y_, **kwargs):
    return lambda est: est.fit(X_, y_, **kwargs)


def partial_fit(X_, y_, **kwargs):
    return lambda est: est.partial_fit(X_, y_, **kwargs)


def joint_call(n_index):
    return lambda est: est.predict_proba_joint(X[:20], n_index=n_index)


MORE_ESTIMATOR_CASES = [
    # (a fitted estimator by name, or a factory of a fresh one; set_params before the call;
    #  the call; error; message)
    pytest.param("dropout", {}, fit(X_INF2, y), ValueError, r"Input X contains infinity",
                 id="dropout-refit-X-with-inf"),
    pytest.param("ensemble", {}, fit(X, y[:-1]), ValueError,
                 r"inconsistent numbers of samples: \[200, 199\]",
                 id="ensemble-refit-X-y-length-mismatch"),
    pytest.param("baseline", {}, fit(X, np.zeros_like(y)), ValueError,
                 r"y has only 1 class \(\[0\]\)", id="baseline-refit-y-with-one-class"),
    pytest.param(lambda: small(), {}, partial_fit(X, np.zeros_like(y), classes=[0]), ValueError,
                 r"only 1 class \(\[0\]\)", id="partial_fit-classes-with-one-entry"),
    pytest.param("dropout", {}, lambda est: est.predict_proba(X_NAN), ValueError,
                 r"Input X contains NaN", id="dropout-predict_proba-nan"),
    pytest.param("ensemble", {}, lambda est: est.predict(X[0]), ValueError,
                 r"Expected 2D array, got 1D array", id="ensemble-predict-1d-row"),
    pytest.param("ensemble", {}, joint_call(-1), ValueError, r"n_index must be a positive integer, got -1",
                 id="ensemble-joint-n_index-negative"),
    pytest.param("dropout", {}, joint_call(True), TypeError,
                 r"n_index must be a positive integer, got True", id="dropout-joint-n_index-bool"),
    pytest.param("baseline", {}, joint_call("10"), TypeError,
                 r"n_index must be a positive integer, got '10'", id="baseline-joint-n_index-str"),
    pytest.param("epinet", {"n_index_predict": 0}, lambda est: est.predict(X[:20]), ValueError,
                 r"n_index_predict must be a positive integer, got 0", id="predict-n_index_predict-0"),
    pytest.param("baseline", {"weight_decay": -1.0}, fit(X, y), ValueError,
                 r"weight_decay .*got -1\.0", id="baseline-refit-weight_decay-negative"),
    pytest.param("baseline", {"hidden_sizes": (0,)}, fit(X, y), ValueError,
                 r"hidden_sizes must contain positive layer widths, got \(0,\)",
                 id="baseline-refit-hidden_sizes-zero-width"),
    pytest.param("ensemble", {"n_members": 0}, fit(X, y), ValueError,
                 r"n_members must be a positive integer, got 0", id="ensemble-refit-n_members-0"),
    pytest.param(lambda: EnsembleClassifier(n_members=2.5), {}, fit(X, y), TypeError,
                 r"n_members must be a positive integer, got 2\.5", id="ensemble-n_members-float"),
    pytest.param("dropout", {"dropout": 1.5}, fit(X, y), ValueError,
                 r"dropout must be in \[0, 1\), got 1\.5", id="dropout-refit-dropout-above-1"),
    pytest.param(lambda: DropoutClassifier(dropout=float("nan")), {}, fit(X, y), ValueError,
                 r"dropout must be in \[0, 1\), got nan", id="dropout-nan"),
    pytest.param("epinet", {"device": "tpu"}, fit(X, y), ValueError, r"device='tpu'",
                 id="epinet-refit-device-unknown"),
    pytest.param(lambda: EpinetClassifier(backbone="bert", max_length=0), {}, fit(TEXTS, TEXT_Y),
                 ValueError, r"max_length must be a positive integer, got 0", id="bert-max_length-0"),
    pytest.param(lambda: EpinetClassifier(backbone="bert", pooling="max"), {},
                 fit(TEXTS, TEXT_Y), ValueError, r"pooling='max' is not supported",
                 id="bert-pooling-unknown"),
    # -- known defects
    pytest.param("epinet", {"hidden_sizes": 8}, fit(X, y), (TypeError, ValueError),
                 r"hidden_sizes.*8", id="refit-hidden_sizes-int"),
    pytest.param("dropout", {"dropout": "0.1"}, fit(X, y), (TypeError, ValueError),
                 r"dropout.*'0\.1'", id="refit-dropout-str"),
    pytest.param("epinet", {"lr": -1.0}, fit(X, y), ValueError,
                 r"lr must be a positive finite number, got -1\.0",
                 id="refit-lr-negative"),
    pytest.param("epinet", {"batch_size": 0}, fit(X, y), ValueError, r"batch_size.*0",
                 id="refit-batch_size-0"),
    pytest.param("epinet", {"max_epochs": -1}, fit(X, y), ValueError, r"max_epochs.*-1",
                 id="refit-max_epochs-negative"),
    pytest.param("epinet", {}, fit(X, y, bogus=1), TypeError, r"bogus",
                 id="fit-unknown-fit-param"),
]


@pytest.mark.parametrize("kind, bad_params, call, error, match", MORE_ESTIMATOR_CASES)
def test_more_estimator_bad_input(fitted_models, kind, bad_params, call, error, match):
    est = copy.deepcopy(fitted_models[kind]) if isinstance(kind, str) else kind()
    was_fitted = est.__sklearn_is_fitted__()
    outputs = model_outputs(est)
    restore = {key: est.get_params()[key] for key in bad_params}
    est.set_params(**bad_params)
    params, attributes = estimator_params(est), sorted(vars(est))

    with pytest.raises(error, match=match):
        call(est)

    assert_unchanged(estimator_params(est), params, "get_params()")
    assert est.__sklearn_is_fitted__() == was_fitted
    if was_fitted:
        assert sorted(vars(est)) == attributes, "attributes added or removed by the failed call"
    est.set_params(**restore)
    assert_unchanged(model_outputs(est), outputs, "predictions")


# -- strategies and priorities ---------------------------------------------------------------------


def on_epinet(strategy, pool, *args, **kwargs):
    return "epinet", pool, lambda model, pool_: strategy(model, pool_, *args, **kwargs)


def on_array(function, array, *args, **kwargs):
    return None, array, lambda _, a: function(a, *args, **kwargs)


MORE_STRATEGY_CASES = [
    pytest.param(*on_epinet(strategies.uncertain_diverse, X_POOL, 2, priority="nope"), ValueError,
                 r"priority='nope' is not known", id="uncertain_diverse-unknown-priority"),
    pytest.param(*on_epinet(strategies.batchbald, X_POOL, 2, n_candidates=1), ValueError,
                 r"n_candidates=1 is smaller than n_instances=2", id="batchbald-n_candidates-small"),
    pytest.param(*on_epinet(strategies.batchbald, X_POOL, 2, max_configs=0), ValueError,
                 r"max_configs must be a positive integer, got 0", id="batchbald-max_configs-0"),
    pytest.param(*on_epinet(strategies.coreset, X_POOL, 2, X_labelled=X[:5, :3]), ValueError,
                 r"X has 3 features", id="coreset-X_labelled-wrong-width"),
    pytest.param(*on_array(priorities.bald, np.full((5, 2), 0.5)), ValueError,
                 r"3-D array .*got an array of shape \(5, 2\)", id="priorities-bald-2d-proba"),
    pytest.param(*on_array(priorities.entropy, np.full((3, 5, 2), np.nan)), ValueError,
                 r"proba must hold probabilities.*NaN", id="priorities-entropy-nan"),
    pytest.param(*on_array(priorities.margin, -np.ones((3, 5, 2))), ValueError,
                 r"negative values.*not logits", id="priorities-margin-logits"),
    pytest.param(*on_array(priorities.variance, np.ones((3, 5, 0))), ValueError,
                 r"at least one index sample and one class, got shape \(3, 5, 0\)",
                 id="priorities-variance-no-class"),
    pytest.param(*on_array(priorities.batchbald_select, np.full((3, 5, 2), 0.5), 9), ValueError,
                 r"n_instances=9", id="priorities-batchbald-too-many"),
    pytest.param(*on_array(priorities.kcenter_greedy, np.full((5, 2), np.nan), 2), ValueError,
                 r"features contains NaN", id="priorities-kcenter-nan-features"),
]


@pytest.mark.parametrize("model, data, call, error, match", MORE_STRATEGY_CASES)
def test_more_strategy_bad_input(fitted_models, model, data, call, error, match):
    model = None if model is None else fitted_models[model]
    outputs = None if model is None else model_outputs(model)
    data_before = data.copy()

    with pytest.raises(error, match=match):
        call(model, data)

    assert_unchanged(data, data_before, "the input array")
    if model is not None:
        assert_unchanged(model_outputs(model), outputs, "the model's predictions")


# -- the learner: constructor ------------------------------------------------------------------------


CONSTRUCTOR_CASES = [
    pytest.param(dict(X_training=X[:40], y_training=None), ValueError, r"requires y to be passed",
                 id="X_training-without-y_training"),
    pytest.param(dict(X_training=X_NAN[:40], y_training=y[:40]), ValueError,
                 r"Input X contains NaN", id="X_training-with-nan"),
    pytest.param(dict(X_training=X[:40], y_training=y[:39]), ValueError,
                 r"inconsistent numbers of samples: \[40, 39\]", id="X_training-y_training-mismatch"),
    pytest.param(dict(X_training=X[:40], y_training=np.zeros(40, int)), ValueError,
                 r"only 1 class \(\[0\]\)", id="y_training-one-class"),
    pytest.param(dict(random_state="seed"), (TypeError, ValueError), r"random_state.*'seed'",
                 id="random_state-str"),
    pytest.param(dict(X_training=X[:40], y_training=y[:40], max_epochs=3), TypeError,
                 r"max_epochs", id="estimator-param-as-fit-kwarg"),
]


@pytest.mark.parametrize("kwargs, error, match", CONSTRUCTOR_CASES)
def test_learner_constructor_bad_input(fitted_models, kwargs, error, match):
    estimator = copy.deepcopy(fitted_models["epinet"])
    params, outputs = estimator_params(estimator), model_outputs(estimator)

    with pytest.raises(error, match=match):
        ActiveLearner(estimator, **kwargs)

    assert_unchanged(estimator_params(estimator), params, "the estimator's get_params()")
    assert_unchanged(model_outputs(estimator), outputs, "the estimator's predictions")


# -- the learner: teach, query, run -------------------------------------------------------------------


def fresh_learner():
    return ActiveLearner(small(), strategies.bald, random_state=0)


def fresh_fitted_learner():
    return ActiveLearner(small(), strategies.bald, X_training=X[:40], y_training=y[:40], random_state=0)


def bad_journal(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"event": "ask", "step": 3, "rows": [1]}\nnot json\n')
    return path


def answer(labels_of):
    """A callable oracle answering ``labels_of(indices)``."""
    return lambda rows, indices: labels_of(indices)


MORE_LEARNER_CASES = [
    # -- teach
    pytest.param("taught", lambda l, _: l.teach(X[:5], np.array([0, 1, 7, 0, 1]), only_new=True),
                 ValueError, r"labels \[7\]", id="teach-unseen-label-only_new"),
    pytest.param("taught", lambda l, _: l.teach(X[0], y[:1]), ValueError,
                 r"teach\(\).*(2D|2-D|shape)", id="teach-one-row-as-1d"),
    pytest.param("taught", lambda l, _: l.teach(X[:5], None), ValueError, r"y.*None|requires y",
                 id="teach-y-None"),
    # -- query
    pytest.param("taught", lambda l, _: l.query(X[:5], n_instances=6), ValueError,
                 r"n_instances=6 is larger than the pool \(5 rows\)",
                 id="query-n_instances-above-pool"),
    pytest.param("taught", lambda l, _: l.query(X_NAN, n_instances=2), ValueError,
                 r"Input X contains NaN", id="query-pool-with-nan"),
    pytest.param("taught", lambda l, _: l.query(X_POOL, n_instances=2, n_index=0), ValueError,
                 r"n_index must be a positive integer, got 0", id="query-n_index-0"),
    pytest.param("taught", lambda l, _: l.query(X_POOL, n_instances=2, bogus=1), TypeError,
                 r"unexpected keyword argument 'bogus'", id="query-unknown-kwarg"),
    pytest.param(fresh_learner, lambda l, _: l.query(X_POOL, n_instances=2), NotFittedError,
                 r"not fitted yet", id="query-before-any-training"),
    # -- run of a learner mid-run: settings
    pytest.param("running", lambda l, _: l.run(X, y, budget=2.5, **RUN2), ValueError,
                 r"budget must be a positive integer, got 2\.5", id="run-budget-float"),
    pytest.param("running", lambda l, _: l.run(X, y, budget=30, recipe="online", n_steps=0,
                                               **RUN2),
                 ValueError, r"n_steps must be a positive integer, got 0", id="run-n_steps-0"),
    pytest.param("running", lambda l, _: l.run(X, y, budget=30, n_index=2.5, **RUN2), ValueError,
                 r"n_index must be a positive integer, got 2\.5", id="run-n_index-float"),
    pytest.param("running", lambda l, _: l.run(X_INF2, y, budget=30, **RUN2), ValueError,
                 r"X_pool row 2 holds NaN or infinity", id="run-pool-with-inf"),
    pytest.param("running", lambda l, tmp: l.run(X, y, budget=30, journal=bad_journal(tmp),
                                                 **RUN2),
                 ValueError, r"bad\.jsonl, line 2, is not a journal record",
                 id="run-corrupted-journal"),
    pytest.param("running", lambda l, _: l.run(X[:-1], y[:-1], budget=30, **RUN2), ValueError,
                 r"pool of 200 rows, not 199", id="run-resume-over-smaller-pool"),
    pytest.param("running", lambda l, _: l.run({"input_ids": X, "attention_mask": X}, y,
                                               budget=30, **RUN2),
                 TypeError, r"X_pool is a dict .*pass the texts themselves",
                 id="run-pool-a-tokenizer-dict"),
    pytest.param("running", lambda l, _: l.run(scipy_sparse.csr_matrix(X), y, budget=30, **RUN2),
                 TypeError, r"X_pool is a sparse csr_matrix.*X_pool\.toarray\(\)",
                 id="run-pool-sparse"),
    # -- run of a learner mid-run: the oracle
    pytest.param("running", lambda l, _: l.run(X, answer(lambda i: None), budget=30, **RUN2),
                 ValueError, r"returned no list of labels for 10 rows", id="oracle-returns-None"),
    pytest.param("running", lambda l, _: l.run(X, answer(lambda i: (v for v in y[i][:-1])),
                                               budget=30, **RUN2),
                 ValueError, r"yielded 9 labels for 10 rows", id="oracle-generator-one-short"),
    pytest.param("running", lambda l, _: l.run(X, answer(lambda i: np.full(len(i), 7)),
                                               budget=30, **RUN2),
                 ValueError, r"answered 7 \(int\) for pool row \d+", id="oracle-bad-answer-mid-run"),
    pytest.param("running", lambda l, _: l.run(X, answer(lambda i: 1 / 0), budget=30, **RUN2),
                 ZeroDivisionError, r"division by zero", id="oracle-raises-its-own-error"),
    # -- known defects
    pytest.param("running", lambda l, _: l.run(X, y, budget=30, X_eval=X[:, :3], y_eval=y,
                                               **RUN2),
                 ValueError, r"X_eval has rows of shape \(3,\) but X_pool's have shape \(4,\)",
                 id="run-X_eval-wrong-width"),
    pytest.param(fresh_learner, lambda l, _: l.run(X, answer(lambda i: np.full(len(i), 7)),
                                                   budget=10, classes=[0, 1], **RUN2),
                 ValueError, r"answered 7 \(int\)", id="run-first-step-bad-answer-leaves-no-run"),
    pytest.param(fresh_fitted_learner, lambda l, _: l.run(X[:, :3], y, budget=10, **RUN2),
                 ValueError, r"X has 3 features", id="run-first-step-pool-wrong-width"),
]


@pytest.mark.parametrize("make, act, error, match", MORE_LEARNER_CASES)
def test_more_learner_bad_input(learners, tmp_path, make, act, error, match):
    learner = copy.deepcopy(learners[make]) if isinstance(make, str) else make()
    before = learner_state(learner)

    with pytest.raises(error, match=match):
        act(learner, tmp_path)

    assert_unchanged(learner_state(learner), before, "the learner's state")


# -- checkpoints -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint_bytes(learners, tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    learners["running"].save(folder / "run.skepinet")
    persistence.save_estimator(learners["running"].estimator, folder / "est.skepinet")
    return {"run": (folder / "run.skepinet").read_bytes(),
            "est": (folder / "est.skepinet").read_bytes()}


def _archive(data):
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(persistence.MANIFEST), archive.read(persistence.TENSORS)


def _zip(manifest, tensors):
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(persistence.MANIFEST, manifest)
        archive.writestr(persistence.TENSORS, tensors)
    return out.getvalue()


def edit_manifest(edit):
    """The archive with its manifest edited by ``edit(manifest)`` (the checksum kept)."""
    def make(data):
        manifest, tensors = _archive(data)
        manifest = json.loads(manifest)
        edit(manifest)
        return _zip(json.dumps(manifest), tensors)
    return make


def tamper_tensors(data):
    """A byte of the tensors changed, the zip's own CRC recomputed: only the SHA-256 tells."""
    manifest, tensors = _archive(data)
    tensors = bytearray(tensors)
    tensors[-1] ^= 0x01
    return _zip(manifest, bytes(tensors))


def garble_manifest(data):
    """The deflated manifest member overwritten with 0xFF bytes (an invalid deflate block)."""
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as archive:
        info = archive.getinfo(persistence.MANIFEST)
    header = data[info.header_offset:info.header_offset + 30]
    start = (info.header_offset + 30 + int.from_bytes(header[26:28], "little")
             + int.from_bytes(header[28:30], "little"))
    return data[:start] + b"\xff" * info.compress_size + data[start + info.compress_size:]


def file_of(name, make, source="run"):
    """Prepare ``name`` holding ``make(checkpoint bytes)``; return its path."""
    def prepare(folder, ckpt):
        path = folder / name
        path.write_bytes(make(ckpt[source]))
        return path
    return prepare


def set_format_version(manifest):
    manifest["format_version"] = 2


def name_os_system(manifest):
    manifest["learner"]["query_strategy"] = {"__function__": "os:system"}


def pickle_file(folder, _):
    path = folder / "old.pkl"
    joblib.dump({"learner": "from skepinet 0.1"}, path)
    return path


def foreign_zip(folder, _):
    path = folder / "other.skepinet"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a checkpoint")
    return path


def read_only_folder(folder, _):
    sub = folder / "ro"
    sub.mkdir()
    sub.chmod(0o555)
    return sub / "run.skepinet"


def with_closure_strategy(learner):
    learner = copy.deepcopy(learner)
    learner.query_strategy = lambda classifier, X_pool, n_instances=1: None
    return learner


def run_fresh(path):
    return ActiveLearner(small(), random_state=0).run(X, y, budget=10, checkpoint=path, **RUN2)


MORE_CHECKPOINT_CASES = [
    # (prepare(folder, checkpoint bytes) -> path, act(path, folder, learner), error, message)
    pytest.param(file_of("tampered.skepinet", tamper_tensors),
                 lambda p, f, l: ActiveLearner.load(p), CheckpointError,
                 r"tampered\.skepinet: tensors\.safetensors does not match its SHA-256",
                 id="load-tensors-changed-zip-crc-valid"),
    pytest.param(file_of("run.skepinet", lambda d: d),
                 lambda p, f, l: persistence.load_estimator(p), CheckpointError,
                 r"run\.skepinet holds a learner, not an estimator", id="load_estimator-of-a-learner"),
    pytest.param(foreign_zip, lambda p, f, l: ActiveLearner.load(p), CheckpointError,
                 r"other\.skepinet is not a readable skepinet checkpoint.*skepinet\.json",
                 id="load-foreign-zip"),
    pytest.param(file_of("v2.skepinet", edit_manifest(set_format_version)),
                 lambda p, f, l: ActiveLearner.load(p), CheckpointError,
                 r"v2\.skepinet has checkpoint format 2", id="load-newer-format"),
    pytest.param(file_of("evil.skepinet", edit_manifest(name_os_system)),
                 lambda p, f, l: ActiveLearner.load(p), CheckpointError,
                 r"evil\.skepinet names os:system as strategy.*trusted=", id="load-untrusted-name"),
    pytest.param(pickle_file, lambda p, f, l: persistence.migrate_checkpoint(p, f / "new.skepinet"),
                 ValueError, r"trust_pickle=True", id="migrate-without-trust_pickle"),
    pytest.param(lambda folder, _: folder, lambda p, f, l: l.save(p), IsADirectoryError,
                 r"Is a directory", id="save-onto-a-folder"),
    pytest.param(file_of("run.skepinet", lambda d: d),
                 lambda p, f, l: with_closure_strategy(l).save(p), TypeError,
                 r"query_strategy is <function .*defined in a script or a closure",
                 id="save-closure-strategy-over-a-checkpoint"),
    pytest.param(file_of("run.skepinet", lambda d: d),
                 lambda p, f, l: ActiveLearner(LogisticRegression(), X_training=X[:40],
                                               y_training=y[:40]).save(p),
                 TypeError, r"ActiveLearner\.estimator is a LogisticRegression",
                 id="save-non-skepinet-estimator-over-a-checkpoint"),
    pytest.param(file_of("notes.txt", lambda d: b"my notes\n"), lambda p, f, l: run_fresh(p),
                 CheckpointError, r"notes\.txt is not a readable skepinet checkpoint",
                 id="fresh-run-over-a-file-that-is-no-checkpoint"),
    pytest.param(read_only_folder, lambda p, f, l: l.save(p), PermissionError,
                 r"Permission denied.*ro", id="save-into-read-only-folder", marks=needs_non_root),
    pytest.param(read_only_folder, lambda p, f, l: run_fresh(p), ValueError,
                 r"ro'? is not writable", id="run-checkpoint-in-read-only-folder",
                 marks=needs_non_root),
    pytest.param(file_of("garbled.skepinet", garble_manifest),
                 lambda p, f, l: ActiveLearner.load(p), CheckpointError,
                 r"garbled\.skepinet is not a readable", id="load-corrupted-manifest"),
]


@pytest.mark.parametrize("prepare, act, error, match", MORE_CHECKPOINT_CASES)
def test_more_checkpoint_bad_input(learners, checkpoint_bytes, tmp_path, prepare, act, error,
                                   match):
    folder = tmp_path / "work"
    folder.mkdir()
    path = prepare(folder, checkpoint_bytes)
    learner = copy.deepcopy(learners["running"])
    files, before = folder_bytes(folder), learner_state(learner)

    try:
        with pytest.raises(error, match=match):
            act(path, folder, learner)
    finally:
        for root, dirs, _ in os.walk(folder):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)

    assert_unchanged(folder_bytes(folder), files, "the folder's files")
    assert_unchanged(learner_state(learner), before, "the learner's state")


# -- load_glue -----------------------------------------------------------------------------------------


RTE_HEADER = "index\tsentence1\tsentence2\tlabel\n"
RTE_TRAIN = {"RTE/train.tsv": RTE_HEADER + "0\ta\tb\tentailment\n"}

MORE_GLUE_CASES = [
    # (files to write, load_glue arguments, error, message)
    pytest.param(RTE_TRAIN, dict(task="mnli", split="validation"), ValueError,
                 r"split='validation'.*'validation_matched'", id="mnli-plain-validation-split"),
    pytest.param(RTE_TRAIN, dict(task="rte", data_dir="RTE/train.tsv"), FileNotFoundError,
                 r"GLUE file not found: .*train\.tsv/RTE", id="data_dir-is-a-file"),
    pytest.param({"RTE/train.tsv": (RTE_HEADER + "0\ta\tb\tentailment\n").encode("utf-16")},
                 dict(task="rte"), ValueError, r"train\.tsv: line 1 is not valid UTF-8",
                 id="utf16-file"),
    pytest.param({"RTE/dev.tsv": RTE_HEADER.encode() + b"0\ta\tb\tentailment\n1\tcaf\xe9\tb\t"
                  b"entailment\n"},
                 dict(task="rte", split="validation"), ValueError,
                 r"dev\.tsv: line 3 is not valid UTF-8", id="invalid-utf8-on-a-later-line"),
    pytest.param({"RTE/train.tsv": RTE_HEADER + "0\ta\tb\tmaybe\n"}, dict(task="rte"), ValueError,
                 r"train\.tsv, line 2: label 'maybe' is not one of", id="unknown-label"),
    pytest.param({"CoLA/dev.tsv": "gj04\t1\t\tFine.\ngj04\t1\tShort.\n"},
                 dict(task="cola", split="validation"), ValueError,
                 r"dev\.tsv, line 2: 3 tab-separated field\(s\), expected 4",
                 id="cola-headerless-wrong-field-count"),
    pytest.param({"RTE/train.tsv": RTE_HEADER}, dict(task="rte"), ValueError,
                 r"train\.tsv holds no data rows", id="header-only"),
    pytest.param(RTE_TRAIN, dict(task="rte", data_dir=5), TypeError, r"data_dir.*5",
                 id="data_dir-int"),
    pytest.param({"SST-2/train.tsv": "sentence\tlabel\nfine\t1\n" + "x" * 200_000 + "\t1\n"},
                 dict(task="sst2"), ValueError, r"train\.tsv, line 3", id="field-above-csv-limit"),
]


@pytest.mark.parametrize("files, kwargs, error, match", MORE_GLUE_CASES)
def test_more_load_glue_bad_input(tmp_path, files, kwargs, error, match):
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    kwargs = dict(kwargs)
    data_dir = kwargs.pop("data_dir", tmp_path)
    if isinstance(data_dir, str):
        data_dir = tmp_path / data_dir
    before = folder_bytes(tmp_path)

    with pytest.raises(error, match=match):
        load_glue(kwargs.pop("task"), data_dir, **kwargs)

    assert_unchanged(folder_bytes(tmp_path), before, "the GLUE folder")


def test_a_zero_prediction_batch_is_refused_instead_of_looping_forever(fitted):
    model = copy.deepcopy(fitted)
    before = joint(model)
    model.set_params(batch_size=0)
    with pytest.raises(ValueError, match=r"prediction batch size .* must be a positive integer "
                                         r"or -1 .*got 0"):
        model.predict(X)
    model.set_params(batch_size=fitted.batch_size)
    np.testing.assert_array_equal(joint(model), before)
