"""Batches over in-memory data: the training fast path, batch sizes and memory checks.

Pure helpers of :class:`skepinet.base.ENNClassifier`, kept apart from it:
:class:`TensorBatches` slices training batches straight from arrays,
:func:`check_batch_size` validates a batch size, and
:func:`check_fits_in_memory` refuses an output that could not be held.
"""

import numbers
import warnings

import numpy as np
import torch
from skorch.dataset import Dataset

__all__ = ["TensorBatches", "available_memory", "check_batch_size", "check_fits_in_memory"]


def available_memory():
    """Bytes of memory available (Linux ``MemAvailable``), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_fits_in_memory(shape, itemsize=4):
    """Raise MemoryError if an array of ``shape`` would not fit in the memory available."""
    needed, available = int(np.prod(shape, dtype=np.float64)) * itemsize, available_memory()
    if available is not None and needed > available:
        raise MemoryError(
            f"a joint prediction of shape {shape} needs {needed / 2**30:.1f} GiB, but only "
            f"{available / 2**30:.1f} GiB of memory is available; pass a smaller n_index or "
            "fewer rows, or use predict_proba or a query strategy, which reduce over the "
            "index samples batch by batch."
        )


def check_batch_size(batch_size, name="batch_size"):
    """Raise ValueError unless ``batch_size`` is a positive integer or -1 (all rows)."""
    if (isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, numbers.Integral)
            or not (batch_size >= 1 or batch_size == -1)):
        raise ValueError(f"{name} must be a positive integer or -1 (all rows at once), got "
                         f"{batch_size!r}; e.g. batch_size=64.")


def _shared_tensor(array):
    """A tensor over ``array``'s memory, read-only arrays included (batches are only read)."""
    if array.flags.writeable:
        return torch.from_numpy(array)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


class TensorBatches:
    """Batches sliced from in-memory arrays: what ``DataLoader`` over a skorch ``Dataset`` yields.

    ``DataLoader`` fetches each row through ``Dataset.__getitem__`` and stacks
    them, which costs more than the step itself for a small network. This
    slices whole batches instead, drawing from torch's global RNG exactly
    what ``DataLoader`` draws (a base seed, and with ``shuffle=True``
    ``RandomSampler``'s seed for ``randperm``), so results are identical to
    the ``DataLoader`` path.
    """

    _OPTIONS = {"batch_size", "shuffle", "drop_last"}

    def __init__(self, X, y, batch_size, shuffle=False, drop_last=False):
        self.X, self.y = X, y
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last

    @classmethod
    def maybe(cls, net, dataset, training):
        """The fast iterator for ``dataset``, or None where the general path is needed."""
        prefix = "iterator_train" if training else "iterator_valid"
        iterator = net.iterator_train if training else net.iterator_valid
        kwargs = net.get_params_for(prefix)
        if (getattr(net, "accelerator", None) is not None  # accelerate prepares DataLoaders
                or type(dataset) is not Dataset or iterator is not torch.utils.data.DataLoader
                or not set(kwargs) <= cls._OPTIONS
                or not isinstance(dataset.X, np.ndarray) or not isinstance(dataset.y, np.ndarray)
                or dataset.X.dtype.kind != "f" or dataset.y.dtype.kind not in "iu"
                or len(dataset.X) != len(dataset.y)):
            return None
        batch_size = kwargs.get("batch_size", net.batch_size)
        if batch_size == -1:
            batch_size = len(dataset)
        return cls(_shared_tensor(dataset.X), _shared_tensor(dataset.y), batch_size,
                   bool(kwargs.get("shuffle", False)), bool(kwargs.get("drop_last", False)))

    def __len__(self):
        n = len(self.X)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.X)
        # DataLoader draws a base seed for its workers even with none: so do we, so
        # the RNG stream (index samples, dropout) after it is the same.
        torch.empty((), dtype=torch.int64).random_()
        if self.shuffle:
            seed = int(torch.empty((), dtype=torch.int64).random_().item())
            order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            rows = (order[start:start + self.batch_size] if self.shuffle
                    else slice(start, start + self.batch_size))
            yield self.X[rows], self.y[rows]
