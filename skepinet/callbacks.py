"""skorch callbacks for skepinet estimators."""

from skorch.callbacks import Callback

from .utils import check_non_negative

__all__ = ["PriorWeightDecay", "set_prior_weight_decay"]

#: Optimizer parameter groups with this key set keep their own weight decay
#: (e.g. the learnable epinet's); a fixed prior over the data leaves them alone.
OWN_DECAY = "skepinet_own_weight_decay"


def set_prior_weight_decay(net, prior_precision, n_train):
    """Set a net's weight decay to ``prior_precision / n_train``: a fixed Gaussian prior.

    Groups flagged with :data:`OWN_DECAY` keep theirs; an ensemble's
    members each get ``net.weight_decay_share()`` of the decay.

    Parameters
    ----------
    net : skorch.NeuralNet
        An initialised net.
    prior_precision : float
        The total L2 strength.
    n_train : int
        Size of the training set.
    """
    share = net.weight_decay_share() if hasattr(net, "weight_decay_share") else 1.0
    for group in net.optimizer_.param_groups:
        if not group.get(OWN_DECAY):
            group["weight_decay"] = prior_precision * share / max(int(n_train), 1)


class PriorWeightDecay(Callback):
    """L2 regularisation of a fixed Gaussian prior: weight decay ``prior_precision / n_train``.

    skorch minimises the *mean* loss over the training rows plus
    ``weight_decay / 2 * ||theta||^2``, so a constant ``weight_decay`` is a
    prior whose strength grows with the data: too weak while labels are
    few, too strong once they are many. Dividing by the number of training
    rows at each ``fit``/``partial_fit`` keeps the prior fixed, as
    ``neural_testbed`` does for its agents (``l2 / num_steps``); this matters
    in active learning, where the same network is trained on 10 labels and
    then on thousands.

    It overrides the estimator's ``weight_decay`` in every optimizer
    parameter group but those that keep their own (an epinet's learnable
    part, see ``epinet_weight_decay``); the frozen epinet prior is never in
    the optimizer.
    ``n_train`` is the size of the training set the call's rows stand for:
    a skepinet estimator's ``n_train_`` (``partial_fit(..., n_train=...)``,
    which :class:`~skepinet.ActiveLearner` sets to the labels so far when it
    trains on a replay sample), else the rows of the call. An ensemble's
    loss averages over its members, so each member gets
    ``1 / n_members`` of the decay (the estimator's ``weight_decay_share()``),
    as in ``neural_testbed``.

    skepinet estimators also take ``prior_precision=`` directly; this
    callback is for other skorch nets and for sharing one setting.

    Parameters
    ----------
    prior_precision : float
        The total L2 strength; ``weight_decay = prior_precision / n_train``.

    Examples
    --------
    >>> from skepinet import EpinetClassifier
    >>> from skepinet.callbacks import PriorWeightDecay
    >>> clf = EpinetClassifier(callbacks=[("prior", PriorWeightDecay(10.0))])
    """

    def __init__(self, prior_precision):
        self.prior_precision = prior_precision

    def initialize(self):
        check_non_negative(self.prior_precision, "prior_precision", 10.0)
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        n_train = getattr(net, "n_train_", None) or (len(y) if y is not None else len(X))
        set_prior_weight_decay(net, self.prior_precision, n_train)

    def __repr__(self):
        return f"PriorWeightDecay(prior_precision={self.prior_precision!r})"
