"""Translation benchmark: what pairing buys. Per built-in task, Pix2Pix vs CycleGAN vs an
L1-only U-Net (no adversary) vs the trivial baselines, scored against the true B images.

Every model is scored on the same test inputs: the paired task's test split (A -> true B).
Pix2Pix and the L1-only U-Net train on the paired task; CycleGAN on its unpaired twin, whose
training A and B come from disjoint digits. Settings are params.yaml's for each (variant,
dataset), as `ganpipe run` would use them; the L1-only U-Net is pix2pix with
train.adversarial_weight=0. Training runs ganpipe's loop in-process (no Ray/Prefect/MLflow
start-up per row); FID uses the digits classifier the evaluator stage trains.

    python bench/translation.py                               # every task, 1 seed
    python bench/translation.py --tasks edges2digits --rows pix2pix,cyclegan --seeds 2
    python bench/translation.py --strips docs                 # also write docs/translation-<task>.png
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganpipe.config import DataConfig, PipelineSpec, load_config  # noqa: E402
from ganpipe.data import get_dataset  # noqa: E402
from ganpipe.data.prepared import PreparedData  # noqa: E402
from ganpipe.data.translation import TASKS  # noqa: E402
from ganpipe.loop import TrainingState, train_loop  # noqa: E402
from ganpipe.metrics.fid import classifier_fid  # noqa: E402
from ganpipe.metrics.translation import paired_scores  # noqa: E402
from ganpipe.sampling import sampling_net, save_picture, translate  # noqa: E402
from ganpipe.stages.evaluator import fit_evaluator  # noqa: E402
from ganpipe.variants import build_variant  # noqa: E402


@dataclass(frozen=True)
class Row:
    name: str
    variant: str | None  # None: a baseline, no training
    unpaired: bool = False
    overrides: tuple[str, ...] = ()


ROWS = [
    Row("identity (output = A)", None),
    Row("mean training B", None),
    Row("L1-only U-Net", "pix2pix", overrides=("train.adversarial_weight=0",)),
    Row("pix2pix", "pix2pix"),
    Row("cyclegan (unpaired)", "cyclegan", unpaired=True),
]


@functools.cache
def built(dataset: str, data_config_json: str) -> dict:
    return get_dataset(dataset).build(DataConfig.model_validate_json(data_config_json))


def row_config(variant: str, dataset: str, seed: int, overrides: tuple[str, ...], steps: int | None):
    extra = [*overrides, f"train.seed={seed}", "train.num_workers=1", "train.progress=false"]
    if steps:
        extra.append(f"train.steps={steps}")
    return load_config(ROOT / "params.yaml", extra, PipelineSpec(variant=variant, dataset=dataset))


@functools.cache
def evaluator(task: str):
    """The classifier FID reads features from, trained on the task's B images (the digits)."""
    config = row_config("pix2pix", task, 0, (), None)
    arrays = built(task, config.data.model_dump_json())
    data = PreparedData(manifest={"info": arrays["info"]}, **{k: arrays[k] for k in ("train_x", "train_y", "test_x", "test_y")})
    return fit_evaluator(data, config.eval.evaluator, progress=False)[0]


def test_split(task: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The paired task's test A, test B and training B images."""
    config = row_config("pix2pix", task, 0, (), None)
    arrays = built(task, config.data.model_dump_json())
    return (torch.from_numpy(arrays["test_a"]), torch.from_numpy(arrays["test_x"]), torch.from_numpy(arrays["train_x"]))


def outputs_of(row: Row, task: str, seed: int, steps: int | None, overrides: tuple[str, ...] = ()) -> torch.Tensor:
    test_a, test_b, train_b = test_split(task)
    if row.variant is None:
        return test_a if row.name.startswith("identity") else train_b.mean(dim=0, keepdim=True).expand_as(test_b)
    dataset = f"{task}_unpaired" if row.unpaired else task
    config = row_config(row.variant, dataset, seed, (*row.overrides, *overrides), steps)
    arrays = built(dataset, config.data.model_dump_json())
    torch.manual_seed(seed)
    variant = build_variant(row.variant, config, arrays["train_x"].shape[1:], input_shape=arrays["train_a"].shape[1:])
    nets = variant.build_nets()
    state = TrainingState(variant, nets, variant.build_optimizers(nets, config.train))
    train_loop(state, {"a": torch.from_numpy(arrays["train_a"]), "x": torch.from_numpy(arrays["train_x"])}, config.train)
    return translate(variant, sampling_net(nets), test_a, config.eval.batch_size)


def scores(task: str, outputs: torch.Tensor) -> dict[str, float]:
    _, test_b, _ = test_split(task)
    return {**paired_scores(outputs, test_b), "fid": classifier_fid(evaluator(task), test_b, outputs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated built-in paired tasks")
    parser.add_argument("--rows", help="comma-separated row names or prefixes (default: all)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per trained row")
    parser.add_argument("--steps", type=int, help="override train.steps for every trained row")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one param of every trained row; repeatable")
    parser.add_argument("--strips", type=Path, help="write <DIR>/translation-<task>.png: A | each row | truth")
    parser.add_argument("--json", type=Path, help="also write every run's metrics here")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    wanted = [name.strip() for name in args.rows.split(",")] if args.rows else None
    rows = [row for row in ROWS if wanted is None or any(row.name.startswith(w) for w in wanted)]
    results: list[dict] = []
    for task in args.tasks.split(","):
        test_a, test_b, _ = test_split(task)
        floor = classifier_fid(evaluator(task), test_b, test_split(task)[2])
        print(f"\n### {task} ({TASKS[task][1]}; {len(test_b)} test pairs, {args.seeds} seed(s) per trained row)\n")
        print("| model | PSNR dB | SSIM | L1 | FID | s/run |")
        print("|---|---|---|---|---|---|")
        strip = [test_a[:10]]
        for row in rows:
            runs = []
            for seed in range(args.seeds if row.variant else 1):
                started = time.perf_counter()
                outputs = outputs_of(row, task, seed, args.steps, tuple(args.overrides))
                runs.append({**scores(task, outputs), "seconds": time.perf_counter() - started})
                results.append({"task": task, "row": row.name, "seed": seed, **runs[-1]})
            strip.append(outputs[:10])
            mean = {key: float(np.mean([run[key] for run in runs])) for key in runs[0]}
            seconds = f"{mean['seconds']:.0f}" if row.variant else ""
            print(f"| {row.name} | {mean['psnr']:.2f} | {mean['ssim']:.3f} | {mean['l1']:.3f} | {mean['fid']:.2f} "
                  f"| {seconds} |", flush=True)
        print(f"| *real train B vs test B (FID floor)* | | | | {floor:.2f} | |")
        if args.strips:
            args.strips.mkdir(parents=True, exist_ok=True)
            save_picture(torch.cat([*strip, test_b[:10]]), args.strips / f"translation-{task}.png", nrow=10)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
