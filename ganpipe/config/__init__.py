"""Typed, validated configuration: the schema of params.yaml and how a file becomes a `Config`."""

from ganpipe.config.loading import (
    OVERRIDABLE,
    apply_override,
    config_to_dict,
    deep_merge,
    load_config,
    recommended_variant,
)
from ganpipe.config.schema import (
    Config,
    DataConfig,
    EvalConfig,
    EvaluatorConfig,
    GuardConfig,
    ModelConfig,
    PipelineSpec,
    RegistryConfig,
    ReproduceConfig,
    RunConfig,
    Section,
    TrainConfig,
)

__all__ = [
    "OVERRIDABLE", "Config", "DataConfig", "EvalConfig", "EvaluatorConfig", "GuardConfig", "ModelConfig",
    "PipelineSpec", "RegistryConfig", "ReproduceConfig", "RunConfig", "Section", "TrainConfig",
    "apply_override", "config_to_dict", "deep_merge", "load_config", "recommended_variant",
]
