"""Helpers the tests share: free ports, real subgraph processes, tokens, PostgreSQL databases."""
