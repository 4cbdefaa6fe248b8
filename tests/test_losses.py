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


def test_least_squares_values() -> None:
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([0.5, -1.0])
    # 1/2 mean((real-1)^2) + 1/2 mean(fake^2) = 1/2 * 0.5 + 1/2 * 0.625
    assert losses.d_loss_least_squares(real, fake).item() == pytest.approx(0.25 + 0.3125)
    # 1/2 mean((fake-1)^2) = 1/2 * (0.25 + 4) / 2
    assert losses.g_loss_least_squares(fake).item() == pytest.approx(1.0625)


def test_hinge_and_wasserstein_values() -> None:
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    # mean(relu(1 - real)) = (0 + 0.5)/2 ; mean(relu(1 + fake)) = (0 + 1)/2
    assert losses.d_loss_hinge(real, fake).item() == pytest.approx(0.75)
    assert losses.g_loss_hinge(fake).item() == pytest.approx(1.0)
    assert losses.d_loss_wasserstein(real, fake).item() == pytest.approx(-1.0 - 1.25)
    assert losses.g_loss_wasserstein(fake).item() == pytest.approx(1.0)


def test_one_sided_label_smoothing() -> None:
    zero = torch.zeros(3)
    # real target 0.9 at logit 0: BCE = log 2 whatever the target; at logit 2 it differs
    smoothed = losses.d_loss_logistic(torch.tensor([2.0]), torch.tensor([-50.0]), real_label=0.9).item()
    expected = -(0.9 * math.log(1 / (1 + math.exp(-2))) + 0.1 * math.log(1 - 1 / (1 + math.exp(-2))))
    assert smoothed == pytest.approx(expected, rel=1e-5)
    assert losses.d_loss_logistic(zero, zero, real_label=0.9).item() == pytest.approx(2 * math.log(2))


def test_gradient_penalty_of_a_linear_critic() -> None:
    """f(x) = w.x has gradient w everywhere: the penalty is (||w|| - 1)^2 exactly."""
    w = torch.tensor([3.0, 4.0])
    critic = lambda x: x @ w  # noqa: E731
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    assert losses.gradient_penalty(critic, real, fake).item() == pytest.approx((5.0 - 1.0) ** 2)
    w_unit = torch.tensor([0.6, 0.8])
    assert losses.gradient_penalty(lambda x: x @ w_unit, real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_r1_of_a_linear_critic_and_feature_matching() -> None:
    w = torch.tensor([1.0, 2.0])
    assert losses.r1_penalty(lambda x: x @ w, torch.randn(8, 2)).item() == pytest.approx(5.0)
    real = torch.tensor([[1.0, 0.0], [3.0, 2.0]])  # mean (2, 1)
    fake = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    assert losses.feature_matching(real, fake).item() == pytest.approx(5.0)
