"""Distributed training that survives faults: a killed whole run resumes exactly, a killed worker
is replaced from the latest checkpoint, and two Ray nodes share one run. The real stack throughout."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from conftest import BIN, TINY_OVERRIDES, deep_merge, free_port, ganpipe, make_project, tool_env

pytestmark = pytest.mark.slow

# Long enough to be killed between checkpoints, short enough for a test.
RESUMABLE = deep_merge(TINY_OVERRIDES, {"train": {"steps": 300, "checkpoint_every": 20, "keep_checkpoints": 2},
                                        "eval": {"every": 0}})
RUN_DIR = Path("outputs/ray/dcgan-digits")
CHECKPOINT = Path("outputs/dcgan-digits/train/checkpoint.pt")


def wait_for_checkpoint(project: Path, process: subprocess.Popen, timeout_s: float = 300) -> None:
    """Until Ray Train has registered a checkpoint (its snapshot lists one): a checkpoint directory
    alone may still be in the middle of being reported."""
    def registered() -> bool:
        snapshot = project / RUN_DIR / "checkpoint_manager_snapshot.json"
        return snapshot.is_file() and "checkpoint_" in snapshot.read_text()

    deadline = time.time() + timeout_s
    while not registered():
        if process.poll() is not None or time.time() > deadline:
            pytest.fail(f"no checkpoint before the run ended (exit {process.poll()})")
        time.sleep(0.05)


def samples(checkpoint: Path) -> torch.Tensor:
    from ganpipe.checkpoint import load_checkpoint, variant_from_checkpoint

    variant, nets = variant_from_checkpoint(load_checkpoint(checkpoint))
    z = variant.sample_noise(16, torch.Generator().manual_seed(7), torch.device("cpu"))
    with torch.no_grad():
        return nets["G"](z)


def test_a_killed_run_rerun_resumes_and_equals_the_uninterrupted_run(tmp_path: Path) -> None:
    reference = make_project(tmp_path / "reference", RESUMABLE)
    done = ganpipe("run", cwd=reference)
    assert done.returncode == 0, done.stderr[-3000:]

    project = make_project(tmp_path / "killed", RESUMABLE)
    with open(tmp_path / "killed.log", "w") as log:
        run = subprocess.Popen([str(BIN / "ganpipe"), "run"], cwd=project, env=tool_env(), stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_checkpoint(project, run)
    os.killpg(run.pid, signal.SIGKILL)  # the driver, Prefect's server, Ray and its workers
    run.wait()
    assert not (project / CHECKPOINT).exists()

    rerun = ganpipe("run", cwd=project)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "resuming the earlier run on the same params and data" in rerun.stderr
    record = torch.load(project / CHECKPOINT, weights_only=True)["run"]
    assert len(record["resumed_from"]) == 1 and 0 < record["resumed_from"][0] < 300
    assert record["resumed_from"][0] % 20 == 0
    torch.testing.assert_close(samples(project / CHECKPOINT), samples(reference / CHECKPOINT), rtol=0, atol=1e-6)

    fresh = ganpipe("train", "--set", "train.resume=false", cwd=project)  # forced fresh start: no resume
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert "resuming" not in fresh.stderr
    assert torch.load(project / CHECKPOINT, weights_only=True)["run"]["resumed_from"] == []


def ray_train_workers_of(driver_pid: int) -> list[int]:
    """PIDs of the Ray Train worker processes under the raylet that `driver_pid` started."""
    def parent(pid: int) -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
        return 0

    workers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")[0].decode()
            if command.startswith("ray::RayTrainWorker") and parent(parent(int(entry.name))) == driver_pid:
                workers.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return workers


def test_a_killed_worker_is_replaced_and_the_run_completes_from_its_checkpoint(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", RESUMABLE)
    for stage in ("prepare", "evaluator"):
        assert ganpipe(stage, cwd=project).returncode == 0
    with open(tmp_path / "train.log", "w") as log:
        train = subprocess.Popen([str(BIN / "ganpipe"), "train"], cwd=project, env=tool_env(), stdout=log,
                                 stderr=subprocess.STDOUT)
    wait_for_checkpoint(project, train)
    workers = ray_train_workers_of(train.pid)
    assert len(workers) == 2, workers
    os.kill(workers[1], signal.SIGKILL)
    assert train.wait(timeout=600) == 0, (tmp_path / "train.log").read_text()[-3000:]
    record = torch.load(project / CHECKPOINT, weights_only=True)
    assert record["step"] == 300
    assert len(record["run"]["resumed_from"]) == 1 and record["run"]["resumed_from"][0] % 20 == 0  # Ray restarted it


def test_two_workers_over_two_ray_nodes(tmp_path: Path) -> None:
    """`ray start --head` and a second `ray start --address` on this machine, one CPU each: the two
    workers can only be placed one per node."""
    port = free_port()
    env = tool_env(RAY_DISABLE_USAGE_STATS="1", RAY_AUTH_MODE="disabled")  # a throwaway cluster: no token
    nodes = []
    try:
        for arguments in (["--head", f"--port={port}", "--include-dashboard=false"], [f"--address=127.0.0.1:{port}"]):
            nodes.append(subprocess.Popen([str(BIN / "ray"), "start", *arguments, "--num-cpus=1", "--block"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
            time.sleep(8 if len(nodes) == 1 else 0)
        project = make_project(tmp_path / "project")
        deadline = time.time() + 120
        status = None
        while time.time() < deadline:
            status = subprocess.run([str(BIN / "ray"), "status", f"--address=127.0.0.1:{port}"], env=env,
                                    capture_output=True, text=True)
            if status.stdout.count("node_") >= 2:
                break
            time.sleep(2)
        assert status is not None and status.stdout.count("node_") >= 2, status.stdout + status.stderr
        result = ganpipe("run", "--set", "train.num_workers=2", "--set", "eval.every=0", cwd=project,
                         env={**env, "RAY_ADDRESS": f"127.0.0.1:{port}"})
        assert result.returncode == 0, result.stderr[-3000:]
        node_ids = torch.load(project / CHECKPOINT, weights_only=True)["run"]["node_ids"]
        assert len(node_ids) == 2 and len(set(node_ids)) == 2, node_ids
    finally:
        for node in reversed(nodes):
            os.killpg(node.pid, signal.SIGTERM)
            try:
                node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, signal.SIGKILL)
        current = Path("/tmp/ray/ray_current_cluster")  # `ray start`'s address file, now stale
        if current.is_file() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()
