"""Every pipeline of a set in params.yaml as subflows: `ganpipe run --all` and the nightly deployment.

One failing pipeline does not stop the others; the summary lists each outcome, and the flow
fails (the command exits 1) if any pipeline failed. run.concurrency pipelines run at once.
"""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prefect import flow, get_run_logger

from flows.api import check_prefect_api, wait_for_local_api
from flows.pipeline import pipeline_flow
from ganpipe.config import Config, PipelineSpec, load_config
from ganpipe.errors import GanpipeError


def select_pipelines(config: Config, pipeline_set: str | None, only: list[str] | None) -> dict[str, PipelineSpec]:
    """The pipelines to run: a named set of `reproduce_sets` (default: the active `reproduce`),
    narrowed to the names in `only`."""
    if pipeline_set is None:
        pipelines = dict(config.reproduce.pipelines)
    elif pipeline_set in config.reproduce_sets:
        pipelines = dict(config.reproduce_sets[pipeline_set].pipelines)
    else:
        raise GanpipeError(f"--pipeline-set {pipeline_set}: no such set in reproduce_sets "
                           f"(known: {', '.join(sorted(config.reproduce_sets)) or 'none'})")
    if only:
        known = {**{name: spec for named in config.reproduce_sets.values() for name, spec in named.pipelines.items()},
                 **pipelines}
        unknown = [name for name in only if name not in known]
        if unknown:
            raise GanpipeError(f"--only {','.join(unknown)}: no such pipeline in params.yaml "
                               f"(known: {', '.join(sorted(known))})")
        pipelines = {name: known[name] for name in only}
    return pipelines


class PipelinesFailed(GanpipeError):
    def __init__(self, summary: dict[str, Any]) -> None:
        self.summary = summary
        failed = [f"{name} ({outcome['error']})" for name, outcome in summary["pipelines"].items()
                  if outcome["status"] == "failed"]
        super().__init__(f"{len(failed)} of {len(summary['pipelines'])} pipelines failed: {'; '.join(failed)}")


@flow(name="ganpipe-all-pipelines")
def all_pipelines_flow(only: list[str] | None = None, pipeline_set: str | None = None, params_file: str = "params.yaml",
                       overrides: list[str] | None = None, root: str = ".") -> dict[str, Any]:
    logger = get_run_logger()
    config = load_config(params_file, overrides or [])
    pipelines = select_pipelines(config, pipeline_set, only)
    timeout = None if config.run.timeout_minutes is None else config.run.timeout_minutes * 60

    def run_one(name: str, spec: PipelineSpec) -> dict[str, Any]:
        try:
            result = pipeline_flow.with_options(timeout_seconds=timeout)(
                spec.variant, spec.dataset, params_file, overrides or [], root)
        except Exception as error:  # isolate: the other pipelines go on
            logger.error("%s failed: %s", name, error)
            return {"status": "failed", "error": str(error).splitlines()[0][:400] if str(error) else type(error).__name__}
        registration = result["registration"]
        return {"status": "unchanged" if result["ran"] == [] else "completed", "skipped": result["skipped"],
                "model": registration.get("model_name"), "version": registration.get("version"),
                "gate": registration.get("gate", {}).get("decision")}

    # Each pipeline gets a copy of this flow's context, so it runs as its subflow even in a thread.
    with ThreadPoolExecutor(max_workers=config.run.concurrency) as pool:
        futures = {name: pool.submit(contextvars.copy_context().run, run_one, name, spec) for name, spec in pipelines.items()}
        outcomes = {name: future.result() for name, future in futures.items()}
    summary = {"pipelines": outcomes, "failed": [name for name, o in outcomes.items() if o["status"] == "failed"]}
    publish_summary(summary)
    for name, outcome in outcomes.items():
        logger.info("%-40s %s", name, outcome["status"] + (f": {outcome['error']}" if "error" in outcome else ""))
    if summary["failed"]:
        raise PipelinesFailed(summary)
    return summary


def publish_summary(summary: dict[str, Any]) -> None:
    from prefect.artifacts import create_markdown_artifact

    rows = ["| pipeline | outcome | model version | gate |", "|---|---|---|---|"]
    for name, outcome in summary["pipelines"].items():
        model = f"`models:/{outcome['model']}/{outcome['version']}`" if outcome.get("model") else "-"
        status = outcome["status"] + (f": {outcome['error']}" if "error" in outcome else "")
        rows.append(f"| {name} | {status} | {model} | {outcome.get('gate') or '-'} |")
    create_markdown_artifact(markdown="# ganpipe: all pipelines\n\n" + "\n".join(rows), key="ganpipe-all-pipelines",
                             description="each pipeline's outcome")


def run_all(only: list[str] | None, pipeline_set: str | None, params_file: str, overrides: list[str], root: str) -> dict[str, Any]:
    """The summary, whether or not some pipelines failed (the caller decides the exit code)."""
    wait_for_local_api()
    check_prefect_api()
    try:
        return all_pipelines_flow(only, pipeline_set, params_file, overrides, root)
    except PipelinesFailed as failed:
        return failed.summary
