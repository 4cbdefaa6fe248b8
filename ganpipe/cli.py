"""The `ganpipe` command. Heavy imports (torch, Ray, Prefect, MLflow) happen inside commands,
so `--help` and config errors answer in about a second.

Every failure a user can cause prints one line on stderr naming the culprit, with the path
of a log file holding the full details, and exits non-zero.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from ganpipe.errors import ConfigError, GanpipeError

DEFAULT_PARAMS = "params.yaml"


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", default=DEFAULT_PARAMS, metavar="FILE", help="params file (default: params.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one param; repeatable")


def _pipeline_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", help="GAN variant (default: run.variant in params)")
    parser.add_argument("--dataset", help="dataset (default: run.dataset in params)")


def _data_dir_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="your own images: aligned A|B (train/, test/), CycleGAN (trainA/, trainB/, testA/, "
                             "testB/) or one folder per class")
    parser.add_argument("--name", help="dataset name for --data-dir (default: the folder's name)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ganpipe", description="Train, evaluate and register GANs reproducibly.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="the whole pipeline as a Prefect flow")
    _pipeline_args(run)
    _data_dir_args(run)
    run.add_argument("--all", action="store_true",
                     help="every pipeline of the `reproduce` set (or --pipeline-set), as subflows; exit 1 if any failed")
    run.add_argument("--only", metavar="A,B", help="these pipelines (names as in params.yaml, e.g. dcgan-digits)")
    run.add_argument("--pipeline-set", metavar="NAME", help="with --all: a set of reproduce_sets, e.g. zoo")
    _common(run)
    prepare = commands.add_parser("prepare", help="stage: prepare a built-in dataset or a folder of images")
    prepare.add_argument("--dataset", help="dataset (default: run.dataset in params)")
    _data_dir_args(prepare)
    _common(prepare)
    evaluator = commands.add_parser("evaluator", help="stage: train the dataset classifier used by FID/IS")
    evaluator.add_argument("--dataset", help="dataset (default: run.dataset in params)")
    _common(evaluator)
    for name, text in (("train", "stage: train with Ray Train"), ("evaluate", "stage: FID/IS on the test split"),
                       ("register", "stage: log to MLflow, register, apply the champion gate")):
        stage = commands.add_parser(name, help=text)
        _pipeline_args(stage)
        _common(stage)

    _common(commands.add_parser("variants", help="list the GAN variants"))
    _common(commands.add_parser("datasets", help="list the built-in datasets"))

    sample = commands.add_parser("sample", help="draw samples from a registered model or checkpoint")
    sample.add_argument("--model", required=True, metavar="REF",
                        help="models:/NAME@ALIAS, models:/NAME/VERSION or a checkpoint path")
    sample.add_argument("-n", type=int, default=64, help="number of samples")
    sample.add_argument("--out", required=True, type=Path, help=".npy (float32 in [0, 1]) or .png (a grid)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--label", type=int, metavar="K", help="conditional models: every sample of class K")
    _common(sample)

    _common(commands.add_parser("models", help="registered models: versions, aliases, the champion's metric"))
    promote = commands.add_parser("promote", help="move the champion alias to a version, if the gate passes")
    promote.add_argument("name", metavar="NAME", help="registered model name")
    promote.add_argument("--version", required=True, help="the version to promote")
    promote.add_argument("--force", action="store_true", help="promote even if the gate refuses")
    _common(promote)
    rollback = commands.add_parser("rollback", help="champion <- previous-champion")
    rollback.add_argument("name", metavar="NAME", help="registered model name")
    _common(rollback)
    lineage = commands.add_parser("lineage", help="where a registered version came from, and how to make it again")
    lineage.add_argument("ref", metavar="REF", help="models:/NAME@ALIAS, models:/NAME/VERSION, or NAME (its champion)")
    lineage.add_argument("--json", action="store_true", help="print the record as JSON")
    _common(lineage)

    translate = commands.add_parser("translate", help="translate images with an image-to-image model")
    translate.add_argument("--model", required=True, metavar="REF",
                           help="models:/NAME@ALIAS, models:/NAME/VERSION or a checkpoint path")
    translate.add_argument("--input", required=True, type=Path, metavar="DIR_OR_FILE", help="a PNG/JPEG image or a folder of them")
    translate.add_argument("--out", required=True, type=Path, metavar="DIR", help="one PNG per input, same file name")
    translate.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB")
    _common(translate)
    return parser


# The variant a folder dataset gets when --variant is not given, by layout.
LAYOUT_VARIANTS = {"aligned": "pix2pix", "unpaired": "cyclegan"}


def _folder_dataset_name(args: argparse.Namespace) -> str:
    import re

    if args.dataset and args.name and args.dataset != args.name:
        raise GanpipeError(f"--dataset {args.dataset} and --name {args.name}: give one name for --data-dir")
    name = args.name or args.dataset or args.data_dir.resolve().name
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        flag = "--name" if (args.name or args.dataset) else f"--data-dir {args.data_dir}: the folder name"
        raise GanpipeError(f"{flag} '{name}' cannot name a dataset (letters, digits, _ . - only); pass --name")
    return name


def _load(args: argparse.Namespace):
    """The effective config of the pipeline the arguments name (defaults from params), and the
    folder layout when --data-dir names the user's own images."""
    from ganpipe.config import PipelineSpec, load_config, recommended_variant

    base = load_config(args.params, args.overrides)  # config errors answer before torch is imported
    from ganpipe.data import DATASETS
    from ganpipe.data.folders import detect_layout
    from ganpipe.paths import ProjectPaths
    from ganpipe.stages.prepare import prepared_folder_info

    layout = None
    if getattr(args, "data_dir", None) is not None:
        layout = detect_layout(args.data_dir)
        dataset = _folder_dataset_name(args)
    else:
        if getattr(args, "name", None):
            raise GanpipeError(f"--name {args.name}: names a --data-dir dataset; use --dataset for a prepared one")
        dataset = getattr(args, "dataset", None) or base.run.dataset
        if dataset not in DATASETS:  # a folder dataset prepared earlier keeps its layout's variant
            layout = (prepared_folder_info(ProjectPaths(Path.cwd()), dataset) or {}).get("layout")
    variant = (getattr(args, "variant", None) or recommended_variant(base, dataset) or LAYOUT_VARIANTS.get(layout)
               or base.run.variant)
    pipeline = PipelineSpec(variant=variant, dataset=dataset)
    return load_config(args.params, args.overrides, pipeline), pipeline, layout


def _check_names(pipeline, layout: str | None) -> None:
    """Unknown variant or dataset, or a variant the folder's layout cannot train: fail before any stage runs."""
    from ganpipe.data import DATASETS, get_dataset
    from ganpipe.variants import get_variant

    variant = get_variant(pipeline.variant)
    if layout is None:
        if pipeline.dataset in DATASETS:
            return
        try:
            get_dataset(pipeline.dataset)
        except GanpipeError as error:
            raise GanpipeError(f"{error}; for your own images pass --data-dir DIR") from None
    if variant.translates and layout == "classes":
        raise GanpipeError(f"variant {variant.name} translates A to B images; dataset '{pipeline.dataset}' is a "
                           "folder of classes (use the aligned or CycleGAN layout)")
    if variant.translates and variant.needs_pairs() and layout == "unpaired":
        raise GanpipeError(f"variant {variant.name} learns from A|B pairs; dataset '{pipeline.dataset}' is in the "
                           "unpaired CycleGAN layout (use --variant cyclegan, or the aligned layout)")


def _print(payload: dict[str, Any]) -> None:
    from ganpipe.model_commands import print_json

    print_json(payload)


def _run_many(args: argparse.Namespace) -> int:
    from ganpipe.config import load_config

    given = [flag for flag, value in (("--variant", args.variant), ("--dataset", args.dataset),
                                      ("--data-dir", args.data_dir), ("--name", args.name)) if value]
    if given:
        raise GanpipeError(f"{' '.join(given)}: not with --all/--only, which run the pipelines params.yaml lists")
    if args.pipeline_set and not args.all:
        raise GanpipeError(f"--pipeline-set {args.pipeline_set}: goes with --all")
    only = [name.strip() for name in args.only.split(",") if name.strip()] if args.only else None
    from flows.all_pipelines import run_all, select_pipelines

    select_pipelines(load_config(args.params, args.overrides), args.pipeline_set, only)  # names checked before Prefect starts
    summary = run_all(only, args.pipeline_set, args.params, list(args.overrides), str(Path.cwd()))
    _print(summary)
    if summary["failed"]:
        print(f"ganpipe: {len(summary['failed'])} of {len(summary['pipelines'])} pipelines failed: "
              f"{', '.join(summary['failed'])}", file=sys.stderr)
        return 1
    return 0


def _run_command(args: argparse.Namespace) -> int:
    if args.command == "variants":
        from ganpipe.variants import VARIANTS

        width = max(map(len, VARIANTS))
        for name, variant in VARIANTS.items():
            print(f"{name:{width}s}  {variant.description} ({variant.paper})")
        return 0
    if args.command == "datasets":
        from ganpipe.data import DATASETS

        width = max(map(len, DATASETS))
        for name, info in DATASETS.items():
            print(f"{name:{width}s}  {info.description}")
        return 0
    if args.command in ("sample", "translate", "models", "promote", "rollback", "lineage"):
        from ganpipe import model_commands

        run = {"sample": model_commands.sample, "translate": model_commands.translate,
               "lineage": model_commands.lineage_command}.get(
            args.command, model_commands.registry_command)
        return run(args)

    if args.command == "run":
        from ganpipe.config import load_config

        load_config(args.params, args.overrides)  # a config error answers before any server starts
        from flows.api import start_local_api

        start_local_api()  # boots while torch and the data load
        if args.all or args.only or args.pipeline_set:
            return _run_many(args)
    config, pipeline, layout = _load(args)
    from ganpipe.paths import ProjectPaths

    paths = ProjectPaths(Path.cwd())
    _check_names(pipeline, layout)
    data_dir = str(args.data_dir) if getattr(args, "data_dir", None) is not None else None
    if args.command == "run":
        from flows.pipeline import run_pipeline

        _print(run_pipeline(pipeline.variant, pipeline.dataset, args.params, list(args.overrides), str(paths.root),
                            data_dir))
        return 0
    from ganpipe import stages

    if args.command == "prepare":
        result = stages.prepare(config, pipeline.dataset, paths, data_dir)
    elif args.command == "evaluator":
        result = stages.train_evaluator(config, pipeline.dataset, paths)
    else:
        result = getattr(stages, args.command)(config, pipeline, paths)
    _print(result)
    return 0


def _write_log(error: BaseException) -> Path | None:
    try:
        log_dir = Path.cwd() / "outputs" / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / f"ganpipe-{time.strftime('%Y%m%d-%H%M%S')}.log"
        path.write_text(f"ganpipe {' '.join(sys.argv[1:])}\n\n" + "".join(traceback.format_exception(error)))
        return path
    except OSError:
        return None


def _describe(error: BaseException) -> tuple[str, int]:
    """The first GanpipeError in the exception chain, else the exception's type and first line."""
    link: BaseException | None = error
    while link is not None:
        if isinstance(link, GanpipeError):
            return str(link), link.exit_code
        link = link.__cause__ or link.__context__
    first_line = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {first_line}", 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run_command(args)
    except KeyboardInterrupt:
        print("ganpipe: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the one place that turns failures into one line
        if isinstance(error, ConfigError):
            print(f"ganpipe: error: {error}", file=sys.stderr)
            return error.exit_code
        log = _write_log(error)
        message, code = _describe(error)
        print(f"ganpipe: error: {message}" + (f" (details: {log})" if log else ""), file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
