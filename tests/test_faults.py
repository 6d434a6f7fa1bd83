"""Fault injection: SIGKILL a labelling run at random moments, resume, and lose nothing.

Each trial kills a run in a child process at a moment drawn at random from
the events of an uninterrupted run: while the oracle answers a row, while
training, while writing the journal or a checkpoint (at an fsync, mid-zip,
before the rename), or after a random delay. The run is then resumed,
possibly several times, until it finishes. Its labelled sequence and its
final joint predictions must equal the uninterrupted run's, no answer may
be lost, and none asked twice.

Children fork from a forkserver that has imported torch and skepinet once, so
the whole table runs in well under a minute.
"""

import json
import multiprocessing
import os
import signal
import threading
import zipfile

import numpy as np
import pytest

N_TRIALS = 25
BUDGET, ACQUISITION, CANDIDATES = 40, 5, 40
EVENTS = ("oracle", "train", "fsync", "zip", "replace", "time")
CONFIGS = {
    "array-replay": dict(oracle="array", run=dict(recipe="replay")),
    "callable-replay": dict(oracle="callable", run=dict(recipe="replay")),
    "array-online-replay10": dict(oracle="array", run=dict(recipe="online", replay=10)),
    "callable-online": dict(oracle="callable", run=dict(recipe="online", replay=0)),
    "callable-replay-checkpoint-every-3": dict(oracle="callable",
                                               run=dict(recipe="replay", checkpoint_every=3)),
}


def _problem():
    from skepinet.datasets import make_testbed_classification

    return make_testbed_classification(300, n_features=4, random_state=1)


def _arm(kill, counts):
    """Patch the events of a run to count them, and SIGKILL this process at ``kill``."""
    import skepinet.estimators as estimators

    def tick(event):
        counts[event] = counts.get(event, 0) + 1
        if kill is not None and kill[0] == event and counts[event] == kill[1]:
            os.kill(os.getpid(), signal.SIGKILL)

    def wrap(owner, name, event):
        original = getattr(owner, name)

        def dying(*args, **kwargs):
            tick(event)
            return original(*args, **kwargs)

        setattr(owner, name, dying)

    wrap(os, "fsync", "fsync")          # journal lines and checkpoints, written but not synced
    wrap(os, "replace", "replace")      # a checkpoint complete beside the old one
    wrap(zipfile.ZipFile, "writestr", "zip")  # a checkpoint half written
    wrap(estimators.EpinetClassifier, "train_step_single", "train")
    if kill is not None and kill[0] == "time":
        threading.Timer(kill[1], lambda: os.kill(os.getpid(), signal.SIGKILL)).start()
    return tick


def _child(folder, config_name, kill):
    """One run (fresh or resumed) of a config; writes what it saw into ``folder``."""
    import torch

    from skepinet import ActiveLearner, EpinetClassifier, variance

    torch.set_num_threads(1)
    config = CONFIGS[config_name]
    X, y = _problem()
    counts = {}
    tick = _arm(kill, counts)
    ledger = os.path.join(folder, "answers.jsonl")

    def ask(rows, indices):
        for i in indices:
            tick("oracle")  # the person is thinking about row i
            with open(ledger, "a") as f:
                f.write(json.dumps([int(i), int(y[i])]) + "\n")
            yield y[i]

    checkpoint = os.path.join(folder, "run.skepinet")
    if os.path.exists(checkpoint):
        learner = ActiveLearner.load(checkpoint)
    else:
        learner = ActiveLearner(EpinetClassifier(hidden_sizes=(16, 16), random_state=0),
                                variance, random_state=0)
    oracle = y if config["oracle"] == "array" else ask
    learner.run(X, oracle, BUDGET, candidate_size=CANDIDATES, acquisition_size=ACQUISITION,
                classes=[0, 1], n_index=10, checkpoint=checkpoint, progress=False,
                **config["run"])
    state = learner.run_state_
    with open(os.path.join(folder, "result.json"), "w") as f:
        json.dump({"labelled": state.labelled, "labels": state.labels,
                   "counts": counts}, f)
    np.save(os.path.join(folder, "joint.npy"), learner.predict_proba_joint(X[:50], n_index=8))


@pytest.fixture(scope="module")
def spawn():
    context = multiprocessing.get_context("forkserver")
    # torch._dynamo is imported lazily by the first optimizer: 1.4 s per child otherwise.
    context.set_forkserver_preload(["torch", "torch._dynamo", "skepinet", __name__])

    def run(folder, config, kill=None):
        process = context.Process(target=_child, args=(str(folder), config, kill))
        process.start()
        process.join(120)
        assert process.exitcode is not None, "a child hung"
        return process.exitcode

    return run


@pytest.fixture(scope="module")
def references(spawn, tmp_path_factory):
    """The uninterrupted run of each config, and how often each event happened in it."""
    out = {}
    for name in CONFIGS:
        folder = tmp_path_factory.mktemp(f"reference-{name}")
        assert spawn(folder, name) == 0
        out[name] = (json.loads((folder / "result.json").read_text()),
                     np.load(folder / "joint.npy"))
    return out


def _trials():
    rng = np.random.default_rng(20261203)
    names = list(CONFIGS)
    trials = []
    for t in range(N_TRIALS):
        name = names[t % len(names)]
        events = [e for e in EVENTS if e != "oracle" or CONFIGS[name]["oracle"] == "callable"]
        trials.append((name, events[int(rng.integers(len(events)))], float(rng.random())))
    return trials


@pytest.mark.parametrize("config, event, where", _trials(),
                         ids=[f"{c}-{e}-{w:.2f}" for c, e, w in _trials()])
def test_a_killed_run_resumes_with_nothing_lost_or_asked_twice(spawn, references, tmp_path,
                                                              config, event, where):
    reference, reference_joint = references[config]
    if event == "time":
        kill = ("time", 0.05 + where * 1.0)
    else:
        # A moment drawn uniformly among this event's occurrences in the clean run.
        kill = (event, 1 + int(where * reference["counts"][event]))
    exitcode = spawn(tmp_path, config, kill)
    assert exitcode in (-signal.SIGKILL, 0)
    if event != "time":
        assert exitcode == -signal.SIGKILL  # the chosen moment was reached
    for _ in range(3):  # resume until done (a resumed run is not killed again)
        if exitcode == 0:
            break
        exitcode = spawn(tmp_path, config)
    assert exitcode == 0

    result = json.loads((tmp_path / "result.json").read_text())
    assert result["labelled"] == reference["labelled"]
    assert result["labels"] == reference["labels"]
    np.testing.assert_array_equal(np.load(tmp_path / "joint.npy"), reference_joint)
    assert not list(tmp_path.glob(".*.tmp")), "a killed write left a half-written checkpoint"
    if CONFIGS[config]["oracle"] == "callable":
        answered = [tuple(a) for a in map(json.loads,
                                          (tmp_path / "answers.jsonl").read_text().splitlines())]
        rows = [row for row, _ in answered]
        assert len(rows) == len(set(rows)) == BUDGET, "an answer was asked twice or lost"
        assert sorted(answered) == sorted(zip(result["labelled"], result["labels"]))
