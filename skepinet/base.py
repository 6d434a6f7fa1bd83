"""The ENN base estimator: validation, seeding, training and joint prediction.

:class:`ENNClassifier` is what the public classifiers of
:mod:`skepinet.estimators` share: a :class:`skorch.NeuralNetClassifier` whose
module maps inputs and epistemic index samples to joint logits. It works on
numeric features; :class:`skepinet.text_inputs.TextInputMixin` adds the text
backbone by overriding its input hooks, so that no method here branches on
the backbone.
"""

import contextlib
import numbers
from types import MappingProxyType

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNet, NeuralNetClassifier
from skorch.callbacks import EpochScoring
from skorch.dataset import unpack_data
from skorch.utils import data_from_dataset, is_dataset, to_numpy, to_tensor
from torch.nn import functional as F

from .batches import TensorBatches, check_batch_size
from .callbacks import set_prior_weight_decay
from .networks import check_layer_widths
from .prediction import JointPredictionMixin
from .utils import (
    check_non_negative,
    check_positive_int,
    resolve_device,
)

__all__ = ["ENNClassifier", "accuracy_on_encoded"]

# Components read afresh at every call: changing them needs no re-initialisation.
_PASSIVE_PREFIXES = ("iterator_train", "iterator_valid", "dataset")
def _check_training_settings(lr, max_epochs, batch_size):
    """The optimizer and loop settings, checked before a fitted model is re-initialised."""
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite number, got {lr!r}; e.g. lr=1e-3.")
    if (isinstance(max_epochs, bool) or not isinstance(max_epochs, numbers.Integral)
            or max_epochs < 0):
        raise ValueError(f"max_epochs must be a non-negative integer, got {max_epochs!r}; "
                         "e.g. max_epochs=100.")
    check_batch_size(batch_size)


@contextlib.contextmanager
def _rollback_on_error(obj):
    """Restore ``obj``'s attributes if the block raises, so a rejected call changes nothing."""
    saved = dict(vars(obj))
    try:
        yield
    except BaseException:
        vars(obj).clear()
        vars(obj).update(saved)
        raise


def accuracy_on_encoded(net, X, y):
    """Validation accuracy of ``net`` on targets encoded as skorch trains on them.

    Parameters
    ----------
    net : ENNClassifier
    X : array-like
        Validation inputs.
    y : array-like of int
        Encoded targets.

    Returns
    -------
    accuracy : float
    """
    # skorch hands validation targets as the encoded integers it trained on,
    # while ``predict`` returns the user's labels: compare in encoded space.
    return float(np.mean(net.predict_proba(X).argmax(axis=1) == to_numpy(y)))


class ENNClassifier(JointPredictionMixin, NeuralNetClassifier):
    """The ENN machinery shared by every skepinet classifier, on numeric inputs.

    A skorch classifier whose module maps inputs and epistemic index samples
    to joint logits. It validates and encodes data, seeds everything from
    ``random_state``, trains with the loss averaged over index samples and
    makes joint predictions (:meth:`predict_proba_joint`) batch by batch.
    Inputs are arrays of numeric features (``backbone='mlp'``); the text
    backbone is :class:`skepinet.text_inputs.TextInputMixin`, which overrides
    the input hooks (``_validate_fit_inputs``, ``_validate_predict_inputs``,
    ``_batch``, ...). The parameters are those of the public estimators in
    :mod:`skepinet.estimators`, text ones included, so that ``get_params``
    and ``clone`` see one signature whatever the backbone.
    """

    #: Backbones this class can run; a mixin that adds one extends it.
    backbones = ("mlp",)

    # skorch's __init__ sets these three; keeping their "empty" values on the
    # class means a fresh estimator carries nothing but its parameters.
    history_ = None
    initialized_ = False
    virtual_params_ = MappingProxyType({})

    _default_module = None

    def __init__(
        self,
        module=None,
        *,
        backbone="mlp",
        hidden_sizes=(50, 50),
        weight_decay=1e-4,
        prior_precision=None,
        random_state=None,
        pretrained=None,
        pooling="cls",
        max_length=128,
        freeze_encoder=False,
        encoder_lr=1e-5,
        mixed_precision="auto",
        cuda_batch_size=1024,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=100,
        batch_size=64,
        train_split=None,
        verbose=0,
        device="auto",
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            verbose=verbose,
            device=device,
            **kwargs,
        )
        self.backbone = backbone
        self.hidden_sizes = hidden_sizes
        self.weight_decay = weight_decay
        self.prior_precision = prior_precision
        self.random_state = random_state
        self.pretrained = pretrained
        self.pooling = pooling
        self.max_length = max_length
        self.freeze_encoder = freeze_encoder
        self.encoder_lr = encoder_lr
        self.mixed_precision = mixed_precision
        self.cuda_batch_size = cuda_batch_size
        for attr in ("history_", "initialized_", "virtual_params_"):
            if not vars(self)[attr]:
                del vars(self)[attr]

    # -- device='auto' -------------------------------------------------------
    # The parameter keeps what the user passed ('auto'), while every skorch
    # code path that reads ``self.device`` sees a concrete device.

    @property
    def device(self):
        return resolve_device(vars(self).get("device", "auto"))

    @device.setter
    def device(self, value):
        vars(self)["device"] = value

    def _get_param_names(self):
        # skorch lists every non-underscore-suffixed attribute, private
        # bookkeeping such as ``_params_to_validate`` included; those are
        # not parameters a user (or set_params) should touch.
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    def get_params(self, deep=True, **kwargs):
        params = super().get_params(deep=deep, **kwargs)
        params["device"] = vars(self).get("device", "auto")
        return params

    def set_params(self, **params):
        """Set parameters, as skorch does.

        ``iterator_train__*``, ``iterator_valid__*`` and ``dataset__*`` take
        effect at the next call without re-initialising anything; skorch 1.4
        rejects them on a fitted net, so they are set directly here.

        Returns
        -------
        self : object
        """
        passive = {
            key: value
            for key, value in params.items()
            if key.split("__", 1)[0] in _PASSIVE_PREFIXES and "__" in key
        }
        if passive and self.initialized_:
            for key, value in passive.items():
                setattr(self, key, value)
                self._params_to_validate.add(key)
            params = {k: v for k, v in params.items() if k not in passive}
        return super().set_params(**params) if params else self

    def __setstate__(self, state):
        requested = state.get("device")
        state["device"] = resolve_device(requested)
        super().__setstate__(state)
        if isinstance(requested, str) and requested == "auto":
            vars(self)["device"] = requested

    @property
    def _default_callbacks(self):
        callbacks = dict(super()._default_callbacks)
        callbacks["valid_acc"] = EpochScoring(
            accuracy_on_encoded, name="valid_acc", lower_is_better=False
        )
        return list(callbacks.items())

    # -- module construction -------------------------------------------------

    def _module_params(self):
        """Hyperparameters passed to the module; subclasses extend this."""
        return {"hidden_sizes": tuple(self.hidden_sizes)}

    def initialize_module(self):
        """Build the ENN module from the estimator's hyperparameters.

        Dimensions come from the data seen by ``fit``; ``module__*``
        parameters override any hyperparameter, as in skorch.
        """
        if not hasattr(self, "n_head_inputs_"):
            raise AttributeError(
                f"{type(self).__name__} builds its module from the training "
                "data; call fit(X, y) instead of initialize()."
            )
        encoder = self._new_trainable_encoder()
        n_inputs = self.n_head_inputs_ if encoder is None else encoder.n_features_out
        kwargs = {
            "n_features": n_inputs,
            "n_classes": len(self.classes_),
            **self._module_params(),
            **self.get_params_for("module"),
        }
        module = self._default_module if self.module is None else self.module
        head = self.initialized_instance(module, kwargs)
        self.module_ = head if encoder is None else self._module_with_encoder(encoder, head)
        return self

    def _new_trainable_encoder(self):
        """A backbone trained with the heads, or None when the heads read the inputs directly."""
        return None

    def _module_with_encoder(self, encoder, head):
        """The network of a trainable ``encoder`` under ``head`` (a backbone mixin's)."""
        raise NotImplementedError(f"{type(self).__name__} has no trainable encoder.")

    def initialize(self):
        """Initialise module, criterion and optimizer from ``random_state``."""
        seeds = check_random_state(self.random_state).randint(
            np.iinfo(np.int32).max, size=3
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seeds[0]))
            super().initialize()
        self.rng_state_ = torch.Generator().manual_seed(int(seeds[1])).get_state()
        self.index_seed_ = int(seeds[2])
        return self

    def weight_decay_share(self):
        """The factor applied to ``weight_decay`` and ``prior_precision``: 1 (ensembles: 1 / n_members).

        Returns
        -------
        share : float
        """
        return 1.0

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Set the fixed-prior weight decay ``prior_precision / n_train_`` (when set)."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        if self.prior_precision is not None:
            set_prior_weight_decay(self, self.prior_precision, self.n_train_)

    def get_all_learnable_params(self):
        """Yield trainable parameters only: the epinet prior stays out of the optimizer."""
        for name, param in super().get_all_learnable_params():
            if param.requires_grad:
                yield name, param

    def get_params_for_optimizer(self, prefix, named_parameters):
        named_parameters = list(named_parameters)
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        if prefix == "optimizer":
            kwargs.setdefault("weight_decay", self.weight_decay * self.weight_decay_share())
            # A user's own optimizer__param_groups win over the default groups.
            groups = (None if "optimizer__param_groups" in vars(self)
                      else self._default_param_groups(named_parameters))
            if groups is not None:
                args = (groups,)
        return args, kwargs

    def _default_param_groups(self, named_parameters):
        """Optimizer parameter groups, or None for one group (a backbone mixin may split it)."""
        return None

    # -- device and precision --------------------------------------------------

    def _autocast(self):
        use = self.mixed_precision
        if torch.device(self.device).type == "cuda" and (use == "auto" or use is True):
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def infer(self, x, **fit_params):
        """The module's forward pass, under bf16 autocast on CUDA (``mixed_precision``)."""
        with self._autocast():
            return super().infer(x, **fit_params)

    def get_iterator(self, dataset, training=False):
        """skorch's iterator, with a fast path for in-memory arrays.

        In-memory arrays under the default ``DataLoader`` are sliced a batch
        at a time instead of gathered row by row and collated (the same
        batches, in the same order, drawn from the same RNG).
        """
        fast = TensorBatches.maybe(self, dataset, training)
        if fast is not None:
            return fast
        return super().get_iterator(dataset, training=training)

    # -- validation ------------------------------------------------------------

    def _check_hyperparameters(self):
        requested = vars(self).get("device", "auto")
        try:
            if requested is not None:
                torch.device(resolve_device(requested))
        except (RuntimeError, TypeError):
            raise ValueError(
                f"device={requested!r} is not a torch device; pass 'auto' (a GPU when one is "
                "visible), 'cpu', 'cuda' or e.g. 'cuda:1'."
            ) from None
        _check_training_settings(self.lr, self.max_epochs, self.batch_size)
        check_layer_widths(self.hidden_sizes, "hidden_sizes")
        if self.backbone not in self.backbones:
            raise ValueError(
                f"backbone={self.backbone!r} is not supported; "
                f"choose one of {self.backbones}."
            )
        if self.prior_precision is not None:
            check_non_negative(self.prior_precision, "prior_precision", 10.0)
        check_non_negative(self.weight_decay, "weight_decay", 1e-4)

    def _validate_fit_data(self, X, y, *, reset, classes=None):
        self._check_hyperparameters()
        X, y = self._validate_fit_inputs(X, y, reset=reset)
        check_classification_targets(y)
        if reset:
            self._set_classes(y, classes)
            self.n_head_inputs_ = self._n_head_inputs(X)
        return X, self._encode_labels(y)

    def _validate_fit_inputs(self, X, y, *, reset):
        """Model-ready training inputs and raw labels: here float32 features."""
        if is_dataset(X):
            X, y = data_from_dataset(X) if y is None else (data_from_dataset(X)[0], y)
        return validate_data(self, X, y, reset=reset, dtype=np.float32)

    def _n_head_inputs(self, X):
        """Width of the heads' input: the features' (a trainable encoder sets its own)."""
        return X.shape[1]

    def _set_classes(self, y, classes):
        if classes is None and self.classes is not None and len(self.classes):
            classes = self.classes
        labels = np.unique(y) if classes is None else np.asarray(classes)
        if len(labels) < 2:
            raise ValueError(
                f"y has only 1 class ({labels.tolist()}); {type(self).__name__} "
                "needs at least 2 classes to fit. Label examples of another "
                "class, or pass every label with classes=[...] to partial_fit."
            )
        self.classes_inferred_ = labels

    def _encode_labels(self, y):
        classes = np.asarray(self.classes_)
        order = np.argsort(classes, kind="stable")
        sorted_classes = classes[order]
        pos = np.clip(np.searchsorted(sorted_classes, y), 0, len(classes) - 1)
        unseen = sorted_classes[pos] != y
        if np.any(unseen):
            raise ValueError(
                f"y contains labels {np.unique(y[unseen]).tolist()[:10]} that "
                f"{type(self).__name__} was not fitted on (classes_="
                f"{classes.tolist()}). Refit with fit(), or name every label "
                "with classes=[...] on the first partial_fit call."
            )
        return order[pos].astype(np.int64)

    def _validate_predict_data(self, X):
        check_is_fitted(self)
        return self._validate_predict_inputs(X)

    def _validate_predict_inputs(self, X):
        """Model-ready prediction inputs: here float32 features."""
        if is_dataset(X):
            X = data_from_dataset(X)[0]
        return validate_data(self, X, reset=False, dtype=np.float32)

    def __sklearn_is_fitted__(self):
        return bool(self.initialized_) and hasattr(self, "n_head_inputs_")

    def check_data(self, X, y=None):
        # fit/partial_fit validate and encode before skorch sees the data.
        pass

    # -- training --------------------------------------------------------------

    @contextlib.contextmanager
    def _rng_scope(self):
        """Run torch's CPU RNG from this estimator's own stream, then save it.

        Shuffling, dropout masks and index samples are then reproducible for a
        given ``random_state`` without touching the user's global RNG, and
        successive ``partial_fit`` calls continue the stream, never repeat it.
        """
        with torch.random.fork_rng(devices=[]):
            torch.random.set_rng_state(self.rng_state_)
            try:
                yield
            finally:
                self.rng_state_ = torch.random.get_rng_state()

    def _training_index(self):
        """Index samples for one training step (drawn from the RNG scope)."""
        return self._network().sample_index(self.n_index_train)

    def _network(self):
        """``module_`` itself, unwrapped from a (Distributed)DataParallel wrapper."""
        wrapped = (torch.nn.DataParallel, torch.nn.parallel.DistributedDataParallel)
        return self.module_.module if isinstance(self.module_, wrapped) else self.module_

    def fit(self, X, y, **fit_params):
        """Initialise and train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs (numpy, pandas, lists, or a torch ``Dataset``).
        y : array-like of shape (n_samples,)
            Class labels of any hashable type.
        **fit_params : dict
            Passed on to skorch's training loop.

        Returns
        -------
        self : object
        """
        reset = not (self.warm_start and self.__sklearn_is_fitted__())
        with _rollback_on_error(self):
            self._check_fit_params(fit_params, "fit")
            X, y = self._validate_fit_data(X, y, reset=reset)
            self.n_train_ = len(y)
        if reset:
            self.initialize()
        with self._rng_scope():
            NeuralNet.partial_fit(self, X, y, _routing_method="fit", **fit_params)
        return self

    def _check_fit_params(self, fit_params, method):
        """skepinet's own networks take no fit parameters: refuse them before anything changes.

        skorch hands fit parameters to the module's ``forward``, where an unknown
        name fails only after the model was re-initialised. A user's own
        ``module`` may take some, so they pass through to it.
        """
        # ``epochs`` is skorch's own (fit_loop's), not the module's.
        names = sorted(set(fit_params) - {"epochs"})
        if not names or self.module is not None:
            return
        raise TypeError(
            f"{method}() got unexpected keyword argument(s) {names}: skepinet's networks take "
            "no fit parameters. Set estimator parameters with set_params(...) or the "
            f"constructor, e.g. {type(self).__name__}(max_epochs=3)."
        )

    def partial_fit(self, X, y, classes=None, n_train=None, **fit_params):
        """Train further without re-initialising (one call = ``max_epochs`` epochs).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Class labels; after the first call, only labels seen then.
        classes : array-like of shape (n_classes,) or None (default=None)
            Every label the model will ever see; only read on the first call.
        n_train : int or None (default=None)
            Size of the training set these rows stand for, when they are a
            sample of it (e.g. a replay of every label so far): the
            ``prior_precision`` weight decay is ``prior_precision / n_train``.
            ``None`` means ``len(y)``.
        **fit_params : dict
            Passed on to skorch's training loop.

        Returns
        -------
        self : object
        """
        first = not self.__sklearn_is_fitted__()
        with _rollback_on_error(self):
            self._check_fit_params(fit_params, "partial_fit")
            X, y = self._validate_fit_data(X, y, reset=first, classes=classes)
            self.n_train_ = len(y) if n_train is None else check_positive_int(n_train, "n_train", 1000)
        if first:
            self.initialize()
        with self._rng_scope():
            NeuralNet.partial_fit(self, X, y, **fit_params)
        return self

    def train_step_single(self, batch, **fit_params):
        """One gradient computation, averaging the loss over index samples."""
        if not self.module_.training:  # set once per epoch, not per batch (a walk of the modules)
            self._set_training(True)
        Xi, yi = unpack_data(batch)
        index = self._training_index().to(self.device)
        logits = self.infer(Xi, index=index, **fit_params)
        loss = self.get_loss(logits, yi, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": logits}

    def validation_step(self, batch, **fit_params):
        """Validation loss under index samples, as in training, without gradients."""
        self._set_training(False)
        Xi, yi = unpack_data(batch)
        with torch.no_grad():
            logits = self.infer(Xi, index=self._training_index().to(self.device), **fit_params)
            loss = self.get_loss(logits, yi, X=Xi, training=False)
        return {"loss": loss, "y_pred": logits}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Mean criterion over index samples and rows (paper eq. 4, without L2).

        ``y_pred`` holds logits, of shape ``(n_index, batch, n_classes)`` or
        ``(batch, n_classes)``. The L2 term is the optimizer's
        ``weight_decay``.
        """
        y_true = to_tensor(y_true, device=self.device).long()
        if y_pred.dim() == 3:
            n_index = y_pred.shape[0]
            y_pred = y_pred.reshape(-1, y_pred.shape[-1])
            if n_index > 1:
                y_true = y_true.repeat(n_index)
        if isinstance(self.criterion_, torch.nn.NLLLoss):
            y_pred = F.log_softmax(y_pred, dim=-1)
        return self.criterion_(y_pred, y_true)
