"""The answer journal: every answer on disk before anything else happens.

A journal is a JSON-lines file, appended to and never rewritten. Each
acquisition writes one ``ask`` line (the rows about to be asked) and one
``answer`` line per answer, each flushed and fsynced as it arrives::

    {"event": "ask", "step": 3, "rows": [17, 4], "pool": "9f2c...", "time": "2026-..."}
    {"event": "answer", "step": 3, "row": 17, "label": "pos", "pool": "9f2c...", "time": "..."}

:meth:`skepinet.ActiveLearner.run` replays it over the last checkpoint, so
an answer given is never lost nor asked again. A person can recover the
labels with any JSON reader, or ``grep '"answer"'``.

The labelling app (:mod:`skepinet.label`) also writes ``skip`` and ``undo``
records (a row passed over, an earlier answer or skip taken back); an
``ActiveLearner`` run refuses a journal that holds them.
"""

import datetime
import json
import os

from .utils import fsync_folder

__all__ = ["AnswerJournal", "EVENTS", "read_journal"]

EVENTS = ("ask", "answer", "skip", "undo")
"""tuple of str : The kinds of journal record."""


def read_journal(path):
    """The records of a journal, in order.

    A last line cut short by a crash mid-write is dropped (its answer was
    never acknowledged); any other unreadable line is an error.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    records : list of dict
        Empty when the file does not exist.

    Raises
    ------
    ValueError
        Naming the file and line of a corrupted record.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    complete = lines[:-1]  # after the last newline: empty, or a torn write
    records = []
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(
                f"{path}, line {number}, is not a journal record ({error}); the file was "
                "edited or corrupted. Fix or remove that line: every other line is an answer "
                "that will not be asked again."
            ) from None
        if not isinstance(record, dict) or record.get("event") not in EVENTS:
            raise ValueError(f"{path}, line {number}, is not a journal record: {line[:80]!r}.")
        records.append(record)
    return records


class AnswerJournal:
    """Append ``ask`` and ``answer`` records to a JSON-lines file, durably.

    Parameters
    ----------
    path : str or path-like
        The journal file; created when missing, appended to otherwise.
    fingerprint : str
        The pool's fingerprint, written on every record.
    """

    def __init__(self, path, fingerprint):
        self.path = os.fspath(path)
        self.fingerprint = fingerprint
        self._tail_checked = False

    def _drop_torn_tail(self):
        """Cut a last line left unfinished by a crash, so the next record starts clean."""
        if not os.path.exists(self.path):
            return
        with open(self.path, "rb+") as f:
            data = f.read()
            if data and not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)

    def _write(self, records):
        records = [{**r, "pool": self.fingerprint, "time": _now()} for r in records]
        lines = "".join(json.dumps(record) + "\n" for record in records)
        new = not os.path.exists(self.path)
        if not self._tail_checked:
            self._drop_torn_tail()
            self._tail_checked = True
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())
        if new:
            fsync_folder(os.path.dirname(os.path.abspath(self.path)))
        return records

    def ask(self, step, rows, **details):
        """Record the rows about to be asked at ``step`` (``details``: more JSON fields).

        Each method returns the records as written (with ``pool`` and ``time``).
        """
        return self._write([{"event": "ask", "step": int(step), "rows": [int(r) for r in rows],
                      **details}])

    def answer(self, step, rows, labels):
        """Record answers (one fsync for all of them: they arrived together)."""
        return self._write([{"event": "answer", "step": int(step), "row": int(r), "label": _plain(label)}
                     for r, label in zip(rows, labels)])


    def skip(self, step, row):
        """Record that ``row``, asked at ``step``, was passed over."""
        return self._write([{"event": "skip", "step": int(step), "row": int(row)}])

    def undo(self, step, row):
        """Record that the answer or skip of ``row`` given at ``step`` is taken back."""
        return self._write([{"event": "undo", "step": int(step), "row": int(row)}])


def _plain(label):
    return label.item() if hasattr(label, "item") else label


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")

