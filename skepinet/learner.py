"""The active learner: modAL's interface, and the paper's online Algorithm 1.

:class:`ActiveLearner` is a drop-in for ``modAL.models.ActiveLearner``
(``query``, ``teach``, ``fit``, ``predict``, ``predict_proba``, ``score``)
that works on current scikit-learn, numpy and pandas. Its :meth:`~ActiveLearner.run`
method is Osband et al.'s Algorithm 1: draw ``N`` candidates, score them,
reveal the top ``n`` labels, train online; repeat until the label budget is
spent. Every answer is written to a journal as it arrives, and runs checkpoint
atomically in a format that is safe to load (:mod:`skepinet.persistence`),
so a killed run resumes where it stopped without losing a label or asking
for one twice.
"""

import os
import time

import numpy as np
from tqdm.auto import tqdm

from . import persistence
from .journal import AnswerJournal
from .metrics import evaluate_enn
from .oracle import ask, check_classes, known_classes, make_oracle
from .recipes import RECIPES, check_recipe, names_parameter, partial_fit, training_rows
from .runs import (History, RunState, banked_answers, check_checkpoint_folder, check_eval_set,
                   check_finite_pool, check_free_space, journal_path, pool_fingerprint,
                   pool_rows, refuse_to_overwrite_a_run)
from .scoring import QueryContext, as_model, is_fitted
from .strategies import variance
from .utils import DEFAULT_N_INDEX, check_positive_int, n_rows, stack_rows, take_rows

__all__ = ["ActiveLearner", "History", "RECIPES", "RunState", "pool_fingerprint"]


def _check_same_width(X_old, X_new):
    old, new = np.shape(X_old)[1:] if X_old is not None else None, np.shape(X_new)[1:]
    if old is not None and old != new and len(old) and len(new):
        raise ValueError(
            f"teach() got rows of shape {new} but the learner was taught rows of shape {old}; "
            "pass rows with the same features as before."
        )


class ActiveLearner:
    """A pool-based active learner with modAL's interface.

    Parameters
    ----------
    estimator : classifier
        A skepinet estimator (or ``Pipeline`` ending in one), or any
        scikit-learn classifier for marginal strategies.
    query_strategy : callable (default=skepinet.strategies.variance)
        ``strategy(learner, X_pool, n_instances, **kwargs) -> (indices, scores)``.
    X_training, y_training : array-like or None (default=None)
        Initial labelled data; when given, the estimator is fitted on it.
    random_state : int, RandomState, Generator or None (default=None)
        Seeds candidate draws and tie-breaking in queries.
    **fit_kwargs : dict
        Passed to the estimator's ``fit``.

    Attributes
    ----------
    X_training, y_training : array-like or None
        Everything taught so far.
    history_ : History
        The learning curve of :meth:`run`.
    """

    def __init__(self, estimator, query_strategy=variance, X_training=None, y_training=None,
                 random_state=None, **fit_kwargs):
        if not callable(query_strategy):
            raise TypeError(
                f"query_strategy must be a strategy function, got {query_strategy!r} "
                f"({type(query_strategy).__name__}); pass e.g. skepinet.variance, or any "
                "modAL-style strategy(classifier, X_pool, n_instances)."
            )
        self.estimator = estimator
        self.query_strategy = query_strategy
        self.X_training = X_training
        self.y_training = y_training
        self.random_state = random_state
        self.fit_kwargs = fit_kwargs
        try:
            self.rng_ = np.random.default_rng(
                random_state.integers(2**63) if isinstance(random_state, np.random.Generator)
                else random_state.randint(2**31)
                if isinstance(random_state, np.random.RandomState) else random_state
            )
        except (TypeError, ValueError):
            raise ValueError(
                f"random_state must be None, an int, or a numpy Generator / RandomState, got "
                f"{random_state!r}; e.g. random_state=0."
            ) from None
        self.history_ = History()
        self.run_state_ = None
        if X_training is not None:
            self.fit(X_training, y_training, **fit_kwargs)

    # -- modAL interface ---------------------------------------------------------

    def fit(self, X, y, **fit_kwargs):
        """Replace the training data with ``(X, y)`` and fit on it from scratch.

        Returns
        -------
        self : ActiveLearner
        """
        self.estimator.fit(X, y, **{**self.fit_kwargs, **fit_kwargs})
        self.X_training, self.y_training = X, y
        return self

    def teach(self, X, y, only_new=False, **fit_kwargs):
        """Add labelled rows and train on them.

        Parameters
        ----------
        X : array-like of shape (n_new, ...)
            The new rows.
        y : array-like of shape (n_new,)
            Their labels.
        only_new : bool (default=False)
            ``False`` refits on everything taught so far (modAL's default);
            ``True`` trains incrementally on the new rows with
            ``partial_fit``, keeping what the model has learnt.
        **fit_kwargs : dict
            Passed to ``fit`` / ``partial_fit``.

        Returns
        -------
        self : ActiveLearner
        """
        if y is None:
            raise ValueError("teach() needs the labels y of the new rows, got y=None.")
        if isinstance(X, np.ndarray) and X.ndim == 1 and X.dtype.kind in "biuf":
            raise ValueError(
                f"teach() takes a 2-D array of rows; X has shape {X.shape}. For one row pass "
                "X[[i]] or x.reshape(1, -1)."
            )
        _check_same_width(self.X_training, X)
        if n_rows(X) != len(y):
            raise ValueError(f"teach() got {n_rows(X)} rows and {len(y)} labels; pass one "
                             "label per row.")
        X_all, y_all = stack_rows(self.X_training, X), stack_rows(self.y_training, y)
        if only_new:
            if not hasattr(self.estimator, "partial_fit"):
                raise TypeError(
                    f"only_new=True needs an estimator with partial_fit; "
                    f"{type(self.estimator).__name__} has none. Use only_new=False."
                )
            self.estimator.partial_fit(X, y, **fit_kwargs)
        else:
            self.estimator.fit(X_all, y_all, **{**self.fit_kwargs, **fit_kwargs})
        self.X_training, self.y_training = X_all, y_all
        return self

    def query(self, X_pool, *query_args, return_metrics=False, **query_kwargs):
        """Pick the rows of ``X_pool`` to label next.

        Parameters
        ----------
        X_pool : array-like
            Unlabelled rows.
        *query_args, **query_kwargs
            Passed to the query strategy (e.g. ``n_instances=10``). Unless
            given, ``random_state`` is drawn from the learner's own stream, so
            a seeded learner makes the same queries every run.
        return_metrics : bool (default=False)
            Also return the strategy's scores.

        Returns
        -------
        indices : ndarray of int
            Positions in ``X_pool``.
        rows : array-like
            ``X_pool[indices]``.
        scores : ndarray
            Only with ``return_metrics=True``.
        """
        # Only keywords a strategy names: modAL's forward **kwargs to predict_proba.
        rng_state = self.rng_.bit_generator.state
        if "random_state" not in query_kwargs and names_parameter(self.query_strategy,
                                                                  "random_state"):
            query_kwargs["random_state"] = int(self.rng_.integers(2**31))
        try:
            indices, scores = self.query_strategy(self, X_pool, *query_args, **query_kwargs)
        except BaseException:
            # A rejected query must not shift the queries that follow.
            self.rng_.bit_generator.state = rng_state
            raise
        rows = take_rows(X_pool, indices)
        return (indices, rows, scores) if return_metrics else (indices, rows)

    def query_context(self):
        """What a query strategy scores with: the estimator and the rows taught so far.

        Strategies (through :func:`skepinet.scoring.as_model`) look through
        the learner to this, rather than to its attributes.

        Returns
        -------
        context : skepinet.scoring.QueryContext
        """
        return QueryContext(self.estimator, self.X_training)

    def predict(self, X):
        """The estimator's predictions."""
        return self.estimator.predict(X)

    def predict_proba(self, X):
        """The estimator's class probabilities."""
        return self.estimator.predict_proba(X)

    def predict_proba_joint(self, X, n_index=DEFAULT_N_INDEX):
        """The estimator's joint prediction, ``(n_index, n_samples, n_classes)``.

        Works through a ``Pipeline`` ending in a skepinet estimator.
        """
        model = as_model(self.estimator)
        model.require_enn("predict_proba_joint")
        return model.joint(X, n_index)

    def embed(self, X):
        """The estimator's backbone features (through a ``Pipeline`` too)."""
        return as_model(self.estimator).features(X)

    def score(self, X, y):
        """Mean accuracy of the estimator on ``(X, y)``."""
        return self.estimator.score(X, y)

    # -- the paper's Algorithm 1 -------------------------------------------------

    def run(self, X_pool, oracle, budget, *, candidate_size=100, acquisition_size=10,
            recipe="replay", steps_per_label=1.0, n_steps=1, replay=None, refit_growth=None,
            requery=False, n_index=DEFAULT_N_INDEX, classes=None, X_eval=None, y_eval=None,
            eval_every=1, checkpoint=None, checkpoint_every=1, journal=None, progress=True):
        """Label up to ``budget`` rows of ``X_pool`` online (paper Algorithm 1).

        At each step: draw ``candidate_size`` (N) unlabelled rows uniformly
        without replacement, score them with the query strategy, reveal the
        labels of the top ``acquisition_size`` (n), and train on what is
        labelled so far as ``recipe`` says. A row is labelled at most once
        (unless ``requery``); the budget is met exactly (the last acquisition
        is cut to fit).

        The recipes:

        ``'replay'`` (default; the reference code's)
            ``steps_per_label`` SGD steps per label acquired, each on a
            minibatch of the estimator's ``batch_size`` drawn with
            replacement from every label so far.
        ``'online'``
            ``n_steps`` epochs on the new batch plus ``replay`` earlier
            labels (all of them when ``None``: a warm-started re-fit).
        ``'refit'``
            Re-initialise and fit on every label so far each step (the
            estimator's ``max_epochs``): the common pool-based recipe.

        "Every label so far" is every label the learner holds: its
        ``X_training`` (rows it was given or taught before the run), then
        the run's. Labels used (``budget``) count the run's only.

        Parameters
        ----------
        X_pool : array-like of shape (n_pool, ...)
            Unlabelled inputs: dense rows (numpy, pandas), or a list of texts
            (or of text pairs) for a text estimator.
        oracle : array-like of shape (n_pool,) or callable
            The labels of ``X_pool``, or ``oracle(rows, indices) -> labels``
            (e.g. a function that asks a person). A callable may also
            *yield* the labels one at a time (a generator): each answer is
            then checked and journalled as it arrives, so a person answering
            row by row loses nothing when the process dies mid-batch.
        budget : int
            Labels to reveal in total (including earlier runs of a resumed
            learner).
        candidate_size : int (default=100)
            Candidates scored per step (N).
        acquisition_size : int (default=10)
            Labels revealed per step (n <= N).
        recipe : {'replay', 'online', 'refit'} (default='replay')
            How the model trains after each acquisition (above).
        steps_per_label : float (default=1.0)
            ``recipe='replay'``: SGD steps per label acquired (fractions
            accumulate across steps).
        n_steps : int (default=1)
            ``recipe='online'``: training epochs on each acquired batch (one
            gradient step each when the batch fits in ``batch_size``).
        replay : int or None (default=None)
            ``recipe='online'``: earlier-labelled rows, drawn at random,
            trained on together with each new batch. ``0`` is the paper's
            pure online update on the new batch only; ``None`` rehearses
            every label so far.
        refit_growth : float > 1 or None (default=None)
            ``recipe='replay'`` or ``'online'``: instead of a step's training,
            re-initialise the model and fit it on every label so far (its
            ``max_epochs``) whenever the labels have grown by this factor
            since its last fresh start (:mod:`skepinet.recipes`), e.g. ``1.5``:
            about three fits on the final labels in all. ``None`` never does.
        requery : bool (default=False)
            Rows stay choosable after they are labelled, and each choice asks
            the oracle again: the reference code's bandit protocol, for
            oracles whose answers are noisy draws (a callable oracle).
        n_index : int (default=100)
            Index samples for scoring.
        classes : array-like or None (default=None)
            Every label; required with a callable oracle on an unfitted model.
        X_eval, y_eval : array-like or None (default=None)
            Evaluation set for accuracy and log-loss.
        eval_every : int (default=1)
            Evaluate every this many steps (and at the end).
        checkpoint : str, path or None (default=None)
            Save the learner here, atomically and in the safe format, at the
            start and after every acquisition;
            ``ActiveLearner.load(checkpoint).run(...)`` resumes. A file that
            already holds a run is not overwritten by a fresh learner.
        checkpoint_every : int (default=1)
            Save the checkpoint after every ``checkpoint_every``-th
            acquisition (and at the end). Answers are safe in the journal
            either way; a resume retrains the steps since the last
            checkpoint, with the same result. Raise it when saving is slow
            next to a step (a fine-tuned encoder's checkpoint holds its
            weights and Adam moments: about 1 s for MiniLM on a CPU).
        journal : str, path or None (default=None)
            The answer journal (:mod:`skepinet.journal`): every answer is
            appended and fsynced here as it arrives, and replayed when the
            run resumes, so no answer is lost or asked twice whenever the
            process dies. Defaults to ``<checkpoint>.journal.jsonl`` with a
            checkpoint; give a path to journal without one (a fresh learner
            with the same ``random_state`` then replays the answers).
        progress : bool (default=True)
            Show a progress bar of labels used.

        Returns
        -------
        history : History
            Labels used, wall time and metrics per step.
        """
        budget = check_positive_int(budget, "budget", 100)
        candidate_size = check_positive_int(candidate_size, "candidate_size", 100)
        acquisition_size = check_positive_int(acquisition_size, "acquisition_size", 10)
        n_steps = check_positive_int(n_steps, "n_steps", 1)
        check_recipe(recipe, steps_per_label, n_steps, replay, refit_growth)
        if not hasattr(self.estimator, "partial_fit"):
            raise TypeError(
                f"run() trains online with partial_fit, which {type(self.estimator).__name__} "
                "lacks; use a skepinet estimator (scale inputs beforehand instead of in a "
                "Pipeline), or the query/teach loop."
            )
        if acquisition_size > candidate_size:
            raise ValueError(
                f"acquisition_size={acquisition_size} exceeds candidate_size={candidate_size}: "
                "the top n are chosen among N candidates, so n <= N."
            )
        # Everything is checked before the oracle is asked and before any run state exists,
        # so a rejected call costs no answer and leaves the learner as it was.
        n_pool = pool_rows(X_pool)
        labels_of = make_oracle(oracle, n_pool, requery=requery)
        check_eval_set(X_eval, y_eval, X_pool)
        n_index = check_positive_int(n_index, "n_index", DEFAULT_N_INDEX)
        eval_every = check_positive_int(eval_every, "eval_every", 1)
        checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every", 1)
        check_classes(classes)
        journal = journal_path(journal, checkpoint)
        check_checkpoint_folder(checkpoint)
        check_checkpoint_folder(journal, "journal")
        check_finite_pool(X_pool)
        fingerprint = pool_fingerprint(X_pool)
        fresh = self.run_state_ is None
        state, banked = self._prepare_run(n_pool, budget, oracle, classes, fingerprint,
                                          checkpoint, journal, X_pool)
        answers = None if journal is None else AnswerJournal(journal, fingerprint)
        train = dict(recipe=recipe, steps_per_label=float(steps_per_label), n_steps=n_steps,
                     replay=replay, refit_growth=refit_growth)
        if state.pending:  # labels revealed before a crash, not yet trained on
            self._train_on(X_pool, state, **train)
            # The step's record was never written: the curve keeps every step.
            self._log_step(state, state.elapsed, X_eval, y_eval, eval_every,
                           final=state.n_labelled >= budget)

        bar = tqdm(total=budget, initial=state.n_labelled, unit="label",
                   disable=not progress, desc="labelling")
        start = time.perf_counter() - state.elapsed
        try:
            while state.n_labelled < budget and (requery or state.unlabelled.any()):
                step = state.step + 1
                rng_before = self.rng_.bit_generator.state
                try:
                    chosen = self._acquire(X_pool, state, candidate_size,
                                           min(acquisition_size, budget - state.n_labelled),
                                           n_index, requery)
                    chosen, labels = ask(labels_of, X_pool, step, chosen,
                                         known=known_classes(state.classes, self.estimator),
                                         banked=banked.pop(step, None), journal=answers)
                except BaseException:
                    # Nothing was recorded: the next call draws the same candidates again
                    # (and the journal already pins this step's rows and answers).
                    self.rng_.bit_generator.state = rng_before
                    raise
                state.record(chosen, labels)
                state.elapsed = time.perf_counter() - start
                if checkpoint is not None and step % checkpoint_every == 0:
                    self.save(checkpoint)
                self._train_on(X_pool, state, **train)
                self._log_step(state, time.perf_counter() - start, X_eval, y_eval, eval_every,
                               final=state.n_labelled >= budget)
                bar.update(len(chosen))
        except BaseException:
            if fresh and state.n_labelled == 0 and not state.pending:
                # Nothing recorded: no run began (answers given are in the journal).
                self.run_state_ = None
            raise
        finally:
            bar.close()
        state.elapsed = time.perf_counter() - start
        if checkpoint is not None:
            self.save(checkpoint)
        return self.history_

    def _prepare_run(self, n_pool, budget, oracle, classes, fingerprint, checkpoint, journal,
                     X_pool):
        """Run state, answers banked in the journal, and a first checkpoint; or no change."""
        previous = self.run_state_
        if previous is None and checkpoint is not None:
            refuse_to_overwrite_a_run(checkpoint)
        try:
            state = self._resume_or_start(n_pool, oracle, classes, fingerprint)
            banked = {} if journal is None else banked_answers(journal, fingerprint, state)
            if checkpoint is not None:
                # Proves the folder takes the file and the learner stores safely, before
                # anyone is asked; then the disk must hold the run's growth too.
                self.save(checkpoint)
                check_free_space(checkpoint, X_pool, budget - state.n_labelled)
        except BaseException:
            self.run_state_ = previous
            raise
        return state, banked

    def _resume_or_start(self, n_pool, oracle, classes, fingerprint=None):
        state = self.run_state_
        if state is not None:
            if state.n_pool != n_pool:
                raise ValueError(
                    f"this learner's run was over a pool of {state.n_pool} rows, not "
                    f"{n_pool}: resume with the same X_pool, or start a new ActiveLearner."
                )
            saved = state.pool_fingerprint
            if saved is not None and fingerprint is not None and saved != fingerprint:
                raise ValueError(
                    f"this learner's run was over another pool of {n_pool} rows (fingerprint "
                    f"{saved}, this X_pool's is {fingerprint}): resume with the same rows in "
                    "the same order, or start a new ActiveLearner."
                )
            return state
        if classes is None and not callable(oracle):
            classes = np.unique(np.asarray(oracle))
        if classes is None and not is_fitted(self.estimator):
            raise ValueError(
                "with a callable oracle and an unfitted estimator, pass every label with "
                "run(..., classes=[...]): the first answers may not contain them all."
            )
        self.run_state_ = RunState.start(n_pool, classes, fingerprint)
        return self.run_state_

    def _acquire(self, X_pool, state, candidate_size, n_acquire, n_index, requery=False):
        pool = np.arange(state.n_pool) if requery else np.flatnonzero(state.unlabelled)
        candidates = self.rng_.choice(pool, size=min(candidate_size, len(pool)), replace=False)
        n_acquire = min(n_acquire, len(candidates))
        if not self._is_trained():
            # Nothing to score with yet: the first acquisition is uniform.
            return candidates[:n_acquire]
        picked, _ = self.query(take_rows(X_pool, candidates), n_instances=n_acquire,
                               **({"n_index": n_index}
                                  if names_parameter(self.query_strategy, "n_index") else {}))
        return candidates[np.asarray(picked)]

    def _is_trained(self):
        return self.y_training is not None or is_fitted(self.estimator)

    def _train_on(self, X_pool, state, *, recipe, steps_per_label, n_steps, replay,
                  refit_growth):
        # Every label the learner holds is learnt from: its X_training before the run, then the
        # run's (added once trained on: a retried, interrupted training adds them once).
        X_all = stack_rows(self.X_training, take_rows(X_pool, np.asarray(state.pending)))
        y_new = np.asarray(state.labels[len(state.labels) - len(state.pending):])
        y_all = stack_rows(self.y_training, y_new)
        positions, epochs = training_rows(self.estimator, state, self.rng_, recipe=recipe,
                                          steps_per_label=steps_per_label, n_steps=n_steps,
                                          replay=replay, refit_growth=refit_growth,
                                          n_train=len(y_all))
        if len(positions):
            # A replay sample stands for every label so far: a fixed prior's weight decay
            # is divided by all of them, not by the sample.
            partial_fit(self.estimator, take_rows(X_all, positions), np.asarray(y_all)[positions],
                        epochs, classes=state.classes, n_train=len(y_all))
        self.X_training, self.y_training = X_all, y_all
        state.pending = []

    def _log_step(self, state, wall_time, X_eval, y_eval, eval_every, final):
        record = {"step": state.step, "labels": state.n_labelled, "wall_time": wall_time}
        if X_eval is not None and (state.step % eval_every == 0 or final):
            record.update(self.evaluate(X_eval, y_eval))
        self.history_.append(record)

    def evaluate(self, X, y, **kwargs):
        """Accuracy and log-loss of the estimator on ``(X, y)``.

        The same numbers as :func:`skepinet.metrics.evaluate_enn`, which it
        calls, so a learner's curve and a benchmark agree on one model.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,)
        **kwargs : dict
            Passed to :func:`~skepinet.metrics.evaluate_enn` (e.g.
            ``true_proba`` for the joint log-loss).

        Returns
        -------
        metrics : dict
            ``{'accuracy': ..., 'log_loss': ...}`` (and what ``kwargs`` add).
        """
        return evaluate_enn(self.estimator, X, y, **kwargs)

    # -- persistence ---------------------------------------------------------------

    def save(self, path):
        """Write the whole learner to ``path``, atomically, in the safe format.

        The file (see :mod:`skepinet.persistence`) holds JSON and
        safetensors, never a pickle, so loading one from someone else runs
        none of their code. It is written beside ``path`` and renamed over
        it: a crash at any moment leaves the previous checkpoint or the new
        one.

        Parameters
        ----------
        path : str or path-like

        Raises
        ------
        TypeError
            When the estimator is not a skepinet estimator, or a parameter,
            strategy or training row cannot be stored without pickling.
        """
        encode = persistence.Encoder()
        record = persistence.encode_learner(self, encode)
        persistence.write_archive(path, {"kind": "learner", "learner": record}, encode.tensors)

    @classmethod
    def load(cls, path, trusted=()):
        """Load a learner written by :meth:`save`; its next :meth:`run` resumes.

        Nothing in the file is executed: classes and functions it names are
        taken only from torch, skorch, skepinet and modAL, or from
        ``trusted``.

        Parameters
        ----------
        path : str or path-like
        trusted : sequence of classes or functions (default=())
            Objects the file may name outside that allow-list, e.g. your own
            query strategy or module class (as in ``skops.io.load``).

        Returns
        -------
        learner : ActiveLearner

        Raises
        ------
        skepinet.persistence.CheckpointError
            Naming the file and what is wrong: truncated, corrupted (checksum),
            an old pickle, another kind of file, or an untrusted name.
        """
        manifest, decode = persistence.read_archive(path, trusted)
        if manifest.get("kind") != "learner":
            raise persistence.CheckpointError(
                f"{os.fspath(path)} holds a {manifest.get('kind')}, not an {cls.__name__}; load "
                "it with skepinet.persistence.load_estimator."
            )
        learner = cls.__new__(cls)  # __init__ would fit on X_training again
        values = persistence.decode_learner(manifest["learner"], decode)
        learner.rng_ = np.random.default_rng()
        learner.rng_.bit_generator.state = values.pop("rng")
        learner.history_ = History(values.pop("history"))
        run_state = values.pop("run_state")
        learner.run_state_ = None if run_state is None else RunState.from_dict(run_state)
        vars(learner).update(values)
        return learner
