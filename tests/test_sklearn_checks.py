"""scikit-learn's own estimator checks, run on all four classifiers."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skepinet import (
    BaselineClassifier,
    DropoutClassifier,
    EnsembleClassifier,
    EpinetClassifier,
)

# The only check we fail, on purpose. Predictions are computed in float32,
# and BLAS rounds a row's matrix product differently depending on where the
# row sits in the batch (vector lanes, blocking). Permuting the rows then
# moves probabilities by about one float32 ulp (~6e-8), while the check
# demands rtol=1e-7. tests/test_estimators.py asserts the same invariance to
# row order and batching at atol=1e-6.
EXPECTED_FAILED_CHECKS = {
    "check_methods_sample_order_invariance": (
        "float32 BLAS rounding depends on a row's position in the batch "
        "(differences ~1 ulp); invariance is tested at atol=1e-6 instead"
    ),
}

ESTIMATORS = [
    cls(max_epochs=20)
    for cls in (BaselineClassifier, EpinetClassifier, DropoutClassifier, EnsembleClassifier)
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
