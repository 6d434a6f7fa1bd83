"""What every timing benchmark records and does around its measurements, and the options.

Shared by the timing subcommands of ``skepinet-bench`` (``cost``, ``fit``,
``scoring``, ``checkpoint``, ``label``, ``strategies``, ``text-cost``,
``sst2-accuracy``) and by the sweeps (:func:`torch_threads`). Every
subcommand states its defaults once, in a frozen dataclass of
:func:`option` fields with a ``quick()`` variant (e.g.
:class:`~skepinet.benchmarks.testbed.TestbedDefaults`): :func:`add_options`
builds its command-line options from it and :func:`options_from_args`
reads them back.
"""

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

import torch

from .. import __version__

__all__ = ["environment", "timing_result", "minilm_estimator", "timed", "interleaved_times",
           "torch_threads", "write_result", "resolve_glue_dir", "parse_int_list",
           "parse_float_list", "parse_name_list", "parse_names", "name_list", "parse_json",
           "option", "add_options", "options_from_args", "budget_label_counts"]


def environment(device, load_before):
    """Settings that make a timing interpretable: versions, threads, machine, load.

    Parameters
    ----------
    device : str or torch.device
        Where the estimators ran.
    load_before : tuple of float
        ``os.getloadavg()`` taken before the measurements.

    Returns
    -------
    settings : dict
    """
    settings = {
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "device": str(device),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "skepinet_version": __version__,
        "loadavg_1_5_15_min_before": list(load_before),
        "loadavg_1_5_15_min_after": list(os.getloadavg()),
    }
    try:
        import transformers
    except ImportError:
        return settings
    return {**settings, "transformers_version": transformers.__version__}


def timing_result(settings, rows, device, load_before):
    """A timing benchmark's result: its settings with :func:`environment`'s, and its rows.

    Parameters
    ----------
    settings : dict
        What was measured and how.
    rows : list of dict
        One row per measurement.
    device, load_before
        As for :func:`environment`.

    Returns
    -------
    result : dict
        ``{"settings": settings + environment, "rows": rows}``.
    """
    return {"settings": {**settings, **environment(device, load_before)}, "rows": rows}


def minilm_estimator(cls, options, *, predict_batch_size=None, **params):
    """An estimator of class ``cls`` on the text backbone, set from a text benchmark's options.

    Parameters
    ----------
    cls : type
        A skepinet estimator class.
    options
        The benchmark's settings: ``pretrained``, ``max_length``,
        ``batch_size``, ``lr`` and ``device``.
    predict_batch_size : int or None (default=None)
        Prediction batch size; ``None`` is ``options.batch_size``.
    **params
        Further estimator parameters.

    Returns
    -------
    estimator : cls
        Unfitted, ``random_state=0``.
    """
    return cls(backbone="bert", pretrained=options.pretrained, max_length=options.max_length,
               batch_size=options.batch_size,
               iterator_valid__batch_size=predict_batch_size or options.batch_size,
               lr=options.lr, random_state=0, device=options.device, **params)


def timed(fn):
    """Seconds one call of ``fn()`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved_times(calls, repeats):
    """Time every call ``repeats`` times, in turn, with ``calls[0]`` (the reference) before each.

    The reference is the denominator of every ratio, so one noisy sample
    would skew them all: timing it again before each other call costs little
    and gives it many samples, and interleaving lets load on a shared machine
    hit every call alike. Warm the calls up first; nothing here is untimed.

    Returns
    -------
    times : list of list of float
        Per call, its samples (the reference's has one per other call and
        repeat).
    """
    times = [[] for _ in calls]
    for _ in range(repeats):
        for i, call in enumerate(calls):
            if i:
                times[0].append(timed(calls[0]))
            times[i].append(timed(call))
    return times


@contextlib.contextmanager
def torch_threads(n_threads):
    """Run with ``n_threads`` torch threads (``None``: leave as is), then restore."""
    before = torch.get_num_threads()
    if n_threads is not None:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def write_result(result, table, out):
    """Print ``table`` and write ``result`` as JSON to ``out`` (folders created)."""
    print(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


def resolve_glue_dir(data_dir=None):
    """The GLUE folder: ``data_dir``, else ``$GLUE_DIR``; an error naming both when neither is set.

    There is deliberately no default path: a folder outside the repository
    would make a run depend on where it was started from.

    Parameters
    ----------
    data_dir : path or None
        The folder given on the command line (``--data-dir``).

    Returns
    -------
    data_dir : Path

    Raises
    ------
    ValueError
        When ``data_dir`` is ``None`` and ``$GLUE_DIR`` is unset or empty.
    """
    if data_dir is not None:
        return Path(data_dir)
    env = os.environ.get("GLUE_DIR")
    if not env:
        raise ValueError("no GLUE folder: pass --data-dir or set $GLUE_DIR "
                         "(a folder with the download_glue_data layout, e.g. SST-2/train.tsv).")
    return Path(env)


def parse_int_list(text):
    """``'0-9'``, ``'0,3,5'`` or ``'0-2,7'`` as a list of ints (an argparse type)."""
    values = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part[1:]:
            low, high = part.split("-", 1) if not part.startswith("-") else (part, part)
            values.extend(range(int(low), int(high) + 1))
        else:
            values.append(int(part))
    if not values:
        raise argparse.ArgumentTypeError(f"expected integers like '0-9' or '0,1,2', got {text!r}")
    return values


def budget_label_counts(budget, fractions):
    """Label counts at ``fractions`` of ``budget``: at least 1 each, sorted, no repeats."""
    return sorted({max(1, int(round(f * budget))) for f in fractions})


def parse_float_list(text):
    """``'0.1,0.5'`` as a list of floats (an argparse type)."""
    try:
        values = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        values = []
    if not values:
        raise argparse.ArgumentTypeError(f"expected numbers like '0.1,0.5', got {text!r}")
    return values


def parse_name_list(text):
    """``'cls,mean'`` as a list of non-empty names (an argparse type)."""
    names = parse_names(text)
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated names, got {text!r}")
    return names


def parse_names(text):
    """``'a,b'`` as a list of names; ``''`` names none (an argparse type, e.g. ``--agents``)."""
    return [n.strip() for n in str(text).split(",") if n.strip()]


def name_list(choices):
    """An argparse type: comma-separated names, at least one, each one of ``choices``."""
    def parse(text):
        names = parse_names(text)
        bad = [n for n in names if n not in choices]
        if not names or bad:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated names from {', '.join(choices)}, got {text!r}")
        return names
    return parse


def parse_json(text):
    """A JSON object, e.g. ``'{"lr": 0.001}'``, as a dict (an argparse type)."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"expected a JSON object like '{{\"lr\": 0.001}}', got {text!r}")
    return value


def option(default, help, type=None, *, choices=None, shown=None, merge=False):
    """A dataclass field that is also a command-line option.

    Parameters
    ----------
    default : object
        The field's default (lists are given as tuples, so dataclasses stay
        hashable and the default cannot be mutated; a dict default is copied
        for each instance).
    help : str
        The option's help, without the default (:func:`add_options` adds it).
    type : callable or None
        The argparse type; ``None`` for flags (bool fields) and plain strings.
    choices : tuple or None
        The values allowed, as argparse's ``choices``.
    shown : str or None
        How ``--help`` states a ``None`` default: the rule that applies
        instead (e.g. ``'all'``, or a default that depends on another option).
    merge : bool
        For dict options: a value given updates the default's dict (full or
        ``--quick``) instead of replacing it.
    """
    metadata = {"help": help, "type": type, "choices": choices, "shown": shown, "merge": merge}
    if isinstance(default, dict):
        return dataclasses.field(default_factory=lambda: dict(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _shown(value):
    if isinstance(value, (list, tuple)):
        if (len(value) > 2 and all(type(v) is int for v in value)
                and list(value) == list(range(value[0], value[-1] + 1))):
            return f"{value[0]}-{value[-1]}"  # consecutive ints, as parse_int_list reads them
        return ",".join(_shown(v) for v in value)
    if isinstance(value, float):
        return str(value).removesuffix(".0")
    if isinstance(value, dict):
        return json.dumps(value)
    return "none" if value is None else str(value)


def _options(defaults):
    """The fields of the dataclass ``defaults`` that are command-line options."""
    return [f for f in dataclasses.fields(defaults) if "help" in f.metadata]


def add_options(parser, defaults, skip=()):
    """Add one option per field of the dataclass ``defaults``, help and defaults from its fields.

    Every option defaults to ``None`` so that :func:`options_from_args` can
    tell a value given from one left to the defaults (full or ``quick()``).

    Parameters
    ----------
    parser : argparse.ArgumentParser
    defaults : dataclass type
        With a ``quick()`` classmethod giving the ``--quick`` variant.
    skip : tuple of str
        Fields the subcommand adds itself (``quick``, ``out``).
    """
    full, quick = defaults(), defaults.quick()
    for field in _options(defaults):
        if field.name in skip:
            continue
        flag = "--" + field.name.replace("_", "-")
        value, small, meta = getattr(full, field.name), getattr(quick, field.name), field.metadata
        default = meta["shown"] if value is None and meta["shown"] else _shown(value)
        shown = f"default {default}" + (f"; --quick {_shown(small)}" if small != value else "")
        if isinstance(value, bool):
            parser.add_argument(flag, action="store_true", default=None, help=meta["help"])
        else:
            parser.add_argument(flag, type=meta["type"], choices=meta["choices"], default=None,
                                help=f"{meta['help']} ({shown})")


def options_from_args(defaults, args):
    """The dataclass ``defaults`` (``quick()`` with ``--quick``) with the options given in ``args``."""
    base = defaults.quick() if getattr(args, "quick", False) else defaults()
    given = {}
    for field in _options(defaults):
        value = getattr(args, field.name, None)
        if value is not None:
            merge = field.metadata["merge"]
            given[field.name] = {**getattr(base, field.name), **value} if merge else value
    return dataclasses.replace(base, **given)
