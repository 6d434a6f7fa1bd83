"""Cost of one acquisition: scoring a pool of candidates, per agent, against a forward pass.

For an MLP on testbed inputs and for MiniLM on SST-2 sentences, this times
each agent's query strategy choosing ``n_instances`` rows among
``n_candidates`` (the work of one step of Algorithm 1), and divides by the
time of the plain network's forward pass (``BaselineClassifier.predict_proba``)
on the same candidates. It also times the peer approach: MC-dropout BALD
as `baal <https://baal.readthedocs.io>`_ computes it (``ModelWrapper``
with ``MCDropoutModule``, ``n_index`` stochastic passes, ``BALD``
heuristic) when baal is installed, else the equivalent loop of
``n_index`` full forward passes with dropout on.

Measurements are interleaved (each repeat times every configuration in
turn, each right after a baseline forward pass) and the minimum over
repeats is reported, so load on a shared machine hits all alike.
"""

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..datasets import load_glue, make_testbed_classification
from ..estimators import ESTIMATORS
from ..priorities import bald as bald_priority
from ..strategies import select_top
from .agents import AGENTS, COST_AGENTS, TEXT_COST_AGENTS
from .common import (
    interleaved_times,
    name_list,
    option,
    parse_int_list,
    resolve_glue_dir,
    timing_result,
)
from .joint_cost import JointCostDefaults

__all__ = ["AcquisitionCostDefaults", "acquisition_cost", "peer_mc_dropout_bald", "peer_speedups",
           "format_cost"]

BACKBONES = ("mlp", "bert")
#: Candidates scored per backbone, when ``n_candidates`` is not given.
N_CANDIDATES = {"mlp": 100_000, "bert": 128}
#: ``--peer`` -> ``use_baal``.
PEERS = {"auto": None, "baal": True, "loop": False}


@dataclass(frozen=True)
class AcquisitionCostDefaults:
    """Settings of ``skepinet-bench cost`` (``--measure acquisition``).

    :meth:`quick` gives the smoke test's. ``--n-index`` and ``--repeats``
    are also the joint measure's (:class:`~skepinet.benchmarks.joint_cost.JointCostDefaults`).
    """

    backbones: tuple = option(BACKBONES, "comma-separated backbones: mlp, bert or both",
                              name_list(BACKBONES))
    n_candidates: int = option(None, "candidates scored", int, shown=", ".join(
        f"{n} for {backbone}" for backbone, n in N_CANDIDATES.items()))
    n_index: tuple = option((10, 100), "comma-separated n_index values (--measure joint: "
                            + ",".join(map(str, JointCostDefaults.n_index)) + ")",
                            parse_int_list)
    repeats: int = option(3, f"timed repeats (--measure joint: {JointCostDefaults.repeats}, "
                          f"--quick {JointCostDefaults.quick().repeats})", int)
    data_dir: Path = option(None, "GLUE folder, for bert", Path, shown="$GLUE_DIR")
    pretrained: str = option(None, "encoder for bert", shown="MiniLM")
    peer: str = option("auto", "MC-dropout BALD implementation: baal if installed (auto), or a "
                       "K-pass loop", choices=tuple(PEERS))
    # Not options (--quick sets them): candidates per backbone when --n-candidates is not given
    # (None: N_CANDIDATES), rows chosen, rows fitted on, the peer's passes.
    candidates_per_backbone: dict = None
    n_instances: int = 10
    n_fit: int = 64
    peer_n_index: tuple = None

    @classmethod
    def quick(cls):
        """The smoke test's settings."""
        return cls(n_index=(2,), repeats=1, candidates_per_backbone={"mlp": 2000, "bert": 16},
                   n_instances=4, n_fit=8, peer_n_index=(2,))

    def arguments(self, backbone):
        """The keyword arguments of :func:`acquisition_cost` for ``backbone``."""
        per_backbone = self.candidates_per_backbone or {}
        return dict(n_candidates=self.n_candidates or per_backbone.get(backbone),
                    n_index=self.n_index, n_instances=self.n_instances,
                    peer_n_index=self.peer_n_index, repeats=self.repeats,
                    data_dir=resolve_glue_dir(self.data_dir) if backbone == "bert" else None,
                    pretrained=self.pretrained, n_fit=self.n_fit, use_baal=PEERS[self.peer])


class _PairInput(nn.Module):
    """MiniLM and a linear head taking one tensor ``(B, 2, L)`` of ids and mask (for baal)."""

    def __init__(self, encoder, n_classes):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, n_classes)

    def forward(self, x):
        out = self.encoder(input_ids=x[:, 0], attention_mask=x[:, 1])
        return self.head(out.last_hidden_state[:, 0])


def _peer_model(backbone, n_features, pretrained, dropout=0.1):
    if backbone == "mlp":
        return nn.Sequential(nn.Linear(n_features, 50), nn.ReLU(), nn.Dropout(dropout),
                             nn.Linear(50, 50), nn.ReLU(), nn.Dropout(dropout), nn.Linear(50, 2))
    from .. import text as _text

    transformers = _text.require_transformers()
    encoder = transformers.AutoModel.from_pretrained(_text.resolve_pretrained(pretrained))
    return _PairInput(encoder, 2)


def _peer_batches(backbone, X, batch_size, pretrained, max_length):
    if backbone == "mlp":
        tensor = torch.as_tensor(np.asarray(X, dtype=np.float32))
        return lambda: (tensor[i:i + batch_size] for i in range(0, len(tensor), batch_size))
    from .. import text as _text

    tokenizer = _text.shared_tokenizer(pretrained)

    def batches():
        for i in range(0, len(X), batch_size):
            tokens = _text.tokenize(tokenizer, list(X[i:i + batch_size]), max_length)
            yield torch.stack([tokens["input_ids"], tokens["attention_mask"]], dim=1)

    return batches


def peer_mc_dropout_bald(backbone, X, n_instances, n_index, *, batch_size=64, pretrained=None,
                         max_length=64, use_baal=None):
    """A peer's MC-dropout BALD acquisition: a callable that scores ``X`` and picks the top rows.

    Parameters
    ----------
    backbone : {'mlp', 'bert'}
        An MLP (``D -> 50 -> 50 -> 2`` with dropout 0.1) or MiniLM with a
        linear head (its own dropout layers).
    X : array-like
        Candidates (features, or texts).
    n_instances : int
        Rows to pick.
    n_index : int
        Stochastic forward passes.
    batch_size : int (default=64)
        Candidates per batch (each replicated ``n_index`` times by baal).
    pretrained : str or None
        Encoder for ``backbone='bert'``.
    max_length : int (default=64)
        Tokens per text.
    use_baal : bool or None (default=None)
        ``None``: baal when importable; ``False``: the plain K-pass loop.

    Returns
    -------
    acquire : callable
        ``acquire()`` returns the chosen row positions.
    implementation : str
        ``'baal <version>'`` or ``'K-pass loop'``.
    """
    n_features = None if backbone != "mlp" else np.asarray(X).shape[1]
    model = _peer_model(backbone, n_features, pretrained).eval()
    batches = _peer_batches(backbone, X, batch_size, pretrained, max_length)
    if use_baal is None:
        use_baal = importlib.util.find_spec("baal") is not None
    if use_baal:
        import baal
        from baal.active.heuristics import BALD
        from baal.bayesian.dropout import MCDropoutModule
        from baal.modelwrapper import ModelWrapper, TrainingArgs

        wrapper = ModelWrapper(MCDropoutModule(model), TrainingArgs(use_cuda=False))
        heuristic = BALD()

        def acquire():
            logits = torch.cat([wrapper.predict_on_batch(b, iterations=n_index) for b in batches()])
            probs = torch.softmax(logits, dim=1).numpy()  # baal's layout: (N, C, K)
            scores = heuristic.compute_score(probs)
            return np.argsort(-scores)[:n_instances]

        return acquire, f"baal {getattr(baal, '__version__', '')}".strip()

    def acquire():
        model.train()  # dropout on
        with torch.inference_mode():
            joint = torch.cat([
                torch.stack([torch.softmax(model(b), -1) for _ in range(n_index)])
                for b in batches()], dim=1)
        model.eval()
        return select_top(bald_priority(joint.numpy()), n_instances, 0)

    return acquire, "K-pass loop"


def _make_estimator(name, backbone, pretrained, max_length, batch_size, extra):
    params = dict(random_state=0, max_epochs=1, batch_size=batch_size,
                  iterator_valid__batch_size=batch_size, **extra)
    if backbone == "bert":
        params.update(backbone="bert", pretrained=pretrained, max_length=max_length)
    return ESTIMATORS[name](**params)


def _candidates(backbone, n_candidates, data_dir, n_fit):
    if backbone == "mlp":
        X, y = make_testbed_classification(n_candidates + n_fit, random_state=0)
        return X[:n_fit], y[:n_fit], X[n_fit:]
    X, y = load_glue("sst2", data_dir, split="train")
    return list(X[:n_fit]), y[:n_fit], list(X[n_fit:n_fit + n_candidates])


def acquisition_cost(backbone="mlp", *, n_candidates=None,
                     n_instances=AcquisitionCostDefaults.n_instances,
                     n_index=AcquisitionCostDefaults.n_index, peer_n_index=None,
                     repeats=AcquisitionCostDefaults.repeats, batch_size=None,
                     n_fit=AcquisitionCostDefaults.n_fit, data_dir=None, pretrained=None,
                     max_length=64, use_baal=None):
    """Time one acquisition per agent, as a ratio to the baseline's forward pass.

    The defaults are :class:`AcquisitionCostDefaults`' (the command line's).

    Parameters
    ----------
    backbone : {'mlp', 'bert'} (default='mlp')
        MLP on 10-dimensional testbed inputs, or MiniLM (fine-tuning mode:
        the encoder runs at every scoring) on SST-2 sentences.
    n_candidates : int or None
        Candidates scored (N); ``None``: the backbone's :data:`N_CANDIDATES`.
    n_instances : int
        Rows chosen (n).
    n_index : tuple of int
        Index samples of the agents.
    peer_n_index : tuple of int or None (default=None)
        Stochastic passes of the MC-dropout peer and of whole-encoder MC
        dropout (one encoder pass each): ``n_index`` for the MLP, ``(10,)``
        for MiniLM (100 passes over MiniLM take minutes on a CPU).
    repeats : int
        Timed repeats; the minimum is reported.
    batch_size : int or None
        Prediction batch size; default 1024 (MLP) or 32 (MiniLM).
    n_fit : int
        Rows each estimator is fitted on (1 epoch; cost does not depend on
        how well it is trained).
    data_dir : path or None
        GLUE folder (MiniLM only).
    pretrained : str or None
        Encoder (MiniLM only); the offline MiniLM when ``None``.
    max_length : int (default=64)
        Tokens per sentence.
    use_baal : bool or None (default=None)
        Peer implementation: baal when importable (``None``), or the plain
        K-pass loop (``False``).

    Returns
    -------
    result : dict
        ``settings`` and ``rows`` (one per agent and ``n_index``:
        ``seconds``, ``ratio_to_forward``, ``all_seconds``).
    """
    load_before = os.getloadavg()
    n_candidates = n_candidates or N_CANDIDATES["mlp" if backbone == "mlp" else "bert"]
    if peer_n_index is None:
        peer_n_index = tuple(n_index) if backbone == "mlp" else (10,)
    batch_size = batch_size or (1024 if backbone == "mlp" else 32)
    X_fit, y_fit, X = _candidates(backbone, n_candidates, data_dir, n_fit)
    agents = {name: (AGENTS[name].estimator, AGENTS[name].query_strategy, AGENTS[name].params)
              for name in COST_AGENTS + (TEXT_COST_AGENTS if backbone == "bert" else ())}
    fitted = {}
    for agent, (name, _, extra) in agents.items():
        key = (name, tuple(sorted(extra.items())))
        if key not in fitted:
            fitted[key] = _make_estimator(name, backbone, pretrained, max_length, batch_size,
                                          extra).fit(X_fit, y_fit)
    base = fitted[("baseline", ())]
    configs = [("forward (baseline predict_proba)", None, lambda: base.predict_proba(X))]
    for agent, (name, strategy, extra) in agents.items():
        model = fitted[(name, tuple(sorted(extra.items())))]
        per_pass = agent in TEXT_COST_AGENTS  # one encoder pass per index sample
        for k in ((None,) if name == "baseline" else peer_n_index if per_pass else n_index):
            kwargs = {"n_instances": n_instances, "random_state": 0}
            if k is not None:
                kwargs["n_index"] = k
            call = (lambda m, s, kw: lambda: s(m, X, **kw))(model, strategy, kwargs)
            configs.append((agent, k, call))
    implementation = None
    for k in peer_n_index:
        acquire, implementation = peer_mc_dropout_bald(
            backbone, X, n_instances, k, batch_size=batch_size, pretrained=pretrained,
            max_length=max_length, use_baal=use_baal)
        configs.append((f"MC dropout BALD ({implementation})", k, acquire))

    for *_, call in configs:  # untimed warm-up
        call()
    times = interleaved_times([call for *_, call in configs], repeats)
    forward = min(times[0])
    rows = [{"agent": agent, "n_index": k, "seconds": min(t), "ratio_to_forward": min(t) / forward,
             "all_seconds": t} for (agent, k, _), t in zip(configs, times)]
    settings = dict(backbone=backbone, n_candidates=len(X), n_instances=n_instances,
                    n_index=list(n_index), peer_n_index=list(peer_n_index), repeats=repeats,
                    batch_size=batch_size, n_fit=n_fit,
                    max_length=max_length if backbone == "bert" else None,
                    pretrained=(pretrained or "MiniLM (offline)") if backbone == "bert" else None,
                    peer=implementation,
                    statistic="min over repeats; the forward pass is timed before every "
                              "configuration, min over all those samples")
    return timing_result(settings, rows, base.device, load_before)


def peer_speedups(result):
    """``{n_index: peer seconds / epinet:variance seconds}`` (how much cheaper the epinet is)."""
    epinet = {r["n_index"]: r["seconds"] for r in result["rows"] if r["agent"] == "epinet:variance"}
    peer = {r["n_index"]: r["seconds"] for r in result["rows"]
            if r["agent"].startswith("MC dropout BALD")}
    return {k: peer[k] / epinet[k] for k in epinet if k in peer}


def format_cost(result):
    """The cost table as text."""
    s = result["settings"]
    lines = [f"{s['backbone']}: {s['n_candidates']} candidates, pick {s['n_instances']}, "
             f"batch {s['batch_size']}, {s['device']}, torch {s['torch_version']} "
             f"({s['torch_threads']} threads), min over {s['repeats']} repeats",
             f"{'agent':<34} {'n_index':>7} {'seconds':>9} {'x forward':>10}"]
    for r in result["rows"]:
        k = "-" if r["n_index"] is None else r["n_index"]
        lines.append(f"{r['agent']:<34} {k:>7} {r['seconds']:>9.4f} {r['ratio_to_forward']:>10.2f}")
    for k, speedup in peer_speedups(result).items():
        lines.append(f"epinet:variance is {speedup:.1f}x cheaper than MC dropout BALD at "
                     f"n_index={k}")
    return "\n".join(lines)
