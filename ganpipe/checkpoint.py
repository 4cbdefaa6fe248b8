"""Self-describing checkpoints: variant, config, step, nets, optimizers and RNG state.

Everything is stored as tensors, numbers, strings, lists and dicts, so a checkpoint loads
with `torch.load(weights_only=True)` and a resume continues exactly where it stopped.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganpipe.config import Config, PipelineSpec, config_to_dict
from ganpipe.errors import GanpipeError
from ganpipe.loop import TrainingState, unwrap
from ganpipe.variants import build_variant
from ganpipe.variants.base import DataSpec, Variant

FORMAT = "ganpipe-checkpoint/1"


def make_checkpoint(state: TrainingState, config: Config, pipeline: PipelineSpec) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "pipeline": config_to_dict(pipeline),
        "config": config_to_dict(config),
        "data_spec": data_spec_dict(state.variant.data),
        "step": state.step,
        "nets": {name: unwrap(net).state_dict() for name, net in state.nets.items()},
        "optimizers": {name: opt.state_dict() for name, opt in state.optimizers.items()},
        "variant_state": state.variant.extra_state(),
        "scalers": {name: scaler.state_dict() for name, scaler in state.scalers.items()},
        "rng": {"torch": torch.get_rng_state()},
    }


def data_spec_dict(spec: DataSpec) -> dict[str, Any]:
    return {"shape": list(spec.shape), "num_classes": spec.num_classes,
            "input_shape": None if spec.input_shape is None else list(spec.input_shape)}


def parameter_fingerprint(net: nn.Module) -> str:
    """sha256 of every parameter's bytes: equal exactly when the parameters are identical."""
    digest = hashlib.sha256()
    for name, parameter in unwrap(net).named_parameters():
        digest.update(name.encode())
        digest.update(parameter.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def save_checkpoint(checkpoint: dict[str, Any], path: Path) -> None:
    """Write atomically: a crash mid-write never leaves a truncated checkpoint behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(checkpoint, partial)
    os.replace(partial, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise GanpipeError(f"{path}: checkpoint not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt or foreign file
        raise GanpipeError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise GanpipeError(f"{path}: not a ganpipe checkpoint (expected format {FORMAT})")
    return checkpoint


def restore_state(state: TrainingState, checkpoint: dict[str, Any]) -> None:
    """Load nets, optimizers, step and RNG state from `checkpoint` into `state`."""
    for name, net in state.nets.items():
        unwrap(net).load_state_dict(checkpoint["nets"][name])
    for name, optimizer in state.optimizers.items():
        optimizer.load_state_dict(checkpoint["optimizers"][name])
    state.variant.load_extra_state(checkpoint.get("variant_state", {}))
    if checkpoint.get("scalers"):
        device = next(unwrap(state.nets["G"]).parameters()).device
        state.scalers = {name: torch.amp.GradScaler(device.type) for name in checkpoint["scalers"]}
        for name, scaler in state.scalers.items():
            scaler.load_state_dict(checkpoint["scalers"][name])
    state.step = int(checkpoint["step"])
    torch.set_rng_state(checkpoint["rng"]["torch"])


def variant_from_checkpoint(checkpoint: dict[str, Any]) -> tuple[Variant, dict[str, nn.Module]]:
    """Rebuild the variant and its nets (in eval mode) from a checkpoint alone."""
    config = Config.model_validate(checkpoint["config"])
    pipeline = PipelineSpec.model_validate(checkpoint["pipeline"])
    variant = build_variant(pipeline.variant, config, checkpoint["data_spec"]["shape"],
                            checkpoint["data_spec"].get("num_classes", 0), checkpoint["data_spec"].get("input_shape"))
    nets = variant.build_nets()
    for name, net in nets.items():
        net.load_state_dict(checkpoint["nets"][name])
        net.eval()
    return variant, nets
