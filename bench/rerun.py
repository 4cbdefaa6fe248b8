"""What a second, unchanged `ganpipe run` costs next to the first, and ganpipe's fixed overhead.

In a throwaway copy of this project (git + DVC, the default params.yaml):
1. `ganpipe run`: the first run, every stage;
2. `ganpipe run` again, nothing changed: every stage is skipped by DVC's verdict;
3. the minimal run: every stage runs, with 1 training step, a 1-epoch evaluator, 100 eval
   samples and no probes (`--set` overrides, so nothing is skipped). Its wall time less the
   evaluation in it is the fixed overhead (Prefect, Ray Train's start, DVC, MLflow, imports).
   The evaluation: the evaluate stage as the flow timed it (`stage_seconds`), and the 1-epoch
   fit of the classifier FID/IS use, timed here in a warm process (the evaluator stage's own
   time also holds Ray's start, which runs beside it in the background).

    python bench/rerun.py [--json out.json]        # ~8 min on 2 CPU cores
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OVERHEAD_ONLY = ["train.steps=1", "eval.every=0", "eval.num_samples=100", "eval.evaluator.epochs=1"]


def timed_run(project: Path, *sets: str) -> tuple[float, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RAY_ADDRESS", "PREFECT_API_URL"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    command = [str(BIN / "ganpipe"), "run", *(arg for value in sets for arg in ("--set", value))]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return elapsed, json.loads(done.stdout[done.stdout.index("{"):])


def evaluator_fit_seconds(project: Path) -> float:
    """The compute of the minimal run's evaluator stage: one epoch of the classifier's training."""
    sys.path.insert(0, str(REPO))
    from ganpipe.config import EvaluatorConfig
    from ganpipe.data.prepared import load_prepared
    from ganpipe.stages.evaluator import fit_evaluator

    data = load_prepared(project / "data" / "prepared" / "digits")
    fit_evaluator(data, EvaluatorConfig(epochs=1), progress=False)  # imports and first-call costs: not compute
    started = time.perf_counter()
    fit_evaluator(data, EvaluatorConfig(epochs=1), progress=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ganpipe-rerun-") as scratch:
        project = Path(scratch) / "project"
        project.mkdir()
        for name in ("ganpipe", "flows"):
            shutil.copytree(REPO / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("dvc.yaml", ".dvcignore", "params.yaml"):
            shutil.copy(REPO / name, project / name)
        for command in (["git", "init", "-q"], [str(BIN / "dvc"), "init", "-q"],
                        [str(BIN / "dvc"), "remote", "add", "-d", "local", str(Path(scratch) / "remote")]):
            subprocess.run(command, cwd=project, check=True, capture_output=True)

        first, _ = timed_run(project)
        second, summary = timed_run(project)
        minimal, minimal_summary = timed_run(project, *OVERHEAD_ONLY)
        evaluator_fit = evaluator_fit_seconds(project)
    evaluation = minimal_summary["stage_seconds"]["evaluate"] + evaluator_fit
    figures = {
        "first_run_s": round(first, 1),
        "second_unchanged_run_s": round(second, 1),
        "second_over_first": round(second / first, 3),
        "second_run_skipped": summary["skipped"],
        "minimal_run_s": round(minimal, 1),
        "minimal_run_stage_seconds": minimal_summary["stage_seconds"],
        "evaluator_fit_s": round(evaluator_fit, 2),
        "evaluation_s": round(evaluation, 1),
        "fixed_overhead_s": round(minimal - evaluation, 1),
        "minimal_run_settings": OVERHEAD_ONLY,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
