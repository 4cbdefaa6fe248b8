"""Stage 3: train the GAN with Ray Train; the final checkpoint lands in outputs/<pipeline>/train."""

from __future__ import annotations

from typing import Any

from ganpipe.config import Config, PipelineSpec, config_to_dict
from ganpipe.data.prepared import load_prepared
from ganpipe.distributed import train_distributed
from ganpipe.paths import ProjectPaths
from ganpipe.stats import read_loss_log, write_loss_csv
from ganpipe.variants import get_variant


def train(config: Config, pipeline: PipelineSpec, paths: ProjectPaths) -> dict[str, Any]:
    variant = get_variant(pipeline.variant)  # fail on an unknown variant before Ray starts
    data = load_prepared(paths.prepared(pipeline.dataset))
    loop_config = {
        "config": config_to_dict(config),
        "pipeline": config_to_dict(pipeline),
        "sample_shape": list(data.sample_shape),
        "num_classes": data.num_classes,
        "input_shape": None if data.train_a is None else list(data.train_a.shape[1:]),
    }
    checkpoint = train_distributed(
        loop_config,
        variant.training_arrays(data),
        run_name=pipeline.name,
        storage_path=paths.ray_storage,
        out_dir=paths.train_dir(pipeline.name),
        num_workers=config.train.num_workers,
        use_gpu=config.train.use_gpu,
        keep_checkpoints=config.train.keep_checkpoints,
    )
    write_loss_csv(read_loss_log(paths.losses(pipeline.name)), paths.loss_curve(pipeline.name))
    return {"checkpoint": str(checkpoint), "steps": config.train.steps}
