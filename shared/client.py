"""The one GraphQL client for subgraph-to-subgraph calls.

One `httpx.AsyncClient` per target (connection reuse), a timeout on every call, the service token
for the scopes an operation needs, the current request id forwarded, and failures turned into our
error codes: a transport failure is SUBGRAPH_UNAVAILABLE (marked `retriable`), a GraphQL error
keeps the callee's code when it is one of ours.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import httpx

from shared.errors import KNOWN_CODES, AppError, ErrorCode
from shared.logs import request_id_var
from shared.security import ServiceTokenMinter

log = logging.getLogger(__name__)


class SubgraphClient:
    """Calls one subgraph's /graphql; typed wrappers per caller sit on top of `execute`."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        timeout_s: float,
        minter: ServiceTokenMinter | None = None,
        http: httpx.AsyncClient | None = None,
        unavailable_code: ErrorCode = ErrorCode.SUBGRAPH_UNAVAILABLE,
        foreign: bool = False,
        exact_numbers: bool = False,
    ) -> None:
        """`foreign`: a service outside this project (the marketplace), whose error codes are not
        ours, so any GraphQL error it answers means "not done" (`unavailable_code`, retriable).
        `exact_numbers`: JSON numbers come back as Decimal (150000.10 stays exactly that)."""
        self.name = name
        self.url = url
        self.minter = minter
        self.unavailable_code = unavailable_code
        self.foreign = foreign
        self.exact_numbers = exact_numbers
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def _headers(self, scopes: Iterable[str], extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        request_id = request_id_var.get()
        if request_id and request_id != "-":
            headers["x-request-id"] = request_id
        wanted = tuple(scopes)
        if wanted and self.minter is not None:
            headers["authorization"] = f"Bearer {self.minter.token(wanted)}"
        if extra:
            headers.update(extra)
        return headers

    def _unavailable(self, reason: str) -> AppError:
        return AppError(
            self.unavailable_code,
            f"The {self.name} is unavailable" if self.foreign else f"The {self.name} service is unavailable",
            service=self.name,
            retriable=True,
            reason=reason,
        )

    async def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        scopes: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The `data` of a successful response; AppError for any error (first error's code)."""
        body = {"query": query, "variables": dict(variables or {})}
        try:
            response = await self._http.post(self.url, json=body, headers=self._headers(scopes, headers))
        except httpx.TimeoutException:
            raise self._unavailable("timeout") from None
        except httpx.TransportError as exc:
            raise self._unavailable(type(exc).__name__) from None
        try:
            payload = (
                json.loads(response.text, parse_float=Decimal) if self.exact_numbers else response.json()
            )
        except ValueError:
            raise self._unavailable(f"HTTP {response.status_code} without JSON") from None
        if not isinstance(payload, dict):
            raise self._unavailable("response is not a JSON object")
        errors = payload.get("errors")
        if errors:
            first = errors[0] if isinstance(errors, list) and isinstance(errors[0], dict) else {}
            if self.foreign:
                raise self._unavailable(f"GraphQL error: {str(first.get('message', 'error'))[:200]}")
            raise self._error_from(first)
        if response.status_code >= 400:
            raise self._unavailable(f"HTTP {response.status_code}")
        data = payload.get("data")
        if not isinstance(data, dict):
            raise self._unavailable("response has no data")
        return data

    def _error_from(self, error: Mapping[str, Any]) -> AppError:
        extensions = error.get("extensions") or {}
        code = extensions.get("code")
        message = str(error.get("message", "error"))
        if code in KNOWN_CODES and code != ErrorCode.INTERNAL.value:
            details = {k: v for k, v in extensions.items() if k != "code"}
            details.setdefault("service", self.name)
            return AppError(ErrorCode(code), message, **details)
        log.error("%s answered an unexpected error: %s", self.name, message)
        return AppError(ErrorCode.INTERNAL, f"The {self.name} service failed", service=self.name)
