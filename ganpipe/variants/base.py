"""What a variant is: nets, optimizers and losses. The training loop does the stepping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from ganpipe.config import ModelConfig, TrainConfig


@dataclass(frozen=True)
class DataSpec:
    """The shape of one sample, as the prepared dataset describes it."""

    channels: int
    image_size: int


Stats = dict[str, torch.Tensor]


class Variant:
    """Base class: an unconditional image GAN with one G and one D."""

    name: ClassVar[str]
    description: ClassVar[str]
    paper: ClassVar[str]
    d_steps_per_g_step: ClassVar[int] = 1

    def __init__(self, model: ModelConfig, data: DataSpec) -> None:
        self.model_config = model
        self.data = data

    def build_nets(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def build_optimizers(self, nets: dict[str, nn.Module], train: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def sample_noise(self, n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        return torch.randn(n, self.model_config.z_dim, generator=generator).to(device)

    def discriminator_loss(self, nets: dict[str, nn.Module], real: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, Stats]:
        raise NotImplementedError

    def generator_loss(self, nets: dict[str, nn.Module], real: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, Stats]:
        raise NotImplementedError

    def after_discriminator_step(self, nets: dict[str, nn.Module]) -> None:
        """Hook for constraints applied after D's update (e.g. weight clipping)."""
