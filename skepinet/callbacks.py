"""skorch callbacks for skepinet estimators."""

from numbers import Real

from skorch.callbacks import Callback

__all__ = ["PriorWeightDecay"]


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
    parameter group (the frozen epinet prior is never in the optimizer).

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
        if (not isinstance(self.prior_precision, Real) or isinstance(self.prior_precision, bool)
                or not self.prior_precision >= 0):
            raise ValueError(
                f"prior_precision must be a non-negative number, got {self.prior_precision!r}; "
                "e.g. PriorWeightDecay(10.0)."
            )
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        n_train = len(y) if y is not None else len(X)
        for group in net.optimizer_.param_groups:
            group["weight_decay"] = self.prior_precision / max(n_train, 1)

    def __repr__(self):
        return f"PriorWeightDecay(prior_precision={self.prior_precision!r})"
