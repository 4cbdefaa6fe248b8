"""Stage 5: one MLflow run with params, loss curves, metrics and samples; register G as the
challenger; apply the champion gate (ganpipe/integrations/registry.py)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import yaml

from ganpipe import lineage, tracking
from ganpipe.checkpoint import load_checkpoint, variant_from_checkpoint
from ganpipe.config import Config, PipelineSpec, config_to_dict, load_config
from ganpipe.errors import GanpipeError
from ganpipe.integrations import registry
from ganpipe.integrations.dvc import tracked_md5
from ganpipe.integrations.registry import GateRule
from ganpipe.paths import ProjectPaths
from ganpipe.stages.common import read_json, write_json
from ganpipe.stats import read_curve_csv, read_loss_log


def model_name(config: Config, pipeline: PipelineSpec) -> str:
    return config.registry.name_template.format(variant=pipeline.variant, dataset=pipeline.dataset)


def dvc_data_hash(paths: ProjectPaths, dataset: str) -> str | None:
    """The md5 DVC recorded for the prepared dataset: in its .dvc file (a --data-dir dataset)
    or in dvc.lock (a built-in one, once DVC ran or committed its stage)."""
    dvc_file = paths.prepared(dataset).with_name(f"{dataset}.dvc")
    if dvc_file.is_file():
        return tracked_md5(dvc_file)
    lock = paths.root / "dvc.lock"
    if not lock.is_file():
        return None
    stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
    wanted = str(paths.prepared(dataset).relative_to(paths.root))
    for stage in stages.values():
        for out in stage.get("outs", []):
            if out.get("path") == wanted:
                return out.get("md5")
    return None


def current_flow_run_id() -> str | None:
    """The Prefect flow run this stage runs in, if any (prefect is not imported for dvc's stages)."""
    if "prefect" not in sys.modules:
        return None
    from prefect.runtime import flow_run

    return flow_run.get_id()


def lineage_of(checkpoint: dict[str, Any], pipeline: PipelineSpec, paths: ProjectPaths) -> dict[str, str]:
    """lineage.* tags: commit, data hashes, params hash and the --set overrides against params.yaml."""
    trained_with = checkpoint["config"]
    params_file = paths.root / "params.yaml"
    baseline = config_to_dict(load_config(params_file, [], pipeline)) if params_file.is_file() else {}
    manifest = paths.prepared(pipeline.dataset) / "manifest.json"
    return lineage.lineage_tags(
        commit=tracking.git_commit(paths.root), variant=pipeline.variant, dataset=pipeline.dataset,
        data_md5=dvc_data_hash(paths, pipeline.dataset), manifest_sha256=hashlib.sha256(manifest.read_bytes()).hexdigest(),
        config=trained_with, overrides=lineage.overrides_against(trained_with, baseline), flow_run_id=current_flow_run_id(),
    )


def register(config: Config, pipeline: PipelineSpec, paths: ProjectPaths) -> dict[str, Any]:
    import mlflow

    from ganpipe.integrations import serving  # imports mlflow: kept off every other command's start-up

    if not config.registry.enabled:
        summary = {"model_name": None, "skipped": "registry.enabled is false"}
        write_json(paths.registration(pipeline.name), summary)
        return summary
    metrics = read_json(paths.metrics(pipeline.name), "evaluate")
    checkpoint_path = paths.checkpoint(pipeline.name)
    checkpoint = load_checkpoint(checkpoint_path)
    variant, _ = variant_from_checkpoint(checkpoint)
    name = model_name(config, pipeline)
    manifest = read_json(paths.prepared(pipeline.dataset) / "manifest.json", f"prepare --dataset {pipeline.dataset}")
    true_pairs = manifest.get("info", {}).get("paired_test", True)
    rule = GateRule.from_config(config.registry, pipeline.dataset, pipeline.variant, true_pairs)
    metric = rule.metric
    if metric not in metrics:
        raise GanpipeError(f"registry.metric={config.registry.metric!r}: no metric '{metric}' in {paths.metrics(pipeline.name)}")

    client = tracking.connect(paths.root)
    experiment_id = tracking.ensure_experiment(client, config.registry.experiment, paths.root)
    origin = lineage_of(checkpoint, pipeline, paths)
    tags = {"ganpipe.pipeline": pipeline.name, "ganpipe.variant": pipeline.variant, "ganpipe.dataset": pipeline.dataset,
            **origin}
    with mlflow.start_run(experiment_id=experiment_id, run_name=pipeline.name, tags=tags) as run:
        params = dict(tracking.flatten("", checkpoint["config"]))
        params.update({"pipeline.variant": pipeline.variant, "pipeline.dataset": pipeline.dataset})
        for start in range(0, len(params), 100):
            mlflow.log_params(dict(list(params.items())[start : start + 100]))
        tracking.log_curves(client, run.info.run_id, read_loss_log(paths.losses(pipeline.name)))
        probes = read_curve_csv(paths.probe_curve(pipeline.name)) if paths.probe_curve(pipeline.name).is_file() else []
        if probes:  # the primary metric over steps (eval.every)
            tracking.log_curves(client, run.info.run_id, probes, prefix="probe/")
            mlflow.log_artifact(str(paths.probe_curve(pipeline.name)), "eval")
        mlflow.set_tag("ganpipe.step", str(checkpoint["step"]))
        mlflow.log_metrics({key: float(value) for key, value in metrics.items() if isinstance(value, (int, float))})
        mlflow.log_artifact(str(paths.eval_dir(pipeline.name) / "samples.png"), "eval")
        mlflow.log_artifact(str(paths.metrics(pipeline.name)), "eval")

        info = serving.log_model(checkpoint_path, variant, tracking.MODEL_ARTIFACT, name)
        version = str(info.registered_model_version)
        for key, value in origin.items():
            client.set_model_version_tag(name, version, key, value)
        client.set_model_version_tag(name, version, f"metric.{metric}", str(metrics[metric]))
        decision = registry.register_challenger(client, name, version, rule)
        mlflow.set_tags({f"gate.{key}": str(value) for key, value in decision.items()})
        if decision["champion_value"] is not None:
            mlflow.log_metric(f"gate/{config.registry.champion_alias}_{metric}", decision["champion_value"])

    summary = {
        "model_name": name,
        "version": version,
        "run_id": run.info.run_id,
        "experiment_id": experiment_id,
        "tracking_uri": tracking.tracking_uri(paths.root),
        "gate": decision,
        "variant": variant.name,
    }
    write_json(paths.registration(pipeline.name), summary)
    return summary
