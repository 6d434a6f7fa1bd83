"""Run benchmark units in parallel with joblib, each saved to its own JSON file (private).

A *unit* is one (task, agent, seed) run. Its result is written as soon as
it finishes, keyed by its settings, so an interrupted sweep resumes where
it stopped and a finished one is re-reported without recomputing.
"""

import contextlib
import hashlib
import json
import os
import tempfile
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


def unit_path(out, task, agent, seed):
    return Path(out) / "units" / task / agent.replace(":", "_") / f"seed{seed}.json"


def load_unit(path, settings):
    """The saved records of a unit, or ``None`` if missing or run with other settings."""
    try:
        saved = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return saved["records"] if saved.get("key") == settings_key(settings) else None


def save_unit(path, settings, records):
    """Write a unit atomically (a crash never leaves half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"key": settings_key(settings), "settings": settings, "records": records}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(payload, f)
    os.replace(tmp, path)


def _run_unit(func, path):
    # Saved by the caller, as results arrive: a cluster's workers need not share its disk.
    # One thread, wherever it runs: see run_units.
    with torch_threads(1):
        return str(path), func()


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


def run_units(units, out, *, n_jobs=1, backend=None, scheduler=None, progress=True,
              desc="runs"):
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

    Returns
    -------
    results : dict
        ``{(task, agent, seed): records}``.
    """
    results, todo = {}, []
    for task, agent, seed, settings, func in units:
        path = unit_path(out, task, agent, seed)
        saved = load_unit(path, settings)
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
            for path, records in Parallel(n_jobs=n_workers, return_as=return_as)(jobs):
                key, unit_file, settings = todo_by_path[path]
                save_unit(unit_file, settings, records)
                results[key] = records
                bar.update(1)
        finally:
            bar.close()
    return results

