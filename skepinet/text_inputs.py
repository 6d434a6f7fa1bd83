"""The text backbone of the skepinet estimators: raw texts in, joint predictions out.

:class:`TextInputMixin` goes before :class:`skepinet.base.ENNClassifier` in a
classifier's bases and overrides its input hooks when ``backbone='bert'``:

- with a fine-tuned encoder (the default), texts stay texts until a batch is
  built, where they are tokenized and padded to the batch's longest row, and
  the module is the encoder under the ENN head;
- with ``freeze_encoder=True``, each text's features are computed once by a
  frozen encoder (:func:`skepinet.text.cached_features`) and the estimator
  then works on those features as on any numeric input.

Every override hands back to the base class for ``backbone='mlp'``, so one
class serves both backbones (``backbone`` is a parameter, not a type).
"""

import numpy as np
import torch
from skorch.utils import to_tensor
from sklearn.utils.validation import check_consistent_length, column_or_1d

from . import text
from .callbacks import OWN_DECAY
from .utils import check_positive_int, n_rows, take_rows

__all__ = ["TextInputMixin", "TextRows"]


class TextRows(torch.utils.data.Dataset):
    """Raw texts (and labels) for skorch's DataLoader; tokenized at collation.

    Parameters
    ----------
    texts : list of str or of (str, str)
        The texts, as :func:`skepinet.text.check_texts` returns them.
    y : array-like of shape (n,) or None (default=None)
        Encoded labels.
    """

    def __init__(self, texts, y=None):
        self.texts, self.y = texts, y

    def __len__(self):
        return len(self.texts)

    def __getitem__(self, i):
        return self.texts[i], (None if self.y is None else self.y[i])


class TextInputMixin:
    """``backbone='bert'``: a Hugging Face encoder under the ENN head.

    Uses the estimator's parameters ``pretrained``, ``pooling``,
    ``max_length``, ``freeze_encoder`` and ``encoder_lr`` (declared by
    :class:`skepinet.base.ENNClassifier`, so that ``get_params`` is the same
    whatever the backbone).
    """

    backbones = ("mlp", "bert")

    def _is_text(self):
        return self.backbone == "bert"

    def _fine_tunes_encoder(self):
        return self._is_text() and not self.freeze_encoder

    @property
    def tokenizer_(self):
        """The text backbone's tokenizer (shared by estimators in this process)."""
        return text.shared_tokenizer(self.pretrained)

    # -- module ------------------------------------------------------------------

    def _new_encoder(self):
        return text.TransformerEncoder(text.resolve_pretrained(self.pretrained), self.pooling)

    def _new_trainable_encoder(self):
        # A frozen encoder is no part of the module: its features are the inputs.
        return self._new_encoder() if self._fine_tunes_encoder() else super()._new_trainable_encoder()

    def _module_with_encoder(self, encoder, head):
        """The fine-tuned text network; subclasses offer other encoder layouts."""
        return text.TextENN(encoder, head)

    def _default_param_groups(self, named_parameters):
        if not self._fine_tunes_encoder():
            return super()._default_param_groups(named_parameters)
        # The pretrained encoder moves slowly (paper: 1e-5); new heads at ``lr``.
        is_encoder = [name.startswith("encoder.") for name, _ in named_parameters]
        # A prior centred at zero suits freshly initialised heads, not
        # pretrained weights: the encoder keeps ``weight_decay``.
        return [
            {"params": [p for (_, p), e in zip(named_parameters, is_encoder) if e],
             "lr": self.encoder_lr, OWN_DECAY: True},
            {"params": [p for (_, p), e in zip(named_parameters, is_encoder) if not e]},
        ]

    # -- validation --------------------------------------------------------------

    def _check_hyperparameters(self):
        super()._check_hyperparameters()
        if self._is_text():
            if self.pooling not in text.POOLINGS:
                raise ValueError(
                    f"pooling={self.pooling!r} is not supported; choose one of {text.POOLINGS}."
                )
            check_positive_int(self.max_length, "max_length", 128)

    def _validate_fit_inputs(self, X, y, *, reset):
        if not self._is_text():
            return super()._validate_fit_inputs(X, y, reset=reset)
        texts = text.check_texts(X)
        if y is None:
            raise ValueError(
                f"This {type(self).__name__} estimator requires y to be passed, but the target y is None."
            )
        y = column_or_1d(y, warn=True)
        check_consistent_length(np.empty(n_rows(texts)), y)
        return self._prepared_texts(texts), y

    def _n_head_inputs(self, X):
        # A fine-tuned encoder's width is known once it is loaded (initialize_module).
        return None if self._fine_tunes_encoder() else super()._n_head_inputs(X)

    def _validate_predict_inputs(self, X):
        if not self._is_text():
            return super()._validate_predict_inputs(X)
        return self._prepared_texts(text.check_texts(X))

    def _prepared_texts(self, texts):
        """Texts for a fine-tuned encoder, or a frozen encoder's features."""
        return texts if self._fine_tunes_encoder() else self._frozen_features(texts)

    def _inputs_are_features(self):
        return (self._is_text() and not self._fine_tunes_encoder()) or super()._inputs_are_features()

    def _min_cpu_prediction_rows(self):
        # Texts pass through the encoder in prediction batches: batch_size is the
        # memory the user chose, so it is not enlarged.
        return 1 if self._is_text() else super()._min_cpu_prediction_rows()

    # -- batches -----------------------------------------------------------------

    def _tokenized(self, texts):
        batch = text.tokenize(self.tokenizer_, texts, self.max_length)
        return to_tensor(batch, device=self.device)

    def _batch(self, X, rows):
        """A model-ready batch of prepared input: an array, texts or a tokenized dict."""
        if isinstance(X, np.ndarray):
            return super()._batch(X, rows)
        return self._tokenized(take_rows(X, rows))

    def _frozen_features(self, texts):
        """Features of a frozen encoder, computed once per text and cached."""
        def compute(missing):
            encoder = text.frozen_encoder(self.pretrained, self.pooling, self.device)
            return self._concat_batches(missing, lambda b: encoder(**b).float().cpu().numpy())

        if isinstance(texts, dict):  # pre-tokenized: nothing to key a cache on
            return compute(texts)
        key = text.cache_key(text.resolve_pretrained(self.pretrained), self.pooling, self.max_length)
        return text.cached_features(texts, key, compute)

    def get_dataset(self, X, y=None):
        """skorch's dataset; lists of texts become rows tokenized batch by batch."""
        if isinstance(X, list):
            return TextRows(X, y)
        return super().get_dataset(X, y)

    def get_iterator(self, dataset, training=False):
        """skorch's iterator; batches of raw texts are tokenized and padded per batch."""
        iterator = super().get_iterator(dataset, training=training)
        if isinstance(dataset, TextRows):
            iterator.collate_fn = self._collate_texts
        return iterator

    def _collate_texts(self, rows):
        texts, targets = zip(*rows)
        batch = text.tokenize(self.tokenizer_, list(texts), self.max_length)
        y = None if targets[0] is None else torch.as_tensor(np.asarray(targets))
        return batch, y
