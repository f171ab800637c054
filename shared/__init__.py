"""Code every subgraph uses: settings, JWT + JWKS, service auth, Money, database, client, errors."""
