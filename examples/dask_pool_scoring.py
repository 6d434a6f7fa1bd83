"""Score a million-row pool on a Dask cluster, and check it picks what one process picks.

Starts a local Dask cluster of two single-threaded worker processes (point
``--scheduler`` at a real one instead), fits an epinet on testbed rows, and
chooses the 10 pool rows of highest epistemic ``variance`` three ways: in this
process, on the cluster from an in-memory pool (``joblib.parallel_config``),
and on the cluster from a ``dask.array`` pool, scored block by block on the
workers. Needs ``pip install 'skepinet[dask]'``.

    python examples/dask_pool_scoring.py                 # 1,000,000 rows
    python examples/dask_pool_scoring.py --quick         # 20,000 rows
    python examples/dask_pool_scoring.py --scheduler tcp://10.0.0.5:8786
"""

import argparse
import time

import dask
import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster
from joblib import parallel_config

from skepinet import EpinetClassifier, variance
from skepinet.datasets import make_testbed_classification
from skepinet.scoring import dask_worker_config


def timed(label, call):
    start = time.perf_counter()
    result = call()
    print(f"{label:<42} {time.perf_counter() - start:6.2f} s   rows {result[0][:5].tolist()}...")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows instead of 1,000,000")
    parser.add_argument("--scheduler", default=None, help="a running Dask scheduler's address")
    args = parser.parse_args(argv)
    n_pool = 20_000 if args.quick else 1_000_000

    X, y = make_testbed_classification(1000, n_features=10, random_state=0)
    model = EpinetClassifier(random_state=0).fit(X, y)
    pool, _ = make_testbed_classification(n_pool, n_features=10, random_state=1)
    pool = pool.astype(np.float32)

    def choose(X_pool):
        return variance(model, X_pool, n_instances=10, n_index=100, random_state=0)

    here = timed("one process", lambda: choose(pool))
    # dask_worker_config: workers that score at full speed (see its docstring); workers of
    # a cluster started elsewhere need MALLOC_MMAP_THRESHOLD_=67108864 in their environment.
    with dask.config.set(dask_worker_config()):
        cluster = None if args.scheduler else LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with Client(args.scheduler or cluster) as client:
        print(f"cluster: {len(client.scheduler_info()['workers'])} workers at "
              f"{client.scheduler.address}")
        with parallel_config(backend="dask"):
            on_cluster = timed("cluster, in-memory pool", lambda: choose(pool))
        lazy = da.from_array(pool, chunks=(8192 * 8, -1))
        from_dask = timed("cluster, dask.array pool", lambda: choose(lazy))
    if cluster is not None:
        cluster.close()
    same = (np.array_equal(here[0], on_cluster[0]) and np.array_equal(here[0], from_dask[0]))
    print("same rows chosen everywhere:", "yes" if same else "NO")
    return same


if __name__ == "__main__":
    main()
