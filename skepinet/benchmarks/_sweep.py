"""Run benchmark units in parallel with joblib, each saved to its own JSON file (private).

A *unit* is one (task, agent, seed) run. Its result is written as soon as
it finishes, keyed by its settings, so an interrupted sweep resumes where
it stopped and a finished one is re-reported without recomputing. Each
unit also records the code that computed it (:func:`code_version`), so a
table that mixes runs of different code says so, and ``rerun_stale``
recomputes the runs of other code.
"""

import contextlib
import functools
import hashlib
import json
import os
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from joblib import Parallel, delayed, parallel_config
from tqdm.auto import tqdm

from ..scoring import dask_worker_config
from .common import torch_threads


def settings_key(settings):
    """A short stable hash of a JSON-able settings dict."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def estimator_settings(estimator, exclude=("random_state",)):
    """An estimator's every constructor setting, defaults included, as JSON-able text.

    Put in a unit's settings, it makes a changed default (or a code version
    with other defaults) a new run instead of re-reporting a stale one.
    """
    return {name: _describe(value)
            for name, value in sorted(estimator.get_params(deep=False).items())
            if name not in exclude}


def _describe(value):
    """Stable text for a setting: its repr, unless that holds a memory address."""
    text = repr(value)
    if " at 0x" not in text:
        return text
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_describe(v) for v in value) + "]"
    if hasattr(value, "get_params"):
        params = ", ".join(f"{k}={_describe(v)}"
                           for k, v in sorted(value.get_params(deep=False).items()))
        return f"{type(value).__name__}({params})"
    return f"{type(value).__module__}.{type(value).__qualname__}"


UNRECORDED = "unrecorded"


@functools.lru_cache(maxsize=None)
def code_version():
    """The code a unit is computed with, as text: skepinet's version and commit, torch's version.

    The commit (``git rev-parse``, with ``+modified`` when the package's
    files differ from it) is there only when skepinet runs from a git
    checkout; an installed package gives its version alone. Float results
    of a fine-tuning run can change with either, which is why a sweep
    records it per unit.
    """
    import torch

    from .. import __version__
    text = f"skepinet {__version__}"
    commit = _git_commit(Path(__file__).resolve().parents[2])
    if commit:
        text += f" @ {commit}"
    return f"{text}, torch {torch.__version__}"


def _git_commit(root):
    """``root``'s short commit (``+modified`` if ``skepinet/`` differs), or None outside git."""
    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=30)
    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode or Path(top.stdout.strip()).resolve() != root:
            return None  # not a checkout of skepinet (e.g. site-packages inside some repo)
        head = git("rev-parse", "--short=12", "HEAD").stdout.strip()
        modified = git("diff", "--quiet", "HEAD", "--", "skepinet").returncode != 0
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+modified" if modified else "") if head else None


def unit_path(out, task, agent, seed):
    return Path(out) / "units" / task / agent.replace(":", "_") / f"seed{seed}.json"


def _read_unit(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def load_unit(path, settings, *, code=None):
    """The saved records of a unit, or ``None`` if missing, run with other settings,
    or (when ``code`` is given) computed by other code than ``code``."""
    saved = _read_unit(path)
    if saved is None or saved.get("key") != settings_key(settings):
        return None
    if code is not None and saved.get("code", UNRECORDED) != code:
        return None
    return saved["records"]


def save_unit(path, settings, records, *, code=None, seconds=None):
    """Write a unit atomically (a crash never leaves half a file), stamped with ``code``
    (default :func:`code_version`) and the ``seconds`` it took to compute."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"key": settings_key(settings), "settings": settings, "records": records,
               "code": code_version() if code is None else code}
    if seconds is not None:
        payload["seconds"] = seconds
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(payload, f)
    os.replace(tmp, path)


def _run_unit(func, path):
    # Saved by the caller, as results arrive: a cluster's workers need not share its disk.
    # One thread, wherever it runs: see run_units.
    with torch_threads(1):
        start = time.perf_counter()
        records = func()
        return str(path), records, time.perf_counter() - start


@contextlib.contextmanager
def cluster(backend, scheduler=None, n_jobs=1):
    """joblib's backend for a sweep, connected to a cluster where it needs one.

    ``backend='dask'`` runs on the Dask scheduler at ``scheduler`` (an
    address such as ``tcp://10.0.0.5:8786``), or on the client already
    active, or else on a local cluster of ``n_jobs`` worker processes
    started for the sweep. ``backend='ray'`` joins the Ray cluster at
    ``scheduler`` (e.g. ``ray://10.0.0.5:10001``), or the one already
    initialised, or starts a local one of ``n_jobs`` CPUs. Other backends
    are joblib's own.
    """
    if backend == "ray":
        with _ray_cluster(scheduler, n_jobs):
            yield
        return
    if backend != "dask":
        if scheduler is not None:
            raise ValueError(f"--scheduler needs --backend dask or ray, not {backend!r}.")
        with parallel_config(backend=backend) if backend else contextlib.nullcontext():
            yield
        return
    try:
        import dask
        import distributed
    except ImportError:
        raise ValueError("--backend dask needs dask.distributed: pip install "
                         "'skepinet[dask]'.") from None
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            stack.enter_context(distributed.Client(scheduler))
        else:
            try:
                distributed.get_client()
            except ValueError:  # no client yet: a local cluster for this sweep
                stack.enter_context(dask.config.set(dask_worker_config()))
                local = stack.enter_context(distributed.LocalCluster(
                    n_workers=max(n_jobs, 1), threads_per_worker=1, dashboard_address=None))
                stack.enter_context(distributed.Client(local))
        stack.enter_context(parallel_config(backend="dask"))
        yield


@contextlib.contextmanager
def _ray_cluster(address, n_jobs):
    try:
        import ray
        from ray.util.joblib import register_ray
    except ImportError:
        raise ValueError("--backend ray needs ray: pip install 'skepinet[ray]'.") from None
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, num_cpus=None if address else max(n_jobs, 1),
                 include_dashboard=False, log_to_driver=False)
    register_ray()
    try:
        with parallel_config(backend="ray"):
            yield
    finally:
        if started:
            ray.shutdown()


def code_versions(out, keys):
    """Per code version, the number of saved units ``keys`` under ``out`` and their compute time.

    Units saved before versions were recorded count as ``'unrecorded'``.
    More than one entry means the runs of a table were computed by
    different code (see ``rerun_stale`` of :func:`run_units`).

    Returns
    -------
    versions : dict
        ``{code version: {'units': n, 'seconds': total}}``, sorted by
        version; ``seconds`` sums the units that recorded their time (it is
        ``None`` when none did), so a re-reported sweep still states what
        its runs cost.
    """
    units, seconds = Counter(), {}
    for task, agent, seed in keys:
        saved = _read_unit(unit_path(out, task, agent, seed)) or {}
        version = saved.get("code", UNRECORDED)
        units[version] += 1
        if "seconds" in saved:
            seconds[version] = seconds.get(version, 0.0) + saved["seconds"]
    return {version: {"units": units[version], "seconds": seconds.get(version)}
            for version in sorted(units)}


def run_units(units, out, *, n_jobs=1, backend=None, scheduler=None, progress=True,
              desc="runs", rerun_stale=False):
    """Run the units not already saved under ``out``; return every unit's records.

    Parameters
    ----------
    units : list of (task, agent, seed, settings, func)
        ``func()`` computes the unit's records (JSON-able).
    out : path
        Results folder.
    n_jobs : int (default=1)
        Parallel workers (joblib). Every unit runs torch on one thread,
        wherever it runs: float results depend on the thread count (a
        matmul splits its sums by thread), so this is what makes a unit's
        records the same in a serial run, on local workers and on a
        cluster. Use ``n_jobs`` to use more cores.
    backend : str or None (default=None)
        A joblib backend name (e.g. ``'loky'``, ``'threading'``, ``'dask'``);
        ``None`` keeps joblib's default or the active ``joblib.parallel_config``.
    scheduler : str or None (default=None)
        With ``backend='dask'``: the scheduler's address (see :func:`cluster`).
    progress : bool (default=True)
        Show a progress bar.
    desc : str (default='runs')
        The progress bar's label.
    rerun_stale : bool (default=False)
        Recompute the saved units that other code computed (another
        :func:`code_version`, or none recorded), so that every run of the
        sweep comes from the code at hand; by default a unit with the same
        settings is reused whatever code computed it.

    Returns
    -------
    results : dict
        ``{(task, agent, seed): records}``.
    """
    results, todo = {}, []
    # Read afresh at each sweep (code edited in a live session is another version), then
    # fixed: the code that computes this sweep's runs.
    code_version.cache_clear()
    current = code_version()
    code = current if rerun_stale else None
    for task, agent, seed, settings, func in units:
        path = unit_path(out, task, agent, seed)
        saved = load_unit(path, settings, code=code)
        if saved is None:
            todo.append(((task, agent, seed), path, settings, func))
        else:
            results[(task, agent, seed)] = saved
    jobs = (delayed(_run_unit)(func, path) for _, path, _, func in todo)
    todo_by_path = {str(path): (key, path, settings) for key, path, settings, _ in todo}
    with cluster(backend, scheduler, n_jobs):
        bar = tqdm(total=len(units), initial=len(results), desc=desc, disable=not progress,
                   unit="run")
        try:
            n_workers = -1 if backend in ("dask", "ray") else n_jobs
            # Ray's joblib backend returns only whole lists: its units are saved at the end.
            return_as = "list" if backend == "ray" else "generator_unordered"
            for path, records, seconds in Parallel(n_jobs=n_workers,
                                                   return_as=return_as)(jobs):
                key, unit_file, settings = todo_by_path[path]
                save_unit(unit_file, settings, records, code=current, seconds=seconds)
                results[key] = records
                bar.update(1)
        finally:
            bar.close()
    return results

