"""The one way our pure-ASGI layers (the subgraph guard, the router's subscription endpoint) answer a
request themselves: a complete JSON response in two messages."""

from __future__ import annotations

from starlette.types import Send


async def send_json(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
