"""Tests for skepinet.batches: the in-memory fast path and the batch and memory checks."""

import contextlib
import warnings

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset

from skepinet import batches
from skepinet.batches import TensorBatches, check_batch_size, check_fits_in_memory


def _loader_batches(X, y, **kwargs):
    return [(xb.clone(), yb.clone())
            for xb, yb in torch.utils.data.DataLoader(Dataset(X, y), **kwargs)]


@pytest.mark.parametrize("kwargs", [{"batch_size": 4}, {"batch_size": 4, "shuffle": True},
                                    {"batch_size": 3, "shuffle": True, "drop_last": True}])
def test_tensor_batches_yield_the_data_loaders_batches_from_the_same_rng(kwargs):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(10, 2)).astype(np.float32), rng.randint(0, 2, 10)
    torch.manual_seed(3)
    expected = _loader_batches(X, y, **kwargs)
    after_loader = torch.rand(1)
    torch.manual_seed(3)
    fast = TensorBatches(torch.from_numpy(X), torch.from_numpy(y), **kwargs)
    got = list(fast)
    assert len(fast) == len(expected) == len(got)
    for (xb, yb), (xe, ye) in zip(got, expected):
        torch.testing.assert_close(xb, xe)
        torch.testing.assert_close(yb, ye)
    # The global RNG advanced exactly as the DataLoader advanced it.
    torch.testing.assert_close(torch.rand(1), after_loader)


@contextlib.contextmanager
def _no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_read_only_arrays_are_shared_without_a_copy_or_a_warning():
    X = np.zeros((4, 2), dtype=np.float32)
    X.setflags(write=False)
    y = np.zeros(4, dtype=np.int64)

    class Net:
        accelerator = None
        iterator_train = torch.utils.data.DataLoader
        batch_size = -1

        @staticmethod
        def get_params_for(prefix):
            return {}

    with _no_warnings():
        fast = TensorBatches.maybe(Net, Dataset(X, y), training=True)
    assert fast.batch_size == 4 and len(fast) == 1
    assert np.shares_memory(fast.X.numpy(), X)


@pytest.mark.parametrize("value", [64, 1, -1])
def test_check_batch_size_accepts_positive_sizes_and_all_rows(value):
    check_batch_size(value)


@pytest.mark.parametrize("value", [0, -2, 2.0, True, "64", None])
def test_check_batch_size_names_the_parameter_the_value_and_a_fix(value):
    with pytest.raises(ValueError, match=rf"iterator_valid__batch_size must be a positive "
                                         rf"integer or -1.*got {value!r}.*e\.g\. batch_size=64"):
        check_batch_size(value, "iterator_valid__batch_size")


def test_an_output_that_would_not_fit_is_refused_with_the_sizes(monkeypatch):
    monkeypatch.setattr(batches, "available_memory", lambda: 2**30)
    check_fits_in_memory((1000, 1000, 2))  # 8 MB
    with pytest.raises(MemoryError, match=r"\(100000, 10000, 2\) needs 7.5 GiB, but only 1.0 GiB"):
        check_fits_in_memory((100_000, 10_000, 2))
    monkeypatch.setattr(batches, "available_memory", lambda: None)
    check_fits_in_memory((100_000, 10_000, 2))  # unknown memory: no refusal


def test_available_memory_reads_a_positive_byte_count_or_none():
    memory = batches.available_memory()
    assert memory is None or (isinstance(memory, int) and memory > 0)
