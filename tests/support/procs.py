"""Start real processes (subgraphs, router, sandbox) on free loopback ports and stop them cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, timeout_s: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            response = httpx.get(url, timeout=1.0)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.1)
    raise TimeoutError(f"{url} not healthy after {timeout_s}s ({last})")


class Process:
    """One child process (own process group) with its log file; `stop()` leaves no orphan."""

    def __init__(
        self,
        args: list[str],
        env: Mapping[str, str],
        log_path: Path,
        health_url: str | None = None,
    ) -> None:
        self.args = args
        self.env = dict(env)
        self.log_path = log_path
        self.health_url = health_url
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 30.0) -> Process:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if self.health_url:
            try:
                wait_healthy(self.health_url, timeout_s, self.proc)
            except Exception:
                self.stop()
                raise RuntimeError(f"{self.args} failed to start; log:\n{self.tail()}") from None
        return self

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown hooks run."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass


def python_module(module: str) -> list[str]:
    return [sys.executable, "-m", module]


def start_subgraph(
    name: str, env: Mapping[str, str], log_dir: Path, port: int | None = None
) -> tuple[Process, int]:
    """Run `python -m subgraphs.<name>.app` on a free port; returns the process and its port."""
    port = port or free_port()
    child_env = {**os.environ, **env, f"{name.upper()}_PORT": str(port)}
    proc = Process(
        python_module(f"subgraphs.{name}.app"),
        child_env,
        log_dir / f"{name}.log",
        health_url=f"http://127.0.0.1:{port}/health",
    ).start()
    return proc, port
