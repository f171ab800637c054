"""Marketplace sandbox (dev/test only): the BlackDoctrine-style marketplace of contracts/marketplace.md.

`python -m scripts.marketplace_sandbox` serves, in one process (two uvicorn servers, one loop):

- the user service on SANDBOX_USERS_PORT:  register(nama, email, password), login(email, password)
  { token user { ... } }, me;
- the order service on SANDBOX_ORDERS_PORT: createOrder(input: {productId, quantity,
  alamatPengiriman, metodePengiriman, kotaTujuanId}) (kotaTujuanId is required, as in the real order
  service; needs the login token in Authorization; the
  VA comes from the wallet's public `generateInvoiceVA` at WALLET_GATEWAY_URL, called without
  Authorization, else `OFFLINE-<millis>`), getOrderByVA(vaNumber) (no auth; null when unknown),
  updatePaymentStatus(vaNumber, status) (true + order PAID/PROCESS + nomorResi, i.e. shipping
  booked; false for an unknown VA; a notice whose Idempotency-Key header was accepted before is
  acknowledged and recorded as REPEATED, not applied again), myOrders, products.

Catalogue: productId "1" = 10,000, "2" = 25,000, "3" = 150,000, "4" = 19,999.99 per unit; shipping
REGULER 10,000, EXPRESS 20,000; totalHarga = price * quantity + ongkir summed in binary floats, as
the real Node service does (product 4 + EXPRESS = 39999.990000000005). Both ports answer
GET /health and POST /graphql.

TEST-ONLY hooks on the order service (off with SANDBOX_TEST_HOOKS=0):
  mutation { sandboxSetDown(down: true) }                      # updatePaymentStatus -> HTTP 503
  mutation { sandboxSetDown(down: true, fields: ["*"]) }        # every non-sandbox field -> 503
  mutation { sandboxSetDown(down: false) }                     # back up
  mutation { sandboxSetLatency(milliseconds: 500) }            # slow answers
  mutation { sandboxSetWalletOffline(offline: true) }          # createOrder -> OFFLINE-<millis> VA
  query { sandboxNotices(vaNumber: "...") { vaNumber status outcome at idempotencyKey } }   # notices seen

Environment variables:
  SANDBOX_HOST              127.0.0.1                      interface both services bind
  SANDBOX_USERS_PORT        7001                           user service port
  SANDBOX_ORDERS_PORT       7003                           order service port
  WALLET_GATEWAY_URL        http://127.0.0.1:8000/graphql  the wallet's public GraphQL endpoint
  SANDBOX_WALLET_TIMEOUT_S  5                              timeout of the generateInvoiceVA call
  SANDBOX_STATE_FILE        (unset = in memory)            JSON file keeping users/orders/notices
  SANDBOX_TOKEN_SECRET      (random per process)           HMAC secret of login tokens
  SANDBOX_TEST_HOOKS        1                              0 removes the sandbox* test hooks
  SANDBOX_DOWN_FIELDS       (empty)                        comma list of fields down at start
  LOG_LEVEL                 INFO
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from scripts.sandbox.apps import create_orders_app, create_users_app
from scripts.sandbox.store import Store
from scripts.sandbox.wallet import WalletGateway
from shared.logs import configure_logging

log = logging.getLogger("marketplace_sandbox")


@dataclass(frozen=True)
class SandboxSettings:
    host: str = "127.0.0.1"
    users_port: int = 7001
    orders_port: int = 7003
    wallet_gateway_url: str = "http://127.0.0.1:8000/graphql"
    wallet_timeout_s: float = 5.0
    state_file: Path | None = None
    token_secret: bytes | None = None
    test_hooks: bool = True
    down_fields: tuple[str, ...] = ()
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SandboxSettings:
        e = dict(os.environ if env is None else env)
        state = e.get("SANDBOX_STATE_FILE")
        secret = e.get("SANDBOX_TOKEN_SECRET")
        return cls(
            host=e.get("SANDBOX_HOST", cls.host),
            users_port=int(e.get("SANDBOX_USERS_PORT", cls.users_port)),
            orders_port=int(e.get("SANDBOX_ORDERS_PORT", cls.orders_port)),
            wallet_gateway_url=e.get("WALLET_GATEWAY_URL", cls.wallet_gateway_url),
            wallet_timeout_s=float(e.get("SANDBOX_WALLET_TIMEOUT_S", cls.wallet_timeout_s)),
            state_file=Path(state) if state else None,
            token_secret=secret.encode() if secret else None,
            test_hooks=e.get("SANDBOX_TEST_HOOKS", "1").strip().lower() not in ("0", "false", "no"),
            down_fields=tuple(f.strip() for f in e.get("SANDBOX_DOWN_FIELDS", "").split(",") if f.strip()),
            log_level=e.get("LOG_LEVEL", cls.log_level),
        )


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `serve` (two servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: SandboxSettings) -> None:
    """Run both services until SIGINT/SIGTERM."""
    store = Store(state_file=settings.state_file, token_secret=settings.token_secret)
    store.down_fields |= set(settings.down_fields)
    wallet = WalletGateway(settings.wallet_gateway_url, timeout_s=settings.wallet_timeout_s)
    servers = [
        _Server(
            uvicorn.Config(
                app, host=settings.host, port=port, log_config=None, access_log=False, lifespan="off"
            )
        )
        for app, port in (
            (create_users_app(store), settings.users_port),
            (create_orders_app(store, wallet, test_hooks=settings.test_hooks), settings.orders_port),
        )
    ]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    log.info(
        "marketplace sandbox: users http://%s:%d/graphql, orders http://%s:%d/graphql, wallet %s",
        settings.host,
        settings.users_port,
        settings.host,
        settings.orders_port,
        settings.wallet_gateway_url,
    )
    try:
        results = await asyncio.gather(*(s.serve() for s in servers), return_exceptions=True)
        for server, result in zip(servers, results, strict=True):
            if isinstance(result, BaseException):
                raise result
            if not server.started:
                raise SystemExit(f"sandbox: a server failed to start on {server.config.port}")
    finally:
        stop()
        await wallet.aclose()
        store.save()


def main() -> None:
    settings = SandboxSettings.from_env()
    configure_logging("marketplace-sandbox", settings.log_level)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
