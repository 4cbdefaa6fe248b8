"""DiffAugment (Zhao et al. 2020): the transforms, and that D sees them on real and fake alike."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganpipe.augment import POLICIES, diff_augment, random_cutout, random_translation
from ganpipe.config import PipelineSpec, load_config
from ganpipe.config.schema import DIFF_AUGMENT_TRANSFORMS
from ganpipe.errors import ConfigError
from ganpipe.variants import build_variant

REPO = Path(__file__).resolve().parents[1]
SMALL = ["model.g_width=8", "model.d_width=8", "model.z_dim=4", "train.num_workers=1", "train.batch_size=8"]


def image_variant(*overrides: str, name: str = "dcgan"):
    config = load_config(REPO / "params.yaml", [*SMALL, *overrides], PipelineSpec(variant=name, dataset="digits"))
    return build_variant(name, config, (1, 16, 16)), config


def test_config_and_module_name_the_same_transforms() -> None:
    assert tuple(POLICIES) == DIFF_AUGMENT_TRANSFORMS


def test_translation_shifts_whole_images_by_at_most_an_eighth() -> None:
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 7, 7] = 1.0  # one lit pixel per image: where it lands is the shift
    moved = random_translation(x)
    assert moved.sum().item() == 64  # a 2-pixel shift never pushes the centre pixel off the image
    rows, cols = moved[:, 0].flatten(1).argmax(1) // 16, moved[:, 0].flatten(1).argmax(1) % 16
    assert (rows - 7).abs().max() <= 2 and (cols - 7).abs().max() <= 2
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 5  # drawn per sample


def test_cutout_zeroes_one_square_of_half_the_side() -> None:
    torch.manual_seed(0)
    x = torch.ones(32, 3, 16, 16)
    cut = random_cutout(x)
    zeroed = (cut == 0).all(dim=1)  # every channel of a cut pixel
    assert torch.equal(zeroed, (cut == 0).any(dim=1))
    assert all(16 <= n <= 64 for n in zeroed.flatten(1).sum(1).tolist())  # 8x8, less where it crosses an edge
    assert zeroed.flatten(1).sum(1).max() == 64


def test_transforms_pass_gradients_to_the_generator() -> None:
    fake = torch.randn(4, 3, 16, 16, requires_grad=True)
    diff_augment(fake, "color,translation,cutout").sum().backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0


def test_real_and_fake_d_inputs_are_augmented() -> None:
    variant, _ = image_variant("train.diff_augment=translation,cutout")
    x = torch.ones(16, 1, 16, 16)
    torch.manual_seed(0)
    real = variant.real_d_input({"x": x}, step=0)
    fake = variant.fake_d_input(x, torch.zeros(16, 4), step=0)
    assert (real == 0).any() and (fake == 0).any() and not torch.equal(real, fake)
    plain, _ = image_variant()
    assert torch.equal(plain.real_d_input({"x": x}, step=0), x)


def test_unknown_transform_and_non_image_data_are_refused() -> None:
    with pytest.raises(ConfigError, match="train.diff_augment.*'rotate'"):
        image_variant("train.diff_augment=translation,rotate")
    config = load_config(REPO / "params.yaml", ["train.diff_augment=translation"], PipelineSpec(variant="gan", dataset="ring8"))
    with pytest.raises(ConfigError, match="train.diff_augment='translation'.*shape \\(2,\\)"):
        build_variant("gan", config, (2,))
    config = load_config(REPO / "params.yaml", ["train.diff_augment=cutout"], PipelineSpec(variant="pix2pix", dataset="edges2digits"))
    with pytest.raises(ConfigError, match="train.diff_augment"):
        build_variant("pix2pix", config, (1, 16, 16), input_shape=(1, 16, 16))
