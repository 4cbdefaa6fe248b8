"""Conditional GAN (Mirza & Osindero 2014): G and D both see the class label.

G's input is [z, one-hot label]; D sees the image with the one-hot label appended as
constant channels (for points: as extra coordinates). Fakes set against a real batch carry
that batch's labels, so the penalties (R1, gradient penalty) compare like with like.
The objective is the non-saturating GAN's; the architecture follows the data (DCGAN conv
nets for images, MLPs for points).

With model.auxiliary_classifier, the variant is ACGAN (Odena et al. 2017): D does not see
the label but predicts it, from a class head beside its real/fake logit; both D and G add
the cross-entropy of D's class prediction (D on real and fake, G on fake) to their losses.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ganpipe.errors import ConfigError
from ganpipe.variants.base import Batch, unwrap
from ganpipe.variants.gan import GAN


class CGAN(GAN):
    name = "cgan"
    description = "class-conditional GAN: the label goes into G and D; `ganpipe sample --label K`"
    paper = "Mirza & Osindero 2014, arXiv:1411.1784"
    image_arch = "dcgan"
    batch_groups = (("x", "y"),)
    conditional = True

    @classmethod
    def training_arrays(cls, data) -> dict[str, np.ndarray]:
        return {"x": data.train_x, "y": data.train_y}

    def __init__(self, model, train, data) -> None:
        super().__init__(model, train, data)
        if data.num_classes < 2:
            raise ConfigError(f"variant cgan needs labelled data with at least 2 classes; this data has {data.num_classes}")
        if model.auxiliary_classifier:
            unsupported = [name for name, on in (("train.r1_weight", train.r1_weight), ("train.gp_weight", train.gp_weight),
                                                 ("train.unrolled_steps", train.unrolled_steps),
                                                 ("model.feature_matching", model.feature_matching),
                                                 ("model.packing", model.packing > 1),
                                                 ("train.top_k", train.top_k < 1),
                                                 ("train.info_weight", train.info_weight)) if on]
            if unsupported:
                raise ConfigError(f"model.auxiliary_classifier=true: not combined with {', '.join(unsupported)} in cgan")

    @property
    def acgan(self) -> bool:
        return self.model_config.auxiliary_classifier

    @property
    def d_class_outputs(self) -> int:
        return self.num_classes if self.acgan else 0

    @property
    def num_classes(self) -> int:
        return self.data.num_classes

    @property
    def noise_dim(self) -> int:
        """Width of the unconditional part of G's input (z and any latent code)."""
        return super().latent_dim

    @property
    def latent_dim(self) -> int:
        return self.noise_dim + self.num_classes

    @property
    def d_input_shape(self) -> tuple[int, ...]:
        if self.acgan:
            return self.data.shape
        return (self.data.shape[0] + self.num_classes, *self.data.shape[1:])

    def sample_noise(self, n, generator, device, labels=None) -> torch.Tensor:
        z = self.latent_code(torch.randn(n, self.model_config.z_dim, generator=generator), generator)
        if labels is None:
            labels = torch.randint(0, self.num_classes, (n,), generator=generator)
        return torch.cat([z, self.one_hot(labels.cpu())], dim=1).to(device)

    def one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        return F.one_hot(labels.long(), self.num_classes).float()

    def labels_of(self, z: torch.Tensor) -> torch.Tensor:
        """The one-hot label part of G's input."""
        return z[:, self.noise_dim :]

    def conditioned_noise(self, z: torch.Tensor, batch: Batch) -> torch.Tensor:
        return torch.cat([z[:, : self.noise_dim], self.one_hot(batch["y"]).to(z.device)], dim=1)

    def with_label(self, x: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
        """x with its label appended: as constant channels for images, as coordinates for points."""
        if x.dim() == 4:
            one_hot = one_hot[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return torch.cat([x, one_hot.to(x.dtype)], dim=1)

    def real_d_input(self, batch: Batch, step: int) -> torch.Tensor:
        real = super().real_d_input(batch, step)
        return real if self.acgan else self.with_label(real, self.one_hot(batch["y"]).to(real.device))

    def fake_d_input(self, fake: torch.Tensor, z: torch.Tensor, step: int) -> torch.Tensor:
        fake = super().fake_d_input(fake, z, step)
        return fake if self.acgan else self.with_label(fake, self.labels_of(z))

    # --- ACGAN: the class head's cross-entropy joins both losses --------------------------------
    def discriminator_loss(self, nets, batch: Batch, z: torch.Tensor, step: int):
        if not self.acgan:
            return super().discriminator_loss(nets, batch, z, step)
        z = self.conditioned_noise(z, batch)
        with torch.no_grad():
            fake = nets["G"](z)
        real_out = nets["D"](self.real_d_input(batch, step))
        fake_out = nets["D"](self.fake_d_input(fake, z, step))
        labels = batch["y"].long()
        adversarial = self.d_objective(real_out[:, 0], fake_out[:, 0])
        classification = F.cross_entropy(real_out[:, 1:], labels) + F.cross_entropy(fake_out[:, 1:], labels)
        return adversarial + classification, {"D/real": real_out[:, 0].detach().mean(),
                                              "D/fake": fake_out[:, 0].detach().mean(),
                                              "D/class_ce": classification.detach()}

    def generator_loss(self, nets, batch: Batch, z: torch.Tensor, step: int):
        if not self.acgan:
            return super().generator_loss(nets, batch, z, step)
        z = self.conditioned_noise(z, batch)
        out = unwrap(nets["D"])(self.fake_d_input(nets["G"](z), z, step))
        classification = F.cross_entropy(out[:, 1:], batch["y"].long())
        return self.g_objective(out[:, 0]) + classification, {"G/class_ce": classification.detach()}
