"""Ray Train at the edge: runs the core training loop in a TorchTrainer (DDP), one shard per worker.

Joins the cluster at RAY_ADDRESS when it is set, otherwise starts Ray on this machine
(ganpipe/integrations/ray_cluster.py). Checkpoints go through `ray.train.report` into `<storage>/<run name>` (a directory or an s3://
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
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ganpipe.errors import GanpipeError
from ganpipe.integrations.ray_cluster import init_ray

CHECKPOINT_FILE = "checkpoint.pt"
LOSSES_FILE = "losses.jsonl"
BEST_FILE = "best.pt"  # the best probed step's checkpoint (eval.every > 0)
RUN_MARKER = "ganpipe-run.json"  # beside Ray's files: which params and data the run trains on
# Settings that change how a run is carried out, not what it computes: a rerun may change them and resume.
NOT_IN_FINGERPRINT = ("resume", "progress", "max_failures", "storage_path", "placement_strategy")


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


def storage_location(storage: str | Path) -> str:
    """A URI (s3://bucket/prefix) as given; a local directory made absolute, and created."""
    if "://" in str(storage):
        return str(storage)
    Path(storage).mkdir(parents=True, exist_ok=True)
    return str(Path(storage).resolve())


def run_directory(location: str, run_name: str):
    """(pyarrow filesystem, path of `<location>/<run_name>` in it)."""
    import pyarrow.fs

    try:
        fs, base = pyarrow.fs.FileSystem.from_uri(location)
    except Exception as exc:
        raise GanpipeError(f"train.storage_path={location!r}: cannot open ({type(exc).__name__}: {exc})") from None
    return fs, f"{base.rstrip('/')}/{run_name}"


def previous_run_resumable(fs, run_dir: str, fingerprint: str) -> bool:
    """Whether `run_dir` holds a run on the same params and data, with a checkpoint."""
    import pyarrow.fs

    try:
        with fs.open_input_stream(f"{run_dir}/{RUN_MARKER}") as stream:
            marker = json.loads(stream.read())
    except (OSError, ValueError):
        return False
    listing = fs.get_file_info(pyarrow.fs.FileSelector(run_dir, allow_not_found=True))
    has_checkpoint = any(info.base_name.startswith("checkpoint_") for info in listing)
    return marker.get("fingerprint") == fingerprint and has_checkpoint


def start_run_directory(fs, run_dir: str, fingerprint: str) -> None:
    """Clear `run_dir` and mark it with the run's fingerprint."""
    fs.delete_dir_contents(run_dir, missing_dir_ok=True)
    fs.create_dir(run_dir)
    with fs.open_output_stream(f"{run_dir}/{RUN_MARKER}") as stream:
        stream.write(json.dumps({"fingerprint": fingerprint}).encode())


def cpus_per_worker(train: dict[str, Any]) -> int:
    """train.cpus_per_worker, else this machine's CPUs shared by the workers (locally) or 1 (on a cluster)."""
    if train.get("cpus_per_worker"):
        return int(train["cpus_per_worker"])
    return 1 if os.environ.get("RAY_ADDRESS") else max(1, (os.cpu_count() or 1) // train["num_workers"])


def ray_cpus_needed(train: dict[str, Any]) -> int:
    return train["num_workers"] * cpus_per_worker(train)


def ganpipe_trainer_class():
    """TorchTrainer without the helpers a ganpipe run never uses. The training arrays travel in
    the loop config, not as Ray Datasets, so the DatasetManager actor Ray Train starts for every
    run (importing Ray Data) has nothing to do; on this machine's own Ray instance, which dies
    with this process, neither has the detached PlacementGroupCleaner, which polls the state API
    every second (failing and logging without the dashboard). On 2 cores both take CPU from the
    training step. Elsewhere the cleaner stays: it frees a cluster's resources if the run dies."""
    from ray.train.torch import TorchTrainer
    from ray.train.v2._internal.callbacks.datasets import DatasetsCallback
    from ray.train.v2._internal.callbacks.placement_group_callback import PlacementGroupCleanerCallback

    unused = (DatasetsCallback,) if os.environ.get("RAY_ADDRESS") else (DatasetsCallback, PlacementGroupCleanerCallback)

    class GanpipeTorchTrainer(TorchTrainer):
        def _create_default_callbacks(self):
            return [callback for callback in super()._create_default_callbacks() if not isinstance(callback, unused)]

    return GanpipeTorchTrainer


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

    train = loop_config["config"]["train"]
    cpus = cpus_per_worker(train)
    init_ray(ray_cpus_needed(train))
    fingerprint = training_fingerprint(loop_config, arrays)
    storage_path = storage_location(storage)
    fs, run_dir = run_directory(storage_path, run_name)
    if train.get("resume", True) and previous_run_resumable(fs, run_dir, fingerprint):
        print(f"train {run_name}: resuming the earlier run on the same params and data from its latest checkpoint "
              f"in {storage}/{run_name} (train.resume=false starts afresh)", file=sys.stderr, flush=True)
    else:
        start_run_directory(fs, run_dir, fingerprint)
    trainer = ganpipe_trainer_class()(
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
