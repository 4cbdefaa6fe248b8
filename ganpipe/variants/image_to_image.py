"""What the image-to-image variants (pix2pix, cyclegan) share: trained on A and B images, G maps
A to B with no z; G is a U-Net or a ResNet, D a PatchGAN."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch
from torch import nn

from ganpipe.config import ModelConfig, TrainConfig
from ganpipe.errors import ConfigError
from ganpipe.nets.pix2pix import PatchDiscriminator, ResNetGenerator, UNetGenerator
from ganpipe.variants.base import DataSpec, Variant

if TYPE_CHECKING:
    from ganpipe.data.prepared import PreparedData


class ImageToImage(Variant):
    """What the translation variants share: trained on A and B images, G maps A to B, no z."""

    translates = True
    supports_top_k = False  # G's loss adds L1 / cycle terms to the adversarial one
    generator_archs = ("unet", "resnet")
    resnet_from: ClassVar[int | None] = None  # the image size from which model.arch=auto picks the ResNet G

    @classmethod
    def needs_pairs(cls) -> bool:
        """Whether training reads each A with its own B (a batch group holding both)."""
        return any("a" in group and "x" in group for group in cls.batch_groups)

    @classmethod
    def training_arrays(cls, data: "PreparedData") -> dict[str, np.ndarray]:
        if data.train_a is None:
            raise ConfigError(f"variant {cls.name} needs an image-to-image dataset with A and B images; "
                              f"'{data.manifest.get('dataset')}' has only one domain")
        if cls.needs_pairs() and data.info.get("paired") is False:
            raise ConfigError(f"variant {cls.name} learns from A|B pairs; dataset '{data.manifest.get('dataset')}' "
                              "is unpaired (use cyclegan)")
        return {"a": data.train_a, "x": data.train_x}

    def __init__(self, model: ModelConfig, train: TrainConfig, data: DataSpec) -> None:
        super().__init__(model, train, data)
        if model.latent_components:
            raise ConfigError(f"model.latent_components={model.latent_components}: variant {self.name} "
                              "translates images and draws no latent code")
        if not data.is_image or data.input_shape is None:
            raise ConfigError(f"variant {self.name} needs A and B images; got samples of shape {data.shape}")

    @property
    def latent_dim(self) -> int:
        return 0

    def sample_noise(self, n: int, generator: torch.Generator | None, device: torch.device,
                     labels: torch.Tensor | None = None) -> torch.Tensor:
        return torch.empty(n, 0, device=device)

    def generator(self, in_channels: int, out_channels: int) -> nn.Module:
        """A U-Net, or CycleGAN's ResNet G (9 blocks from 256x256, 6 below); model.arch=auto picks
        the U-Net below the variant's `resnet_from` size."""
        size, width, arch = self.data.shape[-1], self.model_config.g_width, self.model_config.arch
        if arch == "auto":
            arch = "resnet" if self.resnet_from is not None and size >= self.resnet_from else "unet"
        if arch == "resnet":
            return ResNetGenerator(in_channels, out_channels, width, 9 if size >= 256 else 6)
        return UNetGenerator(in_channels, out_channels, size, width)

    def discriminator(self, in_channels: int) -> nn.Module:
        """A PatchGAN D; model.patch_layers sets its receptive field (null: the size's default)."""
        m = self.model_config
        return PatchDiscriminator(in_channels, self.data.shape[-1], m.d_width, m.d_norm, m.patch_layers)

    def translate(self, G: nn.Module, a: torch.Tensor) -> torch.Tensor:
        return G(a)
