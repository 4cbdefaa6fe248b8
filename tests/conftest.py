"""Shared fixtures. The expensive ones (a real pipeline run, an MLflow server) are session-scoped."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Tiny settings that still exercise every stage: 2 Ray workers, a few steps, a real registry.
TINY_OVERRIDES = {
    "train": {"steps": 30, "checkpoint_every": 15, "batch_size": 32, "num_workers": 2, "log_every": 5, "progress": False},
    "eval": {"num_samples": 200, "evaluator": {"epochs": 1}, "every": 15, "every_samples": 100},
    "data": {"image_size": 16},
    "model": {"z_dim": 16, "g_width": 8, "d_width": 8},
}


@pytest.fixture(autouse=True)
def outside_the_checkout(tmp_path_factory, monkeypatch):
    """Each test runs from a scratch directory of its own, so what the code writes relative to the
    working directory (the CLI's error logs under outputs/logs, MLflow's local model folders) lands
    there, never in the checkout under test."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(autouse=True)
def isolated_tracking_uri():
    """Each test starts without MLFLOW_TRACKING_URI: mlflow.set_tracking_uri (called by
    tracking.connect) exports it, which would point later tests at an earlier test's store."""
    before = os.environ.pop("MLFLOW_TRACKING_URI", None)
    yield
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    if before is not None:
        os.environ["MLFLOW_TRACKING_URI"] = before


def deep_merge(base: dict, extra: dict) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = deep_merge(merged.get(key, {}), value) if isinstance(value, dict) else value
    return merged


def tool_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RAY_ADDRESS", "PREFECT_API_URL"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def make_project(target: Path, overrides: dict | None = None) -> Path:
    """A self-contained ganpipe project (git + DVC) with tiny params, as a user's clone would be."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(REPO / name, target / name)
    shutil.copytree(REPO / "ganpipe", target / "ganpipe", ignore=shutil.ignore_patterns("__pycache__"))
    params = deep_merge(yaml.safe_load((REPO / "params.yaml").read_text()), overrides or TINY_OVERRIDES)
    # Only the default pipeline, so `dvc status` speaks of what the test ran.
    params["reproduce"] = {"datasets": ["digits"], "pipelines": {"dcgan-digits": {"variant": "dcgan", "dataset": "digits"}}}
    (target / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = tool_env()
    subprocess.run(["git", "init", "-q"], cwd=target, check=True, env=env)
    subprocess.run([str(BIN / "dvc"), "init", "-q"], cwd=target, check=True, env=env)
    subprocess.run([str(BIN / "dvc"), "remote", "add", "-d", "local", str(target.parent / f"{target.name}-remote")],
                   cwd=target, check=True, env=env, capture_output=True)
    subprocess.run(["git", "add", "-A"], cwd=target, check=True, env=env)
    subprocess.run(["git", "-c", "user.name=ganpipe-tests", "-c", "user.email=tests@localhost", "commit", "-qm", "project"],
                   cwd=target, check=True, env=env)
    return target


def ganpipe(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ganpipe"), *args], cwd=cwd, env=env or tool_env(), capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def pipeline_project(tmp_path_factory) -> Path:
    """One real `ganpipe run` (Prefect ephemeral API, Ray Train with 2 workers, MLflow on SQLite)."""
    project = make_project(tmp_path_factory.mktemp("pipeline") / "project")
    result = ganpipe("run", cwd=project)
    assert result.returncode == 0, result.stderr[-4000:]
    return project


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def server_process(command: list[str], ready_url: str, log: Path, env: dict[str, str] | None = None,
                   cwd: Path | None = None):
    """Start a server as a user would, wait until `ready_url` answers, stop it afterwards."""
    import urllib.request

    with open(log, "w") as output:
        process = subprocess.Popen(command, cwd=cwd, env=env or tool_env(), stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(ready_url, timeout=2).read()
                break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    pytest.fail(f"{' '.join(command[:3])} did not start: " + log.read_text()[-3000:])
                time.sleep(0.5)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def start_mlflow_server(root: Path, backend_store_uri: str):
    """A real `mlflow server` on 127.0.0.1 over `backend_store_uri`, artifacts under root; yields its URL."""
    uri = f"http://127.0.0.1:{free_port()}"
    command = [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", uri.rsplit(":", 1)[1],
               "--backend-store-uri", backend_store_uri, "--artifacts-destination", str(root / "artifacts"), "--workers", "1"]
    with server_process(command, uri + "/health", root / "server.log", cwd=root):
        yield uri


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on 127.0.0.1 with a SQLite backend and a local artifact store."""
    root = tmp_path_factory.mktemp("mlflow-server")
    yield from start_mlflow_server(root, f"sqlite:///{root / 'mlflow.db'}")


@pytest.fixture(scope="session")
def mlflow_server_on_postgres(tmp_path_factory):
    """A real `mlflow server` on 127.0.0.1 whose backend store is a real PostgreSQL (pgserver's
    bundled binaries, on a unix socket), artifacts on local disk."""
    pgserver = pytest.importorskip("pgserver")
    root = tmp_path_factory.mktemp("mlflow-postgres")
    database = pgserver.get_server(root / "pgdata", cleanup_mode="stop")
    try:
        uri = database.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
        yield from start_mlflow_server(root, uri)
    finally:
        database.cleanup()


@contextlib.contextmanager
def model_server(model_uri: str, tracking_uri: str, log: Path):
    """`mlflow models serve` of `model_uri` on 127.0.0.1, as a user would run it; yields its URL."""
    port = free_port()
    command = [str(BIN / "mlflow"), "models", "serve", "-m", model_uri, "--env-manager", "local", "-h", "127.0.0.1",
               "-p", str(port), "--workers", "1"]
    with server_process(command, f"http://127.0.0.1:{port}/ping", log, env=tool_env(MLFLOW_TRACKING_URI=tracking_uri)):
        yield f"http://127.0.0.1:{port}"


def invoke(url: str, payload: dict) -> tuple[int, dict]:
    """POST `payload` to the server's /invocations; (HTTP status, JSON body)."""
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url + "/invocations", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
