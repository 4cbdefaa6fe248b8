"""The pipeline as a Prefect flow: one task per stage, calling the same functions as dvc.yaml.

Runs against Prefect's ephemeral API unless PREFECT_API_URL names a server. When the
effective params are exactly params.yaml's, each stage is recorded in dvc.lock afterwards,
so `dvc status` agrees with what the flow produced.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from ganpipe import stages
from ganpipe.config import Config, PipelineSpec, load_config
from ganpipe.errors import GanpipeError
from ganpipe.integrations.dvc import commit_stage
from ganpipe.paths import ProjectPaths


def check_prefect_api(timeout_s: float = 5.0) -> None:
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout_s) as response:
            response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise GanpipeError(f"PREFECT_API_URL={url}: Prefect server unreachable ({getattr(exc, 'reason', exc)})") from None


def _stage_task(name: str):
    @task(name=name, cache_policy=NO_CACHE)
    def run_stage(config: Config, target: Any, root: str, dvc_stage: str | None) -> dict[str, Any]:
        paths = ProjectPaths(Path(root))
        result = getattr(stages, name)(config, target, paths)
        if dvc_stage and commit_stage(paths.root, dvc_stage):
            get_run_logger().info("recorded %s in dvc.lock", dvc_stage)
        return result

    return run_stage


@task(name="prepare", cache_policy=NO_CACHE)
def prepare_task(config: Config, dataset: str, root: str, dvc_stage: str | None, data_dir: str | None = None) -> dict[str, Any]:
    paths = ProjectPaths(Path(root))
    result = stages.prepare(config, dataset, paths, data_dir)
    if dvc_stage and commit_stage(paths.root, dvc_stage):
        get_run_logger().info("recorded %s in dvc.lock", dvc_stage)
    return result


evaluator_task = _stage_task("train_evaluator")
train_task = _stage_task("train")
evaluate_task = _stage_task("evaluate")
register_task = _stage_task("register")


@flow(name="ganpipe-pipeline", flow_run_name="{variant}-{dataset}")
def pipeline_flow(variant: str, dataset: str, params_file: str = "params.yaml", overrides: list[str] | None = None,
                  root: str = ".", data_dir: str | None = None) -> dict[str, Any]:
    """prepare -> train evaluator -> train -> evaluate -> register, for one (variant, dataset);
    with data_dir, the dataset is that folder of images, prepared under the name `dataset`."""
    overrides = overrides or []
    pipeline = PipelineSpec(variant=variant, dataset=dataset)
    config = load_config(params_file, overrides, pipeline)
    root = str(Path(root).resolve())
    # dvc.lock describes params.yaml; runs with other params leave it alone.
    same_as_lock = not overrides and Path(params_file).resolve() == Path(root, "params.yaml").resolve()
    if not same_as_lock:
        get_run_logger().info("params differ from params.yaml: dvc.lock will not be updated")

    def dvc(stage: str) -> str | None:
        return stage if same_as_lock else None

    prepare_task(config, dataset, root, dvc(f"prepare@{dataset}"), data_dir)
    evaluator_task(config, dataset, root, dvc(f"evaluator@{dataset}"))
    train_task(config, pipeline, root, dvc(f"train@{pipeline.name}"))
    metrics = evaluate_task(config, pipeline, root, dvc(f"evaluate@{pipeline.name}"))
    registration = register_task(config, pipeline, root, dvc(f"register@{pipeline.name}"))
    return {"pipeline": pipeline.name, "metrics": metrics, "registration": registration}


def run_pipeline(variant: str, dataset: str, params_file: str, overrides: list[str], root: str,
                 data_dir: str | None = None) -> dict[str, Any]:
    check_prefect_api()
    return pipeline_flow(variant, dataset, params_file, overrides, root, data_dir)
