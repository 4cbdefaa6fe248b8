"""The real stack end to end on tiny settings: Prefect -> Ray Train (2 workers) -> FID/IS -> MLflow -> DVC.

One `ganpipe run` (session fixture) feeds every test here; the last test changes a param.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from conftest import BIN, free_port, ganpipe, tool_env

pytestmark = pytest.mark.slow
NAME = "ganpipe-dcgan-digits"


def client_for(uri: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def local_client(project: Path):
    return client_for(f"sqlite:///{project / 'mlflow.db'}")


def test_run_registers_a_champion_with_metrics_and_samples(pipeline_project: Path) -> None:
    client = local_client(pipeline_project)
    champion = client.get_model_version_by_alias(NAME, "champion")
    assert str(champion.version) == "1"
    run = client.get_run(champion.run_id)
    for key in ("fid_digits", "fid_digits_floor", "is_digits", "evaluator_test_accuracy", "classes_covered",
                "precision", "recall", "density", "coverage"):
        assert key in run.data.metrics
    assert run.data.tags["gate.decision"] == "promoted"
    assert run.data.tags["lineage.data_md5"] and run.data.tags["lineage.git_commit"]
    assert len(client.get_metric_history(run.info.run_id, "loss/G")) == 30 // 5
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "eval")}
    assert "eval/samples.png" in artifacts
    metrics = json.loads((pipeline_project / "metrics/dcgan-digits.json").read_text())
    assert metrics["fid_digits"] == pytest.approx(run.data.metrics["fid_digits"], rel=1e-6)


def dvc(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "dvc"), *args], cwd=project, env=tool_env(), capture_output=True, text=True,
                          timeout=600)


def test_dvc_is_up_to_date_right_after_run(pipeline_project: Path) -> None:
    status = dvc(pipeline_project, "status", "--json")
    assert status.returncode == 0 and json.loads(status.stdout) == {}, status.stdout
    noop = dvc(pipeline_project, "repro")
    assert noop.returncode == 0 and "Running stage" not in noop.stdout, noop.stdout


def test_an_unchanged_second_run_skips_every_stage_and_registers_nothing(pipeline_project: Path) -> None:
    lock_before = (pipeline_project / "dvc.lock").read_text()
    again = ganpipe("run", cwd=pipeline_project)
    assert again.returncode == 0, again.stderr[-3000:]
    summary = json.loads(again.stdout[again.stdout.index("{"):])
    assert summary["skipped"] == ["prepare", "evaluator", "train", "evaluate", "register"]
    assert summary["registration"]["version"] == "1" and "fid_digits" in summary["metrics"]
    assert [str(v.version) for v in local_client(pipeline_project).search_model_versions(f"name='{NAME}'")] == ["1"]
    assert (pipeline_project / "dvc.lock").read_text() == lock_before


def test_loss_curves_are_dvc_plots(pipeline_project: Path, tmp_path: Path) -> None:
    curve = (pipeline_project / "metrics/losses/dcgan-digits.csv").read_text().splitlines()
    assert curve[0].split(",")[0] == "step" and {"loss/D", "loss/G"} <= set(curve[0].split(","))
    assert len(curve) == 1 + 30 // 5
    shown = dvc(pipeline_project, "plots", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    assert "metrics/losses" in shown.stdout and "loss/G" in shown.stdout


def test_two_ray_workers_end_with_identical_generators(pipeline_project: Path) -> None:
    checkpoint = torch.load(pipeline_project / "outputs/dcgan-digits/train/last.pt", weights_only=True)
    fingerprints = checkpoint["replica_fingerprints"]["G"]
    assert len(fingerprints) == 2 and fingerprints[0] == fingerprints[1]
    assert checkpoint["step"] == 30
    # Ray kept its checkpoints under the project's outputs, not ~/ray_results.
    assert list((pipeline_project / "outputs/ray/dcgan-digits").glob("checkpoint_*"))


def test_the_best_probed_step_is_evaluated_and_registered_with_its_curve(pipeline_project: Path) -> None:
    """eval.every=15 of 30 steps: probes at 15 and 30; checkpoint.pt is the better one, last.pt step 30."""
    import csv

    with open(pipeline_project / "metrics/probe/dcgan-digits.csv") as handle:
        curve = [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]
    assert [row["step"] for row in curve] == [15, 30]
    best = min(curve, key=lambda row: row["fid_digits"])
    registered = torch.load(pipeline_project / "outputs/dcgan-digits/train/checkpoint.pt", weights_only=True)
    assert registered["step"] == best["step"]
    assert json.loads((pipeline_project / "metrics/dcgan-digits.json").read_text())["step"] == best["step"]
    client = local_client(pipeline_project)
    run = client.get_run(client.get_model_version(NAME, "1").run_id)
    history = client.get_metric_history(run.info.run_id, "probe/fid_digits")
    assert sorted((m.step, m.value) for m in history) == [(int(r["step"]), pytest.approx(r["fid_digits"])) for r in curve]
    assert run.data.tags["ganpipe.step"] == str(int(best["step"]))


def test_sample_from_the_registry_is_seeded(pipeline_project: Path) -> None:
    ref = f"models:/{NAME}@champion"
    for out, seed in (("a.npy", "3"), ("b.npy", "3"), ("c.npy", "4"), ("grid.png", "3")):
        result = ganpipe("sample", "--model", ref, "-n", "20", "--out", out, "--seed", seed, cwd=pipeline_project)
        assert result.returncode == 0, result.stderr
    a, b, c = (np.load(pipeline_project / name) for name in ("a.npy", "b.npy", "c.npy"))
    assert a.shape == (20, 1, 16, 16) and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 1
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert (pipeline_project / "grid.png").stat().st_size > 0
    by_version = ganpipe("sample", "--model", f"models:/{NAME}/1", "-n", "20", "--out", "v.npy", "--seed", "3",
                         cwd=pipeline_project)
    assert by_version.returncode == 0 and np.array_equal(np.load(pipeline_project / "v.npy"), a)


def test_register_against_a_real_mlflow_server(pipeline_project: Path, mlflow_server: str) -> None:
    result = ganpipe("register", cwd=pipeline_project, env=tool_env(MLFLOW_TRACKING_URI=mlflow_server))
    assert result.returncode == 0, result.stderr[-3000:]
    client = client_for(mlflow_server)
    version = client.get_model_version_by_alias(NAME, "champion")
    assert version.tags["gate.decision"] == "promoted"
    sample = ganpipe("sample", "--model", f"models:/{NAME}@champion", "-n", "4", "--out", "server.npy",
                     cwd=pipeline_project, env=tool_env(MLFLOW_TRACKING_URI=mlflow_server))
    assert sample.returncode == 0, sample.stderr[-2000:]


def test_unreachable_servers_fail_fast_in_one_line(pipeline_project: Path) -> None:
    dead = f"127.0.0.1:{free_port()}"
    for command, env in ((["register"], {"MLFLOW_TRACKING_URI": f"http://{dead}"}),
                         (["train"], {"RAY_ADDRESS": dead}),
                         (["run"], {"PREFECT_API_URL": f"http://{dead}/api"})):
        started = time.perf_counter()
        result = ganpipe(*command, cwd=pipeline_project, env=tool_env(**env), timeout=120)
        assert result.returncode != 0
        assert time.perf_counter() - started < 30
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith("ganpipe: error:") and dead in lines[-1] and "unreachable" in lines[-1]
        assert "Traceback" not in result.stderr


def test_lineage_names_commit_data_params_and_its_commands_reproduce_the_metrics(pipeline_project: Path, tmp_path: Path) -> None:
    result = ganpipe("lineage", f"models:/{NAME}/1", "--json", cwd=pipeline_project)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(result.stdout)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=pipeline_project, capture_output=True, text=True).stdout.strip()
    assert record["git_commit"] == head
    lock = yaml.safe_load((pipeline_project / "dvc.lock").read_text())
    assert record["data_md5"] == lock["stages"]["prepare@digits"]["outs"][0]["md5"]
    assert len(record["params_sha256"]) == 64 and record["overrides"] == []
    assert record["prefect_flow_run_id"] and record["mlflow_run_id"]
    assert record["reproduce"][-1] == "ganpipe run --variant dcgan --dataset digits"
    text = ganpipe("lineage", NAME, cwd=pipeline_project)  # NAME alone: its champion
    assert text.returncode == 0 and head in text.stdout and "reproduce:" in text.stdout

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(pipeline_project), str(clone)], check=True, env=tool_env())
    for command in record["reproduce"]:
        argv = shlex.split(command)
        executable = str(BIN / argv[0]) if argv[0] in ("ganpipe", "dvc") else argv[0]
        done = subprocess.run([executable, *argv[1:]], cwd=clone, env=tool_env(), capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{command}: {done.stderr[-3000:]}"
    original = json.loads((pipeline_project / "metrics" / "dcgan-digits.json").read_text())
    again = json.loads((clone / "metrics" / "dcgan-digits.json").read_text())
    assert again == pytest.approx(original, rel=1e-6)


def test_a_second_seed_reruns_train_evaluate_register_only_and_the_gate_picks_the_champion(pipeline_project: Path) -> None:
    params = pipeline_project / "params.yaml"
    settings = yaml.safe_load(params.read_text())
    settings["train"]["seed"] = 1  # the same pipeline, another seed
    params.write_text(yaml.safe_dump(settings, sort_keys=False))
    rerun = dvc(pipeline_project, "repro")
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    ran = sorted(line.split("'")[1] for line in rerun.stdout.splitlines() if line.startswith("Running stage"))
    assert ran == ["evaluate@dcgan-digits", "register@dcgan-digits", "train@dcgan-digits"]
    assert json.loads(dvc(pipeline_project, "status", "--json").stdout) == {}
    versions = local_client(pipeline_project).search_model_versions(f"name='{NAME}'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    # The second run is the challenger; champion goes to whichever the recorded gate rule prefers.
    from ganpipe.integrations.registry import GateRule, judge

    client = local_client(pipeline_project)
    assert str(client.get_model_version_by_alias(NAME, "challenger").version) == "2"
    v1, v2 = (client.get_model_version(NAME, v) for v in ("1", "2"))
    m1, m2 = (client.get_run(v.run_id).data.metrics for v in (v1, v2))
    wins, _ = judge(GateRule.from_json(v2.tags["gate.rule"]), m2, m1)
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == ("2" if wins else "1")
    assert v2.tags["gate.decision"] == ("promoted" if wins else "kept") and v2.tags["gate.reason"] in v2.description

    # As the README's workflow says: --force moves champion to v2, rollback puts back the one it replaced.
    before = str(client.get_model_version_by_alias(NAME, "champion").version)
    forced = ganpipe("promote", NAME, "--version", "2", "--force", cwd=pipeline_project)
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "2"
    if before == "1":
        assert str(client.get_model_version_by_alias(NAME, "previous-champion").version) == "1"
        assert ganpipe("rollback", NAME, cwd=pipeline_project).returncode == 0
        assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"


def test_dvc_exp_run_sets_a_param_and_exp_show_lists_the_fid(pipeline_project: Path) -> None:
    ran = dvc(pipeline_project, "exp", "run", "-S", "train.steps=40", "--name", "steps40")
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    shown = dvc(pipeline_project, "exp", "show", "--json")
    assert shown.returncode == 0, shown.stderr[-2000:]

    def named(node, name: str):
        """Every object in `dvc exp show --json` output named `name` that carries data."""
        if isinstance(node, dict):
            if node.get("name") == name and isinstance(node.get("data"), dict):
                yield node
            for child in node.values():
                yield from named(child, name)
        elif isinstance(node, list):
            for child in node:
                yield from named(child, name)

    found = list(named(json.loads(shown.stdout), "steps40"))
    assert found, shown.stdout[:3000]
    data = found[0]["data"]
    assert data["params"]["params.yaml"]["data"]["train"]["steps"] == 40
    assert "fid_digits" in data["metrics"]["metrics/dcgan-digits.json"]["data"]
