"""Training recipes: how a model learns after each acquisition of a run.

:meth:`skepinet.ActiveLearner.run` trains with one of :data:`RECIPES`:

``'replay'`` (default; the reference code's)
    ``steps_per_label`` SGD steps per label acquired, each on a minibatch
    drawn with replacement from every label so far.
``'online'``
    ``n_steps`` epochs on the new batch plus ``replay`` earlier labels.
``'refit'``
    Re-initialise and fit on every label so far (the estimator's
    ``max_epochs``): the common pool-based recipe.

Every label so far includes those the learner held before the run; the
replay's SGD steps are owed for the run's labels only.

With ``refit_growth`` the ``'replay'`` and ``'online'`` recipes also
re-initialise the model and fit it on every label whenever the labels have
grown by that factor since the last such refit: a network trained online
from its first few labels generalises worse than one fitted afresh on the
same labels (the warm-starting gap, Ash & Adams 2020), and most of all on
labels that a priority drew from one region; refits on a geometric schedule
close the gap for a few times the replay's training cost.

:func:`training_rows` says which labels a step trains on (and for how many
epochs); :func:`partial_fit` trains on them.
"""

import inspect
from numbers import Integral, Real

import numpy as np

from .scoring import is_fitted

__all__ = ["RECIPES", "check_recipe", "names_parameter", "partial_fit", "refit_is_due",
           "training_rows"]

RECIPES = ("replay", "online", "refit")
"""tuple of str : The training recipes of :meth:`skepinet.ActiveLearner.run`."""


def check_recipe(recipe, steps_per_label, n_steps, replay, refit_growth=None):
    """Refuse a recipe, or a setting that belongs to another recipe."""
    if recipe not in RECIPES:
        raise ValueError(f"recipe={recipe!r} is not a training recipe; choose one of {RECIPES}.")
    if recipe != "online" and (n_steps != 1 or replay is not None):
        raise ValueError(
            f"n_steps and replay set the 'online' recipe, but recipe={recipe!r}; pass "
            "recipe='online' with them, or steps_per_label for the 'replay' recipe."
        )
    if (isinstance(steps_per_label, bool) or not isinstance(steps_per_label, Real)
            or not np.isfinite(steps_per_label) or steps_per_label <= 0):
        raise ValueError(
            f"steps_per_label must be a positive number, got {steps_per_label!r}; "
            "e.g. steps_per_label=1.0 (one SGD step per label acquired)."
        )
    if replay is not None and (isinstance(replay, bool) or not isinstance(replay, Integral)
                               or replay < 0):
        raise ValueError(f"replay must be None or a non-negative integer, got {replay!r}; "
                         "e.g. replay=100.")
    if refit_growth is None:
        return
    if (isinstance(refit_growth, bool) or not isinstance(refit_growth, Real)
            or not np.isfinite(refit_growth) or refit_growth <= 1):
        raise ValueError(
            f"refit_growth must be None or a number above 1, got {refit_growth!r}; e.g. "
            "refit_growth=1.5 (refit whenever the labels have grown by half since the last)."
        )
    if recipe == "refit":
        raise ValueError(
            "refit_growth schedules refits for the 'replay' and 'online' recipes, but "
            "recipe='refit' already refits at every step; pass one or the other."
        )


def names_parameter(func, name):
    """Whether ``func`` takes ``name`` explicitly (``**kwargs`` may forward it anywhere)."""
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def _accepts(func, name):
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _steps_due(state, steps_per_label):
    """SGD steps owed for the run's labels so far (fractions of a step carry over)."""
    return int(np.floor(steps_per_label * len(state.labelled) + 1e-9))


def _replay_minibatches(state, n_train, steps_per_label, batch_size, rng):
    """Rows (positions in the labels) of this step's SGD minibatches, drawn with replacement."""
    taken = state.sgd_steps
    # Steps owed minus steps taken (but the first acquisition always trains).
    owed = _steps_due(state, steps_per_label) - taken
    n_batches = max(owed, int(taken == 0))
    state.sgd_steps = taken + n_batches
    batch_size = batch_size if isinstance(batch_size, Integral) and batch_size > 0 else 128
    return rng.integers(n_train, size=n_batches * batch_size)


def refit_is_due(state, refit_growth, n_train=None):
    """Whether the labels have grown by ``refit_growth`` since the last refit.

    The first training counts as a refit (the model starts afresh then).
    ``n_train`` is every label the model trains on (the run's by default).
    """
    if refit_growth is None or state.refitted_at == 0:
        return False
    n_train = len(state.labelled) if n_train is None else n_train
    return n_train >= refit_growth * state.refitted_at - 1e-9


def _refit_rows(estimator, state, n_train):
    """Re-initialise a fitted ``estimator``; every label, for its ``max_epochs``."""
    if is_fitted(estimator) and hasattr(estimator, "initialize"):
        estimator.initialize()
    state.refitted_at = n_train
    return np.arange(n_train), getattr(estimator, "max_epochs", 1)


def training_rows(estimator, state, rng, *, recipe, steps_per_label, n_steps, replay,
                  refit_growth=None, n_train=None):
    """The labels this step trains on, and for how many epochs.

    The ``'refit'`` recipe, and a refit that ``refit_growth`` schedules,
    re-initialise a fitted ``estimator`` here.

    Parameters
    ----------
    estimator : skepinet estimator
    state : skepinet.runs.RunState
        The run, its new labels recorded (``state.pending``).
    rng : numpy.random.Generator
        Draws the replayed labels.
    recipe, steps_per_label, n_steps, replay, refit_growth
        As :meth:`skepinet.ActiveLearner.run` takes them.
    n_train : int or None (default=None)
        Every label the model trains on, the run's last: labels it held
        before the run come first. ``None``: the run's labels only.

    Returns
    -------
    positions : ndarray of int
        Positions in those labels (repeated for a row drawn twice).
    epochs : int
    """
    # SGD steps are owed for the run's labels; the rows they draw on are every label.
    n_train = len(state.labelled) if n_train is None else n_train
    if recipe == "refit":
        return _refit_rows(estimator, state, n_train)
    if refit_is_due(state, refit_growth, n_train):
        # The refit stands in for this step's replay steps, which are not owed later.
        state.sgd_steps = max(state.sgd_steps, _steps_due(state, steps_per_label))
        return _refit_rows(estimator, state, n_train)
    if state.refitted_at == 0:
        state.refitted_at = n_train
    if recipe == "replay":
        positions = _replay_minibatches(state, n_train, steps_per_label,
                                        getattr(estimator, "batch_size", None), rng)
        return positions, 1
    n_old = n_train - len(state.pending)
    old = np.arange(n_old)
    if replay is not None and replay < n_old:
        old = np.sort(rng.choice(n_old, size=replay, replace=False))
    return np.concatenate([old, np.arange(n_old, n_train)]).astype(int), n_steps


def partial_fit(estimator, X, y, epochs, *, classes=None, n_train=None):
    """Train ``estimator`` on ``(X, y)`` for ``epochs`` epochs, keeping what it learnt.

    Parameters
    ----------
    estimator : classifier with ``partial_fit``
    X, y : array-like
    epochs : int
    classes : array-like or None (default=None)
        Every label, for an estimator not fitted yet.
    n_train : int or None (default=None)
        Labels the rows stand for; an estimator that takes it divides a
        fixed prior's weight decay by it (a replay sample stands for every
        label so far, not for itself).
    """
    kwargs = {} if classes is None else {"classes": classes}
    if n_train is not None and names_parameter(estimator.partial_fit, "n_train"):
        kwargs["n_train"] = n_train
    if _accepts(estimator.partial_fit, "epochs"):  # skorch: n epochs in one call
        estimator.partial_fit(X, y, epochs=epochs, **kwargs)
    else:
        for _ in range(epochs):
            estimator.partial_fit(X, y, **kwargs)
