"""Final fits: what an agent's labels are worth to a model fitted afresh on them.

A sweep's learning curve scores the loop's own model, trained online as the
labels came in (:meth:`skepinet.ActiveLearner.run`). When the budget is
spent, a user fits the model they keep afresh on every label
(``learner.fit(learner.X_training, learner.y_training)``), and that model can
differ: trained online from its first labels, the loop's network ends worse
than one fitted once on the same labels, and by how much depends on which
labels a priority chose (tuning rounds 16-20 in
``benchmarks/results/testbed-tuning/README.md``). At the *final-fit points*
of a sweep, each run also fits a fresh copy of its agent's estimator (same
settings and seed, its ``max_epochs``) on the labels so far and records its
scores under ``final_fit``; :func:`final_fit_table` compares those fits
across agents, paired by seed, as
:func:`~skepinet.benchmarks.report.protocol_table` compares the loop's
models.
"""

import csv
import math
from pathlib import Path

from ..metrics import evaluate_enn, labels_to_match
from .common import budget_label_counts
from .report import format_ratio, mean_curve, paired_difference

__all__ = ["final_fit_labels", "final_fit_scores", "final_fit_results", "final_fit_summary",
           "final_fit_table", "format_final_fit_table", "write_final_fit_csv"]

METRICS = ("accuracy", "log_loss")


def final_fit_labels(budget, fractions, labels, n_points):
    """Label counts of the final fits: ``fractions`` of the budget, each a point of ``labels``."""
    counts = budget_label_counts(budget, fractions)
    off = [n for n in counts if n not in labels]
    if off:
        raise ValueError(
            f"final_fit={list(fractions)} asks for final fits at {off} labels, which are not "
            f"points of the curve ({n_points} points up to {budget}: every "
            f"{budget / n_points:g} labels); choose fractions that are multiples of "
            f"1/n_points, e.g. 0.25,0.5,1 with n_points a multiple of 4."
        )
    return counts


def final_fit_scores(make_estimator, learner, problem, *, n_index, random_state):
    """Fit a fresh estimator on every label of ``learner``'s run and score it on the test set.

    Parameters
    ----------
    make_estimator : callable
        ``make_estimator() -> estimator``, unfitted, with the agent's settings.
    learner : skepinet.ActiveLearner
        The run (its ``X_training`` and ``y_training``: every label so far,
        each answer once per time it was asked).
    problem : dict
        ``X_test``, ``y_test`` and optionally ``proba_test``.
    n_index : int
        Index samples for the joint prediction.
    random_state : int
        Seeds the index samples of the evaluation.

    Returns
    -------
    scores : dict
        ``accuracy`` and ``log_loss`` of the fresh fit.
    """
    estimator = make_estimator().fit(learner.X_training, learner.y_training)
    scores = evaluate_enn(estimator, problem["X_test"], problem["y_test"],
                          problem.get("proba_test"), n_index=n_index,
                          random_state=random_state)
    return {metric: float(scores[metric]) for metric in METRICS}


def final_fit_results(results):
    """The final fits of a sweep's runs, as curves: ``{(task, agent, seed): records}``.

    Runs without final fits are left out; each record has ``labels`` and
    the fit's metrics, so the report's curve functions read them.
    """
    out = {}
    for key, records in results.items():
        fits = [{"labels": r["labels"], **r["final_fit"]} for r in records if "final_fit" in r]
        if fits:
            out[key] = fits
    return out


def _score_at(curve, labels, metric):
    return next((r[metric] for r in curve if r["labels"] == labels), float("nan"))


def _ratio(labels, scores, target, budget, greater_is_better):
    """Labels-to-match over the budget; NaN when there is nothing to match."""
    if math.isnan(target):
        return float("nan")
    return labels_to_match(labels, scores, target, greater_is_better=greater_is_better) / budget


def final_fit_table(results, budgets, baselines, metric, *, greater_is_better,
                    reference="epinet:uniform"):
    """Per task and agent: the final fit at the budget, paired with ``reference``'s.

    Parameters
    ----------
    results : dict
        ``{(task, agent, seed): records}`` of the sweep.
    budgets : dict
        ``{task: budget}``.
    baselines : dict
        ``{task: tuned baseline curve}`` (random labels, best setting in
        hindsight), whose budget score is the second target.
    metric : str
        ``'log_loss'`` or ``'accuracy'``.
    greater_is_better : bool
        The metric's direction.
    reference : str (default='epinet:uniform')
        The agent every other is paired with.

    Returns
    -------
    table : dict
        ``{task: [row, ...]}``, a row per agent with final fits:
        ``agent``, ``budget``, ``final_fit_labels`` (the fits' label
        counts), ``final_fit`` and ``final_fit_se`` (mean over seeds at the
        budget), ``loop`` (the loop's model there, for comparison),
        ``minus_reference`` / ``minus_reference_se`` / ``n_seeds`` (paired
        over seeds), ``labels_to_match_reference`` (the first final-fit
        point whose mean fit reaches the reference's final fit at the
        budget, over the budget; ``inf``: none; ``nan``: nothing to match)
        and ``labels_to_match_baseline`` (the same against the tuned
        baseline's budget score).
    """
    fits = final_fit_results(results)
    table = {}
    for task, budget in budgets.items():
        agents = sorted({a for t, a, _ in fits if t == task})
        if not agents:
            continue
        curves = {a: mean_curve([r for (t, name, _), r in sorted(fits.items())
                                 if t == task and name == a], [metric]) for a in agents}
        target = (_score_at(curves[reference], budget, metric) if reference in curves
                  else float("nan"))
        baseline = _score_at(baselines.get(task) or [], budget, metric)
        rows = []
        for agent in agents:
            curve = curves[agent]
            labels = [r["labels"] for r in curve]
            scores = [r[metric] for r in curve]
            # In seed order: the runs arrive in the order they finished, and a float sum
            # in another order differs in the last bit (the CSVs must regenerate exactly).
            loop = [r[metric] for (t, a, _), records in sorted(results.items())
                    if t == task and a == agent for r in records if r["labels"] == budget]
            mean, se, n = paired_difference(fits, task, agent, reference, budget, metric)
            rows.append({
                "agent": agent, "budget": budget, "final_fit_labels": labels,
                "final_fit": _score_at(curve, budget, metric),
                "final_fit_se": _score_at(curve, budget, f"{metric}_se"),
                "loop": sum(loop) / len(loop) if loop else float("nan"),
                "minus_reference": mean, "minus_reference_se": se, "n_seeds": n,
                "labels_to_match_reference": _ratio(labels, scores, target, budget,
                                                    greater_is_better),
                "labels_to_match_baseline": _ratio(labels, scores, baseline, budget,
                                                   greater_is_better),
            })
        table[task] = {"metric": metric, "reference": reference, "baseline": baseline,
                       "rows": rows}
    return table


def final_fit_summary(results, budgets, baselines, *, reference="epinet:uniform"):
    """``final_fit`` (log-loss) and ``final_fit_accuracy`` tables; empty without final fits."""
    table = final_fit_table(results, budgets, baselines, "log_loss", greater_is_better=False,
                            reference=reference)
    if not table:
        return {}
    return {"final_fit": table,
            "final_fit_accuracy": final_fit_table(results, budgets, baselines, "accuracy",
                                                  greater_is_better=True, reference=reference)}


def format_final_fit_table(table):
    """:func:`final_fit_table` as text, one line per agent."""
    lines = []
    for task, entry in table.items():
        metric, reference = entry["metric"], entry["reference"]
        for row in entry["rows"]:
            text = (f"{task} final fit on the labels, {metric} at {row['budget']}: {row['agent']} "
                    f"{row['final_fit']:.3f} (the loop's model {row['loop']:.3f})")
            if row["agent"] != reference and row["n_seeds"]:
                z = abs(row["minus_reference"]) / row["minus_reference_se"] \
                    if row["minus_reference_se"] > 0 else float("inf")
                text += (f"; minus {reference} {row['minus_reference']:+.3f} ± "
                         f"{row['minus_reference_se']:.3f} ({z:.1f} se); labels to match its "
                         f"final fit {format_ratio(row['labels_to_match_reference'])}")
            text += f"; the tuned baseline's {format_ratio(row['labels_to_match_baseline'])}"
            lines.append(text)
    return "\n".join(lines)


def write_final_fit_csv(path, table):
    """Write :func:`final_fit_table` as CSV, a row per task and agent."""
    fields = ["task", "agent", "budget", "final_fit", "final_fit_se", "loop", "minus_reference",
              "minus_reference_se", "n_seeds", "labels_to_match_reference",
              "labels_to_match_baseline"]
    with open(Path(path), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for task, entry in table.items():
            for row in entry["rows"]:
                writer.writerow({"task": task, **{k: row[k] for k in fields[1:]}})
