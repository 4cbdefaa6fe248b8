"""The pipeline as a Prefect flow: one task per stage, calling the same functions as dvc.yaml.

Runs against Prefect's ephemeral API unless PREFECT_API_URL names a server. When the
effective params are exactly params.yaml's, the flow delegates "has anything changed?" to DVC:
a stage that `dvc status` calls up to date (same params, data and code as dvc.lock records) is
skipped, and each stage that ran is recorded in dvc.lock afterwards, so `dvc status` and
`dvc repro` agree with what the flow produced. A stage that failed because a server did not
answer is retried with backoff (run.retries); any other failure is final.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from flows.api import check_prefect_api, wait_for_local_api
from ganpipe import stages
from ganpipe.config import Config, PipelineSpec, load_config
from ganpipe.distributed import ray_cpus_needed
from ganpipe.integrations.ray_cluster import start_ray_in_background
from ganpipe.errors import GanpipeError, ServiceUnavailable
from ganpipe.integrations.dvc import commit_stage, stage_is_current
from ganpipe.paths import ProjectPaths
from ganpipe.stages.common import read_json

# dvc.lock and DVC's repo lock take one writer at a time (`ganpipe run --all` may run pipelines in threads).
DVC_LOCK = threading.Lock()


class StageFailed(GanpipeError):
    def __init__(self, pipeline: str, stage: str, error: BaseException) -> None:
        first_line = (str(error).splitlines() or [""])[0][:300]
        super().__init__(f"{pipeline}: stage {stage} failed: {type(error).__name__}: {first_line}")


def is_transient(task, task_run, state) -> bool:
    """Retry only what another attempt can fix: a server that did not answer."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception:
        return False
    return isinstance(error, (ServiceUnavailable, ConnectionError))


def previous_result(stage: str, target: Any, paths: ProjectPaths) -> dict[str, Any]:
    """What a skipped stage returned last time (its outputs are what dvc.lock records)."""
    if stage == "evaluate":
        return read_json(paths.metrics(target.name), "evaluate")
    if stage == "register" and paths.registration(target.name).is_file():
        return read_json(paths.registration(target.name), "register")
    return {}


def _stage_task(name: str):
    @task(name=name, cache_policy=NO_CACHE, retry_condition_fn=is_transient)
    def run_stage(config: Config, target: Any, root: str, dvc_stage: str | None, data_dir: str | None = None) -> dict[str, Any]:
        paths = ProjectPaths(Path(root))
        logger = get_run_logger()
        if dvc_stage:
            with DVC_LOCK:
                current = stage_is_current(paths.root, dvc_stage)
            if current:
                logger.info("%s: unchanged since dvc.lock (params, data and code): skipped", dvc_stage)
                return {**previous_result(name, target, paths), "unchanged": True}
        if name in ("prepare", "train_evaluator"):
            # A stage upstream of train runs, so train will: start Ray now, while this stage works.
            start_ray_in_background(ray_cpus_needed(config.train.model_dump()))
        if name == "prepare":
            result = stages.prepare(config, target, paths, data_dir)
        else:
            result = getattr(stages, name)(config, target, paths)
        if dvc_stage:
            with DVC_LOCK:
                if commit_stage(paths.root, dvc_stage):
                    logger.info("recorded %s in dvc.lock", dvc_stage)
        return result

    return run_stage


prepare_task = _stage_task("prepare")
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
    logger = get_run_logger()
    # dvc.lock describes params.yaml; runs with other params neither skip by it nor update it.
    same_as_lock = not overrides and Path(params_file).resolve() == Path(root, "params.yaml").resolve()
    if not same_as_lock:
        logger.info("params differ from params.yaml: every stage runs, and dvc.lock will not be updated")
    retry = {"retries": config.run.retries, "retry_delay_seconds": exponential_backoff(config.run.retry_delay_s)}

    def dvc(stage: str) -> str | None:
        return stage if same_as_lock else None

    steps = [
        ("prepare", prepare_task, (config, dataset, root, dvc(f"prepare@{dataset}"), data_dir)),
        ("evaluator", evaluator_task, (config, dataset, root, dvc(f"evaluator@{dataset}"))),
        ("train", train_task, (config, pipeline, root, dvc(f"train@{pipeline.name}"))),
        ("evaluate", evaluate_task, (config, pipeline, root, dvc(f"evaluate@{pipeline.name}"))),
        ("register", register_task, (config, pipeline, root, dvc(f"register@{pipeline.name}"))),
    ]
    results: dict[str, dict[str, Any]] = {}
    seconds: dict[str, float] = {}
    for name, stage_task, arguments in steps:
        started = time.perf_counter()
        try:
            results[name] = stage_task.with_options(**retry)(*arguments)
        except Exception as error:
            raise StageFailed(pipeline.name, name, error) from error
        seconds[name] = round(time.perf_counter() - started, 2)
    skipped = [name for name, result in results.items() if result.get("unchanged")]
    training = {key: results["train"][key] for key in ("steps", "num_workers", "images_per_s", "resumed_from")
                if key in results["train"]}
    summary = {"pipeline": pipeline.name, "metrics": results["evaluate"], "registration": results["register"],
               "training": training, "skipped": skipped, "ran": [name for name in results if name not in skipped],
               "stage_seconds": seconds}
    publish_report(pipeline.name, summary)
    return summary


def _tracking_links(registration: dict[str, Any]) -> tuple[str, str]:
    """Markdown for the MLflow run and model version: links on a tracking server, ids otherwise."""
    uri, run_id = registration.get("tracking_uri", ""), registration.get("run_id", "")
    name, version = registration.get("model_name"), registration.get("version")
    if uri.startswith(("http://", "https://")):
        base = uri.rstrip("/")
        run = f"[{run_id[:8]}]({base}/#/experiments/{registration.get('experiment_id', '0')}/runs/{run_id})"
        model = f"[{name} v{version}]({base}/#/models/{name}/versions/{version})" if name else "-"
        return run, model
    return f"`{run_id}` (`mlflow ui --backend-store-uri {uri}`)", f"`models:/{name}/{version}`" if name else "-"


def publish_report(pipeline: str, summary: dict[str, Any]) -> None:
    """A Prefect markdown artifact: the metrics and where the run and model version live."""
    import re

    from prefect.artifacts import create_markdown_artifact

    registration = summary["registration"]
    run, model = _tracking_links(registration)
    gate = registration.get("gate", {})
    lines = [f"# {pipeline}", "", f"MLflow run: {run}  ", f"Model version: {model}  ",
             f"Gate: {gate.get('decision', '-')} ({gate.get('reason', '')})  "]
    if summary["skipped"]:
        lines.append(f"Skipped (unchanged since dvc.lock): {', '.join(summary['skipped'])}  ")
    lines += ["", "| metric | value |", "|---|---|"]
    lines += [f"| {key} | {value:.6g} |" for key, value in sorted(summary["metrics"].items())
              if isinstance(value, (int, float)) and not isinstance(value, bool)]
    key = re.sub(r"[^a-z0-9-]+", "-", f"ganpipe-{pipeline}".lower())
    create_markdown_artifact(markdown="\n".join(lines), key=key, description=f"ganpipe {pipeline}: metrics and registry")


def run_pipeline(variant: str, dataset: str, params_file: str, overrides: list[str], root: str,
                 data_dir: str | None = None) -> dict[str, Any]:
    wait_for_local_api()
    check_prefect_api()
    return pipeline_flow(variant, dataset, params_file, overrides, root, data_dir)
