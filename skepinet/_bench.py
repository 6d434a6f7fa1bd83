"""What every benchmark script records and does around its measurements (private)."""

import contextlib
import json
import os
import platform
import time

import torch

from . import __version__


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


def report(result, table, out):
    """Print ``table`` and write ``result`` as JSON to ``out`` (folders created)."""
    print(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
