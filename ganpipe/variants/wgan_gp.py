"""WGAN-GP (Gulrajani et al. 2017): Wasserstein critic with a gradient penalty on interpolates.

Paper defaults (params.yaml `variants.wgan_gp`): lambda 10, Adam 1e-4 betas (0, 0.9), n_critic 5,
no BatchNorm in the critic (layer norm instead). The penalty itself is applied by the base class.
"""

from __future__ import annotations

from ganpipe.config import ModelConfig, TrainConfig
from ganpipe.errors import ConfigError
from ganpipe.variants.wgan import WGAN


class WGANGP(WGAN):
    name = "wgan_gp"
    description = "Wasserstein GAN with gradient penalty (lambda 10), no BatchNorm in the critic"
    paper = "Gulrajani et al. 2017, arXiv:1704.00028"

    @classmethod
    def check_config(cls, model: ModelConfig, train: TrainConfig) -> None:
        if not train.gp_weight:
            raise ConfigError("variant wgan_gp needs train.gp_weight > 0 (the paper's is 10; see params.yaml variants.wgan_gp)")
        if model.d_norm == "batch":  # BatchNorm couples samples, so the per-sample penalty is ill-defined
            raise ConfigError("variant wgan_gp: model.d_norm='batch' is not allowed in the critic; use layer or none")
