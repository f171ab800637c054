"""Tests of the fraud subgraph."""
