"""Operator and developer commands: keys, dev runner, SDL export, benchmarks, the marketplace sandbox."""
