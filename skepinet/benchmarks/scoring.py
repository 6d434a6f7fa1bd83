"""Pool scoring at scale: one process, two local workers, a two-worker Dask cluster.

An epinet trained on testbed rows scores a large testbed pool with
``variance`` (``n_index`` index samples a row), timed side by side on one
worker, on two local joblib workers (loky processes), and on a
``dask.distributed.LocalCluster`` of two single-threaded worker processes
(when dask is installed). Every configuration must choose the same rows.

The work is counted with ``torch.utils.flop_counter`` on one chunk, so each
time converts to achieved FLOP/s, compared with two limits on the same
threads (one thread per worker):

- a square 1024 x 1024 float32 matmul, the machine's peak;
- the scoring path's own matrix products alone, the same operations on
  random tensors of the same shapes (recorded on one chunk, replayed and
  timed): the limit for these shapes, since an epinet's thin products
  (a few dozen columns, index dimension 8) are bound by memory traffic, not
  arithmetic, and cannot reach the square matmul's peak.
"""

import contextlib
import os
import time
from dataclasses import dataclass

import numpy as np
import torch

# TorchDispatchMode is torch's documented way to see every operator call (FlopCounterMode
# is built on it), even though its module's name starts with an underscore.
from torch.utils._python_dispatch import TorchDispatchMode

from ..datasets import make_testbed_classification
from ..estimators import EpinetClassifier
from ..scoring import dask_worker_config
from ..strategies import variance
from ..utils import DEFAULT_N_INDEX
from .common import environment, option, timed, torch_threads

__all__ = ["ScoringDefaults", "pool_scoring", "format_pool_scoring", "MatrixProductRecorder",
           "same_shape_matmul_seconds"]


def _flops_per_row(model, X, n_index):
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model.predict_proba_joint(X, n_index=n_index)
    return counter.get_total_flops() / len(X)


def _matmul_flops_per_second(n_threads, size=1024, repeats=5):
    """The machine's limit: FLOP/s of a square float32 matmul on ``n_threads``."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    with torch_threads(n_threads):
        a @ b
        best = min(timed(lambda: a @ b) for _ in range(repeats))
    return 2 * size ** 3 / best


_MATRIX_PRODUCTS = ("linear", "einsum", "matmul", "mm", "addmm", "bmm", "baddbmm")


class MatrixProductRecorder(TorchDispatchMode):
    """Records each matrix product's operation and arguments, tensors as random ones alike."""

    def __init__(self):
        super().__init__()
        self.ops = {getattr(torch.ops.aten, name).default for name in _MATRIX_PRODUCTS}
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in self.ops:
            self.calls.append((func, _alike(args), _alike(kwargs)))
        return func(*args, **kwargs)


def _alike(obj):
    """``obj`` with each floating-point tensor replaced by a random one of its shape."""
    if isinstance(obj, torch.Tensor) and obj.is_floating_point():
        return torch.randn(obj.shape, dtype=obj.dtype)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_alike(item) for item in obj)
    if isinstance(obj, dict):
        return {key: _alike(value) for key, value in obj.items()}
    return obj


def same_shape_matmul_seconds(model, X, n_index, repeats=5):
    """Seconds, on one thread, of the matrix products that scoring ``X`` runs, and only those."""
    with MatrixProductRecorder() as recorder:
        model.predict_proba_joint(X, n_index=n_index)

    def replay():
        for func, args, kwargs in recorder.calls:
            func(*args, **kwargs)

    with torch_threads(1), torch.inference_mode():
        replay()
        return min(timed(replay) for _ in range(repeats))


@contextlib.contextmanager
def _dask_cluster(n_workers):
    import dask
    import distributed
    from joblib import parallel_config

    with dask.config.set(dask_worker_config()), \
            distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                     dashboard_address=None) as cluster, \
            distributed.Client(cluster), parallel_config(backend="dask"):
        yield


@dataclass(frozen=True)
class ScoringDefaults:
    """Settings of ``skepinet-bench scoring`` and :func:`pool_scoring`.

    :meth:`quick` gives the smoke test's.
    """

    n_pool: int = option(1_000_000, "pool rows", int)
    n_index: int = option(DEFAULT_N_INDEX, "index samples", int)
    repeats: int = option(2, "timed repeats", int)
    no_dask: bool = option(False, "skip the Dask cluster")
    # Not options (--quick sets them).
    n_train: int = 1000
    chunk_size: int = 8192

    @classmethod
    def quick(cls):
        """The smoke test's settings."""
        return cls(n_pool=20_000, repeats=1, n_train=200, chunk_size=2048)


def pool_scoring(*, n_pool=ScoringDefaults.n_pool, n_index=ScoringDefaults.n_index,
                 n_train=ScoringDefaults.n_train, n_instances=10,
                 chunk_size=ScoringDefaults.chunk_size, repeats=ScoringDefaults.repeats,
                 dask=None):
    """Time ``variance`` over a pool three ways (see the module docstring).

    The defaults are :class:`ScoringDefaults`' (the command line's).

    Parameters
    ----------
    n_pool : int
    n_index : int
    n_train : int
        Rows the epinet is fitted on.
    n_instances : int (default=10)
    chunk_size : int
    repeats : int
        Timed runs per configuration; the minimum is kept.
    dask : bool or None (default=None)
        Include the Dask cluster; ``None``: when dask.distributed is installed.

    Returns
    -------
    result : dict
    """
    load_before = os.getloadavg()
    X, y = make_testbed_classification(n_train, n_features=10, random_state=0)
    model = EpinetClassifier(random_state=0).fit(X, y)
    pool, _ = make_testbed_classification(n_pool, n_features=10, random_state=1)
    pool = pool.astype(np.float32)
    flops = _flops_per_row(model, pool[:1024], n_index) * n_pool
    chunk = pool[:chunk_size]
    products_seconds = same_shape_matmul_seconds(model, chunk, n_index) * n_pool / len(chunk)
    if dask is None:
        try:
            import distributed  # noqa: F401
            dask = True
        except ImportError:
            dask = False

    def score(**kwargs):
        return variance(model, pool, n_instances, n_index=n_index, random_state=0,
                        chunk_size=chunk_size, **kwargs)

    configs = [("1 worker", 1, contextlib.nullcontext), ("2 local workers", 2,
                                                          contextlib.nullcontext)]
    if dask:
        configs.append(("2-worker Dask LocalCluster", None, lambda: _dask_cluster(2)))
    rows, chosen = [], []
    for name, n_jobs, context in configs:
        threads = 1 if n_jobs == 1 else None  # loky and dask workers get one thread each
        with context(), torch_threads(threads):
            score(n_jobs=n_jobs)  # warm: worker start-up is not scoring
            times, picks = [], None
            for _ in range(repeats):
                start = time.perf_counter()
                picks = score(n_jobs=n_jobs)
                times.append(time.perf_counter() - start)
        chosen.append(picks[0].tolist())
        workers = n_jobs or 2
        rows.append({"config": name, "workers": workers, "seconds": min(times),
                     "flops_per_second": flops / min(times)})
    limit = _matmul_flops_per_second(1)
    for row in rows:
        row["speedup"] = rows[0]["seconds"] / row["seconds"]
        row["fraction_of_matmul"] = row["flops_per_second"] / (limit * row["workers"])
        row["fraction_of_same_shape_matmul"] = products_seconds / row["workers"] / row["seconds"]
    return {"rows": rows, "same_choice": all(c == chosen[0] for c in chosen),
            "flops": flops, "matmul_flops_per_second_1_thread": limit,
            "same_shape_matmul_seconds_1_thread": products_seconds,
            "settings": dict(n_pool=n_pool, n_index=n_index, n_train=n_train,
                             n_instances=n_instances, chunk_size=chunk_size, repeats=repeats),
            "environment": environment("cpu", load_before)}


def format_pool_scoring(result):
    """The timings as a text table."""
    s = result["settings"]
    lines = [f"variance over {s['n_pool']:,} rows, n_index {s['n_index']}, "
             f"{result['flops'] / 1e9:.1f} GFLOP; matmul limit "
             f"{result['matmul_flops_per_second_1_thread'] / 1e9:.1f} GFLOP/s per thread; "
             f"its matrix products alone (same shapes) "
             f"{result['same_shape_matmul_seconds_1_thread']:.2f} s on one thread",
             f"{'configuration':<28} {'time':>8} {'speed-up':>9} {'GFLOP/s':>8} "
             f"{'of peak':>8} {'of same-shape matmul':>21}"]
    for r in result["rows"]:
        lines.append(f"{r['config']:<28} {r['seconds']:>7.2f}s {r['speedup']:>8.2f}x "
                     f"{r['flops_per_second'] / 1e9:>8.2f} {r['fraction_of_matmul']:>8.1%} "
                     f"{r['fraction_of_same_shape_matmul']:>21.0%}")
    lines.append("same rows chosen in every configuration: "
                 + ("yes" if result["same_choice"] else "NO"))
    return "\n".join(lines)
