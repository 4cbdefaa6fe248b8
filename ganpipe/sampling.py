"""Drawing samples from a trained generator, reproducibly for a given seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ganpipe.loop import step_generator
from ganpipe.variants.base import Variant


def sampling_net(nets: dict[str, nn.Module]) -> nn.Module:
    """The generator to sample from: the EMA copy when training kept one."""
    return nets.get("G_ema", nets["G"])


@torch.no_grad()
def generate(variant: Variant, G: nn.Module, n: int, seed: int, batch_size: int = 500,
             labels: torch.Tensor | None = None) -> torch.Tensor:
    """`n` samples in G's output range ([-1, 1] for images); the same seed gives the same samples.
    A conditional variant makes sample i of class labels[i] (random classes when None)."""
    G.eval()
    generator = step_generator(seed, 0, 0)
    chunks = []
    for start in range(0, n, batch_size):
        size = min(batch_size, n - start)
        chunk_labels = None if labels is None else labels[start : start + size]
        chunks.append(G(variant.sample_noise(size, generator, torch.device("cpu"), labels=chunk_labels)))
    return torch.cat(chunks) if chunks else torch.empty(0)


@torch.no_grad()
def translate(variant: Variant, G: nn.Module, inputs: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """B images for the A images `inputs` (both in [-1, 1]), in batches, G in eval mode."""
    G.eval()
    chunks = [variant.translate(G, inputs[start : start + batch_size]) for start in range(0, len(inputs), batch_size)]
    return torch.cat(chunks) if chunks else torch.empty(0)


def to_unit_range(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] -> float32 [0, 1], the polarity of the source images (ink bright)."""
    return ((images.clamp(-1, 1) + 1) / 2).numpy().astype(np.float32)


def save_picture(samples: torch.Tensor, path: Path, centres: np.ndarray | None = None, nrow: int = 10) -> None:
    """A PNG: a grid for images, a scatter (over the mixture's centres, if known) for points."""
    if samples.dim() == 4:
        save_grid(samples, path, nrow)
    else:
        from ganpipe.plots import scatter_over_mixture

        scatter_over_mixture(samples.numpy(), centres, path)


def save_grid(images: torch.Tensor, path: Path, nrow: int = 10) -> None:
    """A PNG grid of images in [-1, 1]."""
    from torchvision.utils import save_image

    path.parent.mkdir(parents=True, exist_ok=True)
    save_image((images.clamp(-1, 1) + 1) / 2, path, nrow=nrow, padding=2, pad_value=0.5)
