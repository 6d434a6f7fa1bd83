"""The synthetic testbed generator."""

import numpy as np
import pytest

from skepinet.datasets import make_testbed_classification


def test_shapes_types_and_determinism():
    X, y, proba = make_testbed_classification(500, n_features=7, n_classes=3, random_state=0,
                                              return_proba=True)
    assert X.shape == (500, 7) and X.dtype == np.float32
    assert y.shape == (500,) and set(np.unique(y)) <= {0, 1, 2}
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    X2, y2 = make_testbed_classification(500, n_features=7, n_classes=3, random_state=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(y, make_testbed_classification(500, n_features=7, n_classes=3,
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
    (dict(n_classes=1), "n_classes must be at least 2"),
])
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_testbed_classification(10, **kwargs)


def test_heteroscedastic_problem_has_coin_flips_on_a_fraction_of_inputs():
    X, y, proba = make_testbed_classification(20000, temperature=0.03, noisy_fraction=0.5,
                                              random_state=0, return_proba=True)
    # Half the inputs, less a soft edge, are (near) coin flips.
    assert 0.4 < np.mean(np.abs(proba[:, 1] - 0.5) < 0.1) < 0.52
    coin = np.abs(proba[:, 1] - 0.5) < 0.02
    # The rest keep the network's (near-deterministic) labels.
    assert np.mean(np.abs(proba[~coin, 1] - 0.5) > 0.45) > 0.5
    # Labels follow the blended probabilities.
    assert abs(y[coin].mean() - 0.5) < 0.03
    # noisy_fraction=0 is the paper's testbed, draw for draw.
    X0, y0 = make_testbed_classification(500, random_state=3)
    X1, y1 = make_testbed_classification(500, noisy_fraction=0.0, random_state=3)
    np.testing.assert_array_equal(X0, X1)
    np.testing.assert_array_equal(y0, y1)
    with pytest.raises(ValueError, match="noisy_fraction must be in"):
        make_testbed_classification(10, noisy_fraction=1.0)


def test_load_glue_names_the_file_and_line_of_invalid_utf8(tmp_path):
    from skepinet.datasets import load_glue

    folder = tmp_path / "SST-2"
    folder.mkdir()
    (folder / "train.tsv").write_bytes(b"sentence\tlabel\ngood film\t1\nbad \xff film\t0\n")
    with pytest.raises(ValueError, match=r"train\.tsv: line 3 is not valid UTF-8"):
        load_glue("sst2", tmp_path, split="train")


def test_old_argument_names_warn_and_give_the_same_draw():
    X, y = make_testbed_classification(50, n_features=4, n_classes=3, random_state=0)
    with pytest.warns(FutureWarning, match=r"input_dim is deprecated; pass n_features=4"), \
            pytest.warns(FutureWarning, match=r"num_classes is deprecated; pass n_classes=3"):
        X_old, y_old = make_testbed_classification(50, input_dim=4, num_classes=3, random_state=0)
    np.testing.assert_array_equal(X, X_old)
    np.testing.assert_array_equal(y, y_old)


def test_the_glue_folder_comes_from_the_argument_or_GLUE_DIR(tmp_path, monkeypatch):
    from skepinet.datasets import glue_data_dir

    monkeypatch.delenv("GLUE_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match=r"pass --data-dir PATH .* or set GLUE_DIR=PATH"):
        glue_data_dir()
    monkeypatch.setenv("GLUE_DIR", str(tmp_path))
    assert glue_data_dir() == str(tmp_path)
    assert glue_data_dir(tmp_path / "..") == str(tmp_path / "..")
    with pytest.raises(FileNotFoundError, match=r"data_dir='.*missing' is not a folder"):
        glue_data_dir(str(tmp_path / "missing"))
    monkeypatch.setenv("GLUE_DIR", str(tmp_path / "gone"))
    with pytest.raises(FileNotFoundError, match=r"GLUE_DIR='.*gone' is not a folder"):
        glue_data_dir()
