"""InfoGAN's mutual-information term (train.info_weight) over categorical codes (model.latent_codes)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ganpipe import losses
from ganpipe.config import PipelineSpec, load_config
from ganpipe.errors import ConfigError
from ganpipe.loop import Callback, TrainingState, train_loop
from ganpipe.variants import build_variant

REPO = Path(__file__).resolve().parents[1]
SMALL = ["model.mlp_width=32", "model.mlp_depth=2", "model.z_dim=2", "train.num_workers=1", "train.batch_size=32"]
CODES = ["model.latent_components=3", "model.latent_codes=2", "train.info_weight=1"]


def variant_for(name: str, *overrides: str, dataset: str = "ring8", num_classes: int = 0):
    config = load_config(REPO / "params.yaml", [*SMALL, *overrides], PipelineSpec(variant=name, dataset=dataset))
    return build_variant(name, config, (2,), num_classes=num_classes), config


def test_info_loss_against_hand_computed_values() -> None:
    uninformed = torch.zeros(2, 3, 4)  # 2 samples, 3 codes of 4 values: every guess 1/4
    codes = torch.tensor([[0, 1, 2], [3, 3, 0]])
    assert losses.info_loss(uninformed, codes).item() == pytest.approx(3 * math.log(4))
    logits = torch.tensor([[[2.0, 0.0]], [[0.0, 2.0]]])  # one code of 2 values
    right, wrong = math.log(1 + math.exp(-2)), math.log(1 + math.exp(2))
    assert losses.info_loss(logits, torch.tensor([[0], [0]])).item() == pytest.approx((right + wrong) / 2)


def test_several_codes_join_z_and_read_back() -> None:
    variant, _ = variant_for("gan", *CODES)
    assert variant.latent_dim == 2 + 2 * 3
    noise = variant.sample_noise(3000, torch.Generator().manual_seed(0), torch.device("cpu"))
    codes = variant.codes_of(noise)
    assert codes.shape == (3000, 2)
    torch.testing.assert_close(noise[:, 2:].reshape(3000, 2, 3).argmax(2), codes)
    for k in range(2):  # each code uniform over its values
        shares = torch.bincount(codes[:, k], minlength=3) / 3000
        assert torch.all((shares - 1 / 3).abs() < 0.03)
    assert not torch.equal(codes[:, 0], codes[:, 1])  # drawn independently


def test_q_head_gives_each_packed_sample_its_code_logits() -> None:
    variant, _ = variant_for("gan", *CODES, "model.packing=2")
    D = variant.build_nets()["D"]
    out = D(torch.randn(8, 2))
    assert out.shape == (4, 1 + 2 * 2 * 3)
    logits, code_logits = variant.split_code_logits(out)
    assert logits.shape == (4,) and code_logits.shape == (8, 2, 3)
    torch.testing.assert_close(variant.adversarial_logits(D)(torch.ones(8, 2)), D(torch.ones(8, 2))[:, 0])
    plain, _ = variant_for("gan", "model.latent_components=3")  # a code without the term: no Q head
    assert plain.build_nets()["D"](torch.randn(8, 2)).shape == (8,)


class Recorder(Callback):
    def __init__(self) -> None:
        self.stats: list[dict[str, float]] = []

    def on_step(self, state: TrainingState, stats: dict[str, float]) -> None:
        self.stats.append(stats)


def test_training_makes_the_codes_readable_from_the_fakes() -> None:
    """With the term weighted up, G and Q learn to agree: Q's cross-entropy on G's codes falls
    from about log 3 per code towards 0 (with the term off it has nothing to fall from)."""
    torch.manual_seed(0)
    variant, config = variant_for("gan", *CODES[:2], "train.info_weight=5", "train.steps=300", "train.lr=0.002")
    nets = variant.build_nets()
    state = TrainingState(variant, nets, variant.build_optimizers(nets, config.train))
    recorder = Recorder()
    train_loop(state, torch.randn(512, 2), config.train, callbacks=[recorder])
    first, last = recorder.stats[0], recorder.stats[-20:]
    assert first["G/info"] == pytest.approx(2 * math.log(3), rel=0.2)
    assert sum(s["G/info"] for s in last) / len(last) < 0.25 * first["G/info"]
    assert "D/info" in first and all(math.isfinite(s["loss/D"]) for s in recorder.stats)


def test_info_term_needs_a_code_and_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"train.info_weight=1.0: .*model.latent_components >= 2"):
        variant_for("gan", "train.info_weight=1")
    with pytest.raises(ConfigError, match="model.latent_codes=3"):
        variant_for("gan", "model.latent_codes=3")
    with pytest.raises(ConfigError, match="train.info_weight"):
        variant_for("cgan", *CODES, "model.auxiliary_classifier=true", num_classes=8)


def test_info_term_under_the_gradient_penalty_sees_only_the_critic_logit() -> None:
    variant, config = variant_for("wgan_gp", *CODES)
    nets = variant.build_nets()
    z = variant.sample_noise(32, torch.Generator().manual_seed(0), torch.device("cpu"))
    loss, stats = variant.discriminator_loss(nets, {"x": torch.randn(32, 2)}, z, step=0)
    assert torch.isfinite(loss) and {"D/gp", "D/info"} <= set(stats)
