"""Where a registered version came from, and the commands that make it again.

The register stage writes `lineage.*` tags on the MLflow run and the model version;
`ganpipe lineage REF` reads them back. Pure functions only: MLflow stays in the callers.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from typing import Any

from ganpipe.config import OVERRIDABLE

PREFIX = "lineage."


def params_sha256(config: dict[str, Any]) -> str:
    """A hash of the effective settings (the sections that shape data, model, training, scores)."""
    effective = {section: config.get(section) for section in OVERRIDABLE}
    return hashlib.sha256(json.dumps(effective, sort_keys=True).encode()).hexdigest()


def _leaves(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        leaves: dict[str, Any] = {}
        for key, child in value.items():
            leaves.update(_leaves(f"{prefix}.{key}", child))
        return leaves
    return {prefix: value}


def overrides_against(effective: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """The `--set key=value` assignments that turn `baseline` (params.yaml's config for the same
    pipeline) into `effective` (what the version was trained with)."""
    wanted: dict[str, Any] = {}
    have: dict[str, Any] = {}
    for section in OVERRIDABLE:
        wanted.update(_leaves(section, effective.get(section, {})))
        have.update(_leaves(section, baseline.get(section, {})))
    return [f"{key}={json.dumps(value)}" for key, value in sorted(wanted.items()) if have.get(key, object()) != value]


def lineage_tags(*, commit: str, variant: str, dataset: str, data_md5: str | None, manifest_sha256: str,
                 config: dict[str, Any], overrides: list[str], flow_run_id: str | None) -> dict[str, str]:
    tags = {
        "git_commit": commit,
        "variant": variant,
        "dataset": dataset,
        "data_manifest_sha256": manifest_sha256,
        "params_sha256": params_sha256(config),
        "overrides": json.dumps(overrides),
    }
    if data_md5:
        tags["data_md5"] = data_md5
    if flow_run_id:
        tags["prefect_flow_run_id"] = flow_run_id
    return {PREFIX + key: value for key, value in tags.items()}


def read_tags(tags: dict[str, str]) -> dict[str, Any]:
    """lineage.* tags back as a record (overrides as a list)."""
    record: dict[str, Any] = {key[len(PREFIX):]: value for key, value in tags.items() if key.startswith(PREFIX)}
    if "overrides" in record:
        record["overrides"] = json.loads(record["overrides"])
    return record


def reproduce_commands(record: dict[str, Any], built_in_datasets: frozenset[str] | set[str]) -> list[str]:
    """Shell commands that, in a clone of the project, train and score this version again."""
    commands = []
    commit = record.get("git_commit", "unknown")
    if commit not in ("unknown", ""):
        commands.append(f"git checkout {commit.removesuffix('-dirty')}")
    dataset = record["dataset"]
    if dataset not in built_in_datasets:  # a --data-dir dataset, tracked by its .dvc file
        commands.append(f"dvc pull data/prepared/{dataset}.dvc")
    run = ["ganpipe", "run", "--variant", record["variant"], "--dataset", dataset]
    for assignment in record.get("overrides", []):
        run += ["--set", assignment]
    commands.append(shlex.join(run))
    return commands
