"""Sweep units record the code that computed them; mixed code is reported and can be rerun."""

import json
import subprocess
from pathlib import Path

import torch

import skepinet
from skepinet.benchmarks import _sweep
from skepinet.benchmarks._cli import format_code_versions
from skepinet.benchmarks._sweep import code_version, code_versions, run_units, unit_path

ROOT = Path(__file__).resolve().parents[2]


class Records:
    """A unit's computation that counts its calls (picklable, for joblib)."""

    calls = 0

    def __init__(self, value):
        self.value = value

    def __call__(self):
        Records.calls += 1
        return [{"labels": 1, "score": self.value}]


def units(n=3):
    return [("task", "agent:a", seed, {"seed": seed}, Records(seed)) for seed in range(n)]


def test_the_code_version_names_skepinet_and_torch():
    version = code_version()
    assert version.startswith(f"skepinet {skepinet.__version__}")
    assert version.endswith(f"torch {torch.__version__}")
    if (ROOT / ".git").exists():
        assert " @ " in version  # a checkout: its commit too


def _git(root, *args):
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                   check=True, capture_output=True)


def test_the_commit_is_marked_modified_when_the_package_differs(tmp_path):
    assert _sweep._git_commit(tmp_path) is None  # not a checkout
    (tmp_path / "skepinet").mkdir()
    (tmp_path / "skepinet" / "a.py").write_text("x = 1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "a")
    clean = _sweep._git_commit(tmp_path.resolve())
    assert clean and "+" not in clean
    (tmp_path / "notes.txt").write_text("results written by a sweep\n")
    assert _sweep._git_commit(tmp_path.resolve()) == clean  # only the package counts
    (tmp_path / "skepinet" / "a.py").write_text("x = 2\n")
    assert _sweep._git_commit(tmp_path.resolve()) == clean + "+modified"
    # A folder inside someone else's repository is not taken for a skepinet checkout.
    (tmp_path / "site").mkdir()
    assert _sweep._git_commit((tmp_path / "site").resolve()) is None


def test_units_are_stamped_and_other_code_is_reused_unless_rerun_stale(tmp_path):
    Records.calls = 0
    first = run_units(units(), tmp_path, progress=False)
    assert Records.calls == 3
    keys = list(first)
    stamped = code_versions(tmp_path, keys)
    assert list(stamped) == [code_version()] and stamped[code_version()]["units"] == 3
    assert stamped[code_version()]["seconds"] > 0  # each unit's compute time, summed

    # One run from other code, one from before versions were recorded.
    for seed, code in [(0, "skepinet 0.1.0, torch 1.0"), (1, None)]:
        path = unit_path(tmp_path, "task", "agent:a", seed)
        saved = json.loads(path.read_text())
        saved.pop("code") if code is None else saved.update(code=code)
        path.write_text(json.dumps(saved))
    again = run_units(units(), tmp_path, progress=False)
    assert Records.calls == 3 and again == first  # reused by default
    units_per_version = {v: e["units"] for v, e in code_versions(tmp_path, keys).items()}
    assert units_per_version == {code_version(): 1, "skepinet 0.1.0, torch 1.0": 1,
                                 "unrecorded": 1}

    rerun = run_units(units(), tmp_path, progress=False, rerun_stale=True)
    assert Records.calls == 5 and rerun == first  # only the two stale runs
    assert code_versions(tmp_path, keys)[code_version()]["units"] == 3


def test_mixed_code_is_a_warning_that_names_the_fix():
    assert format_code_versions({}) == "no runs"
    one = {"skepinet 1": {"units": 4, "seconds": 12.4}}
    assert format_code_versions(one) == "every run (4, 12 s of compute) computed by skepinet 1"
    old = format_code_versions({"unrecorded": {"units": 3, "seconds": None}})
    assert "these 3 runs was not recorded" in old and "--rerun-stale" in old
    text = format_code_versions({**one, "unrecorded": {"units": 2, "seconds": None}})
    assert text.startswith("warning: these runs come from 2 code versions")
    assert "4 by skepinet 1, 12 s of compute; 2 by unrecorded)" in text
    assert "--rerun-stale" in text


def test_stamps_come_from_the_caller_with_parallel_workers(tmp_path):
    results = run_units(units(4), tmp_path, n_jobs=2, progress=False)
    assert code_versions(tmp_path, results)[code_version()]["units"] == 4


def test_each_sweep_reads_the_code_version_afresh(tmp_path, monkeypatch):
    monkeypatch.setattr(_sweep, "_git_commit", lambda root: "aaaa")
    run_units(units(1), tmp_path / "a", progress=False)
    monkeypatch.setattr(_sweep, "_git_commit", lambda root: "bbbb+modified")  # code edited
    run_units(units(1), tmp_path / "b", progress=False)
    _sweep.code_version.cache_clear()  # leave the real version for other tests
    versions = [next(iter(code_versions(tmp_path / d, [("task", "agent:a", 0)]))) for d in "ab"]
    assert " @ aaaa," in versions[0] and " @ bbbb+modified," in versions[1]
