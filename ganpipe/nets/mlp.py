"""Fully connected G and D bodies (Goodfellow et al. 2014), for vectors and small images."""

from __future__ import annotations

import math

import torch
from torch import nn


class MLPGenerator(nn.Module):
    """z -> `out_shape`; tanh output for images in [-1, 1], linear for data coordinates."""

    def __init__(self, z_dim: int, out_shape: tuple[int, ...], width: int, depth: int, bounded: bool) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.out_shape = tuple(out_shape)
        layers: list[nn.Module] = []
        fan_in = z_dim
        for _ in range(depth):
            layers += [nn.Linear(fan_in, width), nn.ReLU(True)]
            fan_in = width
        layers.append(nn.Linear(fan_in, math.prod(out_shape)))
        if bounded:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.out_shape)


class MLPBody(nn.Module):
    """x -> features (N, width): D's trunk; the logit head is added by `Discriminator`."""

    def __init__(self, in_shape: tuple[int, ...], width: int, depth: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        fan_in = math.prod(in_shape)
        for _ in range(depth):
            layers += [nn.Linear(fan_in, width), nn.LeakyReLU(0.2, True)]
            fan_in = width
        self.net = nn.Sequential(*layers)
        self.feature_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
