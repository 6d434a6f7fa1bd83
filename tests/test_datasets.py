"""The synthetic testbed generator."""

import numpy as np
import pytest

from skepinet.datasets import make_testbed_classification


def test_shapes_types_and_determinism():
    X, y, proba = make_testbed_classification(500, input_dim=7, num_classes=3, random_state=0,
                                              return_proba=True)
    assert X.shape == (500, 7) and X.dtype == np.float32
    assert y.shape == (500,) and set(np.unique(y)) <= {0, 1, 2}
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    X2, y2 = make_testbed_classification(500, input_dim=7, num_classes=3, random_state=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(y, make_testbed_classification(500, input_dim=7, num_classes=3,
                                                             random_state=1)[1])


def test_labels_follow_the_generating_probabilities():
    _, y, proba = make_testbed_classification(20000, random_state=0, return_proba=True)
    assert abs(y.mean() - proba[:, 1].mean()) < 0.01


def test_temperature_controls_label_noise():
    def noise(temperature):
        _, y, proba = make_testbed_classification(5000, temperature=temperature, random_state=0,
                                                  return_proba=True)
        return np.mean(y != proba.argmax(axis=1))

    assert noise(0.01) < noise(0.1) < noise(0.5)
    assert noise(0.01) < 0.02


@pytest.mark.parametrize("kwargs, match", [
    (dict(temperature=0), "temperature must be positive"),
    (dict(num_classes=1), "num_classes must be at least 2"),
])
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_testbed_classification(10, **kwargs)
