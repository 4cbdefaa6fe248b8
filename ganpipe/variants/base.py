"""What a variant is: nets, optimizers and losses. The training loop does the stepping.

The base class holds the machinery every variant shares (architecture choice, the remedies
that act on inputs and penalties); a variant file adds its objective and little else.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch
from torch import nn

from ganpipe import losses
from ganpipe.augment import diff_augment
from ganpipe.config import ModelConfig, TrainConfig
from ganpipe.errors import ConfigError
from ganpipe.loop import Batch, unwrap
from ganpipe.nets.dcgan import DCGANBody, DCGANGenerator, init_dcgan_weights
from ganpipe.nets.discriminator import Discriminator
from ganpipe.nets.mlp import MLPBody, MLPGenerator
from ganpipe.variants.latent import append_codes, read_codes, split_q_logits

if TYPE_CHECKING:
    from ganpipe.data.prepared import PreparedData


@dataclass(frozen=True)
class DataSpec:
    """The shape of one sample, (C, H, W) for images or (D,) for points; how many label
    classes the data has (0: unlabelled); for image-to-image data, the shape of an A image."""

    shape: tuple[int, ...]
    num_classes: int = 0
    input_shape: tuple[int, ...] | None = None

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3


Stats = dict[str, torch.Tensor]
Nets = dict[str, nn.Module]


def top_k_fraction(train: TrainConfig, step: int) -> float:
    """The fraction of fakes G learns from under `train.top_k`: 1 at step 0, falling linearly
    to `train.top_k` over the first `train.top_k_anneal` of the steps, then held."""
    anneal_steps = train.top_k_anneal * train.steps
    progress = 1.0 if anneal_steps == 0 else min(1.0, step / anneal_steps)
    return 1.0 - (1.0 - train.top_k) * progress


class Variant:
    """An unconditional GAN with one G and one D; subclasses define the objective."""

    name: ClassVar[str]
    description: ClassVar[str]
    paper: ClassVar[str]
    image_arch: ClassVar[str] = "dcgan"  # the architecture "auto" picks for images
    # The training arrays a variant draws; names in one group are drawn with the same rows.
    batch_groups: ClassVar[Sequence[Sequence[str]]] = (("x",),)
    conditional: ClassVar[bool] = False  # samples can be asked for by class label
    translates: ClassVar[bool] = False  # G maps an A image to a B image (no z)
    trained_nets: ClassVar[tuple[str, ...]] = ("G", "D")  # what the optimizers update (DDP wraps these)
    supports_top_k: ClassVar[bool] = True  # G's loss is `g_objective` over D's logits (train.top_k applies)

    generator_archs: ClassVar[tuple[str, ...]] = ("dcgan", "mlp")  # what model.arch may force

    def __init__(self, model: ModelConfig, train: TrainConfig, data: DataSpec) -> None:
        if model.arch != "auto" and model.arch not in self.generator_archs:
            raise ConfigError(f"model.arch={model.arch!r}: variant {self.name} takes auto | {' | '.join(self.generator_archs)}")
        if train.top_k < 1 and (model.feature_matching or not self.supports_top_k):
            reason = ("feature matching has no per-sample loss" if model.feature_matching
                      else f"variant {self.name}'s G loss has its own terms")
            raise ConfigError(f"train.top_k={train.top_k}: top-k training needs a per-sample adversarial G loss "
                              f"({reason}); use 1 (off)")
        if train.info_weight and model.latent_components < 2:
            raise ConfigError(f"train.info_weight={train.info_weight}: InfoGAN's term predicts G's categorical code, "
                              f"so it needs model.latent_components >= 2 (got {model.latent_components})")
        if model.latent_codes > 1 and not model.latent_components:
            raise ConfigError(f"model.latent_codes={model.latent_codes}: codes of how many values? "
                              "Set model.latent_components too")
        if train.diff_augment and (self.translates or not data.is_image):
            raise ConfigError(f"train.diff_augment={train.diff_augment!r}: DiffAugment transforms images a "
                              f"generator makes from noise; variant {self.name} on samples of shape {data.shape} has none")
        self.check_config(model, train)
        self.model_config, self.train_config, self.data = model, train, data
        self._d_optimizer: torch.optim.Optimizer | None = None

    @classmethod
    def training_arrays(cls, data: "PreparedData") -> dict[str, np.ndarray]:
        """The named arrays of the training split this variant trains on."""
        return {"x": data.train_x}

    @classmethod
    def check_config(cls, model: ModelConfig, train: TrainConfig) -> None:
        """Raise ConfigError, naming the key, when settings contradict what defines the variant."""

    # --- objective: what a variant file defines -------------------------------------------
    def d_objective(self, d_logits_real: torch.Tensor, d_logits_fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_objective(self, d_logits_fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # --- construction ---------------------------------------------------------------------
    @property
    def arch(self) -> str:
        if self.model_config.arch != "auto":
            return self.model_config.arch
        return self.image_arch if self.data.is_image else "mlp"

    @property
    def latent_dim(self) -> int:
        """Width of G's input vector (what `sample_noise` draws)."""
        return self.model_config.z_dim + self.code_width

    @property
    def code_width(self) -> int:
        """Width of the one-hot categorical codes in G's input."""
        return self.model_config.latent_codes * self.model_config.latent_components if self.model_config.latent_components else 0

    @property
    def d_input_shape(self) -> tuple[int, ...]:
        """The shape of one input to D (before packing)."""
        return self.data.shape

    @property
    def d_class_outputs(self) -> int:
        """Class logits D gives beside its real/fake logit (ACGAN); 0 for none."""
        return 0

    @property
    def d_code_outputs(self) -> int:
        """InfoGAN's Q head: logits of every code value for each sample packed into one D input."""
        return self.model_config.packing * self.code_width if self.train_config.info_weight else 0

    def build_nets(self) -> Nets:
        m, shape, d_shape = self.model_config, self.data.shape, self.d_input_shape
        if self.arch == "dcgan":
            if not self.data.is_image:
                raise ValueError(f"model.arch=dcgan needs image data, got samples of shape {shape}")
            G: nn.Module = DCGANGenerator(self.latent_dim, shape[-1], shape[0], m.g_width, m.extra_layers)
            body: nn.Module = DCGANBody(shape[-1], d_shape[0] * m.packing, m.d_width, m.d_norm, m.extra_layers,
                                        m.d_stage_layers)
        else:
            G = MLPGenerator(self.latent_dim, shape, m.mlp_width, m.mlp_depth, bounded=self.data.is_image)
            body = MLPBody((d_shape[0] * m.packing, *d_shape[1:]), m.mlp_width, m.mlp_depth)
        D = Discriminator(body, body.feature_dim, packing=m.packing, minibatch_stddev=m.minibatch_stddev,
                          minibatch_kernels=m.minibatch_discrimination, spectral_norm=m.spectral_norm,
                          head_init=init_dcgan_weights if self.arch == "dcgan" else None,
                          num_classes=self.d_class_outputs, code_outputs=self.d_code_outputs)
        nets: Nets = {"G": G, "D": D}
        if self.train_config.ema:
            nets["G_ema"] = copy.deepcopy(G).requires_grad_(False)
        return nets

    def _optimizer(self, params, lr: float) -> torch.optim.Optimizer:
        t = self.train_config
        if t.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr)
        return torch.optim.Adam(params, lr=lr, betas=(t.beta1, t.beta2))

    def build_optimizers(self, nets: Nets, train: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        optimizers = {"G": self._optimizer(nets["G"].parameters(), train.lr),
                      "D": self._optimizer(nets["D"].parameters(), train.d_learning_rate)}
        self._d_optimizer = optimizers["D"]
        return optimizers

    def sample_noise(self, n: int, generator: torch.Generator | None, device: torch.device,
                     labels: torch.Tensor | None = None) -> torch.Tensor:
        """G's input for `n` samples (`labels` matter to conditional variants only)."""
        return self.latent_code(torch.randn(n, self.model_config.z_dim, generator=generator), generator).to(device)

    def latent_code(self, z: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """z with `model.latent_codes` one-hot codes of `model.latent_components` values appended."""
        return append_codes(z, self.model_config.latent_components, self.model_config.latent_codes, generator)

    def codes_of(self, z: torch.Tensor) -> torch.Tensor:
        """(N, latent_codes): the value of each categorical code in G's inputs `z`."""
        m = self.model_config
        return read_codes(z[:, m.z_dim : m.z_dim + self.code_width], m.latent_codes, m.latent_components)

    def split_code_logits(self, d_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's output -> (real/fake logits, InfoGAN's code logits (N, latent_codes, components) or None)."""
        if not self.d_code_outputs:
            return d_out, None
        return split_q_logits(d_out, self.model_config.latent_codes, self.model_config.latent_components)

    def adversarial_logits(self, D: nn.Module):
        """D as the penalties see it: its real/fake logits alone."""
        if not self.d_code_outputs:
            return D
        return lambda x: self.split_code_logits(D(x))[0]

    def with_info_term(self, loss: torch.Tensor, code_logits: torch.Tensor | None, z: torch.Tensor,
                       stats: Stats, prefix: str) -> torch.Tensor:
        """Chen et al. 2016 (InfoGAN): + lambda * CE(Q(G(z, c)), c), for D's Q head and for G alike."""
        if code_logits is None:
            return loss
        info = losses.info_loss(code_logits, self.codes_of(z).to(code_logits.device))
        stats[f"{prefix}/info"] = info.detach()
        return loss + self.train_config.info_weight * info

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Training state beyond nets and optimizers that a checkpoint must hold (e.g. image pools)."""
        return {}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what `extra_state` returned."""

    def translate(self, G: nn.Module, a: torch.Tensor) -> torch.Tensor:
        """B images for the A images `a` (image-to-image variants only)."""
        raise TypeError(f"variant {self.name} generates from noise; it does not translate images")

    # --- what D sees: hooks a conditional variant overrides -------------------------------------
    def conditioned_noise(self, z: torch.Tensor, batch: Batch) -> torch.Tensor:
        """G's input for fakes to set against `batch` (a conditional variant gives them its labels)."""
        return z

    def real_d_input(self, batch: Batch, step: int) -> torch.Tensor:
        """What D sees of the real batch."""
        return self.remedied_d_input(batch["x"], step)

    def fake_d_input(self, fake: torch.Tensor, z: torch.Tensor, step: int) -> torch.Tensor:
        """What D sees of fakes made from `z`."""
        return self.remedied_d_input(fake, step)

    # --- remedies on D's inputs ---------------------------------------------------------------
    def remedied_d_input(self, x: torch.Tensor, step: int) -> torch.Tensor:
        """x as D sees it, real or fake alike: DiffAugment's transforms, then instance noise."""
        return self.with_instance_noise(diff_augment(x, self.train_config.diff_augment), step)

    def with_instance_noise(self, x: torch.Tensor, step: int) -> torch.Tensor:
        """Sonderby et al. 2017 / Arjovsky & Bottou 2017: Gaussian noise on D's inputs, annealed to 0."""
        start = self.train_config.instance_noise
        if not start:
            return x
        std = start * max(0.0, 1.0 - step / self.train_config.steps)
        return x + std * torch.randn_like(x)

    # --- the two losses the loop asks for -------------------------------------------------------
    def discriminator_loss(self, nets: Nets, batch: Batch, z: torch.Tensor, step: int) -> tuple[torch.Tensor, Stats]:
        t = self.train_config
        z = self.conditioned_noise(z, batch)
        with torch.no_grad():
            fake = nets["G"](z)
        real_in, fake_in = self.real_d_input(batch, step), self.fake_d_input(fake, z, step)
        d_logits_real, _ = self.split_code_logits(nets["D"](real_in))
        d_logits_fake, code_logits = self.split_code_logits(nets["D"](fake_in))
        loss = self.d_objective(d_logits_real, d_logits_fake)
        stats: Stats = {"D/real": d_logits_real.detach().mean(), "D/fake": d_logits_fake.detach().mean()}
        loss = self.with_info_term(loss, code_logits, z, stats, "D")
        critic = self.adversarial_logits(unwrap(nets["D"]))  # penalties: plain module, DDP syncs the final backward
        if t.gp_weight:
            penalty = losses.gradient_penalty(critic, real_in, fake_in)
            loss = loss + t.gp_weight * penalty
            stats["D/gp"] = penalty.detach()
        if t.r1_weight and step % t.r1_every == 0:
            penalty = losses.r1_penalty(critic, real_in)
            loss = loss + 0.5 * t.r1_weight * t.r1_every * penalty
            stats["D/r1"] = penalty.detach()
        return loss, stats

    def generator_loss(self, nets: Nets, batch: Batch, z: torch.Tensor, step: int) -> tuple[torch.Tensor, Stats]:
        D = self.unrolled_discriminator(nets, batch, step) if self.train_config.unrolled_steps else unwrap(nets["D"])
        z = self.conditioned_noise(z, batch)
        fake = nets["G"](z)
        fake_in = self.fake_d_input(fake, z, step)
        stats: Stats = {}
        if self.model_config.feature_matching:
            loss = losses.feature_matching(D.features(self.real_d_input(batch, step)), D.features(fake_in))
            code_logits = self.split_code_logits(D(fake_in))[1] if self.d_code_outputs else None
        else:
            d_logits_fake, code_logits = self.split_code_logits(D(fake_in))
            if self.train_config.top_k < 1.0:
                fraction = top_k_fraction(self.train_config, step)
                d_logits_fake = losses.top_k_fakes(d_logits_fake, max(1, round(fraction * len(d_logits_fake))))
                stats["G/top_k"] = torch.tensor(fraction)
            loss = self.g_objective(d_logits_fake)
        return self.with_info_term(loss, code_logits, z, stats, "G"), stats

    def unrolled_discriminator(self, nets: Nets, batch: Batch, step: int) -> nn.Module:
        """Metz et al. 2017: a copy of D trained k steps ahead; G's loss is taken against it.

        The copy and its optimizer are throwaway: D's own parameters and state are untouched.
        (The first-order version: no backpropagation through the k steps.)
        """
        D = copy.deepcopy(unwrap(nets["D"]))
        optimizer = self._optimizer(D.parameters(), self.train_config.d_learning_rate)
        if self._d_optimizer is not None:
            optimizer.load_state_dict(self._d_optimizer.state_dict())
        real = batch["x"]
        for _ in range(self.train_config.unrolled_steps):
            z = self.conditioned_noise(self.sample_noise(real.shape[0], None, real.device), batch)
            with torch.no_grad():
                fake = nets["G"](z)
            loss = self.d_objective(self.split_code_logits(D(self.real_d_input(batch, step)))[0],
                                    self.split_code_logits(D(self.fake_d_input(fake, z, step)))[0])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            self.constrain(D)
        return D.requires_grad_(False)

    # --- after D's update ----------------------------------------------------------------------
    def constrain(self, D: nn.Module) -> None:
        """Arjovsky et al. 2017: clip every weight of the critic to [-c, c]."""
        if self.train_config.clip_value:
            with torch.no_grad():
                for parameter in D.parameters():
                    parameter.clamp_(-self.train_config.clip_value, self.train_config.clip_value)

    def after_discriminator_step(self, nets: Nets) -> None:
        self.constrain(unwrap(nets["D"]))
