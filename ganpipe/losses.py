"""Adversarial objectives and penalties as pure functions.

Each returns a mean-reduced scalar tensor; none calls `.backward()`, `.item()` or logs.
Logits are D's raw outputs (no sigmoid); "critic" outputs for the Wasserstein losses.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def d_loss_logistic(d_logits_real: torch.Tensor, d_logits_fake: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """Goodfellow et al. 2014: -log D(x) - log(1 - D(G(z))), with D = sigmoid(logits).

    `real_label` < 1 is one-sided label smoothing (Salimans et al. 2016): the real target becomes
    `real_label`, the fake target stays 0.
    """
    real_term = F.binary_cross_entropy_with_logits(d_logits_real, torch.full_like(d_logits_real, real_label))
    return real_term + F.softplus(d_logits_fake).mean()


def g_loss_nonsaturating(d_logits_fake: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss: -log D(G(z))."""
    return F.softplus(-d_logits_fake).mean()


def g_loss_minimax(d_logits_fake: torch.Tensor) -> torch.Tensor:
    """The original minimax generator loss: log(1 - D(G(z))), which saturates when D wins."""
    return -F.softplus(d_logits_fake).mean()


def d_loss_least_squares(d_logits_real: torch.Tensor, d_logits_fake: torch.Tensor, a: float = 0.0, b: float = 1.0) -> torch.Tensor:
    """Mao et al. 2017 (LSGAN): 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]."""
    return 0.5 * ((d_logits_real - b) ** 2).mean() + 0.5 * ((d_logits_fake - a) ** 2).mean()


def g_loss_least_squares(d_logits_fake: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    """Mao et al. 2017 (LSGAN): 1/2 E[(D(G(z)) - c)^2]."""
    return 0.5 * ((d_logits_fake - c) ** 2).mean()


def d_loss_wasserstein(critic_real: torch.Tensor, critic_fake: torch.Tensor) -> torch.Tensor:
    """Arjovsky et al. 2017: the critic maximises E[f(x)] - E[f(G(z))]."""
    return critic_fake.mean() - critic_real.mean()


def g_loss_wasserstein(critic_fake: torch.Tensor) -> torch.Tensor:
    return -critic_fake.mean()


def d_loss_hinge(d_logits_real: torch.Tensor, d_logits_fake: torch.Tensor) -> torch.Tensor:
    """Lim & Ye 2017 / Miyato et al. 2018: E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""
    return F.relu(1.0 - d_logits_real).mean() + F.relu(1.0 + d_logits_fake).mean()


def g_loss_hinge(d_logits_fake: torch.Tensor) -> torch.Tensor:
    return -d_logits_fake.mean()


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Gulrajani et al. 2017: E[(||grad f(x_hat)||_2 - 1)^2] on random interpolates x_hat."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, generator=generator).to(real.device)
    interpolates = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(interpolates).sum(), interpolates, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


def r1_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor) -> torch.Tensor:
    """Mescheder et al. 2018: E[||grad D(x)||^2] on real data (weight it by gamma / 2)."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(real).sum(), real, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


def feature_matching(features_real: torch.Tensor, features_fake: torch.Tensor) -> torch.Tensor:
    """Salimans et al. 2016: ||E f(x) - E f(G(z))||^2 on an intermediate layer of D."""
    return (features_real.detach().mean(0) - features_fake.mean(0)).pow(2).sum()


def info_loss(code_logits: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Chen et al. 2016 (InfoGAN): the negative variational lower bound on I(c; G(z, c)), up to
    the codes' constant entropy: the cross-entropy of Q's prediction of each categorical code,
    summed over the codes. `code_logits` (N, codes, values), `codes` (N, codes) integer values."""
    per_code = F.cross_entropy(code_logits.flatten(0, 1), codes.flatten().long(), reduction="none")
    return per_code.view(codes.shape).sum(dim=1).mean()


def top_k_fakes(d_logits_fake: torch.Tensor, k: int) -> torch.Tensor:
    """Sinha et al. 2020 (Top-k training): the logits of the k fakes D scores as most real.

    G's loss on these alone drops the gradients of the fakes D rejects most, which point
    across the space between modes rather than into the nearest one. (Every objective here
    scores "more real" higher; a row's score is the mean of its logits.)
    """
    scores = d_logits_fake.reshape(d_logits_fake.shape[0], -1).mean(1)
    return d_logits_fake[scores.topk(min(k, len(scores))).indices]
