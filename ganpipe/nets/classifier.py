"""A small CNN classifier whose penultimate features stand in for Inception's offline.

FID and IS need a feature extractor; Inception weights cannot be downloaded here, so each
image dataset with labels trains this network on its training split (the evaluator stage).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class DigitsClassifier(nn.Module):
    """Images in [-1, 1] -> class logits; `features()` gives the FID embedding.

    From 16 px up, three conv stages pooled to 4x4 maps. Below 16 px (the digits' own 8x8) one
    pooling step already reaches 4x4: two conv pairs around it, rather than pooling to 2x2 and
    interpolating back up.
    """

    def __init__(self, image_size: int, channels: int = 1, num_classes: int = 10, feature_dim: int = 64) -> None:
        super().__init__()
        self.image_size = image_size
        self.channels = channels
        self.num_features = feature_dim
        if image_size < 16:
            convs = [
                nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(True), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(True),
                nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(True), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(True),
                nn.AdaptiveAvgPool2d(4),
            ]
        else:
            convs = [
                nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(True), nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(True), nn.MaxPool2d(2),
                nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(True), nn.AdaptiveAvgPool2d(4),
            ]
        self.body = nn.Sequential(*convs, nn.Flatten(), nn.Linear(64 * 16, feature_dim), nn.ReLU(True))
        self.head = nn.Linear(feature_dim, num_classes)
        self.num_classes = num_classes

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


class ClassifierEnsemble(nn.Module):
    """Independently seeded classifiers read as one: log of their mean class probabilities.

    A single small classifier's reading of an ambiguous sample depends on its seed; averaging
    several makes the class read (modes, KL, IS) a property of the data rather than of one seed.
    FID's embedding stays the first member's features, so its dimension does not grow with the
    ensemble (a probe on a few hundred samples needs far more samples than dimensions).
    """

    def __init__(self, members: list[DigitsClassifier]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        first = members[0]
        self.image_size, self.channels = first.image_size, first.channels
        self.num_features, self.num_classes = first.num_features, first.num_classes

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.members[0].features(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        log_probs = torch.stack([member(images).log_softmax(1) for member in self.members])
        return log_probs.logsumexp(0) - math.log(len(self.members))


def as_one_classifier(members: list[DigitsClassifier]) -> DigitsClassifier | ClassifierEnsemble:
    """One member as itself, several as their ensemble."""
    return members[0].eval() if len(members) == 1 else ClassifierEnsemble(members).eval()


def members_of(classifier: DigitsClassifier | ClassifierEnsemble) -> list[DigitsClassifier]:
    return list(classifier.members) if isinstance(classifier, ClassifierEnsemble) else [classifier]


class ChannelwiseClassifier(nn.Module):
    """A single-channel classifier applied to each channel of a stacked image.

    Features are the per-channel features side by side; the class of an image is the
    channel classes read as digits (base `num_classes` of the inner classifier), and its
    logits are the joint log-probabilities of the independent per-channel predictions.
    """

    def __init__(self, inner: DigitsClassifier | ClassifierEnsemble, channels: int) -> None:
        super().__init__()
        self.inner = inner
        self.channels = channels
        self.image_size = inner.image_size
        self.num_features = inner.num_features * channels
        self.num_classes = inner.num_classes**channels

    def _per_channel(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N * C, 1, H, W), channel-major within each image."""
        return images.reshape(-1, 1, *images.shape[2:])

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.inner.features(self._per_channel(images)).reshape(len(images), -1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        log_probs = self.inner(self._per_channel(images)).log_softmax(1).reshape(len(images), self.channels, -1)
        joint = log_probs[:, 0]
        for k in range(1, self.channels):
            joint = (joint[:, :, None] + log_probs[:, k, None, :]).reshape(len(images), -1)
        return joint


SingleImageClassifier = DigitsClassifier | ClassifierEnsemble
ImageClassifier = DigitsClassifier | ClassifierEnsemble | ChannelwiseClassifier
