"""What a subgraph checks before Strawberry sees a request: the subgraph defends itself.

Anyone who can reach a subgraph's port could otherwise send it what the router would never let
through. In front of `/graphql`, as pure ASGI (one pass, no framework):

- the body: at most SUBGRAPH_MAX_BODY_BYTES (413 BODY_TOO_LARGE, read no further), valid UTF-8
  JSON (400 BAD_REQUEST), one JSON object;
- the document: the router's own limits module (`shared.limits`) with SUBGRAPH_MAX_DEPTH, _ALIASES,
  _ROOT_FIELDS and _TOKENS (400 with the limit's code); the verdict is cached per document text;
- federation and introspection: `_entities`, `_service`, `__schema` and `__type` answer only a
  caller with the router's credential (`X-Router-Token`, a short-lived token signed by the router
  key; or `X-Router-Secret` equal to ROUTER_SHARED_SECRET, for a drop-in gateway) or a service
  token; `SUBGRAPH_FEDERATION_AUTH=off` lets anyone ask (local exploration). A user's own
  operations need neither: user tokens work at a subgraph exactly as through the router.

Every refusal is a GraphQL error with `extensions.code`; nothing reaches the resolvers.

WebSockets (graphql-transport-ws, for subscriptions) pass through to Strawberry, but every
`subscribe` message is judged like an HTTP request's document (limits, and the credential of the
handshake's headers for federation fields): a refused one is answered with an `error` message for
its id and never reaches Strawberry, so a socket is no way around the guard.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from graphql import FragmentDefinitionNode, GraphQLError, OperationDefinitionNode, parse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.asgi import send_json
from shared.limits import LimitExceeded, Limits, check_operation, check_tokens, selected_fields
from shared.router_auth import RouterCheck
from shared.security import Authenticator
from shared.settings import Settings

log = logging.getLogger(__name__)

FEDERATION_ROOTS = frozenset({"_entities", "_service", "__schema", "__type"})
VERDICTS_MAX = 512


@dataclass(frozen=True)
class _Verdict:
    """What the guard decided about one document text (+ operation name)."""

    refusal: tuple[int, str, str] | None  # (HTTP status, message, code)
    needs_credential: bool


def _error(status: int, message: str, code: str) -> tuple[int, bytes]:
    return status, orjson.dumps(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    )


class SubgraphGuard:
    """Pure ASGI middleware in front of a subgraph's GraphQL app (see the module docstring)."""

    def __init__(self, app: ASGIApp, settings: Settings, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator
        self.max_body = settings.subgraph_max_body_bytes
        self.limits = Limits(
            max_depth=settings.subgraph_max_depth,
            max_aliases=settings.subgraph_max_aliases,
            max_root_fields=settings.subgraph_max_root_fields,
            max_tokens=settings.subgraph_max_tokens,
            setting_prefix="SUBGRAPH_",
        )
        self.federation_open = settings.subgraph_federation_auth.strip().lower() == "off"
        self.router_check = RouterCheck(authenticator, settings.router_shared_secret)
        self._verdicts: OrderedDict[tuple[str, str | None], _Verdict] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.app(scope, self._guarded_socket(scope.get("headers", ()), receive, send), send)
            return
        if scope["type"] != "http" or scope.get("method") not in ("GET", "POST"):
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", ())
        if scope["method"] == "GET":
            params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
            if "query" not in params:  # the GraphiQL page itself
                await self.app(scope, receive, send)
                return
            payload: Any = {"query": params.get("query"), "operationName": params.get("operationName")}
            body = b""
        else:
            read = await self._read_body(receive, headers)
            if isinstance(read, tuple):
                await send_json(send, *read)
                return
            body = read
            try:
                payload = orjson.loads(body)
            except orjson.JSONDecodeError:
                await send_json(send, *_error(400, "Request body is not valid JSON (UTF-8)", "BAD_REQUEST"))
                return
            if not isinstance(payload, dict):
                await send_json(send, *_error(400, "Request body must be a JSON object", "BAD_REQUEST"))
                return
        refused = await self._refusal(payload, headers)
        if refused is not None:
            await send_json(send, *refused)
            return
        if scope["method"] == "GET":
            await self.app(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _guarded_socket(
        self, headers: Iterable[tuple[bytes, bytes]], receive: Receive, send: Send
    ) -> Receive:
        """A `receive` that answers refused `subscribe` messages itself and hands on everything else."""

        async def guarded() -> Message:
            while True:
                message = await receive()
                if message["type"] != "websocket.receive":
                    return message
                raw = message.get("text") or message.get("bytes") or b""
                try:
                    frame = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    return message  # Strawberry closes the socket on a malformed message
                if not (
                    isinstance(frame, dict)
                    and frame.get("type") == "subscribe"
                    and isinstance(frame.get("payload"), dict)
                ):
                    return message
                refused = await self._refusal(frame["payload"], headers)
                if refused is None:
                    return message
                errors = orjson.loads(refused[1])["errors"]
                reply = {"id": frame.get("id"), "type": "error", "payload": errors}
                await send({"type": "websocket.send", "text": orjson.dumps(reply).decode()})

        return guarded

    async def _read_body(
        self, receive: Receive, headers: Iterable[tuple[bytes, bytes]]
    ) -> bytes | tuple[int, bytes]:
        too_large = _error(413, f"Request body exceeds {self.max_body} bytes", "BODY_TOO_LARGE")
        declared = next((v for k, v in headers if k == b"content-length"), None)
        if (
            self.max_body > 0
            and declared is not None
            and declared.isdigit()
            and int(declared) > self.max_body
        ):
            return too_large
        chunks = bytearray()
        more = True
        while more:
            message = await receive()
            chunks.extend(message.get("body", b""))
            more = message.get("more_body", False)
            if self.max_body > 0 and len(chunks) > self.max_body:
                return too_large
        return bytes(chunks)

    async def _refusal(
        self, payload: dict[str, Any], headers: Iterable[tuple[bytes, bytes]]
    ) -> tuple[int, bytes] | None:
        query = payload.get("query")
        if not isinstance(query, str):
            return None  # Strawberry answers a missing or non-string query itself
        name = payload.get("operationName")
        verdict = self._verdict(query, name if isinstance(name, str) else None)
        if verdict.refusal is not None:
            return _error(*verdict.refusal)
        if verdict.needs_credential and not self.federation_open and not await self._has_credential(headers):
            return _error(
                200,
                "_entities, _service and introspection answer only the router or a service",
                "FORBIDDEN",
            )
        return None

    def _verdict(self, query: str, operation_name: str | None) -> _Verdict:
        key = (query, operation_name)
        found = self._verdicts.get(key)
        if found is not None:
            self._verdicts.move_to_end(key)
            return found
        found = self._judge(query, operation_name)
        self._verdicts[key] = found
        if len(self._verdicts) > VERDICTS_MAX:
            self._verdicts.popitem(last=False)
        return found

    def _judge(self, query: str, operation_name: str | None) -> _Verdict:
        try:
            check_tokens(query, self.limits.max_tokens, self.limits.setting_prefix)
            document = parse(query)
        except LimitExceeded as exc:
            return _Verdict((400, str(exc), exc.code), False)
        except GraphQLError:
            return _Verdict(None, False)  # Strawberry reports the syntax error with its own code
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        needs = False
        for operation in document.definitions:
            if not isinstance(operation, OperationDefinitionNode):
                continue
            if operation_name is not None and (
                operation.name is None or operation.name.value != operation_name
            ):
                continue
            try:
                check_operation(operation, fragments, self.limits)
            except LimitExceeded as exc:
                return _Verdict((400, str(exc), exc.code), False)
            roots = {field.name.value for field, _ in selected_fields(operation.selection_set, fragments)}
            needs = needs or bool(roots & FEDERATION_ROOTS)
        return _Verdict(None, needs)

    async def _has_credential(self, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        return await self.router_check.router_or_service(headers)


def _replay(body: bytes, original: Receive) -> Receive:
    """A `receive` that hands the already-read body to the app once, then the real one."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
