"""A small CNN classifier whose penultimate features stand in for Inception's offline.

FID and IS need a feature extractor; Inception weights cannot be downloaded here, so each
image dataset with labels trains this network on its training split (the evaluator stage).
"""

from __future__ import annotations

import torch
from torch import nn


class DigitsClassifier(nn.Module):
    """Images in [-1, 1] -> class logits; `features()` gives the FID embedding."""

    def __init__(self, image_size: int, channels: int = 1, num_classes: int = 10, feature_dim: int = 64) -> None:
        super().__init__()
        self.image_size = image_size
        self.num_features = feature_dim
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(True), nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(64 * 16, feature_dim), nn.ReLU(True),
        )
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))
