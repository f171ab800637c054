"""Tests of the transactions subgraph."""
