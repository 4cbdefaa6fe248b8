"""LSGAN (Mao et al. 2017): least-squares objective with targets a=0 (fake), b=1 (real), c=1 (G)."""

from __future__ import annotations

import torch

from ganpipe import losses
from ganpipe.variants.base import Variant


class LSGAN(Variant):
    name = "lsgan"
    description = "least-squares GAN (a=0, b=1, c=1)"
    paper = "Mao et al. 2017, arXiv:1611.04076"

    def d_objective(self, d_logits_real: torch.Tensor, d_logits_fake: torch.Tensor) -> torch.Tensor:
        return losses.d_loss_least_squares(d_logits_real, d_logits_fake, a=0.0, b=1.0)

    def g_objective(self, d_logits_fake: torch.Tensor) -> torch.Tensor:
        return losses.g_loss_least_squares(d_logits_fake, c=1.0)
