"""Loading params.yaml: YAML, per-variant and per-dataset layering, `--set` overrides.

An unknown section or key, a wrong type, an out-of-range value or broken YAML raises
`ConfigError` with a one-line message naming the key (or file and line) and the value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ganpipe.config.schema import Config, PipelineSpec, Section
from ganpipe.errors import ConfigError

# Sections that `variants.<name>` and `datasets.<name>` may override.
OVERRIDABLE = ("data", "model", "train", "eval", "registry")


def _format_validation_error(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key '{key}'"
    if first["type"] == "missing":
        return f"{source}: {key} is required"
    message = first["msg"].removeprefix("Value error, ")
    if "=" in message.split(":")[0]:
        return f"{source}: {message}"
    if isinstance(first.get("input"), dict):  # a section-level check: its message names the key
        return f"{source}: {key + '.' if key else ''}{message}"
    return f"{source}: {key}={first.get('input')!r}: {message}"


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: params file not found")
    try:
        loaded = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: broken YAML: {problem}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(loaded).__name__}")
    return loaded


def apply_override(raw: dict[str, Any], assignment: str) -> None:
    """Apply one `--set section.key=value` to a raw params mapping (value parsed as YAML)."""
    key, sep, text = assignment.partition("=")
    parts = key.strip().split(".")
    if not sep or len(parts) < 2 or not all(parts):
        raise ConfigError(f"--set {assignment!r}: expected section.key=value")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {assignment!r}: '{part}' is not a section")
        node = child
    node[parts[-1]] = value


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _check_override_block(block: Any, where: str, source: str) -> dict[str, Any]:
    """Overrides in `variants.<v>` / `datasets.<d>` may only name keys the sections have."""
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise ConfigError(f"{source}: {where}: expected a mapping, got {block!r}")
    fields = Config.model_fields
    for section, values in block.items():
        if section == "variant" and where.endswith(".recommended"):
            continue
        if section == "recommended" and where.startswith("datasets.") and "." not in where[len("datasets."):]:
            _check_override_block(values, f"{where}.recommended", source)
            continue
        if section not in OVERRIDABLE:
            raise ConfigError(f"{source}: unknown key '{where}.{section}'")
        model = fields[section].annotation
        for key in values or {}:
            if key not in model.model_fields:
                raise ConfigError(f"{source}: unknown key '{where}.{section}.{key}'")
    return block


def recommended_variant(config: Config, dataset: str) -> str | None:
    """The variant `datasets.<dataset>.recommended` names, if any."""
    return ((config.datasets.get(dataset) or {}).get("recommended") or {}).get("variant")


def load_config(
    path: str | Path = "params.yaml",
    overrides: list[str] | tuple[str, ...] = (),
    pipeline: PipelineSpec | None = None,
) -> Config:
    """Read and validate a params file.

    With a pipeline, the effective config is: the sections, then `variants.<variant>`, then
    `datasets.<dataset>`, then `datasets.<dataset>.recommended` when it names this variant
    (the dataset's best-known configuration), then the `--set` overrides.
    """
    path = Path(path)
    raw = _read_yaml(path)
    set_tree: dict[str, Any] = {}
    for assignment in overrides:
        apply_override(set_tree, assignment)
    source = f"{path}" + (" (with --set)" if overrides else "")
    raw = deep_merge(raw, {k: v for k, v in set_tree.items() if k not in OVERRIDABLE})
    if pipeline is not None:
        variant_block = _check_override_block((raw.get("variants") or {}).get(pipeline.variant), f"variants.{pipeline.variant}", source)
        dataset_block = _check_override_block((raw.get("datasets") or {}).get(pipeline.dataset), f"datasets.{pipeline.dataset}", source)
        recommended = dataset_block.get("recommended") or {}
        if recommended.get("variant") != pipeline.variant:
            recommended = {}
        for block in (variant_block, dataset_block, recommended):
            raw = deep_merge(raw, {k: v for k, v in block.items() if k in OVERRIDABLE})
    raw = deep_merge(raw, {k: v for k, v in set_tree.items() if k in OVERRIDABLE})
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source)) from None


def config_to_dict(config: Section) -> dict[str, Any]:
    """Plain JSON-compatible dict (for checkpoints, MLflow params and manifests)."""
    return config.model_dump(mode="json")
