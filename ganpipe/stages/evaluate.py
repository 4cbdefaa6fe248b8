"""Stage 4: FID/IS (+ floor and class coverage) of the trained generator on the test split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganpipe.checkpoint import load_checkpoint, variant_from_checkpoint
from ganpipe.config import Config, PipelineSpec
from ganpipe.data.prepared import load_prepared
from ganpipe.evaluator import predict
from ganpipe.metrics.fid import classifier_fid, classifier_inception_score, inception_metrics
from ganpipe.paths import ProjectPaths
from ganpipe.sampling import generate, save_grid
from ganpipe.stages.common import read_json, write_json
from ganpipe.stages.evaluator import load_evaluator


def class_histogram_metrics(predicted: torch.Tensor, num_classes: int) -> dict[str, float]:
    """How evenly samples spread over classes: classes hit and KL(histogram || uniform)."""
    counts = torch.bincount(predicted, minlength=num_classes).double()
    p = counts / counts.sum()
    nonzero = p > 0
    kl = float((p[nonzero] * (p[nonzero] * num_classes).log()).sum())
    return {"classes_covered": int(nonzero.sum()), "class_kl": kl}


def evaluate(config: Config, pipeline: PipelineSpec, paths: ProjectPaths) -> dict[str, Any]:
    from tqdm import tqdm

    checkpoint = load_checkpoint(paths.checkpoint(pipeline.name))
    variant, nets = variant_from_checkpoint(checkpoint)
    data = load_prepared(paths.prepared(pipeline.dataset))
    classifier = load_evaluator(paths, pipeline.dataset)
    real_test = torch.from_numpy(data.test_images)
    real_train = torch.from_numpy(data.train_images)
    dataset = pipeline.dataset
    progress = tqdm(total=4, desc=f"evaluate {pipeline.name}", disable=not config.train.progress)

    fake = generate(variant, nets["G"], config.eval.num_samples, config.eval.seed, config.eval.batch_size)
    progress.update()
    is_mean, is_std = classifier_inception_score(classifier, fake, seed=config.eval.seed)
    real_is, _ = classifier_inception_score(classifier, real_test, seed=config.eval.seed)
    progress.update()
    metrics: dict[str, Any] = {
        f"fid_{dataset}": classifier_fid(classifier, real_test, fake),
        f"fid_{dataset}_floor": classifier_fid(classifier, real_test, real_train),
        f"is_{dataset}": is_mean,
        f"is_{dataset}_std": is_std,
        f"is_{dataset}_real": real_is,
        "evaluator_test_accuracy": read_json(paths.evaluator_metrics(dataset), "evaluator")["evaluator_test_accuracy"],
        "num_samples": config.eval.num_samples,
        "step": int(checkpoint["step"]),
    }
    num_classes = classifier.head.out_features
    metrics.update(class_histogram_metrics(predict(classifier, fake), num_classes))
    progress.update()
    if config.eval.inception_weights:
        metrics.update(inception_metrics(Path(config.eval.inception_weights), real_test, fake, seed=config.eval.seed))
    progress.update()
    progress.close()

    write_json(paths.metrics(pipeline.name), metrics)
    save_grid(fake[:100], paths.eval_dir(pipeline.name) / "samples.png")
    return metrics
