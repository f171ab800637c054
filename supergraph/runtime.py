"""Keeps the current supergraph: loads it, re-composes on a timer, keeps the old one on failure."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from shared.limits import Limits
from supergraph.compose import compose
from supergraph.config import RouterSettings
from supergraph.credential import router_credential
from supergraph.fetcher import SubgraphClients
from supergraph.gateway import Gateway
from supergraph.rover_config import load_sources
from supergraph.supergraph_schema import Supergraph

log = logging.getLogger("supergraph.runtime")


class RouterRuntime:
    """Owns the live Gateway; `refresh()` swaps it only when a new supergraph builds cleanly."""

    def __init__(self, settings: RouterSettings) -> None:
        self.settings = settings
        self.credential = router_credential()
        self.clients = SubgraphClients(
            settings.router_subgraph_timeout_s,
            deduplicate=settings.router_deduplicate_queries,
            credential=self.credential,
        )
        self.gateway: Gateway | None = None
        self.sdl: str | None = None
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._sources: tuple[tuple[str, str, str], ...] | None = None

    @property
    def limits(self) -> Limits:
        s = self.settings
        return Limits(
            max_depth=s.router_max_depth,
            max_aliases=s.router_max_aliases,
            max_root_fields=s.router_max_root_fields,
            max_tokens=s.router_max_tokens,
        )

    async def load_sdl(self) -> str:
        """The supergraph SDL from a file, or composed from the subgraphs of the Rover config."""
        if self.settings.supergraph_sdl_file:
            return await asyncio.to_thread(Path(self.settings.supergraph_sdl_file).read_text)
        sources = await load_sources(self.settings.supergraph_config, headers=self.credential())
        fingerprint = tuple((s.name, s.url, s.sdl) for s in sources)
        if fingerprint == self._sources and self.sdl is not None:
            return self.sdl  # unchanged subgraphs: skip composing again
        sdl = compose(sources)
        self._sources = fingerprint
        return sdl

    def install(self, sdl: str) -> None:
        """Build and swap in a Gateway for `sdl` (raises if it does not load)."""
        supergraph = Supergraph(sdl)
        self.gateway = Gateway(supergraph, self.clients, self.limits, self.settings.router_plan_cache_size)
        self.sdl = sdl
        self.last_error = None

    async def refresh(self) -> bool:
        """Try once; True when a (new or unchanged) supergraph is serving afterwards."""
        try:
            sdl = await self.load_sdl()
            if sdl != self.sdl:
                self.install(sdl)
                log.info("supergraph loaded", extra={"event": "supergraph_loaded"})
        except Exception as exc:  # noqa: BLE001 - any failure keeps the previous supergraph serving
            self.last_error = str(exc)
            if self.gateway is None:
                log.warning("supergraph not ready: %s", exc, extra={"event": "supergraph_not_ready"})
            else:
                log.error(
                    "re-composition failed, keeping the old supergraph: %s",
                    exc,
                    extra={"event": "recomposition_failed"},
                )
        return self.gateway is not None

    async def _poll(self) -> None:
        retry_s = 0.5
        while True:
            ready_before = self.gateway is not None
            await self.refresh()
            if self.gateway is None:
                await asyncio.sleep(retry_s)
                retry_s = min(retry_s * 2, max(self.settings.router_poll_interval_s, 0.5))
                continue
            if not ready_before:
                retry_s = 0.5
            if self.settings.router_poll_interval_s <= 0:
                return
            await asyncio.sleep(self.settings.router_poll_interval_s)

    def start(self) -> None:
        """Start loading and polling in the background (the server answers meanwhile)."""
        if self._task is None:
            self._task = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._task = None
        await self.clients.aclose()

    async def subgraphs_reachable(self) -> bool:
        """Probe each subgraph with `{ __typename }` (used by /ready)."""
        if self.gateway is None:
            return False
        graphs = list(self.gateway.supergraph.graphs.values())

        results = await asyncio.gather(*(self.clients.probe(g.url) for g in graphs))
        return all(results)
