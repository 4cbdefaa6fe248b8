"""The Prefect API the flows talk to: a server at PREFECT_API_URL (or in the Prefect profile), or
one started for this command.

With no server configured, Prefect itself would start its ephemeral API server in a subprocess
when the first flow runs, and wait for it (~3 s here), after importing the whole server
application into this process just to launch it (another ~2.5 s). `start_local_api` launches
that same server, the way Prefect's ephemeral mode does, as soon as the command starts, so it
boots on the other core while this process imports torch and loads data, and points this
process at it through PREFECT_API_URL. `wait_for_local_api` must be called before the first flow.
The server stops when the command exits.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from ganpipe.errors import ServiceUnavailable

_local_api: subprocess.Popen | None = None


def check_prefect_api(timeout_s: float = 5.0) -> None:
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=timeout_s) as response:
            response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ServiceUnavailable(f"PREFECT_API_URL={url}: Prefect server unreachable ({getattr(exc, 'reason', exc)})") from None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def local_api_environment(settings) -> dict[str, str]:
    """The server's environment: Prefect's ephemeral-mode variables and this process's settings.
    Its anonymous usage heartbeat is off unless the environment or profile turns it on: a server
    that lives for one command has nothing to report, and offline it logs an error every 10 min."""
    return {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", **os.environ, "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1",
            **settings.to_environment_variables(exclude_unset=True)}


LOCAL_API_MIN_WAIT_S = 90


def start_local_api() -> None:
    """Without a configured Prefect server, start Prefect's API server for this command, in the background."""
    global _local_api
    import prefect
    from prefect.context import refresh_global_settings_context
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if _local_api is not None or settings.api.url or not settings.server.ephemeral.enabled:
        return
    port = _free_port()
    # Prefect's own ephemeral server command and environment (prefect.server.api.server.SubprocessASGIServer).
    _local_api = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(prefect.__file__).parent.parent),
         "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "error", "--lifespan", "on"],
        env=local_api_environment(settings),
    )
    atexit.register(_stop_local_api)
    os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
    os.environ.setdefault("PREFECT_UI_URL", "")  # no UI is served: log no links to one
    refresh_global_settings_context()


def wait_for_local_api() -> None:
    """Block until the server `start_local_api` launched answers; name what went wrong if it cannot."""
    if _local_api is None:
        return
    from prefect.settings import get_current_settings

    url = os.environ["PREFECT_API_URL"].rstrip("/") + "/health"
    # A first start migrates a new database: ~29 s on a slow 2-core machine, past Prefect's default 20 s.
    timeout = max(get_current_settings().server.ephemeral.startup_timeout_seconds, LOCAL_API_MIN_WAIT_S)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _local_api.poll() is not None:
            raise ServiceUnavailable(f"Prefect's local API server exited with code {_local_api.returncode} "
                                     "before answering; set PREFECT_API_URL to use a running server")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise ServiceUnavailable(f"Prefect's local API server did not answer at {url} in {timeout} s; "
                             "set PREFECT_API_URL to use a running server")


def _stop_local_api() -> None:
    if _local_api is None or _local_api.poll() is not None:
        return
    _local_api.terminate()
    try:
        _local_api.wait(timeout=5)
    except subprocess.TimeoutExpired:
        _local_api.kill()
        _local_api.wait()
