"""Losses against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from ganpipe import losses


def test_logistic_d_loss_known_value() -> None:
    # -log(sigmoid(0)) = log 2 for real; -log(1 - sigmoid(0)) = log 2 for fake.
    zero = torch.zeros(4)
    assert losses.d_loss_logistic(zero, zero).item() == pytest.approx(2 * math.log(2))
    # logits real=2, fake=-1: log(1+e^-2) + log(1+e^-1)
    value = losses.d_loss_logistic(torch.tensor([2.0]), torch.tensor([-1.0])).item()
    assert value == pytest.approx(math.log1p(math.exp(-2)) + math.log1p(math.exp(-1)))


def test_nonsaturating_and_minimax_g_losses() -> None:
    logits = torch.tensor([0.0, 3.0])
    assert losses.g_loss_nonsaturating(logits).item() == pytest.approx((math.log(2) + math.log1p(math.exp(-3))) / 2)
    assert losses.g_loss_minimax(logits).item() == pytest.approx(-(math.log(2) + math.log1p(math.exp(3))) / 2)


def test_minimax_saturates_where_nonsaturating_does_not() -> None:
    """When D confidently rejects fakes, log(1 - D(G(z))) has almost no gradient."""
    logits = torch.tensor([-8.0], requires_grad=True)
    (minimax_grad,) = torch.autograd.grad(losses.g_loss_minimax(logits), logits)
    (nonsat_grad,) = torch.autograd.grad(losses.g_loss_nonsaturating(logits), logits)
    assert abs(minimax_grad.item()) < 1e-3 < abs(nonsat_grad.item())


def test_losses_are_mean_reduced_scalars() -> None:
    logits = torch.randn(5)
    for value in (losses.d_loss_logistic(logits, logits), losses.g_loss_nonsaturating(logits), losses.g_loss_minimax(logits)):
        assert value.shape == ()
