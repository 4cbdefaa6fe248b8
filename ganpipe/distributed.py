"""Ray Train at the edge: runs the core training loop in a TorchTrainer (DDP), one shard per worker.

Joins the cluster at RAY_ADDRESS when it is set, otherwise starts Ray on this machine.
Checkpoints go through `ray.train.report` into `<storage>/<run name>` (a directory or an s3://
URI), not ~/ray_results. A worker that dies is replaced and the group restarts from the latest
checkpoint (train.max_failures); a whole run that died is resumed by running it again, when
its params and data are the same (train.resume): randomness is a function of (seed, step,
rank) and the learning-rate schedule of the step, so the resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ganpipe.errors import GanpipeError, ServiceUnavailable

CHECKPOINT_FILE = "checkpoint.pt"
LOSSES_FILE = "losses.jsonl"
BEST_FILE = "best.pt"  # the best probed step's checkpoint (eval.every > 0)
RUN_MARKER = "ganpipe-run.json"  # beside Ray's files: which params and data the run trains on
# Settings that change how a run is carried out, not what it computes: a rerun may change them and resume.
NOT_IN_FINGERPRINT = ("resume", "progress", "max_failures", "storage_path", "placement_strategy")


def check_ray_address(address: str | None, timeout_s: float = 5.0) -> None:
    """Fail fast, naming the address, when RAY_ADDRESS points at nothing that answers."""
    if not address or address in ("auto", "local"):
        return
    host_port = address.split("://", 1)[-1].rstrip("/")
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise GanpipeError(f"RAY_ADDRESS={address!r}: expected host:port or ray://host:port")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ServiceUnavailable(f"RAY_ADDRESS={address!r}: Ray cluster unreachable ({exc})") from None


def init_ray(num_cpus_hint: int) -> None:
    """Join RAY_ADDRESS's cluster, or start Ray here; waits for a start begun by `start_ray_in_background`
    (if that failed, say RAY_ADDRESS did not answer, this tries again and the error is the caller's)."""
    import ray

    starter = _starter
    if starter is not None and starter is not threading.current_thread():
        starter.ready.wait()
    with _ray_lock:
        if ray.is_initialized():
            return
        address = os.environ.get("RAY_ADDRESS")
        check_ray_address(address)
        # Ray Train's controller polls its workers every 2 s by default, so even a finished run
        # waits for the next poll; 0.5 s costs nothing measurable. (A user's own setting wins.)
        os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.5")
        if address:
            ray.init(address=address, log_to_driver=True)
        else:
            # One machine has no node to be preempted: skip the watcher actor (a process) Ray Train starts.
            os.environ.setdefault("RAY_TRAIN_ENABLE_PREEMPTION_WATCHER", "0")
            # Locally, reserve at least one CPU per worker plus one for Ray Train's controller. Ray
            # runs its workers at nice 15 by default; the training workers are the job here, and
            # at 15 they lose ~5 % of their steps to anything else on the machine.
            # address="local": a new instance even when `ray start` left a cluster (or its stale
            # address file) on this machine; RAY_ADDRESS=auto joins that one instead.
            ray.init(address="local", num_cpus=max(os.cpu_count() or 1, num_cpus_hint + 1), include_dashboard=False,
                     _system_config={"worker_niceness": 0})


class _RayStarter(threading.Thread):
    """Starts Ray, then stays alive until the process exits: Ray ties its local processes' lives to
    the thread that started them (PR_SET_PDEATHSIG), so a thread that ended would take them along."""

    def __init__(self, num_cpus_hint: int) -> None:
        super().__init__(name="ray-start", daemon=True)
        self.num_cpus_hint = num_cpus_hint
        self.ready = threading.Event()

    def run(self) -> None:
        try:
            init_ray(self.num_cpus_hint)
        except Exception:  # init_ray's next caller tries again and gets the error
            pass
        finally:
            self.ready.set()
        threading.Event().wait()


_ray_lock = threading.Lock()
_starter: _RayStarter | None = None


def start_ray_in_background(num_cpus_hint: int) -> None:
    """Begin starting Ray (~3 s) while this process does other work; `init_ray` waits for it."""
    global _starter
    import ray

    with _ray_lock:
        if _starter is not None or ray.is_initialized():
            return
        _starter = _RayStarter(num_cpus_hint)
        _starter.start()


def _worker(loop_config: dict[str, Any]) -> None:
    """Runs on every Ray Train worker: build, wrap in DDP, resume if Ray hands us a checkpoint, train."""
    import ray.train
    import ray.train.torch
    import numpy as np
    import torch

    from ganpipe.checkpoint import load_checkpoint, make_checkpoint, parameter_fingerprint, restore_state, save_checkpoint
    from ganpipe.config import Config, PipelineSpec
    from ganpipe.loop import Callback, TrainingState, to_channels_last, train_loop
    from ganpipe.metrics.probe import BestProbedCheckpoint
    from ganpipe.stats import LossLog, ProgressBar, Throughput
    from ganpipe.variants import build_variant

    config = Config.model_validate(loop_config["config"])
    pipeline = PipelineSpec.model_validate(loop_config["pipeline"])
    context = ray.train.get_context()
    rank, world_size = context.get_world_rank(), context.get_world_size()
    device = ray.train.torch.get_device()
    if device.type == "cpu":
        torch.set_num_threads(loop_config["cpus_per_worker"])
    torch.manual_seed(config.train.seed + rank)

    shard = {name: torch.from_numpy(np.array(array[rank::world_size])).to(device)
             for name, array in loop_config["arrays"].items()}
    variant = build_variant(pipeline.variant, config, loop_config["sample_shape"], loop_config.get("num_classes", 0),
                            loop_config.get("input_shape"))
    nets = variant.build_nets()
    if config.train.channels_last:
        to_channels_last(nets)
    optimizers = variant.build_optimizers(nets, config.train)
    # DDP for the trained nets; the EMA copy is only moved to the device.
    nets = {name: ray.train.torch.prepare_model(net, parallel_strategy="ddp" if name in variant.trained_nets else None)
            for name, net in nets.items()}
    if config.train.compile:
        nets = {name: torch.compile(net) if name in variant.trained_nets else net for name, net in nets.items()}
    state = TrainingState(variant, nets, optimizers)
    losses = LossLog(every=config.train.log_every)

    probe = loop_config.get("probe")
    best = None  # rank 0 probes the primary metric and keeps the best step (eval.every > 0)
    if probe is not None and rank == 0:
        best = BestProbedCheckpoint(probe, config.eval.every, config.train.steps,
                                    lambda state: make_checkpoint(state, config, pipeline))

    resumed_from: list[int] = []  # the steps this run resumed from, after a worker failure or a rerun
    resume_from = ray.train.get_checkpoint()
    if resume_from is not None:
        with resume_from.as_directory() as directory:
            resumed = load_checkpoint(Path(directory) / CHECKPOINT_FILE)
            restore_state(state, resumed)
            resumed_from = [*resumed.get("run", {}).get("resumed_from", []), state.step]
            if rank == 0:
                print(f"train {pipeline.name}: resumed from the checkpoint of step {state.step}", file=sys.stderr, flush=True)
            losses.load(Path(directory) / LOSSES_FILE)
            if best is not None:
                best_file = Path(directory) / BEST_FILE
                best.load_state_dict(resumed.get("probe", {}), best_file.read_bytes() if best_file.is_file() else None)

    class ReportToRay(Callback):
        def on_step(self, state: TrainingState, stats: dict[str, float]) -> None:
            final = state.step == config.train.steps
            if state.step % config.train.checkpoint_every and not final:
                return
            metrics = {"step": state.step, **stats}
            node = ray.get_runtime_context().get_node_id()
            replicas = [(parameter_fingerprint(state.nets["G"]), node)] * world_size
            if final and world_size > 1:
                torch.distributed.all_gather_object(replicas, replicas[0])
            if rank != 0:
                ray.train.report(metrics)
                return
            checkpoint = make_checkpoint(state, config, pipeline)
            checkpoint["replica_fingerprints"] = {"G": [fingerprint for fingerprint, _ in replicas]}
            checkpoint["run"] = {"world_size": world_size, "cpus_per_worker": loop_config["cpus_per_worker"],
                                 "node_ids": [node_id for _, node_id in replicas] if final else [node],
                                 "resumed_from": resumed_from, "images_per_s": throughput.images_per_s}
            if best is not None:
                checkpoint["probe"] = best.state_dict()
            with tempfile.TemporaryDirectory() as directory:
                save_checkpoint(checkpoint, Path(directory) / CHECKPOINT_FILE)
                losses.save(Path(directory) / LOSSES_FILE)
                if best is not None and best.best_bytes is not None:
                    (Path(directory) / BEST_FILE).write_bytes(best.best_bytes)
                ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(directory))

    # The first tenth of the steps is warm-up: Ray starts helper actors while training begins.
    throughput = Throughput(config.train.batch_size, warmup=max(5, (config.train.steps - state.step) // 10))
    callbacks: list[Callback] = [losses, throughput, *([best] if best is not None else []), ReportToRay()]
    if rank == 0 and config.train.progress:
        callbacks.append(ProgressBar(total=config.train.steps, initial=state.step, desc=f"train {pipeline.name}"))
    train_loop(state, shard, config.train, rank=rank, world_size=world_size, callbacks=callbacks)
    for callback in callbacks:
        if isinstance(callback, ProgressBar):
            callback.close()


def training_fingerprint(loop_config: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """sha256 of what a run computes: params (but not how it is run), pipeline, shapes and the data."""
    config = json.loads(json.dumps(loop_config["config"], default=str))
    for key in NOT_IN_FINGERPRINT:
        config.get("train", {}).pop(key, None)
    described = {key: loop_config.get(key) for key in ("pipeline", "sample_shape", "num_classes", "input_shape")}
    digest = hashlib.sha256(json.dumps({"config": config, **described}, sort_keys=True).encode())
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


def storage_filesystem(storage: str | Path):
    """(pyarrow filesystem, path in it) for a local directory or a URI such as s3://bucket/prefix."""
    import pyarrow.fs

    location = str(storage)
    if "://" not in location:
        location = str(Path(location).resolve())
        Path(location).mkdir(parents=True, exist_ok=True)
    try:
        return pyarrow.fs.FileSystem.from_uri(location)
    except Exception as exc:
        raise GanpipeError(f"train.storage_path={storage!r}: cannot open ({type(exc).__name__}: {exc})") from None


def previous_run_resumable(storage: str | Path, run_name: str, fingerprint: str) -> bool:
    """Whether `<storage>/<run_name>` holds a run on the same params and data, with a checkpoint."""
    import pyarrow.fs

    fs, base = storage_filesystem(storage)
    run_dir = f"{base.rstrip('/')}/{run_name}"
    try:
        with fs.open_input_stream(f"{run_dir}/{RUN_MARKER}") as stream:
            marker = json.loads(stream.read())
    except (OSError, ValueError):
        return False
    listing = fs.get_file_info(pyarrow.fs.FileSelector(run_dir, allow_not_found=True))
    has_checkpoint = any(info.base_name.startswith("checkpoint_") for info in listing)
    return marker.get("fingerprint") == fingerprint and has_checkpoint


def start_run_directory(storage: str | Path, run_name: str, fingerprint: str) -> None:
    """Clear `<storage>/<run_name>` and mark it with the run's fingerprint."""
    fs, base = storage_filesystem(storage)
    run_dir = f"{base.rstrip('/')}/{run_name}"
    fs.delete_dir_contents(run_dir, missing_dir_ok=True)
    fs.create_dir(run_dir)
    with fs.open_output_stream(f"{run_dir}/{RUN_MARKER}") as stream:
        stream.write(json.dumps({"fingerprint": fingerprint}).encode())


def cpus_per_worker(train: dict[str, Any], local: bool) -> int:
    """train.cpus_per_worker, else this machine's CPUs shared by the workers (locally) or 1 (on a cluster)."""
    if train.get("cpus_per_worker"):
        return int(train["cpus_per_worker"])
    return max(1, (os.cpu_count() or 1) // train["num_workers"]) if local else 1


def ray_cpus_needed(train: dict[str, Any]) -> int:
    return train["num_workers"] * cpus_per_worker(train, local=not os.environ.get("RAY_ADDRESS"))


def train_distributed(
    loop_config: dict[str, Any],
    arrays: dict[str, np.ndarray],
    *,
    run_name: str,
    storage: str | Path,
    out_dir: Path,
) -> Path:
    """Train with Ray Train on the named training `arrays` (each worker takes every
    num_workers-th row of each); copy the final checkpoint and loss log into `out_dir`.
    Scaling, fault tolerance and resumption follow the config's `train` section."""
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    import torch
    from ray.train.torch import TorchTrainer

    train = loop_config["config"]["train"]
    local = not os.environ.get("RAY_ADDRESS")
    cpus = cpus_per_worker(train, local)
    init_ray(train["num_workers"] * cpus)
    fingerprint = training_fingerprint(loop_config, arrays)
    if train.get("resume", True) and previous_run_resumable(storage, run_name, fingerprint):
        print(f"train {run_name}: resuming the earlier run on the same params and data from its latest checkpoint "
              f"in {storage}/{run_name} (train.resume=false starts afresh)", file=sys.stderr, flush=True)
    else:
        start_run_directory(storage, run_name, fingerprint)
    storage_path = str(storage) if "://" in str(storage) else str(Path(storage).resolve())
    trainer = TorchTrainer(
        _worker,
        train_loop_config={**loop_config, "arrays": arrays, "cpus_per_worker": cpus},
        scaling_config=ScalingConfig(num_workers=train["num_workers"], use_gpu=train.get("use_gpu", False),
                                     resources_per_worker={"CPU": cpus} if not train.get("use_gpu") else None,
                                     placement_strategy=train.get("placement_strategy", "PACK")),
        run_config=RunConfig(
            name=run_name,
            storage_path=storage_path,
            checkpoint_config=CheckpointConfig(num_to_keep=train["keep_checkpoints"]),
            failure_config=FailureConfig(max_failures=train.get("max_failures", 0)),
        ),
    )
    try:
        result = trainer.fit()
    except Exception as exc:
        raise GanpipeError(f"Ray training run '{run_name}' failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from exc
    if result.checkpoint is None:
        raise GanpipeError(f"Ray training run '{run_name}' finished without a checkpoint")
    out_dir.mkdir(parents=True, exist_ok=True)
    with result.checkpoint.as_directory() as directory:
        replicas = torch.load(Path(directory) / CHECKPOINT_FILE, weights_only=True)["replica_fingerprints"]["G"]
        if len(set(replicas)) != 1:
            raise GanpipeError(f"Ray training run '{run_name}': G's parameters differ across the {len(replicas)} workers")
        (out_dir / BEST_FILE).unlink(missing_ok=True)
        for name in (CHECKPOINT_FILE, LOSSES_FILE, BEST_FILE):
            if (Path(directory) / name).is_file():
                shutil.copyfile(Path(directory) / name, out_dir / name)
    return out_dir / CHECKPOINT_FILE
