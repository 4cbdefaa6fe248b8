"""The one training loop: it owns zero_grad/backward/step, n_critic and the callbacks.

Training data is a dict of named tensors ("x" images or points, "y" labels, ...). A variant
declares which of them it draws and which are drawn together (`Variant.batch_groups`): names
in one group share row indices (images with their labels, a pair's A with its B); separate
groups are drawn independently (CycleGAN's unpaired domains).

Randomness is a function of (seed, step, rank): each step draws its batch indices and noise
from a generator seeded by those three numbers, so a resumed run sees exactly the data
and noise the uninterrupted run would have seen.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from ganpipe.config import TrainConfig

if TYPE_CHECKING:
    from ganpipe.variants.base import Variant


@dataclass
class TrainingState:
    variant: "Variant"
    nets: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    step: int = 0
    scalers: dict[str, torch.amp.GradScaler] = field(default_factory=dict)  # train.precision=fp16 only


class Callback:
    """Hooks the loop calls; Ray reporting, checkpointing and progress bars plug in here."""

    def on_step(self, state: TrainingState, stats: dict[str, float]) -> None:
        """Called after every completed step with that step's scalar stats."""

    def should_stop(self, state: TrainingState) -> bool:
        return False


def step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """A CPU generator that depends only on (seed, step, rank)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 1_009 + rank)


def unwrap(net: nn.Module) -> nn.Module:
    """The module inside torch.compile's and DistributedDataParallel's wrappers (or the module itself)."""
    net = getattr(net, "_orig_mod", net)
    return getattr(net, "module", net)


AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(precision: str, device: torch.device):
    """Mixed precision for the forward passes and losses (fp32: a no-op)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=AUTOCAST_DTYPES[precision])


def make_scalers(precision: str, device: torch.device, names: Sequence[str]) -> dict[str, torch.amp.GradScaler]:
    """fp16 gradients underflow without loss scaling: one GradScaler per optimizer (none otherwise)."""
    return {name: torch.amp.GradScaler(device.type) for name in names} if precision == "fp16" else {}


def to_channels_last(nets: dict[str, nn.Module]) -> None:
    for net in nets.values():
        net.to(memory_format=torch.channels_last)


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, scaler: torch.amp.GradScaler | None) -> None:
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        optimizer.step()
        return
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()


@torch.no_grad()
def update_ema(ema: nn.Module, net: nn.Module, decay: float) -> None:
    """Exponential moving average of G's weights (Karras et al. 2018; Yazici et al. 2019)."""
    for averaged, current in zip(ema.parameters(), net.parameters()):
        averaged.lerp_(current, 1.0 - decay)
    for averaged, current in zip(ema.buffers(), net.buffers()):
        averaged.copy_(current)


def learning_rate_factor(train: TrainConfig, step: int) -> float:
    """The schedule as a pure function of the step, so a resumed run continues it exactly:
    constant, or constant then linear decay to zero (as in CycleGAN)."""
    return schedule_factor(train.lr_schedule, step, train.steps, train.decay_start)


def schedule_factor(schedule: str, step: int, steps: int, decay_start: float = 0.0) -> float:
    """`constant`: 1; `linear_decay`: 1 until decay_start x steps, then linearly to 0 at `steps`."""
    if schedule == "constant":
        return 1.0
    start = int(decay_start * steps)
    return 1.0 if step < start else max(0.0, 1.0 - (step - start) / max(1, steps - start))


def set_learning_rates(optimizers: dict[str, torch.optim.Optimizer], train: TrainConfig, step: int) -> None:
    factor = learning_rate_factor(train, step)
    base = {"G": train.lr, "D": train.d_learning_rate}
    for name, optimizer in optimizers.items():
        for group in optimizer.param_groups:
            group["lr"] = base[name] * factor


def per_worker_batch(train: TrainConfig, world_size: int) -> int:
    return train.batch_size // world_size


Batch = dict[str, torch.Tensor]


def as_training_data(data: torch.Tensor | Batch) -> Batch:
    """A lone tensor is the images (or points): {"x": tensor}."""
    return {"x": data} if isinstance(data, torch.Tensor) else data


def draw_batch(data: Batch, groups: Sequence[Sequence[str]], size: int, generator: torch.Generator) -> Batch:
    """`size` random rows of every named tensor; names in one group get the same rows."""
    batch: Batch = {}
    for group in groups:
        rows = len(data[group[0]])
        indices = torch.randperm(rows, generator=generator)[: min(size, rows)].to(data[group[0]].device)
        for name in group:
            batch[name] = data[name][indices]
    return batch


def train_loop(
    state: TrainingState,
    data: torch.Tensor | Batch,
    train: TrainConfig,
    *,
    rank: int = 0,
    world_size: int = 1,
    callbacks: Sequence[Callback] = (),
) -> TrainingState:
    """Train from `state.step` to `train.steps` on `data` (this worker's shard, on its device)."""
    variant, nets, optimizers = state.variant, state.nets, state.optimizers
    data = as_training_data(data)
    groups = variant.batch_groups
    missing = [name for group in groups for name in group if name not in data]
    if missing:
        raise ValueError(f"variant {variant.name} trains on {missing}, but the data holds only {sorted(data)}")
    batch_size = min(per_worker_batch(train, world_size), *(len(data[group[0]]) for group in groups))
    device = data[groups[0][0]].device
    if not state.scalers:
        state.scalers = make_scalers(train.precision, device, list(optimizers))
    if train.channels_last:
        data = {name: tensor.contiguous(memory_format=torch.channels_last) if tensor.dim() == 4 else tensor
                for name, tensor in data.items()}
    for net in nets.values():
        net.train()
    while state.step < train.steps:
        step = state.step
        generator = step_generator(train.seed, step, rank)
        if train.lr_schedule != "constant":
            set_learning_rates(optimizers, train, step)
        for _ in range(train.n_critic):
            batch = draw_batch(data, groups, batch_size, generator)
            z = variant.sample_noise(batch_size, generator, device)
            with autocast(train.precision, device):
                d_loss, d_stats = variant.discriminator_loss(nets, batch, z, step)
            optimizer_step(optimizers["D"], d_loss, state.scalers.get("D"))
            variant.after_discriminator_step(nets)
        z = variant.sample_noise(batch_size, generator, device)
        with autocast(train.precision, device):
            g_loss, g_stats = variant.generator_loss(nets, batch, z, step)
        optimizer_step(optimizers["G"], g_loss, state.scalers.get("G"))
        if "G_ema" in nets:
            update_ema(nets["G_ema"], unwrap(nets["G"]), train.ema)
        state.step += 1
        stats = {"loss/D": d_loss.detach(), "loss/G": g_loss.detach(), **d_stats, **g_stats}
        scalars = {name: float(value) for name, value in stats.items()}
        for callback in callbacks:
            callback.on_step(state, scalars)
        if any(callback.should_stop(state) for callback in callbacks):
            break
    return state
