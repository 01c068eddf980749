"""The stack comparison: the default service against the plain FastAPI version.

Runs the same requests against `plain.py` (pydantic body parameter, pandas per
request, h11/asyncio, no batching) and against the real service with one
worker and with its configured workers, at a few concurrencies, and reports
the throughput and p99 ratios. `benchmarks/compare_stacks.py` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import ProjectConfig
from ..registry import ModelRegistry
from .bench import HOST, Phase, running_server, sample_payloads
from .loadgen import closed_loop, encode_request
from .server import worker_count


@dataclass(frozen=True)
class StackRun:
    stack: str
    workers: int
    phases: list[Phase]


@dataclass(frozen=True)
class StackComparison:
    endpoint: str
    runs: list[StackRun]

    def ratio(self, stack: str, level: int) -> float:
        """Throughput of `stack` over the plain stack's at concurrency `level`."""
        plain, other = (self._phase(s, level) for s in ("plain", stack))
        return other.rps / plain.rps if plain.rps else float("nan")

    def _phase(self, stack: str, level: int) -> Phase:
        run = next(r for r in self.runs if r.stack == stack)
        return next(p for p in run.phases if p.name == f"concurrency {level}")

    def summary(self) -> str:
        lines = [f"POST {self.endpoint}"]
        for run in self.runs:
            for phase in run.phases:
                lines.append(
                    f"{run.stack:>16} x{run.workers} {phase.name:>15}: {phase.rps:7.0f} req/s  "
                    f"p50 {phase.p50_ms:7.2f} ms  p99 {phase.p99_ms:7.2f} ms  "
                    f"{phase.errors} error(s)"
                )
        levels = [int(p.name.split()[-1]) for p in self.runs[0].phases]
        for stack in [r.stack for r in self.runs if r.stack != "plain"]:
            ratios = ", ".join(f"x{self.ratio(stack, level):.2f} at {level}" for level in levels)
            lines.append(f"{stack} over plain (throughput): {ratios}")
        return "\n".join(lines)


def compare_stacks(
    config: ProjectConfig,
    *,
    config_file: Path | None = None,
    concurrency: tuple[int, ...] = (8, 64),
    duration_s: float = 3.0,
    max_requests: int = 20_000,
) -> StackComparison:
    """Measure the plain stack, the service on one worker and on its default workers."""
    model = ModelRegistry(config).load()
    path, bodies, _ = sample_payloads(config, model)
    requests = [encode_request(HOST, path, body) for body in bodies]
    setups = [("plain", 1, True), ("default", 1, False)]
    if worker_count(config) > 1:
        setups.append(("default", worker_count(config), False))
    runs = []
    for stack, workers, plain in setups:
        with running_server(config, config_file=config_file, workers=workers, plain=plain) as port:
            closed_loop(HOST, port, requests, concurrency=4, max_requests=200, duration_s=2)
            phases = [
                Phase.of(
                    f"concurrency {level}",
                    closed_loop(
                        HOST, port, requests, concurrency=level, max_requests=max_requests,
                        duration_s=duration_s,
                    ),
                )
                for level in concurrency
            ]  # fmt: skip
        name = stack if stack == "plain" else f"{stack}-{workers}w"
        runs.append(StackRun(name, workers, phases))
    return StackComparison(path, runs)
