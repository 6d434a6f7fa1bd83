"""Reading a table of texts, and checking label names, for a labelling session.

Everything here fails before anyone is asked: an unreadable, unknown or
empty file, a missing column, empty texts, or fewer than 2 (or repeated)
label names raise :class:`LabellingError` with the fix in the message.
:mod:`skepinet.labelling` builds its session on these.
"""

import csv
import hashlib
import json
import os

import numpy as np

__all__ = [
    "READERS",
    "LabellingError",
    "check_labels",
    "file_fingerprint",
    "read_frame",
    "read_table",
]

READERS = {".csv": "CSV", ".tsv": "TSV", ".txt": "TSV", ".jsonl": "JSON lines",
            ".ndjson": "JSON lines", ".json": "JSON", ".parquet": "Parquet", ".pq": "Parquet"}
"""dict : File extension -> the format it is read as."""


class LabellingError(ValueError):
    """Input a labelling session cannot start from; the message says what to fix."""


def file_fingerprint(path, chunk_bytes=1 << 20):
    """SHA-256 of a file's bytes, in hex.

    Parameters
    ----------
    path : str or path-like
    chunk_bytes : int (default=1 MiB)

    Returns
    -------
    fingerprint : str
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_bytes), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_frame(path, kind):
    """The whole file as a DataFrame of its cells, read as ``kind`` (a value of :data:`READERS`).

    Raises
    ------
    pandas.errors.EmptyDataError, ValueError, OSError
        As pandas or json raise them; :func:`read_table` names the file.
    """
    import pandas as pd

    if kind == "CSV":
        # Every cell as text, empty cells as "": a text column of digits stays text.
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if kind == "TSV":
        # GLUE-style TSV: tabs separate, quotes are part of the text.
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False,
                           quoting=csv.QUOTE_NONE)
    if kind in ("JSON lines", "JSON"):
        # Parsed as Python objects: pandas would turn a column of 12 and 3.5 into 12.0.
        with open(path, encoding="utf-8") as f:
            if kind == "JSON":
                records = json.load(f)
            else:
                records = [json.loads(line) for line in f if line.strip()]
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError("expected records: one JSON object per row")
        if not records:
            raise pd.errors.EmptyDataError
        return pd.DataFrame(records, dtype=object)
    return pd.read_parquet(path)


def read_table(path, text_column, pair_column=None):
    """Texts (and second sentences of pairs) from a CSV, TSV, JSON (lines) or Parquet file.

    Parameters
    ----------
    path : str or path-like
        The file; its format is told by the extension (``.csv``, ``.tsv``,
        ``.jsonl``, ``.json``, ``.parquet``).
    text_column : str
        Column of the texts to label.
    pair_column : str or None (default=None)
        Column of the second sentence, for sentence-pair tasks (RTE, MNLI).

    Returns
    -------
    texts : list of str
    pairs : list of str or None

    Raises
    ------
    LabellingError
        Unreadable, unknown or empty file, a missing column, or empty texts.
    """
    import pandas as pd

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise LabellingError(f"DATA {path!r}: no such file. Pass the path of a CSV, TSV, "
                             "JSON lines or Parquet file of texts.")
    extension = os.path.splitext(path)[1].lower()
    kind = READERS.get(extension)
    if kind is None:
        raise LabellingError(
            f"DATA {path!r}: cannot tell the format from {extension or 'no extension'!r}; "
            f"name the file with one of {', '.join(sorted(READERS))}."
        )
    try:
        frame = read_frame(path, kind)
    except pd.errors.EmptyDataError:
        raise LabellingError(f"DATA {path!r} is empty: it needs a header and one row per "
                             "text.") from None
    except ImportError as error:
        raise LabellingError(f"reading {kind} needs another package: {error}") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise LabellingError(f"cannot read DATA {path!r} as {kind}: {error}") from None
    if len(frame) == 0:
        raise LabellingError(f"DATA {path!r} has no rows: it needs one row per text.")
    texts = _text_column(frame, text_column, path, "--text-column")
    pairs = None if pair_column is None else _text_column(frame, pair_column, path,
                                                          "--pair-column")
    return texts, pairs


def _text_column(frame, column, path, flag):
    if column not in frame.columns:
        columns = [str(c) for c in frame.columns]
        raise LabellingError(
            f"DATA {path!r} has no column {column!r}; its columns are {columns}. "
            f"Pass {flag} with one of them."
        )
    values = frame[column]
    empty = [i for i, v in enumerate(values.tolist())
             if v is None or (isinstance(v, float) and np.isnan(v)) or not str(v).strip()]
    if empty:
        shown = ", ".join(str(i) for i in empty[:5]) + (", ..." if len(empty) > 5 else "")
        raise LabellingError(
            f"column {column!r} of DATA {path!r} has {len(empty)} empty cell(s) (rows "
            f"{shown}, counted from 0 after the header); fill or drop them first."
        )
    return [str(v) for v in values.tolist()]


def check_labels(labels):
    """The label names as a list of str: at least 2, none empty, none repeated.

    Parameters
    ----------
    labels : str or sequence
        Names, or one comma-separated string (``--labels pos,neg``).

    Returns
    -------
    names : list of str

    Raises
    ------
    LabellingError
        An empty name, fewer than 2 names, or a name given twice.
    """
    if isinstance(labels, str):
        labels = labels.split(",")
    names = [str(label).strip() for label in labels]
    if any(not name for name in names):
        raise LabellingError(f"labels {labels!r}: a label name is empty; pass names such as "
                             "--labels pos,neg.")
    if len(names) < 2:
        raise LabellingError(f"labels {names}: at least 2 labels are needed, e.g. "
                             "--labels pos,neg.")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise LabellingError(f"labels {names}: {repeated} given more than once; name each "
                             "label once.")
    return names
