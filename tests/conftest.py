"""Shared fixtures. The expensive ones (a real pipeline run, an MLflow server) are session-scoped."""

from __future__ import annotations

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
    "eval": {"num_samples": 200, "evaluator": {"epochs": 1}},
    "data": {"image_size": 16},
    "model": {"z_dim": 16, "g_width": 8, "d_width": 8},
}


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


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on 127.0.0.1 with a SQLite backend and a local artifact store."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--artifacts-destination", str(root / "artifacts"),
         "--workers", "1"],
        cwd=root, env=tool_env(), stdout=open(root / "server.log", "w"), stderr=subprocess.STDOUT,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    import urllib.request

    while True:
        try:
            urllib.request.urlopen(uri + "/health", timeout=2).read()
            break
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("mlflow server did not start: " + (root / "server.log").read_text()[-2000:])
            time.sleep(1)
    yield uri
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
