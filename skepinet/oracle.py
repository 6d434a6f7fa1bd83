"""Asking the oracle: every answer checked, then journalled, before the next.

An oracle is an array of labels or a callable ``oracle(rows, indices)``
(e.g. a function that asks a person), which may return the labels or
*yield* them one at a time. :func:`ask` gets the labels of one acquisition
of :meth:`skepinet.ActiveLearner.run`: from the journal when a crashed run
already has them, otherwise from the oracle, refusing a wrong answer before
anything is recorded.
"""

import numpy as np

from .utils import take_rows

__all__ = ["ask", "check_answer", "check_classes", "known_classes", "make_oracle"]


def make_oracle(oracle, n_pool, requery=False):
    """``oracle`` as a callable ``labels_of(rows, indices)``.

    Parameters
    ----------
    oracle : array-like of shape (n_pool,) or callable
    n_pool : int
        Rows in the pool; an array must hold one label for each.
    requery : bool (default=False)
        Whether rows are asked again; only a callable can answer anew.

    Returns
    -------
    labels_of : callable
    """
    if requery and not callable(oracle):
        raise ValueError(
            "requery=True asks the oracle again about rows already labelled; a fixed array "
            "of labels would only repeat them. Pass a callable oracle(rows, indices) that "
            "draws a fresh answer, or requery=False."
        )
    if callable(oracle):
        return oracle  # its answers are checked (and an iterator taken one by one) in ask()
    labels = np.asarray(oracle)
    if len(labels) != n_pool:
        raise ValueError(
            f"oracle has {len(labels)} labels but X_pool has {n_pool} rows; pass the "
            "labels of every pool row, or a callable oracle(rows, indices)."
        )
    return lambda rows, indices: labels[indices]


def check_classes(classes):
    """Refuse a ``classes`` that does not list at least two distinct labels."""
    if classes is None:
        return
    labels = np.asarray(classes)
    if labels.ndim != 1 or len(labels) < 2 or len(np.unique(labels)) != len(labels):
        raise ValueError(
            f"classes must list every label once, at least 2 of them; got {classes!r}. "
            "Pass e.g. classes=[0, 1] or classes=['neg', 'pos']."
        )


def known_classes(classes, estimator):
    """The labels an answer may take: ``classes``, else the estimator's, else ``None``."""
    if classes is None:
        classes = getattr(estimator, "classes_", None)
    return None if classes is None else set(np.asarray(classes).tolist())


def _is_hashable(value):
    try:
        hash(value)
    except TypeError:
        return False
    return True


def check_answer(known, row, label, saved=0):
    """Refuse a wrong answer before it is recorded, naming its row and value.

    Parameters
    ----------
    known : set or None
        The labels an answer may take (:func:`known_classes`); ``None``
        accepts any.
    row : int
        The pool row answered.
    label : object
        The answer.
    saved : int (default=0)
        Answers of this step already journalled, which the message says are
        kept.
    """
    if known is None:
        return
    if not _is_hashable(label) or label not in known:
        kept = (f" The {saved} answers before it are saved and will not be asked again."
                if saved else " Nothing was recorded for this step.")
        raise ValueError(
            f"the oracle answered {label!r} ({type(label).__name__}) for pool row {int(row)}, "
            f"which is not one of the classes {sorted(known, key=str)}.{kept} Answer with one "
            "of the classes, of the same type, and call run() again."
        )


def _is_iterator(result):
    return hasattr(result, "__next__") and not isinstance(result, np.ndarray)


def _check_answer_count(labels, rows):
    if labels.ndim != 1 or len(labels) != len(rows):
        given = (f"{len(labels)} labels" if labels.ndim == 1 else "no list of labels"
                 if labels.ndim == 0 else f"an array of shape {labels.shape}")
        raise ValueError(
            f"the oracle returned {given} for {len(rows)} rows; return exactly one label "
            "per requested row. Nothing was recorded for this step."
        )


def _take_answers_one_by_one(result, missing, step, known, journal, answers):
    given = 0
    try:
        for row, label in zip(missing.tolist(), result):
            label = label.item() if isinstance(label, np.generic) else label
            check_answer(known, row, label, saved=given)
            if journal is not None:
                journal.answer(step, [row], [label])
            answers[row] = label
            given += 1
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if given < len(missing):
        raise ValueError(
            f"the oracle yielded {given} labels for {len(missing)} rows; yield exactly one "
            "label per requested row. The answers given are saved and will not be asked "
            "again."
        )


def ask(labels_of, X_pool, step, chosen, *, known, banked=None, journal=None):
    """The labels of ``chosen``: from the journal when it has them, else from the oracle.

    Parameters
    ----------
    labels_of : callable
        :func:`make_oracle`'s ``labels_of(rows, indices)``.
    X_pool : array-like
        The pool (the oracle is shown the rows asked about).
    step : int
        The acquisition step, as the journal records it.
    chosen : ndarray of int
        Pool rows to label.
    known : set or None
        The labels an answer may take (:func:`known_classes`).
    banked : dict or None (default=None)
        This step's entry of :func:`skepinet.runs.banked_answers`, when a
        crashed run began it.
    journal : skepinet.journal.AnswerJournal or None (default=None)
        Where every answer is written as it arrives.

    Returns
    -------
    chosen : ndarray of int
        The rows asked (the journal's, for a step begun before a crash).
    labels : ndarray
        Their labels.
    """
    if banked is not None and banked["rows"] is not None:
        chosen = np.asarray(banked["rows"])
    elif journal is not None:
        journal.ask(step, chosen)
    answers = {} if banked is None else dict(banked["answers"])
    missing = np.asarray([r for r in chosen if int(r) not in answers], dtype=int)
    if len(missing):
        result = labels_of(take_rows(X_pool, missing), missing)
        if _is_iterator(result):
            _take_answers_one_by_one(result, missing, step, known, journal, answers)
        else:
            labels = np.asarray(result)
            _check_answer_count(labels, missing)
            for row, label in zip(missing, labels.tolist()):
                check_answer(known, row, label)
            if journal is not None:
                journal.answer(step, missing, labels.tolist())
            answers.update(zip(missing.tolist(), labels.tolist()))
    return chosen, np.asarray([answers[int(r)] for r in chosen])
