"""Stage 2: train the dataset classifier that FID/IS use as feature extractor."""

from __future__ import annotations

from typing import Any

import torch

from ganpipe.config import Config, config_to_dict
from ganpipe.data.prepared import load_prepared
from ganpipe.errors import GanpipeError
from ganpipe.evaluator import train_classifier
from ganpipe.nets.classifier import DigitsClassifier
from ganpipe.paths import ProjectPaths
from ganpipe.stages.common import write_json


def train_evaluator(config: Config, dataset: str, paths: ProjectPaths) -> dict[str, Any]:
    data = load_prepared(paths.prepared(dataset))
    if not data.is_image:
        note = paths.evaluator(dataset).with_name("NOT_NEEDED.txt")
        note.parent.mkdir(parents=True, exist_ok=True)
        note.write_text(f"{dataset}: point data is scored against its known mixture; no learned evaluator.\n")
        metrics: dict[str, Any] = {"evaluator": "none (point data)"}
        write_json(paths.evaluator_metrics(dataset), metrics)
        return metrics
    classifier, test_accuracy = train_classifier(data, config.eval.evaluator, progress=config.train.progress)
    target = paths.evaluator(dataset)
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "state_dict": classifier.state_dict(),
            "image_size": data.sample_shape[-1],
            "channels": data.sample_shape[0],
            "num_classes": classifier.head.out_features,
            "config": config_to_dict(config.eval.evaluator),
        },
        target,
    )
    metrics = {"evaluator_test_accuracy": test_accuracy}
    write_json(paths.evaluator_metrics(dataset), metrics)
    return metrics


def load_evaluator(paths: ProjectPaths, dataset: str) -> DigitsClassifier:
    path = paths.evaluator(dataset)
    if not path.is_file():
        raise GanpipeError(f"{path}: evaluator not found; run `ganpipe evaluator --dataset {dataset}` first")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    classifier = DigitsClassifier(saved["image_size"], saved["channels"], saved["num_classes"])
    classifier.load_state_dict(saved["state_dict"])
    return classifier.eval()
