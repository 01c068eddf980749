"""The latency bench: the real server on loopback under a bounded load.

It starts the service in a child process (as `serve` would run it), sends
realistic requests built from the model's reference rows, first at the
answered peak requests/s (open loop: like independent users) and then at a
sweep of concurrencies (closed loop: the throughput ceiling), and compares the
p99 at peak with the answered target. The raw model predict time for the same
payload is the floor: what remains above it is the serving overhead. The
report goes to reports/latency.json. The bench's server logs to a throwaway
prediction log: a few hundred rows sent thousands of times are load, not
traffic, and would make the drift monitor cry wolf.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import DEFAULT_CONFIG, PREDICTION_LOG_ENV_VAR, ProjectConfig
from ..features import encode_columns
from ..registry import LoadedModel, ModelRegistry
from .loadgen import LoadResult, closed_loop, encode_request, open_loop
from .server import worker_count

REPORT_FILE = "latency.json"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Phase:
    """Latency and throughput of one load phase."""

    name: str
    p50_ms: float
    p95_ms: float
    p99_ms: float
    rps: float
    errors: int
    requests: int
    statuses: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None

    @classmethod
    def of(cls, name: str, result: LoadResult) -> Phase:
        return cls(
            name,
            round(result.percentile(50), 3),
            round(result.percentile(95), 3),
            round(result.percentile(99), 3),
            round(result.rps, 1),
            result.errors,
            result.count,
            {_status_name(code): count for code, count in sorted(result.statuses.items())},
            result.first_error,
        )


def _status_name(code: int) -> str:
    return "no answer" if code == 0 else str(code)


def _json_ready(value: Any) -> Any:
    """NaN and infinity become null: reports/latency.json must stay valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    return value


@dataclass(frozen=True)
class LatencyReport:
    """Peak-load latency against the target, the floor and the concurrency sweep."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    rps: float
    errors: int
    floor_ms: float
    target_p99_ms: float
    passed: bool
    overhead_ms: float
    endpoint: str
    rows_per_request: int
    workers: int
    max_rps: float
    sweep: list[Phase] = field(default_factory=list)
    errors_by_status: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (an unmeasured percentile is null, not NaN)."""
        data: dict[str, Any] = _json_ready(asdict(self))
        return data

    def summary(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        lines = [
            f"POST {self.endpoint}, {self.rows_per_request} row(s) per request, "
            f"{self.workers} worker(s)",
            f"at peak load: p50 {self.p50_ms:.2f} ms, p95 {self.p95_ms:.2f} ms, "
            f"p99 {self.p99_ms:.2f} ms, {self.rps:.0f} req/s, {self.errors} error(s)",
            f"model predict floor {self.floor_ms:.3f} ms; serving overhead at p50 "
            f"{self.overhead_ms:.2f} ms",
        ]
        for phase in self.sweep:
            lines.append(
                f"  {phase.name:>16}: p50 {phase.p50_ms:7.2f} ms  p99 {phase.p99_ms:7.2f} ms  "
                f"{phase.rps:8.0f} req/s  {phase.errors} error(s)"
            )
        lines.append(
            f"{verdict}: p99 {self.p99_ms:.2f} ms vs target {self.target_p99_ms:g} ms"
            + ("" if self.errors == 0 else f" with {self.errors} error(s)")
        )
        if self.errors:
            counts = ", ".join(f"{name}: {n}" for name, n in self.errors_by_status.items())
            lines.append(f"errors by status: {counts}")
            lines.append(f"first error: {self.first_error}")
        return "\n".join(lines)


def sample_payloads(
    config: ProjectConfig, model: LoadedModel, *, count: int = 200
) -> tuple[str, list[bytes], list[dict[str, list[Any]]]]:
    """Request bodies from the model's reference rows: (path, bodies, their columns)."""
    names = model.schema.feature_names
    reference = pd.read_parquet(model.reference_path, columns=names)
    ranking = config.problem.type == "ranking"
    rows_per_request = (config.problem.candidates_per_request or 10) if ranking else 1
    needed = count * rows_per_request
    rng = np.random.default_rng(config.model.seed)
    picked = reference.iloc[rng.integers(0, len(reference), needed)]
    records = picked.astype(object).where(picked.notna(), None).to_dict(orient="records")
    bodies, columns = [], []
    for start in range(0, needed, rows_per_request):
        rows = records[start : start + rows_per_request]
        columns.append({name: [row[name] for row in rows] for name in names})
        if ranking:
            candidates = [{"id": f"item-{i}", **row} for i, row in enumerate(rows)]
            body = {"query_id": f"bench-{start}", "candidates": candidates}
        else:
            body = {"rows": rows}
        bodies.append(json.dumps(body).encode())
    return ("/rank" if ranking else "/predict"), bodies, columns


def predict_floor_ms(
    model: LoadedModel, columns: list[dict[str, list[Any]]], *, budget_s: float = 1.0
) -> float:
    """Median time of the bare model call on the bench payloads (no HTTP, no parsing)."""
    matrices = [encode_columns(c, model.schema) for c in columns]
    timings: list[float] = []
    deadline = time.perf_counter() + budget_s
    while time.perf_counter() < deadline and len(timings) < 2000:
        matrix = matrices[len(timings) % len(matrices)]
        started = time.perf_counter()
        model.predict(matrix, num_threads=1)
        timings.append((time.perf_counter() - started) * 1000)
    return float(np.median(timings))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server(
    config: ProjectConfig,
    *,
    config_file: Path | None = None,
    workers: int | None = None,
    plain: bool = False,
    start_timeout_s: float = 240.0,
    prediction_log: Path | None = None,
) -> Iterator[int]:
    """Start the service (or the plain one) in a child process; yields its port.

    `prediction_log` sends the server's prediction log elsewhere (the bench
    uses a throwaway file: its repeated synthetic rows are not traffic).
    """
    port = free_port()
    env = dict(os.environ)
    if prediction_log is not None:
        env[PREDICTION_LOG_ENV_VAR] = str(prediction_log)
    command = [
        sys.executable, "-m", f"{__package__}.server",
        "--config", str(config_file or config.root / DEFAULT_CONFIG),
        "--host", HOST, "--port", str(port),
    ]  # fmt: skip
    if workers:
        command += ["--workers", str(workers)]
    if plain:
        command.append("--plain")
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_ready(process, port, start_timeout_s, output)
            yield port
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=config.serving.graceful_shutdown_s + 15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen[bytes], port: int, timeout_s: float, log: Any) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the server exited early:\n{log.read().decode()[-4000:]}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/ready", timeout=1) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not become ready within {timeout_s} s")


def run_latency_bench(
    config: ProjectConfig,
    *,
    config_file: Path | None = None,
    duration_s: float | None = None,
    max_requests: int | None = None,
    concurrency: list[int] | None = None,
    write_report: bool = True,
    prediction_log: Path | None = None,
) -> LatencyReport:
    """Measure the served model on loopback; see the module docstring.

    The server logs its predictions to `prediction_log`, by default a
    temporary file deleted afterwards.
    """
    serving = config.serving
    duration = duration_s or serving.bench_duration_s
    limit = max_requests or serving.bench_max_requests
    model = ModelRegistry(config).load()
    path, bodies, columns = sample_payloads(config, model)
    requests = [encode_request(HOST, path, body) for body in bodies]
    floor = predict_floor_ms(model, columns)
    rate = serving.peak_rps or 50.0
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_server(
            config,
            config_file=config_file,
            prediction_log=prediction_log or Path(scratch) / "bench.sqlite",
        ) as port,
    ):
        closed_loop(HOST, port, requests, concurrency=4, max_requests=200, duration_s=2)
        peak = open_loop(HOST, port, requests, rate=rate, max_requests=limit, duration_s=duration)
        sweep = [
            Phase.of(
                f"concurrency {level}",
                closed_loop(
                    HOST, port, requests, concurrency=level, max_requests=limit,
                    duration_s=duration,
                ),
            )
            for level in concurrency or serving.bench_concurrency
        ]  # fmt: skip
    at_peak = Phase.of(f"{rate:g} req/s", peak)
    phases = [at_peak, *sweep]
    errors = sum(phase.errors for phase in phases)
    errors_by_status: dict[str, int] = {}
    for phase in phases:
        for name, count in phase.statuses.items():
            if not name.startswith("2"):
                errors_by_status[name] = errors_by_status.get(name, 0) + count
    target = serving.latency_p99_ms or float("inf")
    report = LatencyReport(
        p50_ms=at_peak.p50_ms,
        p95_ms=at_peak.p95_ms,
        p99_ms=at_peak.p99_ms,
        rps=at_peak.rps,
        errors=errors,
        floor_ms=round(floor, 4),
        target_p99_ms=target,
        passed=bool(errors == 0 and at_peak.p99_ms <= target),
        overhead_ms=round(at_peak.p50_ms - floor, 3),
        endpoint=path,
        rows_per_request=len(next(iter(columns[0].values()))),
        workers=worker_count(config),
        max_rps=max([phase.rps for phase in sweep], default=at_peak.rps),
        sweep=sweep,
        errors_by_status=errors_by_status,
        first_error=next((p.first_error for p in phases if p.first_error), None),
    )
    if write_report:
        config.reports_dir.mkdir(parents=True, exist_ok=True)
        target_file = config.reports_dir / REPORT_FILE
        body = json.dumps(report.to_dict(), indent=2, allow_nan=False)
        target_file.write_text(body + "\n", encoding="utf-8")
    return report
