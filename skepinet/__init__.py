"""skepinet: epistemic neural networks for scikit-learn.

Classifiers that know what they don't know — an epinet, MC dropout or an
ensemble on top of a backbone — with the scikit-learn and skorch interfaces,
query strategies with modAL's interface, and an active learner, so that a
labelling budget goes to the examples that teach the model most.

The strategies exported here (``bald``, ``variance``, ...) take a classifier
and a pool; the pure-numpy scores they rank by live in
:mod:`skepinet.priorities`.
"""

from .estimators import (
    BaselineClassifier,
    DropoutClassifier,
    EnsembleClassifier,
    EpinetClassifier,
)
from .journal import read_journal
from .learner import ActiveLearner, History
from .persistence import CheckpointError, load_estimator, migrate_checkpoint, save_estimator
from .scoring import QueryContext
from .strategies import (
    bald,
    batchbald,
    coreset,
    entropy,
    epig,
    least_confidence,
    margin,
    uncertain_diverse,
    uniform,
    variance,
)

__version__ = "0.2.0"

__all__ = [
    "ActiveLearner",
    "BaselineClassifier",
    "CheckpointError",
    "DropoutClassifier",
    "EnsembleClassifier",
    "EpinetClassifier",
    "History",
    "QueryContext",
    "bald",
    "batchbald",
    "coreset",
    "entropy",
    "epig",
    "least_confidence",
    "load_estimator",
    "margin",
    "migrate_checkpoint",
    "read_journal",
    "save_estimator",
    "uncertain_diverse",
    "uniform",
    "variance",
    "__version__",
]
