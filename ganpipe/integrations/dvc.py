"""Keeps dvc.lock in step when a stage ran outside `dvc repro` (e.g. in the Prefect flow).

After a stage function wrote its outputs, `dvc commit` records their hashes together with
the deps and params they came from, so `dvc status` is clean and `dvc repro` has nothing to do.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def stage_names(root: Path) -> set[str]:
    """Names of the stages dvc.yaml defines (foreach stages expanded as name@key)."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        return {stage.addressing for stage in repo.index.stages}


def commit_stage(root: Path, stage: str) -> bool:
    """`dvc commit -f <stage>`; False (and nothing written) when there is no DVC project or no such stage."""
    if not (root / ".dvc").is_dir() or not (root / "dvc.yaml").is_file():
        return False
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        if stage not in {s.addressing for s in repo.index.stages}:
            log.info("dvc.yaml has no stage %s; dvc.lock left as it is", stage)
            return False
        repo.commit(stage, force=True)
    return True


def stage_is_current(root: Path, stage: str) -> bool:
    """True when dvc.lock records `stage` with today's deps, params and outputs (what `dvc status`
    calls up to date): rerunning it would reproduce what is there. False without a DVC project
    or without such a stage."""
    if not (root / ".dvc").is_dir() or not (root / "dvc.yaml").is_file() or not (root / "dvc.lock").is_file():
        return False
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        if stage not in {s.addressing for s in repo.index.stages}:
            return False
        return repo.status(targets=[stage]) == {}


def track_output(root: Path, path: Path) -> Path | None:
    """`dvc add <path>`: cache the folder and write <path>.dvc (returned); None without a DVC project."""
    if not (root / ".dvc").is_dir():
        return None
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        repo.scm_context.quiet = True  # its "git add" hint would land in our JSON on stdout
        repo.add(str(path.relative_to(root)))
    return path.with_name(path.name + ".dvc")


def tracked_md5(dvc_file: Path) -> str | None:
    """The md5 a .dvc file records for its output."""
    import yaml

    return ((yaml.safe_load(dvc_file.read_text()) or {}).get("outs") or [{}])[0].get("md5")
