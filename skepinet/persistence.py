"""Checkpoints that are safe to load: tensors as safetensors, everything else as JSON.

A checkpoint is one zip archive (the layout of skops' ``.skops`` files and of
``torch.save``) holding two members:

``skepinet.json``
    The format version, the estimator's class and parameters, its fitted
    scalars, the learner's run state and learning curve, and the SHA-256 of
    the tensors member. Human-readable.
``tensors.safetensors``
    Module weights, optimizer moments, RNG states and numeric arrays (e.g.
    the rows taught so far), in Hugging Face's safetensors format.

Nothing in either member is ever unpickled or executed. Classes and
functions are stored by import path and resolved on load only from an
allow-list (a role-checked base class from ``torch``, ``skorch`` or
``skepinet``; query strategies from ``skepinet.strategies`` or modAL), or
from what the caller passes as ``trusted``, as in ``skops.io.load``.
"""

import functools
import hashlib
import importlib
import inspect
import json
import os
import tempfile
import zipfile
import zlib
from numbers import Integral

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from skorch.callbacks import Callback
from skorch.history import History as SkorchHistory

from .estimators import BaselineClassifier, DropoutClassifier, EnsembleClassifier, EpinetClassifier
from .utils import fsync_folder

__all__ = ["CheckpointError", "Decoder", "Encoder", "FORMAT_VERSION", "decode_estimator",
           "decode_learner", "encode_estimator", "encode_learner", "load_estimator",
           "migrate_checkpoint", "read_archive", "read_manifest", "save_estimator",
           "write_archive"]

FORMAT = "skepinet-checkpoint"
FORMAT_VERSION = 1
MANIFEST = "skepinet.json"
TENSORS = "tensors.safetensors"

# Fitted attributes that ``initialize()`` rebuilds from the parameters.
_REBUILT = {"callbacks_", "prefixes_", "cuda_dependent_attributes_", "init_context_",
            "virtual_params_", "initialized_", "module_", "optimizer_", "criterion_",
            "history_"}
# Classes a parameter may name, by role: anything else must be passed as trusted.
_ROLE_BASES = {
    "module": torch.nn.Module,
    "criterion": torch.nn.Module,
    "optimizer": torch.optim.Optimizer,
    "iterator_train": torch.utils.data.DataLoader,
    "iterator_valid": torch.utils.data.DataLoader,
    "dataset": torch.utils.data.Dataset,
    "callback": Callback,
}
_ESTIMATORS = (EpinetClassifier, DropoutClassifier, EnsembleClassifier, BaselineClassifier)
_TRUSTED_PACKAGES = ("torch", "skorch", "skepinet")
_STRATEGY_MODULES = ("skepinet.strategies", "skepinet.priorities", "modAL")
# Plain functions a parameter may hold (e.g. a callback's target_extractor): pure
# computations only, never one that reads files or imports code.
_FUNCTION_MODULES = ("sklearn.metrics",)
_FUNCTIONS = {"skorch.utils:to_numpy", "skorch.utils:to_tensor", "skorch.utils:noop"}


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded: unreadable, corrupted, foreign or untrusted."""


# -- encoding ------------------------------------------------------------------------------


_PLAIN = (int, float, str, bool, type(None))


class Encoder:
    """Turn Python objects into JSON, setting tensors and numeric arrays aside."""

    def __init__(self):
        self.tensors = {}
        self._storages = set()

    def tensor(self, value):
        key = f"t{len(self.tensors)}"
        value = value.detach().cpu().contiguous()
        # safetensors refuses entries sharing memory: copy only those (e.g. tied weights).
        storage = value.untyped_storage().data_ptr()
        if storage in self._storages:
            value = value.clone()
        self._storages.add(storage)
        self.tensors[key] = value
        return {"__tensor__": key}

    def __call__(self, value, where="value"):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, np.generic):
            return value
        if isinstance(value, np.generic):
            return self(value.item(), where)
        if isinstance(value, torch.Tensor):
            return self.tensor(value)
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "biuf":
                return {"__array__": self.tensor(torch.from_numpy(np.ascontiguousarray(value)))
                        ["__tensor__"], "dtype": value.dtype.str}
            if value.dtype.kind in "OUS":
                return {"__strarray__": [self(v, where) for v in value.ravel().tolist()],
                        "dtype": value.dtype.str, "shape": list(value.shape)}
        if isinstance(value, tuple):
            return {"__tuple__": [self(v, where) for v in value]}
        if isinstance(value, list):
            if all(type(v) in _PLAIN for v in value):  # e.g. 10,000 row ids: as they are
                return value
            return [self(v, where) for v in value]
        if isinstance(value, dict):
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: self(v, f"{where}[{k!r}]") for k, v in value.items()}
            return {"__dict__": [[self(k, where), self(v, where)] for k, v in value.items()]}
        if isinstance(value, functools.partial):
            return {"__partial__": self(value.func, where), "args": self(list(value.args), where),
                    "keywords": self(dict(value.keywords), where)}
        if isinstance(value, Callback):
            return {"__callback__": _import_path(type(value), where),
                    "params": self(value.get_params(deep=False), where)}
        if inspect.isclass(value) or inspect.isfunction(value):
            return {"__class__" if inspect.isclass(value) else "__function__":
                    _import_path(value, where)}
        raise TypeError(
            f"{where} is a {type(value).__name__}, which a skepinet checkpoint cannot store "
            "safely (it holds JSON, arrays and tensors, never pickles). Use numbers, strings, "
            "arrays, or classes and functions importable from a module."
        )


def _import_path(obj, where):
    module, name = getattr(obj, "__module__", None), getattr(obj, "__qualname__", "")
    if not module or "<" in name or module == "__main__":
        raise TypeError(
            f"{where} is {obj!r}, defined in a script or a closure; a checkpoint stores classes "
            "and functions by import path. Move it into an importable module."
        )
    return f"{module}:{name}"


class Decoder:
    """The inverse of :class:`Encoder`, resolving names only from the allow-list."""

    def __init__(self, tensors, trusted, path):
        self.tensors, self.path = tensors, path
        self.trusted = {f"{t.__module__}:{t.__qualname__}": t for t in trusted}

    def __call__(self, value, role=None):
        if isinstance(value, list):
            return [self(v, role) for v in value]
        if not isinstance(value, dict):
            return value
        if "__tensor__" in value:
            return self.tensors[value["__tensor__"]]
        if "__array__" in value:
            return self.tensors[value["__array__"]].numpy().astype(value["dtype"], copy=False)
        if "__strarray__" in value:
            items = [self(v) for v in value["__strarray__"]]
            return np.array(items, dtype=value["dtype"]).reshape(value["shape"])
        if "__tuple__" in value:
            return tuple(self(v, role) for v in value["__tuple__"])
        if "__dict__" in value:
            return {self(k): self(v) for k, v in value["__dict__"]}
        if "__partial__" in value:
            return functools.partial(self(value["__partial__"], role), *self(value["args"]),
                                     **self(value["keywords"]))
        if "__callback__" in value:
            cls = self.resolve(value["__callback__"], "callback")
            return cls(**self(value["params"]))
        if "__class__" in value:
            return self.resolve(value["__class__"], role)
        if "__function__" in value:
            return self.resolve(value["__function__"],
                                "strategy" if role == "strategy" else "function")
        return {k: self(v, role if k == "params" else None) for k, v in value.items()}

    def resolve(self, name, role):
        if name in self.trusted:
            return self.trusted[name]
        module, _, qualname = name.partition(":")
        obj = None
        allowed = {"strategy": _STRATEGY_MODULES, "function": _FUNCTION_MODULES}.get(
            role, _TRUSTED_PACKAGES if role in _ROLE_BASES else ())
        if name in _FUNCTIONS or any(module == m or module.startswith(m + ".") for m in allowed):
            try:
                obj = functools.reduce(getattr, qualname.split("."),
                                       importlib.import_module(module))
            except (ImportError, AttributeError):
                raise CheckpointError(
                    f"{self.path} names {name}, which does not exist in this installation; "
                    "it was written by another version of torch, skorch or skepinet."
                ) from None
        base = _ROLE_BASES.get(role)
        ok = (obj is not None and (inspect.isfunction(obj) if role in ("strategy", "function")
                                   else inspect.isclass(obj) and issubclass(obj, base)))
        if not ok:
            raise CheckpointError(
                f"{self.path} names {name} as {role or 'a value'}, which skepinet does not load "
                "on its own: only torch, skorch and skepinet classes of the expected kind, and "
                "skepinet or modAL strategies. If you trust this file, pass the object itself: "
                f"load(..., trusted=[{qualname.split('.')[-1]}])."
            )
        return obj


def _param_role(name):
    return name if name in _ROLE_BASES else None


# -- estimators ----------------------------------------------------------------------------


def _skepinet_estimator(estimator, where):
    if not isinstance(estimator, _ESTIMATORS):
        raise TypeError(
            f"{where} is a {type(estimator).__name__}; skepinet checkpoints hold skepinet "
            "estimators (EpinetClassifier, DropoutClassifier, EnsembleClassifier, "
            "BaselineClassifier). Save other models with skops.io or joblib yourself."
        )


def _optimizer_state(optimizer, encode):
    state = optimizer.state_dict()
    return {"state": [[int(k), encode(v)] for k, v in state["state"].items()],
            "param_groups": encode(state["param_groups"])}


def encode_estimator(estimator, encode, where="estimator"):
    """The estimator as JSON, its tensors set aside in ``encode.tensors``."""
    _skepinet_estimator(estimator, where)
    params = {k: encode(v, f"{where} parameter {k}")
              for k, v in estimator.get_params(deep=False).items()}
    record = {"class": _import_path(type(estimator), where), "params": params, "fitted": None}
    if estimator.__sklearn_is_fitted__():
        attributes = {k: encode(v, f"{where}.{k}") for k, v in vars(estimator).items()
                      if k.endswith("_") and not k.startswith("_") and k not in _REBUILT
                      and k not in params}
        record["fitted"] = {
            "attributes": attributes,
            "module": encode(estimator.module_.state_dict()),
            "optimizer": _optimizer_state(estimator.optimizer_, encode),
            "criterion": encode(estimator.criterion_.state_dict()),
            "history": encode(estimator.history_.to_list()),
        }
    return record


def decode_estimator(record, decode):
    """Rebuild an estimator from :func:`encode_estimator`'s record."""
    cls = _estimator_class(record, decode)
    params = {k: decode(v, _param_role(k)) for k, v in record["params"].items()}
    estimator = cls(**params)
    fitted = record["fitted"]
    if fitted is None:
        return estimator
    attributes = {k: decode(v) for k, v in fitted["attributes"].items()}
    for key in ("n_features_in_", "classes_inferred_", "n_head_inputs_"):
        if key in attributes:
            setattr(estimator, key, attributes[key])
    estimator.initialize()
    estimator.module_.load_state_dict(decode(fitted["module"]))
    estimator.criterion_.load_state_dict(decode(fitted["criterion"]))
    optimizer = {"state": {k: decode(v) for k, v in fitted["optimizer"]["state"]},
                 "param_groups": decode(fitted["optimizer"]["param_groups"])}
    estimator.optimizer_.load_state_dict(optimizer)
    estimator.history_ = SkorchHistory(decode(fitted["history"]))
    for key, value in attributes.items():  # after initialize(), which reseeds the RNG state
        setattr(estimator, key, value)
    return estimator


def encode_learner(learner, encode):
    """An :class:`~skepinet.ActiveLearner` as JSON, its tensors set aside in ``encode.tensors``."""
    random_state = learner.random_state
    if not isinstance(random_state, (Integral, type(None))):
        random_state = None  # a RandomState object only seeded rng_, which is stored
    state = learner.run_state_
    return {
        "estimator": encode_estimator(learner.estimator, encode, "ActiveLearner.estimator"),
        "query_strategy": encode(learner.query_strategy, "query_strategy"),
        "random_state": encode(random_state),
        "fit_kwargs": encode(learner.fit_kwargs, "fit_kwargs"),
        "X_training": encode(learner.X_training, "X_training"),
        "y_training": encode(learner.y_training, "y_training"),
        "rng": encode(learner.rng_.bit_generator.state),
        "history": encode(list(learner.history_)),
        "run_state": encode(None if state is None else state.to_dict(), "run state"),
    }


def decode_learner(record, decode):
    """The values of :func:`encode_learner`'s record, by name.

    ``rng`` is the generator's state, ``history`` a list of records and
    ``run_state`` a dict (or ``None``); the learner rebuilds its objects.
    """
    values = {"estimator": decode_estimator(record["estimator"], decode),
              "query_strategy": decode(record["query_strategy"], "strategy")}
    for key in ("random_state", "fit_kwargs", "X_training", "y_training", "rng", "history",
                "run_state"):
        values[key] = decode(record[key])
    return values


def _estimator_class(record, decode):
    name = record["class"]
    module, _, qualname = name.partition(":")
    cls = decode.trusted.get(name)
    if cls is None and (module == "skepinet" or module.startswith("skepinet.")):
        cls = functools.reduce(getattr, qualname.split("."), importlib.import_module(module))
    if not (inspect.isclass(cls) and issubclass(cls, _ESTIMATORS)):
        raise CheckpointError(
            f"{decode.path} holds an estimator of class {name}, not a skepinet estimator; "
            "pass its class as trusted=[...] if you trust the file."
        )
    return cls


# -- the archive ---------------------------------------------------------------------------


def write_archive(path, content, tensors):
    """Write ``content`` (JSON-able) and ``tensors`` to ``path`` atomically.

    The archive is written beside ``path``, fsynced and renamed over it, so a
    crash at any moment leaves the previous file or the new one, never a mix.
    """
    path = os.fspath(path)
    blob = save_tensors(tensors) if tensors else b""
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "sha256": {TENSORS: hashlib.sha256(blob).hexdigest()}, **content}
    folder = os.path.dirname(os.path.abspath(path))
    prefix = f".{os.path.basename(path)}.skepinet-"
    _remove_leftovers(folder, prefix)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
    try:
        # mkstemp creates 0600; a checkpoint gets the mode of any file the user makes.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w") as archive:
                # No indent: json's C encoder (an indent takes the pure-Python one, 5x slower).
                archive.writestr(MANIFEST, json.dumps(manifest),
                                 compress_type=zipfile.ZIP_DEFLATED)
                archive.writestr(TENSORS, blob, compress_type=zipfile.ZIP_STORED)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_folder(folder)  # the rename itself survives a power cut
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _remove_leftovers(folder, prefix):
    """Delete the half-written copies of this file that a killed writer left behind."""
    for name in os.listdir(folder):
        if name.startswith(prefix) and name.endswith(".tmp"):
            try:
                os.unlink(os.path.join(folder, name))
            except FileNotFoundError:
                pass


def _looks_like_pickle(path):
    with open(path, "rb") as f:
        head = f.read(2)
    # Protocol 2+ pickles start with PROTO (0x80); joblib's compressed ones with zlib's 0x78.
    return head[:1] == b"\x80" or head[:1] == b"\x78"


def read_manifest(path):
    """The JSON part of a checkpoint, checked for format and version.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    manifest : dict

    Raises
    ------
    CheckpointError
        Naming the file and what is wrong with it.
    """
    manifest, _ = _read(path, tensors=False)
    return manifest


def _read(path, tensors=True):
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
            blob = archive.read(TENSORS) if tensors else None
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, zlib.error, KeyError, EOFError, json.JSONDecodeError,
            UnicodeDecodeError,
            OSError) as error:
        if os.path.isfile(path) and _looks_like_pickle(path):
            raise CheckpointError(
                f"{path} is a pickle, the checkpoint format of skepinet 0.1. Loading a "
                "pickle runs whatever code it holds, so skepinet no longer does it. If you wrote "
                "this file yourself, convert it once with skepinet.persistence."
                f"migrate_checkpoint({path!r}, 'new.skepinet', trust_pickle=True)."
            ) from None
        raise CheckpointError(
            f"{path} is not a readable skepinet checkpoint ({type(error).__name__}: {error}); "
            "it may be truncated or corrupted. Resume from another copy, or start afresh: the "
            "answers are in the journal beside it."
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a zip archive but not a skepinet checkpoint.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {manifest.get('format_version')}; this skepinet "
            f"reads format {FORMAT_VERSION}. Load it with the skepinet version that wrote it."
        )
    if blob is not None:
        digest = hashlib.sha256(blob).hexdigest()
        if digest != manifest["sha256"][TENSORS]:
            raise CheckpointError(
                f"{path}: {TENSORS} does not match its SHA-256 checksum (stored "
                f"{manifest['sha256'][TENSORS][:16]}..., found {digest[:16]}...): the file is "
                "corrupted. Resume from another copy; the answers are in the journal."
            )
    return manifest, blob


def read_archive(path, trusted=()):
    """The manifest and a decoder over the archive's tensors (see :func:`write_archive`)."""
    manifest, blob = _read(path)
    try:
        tensors = load_tensors(blob) if blob else {}
    except Exception as error:  # safetensors' own parse errors
        raise CheckpointError(f"{path}: {TENSORS} cannot be parsed ({error}).") from None
    return manifest, Decoder(tensors, trusted, os.fspath(path))


def save_estimator(estimator, path):
    """Write a skepinet estimator to ``path`` in the safe checkpoint format.

    Parameters
    ----------
    estimator : skepinet estimator
        Fitted or not.
    path : str or path-like
    """
    encode = Encoder()
    write_archive(path, {"kind": "estimator", "estimator": encode_estimator(estimator, encode)},
                  encode.tensors)


def load_estimator(path, trusted=()):
    """Load an estimator written by :func:`save_estimator` (no code is run).

    Parameters
    ----------
    path : str or path-like
    trusted : sequence of classes or functions (default=())
        Objects outside skepinet's allow-list that the file may name (e.g. a
        custom module class), as in ``skops.io.load``.

    Returns
    -------
    estimator : skepinet estimator
    """
    manifest, decode = read_archive(path, trusted)
    if manifest.get("kind") != "estimator":
        raise CheckpointError(f"{path} holds a {manifest.get('kind')}, not an estimator; "
                              "load it with ActiveLearner.load.")
    return decode_estimator(manifest["estimator"], decode)


def migrate_checkpoint(old_path, new_path, *, trust_pickle=False):
    """Convert a pickled (joblib) checkpoint of skepinet 0.1 to the safe format.

    Parameters
    ----------
    old_path, new_path : str or path-like
    trust_pickle : bool (default=False)
        Must be ``True``: unpickling runs the file's code, so only convert a
        file you wrote yourself.

    Returns
    -------
    obj : ActiveLearner or estimator
        What the old file held, now also saved at ``new_path``.
    """
    if not trust_pickle:
        raise ValueError("migrate_checkpoint unpickles the old file, which runs any code in it; "
                         "pass trust_pickle=True only for a file you wrote yourself.")
    import joblib

    obj = joblib.load(old_path)
    if hasattr(obj, "run_state_") and callable(getattr(obj, "save", None)):  # a learner
        obj.save(new_path)
    else:
        save_estimator(obj, new_path)
    return obj
