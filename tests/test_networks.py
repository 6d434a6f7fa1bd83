"""Tests of the torch modules: each ENN head computes what the paper defines.

Osband et al., Sections 2.1 and 3.2 and Appendix C.2.
"""

import math

import pytest
import torch
from torch.nn import functional as F

from skepinet.networks import (
    MLP,
    BaselineNet,
    DropoutNet,
    EnsembleNet,
    EpinetNet,
    IndexedMLP,
    init_linear_,
)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def naive_indexed_mlp(net, phi, z):
    """Reference: run concat(z_k, phi_i) through the MLP, one index sample at a time."""
    outputs = []
    for zk in z:
        h = torch.cat([zk.expand(len(phi), -1), phi], dim=1)
        for i, layer in enumerate(net.layers):
            h = layer(h)
            if i < len(net.layers) - 1:
                h = F.relu(h)
        h = h.view(len(phi), net.n_classes, net.index_dim)
        outputs.append(h @ zk)
    return torch.stack(outputs)


def test_init_is_truncated_normal_scaled_by_fan_in():
    weight, bias = torch.empty(400, 100), torch.ones(400)
    init_linear_(weight, bias)
    std = 1 / math.sqrt(100)
    assert weight.abs().max() <= 2 * std + 1e-7
    assert abs(weight.std().item() - std * 0.88) < 0.01  # std of N(0,1) cut at ±2 is 0.88
    assert torch.all(bias == 0)


@pytest.mark.parametrize("hidden", [(), (7,), (6, 5)])
def test_indexed_mlp_matches_concatenation_per_index_sample(hidden):
    net = IndexedMLP(n_features=4, index_dim=3, hidden_sizes=hidden, n_classes=2)
    phi, z = torch.randn(5, 4), torch.randn(6, 3)
    torch.testing.assert_close(net(phi, z), naive_indexed_mlp(net, phi, z))


def naive_linear_indexed_mlp(net, phi, z):
    """Reference of ``index_input=False``: MLP(phi) reshaped to (C, d), times each z."""
    h = phi
    for i, layer in enumerate(net.layers):
        h = layer(h)
        if i < len(net.layers) - 1:
            h = F.relu(h)
    h = h.view(len(phi), net.n_classes, net.index_dim)
    return torch.stack([h @ zk for zk in z])


def naive_additive_prior(prior, x, z):
    """Reference: sum_j z_j g_j(x), each g_j a small MLP run on its own."""
    net = prior.networks
    outputs = []
    for j in range(net.n_members):
        h = x
        for i, (weight, bias) in enumerate(zip(net.weights, net.biases)):
            h = h @ weight[j].T + bias[j, 0]
            if i < len(net.weights) - 1:
                h = F.relu(h)
        outputs.append(h)
    g = torch.stack(outputs)  # (d, B, C)
    return torch.stack([sum(zk[j] * g[j] for j in range(len(zk))) for zk in z])


@pytest.mark.parametrize("hidden", [(), (7,), (6, 5)])
def test_indexed_mlp_without_index_input_is_linear_in_the_index(hidden):
    net = IndexedMLP(n_features=4, index_dim=3, hidden_sizes=hidden, n_classes=2,
                     index_input=False)
    phi, z = torch.randn(5, 4), torch.randn(6, 3)
    torch.testing.assert_close(net(phi, z), naive_linear_indexed_mlp(net, phi, z))
    # Linear in z: mean zero over a symmetric index, so it never moves the mean prediction.
    torch.testing.assert_close(net(phi, z) + net(phi, -z), torch.zeros(6, 5, 2))
    torch.testing.assert_close(net(phi, 2 * z), 2 * net(phi, z))


def test_epinet_joint_logits_follow_equation_one():
    net = EpinetNet(n_features=3, n_classes=4, hidden_sizes=(8,), index_dim=5, prior_scale=2.5)
    x, z = torch.randn(6, 3), torch.randn(7, 5)
    mu, hidden = net.base(x)
    phi = torch.cat([hidden, x], dim=1)
    expected = (
        mu[None]
        + naive_linear_indexed_mlp(net.learnable, phi, z)
        + 2.5 * naive_additive_prior(net.prior, x, z)  # the prior reads the inputs
    )
    torch.testing.assert_close(net(x, z), expected)
    torch.testing.assert_close(net(x), mu)


def test_epinet_prior_on_inputs_ignores_the_base_network():
    net = EpinetNet(n_features=3, n_classes=2, hidden_sizes=(8,), index_dim=4)
    x, z = torch.randn(6, 3), torch.randn(5, 4)
    prior_part = net(x, z) - net.learnable(net._phi(x, net.base(x)[1]), z) - net(x)[None]
    with torch.no_grad():
        for p in net.base.parameters():
            p.add_(torch.randn_like(p))
    moved = net(x, z) - net.learnable(net._phi(x, net.base(x)[1]), z) - net(x)[None]
    torch.testing.assert_close(moved, prior_part)


def test_legacy_epinet_layout_is_reachable():
    """skepinet 0.x: the index among the epinet's inputs, the prior a frozen epinet on phi."""
    net = EpinetNet(n_features=3, n_classes=4, hidden_sizes=(8,), index_dim=5, prior_scale=2.5,
                    epinet_hidden_sizes=(6, 6), prior="epinet", prior_hidden_sizes=(6, 6),
                    prior_input="features", index_input=True)
    x, z = torch.randn(6, 3), torch.randn(7, 5)
    mu, hidden = net.base(x)
    phi = torch.cat([hidden, x], dim=1)
    expected = (mu[None] + naive_indexed_mlp(net.learnable, phi, z)
                + 2.5 * naive_indexed_mlp(net.prior, phi, z))
    torch.testing.assert_close(net(x, z), expected)


@pytest.mark.parametrize("kwargs, message", [
    (dict(prior="gaussian"), "prior='gaussian' is not supported"),
    (dict(prior_input="x"), "prior_input='x' is not supported"),
    (dict(prior_hidden_sizes=(0,)), "prior_hidden_sizes must contain positive"),
])
def test_epinet_rejects_bad_prior_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EpinetNet(n_features=3, n_classes=2, **kwargs)


def test_epinet_prior_is_frozen_and_features_are_stop_gradient():
    net = EpinetNet(n_features=3, n_classes=2, hidden_sizes=(8, 8), index_dim=4)
    assert all(not p.requires_grad for p in net.prior.parameters())
    assert all(p.requires_grad for p in net.learnable.parameters())

    x, z = torch.randn(10, 3), torch.randn(5, 4)
    mu = net(x)
    epinet_part = net(x, z) - mu[None]
    epinet_part.sum().backward()
    # Only the epinet path was differentiated: the base network got no gradient.
    assert all(p.grad is None or torch.all(p.grad == 0) for p in net.base.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.learnable.parameters())


def test_epinet_without_hidden_layers_uses_inputs_as_features():
    net = EpinetNet(n_features=3, n_classes=2, hidden_sizes=(), index_dim=2)
    assert net(torch.randn(4, 3), torch.randn(5, 2)).shape == (5, 4, 2)


def test_epinet_index_is_standard_normal():
    z = EpinetNet(3, 2, index_dim=10).sample_index(20000)
    assert z.shape == (20000, 10)
    assert abs(z.mean().item()) < 0.02 and abs(z.std().item() - 1) < 0.02


def test_dropout_masks_are_shared_by_rows_and_scaled():
    net = DropoutNet(n_features=3, n_classes=2, hidden_sizes=(6, 4), dropout=0.5)
    masks = net.sample_index(3)
    assert masks.shape == (3, 10)
    assert set(torch.unique(masks).tolist()) <= {0.0, 2.0}

    x = torch.randn(5, 3)
    out = net(x, masks)
    for k in range(3):
        m1, m2 = masks[k, :6], masks[k, 6:]
        h = F.relu(net.base.hidden[0](x) * m1)
        h = F.relu(net.base.hidden[1](h) * m2)
        torch.testing.assert_close(out[k], net.base.out(h))


def test_dropout_with_all_units_kept_is_the_plain_network():
    net = DropoutNet(n_features=3, n_classes=2, hidden_sizes=(6,), dropout=0.0)
    x = torch.randn(5, 3)
    out = net(x, net.sample_index(4))
    torch.testing.assert_close(out, net(x).expand(4, -1, -1))


@pytest.mark.parametrize("dropout", [-0.1, 1.0])
def test_dropout_rejects_rates_outside_unit_interval(dropout):
    with pytest.raises(ValueError, match="dropout"):
        DropoutNet(3, 2, dropout=dropout)


def test_ensemble_members_are_independent_mlps():
    net = EnsembleNet(n_features=3, n_classes=2, hidden_sizes=(5,), n_members=4)
    x = torch.randn(6, 3)
    logits = net.member_logits(x)
    for m in range(4):
        w1, b1 = net.weights[0][m], net.biases[0][m]
        w2, b2 = net.weights[1][m], net.biases[1][m]
        expected = F.relu(x @ w1.T + b1) @ w2.T + b2
        torch.testing.assert_close(logits[m], expected)
    assert not torch.allclose(net.weights[0][0], net.weights[0][1])


def test_ensemble_index_gathers_members_and_is_stratified():
    net = EnsembleNet(n_features=3, n_classes=2, hidden_sizes=(5,), n_members=4)
    ids = net.sample_index(12)
    assert sorted(ids.tolist()) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    x = torch.randn(6, 3)
    torch.testing.assert_close(net(x, ids), net.member_logits(x)[ids])
    assert net.features(x).shape == (6, 4 * 5)


def test_baseline_ignores_the_index():
    net = BaselineNet(n_features=3, n_classes=2)
    x = torch.randn(4, 3)
    out = net(x, net.sample_index(5))
    assert out.shape == (5, 4, 2)
    torch.testing.assert_close(out, net(x).expand(5, -1, -1))


def test_mlp_exposes_last_hidden_features():
    net = MLP(3, (7, 5), 2)
    logits, hidden = net(torch.randn(4, 3))
    assert logits.shape == (4, 2) and hidden.shape == (4, 5)
    with pytest.raises(ValueError, match="hidden_sizes"):
        MLP(3, (7, 0), 2)
