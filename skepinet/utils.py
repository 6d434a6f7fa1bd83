"""Small helpers shared across skepinet's modules (as ``sklearn.utils`` / ``skorch.utils``).

One home for parameter checks, row handling, device resolution and the package's
shared defaults, so every module validates and slices the same way and says so in
the same words.
"""

import functools
import numbers
import os

import numpy as np

__all__ = [
    "DEFAULT_N_INDEX",
    "InvalidParameterError",
    "check_n_instances",
    "check_non_negative",
    "check_positive_int",
    "fsync_folder",
    "is_integer",
    "n_rows",
    "resolve_device",
    "row_shape",
    "stack_rows",
    "take_rows",
]

#: Epistemic index samples drawn when a caller does not say (the paper's choice).
DEFAULT_N_INDEX = 100


class InvalidParameterError(ValueError, TypeError):
    """A parameter has the wrong type or value.

    Both a ``ValueError`` and a ``TypeError`` (as scikit-learn's own
    ``InvalidParameterError``), so callers catching either keep working whichever
    way the value was wrong.
    """


def is_integer(value):
    """Whether ``value`` is an integer (Python or numpy), booleans excluded.

    Parameters
    ----------
    value : object

    Returns
    -------
    bool
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_positive_int(value, name, example=DEFAULT_N_INDEX):
    """Validate a count that must be an integer of at least 1.

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        Parameter name used in the error message.
    example : int (default=100)
        A sensible value, suggested in the message.

    Returns
    -------
    value : int

    Raises
    ------
    InvalidParameterError
        If ``value`` is not an integer >= 1 (booleans are refused).
    """
    if not is_integer(value) or value < 1:
        raise InvalidParameterError(
            f"{name} must be a positive integer, got {value!r} ({type(value).__name__}); "
            f"pass e.g. {name}={example}."
        )
    return int(value)


def check_n_instances(n_instances, n_candidates, example=10):
    """Validate how many rows to choose out of ``n_candidates``.

    Parameters
    ----------
    n_instances : object
        The value to check.
    n_candidates : int
        How many rows there are to choose from.
    example : int (default=10)
        A sensible value, suggested in the message.

    Returns
    -------
    n_instances : int

    Raises
    ------
    InvalidParameterError
        If ``n_instances`` is not a positive integer or exceeds ``n_candidates``.
    """
    n_instances = check_positive_int(n_instances, "n_instances", example)
    if n_instances > n_candidates:
        raise InvalidParameterError(
            f"n_instances={n_instances} is larger than the pool ({n_candidates} rows); "
            f"ask for at most {n_candidates} rows or pass a larger pool."
        )
    return n_instances


def check_non_negative(value, name, example):
    """Validate a finite non-negative number such as a weight decay.

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        Parameter name used in the error message.
    example : float
        A sensible value, suggested in the message.

    Returns
    -------
    value : float

    Raises
    ------
    InvalidParameterError
        If ``value`` is not a finite real number >= 0.
    """
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real)
            or not np.isfinite(value) or value < 0):
        raise InvalidParameterError(
            f"{name} must be a finite non-negative number, got {value!r}; e.g. {name}={example}."
        )
    return float(value)


@functools.lru_cache(maxsize=None)
def _cuda_available():
    # Asked on every read of ``device`` (several times a batch); the answer is fixed
    # once CUDA is initialised in the process.
    import torch

    return torch.cuda.is_available()


def resolve_device(device):
    """Map ``'auto'`` to ``'cuda'`` when a GPU is available, else ``'cpu'``.

    Parameters
    ----------
    device : str, torch.device or None
        Requested device; anything but ``'auto'`` is returned unchanged.

    Returns
    -------
    device : str, torch.device or None
    """
    if isinstance(device, str) and device == "auto":
        return "cuda" if _cuda_available() else "cpu"
    return device


def fsync_folder(folder):
    """Flush a folder's entries to disk, so a rename or a new file survives a power cut.

    Parameters
    ----------
    folder : str or path-like
        A no-op where folders cannot be opened (Windows).
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def n_rows(X):
    """Number of rows of numpy, pandas, lists, sparse matrices or a dict of per-row arrays.

    Parameters
    ----------
    X : array-like or dict

    Returns
    -------
    n : int
    """
    if isinstance(X, dict):
        return n_rows(next(iter(X.values()))) if X else 0
    shape = getattr(X, "shape", None)
    return shape[0] if shape is not None else len(X)


def take_rows(X, rows):
    """Rows ``rows`` (a slice or an integer array) of numpy, pandas, lists, sparse or dicts.

    Parameters
    ----------
    X : array-like, list or dict of per-row arrays
        A dict (e.g. a tokenizer's output) is indexed value by value.
    rows : slice or array-like of int

    Returns
    -------
    rows of X, of the same kind as ``X``
    """
    if isinstance(X, dict):
        return {key: take_rows(value, rows) for key, value in X.items()}
    if hasattr(X, "iloc"):
        return X.iloc[rows]
    if isinstance(X, list):
        return X[rows] if isinstance(rows, slice) else [X[i] for i in rows]
    return X[rows]


def stack_rows(a, b):
    """The rows of ``a`` followed by those of ``b``, keeping ``a``'s kind.

    Parameters
    ----------
    a : array-like, DataFrame, list or None
        ``None`` stands for no rows yet, and ``b`` is returned as it is.
    b : array-like, DataFrame or list

    Returns
    -------
    stacked : same kind as ``a``
    """
    if a is None:
        return b
    if hasattr(a, "iloc"):
        import pandas as pd

        return pd.concat([a, b], ignore_index=True)
    if isinstance(a, list):
        return a + list(b)
    return np.concatenate([np.asarray(a), np.asarray(b)])


def row_shape(X):
    """Shape of one row of a numeric array or frame; ``None`` for texts, lists and dicts."""
    shape = getattr(X, "shape", None)
    dtype = getattr(X, "dtype", None)
    if shape is None or len(shape) < 2 or (dtype is not None and dtype.kind not in "biuf"):
        return None
    return tuple(shape[1:])
