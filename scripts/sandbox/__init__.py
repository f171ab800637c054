"""The marketplace sandbox: a stand-in for the external BlackDoctrine marketplace (dev/test only).

`scripts.marketplace_sandbox` is the entry point; `store` holds the domain (users, tokens, orders,
notices), `wallet` asks the wallet for a VA, `apps` serves both GraphQL services over HTTP.
"""
