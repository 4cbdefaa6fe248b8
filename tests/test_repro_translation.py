"""`dvc repro` reproduces the image-to-image pipelines of params.yaml (tiny settings)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import BIN, make_project, tool_env

pytestmark = pytest.mark.slow
PIPELINES = {"pix2pix-edges2digits": ("pix2pix", "edges2digits"),
             "cyclegan-edges2digits_unpaired": ("cyclegan", "edges2digits_unpaired")}


def dvc(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "dvc"), *args], cwd=project, env=tool_env(), capture_output=True, text=True,
                          timeout=900)


def test_dvc_repro_runs_pix2pix_and_cyclegan_pipelines(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    params = yaml.safe_load((project / "params.yaml").read_text())
    zoo = params["reproduce_sets"]["zoo"]["pipelines"]
    assert all(key in zoo for key in PIPELINES)  # the real zoo lists them; this test runs just those two
    params["reproduce"] = {"datasets": sorted({dataset for _, dataset in PIPELINES.values()}),
                           "pipelines": {key: {"variant": v, "dataset": d} for key, (v, d) in PIPELINES.items()}}
    for dataset in params["reproduce"]["datasets"]:  # keep the tiny steps of the test settings
        params["datasets"][dataset] = {"recommended": params["datasets"][dataset]["recommended"]}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    result = dvc(project, "repro")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    for key in PIPELINES:
        metrics = json.loads((project / "metrics" / f"{key}.json").read_text())
        assert {"psnr", "ssim", "psnr_identity", "psnr_mean_b"} <= set(metrics), metrics
        assert json.loads((project / "outputs" / key / "registration.json").read_text())["model_name"] == f"ganpipe-{key}"
    status = dvc(project, "status", "--json")
    assert status.returncode == 0 and json.loads(status.stdout) == {}, status.stdout
