"""The commands that act on a trained model: `sample`, `translate`, and the registry's
`models`, `promote` and `rollback`. Called by ganpipe/cli.py with parsed arguments; heavy
imports stay inside each command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ganpipe.errors import GanpipeError


def print_json(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, indent=2, sort_keys=True, default=str))


def registry_command(args: argparse.Namespace) -> int:
    from ganpipe import tracking
    from ganpipe.config import load_config
    from ganpipe.integrations import registry

    config = load_config(args.params, args.overrides)
    client = tracking.connect(Path.cwd())
    if args.command == "models":
        rows = registry.model_table(client, config.registry.champion_alias)
        if not rows:
            print(f"no registered models at {tracking.tracking_uri(Path.cwd())}")
        for row in rows:
            alias_text = ", ".join(f"{alias}=v{version}" for alias, version in row["aliases"].items()) or "-"
            print(f"{row['name']}  versions={row['versions']}  {alias_text}  {row.get('champion_metric', '')}".rstrip())
        return 0
    if args.command == "rollback":
        print_json(registry.rollback(client, args.name, config.registry.champion_alias, config.registry.previous_alias))
        return 0
    decision = registry.apply_gate(client, args.name, args.version, force=args.force)
    print_json(decision)
    if decision["decision"] != "promoted" and not args.force:
        print(f"ganpipe: promote refused: {decision['reason']} (--force to promote anyway)", file=sys.stderr)
        return 1
    return 0


def lineage_command(args: argparse.Namespace) -> int:
    from ganpipe import lineage, tracking
    from ganpipe.config import load_config
    from ganpipe.data import DATASETS
    from ganpipe.integrations import registry

    config = load_config(args.params, args.overrides)
    client = tracking.connect(Path.cwd())
    version = registry.resolve(client, args.ref, config.registry.champion_alias)
    record = lineage.read_tags(version.tags)
    if "variant" not in record:
        raise GanpipeError(f"{version.name} v{version.version}: no lineage recorded (registered before ganpipe kept lineage)")
    run = client.get_run(version.run_id)
    report = {
        "model": version.name,
        "version": str(version.version),
        "aliases": sorted(version.aliases),
        "mlflow_run_id": version.run_id,
        "tracking_uri": tracking.tracking_uri(Path.cwd()),
        **record,
        "metrics": dict(sorted(run.data.metrics.items())),
        "reproduce": lineage.reproduce_commands(record, set(DATASETS)),
    }
    if args.json:
        print_json(report)
        return 0
    rows = [("model", f"{report['model']} v{report['version']}  aliases: {', '.join(report['aliases']) or '-'}"),
            ("mlflow run", f"{report['mlflow_run_id']}  at {report['tracking_uri']}"),
            ("commit", record["git_commit"]),
            ("pipeline", f"{record['variant']} on {record['dataset']}"),
            ("data", f"dvc md5 {record.get('data_md5', '-')}  manifest sha256 {record['data_manifest_sha256']}"),
            ("params", f"sha256 {record['params_sha256']}  overrides vs params.yaml: {' '.join(record['overrides']) or 'none'}"),
            ("prefect run", record.get("prefect_flow_run_id", "- (not run by Prefect)"))]
    for label, text in rows:
        print(f"{label:12s} {text}")
    print("metrics      " + ", ".join(f"{k}={v:.4g}" for k, v in report["metrics"].items() if "/" not in k))
    if record["git_commit"].endswith("-dirty"):
        print("warning: registered from a working tree with uncommitted changes; the commands below use its commit")
    print("reproduce:")
    for command in report["reproduce"]:
        print(f"  {command}")
    return 0


def sample(args: argparse.Namespace) -> int:
    import numpy as np

    from ganpipe.checkpoint import variant_from_checkpoint
    from ganpipe.sampling import generate, sampling_net, save_picture, to_unit_range
    from ganpipe.tracking import load_model_checkpoint

    if args.n < 1:
        raise GanpipeError(f"-n {args.n}: must be at least 1")
    suffix = args.out.suffix.lower()
    if suffix not in (".npy", ".png"):
        raise GanpipeError(f"--out {args.out}: expected a .npy or .png file")
    variant, nets = variant_from_checkpoint(load_model_checkpoint(args.model, Path.cwd()))
    labels = None
    if args.label is not None:
        if not variant.conditional:
            raise GanpipeError(f"--label {args.label}: {args.model} is a {variant.name} model, which is not conditional")
        if not 0 <= args.label < variant.data.num_classes:
            raise GanpipeError(f"--label {args.label}: {args.model} knows classes 0..{variant.data.num_classes - 1}")
        import torch

        labels = torch.full((args.n,), args.label, dtype=torch.long)
    samples = generate(variant, sampling_net(nets), args.n, args.seed, labels=labels)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npy":
        # Images in [0, 1] like the source; points in data coordinates.
        np.save(args.out, to_unit_range(samples) if samples.dim() == 4 else samples.numpy().astype(np.float32))
    else:
        save_picture(samples, args.out, nrow=max(1, int(round(args.n**0.5))))
    print(f"wrote {args.n} samples to {args.out}")
    return 0


def translate(args: argparse.Namespace) -> int:
    import torch

    from ganpipe.checkpoint import variant_from_checkpoint
    from ganpipe.imageio import image_files, read_image, write_image
    from ganpipe.sampling import sampling_net, translate
    from ganpipe.tracking import load_model_checkpoint

    files = image_files(args.input)
    variant, nets = variant_from_checkpoint(load_model_checkpoint(args.model, Path.cwd()))
    if not variant.translates:
        raise GanpipeError(f"--model {args.model}: a {variant.name} model generates from noise; it does not translate images")
    if args.direction == "BtoA":
        if "G_BA" not in nets:
            raise GanpipeError(f"--direction BtoA: a {variant.name} model translates A to B only")
        G, input_shape = nets["G_BA"], variant.data.shape
    else:
        G, input_shape = sampling_net(nets), variant.data.input_shape
    inputs = torch.stack([read_image(path, input_shape[0], input_shape[-1]) for path in files])  # all read before any is written
    outputs = translate(variant, G, inputs)
    args.out.mkdir(parents=True, exist_ok=True)
    for path, image in zip(files, outputs):
        write_image(image, args.out / f"{path.stem}.png")
    print(f"wrote {len(files)} translated images to {args.out}")
    return 0
