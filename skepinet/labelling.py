"""A labelling session: a table of texts, a learner that picks what to ask, a journal of answers.

:class:`LabellingSession` is what the labelling app (:mod:`skepinet.label`)
serves. It keeps three promises:

* **Every answer is on disk before anything else happens.** Answers, skips
  and undos go through the learner's answer journal (:mod:`skepinet.journal`),
  fsynced one by one; the session state is rebuilt from the journal alone, so
  killing the process loses nothing and a restart resumes at the row that was
  on screen.
* **The person never waits for the model.** A background thread refits the
  estimator on every label after each ``retrain_every`` answers, scores a
  fresh draw of candidates and swaps in the new ranking; meanwhile rows are
  served from the last ranking (uniformly at random before the first fit).
* **Bad input fails before anyone is asked**: an unreadable or empty file, a
  missing column, empty texts, fewer than 2 or repeated labels, or DATA that
  changed since the last session in the folder (SHA-256 fingerprint) raise
  :class:`LabellingError` naming the fix.
"""

import csv
import datetime
import json
import logging
import os
import statistics
import threading

import numpy as np
from sklearn.base import clone

from .estimators import (
    BaselineClassifier,
    DropoutClassifier,
    EnsembleClassifier,
    EpinetClassifier,
)
from .journal import AnswerJournal, read_journal
from .persistence import save_estimator
from .priorities import PRIORITIES
# The table readers used to live here; they stay importable from this module.
from .tables import LabellingError, check_labels, file_fingerprint, read_table
from .utils import DEFAULT_N_INDEX, fsync_folder

__all__ = [
    "ESTIMATORS",
    "LabellingError",
    "LabellingSession",
    "StaleRowError",
    "check_labels",
    "file_fingerprint",
    "make_text_estimator",
    "read_table",
]

ESTIMATORS = {
    "epinet": EpinetClassifier,
    "dropout": DropoutClassifier,
    "ensemble": EnsembleClassifier,
    "baseline": BaselineClassifier,
}
"""dict : Name -> estimator class, for ``skepinet label --estimator``."""

LOGGER = logging.getLogger("skepinet.label")
SESSION_FORMAT = "skepinet-label"
SESSION_VERSION = 1
CURVE_WINDOW = 10


class StaleRowError(LabellingError):
    """An answer about a row that is not on screen: the page is out of date."""


def _write_atomically(path, write, newline=None):
    """``write(file)`` into a temporary file beside ``path``, fsync, then rename over it."""
    temporary = os.fspath(path) + ".tmp"
    with open(temporary, "w", encoding="utf-8", newline=newline) as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
    fsync_folder(os.path.dirname(os.path.abspath(path)))


def make_text_estimator(name="epinet", *, labels, pretrained=None, max_length=64,
                        random_state=0):
    """A skepinet classifier on a frozen text encoder (the offline MiniLM by default).

    Parameters
    ----------
    name : {'epinet', 'dropout', 'ensemble', 'baseline'} (default='epinet')
    labels : list of str
        Every label, in the order the page shows them.
    pretrained : str or None (default=None)
        Hugging Face model name or folder; ``None`` for the offline MiniLM.
    max_length : int (default=64)
        Tokens per text.
    random_state : int (default=0)

    Returns
    -------
    estimator : skepinet classifier
    """
    if name not in ESTIMATORS:
        raise LabellingError(f"estimator {name!r} is not one of {sorted(ESTIMATORS)}.")
    return ESTIMATORS[name](backbone="bert", freeze_encoder=True, pretrained=pretrained,
                            max_length=max_length, batch_size=32, classes=list(labels),
                            random_state=random_state, verbose=0)


def _seconds_between(start, end):
    parse = datetime.datetime.fromisoformat
    return (parse(end) - parse(start)).total_seconds()


class LabellingSession:
    """Label the rows of a table, in the order a learner picks, resumably.

    Opening a session reads DATA and the folder ``out``: a new folder is set
    up (``session.json``, the journal), an existing one is resumed from its
    journal after checking that DATA and the labels are the same. Call
    :meth:`close` when done (it stops the background training).

    Parameters
    ----------
    data : str or path-like
        CSV, TSV, JSON lines or Parquet file of texts (:func:`read_table`).
    out : str or path-like
        Folder of the session: ``session.json``, ``journal.jsonl`` (every
        answer), ``model.skepinet`` (the last background fit) and the export.
    text_column : str
        Column of the texts.
    labels : list of str or str
        The label names (a comma-separated string is split).
    pair_column : str or None (default=None)
        Column of second sentences for pair tasks.
    estimator : skepinet classifier or None (default=None)
        Refit (a clone) on every label in the background; ``None``:
        :func:`make_text_estimator` (an epinet on the frozen offline MiniLM).
        Its ``classes`` are set to ``labels``.
    strategy : str (default='variance')
        Priority in :data:`skepinet.priorities.PRIORITIES` that ranks the
        candidates.
    budget : int (default=200)
        Labels to ask for.
    retrain_every : int (default=10)
        Answers between background refits.
    candidate_size : int (default=256)
        Unlabelled rows drawn and scored at each refit; the ranking serves the
        next answers.
    n_index : int (default=100)
        Index samples for scoring.
    random_state : int (default=0)
        Seeds the row order before the first fit and every candidate draw.
    background : bool (default=True)
        Refit in a background thread; ``False`` for a session that only
        exports or reads its answers.
    """

    def __init__(self, data, out, *, text_column, labels, pair_column=None, estimator=None,
                 strategy="variance", budget=200, retrain_every=10, candidate_size=256,
                 n_index=DEFAULT_N_INDEX, random_state=0, background=True):
        self.labels = check_labels(labels)
        if strategy not in PRIORITIES:
            raise LabellingError(f"strategy {strategy!r} is not one of {sorted(PRIORITIES)}.")
        for name, value in (("budget", budget), ("retrain_every", retrain_every),
                            ("candidate_size", candidate_size), ("n_index", n_index)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise LabellingError(f"{name}={value!r}: pass a positive integer.")
        self.data = os.path.abspath(os.fspath(data))
        self.out = os.path.abspath(os.fspath(out))
        self.text_column, self.pair_column = text_column, pair_column
        self.strategy, self.budget = strategy, int(budget)
        self.retrain_every, self.candidate_size = int(retrain_every), int(candidate_size)
        self.n_index, self.random_state = int(n_index), random_state
        self.texts, self.pairs = read_table(self.data, text_column, pair_column)
        self.fingerprint = file_fingerprint(self.data)
        self._check_or_create_folder()
        self.estimator = (make_text_estimator(labels=self.labels, random_state=random_state)
                          if estimator is None else estimator)
        self.estimator.set_params(classes=list(self.labels))
        self.journal = AnswerJournal(self.journal_path, self.fingerprint)
        self._lock = threading.Condition(threading.RLock())
        self._order = np.random.default_rng(random_state).permutation(len(self.texts))
        self._replay_journal()
        self._model, self._version, self._model_labels = None, 0, 0
        self._ranking, self._scored = [], {}
        self._training, self._closing, self.training_error_ = False, False, None
        # One writer of model.skepinet at a time: each removes the other's temporary file.
        self._saving = threading.Lock()
        self._thread = None
        if background:
            self._thread = threading.Thread(target=self._training_loop, daemon=True,
                                            name="skepinet-label-training")
            self._thread.start()

    # -- the folder ----------------------------------------------------------

    @property
    def journal_path(self):
        return os.path.join(self.out, "journal.jsonl")

    @property
    def model_path(self):
        return os.path.join(self.out, "model.skepinet")

    def _settings(self):
        return {"format": SESSION_FORMAT, "version": SESSION_VERSION, "data": self.data,
                "fingerprint": self.fingerprint, "rows": len(self.texts),
                "text_column": self.text_column, "pair_column": self.pair_column,
                "labels": self.labels}

    def _check_or_create_folder(self):
        settings_path = os.path.join(self.out, "session.json")
        if os.path.exists(settings_path):
            self._check_same_session(settings_path)
            return
        if os.path.exists(self.journal_path):
            raise LabellingError(f"{self.out} holds a journal but no session.json; pass "
                                 "another --out folder.")
        try:
            os.makedirs(self.out, exist_ok=True)
            _write_atomically(settings_path, lambda f: json.dump(self._settings(), f, indent=1))
        except OSError as error:
            raise LabellingError(f"cannot write the session folder {self.out!r}: {error}; "
                                 "pass --out a folder you can write.") from None

    def _check_same_session(self, settings_path):
        try:
            with open(settings_path, encoding="utf-8") as f:
                saved = json.load(f)
        except (OSError, ValueError) as error:
            raise LabellingError(f"cannot read {settings_path}: {error}.") from None
        if not isinstance(saved, dict) or saved.get("format") != SESSION_FORMAT:
            raise LabellingError(f"{settings_path} is not a skepinet label session; pass "
                                 "another --out folder.")
        if saved.get("fingerprint") != self.fingerprint:
            raise LabellingError(
                f"DATA {self.data!r} changed since the last session in {self.out} (its "
                f"SHA-256 was {str(saved.get('fingerprint'))[:12]}..., now "
                f"{self.fingerprint[:12]}...): the journal's row numbers would point at other "
                "texts. Label the original file, or start a new session with another --out."
            )
        for key in ("text_column", "pair_column", "labels"):
            if saved.get(key) != getattr(self, key):
                raise LabellingError(
                    f"{self.out} was labelled with {key}={saved.get(key)!r}, not "
                    f"{getattr(self, key)!r}; resume with the same, or pass another --out."
                )

    # -- state from the journal ----------------------------------------------

    def _replay_journal(self):
        """Answers, skips and the row on screen, from the journal alone."""
        self._answers = {}      # row -> {"label", "time", "step", "asked"}
        self._skipped = set()
        self._actions = []      # ("answer" | "skip", row, step), undone by popping
        self._asks = {}         # step -> ask record
        self._front = []        # rows to show before any ranking (undone, or on screen)
        self._shown = None
        self._step = 0
        self._order_position = 0
        self._changes = 0
        for record in read_journal(self.journal_path):
            if record.get("pool") != self.fingerprint:
                raise LabellingError(f"the journal {self.journal_path} holds answers about "
                                     "another file; pass another --out folder.")
            self._apply(record)
        # A restart trains at once on the labels banked so far.
        self._changes = self.retrain_every if self._answers else 0

    def _apply(self, record):
        event, step = record["event"], int(record["step"])
        self._step = max(self._step, step)
        if event == "ask":
            self._asks[step] = record
            self._shown = (int(record["rows"][0]), step)
            return
        row = int(record["row"])
        if event == "answer":
            asked = self._asks.get(step, {})
            self._answers[row] = {"label": record["label"], "time": record["time"],
                                  "step": step, "asked": asked.get("time"),
                                  "predicted": asked.get("predicted")}
            self._actions.append(("answer", row, step))
        elif event == "skip":
            self._skipped.add(row)
            self._actions.append(("skip", row, step))
        else:  # undo: the last action's row goes back on screen, before the one there
            kind, undone, _ = self._actions.pop()
            (self._answers.pop if kind == "answer" else self._skipped.discard)(undone)
            if self._shown is not None and self._shown[0] != undone:
                self._front.insert(0, self._shown[0])
            self._front.insert(0, undone)
            self._shown = None
        if self._shown is not None and self._shown[0] == row and event != "undo":
            self._shown = None
        self._changes += 1

    def _available(self, row):
        return row not in self._answers and row not in self._skipped

    def _next_row(self):
        """The next row to show: undone rows, then the ranking, then the shuffled order."""
        while self._front:
            row = self._front.pop(0)
            if self._available(row):
                return row
        for row in self._ranking:
            if self._available(row):
                return row
        while self._order_position < len(self._order):
            row = int(self._order[self._order_position])
            if self._available(row):
                return row
            self._order_position += 1
        return None

    def _show_next(self):
        """Journal the next pick (``ask``) and put it on screen; ``None`` when done."""
        if self._shown is not None or len(self._answers) >= self.budget:
            return
        row = self._next_row()
        if row is None:
            return
        step = self._step + 1
        details = {}
        if row in self._scored:
            prediction = self._scored[row]
            details = {"predicted": prediction["label"], "confidence": prediction["probability"],
                       "model": self._version}
        self._apply(self.journal.ask(step, [row], **details)[0])

    # -- what the page does ----------------------------------------------------

    def state(self):
        """Everything the page shows, as a JSON-able dict (puts a row on screen if none)."""
        with self._lock:
            self._show_next()
            return self._describe()

    def answer(self, row, label):
        """Journal ``label`` for the row on screen, then show the next row.

        A repeated request for a row already answered with that label (a
        double click, a retried request) changes nothing.

        Raises
        ------
        LabellingError
            An unknown label, or a row that is not on screen.
        """
        label = str(label)
        if label not in self.labels:
            raise LabellingError(f"label {label!r} is not one of {self.labels}.")
        with self._lock:
            if self._answers.get(row, {}).get("label") == label and self._shown_row() != row:
                return self._describe()
            step = self._check_on_screen(row)
            self._apply(self.journal.answer(step, [row], [label])[0])
            self._lock.notify_all()
            self._show_next()
            return self._describe()

    def skip(self, row):
        """Journal that the row on screen is passed over (not asked again), show the next."""
        with self._lock:
            if row in self._skipped and self._shown_row() != row:
                return self._describe()
            step = self._check_on_screen(row)
            self._apply(self.journal.skip(step, row)[0])
            self._show_next()
            return self._describe()

    def undo(self):
        """Take back the last answer or skip: that row comes back on screen."""
        with self._lock:
            if not self._actions:
                raise LabellingError("nothing to undo yet.")
            _, row, step = self._actions[-1]
            self._apply(self.journal.undo(step, row)[0])
            self._lock.notify_all()
            self._show_next()
            return self._describe()

    def _shown_row(self):
        return None if self._shown is None else self._shown[0]

    def _check_on_screen(self, row):
        if self._shown is None or self._shown[0] != row:
            raise StaleRowError(
                f"row {row} is not the row on screen ({self._shown_row()}); the page is out "
                "of date: reload it."
            )
        return self._shown[1]

    def _describe(self):
        shown = self._shown_row()
        answered = [a for a in self._answers.values() if a["asked"]]
        seconds = [_seconds_between(a["asked"], a["time"]) for a in answered]
        return {
            "row": None if shown is None else {
                "id": shown, "text": self.texts[shown],
                "pair": None if self.pairs is None else self.pairs[shown],
                "prediction": self._scored.get(shown)},
            "labels": self.labels,
            "labelled": len(self._answers), "skipped": len(self._skipped),
            "budget": self.budget, "rows": len(self.texts),
            "retrain_every": self.retrain_every, "curve_window": CURVE_WINDOW,
            "done": shown is None,
            "can_undo": bool(self._actions),
            "seconds_per_answer": statistics.median(seconds) if seconds else None,
            "model": {"version": self._version, "training": self._training,
                      "labels": self._model_labels,
                      "error": self.training_error_},
            "curve": self._curve(),
        }

    def _curve(self):
        """Accuracy of the prediction shown with each row, over the last answers."""
        hits, points = [], []
        for position, answer in enumerate(self.answers_in_order(), start=1):
            if answer["predicted"] is None:
                continue
            hits.append(answer["predicted"] == answer["label"])
            if len(hits) >= CURVE_WINDOW:
                points.append([position, float(np.mean(hits[-CURVE_WINDOW:]))])
        return points

    def answers_in_order(self):
        """The answers standing (after undos), in the order they were given.

        Returns
        -------
        answers : list of dict
            ``row``, ``label``, ``time`` (UTC, ISO 8601), ``predicted`` (the
            model's label shown with the row, or ``None``).
        """
        with self._lock:
            ordered = sorted(self._answers.items(), key=lambda item: item[1]["step"])
            return [{"row": row, **answer} for row, answer in ordered]

    # -- the model, in the background ------------------------------------------

    def _needs_training(self):
        return bool(self._answers) and self._changes >= self.retrain_every

    def _training_loop(self):
        while True:
            with self._lock:
                while not self._closing and not self._needs_training():
                    self._lock.wait()
                if self._closing:
                    return
                rows = [a["row"] for a in self.answers_in_order()]
                labels = [self._answers[r]["label"] for r in rows]
                available = [r for r in range(len(self.texts)) if self._available(r)]
                self._changes, self._training = 0, True
                version = self._version + 1
            try:
                model, ranking, scored = self._fit_and_rank(rows, labels, available, version)
            except Exception as error:  # noqa: BLE001 - the page keeps serving; shows the error
                LOGGER.warning("background training failed: %r", error)
                with self._lock:
                    self._training, self.training_error_ = False, repr(error)
                continue
            with self._lock:
                self._model, self._version, self._model_labels = model, version, len(rows)
                self._ranking, self._scored = ranking, scored
                self._training, self.training_error_ = False, None
                self._lock.notify_all()

    def _inputs(self, rows):
        if self.pairs is None:
            return np.array([self.texts[r] for r in rows], dtype=object)
        return np.array([(self.texts[r], self.pairs[r]) for r in rows], dtype=object)

    def fit(self, rows, labels):
        """A clone of the estimator fitted on ``rows`` labelled ``labels``."""
        return clone(self.estimator).fit(self._inputs(rows), np.asarray(labels, dtype=object))

    def _fit_and_rank(self, rows, labels, available, version):
        model = self.fit(rows, labels)
        with self._saving:
            save_estimator(model, self.model_path)
        rng = np.random.default_rng([self.random_state, version])
        size = min(self.candidate_size, len(available))
        if size == 0:
            return model, [], {}
        candidates = rng.choice(np.asarray(available), size=size, replace=False)
        proba = model.predict_proba_joint(self._inputs(candidates), n_index=self.n_index)
        priority = PRIORITIES[self.strategy]
        scores = (priority(proba, random_state=rng) if self.strategy == "uniform"
                  else priority(proba))
        ranking = [int(r) for r in candidates[np.argsort(-scores, kind="stable")]]
        mean, spread = proba.mean(axis=0), proba.std(axis=0)
        classes = [str(c) for c in model.classes_]
        scored = {}
        for i, row in enumerate(candidates):
            top = int(np.argmax(mean[i]))
            scored[int(row)] = {"label": classes[top], "probability": float(mean[i, top]),
                                "spread": float(spread[i, top]), "model": version}
        return model, ranking, scored

    def wait_until_trained(self, timeout=None):
        """Block until no refit is due or running; ``True`` unless ``timeout`` ran out."""
        if self._thread is None:
            return True
        with self._lock:
            return self._lock.wait_for(
                lambda: not self._training and not self._needs_training(), timeout)

    def close(self, timeout=None):
        """Stop the background training, letting a refit under way finish.

        Parameters
        ----------
        timeout : float or None (default=None)
            Seconds to wait for that refit; ``None`` waits until it ends.
        """
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- export ----------------------------------------------------------------

    def export(self, csv_path=None, model_path=None):
        """Write the labels as CSV and the estimator fitted on them, in the safe format.

        Parameters
        ----------
        csv_path : str or None (default=None)
            ``<out>/labels.csv`` by default: ``row`` (from 0, in DATA's
            order), ``text`` (and ``pair``), ``label``, ``time`` (UTC) and
            ``order`` (1 = asked first), one line per answer standing.
        model_path : str or None (default=None)
            ``<out>/model.skepinet`` by default (load with
            :func:`skepinet.load_estimator`); not written without labels.

        Returns
        -------
        csv_path, model_path : str
            ``model_path`` is ``None`` when there is no label yet.
        """
        csv_path = os.path.join(self.out, "labels.csv") if csv_path is None else csv_path
        model_path = self.model_path if model_path is None else model_path
        answers = self.answers_in_order()
        columns = ["row", "text"] + (["pair"] if self.pairs is not None else []) + [
            "label", "time", "order"]

        def write_rows(f):
            writer = csv.writer(f)
            writer.writerow(columns)
            for order, answer in enumerate(answers, start=1):
                row = answer["row"]
                pair = [self.pairs[row]] if self.pairs is not None else []
                writer.writerow([row, self.texts[row], *pair, answer["label"], answer["time"],
                                 order])

        _write_atomically(csv_path, write_rows, newline="")
        if not answers:
            return csv_path, None
        model = self.fit([a["row"] for a in answers], [a["label"] for a in answers])
        with self._saving:
            save_estimator(model, model_path)
        return csv_path, model_path

