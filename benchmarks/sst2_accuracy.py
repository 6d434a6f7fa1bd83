"""SST-2 dev accuracy of each estimator on MiniLM, trained on 2,000 sentences.

Fits on ``--n-train`` (default 2,000) sentences drawn without replacement
from the SST-2 training set with ``numpy.random.default_rng(--seed)``
(seed 0), and scores the whole dev set (872 rows): accuracy, log loss (NLL
of ``predict_proba``, i.e. the mean over ``n_index_predict=100`` index
samples for the ENNs) and training accuracy (to tell an undertrained head
from an overfitted one).

* **Frozen encoder**, each of the four estimators (baseline, epinet, MC
  dropout, ensemble), for each pooling in ``--pooling`` (default both
  ``cls``, skepinet's default and the paper's, and ``mean``, the pooling
  all-MiniLM-L6-v2 was trained with) and each head epoch count in
  ``--epochs`` (default 20, 50, 100), ``lr=1e-3``. Features are extracted
  once per pooling (cached for the process; timed apart), then only the
  heads train.
* **Fine-tuned** (opt-in, ``--fine-tune``): one ``EpinetClassifier`` with the
  encoder trained too, ``--fine-tune-epochs`` epochs (default 2),
  ``encoder_lr=2e-5``, ``lr=1e-3``, pooling ``--fine-tune-pooling``
  (default ``cls``).

Everything uses ``max_length=64``, training batch size 32 and prediction
batch size 64, ``random_state=0`` and default heads (hidden sizes
``(50, 50)``, ``weight_decay=1e-4``); no early stopping, no validation split.

Run from the repository root (no network needed; ``HF_HUB_OFFLINE=1``)::

    python benchmarks/sst2_accuracy.py                      # frozen encoder only (~4 min, 2 cores)
    python benchmarks/sst2_accuracy.py --fine-tune          # + fine-tuned epinet (+~2-4 min)
    python benchmarks/sst2_accuracy.py --quick --out /tmp/sst2.json   # smoke test

It prints a table and writes it, with the settings, as JSON (by default to
``benchmarks/results/sst2_accuracy_minilm.json``).
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, log_loss

from skepinet import BaselineClassifier, EpinetClassifier
from skepinet._bench import environment, report, torch_threads
from skepinet.estimators import ESTIMATORS
from skepinet import text as sktext
from skepinet.datasets import load_glue

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "sst2_accuracy_minilm.json"
DEFAULT_GLUE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "glue"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="SST-2 dev accuracy of each estimator on MiniLM.")
    parser.add_argument("--n-train", type=int, default=None,
                        help="training sentences, a seeded sample (default 2000; --quick 32)")
    parser.add_argument("--n-dev", type=int, default=None,
                        help="dev rows scored, the first ones (default all 872; --quick 32)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the training sample")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_GLUE, help="GLUE folder")
    parser.add_argument("--pretrained", default=None, help="encoder (default: the offline MiniLM)")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32, help="training batch size")
    parser.add_argument("--predict-batch-size", type=int, default=64)
    parser.add_argument("--epochs", default=None,
                        help="comma-separated head epochs for the frozen encoder (default 20,50,100; --quick 2)")
    parser.add_argument("--pooling", default="cls,mean",
                        help="comma-separated encoder poolings for the frozen encoder (default cls,mean)")
    parser.add_argument("--lr", type=float, default=1e-3, help="head learning rate")
    parser.add_argument("--fine-tune", action="store_true", help="also fine-tune one EpinetClassifier")
    parser.add_argument("--fine-tune-epochs", type=int, default=None, help="default 2; --quick 1")
    parser.add_argument("--encoder-lr", type=float, default=2e-5, help="fine-tuning encoder lr")
    parser.add_argument("--fine-tune-pooling", default="cls", help="pooling of the fine-tuned model")
    parser.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda'")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads for this run (default: torch's default)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    args = parser.parse_args(argv)
    quick = {"n_train": 32, "n_dev": 32, "epochs": "2", "fine_tune_epochs": 1}
    full = {"n_train": 2000, "n_dev": None, "epochs": "20,50,100", "fine_tune_epochs": 2}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.epochs = [int(e) for e in str(args.epochs).split(",") if e.strip()]
    args.pooling = [p.strip() for p in str(args.pooling).split(",") if p.strip()]
    if args.n_train < 2 or not args.pooling or not args.epochs or min(args.epochs) < 1 or args.fine_tune_epochs < 1:
        parser.error("--n-train (>= 2), --epochs and --fine-tune-epochs must be positive")
    return args


def make(cls, args, **params):
    return cls(
        backbone="bert",
        pretrained=args.pretrained,
        max_length=args.max_length,
        batch_size=args.batch_size,
        iterator_valid__batch_size=args.predict_batch_size,
        lr=args.lr,
        random_state=0,
        device=args.device,
        **params,
    )


def score(model, X_train, y_train, X_dev, y_dev):
    start = time.perf_counter()
    proba = model.predict_proba(X_dev)
    predict_seconds = time.perf_counter() - start
    classes = np.asarray(model.classes_)
    p64 = proba.astype(np.float64)
    p64 /= p64.sum(axis=1, keepdims=True)  # float32 rows sum to 1 only within ~1e-7
    return {
        "dev_accuracy": float(accuracy_score(y_dev, classes[proba.argmax(axis=1)])),
        "dev_log_loss": float(log_loss(y_dev, p64, labels=classes)),
        "train_accuracy": float(accuracy_score(y_train, model.predict(X_train))),
        "final_train_loss": float(model.history_[-1, "train_loss"]),
        "dev_predict_seconds": predict_seconds,
    }


def run(args):
    load_before = os.getloadavg()
    X_all, y_all = load_glue("sst2", args.data_dir, split="train")
    rows_idx = np.random.default_rng(args.seed).choice(len(X_all), size=args.n_train, replace=False)
    X_train, y_train = list(X_all[rows_idx]), y_all[rows_idx]
    X_dev, y_dev = load_glue("sst2", args.data_dir, split="validation")
    if args.n_dev is not None:
        X_dev, y_dev = X_dev[: args.n_dev], y_dev[: args.n_dev]
    X_dev = list(X_dev)

    rows, extract_seconds = [], {}
    for pooling in args.pooling:
        sktext.clear_feature_cache()
        start = time.perf_counter()
        # Fill the feature cache for train and dev (timed on its own): the
        # head fits below then cost only the heads.
        extractor = make(BaselineClassifier, args, freeze_encoder=True, max_epochs=1, pooling=pooling)
        extractor.fit(X_train, y_train).predict_proba(X_dev)
        extract_seconds[pooling] = time.perf_counter() - start
        for epochs in args.epochs:
            for name, cls in ESTIMATORS.items():
                model = make(cls, args, freeze_encoder=True, max_epochs=epochs, pooling=pooling)
                start = time.perf_counter()
                model.fit(X_train, y_train)
                fit_seconds = time.perf_counter() - start
                rows.append({"estimator": name, "mode": "frozen", "pooling": pooling,
                             "epochs": epochs, "lr": args.lr, "encoder_lr": None,
                             "fit_seconds": fit_seconds,
                             **score(model, X_train, y_train, X_dev, y_dev)})
                print(f"  frozen {pooling:<4} {name:<9} epochs={epochs:<4} "
                      f"dev_acc={rows[-1]['dev_accuracy']:.4f} ({fit_seconds:.0f} s)", flush=True)
    sktext.clear_feature_cache()

    if args.fine_tune:
        model = make(EpinetClassifier, args, freeze_encoder=False, max_epochs=args.fine_tune_epochs,
                     encoder_lr=args.encoder_lr, pooling=args.fine_tune_pooling)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - start
        rows.append({"estimator": "epinet", "mode": "fine-tuned", "pooling": args.fine_tune_pooling,
                     "epochs": args.fine_tune_epochs,
                     "lr": args.lr, "encoder_lr": args.encoder_lr, "fit_seconds": fit_seconds,
                     **score(model, X_train, y_train, X_dev, y_dev)})
        print(f"  fine-tuned epinet epochs={args.fine_tune_epochs} "
              f"dev_acc={rows[-1]['dev_accuracy']:.4f} ({fit_seconds:.0f} s)", flush=True)
    for row in rows:
        row["seconds"] = row["fit_seconds"]
        row["train_sentences_per_s"] = args.n_train * row["epochs"] / row["fit_seconds"]

    settings = {
        "task": "SST-2",
        "n_train": args.n_train,
        "train_selection": f"numpy.random.default_rng({args.seed}).choice({len(X_all)}, "
                           f"size={args.n_train}, replace=False) rows of train.tsv",
        "n_dev": len(X_dev),
        "dev_positive_fraction": float(np.mean(y_dev)),
        "pretrained": sktext.resolve_pretrained(args.pretrained),
        "frozen_poolings": args.pooling,
        "fine_tune_pooling": args.fine_tune_pooling if args.fine_tune else None,
        "max_length": args.max_length,
        "train_batch_size": args.batch_size,
        "predict_batch_size": args.predict_batch_size,
        "head_epochs": args.epochs,
        "lr": args.lr,
        "fine_tune": args.fine_tune,
        "fine_tune_epochs": args.fine_tune_epochs if args.fine_tune else None,
        "fine_tune_encoder_lr": args.encoder_lr if args.fine_tune else None,
        "weight_decay": extractor.weight_decay,
        "hidden_sizes": list(extractor.hidden_sizes),
        "random_state": 0,
        "feature_extraction_seconds": extract_seconds,
        "feature_extraction_note": "frozen MiniLM features of train + dev, with a 1-epoch baseline "
                                   "head fit; the frozen fit_seconds exclude it",
        "quick": args.quick,
    }
    settings.update(environment(extractor.device, load_before))
    return {"settings": settings, "rows": rows}


def format_table(result):
    s = result["settings"]
    lines = [
        f"SST-2: train on {s['n_train']} sentences (seeded sample), dev {s['n_dev']} rows "
        f"({s['dev_positive_fraction']:.3f} positive); MiniLM, max_length={s['max_length']}, "
        f"train batch {s['train_batch_size']}, predict batch {s['predict_batch_size']}, "
        f"device={s['device']}, torch {s['torch_version']} ({s['torch_threads']} threads)",
        "frozen-encoder features of train+dev extracted once per pooling in "
        + ", ".join(f"{k}: {v:.1f} s" for k, v in s["feature_extraction_seconds"].items())
        + " (not in the frozen fit times)",
        f"{'estimator':<10} {'mode':<11} {'pooling':<7} {'epochs':>6} {'lr':>7} {'enc_lr':>7} {'dev_acc':>8} "
        f"{'dev_nll':>8} {'train_acc':>9} {'fit_s':>8}",
    ]
    for r in result["rows"]:
        enc = "-" if r["encoder_lr"] is None else f"{r['encoder_lr']:.0e}"
        lines.append(
            f"{r['estimator']:<10} {r['mode']:<11} {r['pooling']:<7} {r['epochs']:>6} {r['lr']:>7.0e} {enc:>7} "
            f"{r['dev_accuracy']:>8.4f} {r['dev_log_loss']:>8.4f} {r['train_accuracy']:>9.4f} "
            f"{r['fit_seconds']:>8.1f}"
        )
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    try:
        import transformers
        transformers.logging.disable_progress_bar()
    except (ImportError, AttributeError):
        pass
    with torch_threads(args.threads):
        result = run(args)
    report(result, format_table(result), args.out)
    return result


if __name__ == "__main__":
    main()
