"""DCGAN (Radford, Metz & Chintala 2016): conv nets, Adam 2e-4 with beta1 0.5, non-saturating loss."""

from __future__ import annotations

import torch
from torch import nn

from ganpipe import losses
from ganpipe.config import TrainConfig
from ganpipe.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from ganpipe.variants.base import Stats, Variant


class DCGAN(Variant):
    name = "dcgan"
    description = "deep convolutional GAN with the non-saturating loss"
    paper = "Radford, Metz & Chintala 2016, arXiv:1511.06434"

    def build_nets(self) -> dict[str, nn.Module]:
        m, d = self.model_config, self.data
        return {
            "G": DCGANGenerator(m.z_dim, d.image_size, d.channels, m.g_width),
            "D": DCGANDiscriminator(d.image_size, d.channels, m.d_width),
        }

    def build_optimizers(self, nets: dict[str, nn.Module], train: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        betas = (train.beta1, train.beta2)
        return {
            "G": torch.optim.Adam(nets["G"].parameters(), lr=train.lr, betas=betas),
            "D": torch.optim.Adam(nets["D"].parameters(), lr=train.d_learning_rate, betas=betas),
        }

    def discriminator_loss(self, nets: dict[str, nn.Module], real: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, Stats]:
        with torch.no_grad():
            fake = nets["G"](z)
        d_logits_real = nets["D"](real)
        d_logits_fake = nets["D"](fake)
        loss = losses.d_loss_logistic(d_logits_real, d_logits_fake)
        return loss, {"D/real": d_logits_real.detach().mean(), "D/fake": d_logits_fake.detach().mean()}

    def generator_loss(self, nets: dict[str, nn.Module], real: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, Stats]:
        return losses.g_loss_nonsaturating(nets["D"](nets["G"](z))), {}
