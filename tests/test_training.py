"""DCGAN nets, the training loop, and exact resume from a self-describing checkpoint."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from ganpipe.checkpoint import load_checkpoint, make_checkpoint, restore_state, save_checkpoint
from ganpipe.config import Config, DataConfig, ModelConfig, PipelineSpec, TrainConfig
from ganpipe.errors import GanpipeError
from ganpipe.loop import Callback, TrainingState, to_channels_last, train_loop
from ganpipe.nets.classifier import DigitsClassifier
from ganpipe.nets.dcgan import DCGANBody, DCGANGenerator
from ganpipe.variants import build_variant

PIPELINE = PipelineSpec(variant="dcgan", dataset="digits")


@pytest.mark.parametrize("size", [8, 16, 32, 64])
def test_dcgan_shapes(size: int) -> None:
    G, body = DCGANGenerator(16, size, 3, 8), DCGANBody(size, 3, 8)
    images = G(torch.randn(5, 16))
    assert images.shape == (5, 3, size, size)
    assert images.abs().max() <= 1
    assert body(images).shape == (5, body.feature_dim)


def test_dcgan_architecture_follows_the_paper() -> None:
    G, body = DCGANGenerator(16, 32, 1, 8), DCGANBody(32, 1, 8)
    assert isinstance(G.net[-1], torch.nn.Tanh)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules())
    assert not isinstance(body.net[1], torch.nn.BatchNorm2d)  # none on D's input layer
    assert all(m.negative_slope == 0.2 for m in body.modules() if isinstance(m, torch.nn.LeakyReLU))


def test_extra_layers_add_stride_one_convolutions_without_changing_shapes() -> None:
    def stride_one_convs(net: torch.nn.Module) -> list[torch.nn.Conv2d]:
        return [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.stride == (1, 1)]

    G, body = DCGANGenerator(16, 16, 3, 8, extra_layers=2), DCGANBody(16, 3, 8, "none", extra_layers=2)
    assert [(c.in_channels, c.kernel_size) for c in stride_one_convs(G)] == [(8, (3, 3))] * 2
    assert [(c.in_channels, c.kernel_size) for c in stride_one_convs(body)] == [(8, (3, 3))] * 2
    assert not stride_one_convs(DCGANGenerator(16, 16, 3, 8)) and not stride_one_convs(DCGANBody(16, 3, 8))
    images = G(torch.randn(4, 16))
    assert images.shape == (4, 3, 16, 16)
    assert body(images).shape == (4, DCGANBody(16, 3, 8).feature_dim)
    # from the config, and spectrally normalised like every other layer of an sngan D
    config = Config(data=DataConfig(image_size=16), model=ModelConfig(
        z_dim=8, g_width=8, d_width=8, extra_layers=1, spectral_norm=True, d_norm="none"))
    nets = build_variant("sngan", config, (3, 16, 16)).build_nets()
    (g_extra,), (d_extra,) = stride_one_convs(nets["G"]), stride_one_convs(nets["D"])
    assert torch.nn.utils.parametrize.is_parametrized(d_extra, "weight")
    assert not torch.nn.utils.parametrize.is_parametrized(g_extra, "weight")


def test_d_stage_layers_add_a_stride_one_convolution_at_the_input_and_after_every_stage() -> None:
    body = DCGANBody(16, 3, 8, "none", stage_layers=1)
    convs = [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in body.modules() if isinstance(c, torch.nn.Conv2d)]
    assert convs == [(3, 8, (3, 3), (1, 1)), (8, 8, (4, 4), (2, 2)), (8, 8, (3, 3), (1, 1)),
                     (8, 16, (4, 4), (2, 2)), (16, 16, (3, 3), (1, 1))]
    images = torch.randn(4, 3, 16, 16)
    assert body(images).shape == (4, DCGANBody(16, 3, 8).feature_dim)
    two = [c for c in DCGANBody(16, 3, 8, "none", stage_layers=2).modules() if isinstance(c, torch.nn.Conv2d)]
    assert len(two) == 1 + 2 * (1 + 2)  # the input layer, then per stage its stride-2 layer and two more
    # from the config: D only (G keeps its shape), spectrally normalised like the rest of an sngan D
    config = Config(data=DataConfig(image_size=16), model=ModelConfig(
        z_dim=8, g_width=8, d_width=8, d_stage_layers=1, spectral_norm=True, d_norm="none"))
    nets = build_variant("sngan", config, (3, 16, 16)).build_nets()
    d_convs = [m for m in nets["D"].modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(d_convs) == 5 and all(torch.nn.utils.parametrize.is_parametrized(c, "weight") for c in d_convs)
    assert not [m for m in nets["G"].modules() if isinstance(m, torch.nn.Conv2d) and m.stride == (1, 1)]


def tiny_config(steps: int, **train: object) -> Config:
    return Config(
        data=DataConfig(image_size=16),
        model=ModelConfig(z_dim=8, g_width=8, d_width=8),
        train=TrainConfig(steps=steps, batch_size=16, num_workers=1, progress=False, **train),
    )


def new_state(config: Config) -> TrainingState:
    torch.manual_seed(config.train.seed)
    variant = build_variant("dcgan", config, (1, 16, 16))
    nets = variant.build_nets()
    return TrainingState(variant, nets, variant.build_optimizers(nets, config.train))


def fake_images(n: int = 64) -> torch.Tensor:
    return torch.rand(n, 1, 16, 16, generator=torch.Generator().manual_seed(3)) * 2 - 1


@pytest.mark.parametrize("extra", [{}, {"ema": 0.9, "instance_noise": 0.1}, {"diff_augment": "translation,cutout"},
                                   {"lr_schedule": "linear_decay"}, {"precision": "fp16"},
                                   {"precision": "bf16", "channels_last": True}])
def test_resume_equals_uninterrupted(tmp_path: Path, extra: dict) -> None:
    k = 5
    images = fake_images()
    uninterrupted_config = tiny_config(2 * k, **extra)
    uninterrupted = new_state(uninterrupted_config)
    train_loop(uninterrupted, images, uninterrupted_config.train)

    class StopAt(Callback):  # the run is interrupted after k of its 2k steps
        def should_stop(self, state: TrainingState) -> bool:
            return state.step == k

    first_half = new_state(uninterrupted_config)
    train_loop(first_half, images, uninterrupted_config.train, callbacks=[StopAt()])
    assert first_half.step == k
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(make_checkpoint(first_half, uninterrupted_config, PIPELINE), path)

    torch.manual_seed(999)  # a different process state must not matter
    resumed = new_state(uninterrupted_config)
    restore_state(resumed, load_checkpoint(path))
    assert resumed.step == k
    train_loop(resumed, images, uninterrupted_config.train)
    assert resumed.step == 2 * k
    for name in uninterrupted.nets:
        for a, b in zip(resumed.nets[name].state_dict().values(), uninterrupted.nets[name].state_dict().values()):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_mixed_precision_trains_and_keeps_its_loss_scale(tmp_path: Path) -> None:
    config = tiny_config(4, precision="fp16", channels_last=True)
    state = new_state(config)
    to_channels_last(state.nets)  # as the Ray worker does, before DDP
    train_loop(state, fake_images(), config.train)
    assert set(state.scalers) == {"D", "G"} and state.scalers["G"].get_scale() > 0
    assert all(torch.isfinite(p).all() for net in state.nets.values() for p in net.parameters())
    conv = next(m for m in state.nets["G"].modules() if isinstance(m, torch.nn.ConvTranspose2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    path = tmp_path / "c.pt"
    save_checkpoint(make_checkpoint(state, config, PIPELINE), path)
    assert torch.load(path, weights_only=True)["scalers"]["G"]["scale"] == state.scalers["G"].get_scale()


def test_fp16_refuses_gradient_penalties() -> None:
    with pytest.raises(ValueError, match="train.precision=fp16: the gradient penalties"):
        TrainConfig(precision="fp16", gp_weight=10.0)


def test_throughput_counts_the_global_batch_after_the_warm_up() -> None:
    from ganpipe.stats import Throughput

    throughput = Throughput(global_batch=32, warmup=2)
    state = SimpleNamespace(step=0)
    assert throughput.images_per_s == 0.0
    for _ in range(2):
        throughput.on_step(state, {})
    time.sleep(0.05)
    throughput.on_step(state, {})
    throughput.on_step(state, {})
    assert 0 < throughput.images_per_s < 2 * 32 / 0.05


def test_checkpoint_loads_with_weights_only(tmp_path: Path) -> None:
    state = new_state(tiny_config(1))
    path = tmp_path / "c.pt"
    save_checkpoint(make_checkpoint(state, tiny_config(1), PIPELINE), path)
    raw = torch.load(path, weights_only=True)
    assert raw["pipeline"] == {"variant": "dcgan", "dataset": "digits"} and raw["config"]["train"]["steps"] == 1


def test_corrupt_checkpoint_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(GanpipeError, match="broken.pt: not a readable checkpoint"):
        load_checkpoint(path)
    with pytest.raises(GanpipeError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "absent.pt")


def test_linear_decay_schedule() -> None:
    from ganpipe.loop import learning_rate_factor

    train = TrainConfig(steps=100, lr_schedule="linear_decay", decay_start=0.5, num_workers=1)
    assert [learning_rate_factor(train, s) for s in (0, 49, 50, 75, 100)] == [1.0, 1.0, 1.0, 0.5, 0.0]
    assert learning_rate_factor(TrainConfig(num_workers=1), 10_000) == 1.0


def test_loss_curve_csv_round_trips(tmp_path) -> None:
    import csv

    from ganpipe.stats import write_loss_csv

    records = [{"step": 10, "loss/D": 1.25, "loss/G": 0.5}, {"step": 20, "loss/D": 1.0, "loss/G": 0.75, "D/gp": 0.125}]
    path = tmp_path / "curves" / "x.csv"
    write_loss_csv(records, path)
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == ["step", "D/gp", "loss/D", "loss/G"]
    assert rows[0] == {"step": "10", "D/gp": "", "loss/D": "1.25", "loss/G": "0.5"}
    assert float(rows[1]["D/gp"]) == 0.125


def test_loss_log_averages_a_sometimes_reported_stat_over_its_own_steps() -> None:
    from types import SimpleNamespace

    from ganpipe.stats import LossLog

    log = LossLog(every=4)
    for step in range(1, 5):
        log.on_step(SimpleNamespace(step=step), {"loss/D": float(step), **({"D/r1": 2.0} if step % 2 else {})})
    assert log.records == [{"step": 4, "loss/D": 2.5, "D/r1": 2.0}]


# --- the best probed step (eval.every) -----------------------------------------------------------

def test_best_probed_checkpoint_keeps_the_best_step_and_probing_changes_no_update() -> None:
    import io

    from ganpipe.checkpoint import parameter_fingerprint
    from ganpipe.metrics.probe import BestProbedCheckpoint, Probe

    scripted = iter([5.0, 2.0, 3.0, 4.0])  # FID at steps 3, 6, 9 and the last step 10: best at 6

    class ScriptedProbe(Probe):
        def score(self, variant, G):  # the real one samples G; this one also reads it, then scores by script
            Probe.score(self, variant, G)
            return {"fid": next(scripted)}

    images = fake_images()
    config = tiny_config(10)
    probe = ScriptedProbe("fid", "minimize", "images", 32, 0, real=images[:32].numpy(),
                          classifier=DigitsClassifier(16, 1, 10).eval())
    best = BestProbedCheckpoint(probe, every=3, last_step=10, make_checkpoint=lambda s: make_checkpoint(s, config, PIPELINE))
    probed = new_state(config)
    train_loop(probed, images, config.train, callbacks=[best])
    assert [row["step"] for row in best.curve] == [3, 6, 9, 10]
    assert (best.best_step, best.best_score) == (6, 2.0)

    plain = new_state(config)
    train_loop(plain, images, config.train)
    assert parameter_fingerprint(plain.nets["G"]) == parameter_fingerprint(probed.nets["G"])  # probing changed nothing

    class StopAt6(Callback):
        def should_stop(self, state: TrainingState) -> bool:
            return state.step == 6

    at_six = new_state(config)
    train_loop(at_six, images, config.train, callbacks=[StopAt6()])
    saved = torch.load(io.BytesIO(best.best_bytes), weights_only=True)
    assert saved["step"] == 6
    for key, tensor in at_six.nets["G"].state_dict().items():
        assert torch.equal(saved["nets"]["G"][key], tensor), key
