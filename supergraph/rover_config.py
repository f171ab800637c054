"""Read a Rover `supergraph.yaml` and collect each subgraph's SDL (introspected or from a file)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

from supergraph.compose import CompositionError, SubgraphSource, compose
from supergraph.credential import router_credential
from supergraph.errors import ConfigError as ConfigError  # re-exported

SERVICE_QUERY = "query __ApolloGetServiceDefinition__ { _service { sdl } }"


def read_config(path: str | Path) -> dict[str, dict[str, Any]]:
    """The `subgraphs:` mapping of a Rover config, validated just enough to use it."""
    config_path = Path(path)
    try:
        document = yaml.safe_load(config_path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read supergraph config {config_path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"supergraph config {config_path} is not valid YAML: {exc}") from exc
    subgraphs = (document or {}).get("subgraphs") if isinstance(document, dict) else None
    if not isinstance(subgraphs, dict) or not subgraphs:
        raise ConfigError(f"supergraph config {config_path} has no 'subgraphs' mapping")
    for name, entry in subgraphs.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("schema"), dict):
            raise ConfigError(f"subgraph '{name}' in {config_path} needs a 'schema' mapping")
        schema = entry["schema"]
        if not (schema.get("subgraph_url") or schema.get("file")):
            raise ConfigError(f"subgraph '{name}' needs schema.subgraph_url or schema.file")
        if not entry.get("routing_url") and not schema.get("subgraph_url"):
            raise ConfigError(f"subgraph '{name}' needs a routing_url")
    return subgraphs


async def fetch_sdl(
    client: httpx.AsyncClient, name: str, url: str, headers: Mapping[str, str] | None = None
) -> str:
    """Ask a subgraph for its SDL through `_service { sdl }` (with the router's credential)."""
    try:
        response = await client.post(url, json={"query": SERVICE_QUERY}, headers=dict(headers or {}))
        payload = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ConfigError(f"subgraph '{name}' at {url} is not reachable: {exc}") from exc
    sdl = ((payload or {}).get("data") or {}).get("_service", {}) or {}
    sdl_text = sdl.get("sdl") if isinstance(sdl, dict) else None
    if not isinstance(sdl_text, str):
        raise ConfigError(f"subgraph '{name}' at {url} did not return _service.sdl: {payload.get('errors')}")
    return sdl_text


async def load_sources(
    path: str | Path, timeout_s: float = 10.0, headers: Mapping[str, str] | None = None
) -> list[SubgraphSource]:
    """Every subgraph of the config with its routing URL and current SDL (fetched in parallel);
    `headers`: the router's credential (default: `router_credential()`)."""
    if headers is None:
        headers = router_credential()()
    config_path = Path(path)
    subgraphs = read_config(config_path)

    async def one(client: httpx.AsyncClient, name: str, entry: dict[str, Any]) -> SubgraphSource:
        schema = entry["schema"]
        routing_url = entry.get("routing_url") or schema.get("subgraph_url")
        if schema.get("file"):
            file_path = Path(schema["file"])
            if not file_path.is_absolute():
                file_path = config_path.parent / file_path
            try:
                sdl = await asyncio.to_thread(file_path.read_text)
            except OSError as exc:
                raise ConfigError(f"subgraph '{name}': cannot read {file_path}: {exc}") from exc
        else:
            sdl = await fetch_sdl(client, name, schema["subgraph_url"], headers)
        return SubgraphSource(name=str(name), url=str(routing_url), sdl=sdl)

    async with httpx.AsyncClient(timeout=timeout_s) as client:
        return list(await asyncio.gather(*(one(client, n, e) for n, e in subgraphs.items())))


async def compose_from_config(path: str | Path) -> str:
    """Fetch and compose; raises ConfigError or CompositionError."""
    sources = await load_sources(path)
    return compose(sources)


__all__ = ["CompositionError", "ConfigError", "compose_from_config", "load_sources", "read_config"]
