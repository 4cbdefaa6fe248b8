"""The original GAN (Goodfellow et al. 2014): MLP nets, logistic D, minimax or non-saturating G."""

from __future__ import annotations

import torch

from ganpipe import losses
from ganpipe.variants.base import Variant


class GAN(Variant):
    name = "gan"
    description = "the original GAN: MLP nets, model.g_loss minimax | nonsaturating"
    paper = "Goodfellow et al. 2014, arXiv:1406.2661"
    image_arch = "mlp"

    def d_objective(self, d_logits_real: torch.Tensor, d_logits_fake: torch.Tensor) -> torch.Tensor:
        return losses.d_loss_logistic(d_logits_real, d_logits_fake, real_label=1.0 - self.train_config.label_smoothing)

    def g_objective(self, d_logits_fake: torch.Tensor) -> torch.Tensor:
        if self.model_config.g_loss == "minimax":
            return losses.g_loss_minimax(d_logits_fake)
        return losses.g_loss_nonsaturating(d_logits_fake)
