"""Starting Ray, or joining RAY_ADDRESS's cluster, once per process; optionally in the background.

A local start takes ~3 s; `start_ray_in_background` lets the flow overlap it with the stages
before training, and `init_ray` (what training calls) waits for it.
"""

from __future__ import annotations

import os
import socket
import threading

from ganpipe.errors import GanpipeError, ServiceUnavailable


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
            # Nothing scrapes Ray Train's Prometheus metrics without the dashboard: skip recording them.
            os.environ.setdefault("RAY_TRAIN_METRICS_ENABLED", "0")
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
