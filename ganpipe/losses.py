"""Adversarial objectives as pure functions of discriminator logits.

Each returns a mean-reduced scalar tensor; none calls `.backward()`, `.item()` or logs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss_logistic(d_logits_real: torch.Tensor, d_logits_fake: torch.Tensor) -> torch.Tensor:
    """Goodfellow et al. 2014: -log D(x) - log(1 - D(G(z))), with D = sigmoid(logits)."""
    return F.softplus(-d_logits_real).mean() + F.softplus(d_logits_fake).mean()


def g_loss_nonsaturating(d_logits_fake: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: -log D(G(z))."""
    return F.softplus(-d_logits_fake).mean()


def g_loss_minimax(d_logits_fake: torch.Tensor) -> torch.Tensor:
    """The original minimax generator loss: log(1 - D(G(z))), which saturates when D wins."""
    return -F.softplus(d_logits_fake).mean()
