"""Stage 4: score the trained generator on the test split.

Images: FID/IS with the dataset's classifier (+ the real-vs-real floor and class coverage),
precision/recall and density/coverage on the same features; stacked digits: modes of 1,000.
Mixtures: modes covered, % high-quality samples and KL to uniform (VEEGAN/PacGAN protocol).
Image-to-image models: the test split's A images translated and scored against the true B
(L1, PSNR, SSIM, beside the identity and mean-B baselines) and FID on the B domain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganpipe.checkpoint import load_checkpoint, variant_from_checkpoint
from ganpipe.config import Config, PipelineSpec
from ganpipe.data.prepared import PreparedData, load_prepared
from ganpipe.errors import GanpipeError
from ganpipe.evaluator import predict
from ganpipe.metrics.fid import classifier_features, classifier_fid, classifier_inception_score, inception_metrics
from ganpipe.metrics.fidelity import balanced_subsets, fidelity_metrics
from ganpipe.metrics.modes import mode_metrics, nearest_centres
from ganpipe.paths import ProjectPaths
from ganpipe.sampling import generate, sampling_net, save_picture, translate
from ganpipe.stages.common import read_json, write_json
from ganpipe.stages.evaluator import load_evaluator, needs_rotation_evaluator


def class_histogram_metrics(predicted: torch.Tensor, num_classes: int) -> dict[str, float]:
    """How evenly samples spread over classes: classes hit and KL(histogram || uniform)."""
    counts = torch.bincount(predicted, minlength=num_classes).double()
    p = counts / counts.sum()
    nonzero = p > 0
    kl = float((p[nonzero] * (p[nonzero] * num_classes).log()).sum())
    return {"classes_covered": int(nonzero.sum()), "class_kl": kl}


def image_metrics(config: Config, pipeline: PipelineSpec, paths: ProjectPaths, data: PreparedData,
                  fake: torch.Tensor, asked_labels: torch.Tensor | None = None) -> dict[str, Any]:
    dataset, seed = pipeline.dataset, config.eval.seed
    classifier = load_evaluator(paths, dataset)
    real_test, real_train = torch.from_numpy(data.test_x), torch.from_numpy(data.train_x)
    is_mean, is_std = classifier_inception_score(classifier, fake, seed=seed)
    metrics: dict[str, Any] = {
        f"fid_{dataset}": classifier_fid(classifier, real_test, fake),
        f"fid_{dataset}_floor": classifier_fid(classifier, real_test, real_train),
        f"is_{dataset}": is_mean,
        f"is_{dataset}_std": is_std,
        f"is_{dataset}_real": classifier_inception_score(classifier, real_test, seed=seed)[0],
        "evaluator_test_accuracy": read_json(paths.evaluator_metrics(dataset), "evaluator")["evaluator_test_accuracy"],
    }
    real_features, fake_features = balanced_subsets(
        classifier_features(classifier, real_test), classifier_features(classifier, fake), seed=seed)
    metrics.update(fidelity_metrics(real_features, fake_features))
    predicted = predict(classifier, fake)
    coverage = class_histogram_metrics(predicted, classifier.num_classes)
    if asked_labels is not None:  # conditional: does each sample show the class it was asked for?
        metrics["class_accuracy"] = float((predicted == asked_labels).double().mean())
    if data.info.get("kind") == "stacked":  # classes are the modes: name them as on the mixtures
        coverage = {"modes_covered": coverage["classes_covered"], "modes_total": classifier.num_classes,
                    "mode_kl": coverage["class_kl"]}
    metrics.update(coverage)
    if needs_rotation_evaluator(data):  # its classes are quarter turns: IS and class coverage say nothing
        for key in (f"is_{dataset}", f"is_{dataset}_std", f"is_{dataset}_real", "classes_covered", "class_kl"):
            metrics.pop(key, None)
    if config.eval.inception_weights:
        metrics.update(inception_metrics(Path(config.eval.inception_weights), real_test, fake, seed=seed))
    return metrics


def translation_metrics(pipeline: PipelineSpec, paths: ProjectPaths, data: PreparedData,
                        outputs: torch.Tensor) -> dict[str, Any]:
    """Outputs for the test A images against the true B images, and two trivial baselines."""
    from ganpipe.metrics.translation import paired_scores

    truth, inputs = torch.from_numpy(data.test_x), torch.from_numpy(data.test_a)
    metrics: dict[str, Any] = {}
    paired = data.info.get("paired_test", True)
    if paired:
        mean_b = torch.from_numpy(data.train_x).mean(dim=0, keepdim=True).expand_as(truth)
        metrics.update(paired_scores(outputs, truth))
        for baseline, guess in (("identity", inputs), ("mean_b", mean_b)):
            if guess.shape == truth.shape:
                metrics.update({f"{key}_{baseline}": value for key, value in paired_scores(guess, truth).items()})
    else:
        metrics["scoring"] = data.info.get("unscored_why", "no true pairs in the test split: FID only")
    classifier = load_evaluator(paths, pipeline.dataset)
    metrics[f"fid_{pipeline.dataset}"] = classifier_fid(classifier, truth, outputs)
    metrics[f"fid_{pipeline.dataset}_floor"] = classifier_fid(classifier, truth, torch.from_numpy(data.train_x))
    metrics["num_test_pairs" if paired else "num_test_inputs"] = len(inputs)
    return metrics


def evaluate(config: Config, pipeline: PipelineSpec, paths: ProjectPaths) -> dict[str, Any]:
    from tqdm import tqdm

    checkpoint = load_checkpoint(paths.checkpoint(pipeline.name))
    variant, nets = variant_from_checkpoint(checkpoint)
    data = load_prepared(paths.prepared(pipeline.dataset))
    if variant.translates:
        if data.test_a is None:
            raise GanpipeError(f"{pipeline.name}: {variant.name} translates A to B, but dataset "
                               f"'{pipeline.dataset}' has no A images")
        outputs = translate(variant, sampling_net(nets), torch.from_numpy(data.test_a), config.eval.batch_size)
        metrics = translation_metrics(pipeline, paths, data, outputs)
        metrics["step"] = int(checkpoint["step"])
        write_json(paths.metrics(pipeline.name), metrics)
        # Rows: A | output | true B (for unpaired test images, B images of the test split).
        shown = min(10, len(outputs), len(data.test_x))
        rows = [torch.from_numpy(data.test_a[:shown]), outputs[:shown], torch.from_numpy(data.test_x[:shown])]
        channels = max(row.shape[1] for row in rows)  # a grey A beside colour B is shown in colour
        strip = torch.cat([row.expand(-1, channels, -1, -1) for row in rows])
        save_picture(strip, paths.eval_dir(pipeline.name) / "samples.png", nrow=shown)
        return metrics
    progress = tqdm(total=2, desc=f"evaluate {pipeline.name}", disable=not config.train.progress)
    # A conditional model is asked for every class in turn, as evenly as the real split holds them.
    asked = torch.arange(config.eval.num_samples) % variant.data.num_classes if variant.conditional else None
    fake = generate(variant, sampling_net(nets), config.eval.num_samples, config.eval.seed, config.eval.batch_size, labels=asked)
    progress.update()
    if data.info.get("kind") == "mixture":
        centres = np.asarray(data.info["centres"])
        metrics: dict[str, Any] = mode_metrics(fake.numpy(), centres, data.info["sigma"])
        if asked is not None:
            nearest, _ = nearest_centres(fake.numpy(), centres)
            metrics["class_accuracy"] = float((nearest == asked.numpy()).mean())
    else:
        centres = None
        metrics = image_metrics(config, pipeline, paths, data, fake, asked)
    metrics.update({"num_samples": config.eval.num_samples, "step": int(checkpoint["step"])})
    progress.update()
    progress.close()
    write_json(paths.metrics(pipeline.name), metrics)
    save_picture(fake[: 100 if data.is_image else len(fake)], paths.eval_dir(pipeline.name) / "samples.png", centres)
    return metrics
