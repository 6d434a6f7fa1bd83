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

Run it as ``skepinet-bench sst2-accuracy`` (``--fine-tune`` adds the
fine-tuned epinet, ``--quick`` is a smoke test; no network needed with
``HF_HUB_OFFLINE=1``); it prints a table and writes
``sst2_accuracy_minilm.json`` under ``--out``.
"""

import os
import time
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import accuracy_score, log_loss

from .. import text as sktext
from ..datasets import load_glue
from ..estimators import ESTIMATORS, BaselineClassifier, EpinetClassifier
from .common import (
    minilm_estimator,
    option,
    parse_int_list,
    parse_name_list,
    resolve_glue_dir,
    timing_result,
)

__all__ = ["Sst2AccuracyDefaults", "sst2_accuracy", "format_sst2_accuracy"]


@dataclass(frozen=True)
class Sst2AccuracyDefaults:
    """Settings of ``skepinet-bench sst2-accuracy``; :meth:`quick` gives the smoke test's."""

    n_train: int = option(2000, "training sentences, a seeded sample", int)
    n_dev: int = option(None, "dev rows scored, the first ones (none: all 872)", int)
    seed: int = option(0, "seed of the training sample", int)
    data_dir: str = option(None, "GLUE folder (else $GLUE_DIR)")
    pretrained: str = option(None, "encoder (none: the offline MiniLM)")
    max_length: int = option(64, "tokens per sentence", int)
    batch_size: int = option(32, "training batch size", int)
    predict_batch_size: int = option(64, "prediction batch size", int)
    epochs: tuple = option((20, 50, 100), "comma-separated head epochs for the frozen encoder",
                           parse_int_list)
    pooling: tuple = option(("cls", "mean"), "comma-separated encoder poolings for the frozen "
                            "encoder", parse_name_list)
    lr: float = option(1e-3, "head learning rate", float)
    fine_tune: bool = option(False, "also fine-tune one EpinetClassifier")
    fine_tune_epochs: int = option(2, "epochs of the fine-tuned model", int)
    encoder_lr: float = option(2e-5, "fine-tuning encoder lr", float)
    fine_tune_pooling: str = option("cls", "pooling of the fine-tuned model")
    device: str = option("auto", "'auto', 'cpu' or 'cuda'")
    threads: int = option(None, "torch CPU threads for this run (none: torch's default)", int)
    # Recorded in the results: the sizes were a smoke test's. Not an option (--quick sets it).
    is_quick: bool = False

    @classmethod
    def quick(cls):
        """The smoke test's settings."""
        return cls(n_train=32, n_dev=32, epochs=(2,), fine_tune_epochs=1, is_quick=True)


def _check(args):
    if (args.n_train < 2 or not args.pooling or not args.epochs or min(args.epochs) < 1
            or args.fine_tune_epochs < 1):
        raise ValueError("--n-train (>= 2), --epochs and --fine-tune-epochs must be positive")


def _make(cls, args, **params):
    return minilm_estimator(cls, args, predict_batch_size=args.predict_batch_size, **params)


def _score(model, X_train, y_train, X_dev, y_dev):
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


def sst2_accuracy(args):
    """SST-2 dev accuracy, log loss and training accuracy of every estimator on MiniLM.

    Parameters
    ----------
    args : Sst2AccuracyDefaults
        The settings.

    Returns
    -------
    result : dict
        ``settings`` and ``rows`` (one per estimator, mode, pooling and epochs).
    """
    _check(args)
    load_before = os.getloadavg()
    data_dir = resolve_glue_dir(args.data_dir)
    X_all, y_all = load_glue("sst2", data_dir, split="train")
    rows_idx = np.random.default_rng(args.seed).choice(len(X_all), size=args.n_train, replace=False)
    X_train, y_train = list(X_all[rows_idx]), y_all[rows_idx]
    X_dev, y_dev = load_glue("sst2", data_dir, split="validation")
    if args.n_dev is not None:
        X_dev, y_dev = X_dev[: args.n_dev], y_dev[: args.n_dev]
    X_dev = list(X_dev)

    rows, extract_seconds = [], {}
    for pooling in args.pooling:
        sktext.clear_feature_cache()
        start = time.perf_counter()
        # Fill the feature cache for train and dev (timed on its own): the
        # head fits below then cost only the heads.
        extractor = _make(BaselineClassifier, args, freeze_encoder=True, max_epochs=1, pooling=pooling)
        extractor.fit(X_train, y_train).predict_proba(X_dev)
        extract_seconds[pooling] = time.perf_counter() - start
        for epochs in args.epochs:
            for name, cls in ESTIMATORS.items():
                model = _make(cls, args, freeze_encoder=True, max_epochs=epochs, pooling=pooling)
                start = time.perf_counter()
                model.fit(X_train, y_train)
                fit_seconds = time.perf_counter() - start
                rows.append({"estimator": name, "mode": "frozen", "pooling": pooling,
                             "epochs": epochs, "lr": args.lr, "encoder_lr": None,
                             "fit_seconds": fit_seconds,
                             **_score(model, X_train, y_train, X_dev, y_dev)})
                print(f"  frozen {pooling:<4} {name:<9} epochs={epochs:<4} "
                      f"dev_acc={rows[-1]['dev_accuracy']:.4f} ({fit_seconds:.0f} s)", flush=True)
    sktext.clear_feature_cache()

    if args.fine_tune:
        model = _make(EpinetClassifier, args, freeze_encoder=False, max_epochs=args.fine_tune_epochs,
                     encoder_lr=args.encoder_lr, pooling=args.fine_tune_pooling)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - start
        rows.append({"estimator": "epinet", "mode": "fine-tuned", "pooling": args.fine_tune_pooling,
                     "epochs": args.fine_tune_epochs,
                     "lr": args.lr, "encoder_lr": args.encoder_lr, "fit_seconds": fit_seconds,
                     **_score(model, X_train, y_train, X_dev, y_dev)})
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
        "frozen_poolings": list(args.pooling),
        "fine_tune_pooling": args.fine_tune_pooling if args.fine_tune else None,
        "max_length": args.max_length,
        "train_batch_size": args.batch_size,
        "predict_batch_size": args.predict_batch_size,
        "head_epochs": list(args.epochs),
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
        "quick": args.is_quick,
    }
    return timing_result(settings, rows, extractor.device, load_before)


def format_sst2_accuracy(result):
    """The accuracy table as text."""
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
