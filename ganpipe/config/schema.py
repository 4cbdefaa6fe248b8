"""The params.yaml schema: each section maps onto one validated, frozen model here.

A wrong type or an out-of-range value fails validation with a message naming the key;
`ganpipe.config.loading` turns that into a one-line `ConfigError`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DIFF_AUGMENT_TRANSFORMS = ("color", "translation", "cutout")  # ganpipe.augment.POLICIES, torch-free here


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunConfig(Section):
    """What `ganpipe run` does when --variant/--dataset are not given."""

    variant: str = "dcgan"
    dataset: str = "digits"
    # `ganpipe run --all` and the scheduled flows
    concurrency: int = Field(1, ge=1, description="pipelines run at once by `ganpipe run --all`")
    retries: int = Field(2, ge=0, description="retries of a stage that failed because a server did not answer")
    retry_delay_s: float = Field(10.0, ge=0, description="first retry's delay; doubles with each retry")
    timeout_minutes: float | None = Field(None, gt=0, description="a pipeline running longer fails (null: no limit)")


class DataConfig(Section):
    image_size: int = Field(32, ge=8, le=256)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    split_seed: int = 0
    on_bad_image: Literal["error", "skip"] = Field("error", description="folder datasets: fail on, or skip, unusable images")

    @model_validator(mode="after")
    def _power_of_two(self) -> DataConfig:
        if self.image_size & (self.image_size - 1):
            raise ValueError(f"data.image_size={self.image_size}: must be a power of two")
        return self


class ModelConfig(Section):
    arch: Literal["auto", "dcgan", "mlp", "unet", "resnet"] = Field(
        "auto", description="generating variants: dcgan | mlp; translating variants: G is a unet | resnet")
    z_dim: int = Field(64, ge=1)
    g_width: int = Field(32, ge=1, description="conv: channels of G's last hidden layer")
    d_width: int = Field(32, ge=1, description="conv: channels of D's first layer")
    d_norm: Literal["batch", "layer", "instance", "none"] = "batch"
    extra_layers: int = Field(0, ge=0, description="conv: 3x3 stride-1 layers added at G's last and D's first resolution")
    d_stage_layers: int = Field(0, ge=0, description="conv D: 3x3 stride-1 layers at its input and after each "
                                "stride-2 layer, as in SNGAN's CNN D (0: off)")
    mlp_width: int = Field(256, ge=1)
    mlp_depth: int = Field(3, ge=1, description="hidden layers of the MLP nets")
    g_loss: Literal["nonsaturating", "minimax"] = "nonsaturating"
    spectral_norm: bool = False
    minibatch_stddev: bool = False
    minibatch_discrimination: int = Field(0, ge=0, description="kernels (0: off)")
    packing: int = Field(1, ge=1, description="PacGAN: samples per D input (1: off)")
    feature_matching: bool = False
    auxiliary_classifier: bool = Field(False, description="cgan: ACGAN, D predicts the class instead of seeing it")
    patch_layers: int | None = Field(None, ge=1, description="PatchGAN D: stride-2 layers (null: log2(size) - 5, at least 1)")
    latent_components: int = Field(0, ge=0, description="a uniform categorical code of this many values joins z (0: off)")
    latent_codes: int = Field(1, ge=1, description="independent categorical codes of latent_components values each")


class TrainConfig(Section):
    steps: int = Field(2000, ge=1)
    batch_size: int = Field(64, ge=1, description="global batch, split across workers")
    lr: float = Field(2e-4, gt=0)
    lr_d: float | None = Field(None, gt=0, description="D's learning rate; defaults to lr")
    beta1: float = Field(0.5, ge=0, lt=1)
    beta2: float = Field(0.999, ge=0, lt=1)
    optimizer: Literal["adam", "rmsprop"] = "adam"
    n_critic: int = Field(1, ge=1, description="D steps per G step")
    clip_value: float | None = Field(None, gt=0, description="WGAN weight clipping bound")
    gp_weight: float = Field(0.0, ge=0, description="WGAN-GP gradient penalty weight")
    r1_weight: float = Field(0.0, ge=0, description="R1 penalty gamma")
    r1_every: int = Field(1, ge=1, description="R1 on every k-th step only, weighted k (StyleGAN2's lazy regularization)")
    l1_weight: float = Field(0.0, ge=0, description="translation: weight of the L1 distance to the true B")
    adversarial_weight: float = Field(1.0, ge=0, description="pix2pix: weight of G's adversarial loss (0: L1-only U-Net)")
    cycle_weight: float = Field(10.0, ge=0, description="CycleGAN: weight of the cycle-consistency L1")
    identity_weight: float = Field(0.5, ge=0, description="CycleGAN: identity L1 weight, as a fraction of cycle_weight")
    pool_size: int = Field(50, ge=0, description="CycleGAN: history of fakes each D sees (0: off)")
    label_smoothing: float = Field(0.0, ge=0, lt=1, description="one-sided: real target 1 - value")
    instance_noise: float = Field(0.0, ge=0, description="initial std, annealed linearly to 0")
    diff_augment: str = Field("", description="DiffAugment (Zhao et al. 2020): transforms applied to every image D "
                              "sees, real and fake, comma-separated from color, translation, cutout ('': off)")
    unrolled_steps: int = Field(0, ge=0)
    ema: float = Field(0.0, ge=0, lt=1, description="G EMA decay (0: off)")
    info_weight: float = Field(0.0, ge=0, description="InfoGAN: weight of the mutual-information term, D's Q head "
                               "predicting G's categorical codes (needs model.latent_components; 0: off)")
    top_k: float = Field(1.0, gt=0, le=1, description="Sinha et al. 2020: G learns from this fraction of its "
                         "fakes, the ones D scores highest, annealed from 1 (1: off)")
    top_k_anneal: float = Field(0.5, ge=0, le=1, description="top_k: fraction of steps over which the kept "
                                "fraction falls linearly from 1 to top_k")
    lr_schedule: Literal["constant", "linear_decay"] = "constant"
    decay_start: float = Field(0.5, ge=0, lt=1, description="linear_decay: fraction of steps before decay")
    seed: int = 0
    num_workers: int = Field(2, ge=1)
    cpus_per_worker: int | None = Field(None, ge=1, description="CPUs (and torch threads) per Ray worker; "
                                        "default: this machine's CPUs / num_workers locally, 1 on a cluster")
    placement_strategy: Literal["PACK", "SPREAD", "STRICT_SPREAD"] = Field(
        "PACK", description="Ray placement of the workers: PACK fills a node first, SPREAD spreads them over nodes")
    use_gpu: bool = False
    precision: Literal["fp32", "bf16", "fp16"] = Field("fp32", description="autocast dtype; fp16 adds a GradScaler")
    channels_last: bool = Field(False, description="conv nets and image batches in channels-last memory format")
    compile: bool = Field(False, description="torch.compile the trained nets")
    checkpoint_every: int = Field(500, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    max_failures: int = Field(2, ge=-1, description="Ray Train restarts from the latest checkpoint after a worker "
                              "failure, this many times (-1: always)")
    resume: bool = Field(True, description="a rerun continues the same training run's latest checkpoint "
                         "(same params and data); false starts afresh")
    storage_path: str | None = Field(None, description="where Ray Train keeps checkpoints: a directory or an "
                                     "s3:// URI (default: outputs/ray)")
    log_every: int = Field(1, ge=1)
    progress: bool = True

    @model_validator(mode="after")
    def _batch_divides(self) -> TrainConfig:
        if self.batch_size % self.num_workers:
            raise ValueError(
                f"train.batch_size={self.batch_size}: must be divisible by "
                f"train.num_workers={self.num_workers}"
            )
        if self.precision == "fp16" and (self.gp_weight or self.r1_weight):
            raise ValueError("train.precision=fp16: the gradient penalties (gp_weight, r1_weight) need fp32 or bf16 "
                             "(a loss-scaled penalty gradient is not supported)")
        return self

    @field_validator("diff_augment")
    @classmethod
    def _known_transforms(cls, policy: str) -> str:
        parts = [part.strip() for part in policy.split(",") if part.strip()]
        unknown = [part for part in parts if part not in DIFF_AUGMENT_TRANSFORMS]
        if unknown:
            raise ValueError(f"unknown transform(s) {unknown}; choose from {', '.join(DIFF_AUGMENT_TRANSFORMS)}")
        return ",".join(parts)

    @property
    def d_learning_rate(self) -> float:
        return self.lr if self.lr_d is None else self.lr_d


class EvaluatorConfig(Section):
    """The small classifier whose features FID/IS use when no Inception weights are given."""

    epochs: int = Field(15, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    lr_schedule: Literal["constant", "linear_decay"] = "constant"
    members: int = Field(1, ge=1)
    seed: int = 0


class EvalConfig(Section):
    num_samples: int = Field(2000, ge=2)
    batch_size: int = Field(250, ge=1)
    seed: int = 1234
    every: int = Field(0, ge=0, description="steps between probes of the primary metric during training (0: off)")
    every_samples: int = Field(500, ge=2, description="samples (or test pairs) each probe scores")
    inception_weights: str | None = None
    evaluator: EvaluatorConfig = EvaluatorConfig()


class GuardConfig(Section):
    """A metric the gate watches besides the primary one: it may not get worse by more than `tolerance`."""

    direction: Literal["minimize", "maximize"]
    tolerance: float = Field(0.0, ge=0)


class RegistryConfig(Section):
    enabled: bool = True
    name_template: str = "ganpipe-{variant}-{dataset}"
    champion_alias: str = "champion"
    challenger_alias: str = "challenger"
    previous_alias: str = "previous-champion"
    metric: str = Field("fid_{dataset}", description="gate metric key; {dataset}/{variant} are filled in")
    direction: Literal["minimize", "maximize"] = "minimize"
    margin: float = Field(0.0, ge=0, description="how much better than the champion the metric must be")
    guards: dict[str, GuardConfig] = Field(default_factory=dict, description="metric key -> direction, tolerance")
    experiment: str = "ganpipe"


class PipelineSpec(Section):
    variant: str
    dataset: str

    @property
    def name(self) -> str:
        return f"{self.variant}-{self.dataset}"


class ReproduceConfig(Section):
    """What `dvc repro` keeps reproducible (dvc.yaml expands one stage set per entry)."""

    datasets: list[str] = Field(default_factory=lambda: ["digits"])
    pipelines: dict[str, PipelineSpec] = Field(
        default_factory=lambda: {"dcgan-digits": PipelineSpec(variant="dcgan", dataset="digits")}
    )

    @model_validator(mode="after")
    def _names_and_datasets_agree(self) -> ReproduceConfig:
        for key, spec in self.pipelines.items():
            if key != spec.name:  # dvc.yaml's output paths use the key, the stages the name
                raise ValueError(f"pipelines.{key}: must be named '{spec.name}' after its variant and dataset")
            if spec.dataset not in self.datasets:
                raise ValueError(f"pipelines.{key}: dataset '{spec.dataset}' is missing from `datasets`")
        return self


class Config(Section):
    run: RunConfig = RunConfig()
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    eval: EvalConfig = EvalConfig()
    registry: RegistryConfig = RegistryConfig()
    variants: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-variant overrides of the sections above (paper defaults)"
    )
    datasets: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="per-dataset overrides and `recommended` variant settings"
    )
    reproduce_sets: dict[str, ReproduceConfig] = Field(
        default_factory=dict, description="named pipeline sets; `reproduce` is one of them (a YAML alias)"
    )
    reproduce: ReproduceConfig = ReproduceConfig()

    @model_validator(mode="after")
    def _packing_divides_batch(self) -> Config:
        per_worker = self.train.batch_size // self.train.num_workers
        if per_worker % self.model.packing:
            raise ValueError(
                f"model.packing={self.model.packing}: must divide the per-worker batch "
                f"(train.batch_size / train.num_workers = {per_worker})"
            )
        return self
