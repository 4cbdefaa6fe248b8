"""Every config error is one line naming the key (or file and line) and the value, exit code 2."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganpipe.cli import main
from ganpipe.config import Config, load_config

REPO = Path(__file__).resolve().parents[1]


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("train.lr=-0.1", "train.lr=-0.1"),
        ("train.lr=0", "train.lr=0"),
        ("train.steps=0", "train.steps=0"),
        ("train.batch_size=0", "train.batch_size=0"),
        ("train.num_workers=0", "train.num_workers=0"),
        ("train.steps=many", "train.steps='many'"),
        ("train.bogus=1", "unknown key 'train.bogus'"),
        ("nosuchsection.key=1", "unknown key 'nosuchsection'"),
        ("train.batch_size=63", "train.batch_size=63: must be divisible by train.num_workers=2"),
        ("data.image_size=24", "data.image_size=24: must be a power of two"),
        ("registry.guards.ssim.tolerance=0.1", "registry.guards.ssim.direction is required"),
        ("train.r1_every=0", "train.r1_every=0"),
        ("eval.evaluator.members=0", "eval.evaluator.members=0"),
        ("eval.evaluator.lr_schedule=cosine", "eval.evaluator.lr_schedule='cosine'"),
    ],
)
def test_bad_override_is_one_line_exit_2(capsys, override: str, expected: str) -> None:
    code, err = run_cli(capsys, "train", "--params", str(REPO / "params.yaml"), "--set", override)
    assert code == 2
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_broken_yaml_names_file_and_line(tmp_path: Path, capsys) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("train:\n  steps: 10\n  lr: [0.1\n")
    code, err = run_cli(capsys, "train", "--params", str(params))
    assert code == 2
    assert f"{params}:" in err and "broken YAML" in err
    assert len(err.strip().splitlines()) == 1


def test_unknown_section_in_file(tmp_path: Path, capsys) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("trian:\n  steps: 10\n")
    code, err = run_cli(capsys, "evaluate", "--params", str(params))
    assert code == 2 and "unknown key 'trian'" in err


def test_missing_params_file(tmp_path: Path, capsys) -> None:
    code, err = run_cli(capsys, "prepare", "--params", str(tmp_path / "absent.yaml"))
    assert code == 2 and "absent.yaml: params file not found" in err


def test_malformed_set(capsys) -> None:
    code, err = run_cli(capsys, "train", "--params", str(REPO / "params.yaml"), "--set", "steps10")
    assert code == 2 and "expected section.key=value" in err


def test_overrides_apply_and_parse_types() -> None:
    config = load_config(REPO / "params.yaml", ["train.steps=7", "train.lr_d=0.001", "eval.evaluator.epochs=2"])
    assert config.train.steps == 7 and config.train.d_learning_rate == 0.001
    assert config.eval.evaluator.epochs == 2


def test_params_yaml_matches_defaults_shape() -> None:
    """params.yaml sets every field of every section, so DVC tracks them all."""
    config = load_config(REPO / "params.yaml")
    assert config.model_dump().keys() == Config().model_dump().keys()


def test_config_error_answers_fast_without_starting_anything() -> None:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "ganpipe", "run", "--set", "train.lr=-1"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - started
    assert result.returncode == 2
    assert result.stderr.strip() == "ganpipe: error: params.yaml (with --set): train.lr=-1: Input should be greater than 0"
    assert elapsed < 10  # no Ray, Prefect or torch import before validation


def test_zoo_set_covers_every_variant_and_resolves() -> None:
    from ganpipe.config import PipelineSpec
    from ganpipe.variants import VARIANTS

    root = Path(__file__).resolve().parents[1]
    config = load_config(root / "params.yaml")
    assert config.reproduce == config.reproduce_sets["quickstart"]
    zoo = config.reproduce_sets["zoo"].pipelines
    unconditional = {name for name, variant in VARIANTS.items() if not (variant.conditional or variant.translates)}
    for dataset in ("ring8", "grid25"):
        assert {spec.variant for spec in zoo.values() if spec.dataset == dataset} >= unconditional
    assert {"dcgan-digits", "dcgan-stacked_digits", "cgan-digits", "pix2pix-edges2digits"} <= set(zoo)
    assert {spec.variant for spec in zoo.values()} == set(VARIANTS)
    for spec in zoo.values():  # each pipeline's layered config is valid as written
        load_config(root / "params.yaml", pipeline=PipelineSpec(variant=spec.variant, dataset=spec.dataset))


def test_reproduce_names_must_match_their_pipeline(tmp_path: Path, capsys) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("reproduce:\n  datasets: [digits]\n  pipelines:\n    wrong: {variant: dcgan, dataset: digits}\n")
    assert main(["prepare", "--params", str(params)]) == 2
    assert "reproduce.pipelines.wrong: must be named 'dcgan-digits'" in capsys.readouterr().err


def test_dvc_expands_the_zoo_when_reproduce_points_at_it(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "dvc.yaml").write_text((root / "dvc.yaml").read_text())
    (tmp_path / "params.yaml").write_text((root / "params.yaml").read_text().replace("reproduce: *quickstart", "reproduce: *zoo"))
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "init", "--no-scm", "-q"], cwd=tmp_path, check=True)
    listed = subprocess.run([*dvc, "stage", "list"], cwd=tmp_path, check=True, capture_output=True, text=True).stdout
    stages = {line.split()[0] for line in listed.splitlines() if line.strip()}
    assert {"prepare@stacked_digits", "train@wgan_gp-ring8", "register@sngan-grid25", "evaluate@dcgan-digits",
            "train@sngan-stacked_digits"} <= stages
    assert len([s for s in stages if s.startswith("train@")]) == len(load_config(root / "params.yaml").reproduce_sets["zoo"].pipelines) == 22
