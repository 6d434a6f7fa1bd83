"""Benchmarks that reproduce the paper: label efficiency on the testbed and GLUE, and cost.

Run them from the command line::

    skepinet-bench testbed            # synthetic testbed, both temperatures, 10 seeds
    skepinet-bench glue               # SST-2 and RTE with a frozen MiniLM encoder
    skepinet-bench cost               # acquisition cost per agent (--measure joint: joint predictions)
    skepinet-bench strategies         # pool scoring time of every query strategy
    skepinet-bench text-cost          # fit / predict cost of each head on MiniLM
    skepinet-bench sst2-accuracy      # SST-2 dev accuracy of each estimator on MiniLM
    skepinet-bench testbed --quick    # a CI-sized run of the whole pipeline

(or ``python -m skepinet.benchmarks ...``). Every run is saved as it
finishes, so an interrupted sweep resumes; runs are spread over joblib
workers (``--n-jobs``, any joblib backend with ``--backend``). Commands
that read GLUE take ``--data-dir`` or ``$GLUE_DIR``; ``benchmarks/README.md``
gives the command behind every published result.
"""

from .cost import acquisition_cost
from .glue import run_glue
from .testbed import run_testbed

__all__ = ["run_testbed", "run_glue", "acquisition_cost", "main"]


def main(argv=None):
    """Entry point of ``skepinet-bench``."""
    from ._cli import main as cli_main

    return cli_main(argv)
