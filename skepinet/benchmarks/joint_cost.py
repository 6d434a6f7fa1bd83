"""Cost of joint predictions, relative to a plain MLP's ``predict_proba``.

For each epistemic neural network (epinet, MC dropout, ensemble) this times
``predict_proba_joint(X, n_index)`` for several ``n_index`` on the same rows,
and divides by the time of ``BaselineClassifier.predict_proba`` on those rows
with the same prediction batch size. The baseline's own
``predict_proba_joint`` is timed too, for reference: it shows what the
``(n_index, n_samples, n_classes)`` output alone costs.

All estimators share the default MLP backbone (hidden sizes ``(50, 50)``)
and their default heads, and are fitted briefly with ``random_state=0``;
fitting is not timed. Data are synthetic: Gaussian inputs with labels from
a random two-layer network.

Measurements are interleaved: each repeat times every (estimator, n_index)
configuration in turn, each right after a baseline ``predict_proba``, so
that load on the machine hits all of them alike. Every configuration gets
one untimed warm-up call first. The reported time is the **minimum** over
repeats (noise only ever adds time); every sample is kept in the JSON.

Run it as ``skepinet-bench cost --measure joint`` (``--quick`` for a smoke
test); it prints a table and writes ``cost_mlp.json`` under ``--out``.
"""

import os
from dataclasses import dataclass

import numpy as np

from ..estimators import ESTIMATORS
from .common import interleaved_times, option, parse_int_list, timing_result

__all__ = ["JointCostDefaults", "joint_cost", "format_joint_cost", "make_data"]

N_CLASSES = 2


def make_data(n_rows, n_features, seed=0):
    """Gaussian inputs, labels from a random MLP (so the task is learnable, not linear)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features)).astype(np.float32)
    w1 = rng.standard_normal((n_features, 32))
    w2 = rng.standard_normal((32, N_CLASSES))
    y = np.argmax(np.tanh(X @ w1) @ w2, axis=1)
    return X, y


@dataclass(frozen=True)
class JointCostDefaults:
    """Settings of ``skepinet-bench cost --measure joint``; :meth:`quick` gives the smoke test's."""

    n_rows: int = option(100_000, "rows to predict", int)
    n_features: int = option(10, "input dimension", int)
    n_index: tuple = option((1, 10, 100), "comma-separated n_index values", parse_int_list)
    repeats: int = option(3, "timed repeats", int)
    batch_size: int = option(1024, "prediction batch size", int)
    fit_rows: int = option(2000, "rows used to fit (fitting is not timed)", int)
    max_epochs: int = option(2, "fitting epochs", int)
    device: str = option("auto", "'auto', 'cpu' or 'cuda'")
    # Recorded in the results: the sizes were a smoke test's. Not an option (--quick sets it).
    is_quick: bool = False

    @classmethod
    def quick(cls):
        """The smoke test's settings."""
        return cls(n_rows=2000, repeats=2, max_epochs=1, is_quick=True)


def joint_cost(settings=None):
    """Time ``predict_proba_joint`` of every estimator against the baseline's ``predict_proba``.

    Parameters
    ----------
    settings : JointCostDefaults or None
        The sizes; ``JointCostDefaults()`` when ``None``.

    Returns
    -------
    result : dict
        ``settings`` and ``rows`` (one per estimator and ``n_index``).
    """
    settings = settings or JointCostDefaults()
    n_rows, n_features, n_index = settings.n_rows, settings.n_features, settings.n_index
    repeats, batch_size, device = settings.repeats, settings.batch_size, settings.device
    fit_rows, max_epochs = settings.fit_rows, settings.max_epochs
    if n_rows < 1 or repeats < 1 or not n_index or min(n_index) < 1:
        raise ValueError("--n-rows, --repeats and --n-index must be positive and non-empty")
    load_before = os.getloadavg()
    X, y = make_data(n_rows, n_features)
    n_fit = min(fit_rows, n_rows)
    models = {
        name: cls(
            random_state=0,
            max_epochs=max_epochs,
            iterator_valid__batch_size=batch_size,
            device=device,
        ).fit(X[:n_fit], y[:n_fit])
        for name, cls in ESTIMATORS.items()
    }

    base = models["baseline"]
    configs = [("baseline", "predict_proba", None, lambda: base.predict_proba(X))]
    for name, model in models.items():
        for k in n_index:
            call = (lambda m, k: lambda: m.predict_proba_joint(X, n_index=k))(model, k)
            configs.append((name, "predict_proba_joint", k, call))

    for *_, call in configs:
        call()
    times = interleaved_times([call for *_, call in configs], repeats)

    base_seconds = min(times[0])
    rows = []
    for (name, method, k, _), t in zip(configs, times):
        seconds = min(t)
        rows.append({
            "estimator": name,
            "method": method,
            "n_index": k,
            "seconds": seconds,
            "rows_per_s": n_rows / seconds,
            "ratio_to_baseline": seconds / base_seconds,
            "all_seconds": t,
        })

    settings = {
        "n_rows": n_rows,
        "n_features": n_features,
        "n_classes": N_CLASSES,
        "batch_size": batch_size,
        "repeats": repeats,
        "statistic": (
            "min over repeats; baseline predict_proba is timed before every "
            "configuration, min over all those samples"
        ),
        "fit_rows": n_fit,
        "max_epochs": max_epochs,
        "hidden_sizes": list(base.hidden_sizes),
        "quick": settings.is_quick,
    }
    return timing_result(settings, rows, base.device, load_before)


def format_joint_cost(result):
    """The joint-prediction cost table as text."""
    s = result["settings"]
    lines = [
        f"{s['n_rows']} rows x {s['n_features']} features, batch_size={s['batch_size']}, "
        f"device={s['device']}, torch {s['torch_version']} ({s['torch_threads']} threads), "
        f"min over {s['repeats']} repeats",
        f"1-min load average before/after: {s['loadavg_1_5_15_min_before'][0]:.2f} / "
        f"{s['loadavg_1_5_15_min_after'][0]:.2f} on {s['cpu_count']} CPUs",
        f"{'estimator':<10} {'method':<20} {'n_index':>7} {'seconds':>10} "
        f"{'rows/s':>12} {'ratio':>9}",
    ]
    for r in result["rows"]:
        k = "-" if r["n_index"] is None else r["n_index"]
        lines.append(
            f"{r['estimator']:<10} {r['method']:<20} {k:>7} {r['seconds']:>10.4f} "
            f"{r['rows_per_s']:>12,.0f} {r['ratio_to_baseline']:>9.2f}"
        )
    return "\n".join(lines)
