"""The real fraud process on its own port: it migrates, serves, and refuses user tokens for checkFraud."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.procs import start_subgraph
from tests.support.tokens import bearer, service_token, user_token

pytestmark = pytest.mark.e2e

CHECK = """mutation($input: CheckFraudInput!) { checkFraud(input: $input) { logId status reason } }"""
VARIABLES = {
    "input": {
        "transactionId": "tx-proc",
        "userId": "alice",
        "walletId": "w1",
        "amount": "60000000",
        "type": "PAYMENT",
    }
}


def test_the_real_process_checks_only_for_services(tmp_path: Path, base_env: dict[str, str]) -> None:
    env = {**base_env, "FRAUD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'fraud.db'}"}
    proc, port = start_subgraph("fraud", env, tmp_path)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        with httpx.Client(timeout=10) as client:

            def post(query: str, headers: dict[str, str], variables: dict | None = None) -> dict:
                response = client.post(
                    url, json={"query": query, "variables": variables or {}}, headers=headers
                )
                return response.json()

            as_user = post(CHECK, bearer(user_token("alice")), VARIABLES)
            assert as_user["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            anonymous = post(CHECK, {}, VARIABLES)
            assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

            verdict = post(CHECK, bearer(service_token("fraud:check")), VARIABLES)
            assert verdict["data"]["checkFraud"]["status"] == "FRAUD"
            logs = post("{ getFraudLogs { logId status } }", bearer(user_token("root", "ADMIN")))
            assert logs["data"]["getFraudLogs"] == [
                {"logId": verdict["data"]["checkFraud"]["logId"], "status": "FRAUD"}
            ]
            assert client.get(f"http://127.0.0.1:{port}/health").json()["service"] == "fraud"
    finally:
        proc.stop()
