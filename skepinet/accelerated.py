"""The estimators trained through Hugging Face ``accelerate``: several GPUs, mixed precision.

Each class is its skepinet estimator with skorch's
:class:`skorch.hf.AccelerateMixin`, taking one more argument, an
``accelerate.Accelerator``::

    from accelerate import Accelerator
    from skepinet.accelerated import AcceleratedEpinetClassifier

    clf = AcceleratedEpinetClassifier(backbone="bert", accelerator=Accelerator())
    clf.fit(texts, y)          # launched with `accelerate launch script.py` on N GPUs

The module, optimizer and training ``DataLoader`` are prepared by the
accelerator (data-parallel over its processes, its mixed precision); the
epistemic index is sampled per step as in the plain estimator, the loss goes
through ``accelerator.backward``, and after each ``fit``/``partial_fit`` the
module is unwrapped so that predictions and strategies run as usual. The
plain estimators are untouched: this module is only imported on request and
needs ``pip install 'skepinet[accelerate]'``.

Checkpoints of an accelerated estimator are not supported (an
``Accelerator`` is process state, not a parameter to store): save the plain
estimator's weights with :func:`skepinet.save_estimator` on a plain copy.
"""

from skorch.dataset import unpack_data
from skorch.hf import AccelerateMixin

from .base import ENNClassifier
from .estimators import (
    BaselineClassifier,
    DropoutClassifier,
    EnsembleClassifier,
    EpinetClassifier,
)
from .utils import resolve_device

__all__ = ["AcceleratedBaselineClassifier", "AcceleratedDropoutClassifier",
           "AcceleratedEnsembleClassifier", "AcceleratedEpinetClassifier"]


class _Accelerated(AccelerateMixin):
    """What the skepinet estimators need beyond skorch's mixin."""

    @property
    def device(self):
        # The accelerator places modules and batches; predictions must follow it.
        requested = vars(self).get("device")
        if requested is None and "accelerator" in vars(self):
            return self.accelerator.device
        return resolve_device(requested)

    @device.setter
    def device(self, value):
        vars(self)["device"] = value

    def get_params(self, deep=True, **kwargs):
        params = super().get_params(deep=deep, **kwargs)
        params["device"] = vars(self).get("device")
        return params

    def _validate_params(self):
        super(AccelerateMixin, self)._validate_params()
        if self.accelerator.device_placement and vars(self).get("device") is not None:
            raise ValueError(
                f"device={vars(self)['device']!r} with an accelerator that places devices "
                "itself: leave device=None (the default here)."
            )

    def _initialize_callbacks(self):
        # skorch's 'auto' sink prints the epoch log whatever ``verbose`` says.
        if self.callbacks__print_log__sink == "auto" and not self.verbose:
            self.callbacks__print_log__sink = _silent
        return super()._initialize_callbacks()

    def initialize(self):
        """Seed and build as the plain estimator does, then prepare for the accelerator."""
        ENNClassifier.initialize(self)
        self._wrapped_with_accelerator = False
        self._initialize_accelerator()
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        # Unwrapped after the last fit (for prediction): wrap again to train on.
        self._initialize_accelerator()
        return super().on_train_begin(net, X=X, y=y, **kwargs)

    def train_step_single(self, batch, **fit_params):
        """One gradient computation averaged over index samples, through the accelerator."""
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        index = self._training_index().to(self.device)
        with self.accelerator.autocast():
            logits = self.infer(Xi, index=index, **fit_params)
            loss = self.get_loss(logits, yi, X=Xi, training=True)
        self.accelerator.backward(loss)
        return {"loss": loss, "y_pred": logits}


def _silent(*args, **kwargs):
    """A print that prints nothing (``verbose=0``)."""


def _accelerated(cls):
    doc = (f"{cls.__name__} trained through ``accelerate`` (see :mod:`skepinet.accelerated`)."
           "\n\n    Takes every parameter of :class:`skepinet." + cls.__name__ + "`, plus\n"
           "    ``accelerator`` (an ``accelerate.Accelerator``) and ``unwrap_after_train``\n"
           "    (default True); ``device`` defaults to None (the accelerator's).\n    ")
    return type(f"Accelerated{cls.__name__}", (_Accelerated, cls),
                {"__doc__": doc, "__module__": __name__})


AcceleratedBaselineClassifier = _accelerated(BaselineClassifier)
AcceleratedEpinetClassifier = _accelerated(EpinetClassifier)
AcceleratedDropoutClassifier = _accelerated(DropoutClassifier)
AcceleratedEnsembleClassifier = _accelerated(EnsembleClassifier)
