"""Tests of the auth subgraph."""
