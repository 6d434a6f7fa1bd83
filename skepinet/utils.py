"""Small helpers shared across skepinet's modules (as ``sklearn.utils``)."""

import os

__all__ = ["fsync_folder", "n_rows"]


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
