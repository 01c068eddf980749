"""Runs the service under uvicorn, with the settings the latency bench chose.

uvloop and httptools (uvicorn's "standard" extras) instead of asyncio and
h11; one worker process per CPU core, each with one OpenMP/LightGBM thread
(threads inside a worker would fight the other workers for the same cores);
no access log on the hot path; a graceful-shutdown timeout so in-flight
requests finish and the prediction log is flushed when the server stops.
"""

from __future__ import annotations

import argparse
import inspect
import ipaddress
import os
import sys
from pathlib import Path
from typing import Any

from ..config import CONFIG_ENV_VAR, DEFAULT_CONFIG, ProjectConfig, load_config

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class ServerError(RuntimeError):
    """The server cannot start (for example: no model has been promoted)."""


def worker_count(config: ProjectConfig) -> int:
    return config.serving.workers or os.cpu_count() or 1


def run_server(
    config: ProjectConfig,
    *,
    host: str,
    port: int,
    workers: int | None = None,
    config_file: Path | None = None,
) -> None:
    """Serve the promoted model on host:port until SIGINT/SIGTERM."""
    for name in THREAD_VARIABLES:  # before LightGBM's OpenMP runtime starts
        os.environ[name] = "1"
    import uvicorn

    from ..logstore import log_location, segment_files
    from ..registry import ModelRegistry

    if ModelRegistry(config).promoted_version() is None:
        raise ServerError(f"no model is promoted in {config.models_dir}; run `train` first")
    _check_auth(config, host)
    if config.serving.log_predictions:  # an unusable or unconverted log stops us here, once
        segment_files(log_location(config))
    count = workers or worker_count(config)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": False,
        "timeout_graceful_shutdown": config.serving.graceful_shutdown_s,
        "backlog": 2048,
        "log_level": "info",
        "http": "httptools",
        "loop": "uvloop",
    }
    if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
        # Workers import pandas and LightGBM before they answer the supervisor's
        # ping; on a busy machine that takes longer than uvicorn's default 5 s,
        # and the supervisor would kill and respawn them in a loop.
        options["timeout_worker_healthcheck"] = 120
    if count == 1:
        from .app import create_app

        uvicorn.run(create_app(config, freeze_heap=True), **options)
        return
    # Worker processes re-read the config named by the environment variable.
    os.environ[CONFIG_ENV_VAR] = str(config_file or config.root / DEFAULT_CONFIG)
    target = f"{__package__}.app:create_app_from_env"
    uvicorn.run(target, factory=True, workers=count, **options)


def _check_auth(config: ProjectConfig, host: str) -> None:
    """Refuse to start without tokens when auth is on; warn when an open service is reachable."""
    from .auth import TOKENS_ENV_VAR, TokenConfigError, read_tokens

    if config.serving.auth == "token":
        try:
            read_tokens()
        except TokenConfigError as error:
            raise ServerError(str(error)) from None
    elif not is_loopback(host):
        print(
            f"warning: serving on {host} with serving.auth: none: anyone who can reach the "
            "port can score, read /metrics and fill the prediction log; set serving.auth: "
            f"token and the tokens in ${TOKENS_ENV_VAR}",
            file=sys.stderr,
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def main(argv: list[str] | None = None) -> None:
    """`python -m <package>.serving.server`: used by the bench to start servers."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    run_server(
        config, host=args.host, port=args.port, workers=args.workers, config_file=args.config
    )


if __name__ == "__main__":
    main()
