"""The auth subgraph: users, credentials (argon2id), access tokens (RS256) and the JWKS document."""
