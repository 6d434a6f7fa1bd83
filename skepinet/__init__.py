"""skepinet: epistemic neural networks for scikit-learn.

Classifiers that know what they don't know — an epinet, MC dropout or an
ensemble on top of a backbone — with the scikit-learn and skorch interfaces,
so that active-learning loops can label the examples that teach most.
"""

from .estimators import (
    BaselineClassifier,
    DropoutClassifier,
    EnsembleClassifier,
    EpinetClassifier,
)

__version__ = "0.1.0"

__all__ = [
    "BaselineClassifier",
    "DropoutClassifier",
    "EnsembleClassifier",
    "EpinetClassifier",
    "__version__",
]
