"""MLflow at the edge: the connection, the project's store, runs' params and curves, model loading.

By default the store is `sqlite:///<root>/mlflow.db` with artifacts in `<root>/mlartifacts`;
MLFLOW_TRACKING_URI points ganpipe at a tracking server instead.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ganpipe.errors import GanpipeError, ServiceUnavailable

CHECKPOINT_NAME = "checkpoint.pt"
MODEL_ARTIFACT = "generator"

# Fail within seconds, not after minutes of retries, when a server is down.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")


def tracking_uri(root: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(root / 'mlflow.db').resolve()}"


def check_tracking_server(uri: str, timeout_s: float = 5.0) -> None:
    """Raise a one-line error naming the URI when an HTTP tracking server does not answer."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout_s) as response:
            response.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServiceUnavailable(f"MLFLOW_TRACKING_URI={uri}: tracking server unreachable ({reason})") from None


def connect(root: Path):
    """Point MLflow at the project's store and return a client."""
    import mlflow
    from mlflow import MlflowClient

    uri = tracking_uri(root)
    check_tracking_server(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(client, name: str, root: Path) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    artifact_location = None
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        artifact_location = (root / "mlartifacts").resolve().as_uri()
    return client.create_experiment(name, artifact_location=artifact_location)


def flatten(prefix: str, value: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from flatten(f"{prefix}.{key}" if prefix else str(key), child)
    else:
        yield prefix, value


def git_commit(root: Path) -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def log_curves(client, run_id: str, records: list[dict[str, float]], prefix: str = "") -> None:
    """Records of {step, name: value} as MLflow metric histories (`prefix` + name)."""
    from mlflow.entities import Metric

    metrics = [
        Metric(key=prefix + name, value=float(value), timestamp=0, step=int(record["step"]))
        for record in records
        for name, value in record.items()
        if name != "step"
    ]
    for start in range(0, len(metrics), 1000):
        client.log_batch(run_id, metrics=metrics[start : start + 1000])


def load_model_checkpoint(ref: str, root: Path) -> dict[str, Any]:
    """The ganpipe checkpoint behind REF: a path, `models:/NAME@ALIAS` or `models:/NAME/VERSION`."""
    from ganpipe.checkpoint import load_checkpoint

    if not ref.startswith("models:/"):
        path = Path(ref)
        if not path.exists():
            raise GanpipeError(f"{ref}: no such checkpoint file (or use models:/NAME@ALIAS)")
        return load_checkpoint(path)
    import mlflow
    from mlflow.exceptions import MlflowException

    connect(root)
    with tempfile.TemporaryDirectory(prefix="ganpipe-model-") as target:
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=ref, dst_path=target))
        except MlflowException as exc:
            reason = exc.message.splitlines()[0][:200]
            raise GanpipeError(f"{ref}: unknown registered model, version or alias in {tracking_uri(root)} ({reason})") from None
        found = sorted(local.rglob(CHECKPOINT_NAME))
        if not found:
            raise GanpipeError(f"{ref}: the registered model holds no ganpipe checkpoint")
        return load_checkpoint(found[0])
