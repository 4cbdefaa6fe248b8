"""Each remedy against mode collapse has the effect it claims."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganpipe import losses
from ganpipe.config import PipelineSpec, load_config
from ganpipe.errors import ConfigError
from ganpipe.loop import update_ema
from ganpipe.metrics.modes import mode_metrics
from ganpipe.nets.discriminator import MinibatchDiscrimination, MinibatchStdDev, pack
from ganpipe.variants import build_variant
from ganpipe.variants.base import top_k_fraction

REPO = Path(__file__).resolve().parents[1]
SMALL = ["model.mlp_width=16", "model.mlp_depth=2", "model.z_dim=4", "train.num_workers=1", "train.batch_size=8"]


def variant_for(name: str, *overrides: str, dataset: str = "ring8"):
    config = load_config(REPO / "params.yaml", [*SMALL, *overrides], PipelineSpec(variant=name, dataset=dataset))
    return build_variant(name, config, (2,)), config


def test_packing_widens_d_input_and_halves_logits() -> None:
    x = torch.arange(16.0).view(8, 2)
    packed = pack(x, 4)
    assert packed.shape == (2, 8) and torch.equal(packed[0], x[:4].flatten())
    variant, _ = variant_for("gan", "model.packing=4")
    D = variant.build_nets()["D"]
    first_linear = next(m for m in D.body.modules() if isinstance(m, torch.nn.Linear))
    assert first_linear.in_features == 8
    assert D(torch.randn(8, 2)).shape == (2,)


def test_packing_must_divide_the_batch() -> None:
    with pytest.raises(ConfigError, match="model.packing=3: must divide the per-worker batch"):
        load_config(REPO / "params.yaml", [*SMALL, "model.packing=3"])


def test_minibatch_features_see_a_collapsed_batch() -> None:
    collapsed, spread = torch.ones(6, 4), torch.randn(6, 4)
    assert MinibatchStdDev()(collapsed)[:, -1].abs().max() == 0
    assert MinibatchStdDev()(spread)[:, -1].min() > 0
    layer = MinibatchDiscrimination(4, kernels=3)
    out = layer(collapsed)
    assert out.shape == (6, 7)
    # identical samples: each is maximally close to the 5 others
    torch.testing.assert_close(out[:, 4:], torch.full((6, 3), 5.0))


def test_unrolled_step_leaves_d_untouched_and_changes_g_loss() -> None:
    variant, config = variant_for("gan", "train.unrolled_steps=3")
    torch.manual_seed(0)
    nets = variant.build_nets()
    variant.build_optimizers(nets, config.train)
    before = {k: v.clone() for k, v in nets["D"].state_dict().items()}
    real, z = torch.randn(8, 2), torch.randn(8, 4)
    unrolled_loss, _ = variant.generator_loss(nets, {"x": real}, z, step=0)
    for key, value in nets["D"].state_dict().items():
        assert torch.equal(value, before[key])
    plain, _ = variant_for("gan")
    plain_loss, _ = plain.generator_loss(nets, {"x": real}, z, step=0)
    assert unrolled_loss.item() != pytest.approx(plain_loss.item())


def test_weight_clipping_bounds_every_critic_weight() -> None:
    variant, _ = variant_for("wgan")
    nets = variant.build_nets()
    with torch.no_grad():
        for p in nets["D"].parameters():
            p.mul_(100)
    variant.after_discriminator_step(nets)
    assert max(p.abs().max().item() for p in nets["D"].parameters()) <= 0.01


def test_variant_requirements_are_named() -> None:
    with pytest.raises(ConfigError, match="train.clip_value"):
        variant_for("wgan", "train.clip_value=null")
    with pytest.raises(ConfigError, match="model.d_norm='batch'"):
        variant_for("wgan_gp", "model.d_norm=batch")


def test_spectral_norm_keeps_d_lipschitz() -> None:
    variant, _ = variant_for("sngan")
    D = variant.build_nets()["D"]
    D.train()
    for _ in range(30):  # power iteration converges
        D(torch.randn(8, 2))
    linears = [m for m in D.modules() if isinstance(m, torch.nn.Linear)]
    assert all(torch.linalg.matrix_norm(m.weight, ord=2) <= 1.05 for m in linears)


def test_instance_noise_anneals_to_zero() -> None:
    variant, config = variant_for("gan", "train.instance_noise=0.5", "train.steps=10")
    x = torch.zeros(1000, 2)
    assert variant.with_instance_noise(x, 0).std().item() == pytest.approx(0.5, rel=0.1)
    assert torch.equal(variant.with_instance_noise(x, 10), x)


def test_ema_moves_towards_the_net() -> None:
    ema, net = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        ema.weight.zero_()
        net.weight.fill_(1.0)
    update_ema(ema, net, decay=0.9)
    torch.testing.assert_close(ema.weight, torch.full_like(ema.weight, 0.1))


def test_mode_metrics_on_known_samples() -> None:
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    samples = np.array([[0.0, 0.01], [10.0, 0.0], [10.0, 0.02], [5.0, 5.0]])  # 3 HQ, 2 modes, 1 junk
    m = mode_metrics(samples, centres, sigma=0.01)
    assert m["modes_covered"] == 2 and m["high_quality_pct"] == pytest.approx(75.0)
    p = np.array([1 / 3, 2 / 3])
    assert m["mode_kl"] == pytest.approx(float((p * np.log(p * 4)).sum()))
    assert m["mode_score"] == pytest.approx(2 + 0.999 * 0.75)


def test_latent_code_joins_z_as_a_uniform_one_hot() -> None:
    variant, _ = variant_for("gan", "model.latent_components=5")
    assert variant.latent_dim == 4 + 5
    assert variant.build_nets()["G"].net[0].in_features == 9
    noise = variant.sample_noise(5000, torch.Generator().manual_seed(0), torch.device("cpu"))
    code = noise[:, 4:]
    assert torch.equal(code.sum(dim=1), torch.ones(5000)) and set(code.unique().tolist()) == {0.0, 1.0}
    shares = code.mean(dim=0)
    assert torch.all((shares - 0.2).abs() < 0.02)  # every value about equally often
    # Off, the noise is what it always was: earlier runs keep their random stream.
    plain, _ = variant_for("gan")
    torch.testing.assert_close(plain.sample_noise(6, torch.Generator().manual_seed(1), torch.device("cpu")),
                               torch.randn(6, 4, generator=torch.Generator().manual_seed(1)))


def test_latent_code_under_cgan_keeps_the_label_last() -> None:
    config = load_config(REPO / "params.yaml", [*SMALL, "model.latent_components=3"], PipelineSpec(variant="cgan", dataset="ring8"))
    variant = build_variant("cgan", config, (2,), num_classes=8)
    noise = variant.sample_noise(4, torch.Generator().manual_seed(0), torch.device("cpu"), labels=torch.tensor([0, 7, 2, 2]))
    assert noise.shape == (4, 4 + 3 + 8)
    assert variant.labels_of(noise).argmax(dim=1).tolist() == [0, 7, 2, 2]
    relabelled = variant.conditioned_noise(noise, {"y": torch.tensor([1, 1, 1, 1])})
    torch.testing.assert_close(relabelled[:, :7], noise[:, :7])
    assert variant.labels_of(relabelled).argmax(dim=1).tolist() == [1, 1, 1, 1]


def test_latent_code_is_refused_by_translating_variants() -> None:
    config = load_config(REPO / "params.yaml", ["model.latent_components=4"], PipelineSpec(variant="pix2pix", dataset="edges2digits"))
    with pytest.raises(ConfigError, match="model.latent_components=4"):
        build_variant("pix2pix", config, (1, 32, 32), input_shape=(1, 32, 32))


def test_lazy_r1_applies_every_kth_step_at_k_times_the_weight() -> None:
    torch.manual_seed(0)
    eager, _ = variant_for("gan", "train.r1_weight=1")
    lazy, _ = variant_for("gan", "train.r1_weight=1", "train.r1_every=4")
    plain, _ = variant_for("gan", "train.r1_weight=0")
    nets = eager.build_nets()
    batch, z = {"x": torch.randn(8, 2)}, torch.randn(8, 4)
    base, _ = plain.discriminator_loss(nets, batch, z, step=0)
    eager_loss, stats = eager.discriminator_loss(nets, batch, z, step=0)
    lazy_loss, _ = lazy.discriminator_loss(nets, batch, z, step=4)
    skipped, skipped_stats = lazy.discriminator_loss(nets, batch, z, step=5)
    penalty = 0.5 * stats["D/r1"].item()
    assert penalty > 0
    assert eager_loss.item() == pytest.approx(base.item() + penalty, rel=1e-5)
    assert lazy_loss.item() == pytest.approx(base.item() + 4 * penalty, rel=1e-5)
    assert skipped.item() == pytest.approx(base.item()) and "D/r1" not in skipped_stats


def test_top_k_keeps_the_fakes_d_scores_most_real() -> None:
    logits = torch.tensor([0.5, -2.0, 3.0, 1.0])
    assert losses.top_k_fakes(logits, 2).tolist() == [3.0, 1.0]
    # A row of logits (a patch map) is ranked by its mean.
    patches = torch.tensor([[[0.0, 4.0]], [[3.0, 3.0]], [[-1.0, 0.0]]])
    assert torch.equal(losses.top_k_fakes(patches, 1), patches[1:2])


def test_top_k_anneals_from_all_fakes_and_g_learns_from_the_best_only() -> None:
    variant, config = variant_for("gan", "train.top_k=0.5", "train.top_k_anneal=0.5", "train.steps=100")
    assert [top_k_fraction(config.train, step) for step in (0, 25, 50, 99)] == [1.0, 0.75, 0.5, 0.5]
    torch.manual_seed(0)
    nets = variant.build_nets()
    batch, z = {"x": torch.randn(8, 2)}, torch.randn(8, 4)
    loss, stats = variant.generator_loss(nets, batch, z, step=60)
    logits = nets["D"](nets["G"](z))
    assert stats["G/top_k"].item() == 0.5
    assert loss.item() == pytest.approx(losses.g_loss_nonsaturating(logits.topk(4).values).item(), rel=1e-6)
    assert loss.item() < losses.g_loss_nonsaturating(logits).item()  # the rejected fakes carry the largest losses
    first, _ = variant.generator_loss(nets, batch, z, step=0)
    assert first.item() == pytest.approx(losses.g_loss_nonsaturating(logits).item(), rel=1e-6)


def test_top_k_is_refused_where_g_loss_is_not_per_sample() -> None:
    with pytest.raises(ConfigError, match="train.top_k=0.5: .*feature matching"):
        variant_for("gan", "train.top_k=0.5", "model.feature_matching=true")
    config = load_config(REPO / "params.yaml", ["train.top_k=0.5"], PipelineSpec(variant="pix2pix", dataset="edges2digits"))
    with pytest.raises(ConfigError, match="train.top_k=0.5: .*pix2pix"):
        build_variant("pix2pix", config, (1, 32, 32), input_shape=(1, 32, 32))
    with pytest.raises(ConfigError, match="train.top_k"):
        load_config(REPO / "params.yaml", ["train.top_k=0"])
