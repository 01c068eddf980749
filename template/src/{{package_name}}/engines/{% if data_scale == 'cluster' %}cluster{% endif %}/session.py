"""Connecting to Ray: a real cluster by address, else a local instance sized to the machine.

`data.ray_address` runs the same code on a cluster (KubeRay, Anyscale; `auto`
is $RAY_ADDRESS, else the cluster `ray start` started on this machine); the
package is shipped to the workers with `py_modules`, its dependencies must be
in the cluster's image. Without an address a new local instance is started
(`address="local"`: never a cluster that happens to run, nor the one $RAY_ADDRESS
or Ray's stale `ray_current_cluster` file names) on 127.0.0.1, with no
dashboard, and with at least two more logical CPUs than training workers: Ray
Data's read tasks need CPUs while the workers hold theirs, and without the
spare ones training can wait forever.

Ray Data keeps the input's row order in every step (`preserve_order`): batch
scoring's output and its rejects' row numbers line up with the input's rows,
and the same table gives the same result on every run, however busy the
machine is and whichever task finishes first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ray
import ray.data

from ...config import ProjectConfig


def local_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def worker_count(config: ProjectConfig) -> int:
    """Training workers: `data.ray_workers`, else one per two cores (at least one)."""
    if config.data.ray_workers:
        return config.data.ray_workers
    if config.data.ray_address:
        return max(1, int(ray.cluster_resources().get("CPU", 2)) // 2)
    return max(1, (config.data.ray_num_cpus or local_cpus()) // 2)


@contextmanager
def ray_session(config: ProjectConfig) -> Iterator[None]:
    """Ray for the duration of one step; a session already open is reused as is."""
    ray.data.DataContext.get_current().execution_options.preserve_order = True
    if ray.is_initialized():
        yield
        return
    package = Path(__file__).resolve().parents[2]  # the project's package, for py_modules
    # No usage statistics leave the machine (the project must also work offline).
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if config.data.ray_address:
        ray.init(
            address=config.data.ray_address,
            runtime_env={"py_modules": [str(package)]},
            log_to_driver=False,
        )
    else:
        workers = worker_count(config)
        ray.init(
            address="local",
            num_cpus=max(config.data.ray_num_cpus or local_cpus(), workers + 2),
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
            configure_logging=False,
            _system_config={
                # A busy laptop can take longer than Ray's default to start its agents...
                "agent_register_timeout_ms": 120_000,
                # ...and its worker processes: start them one at a time, on demand,
                # instead of piling up idle ones while the first are still importing.
                "enable_worker_prestart": False,
                "worker_maximum_startup_concurrency": 1,
            },
        )
    try:
        yield
    finally:
        ray.shutdown()
