"""Data: the paper's synthetic testbed (a random MLP generative model), and GLUE.

``neural_testbed``'s classification problems: inputs ``x ~ N(0, I_D)``,
labels drawn from the softmax of a random ReLU MLP's logits divided by a
temperature. Low temperatures give nearly deterministic labels; high ones
give label noise that marginal priorities chase.

:func:`load_glue` reads the GLUE classification tasks from the standard
``download_glue_data`` folder layout (or, optionally, from the dataset hub).
"""

import csv
import os
import warnings
from collections import namedtuple
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["make_testbed_classification", "load_glue", "glue_data_dir"]


def _truncated_normal(rng, shape, std):
    """Normal samples cut at two standard deviations (by resampling)."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(bad.sum())
        bad = np.abs(out) > 2
    return out * std


def _random_mlp(rng, sizes):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        weight = _truncated_normal(rng, (n_in, n_out), 1 / np.sqrt(n_in))
        bias = rng.normal(0, 1 / np.sqrt(n_in), n_out) if i == 0 else np.zeros(n_out)
        layers.append((weight, bias))
    return layers


def _mlp_logits(layers, X):
    h = X
    for i, (weight, bias) in enumerate(layers):
        h = h @ weight + bias
        if i < len(layers) - 1:
            h = np.maximum(h, 0)
    return h


def _renamed(old_value, old_name, value, name):
    """``value``, or ``old_value`` (with a FutureWarning) where the old spelling was used."""
    if old_value is None:
        return value
    warnings.warn(f"{old_name} is deprecated; pass {name}={old_value!r} instead.", FutureWarning,
                  stacklevel=3)
    return old_value


def make_testbed_classification(n_samples=1000, *, n_features=10, n_classes=2, temperature=0.1,
                                hidden_sizes=(50, 50), noisy_fraction=0.0, random_state=None,
                                return_proba=False, input_dim=None, num_classes=None):
    """Sample a classification problem from a random MLP (the paper's testbed).

    Parameters
    ----------
    n_samples : int (default=1000)
        Number of rows. Draw train and test rows in one call (then split) so
        they share the generating network.
    n_features : int (default=10)
        Input dimension ``D`` (as in :func:`sklearn.datasets.make_classification`).
    n_classes : int (default=2)
        Number of classes ``C``.
    temperature : float (default=0.1)
        Logits are divided by it; larger means noisier labels (testbed
        values: 0.01, 0.1, 0.5).
    hidden_sizes : tuple of int (default=(50, 50))
        Widths of the generating MLP.
    noisy_fraction : float in [0, 1) (default=0.0)
        A *heteroscedastic* problem: this fraction of the inputs (a random
        half-space, ``x @ u > c``) gets coin-flip labels, blended into the
        network's over a soft edge, while the rest keep the temperature's
        noise. Marginal priorities (entropy, margin) chase the coin flips,
        where nothing can be learnt; epistemic ones should not. ``0`` is
        the paper's testbed, unchanged draw for draw.
    random_state : int, RandomState or None (default=None)
        Seeds the network, the inputs and the labels.
    return_proba : bool (default=False)
        Also return the true class probabilities.
    input_dim, num_classes : int, optional
        Deprecated spellings of ``n_features`` and ``n_classes``; they warn
        and will be removed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,), int64
    proba : ndarray of shape (n_samples, n_classes)
        Only with ``return_proba=True``.
    """
    n_features = _renamed(input_dim, "input_dim", n_features, "n_features")
    n_classes = _renamed(num_classes, "num_classes", n_classes, "n_classes")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}; e.g. 0.1.")
    if int(n_classes) < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes!r}.")
    if not 0 <= noisy_fraction < 1:
        raise ValueError(
            f"noisy_fraction must be in [0, 1), got {noisy_fraction!r}; e.g. 0.5 (half the "
            "inputs get coin-flip labels) or 0 (the paper's testbed)."
        )
    seed = check_random_state(random_state).randint(2**31)
    rng = np.random.default_rng(seed)
    layers = _random_mlp(rng, [n_features, *hidden_sizes, n_classes])
    X = rng.standard_normal((n_samples, n_features))
    logits = _mlp_logits(layers, X) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    proba = np.exp(logits)
    proba /= proba.sum(axis=1, keepdims=True)
    if noisy_fraction > 0:
        proba = _blend_coin_flips(proba, X, noisy_fraction, np.random.default_rng([seed, 1]))
    y = draw_labels(proba, rng)
    X, y = X.astype(np.float32), y.astype(np.int64)
    return (X, y, proba) if return_proba else (X, y)


def draw_labels(proba, rng):
    """One label per row, drawn from its class probabilities with ``rng`` (a Generator)."""
    return (np.cumsum(proba, axis=1) > rng.random((len(proba), 1))).argmax(axis=1)


def _blend_coin_flips(proba, X, noisy_fraction, rng, edge=0.1):
    """Uniform labels on the half-space holding ``noisy_fraction`` of N(0, I) inputs."""
    from scipy.special import expit, ndtri

    direction = rng.standard_normal(X.shape[1])
    direction /= np.linalg.norm(direction)
    # x @ u is N(0, 1) for x ~ N(0, I): the threshold puts noisy_fraction above it.
    weight = expit((X @ direction - ndtri(1 - noisy_fraction)) / edge)[:, None]
    return (1 - weight) * proba + weight / proba.shape[1]


# --------------------------------------------------------------------------------------------
# GLUE

_GlueTask = namedtuple("_GlueTask", [
    "folder",      # folder name under data_dir
    "text",        # text column names (header files) or indices (headerless files)
    "label",       # label column name or index
    "labels",      # the label values allowed in the file, as written there
    "int_labels",  # return labels as int64 (else as str)
    "n_fields",    # fields per row in a headerless file (None: as many as the header has)
    "skip_bad",    # skip rows with a wrong number of fields (with a warning) instead of raising
    "hub_text",    # text column names on the hub
])

_TRAIN_DEV = {"train": "train.tsv", "validation": "dev.tsv"}
_NLI2 = ("entailment", "not_entailment")
_NLI3 = ("entailment", "neutral", "contradiction")
_GLUE_TASKS = {
    "sst2": _GlueTask("SST-2", ("sentence",), "label", ("0", "1"), True, None, False,
                      ("sentence",)),
    "cola": _GlueTask("CoLA", (3,), 1, ("0", "1"), True, 4, False, ("sentence",)),
    "mrpc": _GlueTask("MRPC", ("#1 String", "#2 String"), "Quality", ("0", "1"), True, None,
                      False, ("sentence1", "sentence2")),
    "rte": _GlueTask("RTE", ("sentence1", "sentence2"), "label", _NLI2, False, None, False,
                     ("sentence1", "sentence2")),
    "qnli": _GlueTask("QNLI", ("question", "sentence"), "label", _NLI2, False, None, False,
                      ("question", "sentence")),
    "qqp": _GlueTask("QQP", ("question1", "question2"), "is_duplicate", ("0", "1"), True, None,
                     True, ("question1", "question2")),
    "mnli": _GlueTask("MNLI", ("sentence1", "sentence2"), "gold_label", _NLI3, False, None,
                      False, ("premise", "hypothesis")),
    "wnli": _GlueTask("WNLI", ("sentence1", "sentence2"), "label", ("0", "1"), True, None,
                      False, ("sentence1", "sentence2")),
}
_GLUE_SPLITS = {name: _TRAIN_DEV for name in _GLUE_TASKS}
_GLUE_SPLITS["mnli"] = {"train": "train.tsv", "validation_matched": "dev_matched.tsv",
                        "validation_mismatched": "dev_mismatched.tsv"}
_GLUE_SOURCES = ("auto", "files", "hub")
_HUB_DATASET = "nyu-mll/glue"


def _glue_task_name(task):
    """Canonical task key: case-insensitive, hyphens and underscores ignored."""
    key = str(task).lower().replace("-", "").replace("_", "")
    if key not in _GLUE_TASKS:
        valid = ", ".join(spec.folder for spec in _GLUE_TASKS.values())
        raise ValueError(f"task={task!r} is not a GLUE classification task; use one of {valid} "
                         f"(case-insensitive, hyphen optional).")
    return key


def _glue_layout(key):
    """The expected folder layout for one task, for error messages."""
    folder = _GLUE_TASKS[key].folder
    files = ", ".join(f"{name} ({split!r})" for split, name in _GLUE_SPLITS[key].items())
    return f"<data_dir>/{folder}/ holding {files}, as written by download_glue_data"


def _check_glue_split(key, split):
    if split not in _GLUE_SPLITS[key]:
        raise ValueError(f"split={split!r} is not a split of GLUE {_GLUE_TASKS[key].folder}; "
                         f"use one of {', '.join(map(repr, _GLUE_SPLITS[key]))}.")


def _glue_path(key, data_dir, split):
    """Path of one split's TSV; raises if ``data_dir`` is None or the file is missing."""
    splits = _GLUE_SPLITS[key]
    if data_dir is None:
        raise ValueError(f"data_dir=None: reading files needs the GLUE folder; expected layout "
                         f"{_glue_layout(key)}. Or pass source='hub'.")
    if not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"data_dir must be a folder path (str or path-like), got "
                        f"{type(data_dir).__name__} {data_dir!r}; e.g. data_dir='glue_data'.")
    path = Path(data_dir) / _GLUE_TASKS[key].folder / splits[split]
    if not path.is_file():
        missing = path if path.parent.is_dir() else path.parent
        raise FileNotFoundError(f"GLUE file not found: {missing} (data_dir={str(data_dir)!r}); "
                                f"expected layout {_glue_layout(key)}.")
    return path


def _read_tsv(path):
    """Yield ``(line_number, fields)`` for the non-empty lines of a GLUE TSV.

    GLUE files hold bare ``"`` characters, so quoting is off (``csv.QUOTE_NONE``);
    ``utf-8-sig`` drops MRPC's byte-order mark.
    """
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        try:
            for fields in reader:
                if fields:
                    yield reader.line_num, fields
        except csv.Error as error:
            raise ValueError(
                f"{path}, line {reader.line_num}: {error}; a GLUE line holds a handful of "
                "sentences, so this is not a GLUE file (or it lost its line breaks)."
            ) from None
        except UnicodeDecodeError as error:
            line = _first_undecodable_line(path)
            raise ValueError(
                f"{path}: line {line} is not valid UTF-8 ({error.reason}); GLUE files are "
                "UTF-8: re-encode the file or fix that line."
            ) from None


def _first_undecodable_line(path):
    """The number of the first line of ``path`` that is not valid UTF-8."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def _glue_columns(spec, rows, path):
    """``(text_indices, label_index, n_fields)``, reading the header row when the task has one."""
    if spec.n_fields is not None:
        return spec.text, spec.label, spec.n_fields
    line, header = next(rows, (1, []))
    needed = [*spec.text, spec.label]
    missing = [name for name in needed if name not in header]
    if missing:
        raise ValueError(f"{path}, line {line}: header lacks column(s) {missing}; found "
                         f"{header}. GLUE {spec.folder} files start with a header naming "
                         f"{needed} (tab-separated).")
    return tuple(header.index(name) for name in spec.text), header.index(spec.label), len(header)


def _parse_glue_rows(spec, rows, path):
    """Texts and raw labels of the data rows; checks field counts and label values."""
    text_idx, label_idx, n_fields = _glue_columns(spec, rows, path)
    texts, labels, skipped = [], [], []
    for line, fields in rows:
        if len(fields) != n_fields:
            if spec.skip_bad:
                skipped.append(line)
                continue
            raise ValueError(f"{path}, line {line}: {len(fields)} tab-separated field(s), "
                             f"expected {n_fields}; the file is malformed or not GLUE "
                             f"{spec.folder}.")
        if fields[label_idx] not in spec.labels:
            raise ValueError(f"{path}, line {line}: label {fields[label_idx]!r} is not one of "
                             f"{list(spec.labels)}; the file is malformed or not GLUE "
                             f"{spec.folder}.")
        texts.append([fields[i] for i in text_idx])
        labels.append(fields[label_idx])
    if skipped:
        shown = ", ".join(map(str, skipped[:5])) + (", ..." if len(skipped) > 5 else "")
        warnings.warn(f"{path}: skipped {len(skipped)} malformed row(s) with a wrong number of "
                      f"fields (line {shown}); GLUE {spec.folder} files are known to hold some.",
                      UserWarning, stacklevel=3)
    if not texts:
        raise ValueError(f"{path} holds no data rows; expected a GLUE {spec.folder} TSV.")
    return texts, labels


def _glue_arrays(spec, texts, labels):
    """``X`` as an object array, ``(n,)`` for single sentences, ``(n, 2)`` for pairs; ``y``."""
    X = np.empty((len(texts), len(spec.text)), dtype=object)
    X[:] = texts
    if len(spec.text) == 1:
        X = X[:, 0]
    if spec.int_labels:
        y = np.asarray([int(label) for label in labels], dtype=np.int64)
    else:
        y = np.empty(len(labels), dtype=object)
        y[:] = labels
    return X, y


def _load_glue_hub(key, split):
    """The same task and split from the dataset hub, labels as the files write them."""
    try:
        import datasets
    except ImportError as e:
        raise ImportError(f"source='hub' needs the optional 'datasets' package (pip install "
                          f"datasets) and access to the hub; or pass data_dir with source="
                          f"'files' to read the GLUE TSVs ({_glue_layout(key)}).") from e
    spec = _GLUE_TASKS[key]
    ds = datasets.load_dataset(_HUB_DATASET, key, split=split)
    texts = [list(row) for row in zip(*(ds[name] for name in spec.hub_text))]
    ints = list(ds["label"])
    labels = [str(i) if spec.int_labels else ds.features["label"].int2str(i) for i in ints]
    return _glue_arrays(spec, texts, labels)


def glue_data_dir(data_dir=None):
    """The GLUE folder to read: ``data_dir`` when given, else ``$GLUE_DIR``.

    There is no built-in default path: the data lives wherever the user put it.

    Parameters
    ----------
    data_dir : str, path-like or None (default=None)
        A folder in the ``download_glue_data`` layout (``<data_dir>/SST-2/train.tsv``...).

    Returns
    -------
    data_dir : str

    Raises
    ------
    FileNotFoundError
        Neither is set, or the folder does not exist; the message names both ways to
        set it.
    """
    chosen = data_dir if data_dir is not None else os.environ.get("GLUE_DIR") or None
    if chosen is None:
        raise FileNotFoundError(
            "no GLUE folder given: pass --data-dir PATH (data_dir=PATH in Python) or set "
            "GLUE_DIR=PATH, where PATH holds one folder per task (e.g. PATH/SST-2/train.tsv)."
        )
    if not os.path.isdir(chosen):
        source = "data_dir" if data_dir is not None else "GLUE_DIR"
        raise FileNotFoundError(
            f"{source}={os.fspath(chosen)!r} is not a folder; pass --data-dir PATH or set "
            "GLUE_DIR=PATH to a folder holding one folder per task (e.g. PATH/SST-2/train.tsv)."
        )
    return os.fspath(chosen)


def load_glue(task, data_dir=None, split="train", *, source="auto"):
    """Load a GLUE classification task as ``(X, y)`` for scikit-learn.

    Reads the standard ``download_glue_data`` layout ``<data_dir>/<TASK>/{train,dev}.tsv``
    (MNLI: ``dev_matched.tsv`` and ``dev_mismatched.tsv``), handling its quirks: files are
    read tab-separated with quoting off (``csv.QUOTE_NONE``, as sentences hold bare ``"``),
    MRPC's UTF-8 byte-order mark is dropped, CoLA has no header (columns ``source, label,
    orig_label, sentence``), and columns are found by header name (MNLI's many columns,
    MRPC's ``Quality``/``#1 String``/``#2 String``, QQP's ``is_duplicate``). Text is returned
    verbatim (not stripped).

    Parameters
    ----------
    task : str
        One of SST-2, CoLA, MRPC, RTE, QNLI, QQP, MNLI, WNLI; case-insensitive, hyphen
        optional (``'sst2'``, ``'SST-2'``, ``'rte'``).
    data_dir : str, path-like or None (default=None)
        The GLUE folder holding one sub-folder per task. Needed unless ``source='hub'``.
    split : str (default='train')
        ``'train'`` or ``'validation'`` (``dev.tsv``); for MNLI ``'train'``,
        ``'validation_matched'`` or ``'validation_mismatched'``.
    source : {'auto', 'files', 'hub'} (default='auto')
        ``'files'`` reads ``data_dir``; ``'hub'`` loads the task with
        ``datasets.load_dataset('nyu-mll/glue', task)`` (optional ``datasets`` package and hub
        access needed; ``data_dir`` is ignored); ``'auto'`` reads files when ``data_dir`` is
        given and uses the hub otherwise.

    Returns
    -------
    X : ndarray of object (str)
        Shape ``(n,)`` for single-sentence tasks (SST-2, CoLA); ``(n, 2)`` of sentence pairs
        otherwise (columns: MRPC ``#1/#2 String``, QQP ``question1/2``, QNLI ``question,
        sentence``, others ``sentence1/2``). ``X[idx]`` and ``len(X)`` index rows.
    y : ndarray of shape (n,)
        Labels as the files write them: int64 0/1 for SST-2, CoLA, MRPC, QQP and WNLI
        (1 = positive, acceptable, paraphrase, duplicate, entailment); str (object array)
        for RTE and QNLI (``'entailment'``, ``'not_entailment'``) and MNLI (``'entailment'``,
        ``'neutral'``, ``'contradiction'``). The hub path returns the same values.

    Raises
    ------
    ValueError
        Unknown task, split or source; a malformed file (missing header column, wrong number of
        fields, unknown label), naming the file and line.
    FileNotFoundError
        The task folder or split file is missing; names the path and the expected layout.
    ImportError
        ``source='hub'`` (or ``'auto'`` without ``data_dir``) without the ``datasets`` package.

    Warns
    -----
    UserWarning
        QQP only: rows with a wrong number of fields (the published QQP files hold a few,
        e.g. where a question spans two lines) are skipped, as in BERT's ``QqpProcessor``;
        one warning gives their count and first line numbers. Every other task raises.

    Examples
    --------
    >>> X, y = load_glue("rte", "data/glue", "validation")  # doctest: +SKIP
    >>> X.shape, y[:2]                                       # doctest: +SKIP
    ((277, 2), array(['not_entailment', 'entailment'], dtype=object))
    """
    key = _glue_task_name(task)
    if source not in _GLUE_SOURCES:
        raise ValueError(f"source={source!r} is not valid; use one of {_GLUE_SOURCES}.")
    _check_glue_split(key, split)
    if source == "hub" or (source == "auto" and data_dir is None):
        return _load_glue_hub(key, split)
    path = _glue_path(key, data_dir, split)
    spec = _GLUE_TASKS[key]
    texts, labels = _parse_glue_rows(spec, _read_tsv(path), path)
    return _glue_arrays(spec, texts, labels)
