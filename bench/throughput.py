"""Training throughput: ganpipe's loop and Ray Train against a bare PyTorch loop, and FID's cost.

The same DCGAN (ganpipe's nets, digits at 32x32), the same global batch and the same updates
(Goodfellow et al.'s algorithm 1 with the non-saturating G loss: a fresh batch and fresh noise
for D, fresh noise for G; Adam 2e-4, betas 0.5/0.999), timed over the steps after a warm-up:
  (a) bare: a plain PyTorch loop written here;
  (b) ganpipe: ganpipe's training loop in this process (variant losses, callbacks, loss log);
  (c) ray1: `ganpipe.distributed.train_distributed` with 1 Ray Train worker given every CPU;
  (d) ray2: the same with 2 workers (DDP over gloo), one CPU each.
(c) and (d) report the rate rank 0 measured inside the worker (Ray's start-up is excluded:
bench/rerun.py measures it). Each of (b), (c), (d) runs between two windows of (a), --repeats
times; a ratio is the median of rate / (mean of the two adjacent bare windows), because this
machine's speed drifts by up to ~10 % over minutes, more than the differences measured. The
rates printed are medians.
Then FID: generating 10,000 32x32 samples and scoring them against the digits test split.

    python bench/throughput.py [--steps 300] [--repeats 3] [--json]     # ~5 min on 2 CPU cores
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ganpipe.config import Config, DataConfig, PipelineSpec, config_to_dict  # noqa: E402
from ganpipe.data import digits  # noqa: E402
from ganpipe.loop import TrainingState, train_loop  # noqa: E402
from ganpipe.stats import Throughput  # noqa: E402
from ganpipe.variants import build_variant  # noqa: E402



def warmup_steps(steps: int) -> int:
    """As ganpipe's Ray workers count it: the first tenth of the steps (at least 5)."""
    return max(5, steps // 10)


def make_config(steps: int, batch_size: int, num_workers: int = 1, cpus_per_worker: int | None = None) -> Config:
    return Config.model_validate({
        "train": {"steps": steps, "batch_size": batch_size, "num_workers": num_workers, "progress": False,
                  "checkpoint_every": steps, "log_every": 10, "cpus_per_worker": cpus_per_worker,
                  "keep_checkpoints": 1, "resume": False},
        "data": {"image_size": 32},
    })


def build(config: Config, shape: tuple[int, ...]):
    variant = build_variant("dcgan", config, list(shape), 0, None)
    torch.manual_seed(0)
    nets = variant.build_nets()
    return variant, nets, variant.build_optimizers(nets, config.train)


def bare_rate(images: torch.Tensor, config: Config) -> float:
    """Images per second of a plain PyTorch DCGAN loop on the same nets and batch."""
    variant, nets, optimizers = build(config, tuple(images.shape[1:]))
    G, D = nets["G"], nets["D"]
    opt_g, opt_d = optimizers["G"], optimizers["D"]
    batch, z_dim = config.train.batch_size, config.model.z_dim
    generator = torch.Generator().manual_seed(0)
    started = None
    for step in range(config.train.steps):
        if step == warmup_steps(config.train.steps):
            started = time.perf_counter()
        real = images[torch.randint(len(images), (batch,), generator=generator)]
        with torch.no_grad():
            fake = G(torch.randn(batch, z_dim, generator=generator))
        logits_real, logits_fake = D(real), D(fake)
        loss_d = (F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
                  + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake)))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        logits = D(G(torch.randn(batch, z_dim, generator=generator)))
        loss_g = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        float(loss_d.detach()), float(loss_g.detach())  # as a real loop logs them
    return (config.train.steps - warmup_steps(config.train.steps)) * batch / (time.perf_counter() - started)


def ganpipe_rate(images: torch.Tensor, config: Config) -> float:
    """Images per second of ganpipe's own training loop, in this process."""
    from ganpipe.stats import LossLog

    variant, nets, optimizers = build(config, tuple(images.shape[1:]))
    throughput = Throughput(config.train.batch_size, warmup=warmup_steps(config.train.steps))
    train_loop(TrainingState(variant, nets, optimizers), images, config.train,
               callbacks=[LossLog(every=config.train.log_every), throughput])
    return throughput.images_per_s


def ray_rate(images: np.ndarray, config: Config, scratch: Path) -> float:
    """Images per second measured by rank 0 inside Ray Train workers."""
    from ganpipe.distributed import train_distributed

    pipeline = PipelineSpec(variant="dcgan", dataset="digits")
    name = f"throughput-{config.train.num_workers}"
    checkpoint = train_distributed(
        {"config": config_to_dict(config), "pipeline": config_to_dict(pipeline), "sample_shape": list(images.shape[1:]),
         "num_classes": 0, "input_shape": None},
        {"x": images}, run_name=name, storage=scratch / "ray", out_dir=scratch / name)
    return float(torch.load(checkpoint, weights_only=True)["run"]["images_per_s"])


def fid_seconds(images: torch.Tensor, test: torch.Tensor, config: Config, count: int = 10_000) -> float:
    """Seconds to generate `count` samples and compute FID against the test split."""
    from ganpipe.metrics.fid import classifier_fid
    from ganpipe.nets.classifier import DigitsClassifier

    variant, nets, _ = build(config, tuple(images.shape[1:]))
    classifier = DigitsClassifier(images.shape[-1], images.shape[1]).eval()  # its weights do not change the cost
    started = time.perf_counter()
    with torch.no_grad():
        fake = torch.cat([nets["G"](variant.sample_noise(500, None, torch.device("cpu"))) for _ in range(count // 500)])
    classifier_fid(classifier, test, fake)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="steps per timed window (the first tenth is warm-up)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="alternating windows of (a) and (b)")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()

    data = digits.build(DataConfig(image_size=32))
    images = torch.from_numpy(data["train_x"])
    config = make_config(args.steps, args.batch_size)
    cpus = os.cpu_count() or 1
    ray_configs = {"ray1": make_config(args.steps, args.batch_size, 1, cpus),
                   "ray2": make_config(args.steps, args.batch_size, 2, max(1, cpus // 2))}
    rates: dict[str, list[float]] = {"bare": [], "ganpipe": [], "ray1": [], "ray2": []}
    paired: dict[str, list[float]] = {"ganpipe": [], "ray1": [], "ray2": []}
    with tempfile.TemporaryDirectory(prefix="ganpipe-throughput-") as scratch:
        for _ in range(args.repeats):
            # Each contender runs between two bare windows and is compared with their mean: this
            # machine's speed drifts by up to ~10 % over minutes, more than the differences measured.
            before = bare_rate(images, config)
            rates["bare"].append(before)
            for name in ("ganpipe", "ray1", "ray2"):
                rate = (ganpipe_rate(images, config) if name == "ganpipe"
                        else ray_rate(data["train_x"], ray_configs[name], Path(scratch)))
                after = bare_rate(images, config)
                rates[name].append(rate)
                rates["bare"].append(after)
                paired[name].append(rate / ((before + after) / 2))
                before = after
    fid_s = fid_seconds(images, torch.from_numpy(data["test_x"]), config)
    median = {name: statistics.median(values) for name, values in rates.items()}
    figures = {
        "bare_img_s": round(median["bare"], 1), "ganpipe_img_s": round(median["ganpipe"], 1),
        "ray1_img_s": round(median["ray1"], 1), "ray2_img_s": round(median["ray2"], 1),
        "ratio_ganpipe": round(statistics.median(paired["ganpipe"]), 3),
        "ratio_ray1": round(statistics.median(paired["ray1"]), 3),
        "ratio_ray2": round(statistics.median(paired["ray2"]), 3),
        "fid_10k_s": round(fid_s, 1),
        "ratios_are": "median over repeats of rate / mean of the bare windows just before and after it",
        "unpaired_ratio_ganpipe": round(median["ganpipe"] / median["bare"], 3),
        "unpaired_ratio_ray1": round(median["ray1"] / median["bare"], 3),
        "windows_img_s": {name: [round(x, 1) for x in values] for name, values in rates.items()},
        "batch_size": args.batch_size, "steps": args.steps, "warmup_steps": warmup_steps(args.steps), "cpus": cpus,
        "torch_threads": torch.get_num_threads(),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{'loop':10s} {'images/s':>10s} {'vs bare':>8s}  (median; ratio to the adjacent bare windows)")
        for key, label in (("bare", "bare"), ("ganpipe", "ganpipe"), ("ray1", "ray 1 wkr"), ("ray2", "ray 2 wkr")):
            ratio = figures.get(f"ratio_{key}", 1.0)
            print(f"{label:10s} {figures[f'{key}_img_s']:10.1f} {ratio:8.3f}")
        print(f"FID on 10,000 32x32 samples: {fid_s:.1f} s")


if __name__ == "__main__":
    main()
