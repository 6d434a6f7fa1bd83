"""Wall time of scoring a large unlabelled pool with each query strategy.

Fits an :class:`~skepinet.EpinetClassifier` (MLP backbone) briefly, then
times every strategy of :data:`skepinet.strategies.STRATEGIES` choosing
``n_instances`` rows of an ``n_pool``-row pool with ``n_index`` index
samples, interleaved over repeats (minimum reported). For reference it also
times one ``predict_proba`` of the baseline MLP and of the epinet over the
same pool.

Run it as ``skepinet-bench strategies`` (``--quick`` for a smoke test); it
prints a table and writes ``strategies_mlp.json`` under ``--out``.
"""

import os
from dataclasses import dataclass

from .. import strategies
from ..datasets import make_testbed_classification
from ..estimators import BaselineClassifier, EpinetClassifier
from ..utils import DEFAULT_N_INDEX
from .common import option, timed, timing_result

__all__ = ["StrategyCostDefaults", "strategy_cost", "format_strategy_cost"]

# Rows the models are fitted on, taken ahead of the pool.
N_FIT = 2000
# BatchBALD picks among the top rows by BALD: its cost grows with the candidates, not the pool.
BATCHBALD_CANDIDATES = 1000


def _strategy_call(name, clf, X_pool, n_instances, n_index):
    kwargs = dict(n_instances=n_instances, random_state=0)
    if name != "uniform":
        kwargs["n_index"] = n_index
    if name == "batchbald":
        kwargs["n_candidates"] = BATCHBALD_CANDIDATES
    strategy = strategies.STRATEGIES[name]
    return lambda: strategy(clf, X_pool, **kwargs)


@dataclass(frozen=True)
class StrategyCostDefaults:
    """Settings of ``skepinet-bench strategies``; :meth:`quick` gives the smoke test's."""

    pool: int = option(100_000, "pool rows", int)
    n_index: int = option(DEFAULT_N_INDEX, "index samples", int)
    n_instances: int = option(10, "rows chosen", int)
    batch_size: int = option(1024, "prediction batch size", int)
    repeats: int = option(3, "timed repeats", int)

    @classmethod
    def quick(cls):
        """The smoke test's settings ."""
        return cls(pool=2000, repeats=1)


def strategy_cost(settings=None):
    """Time each strategy choosing rows of a synthetic pool.

    Parameters
    ----------
    settings : StrategyCostDefaults or None
        The sizes; ``StrategyCostDefaults()`` when ``None``.

    Returns
    -------
    result : dict
        ``settings`` (with :func:`~skepinet.benchmarks.common.environment`)
        and ``rows``, one per call: ``call``, ``seconds``, ``all_seconds``.
    """
    settings = settings or StrategyCostDefaults()
    n_pool, n_index, n_instances = settings.pool, settings.n_index, settings.n_instances
    batch_size, repeats = settings.batch_size, settings.repeats
    load_before = os.getloadavg()
    X, y = make_testbed_classification(n_pool + N_FIT, random_state=0)
    X_pool = X[N_FIT:]
    params = dict(random_state=0, max_epochs=5, iterator_valid__batch_size=batch_size)
    epinet = EpinetClassifier(**params).fit(X[:N_FIT], y[:N_FIT])
    baseline = BaselineClassifier(**params).fit(X[:N_FIT], y[:N_FIT])
    calls = {"baseline predict_proba": lambda: baseline.predict_proba(X_pool),
             "epinet predict_proba": lambda: epinet.predict_proba(X_pool)}
    calls.update({name: _strategy_call(name, epinet, X_pool, n_instances, n_index)
                  for name in strategies.STRATEGIES})
    for call in calls.values():  # warm-up: first calls pay for allocation and kernels
        call()
    seconds = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            seconds[name].append(timed(call))
    settings = {"pool": n_pool, "n_index": n_index, "n_instances": n_instances,
                "batch_size": batch_size, "repeats": repeats, "statistic": "min"}
    rows = [{"call": name, "seconds": min(s), "all_seconds": s} for name, s in seconds.items()]
    return timing_result(settings, rows, epinet.device, load_before)


def format_strategy_cost(result):
    """The strategy timings as a text table."""
    s = result["settings"]
    lines = [f"Scoring a {s['pool']}-row pool, n_index={s['n_index']}, "
             f"n_instances={s['n_instances']}, batch {s['batch_size']}, min of {s['repeats']} "
             f"(torch {s['torch_version']}, {s['torch_threads']} threads)",
             f"{'call':<26}{'seconds':>10}"]
    lines += [f"{row['call']:<26}{row['seconds']:>10.3f}" for row in result["rows"]]
    return "\n".join(lines)
