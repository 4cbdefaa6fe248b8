"""Pix2Pix nets (Isola et al. 2017, arXiv:1611.07004): U-Net G and PatchGAN D.

U-Net: stride-2 4x4 convolutions down to 1x1 (LeakyReLU 0.2, BatchNorm but on the first and
innermost), transposed convolutions back up (ReLU, BatchNorm, dropout 0.5 on the three
innermost decoder layers, the paper's only noise source), each decoder layer fed the mirror
encoder layer's output; tanh out.
PatchGAN: classifies overlapping patches of the (A, B) pair as real or fake. The paper's 70x70
patch at 256x256 has three stride-2 layers; here the count follows the image size
(log2(size) - 5, at least 1), so the patch stays about a quarter of the image or more.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganpipe.nets.dcgan import norm_layers


class UNetBlock(nn.Module):
    """down -> (inner block) -> up, with the block's input concatenated to its output."""

    def __init__(self, outer: int, inner: int, *, in_channels: int | None = None, submodule: nn.Module | None = None,
                 outermost: bool = False, innermost: bool = False, dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        in_channels = outer if in_channels is None else in_channels
        down = nn.Conv2d(in_channels, inner, 4, 2, 1, bias=False)
        if outermost:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1)
            layers = [down, submodule, nn.ReLU(True), up, nn.Tanh()]
        elif innermost:
            up = nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, nn.BatchNorm2d(outer)]
        else:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False)
            layers = [nn.LeakyReLU(0.2, True), down, nn.BatchNorm2d(inner), submodule,
                      nn.ReLU(True), up, nn.BatchNorm2d(outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x) if self.outermost else torch.cat([x, self.block(x)], dim=1)


class UNetGenerator(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, image_size: int, width: int) -> None:
        super().__init__()
        depth = int(math.log2(image_size))
        if 2**depth != image_size or depth < 3:
            raise ValueError(f"U-Net needs a power-of-two image size >= 8, got {image_size}")
        widths = [width * min(2**level, 8) for level in range(depth)]  # channels after each down step
        block = UNetBlock(widths[-2], widths[-1], innermost=True)
        for level in range(depth - 2, 0, -1):
            block = UNetBlock(widths[level - 1], widths[level], submodule=block, dropout=level >= depth - 4)
        self.net = UNetBlock(out_channels, widths[0], in_channels=in_channels, submodule=block, outermost=True)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.net(a)


def patchgan_layers(image_size: int) -> int:
    return max(1, int(math.log2(image_size)) - 5)


class PatchDiscriminator(nn.Module):
    """(A, B) concatenated on channels -> a map of real/fake logits, one per patch."""

    def __init__(self, in_channels: int, image_size: int, width: int, norm: str = "batch", n_layers: int | None = None) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        channels = width
        n_layers = n_layers or patchgan_layers(image_size)
        for n in range(1, n_layers + 1):
            stride = 2 if n < n_layers else 1
            out = width * min(2**n, 8)
            layers += [nn.Conv2d(channels, out, 4, stride, 1, bias=norm == "none"), *norm_layers(norm, out), nn.LeakyReLU(0.2, True)]
            channels = out
        layers.append(nn.Conv2d(channels, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        return self.net(pair)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False), nn.InstanceNorm2d(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False), nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResNetGenerator(nn.Module):
    """CycleGAN's G (Johnson et al. 2016): c7s1-w, two stride-2 downs, residual blocks, two ups, c7s1 out."""

    def __init__(self, in_channels: int, out_channels: int, width: int, blocks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, width, 7, bias=False),
                                   nn.InstanceNorm2d(width), nn.ReLU(True)]
        channels = width
        for _ in range(2):
            layers += [nn.Conv2d(channels, channels * 2, 3, 2, 1, bias=False), nn.InstanceNorm2d(channels * 2), nn.ReLU(True)]
            channels *= 2
        layers += [ResidualBlock(channels) for _ in range(blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(channels, channels // 2, 3, 2, 1, output_padding=1, bias=False),
                       nn.InstanceNorm2d(channels // 2), nn.ReLU(True)]
            channels //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(channels, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.net(a)
