"""prefect.yaml against a real Prefect server on 127.0.0.1: deploy, trigger, a process worker runs it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, REPO, free_port, make_project, server_process, tool_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """`prefect server start` on 127.0.0.1 with its own PREFECT_HOME (SQLite); yields the env to reach it."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    env = tool_env(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_SERVER_UI_ENABLED="false")
    api = f"http://127.0.0.1:{port}/api"
    command = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with server_process(command, api + "/health", home / "server.log", env=env):
        yield {**env, "PREFECT_API_URL": api}


def prefect(*args: str, cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([str(BIN / "prefect"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"prefect {' '.join(args)}: {result.stdout[-2000:]} {result.stderr[-3000:]}"
    return result


def test_deployments_from_prefect_yaml_run_on_a_worker(prefect_server: dict[str, str], tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    shutil.copytree(REPO / "flows", project / "flows", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "prefect.yaml", project / "prefect.yaml")
    env = prefect_server
    prefect("work-pool", "create", "ganpipe", "--type", "process", cwd=project, env=env)
    prefect("--no-prompt", "deploy", "--all", cwd=project, env=env)

    inspected = {name: prefect("deployment", "inspect", name, cwd=project, env=env).stdout
                 for name in ("ganpipe-all-pipelines/nightly", "ganpipe-all-pipelines/quickstart", "ganpipe-pipeline/pipeline")}
    assert "0 2 * * *" in inspected["ganpipe-all-pipelines/nightly"] and "'zoo'" in inspected["ganpipe-all-pipelines/nightly"]
    assert "30 1 * * *" in inspected["ganpipe-all-pipelines/quickstart"]

    triggered = prefect("deployment", "run", "ganpipe-pipeline/pipeline", cwd=project, env=env).stdout
    flow_run_id = re.search(r"UUID:\s*([0-9a-f-]{36})", triggered).group(1)
    worker = prefect("worker", "start", "--pool", "ganpipe", "--run-once", cwd=project, env=env, timeout=900)
    flow_run = json.loads(prefect("flow-run", "inspect", flow_run_id, "--output", "json", cwd=project, env=env).stdout)
    assert flow_run["state"]["type"] == "COMPLETED", (flow_run["state"], worker.stdout[-3000:], worker.stderr[-3000:])
    # The run did the real work: a registered model whose lineage names this flow run.
    from mlflow import MlflowClient

    uri = f"sqlite:///{project / 'mlflow.db'}"
    version = MlflowClient(tracking_uri=uri, registry_uri=uri).get_model_version("ganpipe-dcgan-digits", "1")
    assert version.tags["lineage.prefect_flow_run_id"] == flow_run_id
    report = prefect("artifact", "inspect", "ganpipe-dcgan-digits", cwd=project, env=env).stdout
    assert "fid_digits" in report and "models:/ganpipe-dcgan-digits/1" in report
