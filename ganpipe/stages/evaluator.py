"""Stage 2: train the dataset classifier that FID/IS use as feature extractor."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganpipe.config import Config, EvaluatorConfig, config_to_dict
from ganpipe.data.prepared import PreparedData, load_prepared
from ganpipe.data.stacked import channel_labels
from ganpipe.errors import GanpipeError
from ganpipe.evaluator import train_classifier
from ganpipe.nets.classifier import ChannelwiseClassifier, DigitsClassifier, ImageClassifier, as_one_classifier, members_of
from ganpipe.paths import ProjectPaths
from ganpipe.stages.common import write_json


# Channel images drawn from the stacked train split to fit the per-channel classifier: the
# triples recombine ~1,400 digit images, so a few thousand of them see each one several times.
STACKED_EVALUATOR_TRIPLES = 3_000


def per_channel_view(data: PreparedData) -> PreparedData:
    """Stacked images as single-channel digit images with their digit labels."""
    def split(images, labels, limit=None):
        images, labels = images[:limit], labels[:limit]
        return images.reshape(-1, 1, *images.shape[2:]), channel_labels(labels).reshape(-1)

    train_x, train_y = split(data.train_x, data.train_y, STACKED_EVALUATOR_TRIPLES)
    test_x, test_y = split(data.test_x, data.test_y)
    return PreparedData(train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y, manifest=data.manifest)


def rotation_view(data: PreparedData) -> PreparedData:
    """Unlabelled images as a 4-way task: which quarter turn was applied (Gidaris et al. 2018).
    Learning it takes features of shape and content, which is what FID needs from the net."""
    def split(images):
        turns = [np.rot90(images, k, axes=(2, 3)) for k in range(4)]
        return np.ascontiguousarray(np.concatenate(turns)), np.repeat(np.arange(4, dtype=np.int64), len(images))

    train_x, train_y = split(data.train_x)
    test_x, test_y = split(data.test_x)
    return PreparedData(train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y, manifest=data.manifest)


def needs_rotation_evaluator(data: PreparedData) -> bool:
    """A folder dataset without class folders has no labels to train the evaluator on."""
    return data.info.get("kind") == "folder" and not data.info.get("labelled")


def fit_evaluator(data: PreparedData, config: EvaluatorConfig, progress: bool = True) -> tuple[ImageClassifier, float]:
    """The dataset's classifier and its test accuracy; stacked images get a per-channel one,
    unlabelled folder datasets one that predicts rotations."""
    if needs_rotation_evaluator(data):
        return train_classifier(rotation_view(data), config, progress=progress)
    if data.info.get("kind") != "stacked":
        return train_classifier(data, config, progress=progress)
    inner, test_accuracy = train_classifier(per_channel_view(data), config, progress=progress)
    return ChannelwiseClassifier(inner, data.sample_shape[0]).eval(), test_accuracy


def train_evaluator(config: Config, dataset: str, paths: ProjectPaths) -> dict[str, Any]:
    data = load_prepared(paths.prepared(dataset))
    if not data.is_image:
        note = paths.evaluator(dataset).with_name("NOT_NEEDED.txt")
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(f"{dataset}: point data is scored against its known mixture; no learned evaluator.\n")
        metrics: dict[str, Any] = {"evaluator": "none (point data)"}
        write_json(paths.evaluator_metrics(dataset), metrics)
        return metrics
    classifier, test_accuracy = fit_evaluator(data, config.eval.evaluator, progress=config.train.progress)
    stacked = isinstance(classifier, ChannelwiseClassifier)
    inner = classifier.inner if stacked else classifier
    target = paths.evaluator(dataset)
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "state_dicts": [member.state_dict() for member in members_of(inner)],
            "image_size": inner.image_size,
            "channels": inner.channels,
            "num_classes": inner.num_classes,
            "stacked_channels": classifier.channels if stacked else None,
            "config": config_to_dict(config.eval.evaluator),
        },
        target,
    )
    metrics: dict[str, Any] = {"evaluator_test_accuracy": test_accuracy}
    if needs_rotation_evaluator(data):
        metrics["evaluator_task"] = "rotation (unlabelled images): 4 quarter turns"
    write_json(paths.evaluator_metrics(dataset), metrics)
    return metrics


def load_evaluator(paths: ProjectPaths, dataset: str) -> ImageClassifier:
    path = paths.evaluator(dataset)
    if not path.is_file():
        raise GanpipeError(f"{path}: evaluator not found; run `ganpipe evaluator --dataset {dataset}` first")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    members = []
    for state_dict in saved.get("state_dicts") or [saved["state_dict"]]:  # "state_dict": one, saved before ensembles
        member = DigitsClassifier(saved["image_size"], saved["channels"], saved["num_classes"])
        try:
            member.load_state_dict(state_dict)
        except RuntimeError as exc:
            raise GanpipeError(f"{path}: does not fit this ganpipe's classifier (saved by another version?); "
                               f"rerun `ganpipe evaluator --dataset {dataset}`\n{exc}") from None
        members.append(member.eval())
    classifier = as_one_classifier(members)
    if saved.get("stacked_channels"):
        return ChannelwiseClassifier(classifier, saved["stacked_channels"]).eval()
    return classifier.eval()
