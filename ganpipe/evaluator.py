"""Trains the dataset classifier used as the FID/IS feature extractor (and as a sample judge)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganpipe.config import EvaluatorConfig
from ganpipe.data.prepared import PreparedData
from ganpipe.loop import schedule_factor, step_generator
from ganpipe.nets.classifier import DigitsClassifier, ImageClassifier, SingleImageClassifier, as_one_classifier


def train_classifier(data: PreparedData, config: EvaluatorConfig, progress: bool = True) -> tuple[SingleImageClassifier, float]:
    """Fit on the training split (`config.members` classifiers, seeds seed, seed+1, ...: an
    ensemble when more than one); return it and its test accuracy."""
    members = [train_member(data, config, config.seed + k, progress) for k in range(config.members)]
    classifier = as_one_classifier(members)
    return classifier, accuracy(classifier, torch.from_numpy(data.test_x), torch.from_numpy(data.test_y))


def train_member(data: PreparedData, config: EvaluatorConfig, seed: int, progress: bool) -> DigitsClassifier:
    from tqdm import tqdm

    torch.manual_seed(seed)
    num_classes = int(data.train_y.max()) + 1
    channels, image_size = data.sample_shape[0], data.sample_shape[-1]
    classifier = DigitsClassifier(image_size, channels, num_classes)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=config.lr)
    images, labels = torch.from_numpy(data.train_x), torch.from_numpy(data.train_y)
    total_steps = config.epochs * -(-len(images) // config.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: schedule_factor(config.lr_schedule, step, total_steps))
    classifier.train()
    for epoch in tqdm(range(config.epochs), desc="train evaluator", disable=not progress):
        order = torch.randperm(len(images), generator=step_generator(seed, epoch, 0))
        for start in range(0, len(images), config.batch_size):
            index = order[start : start + config.batch_size]
            # A pixel of jitter keeps the features from keying on exact stroke positions.
            dy, dx = torch.randint(-1, 2, (2,)).tolist()
            batch = jitter(images[index], dy, dx, wrap=image_size >= 16)
            loss = F.cross_entropy(classifier(batch), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return classifier.eval()


def jitter(images: torch.Tensor, dy: int, dx: int, wrap: bool) -> torch.Tensor:
    """Images shifted by (dy, dx) pixels. Below 16 px the uncovered edge is background (-1): at
    8x8 a wrapped-around row is an eighth of the digit. From 16 px up the shift wraps around, as
    the evaluators behind the published 16 and 32 px numbers were trained."""
    if wrap:
        return torch.roll(images, shifts=(dy, dx), dims=(2, 3))
    height, width = images.shape[2:]
    shifted = torch.full_like(images, -1.0)
    shifted[:, :, max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = \
        images[:, :, max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)]
    return shifted


@torch.no_grad()
def predict(classifier: ImageClassifier, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    return torch.cat([classifier(images[i : i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)])


def accuracy(classifier: ImageClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    return float((predict(classifier, images) == labels).float().mean())
