"""The conditional GAN: labels reach G and D, and a trained model makes the class it is asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganpipe.checkpoint import make_checkpoint, save_checkpoint
from ganpipe.cli import main
from ganpipe.config import PipelineSpec, load_config
from ganpipe.errors import ConfigError
from ganpipe.loop import TrainingState, train_loop
from ganpipe.sampling import generate
from ganpipe.variants import build_variant

REPO = Path(__file__).resolve().parents[1]
SMALL = ["model.mlp_width=64", "model.mlp_depth=2", "model.z_dim=4", "train.num_workers=1", "train.batch_size=64",
         "train.progress=false"]
CENTRES = torch.tensor([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.0]])


def config_for(*overrides: str, dataset: str = "ring8"):
    return load_config(REPO / "params.yaml", [*SMALL, *overrides], PipelineSpec(variant="cgan", dataset=dataset))


def test_label_reaches_g_and_d_inputs() -> None:
    image = build_variant("cgan", config_for("model.arch=dcgan", "data.image_size=8", "model.g_width=4",
                                              "model.d_width=4", dataset="digits"), (1, 8, 8), num_classes=10)
    assert image.latent_dim == 4 + 10 and image.d_input_shape == (11, 8, 8)
    z = image.sample_noise(3, torch.Generator().manual_seed(0), torch.device("cpu"), labels=torch.tensor([0, 7, 9]))
    assert torch.equal(image.labels_of(z).argmax(dim=1), torch.tensor([0, 7, 9]))
    real = image.with_label(torch.zeros(3, 1, 8, 8), image.labels_of(z))
    assert real.shape == (3, 11, 8, 8) and torch.equal(real[:, 1:, 4, 4], image.labels_of(z))
    points = build_variant("cgan", config_for(), (2,), num_classes=3)
    assert points.d_input_shape == (5,)


def test_unlabelled_data_is_refused_naming_the_variant() -> None:
    with pytest.raises(ConfigError, match="cgan needs labelled data"):
        build_variant("cgan", config_for(), (2,), num_classes=0)


def test_fakes_against_a_batch_carry_its_labels() -> None:
    variant = build_variant("cgan", config_for(), (2,), num_classes=3)
    z = variant.sample_noise(4, torch.Generator().manual_seed(0), torch.device("cpu"))
    conditioned = variant.conditioned_noise(z, {"x": torch.zeros(4, 2), "y": torch.tensor([2, 2, 1, 0])})
    assert torch.equal(conditioned[:, :4], z[:, :4])
    assert torch.equal(variant.labels_of(conditioned).argmax(dim=1), torch.tensor([2, 2, 1, 0]))


def trained_three_mode_cgan():
    config = config_for("train.steps=600", "train.lr=0.001")
    torch.manual_seed(0)
    labels = torch.arange(3000) % 3
    data = {"x": CENTRES[labels] + 0.05 * torch.randn(3000, 2), "y": labels}
    variant = build_variant("cgan", config, (2,), num_classes=3)
    nets = variant.build_nets()
    state = TrainingState(variant, nets, variant.build_optimizers(nets, config.train))
    train_loop(state, data, config.train)
    return config, state


@pytest.fixture(scope="module")
def three_mode_cgan():
    return trained_three_mode_cgan()


def test_trained_cgan_makes_the_class_it_is_asked_for(three_mode_cgan) -> None:
    _, state = three_mode_cgan
    asked = torch.arange(300) % 3
    samples = generate(state.variant, state.nets["G"], 300, seed=5, labels=asked)
    nearest = torch.cdist(samples, CENTRES).argmin(dim=1)
    assert (nearest == asked).float().mean() > 0.9


def test_sample_label_flag(tmp_path: Path, three_mode_cgan, capsys) -> None:
    config, state = three_mode_cgan
    checkpoint = tmp_path / "cgan.pt"
    save_checkpoint(make_checkpoint(state, config, PipelineSpec(variant="cgan", dataset="ring8")), checkpoint)
    out = tmp_path / "two.npy"
    assert main(["sample", "--model", str(checkpoint), "-n", "50", "--label", "2", "--out", str(out)]) == 0
    samples = torch.from_numpy(np.load(out))
    assert (torch.cdist(samples, CENTRES).argmin(dim=1) == 2).float().mean() > 0.9
    capsys.readouterr()
    assert main(["sample", "--model", str(checkpoint), "-n", "5", "--label", "3", "--out", str(out)]) != 0
    error = capsys.readouterr().err
    assert "--label 3" in error and "0..2" in error


def test_label_flag_on_an_unconditional_model_is_refused(tmp_path: Path, capsys) -> None:
    config = load_config(REPO / "params.yaml", SMALL, PipelineSpec(variant="gan", dataset="ring8"))
    variant = build_variant("gan", config, (2,))
    nets = variant.build_nets()
    checkpoint = tmp_path / "gan.pt"
    state = TrainingState(variant, nets, variant.build_optimizers(nets, config.train))
    save_checkpoint(make_checkpoint(state, config, PipelineSpec(variant="gan", dataset="ring8")), checkpoint)
    assert main(["sample", "--model", str(checkpoint), "-n", "5", "--label", "1", "--out", str(tmp_path / "x.npy")]) != 0
    assert "not conditional" in capsys.readouterr().err
    assert not (tmp_path / "x.npy").exists()


def test_acgan_d_predicts_the_class_instead_of_seeing_it() -> None:
    variant = build_variant("cgan", config_for("model.auxiliary_classifier=true"), (2,), num_classes=3)
    assert variant.d_input_shape == (2,) and variant.d_class_outputs == 3
    nets = variant.build_nets()
    assert nets["D"](torch.zeros(5, 2)).shape == (5, 4)  # real/fake logit, then 3 class logits
    batch = {"x": torch.zeros(4, 2), "y": torch.tensor([0, 1, 2, 0])}
    z = variant.sample_noise(4, torch.Generator().manual_seed(0), torch.device("cpu"))
    loss, stats = variant.discriminator_loss(nets, batch, z, 0)
    assert torch.isfinite(loss) and stats["D/class_ce"] > 0
    with pytest.raises(ConfigError, match="auxiliary_classifier=true: not combined with train.r1_weight"):
        build_variant("cgan", config_for("model.auxiliary_classifier=true", "train.r1_weight=1"), (2,), num_classes=3)


def test_trained_acgan_makes_the_class_it_is_asked_for() -> None:
    config = config_for("train.steps=600", "train.lr=0.001", "model.auxiliary_classifier=true")
    torch.manual_seed(0)
    labels = torch.arange(3000) % 3
    data = {"x": CENTRES[labels] + 0.05 * torch.randn(3000, 2), "y": labels}
    variant = build_variant("cgan", config, (2,), num_classes=3)
    nets = variant.build_nets()
    train_loop(TrainingState(variant, nets, variant.build_optimizers(nets, config.train)), data, config.train)
    asked = torch.arange(300) % 3
    samples = generate(variant, nets["G"], 300, seed=5, labels=asked)
    assert (torch.cdist(samples, CENTRES).argmin(dim=1) == asked).float().mean() > 0.9
