"""The checked-in subgraph SDL files are what the subgraphs serve, and supergraph.yaml composes from
them alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from scripts.export_sdl import current_sdl, schema_path, stale
from shared.settings import SUBGRAPHS
from supergraph.compose import compose
from supergraph.rover_config import load_sources

ROOT = Path(__file__).resolve().parents[2]


def test_every_checked_in_schema_is_what_its_subgraph_serves() -> None:
    assert stale() == [], "run python -m scripts.export_sdl and commit subgraphs/*/schema.graphql"
    for name in SUBGRAPHS:
        assert "@key" in schema_path(name).read_text() or name == "auth"


def test_a_changed_schema_is_reported_stale(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "subgraphs" / "fraud"
    copy.mkdir(parents=True)
    (copy / "schema.graphql").write_text(current_sdl("fraud").replace("score: Int!", "score: Int"))
    monkeypatch.setattr("scripts.export_sdl.ROOT", tmp_path)
    assert "fraud" in stale()


def test_the_repository_supergraph_yaml_composes_without_any_running_subgraph() -> None:
    sources = asyncio.run(load_sources(ROOT / "supergraph.yaml"))
    assert [s.name for s in sources] == list(SUBGRAPHS)
    supergraph = compose(sources)
    assert "walletEvents" in supergraph and "http://127.0.0.1:8002/graphql" in supergraph
