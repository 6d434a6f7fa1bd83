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

Run from the repository root::

    python benchmarks/cost.py                  # 100k rows, n_index 1,10,100
    python benchmarks/cost.py --quick --out /tmp/cost.json   # smoke test

It prints a table and writes it, with the settings, as JSON (by default to
``benchmarks/results/cost_mlp.json``).
"""

import argparse
import os
from pathlib import Path

import numpy as np

from skepinet._bench import environment, interleaved_times, report
from skepinet.estimators import ESTIMATORS

N_CLASSES = 2
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "cost_mlp.json"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Time predict_proba_joint of each ENN against the baseline's predict_proba."
    )
    parser.add_argument("--n-rows", type=int, default=None, help="rows to predict (default 100000)")
    parser.add_argument("--n-features", type=int, default=10)
    parser.add_argument("--n-index", default="1,10,100", help="comma-separated n_index values")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (default 3)")
    parser.add_argument("--batch-size", type=int, default=1024, help="prediction batch size (default 1024)")
    parser.add_argument("--fit-rows", type=int, default=2000, help="rows used to fit")
    parser.add_argument("--max-epochs", type=int, default=None, help="fitting epochs (default 2)")
    parser.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda'")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args(argv)
    # --quick only changes what the user left unset.
    quick = {"n_rows": 2000, "repeats": 2, "max_epochs": 1}
    full = {"n_rows": 100_000, "repeats": 3, "max_epochs": 2}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.n_index = [int(k) for k in str(args.n_index).split(",") if k.strip()]
    if args.n_rows < 1 or args.repeats < 1 or not args.n_index or min(args.n_index) < 1:
        parser.error("--n-rows, --repeats and --n-index must be positive and non-empty")
    return args


def make_data(n_rows, n_features, seed=0):
    """Gaussian inputs, labels from a random MLP (so the task is learnable, not linear)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features)).astype(np.float32)
    w1 = rng.standard_normal((n_features, 32))
    w2 = rng.standard_normal((32, N_CLASSES))
    y = np.argmax(np.tanh(X @ w1) @ w2, axis=1)
    return X, y


def run(args):
    # Other work on a shared machine can slow any call many times over (see
    # all_seconds), so the load is recorded to judge a run by.
    load_before = os.getloadavg()
    X, y = make_data(args.n_rows, args.n_features)
    n_fit = min(args.fit_rows, args.n_rows)
    models = {
        name: cls(
            random_state=0,
            max_epochs=args.max_epochs,
            iterator_valid__batch_size=args.batch_size,
            device=args.device,
        ).fit(X[:n_fit], y[:n_fit])
        for name, cls in ESTIMATORS.items()
    }

    base = models["baseline"]
    configs = [("baseline", "predict_proba", None, lambda: base.predict_proba(X))]
    for name, model in models.items():
        for k in args.n_index:
            call = (lambda m, k: lambda: m.predict_proba_joint(X, n_index=k))(model, k)
            configs.append((name, "predict_proba_joint", k, call))

    for *_, call in configs:
        call()
    times = interleaved_times([call for *_, call in configs], args.repeats)

    base_seconds = min(times[0])
    rows = []
    for (name, method, k, _), t in zip(configs, times):
        seconds = min(t)
        rows.append({
            "estimator": name,
            "method": method,
            "n_index": k,
            "seconds": seconds,
            "rows_per_s": args.n_rows / seconds,
            "ratio_to_baseline": seconds / base_seconds,
            "all_seconds": t,
        })

    settings = {
        "n_rows": args.n_rows,
        "n_features": args.n_features,
        "n_classes": N_CLASSES,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "statistic": (
            "min over repeats; baseline predict_proba is timed before every "
            "configuration, min over all those samples"
        ),
        "fit_rows": n_fit,
        "max_epochs": args.max_epochs,
        "hidden_sizes": list(base.hidden_sizes),
        "quick": args.quick,
    }
    settings.update(environment(base.device, load_before))
    return {"settings": settings, "rows": rows}


def format_table(result):
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


def main(argv=None):
    args = parse_args(argv)
    result = run(args)
    report(result, format_table(result), args.out)
    return result


if __name__ == "__main__":
    main()
