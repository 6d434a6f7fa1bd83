"""Fixtures of the benchmark tests: the real GLUE folder and small synthetic ones."""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def real_glue():
    """The real GLUE folder ($GLUE_DIR, else the checkout's sibling shared/data/glue); skip if absent.

    Only the tests look beside the checkout: the benchmarks themselves take
    ``--data-dir`` or ``$GLUE_DIR`` and nothing else.
    """
    folder = Path(os.environ.get("GLUE_DIR") or
                  Path(__file__).resolve().parents[2].parent / "shared" / "data" / "glue")
    if not (folder / "SST-2").is_dir():
        pytest.skip(f"GLUE data not found at {folder}")
    return folder


@pytest.fixture
def make_glue_folder(tmp_path, make_sentences):
    """A factory of SST-2 folders of synthetic sentences: ``make_glue_folder(n_train, n_dev)``."""
    def make(n_train=40, n_dev=16):
        root = tmp_path / "glue"
        folder = root / "SST-2"
        folder.mkdir(parents=True)
        for name, n, seed in (("train", n_train, 0), ("dev", n_dev, 1)):
            texts, labels = make_sentences(n, seed=seed)
            rows = ["sentence\tlabel"] + [f"{t}\t{y}" for t, y in zip(texts, labels)]
            (folder / f"{name}.tsv").write_text("\n".join(rows) + "\n")
        return root
    return make
