"""WGAN (Arjovsky et al. 2017): Wasserstein critic kept Lipschitz by weight clipping.

Paper defaults (params.yaml `variants.wgan`): clip 0.01, RMSprop 5e-5, n_critic 5.
"""

from __future__ import annotations

import torch

from ganpipe import losses
from ganpipe.config import ModelConfig, TrainConfig
from ganpipe.errors import ConfigError
from ganpipe.variants.base import Variant


class WGAN(Variant):
    name = "wgan"
    description = "Wasserstein GAN, critic weights clipped after every critic step"
    paper = "Arjovsky, Chintala & Bottou 2017, arXiv:1701.07875"

    @classmethod
    def check_config(cls, model: ModelConfig, train: TrainConfig) -> None:
        if train.clip_value is None:
            raise ConfigError("variant wgan needs train.clip_value (the paper's is 0.01; see params.yaml variants.wgan)")

    def d_objective(self, d_logits_real: torch.Tensor, d_logits_fake: torch.Tensor) -> torch.Tensor:
        return losses.d_loss_wasserstein(d_logits_real, d_logits_fake)

    def g_objective(self, d_logits_fake: torch.Tensor) -> torch.Tensor:
        return losses.g_loss_wasserstein(d_logits_fake)
