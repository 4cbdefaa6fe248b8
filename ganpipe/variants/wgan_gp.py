"""WGAN-GP (Gulrajani et al. 2017): Wasserstein critic with a gradient penalty on interpolates.

Paper defaults (params.yaml `variants.wgan_gp`): lambda 10, Adam 1e-4 betas (0, 0.9), n_critic 5,
no BatchNorm in the critic (layer norm instead).
"""

from __future__ import annotations

import torch

from ganpipe import losses
from ganpipe.config import ModelConfig, TrainConfig
from ganpipe.errors import ConfigError
from ganpipe.variants.base import DataSpec, Variant


class WGANGP(Variant):
    name = "wgan_gp"
    description = "Wasserstein GAN with gradient penalty (lambda 10), no BatchNorm in the critic"
    paper = "Gulrajani et al. 2017, arXiv:1704.00028"

    def __init__(self, model: ModelConfig, train: TrainConfig, data: DataSpec) -> None:
        if not train.gp_weight:
            raise ConfigError("variant wgan_gp needs train.gp_weight > 0 (the paper's is 10; see params.yaml variants.wgan_gp)")
        if model.d_norm == "batch":  # BatchNorm couples samples, so the per-sample penalty is ill-defined
            raise ConfigError("variant wgan_gp: model.d_norm='batch' is not allowed in the critic; use layer or none")
        super().__init__(model, train, data)

    def d_objective(self, d_logits_real: torch.Tensor, d_logits_fake: torch.Tensor) -> torch.Tensor:
        return losses.d_loss_wasserstein(d_logits_real, d_logits_fake)

    def g_objective(self, d_logits_fake: torch.Tensor) -> torch.Tensor:
        return losses.g_loss_wasserstein(d_logits_fake)
