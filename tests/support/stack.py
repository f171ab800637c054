"""The whole system as real processes on free loopback ports, for end-to-end tests.

`Stack(work_dir, base_env).start()` runs the five subgraphs (SQLite files in `work_dir`, or the
database URLs given, e.g. `fresh_postgres_urls()`), then the marketplace sandbox (its VAs come
from the router) and the router composed from the running subgraphs (Rover supergraph.yaml written
into `work_dir`); it waits for every `/health` and the router's `/ready`. `stop()` ends every
process group (tests.support.procs.Process), so nothing outlives the session.

`replicated=("wallet", "transactions")` runs a second process of each named subgraph on the same
database (started once the first has migrated it) and a second router composed from those second
processes; a second replica calls the other second replicas (`<NAME>_URL`), so two independent
paths through the system share one ledger. `kill()`/`restart()` crash and bring back one process.

`gql()`/`agql()` talk to the router; `users()`/`orders()` to the sandbox's two services.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from shared.settings import SUBGRAPHS
from tests.support.postgres import fresh_database
from tests.support.procs import Process, free_port, python_module, wait_healthy

ADMIN_EMAIL = "admin-e2e@sawit.test"
ADMIN_PASSWORD = "admin-e2e-password-123"

# Knobs that keep the end-to-end run short and deterministic; each one is a documented env var of
# its subgraph. The outbox retries quickly (a notice reaches the sandbox within ~1 s once it is up,
# and is retried for longer than any test keeps the marketplace down); registrations and invoices
# are not rate-limited per client (every test request comes from 127.0.0.1 through the router);
# the velocity rule does not flag the 20-payment concurrency test.
FAST_ENV: dict[str, str] = {
    "OUTBOX_POLL_S": "0.2",
    "OUTBOX_BACKOFF_S": "0.2",
    "OUTBOX_BACKOFF_MAX_S": "1.0",
    "OUTBOX_RETRY_HORIZON_S": "600",
    "RECOVERY_INTERVAL_S": "2",
    "INVOICE_RATE_LIMIT": "100000",
    "RECIPIENT_LOOKUP_LIMIT": "100000",
    "REGISTER_CLIENT_MAX": "100000",
    "FRAUD_VELOCITY_MAX_CHECKS": "1000",
    "ROUTER_POLL_INTERVAL_S": "5",
    "SANDBOX_WALLET_TIMEOUT_S": "10",
}


@contextmanager
def fresh_postgres_urls(prefix: str = "sawit_e2e") -> Iterator[dict[str, str]]:
    """A new empty PostgreSQL database per subgraph (dropped afterwards): `database_urls` for Stack."""
    with ExitStack() as databases:
        yield {name: databases.enter_context(fresh_database(f"{prefix}_{name}")) for name in SUBGRAPHS}


class StackError(RuntimeError):
    """The stack did not come up; the message carries the log tail of the process that failed."""


class Stack:
    """Every process of the system; URLs, GraphQL helpers and a clean stop."""

    def __init__(
        self,
        work_dir: Path,
        base_env: Mapping[str, str],
        *,
        database_urls: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        start_timeout_s: float = 90.0,
        replicated: Sequence[str] = (),
    ) -> None:
        self.work_dir = work_dir
        self.log_dir = work_dir / "logs"
        self.start_timeout_s = start_timeout_s
        self.ports: dict[str, int] = {name: free_port() for name in (*SUBGRAPHS, "router")}
        self.ports["sandbox_users"] = free_port()
        self.ports["sandbox_orders"] = free_port()
        self.replicated = tuple(replicated)
        if self.replicated:
            for name in (*self.replicated, "router"):
                self.ports[f"{name}-2"] = free_port()
        self.database_urls = dict(database_urls or {})
        for name in SUBGRAPHS:
            self.database_urls.setdefault(name, f"sqlite+aiosqlite:///{work_dir / 'db' / f'{name}.db'}")
        self.admin_email = ADMIN_EMAIL
        self.admin_password = ADMIN_PASSWORD
        self.processes: dict[str, Process] = {}
        self._env = self._common_env(base_env, extra_env or {})
        self._http = httpx.Client(timeout=httpx.Timeout(30.0))

    # ---- URLs ------------------------------------------------------------------------------
    def subgraph_url(self, name: str, replica: int = 1) -> str:
        return self._graphql_url(self._process_name(name, replica))

    def _graphql_url(self, process: str) -> str:
        return f"http://127.0.0.1:{self.ports[process]}/graphql"

    def _process_name(self, name: str, replica: int) -> str:
        """`wallet` for the first process, `wallet-2` for the second (only of a replicated one)."""
        if replica == 1:
            return name
        if replica != 2 or (name != "router" and name not in self.replicated):
            raise ValueError(f"{name} has no replica {replica}")
        return f"{name}-{replica}"

    @property
    def router_base(self) -> str:
        return f"http://127.0.0.1:{self.ports['router']}"

    @property
    def router_url(self) -> str:
        return self.router_url_of(1)

    def router_url_of(self, replica: int) -> str:
        return self._graphql_url(self._process_name("router", replica))

    @property
    def sandbox_users_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['sandbox_users']}/graphql"

    @property
    def sandbox_orders_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['sandbox_orders']}/graphql"

    # ---- lifecycle -------------------------------------------------------------------------
    def _common_env(self, base_env: Mapping[str, str], extra_env: Mapping[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(base_env)
        env.update(FAST_ENV)
        env.update(
            {
                "DATA_DIR": str(self.work_dir / "data"),
                "ADMIN_EMAIL": self.admin_email,
                "ADMIN_PASSWORD": self.admin_password,
                "ROUTER_PORT": str(self.ports["router"]),
                "MARKETPLACE_URL": self.sandbox_orders_url,
                "PYTHONUNBUFFERED": "1",
            }
        )
        for name in SUBGRAPHS:
            upper = name.upper()
            env[f"{upper}_PORT"] = str(self.ports[name])
            env[f"{upper}_URL"] = self.subgraph_url(name)
            env[f"{upper}_DATABASE_URL"] = self.database_urls[name]
        env.update(extra_env)
        return env

    def _supergraph_config(self, replica: int = 1) -> Path:
        lines = ["federation_version: =2.3.1", "subgraphs:"]
        for name in SUBGRAPHS:
            url = self.subgraph_url(name, replica if name in self.replicated else 1)
            lines += [f"  {name}:", f"    routing_url: {url}", "    schema:", f"      subgraph_url: {url}"]
        path = self.work_dir / ("supergraph.yaml" if replica == 1 else f"supergraph-{replica}.yaml")
        path.write_text("\n".join(lines) + "\n")
        return path

    def _replica_env(self, replica: int) -> dict[str, str]:
        """The environment of a process on path `replica`: it calls that path's replicas."""
        env = dict(self._env)
        for name in self.replicated:
            env[f"{name.upper()}_URL"] = self.subgraph_url(name, replica)
        return env

    def _launch(self, name: str, module: str, env: Mapping[str, str]) -> Process:
        process = Process(python_module(module), env, self.log_dir / f"{name}.log")
        self.processes[name] = process
        return process.start()

    def _wait(self, name: str, url: str, deadline: float) -> None:
        process = self.processes[name]
        try:
            wait_healthy(url, max(1.0, deadline - time.monotonic()), process.proc)
        except (TimeoutError, RuntimeError) as exc:
            raise StackError(f"{name} did not come up ({exc}); log tail:\n{process.tail(60)}") from None

    def start(self) -> Stack:
        """Start everything and wait until the router is ready; on failure stop all and raise."""
        (self.work_dir / "db").mkdir(parents=True, exist_ok=True)
        missing = [
            path
            for path in [*(f"subgraphs/{n}/app.py" for n in SUBGRAPHS), "supergraph/server.py"]
            if not (Path(__file__).resolve().parents[2] / path).exists()
        ]
        if missing:
            raise StackError(f"the stack cannot start: {', '.join(missing)} do(es) not exist yet")
        deadline = time.monotonic() + self.start_timeout_s
        try:
            for name in SUBGRAPHS:
                self._launch(name, f"subgraphs.{name}.app", self._env)
            for name in SUBGRAPHS:
                self._wait(name, f"http://127.0.0.1:{self.ports[name]}/health", deadline)
            for name in self.replicated:  # the first process has migrated the database by now
                second = self._process_name(name, 2)
                env = {**self._replica_env(2), f"{name.upper()}_PORT": str(self.ports[second])}
                self._launch(second, f"subgraphs.{name}.app", env)
                self._wait(second, f"http://127.0.0.1:{self.ports[second]}/health", deadline)
            sandbox_env = {
                **self._env,
                "SANDBOX_HOST": "127.0.0.1",
                "SANDBOX_USERS_PORT": str(self.ports["sandbox_users"]),
                "SANDBOX_ORDERS_PORT": str(self.ports["sandbox_orders"]),
                "WALLET_GATEWAY_URL": self.router_url,
            }
            self._launch("sandbox", "scripts.marketplace_sandbox", sandbox_env)
            router_env = {**self._env, "SUPERGRAPH_CONFIG": str(self._supergraph_config())}
            self._launch("router", "supergraph.server", router_env)
            self._wait("sandbox", f"http://127.0.0.1:{self.ports['sandbox_orders']}/health", deadline)
            self._wait("router", f"{self.router_base}/health", deadline)
            self._wait("router", f"{self.router_base}/ready", deadline)
            if self.replicated:
                router_env = {
                    **self._replica_env(2),
                    "SUPERGRAPH_CONFIG": str(self._supergraph_config(2)),
                    "ROUTER_PORT": str(self.ports["router-2"]),
                }
                self._launch("router-2", "supergraph.server", router_env)
                self._wait("router-2", f"http://127.0.0.1:{self.ports['router-2']}/ready", deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every process (router first, subgraphs last); safe to call twice."""
        for process in reversed(list(self.processes.values())):
            process.stop()
        self._http.close()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def kill(self, name: str) -> None:
        """SIGKILL one process (e.g. `wallet-2`), as a crash would."""
        self.processes[name].kill()

    def restart(self, name: str, timeout_s: float = 60.0) -> None:
        """Start a killed or stopped process again on its port, and wait until it is healthy."""
        process = self.processes[name]
        process.stop()
        process.start()
        self._wait(name, f"http://127.0.0.1:{self.ports[name]}/health", time.monotonic() + timeout_s)

    def logs(self, name: str, lines: int = 60) -> str:
        process = self.processes.get(name)
        return process.tail(lines) if process else ""

    # ---- GraphQL ---------------------------------------------------------------------------
    @staticmethod
    def _headers(token: str | None, headers: Mapping[str, str] | None) -> dict[str, str]:
        out = {"content-type": "application/json"}
        if token:
            out["authorization"] = f"Bearer {token}"
        out.update(headers or {})
        return out

    def post(
        self,
        url: str,
        query: str,
        variables: Mapping[str, Any] | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = dict(variables)
        return self._http.post(url, json=body, headers=self._headers(token, headers))

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise AssertionError(f"HTTP {response.status_code}, not JSON: {response.text[:500]}") from None
        assert isinstance(body, dict), body
        return body

    def gql(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The router's JSON answer (`data` and/or `errors`) to one operation."""
        return self._json(self.post(self.router_url, query, variables, token, headers))

    async def agql(
        self,
        client: httpx.AsyncClient,
        query: str,
        variables: Mapping[str, Any] | None = None,
        token: str | None = None,
        *,
        router: int = 1,
    ) -> dict[str, Any]:
        """`gql` on a caller's AsyncClient, for concurrent requests (to router 1 or 2)."""
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = dict(variables)
        url = self.router_url_of(router)
        response = await client.post(url, json=body, headers=self._headers(token, None))
        return self._json(response)

    def users(
        self, query: str, variables: Mapping[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The sandbox user service (:7001 in a dev run)."""
        return self._json(self.post(self.sandbox_users_url, query, variables, token))

    def orders(
        self, query: str, variables: Mapping[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """The sandbox order service (:7003 in a dev run)."""
        return self._json(self.post(self.sandbox_orders_url, query, variables, token))
