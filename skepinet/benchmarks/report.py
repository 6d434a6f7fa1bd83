"""Aggregate benchmark runs: mean learning curves, the tuned baseline, labels-to-match, plots.

Functions here take the raw records of :mod:`skepinet.benchmarks` runs
(``{(task, agent, seed): records}``) and return plain dicts and lists, so
they are easy to test and to write as JSON or CSV.
"""

import csv
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..metrics import geometric_mean, labels_to_match
from .agents import EPISTEMIC_AGENTS, NON_EPISTEMIC_AGENTS

__all__ = [
    "mean_se",
    "write_summary_json",
    "mean_curve",
    "tuned_baseline",
    "aggregate",
    "headline",
    "beats_at_every_point",
    "format_headline",
    "format_summary",
    "epistemic_checks",
    "paired_difference",
    "worst_paired_difference",
    "max_rise",
    "protocol_table",
    "format_protocol_table",
    "write_protocol_csv",
    "write_csv",
    "write_summary",
]

BASELINE = "baseline"


def mean_se(values):
    """Mean and standard error (ddof 1; NaN for one value) of a sequence of numbers."""
    values = np.asarray(values, dtype=np.float64)
    se = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    return float(values.mean()), float(se)


def mean_curve(curves, metrics):
    """Mean and standard error across seeds of learning curves with the same label counts.

    Parameters
    ----------
    curves : list of list of dict
        One curve per seed; each record has ``labels`` and the metrics.
    metrics : list of str
        Metrics to aggregate.

    Returns
    -------
    curve : list of dict
        One record per label count: ``labels``, ``n_seeds``, and
        ``<metric>`` / ``<metric>_se`` for each metric.
    """
    by_labels = defaultdict(list)
    for curve in curves:
        for record in curve:
            by_labels[record["labels"]].append(record)
    out = []
    for labels in sorted(by_labels):
        records = by_labels[labels]
        row = {"labels": labels, "n_seeds": len(records)}
        for metric in metrics:
            row[metric], row[f"{metric}_se"] = mean_se([r[metric] for r in records])
        out.append(row)
    return out


def tuned_baseline(records_per_seed, metric, *, greater_is_better, metrics):
    """The paper's baseline curve: the best setting per label count, chosen on the seed mean.

    Parameters
    ----------
    records_per_seed : list of list of dict
        Per seed, one record per (label count, setting) with ``labels``,
        ``params`` and the metrics (from ``run_baseline``).
    metric : str
        The metric that picks the setting.
    greater_is_better : bool
        Its direction.
    metrics : list of str
        Metrics to report for the chosen setting.

    Returns
    -------
    curve : list of dict
        As :func:`mean_curve`, plus ``params`` (the chosen setting).
    """
    groups = defaultdict(list)
    for records in records_per_seed:
        for r in records:
            groups[(r["labels"], _params_key(r["params"]))].append(r)
    best = {}
    for (labels, key), group in groups.items():
        score = np.mean([r[metric] for r in group])
        score = score if greater_is_better else -score
        if labels not in best or score > best[labels][0]:
            best[labels] = (score, key, group)
    out = []
    for labels in sorted(best):
        _, _, group = best[labels]
        row = {"labels": labels, "n_seeds": len(group), "params": group[0]["params"]}
        for m in metrics:
            row[m], row[f"{m}_se"] = mean_se([r[m] for r in group])
        out.append(row)
    return out


def aggregate(results, tasks, agents, metrics, metric, *, greater_is_better,
              baseline_metrics=None):
    """Mean agent curves and tuned baseline curves of every task, from the saved runs.

    Parameters
    ----------
    results : dict
        ``{(task, agent, seed): records}``; baseline runs are under agent
        ``'baseline'``.
    tasks, agents : list of str
        What to aggregate.
    metrics : list of str
        Metrics averaged over seeds.
    metric : str
        The metric that picks the baseline's setting.
    greater_is_better : bool
        Its direction.
    baseline_metrics : list of str or None (default=None)
        Metrics the baseline records; ``metrics`` when ``None``.

    Returns
    -------
    curves : dict
        ``{task: {agent: mean curve}}``.
    baselines : dict
        ``{task: baseline curve}``.
    """
    def runs(task, agent):
        return [r for (t, a, _), r in sorted(results.items()) if t == task and a == agent]

    curves = {task: {agent: mean_curve(runs(task, agent), metrics) for agent in agents}
              for task in tasks}
    baselines = {task: tuned_baseline(runs(task, BASELINE), metric,
                                      greater_is_better=greater_is_better,
                                      metrics=baseline_metrics or metrics)
                 for task in tasks}
    return curves, baselines


def _params_key(params):
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


def headline(curves, baselines, n_pool, metric, *, greater_is_better):
    """Labels-to-match ratios: per task and agent, and their geometric mean per agent.

    Parameters
    ----------
    curves : dict
        ``{task: {agent: mean curve}}`` (from :func:`mean_curve`).
    baselines : dict
        ``{task: baseline curve}`` (from :func:`tuned_baseline`); its
        largest label count is the full-data target.
    n_pool : dict
        ``{task: pool size}``.
    metric : str or dict
        The metric compared (per task when a dict).
    greater_is_better : bool or dict
        Its direction (per task when a dict).

    Returns
    -------
    table : dict
        ``{'tasks': {task: {'target': ..., 'ratios': {agent: ratio}}},
        'geometric_mean': {agent: ratio}}``; a ratio is ``inf`` when the
        agent never reaches the target.
    """
    table = {"tasks": {}, "geometric_mean": {}}
    per_agent = defaultdict(dict)
    for task, agents in curves.items():
        m = metric[task] if isinstance(metric, dict) else metric
        g = greater_is_better[task] if isinstance(greater_is_better, dict) else greater_is_better
        target = baselines[task][-1][m]
        ratios = {}
        for agent, curve in agents.items():
            labels = [r["labels"] for r in curve]
            n = labels_to_match(labels, [r[m] for r in curve], target, greater_is_better=g)
            ratios[agent] = n / n_pool[task]
            per_agent[agent][task] = ratios[agent]
        table["tasks"][task] = {"metric": m, "target": target, "ratios": ratios}
    for agent, ratios in per_agent.items():
        if len(ratios) == len(curves):
            table["geometric_mean"][agent] = geometric_mean(list(ratios.values()))
    return table


def beats_at_every_point(curve, others, metric, *, greater_is_better, from_labels=0):
    """Whether ``curve``'s mean is better than every other curve at every shared label count.

    Parameters
    ----------
    curve : list of dict
        The mean curve of the agent under test.
    others : dict
        ``{name: mean curve}`` to compare with.
    metric : str
        The metric.
    greater_is_better : bool
        Its direction.
    from_labels : int (default=0)
        Only label counts at least this large are compared.

    Returns
    -------
    result : dict
        ``{name: list of label counts where curve is not better}`` (empty
        lists mean it beats that agent everywhere).
    """
    mine = {r["labels"]: r[metric] for r in curve if r["labels"] >= from_labels}
    out = {}
    for name, other in others.items():
        theirs = {r["labels"]: r[metric] for r in other}
        shared = sorted(set(mine) & set(theirs))
        out[name] = [n for n in shared
                     if not (mine[n] > theirs[n] if greater_is_better else mine[n] < theirs[n])]
    return out




def epistemic_checks(curves, n_pool, metric, *, greater_is_better, from_fraction=0.1):
    """Where each epistemic epinet agent is not better than each non-epistemic one.

    Parameters
    ----------
    curves : dict
        ``{task: {agent: mean curve}}``.
    n_pool : dict
        ``{task: pool size}``.
    metric : str
        The metric compared.
    greater_is_better : bool
        Its direction.
    from_fraction : float (default=0.1)
        Only label counts from this fraction of the pool on are compared.

    Returns
    -------
    checks : dict
        ``{'<task> <agent>': {other agent: [label counts where not better]}}``.
    """
    checks = {}
    for task, agent_curves in curves.items():
        others = {a: agent_curves[a] for a in NON_EPISTEMIC_AGENTS if a in agent_curves}
        for agent in EPISTEMIC_AGENTS:
            if agent in agent_curves:
                checks[f"{task} {agent}"] = beats_at_every_point(
                    agent_curves[agent], others, metric, greater_is_better=greater_is_better,
                    from_labels=from_fraction * n_pool[task])
    return checks


def paired_difference(results, task, agent, other, labels, metric):
    """Mean and standard error over seeds of ``agent`` minus ``other`` at ``labels``.

    Only seeds both agents ran are paired; ``(nan, nan)`` when none are.

    Parameters
    ----------
    results : dict
        ``{(task, agent, seed): records}``.
    task, agent, other : str
        The task and the two agents.
    labels : int
        The label count compared.
    metric : str
        The metric.

    Returns
    -------
    mean, se : float
    n_seeds : int
    """
    def at(name):
        return {seed: r[metric] for (t, a, seed), records in results.items()
                if t == task and a == name for r in records if r["labels"] == labels}

    mine, theirs = at(agent), at(other)
    seeds = sorted(set(mine) & set(theirs))
    if not seeds:
        return float("nan"), float("nan"), 0
    mean, se = mean_se([mine[s] - theirs[s] for s in seeds])
    return mean, se, len(seeds)


def worst_paired_difference(results, task, agent, other, labels, metric, *,
                            greater_is_better):
    """The label count where ``agent`` trails ``other`` most, by paired difference.

    "At least matches ``other`` at every label count" holds when the result
    is not behind (a positive ``z``), or behind by less than the noise.

    Parameters
    ----------
    results : dict
        ``{(task, agent, seed): records}``.
    task, agent, other : str
        The task and the two agents.
    labels : iterable of int
        The label counts compared.
    metric : str
        The metric.
    greater_is_better : bool
        Its direction.

    Returns
    -------
    at : int or None
        The label count (``None`` when no count has paired seeds).
    mean, se : float
        ``agent`` minus ``other`` there, over the paired seeds.
    z : float
        ``mean / se``, signed so that positive means ``agent`` is ahead.
    """
    sign = 1.0 if greater_is_better else -1.0
    worst = (None, float("nan"), float("nan"), float("nan"))
    for n in labels:
        mean, se, n_seeds = paired_difference(results, task, agent, other, n, metric)
        if not n_seeds or math.isnan(mean):
            continue
        if worst[0] is None or sign * mean < sign * worst[1]:
            z = sign * mean / se if se > 0 else (0.0 if mean == 0 else math.copysign(
                math.inf, sign * mean))
            worst = (n, mean, se, z)
    return worst


def max_rise(curve, metric, *, greater_is_better):
    """How far a mean learning curve ever falls behind its own best so far.

    Returns
    -------
    rise : float
        The largest loss of ``metric`` from the best earlier point (``0``
        when the curve never gets worse as labels grow).
    labels : int or None
        Where that happens.
    se : float
        The curve's standard error there.
    """
    best, rise, where, se = None, 0.0, None, float("nan")
    for r in curve:
        value = r[metric] if greater_is_better else -r[metric]
        if best is not None and best - value > rise:
            rise, where, se = best - value, r["labels"], r.get(f"{metric}_se", float("nan"))
        best = value if best is None else max(best, value)
    return float(rise), where, float(se)


def _value_at(curve, labels, metric):
    return next((r[metric] for r in curve if r["labels"] == labels), float("nan"))


def protocol_table(results, curves, baselines, budgets, metric, *, greater_is_better,
                   references=("epinet:uniform", "epinet:entropy")):
    """Per task and agent: the score at the budget, labels to match, paired differences.

    For each agent: its mean ``metric`` at the budget; the labels its mean
    curve needs to reach the first reference agent's budget score
    (``to_match_<reference>``) and the tuned baseline's budget score
    (``to_match_baseline``), as fractions of the budget (``inf``: never);
    its paired difference to each reference at the budget, over seeds
    (``minus_<reference>`` mean, ``_se`` and ``_z`` = mean / se, signed so
    that a positive ``_z`` means the agent is ahead); where along its curve
    it trails the first reference most (``worst_minus_<reference>``, with
    ``_se``, ``_z`` and ``_at``, the label count: :func:`worst_paired_difference`);
    and the curve's :func:`max_rise`.

    Parameters
    ----------
    results : dict
        ``{(task, agent, seed): records}``.
    curves, baselines : dict
        From :func:`aggregate`.
    budgets : dict
        ``{task: budget}``.
    metric : str
        The metric.
    greater_is_better : bool
        Its direction.
    references : tuple of str
        Agents compared against.

    Returns
    -------
    table : dict
        ``{task: {'budget', 'targets': {name: score}, 'agents': {agent: row}}}``.
    """
    sign = 1.0 if greater_is_better else -1.0
    first = references[0] if references else None  # the per-count comparison's reference
    table = {}
    for task, agent_curves in curves.items():
        budget = budgets[task]
        targets = {ref: _value_at(agent_curves[ref], budget, metric)
                   for ref in references if ref in agent_curves}
        baseline = baselines.get(task) or []
        if baseline and baseline[-1]["labels"] == budget:
            targets["baseline"] = baseline[-1][metric]
        rows = {}
        for agent, curve in agent_curves.items():
            labels = [r["labels"] for r in curve]
            scores = [r[metric] for r in curve]
            row = {"at_budget": _value_at(curve, budget, metric),
                   "at_budget_se": _value_at(curve, budget, f"{metric}_se")}
            for name, target in targets.items():
                n = labels_to_match(labels, scores, target, greater_is_better=greater_is_better)
                row[f"to_match_{name}"] = n / budget
            for ref in references:
                if ref in agent_curves and ref != agent:
                    mean, se, n_seeds = paired_difference(results, task, agent, ref, budget,
                                                          metric)
                    row[f"minus_{ref}"], row[f"minus_{ref}_se"] = mean, se
                    row[f"minus_{ref}_z"] = sign * mean / se if se > 0 else float("nan")
                    row["n_seeds"] = n_seeds
            if first in agent_curves and first != agent:
                at, mean, se, z = worst_paired_difference(
                    results, task, agent, first, labels, metric,
                    greater_is_better=greater_is_better)
                key = f"worst_minus_{first}"
                row[key], row[f"{key}_se"], row[f"{key}_z"], row[f"{key}_at"] = mean, se, z, at
            row["max_rise"], row["max_rise_at"], row["max_rise_se"] = max_rise(
                curve, metric, greater_is_better=greater_is_better)
            rows[agent] = row
        table[task] = {"budget": budget, "metric": metric, "targets": targets, "agents": rows}
    return table


def _cell(value, fmt="{:.3f}"):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)


def format_protocol_table(table):
    """:func:`protocol_table` as text, one block per task."""
    lines = []
    for task, entry in table.items():
        keys = list(dict.fromkeys(k for row in entry["agents"].values() for k in row))
        refs = [k[len("to_match_"):] for k in keys if k.startswith("to_match_")]
        diffs = [k for k in keys if k.startswith("minus_") and not k.endswith(("_se", "_z"))]
        worst = [k for k in keys if k.startswith("worst_minus_")
                 and not k.endswith(("_se", "_z", "_at"))]
        targets = ", ".join(f"{name} {value:.4f}" for name, value in entry["targets"].items())
        lines.append(f"{task}: budget {entry['budget']}; {entry['metric']} targets at the "
                     f"budget: {targets}")
        width = max(len(a) for a in entry["agents"]) if entry["agents"] else 8
        header = (f"  {'agent':<{width}} {'at budget':>16} "
                  + " ".join(f"{'to match ' + r:>22}" for r in refs)
                  + " " + " ".join(f"{d.replace('minus_', '- '):>26}" for d in diffs)
                  + "".join(f" {'worst ' + w.replace('worst_minus_', '- '):>34}" for w in worst)
                  + f" {'max rise':>9}")
        lines.append(header)
        for agent, row in entry["agents"].items():
            at = f"{_cell(row['at_budget'], '{:.4f}')} ± {_cell(row['at_budget_se'])}"
            matches = " ".join(f"{format_ratio(row[f'to_match_{r}']):>22}" for r in refs)
            cells = []
            for d in diffs:
                if d in row:
                    cells.append(f"{row[d]:+.4f} ± {_cell(row[d + '_se'], '{:.4f}')} "
                                 f"({_cell(row[d + '_z'], '{:+.1f}')}se)")
                else:
                    cells.append("-")
            worst_cells = [
                f"{row[w]:+.4f} ± {_cell(row[w + '_se'], '{:.4f}')} at {row[w + '_at']}"
                if w in row and row[w + "_at"] is not None else "-" for w in worst]
            lines.append(f"  {agent:<{width}} {at:>16} {matches} "
                         + " ".join(f"{c:>26}" for c in cells)
                         + "".join(f" {c:>34}" for c in worst_cells)
                         + f" {row['max_rise']:>9.4f}")
        lines.append("")
    lines.append("(to match: labels / budget for the mean curve to reach that score; "
                 "- ref: paired difference at the budget over seeds, (+z se) = ahead; worst - ref: "
                 "the label count where it trails ref most)")
    return "\n".join(lines)


def write_protocol_csv(path, table):
    """Write :func:`protocol_table` as CSV, one row per (task, agent)."""
    write_csv(path, [dict(task=task, agent=agent, budget=entry["budget"], **row)
                     for task, entry in table.items() for agent, row in entry["agents"].items()])


def format_summary(summary, metrics):
    """A sweep's headline table, baseline targets and checks as text.

    Parameters
    ----------
    summary : dict
        From ``run_testbed`` or ``run_glue``.
    metrics : list of str
        Metrics of the baseline to print (the first one is the target).
    """
    lines = [format_headline(summary["headline"]), ""]
    for task, baseline in summary["baselines"].items():
        full = baseline[-1]
        scores = ", ".join(f"{m.replace('_', '-')} {full[m]:.4f} ± {full[m + '_se']:.4f}"
                           for m in metrics)
        lines.append(f"{task}: tuned baseline at {full['labels']} labels: {scores} "
                     f"({full['n_seeds']} seeds, "
                     f"{json.dumps(full['params'], sort_keys=True)})")
    for name, misses in summary.get("not_better_at", {}).items():
        lost = {other: labels for other, labels in misses.items() if labels}
        verdict = "better than all at every label count >= 10% of the pool" if not lost else (
            "not better than " + "; ".join(f"{o} at {n}" for o, n in lost.items()))
        lines.append(f"{name}: {verdict}")
    lines.append(f"wall time of this call {summary['wall_time_s']:.0f} s (saved runs are reused)")
    return "\n".join(lines)


def format_ratio(ratio):
    return "never" if math.isinf(ratio) else f"{ratio:.2f}"


def format_headline(table):
    """The headline table as text: rows are agents, columns tasks and their geometric mean."""
    tasks = list(table["tasks"])
    agents = list(dict.fromkeys(a for t in tasks for a in table["tasks"][t]["ratios"]))
    width = max([len(a) for a in agents] + [8])
    header = f"{'agent':<{width}} " + " ".join(f"{t:>12}" for t in tasks) + f" {'geo. mean':>10}"
    lines = [header]
    for agent in agents:
        cells = [format_ratio(table["tasks"][t]["ratios"].get(agent, math.nan)) for t in tasks]
        gm = table["geometric_mean"].get(agent)
        lines.append(f"{agent:<{width}} " + " ".join(f"{c:>12}" for c in cells)
                     + f" {format_ratio(gm) if gm is not None else '-':>10}")
    targets = ", ".join(f"{t}: {table['tasks'][t]['metric']} {table['tasks'][t]['target']:.4f}"
                        for t in tasks)
    lines.append(f"(labels needed to match the tuned baseline's {targets}, "
                 "as a fraction of the labels it had)")
    return "\n".join(lines)


def write_csv(path, rows):
    """Write a list of flat dicts as CSV (columns from the first row, then any new keys)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in columns})


def _json_default(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {value!r}")


def write_summary_json(out, summary):
    """Write ``summary.json`` under ``out`` (folders created)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=_json_default) + "\n")


def write_summary(out, summary):
    """Write ``summary.json``, ``headline.csv`` and ``curves.csv`` of a sweep under ``out``."""
    out = Path(out)
    write_summary_json(out, summary)
    table = summary["headline"]
    write_csv(out / "headline.csv", [
        {"task": task, "agent": agent, "labels_ratio": ratio, "metric": row["metric"],
         "target": row["target"]}
        for task, row in table["tasks"].items() for agent, ratio in row["ratios"].items()
    ] + [{"task": "geometric_mean", "agent": a, "labels_ratio": r}
         for a, r in table["geometric_mean"].items()])
    rows = [dict(task=task, agent=agent, **r) for task, agents in summary["curves"].items()
            for agent, curve in agents.items() for r in curve]
    rows += [dict(task=task, agent="baseline", **{k: v for k, v in r.items() if k != "params"},
                  params=json.dumps(r["params"], sort_keys=True))
             for task, curve in summary["baselines"].items() for r in curve]
    write_csv(out / "curves.csv", rows)
    if "savings" in summary:
        write_csv(out / "savings.csv", [
            dict(task=task, agent=agent, reference=entry["reference"], **point)
            for task, entry in summary["savings"].items()
            for agent, points in entry["agents"].items() for point in points])
