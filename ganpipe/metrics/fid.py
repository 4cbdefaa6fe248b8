"""FID (Heusel et al. 2017) and IS (Salimans et al. 2016) through torchmetrics.

Images are in [-1, 1], as everywhere in ganpipe. By default the features come from the
dataset's own classifier (metric names `fid_<dataset>`, `is_<dataset>`); with a local
Inception weights file, the standard Inception-v3 metrics are computed too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from ganpipe.errors import GanpipeError
from ganpipe.nets.classifier import ImageClassifier


class ClassifierFeatures(nn.Module):
    """Penultimate-layer features of the classifier: the FID embedding."""

    def __init__(self, classifier: ImageClassifier) -> None:
        super().__init__()
        self.classifier = classifier.eval()
        self.num_features = classifier.num_features

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(images)


class ClassifierLogits(nn.Module):
    """Class logits of the classifier: the IS input."""

    def __init__(self, classifier: ImageClassifier) -> None:
        super().__init__()
        self.classifier = classifier.eval()

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(images)


def batches(images: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    for start in range(0, len(images), batch_size):
        yield images[start : start + batch_size]


@torch.no_grad()
def classifier_features(classifier: ImageClassifier, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    return torch.cat([classifier.features(chunk) for chunk in batches(images, batch_size)])


def classifier_fid(classifier: ImageClassifier, real: torch.Tensor, fake: torch.Tensor, batch_size: int = 500) -> float:
    from torchmetrics.image.fid import FrechetInceptionDistance

    # sync_on_compute=False: scored on one rank (the eval.every probe runs on rank 0 alone), a
    # cross-rank sync would wait forever for the other workers.
    metric = FrechetInceptionDistance(feature=ClassifierFeatures(classifier), reset_real_features=True, sync_on_compute=False)
    for chunk in batches(real, batch_size):
        metric.update(chunk, real=True)
    for chunk in batches(fake, batch_size):
        metric.update(chunk, real=False)
    return float(metric.compute())


def classifier_inception_score(classifier: ImageClassifier, images: torch.Tensor, seed: int, splits: int = 10, batch_size: int = 500) -> tuple[float, float]:
    from torchmetrics.image.inception import InceptionScore

    metric = InceptionScore(feature=ClassifierLogits(classifier), splits=splits, sync_on_compute=False)
    for chunk in batches(images, batch_size):
        metric.update(chunk)
    with torch.random.fork_rng():
        torch.manual_seed(seed)  # IS shuffles before splitting
        mean, std = metric.compute()
    return float(mean), float(std)


def _to_inception_input(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1], 1 or 3 channels -> uint8 RGB, the input torchmetrics' Inception expects."""
    rgb = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
    return ((rgb.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def inception_metrics(weights: Path, real: torch.Tensor, fake: torch.Tensor, seed: int, batch_size: int = 100) -> dict[str, float]:
    """Standard Inception-v3 FID and IS from a local pt_inception weights file."""
    if not weights.is_file():
        raise GanpipeError(f"eval.inception_weights={str(weights)!r}: file not found")
    from torchmetrics.image.fid import FrechetInceptionDistance, NoTrainInceptionV3
    from torchmetrics.image.inception import InceptionScore

    try:
        fid = FrechetInceptionDistance(feature=2048, feature_extractor_weights_path=str(weights))
        logits = NoTrainInceptionV3("inception-v3-compat", ["logits_unbiased"], str(weights))
    except Exception as exc:
        raise GanpipeError(f"eval.inception_weights={str(weights)!r}: cannot load Inception weights ({exc})") from None
    score = InceptionScore(feature=logits)
    for chunk in batches(real, batch_size):
        fid.update(_to_inception_input(chunk), real=True)
    for chunk in batches(fake, batch_size):
        fid.update(_to_inception_input(chunk), real=False)
        score.update(_to_inception_input(chunk))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        is_mean, is_std = score.compute()
    return {"fid_inception": float(fid.compute()), "is_inception": float(is_mean), "is_inception_std": float(is_std)}
