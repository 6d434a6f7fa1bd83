"""Training overhead: ``fit`` against a plain PyTorch loop over the same module.

For ``BaselineClassifier`` and ``EpinetClassifier`` on testbed rows, this
times ``fit`` three ways, side by side: a plain loop (the estimator's own
module and optimizer settings, batches sliced from tensors, one
``zero_grad``/``backward``/``step`` per batch, the epinet's index samples
and loss averaged over them), ``fit`` as shipped, and ``fit`` through
skorch's ``DataLoader`` over its ``Dataset`` (the path before the in-memory
fast path). Calls are interleaved and the minimum over repeats is kept;
the ratios to the plain loop are the figures.
"""

import contextlib
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .. import batches, estimators
from ..datasets import make_testbed_classification
from .common import environment, interleaved_times, option, torch_threads

__all__ = ["FitDefaults", "fit_overhead", "format_fit_overhead"]

CLASSES = {"baseline": estimators.BaselineClassifier, "epinet": estimators.EpinetClassifier}


def _plain_loop(estimator, X, y, epochs, batch_size):
    """The same training as ``estimator.fit`` in the fewest lines of PyTorch."""
    template = estimator.fit(X[:batch_size], y[:batch_size])  # the module and its settings
    module = template.module_
    optimizer = torch.optim.Adam(module.parameters(), lr=template.lr,
                                 weight_decay=template.weight_decay)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    n_index = getattr(template, "n_index_train", None)

    def train():
        module.train()
        for _ in range(epochs):
            for start in range(0, len(X_t), batch_size):
                xb, yb = X_t[start:start + batch_size], y_t[start:start + batch_size]
                optimizer.zero_grad()
                if n_index is None:
                    loss = F.cross_entropy(module(xb), yb)
                else:
                    logits = module(xb, index=module.sample_index(n_index))
                    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           yb.repeat(n_index))
                loss.backward()
                optimizer.step()

    return train


@contextlib.contextmanager
def _data_loader_path():
    """Training through skorch's DataLoader and Dataset (the fast path off)."""
    original = batches.TensorBatches.maybe
    batches.TensorBatches.maybe = classmethod(lambda cls, *args: None)
    try:
        yield
    finally:
        batches.TensorBatches.maybe = original


@dataclass(frozen=True)
class FitDefaults:
    """Settings of ``skepinet-bench fit`` and :func:`fit_overhead`.

    :meth:`quick` gives the smoke test's.
    """

    n_rows: int = option(2000, "training rows", int)
    epochs: int = option(30, "epochs", int)
    batch_size: int = option(64, "batch size", int)
    repeats: int = option(3, "timed repeats", int)

    @classmethod
    def quick(cls):
        """The smoke test's settings."""
        return cls(n_rows=200, epochs=2, repeats=1)


def fit_overhead(*, n_rows=FitDefaults.n_rows, epochs=FitDefaults.epochs,
                 batch_size=FitDefaults.batch_size, repeats=FitDefaults.repeats, n_threads=1,
                 models=("baseline", "epinet")):
    """Time ``fit`` against a plain loop (see the module docstring).

    The defaults are :class:`FitDefaults`' (the command line's).

    Parameters
    ----------
    n_rows : int
        Testbed training rows (D = 10).
    epochs : int
    batch_size : int
    repeats : int
        Interleaved timings per call; the minimum is reported.
    n_threads : int or None (default=1)
        torch threads while timing.
    models : sequence of {'baseline', 'epinet'}

    Returns
    -------
    result : dict
        ``{"rows": [...], "settings": {...}, "environment": {...}}``.
    """
    load_before = os.getloadavg()
    X, y = make_testbed_classification(n_rows, n_features=10, random_state=0)
    X, y = X.astype(np.float32), y.astype(np.int64)
    rows = []
    with torch_threads(n_threads):
        for name in models:
            def make():
                return CLASSES[name](max_epochs=epochs, batch_size=batch_size, random_state=0)

            plain = _plain_loop(make(), X, y, epochs, batch_size)

            def skepinet_fit():
                make().fit(X, y)

            def data_loader_fit():
                with _data_loader_path():
                    make().fit(X, y)

            calls = [plain, skepinet_fit, data_loader_fit]
            for call in calls:  # warm-up: first-call costs are not the loop's
                call()
            times = interleaved_times(calls, repeats)
            best = [min(t) for t in times]
            rows.append({"model": name, "plain_s": best[0], "fit_s": best[1],
                         "data_loader_fit_s": best[2], "ratio": best[1] / best[0],
                         "data_loader_ratio": best[2] / best[0]})
    settings = dict(n_rows=n_rows, epochs=epochs, batch_size=batch_size, repeats=repeats,
                    n_threads=n_threads)
    return {"rows": rows, "settings": settings, "environment": environment("cpu", load_before)}


def format_fit_overhead(result):
    """The ratios as a text table."""
    s = result["settings"]
    lines = [f"fit on {s['n_rows']} rows, {s['epochs']} epochs, batch {s['batch_size']}, "
             f"{s['n_threads']} thread(s), min of {s['repeats']}; ratio to a plain PyTorch loop",
             f"{'model':<10} {'plain loop':>11} {'fit':>8} {'ratio':>6}   "
             f"{'via DataLoader':>14} {'ratio':>6}"]
    for r in result["rows"]:
        lines.append(f"{r['model']:<10} {r['plain_s']:>10.2f}s {r['fit_s']:>7.2f}s "
                     f"{r['ratio']:>5.2f}x   {r['data_loader_fit_s']:>13.2f}s "
                     f"{r['data_loader_ratio']:>5.2f}x")
    return "\n".join(lines)
