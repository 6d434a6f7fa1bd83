"""Bad input, across the package: the right error, a message naming the problem, nothing changed.

Every case is one wrong call. Each asserts the exception type, that the
message names the parameter or value and the way out, and that the
objects involved (estimator parameters and predictions, the learner's
labels, run state and history, files on disk) are exactly as before.
"""

import copy
import os
import zipfile

import joblib
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from skepinet import (
    ActiveLearner,
    CheckpointError,
    DropoutClassifier,
    EnsembleClassifier,
    EpinetClassifier,
    bald,
    entropy,
    load_estimator,
    margin,
    save_estimator,
    strategies,
    uniform,
    variance,
)
from skepinet.datasets import load_glue, make_testbed_classification

X, y = make_testbed_classification(200, input_dim=4, random_state=1)
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
    ("index_dim-0", lambda: small(index_dim=0), ValueError, r"index_dim must be at least 1, got 0"),
    ("n_index_train-0", lambda: small(n_index_train=0), ValueError,
     r"n_index_train must be at least 1, got 0"),
    ("dropout-hidden_sizes-empty", lambda: DropoutClassifier(hidden_sizes=(), max_epochs=1),
     ValueError, r"hidden_sizes must not be empty for MC dropout"),
    ("dropout-1.5", lambda: small(DropoutClassifier, dropout=1.5), ValueError,
     r"dropout must be in \[0, 1\), got 1.5"),
    ("n_members-0", lambda: small(EnsembleClassifier, n_members=0), ValueError,
     r"n_members must be at least 1, got 0"),
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
     r"n_index must be at least 1, got 0; pass e.g. n_index=100"),
    ("n_index-negative", lambda m: m.predict_proba_joint(X, n_index=-1), ValueError,
     r"n_index must be at least 1, got -1"),
    ("n_index-float", lambda m: m.predict_proba_joint(X, n_index=2.5), TypeError,
     r"n_index must be an integer, got 2.5 \(float\)"),
    ("n_index-bool", lambda m: m.predict_proba_joint(X, n_index=True), TypeError,
     r"n_index must be an integer, got True \(bool\)"),
    ("n_index-str", lambda m: m.predict_proba_joint(X, n_index="10"), TypeError,
     r"n_index must be an integer, got '10' \(str\)"),
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
     r"n_train must be at least 1, got 0"),
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
    ("n_instances-0", lambda m: variance(m, X, 0), ValueError, r"n_instances must be at least 1"),
    ("n_instances-over-pool", lambda m: variance(m, X, 201), ValueError,
     r"n_instances=201 is larger than the pool \(200 rows\)"),
    ("n_instances-float", lambda m: bald(m, X, 2.5), TypeError,
     r"n_instances must be an integer, got 2.5"),
    ("n_index-0", lambda m: bald(m, X, 2, n_index=0), ValueError, r"n_index must be at least 1"),
    ("chunk_size-0", lambda m: margin(m, X, 2, chunk_size=0), ValueError,
     r"chunk_size must be a positive integer, got 0"),
    ("n_jobs-0", lambda m: entropy(m, X, 2, n_jobs=0), ValueError,
     r"n_jobs must be a non-zero integer or None, got 0"),
    ("pool-nan", lambda m: variance(m, X_NAN, 2), ValueError, r"Input X contains NaN"),
    ("pool-width", lambda m: variance(m, X[:, :3], 2), ValueError, r"X has 3 features"),
    ("epistemic-without-enn", lambda m: variance(LogisticRegression().fit(X, y), X, 2), TypeError,
     r"'variance' strategy .* LogisticRegression has no predict_proba_joint"),
    ("unfitted-model", lambda m: bald(small(), X, 2), NotFittedError, r"not fitted yet"),
    ("batchbald-n_instances-0", lambda m: strategies.batchbald(m, X, 0), ValueError,
     r"n_instances must be at least 1"),
    ("coreset-over-pool", lambda m: strategies.coreset(m, X, 500), ValueError,
     r"n_instances=500 is larger than the pool"),
    ("uniform-n_instances-0", lambda m: uniform(m, X, 0), ValueError,
     r"n_instances must be at least 1"),
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
    learner = ActiveLearner(copy.deepcopy(fitted), variance, random_state=0)
    learner.teach(X[:10], y[:10], only_new=True)
    return learner


def snapshot(learner):
    state = learner.run_state_
    return {"X": np.array(learner.X_training, copy=True), "y": np.array(learner.y_training),
            "history": len(learner.history_), "joint": joint(learner.estimator),
            # A run begun by a call whose answer was refused holds no label: the same.
            "labelled": [] if state is None else list(state["labelled"]),
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
     r"n_instances must be at least 1"),
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
        assert learner.run_state_["n_labelled"] == 0
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
    ("truncated", _truncate, load_estimator, CheckpointError,
     r"m.skepinet is not a readable skepinet checkpoint.*truncated or corrupted"),
    ("random-bytes", _noise, load_estimator, CheckpointError, r"m.skepinet is not a readable"),
    ("flipped-bytes", _flip, load_estimator, CheckpointError, r"m.skepinet.*(SHA-256|CRC)"),
    ("empty-file", _empty, load_estimator, CheckpointError, r"m.skepinet is not a readable"),
    ("a-pickle", _pickle, load_estimator, CheckpointError,
     r"m.skepinet is a pickle.*migrate_checkpoint"),
    ("a-pickle-as-learner", _pickle, ActiveLearner.load, CheckpointError,
     r"m.skepinet is a pickle.*trust_pickle=True"),
    ("estimator-as-learner", lambda path: None, ActiveLearner.load, CheckpointError,
     r"m.skepinet holds a estimator, not an ActiveLearner"),
    ("missing-file", lambda path: path.unlink(), load_estimator, FileNotFoundError,
     r"m.skepinet"),
]


@pytest.mark.parametrize("damage, load, error, message", [c[1:] for c in CHECKPOINT_CASES],
                         ids=[c[0] for c in CHECKPOINT_CASES])
def test_a_bad_checkpoint_is_named_and_left_as_it_is(fitted, tmp_path, damage, load, error,
                                                     message):
    path = tmp_path / "m.skepinet"
    save_estimator(fitted, path)
    damage(path)
    data = path.read_bytes() if path.exists() else None
    with pytest.raises(error, match=message):
        load(path)
    assert (path.read_bytes() if path.exists() else None) == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if data is None else ["m.skepinet"])


def test_saving_into_a_missing_folder_leaves_nothing(fitted, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no/m.skepinet|no"):
        save_estimator(fitted, tmp_path / "no" / "m.skepinet")
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
