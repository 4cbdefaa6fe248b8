"""G's categorical latent codes, and the logits InfoGAN's Q head gives for them.

A continuous G maps a connected latent space onto a connected set, so between the modes of a
disconnected target it must leave "bridges" of samples (Khayatkhoei et al. 2018, Disconnected
Manifold Learning for GANs). Categorical codes (InfoGAN's, Chen et al. 2016) give G one piece
of latent space per value, which it can place on a mode of its own; InfoGAN's
mutual-information term (`train.info_weight`) is what makes it do so.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def append_codes(z: torch.Tensor, components: int, codes: int, generator: torch.Generator | None) -> torch.Tensor:
    """z with `codes` one-hot codes of `components` uniform values appended (z itself if 0)."""
    if not components:
        return z  # draws nothing: runs without a code keep their random stream
    values = torch.randint(0, components, (z.shape[0] * codes,), generator=generator)
    return torch.cat([z, F.one_hot(values, components).to(z.dtype).reshape(z.shape[0], -1)], dim=1)


def read_codes(one_hot: torch.Tensor, codes: int, components: int) -> torch.Tensor:
    """(N, codes * components) one-hots -> (N, codes) values."""
    return one_hot.reshape(len(one_hot), codes, components).argmax(dim=2)


def split_q_logits(d_out: torch.Tensor, codes: int, components: int) -> tuple[torch.Tensor, torch.Tensor]:
    """D's (N / m, 1 + m * codes * components) output -> real/fake logits (N / m,) and code
    logits (N, codes, components). A packed input holds m consecutive samples, so its m blocks
    of code logits unpack in that order."""
    return d_out[:, 0], d_out[:, 1:].reshape(-1, codes, components)
