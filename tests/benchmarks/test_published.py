"""The published sweeps regenerate from their stored runs, as ``benchmarks/README.md`` says.

Each sweep's command is read from the README's table and rerun on a copy of
the folder's ``units/`` only; nothing may train (a stale run fails fast), and
every published file must come back byte for byte, ``summary.json`` apart
from ``wall_time_s``. PNGs are only checked to exist: their bytes depend on
the matplotlib version. ``glue-frozen`` is left out: its encoder features
are not published, and computing them takes minutes on a CPU.
"""

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from skepinet.benchmarks import _cli, enn, glue, testbed

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"


def readme_commands():
    """``{folder: argv}`` of the sweeps in the README's table (``skepinet-bench`` dropped)."""
    text = (ROOT / "benchmarks" / "README.md").read_text()
    rows = re.findall(r"^\| `([\w-]+)/` \| `(?:HF_HUB_OFFLINE=1 )?skepinet-bench (.+?)` \|$",
                      text, re.MULTILINE)
    return {folder: shlex.split(command) for folder, command in rows}


def _with(argv, flag, value):
    """``argv`` with ``flag``'s value replaced (the flag must be there)."""
    i = argv.index(flag)
    return [*argv[:i + 1], value, *argv[i + 2:]]


def test_the_readme_lists_every_published_sweep():
    assert set(readme_commands()) == {"testbed-pool", "testbed-pool-4000", "testbed-requery",
                                      "glue-frozen", "glue-finetune", "glue-finetune-512", "enn"}


@pytest.mark.parametrize("folder", ["testbed-pool", "testbed-pool-4000", "testbed-requery", "enn",
                                    "glue-finetune", "glue-finetune-512"])
def test_a_published_sweep_regenerates_from_its_stored_runs(folder, tmp_path, monkeypatch,
                                                             request):
    published = RESULTS / folder
    argv = readme_commands()[folder]
    copy = tmp_path / folder
    shutil.copytree(published / "units", copy / "units")
    # One in-process worker, so that a run which is not reused reaches `fail` below.
    argv = _with(_with(argv, "--out", str(copy)), "--n-jobs", "1")
    if "--data-dir" in argv:
        argv = _with(argv, "--data-dir", str(request.getfixturevalue("real_glue")))
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def fail(*args, **kwargs):
        raise AssertionError(f"a stored run of {folder} was recomputed")

    for module, name in [(testbed, "run_agent"), (testbed, "run_baseline"), (glue, "run_agent"),
                         (glue, "run_baseline"), (enn, "_quality_unit"),
                         (enn, "_far_near_unit")]:
        monkeypatch.setattr(module, name, fail)
    _cli.run([*argv, "--no-progress"])

    files = sorted(p.relative_to(published) for p in published.rglob("*") if p.is_file())
    assert files
    for rel in files:
        old, new = published / rel, copy / rel
        if rel.name == "summary.json":
            wall_time = re.compile(r'\n "wall_time_s": [^\n]*\n')
            assert wall_time.sub("\n", new.read_text()) == wall_time.sub("\n", old.read_text())
            assert json.loads(new.read_text())["wall_time_s"] >= 0
        elif rel.suffix == ".png":
            assert new.stat().st_size > 0, rel
        else:
            assert new.read_bytes() == old.read_bytes(), rel
