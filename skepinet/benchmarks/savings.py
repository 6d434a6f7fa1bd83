"""Saving curves: how many labels an agent needs to match a reference, at every budget.

:func:`~skepinet.benchmarks.report.protocol_table` reads labels-to-match at
one budget; a saving curve reads it at every label count of the reference's
curve, which shows whether the saving grows or shrinks as labels accumulate.
"""

from ..metrics import labels_to_match
from .report import format_ratio

__all__ = ["saving_curve", "savings_table", "format_savings"]


def saving_curve(curve, reference, metric, *, greater_is_better):
    """At each label count of ``reference``'s curve, the labels ``curve`` needs to match it.

    The labels-to-match ratio of
    :func:`~skepinet.benchmarks.report.protocol_table` at every budget
    rather than one: a point ``{'labels': n, 'ratio': r}`` says that the
    agent's mean curve first reaches the reference's score at ``n``
    labels after ``r * n`` labels (``inf``: never within its curve; above
    1: it needs more). How the saving grows or shrinks with the budget is
    the question this answers.

    Parameters
    ----------
    curve, reference : list of dict
        Mean curves (from :func:`~skepinet.benchmarks.report.mean_curve`) of
        the agent and the reference.
    metric : str
        The metric compared.
    greater_is_better : bool
        Its direction.

    Returns
    -------
    points : list of dict
        One ``{'labels', 'ratio'}`` per point of ``reference``.
    """
    labels = [r["labels"] for r in curve]
    scores = [r[metric] for r in curve]
    return [{"labels": r["labels"],
             "ratio": labels_to_match(labels, scores, r[metric],
                                      greater_is_better=greater_is_better) / r["labels"]}
            for r in reference]


def savings_table(curves, metric, *, greater_is_better, reference="epinet:uniform"):
    """:func:`saving_curve` of every agent against ``reference``, per task that ran it.

    Returns
    -------
    table : dict
        ``{task: {'reference': name, 'agents': {agent: points}}}``.
    """
    return {task: {"reference": reference,
                   "agents": {agent: saving_curve(curve, agents[reference], metric,
                                                  greater_is_better=greater_is_better)
                              for agent, curve in agents.items() if agent != reference}}
            for task, agents in curves.items() if reference in agents}


def format_savings(table, fractions=(0.25, 0.5, 1.0)):
    """:func:`savings_table` as text: each agent's ratio at ``fractions`` of the reference's budget."""
    lines = []
    for task, entry in table.items():
        for agent, points in entry["agents"].items():
            if not points:
                continue
            budget = points[-1]["labels"]
            cells = []
            for fraction in fractions:
                point = min(points, key=lambda p: abs(p["labels"] - fraction * budget))
                cells.append(f"{point['labels']}: {format_ratio(point['ratio'])}")
            lines.append(f"{task}: {agent}'s labels to match {entry['reference']}, as a "
                         "fraction of its labels, at " + ", ".join(cells))
    return "\n".join(lines)
