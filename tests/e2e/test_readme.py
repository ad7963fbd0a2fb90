"""The README's commands, run exactly as written, from a fresh clone, with none of the demo's settings."""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import process, uv_binary
from tests.readme import ROOT, bash_blocks, command_lines, section

DEMO_URL = "http://127.0.0.1:8000"  # the README's demo command takes no arguments: port 8000
# Every run of the demo test on this machine takes this lock (in /tmp, shared on purpose), so parallel runs
# wait instead of colliding.
PORT_LOCK = Path("/tmp/litestar-payguard-readme-demo-port-8000.lock")
# What the demo reads, and what belongs to the suite's own environment rather than to a fresh shell.
DEMO_VARIABLES = re.compile(r"^(PAYGUARD_.*|RAZORPAY_.*|DATABASE_URL|REDIS_URL|VIRTUAL_ENV|PYTHONPATH|UV)$")
_SPACE = re.compile(r"\s*")


def _fresh_environment(*, uv_on_path: bool) -> dict[str, str]:
    """This shell's environment without the demo's variables, and without PATH entries into this checkout.

    With ``uv_on_path``, the directory of the uv that ``./scripts/test`` installed leads PATH, so a clone
    uses it instead of installing its own (``test_scripts_uv_installs_uv_on_a_fresh_clone`` covers that).
    """
    env = {name: value for name, value in os.environ.items() if not DEMO_VARIABLES.match(name)}
    path = [entry for entry in env.get("PATH", "").split(os.pathsep) if entry and not Path(entry).is_relative_to(ROOT)]
    if uv_on_path:
        path.insert(0, str(Path(uv_binary()).parent))
    else:
        path = [entry for entry in path if not (Path(entry) / "uv").exists()]
    env["PATH"] = os.pathsep.join(path)
    return env


def _clone(tmp_path: Path) -> Path:
    """A fresh clone of the commit this suite runs on (uncommitted changes are not in it)."""
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", head], check=True)
    return clone


def _run(command: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    """Run a command to its end and return its output, once it has succeeded."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


@contextmanager
def _port_8000() -> Iterator[None]:
    with PORT_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a socket in TIME_WAIT is no obstacle
            try:
                probe.bind(("127.0.0.1", 8000))
            except OSError as exc:
                pytest.fail(
                    f"port 8000 is taken ({exc}); the README's demo command needs it: stop what listens there "
                    "(`ss -ltnp 'sport = :8000'` shows it) and run again"
                )
        yield


def _json_values(output: str) -> list[Any]:
    """The JSON documents curl printed one after the other, without separators."""
    decoder, values = json.JSONDecoder(), []
    position = _SPACE.match(output).end()
    while position < len(output):
        value, position = decoder.raw_decode(output, position)
        values.append(value)
        position = _SPACE.match(output, position).end()
    return values


def _until_settled(client: httpx.Client, session_id: str, headers: dict[str, str]) -> Any:
    """GET the session until its payment is no longer in flight (the simulated gateway takes 5-10 s)."""
    deadline = time.monotonic() + 120
    while True:
        session = client.get(f"/payguard/sessions/{session_id}", headers=headers).json()
        if session["payment"]["status"] not in {"pending", "processing"} or time.monotonic() > deadline:
            return session
        time.sleep(0.5)


def _walkthrough() -> str:
    (block,) = bash_blocks(section("The demo"))
    return block


def _buy_the_cart(client: httpx.Client, alice: dict[str, str]) -> tuple[Any, Any]:
    """The cart, as the README describes it: add items, check out, complete, wait for the payment."""
    for item in ({"productId": "pro-monthly", "quantity": 2}, {"productId": "starter-monthly"}):
        added = client.post("/shop/cart/items", json=item, headers=alice)
        assert added.status_code == 200, added.text
    opened = client.post("/shop/cart/checkout", headers=alice)
    assert opened.status_code == 201, opened.text
    session = opened.json()
    submitted = client.post(
        f"/payguard/sessions/{session['id']}/complete", json={"gatewayPaymentId": "pay_cart"}, headers=alice
    )
    assert submitted.status_code == 200, submitted.text
    return session, _until_settled(client, session["id"], alice)


def test_the_readme_demo_walkthrough_and_cart_reach_an_order_from_a_fresh_clone(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    env = _fresh_environment(uv_on_path=True)
    with (
        _port_8000(),
        process(
            ["./scripts/demo"],
            env=env,
            inherit_env=False,
            cwd=clone,
            log=tmp_path / "demo.log",
            ready_url=f"{DEMO_URL}/",
            timeout=600,  # a fresh clone installs its environment first
        ),
    ):
        walked = _run(["bash", "-euo", "pipefail", "-c", _walkthrough()], cwd=tmp_path, env=env)
        products, interrupted, resumed, submitted, summary = _json_values(walked)
        with httpx.Client(base_url=DEMO_URL, timeout=30) as client:
            token = client.post("/auth/login", json={"username": "alice"}).json()["accessToken"]
            alice = {"Authorization": f"Bearer {token}"}
            paid = _until_settled(client, interrupted["id"], alice)
            cart_session, cart_paid = _buy_the_cart(client, alice)
            orders = client.get("/shop/orders", headers=alice).json()
            cart_after = client.get("/shop/cart", headers=alice).json()

    assert {product["id"]: product["amount"] for product in products}["pro-monthly"] == 2900
    assert (interrupted["status"], interrupted["attempt"]) == ("interrupted", 1)
    assert (resumed["id"], resumed["status"], resumed["attempt"]) == (interrupted["id"], "active", 2)
    assert (submitted["status"], submitted["payment"]["status"]) == ("active", "processing")
    assert [attempt["number"] for attempt in summary["attempts"]] == [1, 2]
    assert summary["interruptions"]["network"] == 1
    assert (paid["status"], paid["payment"]["status"]) == ("completed", "succeeded")

    assert cart_session["payment"]["amount"] == 2 * 2900 + 900
    assert (cart_paid["status"], cart_paid["payment"]["status"]) == ("completed", "succeeded")
    assert [(order["paymentId"], order["amount"], order["items"]) for order in orders] == [  # newest first
        (
            cart_paid["payment"]["id"],
            6700,
            [{"productId": "pro-monthly", "quantity": 2}, {"productId": "starter-monthly", "quantity": 1}],
        ),
        (paid["payment"]["id"], 2900, [{"productId": "pro-monthly", "quantity": 1}]),
    ]
    assert cart_after["items"] == []
    # The default data directory is the clone's own.
    assert (clone / ".payguard-demo" / "payguard-demo.db").is_file()
    assert (clone / ".payguard-demo" / "redis" / "redis-server.log").is_file()


def test_scripts_uv_installs_uv_on_a_fresh_clone(tmp_path: Path) -> None:
    """What every script does first on a machine without uv: install it into the clone's .tools/."""
    clone = _clone(tmp_path)
    version = _run(["./scripts/uv", "--version"], cwd=clone, env=_fresh_environment(uv_on_path=False))
    assert version.startswith("uv ")
    assert (clone / ".tools" / "bin" / "uv").is_file()


def test_the_readme_lint_command_passes() -> None:
    (lint,) = [line for line in command_lines(section("Development")) if "ruff check" in line]
    _run(["bash", "-c", lint], cwd=ROOT, env=_fresh_environment(uv_on_path=False))
