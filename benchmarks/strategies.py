"""Wall time of scoring a large unlabelled pool with each query strategy.

Fits an :class:`~skepinet.EpinetClassifier` (MLP backbone) briefly, then
times every strategy choosing ``n_instances`` rows of a ``--pool``-row pool
with ``n_index`` index samples, interleaved over repeats (minimum reported).
For reference it also times one ``predict_proba`` of the baseline MLP and
of the epinet over the same pool.

Run from the repository root::

    python benchmarks/strategies.py            # 100k-row pool, n_index=100
    python benchmarks/strategies.py --quick    # smoke test

It prints a table and writes JSON (default
``benchmarks/results/strategies_mlp.json``).
"""

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from skepinet import BaselineClassifier, EpinetClassifier, strategies
from skepinet._bench import report
from skepinet.datasets import make_testbed_classification

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "strategies_mlp.json"
STRATEGIES = ["uniform", "entropy", "margin", "least_confidence", "bald", "variance",
              "batchbald", "coreset", "uncertain_diverse"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", type=int, default=100_000, help="pool rows (default 100000)")
    parser.add_argument("--n-index", type=int, default=100, help="index samples (default 100)")
    parser.add_argument("--n-instances", type=int, default=10, help="rows chosen (default 10)")
    parser.add_argument("--batch-size", type=int, default=1024, help="prediction batch size")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (default 3)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="JSON output path")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.pool, args.repeats = 2000, 1
    return args


def strategy_call(name, clf, X_pool, args):
    strategy = getattr(strategies, name)
    kwargs = dict(n_instances=args.n_instances, random_state=0)
    if name != "uniform":
        kwargs["n_index"] = args.n_index
    if name == "batchbald":
        kwargs["n_candidates"] = 1000  # BatchBALD on the top 1000 by BALD
    return lambda: strategy(clf, X_pool, **kwargs)


def run(args):
    X, y = make_testbed_classification(args.pool + 2000, random_state=0)
    X_pool = X[2000:]
    params = dict(random_state=0, max_epochs=5, iterator_valid__batch_size=args.batch_size)
    epinet = EpinetClassifier(**params).fit(X[:2000], y[:2000])
    baseline = BaselineClassifier(**params).fit(X[:2000], y[:2000])
    calls = {"baseline predict_proba": lambda: baseline.predict_proba(X_pool),
             "epinet predict_proba": lambda: epinet.predict_proba(X_pool)}
    calls.update({name: strategy_call(name, epinet, X_pool, args) for name in STRATEGIES})
    for call in calls.values():  # warm-up
        call()
    seconds = {name: [] for name in calls}
    for _ in range(args.repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            seconds[name].append(time.perf_counter() - start)
    return {
        "settings": {
            "pool": args.pool, "n_index": args.n_index, "n_instances": args.n_instances,
            "batch_size": args.batch_size, "repeats": args.repeats, "statistic": "min",
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(), "platform": platform.platform(),
        },
        "rows": [{"call": name, "seconds": min(s), "all_seconds": s} for name, s in seconds.items()],
    }


def main(argv=None):
    args = parse_args(argv)
    result = run(args)
    s = result["settings"]
    print(f"Scoring a {s['pool']}-row pool, n_index={s['n_index']}, n_instances={s['n_instances']}, "
          f"batch {s['batch_size']}, min of {s['repeats']} (torch {s['torch']}, "
          f"{s['torch_threads']} threads)")
    table = [f"{'call':<26}{'seconds':>10}"]
    table += [f"{row['call']:<26}{row['seconds']:>10.3f}" for row in result["rows"]]
    report(result, "\n".join(table), Path(args.out))
    return result


if __name__ == "__main__":
    main()
