"""Pix2Pix (Isola et al. 2017): paired image-to-image translation A -> B.

G is a U-Net from A to B (dropout is its only noise; there is no z); D a PatchGAN on the
(A, B) pair. D's objective is the logistic GAN loss, halved; G's is the non-saturating loss
plus train.l1_weight (the paper's lambda = 100) times the L1 distance to the true B. With
train.adversarial_weight = 0, G is a plain L1-regression U-Net (the paper's "L1 only" ablation).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganpipe import losses
from ganpipe.nets.dcgan import init_dcgan_weights
from ganpipe.variants.base import Batch, Nets, Stats
from ganpipe.variants.image_to_image import ImageToImage


class Pix2Pix(ImageToImage):
    name = "pix2pix"
    description = "paired image-to-image translation: U-Net G, PatchGAN D, adversarial + L1"
    paper = "Isola et al. 2017, arXiv:1611.07004"
    batch_groups = (("a", "x"),)  # each A with its own B

    def build_nets(self) -> Nets:
        channels_b, channels_a = self.data.shape[0], self.data.input_shape[0]
        G, D = self.generator(channels_a, channels_b), self.discriminator(channels_a + channels_b)
        G.apply(init_dcgan_weights)
        D.apply(init_dcgan_weights)
        return {"G": G, "D": D}

    def discriminator_loss(self, nets: Nets, batch: Batch, z: torch.Tensor, step: int) -> tuple[torch.Tensor, Stats]:
        a, b = batch["a"], batch["x"]
        with torch.no_grad():
            fake = nets["G"](a)
        real_logits = nets["D"](torch.cat([a, b], dim=1))
        fake_logits = nets["D"](torch.cat([a, fake], dim=1))
        loss = 0.5 * losses.d_loss_logistic(real_logits.flatten(), fake_logits.flatten())
        return loss, {"D/real": real_logits.detach().mean(), "D/fake": fake_logits.detach().mean()}

    def generator_loss(self, nets: Nets, batch: Batch, z: torch.Tensor, step: int) -> tuple[torch.Tensor, Stats]:
        a, b = batch["a"], batch["x"]
        fake = nets["G"](a)
        adversarial = losses.g_loss_nonsaturating(nets["D"](torch.cat([a, fake], dim=1)).flatten())
        l1 = F.l1_loss(fake, b)
        loss = self.train_config.adversarial_weight * adversarial + self.train_config.l1_weight * l1
        return loss, {"G/adv": adversarial.detach(), "G/l1": l1.detach()}
