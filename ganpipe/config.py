"""Typed, validated configuration: each section of params.yaml maps onto one model here.

An unknown section or key, a wrong type, an out-of-range value or broken YAML raises
`ConfigError` with a one-line message naming the key (or file and line) and the value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ganpipe.errors import ConfigError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunConfig(Section):
    """What `ganpipe run` does when --variant/--dataset are not given."""

    variant: str = "dcgan"
    dataset: str = "digits"


class DataConfig(Section):
    image_size: int = Field(32, ge=8, le=256)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    split_seed: int = 0

    @model_validator(mode="after")
    def _power_of_two(self) -> DataConfig:
        if self.image_size & (self.image_size - 1):
            raise ValueError(f"data.image_size={self.image_size}: must be a power of two")
        return self


class ModelConfig(Section):
    z_dim: int = Field(64, ge=1)
    g_width: int = Field(32, ge=1, description="channels of G's last hidden layer")
    d_width: int = Field(32, ge=1, description="channels of D's first layer")


class TrainConfig(Section):
    steps: int = Field(2000, ge=1)
    batch_size: int = Field(64, ge=1, description="global batch, split across workers")
    lr: float = Field(2e-4, gt=0)
    lr_d: float | None = Field(None, gt=0, description="D's learning rate; defaults to lr")
    beta1: float = Field(0.5, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    seed: int = 0
    num_workers: int = Field(2, ge=1)
    use_gpu: bool = False
    checkpoint_every: int = Field(500, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    log_every: int = Field(1, ge=1)
    progress: bool = True

    @model_validator(mode="after")
    def _batch_divides(self) -> TrainConfig:
        if self.batch_size % self.num_workers:
            raise ValueError(
                f"train.batch_size={self.batch_size}: must be divisible by "
                f"train.num_workers={self.num_workers}"
            )
        return self

    @property
    def d_learning_rate(self) -> float:
        return self.lr if self.lr_d is None else self.lr_d


class EvaluatorConfig(Section):
    """The small classifier whose features FID/IS use when no Inception weights are given."""

    epochs: int = Field(15, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    seed: int = 0


class EvalConfig(Section):
    num_samples: int = Field(2000, ge=2)
    batch_size: int = Field(250, ge=1)
    seed: int = 1234
    inception_weights: str | None = None
    evaluator: EvaluatorConfig = EvaluatorConfig()


class RegistryConfig(Section):
    enabled: bool = True
    name_template: str = "ganpipe-{variant}-{dataset}"
    champion_alias: str = "champion"
    metric: str = "fid"
    direction: Literal["minimize", "maximize"] = "minimize"
    experiment: str = "ganpipe"


class PipelineSpec(Section):
    variant: str
    dataset: str

    @property
    def name(self) -> str:
        return f"{self.variant}-{self.dataset}"


class Config(Section):
    run: RunConfig = RunConfig()
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()
    registry: RegistryConfig = RegistryConfig()
    datasets: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {"digits": {}},
        description="datasets `dvc repro` prepares (keys of this mapping)",
    )
    pipelines: dict[str, PipelineSpec] = Field(
        default_factory=lambda: {"dcgan-digits": PipelineSpec(variant="dcgan", dataset="digits")},
        description="pipelines `dvc repro` keeps reproducible",
    )


def _format_validation_error(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key '{key}'"
    message = first["msg"].removeprefix("Value error, ")
    if message.startswith(f"{key}="):
        return f"{source}: {message}"
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
    """Apply one `--set section.key=value` to the raw params mapping (value parsed as YAML)."""
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


def load_config(path: str | Path = "params.yaml", overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read, override and validate a params file."""
    path = Path(path)
    raw = _read_yaml(path)
    for assignment in overrides:
        apply_override(raw, assignment)
    source = f"{path}" + (" (with --set)" if overrides else "")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source)) from None


def config_to_dict(config: Section) -> dict[str, Any]:
    """Plain JSON-compatible dict (for checkpoints, MLflow params and manifests)."""
    return config.model_dump(mode="json")
