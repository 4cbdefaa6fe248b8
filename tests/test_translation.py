"""Pix2Pix and image translation: nets, loss, scores against ground truth and `ganpipe translate`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganpipe.checkpoint import make_checkpoint, save_checkpoint
from ganpipe.cli import main
from ganpipe.config import PipelineSpec, load_config
from ganpipe.loop import TrainingState
from ganpipe.metrics.translation import paired_scores
from ganpipe.nets.pix2pix import PatchDiscriminator, UNetGenerator
from ganpipe.variants import build_variant

REPO = Path(__file__).resolve().parents[1]
TINY = ["model.g_width=4", "model.d_width=4", "train.num_workers=1", "train.batch_size=4", "data.image_size=16"]


def tiny_pix2pix(*overrides: str):
    config = load_config(REPO / "params.yaml", [*TINY, *overrides], PipelineSpec(variant="pix2pix", dataset="edges2digits"))
    torch.manual_seed(0)
    return config, build_variant("pix2pix", config, (1, 16, 16), num_classes=10, input_shape=(1, 16, 16))


def test_patchgan_matches_the_paper_at_256_and_shrinks_with_the_image() -> None:
    # The paper's 70x70 PatchGAN gives a 30x30 map of logits on 256x256 pairs.
    assert PatchDiscriminator(2, 256, 4)(torch.zeros(1, 2, 256, 256)).shape == (1, 1, 30, 30)
    assert PatchDiscriminator(2, 32, 4)(torch.zeros(1, 2, 32, 32)).shape == (1, 1, 14, 14)


def test_patch_layers_widen_the_receptive_field() -> None:
    _, default = tiny_pix2pix("data.image_size=32")
    _, wide = tiny_pix2pix("data.image_size=32", "model.patch_layers=3")
    pair = torch.zeros(2, 2, 32, 32)
    # Three stride-2 layers (the paper's 70x70 patch) leave a 2x2 map at 32x32: each logit sees the whole pair.
    assert default.discriminator(2)(pair).shape == (2, 1, 14, 14)
    assert wide.discriminator(2)(pair).shape == (2, 1, 2, 2)


def test_model_arch_picks_the_translator_and_is_checked() -> None:
    from ganpipe.errors import ConfigError
    from ganpipe.nets.pix2pix import ResNetGenerator

    def build(variant: str, size: int, *overrides: str):
        config = load_config(REPO / "params.yaml", [*TINY, f"data.image_size={size}", *overrides],
                             PipelineSpec(variant=variant, dataset="edges2digits"))
        return build_variant(variant, config, (1, size, size), input_shape=(1, size, size))

    assert isinstance(build("pix2pix", 128).build_nets()["G"], UNetGenerator)  # the paper's U-Net at any size
    assert isinstance(build("cyclegan", 128).build_nets()["G"], ResNetGenerator)
    assert isinstance(build("cyclegan", 16).build_nets()["G"], UNetGenerator)
    assert isinstance(build("cyclegan", 16, "model.arch=resnet").build_nets()["G_BA"], ResNetGenerator)
    assert isinstance(build("pix2pix", 16, "model.arch=resnet").build_nets()["G"], ResNetGenerator)
    with pytest.raises(ConfigError, match="model.arch='dcgan': variant pix2pix takes auto | unet | resnet"):
        build("pix2pix", 16, "model.arch=dcgan")
    config = load_config(REPO / "params.yaml", ["model.arch=unet"], PipelineSpec(variant="dcgan", dataset="digits"))
    with pytest.raises(ConfigError, match="model.arch='unet': variant dcgan takes auto | dcgan | mlp"):
        build_variant("dcgan", config, (1, 32, 32))


def test_unet_goes_down_to_1x1_and_feeds_each_level_its_mirror() -> None:
    from ganpipe.nets.pix2pix import UNetBlock

    G = UNetGenerator(1, 1, 16, 4).eval()
    seen: list[tuple[int, ...]] = []
    for block in G.modules():
        if isinstance(block, UNetBlock) and not block.outermost:
            block.register_forward_hook(lambda module, args, out: seen.append((args[0].shape[1], out.shape[1], out.shape[-1])))
    assert G(torch.rand(2, 1, 16, 16) * 2 - 1).shape == (2, 1, 16, 16)
    # innermost first: each block returns its input concatenated with its output (the skip)
    assert [size for _, _, size in seen] == [2, 4, 8]  # 16 -> 8 -> 4 -> 2 -> 1 -> back up
    assert all(out == 2 * inp for inp, out, _ in seen)


def test_generator_loss_adds_lambda_times_l1() -> None:
    config, variant = tiny_pix2pix()
    assert config.train.l1_weight == 100.0  # the paper's lambda, from params.yaml variants.pix2pix
    nets = variant.build_nets()
    batch = {"a": torch.rand(4, 1, 16, 16) * 2 - 1, "x": torch.rand(4, 1, 16, 16) * 2 - 1}
    nets["G"].eval()  # no dropout: the same G output twice
    loss, stats = variant.generator_loss(nets, batch, variant.sample_noise(4, None, torch.device("cpu")), 0)
    assert torch.allclose(loss, stats["G/adv"] + 100.0 * stats["G/l1"])
    assert torch.allclose(stats["G/l1"], (nets["G"](batch["a"]) - batch["x"]).abs().mean())


def test_paired_scores_against_hand_computed_values() -> None:
    truth = torch.full((2, 1, 16, 16), -1.0)
    outputs = truth + 0.2  # 0.1 in [0, 1] units everywhere
    scores = paired_scores(outputs, truth)
    assert scores["l1"] == pytest.approx(0.1, rel=1e-5)
    assert scores["psnr"] == pytest.approx(10 * math.log10(1 / 0.01), rel=1e-4)
    assert paired_scores(truth, truth)["ssim"] == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError, match="differ in shape"):
        paired_scores(outputs[:1], truth)


@pytest.fixture()
def checkpoint(tmp_path: Path) -> Path:
    config, variant = tiny_pix2pix()
    nets = variant.build_nets()
    state = TrainingState(variant, nets, variant.build_optimizers(nets, config.train))
    path = tmp_path / "pix2pix.pt"
    save_checkpoint(make_checkpoint(state, config, PipelineSpec(variant="pix2pix", dataset="edges2digits")), path)
    return path


def write_png(path: Path, size: tuple[int, int], mode: str = "L") -> None:
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (size[1], size[0], *(() if mode == "L" else (3,))), dtype=np.uint8)).save(path)


def test_translate_writes_one_png_per_input_under_its_name(tmp_path: Path, checkpoint: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_png(inputs / "first.png", (40, 24))
    write_png(inputs / "second.jpg", (16, 16), mode="RGB")
    (inputs / "notes.txt").write_text("not an image, and not an image extension: ignored")
    assert main(["translate", "--model", str(checkpoint), "--input", str(inputs), "--out", str(tmp_path / "out")]) == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["first.png", "second.png"]
    assert Image.open(tmp_path / "out" / "first.png").size == (16, 16)


def test_translate_refuses_a_corrupt_image_before_writing_anything(tmp_path: Path, checkpoint: Path, capsys) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_png(inputs / "good.png", (16, 16))
    (inputs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    assert main(["translate", "--model", str(checkpoint), "--input", str(inputs), "--out", str(tmp_path / "out")]) != 0
    assert "broken.png" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_translate_refuses_what_the_model_cannot_do(tmp_path: Path, checkpoint: Path, capsys) -> None:
    write_png(tmp_path / "a.png", (16, 16))
    args = ["translate", "--model", str(checkpoint), "--input", str(tmp_path / "a.png"), "--out", str(tmp_path / "out")]
    assert main([*args, "--direction", "BtoA"]) != 0
    assert "A to B only" in capsys.readouterr().err
    assert main(["translate", "--model", str(checkpoint), "--input", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) != 0
    assert "missing: no such file or folder" in capsys.readouterr().err


def test_pix2pix_needs_a_dataset_with_a_images() -> None:
    from ganpipe.data.prepared import PreparedData
    from ganpipe.errors import ConfigError
    from ganpipe.variants import get_variant

    single_domain = PreparedData(np.zeros((2, 1, 8, 8), np.float32), np.zeros(2, np.int64), np.zeros((1, 1, 8, 8), np.float32),
                                 np.zeros(1, np.int64), manifest={"dataset": "digits"})
    with pytest.raises(ConfigError, match="'digits' has only one domain"):
        get_variant("pix2pix").training_arrays(single_domain)


# --- CycleGAN ----------------------------------------------------------------------------------

def tiny_cyclegan(*overrides: str):
    config = load_config(REPO / "params.yaml", [*TINY, "train.pool_size=3", *overrides],
                         PipelineSpec(variant="cyclegan", dataset="edges2digits_unpaired"))
    torch.manual_seed(0)
    variant = build_variant("cyclegan", config, (1, 16, 16), num_classes=10, input_shape=(1, 16, 16))
    nets = variant.build_nets()
    return config, TrainingState(variant, nets, variant.build_optimizers(nets, config.train))


def unpaired_data() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    return {"a": torch.rand(20, 1, 16, 16, generator=generator) * 2 - 1, "x": torch.rand(12, 1, 16, 16, generator=generator) * 2 - 1}


def test_cyclegan_paper_defaults_and_four_nets() -> None:
    config, state = tiny_cyclegan()
    assert (config.train.cycle_weight, config.train.identity_weight, config.train.lr_schedule) == (10.0, 0.5, "linear_decay")
    assert config.model.d_norm == "instance"
    assert set(state.nets) == {"G", "G_BA", "D", "D_A"}
    g_params = {id(p) for p in state.optimizers["G"].param_groups[0]["params"]}
    assert g_params == {id(p) for name in ("G", "G_BA") for p in state.nets[name].parameters()}


def test_history_pool_fills_then_mixes_old_and_new() -> None:
    from ganpipe.variants.cyclegan import ImagePool

    torch.manual_seed(0)
    pool = ImagePool(4)
    first = torch.arange(4.0).view(4, 1)
    assert torch.equal(pool.query(first), first)  # filling: every fake passes through
    second = torch.arange(10.0, 18.0).view(8, 1)
    out = pool.query(second)
    from_history = [value for value in out.flatten().tolist() if value < 10]
    assert 0 < len(from_history) < 8  # about half come from the history...
    assert len(pool.images) == 4  # ...and the pool keeps its size
    assert torch.equal(ImagePool(0).query(second), second)


def test_cyclegan_resume_equals_uninterrupted_pools_included(tmp_path: Path) -> None:
    from ganpipe.checkpoint import load_checkpoint, restore_state
    from ganpipe.loop import Callback, train_loop

    data = unpaired_data()
    config, uninterrupted = tiny_cyclegan("train.steps=6")
    train_loop(uninterrupted, data, config.train)

    class StopAt(Callback):
        def should_stop(self, state: TrainingState) -> bool:
            return state.step == 3

    _, first_half = tiny_cyclegan("train.steps=6")
    train_loop(first_half, data, config.train, callbacks=[StopAt()])
    assert len(first_half.variant.pools["B"].images) == 3
    path = tmp_path / "cyclegan.pt"
    save_checkpoint(make_checkpoint(first_half, config, PipelineSpec(variant="cyclegan", dataset="edges2digits_unpaired")), path)
    assert torch.load(path, weights_only=True)["variant_state"]["pool_A"].shape == (3, 1, 16, 16)

    torch.manual_seed(999)
    _, resumed = tiny_cyclegan("train.steps=6")
    restore_state(resumed, load_checkpoint(path))
    train_loop(resumed, data, config.train)
    for name in uninterrupted.nets:
        for a, b in zip(resumed.nets[name].state_dict().values(), uninterrupted.nets[name].state_dict().values()):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_cyclegan_translates_both_ways(tmp_path: Path) -> None:
    config, state = tiny_cyclegan()
    path = tmp_path / "cyclegan.pt"
    save_checkpoint(make_checkpoint(state, config, PipelineSpec(variant="cyclegan", dataset="edges2digits_unpaired")), path)
    write_png(tmp_path / "b.png", (16, 16))
    for direction in ("AtoB", "BtoA"):
        out = tmp_path / direction
        assert main(["translate", "--model", str(path), "--input", str(tmp_path / "b.png"), "--out", str(out), "--direction", direction]) == 0
        assert (out / "b.png").is_file()
