"""Stage 3: train the GAN with Ray Train; the checkpoint lands in outputs/<pipeline>/train.

With eval.every > 0 the primary metric is probed during training: `checkpoint.pt` is then the
best probed step (what evaluate scores and register ships), `last.pt` the final step, and the
probe curve goes to metrics/probe/<pipeline>.csv.
"""

from __future__ import annotations

from typing import Any

import torch

from ganpipe.config import Config, PipelineSpec, config_to_dict
from ganpipe.data.prepared import load_prepared
from ganpipe.distributed import BEST_FILE, train_distributed
from ganpipe.metrics.probe import Probe, build_probe
from ganpipe.paths import ProjectPaths
from ganpipe.stages.evaluator import load_evaluator
from ganpipe.stats import read_loss_log, write_loss_csv
from ganpipe.variants import get_variant


def train(config: Config, pipeline: PipelineSpec, paths: ProjectPaths) -> dict[str, Any]:
    variant = get_variant(pipeline.variant)  # fail on an unknown variant before Ray starts
    data = load_prepared(paths.prepared(pipeline.dataset))
    loop_config = {
        "config": config_to_dict(config),
        "pipeline": config_to_dict(pipeline),
        "sample_shape": list(data.sample_shape),
        "num_classes": data.num_classes,
        "input_shape": None if data.train_a is None else list(data.train_a.shape[1:]),
    }
    if config.eval.every:
        loop_config["probe"] = training_probe(config, pipeline, paths, data, variant)
    checkpoint = train_distributed(
        loop_config,
        variant.training_arrays(data),
        run_name=pipeline.name,
        storage=config.train.storage_path or paths.ray_storage,
        out_dir=paths.train_dir(pipeline.name),
    )
    write_loss_csv(read_loss_log(paths.losses(pipeline.name)), paths.loss_curve(pipeline.name))
    run = torch.load(checkpoint, map_location="cpu", weights_only=True).get("run", {})
    summary: dict[str, Any] = {"checkpoint": str(checkpoint), "steps": config.train.steps,
                               "num_workers": run.get("world_size"), "worker_node_ids": run.get("node_ids"),
                               "resumed_from": run.get("resumed_from", []), "images_per_s": run.get("images_per_s")}
    last = paths.last_checkpoint(pipeline.name)
    last.unlink(missing_ok=True)
    curve: list[dict[str, float]] = []
    if config.eval.every:
        probed = torch.load(checkpoint, map_location="cpu", weights_only=True)["probe"]
        curve = probed["curve"]
        best = checkpoint.with_name(BEST_FILE)
        if best.is_file():
            checkpoint.replace(last)
            best.replace(checkpoint)
        summary.update(best_step=probed["best_step"], best_score=probed["best_score"])
    # The losses' CSV shape; a header only without probes (dvc.yaml declares the plot either way).
    write_loss_csv(curve, paths.probe_curve(pipeline.name))
    return summary


def training_probe(config: Config, pipeline: PipelineSpec, paths: ProjectPaths, data, variant) -> Probe:
    """The registry's primary metric on eval.every_samples test rows (the evaluator's FID for images)."""
    from ganpipe.integrations.registry import GateRule

    true_pairs = data.info.get("paired_test", True)
    rule = GateRule.from_config(config.registry, pipeline.dataset, pipeline.variant, true_pairs)
    needs_classifier = data.is_image and not (variant.translates and true_pairs)
    classifier = load_evaluator(paths, pipeline.dataset) if needs_classifier else None
    return build_probe(data, classifier, rule.metric, rule.direction, config.eval.every_samples, config.eval.seed,
                       variant.translates)
