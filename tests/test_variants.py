"""Contract over the registry: every variant x architecture builds tiny, trains two CPU steps
with finite losses, round-trips a checkpoint and samples. A newly registered variant is covered
here without new test code."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganpipe.checkpoint import load_checkpoint, make_checkpoint, save_checkpoint, variant_from_checkpoint
from ganpipe.cli import main
from ganpipe.config import PipelineSpec, load_config
from ganpipe.loop import Callback, TrainingState, train_loop
from ganpipe.sampling import generate, sampling_net, translate
from ganpipe.variants import VARIANTS, build_variant

REPO = Path(__file__).resolve().parents[1]
TINY = ["model.z_dim=4", "model.g_width=4", "model.d_width=4", "model.mlp_width=16", "model.mlp_depth=1",
        "train.batch_size=8", "train.num_workers=1", "train.steps=2", "train.progress=false", "data.image_size=8"]
SHAPES = {"image": (1, 8, 8), "points": (2,)}
CASES = [(v, arch, kind) for v in VARIANTS for arch in VARIANTS[v].generator_archs for kind in SHAPES
         if not (arch == "dcgan" and kind == "points")
         and not (VARIANTS[v].translates and kind != "image")]  # translation: image pairs, U-Net or ResNet G


class Record(Callback):
    def __init__(self) -> None:
        self.stats: list[dict[str, float]] = []

    def on_step(self, state: TrainingState, stats: dict[str, float]) -> None:
        self.stats.append(stats)


@pytest.mark.parametrize(("name", "arch", "kind"), CASES, ids=[f"{v}-{a}-{k}" for v, a, k in CASES])
def test_variant_contract(tmp_path: Path, name: str, arch: str, kind: str) -> None:
    pipeline = PipelineSpec(variant=name, dataset="digits")
    config = load_config(REPO / "params.yaml", [*TINY, f"model.arch={arch}"], pipeline)
    torch.manual_seed(0)
    variant = build_variant(name, config, SHAPES[kind], num_classes=3, input_shape=SHAPES[kind])
    nets = variant.build_nets()
    state = TrainingState(variant, nets, variant.build_optimizers(nets, config.train))
    # every kind of training array a variant may draw: images or points, labels, A-domain inputs
    data = {"x": torch.rand(32, *SHAPES[kind]) * 2 - 1, "y": torch.arange(32) % 3, "a": torch.rand(32, *SHAPES[kind]) * 2 - 1}
    record = Record()
    train_loop(state, data, config.train, callbacks=[record])
    assert state.step == 2 and len(record.stats) == 2
    assert all(torch.isfinite(torch.tensor(list(s.values()))).all() for s in record.stats)

    path = tmp_path / "checkpoint.pt"
    save_checkpoint(make_checkpoint(state, config, pipeline), path)
    restored_variant, restored = variant_from_checkpoint(load_checkpoint(path))
    for key in nets:
        for a, b in zip(restored[key].state_dict().values(), nets[key].state_dict().values()):
            assert torch.equal(a, b)
    if restored_variant.translates:
        outputs = translate(restored_variant, sampling_net(restored), data["a"][:5])
        assert outputs.shape == (5, *SHAPES[kind]) and torch.isfinite(outputs).all()
        assert torch.equal(outputs, translate(restored_variant, sampling_net(restored), data["a"][:5]))
        return
    samples = generate(restored_variant, sampling_net(restored), 5, seed=1)
    assert samples.shape == (5, *SHAPES[kind])
    assert torch.equal(samples, generate(restored_variant, sampling_net(restored), 5, seed=1))


def test_variants_command_lists_the_family(capsys) -> None:
    assert main(["variants"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines][:6] == ["gan", "dcgan", "lsgan", "wgan", "wgan_gp", "sngan"]
    assert "cgan" in [line.split()[0] for line in lines]
    assert all("20" in line for line in lines)  # each cites its paper's year


def test_paper_defaults_come_from_params() -> None:
    wgan = load_config(REPO / "params.yaml", [], PipelineSpec(variant="wgan", dataset="digits"))
    assert (wgan.train.optimizer, wgan.train.lr, wgan.train.n_critic, wgan.train.clip_value) == ("rmsprop", 5e-5, 5, 0.01)
    gp = load_config(REPO / "params.yaml", ["train.lr=0.001"], PipelineSpec(variant="wgan_gp", dataset="ring8"))
    assert (gp.train.gp_weight, gp.train.beta1, gp.model.d_norm) == (10.0, 0.0, "layer")
    assert gp.train.lr == 0.001  # --set wins over variant and dataset settings
    assert gp.train.r1_weight == 0.0  # ring8 recommendation is for gan only
    recommended = load_config(REPO / "params.yaml", [], PipelineSpec(variant="gan", dataset="ring8"))
    assert recommended.train.r1_weight == 1.0 and recommended.model.z_dim == 2 and recommended.registry.metric == "mode_score"
