"""The discriminator shell every variant uses: a body (conv or MLP) plus the remedies that act on D.

- packing (PacGAN, Lin et al. 2018): m samples are concatenated into one D input;
- minibatch stddev (Karras et al. 2018) and minibatch discrimination (Salimans et al. 2016):
  batch statistics appended to the features, so D can see a collapsed batch;
- spectral normalisation (Miyato et al. 2018) on every linear and conv layer;
- `features()` for feature matching (Salimans et al. 2016).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def pack(x: torch.Tensor, packing: int) -> torch.Tensor:
    """(N, C, ...) -> (N / m, m * C, ...): m consecutive samples become one input."""
    if packing == 1:
        return x
    return x.reshape(x.shape[0] // packing, packing * x.shape[1], *x.shape[2:])


class MinibatchStdDev(nn.Module):
    """Appends one feature: the mean over features of the stddev across the batch."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        std = features.std(dim=0, unbiased=False).mean() if features.shape[0] > 1 else features.new_zeros(())
        return torch.cat([features, std.expand(features.shape[0], 1)], dim=1)


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. 2016: per-sample closeness to the rest of the batch under a learned projection."""

    def __init__(self, in_features: int, kernels: int, kernel_dim: int = 8) -> None:
        super().__init__()
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * 0.1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        m = (features @ self.T).view(-1, self.kernels, self.kernel_dim)
        distances = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(dim=3)  # (N, N, kernels)
        closeness = torch.exp(-distances).sum(dim=0) - 1.0  # exclude self
        return torch.cat([features, closeness], dim=1)


class Discriminator(nn.Module):
    def __init__(self, body: nn.Module, feature_dim: int, *, packing: int = 1, minibatch_stddev: bool = False,
                 minibatch_kernels: int = 0, spectral_norm: bool = False,
                 head_init: Callable[[nn.Module], None] | None = None, num_classes: int = 0,
                 code_outputs: int = 0) -> None:
        super().__init__()
        self.body, self.packing = body, packing
        extras: list[nn.Module] = []
        width = feature_dim
        if minibatch_kernels:
            extras.append(MinibatchDiscrimination(width, minibatch_kernels))
            width += minibatch_kernels
        if minibatch_stddev:
            extras.append(MinibatchStdDev())
            width += 1
        self.batch_features = nn.Sequential(*extras)
        self.head = nn.Linear(width, 1)
        # ACGAN: class logits beside the real/fake logit, from the same features, in one forward
        # (so DDP sees every parameter used by the one call).
        self.class_head = nn.Linear(width, num_classes) if num_classes else None
        # InfoGAN's Q: logits of G's categorical codes, after the class logits, the same way.
        self.code_head = nn.Linear(width, code_outputs) if code_outputs else None
        if head_init is not None:
            self.head.apply(head_init)
        if spectral_norm:
            for module in list(self.modules()):
                if isinstance(module, (nn.Linear, nn.Conv2d)):
                    nn.utils.parametrizations.spectral_norm(module)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(pack(x, self.packing))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N,) real/fake logits; with a class or code head, (N, 1 + classes + codes): that logit,
        then class logits, then code logits."""
        features = self.batch_features(self.features(x))
        extra_heads = [head for head in (self.class_head, self.code_head) if head is not None]
        if not extra_heads:
            return self.head(features).flatten()
        return torch.cat([self.head(features), *(head(features) for head in extra_heads)], dim=1)
