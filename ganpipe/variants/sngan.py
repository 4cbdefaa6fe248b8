"""SNGAN (Miyato et al. 2018): spectral normalisation on every layer of D, hinge loss."""

from __future__ import annotations

import torch

from ganpipe import losses
from ganpipe.config import ModelConfig, TrainConfig
from ganpipe.errors import ConfigError
from ganpipe.variants.base import Variant


class SNGAN(Variant):
    name = "sngan"
    description = "spectrally normalised D with the hinge loss"
    paper = "Miyato et al. 2018, arXiv:1802.05957"

    @classmethod
    def check_config(cls, model: ModelConfig, train: TrainConfig) -> None:
        if not model.spectral_norm:
            raise ConfigError("variant sngan needs model.spectral_norm=true (see params.yaml variants.sngan)")

    def d_objective(self, d_logits_real: torch.Tensor, d_logits_fake: torch.Tensor) -> torch.Tensor:
        return losses.d_loss_hinge(d_logits_real, d_logits_fake)

    def g_objective(self, d_logits_fake: torch.Tensor) -> torch.Tensor:
        return losses.g_loss_hinge(d_logits_fake)
