"""The model registry's rules: which version is live, why it got there, and how to undo it.

Every registered version gets the alias `challenger`. `champion` moves to it only when the gate
passes: the primary metric is better than the champion's by at least `registry.margin`, and no
guard metric is worse by more than its tolerance. The champion it replaces keeps
`previous-champion`, so `rollback` can restore it. The rule a version was judged by travels with
it (tag `gate.rule`), so `ganpipe promote` applies the same rule later. The gate's inputs and
verdict are tags on the version and its description.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ganpipe.errors import GanpipeError

# Scores against the true B images, which a translation test split without true pairs lacks.
TRUTH_METRICS = ("l1", "psnr", "ssim")


@dataclass(frozen=True)
class GateRule:
    metric: str
    direction: str  # minimize | maximize
    margin: float = 0.0
    guards: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> {direction, tolerance}
    champion: str = "champion"
    challenger: str = "challenger"
    previous: str = "previous-champion"

    @classmethod
    def from_config(cls, registry, dataset: str, variant: str, true_pairs: bool = True) -> GateRule:
        """The gate of `registry` for one pipeline. Without true pairs (`true_pairs` false: an
        unpaired test split whose A and B images are not each other's translations) a rule on a
        score against the truth falls back to the B domain's FID, the one score there is."""
        fill = {"dataset": dataset, "variant": variant}
        rule = cls(metric=registry.metric.format(**fill), direction=registry.direction, margin=registry.margin,
                   guards={key.format(**fill): guard.model_dump() for key, guard in registry.guards.items()},
                   champion=registry.champion_alias, challenger=registry.challenger_alias,
                   previous=registry.previous_alias)
        if true_pairs or rule.metric not in TRUTH_METRICS:
            return rule
        return replace(rule, metric=f"fid_{dataset}", direction="minimize", margin=0.0,
                       guards={key: guard for key, guard in rule.guards.items() if key not in TRUTH_METRICS})

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GateRule:
        return cls(**json.loads(text))


def _gain(direction: str, candidate: float, champion: float) -> float:
    """How much better the candidate is (negative: worse)."""
    return champion - candidate if direction == "minimize" else candidate - champion


def judge(rule: GateRule, candidate: dict[str, float], champion: dict[str, float] | None) -> tuple[bool, str]:
    """Whether `candidate`'s metrics earn the champion alias from `champion`'s, and why (pure)."""
    if rule.metric not in candidate:
        return False, f"the candidate has no {rule.metric}"
    if champion is None:
        return True, f"no {rule.champion} yet"
    if rule.metric not in champion:
        return True, f"the {rule.champion} has no {rule.metric}"
    gain = _gain(rule.direction, candidate[rule.metric], champion[rule.metric])
    figures = f"{rule.metric} {candidate[rule.metric]:.4g} vs {champion[rule.metric]:.4g}"
    if gain <= 0 or gain < rule.margin:
        needed = f"better by at least {rule.margin:g}" if rule.margin else "better"
        return False, f"{figures}: not {needed} ({rule.direction})"
    for key, guard in rule.guards.items():
        if key in candidate and key in champion:
            loss = -_gain(guard["direction"], candidate[key], champion[key])
            if loss > guard.get("tolerance", 0.0):
                return False, (f"{figures} is better, but guard {key} got worse: {candidate[key]:.4g} vs "
                               f"{champion[key]:.4g} (tolerance {guard.get('tolerance', 0.0):g})")
    return True, f"{figures}: better by {gain:.4g} (margin {rule.margin:g})"


# --- against a real MLflow registry -------------------------------------------------------------

def _model_version(client, name: str, version: str):
    from mlflow.exceptions import MlflowException

    _check_name(client, name)
    try:
        return client.get_model_version(name, str(version))
    except MlflowException:
        versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
        raise GanpipeError(f"{name}: no version {version} (versions: {', '.join(map(str, versions)) or 'none'})") from None


def _alias_version(client, name: str, alias: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def resolve(client, ref: str, champion_alias: str = "champion"):
    """The model version REF names: [models:/]NAME@ALIAS, [models:/]NAME/VERSION, or NAME (its champion)."""
    body = ref.removeprefix("models:/")
    if "@" in body:
        name, alias = body.split("@", 1)
    elif "/" in body:
        name, version = body.rsplit("/", 1)
        return _model_version(client, name, version)
    else:
        name, alias = body, champion_alias
    _check_name(client, name)
    found = _alias_version(client, name, alias)
    if found is None:
        aliases = sorted(client.get_registered_model(name).aliases)
        raise GanpipeError(f"{ref}: {name} has no alias '{alias}' (aliases: {', '.join(aliases) or 'none'})")
    return found


def version_metrics(client, model_version) -> dict[str, float]:
    """The eval metrics of a version: its run's metrics, and any `metric.<key>` tags over them."""
    metrics: dict[str, float] = {}
    if model_version.run_id:
        metrics.update(client.get_run(model_version.run_id).data.metrics)
    for key, value in model_version.tags.items():
        if key.startswith("metric."):
            metrics[key.removeprefix("metric.")] = float(value)
    return metrics


def version_rule(model_version, fallback: GateRule | None = None) -> GateRule:
    text = model_version.tags.get("gate.rule")
    if text:
        return GateRule.from_json(text)
    if fallback is None:
        raise GanpipeError(f"{model_version.name} v{model_version.version}: no gate rule recorded (tag gate.rule)")
    return fallback


def apply_gate(client, name: str, version: str, rule: GateRule | None = None, force: bool = False) -> dict[str, Any]:
    """Judge `version` against the champion and move the aliases if it passes (or `force`)."""
    candidate_version = _model_version(client, name, version)
    rule = version_rule(candidate_version, rule)
    if "gate.rule" not in candidate_version.tags:
        client.set_model_version_tag(name, str(version), "gate.rule", rule.to_json())
    current = _alias_version(client, name, rule.champion)
    candidate = version_metrics(client, candidate_version)
    if current is not None and str(current.version) == str(version):
        promote, reason = False, f"v{version} is already {rule.champion}"
        champion = candidate
    else:
        champion = None if current is None else version_metrics(client, current)
        promote, reason = judge(rule, candidate, champion)
        if force and not promote:
            promote, reason = True, f"forced (the gate said: {reason})"
    if promote:
        client.set_registered_model_alias(name, rule.champion, str(version))
        if current is not None:
            client.set_registered_model_alias(name, rule.previous, str(current.version))
    decision = {
        "decision": "promoted" if promote else "kept",
        "reason": reason,
        "metric": rule.metric,
        "candidate_version": str(version),
        "candidate_value": candidate.get(rule.metric),
        "champion_version": None if current is None else str(current.version),
        "champion_value": None if champion is None else champion.get(rule.metric),
        "forced": bool(force),
    }
    for key, value in decision.items():
        client.set_model_version_tag(name, str(version), f"gate.{key}", str(value))
    client.update_model_version(name, str(version), description=f"gate: {decision['decision']}: {reason}")
    return decision


def register_challenger(client, name: str, version: str, rule: GateRule) -> dict[str, Any]:
    """A newly registered version: alias `challenger`, then the gate."""
    client.set_registered_model_alias(name, rule.challenger, str(version))
    return apply_gate(client, name, version, rule)


def rollback(client, name: str, champion: str = "champion", previous: str = "previous-champion") -> dict[str, Any]:
    """`champion` <- `previous`; the demoted version becomes `previous` (so a second rollback
    undoes the first)."""
    _check_name(client, name)
    current = _alias_version(client, name, champion)
    restored = _alias_version(client, name, previous)
    if restored is None:
        raise GanpipeError(f"{name}: no '{previous}' alias to roll back to")
    client.set_registered_model_alias(name, champion, str(restored.version))
    if current is not None:
        client.set_registered_model_alias(name, previous, str(current.version))
        client.set_model_version_tag(name, str(current.version), "gate.rolled_back", "true")
    return {"model_name": name, champion: str(restored.version),
            previous: None if current is None else str(current.version)}


def _check_name(client, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        known = sorted(model.name for model in client.search_registered_models())
        raise GanpipeError(f"no registered model '{name}' (known: {', '.join(known) or 'none'})") from None


def model_table(client, champion_alias: str = "champion") -> list[dict[str, Any]]:
    """One row per registered model: versions, aliases, and the champion's gate metric."""
    rows = []
    for model in sorted(client.search_registered_models(), key=lambda m: m.name):
        versions = client.search_model_versions(f"name='{model.name}'")
        aliases = {alias: str(version) for alias, version in sorted((model.aliases or {}).items())}
        row: dict[str, Any] = {"name": model.name, "versions": len(versions), "aliases": aliases}
        champion_version = _alias_version(client, model.name, champion_alias) if champion_alias in aliases else None
        if champion_version is not None and champion_version.tags.get("gate.rule"):
            rule = GateRule.from_json(champion_version.tags["gate.rule"])
            value = version_metrics(client, champion_version).get(rule.metric)
            row["champion_metric"] = f"{rule.metric}={value:.4g}" if value is not None else rule.metric
        rows.append(row)
    return rows
