"""Conditional GAN (Mirza & Osindero 2014): G and D both see the class label.

G's input is [z, one-hot label]; D sees the image with the one-hot label appended as
constant channels (for points: as extra coordinates). Fakes set against a real batch carry
that batch's labels, so the penalties (R1, gradient penalty) compare like with like.
The objective is the non-saturating GAN's; the architecture follows the data (DCGAN conv
nets for images, MLPs for points).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ganpipe.errors import ConfigError
from ganpipe.variants.base import Batch
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

    @property
    def num_classes(self) -> int:
        return self.data.num_classes

    @property
    def latent_dim(self) -> int:
        return self.model_config.z_dim + self.num_classes

    @property
    def d_input_shape(self) -> tuple[int, ...]:
        return (self.data.shape[0] + self.num_classes, *self.data.shape[1:])

    def sample_noise(self, n, generator, device, labels=None) -> torch.Tensor:
        z = torch.randn(n, self.model_config.z_dim, generator=generator)
        if labels is None:
            labels = torch.randint(0, self.num_classes, (n,), generator=generator)
        return torch.cat([z, self.one_hot(labels.cpu())], dim=1).to(device)

    def one_hot(self, labels: torch.Tensor) -> torch.Tensor:
        return F.one_hot(labels.long(), self.num_classes).float()

    def labels_of(self, z: torch.Tensor) -> torch.Tensor:
        """The one-hot label part of G's input."""
        return z[:, self.model_config.z_dim :]

    def conditioned_noise(self, z: torch.Tensor, batch: Batch) -> torch.Tensor:
        return torch.cat([z[:, : self.model_config.z_dim], self.one_hot(batch["y"]).to(z.device)], dim=1)

    def with_label(self, x: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
        """x with its label appended: as constant channels for images, as coordinates for points."""
        if x.dim() == 4:
            one_hot = one_hot[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return torch.cat([x, one_hot.to(x.dtype)], dim=1)

    def real_d_input(self, batch: Batch, step: int) -> torch.Tensor:
        real = super().real_d_input(batch, step)
        return self.with_label(real, self.one_hot(batch["y"]).to(real.device))

    def fake_d_input(self, fake: torch.Tensor, z: torch.Tensor, step: int) -> torch.Tensor:
        return self.with_label(super().fake_d_input(fake, z, step), self.labels_of(z))
