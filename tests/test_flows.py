"""The orchestration itself, under prefect_test_harness: failure isolation, retries of transient
failures only, concurrency, pipeline selection. The stage functions are replaced by quick
stand-ins (the real ones run in test_pipeline.py); the flows, tasks and retries are Prefect's."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

import flows.pipeline
from ganpipe import stages
from ganpipe.cli import main
from ganpipe.errors import GanpipeError, ServiceUnavailable

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture()
def project(tmp_path: Path, monkeypatch, harness) -> SimpleNamespace:
    """params.yaml listing two pipelines; stage stand-ins that record what ran."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["reproduce"] = {"datasets": ["digits", "ring8"],
                           "pipelines": {"dcgan-digits": {"variant": "dcgan", "dataset": "digits"},
                                         "gan-ring8": {"variant": "gan", "dataset": "ring8"}}}
    params["run"].update(retry_delay_s=0)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    ran: list[str] = []
    monkeypatch.setattr(flows.pipeline, "start_ray_in_background", lambda num_cpus_hint: None)  # no real stage needs it
    monkeypatch.setattr(stages, "prepare", lambda config, dataset, paths, data_dir=None: ran.append(f"prepare@{dataset}") or {})
    monkeypatch.setattr(stages, "train_evaluator", lambda config, dataset, paths: ran.append(f"evaluator@{dataset}") or {})
    monkeypatch.setattr(stages, "train", lambda config, pipeline, paths: ran.append(f"train@{pipeline.name}") or {})
    monkeypatch.setattr(stages, "evaluate", lambda config, pipeline, paths: ran.append(f"evaluate@{pipeline.name}") or {"fid": 1.0})
    monkeypatch.setattr(stages, "register", lambda config, pipeline, paths: ran.append(f"register@{pipeline.name}") or
                        {"model_name": f"ganpipe-{pipeline.name}", "version": "1", "gate": {"decision": "promoted"}})
    return SimpleNamespace(root=tmp_path, ran=ran)


def failing(stage: str, pipeline_name: str, error: Exception, times: int = 10**9):
    """A stand-in for `stage` that raises `error` for `pipeline_name` the first `times` calls."""
    calls = []

    def stand_in(config, pipeline, paths):
        if pipeline.name == pipeline_name:
            calls.append(pipeline.name)
            if len(calls) <= times:
                raise error
        return {"fid": 1.0} if stage == "evaluate" else {"model_name": "m", "version": "1", "gate": {}}

    return stand_in, calls


def test_a_failing_pipeline_does_not_stop_the_others(project: SimpleNamespace, monkeypatch, capsys) -> None:
    train, _ = failing("train", "dcgan-digits", RuntimeError("out of memory in G"))
    monkeypatch.setattr(stages, "train", train)
    assert main(["run", "--all"]) == 1
    captured = capsys.readouterr()
    assert "1 of 2 pipelines failed: dcgan-digits" in captured.err
    assert "register@gan-ring8" in project.ran and "register@dcgan-digits" not in project.ran
    from flows.all_pipelines import run_all

    summary = run_all(None, None, "params.yaml", [], str(project.root))
    assert summary["failed"] == ["dcgan-digits"]
    assert "stage train failed: RuntimeError: out of memory in G" in summary["pipelines"]["dcgan-digits"]["error"]
    assert summary["pipelines"]["gan-ring8"]["status"] == "completed"


def test_a_transient_failure_is_retried_and_a_real_one_is_not(project: SimpleNamespace, monkeypatch) -> None:
    from flows.all_pipelines import run_all

    register, calls = failing("register", "gan-ring8", ServiceUnavailable("MLFLOW_TRACKING_URI=http://x: tracking server unreachable"), times=1)
    monkeypatch.setattr(stages, "register", register)
    summary = run_all(["gan-ring8"], None, "params.yaml", [], str(project.root))
    assert summary["failed"] == [] and len(calls) == 2  # failed once, retried once, completed

    evaluate, calls = failing("evaluate", "gan-ring8", GanpipeError("metrics/x.json: corrupt"))
    monkeypatch.setattr(stages, "evaluate", evaluate)
    summary = run_all(["gan-ring8"], None, "params.yaml", [], str(project.root))
    assert summary["failed"] == ["gan-ring8"] and len(calls) == 1  # not a server: no retry

    register, calls = failing("register", "gan-ring8", ServiceUnavailable("still down"))
    monkeypatch.setattr(stages, "register", register)
    monkeypatch.setattr(stages, "evaluate", lambda config, pipeline, paths: {"fid": 1.0})
    summary = run_all(["gan-ring8"], None, "params.yaml", ["run.retries=1"], str(project.root))
    assert summary["failed"] == ["gan-ring8"] and len(calls) == 2  # run.retries bounds the attempts


def test_pipelines_run_concurrently_as_subflows(project: SimpleNamespace) -> None:
    from flows.all_pipelines import run_all

    summary = run_all(None, None, "params.yaml", ["run.concurrency=2"], str(project.root))
    assert summary["failed"] == [] and set(summary["pipelines"]) == {"dcgan-digits", "gan-ring8"}
    assert sorted(name for name in project.ran if name.startswith("register")) == ["register@dcgan-digits", "register@gan-ring8"]


def test_selection_names_what_is_unknown(project: SimpleNamespace, capsys) -> None:
    assert main(["run", "--only", "dcgan-digits,nope"]) != 0
    assert "--only nope: no such pipeline in params.yaml" in capsys.readouterr().err
    assert main(["run", "--all", "--pipeline-set", "nightly"]) != 0
    assert "no such set in reproduce_sets (known: quickstart, zoo)" in capsys.readouterr().err
    assert main(["run", "--all", "--variant", "gan"]) != 0
    assert "--variant: not with --all/--only" in capsys.readouterr().err
    assert main(["run", "--only", "lsgan-grid25"]) == 0  # any pipeline of any set in params.yaml
    assert "register@lsgan-grid25" in project.ran


def test_local_api_starts_only_without_a_configured_server(tmp_path: Path) -> None:
    """`ganpipe run` launches Prefect's API itself (so it boots while torch loads) unless one is configured."""
    import json
    import os
    import subprocess
    import sys

    script = ("import json, os\nfrom flows.api import start_local_api, wait_for_local_api\n"
              "from prefect.settings import get_current_settings\n"
              "start_local_api(); wait_for_local_api()\n"
              "print(json.dumps({'env': os.environ.get('PREFECT_API_URL'), 'settings': get_current_settings().api.url}))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PYTHONPATH=str(REPO))
    started = json.loads(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                                        check=True, timeout=180).stdout.splitlines()[-1])
    assert started["env"].startswith("http://127.0.0.1:") and started["settings"] == started["env"]

    configured = json.loads(subprocess.run([sys.executable, "-c", script], env={**env, "PREFECT_API_URL": "http://example.invalid/api"},
                                           capture_output=True, text=True, check=True, timeout=60).stdout.splitlines()[-1])
    assert configured == {"env": "http://example.invalid/api", "settings": "http://example.invalid/api"}


def test_local_api_sends_no_usage_heartbeat_unless_asked(monkeypatch) -> None:
    from prefect.settings import get_current_settings

    from flows.api import local_api_environment

    monkeypatch.delenv("PREFECT_SERVER_ANALYTICS_ENABLED", raising=False)
    assert local_api_environment(get_current_settings())["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "true")
    environment = local_api_environment(get_current_settings())
    assert environment["PREFECT_SERVER_ANALYTICS_ENABLED"] == "true" and environment["PREFECT__SERVER_EPHEMERAL"] == "1"


def test_ray_started_in_the_background_hands_its_error_to_the_caller(monkeypatch) -> None:
    from ganpipe.integrations import ray_cluster

    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")  # nothing listens on port 1
    monkeypatch.setattr(ray_cluster, "_starter", None)
    ray_cluster.start_ray_in_background(2)
    with pytest.raises(ServiceUnavailable, match="RAY_ADDRESS='127.0.0.1:1'"):
        ray_cluster.init_ray(2)
