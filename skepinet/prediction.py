"""Joint prediction, batch by batch: the prediction half of the ENN estimator.

:class:`JointPredictionMixin` holds what :class:`skepinet.base.ENNClassifier`
does once fitted: ``predict_proba_joint``, ``predict_proba``, ``predict`` and
``embed``. Each runs one backbone pass per batch with every index sample,
under :func:`torch.inference_mode`, so memory is bounded by the batch size,
not by the pool. The mixin relies on the estimator's ``infer``,
``_network``, ``_autocast``, ``_set_training``, ``_validate_predict_data``
and its fitted ``classes_`` and ``index_seed_``.
"""

import numpy as np
import torch

from .batches import check_batch_size, check_fits_in_memory
from .utils import DEFAULT_N_INDEX, check_positive_int, n_rows

__all__ = ["CPU_PREDICTION_ROWS", "JointPredictionMixin", "class_probabilities"]

# Rows a CPU prediction pass takes at least, unless iterator_valid__batch_size is set
# (measured: 3x the rows/s of 64-row passes for the testbed MLP, bounded memory).
CPU_PREDICTION_ROWS = 1024
# Index samples are drawn in blocks of this many (memory for a huge n_index).
_INDEX_BLOCK = 2 ** 16
# A pass over a batch holds at least this many index-row pairs before n_index is split.
_MIN_PAIRS = 2 ** 20
# Up to this many classes an explicit exp-and-sum beats torch's CPU softmax kernel.
_FEW_CLASSES = 16


def class_probabilities(logits):
    """Softmax over the last axis of ``logits``, in float32.

    torch's CPU softmax over a short last axis runs far below the speed of
    its element-wise kernels (measured: 20x slower with 2 classes, 4-6x with
    3 to 10), and scoring a pool is mostly this softmax. So two classes use
    the logistic function of the logit gap, a few classes an explicit
    ``exp`` and sum, and only many classes torch's kernel: the same
    probabilities to float rounding.

    Parameters
    ----------
    logits : torch.Tensor of shape (..., n_classes)

    Returns
    -------
    proba : torch.Tensor of the same shape, float32
    """
    logits = logits.float()
    n_classes = logits.shape[-1]
    if n_classes == 2:
        # p_c = sigmoid(l_c - l_other), each gap written in place (half the cost of a flip).
        gaps = torch.empty_like(logits)
        torch.sub(logits[..., 0], logits[..., 1], out=gaps[..., 0])
        torch.sub(logits[..., 1], logits[..., 0], out=gaps[..., 1])
        return gaps.sigmoid_()
    if n_classes <= _FEW_CLASSES:
        exp = torch.exp(logits - logits.amax(dim=-1, keepdim=True))
        return exp / exp.sum(dim=-1, keepdim=True)
    return torch.softmax(logits, dim=-1)


class JointPredictionMixin:
    """Batched joint prediction for an ENN estimator (see the module docstring)."""

    def _predict_batch_size(self, n_rows):
        params = self.get_params_for("iterator_valid")
        on_cuda = torch.device(self.device).type == "cuda"
        if "batch_size" in params:
            batch_size = params["batch_size"]
        elif on_cuda:
            batch_size = self.cuda_batch_size
        else:
            batch_size = self.batch_size
        check_batch_size(batch_size, "the prediction batch size (iterator_valid__batch_size, "
                                      "cuda_batch_size or batch_size)")
        if batch_size == -1:
            return max(n_rows, 1)
        if "batch_size" not in params and not on_cuda:
            return max(batch_size, self._min_cpu_prediction_rows())
        return batch_size

    def _min_cpu_prediction_rows(self):
        """The fewest rows a CPU prediction batch takes when its size is not set.

        A small network costs so little per row that a pass per training
        batch (64 rows) would be mostly call overhead; a text backbone, whose
        memory grows with the batch, overrides this.
        """
        return CPU_PREDICTION_ROWS

    def _batch(self, X, rows):
        """A model-ready batch of prepared input (here an array; text mixins add others)."""
        return torch.tensor(X[rows], device=self.device)

    def _map_batches(self, X, compute):
        """Yield ``(rows, compute(batch))`` batch by batch over prepared input.

        A batch that runs out of GPU memory is retried at half the size, so
        the prediction batch can start large enough to fill the GPU.
        """
        total = n_rows(X)
        step, start = self._predict_batch_size(total), 0
        while start < total:
            rows = slice(start, min(start + step, total))
            try:
                result = compute(self._batch(X, rows))
            except torch.cuda.OutOfMemoryError:
                if step == 1:
                    raise
                step //= 2
                torch.cuda.empty_cache()
                continue
            yield rows, result
            start = rows.stop

    def _index_parts(self, n_index, step):
        """Slices of the ``n_index`` samples, each small enough for one pass over a batch.

        A pass over ``step`` rows holds at most what the batch size allows at
        the default ``n_index`` (and at least ``_MIN_PAIRS`` index-row pairs),
        so a huge ``n_index`` is split instead of exhausting memory, while the
        usual sizes run in one pass. Parts are powers of two, so each lies in
        one block of ``_INDEX_BLOCK`` samples.
        """
        per_pass = max(1, max(step * DEFAULT_N_INDEX, _MIN_PAIRS) // step)
        if n_index <= min(per_pass, _INDEX_BLOCK):
            return [slice(0, n_index)]
        size = min(_INDEX_BLOCK, 1 << (per_pass.bit_length() - 1))
        return [slice(start, min(start + size, n_index)) for start in range(0, n_index, size)]

    def _evaluation_index(self, part, n_index):
        """Index samples ``part`` of a call with ``n_index``: the same in every call and batch.

        Up to ``_INDEX_BLOCK`` samples are one draw seeded by ``index_seed_``;
        beyond, block ``b`` of ``_INDEX_BLOCK`` samples is drawn from seed
        ``index_seed_ + b``, so memory is bounded by a block.
        """
        block = part.start // _INDEX_BLOCK if n_index > _INDEX_BLOCK else 0
        first = block * _INDEX_BLOCK
        generator = torch.Generator().manual_seed(self.index_seed_ + block)
        size = min(n_index - first, _INDEX_BLOCK) if n_index > _INDEX_BLOCK else n_index
        index = self._network().sample_index(size, generator=generator)
        return index[part.start - first:part.stop - first].to(self.device)

    def _iter_joint_proba(self, X, n_index):
        """Yield ``(rows, index_part, proba)``, ``proba`` of shape ``(part, rows, n_classes)``."""
        self._set_training(False)

        @torch.inference_mode()
        def joint_proba(batch, index):
            logits = self.infer(batch, index=index)
            if logits.stride(0) == 0:  # the same logits for every index sample
                return class_probabilities(logits[0]).expand_as(logits)
            return class_probabilities(logits)

        # Usually one part: one backbone pass per batch with every index sample.
        step = max(1, min(self._predict_batch_size(n_rows(X)), n_rows(X)))
        for part in self._index_parts(n_index, step):
            index = self._evaluation_index(part, n_index)
            for rows, proba in self._map_batches(X, lambda batch: joint_proba(batch, index)):
                yield rows, part, proba

    def predict_proba_joint(self, X, n_index=DEFAULT_N_INDEX):
        """Class probabilities under ``n_index`` epistemic index samples.

        The same index samples apply to every row (a *joint* prediction) and
        every call, so the result is deterministic for a fitted estimator.
        Work is done batch by batch; memory beyond the returned array is
        bounded by the prediction batch size (a very large ``n_index`` is
        split into blocks of index samples).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        n_index : int (default=100)
            Number of index samples.

        Returns
        -------
        proba : ndarray of shape (n_index, n_samples, n_classes), float32
            ``proba[a, i]`` is a probability vector over ``classes_``.

        Raises
        ------
        MemoryError
            If the returned array alone would not fit in the memory available.
        """
        n_index = check_positive_int(n_index, "n_index")
        X = self._validate_predict_data(X)
        shape = (n_index, n_rows(X), len(self.classes_))
        check_fits_in_memory(shape)
        out = np.empty(shape, dtype=np.float32)
        for rows, part, proba in self._iter_joint_proba(X, n_index):
            out[part, rows] = proba.cpu().numpy()
        return out

    def _n_index_predict(self):
        return check_positive_int(self.n_index_predict, "n_index_predict")

    def predict_proba(self, X):
        """Marginal class probabilities: the mean of the joint prediction.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float64
            Rows sum to 1 in float64, as scikit-learn's metrics expect.
        """
        X = self._validate_predict_data(X)
        out = np.zeros((n_rows(X), len(self.classes_)), dtype=np.float64)
        for rows, _, proba in self._iter_joint_proba(X, self._n_index_predict()):
            out[rows] += proba.sum(dim=0).cpu().numpy()
        return out / out.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class label for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return np.asarray(self.classes_)[proba.argmax(axis=1)]

    def embed(self, X):
        """The backbone's features (last hidden layer) for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out), float32
        """
        X = self._validate_predict_data(X)
        if self._inputs_are_features():
            return X
        self._set_training(False)

        def features(batch):
            network = self._network()
            out = network.features(**batch) if isinstance(batch, dict) else network.features(batch)
            return out.float().cpu().numpy()

        return self._concat_batches(X, features)

    def _inputs_are_features(self):
        """Whether prepared inputs already are the backbone's features (a frozen encoder's)."""
        return False

    def _concat_batches(self, X, compute):
        """``compute(batch)`` (a numpy array) over every batch of ``X``, concatenated.

        One loop for every batched forward pass that returns arrays (the
        backbone's features, a frozen encoder's): no gradients, autocast as
        in ``infer``, and the GPU out-of-memory retry of ``_map_batches``.
        """
        with torch.inference_mode(), self._autocast():
            return np.concatenate([chunk for _, chunk in self._map_batches(X, compute)])
