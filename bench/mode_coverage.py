"""Mode-coverage benchmark: variants x remedies on ring8, grid25 and stacked_digits, beside
the published tables.

Runs ganpipe's core training loop in-process (no Ray, Prefect or MLflow start-up per row),
with the settings params.yaml gives each (variant, dataset) -- for `gan`, the dataset's
recommended configuration -- plus the row's overrides. Mixtures: 2,500 samples per run, the
VEEGAN/PacGAN protocol. stacked_digits: 26,000 samples per run, each channel read by the digits
classifier (trained once per invocation, as the evaluator stage does), modes of 1,000 and KL, and
the KL as an independent reader (an RBF SVC on the training digits) reads the same samples.
Each run is scored at the step `ganpipe run` ships: with eval.every > 0 (params.yaml's default)
the best probed step, chosen on the probe's own eval.every_samples samples (eval.seed), never on
the scored ones; the last step's scores are printed beside it, and `--set eval.every=0` scores
the last step only.

    python bench/mode_coverage.py --quick              # a few rows, 2 seeds
    python bench/mode_coverage.py                      # the full table: 10 seeds (3 on stacked_digits)
    python bench/mode_coverage.py --rows "gan (no R1),pacgan4" --datasets ring8 --seeds 3
    python bench/mode_coverage.py --datasets ring8 --rows "gan + R1 (recommended)" --seeds 5 --first-seed 5 --json b.json
    python bench/mode_coverage.py --datasets grid25 --rows "gan + R1 (recommended)" --seeds 1 --set model.latent_components=25
    python bench/mode_coverage.py --datasets grid25 --rows "gan + R1, batch 64, 100k steps (best)" --seeds 5 --threads 1
    python bench/mode_coverage.py --datasets stacked_digits --rows "pacsngan2 + EMA (recommended)" --seeds 1 --first-seed 2 --threads 1
    python bench/mode_coverage.py --datasets stacked_digits --rows "pacsngan2 + EMA, 48k steps" --seeds 1 --first-seed 0 --threads 1 --samples-dir s/
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.digits_quality import pool_to_8x8  # noqa: E402
from ganpipe.config import DataConfig, PipelineSpec, load_config  # noqa: E402
from ganpipe.data import get_dataset  # noqa: E402
from ganpipe.data.prepared import PreparedData  # noqa: E402
from ganpipe.data.stacked import channel_labels  # noqa: E402
from ganpipe.evaluator import predict  # noqa: E402
from ganpipe.integrations.registry import GateRule  # noqa: E402
from ganpipe.loop import TrainingState, train_loop  # noqa: E402
from ganpipe.metrics.modes import mode_metrics  # noqa: E402
from ganpipe.metrics.probe import BestProbedCheckpoint, build_probe  # noqa: E402
from ganpipe.sampling import generate, sampling_net  # noqa: E402
from ganpipe.stages.evaluate import class_histogram_metrics  # noqa: E402
from ganpipe.stages.evaluator import fit_evaluator  # noqa: E402
from ganpipe.variants import build_variant  # noqa: E402


@dataclass(frozen=True)
class Row:
    name: str
    variant: str
    overrides: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()  # empty: every dataset of the row's kind


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
    Row("gan + R1 + EMA", "gan", ("train.ema=0.999",)),
    Row("gan + R1 (recommended)", "gan"),
    # Above the ~10 min a recommendation may take: twice the updates again (and 100k, the best),
    # with probes of the final protocol's 2,500 samples: late probes of 500 differ by their noise.
    Row("gan + R1, batch 64, 80k steps", "gan",
        ("train.batch_size=64", "train.steps=80000", "eval.every_samples=2500"), datasets=("grid25",)),
    Row("gan + R1, batch 64, 100k steps (best)", "gan",
        ("train.batch_size=64", "train.steps=100000", "eval.every_samples=2500"), datasets=("grid25",)),
]
IMAGE_ROWS = [
    Row("dcgan", "dcgan", ("model.packing=1", "train.ema=0")),
    Row("pacdcgan2", "dcgan", ("model.packing=2", "train.ema=0")),
    Row("dcgan + minibatch stddev", "dcgan", ("model.packing=1", "train.ema=0", "model.minibatch_stddev=true")),
    Row("pacdcgan2 + EMA", "dcgan", ("model.packing=2", "train.ema=0.999")),
    # datasets.stacked_digits.recommended: packing 2, G EMA, a D without BatchNorm and a 3x3 layer
    # per stage, g_width 128, 24,000 steps (at the dataset's 8x8)
    Row("pacsngan2 + EMA (recommended)", "sngan"),
    # Above the ~10 min a recommendation may take: twice the steps.
    Row("pacsngan2 + EMA, 48k steps", "sngan", ("train.steps=48000", "train.checkpoint_every=12000")),
]
QUICK_ROWS = ("gan (no R1)", "gan + R1 (recommended)", "dcgan")
IMAGE_DATASETS = ("stacked_digits",)
IMAGE_SEEDS = 3

# (modes, HQ %[, KL]) as published.
PUBLISHED = {
    "ring8": [("GAN (VEEGAN Tab. 1)", 1, 99.3), ("Unrolled GAN (VEEGAN Tab. 1)", 7.6, 35.6),
              ("VEEGAN (VEEGAN Tab. 1)", 8, 52.9), ("WGAN-GP (GDPP Tab. 1)", 6.8, 59.6),
              ("GDPP (GDPP Tab. 1)", 8.0, 71.7), ("PacGAN4 (PacGAN)", 7.8, 95.9)],
    # Stacked MNIST (28x28, 128k images) as PacGAN reports it, KL in the last place.
    "stacked_digits": [("DCGAN (PacGAN Tab. 3, Stacked MNIST)", 99.0, None, 3.40),
                       ("PacDCGAN2 (PacGAN Tab. 3, Stacked MNIST)", 1000.0, None, 0.06)],
    "grid25": [("GAN (VEEGAN Tab. 1)", 3.3, 0.5), ("Unrolled GAN (VEEGAN Tab. 1)", 23.6, 16),
               ("VEEGAN (VEEGAN Tab. 1)", 24.6, 40), ("WGAN-GP (GDPP Tab. 1)", 24.2, 28.7),
               ("GDPP (GDPP Tab. 1)", 24.8, 68.5), ("PacGAN4 (PacGAN)", 24.8, 93.6)],
}


def row_config(row: Row, dataset: str, seed: int, steps: int | None):
    overrides = [*row.overrides, f"train.seed={seed}", "train.num_workers=1", "train.progress=false"]
    if steps:
        overrides.append(f"train.steps={steps}")
    return load_config(ROOT / "params.yaml", overrides, PipelineSpec(variant=row.variant, dataset=dataset))


@functools.cache
def built_dataset(dataset: str, data_config_json: str) -> dict:
    return get_dataset(dataset).build(DataConfig.model_validate_json(data_config_json))


def as_prepared(built: dict) -> PreparedData:
    """A built dataset as the prepare stage's output, without the files."""
    return PreparedData(manifest={"info": built["info"]}, **{k: built[k] for k in ("train_x", "train_y", "test_x", "test_y")})


@functools.cache
def stacked_evaluator(data_config_json: str):
    """The per-channel digits classifier, as the evaluator stage trains it (datasets.stacked_digits's
    eval.evaluator: an ensemble)."""
    config = load_config(ROOT / "params.yaml", pipeline=PipelineSpec(variant="dcgan", dataset="stacked_digits"))
    data = as_prepared(built_dataset("stacked_digits", data_config_json))
    return fit_evaluator(data, config.eval.evaluator, progress=False)[0]


def training_probe(config, row: Row, dataset: str, built: dict) -> BestProbedCheckpoint | None:
    """The train stage's probe (eval.every > 0): the registry's primary metric on eval.every_samples
    test rows, the step `ganpipe run` ships. None when the config probes nothing."""
    if not config.eval.every:
        return None
    data = as_prepared(built)
    classifier = stacked_evaluator(config.data.model_dump_json()) if dataset in IMAGE_DATASETS else None
    rule = GateRule.from_config(config.registry, dataset, row.variant)
    probe = build_probe(data, classifier, rule.metric, rule.direction, config.eval.every_samples, config.eval.seed, False)
    return BestProbedCheckpoint(probe, config.eval.every, config.train.steps,
                                lambda state: sampling_net(state.nets).state_dict())


def train_once(row: Row, dataset: str, seed: int, steps: int | None):
    """Train one run; the sampling net is left at the best probed step (as `ganpipe run` ships it)
    and the last step's weights are returned beside it (None without probes)."""
    config = row_config(row, dataset, seed, steps)
    built = built_dataset(dataset, config.data.model_dump_json())
    torch.manual_seed(seed)
    variant = build_variant(row.variant, config, built["train_x"].shape[1:])
    nets = variant.build_nets()
    state = TrainingState(variant, nets, variant.build_optimizers(nets, config.train))
    best = training_probe(config, row, dataset, built)
    train_loop(state, torch.from_numpy(built["train_x"]), config.train, callbacks=[best] if best else ())
    if best is None or best.best_bytes is None:
        return config, built, variant, nets, {"last": None, "best_step": None}
    G = sampling_net(nets)
    last = {key: value.clone() for key, value in G.state_dict().items()}
    G.load_state_dict(torch.load(io.BytesIO(best.best_bytes), weights_only=True))
    return config, built, variant, nets, {"last": last, "best_step": best.best_step}


def score(variant, G, config, built, dataset: str, seed: int, save_as: Path | None = None) -> dict:
    if dataset in IMAGE_DATASETS:
        samples = generate(variant, G, config.eval.num_samples, seed=10_000 + seed)
        if save_as is not None:
            save_as.parent.mkdir(parents=True, exist_ok=True)
            np.save(save_as, samples.numpy())
        return {**stacked_coverage(samples, config.data.model_dump_json()), "high_quality_pct": None}
    samples = generate(variant, G, 2500, seed=10_000 + seed).numpy()
    return mode_metrics(samples, np.asarray(built["info"]["centres"]), built["info"]["sigma"])


def run_once(row: Row, dataset: str, seed: int, steps: int | None, samples_dir: Path | None = None) -> dict:
    """Metrics of the shipped step (the best probed one when eval.every > 0, else the last);
    with probes, `last_step` holds the last step's metrics too. With samples_dir, the shipped
    step's stacked_digits samples are kept there (.npy, [-1, 1]) for other readers."""
    config, built, variant, nets, selection = train_once(row, dataset, seed, steps)
    G = sampling_net(nets)
    save_as = None
    if samples_dir is not None and dataset in IMAGE_DATASETS:
        slug = "".join(c if c.isalnum() else "_" for c in row.name).strip("_")
        save_as = samples_dir / f"{dataset}-{slug}-seed{seed}.npy"
    metrics = {**score(variant, G, config, built, dataset, seed, save_as), "best_step": selection["best_step"]}
    if selection["last"] is not None:
        G.load_state_dict(selection["last"])
        metrics["last_step"] = score(variant, G, config, built, dataset, seed)
    return metrics


def real_floor(dataset: str) -> dict[str, float]:
    """The classifier's reading of the real test triples (each mode 5 times, digits it never saw):
    its classification errors are the whole of this KL, the floor below any generator's."""
    config = load_config(ROOT / "params.yaml", pipeline=PipelineSpec(variant="dcgan", dataset=dataset))
    data_config_json = config.data.model_dump_json()
    test_x = built_dataset(dataset, data_config_json)["test_x"]
    return {"samples": len(test_x), **stacked_coverage(torch.from_numpy(test_x), data_config_json)}


def as_digit_pixels(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N * C, 64): each channel as the SVC judge reads it."""
    return pool_to_8x8((images.reshape(-1, 1, *images.shape[2:]) + 1.0) / 2.0)


@functools.cache
def independent_reader(data_config_json: str):
    """A second reader of the channels, unrelated to the CNN evaluator: an RBF SVC (bench/digits_quality.py's
    judge) on the distinct training digits. Where the two disagree on a KL, the reader is part of the number."""
    from sklearn.svm import SVC

    train = as_prepared(built_dataset("stacked_digits", data_config_json))
    pixels, first = np.unique(as_digit_pixels(train.train_x), axis=0, return_index=True)
    return SVC(gamma=0.001).fit(pixels, channel_labels(train.train_y).reshape(-1)[first])


def stacked_coverage(images: torch.Tensor, data_config_json: str) -> dict:
    """Modes of 1,000 and KL by the per-channel classifier, each channel's digit KL (the marginals'
    share of mode_kl; --json only), and the same two read by the independent SVC (svc_*)."""
    classifier = stacked_evaluator(data_config_json)
    predicted = predict(classifier, images)
    coverage = class_histogram_metrics(predicted, classifier.num_classes)
    per_channel = torch.from_numpy(channel_labels(predicted.numpy()))
    svc_digits = independent_reader(data_config_json).predict(as_digit_pixels(images.numpy())).reshape(len(images), -1)
    svc_joint = torch.from_numpy(np.ravel_multi_index(tuple(svc_digits.T), (10,) * svc_digits.shape[1]))
    return {"modes_covered": coverage["classes_covered"], "mode_kl": coverage["class_kl"],
            "channel_kl": [class_histogram_metrics(digits, 10)["class_kl"] for digits in per_channel.T],
            "svc_mode_kl": class_histogram_metrics(svc_joint, classifier.num_classes)["class_kl"],
            "svc_channel_kl": [class_histogram_metrics(torch.from_numpy(digits), 10)["class_kl"] for digits in svc_digits.T]}


def modes_total(dataset: str) -> int:
    config = load_config(ROOT / "params.yaml", pipeline=PipelineSpec(variant="gan", dataset=dataset))
    info = built_dataset(dataset, config.data.model_dump_json())["info"]
    return info["modes"] if dataset in IMAGE_DATASETS else len(info["centres"])


def mean_or_blank(values: list) -> str:
    values = [v for v in values if v is not None]
    return f"{np.mean(values):.1f}" if values else ""


def last_step_summary(runs: list[dict]) -> str:
    """The same runs scored at their last step instead of the best probed one (blank without probes)."""
    last = [r["last_step"] for r in runs if r.get("last_step")]
    if not last:
        return ""
    kls = [r["mode_kl"] for r in last if r["mode_kl"] is not None]
    parts = [f"{np.mean([r['modes_covered'] for r in last]):.1f}", mean_or_blank([r["high_quality_pct"] for r in last]),
             f"{np.mean(kls) if kls else float('nan'):.3f}"]
    return ", ".join(part for part in parts if part)


def selected_rows(names: str) -> set[str]:
    """The row names in a comma-separated list; a name may hold commas itself, so the longest known
    name at each position wins. Raises ValueError naming the first part that is no row."""
    known = {row.name for row in (*ROWS, *IMAGE_ROWS)}
    parts, chosen, start = names.split(","), set(), 0
    while start < len(parts):
        end = next((end for end in range(len(parts), start, -1) if ",".join(parts[start:end]).strip() in known), None)
        if end is None:
            raise ValueError(f"--rows: no row named {parts[start].strip()!r}; rows: {'; '.join(sorted(known))}")
        chosen.add(",".join(parts[start:end]).strip())
        start = end
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"rows {', '.join(QUICK_ROWS)}, 2 seeds")
    parser.add_argument("--seeds", type=int, help=f"seeds per row (default 10, {IMAGE_SEEDS} on image datasets, 2 with --quick)")
    parser.add_argument("--datasets", default="ring8,grid25,stacked_digits")
    parser.add_argument("--rows", help="comma-separated row names, as the table prints them (default: all)")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1 (to split a table across processes)")
    parser.add_argument("--steps", type=int, help="override train.steps for every row")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one param of every row (after the row's own); repeatable")
    parser.add_argument("--json", type=Path, help="also write every run's metrics here (updated after each run)")
    parser.add_argument("--samples-dir", type=Path, help="keep each stacked_digits run's scored samples here (.npy, [-1, 1])")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    try:
        wanted = selected_rows(args.rows) if args.rows else set(QUICK_ROWS) if args.quick else None
    except ValueError as error:
        parser.error(str(error))
    results: list[dict] = []
    for dataset in args.datasets.split(","):
        is_image = dataset in IMAGE_DATASETS
        rows = [replace(row, overrides=(*row.overrides, *args.overrides))  # --set applies after the row's own
                for row in (IMAGE_ROWS if is_image else ROWS)
                if (wanted is None or row.name in wanted) and (not row.datasets or dataset in row.datasets)]
        seeds = args.seeds or (2 if args.quick else IMAGE_SEEDS if is_image else 10)
        total = modes_total(dataset)
        samples = "26,000 samples" if is_image else "2,500 samples"
        with_set = f"; every row with {', '.join(args.overrides)}" if args.overrides else ""
        print(f"\n### {dataset} ({seeds} seeds, {samples} each{with_set})\n")
        print("| configuration | modes (mean) | HQ % (mean) | runs with all modes | KL (mean) | last step: modes, HQ %, KL | s/run |")
        print("|---|---|---|---|---|---|---|")
        for name, modes, hq, *kl in PUBLISHED.get(dataset, []):
            print(f"| *{name}* | {modes:g} | {'' if hq is None else hq} | | {kl[0] if kl else ''} | | |")
        if is_image:
            floor = real_floor(dataset)
            print(f"| *real test triples ({floor['samples']:,}), the floor* | {floor['modes_covered']} | | "
                  f"| {floor['mode_kl']:.3f} (SVC {floor['svc_mode_kl']:.3f}) | | |", flush=True)
        for row in rows:
            runs = []
            for seed in range(args.first_seed, args.first_seed + seeds):
                started = time.perf_counter()
                metrics = run_once(row, dataset, seed, args.steps, args.samples_dir)
                metrics["seconds"] = time.perf_counter() - started
                runs.append(metrics)
                results.append({"row": row.name, "dataset": dataset, "seed": seed, **metrics})
                if args.json:  # after every run, so a long table interrupted keeps what it measured
                    args.json.write_text(json.dumps(results, indent=2))
            kls = [r["mode_kl"] for r in runs if r["mode_kl"] is not None]
            svc = f" (SVC {np.mean([r['svc_mode_kl'] for r in runs]):.3f})" if is_image else ""
            print(f"| **ganpipe {row.name}** | {np.mean([r['modes_covered'] for r in runs]):.1f} "
                  f"| {mean_or_blank([r['high_quality_pct'] for r in runs])} "
                  f"| {sum(r['modes_covered'] == total for r in runs)}/{len(runs)} "
                  f"| {np.mean(kls) if kls else float('nan'):.3f}{svc} "
                  f"| {last_step_summary(runs)} "
                  f"| {np.mean([r['seconds'] for r in runs]):.0f} |", flush=True)


if __name__ == "__main__":
    main()
