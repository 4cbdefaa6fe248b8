"""Mode-coverage benchmark: variants x remedies on ring8 and grid25, beside the published tables.

Runs ganpipe's core training loop in-process (no Ray, Prefect or MLflow start-up per row),
with the settings params.yaml gives each (variant, dataset) -- for `gan`, the dataset's
recommended configuration -- plus the row's overrides, and scores 2,500 samples per run with
the VEEGAN/PacGAN protocol.

    python bench/mode_coverage.py --quick              # a few rows, 2 seeds
    python bench/mode_coverage.py --seeds 10           # the full table
    python bench/mode_coverage.py --rows "gan (no R1),pacgan4" --datasets ring8 --seeds 3
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganpipe.config import PipelineSpec, load_config  # noqa: E402
from ganpipe.data import get_dataset  # noqa: E402
from ganpipe.loop import TrainingState, train_loop  # noqa: E402
from ganpipe.metrics.modes import mode_metrics  # noqa: E402
from ganpipe.sampling import generate, sampling_net  # noqa: E402
from ganpipe.variants import build_variant  # noqa: E402


@dataclass(frozen=True)
class Row:
    name: str
    variant: str
    overrides: tuple[str, ...] = ()


ROWS = [
    Row("gan (no R1)", "gan", ("train.r1_weight=0",)),
    Row("gan-minimax (no R1)", "gan", ("train.r1_weight=0", "model.g_loss=minimax")),
    Row("lsgan", "lsgan"),
    Row("wgan (clipping)", "wgan"),
    Row("wgan_gp", "wgan_gp"),
    Row("sngan", "sngan"),
    Row("unrolled gan (k=5)", "gan", ("train.r1_weight=0", "train.unrolled_steps=5")),
    Row("gan + minibatch stddev", "gan", ("train.r1_weight=0", "model.minibatch_stddev=true")),
    Row("gan + instance noise", "gan", ("train.r1_weight=0", "train.instance_noise=0.1")),
    Row("pacgan4", "gan", ("train.r1_weight=0", "model.packing=4")),
    Row("pacgan4 + R1", "gan", ("model.packing=4",)),
    Row("gan + EMA", "gan", ("train.r1_weight=0", "train.ema=0.999")),
    Row("gan + R1 (recommended)", "gan"),
]
QUICK_ROWS = ("gan (no R1)", "gan + R1 (recommended)")

# (modes, HQ %) as published.
PUBLISHED = {
    "ring8": [("GAN (VEEGAN Tab. 1)", 1, 99.3), ("Unrolled GAN (VEEGAN Tab. 1)", 7.6, 35.6),
              ("VEEGAN (VEEGAN Tab. 1)", 8, 52.9), ("WGAN-GP (GDPP Tab. 1)", 6.8, 59.6),
              ("GDPP (GDPP Tab. 1)", 8.0, 71.7), ("PacGAN4 (PacGAN)", 7.8, 95.9)],
    "grid25": [("GAN (VEEGAN Tab. 1)", 3.3, 0.5), ("Unrolled GAN (VEEGAN Tab. 1)", 23.6, 16),
               ("VEEGAN (VEEGAN Tab. 1)", 24.6, 40), ("WGAN-GP (GDPP Tab. 1)", 24.2, 28.7),
               ("GDPP (GDPP Tab. 1)", 24.8, 68.5), ("PacGAN4 (PacGAN)", 24.8, 93.6)],
}


def run_once(row: Row, dataset: str, seed: int, steps: int | None) -> dict[str, float]:
    overrides = [*row.overrides, f"train.seed={seed}", "train.num_workers=1", "train.progress=false"]
    if steps:
        overrides.append(f"train.steps={steps}")
    config = load_config(ROOT / "params.yaml", overrides, PipelineSpec(variant=row.variant, dataset=dataset))
    built = get_dataset(dataset).build(config.data)
    torch.manual_seed(seed)
    variant = build_variant(row.variant, config, built["train_x"].shape[1:])
    nets = variant.build_nets()
    state = TrainingState(variant, nets, variant.build_optimizers(nets, config.train))
    train_loop(state, torch.from_numpy(built["train_x"]), config.train)
    samples = generate(variant, sampling_net(nets), 2500, seed=10_000 + seed).numpy()
    return mode_metrics(samples, np.asarray(built["info"]["centres"]), built["info"]["sigma"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"rows {', '.join(QUICK_ROWS)}, 2 seeds")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--datasets", default="ring8,grid25")
    parser.add_argument("--rows", help="comma-separated row names (default: all)")
    parser.add_argument("--steps", type=int, help="override train.steps for every row")
    parser.add_argument("--json", type=Path, help="also write every run's metrics here")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    wanted = set(args.rows.split(",")) if args.rows else set(QUICK_ROWS) if args.quick else None
    rows = [row for row in ROWS if wanted is None or row.name in wanted]
    seeds = 2 if args.quick and args.seeds == 10 else args.seeds
    results: list[dict] = []
    for dataset in args.datasets.split(","):
        modes_total = len(get_dataset(dataset).build(load_config(ROOT / "params.yaml").data)["info"]["centres"])
        print(f"\n### {dataset} ({seeds} seeds, 2,500 samples each)\n")
        print("| configuration | modes (mean) | HQ % (mean) | runs with all modes | KL (mean) | s/run |")
        print("|---|---|---|---|---|---|")
        for name, modes, hq in PUBLISHED.get(dataset, []):
            print(f"| *{name}* | {modes} | {hq} | | | |")
        for row in rows:
            runs = []
            for seed in range(seeds):
                started = time.perf_counter()
                metrics = run_once(row, dataset, seed, args.steps)
                metrics["seconds"] = time.perf_counter() - started
                runs.append(metrics)
                results.append({"row": row.name, "dataset": dataset, "seed": seed, **metrics})
            kls = [r["mode_kl"] for r in runs if r["mode_kl"] is not None]
            print(f"| **ganpipe {row.name}** | {np.mean([r['modes_covered'] for r in runs]):.1f} "
                  f"| {np.mean([r['high_quality_pct'] for r in runs]):.1f} "
                  f"| {sum(r['modes_covered'] == modes_total for r in runs)}/{len(runs)} "
                  f"| {np.mean(kls) if kls else float('nan'):.3f} "
                  f"| {np.mean([r['seconds'] for r in runs]):.0f} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
