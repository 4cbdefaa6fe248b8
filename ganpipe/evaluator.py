"""Trains the dataset classifier used as the FID/IS feature extractor (and as a sample judge)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganpipe.config import EvaluatorConfig
from ganpipe.data.prepared import PreparedData
from ganpipe.loop import step_generator
from ganpipe.nets.classifier import DigitsClassifier, ImageClassifier


def train_classifier(data: PreparedData, config: EvaluatorConfig, progress: bool = True) -> tuple[DigitsClassifier, float]:
    """Fit on the training split; return the classifier and its test accuracy."""
    from tqdm import tqdm

    torch.manual_seed(config.seed)
    num_classes = int(data.train_y.max()) + 1
    channels, image_size = data.sample_shape[0], data.sample_shape[-1]
    classifier = DigitsClassifier(image_size, channels, num_classes)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=config.lr)
    images, labels = torch.from_numpy(data.train_x), torch.from_numpy(data.train_y)
    classifier.train()
    for epoch in tqdm(range(config.epochs), desc="train evaluator", disable=not progress):
        order = torch.randperm(len(images), generator=step_generator(config.seed, epoch, 0))
        for start in range(0, len(images), config.batch_size):
            index = order[start : start + config.batch_size]
            # A pixel of jitter keeps the features from keying on exact stroke positions.
            shift = tuple(torch.randint(-1, 2, (2,)).tolist())
            batch = torch.roll(images[index], shifts=shift, dims=(2, 3))
            loss = F.cross_entropy(classifier(batch), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    classifier.eval()
    return classifier, accuracy(classifier, torch.from_numpy(data.test_x), torch.from_numpy(data.test_y))


@torch.no_grad()
def predict(classifier: ImageClassifier, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    return torch.cat([classifier(images[i : i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)])


def accuracy(classifier: ImageClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    return float((predict(classifier, images) == labels).float().mean())
