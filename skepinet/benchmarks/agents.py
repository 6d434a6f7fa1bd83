"""The active-learning agents of every benchmark and the demo: an estimator and a query strategy.

One registry, :data:`AGENTS`, names each agent once; the testbed and GLUE
sweeps run :data:`LOOP_AGENTS`, the cost benchmark times
:data:`COST_AGENTS` (and :data:`TEXT_COST_AGENTS` on MiniLM), the demo runs
:data:`DEMO_AGENTS`, and the report's epistemic checks compare the agents
flagged :attr:`Agent.epistemic` with those flagged not.
"""

from dataclasses import dataclass, field

from ..estimators import ESTIMATORS
from ..strategies import STRATEGIES

__all__ = ["Agent", "AGENTS", "LOOP_AGENTS", "COST_AGENTS", "TEXT_COST_AGENTS", "DEMO_AGENTS",
           "EPISTEMIC_AGENTS", "NON_EPISTEMIC_AGENTS"]


@dataclass(frozen=True)
class Agent:
    """A skepinet estimator and a query strategy, run through Algorithm 1.

    Parameters
    ----------
    name : str
        ``'<network>:<strategy>'``, e.g. ``'epinet:variance'``.
    estimator : str
        A key of :data:`skepinet.estimators.ESTIMATORS`.
    strategy : str
        A key of :data:`skepinet.strategies.STRATEGIES`.
    params : dict
        Estimator settings that make this agent (beyond the benchmark's
        shared ones), e.g. ``{'mc_dropout_encoder': True}``.
    epistemic : bool or None
        ``True`` if its priority is epistemic (it should beat the
        non-epistemic agents), ``False`` if not, ``None`` when the report's
        checks leave it out.
    """

    name: str
    estimator: str
    strategy: str
    params: dict = field(default_factory=dict)
    epistemic: object = None

    def __post_init__(self):
        # A typo here would only surface deep inside a sweep.
        if self.estimator not in ESTIMATORS or self.strategy not in STRATEGIES:
            raise ValueError(f"agent {self.name!r}: unknown estimator {self.estimator!r} or "
                             f"strategy {self.strategy!r}.")

    @property
    def estimator_class(self):
        """The estimator's class."""
        return ESTIMATORS[self.estimator]

    @property
    def query_strategy(self):
        """The strategy function (``strategy(classifier, X_pool, n_instances, ...)``)."""
        return STRATEGIES[self.strategy]


def _registry(*agents):
    return {agent.name: agent for agent in agents}


# Order matters: it is the default order of every table and of the report's checks.
AGENTS = _registry(
    Agent("epinet:variance", "epinet", "variance", epistemic=True),
    Agent("epinet:bald", "epinet", "bald", epistemic=True),
    Agent("epinet:epig", "epinet", "epig", epistemic=True),
    Agent("epinet:entropy", "epinet", "entropy", epistemic=False),
    Agent("epinet:margin", "epinet", "margin", epistemic=False),
    Agent("epinet:uniform", "epinet", "uniform", epistemic=False),
    Agent("mlp:entropy", "baseline", "entropy", epistemic=False),
    Agent("mlp:margin", "baseline", "margin", epistemic=False),
    Agent("dropout:variance", "dropout", "variance"),
    Agent("ensemble:variance", "ensemble", "variance"),
    # MC dropout through the whole encoder: one encoder pass per index sample (text only).
    Agent("dropout(encoder):variance", "dropout", "variance", {"mc_dropout_encoder": True}),
)
"""dict : Agent name -> :class:`Agent`."""

#: Agents of the testbed and GLUE sweeps (those that run on any backbone).
LOOP_AGENTS = tuple(name for name, agent in AGENTS.items() if not agent.params)
#: Agents the acquisition-cost benchmark times on every backbone.
COST_AGENTS = ("mlp:entropy", "epinet:variance", "epinet:bald", "dropout:variance",
               "ensemble:variance")
#: Agents it adds on MiniLM.
TEXT_COST_AGENTS = ("dropout(encoder):variance",)
#: Agents of ``python -m skepinet.demo``.
DEMO_AGENTS = ("epinet:variance", "epinet:uniform", "epinet:entropy")
#: The report's epistemic checks: each of these should beat each non-epistemic agent.
EPISTEMIC_AGENTS = tuple(name for name, agent in AGENTS.items() if agent.epistemic is True)
NON_EPISTEMIC_AGENTS = tuple(name for name, agent in AGENTS.items() if agent.epistemic is False)
