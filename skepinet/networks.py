"""Torch modules: the MLP backbone and the epistemic heads built on it.

Every module here is an *epistemic neural network* (ENN): a network
``f(x, z)`` plus a reference distribution over the epistemic index ``z``.
They share one small protocol that the estimators rely on:

``sample_index(n_index, generator=None)``
    Draw ``n_index`` epistemic indices from the reference distribution, as
    one tensor whose first axis is the index axis.

``forward(x, index=None)``
    With ``index``, return logits of shape ``(n_index, batch, n_classes)``,
    every row of the batch evaluated with the *same* index samples (a joint
    prediction). Without it, return the module's nominal logits of shape
    ``(batch, n_classes)``, so plain skorch code paths keep working.

``features(x)``
    The representation the heads see (the last hidden layer), used for
    diversity-based selection.

The computations are batched over index samples: there is no Python loop
over ``z`` anywhere, and the shared parts (backbone, first layer) are
evaluated once per batch.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "MLP",
    "IndexedMLP",
    "BaselineNet",
    "EpinetNet",
    "AdditivePrior",
    "check_layer_widths",
    "check_prior",
    "DropoutNet",
    "EnsembleNet",
]


def init_linear_(weight, bias=None):
    """Initialise a linear layer as the ``enn`` reference code does.

    Weights are drawn from a normal truncated at two standard deviations with
    standard deviation ``1 / sqrt(fan_in)``; biases are zero.

    Parameters
    ----------
    weight : torch.Tensor of shape (..., fan_out, fan_in)
        Weight, initialised in place.
    bias : torch.Tensor or None (default=None)
        Bias, zeroed in place.
    """
    std = 1.0 / math.sqrt(weight.shape[-1])
    with torch.no_grad():
        nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)
        if bias is not None:
            bias.zero_()


def _linear(n_in, n_out):
    layer = nn.Linear(n_in, n_out)
    init_linear_(layer.weight, layer.bias)
    return layer


def check_layer_widths(value, name):
    """Layer widths as a tuple of ints; refuses anything but positive integers, naming them.

    Parameters
    ----------
    value : sequence of int
    name : str
        The parameter, for the message.

    Returns
    -------
    widths : tuple of int
    """
    try:
        widths = tuple(int(w) for w in value)
        valid = all(w >= 1 and w == v for w, v in zip(widths, value))
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            f"{name} must contain positive layer widths, got {value!r}; e.g. "
            f"{name}=(50, 50), or a one-element tuple for one layer."
        )
    return widths


class MLP(nn.Module):
    """A ReLU multi-layer perceptron that exposes its last hidden layer.

    Parameters
    ----------
    n_inputs : int
        Number of input features.
    hidden_sizes : sequence of int
        Widths of the hidden layers; empty for a linear model.
    n_outputs : int
        Number of outputs (logits).
    """

    def __init__(self, n_inputs, hidden_sizes, n_outputs):
        super().__init__()
        sizes = [n_inputs, *check_layer_widths(hidden_sizes, "hidden_sizes")]
        self.hidden = nn.ModuleList(
            _linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])
        )
        self.out = _linear(sizes[-1], n_outputs)
        self.n_features_out = sizes[-1]

    def features(self, x):
        """Return the last hidden activations, shape ``(batch, n_features_out)``."""
        for layer in self.hidden:
            x = F.relu(layer(x))
        return x

    def forward(self, x):
        """Return ``(logits, last_hidden)``."""
        h = self.features(x)
        return self.out(h), h


class IndexedMLP(nn.Module):
    """An epinet MLP whose output is contracted with the index ``z``.

    Computes ``sigma(phi, z) = reshape(MLP(u), (C, d)) @ z`` for every pair
    of a feature row and an index sample, where the MLP's input ``u`` is
    ``phi`` alone (``index_input=False``: ``sigma`` is linear in ``z``) or
    ``concat(z, phi)`` (``index_input=True``, the ``enn`` library's layout).

    Linear in ``z``, ``sigma`` has mean zero over the index: it can only
    spread the predictions, never move their mean, so the loss (convex in
    the logits) always pulls it towards cancelling the prior where there is
    data. With ``z`` among the inputs the MLP can also fit the mean through
    terms even in ``z``, and on the testbed it then *adds* spread where the
    data are instead of removing it.

    Without the index among the inputs the MLP runs once per batch and only
    the contraction runs per index sample. With it, the first layer is split
    into its ``z`` and ``phi`` parts so that the ``phi`` part runs once per
    batch; the (small) later layers run on the full ``(n_index, batch)``
    grid.

    Parameters
    ----------
    n_features : int
        Width of ``phi``.
    index_dim : int
        Dimension ``d`` of the index ``z``.
    hidden_sizes : sequence of int
        Hidden widths of the MLP.
    n_classes : int
        Number of classes ``C``.
    index_input : bool (default=True)
        Whether ``z`` is also an input of the MLP.
    """

    def __init__(self, n_features, index_dim, hidden_sizes, n_classes, index_input=True):
        super().__init__()
        sizes = [
            n_features + (index_dim if index_input else 0),
            *check_layer_widths(hidden_sizes, "epinet_hidden_sizes"),
            n_classes * index_dim,
        ]
        self.layers = nn.ModuleList(
            _linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])
        )
        self.index_dim = index_dim
        self.n_classes = n_classes
        self.index_input = bool(index_input)

    def hidden(self, phi, z):
        """Last hidden activations on the ``(n_index, batch)`` grid, ``(K, B, H)``.

        Only defined when the MLP has hidden layers and ``index_input``.
        """
        first, *rest = self.layers
        d = self.index_dim
        h = F.linear(phi, first.weight[:, d:], first.bias)[None] + (
            z @ first.weight[:, :d].T
        )[:, None]
        h = F.relu(h, inplace=True)
        for layer in rest[:-1]:
            h = F.relu(layer(h), inplace=True)
        return h

    def output_weights(self, z):
        """The last layer contracted with each ``z``: weights ``(K, H, C)``, bias ``(K, 1, C)``.

        ``reshape(W h + b, (C, d)) @ z == h @ W_z + b_z``, so contracting the
        weights first avoids materialising the ``(K, B, C * d)`` output.
        """
        last = self.layers[-1]
        n_hidden = last.in_features
        weight = last.weight.view(self.n_classes, self.index_dim, n_hidden)
        bias = last.bias.view(self.n_classes, self.index_dim)
        return torch.einsum("cdh,kd->khc", weight, z), (z @ bias.T)[:, None]

    def forward(self, phi, z):
        """Return ``(n_index, batch, n_classes)`` for ``phi`` (B, F) and ``z`` (K, d)."""
        if not self.index_input:
            h = phi
            for layer in self.layers[:-1]:
                h = F.relu(layer(h))
            out = self.layers[-1](h).view(len(phi), self.n_classes, self.index_dim)
            return torch.einsum("bcd,kd->kbc", out, z)
        if len(self.layers) == 1:  # no hidden layer: the output layer sees [z, phi]
            d, out = self.index_dim, self.layers[0]
            h = F.linear(phi, out.weight[:, d:], out.bias)[None] + (z @ out.weight[:, :d].T)[:, None]
            h = h.view(*h.shape[:2], self.n_classes, d)
            return torch.einsum("kbcd,kd->kbc", h, z)
        weight, bias = self.output_weights(z)
        return torch.baddbmm(bias, self.hidden(phi, z), weight)


class BaselineNet(nn.Module):
    """A plain MLP classifier seen as an ENN that ignores its index.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_classes : int
        Number of classes.
    hidden_sizes : sequence of int (default=(50, 50))
        Hidden widths.
    """

    def __init__(self, n_features, n_classes, hidden_sizes=(50, 50)):
        super().__init__()
        self.base = MLP(n_features, hidden_sizes, n_classes)

    def sample_index(self, n_index, generator=None):
        """Return an empty ``(n_index, 0)`` index: the prediction ignores it."""
        return torch.zeros(n_index, 0)

    def features(self, x):
        """Return the last hidden activations."""
        return self.base.features(x)

    def forward(self, x, index=None):
        """Return logits; with ``index``, the same logits for every sample."""
        logits, _ = self.base(x)
        if index is None:
            return logits
        return logits.expand(index.shape[0], *logits.shape)


class AdditivePrior(nn.Module):
    """A frozen prior that is linear in the index: ``sum_j z_j g_j(x)``.

    ``g_1 .. g_d`` are ``index_dim`` small random ReLU MLPs, one per index
    coordinate, run together as one stacked network; their outputs are
    combined by ``z``. This is the additive prior of ``neural_testbed``'s
    epinet agent. It depends on ``x`` only, so it is computed once per batch,
    whatever the number of index samples.

    Parameters
    ----------
    n_inputs : int
        Width of the prior's input.
    index_dim : int
        Dimension ``d`` of the index, and number of prior networks.
    hidden_sizes : sequence of int
        Hidden widths of every prior network.
    n_classes : int
        Number of classes ``C``.
    """

    def __init__(self, n_inputs, index_dim, hidden_sizes, n_classes):
        super().__init__()
        self.networks = EnsembleNet(n_inputs, n_classes, hidden_sizes, n_members=index_dim)

    def forward(self, x, z):
        """Return ``(n_index, batch, n_classes)`` for ``x`` (B, F) and ``z`` (K, d)."""
        return torch.einsum("kd,dbc->kbc", z, self.networks.member_logits(x))


PRIORS = ("additive", "epinet")
PRIOR_INPUTS = ("inputs", "features")


def check_prior(prior, prior_input):
    """Validate an epinet's prior settings (see :class:`EpinetNet`).

    Raises
    ------
    ValueError
        Naming the setting, its value and the choices.
    """
    if prior not in PRIORS:
        raise ValueError(f"prior={prior!r} is not supported; choose one of {PRIORS}.")
    if prior_input not in PRIOR_INPUTS:
        raise ValueError(
            f"prior_input={prior_input!r} is not supported; choose one of {PRIOR_INPUTS}."
        )


class EpinetNet(nn.Module):
    """An MLP base network plus an epinet (Osband et al., eq. 1).

    ``logits(x, z) = mu(x) + sigma_L(sg[phi], z) + prior_scale * sigma_P(sg[x], z)``
    with ``z ~ N(0, I_d)``, ``phi`` the base network's last hidden layer
    (concatenated with ``x`` when ``include_inputs``), ``sg`` a stop-gradient
    and ``sigma_P`` a prior network frozen at its random initialisation.

    The prior reads the network's inputs ``x`` — the raw features of an MLP
    backbone, the pooled encoder output under a text backbone — as the
    reference code's testbed epinet and the paper's BERT epinet do. Because
    it does not move while the base network trains, the learnable epinet
    can cancel it where there is data and leaves it standing elsewhere: that
    is what makes the uncertainty depend on where the data is.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_classes : int
        Number of classes.
    hidden_sizes : sequence of int (default=(50, 50))
        Hidden widths of the base network.
    epinet_hidden_sizes : sequence of int (default=(15, 15))
        Hidden widths of the learnable epinet.
    index_dim : int (default=8)
        Dimension of the epistemic index ``z``.
    prior_scale : float (default=1.0)
        Weight of the prior.
    include_inputs : bool (default=True)
        Whether ``phi`` also contains the raw inputs.
    prior : {'additive', 'epinet'} (default='additive')
        ``'additive'``: ``index_dim`` small random MLPs combined linearly by
        ``z`` (:class:`AdditivePrior`); ``'epinet'``: a frozen random epinet,
        an :class:`IndexedMLP` on ``[z, input]``.
    prior_hidden_sizes : sequence of int (default=(5, 5))
        Hidden widths of the prior networks.
    prior_input : {'inputs', 'features'} (default='inputs')
        What the prior reads: the inputs ``x``, or ``phi`` as the learnable
        epinet does (moving features; kept for comparison).
    index_input : bool (default=False)
        Whether the learnable epinet also takes ``z`` as an input (see
        :class:`IndexedMLP`); by default it is linear in ``z``.
    """

    def __init__(
        self,
        n_features,
        n_classes,
        hidden_sizes=(50, 50),
        epinet_hidden_sizes=(15, 15),
        index_dim=8,
        prior_scale=1.0,
        include_inputs=True,
        prior="additive",
        prior_hidden_sizes=(5, 5),
        prior_input="inputs",
        index_input=False,
    ):
        super().__init__()
        check_prior(prior, prior_input)
        self.base = MLP(n_features, hidden_sizes, n_classes)
        # Without hidden layers phi is x itself, so there is nothing to add.
        self.concat_inputs = bool(include_inputs and self.base.hidden)
        n_phi = self.base.n_features_out + (n_features if self.concat_inputs else 0)
        self.learnable = IndexedMLP(n_phi, index_dim, epinet_hidden_sizes, n_classes,
                                    index_input=index_input)
        n_prior = n_features if prior_input == "inputs" else n_phi
        prior_sizes = check_layer_widths(prior_hidden_sizes, "prior_hidden_sizes")
        if prior == "additive":
            self.prior = AdditivePrior(n_prior, index_dim, prior_sizes, n_classes)
        else:
            self.prior = IndexedMLP(n_prior, index_dim, prior_sizes, n_classes, index_input=True)
        self.prior.requires_grad_(False)
        self.index_dim = index_dim
        self.prior_scale = prior_scale
        self.include_inputs = include_inputs
        self.prior_input = prior_input

    def sample_index(self, n_index, generator=None):
        """Draw ``n_index`` indices ``z ~ N(0, I_d)``, shape ``(n_index, d)``."""
        return torch.randn(n_index, self.index_dim, generator=generator)

    def features(self, x):
        """Return the base network's last hidden activations."""
        return self.base.features(x)

    def _phi(self, x, hidden):
        phi = hidden.detach()
        if self.concat_inputs:
            phi = torch.cat([phi, x.detach()], dim=-1)
        return phi

    def forward(self, x, index=None):
        """Return ``mu(x)`` without ``index``, else the epinet's joint logits."""
        mu, hidden = self.base(x)
        if index is None:
            return mu
        z = index.to(dtype=mu.dtype)
        phi = self._phi(x, hidden)
        logits = mu[None] + self.learnable(phi, z)
        if not self.prior_scale:
            return logits
        with torch.no_grad():
            prior = self.prior(x if self.prior_input == "inputs" else phi, z)
        return logits + self.prior_scale * prior


class DropoutNet(nn.Module):
    """An MLP with Monte-Carlo dropout, one mask per index sample.

    Every row of a batch shares the mask of an index sample ("consistent"
    dropout), so a joint prediction is a coherent draw of one thinned
    network. Masks act on the hidden pre-activations (before the ReLU), are
    scaled by ``1 / (1 - dropout)`` and never touch the output layer. The
    first layer's pre-activation does not depend on the mask, so it is
    computed once per batch.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_classes : int
        Number of classes.
    hidden_sizes : sequence of int (default=(50, 50))
        Hidden widths; must not be empty.
    dropout : float (default=0.1)
        Probability of dropping a hidden unit, in ``[0, 1)``.
    """

    def __init__(self, n_features, n_classes, hidden_sizes=(50, 50), dropout=0.1):
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"dropout must be in [0, 1), got {dropout!r}; "
                "use e.g. dropout=0.1 as in the paper."
            )
        self.base = MLP(n_features, hidden_sizes, n_classes)
        if not self.base.hidden:
            raise ValueError(
                "hidden_sizes must not be empty for MC dropout: there are no "
                "hidden units to drop; use e.g. hidden_sizes=(50, 50)."
            )
        self.dropout = dropout
        self.hidden_sizes = [layer.out_features for layer in self.base.hidden]

    def sample_index(self, n_index, generator=None):
        """Draw ``n_index`` scaled Bernoulli masks over all hidden units."""
        keep = 1.0 - self.dropout
        probs = torch.full((n_index, sum(self.hidden_sizes)), keep)
        return torch.bernoulli(probs, generator=generator) / keep

    def features(self, x):
        """Return the last hidden activations without dropout."""
        return self.base.features(x)

    def forward(self, x, index=None):
        """Return nominal logits without ``index``, else joint logits."""
        if index is None:
            return self.base(x)[0]
        # Masks are non-negative, so relu(a * m) == m * relu(a): each mask folds
        # into the next layer's weights, and the first hidden layer is computed
        # once for the batch instead of once per index sample.
        masks = index.to(dtype=x.dtype).split(self.hidden_sizes, dim=1)
        first, *rest = self.base.hidden
        h = F.relu(first(x))
        for layer, mask in zip([*rest, self.base.out], masks):
            weight = layer.weight[None] * mask[:, None, :]  # (K, out, in)
            h = torch.matmul(h, weight.transpose(1, 2)) + layer.bias
            if layer is not self.base.out:
                h = F.relu(h, inplace=True)
        return h


class EnsembleNet(nn.Module):
    """An ensemble of independently initialised MLPs, evaluated together.

    The members' weights are stacked so the whole ensemble runs as batched
    matrix products; the index is a member id. A joint prediction evaluates
    each distinct member once per batch and gathers the rows.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_classes : int
        Number of classes.
    hidden_sizes : sequence of int (default=(50, 50))
        Hidden widths of every member.
    n_members : int (default=10)
        Number of members.
    """

    def __init__(self, n_features, n_classes, hidden_sizes=(50, 50), n_members=10):
        super().__init__()
        if int(n_members) < 1:
            raise ValueError(
                f"n_members must be a positive integer, got {n_members!r}; "
                "the paper uses n_members=10."
            )
        sizes = [n_features, *check_layer_widths(hidden_sizes, "hidden_sizes"), n_classes]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in zip(sizes[:-1], sizes[1:]):
            weight = torch.empty(n_members, b, a)
            bias = torch.empty(n_members, 1, b)
            for m in range(n_members):
                init_linear_(weight[m], bias[m])
            self.weights.append(nn.Parameter(weight))
            self.biases.append(nn.Parameter(bias))
        self.n_members = int(n_members)

    def sample_index(self, n_index, generator=None):
        """Draw member ids, stratified: each block of ``n_members`` is a permutation.

        With ``n_index`` a multiple of ``n_members`` every member appears
        equally often, so averages over the index are exact ensemble means.
        """
        n_blocks = -(-n_index // self.n_members)
        ids = [torch.randperm(self.n_members, generator=generator) for _ in range(n_blocks)]
        return torch.cat(ids)[:n_index]

    def _run(self, x, members, upto):
        h = x
        n_layers = len(self.weights)
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            if i == upto:
                break
            w, b = weight[members], bias[members]
            h = torch.baddbmm(b, h, w.transpose(1, 2)) if h.dim() == 3 else (
                torch.matmul(h, w.transpose(1, 2)) + b
            )
            if i < n_layers - 1:
                h = F.relu(h)
        return h

    def member_logits(self, x, members=None):
        """Return the logits of the given members, shape ``(n_members, batch, C)``."""
        if members is None:
            members = torch.arange(self.n_members, device=x.device)
        return self._run(x, members, upto=len(self.weights))

    def features(self, x):
        """Return every member's last hidden layer, concatenated: ``(batch, M * H)``."""
        if len(self.weights) == 1:
            return x
        members = torch.arange(self.n_members, device=x.device)
        h = self._run(x, members, upto=len(self.weights) - 1)
        return h.permute(1, 0, 2).reshape(x.shape[0], -1)

    def forward(self, x, index=None):
        """Return the mean member logits without ``index``, else joint logits."""
        if index is None:
            return self.member_logits(x).mean(0)
        members, inverse = torch.unique(index.long(), return_inverse=True)
        return self.member_logits(x, members.to(x.device))[inverse.to(x.device)]
