"""DCGAN generator and discriminator (Radford, Metz & Chintala 2016, arXiv:1511.06434).

G: project z to 4x4, then stride-2 transposed convolutions with BatchNorm and ReLU, tanh out.
D: stride-2 convolutions with LeakyReLU(0.2), BatchNorm on all but the first, one logit out
(the logit head lives in `ganpipe.nets.discriminator.Discriminator`).
Any power-of-two resolution >= 8 works: the number of stages follows the image size.
`extra_layers` adds 3x3 stride-1 convolutions at G's last hidden resolution and D's first, the
`n_extra_layers` of the reference WGAN code: depth where the image is too small for more stages.
D's `stage_layers` adds 3x3 stride-1 convolutions at its input and after each stride-2 one, the
pattern of SNGAN's CNN discriminator (Miyato et al. 2018, Table 3): depth at every resolution.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _num_upsamplings(image_size: int) -> int:
    stages = int(math.log2(image_size)) - 2
    if stages < 1 or 4 * 2**stages != image_size:
        raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
    return stages


def init_dcgan_weights(module: nn.Module) -> None:
    """N(0, 0.02) for convolutions, N(1, 0.02) for BatchNorm scales, as in the paper."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int, image_size: int, channels: int, width: int, extra_layers: int = 0) -> None:
        super().__init__()
        self.z_dim = z_dim
        stages = _num_upsamplings(image_size)
        hidden = width * 2 ** (stages - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, hidden, 4, 1, 0, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(True),
        ]
        for _ in range(stages - 1):
            layers += [
                nn.ConvTranspose2d(hidden, hidden // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(hidden // 2),
                nn.ReLU(True),
            ]
            hidden //= 2
        for _ in range(extra_layers):
            layers += [nn.Conv2d(hidden, hidden, 3, 1, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(hidden, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(init_dcgan_weights)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


def norm_layers(kind: str, channels: int) -> list[nn.Module]:
    if kind == "batch":
        return [nn.BatchNorm2d(channels)]
    if kind == "layer":  # per-sample, so it keeps the gradient penalty well defined (Gulrajani et al.)
        return [nn.GroupNorm(1, channels)]
    if kind == "instance":
        return [nn.InstanceNorm2d(channels)]
    return []


class DCGANBody(nn.Module):
    """D's conv trunk: image -> flattened 4x4 features; the final 4x4 conv of the paper is
    the linear head that `Discriminator` adds on top."""

    def __init__(self, image_size: int, channels: int, width: int, norm: str = "batch",
                 extra_layers: int = 0, stage_layers: int = 0) -> None:
        super().__init__()
        stages = _num_upsamplings(image_size)

        def stride_one(hidden: int, count: int) -> list[nn.Module]:
            return [layer for _ in range(count) for layer in (
                nn.Conv2d(hidden, hidden, 3, 1, 1, bias=norm == "none"), *norm_layers(norm, hidden),
                nn.LeakyReLU(0.2, True))]

        # no norm on the layer that sees the image, as in the paper
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, 1, 1), nn.LeakyReLU(0.2, True)] if stage_layers else []
        layers += [nn.Conv2d(width if stage_layers else channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        layers += stride_one(width, extra_layers + stage_layers)
        hidden = width
        for _ in range(stages - 1):
            layers += [nn.Conv2d(hidden, hidden * 2, 4, 2, 1, bias=norm == "none"), *norm_layers(norm, hidden * 2),
                       nn.LeakyReLU(0.2, True)]
            hidden *= 2
            layers += stride_one(hidden, stage_layers)
        layers.append(nn.Flatten())
        self.net = nn.Sequential(*layers)
        self.feature_dim = hidden * 16
        self.apply(init_dcgan_weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
