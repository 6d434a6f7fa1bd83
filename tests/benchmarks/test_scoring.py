"""Tests of skepinet.benchmarks.scoring beyond the command (tests/benchmarks/test_cli.py)."""

import numpy as np
import torch

from skepinet import EpinetClassifier
from skepinet.benchmarks.scoring import MatrixProductRecorder, same_shape_matmul_seconds


def test_the_same_shape_matmul_reference_replays_only_the_matrix_products(toy_fitted):
    model = toy_fitted[EpinetClassifier]
    X = np.random.default_rng(0).normal(size=(64, model.n_features_in_)).astype(np.float32)
    with MatrixProductRecorder() as recorder:
        model.predict_proba_joint(X, n_index=7)
    names = {func.__name__.split(".")[0] for func, _, _ in recorder.calls}
    assert names and names <= {"linear", "einsum", "matmul", "mm", "addmm", "bmm", "baddbmm"}
    # The replay runs on fresh tensors: none is (a view of) one of the model's weights.
    weights = {p.data_ptr() for p in model.module_.parameters()}
    replayed = [a for _, args, _ in recorder.calls for a in _tensors(args)]
    assert replayed and not weights & {a.data_ptr() for a in replayed}
    assert same_shape_matmul_seconds(model, X, 7, repeats=1) > 0


def _tensors(obj):
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for item in obj for t in _tensors(item)]
    return []
