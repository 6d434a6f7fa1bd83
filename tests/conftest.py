"""Shared fixtures: a tiny random BERT saved to a temp folder stands in for a real one."""

import numpy as np
import pytest
import torch

POSITIVE = ["good", "great", "nice", "fine", "happy"]
NEGATIVE = ["bad", "awful", "poor", "sad", "ugly"]
FILLER = ["the", "movie", "was", "very", "quite", "a", "plot", "and", "it", "really"]


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    path = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *POSITIVE, *NEGATIVE, *FILLER]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    transformers.BertTokenizerFast(str(path / "vocab.txt")).save_pretrained(path)
    config = transformers.BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64,
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def make_sentences():
    """A factory of labelled toy sentences: ``make_sentences(n, seed=0)`` gives ``(texts, y)``.

    Half the sentences hold a positive word (label 1), half a negative one (label 0).
    """
    def sentences(n, seed=0):
        rng = np.random.default_rng(seed)
        y = np.arange(n) % 2
        texts = []
        for label in y:
            words = list(rng.choice(FILLER, size=rng.integers(2, 8)))
            words.insert(rng.integers(len(words) + 1),
                         rng.choice(POSITIVE if label else NEGATIVE))
            texts.append(" ".join(words))
        return texts, y
    return sentences


@pytest.fixture(scope="module")
def toy_data():
    """120 rows of 4 features, 2 classes: the small problem the estimator tests share."""
    from sklearn.datasets import make_classification

    return make_classification(n_samples=120, n_features=4, n_informative=3, n_redundant=0,
                               random_state=0)


@pytest.fixture(scope="module")
def toy_fitted(toy_data):
    """Each skepinet classifier fitted on ``toy_data`` (15 epochs, seed 0)."""
    from skepinet import (
        BaselineClassifier,
        DropoutClassifier,
        EnsembleClassifier,
        EpinetClassifier,
    )

    classes = (BaselineClassifier, EpinetClassifier, DropoutClassifier, EnsembleClassifier)
    return {cls: cls(max_epochs=15, random_state=0).fit(*toy_data) for cls in classes}
