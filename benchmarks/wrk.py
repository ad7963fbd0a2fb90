"""Drive an HTTP endpoint with wrk (a separate process) and read its figures."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Result:
    """Throughput and latency of one wrk run."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run(
    url: str, script: Path, *, connections: int, seconds: int, threads: int = 1, env: dict[str, str] | None = None
) -> Result:
    """Run wrk against ``url`` with a Lua ``script``; every non-2xx response counts as an error."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("The benchmarks need wrk: apt-get install wrk")
    # wrk gives up on a request after 2 s by default and counts it as a socket error; on a shared machine under
    # load a creation's p99 comes near that, so the limit is 10 s: slow requests are measured, not dropped.
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    command += ["-s", str(script), url]
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(group) for group in socket_errors.groups())
    return Result(requests_per_second=rps, p50_ms=p50, p99_ms=p99, requests=requests, errors=errors)
