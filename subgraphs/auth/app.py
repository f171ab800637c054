"""The auth subgraph process: port 8001, `AUTH_DATABASE_URL`, and the JWKS document other services trust."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from shared.app import SubgraphSpec
from shared.keys import KeySet, SigningKey, load_signing_key
from shared.settings import Settings, get_settings
from shared.throttle import Throttles
from subgraphs.auth.config import AuthConfig, get_auth_config
from subgraphs.auth.schema import AuthDeps, schema
from subgraphs.auth.service import AuthService

SUBGRAPH = SubgraphSpec("auth", schema, Path(__file__).resolve().parent / "migrations")
JWKS_PATH = "/.well-known/jwks.json"


def public_keys(settings: Settings, signing_key: SigningKey) -> KeySet:
    """The keys published in the JWKS: keys/public.pem plus the public half of the signing key."""
    keys = KeySet.from_pem_files(settings.public_key_path)
    keys.add(signing_key.private_key.public_key(), signing_key.kid)
    return keys


def create_app(settings: Settings | None = None, config: AuthConfig | None = None) -> FastAPI:
    """The auth ASGI app; only this subgraph ever loads the private signing key."""
    settings = settings or get_settings()
    config = config or get_auth_config()
    if not settings.private_key_path.exists():
        raise SystemExit(f"{settings.private_key_path} is missing; run scripts/keygen first")
    signing_key = load_signing_key(settings.private_key_path)
    database = SUBGRAPH.database(settings)
    throttles = Throttles.from_settings(settings)
    service = AuthService(
        settings=settings, config=config, database=database, signing_key=signing_key, throttles=throttles
    )
    jwks = public_keys(settings, signing_key).jwks()

    def routes(app: FastAPI) -> None:
        @app.get(JWKS_PATH, include_in_schema=False)
        async def jwks_document() -> JSONResponse:
            return JSONResponse(jwks, headers={"cache-control": "public, max-age=300"})

    return SUBGRAPH.app(
        settings,
        database,
        AuthDeps(service=service),
        on_startup=[service.start],
        on_shutdown=[throttles.close],
        routes=routes,
    )


def main() -> None:
    SUBGRAPH.main(create_app)


if __name__ == "__main__":
    main()
